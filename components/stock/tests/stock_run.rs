//! The stock flow against in-memory fakes of both APIs: exact adjustment payloads, safety
//! stock at each level, unposted orders deducted, both location modes, only changed values
//! written, drift, unknown and untracked SKUs, events, failures and 401.
#![allow(clippy::field_reassign_with_default)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pearlbridge_sdk::State;
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{
    Event, FlowError, Method, Request, Response, RunSummary, SendError, System, Team, Trigger,
};
use serde_json::{Value, json};
use stock::config::{self, StockConfig};
use stock::run::run_at;

/// 2024-05-01T12:00:00Z.
const NOW: i64 = 1_714_564_800;

#[derive(Default)]
struct World {
    /// BigCommerce catalog products (`include=variants` shape).
    products: Vec<Value>,
    /// Brightpearl SKU → product id.
    bp_products: BTreeMap<String, u64>,
    /// Brightpearl product id → `updatedOn` (absent: 2024-05-01T09:00:00Z).
    bp_updated: BTreeMap<u64, String>,
    /// BigCommerce's clock (`GET /v2/time`); 0 = [`NOW`].
    bc_time: i64,
    /// Brightpearl availability: product id → warehouse id → onHand (absent = not tracked).
    availability: BTreeMap<u64, BTreeMap<u64, i64>>,
    /// BigCommerce orders in status 11: id → [(sku, quantity)].
    orders: BTreeMap<u64, Vec<(&'static str, u64)>>,
    /// Brightpearl sales orders' externalRefs.
    posted: Vec<String>,
    /// Bodies of the writes: (path, body).
    writes: Vec<(String, Value)>,
    /// The next this many writes answer 503.
    write_failures: u32,
    /// BigCommerce answers 401 to writes.
    revoked: bool,
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

/// The value of query parameter `key` in `path`, `%3A` and `%2B` decoded.
fn query(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .map(|v| v.replace("%3A", ":").replace("%2B", "+"))
}

fn ts(t: &str) -> i64 {
    pearlbridge_sdk::dates::Timestamp::parse_iso8601(t)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

impl World {
    /// A Brightpearl product's `updatedOn`: its own, else 2024-05-01T09:00:00Z.
    fn updated_on(&self, id: u64) -> String {
        self.bp_updated
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "2024-05-01T09:00:00Z".into())
    }

    fn handle(&mut self, req: &Request) -> Result<Response, SendError> {
        let path = req.path.as_str();
        let ok = |v: Value| Ok(Response::new(200, v.to_string()));
        match (req.system, req.method) {
            (System::Bigcommerce, Method::Get) if path == "/v2/time" => {
                let t = if self.bc_time == 0 { NOW } else { self.bc_time };
                ok(json!({ "time": t }))
            }
            (System::Bigcommerce, Method::Get) if path.starts_with("/v3/catalog/products?") => {
                let min = query(path, "date_modified:min").map(|t| ts(&t));
                let data: Vec<&Value> = self
                    .products
                    .iter()
                    .filter(|p| {
                        // No date (the older tests' products): always read.
                        min.is_none_or(|m| p["date_modified"].as_str().is_none_or(|d| ts(d) >= m))
                    })
                    .collect();
                ok(
                    json!({"data": data, "meta": {"pagination": {"total_pages": 1, "current_page": 1}}}),
                )
            }
            (System::Bigcommerce, Method::Get) if path.starts_with("/v2/orders?status_id=11") => {
                if self.orders.is_empty() {
                    return Ok(Response::new(204, ""));
                }
                ok(json!(
                    self.orders
                        .keys()
                        .map(|id| json!({"id": id, "status_id": 11}))
                        .collect::<Vec<_>>()
                ))
            }
            (System::Bigcommerce, Method::Get) if path.starts_with("/v2/orders/") => {
                let id: u64 = path["/v2/orders/".len()..]
                    .split('/')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                ok(json!(
                    self.orders[&id]
                        .iter()
                        .map(|(sku, q)| json!({"id": 1, "order_id": id, "sku": sku, "quantity": q}))
                        .collect::<Vec<_>>()
                ))
            }
            (System::Bigcommerce, Method::Put) => {
                if self.revoked {
                    return Ok(Response::new(
                        401,
                        r#"{"status":401,"title":"Unauthorized"}"#,
                    ));
                }
                if self.write_failures > 0 {
                    self.write_failures -= 1;
                    return Ok(Response::new(503, "{}"));
                }
                let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                self.writes.push((path.to_string(), body));
                ok(json!({"transaction_id": "t-1"}))
            }
            (System::Brightpearl, Method::Get)
                if path.starts_with("/product-service/product-search") =>
            {
                let since = query(path, "updatedOn").map(|t| ts(t.trim_end_matches('/')));
                let sku = query(path, "SKU");
                Ok(search(
                    &["productId", "SKU", "updatedOn"],
                    self.bp_products
                        .iter()
                        .filter(|(s, _)| sku.as_ref().is_none_or(|k| k == *s))
                        .map(|(s, id)| (s, id, self.updated_on(*id)))
                        .filter(|(_, _, u)| since.is_none_or(|m| ts(u) >= m))
                        .map(|(s, id, u)| vec![json!(id), json!(s), json!(u)])
                        .collect(),
                ))
            }
            (System::Brightpearl, Method::Get)
                if path.starts_with("/warehouse-service/product-availability/") =>
            {
                let set = &path["/warehouse-service/product-availability/".len()..];
                let mut out = serde_json::Map::new();
                for id in set.split(',') {
                    let id: u64 = id.parse().unwrap();
                    if let Some(ws) = self.availability.get(&id) {
                        let warehouses: serde_json::Map<String, Value> = ws
                            .iter()
                            .map(|(w, q)| (w.to_string(), json!({"inStock": q + 1, "onHand": q, "allocated": 1, "inTransit": 0})))
                            .collect();
                        out.insert(
                            id.to_string(),
                            json!({"total": {}, "warehouses": warehouses}),
                        );
                    }
                }
                ok(json!({"response": out}))
            }
            (System::Brightpearl, Method::Get)
                if path.starts_with("/order-service/order-search") =>
            {
                Ok(search(
                    &["orderId", "externalRef"],
                    self.posted
                        .iter()
                        .enumerate()
                        .map(|(i, r)| vec![json!(i + 1), json!(r)])
                        .collect(),
                ))
            }
            _ => panic!("unexpected request {req:?}"),
        }
    }
}

fn product(
    id: u64,
    tracking: &str,
    level: i64,
    price: &str,
    categories: &[u64],
    variants: Value,
) -> Value {
    json!({"id": id, "inventory_tracking": tracking, "inventory_level": level, "price": price,
           "categories": categories, "variants": variants})
}

struct Harness {
    world: Rc<RefCell<World>>,
    api: FakeApi,
    state: MemoryState,
    report: MemoryReport,
    cfg: StockConfig,
}

fn cfg(mode: &str, warehouses: Value) -> StockConfig {
    config::parse(
        &json!({
            "mode": mode, "currency": "GBP", "reason": "Brightpearl stock",
            "warehouses": warehouses,
            "safety_stock": {"default": 1, "categories": {"23": 2}, "skus": {"HOOD-M": 3}},
            "pending_orders": {"statuses": [11], "lookback_hours": 72},
            "retry_exception_after": 2
        })
        .to_string(),
    )
    .unwrap()
}

impl Harness {
    /// Three products: HOOD (variants M and L, category 23), MUG (product-level, no
    /// category), CAP (variant, unknown to Brightpearl).
    fn new(cfg: StockConfig) -> Self {
        let mut w = World::default();
        w.products = vec![
            product(
                10,
                "variant",
                0,
                "40.00",
                &[23],
                json!([
                {"id": 101, "sku": "HOOD-M", "inventory_level": 5, "price": null},
                {"id": 102, "sku": "HOOD-L", "inventory_level": 5, "price": "42.00"}]),
            ),
            product(
                20,
                "product",
                7,
                "9.50",
                &[],
                json!([{"id": 201, "sku": "MUG", "inventory_level": 7}]),
            ),
            product(
                30,
                "variant",
                0,
                "15.00",
                &[],
                json!([{"id": 301, "sku": "CAP", "inventory_level": 4}]),
            ),
            product(
                40,
                "none",
                0,
                "1.00",
                &[],
                json!([{"id": 401, "sku": "FREE", "inventory_level": 0}]),
            ),
        ];
        w.bp_products = BTreeMap::from([
            ("HOOD-M".into(), 1001),
            ("HOOD-L".into(), 1002),
            ("MUG".into(), 1003),
        ]);
        w.availability = BTreeMap::from([
            (1001, BTreeMap::from([(2, 10), (3, 4)])),
            (1002, BTreeMap::from([(2, 6)])),
            (1003, BTreeMap::from([(2, 20), (3, 1)])),
        ]);
        let world = Rc::new(RefCell::new(w));
        let w = world.clone();
        Harness {
            world,
            api: FakeApi::new(move |req| w.borrow_mut().handle(req)),
            state: MemoryState::new(),
            report: MemoryReport::new(),
            cfg,
        }
    }

    fn run(&self, trigger: Trigger) -> Result<RunSummary, FlowError> {
        self.run_at(trigger, NOW)
    }

    fn run_at(&self, trigger: Trigger, now: i64) -> Result<RunSummary, FlowError> {
        let r = run_at(
            &trigger,
            &self.cfg,
            &self.api,
            &self.state,
            &self.report,
            now,
        );
        let needs = stock::needs();
        for req in self.api.requests() {
            assert!(
                needs
                    .iter()
                    .any(|n| n.covers(req.system, req.method, &req.path)),
                "the manifest does not cover {:?} {:?} {}",
                req.system,
                req.method,
                req.path
            );
        }
        r
    }

    fn writes(&self) -> Vec<(String, Value)> {
        self.world.borrow().writes.clone()
    }
}

#[test]
fn a_full_sync_writes_absolute_levels_per_location_with_safety_stock_at_each_level() {
    // Warehouses 2 and 3 both feed location 1; warehouse 4 feeds location 2.
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    let s = h.run(Trigger::Scheduled).unwrap();
    // HOOD-M: 10 + 4 − SKU safety 3 = 11; HOOD-L: 6 − category 23 safety 2 = 4;
    // MUG (product level, by product_id): 20 + 1 − default 1 = 20.
    assert_eq!(
        h.writes(),
        vec![(
            "/v3/inventory/adjustments/absolute".to_string(),
            json!({"reason": "Brightpearl stock", "items": [
                {"location_id": 1, "variant_id": 101, "quantity": 11},
                {"location_id": 1, "variant_id": 102, "quantity": 4},
                {"location_id": 1, "product_id": 20, "quantity": 20}]})
        )]
    );
    assert_eq!(
        (
            s.count("skus_checked"),
            s.count("skus_pushed"),
            s.count("writes")
        ),
        (3, 3, 1)
    );
    // One read per system for the catalog and the index, one availability id set.
    assert_eq!(
        h.api.count(
            System::Brightpearl,
            Method::Get,
            "/warehouse-service/product-availability/1001,1002,1003"
        ),
        1
    );
    // CAP has no Brightpearl product: an exception with its stock at risk.
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind, "sku-not-in-brightpearl");
    assert_eq!(open[0].entity, "bigcommerce:variant:301");
    assert_eq!(open[0].owner, Team::Ecommerce);
    assert_eq!(open[0].impact.clone().unwrap().amount, "60.00");
    assert_eq!(
        h.state.get("pushed:product:1001").unwrap().value,
        r#"{"101@1":11}"#
    );
}

#[test]
fn only_changed_values_are_written_again() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    h.run(Trigger::Scheduled).unwrap();
    // BigCommerce now shows what was written (less one sale of HOOD-L).
    {
        let mut w = h.world.borrow_mut();
        w.products[0]["variants"][0]["inventory_level"] = json!(11);
        w.products[0]["variants"][1]["inventory_level"] = json!(3);
        w.products[1]["inventory_level"] = json!(20);
        w.availability.get_mut(&1001).unwrap().insert(3, 6); // a receipt of 2 at warehouse 3
        w.writes.clear();
    }
    let s = h.run(Trigger::Scheduled).unwrap();
    assert_eq!(
        h.writes(),
        vec![(
            "/v3/inventory/adjustments/absolute".to_string(),
            json!({"reason": "Brightpearl stock", "items": [{"location_id": 1, "variant_id": 101, "quantity": 13}]})
        )]
    );
    assert_eq!((s.count("skus_checked"), s.count("skus_pushed")), (3, 1));
    // Nothing changed: nothing written.
    h.world.borrow_mut().writes.clear();
    h.world.borrow_mut().products[0]["variants"][0]["inventory_level"] = json!(13);
    let s = h.run(Trigger::Scheduled).unwrap();
    assert!(h.writes().is_empty());
    assert_eq!(s.count("writes"), 0);
}

