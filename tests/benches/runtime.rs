//! Runtime benchmark (prints figures; not a timed test). Run: `./dev bench`.
//!
//! 1. Per-run overhead of a trivial flow with the pooling allocator: a fresh `Store`,
//!    instantiate from the `InstancePre`, call `run`, drop — p50/p90/p99 over N runs.
//! 2. Host resident memory (VmRSS) with 20 clients × 6 flows loaded and each run once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pearlbridge::bindings::Trigger;
use pearlbridge::imports::RunCapabilities;
use pearlbridge::runtime::{Runtime, RuntimeConfig};
use pearlbridge_capabilities::state::{SqliteStore, Store};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn caps(store: &Arc<dyn Store>, client: &str, flow: &str) -> RunCapabilities {
    RunCapabilities {
        client: client.into(),
        flow: flow.into(),
        run_id: 1,
        bigcommerce: None,
        brightpearl: None,
        store: store.clone(),
        config_json: "{}".into(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(10),
        on_progress: None,
    }
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/components");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rss_start = rss_kib();
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeConfig::new(cache.path())).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());

    // 1. per-run overhead
    let probe = runtime.load(&dir.join("probe.wasm")).unwrap();
    let trigger = Trigger::Replay(vec![]); // trivial: returns a one-note summary
    let n = 10_000;
    let mut times = Vec::with_capacity(n);
    rt.block_on(async {
        for _ in 0..500 {
            runtime
                .run(&probe, caps(&store, "bench", "probe"), &trigger)
                .await
                .unwrap()
                .result
                .unwrap();
        }
        for _ in 0..n {
            let t = Instant::now();
            let r = runtime
                .run(&probe, caps(&store, "bench", "probe"), &trigger)
                .await
                .unwrap();
            times.push(t.elapsed());
            r.result.unwrap();
        }
    });
    times.sort();
    println!(
        "per-run overhead (fresh store + instantiate + run + drop, pooling allocator), n={n}: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs",
        pct(&times, 0.5),
        pct(&times, 0.9),
        pct(&times, 0.99)
    );

    // 2. memory with 20 clients × 6 flows
    let files = ["probe-1.0.0.wasm", "probe-1.1.0.wasm", "orders.wasm"];
    let loaded: Vec<_> = files
        .iter()
        .map(|f| runtime.load(&dir.join(f)).unwrap())
        .collect();
    let rss_loaded = rss_kib();
    rt.block_on(async {
        for client in 0..20 {
            for flow in 0..6 {
                let c = &loaded[(client + flow) % 2]; // probes: orders would need its upstreams
                runtime
                    .run(
                        c,
                        caps(&store, &format!("client{client}"), &format!("flow{flow}")),
                        &Trigger::Replay(vec!["mode:env".into()]),
                    )
                    .await
                    .unwrap()
                    .result
                    .unwrap();
            }
        }
    });
    let rss_after = rss_kib();
    println!(
        "resident memory: at start {} MiB; {} distinct components loaded for 20 clients × 6 flows: {} MiB; after one run of each of the 120 client × flows: {} MiB",
        rss_start / 1024,
        loaded.len(),
        rss_loaded / 1024,
        rss_after / 1024
    );
}
