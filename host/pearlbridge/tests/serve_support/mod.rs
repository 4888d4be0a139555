//! Shared by the `serve` tests: the sandbox with the demo client (orders flow), its client
//! file given a schedule and a `[webhooks]` section, and a `serve` started in process.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge::host::{Host, HostConfig};
use pearlbridge::serve::{ServeOptions, serve};
use pearlbridge_capabilities::secrets::{MemorySecrets, Secret, Secrets};
use pearlbridge_capabilities::state::{RunFilter, RunRecord, SqliteStore, Store};
use pearlbridge_sandbox::seed::BigCommerceOrderBundle;
use serde_json::{Value, json};

pub const BC_HOOK_SECRET: &str = "whsec-bc-5f1d2a9c7e3b";
pub const BP_HOOK_TOKEN: &str = "whtok-bp-8a6e4c2f0d1b";
pub const TIME_SCALE: f64 = 200.0;

pub fn components_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/components");
    assert!(
        dir.join("orders.wasm").exists(),
        "{} has no built components: run `./dev build` first",
        dir.display()
    );
    dir
}

/// The sandbox and demo client; the generated orders are held back to be placed later.
pub struct Env {
    pub demo: DemoEnv,
    pub data: PathBuf,
    pub clients: PathBuf,
    /// Orders to place with [`DemoEnv::place_order`].
    pub bundles: Vec<BigCommerceOrderBundle>,
    _tmp: tempfile::TempDir,
}

