//! Issue #12 (pricing) in the sandbox: the pricing component in the host writes every
//! Brightpearl Trade and Wholesale price of a BigCommerce variant into the BigCommerce price
//! list of the matching customer group (checked here against the simulator's stored
//! records, not the flow's own read-back), and a second run with nothing changed sends no
//! record.

use std::collections::BTreeMap;

use pearlbridge::bindings::Trigger;
use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_tests::components_dir;
use rust_decimal::Decimal;
use serde_json::Value;

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.to_string().parse().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brightpearl_price_lists_reach_the_bigcommerce_price_lists_once() {
    let opts = DemoOptions {
        orders: 10,
        seed: 3,
        components_dir: components_dir(),
        time_scale: 200.0,
        max_runs: 10,
        ..DemoOptions::default()
    };
    let (seed, facts) = build_seed(&opts).unwrap();
    let env = DemoEnv::start(&opts, seed.clone(), facts).await.unwrap();
    let first = env
        .host
        .run_flow("demo", "pricing", Trigger::Scheduled)
        .await
        .unwrap();
    assert!(first.outcome.is_ok(), "{:?}", first.outcome);

    // Brightpearl: SKU → (price list id → lowest-break price).
    let sku_of: BTreeMap<i64, String> = seed
        .brightpearl
        .products
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap(),
                p["identity"]["sku"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut bp: BTreeMap<(String, i64), Decimal> = BTreeMap::new();
    for pp in &seed.brightpearl.product_prices {
        let Some(sku) = sku_of.get(&pp["productId"].as_i64().unwrap()) else {
            continue;
        };
        for pl in pp["priceLists"].as_array().unwrap() {
            let breaks = pl["quantityPrice"].as_object().unwrap();
            if let Some((_, price)) = breaks.iter().min_by_key(|(q, _)| q.parse::<u64>().unwrap()) {
                bp.insert(
                    (sku.clone(), pl["priceListId"].as_i64().unwrap()),
                    dec(price),
                );
            }
        }
    }
    // BigCommerce list → Brightpearl list, from the mapping the demo pinned.
    let pricing = pearlbridge::demo_pricing::pricing_mapping(
        &seed,
        &env.mapping,
        &pearlbridge::demo::stock_mapping(&seed, &env.mapping),
    )
    .unwrap();
    let groups = pricing["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{pricing:#}");
    let mut checked = 0;
    for g in groups {
        let (bc_list, bp_list) = (
            g["bc_price_list_id"].as_i64().unwrap(),
            g["price_list_id"].as_i64().unwrap(),
        );
        let records = env.sandbox.bigcommerce.price_list_records(bc_list);
        for p in &seed.bigcommerce.products {
            for v in p["variants"].as_array().unwrap() {
                let sku = v["sku"].as_str().unwrap();
                let Some(want) = bp.get(&(sku.to_string(), bp_list)) else {
                    continue;
                };
                let rec = records
                    .iter()
                    .find(|r| r["variant_id"] == v["id"] && r["currency"] == "gbp")
                    .unwrap_or_else(|| {
                        panic!("no record for variant {} on list {bc_list}", v["id"])
                    });
                assert_eq!(
                    dec(&rec["price"]),
                    *want,
                    "variant {} ({sku}) on list {bc_list}",
                    v["id"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked}");
    assert_eq!(first.count("prices.mismatched"), 0);
    assert!(first.count("price_records_upserted") > 0);

    // Nothing changed: nothing is sent.
    let second = env
        .host
        .run_flow("demo", "pricing", Trigger::Scheduled)
        .await
        .unwrap();
    assert!(second.outcome.is_ok(), "{:?}", second.outcome);
    assert_eq!(second.count("price_records_upserted"), 0);
    assert_eq!(second.count("writes"), 0);
    env.shutdown().await;
}
