//! Issue #9 in the sandbox: the stock component in the host, after the orders flow, against
//! both simulators: a full sync reconciles every tracked SKU, a Brightpearl stock change
//! reaches BigCommerce through its event, and only the changed SKUs are written.

use pearlbridge::bindings::Trigger;
use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_tests::components_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brightpearl_stock_reaches_bigcommerce_and_only_changed_skus_are_written() {
    let opts = DemoOptions {
        orders: 120,
        seed: 5,
        components_dir: components_dir(),
        time_scale: 200.0,
        max_runs: 20,
        ..DemoOptions::default()
    };
    let (seed, facts) = build_seed(&opts).unwrap();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();

    let full = env.run_stock(Trigger::Scheduled).await.unwrap();
    let checked = full.count("skus_checked");
    assert!(checked > 50, "{checked} SKUs checked");
    assert_eq!(full.count("writes"), 1, "one absolute adjustment call");
    let rec = env.reconcile_stock();
    assert!(rec["checked"].as_u64().unwrap() > 50, "{rec:#}");
    assert_eq!(rec["mismatched"], 0, "{rec:#}");
    assert_eq!(rec["oversold_units"], 0, "{rec:#}");

    // Nothing moved: a second full sync writes nothing.
    let again = env.run_stock(Trigger::Scheduled).await.unwrap();
    assert_eq!((again.count("skus_pushed"), again.count("writes")), (0, 0));

    // Stock moves in Brightpearl on every 10th product: only those are read and written.
    let moved = env.move_stock(10);
    assert!(moved.len() >= 5, "{moved:?}");
    let events = env.stock_events(&moved);
    let r = env.run_stock(Trigger::Events(events)).await.unwrap();
    assert!(
        r.count("skus_checked") <= moved.len() as u64 * 4,
        "{:?}",
        r.outcome
    );
    assert!(r.count("skus_pushed") >= 1);
    assert!(r.count("skus_pushed") <= r.count("skus_checked"));
    assert_eq!(r.count("writes"), 1);
    let rec = env.reconcile_stock();
    assert_eq!(rec["mismatched"], 0, "{rec:#}");
    assert_eq!(rec["oversold_units"], 0, "{rec:#}");
    env.shutdown().await;
}
