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
use pearlbridge_capabilities::state::Store;
use pearlbridge_tests::{RunStartWaits, Serving};

const SECRET: &str = "whsec-bench-7c41d9e2";

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
    let waits = RunStartWaits::install();
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
        let store = env.host.store.clone();
        let serving = Serving::start(
            &env,
            &[("bench_bc_webhook", SECRET)],
            "bigcommerce_secret = \"bench_bc_webhook\"",
        )
        .await;
        let addr = serving.addr.clone();
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
        waits.take();
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
        let mut burst = waits.take();
        burst.sort_unstable();

        // Trickle.
        for n in 0..40 {
            post(total + n).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        drain(store.as_ref()).await;
        let mut trickle = waits.take();
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
        serving.stop().await;
        env.shutdown().await;
    });
}
