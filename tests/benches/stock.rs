//! Stock flow benchmark (prints figures; not a timed test). Run: `./dev bench`, or in debug
//! `cargo test -p pearlbridge-tests --bench stock`; `STOCK_BENCH_PRODUCTS=2200,21500` (the
//! default) sets the catalog sizes.
//!
//! 1. Full sync API calls against the floor, for generated catalogs of about 5,000 and
//!    50,000 SKUs: the floor is N/100 Brightpearl calls (`product-availability` id sets of
//!    100) + N/2000 BigCommerce calls (absolute adjustments of 2,000 items). Printed for the
//!    first full sync (a complete catalog read on both systems, every SKU written) and for a
//!    full sync after 1% of the products moved in Brightpearl (the catalog read is
//!    incremental; only the moved SKUs are written) twice: the first of those re-reads the
//!    products the complete sync had just written (their `date_modified` moved), the second
//!    shows the steady state. Brightpearl runs at its real 200
//!    requests / minute and BigCommerce at a Standard plan's 150 / 30 s, on a clock 20× real
//!    time; 429/503 responses are counted and the run must succeed all the same.
//! 2. Event path through `serve` at the real-time clock: the service runs in process with the
//!    demo client (every flow on a daily schedule, so only webhooks start runs), Brightpearl's
//!    `product.modified.on-hand-modified` webhook registered to its
//!    `/webhooks/brightpearl/demo/{token}`; 20 times, one product's on-hand moves in the
//!    simulator and the bench polls BigCommerce's inventory until the variant shows the new
//!    value. Printed: change → BigCommerce value (everything: Brightpearl's webhook delivery,
//!    the inbox, the 100 ms coalescing wait, the run), the scheduling delay (inbox accepted →
//!    run start, from the service's `pearlbridge::serve::latency` events), and the first
//!    minus the second (the target's "scheduling delay excluded").

use std::time::Instant;

use std::time::Duration;

use pearlbridge::bindings::Trigger;
use pearlbridge::demo::{DemoEnv, DemoOptions};
use pearlbridge_capabilities::connections::System;
use pearlbridge_sandbox::generator::{GeneratorOptions, generate};
use pearlbridge_tests::{RunStartWaits, Serving};

/// The token in the Brightpearl webhook URL (`webhooks.brightpearl_secret`).
const BP_TOKEN: &str = "bp-hook-3f9c2a71d4e8";

fn env_opts(time_scale: f64) -> DemoOptions {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/components");
    DemoOptions {
        orders: 0,
        seed: 5,
        components_dir: dir,
        time_scale,
        bigcommerce_quota_per_30s: 150,
        ..DemoOptions::default()
    }
}

async fn start(products: usize, time_scale: f64) -> DemoEnv {
    let generated = generate(&GeneratorOptions {
        seed: 5,
        orders: 0,
        products,
        ..GeneratorOptions::default()
    });
    DemoEnv::start(&env_opts(time_scale), generated.seed, Some(generated.facts))
        .await
        .unwrap()
}

fn calls(env: &DemoEnv) -> (u64, u64, u64) {
    let bp = env
        .host
        .connection_stats("demo", System::Brightpearl)
        .unwrap_or_default();
    let bc = env
        .host
        .connection_stats("demo", System::BigCommerce)
        .unwrap_or_default();
    (bp.calls, bc.calls, bp.throttled + bc.throttled)
}

