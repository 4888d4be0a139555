//! Orders throughput benchmark (prints figures; not a timed test). Run: `./dev bench`.
//!
//! Steady state: the sandbox starts with 400 orders, which warm the contact and product
//! caches; then 2,000 more orders are placed and swept (long enough that the simulator's
//! fixed 60 s rate window cannot flatter the figure much). For that second batch it prints
//! Brightpearl API calls per posted order, and orders per simulated minute against
//! Brightpearl's real 200-requests-per-minute limit, as a ratio to the ceiling that the
//! calls-per-order figure allows (200 / calls per order). BigCommerce runs on a large quota
//! (an Enterprise plan) so that Brightpearl's limit is the one that binds.

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_capabilities::connections::System;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/components");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = DemoOptions {
            orders: 2400,
            seed: 5,
            components_dir: dir,
            time_scale: 10.0,
            bigcommerce_quota_per_30s: 1_000_000,
            max_runs: 6,
            ..DemoOptions::default()
        };
        let (mut seed, facts) = build_seed(&opts).unwrap();
        let later = seed.bigcommerce.orders.split_off(400);
        let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
        let warm = env.run_orders(opts.max_runs).await.unwrap();
        let warm_posted: u64 = warm.iter().map(|r| r.count("posted")).sum();

        let bp0 = env.host.connection_stats("demo", System::Brightpearl).unwrap();
        let bc0 = env.host.connection_stats("demo", System::BigCommerce).unwrap();
        let t0 = env.sandbox.clock.elapsed_ms();
        let audit_before = env.host.store.audit_lines(Some("demo"), 10_000_000).unwrap().len();
        let wall = std::time::Instant::now();
        for b in later {
            env.place_order(b);
        }
        let runs = env.run_orders(opts.max_runs).await.unwrap();
        let t1 = env.sandbox.clock.elapsed_ms();
        let bp1 = env.host.connection_stats("demo", System::Brightpearl).unwrap();
        let bc1 = env.host.connection_stats("demo", System::BigCommerce).unwrap();
        let bc_reads = bc1.calls - bc0.calls;
        let posted: u64 = runs.iter().map(|r| r.count("posted")).sum();
        let bc_per_order = bc_reads as f64 / posted as f64;
        let held = runs.last().map(|r| r.count("held")).unwrap_or(0);
        let calls = bp1.calls - bp0.calls;
        let per_order = calls as f64 / posted as f64;
        let minutes = (t1 - t0) as f64 / 60_000.0;
        let per_minute = posted as f64 / minutes;
        let ceiling = 200.0 / per_order;
        let rec = env.reconcile().unwrap();
        println!("warm-up: {warm_posted} orders posted from the first 400");
        println!(
            "steady state: {posted} orders posted ({held} held in total) with {calls} Brightpearl calls = {per_order:.2} calls per order (target ≤ 2.2)"
        );
        println!(
            "BigCommerce reads: {bc_reads} = {bc_per_order:.2} reads per order (target ≤ 3.5) beside {per_order:.2} Brightpearl calls per order; a Standard plan's 150 requests / 30 s allows {:.0} orders per minute",
            300.0 / bc_per_order
        );
        println!(
            "throughput: {per_minute:.1} orders per simulated minute over {minutes:.2} simulated minutes ({:.1} s real at ×{}); ceiling at 200 requests/min = {ceiling:.1}; ratio {:.2} (target ≥ 0.9)",
            wall.elapsed().as_secs_f64(),
            opts.time_scale,
            per_minute / ceiling
        );
        println!(
            "Brightpearl rate-limit waits {} ms real, throttled responses {}; reconciliation: {} checked, {} mismatched",
            bp1.waits_ms - bp0.waits_ms,
            bp1.throttled - bp0.throttled,
            rec["orders"]["checked"],
            rec["orders"]["mismatched"]
        );
        // Where the steady-state Brightpearl calls went, by method and path.
        let audit = env.host.store.audit_lines(Some("demo"), 10_000_000).unwrap();
        let mut by_endpoint: std::collections::BTreeMap<String, u64> = Default::default();
        let mut bc_by_endpoint: std::collections::BTreeMap<String, u64> = Default::default();
        for l in audit.iter().take(audit.len() - audit_before).filter(|l| l.system == "bigcommerce") {
            let path: String = l.path.split('?').next().unwrap_or("").chars().map(|c| if c.is_ascii_digit() { 'N' } else { c }).collect();
            *bc_by_endpoint.entry(format!("{} {path}", l.method)).or_default() += 1;
        }
        for (endpoint, n) in bc_by_endpoint {
            println!("  {n:>6}  {:.2}/order  BigCommerce {endpoint}", n as f64 / posted as f64);
        }
        for l in audit.iter().take(audit.len() - audit_before).filter(|l| l.system == "brightpearl") {
            let path: String = l.path.split('?').next().unwrap_or("").chars().map(|c| if c.is_ascii_digit() { 'N' } else { c }).collect();
            *by_endpoint.entry(format!("{} {path}", l.method)).or_default() += 1;
        }
        for (endpoint, n) in by_endpoint {
            println!("  {n:>6}  {:.2}/order  {endpoint}", n as f64 / posted as f64);
        }
        env.shutdown().await;
    });
}