#[test]
fn units_of_orders_not_yet_in_brightpearl_are_deducted() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    {
        let mut w = h.world.borrow_mut();
        // Order 500 is posted (Brightpearl has allocated it); 501 and 502 are not yet.
        w.orders = BTreeMap::from([
            (500, vec![("HOOD-M", 9)]),
            (501, vec![("HOOD-M", 2), ("MUG", 1)]),
            (502, vec![("HOOD-M", 1)]),
        ]);
        w.posted = vec!["500".into()];
    }
    h.run(Trigger::Scheduled).unwrap();
    // HOOD-M: 14 − 3 safety − 3 unposted = 8; MUG: 21 − 1 − 1 = 19.
    assert_eq!(
        h.writes()[0].1["items"],
        json!([
            {"location_id": 1, "variant_id": 101, "quantity": 8},
            {"location_id": 1, "variant_id": 102, "quantity": 4},
            {"location_id": 1, "product_id": 20, "quantity": 19}])
    );
    // The posted order's products are never read.
    assert_eq!(
        h.api
            .count(System::Bigcommerce, Method::Get, "/v2/orders/500/"),
        0
    );
}

#[test]
fn warehouses_of_several_locations_and_deductions_in_location_order() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 2})));
    h.world
        .borrow_mut()
        .availability
        .insert(1001, BTreeMap::from([(2, 2), (3, 4)]));
    h.run(Trigger::Scheduled).unwrap();
    // HOOD-M: location 1 = 2, location 2 = 4; safety 3 takes 2 from location 1, 1 from 2.
    assert_eq!(
        h.writes()[0].1["items"],
        json!([
            {"location_id": 1, "variant_id": 101, "quantity": 0},
            {"location_id": 2, "variant_id": 101, "quantity": 3},
            {"location_id": 1, "variant_id": 102, "quantity": 4},
            {"location_id": 2, "variant_id": 102, "quantity": 0},
            {"location_id": 1, "product_id": 20, "quantity": 19},
            {"location_id": 2, "product_id": 20, "quantity": 1}])
    );
}

