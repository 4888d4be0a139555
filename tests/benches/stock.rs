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
//! 2. Event path at the real-time clock: a Brightpearl stock change, then the stock run of
//!    its `product.modified.on-hand-modified` event, as `serve` starts it from the inbox;
//!    the time from the change to the end of the run (the BigCommerce value is written by
//!    then; checked). The webhook's delivery and the inbox → run hand-off are excluded
//!    (the serve bench measures the hand-off).

use std::time::Instant;

use pearlbridge::bindings::Trigger;
use pearlbridge::demo::{DemoEnv, DemoOptions};
use pearlbridge_capabilities::connections::System;
use pearlbridge_sandbox::generator::{GeneratorOptions, generate};

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

async fn event_path() {
    let env = start(60, 1.0).await;
    env.run_stock(Trigger::Scheduled).await.unwrap();
    // Brightpearl products with a BigCommerce variant of their SKU.
    let bc: std::collections::BTreeSet<String> = env
        .sandbox
        .bigcommerce
        .inventory_levels()
        .into_iter()
        .map(|l| l.sku)
        .collect();
    let products: Vec<i64> = env
        .sandbox
        .brightpearl
        .on_hand_by_sku()
        .into_iter()
        .filter(|(sku, _)| bc.contains(sku))
        .map(|(_, (id, _))| id)
        .collect();
    let warehouse = env.mapping["warehouse"]["default"].as_i64().unwrap_or(2);
    let mut times = vec![];
    for i in 0..20 {
        let id = products[i * 7 % products.len()];
        let t = Instant::now();
        env.sandbox.brightpearl.add_stock(id, warehouse, 3);
        let r = env
            .run_stock(Trigger::Events(env.stock_events(&[id])))
            .await
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(r.count("skus_pushed") > 0, "product {id}: {:?}", r.outcome);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    let rec = env.reconcile_stock();
    println!(
        "event path at the real-time clock, 20 changes: change → BigCommerce value written p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (target p95 ≤ 5,000 ms); reconciliation {} checked, {} mismatched",
        pct(0.5),
        pct(0.95),
        times[times.len() - 1],
        rec["checked"],
        rec["mismatched"]
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        event_path().await;
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