async fn full_sync(products: usize) {
    let t = Instant::now();
    let env = start(products, 20.0).await;
    println!(
        "catalog of {products} BigCommerce products generated and loaded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for pass in [
        "first full sync (complete read)",
        "full sync after 1% moved (incremental read)",
        "next full sync after 1% moved (incremental read)",
    ] {
        if pass.contains("after 1% moved") {
            let moved = env.move_stock(100);
            println!("  {} products moved in Brightpearl", moved.len());
        }
        let before = calls(&env);
        let t = Instant::now();
        let r = env.run_stock(Trigger::Scheduled).await.unwrap();
        let after = calls(&env);
        let n = r.count("skus_checked");
        let (bp, bc, throttled) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
        let floor_bp = n.div_ceil(100);
        let floor_bc = n.div_ceil(2000);
        println!(
            "  {pass}: {n} SKUs checked, {} written in {} write(s); {:.1} s real",
            r.count("skus_pushed"),
            r.count("writes"),
            t.elapsed().as_secs_f64()
        );
        println!(
            "    Brightpearl {bp} calls (floor {floor_bp}: ×{:.2}), BigCommerce {bc} calls (floor {floor_bc}: ×{:.2}), all {} (floor {}: ×{:.2}); 429/503 seen and retried: {throttled}",
            bp as f64 / floor_bp as f64,
            bc as f64 / floor_bc as f64,
            bp + bc,
            floor_bp + floor_bc,
            (bp + bc) as f64 / (floor_bp + floor_bc) as f64
        );
        if let Ok(summary) = &r.outcome {
            for note in summary.notes.iter().filter(|n| n.contains("catalog read")) {
                println!("    {note}");
            }
        }
    }
    let rec = env.reconcile_stock();
    println!(
        "  reconciliation: {} checked, {} mismatched, {} units oversold",
        rec["checked"], rec["mismatched"], rec["oversold_units"]
    );
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The BigCommerce level of `sku` at its first location, if it has one.
fn bc_level(env: &DemoEnv, sku: &str) -> Option<i64> {
    env.sandbox
        .bigcommerce
        .inventory_levels()
        .into_iter()
        .find(|l| l.sku == sku)
        .map(|l| l.on_hand)
}

async fn event_path(waits: &RunStartWaits) {
    let env = start(60, 1.0).await;
    env.run_stock(Trigger::Scheduled).await.unwrap();
    let serving = Serving::start(
        &env,
        &[("bench_bp_webhook", BP_TOKEN)],
        "brightpearl_secret = \"bench_bp_webhook\"",
    )
    .await;
    env.sandbox.brightpearl.subscribe_callback(&format!(
        "http://{}/webhooks/brightpearl/demo/{BP_TOKEN}",
        serving.addr
    ));
    // Let the start-up catch-up runs finish.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Brightpearl products whose BigCommerce variant shows stock above 0 (a change of +3
    // then shows as +3, whatever the safety stock).
    let levels: std::collections::BTreeMap<String, i64> = env
        .sandbox
        .bigcommerce
        .inventory_levels()
        .into_iter()
        .map(|l| (l.sku, l.on_hand))
        .collect();
    let products: Vec<(String, i64)> = env
        .sandbox
        .brightpearl
        .on_hand_by_sku()
        .into_iter()
        .filter(|(sku, _)| levels.get(sku).is_some_and(|l| *l > 0))
        .map(|(sku, (id, _))| (sku, id))
        .collect();
    let warehouse = env.mapping["warehouse"]["default"].as_i64().unwrap_or(2);
    waits.take();
    let (mut total, mut sched, mut excl) = (vec![], vec![], vec![]);
    let mut missed = 0;
    for i in 0..20 {
        let (sku, id) = &products[i * 7 % products.len()];
        let want = bc_level(&env, sku).unwrap() + 3;
        let t = Instant::now();
        env.sandbox.brightpearl.add_stock(*id, warehouse, 3);
        let until = t + Duration::from_secs(30);
        while bc_level(&env, sku) != Some(want) && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if bc_level(&env, sku) != Some(want) {
            missed += 1;
            continue;
        }
        // Let the run finish and its latency event arrive before the next change.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let w = waits.take();
        let wait_ms = w.iter().copied().max().unwrap_or(0) as f64 / 1000.0;
        total.push(ms);
        sched.push(wait_ms);
        excl.push(ms - wait_ms);
    }
    for v in [&mut total, &mut sched, &mut excl] {
        v.sort_by(f64::total_cmp);
    }
    let rec = env.reconcile_stock();
    println!(
        "event path through serve at the real-time clock, {} changes ({missed} not seen within 30 s):",
        total.len()
    );
    println!(
        "  change → BigCommerce value: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        pct(&total, 0.5),
        pct(&total, 0.95),
        total[total.len() - 1]
    );
    println!(
        "  of which scheduling delay (inbox accepted → run start): p50 {:.0} ms, p95 {:.0} ms",
        pct(&sched, 0.5),
        pct(&sched, 0.95)
    );
    println!(
        "  scheduling delay excluded: p50 {:.0} ms, p95 {:.0} ms (target p95 ≤ 5,000 ms); reconciliation {} checked, {} mismatched",
        pct(&excl, 0.5),
        pct(&excl, 0.95),
        rec["checked"],
        rec["mismatched"]
    );
    serving.stop().await;
    env.shutdown().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let waits = RunStartWaits::install();
    rt.block_on(async {
        event_path(&waits).await;
        // BigCommerce products (about 2.4 SKUs each): ~5,000 and ~50,000 SKUs.
        let sizes = std::env::var("STOCK_BENCH_PRODUCTS").unwrap_or_else(|_| "2200,21500".into());
        for products in sizes
            .split(',')
            .filter_map(|n| n.trim().parse::<usize>().ok())
        {
            full_sync(products).await;
        }
    });
}