#[test]
fn the_variants_mode_writes_inventory_levels_in_catalog_batches() {
    let h = Harness::new(cfg("variants", json!({"2": 1, "3": 1})));
    h.run(Trigger::Scheduled).unwrap();
    assert_eq!(
        h.writes(),
        vec![(
            "/v3/catalog/variants".to_string(),
            json!([
                {"id": 101, "inventory_level": 11},
                {"id": 102, "inventory_level": 4},
                {"id": 201, "inventory_level": 20}])
        )]
    );
    assert_eq!(
        config::check(
            &json!({"mode": "variants", "currency": "GBP", "warehouses": {"2": 1, "3": 2}})
                .to_string()
        )[0]
        .path,
        "mode"
    );
}

#[test]
fn an_edit_in_bigcommerce_is_drift_with_its_money_at_risk_and_is_set_back() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    h.run(Trigger::Scheduled).unwrap();
    {
        let mut w = h.world.borrow_mut();
        w.products[0]["variants"][0]["inventory_level"] = json!(25); // 11 written
        w.products[0]["variants"][1]["inventory_level"] = json!(4);
        w.products[1]["inventory_level"] = json!(20);
        w.availability.get_mut(&1001).unwrap().insert(2, 11); // so 101 changes too: 12
        w.writes.clear();
    }
    h.run(Trigger::Scheduled).unwrap();
    let drift: Vec<_> = h
        .report
        .open_exceptions()
        .into_iter()
        .filter(|e| e.kind == "stock-drift")
        .collect();
    assert_eq!(drift.len(), 1, "{drift:?} {:?}", h.report.open_exceptions());
    assert_eq!(drift[0].entity, "bigcommerce:variant:101");
    assert_eq!(drift[0].owner, Team::Operations);
    // 14 extra units × 40.00.
    assert_eq!(drift[0].impact.clone().unwrap().amount, "560.00");
    assert_eq!(
        h.writes()[0].1["items"],
        json!([{"location_id": 1, "variant_id": 101, "quantity": 12}])
    );
    // Back in line: resolved.
    h.world.borrow_mut().products[0]["variants"][0]["inventory_level"] = json!(12);
    h.run(Trigger::Scheduled).unwrap();
    assert!(
        h.report
            .open_exceptions()
            .iter()
            .all(|e| e.kind != "stock-drift")
    );
}

