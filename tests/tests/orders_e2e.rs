//! Issue #4 "done when", end to end: the orders component in the host against the sandbox.

use std::collections::BTreeSet;

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_capabilities::connections::System;
use pearlbridge_tests::components_dir;

fn options(orders: usize, seed: u64, fault_seed: Option<u64>) -> DemoOptions {
    DemoOptions {
        orders,
        seed,
        components_dir: components_dir(),
        time_scale: 200.0,
        fault_seed,
        max_runs: 20,
        ..DemoOptions::default()
    }
}

/// Ids of the open exceptions of `kind`, as BigCommerce order ids.
fn held_orders(env: &DemoEnv, kind: &str) -> BTreeSet<i64> {
    env.exceptions()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .filter_map(|e| {
            e["entity"]
                .as_str()?
                .strip_prefix("bigcommerce:order:")?
                .parse()
                .ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_store_reconciles_to_the_penny_and_holds_planted_unknown_skus() {
    let opts = options(150, 11, None);
    let (seed, facts) = build_seed(&opts).unwrap();
    let bundles = seed.bigcommerce.orders.clone();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    let runs = env.run_orders(opts.max_runs).await.unwrap();
    let rec = env.reconcile().unwrap();
    assert_eq!(rec["orders"]["mismatched"], 0, "{rec:#}");
    assert_eq!(rec["orders"]["duplicated"], 0, "{rec:#}");
    assert_eq!(rec["orders"]["missing"], 0, "{rec:#}");
    assert_eq!(rec["payments"]["mismatched"], 0, "{rec:#}");
    assert_eq!(rec["payments"]["duplicated"], 0, "{rec:#}");

    // Every in-scope order with a planted unknown SKU is held with `unmapped-sku`, and every
    // held order has an unknown or near-match SKU.
    let facts = env.facts.clone().unwrap();
    let unknown: BTreeSet<&str> = facts.unknown_skus.iter().map(String::as_str).collect();
    let near: BTreeSet<&str> = facts
        .near_match_skus
        .iter()
        .map(|(bc, _)| bc.as_str())
        .collect();
    let in_scope =
        |b: &&pearlbridge_sandbox::seed::BigCommerceOrderBundle| b.order["status_id"] == 11;
    let with_sku = |set: &BTreeSet<&str>| -> BTreeSet<i64> {
        bundles
            .iter()
            .filter(in_scope)
            .filter(|b| {
                b.products
                    .iter()
                    .any(|p| p["sku"].as_str().is_some_and(|s| set.contains(s)))
            })
            .filter_map(|b| b.order["id"].as_i64())
            .collect()
    };
    let expected_held = with_sku(&unknown);
    assert!(
        !expected_held.is_empty(),
        "the generator planted no unknown SKU in 150 orders"
    );
    let held = held_orders(&env, "unmapped-sku");
    assert!(
        expected_held.is_subset(&held),
        "planted {expected_held:?}, held {held:?}"
    );
    let possible: BTreeSet<i64> = expected_held.union(&with_sku(&near)).copied().collect();
    assert!(
        held.is_subset(&possible),
        "held {held:?} beyond the planted {possible:?}"
    );
    for e in env
        .exceptions()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "unmapped-sku")
    {
        assert_eq!(e["owner"], "ecommerce");
        assert!(e["impact"]["amount"].as_str().is_some(), "{e}");
    }

    // Posted + held = every in-scope order; nothing else is posted.
    let posted: u64 = runs.iter().map(|r| r.count("posted")).sum();
    let in_scope_count = bundles.iter().filter(in_scope).count() as u64;
    assert_eq!(posted + held.len() as u64, in_scope_count);
    assert_eq!(rec["orders"]["checked"], posted);
    let bp_orders = env.sandbox.brightpearl.sales_orders();
    assert_eq!(bp_orders.len() as u64, posted);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_orders_under_faults_post_exactly_once_and_none_are_lost() {
    // ×50: fast enough for CI, slow enough that both servers' quotas bind (a debug host
    // sends a few hundred requests a second).
    let opts = DemoOptions {
        time_scale: 50.0,
        ..options(1000, 3, Some(42))
    };
    let (seed, facts) = build_seed(&opts).unwrap();
    let in_scope: BTreeSet<String> = seed
        .bigcommerce
        .orders
        .iter()
        .filter(|b| b.order["status_id"] == 11)
        .map(|b| b.order["id"].to_string())
        .collect();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    let runs = env.run_orders(opts.max_runs).await.unwrap();
    let last = runs.last().unwrap();
    assert_eq!(
        last.count("pending_retry"),
        0,
        "still pending after {} runs",
        runs.len()
    );

    let rec = env.reconcile().unwrap();
    assert_eq!(rec["orders"]["duplicated"], 0, "{rec:#}");
    assert_eq!(rec["orders"]["missing"], 0, "{rec:#}");
    assert_eq!(rec["orders"]["mismatched"], 0, "{rec:#}");
    assert_eq!(rec["payments"]["duplicated"], 0, "{rec:#}");
    assert_eq!(rec["payments"]["mismatched"], 0, "{rec:#}");

    // Exactly one sales order per posted BigCommerce order; every in-scope order is posted
    // or held with an exception.
    let bp_orders = env.sandbox.brightpearl.sales_orders();
    let refs: Vec<String> = bp_orders
        .iter()
        .map(|o| o["externalRef"].as_str().unwrap_or("").to_string())
        .collect();
    let unique: BTreeSet<&String> = refs.iter().collect();
    assert_eq!(
        unique.len(),
        refs.len(),
        "two sales orders for one BigCommerce order"
    );
    let held: BTreeSet<String> = env
        .exceptions()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["entity"]
                .as_str()?
                .strip_prefix("bigcommerce:order:")
                .map(str::to_string)
        })
        .collect();
    for id in &in_scope {
        assert!(
            unique.contains(id) || held.contains(id),
            "order {id} was neither posted nor held"
        );
    }
    assert!(
        unique.len() > 700,
        "only {} of {} posted",
        unique.len(),
        in_scope.len()
    );

    // The faults really happened: lost responses of committed writes, 5xx, throttles.
    let audit = env.host.store.audit_lines(Some("demo"), 1_000_000).unwrap();
    let outcome_unknown = audit
        .iter()
        .filter(|l| l.outcome == "outcome-unknown")
        .count();
    let server_errors = audit
        .iter()
        .filter(|l| l.status.is_some_and(|s| s >= 500))
        .count();
    assert!(
        outcome_unknown >= 10,
        "only {outcome_unknown} lost write responses"
    );
    assert!(server_errors >= 100, "only {server_errors} 5xx");
    let bc = env
        .host
        .connection_stats("demo", System::BigCommerce)
        .unwrap();
    assert!(bc.throttled > 0, "no 429 seen");
    // BigCommerce's quota binds at this clock (about 6 reads per order); Brightpearl's
    // throttle handling is covered by the connections tests.
    assert!(
        bc.waits_ms > 0,
        "BigCommerce's rate limit never made a caller wait: {bc:?}"
    );
    // Every write whose outcome was unknown was looked up by its external reference.
    let order_lookups = audit
        .iter()
        .filter(|l| l.path.contains("order-search"))
        .count();
    let lost_orders = audit
        .iter()
        .filter(|l| {
            l.outcome == "outcome-unknown" && l.path.starts_with("/order-service/sales-order")
        })
        .count();
    assert!(lost_orders > 0, "no sales-order response was lost");
    assert!(
        order_lookups >= lost_orders,
        "{order_lookups} order searches for {lost_orders} lost sales-order responses"
    );
    let payment_lookups = audit
        .iter()
        .filter(|l| l.path.contains("customer-payment-search"))
        .count();
    let lost_payments = audit
        .iter()
        .filter(|l| {
            l.outcome == "outcome-unknown"
                && (l.path.starts_with("/multi-message")
                    || l.path.starts_with("/accounting-service/customer-payment"))
        })
        .count();
    assert!(lost_payments > 0, "no payment response was lost");
    assert!(
        payment_lookups >= lost_payments,
        "{payment_lookups} payment searches for {lost_payments} lost payment responses"
    );
    env.shutdown().await;
}