impl Env {
    /// `orders` generated (none seeded into the store); the demo client file gets
    /// `schedule` and, when `webhooks`, a `[webhooks]` section.
    pub async fn start(orders: usize, seed: u64, schedule: &str, webhooks: bool) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let opts = DemoOptions {
            orders,
            seed,
            components_dir: components_dir(),
            time_scale: TIME_SCALE,
            data_dir: Some(data.clone()),
            max_runs: 3,
            ..DemoOptions::default()
        };
        let (mut seed, facts) = build_seed(&opts).unwrap();
        let bundles = std::mem::take(&mut seed.bigcommerce.orders);
        let demo = DemoEnv::start(&opts, seed, facts).await.unwrap();
        let clients = data.join("clients");
        write_client(&clients, schedule, webhooks);
        Env {
            demo,
            data,
            clients,
            bundles,
            _tmp: tmp,
        }
    }

    pub fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.data.join("state.sqlite")).unwrap()
    }

    pub fn runs(&self) -> Vec<RunRecord> {
        let mut r = self
            .store()
            .runs(&RunFilter {
                limit: Some(100_000),
                ..Default::default()
            })
            .unwrap();
        r.reverse();
        // The demo client also runs the stock flow (a start-up full sync); these tests are
        // about the orders flow.
        r.retain(|r| r.flow == "orders");
        r
    }

    /// The secrets `serve` resolves: the sandbox's tokens and the two webhook secrets.
    pub fn secrets(&self) -> Secrets {
        let mut s = MemorySecrets::new();
        s.insert(
            "demo_bc_token",
            Secret::new(self.demo.sandbox.info.bigcommerce.token.clone()),
        );
        s.insert(
            "demo_bp_token",
            Secret::new(self.demo.sandbox.info.brightpearl.token.clone()),
        );
        s.insert("demo_bc_webhook", Secret::new(BC_HOOK_SECRET));
        s.insert("demo_bp_webhook", Secret::new(BP_HOOK_TOKEN));
        Secrets::new(vec![Box::new(s)])
    }

    /// A host on the data folder as the demo's, with [`Env::secrets`].
    pub fn host(&self) -> Host {
        let mut cfg = HostConfig::new(&self.data);
        cfg.server_time_scale = TIME_SCALE;
        cfg.retry.base_delay = Duration::from_millis(5);
        cfg.retry.max_delay = Duration::from_millis(50);
        cfg.runtime.cache_dir = components_dir().join(".cache");
        let mut host = Host::open(cfg).unwrap();
        host.set_secrets(self.secrets());
        host
    }

    /// Register a `store/order/*` hook with the custom header (as `hooks register` would)
    /// and point the simulator's callbacks at `addr`.
    pub async fn register_bigcommerce_hook(&self, addr: SocketAddr) {
        let bc = &self.demo.sandbox.info.bigcommerce;
        let r = reqwest::Client::new()
            .post(format!("{}/stores/{}/v3/hooks", bc.base_url, bc.store_hash))
            .header("x-auth-token", &bc.token)
            .header("content-type", "application/json")
            .body(
                json!({
                    "scope": "store/order/*",
                    "destination": "https://hooks.example.com/webhooks/bigcommerce/demo",
                    "is_active": true,
                    "headers": {"x-pearlbridge-webhook-secret": BC_HOOK_SECRET},
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        self.demo
            .sandbox
            .bigcommerce
            .set_webhook_callback(Some(format!("http://{addr}/webhooks/bigcommerce/demo")));
    }

    /// Wait until every placed in-scope order is posted (or held) in Brightpearl, at most
    /// `limit`; returns the reconciliation.
    pub async fn wait_reconciled(&self, placed: usize, limit: Duration) -> Value {
        let until = tokio::time::Instant::now() + limit;
        loop {
            let rec = self.demo.reconcile().unwrap();
            let bc = self.demo.bigcommerce_orders().len();
            if bc >= placed && rec["orders"]["missing"] == 0 && rec["orders"]["checked"] != 0 {
                return rec;
            }
            if tokio::time::Instant::now() > until {
                panic!("not reconciled in {limit:?}: {rec:#}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Rewrites `<clients>/demo/client.toml` with `schedule` and, when `webhooks`, the
/// `[webhooks]` section naming the two webhook secrets.
pub fn write_client(clients: &Path, schedule: &str, webhooks: bool) {
    let file = clients.join("demo/client.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let base = match text.find("\n[webhooks]") {
        Some(i) => text[..i + 1].to_string(),
        None => text,
    };
    let mut base: String = base
        .lines()
        .filter(|l| !l.starts_with("schedule = "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(base.contains("[flows.orders]\n"), "{base}");
    base = base.replace(
        "[flows.orders]\n",
        &format!("[flows.orders]\nschedule = \"{schedule}\"\n"),
    );
    if webhooks {
        base.push_str(
            "\n[webhooks]\npublic_url = \"https://hooks.example.com\"\nbigcommerce_secret = \"demo_bc_webhook\"\nbrightpearl_secret = \"demo_bp_webhook\"\n",
        );
    }
    std::fs::write(&file, base).unwrap();
}

/// A `serve` running in this process.
pub struct Serving {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub reload: tokio::sync::mpsc::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    pub async fn start(
        host: Host,
        tweak: impl FnOnce(&mut ServeOptions),
        clients: &Path,
    ) -> Serving {
        let mut opts = ServeOptions::new(clients, "127.0.0.1:0".parse().unwrap());
        opts.max_jitter = Duration::ZERO;
        opts.coalesce = Duration::from_millis(50);
        opts.lease_ttl = Duration::from_secs(5);
        opts.reload_poll = Duration::from_millis(200);
        opts.retry_backoff = Duration::from_millis(200);
        tweak(&mut opts);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            serve(
                host,
                opts,
                async move {
                    let _ = stop_rx.await;
                },
                reload_rx,
                move |s| {
                    let _ = addr_tx.send(s.clone());
                },
            )
            .await
        });
        let started = addr_rx.await.expect("serve did not start");
        assert!(started.refused.is_empty(), "{:?}", started.refused);
        Serving {
            addr: started.listening.parse().unwrap(),
            stop: Some(stop_tx),
            reload: reload_tx,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("serve did not stop")
            .unwrap()
            .unwrap();
    }
}

/// A BigCommerce callback body for order `id`.
pub fn bc_body(scope: &str, id: i64) -> String {
    json!({
        "scope": scope,
        "store_id": "1001",
        "data": {"type": "order", "id": id},
        "hash": format!("hash-{scope}-{id}"),
        "created_at": 1_764_756_000,
        "producer": "stores/abc",
    })
    .to_string()
}

/// GET `url` as JSON.
pub async fn get_json(url: String) -> Value {
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}