#[test]
fn an_event_reads_and_writes_only_its_product() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    h.run(Trigger::Scheduled).unwrap();
    h.world.borrow_mut().writes.clear();
    h.world
        .borrow_mut()
        .availability
        .get_mut(&1002)
        .unwrap()
        .insert(2, 1);
    h.api.clear_log();
    let event = Event {
        source: System::Brightpearl,
        scope: "product.modified.on-hand-modified".into(),
        entity_id: "1002".into(),
        payload: "{}".into(),
    };
    let s = h.run(Trigger::Events(vec![event])).unwrap();
    // 1 − safety 2 → 0.
    assert_eq!(
        h.writes()[0].1["items"],
        json!([{"location_id": 1, "variant_id": 102, "quantity": 0}])
    );
    assert_eq!(s.count("skus_checked"), 1);
    assert_eq!(
        h.api.count(System::Bigcommerce, Method::Get, "/v3/catalog"),
        0
    );
    assert_eq!(
        h.api.count(
            System::Brightpearl,
            Method::Get,
            "/warehouse-service/product-availability/1002"
        ),
        1
    );
}

#[test]
fn an_untracked_product_is_held_and_a_failed_write_is_retried_until_it_lands() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    {
        let mut w = h.world.borrow_mut();
        w.availability.remove(&1003); // MUG is not stock-tracked in Brightpearl
        w.write_failures = 2;
    }
    let s = h.run(Trigger::Scheduled).unwrap();
    assert_eq!((s.count("held"), s.count("pending_retry")), (1, 2));
    let untracked: Vec<_> = h
        .report
        .open_exceptions()
        .into_iter()
        .filter(|e| e.kind == "untracked-product")
        .collect();
    assert_eq!(untracked[0].entity, "brightpearl:product:1003");
    assert!(h.state.get("pushed:product:1001").is_none());
    // Second failure: the retry exception, with the money at stake, owned by operations.
    h.run(Trigger::Scheduled).unwrap();
    let failed: Vec<_> = h
        .report
        .open_exceptions()
        .into_iter()
        .filter(|e| e.kind == "stock-push-failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].owner, Team::Operations);
    assert!(failed[0].impact.is_some());
    // The write lands: resolved, values stored.
    h.run(Trigger::Scheduled).unwrap();
    assert!(
        h.report
            .open_exceptions()
            .iter()
            .all(|e| e.kind != "stock-push-failed")
    );
    assert_eq!(
        h.state.get("pushed:product:1001").unwrap().value,
        r#"{"101@1":11}"#
    );
}

