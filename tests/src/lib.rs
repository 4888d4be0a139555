//! Shared helpers for the end-to-end tests: the built components, one shared runtime (so a
//! debug host compiles each component once, into a shared on-disk cache), a host in a
//! temporary folder, and a recording upstream server.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pearlbridge::host::{Host, HostConfig};
use pearlbridge::runtime::{Runtime, RuntimeConfig};
use pearlbridge_capabilities::secrets::{Secret, SecretError, SecretProvider, Secrets};
use pearlbridge_capabilities::state::{SqliteStore, Store};

/// `target/components`, where `./dev build` puts the built components.
pub fn components_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/components");
    assert!(
        dir.join("probe.wasm").exists(),
        "{} has no built components: run `./dev build` (or `./dev test`) first",
        dir.display()
    );
    dir
}

/// A built component file by name, e.g. `probe-1.1.0.wasm`.
pub fn component(file: &str) -> PathBuf {
    components_dir().join(file)
}

/// The runtime shared by the tests of one test binary (deadline 3 s, memory cap 64 MiB),
/// with the compile cache in `target/components/.cache`.
pub fn shared_runtime() -> Arc<Runtime> {
    static RT: OnceLock<Arc<Runtime>> = OnceLock::new();
    RT.get_or_init(|| {
        let mut cfg = RuntimeConfig::new(components_dir().join(".cache"));
        cfg.deadline = Duration::from_secs(3);
        cfg.memory_cap_bytes = 64 << 20;
        Arc::new(Runtime::new(cfg).expect("runtime"))
    })
    .clone()
}

/// Secrets from a fixed map (tests); values never printed.
pub struct MapSecrets(pub Vec<(String, String)>);

impl SecretProvider for MapSecrets {
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        Ok(self
            .0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| Secret::new(v.clone())))
    }
    fn describe(&self) -> String {
        "test secrets".into()
    }
}

/// A host in `dir` on the shared runtime, with the given secrets.
pub fn test_host(dir: &Path, secrets: &[(&str, &str)]) -> Host {
    let mut cfg = HostConfig::new(dir);
    cfg.runtime = shared_runtime().config().clone();
    cfg.request_timeout = Duration::from_secs(5);
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join("state.sqlite")).expect("store"));
    let mut host = Host::with_parts(cfg, shared_runtime(), store).expect("host");
    host.set_secrets(Secrets::new(vec![Box::new(MapSecrets(
        secrets
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    ))]));
    host
}

