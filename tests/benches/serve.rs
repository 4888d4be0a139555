//! `pearlbridge serve` benchmark (prints figures; not a timed test). Run: `./dev bench`.
//!
//! The service runs in process against the sandbox with the demo client (orders flow,
//! daily schedule, webhooks on); 300 orders are in the BigCommerce simulator and posted
//! once by the start-up sweep. Then:
//! - burst: 3,000 distinct BigCommerce webhooks for those orders, 16 at a time on loopback:
//!   webhooks accepted per second (each committed to the inbox before its 200), the time to
//!   each 200 (p50/p95/max), and the
//!   time from accepted (inbox commit) to the start of the run that took it, p50/p95;
//! - trickle: 40 webhooks 250 ms apart, the same latency when the service is idle (it
//!   includes the 100 ms coalescing wait).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge::host::{Host, HostConfig};
use pearlbridge::serve::{ServeOptions, serve};
use pearlbridge_capabilities::secrets::{MemorySecrets, Secret, Secrets};
use pearlbridge_capabilities::state::Store;
use tracing_subscriber::layer::SubscriberExt as _;

const SECRET: &str = "whsec-bench-7c41d9e2";

/// Collects the `waited_us` field of the serve's "event run started" events.
#[derive(Clone, Default)]
struct Waits(Arc<Mutex<Vec<i64>>>);

struct Visit(Option<i64>);

impl tracing::field::Visit for Visit {
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        if field.name() == "waited_us" {
            self.0 = Some(value);
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Waits {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "pearlbridge::serve::latency" {
            let mut v = Visit(None);
            event.record(&mut v);
            if let Some(w) = v.0 {
                self.0.lock().unwrap().push(w);
            }
        }
    }
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn body(id: i64, n: usize) -> String {
    serde_json::json!({
        "scope": "store/order/updated",
        "store_id": "1001",
        "data": {"type": "order", "id": id},
        "hash": format!("bench-{n}"),
        "created_at": 1_764_756_000,
        "producer": "stores/bench",
    })
    .to_string()
}

async fn drain(store: &dyn Store) {
    let until = Instant::now() + Duration::from_secs(600);
    while !store.inbox(None, 1).unwrap().is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn main() {
    let waits = Waits::default();
    let subscriber = tracing_subscriber::registry().with(waits.clone().with_filter_level());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/components");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let opts = DemoOptions {
            orders: 300,
            seed: 9,
            components_dir: dir.clone(),
            time_scale: 50.0,
            bigcommerce_quota_per_30s: 1_000_000,
            data_dir: Some(data.clone()),
            max_runs: 3,
            ..DemoOptions::default()
        };
        let (seed, facts) = build_seed(&opts).unwrap();
        let ids: Vec<i64> = seed
            .bigcommerce
            .orders
            .iter()
            .filter_map(|b| b.order["id"].as_i64())
            .collect();
        let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
        let file = data.join("clients/demo/client.toml");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(
            &file,
            text.replace("[flows.orders]\n", "[flows.orders]\nschedule = \"1d\"\n")
                + "\n[webhooks]\nbigcommerce_secret = \"bench_bc_webhook\"\n",
        )
        .unwrap();
        let mut cfg = HostConfig::new(&data);
        cfg.server_time_scale = opts.time_scale;
        cfg.runtime.cache_dir = dir.join(".cache");
        let mut host = Host::open(cfg).unwrap();
        let mut s = MemorySecrets::new();
        s.insert(
            "demo_bc_token",
            Secret::new(env.sandbox.info.bigcommerce.token.clone()),
        );
        s.insert(
            "demo_bp_token",
            Secret::new(env.sandbox.info.brightpearl.token.clone()),
        );
        s.insert("bench_bc_webhook", Secret::new(SECRET));
        host.set_secrets(Secrets::new(vec![Box::new(s)]));
        let store = host.store.clone();
        let sopts = ServeOptions::new(data.join("clients"), "127.0.0.1:0".parse().unwrap());
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (_reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
        let server = tokio::spawn(serve(
            host,
            sopts,
            async move {
                let _ = stop_rx.await;
            },
            reload_rx,
            move |s| {
                let _ = addr_tx.send(s.listening.clone());
            },
        ));
        let addr = addr_rx.await.unwrap();
        let url = format!("http://{addr}/webhooks/bigcommerce/demo");
        // The start-up sweep posts the 300 orders.
        let until = Instant::now() + Duration::from_secs(600);
        while env.reconcile().unwrap()["orders"]["missing"] != 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let http = reqwest::Client::new();
        let ids = Arc::new(ids);
        let answers: Arc<Mutex<Vec<i64>>> = Arc::default();
        let answered = answers.clone();
        let post = move |n: usize| {
            let answered = answered.clone();
            let (http, url) = (http.clone(), url.clone());
            let b = body(ids[n % ids.len()], n);
            async move {
                let sent = Instant::now();
                let r = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-pearlbridge-webhook-secret", SECRET)
                    .body(b)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                answered
                    .lock()
                    .unwrap()
                    .push(sent.elapsed().as_micros() as i64);
            }
        };

        // Burst.
        waits.0.lock().unwrap().clear();
        let total = 3000usize;
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t0 = Instant::now();
        let mut workers = vec![];
        for _ in 0..16 {
            let (next, post) = (next.clone(), post.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n >= total {
                        return;
                    }
                    post(n).await;
                }
            }));
        }
        for w in workers {
            w.await.unwrap();
        }
        let secs = t0.elapsed().as_secs_f64();
        let mut answer_times = answers.lock().unwrap().clone();
        answer_times.sort_unstable();
        drain(store.as_ref()).await;
        let mut burst = waits.0.lock().unwrap().clone();
        burst.sort_unstable();

        // Trickle.
        waits.0.lock().unwrap().clear();
        for n in 0..40 {
            post(total + n).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        drain(store.as_ref()).await;
        let mut trickle = waits.0.lock().unwrap().clone();
        trickle.sort_unstable();

        println!(
            "burst: {total} webhooks accepted in {secs:.2} s = {:.0} webhooks/s (16 concurrent, loopback, debug={})",
            total as f64 / secs,
            cfg!(debug_assertions)
        );
        println!(
            "burst: time to the 200 (committed to the inbox): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            percentile(&answer_times, 0.5),
            percentile(&answer_times, 0.95),
            percentile(&answer_times, 1.0)
        );
        println!(
            "burst: accepted -> run start over {} events: p50 {:.1} ms, p95 {:.1} ms",
            burst.len(),
            percentile(&burst, 0.5),
            percentile(&burst, 0.95)
        );
        println!(
            "trickle (1 every 250 ms, 100 ms coalescing): accepted -> run start over {} events: p50 {:.1} ms, p95 {:.1} ms",
            trickle.len(),
            percentile(&trickle, 0.5),
            percentile(&trickle, 0.95)
        );
        let _ = stop_tx.send(());
        server.await.unwrap().unwrap();
        env.shutdown().await;
    });
}

/// Only the serve's latency target at DEBUG; nothing else is recorded.
trait FilterLevel: Sized {
    fn with_filter_level(
        self,
    ) -> tracing_subscriber::filter::Filtered<
        Self,
        tracing_subscriber::filter::Targets,
        tracing_subscriber::Registry,
    >;
}

impl FilterLevel for Waits {
    fn with_filter_level(
        self,
    ) -> tracing_subscriber::filter::Filtered<
        Self,
        tracing_subscriber::filter::Targets,
        tracing_subscriber::Registry,
    > {
        use tracing_subscriber::Layer as _;
        self.with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("pearlbridge::serve::latency", tracing::Level::DEBUG),
        )
    }
}