#[test]
fn a_401_on_a_write_stops_the_run() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    h.world.borrow_mut().revoked = true;
    let err = h.run(Trigger::Scheduled).unwrap_err();
    assert!(
        matches!(&err, FlowError::Upstream(m) if m.starts_with("bigcommerce answered 401")),
        "{err:?}"
    );
    assert!(h.state.list("retry:", 10).is_empty());
    assert!(h.state.list("pushed:", 10).is_empty());
}

#[test]
fn check_config_names_each_bad_key() {
    let problems = config::check(
        &json!({"mode": "locations", "currency": "pounds", "warehouses": {"x": 1, "2": 0},
                "safety_stock": {"categories": {"shirts": 1}}})
        .to_string(),
    );
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "warehouses.2",
            "warehouses.x",
            "currency",
            "safety_stock.categories.shirts"
        ]
    );
    let unknown = config::check(
        &json!({"mode": "locations", "currency": "GBP", "warehouses": {"2": 1}, "safty": 1})
            .to_string(),
    );
    assert_eq!(unknown[0].path, "safty");
    assert!(
        unknown[0].message.contains("unknown field `safty`"),
        "{unknown:?}"
    );
}

/// The request paths of a run, without the query of catalog reads.
fn paths(h: &Harness) -> Vec<String> {
    h.api.requests().into_iter().map(|r| r.path).collect()
}

