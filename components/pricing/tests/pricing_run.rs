//! The pricing flow against in-memory fakes of both APIs answering like the sandbox:
//! exact record payloads (quantity breaks, two groups, decimals), batching, only changed
//! records written, assignments, reconciliation, the B2B contacts check, config errors.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pearlbridge_sdk::State;
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{
    Method, Request, Response, RunSummary, SendError, System, Team, Trigger,
};
use pricing::config::{self, PricingConfig};
use pricing::run::{WRONG_LIST_KEY, kinds, run_at};
use serde_json::{Value, json};

const NOW: i64 = 1_714_564_800;

/// Group 2 → Brightpearl list 3 → BigCommerce list 1; group 3 → list 4 → list 2.
fn cfg() -> PricingConfig {
    config::parse(
        &json!({
            "currency": "GBP",
            "wrong_list": "hold",
            "groups": [
                {"customer_group_id": 2, "price_list_id": 3, "bc_price_list_id": 1},
                {"customer_group_id": 3, "price_list_id": 4, "bc_price_list_id": 2, "channel_id": 1}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

#[derive(Default)]
struct World {
    /// Brightpearl product id → SKU.
    bp_products: BTreeMap<u64, String>,
    /// Brightpearl product id → list id → quantityPrice.
    bp_prices: BTreeMap<u64, BTreeMap<u64, Value>>,
    /// BigCommerce variants: (id, product id, sku).
    variants: Vec<(u64, u64, String)>,
    /// BigCommerce records: (list, variant) → record.
    records: BTreeMap<(u64, u64), Value>,
    /// BigCommerce assignments.
    assignments: Vec<Value>,
    /// BigCommerce customers: (id, email, group).
    customers: Vec<(u64, String, u64)>,
    /// Brightpearl contacts: id → (email, price list).
    contacts: BTreeMap<u64, (String, u64)>,
    /// Variant ids the records PUT refuses (207 batch error).
    refuse: Vec<u64>,
}

fn q(path: &str, key: &str) -> Option<String> {
    let qs = path.split_once('?')?.1;
    qs.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .map(|v| v.replace("%3A", ":").replace("%40", "@"))
}

fn id_set(s: &str) -> Vec<u64> {
    let mut out = vec![];
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

fn page(rows: Vec<Value>, path: &str, max: usize) -> Response {
    let limit: usize = q(path, "limit").map_or(50, |l| l.parse().unwrap());
    assert!(limit <= max, "{path}: limit above {max}");
    let p: usize = q(path, "page").map_or(1, |l| l.parse().unwrap());
    let total_pages = rows.len().div_ceil(limit).max(1);
    let data: Vec<Value> = rows.into_iter().skip((p - 1) * limit).take(limit).collect();
    Response::new(
        200,
        json!({"data": data, "meta": {"pagination": {"total_pages": total_pages, "current_page": p}}})
            .to_string(),
    )
}

fn search(columns: &[&str], rows: Vec<Vec<Value>>) -> Response {
    let n = rows.len();
    Response::new(
        200,
        json!({"response": {"metaData": {"morePagesAvailable": false, "resultsAvailable": n, "resultsReturned": n, "firstResult": 1, "lastResult": n,
               "columns": columns.iter().map(|c| json!({"name": c})).collect::<Vec<_>>()}, "results": rows}, "reference": {}})
        .to_string(),
    )
}

impl World {
    fn handle(&mut self, req: &Request) -> Result<Response, SendError> {
        let path = req.path.as_str();
        let base = path.split('?').next().unwrap();
        let segs: Vec<&str> = base.trim_start_matches('/').split('/').collect();
        let ok = |v: Value| Ok(Response::new(200, v.to_string()));
        match (req.system, req.method, segs.as_slice()) {
            (System::Brightpearl, Method::Get, ["product-service", "product-search"]) => {
                let rows = self
                    .bp_products
                    .iter()
                    .map(|(id, sku)| vec![json!(id), json!(sku), json!("2024-05-01T09:00:00Z")])
                    .collect();
                Ok(search(&["productId", "SKU", "updatedOn"], rows))
            }
            (
                System::Brightpearl,
                Method::Get,
                ["product-service", "product-price", set, "price-list", pls],
            ) => {
                let ids = id_set(set);
                assert!(ids.len() <= 200, "product-price id set over 200");
                let lists = id_set(pls);
                let out: Vec<Value> = ids
                    .iter()
                    .filter_map(|id| {
                        let p = self.bp_prices.get(id)?;
                        let pls: Vec<Value> = p
                            .iter()
                            .filter(|(l, _)| lists.contains(l))
                            .map(|(l, qp)| json!({"priceListId": l, "currencyCode": "GBP", "currencyId": 1, "quantityPrice": qp}))
                            .collect();
                        Some(json!({"productId": id, "priceLists": pls}))
                    })
                    .collect();
                if out.is_empty() {
                    return Ok(Response::new(
                        404,
                        r#"{"errors":[{"code":"CMNC-404","message":"No Product Prices Found"}]}"#,
                    ));
                }
                ok(json!({ "response": out }))
            }
            (System::Brightpearl, Method::Get, ["contact-service", "contact-search"]) => {
                let email = q(path, "primaryEmail").unwrap();
                let rows = self
                    .contacts
                    .iter()
                    .filter(|(_, (e, _))| e.eq_ignore_ascii_case(&email))
                    .map(|(id, (e, _))| vec![json!(e), json!(id)])
                    .collect();
                Ok(search(&["primaryEmail", "contactId"], rows))
            }
            (System::Brightpearl, Method::Get, ["contact-service", "contact", set]) => {
                let out: Vec<Value> = id_set(set)
                    .iter()
                    .filter_map(|id| {
                        let (_, pl) = self.contacts.get(id)?;
                        Some(json!({"contactId": id, "firstName": "A", "lastName": "B", "financialDetails": {"priceListId": pl}}))
                    })
                    .collect();
                ok(json!({ "response": out }))
            }
            (System::Bigcommerce, Method::Get, ["v3", "catalog", "variants"]) => {
                let rows = self
                    .variants
                    .iter()
                    .map(|(id, pid, sku)| json!({"id": id, "product_id": pid, "sku": sku}))
                    .collect();
                Ok(page(rows, path, 250))
            }
            (System::Bigcommerce, Method::Put, ["v3", "pricelists", list, "records"]) => {
                let list: u64 = list.parse().unwrap();
                let body: Vec<Value> = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                if body.len() > 1000 {
                    return Ok(Response::new(413, "{}"));
                }
                let mut errors = vec![];
                for r in body {
                    let v = r["variant_id"].as_u64().unwrap();
                    if self.refuse.contains(&v) {
                        errors.push(json!({"data": {"price_list_id": list, "variant_id": v, "sku": null, "currency": "gbp"},
                                           "field_errors": {"variant_id": "variant not found"}}));
                        continue;
                    }
                    self.records.insert((list, v), r);
                }
                if errors.is_empty() {
                    ok(json!({"data": {}, "meta": {}}))
                } else {
                    Ok(Response::new(
                        207,
                        json!({ "batch_errors": errors }).to_string(),
                    ))
                }
            }
            (System::Bigcommerce, Method::Get, ["v3", "pricelists", list, "records"]) => {
                let list: u64 = list.parse().unwrap();
                assert_eq!(q(path, "currency").as_deref(), Some("gbp"));
                let rows = self
                    .records
                    .iter()
                    .filter(|((l, _), _)| *l == list)
                    .map(|(_, r)| r.clone())
                    .collect();
                Ok(page(rows, path, 1000))
            }
            (System::Bigcommerce, Method::Get, ["v3", "pricelists", "assignments"]) => {
                let list: u64 = q(path, "price_list_id").unwrap().parse().unwrap();
                let rows = self
                    .assignments
                    .iter()
                    .filter(|a| a["price_list_id"].as_u64() == Some(list))
                    .cloned()
                    .collect();
                Ok(page(rows, path, 250))
            }
            (System::Bigcommerce, Method::Post, ["v3", "pricelists", "assignments"]) => {
                let body: Vec<Value> = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                assert!(body.len() <= 25);
                self.assignments.extend(body.iter().cloned());
                ok(json!({"data": body, "meta": {}}))
            }
            (System::Bigcommerce, Method::Get, ["v3", "customers"]) => {
                let groups: Vec<u64> = q(path, "customer_group_id:in")
                    .unwrap()
                    .split(',')
                    .map(|g| g.parse().unwrap())
                    .collect();
                let rows = self
                    .customers
                    .iter()
                    .filter(|(_, _, g)| groups.contains(g))
                    .map(|(id, e, g)| json!({"id": id, "email": e, "customer_group_id": g}))
                    .collect();
                Ok(page(rows, path, 250))
            }
            _ => panic!("unexpected {:?} {path}", req.method),
        }
    }
}

struct Harness {
    world: Rc<RefCell<World>>,
    api: FakeApi,
    state: MemoryState,
    report: MemoryReport,
}

impl Harness {
    fn new(world: World) -> Harness {
        let world = Rc::new(RefCell::new(world));
        let w = world.clone();
        Harness {
            world,
            api: FakeApi::new(move |req| w.borrow_mut().handle(req)),
            state: MemoryState::new(),
            report: MemoryReport::new(),
        }
    }

    fn run(&self) -> RunSummary {
        self.run_with(&cfg(), &Trigger::Scheduled)
    }

    fn run_with(&self, cfg: &PricingConfig, trigger: &Trigger) -> RunSummary {
        self.api.clear_log();
        run_at(trigger, cfg, &self.api, &self.state, &self.report, NOW).unwrap()
    }

    /// The raw bodies of the record PUTs to `list`, in order.
    fn puts(&self, list: u64) -> Vec<String> {
        let path = format!("/v3/pricelists/{list}/records");
        self.api
            .requests()
            .into_iter()
            .filter(|r| r.method == Method::Put && r.path == path)
            .map(|r| r.body.unwrap())
            .collect()
    }

    fn all_puts(&self) -> usize {
        self.api
            .count(System::Bigcommerce, Method::Put, "/v3/pricelists")
    }
}

/// Two products on both lists, with quantity breaks and 4-dp decimals.
fn small() -> World {
    let mut w = World::default();
    w.bp_products.insert(101, "A-1".into());
    w.bp_products.insert(102, "B-2".into());
    w.variants = vec![(1001, 11, "A-1".into()), (1002, 12, "B-2".into())];
    w.bp_prices.insert(
        101,
        BTreeMap::from([
            (3, json!({"1": "12.3450", "10": "11.0000"})),
            (4, json!({"1": "10.0000"})),
            (1, json!({"1": "20.0000"})), // retail: not mapped, never read
        ]),
    );
    w.bp_prices.insert(
        102,
        BTreeMap::from([
            (3, json!({"1": "5.5000"})),
            (4, json!({"1": "4.1230", "5": "4.0000", "50": "3.5000"})),
        ]),
    );
    w
}

#[test]
fn exact_record_payloads_for_two_groups_with_breaks_and_decimals() {
    let h = Harness::new(small());
    let s = h.run();
    assert_eq!(
        h.puts(1),
        vec![
            r#"[{"variant_id":1001,"currency":"gbp","price":12.345,"bulk_pricing_tiers":[{"quantity_min":10,"quantity_max":0,"type":"fixed","amount":11}]},{"variant_id":1002,"currency":"gbp","price":5.5,"bulk_pricing_tiers":[]}]"#
        ]
    );
    assert_eq!(
        h.puts(2),
        vec![
            r#"[{"variant_id":1001,"currency":"gbp","price":10,"bulk_pricing_tiers":[]},{"variant_id":1002,"currency":"gbp","price":4.123,"bulk_pricing_tiers":[{"quantity_min":5,"quantity_max":49,"type":"fixed","amount":4},{"quantity_min":50,"quantity_max":0,"type":"fixed","amount":3.5}]}]"#
        ]
    );
    // Prices are read for the mapped lists only, in one id set.
    let price_reads: Vec<String> = h
        .api
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/product-service/product-price"))
        .map(|r| r.path)
        .collect();
    assert_eq!(
        price_reads,
        vec!["/product-service/product-price/101,102/price-list/3,4"]
    );
    assert_eq!(s.count("price_records_upserted"), 4);
    assert_eq!(s.count("prices.checked"), 4);
    assert_eq!(s.count("prices.mismatched"), 0);
    assert_eq!(s.count("variants_matched"), 2);
    assert_eq!(s.count("assignments_created"), 2);
    assert_eq!(
        h.state.get(WRONG_LIST_KEY).map(|e| e.value).as_deref(),
        Some("hold")
    );
    assert!(
        h.report.open_exceptions().is_empty(),
        "{:?}",
        h.report.open_exceptions()
    );
}

#[test]
fn batches_of_at_most_1000_records_one_after_another() {
    let mut w = World::default();
    for i in 1..=2500u64 {
        w.bp_products.insert(i, format!("S-{i}"));
        w.variants.push((10_000 + i, i, format!("S-{i}")));
        w.bp_prices
            .insert(i, BTreeMap::from([(3, json!({"1": format!("{i}.0000")}))]));
    }
    let h = Harness::new(w);
    let cfg = config::parse(
        &json!({"currency": "GBP", "wrong_list": "post-with-group-list",
                "groups": [{"customer_group_id": 2, "price_list_id": 3, "bc_price_list_id": 1}]})
        .to_string(),
    )
    .unwrap();
    let s = h.run_with(&cfg, &Trigger::Scheduled);
    let sizes: Vec<usize> = h
        .puts(1)
        .iter()
        .map(|b| serde_json::from_str::<Vec<Value>>(b).unwrap().len())
        .collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
    // 2,500 products: 13 product-price reads of ≤ 200 ids.
    assert_eq!(
        h.api.count(
            System::Brightpearl,
            Method::Get,
            "/product-service/product-price/"
        ),
        13
    );
    assert_eq!(s.count("price_records_upserted"), 2500);
    assert_eq!(s.count("prices.checked"), 2500);
    assert_eq!(s.count("prices.mismatched"), 0);
    let again = h.run_with(&cfg, &Trigger::Scheduled);
    assert_eq!(h.all_puts(), 0);
    assert_eq!(again.count("price_records_upserted"), 0);
}

#[test]
fn a_second_run_with_nothing_changed_writes_nothing() {
    let h = Harness::new(small());
    h.run();
    let s = h.run();
    assert_eq!(h.all_puts(), 0);
    assert_eq!(
        h.api.count(
            System::Bigcommerce,
            Method::Post,
            "/v3/pricelists/assignments"
        ),
        0
    );
    assert_eq!(s.count("price_records_upserted"), 0);
    assert_eq!(s.count("writes"), 0);
    assert_eq!(s.count("prices.checked"), 4);
    assert_eq!(s.count("prices.mismatched"), 0);
}

#[test]
fn a_changed_price_sends_exactly_that_record() {
    let h = Harness::new(small());
    h.run();
    h.world
        .borrow_mut()
        .bp_prices
        .get_mut(&102)
        .unwrap()
        .insert(4, json!({"1": "4.1230", "5": "3.9900", "50": "3.5000"}));
    let s = h.run();
    assert!(h.puts(1).is_empty());
    assert_eq!(
        h.puts(2),
        vec![
            r#"[{"variant_id":1002,"currency":"gbp","price":4.123,"bulk_pricing_tiers":[{"quantity_min":5,"quantity_max":49,"type":"fixed","amount":3.99},{"quantity_min":50,"quantity_max":0,"type":"fixed","amount":3.5}]}]"#
        ]
    );
    assert_eq!(s.count("price_records_upserted"), 1);
}

#[test]
fn a_record_edited_in_bigcommerce_is_counted_and_written_again_next_run() {
    let h = Harness::new(small());
    h.run();
    h.world.borrow_mut().records.get_mut(&(1, 1002)).unwrap()["price"] = json!(9.99);
    let s = h.run();
    assert_eq!(h.all_puts(), 0, "the state says it was pushed");
    assert_eq!(s.count("prices.mismatched"), 1);
    let s = h.run();
    assert_eq!(
        h.puts(1),
        vec![r#"[{"variant_id":1002,"currency":"gbp","price":5.5,"bulk_pricing_tiers":[]}]"#]
    );
    assert_eq!(s.count("prices.mismatched"), 0);
}

#[test]
fn an_assignment_is_created_only_when_missing() {
    let mut w = small();
    w.assignments =
        vec![json!({"id": 1, "price_list_id": 1, "customer_group_id": 2, "channel_id": 1})];
    let h = Harness::new(w);
    let s = h.run();
    assert_eq!(
        h.api.bodies(
            System::Bigcommerce,
            Method::Post,
            "/v3/pricelists/assignments"
        ),
        vec![json!([{"price_list_id": 2, "customer_group_id": 3, "channel_id": 1}])]
    );
    assert_eq!(s.count("assignments_created"), 1);
    h.run();
    assert_eq!(
        h.api.count(
            System::Bigcommerce,
            Method::Post,
            "/v3/pricelists/assignments"
        ),
        0
    );
}

#[test]
fn a_contact_on_the_wrong_list_raises_price_list_mismatch_resolved_when_fixed() {
    let mut w = small();
    w.customers = vec![
        (7, "buyer@trade.test".into(), 2),
        (8, "ok@trade.test".into(), 3),
        (9, "retail@shop.test".into(), 1), // not a mapped group: never read
    ];
    w.contacts.insert(201, ("Buyer@Trade.test".into(), 4));
    w.contacts.insert(202, ("ok@trade.test".into(), 4));
    let h = Harness::new(w);
    let s = h.run();
    assert_eq!(s.count("customers_checked"), 2);
    assert_eq!(s.count("contacts_on_wrong_list"), 1);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind, kinds::PRICE_LIST_MISMATCH);
    assert_eq!(open[0].entity, "bigcommerce:customer:7");
    assert_eq!(open[0].owner, Team::Ecommerce);
    assert_eq!(open[0].impact, None);
    assert!(
        open[0]
            .message
            .contains("Brightpearl contact 201 is on price list 4"),
        "{}",
        open[0].message
    );
    // Fixed in Brightpearl: resolved; the contact found by e-mail is remembered.
    h.world
        .borrow_mut()
        .contacts
        .insert(201, ("Buyer@Trade.test".into(), 3));
    let s = h.run();
    assert_eq!(s.count("contacts_on_wrong_list"), 0);
    assert!(h.report.open_exceptions().is_empty());
    assert_eq!(
        h.report.resolved(),
        vec![(
            kinds::PRICE_LIST_MISMATCH.to_string(),
            "bigcommerce:customer:7".to_string()
        )]
    );
    assert_eq!(
        h.api.count(
            System::Brightpearl,
            Method::Get,
            "/contact-service/contact-search"
        ),
        0
    );
    assert_eq!(
        h.api.count(
            System::Brightpearl,
            Method::Get,
            "/contact-service/contact/"
        ),
        1
    );
}

#[test]
fn missing_prices_and_skus_not_in_bigcommerce_are_raised_and_resolved() {
    let mut w = small();
    w.bp_prices.get_mut(&102).unwrap().insert(4, json!({}));
    w.bp_products.insert(103, "C-3".into());
    w.bp_prices.insert(
        103,
        BTreeMap::from([(3, json!({"1": "1.0000"})), (4, json!({"1": "0.9000"}))]),
    );
    let h = Harness::new(w);
    h.run();
    let open: Vec<(String, String)> = h
        .report
        .open_exceptions()
        .into_iter()
        .map(|e| (e.kind, e.entity))
        .collect();
    assert_eq!(
        open,
        vec![
            (
                kinds::PRICE_MISSING.to_string(),
                "brightpearl:product:102".to_string()
            ),
            (
                kinds::SKU_NOT_IN_BIGCOMMERCE.to_string(),
                "brightpearl:product:103".to_string()
            ),
        ]
    );
    // Only the priced record of B-2 is on list 2.
    assert_eq!(
        h.world
            .borrow()
            .records
            .keys()
            .filter(|(l, _)| *l == 2)
            .count(),
        1
    );
    {
        let mut w = h.world.borrow_mut();
        w.bp_prices
            .get_mut(&102)
            .unwrap()
            .insert(4, json!({"1": "4.0000"}));
        w.variants.push((1003, 13, "C-3".into()));
    }
    let s = h.run();
    assert!(
        h.report.open_exceptions().is_empty(),
        "{:?}",
        h.report.open_exceptions()
    );
    assert_eq!(s.count("price_records_upserted"), 3);
}

#[test]
fn refused_records_hold_the_list_and_are_retried() {
    let mut w = small();
    w.refuse = vec![1002];
    let h = Harness::new(w);
    let s = h.run();
    assert_eq!(s.count("price_records_upserted"), 2);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open.iter().all(|e| e.kind == kinds::PRICE_RECORD_REJECTED));
    assert!(
        open[0].message.contains("variant 1002 (SKU `B-2`)"),
        "{}",
        open[0].message
    );
    h.world.borrow_mut().refuse.clear();
    let s = h.run();
    assert_eq!(s.count("price_records_upserted"), 2);
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn bad_config_names_the_field() {
    let problems = config::check(
        &json!({"currency": "GBP", "wrong_list": "hold",
                "groups": [{"customer_group_id": 2, "price_list_id": "three", "bc_price_list_id": 1}]})
        .to_string(),
    );
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "groups[0].price_list_id");
    let problems = config::check(
        &json!({"currency": "GBP", "wrong_list": "post-anyway",
                "groups": [{"customer_group_id": 2, "price_list_id": 3, "bc_price_list_id": 1}]})
        .to_string(),
    );
    assert_eq!(problems[0].path, "wrong_list");
    let problems = config::check(
        &json!({"currency": "gbp", "wrong_list": "hold",
        "groups": [
            {"customer_group_id": 2, "price_list_id": 3, "bc_price_list_id": 1},
            {"customer_group_id": 2, "price_list_id": 4, "bc_price_list_id": 1},
            {"customer_group_id": 0, "price_list_id": 4, "bc_price_list_id": 2}
        ]})
        .to_string(),
    );
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "groups[1].price_list_id",
            "groups[1].customer_group_id",
            "groups[1].price_list_id",
            "groups[2].customer_group_id",
            "currency"
        ],
        "{problems:?}"
    );
    assert!(
        config::check(&json!({"currency": "GBP", "wrong_list": "hold", "groups": []}).to_string())
            .iter()
            .any(|p| p.path == "groups")
    );
    assert!(config::check(&cfg_json()).is_empty());
}

fn cfg_json() -> String {
    json!({"currency": "GBP", "wrong_list": "hold",
           "groups": [{"customer_group_id": 2, "price_list_id": 3, "bc_price_list_id": 1}]})
    .to_string()
}

#[test]
fn a_replay_pushes_only_the_lists_named() {
    let h = Harness::new(small());
    h.run_with(
        &cfg(),
        &Trigger::Replay(vec!["bigcommerce:pricelist:2".into()]),
    );
    assert!(h.puts(1).is_empty());
    assert_eq!(h.puts(2).len(), 1);
}
