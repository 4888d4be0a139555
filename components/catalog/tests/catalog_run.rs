//! The catalog audit against in-memory fakes of both APIs: exactly the planted discrepancies
//! with their entities, owners and impacts; resolved by themselves when fixed; purchasing
//! disabled on products without a master in batches of 50, and enabled again once they have
//! one; a failed read raises and resolves nothing.

use std::cell::RefCell;
use std::rc::Rc;

use catalog::config::{self, CatalogConfig};
use catalog::run::run;
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{FlowError, Method, Response, System, Team, Trigger};
use pearlbridge_sdk::{Report, State};
use serde_json::{Value, json};

#[derive(Default)]
struct World {
    /// BigCommerce products (`include=variants` shape).
    products: Vec<Value>,
    /// Brightpearl (product id, SKU, stockTracked).
    bp: Vec<(u64, &'static str, bool)>,
    /// Bodies of `PUT /v3/catalog/variants`.
    puts: Vec<Value>,
    /// BigCommerce answers 503 to product reads.
    bc_down: bool,
}

fn variant(id: u64, sku: &str, price: Option<&str>, level: i64) -> Value {
    json!({"id": id, "sku": sku, "price": price.map(|p| p.parse::<f64>().unwrap()), "inventory_level": level, "purchasing_disabled": false})
}

fn product(
    id: u64,
    name: &str,
    tracking: &str,
    level: i64,
    price: &str,
    variants: Vec<Value>,
) -> Value {
    json!({"id": id, "name": name, "inventory_tracking": tracking, "inventory_level": level,
           "price": price.parse::<f64>().unwrap(), "variants": variants})
}

fn query(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
}

fn api(world: Rc<RefCell<World>>) -> FakeApi {
    FakeApi::new(move |req| {
        let mut w = world.borrow_mut();
        let path = req.path.split('?').next().unwrap();
        match (req.system, req.method, path) {
            (System::Bigcommerce, Method::Get, "/v3/catalog/products") => {
                if w.bc_down {
                    return Ok(Response::new(503, "{}".to_string()));
                }
                let limit: usize = query(&req.path, "limit").unwrap().parse().unwrap();
                let page: usize = query(&req.path, "page").unwrap().parse().unwrap();
                let total_pages = w.products.len().div_ceil(limit).max(1);
                let data: Vec<Value> = w
                    .products
                    .iter()
                    .skip((page - 1) * limit)
                    .take(limit)
                    .cloned()
                    .collect();
                Ok(Response::new(
                    200,
                    json!({"data": data, "meta": {"pagination": {"total_pages": total_pages, "current_page": page}}}).to_string(),
                ))
            }
            (System::Bigcommerce, Method::Put, "/v3/catalog/variants") => {
                let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                for v in body.as_array().unwrap() {
                    for p in w.products.iter_mut() {
                        for pv in p["variants"].as_array_mut().unwrap() {
                            if pv["id"] == v["id"] {
                                pv["purchasing_disabled"] = v["purchasing_disabled"].clone();
                            }
                        }
                    }
                }
                w.puts.push(body);
                Ok(Response::new(
                    200,
                    json!({"data": [], "meta": {}}).to_string(),
                ))
            }
            (System::Brightpearl, Method::Get, "/product-service/product-search") => {
                let first: usize = query(&req.path, "firstResult").unwrap().parse().unwrap();
                let size: usize = query(&req.path, "pageSize").unwrap().parse().unwrap();
                let rows: Vec<Value> =
                    w.bp.iter()
                        .skip(first - 1)
                        .take(size)
                        .map(|(id, sku, tracked)| json!([id, sku, tracked]))
                        .collect();
                let n = rows.len();
                let more = first - 1 + n < w.bp.len();
                Ok(Response::new(
                    200,
                    json!({"response": {"metaData": {"morePagesAvailable": more, "resultsAvailable": w.bp.len(), "resultsReturned": n,
                        "firstResult": first, "lastResult": first + n - 1,
                        "columns": [{"name": "productId"}, {"name": "SKU"}, {"name": "stockTracked"}]}, "results": rows}})
                    .to_string(),
                ))
            }
            other => panic!("unexpected request {other:?}"),
        }
    })
}

fn cfg(unmastered: &str) -> CatalogConfig {
    config::parse(&json!({"currency": "GBP", "unmastered": unmastered, "brightpearl_only_prefixes": ["RAW-"]}).to_string()).unwrap()
}

/// One of each discrepancy, and clean products around them.
fn planted() -> World {
    World {
        products: vec![
            // Clean: a simple product and a two-variant product.
            product(
                1,
                "Oak Board",
                "product",
                7,
                "25.00",
                vec![variant(11, "OAK-1", None, 0)],
            ),
            product(
                2,
                "Linen Shirt",
                "variant",
                0,
                "40.00",
                vec![
                    variant(21, "SHIRT-S", None, 3),
                    variant(22, "SHIRT-M", Some("42.50"), 2),
                ],
            ),
            // A variant missing in Brightpearl (its sibling matches): 19.99 × 4.
            product(
                3,
                "Wool Scarf",
                "variant",
                0,
                "19.99",
                vec![
                    variant(31, "SCARF-RED", None, 5),
                    variant(32, "SCARF-BLU", None, 4),
                ],
            ),
            // A near-match (BigCommerce trailing space; Brightpearl lower case): 12.50 × 2.
            product(
                4,
                "Tea Tin",
                "product",
                2,
                "12.50",
                vec![variant(41, "TEA-1 ", None, 0)],
            ),
            // No Brightpearl master at all: 9.00 × 3 + 9.00 × 1.
            product(
                5,
                "Pop-up Mug",
                "variant",
                0,
                "9.00",
                vec![
                    variant(51, "MUG-NEW-A", None, 3),
                    variant(52, "MUG-NEW-B", None, 1),
                ],
            ),
            // Untracked in BigCommerce, tracked in Brightpearl.
            product(
                6,
                "Gift Card Box",
                "none",
                0,
                "5.00",
                vec![variant(61, "BOX-1", None, 0)],
            ),
            // A SKU on two BigCommerce variants (both match Brightpearl).
            product(
                7,
                "Candle",
                "product",
                1,
                "8.00",
                vec![variant(71, "CANDLE-1", None, 0)],
            ),
            product(
                8,
                "Candle (old)",
                "product",
                0,
                "8.00",
                vec![variant(81, "CANDLE-1", None, 0)],
            ),
        ],
        bp: vec![
            (1001, "OAK-1", true),
            (1002, "SHIRT-S", true),
            (1003, "SHIRT-M", true),
            (1004, "SCARF-RED", true),
            (1005, "tea-1", true),
            (1006, "BOX-1", true),
            (1007, "CANDLE-1", true),
            // Brightpearl only: not on BigCommerce.
            (1008, "LAMP-9", true),
            // Excluded by prefix.
            (1009, "RAW-WAX", true),
            // A SKU on two Brightpearl products (OAK-1 again).
            (1010, "OAK-1", true),
        ],
        ..World::default()
    }
}

type Found = (String, String, Team, Option<(String, String)>);

fn found(report: &MemoryReport) -> Vec<Found> {
    report
        .open_exceptions()
        .into_iter()
        .map(|e| {
            (
                e.kind,
                e.entity,
                e.owner,
                e.impact.map(|m| (m.amount, m.currency)),
            )
        })
        .collect()
}

fn gbp(a: &str) -> Option<(String, String)> {
    Some((a.into(), "GBP".into()))
}

#[test]
fn the_audit_finds_exactly_the_planted_discrepancies() {
    let world = Rc::new(RefCell::new(planted()));
    let api = api(world.clone());
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    let s = run(&Trigger::Scheduled, &cfg("flag"), &api, &state, &report).unwrap();
    let mut want: Vec<Found> = vec![
        (
            "duplicate-sku".into(),
            "bigcommerce:sku:CANDLE-1".into(),
            Team::Ecommerce,
            None,
        ),
        (
            "duplicate-sku".into(),
            "brightpearl:sku:OAK-1".into(),
            Team::Operations,
            None,
        ),
        (
            "inventory-tracking-mismatch".into(),
            "bigcommerce:variant:61".into(),
            Team::Operations,
            None,
        ),
        (
            "product-without-brightpearl-master".into(),
            "bigcommerce:product:5".into(),
            Team::Ecommerce,
            gbp("36.00"),
        ),
        (
            "sku-near-match".into(),
            "bigcommerce:variant:41".into(),
            Team::Ecommerce,
            gbp("25.00"),
        ),
        (
            "sku-not-in-bigcommerce".into(),
            "brightpearl:product:1008".into(),
            Team::Ecommerce,
            None,
        ),
        (
            "sku-not-in-brightpearl".into(),
            "bigcommerce:variant:32".into(),
            Team::Ecommerce,
            gbp("79.96"),
        ),
    ];
    want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(found(&report), want);
    let messages: Vec<String> = report
        .open_exceptions()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(messages.contains(&"variant 41 of product 4 \"Tea Tin\": SKU \"TEA-1 \" is not in Brightpearl, which has \"tea-1\" (product 1005): they differ only by case or surrounding spaces; orders for it are held".to_string()), "{messages:#?}");
    assert!(messages.contains(&"SKU \"OAK-1\" is on 2 Brightpearl products (1001, 1010): orders post to the lowest id, 1001".to_string()), "{messages:#?}");
    assert_eq!(s.count("discrepancies"), 7);
    assert_eq!(s.count("bigcommerce_variants"), 11);
    assert_eq!(s.count("brightpearl_products"), 10);
    // Distinct SKUs: 10 BigCommerce spellings (CANDLE-1 is on two variants) + tea-1, LAMP-9, RAW-WAX.
    assert_eq!(s.count("skus_audited"), 13);
    assert_eq!(s.count("variants_disabled"), 0);
    // Reads only: one product page, one search page, no write with `flag`.
    assert_eq!(
        api.count(System::Bigcommerce, Method::Get, "/v3/catalog/products"),
        1
    );
    assert_eq!(
        api.count(
            System::Brightpearl,
            Method::Get,
            "/product-service/product-search"
        ),
        1
    );
    assert!(world.borrow().puts.is_empty());

    // Fix three in the catalogs: each resolves by itself on the next audit, nothing else moves.
    {
        let mut w = world.borrow_mut();
        w.products[3]["variants"][0]["sku"] = json!("tea-1");
        w.products.remove(7);
        w.bp.push((1011, "SCARF-BLU", true));
    }
    let report2 = MemoryReport::new();
    for e in report.open_exceptions() {
        report2.raise(e);
    }
    run(&Trigger::Scheduled, &cfg("flag"), &api, &state, &report2).unwrap();
    let mut resolved = report2.resolved();
    resolved.sort();
    assert_eq!(
        resolved,
        [
            (
                "duplicate-sku".to_string(),
                "bigcommerce:sku:CANDLE-1".to_string()
            ),
            ("sku-near-match".into(), "bigcommerce:variant:41".into()),
            (
                "sku-not-in-brightpearl".into(),
                "bigcommerce:variant:32".into()
            ),
        ]
    );
    assert_eq!(report2.open_exceptions().len(), 4);
}

#[test]
fn products_without_a_master_are_disabled_in_batches_and_enabled_again_once_mastered() {
    let mut w = planted();
    // 60 variants of one product without a master: batches of 50 and 10.
    w.products.push(product(
        9,
        "Unlisted Socks",
        "variant",
        0,
        "3.00",
        (0..60)
            .map(|i| variant(900 + i, &format!("SOCK-{i}"), None, 1))
            .collect(),
    ));
    let world = Rc::new(RefCell::new(w));
    let api = api(world.clone());
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    let s = run(
        &Trigger::Scheduled,
        &cfg("disable-purchasing"),
        &api,
        &state,
        &report,
    )
    .unwrap();
    assert_eq!(s.count("variants_disabled"), 62);
    let puts = world.borrow().puts.clone();
    assert_eq!(puts.len(), 2);
    assert_eq!(
        puts[0].as_array().unwrap()[..2],
        [
            json!({"id": 51, "purchasing_disabled": true}),
            json!({"id": 52, "purchasing_disabled": true})
        ]
    );
    assert_eq!(puts[0].as_array().unwrap().len(), 50);
    assert_eq!(puts[1].as_array().unwrap().len(), 12);
    assert_eq!(state.get("disabled:variant:51").unwrap().value, "5");
    assert_eq!(state.get("disabled:variant:959").unwrap().value, "9");
    assert!(
        report
            .open_exceptions()
            .iter()
            .any(|e| e.entity == "bigcommerce:product:9"
                && e.impact.as_ref().unwrap().amount == "180.00")
    );

    // Nothing changed: nothing is written again.
    world.borrow_mut().puts.clear();
    let s = run(
        &Trigger::Scheduled,
        &cfg("disable-purchasing"),
        &api,
        &state,
        &report,
    )
    .unwrap();
    assert_eq!(s.count("variants_disabled"), 0);
    assert!(world.borrow().puts.is_empty());

    // Brightpearl gets the mug: its two variants are enabled again, the socks stay disabled.
    world.borrow_mut().bp.push((1012, "MUG-NEW-A", true));
    let s = run(
        &Trigger::Scheduled,
        &cfg("disable-purchasing"),
        &api,
        &state,
        &report,
    )
    .unwrap();
    assert_eq!(s.count("variants_enabled"), 2);
    assert_eq!(
        world.borrow().puts,
        [
            json!([{"id": 51, "purchasing_disabled": false}, {"id": 52, "purchasing_disabled": false}])
        ]
    );
    assert!(state.get("disabled:variant:51").is_none());
    assert!(state.get("disabled:variant:900").is_some());
    // MUG-NEW-B is now a single missing variant of a mastered product.
    assert!(
        report
            .open_exceptions()
            .iter()
            .any(|e| e.kind == "sku-not-in-brightpearl" && e.entity == "bigcommerce:variant:52")
    );
    assert!(
        !report
            .open_exceptions()
            .iter()
            .any(|e| e.entity == "bigcommerce:product:5")
    );
}

#[test]
fn a_variant_someone_else_disabled_is_never_enabled_by_the_audit() {
    let mut w = planted();
    w.products[4]["variants"][0]["purchasing_disabled"] = json!(true);
    let world = Rc::new(RefCell::new(w));
    let api = api(world.clone());
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    run(
        &Trigger::Scheduled,
        &cfg("disable-purchasing"),
        &api,
        &state,
        &report,
    )
    .unwrap();
    // Only the variant that was still purchasable is disabled and marked.
    assert_eq!(
        world.borrow().puts,
        [json!([{"id": 52, "purchasing_disabled": true}])]
    );
    world.borrow_mut().bp.push((1012, "MUG-NEW-A", true));
    world.borrow_mut().puts.clear();
    run(
        &Trigger::Scheduled,
        &cfg("disable-purchasing"),
        &api,
        &state,
        &report,
    )
    .unwrap();
    assert_eq!(
        world.borrow().puts,
        [json!([{"id": 52, "purchasing_disabled": false}])]
    );
}

#[test]
fn a_failed_read_raises_and_resolves_nothing() {
    let world = Rc::new(RefCell::new(planted()));
    let api = api(world.clone());
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    run(&Trigger::Scheduled, &cfg("flag"), &api, &state, &report).unwrap();
    let before = report.open_exceptions().len();
    world.borrow_mut().bc_down = true;
    let err = run(&Trigger::Scheduled, &cfg("flag"), &api, &state, &report).unwrap_err();
    assert!(
        matches!(&err, FlowError::Upstream(m) if m.contains("GET /v3/catalog/products")),
        "{err:?}"
    );
    assert_eq!(report.open_exceptions().len(), before);
    assert!(report.resolved().is_empty());
}

#[test]
fn brightpearl_search_pages_are_all_read() {
    let mut w = planted();
    for i in 0..1200u64 {
        let sku: &'static str = Box::leak(format!("RAW-{i}").into_boxed_str());
        w.bp.push((2000 + i, sku, true));
    }
    let world = Rc::new(RefCell::new(w));
    let api = api(world);
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    let s = run(&Trigger::Scheduled, &cfg("flag"), &api, &state, &report).unwrap();
    assert_eq!(
        api.count(
            System::Brightpearl,
            Method::Get,
            "/product-service/product-search"
        ),
        3
    );
    assert_eq!(s.count("brightpearl_products"), 1210);
    assert_eq!(s.count("discrepancies"), 7);
}

#[test]
fn bad_config_names_the_field() {
    let p = config::check(&json!({"currency": "pounds"}).to_string());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].path, "currency");
    let p = config::check(&json!({"currency": "GBP", "unmastered": "hide"}).to_string());
    assert_eq!(p[0].path, "unmastered", "{p:?}");
    let p =
        config::check(&json!({"currency": "GBP", "brightpearl_only_prefixes": [" "]}).to_string());
    assert_eq!(p[0].path, "brightpearl_only_prefixes[0]");
    let p = config::check(&json!({"currency": "GBP", "colour": 1}).to_string());
    assert!(p[0].message.contains("unknown field `colour`"), "{p:?}");
    assert!(config::check(&json!({"currency": "GBP"}).to_string()).is_empty());
}