#[test]
fn between_complete_reads_a_full_sync_reads_only_what_changed_on_either_side() {
    let h = Harness::new(cfg("locations", json!({"2": 1, "3": 1})));
    {
        let mut w = h.world.borrow_mut();
        w.products[0]["date_modified"] = json!("2024-05-01T08:00:00+00:00");
        w.products[1]["date_modified"] = json!("2024-05-01T11:00:00+00:00");
        w.products[2]["date_modified"] = json!("2024-05-01T08:00:00+00:00");
        w.products[3]["date_modified"] = json!("2024-05-01T08:00:00+00:00");
    }
    let first = h.run(Trigger::Scheduled).unwrap();
    assert!(
        first
            .notes
            .iter()
            .any(|n| n.starts_with("complete catalog read: 4 BigCommerce product(s)")),
        "{:?}",
        first.notes
    );
    assert!(
        paths(&h).contains(&"/v3/catalog/products?include=variants&limit=250&page=1".to_string())
    );
    h.api.clear_log();
    h.world.borrow_mut().writes.clear();

    // An hour later nothing changed: one read on each side, BigCommerce's from its clock at
    // the last read (12:00) and Brightpearl's from the newest modification read (09:00),
    // each minus 5 minutes; the availability; no write.
    let later = NOW + 3600;
    h.world.borrow_mut().bc_time = later;
    let second = h.run_at(Trigger::Scheduled, later).unwrap();
    let p = paths(&h);
    assert_eq!(
        p[..3],
        [
            "/v2/time".to_string(),
            "/v3/catalog/products?include=variants&date_modified:min=2024-05-01T11%3A55%3A00Z&limit=250&page=1".to_string(),
            "/product-service/product-search?columns=productId,SKU,updatedOn&updatedOn=2024-05-01T08:55:00Z/&pageSize=500&firstResult=1".to_string(),
        ]
    );
    assert_eq!(
        p.iter()
            .filter(|p| p.starts_with("/warehouse-service/product-availability/"))
            .collect::<Vec<_>>(),
        // least stock first: HOOD-L (5 written), HOOD-M (11), MUG (20)
        vec!["/warehouse-service/product-availability/1002,1001,1003"]
    );
    assert!(h.writes().is_empty());
    assert!(second.notes.iter().any(|n| n.starts_with("incremental catalog read: 0 BigCommerce product(s) in 1 page(s), 3 Brightpearl product(s)")), "{:?}", second.notes);
    assert_eq!(
        second
            .counts
            .iter()
            .find(|(k, _)| k == "skus_checked")
            .unwrap()
            .1,
        3
    );

    // Brightpearl gains CAP (unknown so far): matched from the changes alone, written,
    // and its exception resolved. A new BigCommerce variant of a SKU Brightpearl had for a
    // long time (SCARF) is looked up by SKU.
    h.api.clear_log();
    {
        let mut w = h.world.borrow_mut();
        w.bp_products.insert("CAP".into(), 1004);
        w.bp_updated.insert(1004, "2024-05-01T13:30:00Z".into());
        w.availability.insert(1004, BTreeMap::from([(2, 9)]));
        w.bp_products.insert("SCARF".into(), 1005);
        w.bp_updated.insert(1005, "2024-01-01T00:00:00Z".into());
        w.availability.insert(1005, BTreeMap::from([(3, 3)]));
        let mut scarf = product(
            50,
            "product",
            0,
            "12.00",
            &[],
            json!([{"id": 501, "sku": "SCARF", "inventory_level": 0}]),
        );
        scarf["date_modified"] = json!("2024-05-01T13:40:00+00:00");
        w.products.push(scarf);
    }
    let third = h.run_at(Trigger::Scheduled, later + 3600).unwrap();
    let p = paths(&h);
    assert!(
        p.contains(
            &"/product-service/product-search?SKU=SCARF&pageSize=500&firstResult=1".to_string()
        ),
        "{p:?}"
    );
    assert_eq!(
        h.writes()[0].1["items"],
        json!([
            {"location_id": 1, "variant_id": 301, "quantity": 8},
            {"location_id": 1, "product_id": 50, "quantity": 2}
        ])
    );
    assert!(
        h.report
            .open_exceptions()
            .iter()
            .all(|e| e.kind != "sku-not-in-brightpearl")
    );
    assert!(
        third.notes.iter().any(|n| n.contains("1 SKU lookup(s)")),
        "{:?}",
        third.notes
    );

    // `--full`: both catalogs read completely again.
    h.api.clear_log();
    h.run_at(Trigger::Replay(vec!["full".into()]), later + 7200)
        .unwrap();
    let p = paths(&h);
    assert_eq!(
        p[1],
        "/v3/catalog/products?include=variants&limit=250&page=1"
    );
    assert_eq!(
        p[2],
        "/product-service/product-search?columns=productId,SKU,updatedOn&pageSize=500&firstResult=1"
    );
}

#[test]
fn a_full_sync_writes_visible_and_low_stock_products_first_and_reports_progress() {
    let h = Harness::new(cfg("variants", json!({"2": 1})));
    h.world.borrow_mut().products[0]["is_visible"] = json!(false);
    h.run(Trigger::Scheduled).unwrap();
    // MUG (1003, visible) before HOOD (1001/1002, hidden); one availability call of 3.
    let ids: Vec<u64> = h.writes()[0]
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![201, 101, 102]);
    assert_eq!(h.report.last_progress(), Some((3, Some(3))));
}