/// One request seen by the [`Upstream`].
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// A recording HTTP server on 127.0.0.1 that answers every request with
/// `{"path": <path>}` (status 200).
pub struct Upstream {
    pub base_url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        use axum::extract::Request;
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let rec = seen.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let rec = rec.clone();
            async move {
                let path = req.uri().path().to_string();
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                rec.lock().unwrap().push(Seen {
                    method: req.method().to_string(),
                    path: path.clone(),
                    headers,
                });
                axum::Json(serde_json::json!({ "path": path }))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Upstream {
            base_url: format!("http://{addr}"),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Write `clients/<name>/client.toml` under `root` and return the client folder.
pub fn write_client(root: &Path, name: &str, toml: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("client.toml"), toml).unwrap();
    dir
}

/// A client.toml with both connections at `base` and one flow pin.
pub fn client_toml(
    base: &str,
    client: &str,
    flow: &str,
    component: &str,
    sha256: &str,
    mapping: &str,
) -> String {
    format!(
        r#"[connections.bigcommerce]
store_hash = "{client}store"
api_base = "{base}"
token_secret = "{client}_bc_token"

[connections.brightpearl]
account = "{client}acct"
api_base = "{base}"
auth = "system"
app_ref = "{client}_app"
token_secret = "{client}_bp_token"

[flows.{flow}]
component = "{component}"
sha256 = "{sha256}"

[flows.{flow}.mapping]
{mapping}
"#
    )
}

/// `pearlbridge serve` in process over a [`DemoEnv`](pearlbridge::demo::DemoEnv)'s data folder,
/// for the benchmarks: the demo client with every flow on a daily schedule (so only webhooks
/// start runs) and `[webhooks]` naming the secrets given; stop it with [`Serving::stop`].
pub struct Serving {
    /// `host:port` it listens on.
    pub addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    /// Start serving the demo client of `env`. `secrets`: extra secrets (name, value) besides
    /// the sandbox tokens; `webhooks`: the `[webhooks]` table's lines, e.g.
    /// `brightpearl_secret = "bench_bp_webhook"`.
    pub async fn start(
        env: &pearlbridge::demo::DemoEnv,
        secrets: &[(&str, &str)],
        webhooks: &str,
    ) -> Serving {
        Serving::start_with(env, secrets, webhooks, |_| {}).await
    }

    /// [`Serving::start`] with the service's options changed by `tune` first (e.g. a short
    /// `alert_every`).
    pub async fn start_with(
        env: &pearlbridge::demo::DemoEnv,
        secrets: &[(&str, &str)],
        webhooks: &str,
        tune: impl FnOnce(&mut pearlbridge::serve::ServeOptions),
    ) -> Serving {
        use pearlbridge_capabilities::secrets::MemorySecrets;
        let clients = env.host.config.data_dir.join("clients");
        let file = clients.join("demo/client.toml");
        let mut text = std::fs::read_to_string(&file).expect("demo client file");
        for flow in pearlbridge::demo::DEMO_FLOWS {
            let table = format!("[flows.{flow}]\n");
            text = text.replacen(&table, &format!("{table}schedule = \"1d\"\n"), 1);
        }
        text.push_str(&format!("\n[webhooks]\n{webhooks}\n"));
        std::fs::write(&file, text).expect("demo client file");
        let mut s = MemorySecrets::new();
        s.insert(
            "demo_bc_token",
            Secret::new(env.sandbox.info.bigcommerce.token.clone()),
        );
        s.insert(
            "demo_bp_token",
            Secret::new(env.sandbox.info.brightpearl.token.clone()),
        );
        for (name, value) in secrets {
            s.insert(*name, Secret::new(*value));
        }
        let mut host = Host::with_parts(
            env.host.config.clone(),
            env.host.runtime.clone(),
            env.host.store.clone(),
        )
        .expect("serve host");
        host.set_secrets(Secrets::new(vec![Box::new(s)]));
        let mut opts =
            pearlbridge::serve::ServeOptions::new(&clients, "127.0.0.1:0".parse().unwrap());
        tune(&mut opts);
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
        let task = tokio::spawn(async move {
            let _keep_reload_open = reload_tx;
            pearlbridge::serve::serve(
                host,
                opts,
                async move {
                    let _ = stop_rx.await;
                },
                reload_rx,
                move |s| {
                    let _ = addr_tx.send(s.listening.clone());
                },
            )
            .await
        });
        let addr = addr_rx.await.expect("serve started");
        Serving {
            addr: addr.to_string(),
            stop: Some(stop_tx),
            task,
        }
    }

    /// Stop the service and wait for it; panics if it failed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.expect("serve task").expect("serve");
    }
}

/// The `waited_us` of each `pearlbridge::serve::latency` event (accepted → run start), for the
/// benchmarks: install [`RunStartWaits::install`] once, read with [`RunStartWaits::take`].
#[derive(Clone, Default)]
pub struct RunStartWaits(Arc<Mutex<Vec<i64>>>);

impl RunStartWaits {
    /// Install as the global tracing subscriber (only the serve's latency target, at DEBUG).
    pub fn install() -> RunStartWaits {
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let waits = RunStartWaits::default();
        let layer = waits.clone().with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("pearlbridge::serve::latency", tracing::Level::DEBUG),
        );
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("one global subscriber");
        waits
    }

    /// The waits recorded since the last call, in µs, in arrival order.
    pub fn take(&self) -> Vec<i64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct WaitVisit(Option<i64>);

impl tracing::field::Visit for WaitVisit {
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        if field.name() == "waited_us" {
            self.0 = Some(value);
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RunStartWaits {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "pearlbridge::serve::latency" {
            let mut v = WaitVisit(None);
            event.record(&mut v);
            if let Some(w) = v.0 {
                self.0.lock().unwrap().push(w);
            }
        }
    }
}
