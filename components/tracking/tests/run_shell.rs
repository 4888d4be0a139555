//! The tracking flow's run against fakes (`pearlbridge_sdk::testing`): a Brightpearl with
//! goods-out notes and sales orders as the orders flow writes them, a BigCommerce with the
//! order, its products and shipments. Every test asserts the exact `POST
//! /v2/orders/{id}/shipments` bodies; every run asserts the manifest covers each request.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use pearlbridge_sdk::State;
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{
    Event, FlowError, Method, Request, Response, RunSummary, SendError, System, Team, Trigger,
};
use serde_json::{Value, json};
use tracking::config::{self, TrackingConfig};
use tracking::run::run_at;

/// 2024-05-01T12:00:00Z.
const NOW: i64 = 1_714_564_800;
const ORDER: u64 = 100;
const SALES_ORDER: u64 = 9001;

#[derive(Default)]
struct World {
    /// Goods-out notes by id (Brightpearl's GET shape).
    notes: BTreeMap<u64, Value>,
    /// Brightpearl orders by id.
    sales_orders: BTreeMap<u64, Value>,
    /// BigCommerce orders by id, with their products.
    orders: BTreeMap<u64, (Value, Vec<Value>)>,
    /// BigCommerce shipments by order id.
    shipments: BTreeMap<u64, Vec<Value>>,
    next_shipment: u64,
    /// The next shipment POST commits but its answer is lost.
    lose_post_response: bool,
    /// The shipments list answers 503 this many times.
    list_failures: u32,
    /// BigCommerce answers 401 to everything.
    bc_revoked: bool,
    /// The store's clock (unix seconds).
    store_time: i64,
    /// The next shipment POST is refused with this status and message.
    reject_post: Option<(u16, &'static str)>,
    /// The next status PUT (either system) commits but its answer is lost.
    lose_put_response: bool,
    /// Brightpearl refuses to cancel these sales orders (as for one with payments).
    paid_sales_orders: Vec<u64>,
}

fn ok(v: Value) -> Result<Response, SendError> {
    Ok(Response::new(200, v.to_string()))
}

fn ids(set: &str) -> Vec<u64> {
    set.split(',')
        .flat_map(|p| match p.split_once('-') {
            Some((a, b)) => (a.parse::<u64>().unwrap()..=b.parse().unwrap()).collect::<Vec<_>>(),
            None => vec![p.parse().unwrap()],
        })
        .collect()
}

impl World {
    fn handle(&mut self, req: &Request) -> Result<Response, SendError> {
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.system, req.method) {
            (System::Bigcommerce, _) if self.bc_revoked => Ok(Response::new(
                401,
                r#"[{"status":401,"message":"You are not authorised"}]"#,
            )),
            (System::Brightpearl, Method::Get) => match parts.as_slice() {
                ["warehouse-service", "goods-note", "goods-out-search"] => {
                    let q: BTreeMap<&str, &str> = query
                        .split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .collect();
                    assert_eq!(q["shipped"], "true");
                    let from =
                        Timestamp::parse_iso8601(q["shippedOn"].trim_end_matches('/')).unwrap();
                    let rows: Vec<Value> = self
                        .notes
                        .iter()
                        .filter(|(_, n)| n["status"]["shipped"] == true)
                        .filter(|(_, n)| {
                            Timestamp::parse_iso8601(n["status"]["shippedOn"].as_str().unwrap())
                                .unwrap()
                                >= from
                        })
                        .map(|(id, n)| {
                            json!([
                                id,
                                n["orderId"],
                                n["status"]["shipped"],
                                n["status"]["shippedOn"],
                                false
                            ])
                        })
                        .collect();
                    ok(json!({"response": {
                        "metaData": {"morePagesAvailable": false, "resultsAvailable": rows.len(),
                            "resultsReturned": rows.len(), "firstResult": 1, "lastResult": rows.len(),
                            "columns": [{"name": "goodsOutNoteId"}, {"name": "orderId"},
                                {"name": "shipped"}, {"name": "shippedOn"}, {"name": "transfer"}]},
                        "results": rows}}))
                }
                [
                    "warehouse-service",
                    "order",
                    "*",
                    "goods-note",
                    "goods-out",
                    set,
                ] => {
                    let mut m = serde_json::Map::new();
                    for id in ids(set) {
                        if let Some(n) = self.notes.get(&id) {
                            m.insert(id.to_string(), n.clone());
                        }
                    }
                    ok(json!({ "response": m }))
                }
                ["order-service", "order-search"] if query.contains("updatedOn=") => {
                    let q: BTreeMap<&str, &str> = query
                        .split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .collect();
                    assert_eq!(q["orderTypeId"], "1");
                    let from =
                        Timestamp::parse_iso8601(q["updatedOn"].trim_end_matches('/')).unwrap();
                    let rows: Vec<Value> = self
                        .sales_orders
                        .values()
                        .filter(|o| {
                            o["updatedOn"]
                                .as_str()
                                .is_some_and(|t| Timestamp::parse_iso8601(t).unwrap() >= from)
                        })
                        .map(|o| {
                            json!([o["id"], o["orderStatus"]["orderStatusId"], o["updatedOn"]])
                        })
                        .collect();
                    ok(json!({"response": {
                        "metaData": {"morePagesAvailable": false, "resultsAvailable": rows.len(),
                            "resultsReturned": rows.len(), "firstResult": 1, "lastResult": rows.len(),
                            "columns": [{"name": "orderId"}, {"name": "orderStatusId"}, {"name": "updatedOn"}]},
                        "results": rows}}))
                }
                ["order-service", "order-search"] => {
                    let q: BTreeMap<&str, &str> = query
                        .split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .collect();
                    let rows: Vec<Value> = self
                        .sales_orders
                        .values()
                        .filter(|o| o["externalRef"].as_str() == Some(q["externalRef"]))
                        .map(|o| json!([o["id"], o["externalRef"]]))
                        .collect();
                    ok(json!({"response": {
                        "metaData": {"morePagesAvailable": false, "resultsAvailable": rows.len(),
                            "resultsReturned": rows.len(), "firstResult": 1, "lastResult": rows.len(),
                            "columns": [{"name": "orderId"}, {"name": "externalRef"}]},
                        "results": rows}}))
                }
                ["warehouse-service", "order", set, "goods-note", "goods-out"] => {
                    let orders = ids(set);
                    let mut m = serde_json::Map::new();
                    for (id, n) in &self.notes {
                        if orders.contains(&n["orderId"].as_u64().unwrap()) {
                            m.insert(id.to_string(), n.clone());
                        }
                    }
                    ok(json!({ "response": m }))
                }
                ["order-service", "order", set] => ok(json!({"response": ids(set)
                    .iter()
                    .filter_map(|id| self.sales_orders.get(id).cloned())
                    .collect::<Vec<_>>()})),
                _ => panic!("unexpected Brightpearl GET {}", req.path),
            },
            (System::Bigcommerce, Method::Get) => match parts.as_slice() {
                ["v2", "time"] => ok(json!({ "time": self.store_time })),
                ["v2", "orders"] => {
                    let q: BTreeMap<&str, &str> = query
                        .split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .collect();
                    let status: u64 = q["status_id"].parse().unwrap();
                    assert!(q.contains_key("min_date_modified"));
                    let list: Vec<Value> = self
                        .orders
                        .values()
                        .map(|(o, _)| o.clone())
                        .filter(|o| o["status_id"] == status)
                        .collect();
                    if list.is_empty() || q["page"] != "1" {
                        Ok(Response::new(204, ""))
                    } else {
                        ok(json!(list))
                    }
                }
                ["v2", "orders", id] => match self.orders.get(&id.parse().unwrap()) {
                    Some((o, _)) => ok(o.clone()),
                    None => Ok(Response::new(
                        404,
                        r#"[{"status":404,"message":"not found"}]"#,
                    )),
                },
                ["v2", "orders", id, "products"] => {
                    ok(json!(self.orders[&id.parse::<u64>().unwrap()].1))
                }
                ["v2", "orders", id, "shipments"] => {
                    if self.list_failures > 0 {
                        self.list_failures -= 1;
                        return Ok(Response::new(503, "{}"));
                    }
                    match self.shipments.get(&id.parse().unwrap()) {
                        Some(list) if !list.is_empty() => ok(json!(list)),
                        _ => Ok(Response::new(204, "")),
                    }
                }
                _ => panic!("unexpected BigCommerce GET {}", req.path),
            },
            (System::Bigcommerce, Method::Post) => match parts.as_slice() {
                ["v2", "orders", id, "shipments"] => {
                    let order: u64 = id.parse().unwrap();
                    if let Some((status, message)) = self.reject_post.take() {
                        return Ok(Response::new(
                            status,
                            json!([{"status": status, "message": message}]).to_string(),
                        ));
                    }
                    let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                    self.next_shipment += 1;
                    let sid = 800 + self.next_shipment;
                    let mut shipment = body.clone();
                    shipment["id"] = json!(sid);
                    shipment["order_id"] = json!(order);
                    if shipment.get("tracking_number").is_none() {
                        shipment["tracking_number"] = json!("");
                    }
                    self.shipments
                        .entry(order)
                        .or_default()
                        .push(shipment.clone());
                    if std::mem::take(&mut self.lose_post_response) {
                        return Err(SendError::OutcomeUnknown);
                    }
                    Ok(Response::new(201, shipment.to_string()))
                }
                _ => panic!("unexpected BigCommerce POST {}", req.path),
            },
            (System::Bigcommerce, Method::Put) => match parts.as_slice() {
                ["v2", "orders", id] => {
                    let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                    let (order, _) = self.orders.get_mut(&id.parse().unwrap()).unwrap();
                    order["status_id"] = body["status_id"].clone();
                    if std::mem::take(&mut self.lose_put_response) {
                        return Err(SendError::OutcomeUnknown);
                    }
                    ok(order.clone())
                }
                _ => panic!("unexpected BigCommerce PUT {}", req.path),
            },
            (System::Brightpearl, Method::Put) => match parts.as_slice() {
                ["order-service", "order", id, "status"] => {
                    let id: u64 = id.parse().unwrap();
                    let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                    let has_notes = self.notes.values().any(|n| n["orderId"] == id);
                    if has_notes || self.paid_sales_orders.contains(&id) {
                        return Ok(Response::new(
                            400,
                            r#"{"errors":[{"code":"ORDC-010","message":"The order cannot be cancelled: it has goods-out notes, is invoiced or has payments"}]}"#,
                        ));
                    }
                    let so = self.sales_orders.get_mut(&id).unwrap();
                    so["orderStatus"] =
                        json!({"orderStatusId": body["orderStatusId"], "name": "Cancelled"});
                    if std::mem::take(&mut self.lose_put_response) {
                        return Err(SendError::OutcomeUnknown);
                    }
                    ok(json!({}))
                }
                _ => panic!("unexpected Brightpearl PUT {}", req.path),
            },
            _ => panic!("unexpected {:?} {:?} {}", req.system, req.method, req.path),
        }
    }
}

/// A shipped goods-out note of sales order [`SALES_ORDER`]: rows `(sales order row id,
/// product id, quantity)`, the tracking reference and the shipping method.
fn note(rows: &[(u64, u64, u64)], reference: &str, method: u64, shipped_on: i64) -> Value {
    let mut order_rows = serde_json::Map::new();
    for (row, product, qty) in rows {
        order_rows.insert(
            row.to_string(),
            json!([{"productId": product, "quantity": qty, "locationId": 2}]),
        );
    }
    json!({
        "orderId": SALES_ORDER, "warehouseId": 2, "transfer": false, "priority": false,
        "status": {"shipped": true, "packed": true, "picked": true, "printed": true,
                   "shippedOn": Timestamp(shipped_on).to_iso8601(), "shippedById": 4},
        "shipping": {"reference": reference, "shippingMethodId": method},
        "releaseDate": "2024-05-01T09:00:00Z", "createdOn": "2024-05-01T09:00:00Z",
        "orderRows": order_rows, "sequence": 1, "events": [], "lastEventVersion": 3
    })
}

/// The sales order the orders flow posted for BigCommerce order [`ORDER`]: `externalRef` is the
/// order id, `ref` `BC-<id>`, each product row's `externalRef` the order product id.
fn sales_order() -> Value {
    json!({
        "id": SALES_ORDER, "orderTypeCode": "SO", "reference": "BC-100", "externalRef": "100",
        "assignment": {"current": {"channelId": 4}},
        "orderStatus": {"orderStatusId": 3, "name": "Sales order"},
        "updatedOn": "2024-05-01T09:00:00Z",
        "orderRows": {
            "71": {"productId": 1001, "productSku": "TEE-M", "quantity": {"magnitude": "3.0000"}, "externalRef": "501",
                   "composition": {"bundleParent": false, "bundleChild": false, "parentOrderRowId": 0}},
            "72": {"productId": 1002, "productSku": "MUG", "quantity": {"magnitude": "1.0000"}, "externalRef": "502"},
            "73": {"productId": 1003, "productSku": "CAP", "quantity": {"magnitude": "2.0000"}, "externalRef": "503"},
            "74": {"productId": 0, "productName": "Shipping: Royal Mail", "productSku": "", "quantity": {"magnitude": "1.0000"}, "externalRef": null}
        }
    })
}

/// BigCommerce order [`ORDER`]: 123.45 GBP; order products 501 (3 × TEE-M) and 502 (1 × MUG)
/// to order address 11, 503 (2 × CAP) to order address 12.
fn bc_order() -> (Value, Vec<Value>) {
    let product = |id: u64, sku: &str, qty: u64, address: u64| {
        json!({"id": id, "order_id": ORDER, "product_id": id - 400, "order_address_id": address,
               "sku": sku, "name": sku, "type": "physical", "quantity": qty,
               "total_inc_tax": "10.0000", "quantity_shipped": 0})
    };
    (
        json!({"id": ORDER, "status_id": 11, "status": "Awaiting Fulfillment",
               "total_inc_tax": "123.4500", "currency_code": "GBP", "default_currency_code": "GBP",
               "date_created": "Wed, 01 May 2024 09:00:00 +0000", "date_modified": "Wed, 01 May 2024 09:00:00 +0000"}),
        vec![
            product(501, "TEE-M", 3, 11),
            product(502, "MUG", 1, 11),
            product(503, "CAP", 2, 12),
        ],
    )
}

fn cfg_json() -> Value {
    json!({
        "shipping_methods": {
            "6": {"shipping_provider": "royalmail"},
            "7": {"shipping_provider": "", "tracking_carrier": "dpd-uk", "shipping_method": "DPD Next Day"}
        },
        "missing_tracking": {"action": "hold", "grace_minutes": 60}
    })
}

struct Harness {
    world: Rc<RefCell<World>>,
    api: FakeApi,
    state: MemoryState,
    report: MemoryReport,
    cfg: TrackingConfig,
    now: Cell<i64>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_config(cfg_json())
    }

    fn with_config(cfg: Value) -> Harness {
        let mut world = World {
            store_time: NOW,
            ..World::default()
        };
        world.sales_orders.insert(SALES_ORDER, sales_order());
        world.orders.insert(ORDER, bc_order());
        let world = Rc::new(RefCell::new(world));
        let w = world.clone();
        Harness {
            world,
            api: FakeApi::new(move |req| w.borrow_mut().handle(req)),
            state: MemoryState::new(),
            report: MemoryReport::new(),
            cfg: config::parse(&cfg.to_string()).expect("valid config"),
            now: Cell::new(NOW),
        }
    }

    fn add_note(&self, id: u64, note: Value) {
        self.world.borrow_mut().notes.insert(id, note);
    }

    /// Move the flow's clock and the store's to `t`.
    fn set_now(&self, t: i64) {
        self.now.set(t);
        self.world.borrow_mut().store_time = t;
    }

    fn try_run(&self, trigger: Trigger) -> Result<RunSummary, FlowError> {
        let result = run_at(
            &trigger,
            &self.cfg,
            &self.api,
            &self.state,
            &self.report,
            self.now.get(),
        );
        self.assert_manifest_covers_every_request();
        result
    }

    fn run(&self, trigger: Trigger) -> RunSummary {
        self.try_run(trigger).expect("run succeeds")
    }

    /// The flow's manifest (`tracking::needs`) allows every request it sent: the host would
    /// deny any other.
    fn assert_manifest_covers_every_request(&self) {
        let needs = tracking::needs();
        for r in self.api.requests() {
            assert!(
                needs.iter().any(|n| n.covers(r.system, r.method, &r.path)),
                "the manifest does not cover {:?} {:?} {}",
                r.system,
                r.method,
                r.path
            );
        }
    }

    /// Every `POST /v2/orders/100/shipments` body sent so far.
    fn posted(&self) -> Vec<Value> {
        self.api.bodies(
            System::Bigcommerce,
            Method::Post,
            &format!("/v2/orders/{ORDER}/shipments"),
        )
    }

    fn shipments(&self) -> Vec<Value> {
        self.world
            .borrow()
            .shipments
            .get(&ORDER)
            .cloned()
            .unwrap_or_default()
    }

    fn state(&self, key: &str) -> Option<String> {
        self.state.get(key).map(|e| e.value)
    }
}

fn shipped(ids: &[u64]) -> Trigger {
    Trigger::Events(
        ids.iter()
            .map(|id| Event {
                source: System::Brightpearl,
                scope: "goods-out-note.modified.shipped".into(),
                entity_id: id.to_string(),
                payload: "{}".into(),
            })
            .collect(),
    )
}

fn counts(s: &RunSummary) -> Vec<(&str, u64)> {
    s.counts
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| (k.as_str(), *v))
        .collect()
}

#[test]
fn a_single_note_becomes_one_shipment_with_its_tracking_once() {
    let h = Harness::new();
    h.add_note(
        7001,
        note(
            &[(71, 1001, 3), (72, 1002, 1)],
            "RM123456785GB",
            6,
            NOW - 600,
        ),
    );
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("shipments_created", 1)]);
    assert_eq!(
        h.posted(),
        vec![json!({
            "order_address_id": 11,
            "tracking_number": "RM123456785GB",
            "shipping_provider": "royalmail",
            "items": [{"order_product_id": 501, "quantity": 3}, {"order_product_id": 502, "quantity": 1}]
        })]
    );
    assert_eq!(h.state("link:note:7001").as_deref(), Some("801"));
    // The same event again, and a replay: nothing more is posted.
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    h.run(Trigger::Replay(vec!["brightpearl:note:7001".into()]));
    assert_eq!(h.posted().len(), 1);
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn a_partial_note_ships_only_its_quantities() {
    let h = Harness::new();
    h.add_note(
        7001,
        note(&[(71, 1001, 2)], "1Z999AA10123456784", 7, NOW - 600),
    );
    h.run(shipped(&[7001]));
    assert_eq!(
        h.posted(),
        vec![json!({
            "order_address_id": 11,
            "tracking_number": "1Z999AA10123456784",
            "shipping_provider": "",
            "tracking_carrier": "dpd-uk",
            "shipping_method": "DPD Next Day",
            "items": [{"order_product_id": 501, "quantity": 2}]
        })]
    );
}

#[test]
fn split_shipments_two_notes_of_one_order_found_by_the_sweep() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 2)], "RM1", 6, NOW - 3600));
    h.add_note(
        7002,
        note(&[(71, 1001, 1), (72, 1002, 1)], "RM2, RM3", 6, NOW - 1800),
    );
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("shipments_created", 2)]);
    assert_eq!(
        h.posted(),
        vec![
            json!({"order_address_id": 11, "tracking_number": "RM1", "shipping_provider": "royalmail",
                   "items": [{"order_product_id": 501, "quantity": 2}]}),
            json!({"order_address_id": 11, "tracking_number": "RM2", "shipping_provider": "royalmail",
                   "comments": "Tracking numbers: RM2, RM3",
                   "items": [{"order_product_id": 501, "quantity": 1}, {"order_product_id": 502, "quantity": 1}]}),
        ]
    );
    // Two ID-set reads ahead: the notes, then their sales order.
    assert_eq!(
        h.api.count(
            System::Brightpearl,
            Method::Get,
            "/warehouse-service/order/*/goods-note/goods-out/7001,7002"
        ),
        1
    );
    assert_eq!(
        h.state("cursor:tracking").as_deref(),
        Some(Timestamp(NOW - 1800).to_iso8601().as_str())
    );
    // The next sweep sees both again through its overlap and posts nothing.
    h.set_now(NOW + 600);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("already_posted", 2)]);
    assert_eq!(h.posted().len(), 2);
}

#[test]
fn a_note_for_several_order_addresses_becomes_one_shipment_per_address() {
    let h = Harness::new();
    h.add_note(
        7001,
        note(&[(71, 1001, 3), (73, 1003, 2)], "RM9", 6, NOW - 600),
    );
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("shipments_created", 2)]);
    assert_eq!(
        h.posted(),
        vec![
            json!({"order_address_id": 11, "tracking_number": "RM9", "shipping_provider": "royalmail",
                   "items": [{"order_product_id": 501, "quantity": 3}]}),
            json!({"order_address_id": 12, "tracking_number": "RM9", "shipping_provider": "royalmail",
                   "items": [{"order_product_id": 503, "quantity": 2}]}),
        ]
    );
    assert_eq!(h.state("link:note:7001@11").as_deref(), Some("801"));
    assert_eq!(h.state("link:note:7001@12").as_deref(), Some("802"));
    assert_eq!(h.state("link:note:7001").as_deref(), Some("801"));
    h.run(shipped(&[7001]));
    assert_eq!(h.posted().len(), 2);
}

#[test]
fn missing_tracking_is_held_for_customer_service_with_the_order_value() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 3)], "", 6, NOW - 600));
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("held", 1)]);
    assert!(h.posted().is_empty());
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1, "{open:?}");
    let e = &open[0];
    assert_eq!(e.kind, "missing-tracking");
    assert_eq!(e.entity, "brightpearl:note:7001");
    assert_eq!(e.owner, Team::CustomerService);
    let impact = e.impact.as_ref().unwrap();
    assert_eq!(
        (impact.amount.as_str(), impact.currency.as_str()),
        ("123.45", "GBP")
    );
    assert!(e.message.contains("BigCommerce order 100"), "{}", e.message);
    // Still held on the next run (the held note is retried).
    h.run(Trigger::Scheduled);
    assert!(h.posted().is_empty());
    // Customer service ships the items by hand in BigCommerce: the next run links that
    // shipment and resolves the exception, without posting.
    h.world.borrow_mut().shipments.insert(
        ORDER,
        vec![
            json!({"id": 950, "order_id": ORDER, "order_address_id": 11, "tracking_number": "HAND1",
                    "shipping_provider": "", "items": [{"order_product_id": 501, "quantity": 3}]}),
        ],
    );
    h.run(Trigger::Scheduled);
    assert!(h.posted().is_empty());
    assert_eq!(h.state("link:note:7001").as_deref(), Some("950"));
    assert!(h.report.open_exceptions().is_empty());
    assert_eq!(h.state("held:note:7001"), None);
}

#[test]
fn missing_tracking_is_posted_without_it_after_the_grace_period() {
    let mut cfg = cfg_json();
    cfg["missing_tracking"] = json!({"action": "post", "grace_minutes": 60});
    let h = Harness::with_config(cfg);
    h.add_note(7001, note(&[(71, 1001, 1)], " ", 6, NOW - 600));
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("awaiting_tracking", 1)]);
    assert!(h.posted().is_empty());
    assert!(h.state("awaiting:note:7001").is_some());
    // 50 minutes after shipping: still waiting (retried without an event).
    h.set_now(NOW + 2400);
    h.run(Trigger::Scheduled);
    assert!(h.posted().is_empty());
    // Past the grace period: posted without a tracking number.
    h.set_now(NOW + 3000);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(
        counts(&s),
        vec![("shipments_created", 1), ("posted_without_tracking", 1)]
    );
    assert_eq!(
        h.posted(),
        vec![
            json!({"order_address_id": 11, "shipping_provider": "royalmail",
                    "items": [{"order_product_id": 501, "quantity": 1}]})
        ]
    );
    assert_eq!(h.state("awaiting:note:7001"), None);
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn a_lost_response_is_recovered_from_the_order_shipments_without_a_second_post() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 3)], "RM1", 6, NOW - 600));
    h.world.borrow_mut().lose_post_response = true;
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("shipments_created", 1)]);
    assert_eq!(h.posted().len(), 1);
    assert_eq!(h.shipments().len(), 1);
    assert_eq!(h.state("link:note:7001").as_deref(), Some("801"));
    assert_eq!(h.state("attempt:note:7001"), None);
    h.run(shipped(&[7001]));
    assert_eq!(h.posted().len(), 1);
}

#[test]
fn a_lost_response_whose_lookup_fails_is_found_by_the_next_run_not_posted_again() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 3)], "RM1", 6, NOW - 600));
    {
        let mut w = h.world.borrow_mut();
        w.lose_post_response = true;
        w.list_failures = 1;
    }
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("pending_retry", 1)]);
    assert_eq!(h.state("attempt:note:7001").as_deref(), Some("shipment"));
    assert_eq!(h.state("link:note:7001"), None);
    // Next run: the attempt marker makes it look first; found, linked, nothing posted.
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    assert_eq!(h.posted().len(), 1);
    assert_eq!(h.shipments().len(), 1);
    assert_eq!(h.state("link:note:7001").as_deref(), Some("801"));
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn a_shipment_claimed_by_one_note_is_not_taken_by_another_with_the_same_items() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 1)], "", 6, NOW - 600));
    h.add_note(7002, note(&[(71, 1001, 1)], "", 6, NOW - 500));
    let mut cfg = cfg_json();
    cfg["missing_tracking"] = json!({"action": "post", "grace_minutes": 0});
    let h = Harness {
        cfg: config::parse(&cfg.to_string()).unwrap(),
        ..h
    };
    h.run(shipped(&[7001]));
    // The second note's answer is lost: the lookup must not take 7001's shipment.
    h.world.borrow_mut().lose_post_response = true;
    h.run(shipped(&[7002]));
    assert_eq!(h.posted().len(), 2);
    assert_eq!(h.state("link:note:7001").as_deref(), Some("801"));
    assert_eq!(h.state("link:note:7002").as_deref(), Some("802"));
}

#[test]
fn credentials_rejected_stop_the_run_before_any_other_note() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    h.add_note(7002, note(&[(72, 1002, 1)], "RM2", 6, NOW - 500));
    // A first sweep sets the cursor.
    h.run(Trigger::Scheduled);
    let cursor = h.state("cursor:tracking");
    assert!(cursor.is_some());
    h.add_note(7003, note(&[(71, 1001, 1)], "RM3", 6, NOW + 60));
    h.add_note(7004, note(&[(72, 1002, 1)], "RM4", 6, NOW + 120));
    h.set_now(NOW + 600);
    h.api.clear_log();
    h.world.borrow_mut().bc_revoked = true;
    let err = h.try_run(Trigger::Scheduled).unwrap_err();
    assert!(matches!(err, FlowError::Upstream(_)), "{err:?}");
    // One BigCommerce call (note 7003's order), then nothing: no shipment, no link, the
    // cursor not moved.
    assert_eq!(h.api.count_system(System::Bigcommerce), 1);
    assert_eq!(h.shipments().len(), 2);
    assert_eq!(h.state("cursor:tracking"), cursor);
    assert_eq!(h.state("link:note:7003"), None);
    assert_eq!(h.state("retry:note:7003"), None);
    // A 401 on the POST itself stops the run too, and forgets the attempt (nothing was made).
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    h.add_note(7002, note(&[(72, 1002, 1)], "RM2", 6, NOW - 500));
    h.world.borrow_mut().reject_post = Some((401, "You are not authorised"));
    let err = h.try_run(shipped(&[7001, 7002])).unwrap_err();
    assert!(matches!(err, FlowError::Upstream(_)), "{err:?}");
    assert_eq!(h.posted().len(), 1);
    assert_eq!(h.state("attempt:note:7001"), None);
    assert!(h.shipments().is_empty());
}

#[test]
fn an_id_set_event_is_one_candidate_per_note() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    h.add_note(7002, note(&[(72, 1002, 1)], "RM2", 6, NOW - 500));
    let Trigger::Events(mut events) = shipped(&[7001]) else {
        unreachable!()
    };
    events[0].entity_id = "7001-7002".into();
    // An event of another kind is ignored.
    events.push(Event {
        source: System::Brightpearl,
        scope: "goods-out-note.created".into(),
        entity_id: "7003".into(),
        payload: "{}".into(),
    });
    let s = h.run(Trigger::Events(events));
    assert_eq!(counts(&s), vec![("shipments_created", 2)]);
}

#[test]
fn rows_without_an_order_product_ref_match_by_sku_and_unmatched_rows_hold() {
    let h = Harness::new();
    {
        let mut w = h.world.borrow_mut();
        let so = w.sales_orders.get_mut(&SALES_ORDER).unwrap();
        so["orderRows"]["72"]["externalRef"] = json!(null);
        so["orderRows"]["73"]["externalRef"] = json!("");
        so["orderRows"]["73"]["productSku"] = json!("CAP-XL");
    }
    h.add_note(7001, note(&[(72, 1002, 1)], "RM1", 6, NOW - 600));
    h.add_note(
        7002,
        note(&[(73, 1003, 1), (99, 1009, 1)], "RM2", 6, NOW - 500),
    );
    let s = h.run(shipped(&[7001, 7002]));
    assert_eq!(counts(&s), vec![("shipments_created", 1), ("held", 1)]);
    assert_eq!(
        h.posted(),
        vec![
            json!({"order_address_id": 11, "tracking_number": "RM1", "shipping_provider": "royalmail",
                    "items": [{"order_product_id": 502, "quantity": 1}]})
        ]
    );
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "unmatched-note-row");
    assert_eq!(open[0].owner, Team::Integration);
    assert!(
        open[0].message.contains("row 73 (SKU `CAP-XL`"),
        "{}",
        open[0].message
    );
    assert!(
        open[0]
            .message
            .contains("row 99 is not a row of the sales order")
    );
    assert_eq!(open[0].impact.as_ref().unwrap().amount, "123.45");
}

#[test]
fn an_unmapped_shipping_method_and_too_many_units_hold_the_note_with_both() {
    let h = Harness::new();
    h.add_note(7001, note(&[(72, 1002, 2)], "RM1", 42, NOW - 600));
    h.run(shipped(&[7001]));
    assert!(h.posted().is_empty());
    let mut kinds: Vec<String> = h
        .report
        .open_exceptions()
        .into_iter()
        .map(|e| format!("{} {:?}: {}", e.kind, e.owner, e.message))
        .collect();
    kinds.sort();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(
        kinds[0].starts_with("invalid-note-data Operations"),
        "{kinds:?}"
    );
    assert!(
        kinds[0]
            .contains("2 units of order product 502 (SKU `MUG`) on the note, but 1 were ordered")
    );
    assert!(kinds[1].starts_with("unmapped-shipping-provider Operations"));
    assert!(kinds[1].contains("Brightpearl shipping method 42 has no entry in shipping_methods"));
}

#[test]
fn a_rejected_shipment_is_held_and_a_sales_order_not_from_bigcommerce_is_skipped() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    h.world.borrow_mut().reject_post = Some((
        400,
        "The quantity for order product 501 is more than is left to ship.",
    ));
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("held", 1)]);
    let open = h.report.open_exceptions();
    assert_eq!(open[0].kind, "shipment-rejected");
    assert!(
        open[0].message.contains("more than is left to ship"),
        "{}",
        open[0].message
    );
    assert_eq!(h.state("attempt:note:7001"), None);
    // Retried next run (the cause may be fixed): posted, resolved.
    h.run(Trigger::Scheduled);
    assert_eq!(h.shipments().len(), 1);
    assert!(h.report.open_exceptions().is_empty());

    let h = Harness::new();
    {
        let mut w = h.world.borrow_mut();
        let so = w.sales_orders.get_mut(&SALES_ORDER).unwrap();
        so["externalRef"] = json!("");
        so["reference"] = json!("PHONE-ORDER-7");
    }
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    let s = h.run(shipped(&[7001]));
    assert_eq!(counts(&s), vec![("not_from_bigcommerce", 1)]);
    assert_eq!(h.api.count_system(System::Bigcommerce), 0);
}

#[test]
fn a_sales_order_found_by_ref_whose_bigcommerce_order_is_gone_is_held() {
    let h = Harness::new();
    {
        let mut w = h.world.borrow_mut();
        let so = w.sales_orders.get_mut(&SALES_ORDER).unwrap();
        so["externalRef"] = json!(null);
        so["reference"] = json!("BC-404");
    }
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    h.run(shipped(&[7001]));
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "shipment-order-missing");
    assert!(
        open[0].message.contains("BigCommerce order 404"),
        "{}",
        open[0].message
    );
}

#[test]
fn a_note_of_an_order_cancelled_in_bigcommerce_is_held_not_shipped() {
    let h = Harness::new();
    {
        let mut w = h.world.borrow_mut();
        let order = &mut w.orders.get_mut(&ORDER).unwrap().0;
        order["status_id"] = json!(5);
        order["status"] = json!("Cancelled");
    }
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    h.run(shipped(&[7001]));
    assert!(h.posted().is_empty());
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "shipped-cancelled-order");
    assert_eq!(open[0].owner, Team::CustomerService);
    assert!(
        open[0]
            .message
            .contains("BigCommerce order 100 is Cancelled (status 5)"),
        "{}",
        open[0].message
    );
    assert_eq!(open[0].impact.as_ref().unwrap().amount, "123.45");
}

#[test]
fn the_dispatch_reconciliation_finds_exactly_the_gaps_and_resolves_them_once_closed() {
    let h = Harness::new();
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    // Shipped on an unmapped method: held, so it has no BigCommerce shipment.
    h.add_note(7002, note(&[(72, 1002, 1)], "RM2", 42, NOW - 500));
    h.run(shipped(&[7001, 7002]));
    {
        let mut w = h.world.borrow_mut();
        w.orders.get_mut(&ORDER).unwrap().0["status_id"] = json!(3);
        let order = |id: u64, status: u64, total: &str| {
            (
                json!({"id": id, "status_id": status, "status": "Shipped", "total_inc_tax": total,
                       "currency_code": "EUR", "default_currency_code": "EUR"}),
                vec![],
            )
        };
        // Marked shipped in BigCommerce, never in Brightpearl.
        w.orders.insert(200, order(200, 2, "50.0000"));
        // Marked shipped; its sales order's only note is not shipped.
        w.orders.insert(300, order(300, 2, "75.5000"));
        // Not shipped: not checked.
        w.orders.insert(400, order(400, 11, "10.0000"));
        w.sales_orders.insert(
            9003,
            json!({"id": 9003, "orderTypeCode": "SO", "reference": "BC-300", "externalRef": "300", "orderRows": {}}),
        );
        let mut unshipped = note(&[(91, 1001, 1)], "", 6, NOW - 100);
        unshipped["orderId"] = json!(9003);
        unshipped["status"] = json!({"shipped": false, "shippedOn": null});
        w.notes.insert(7003, unshipped);
    }
    let reconcile = Trigger::Replay(vec!["reconcile:shipments:2024-04-30".into()]);
    let s = h.run(reconcile.clone());
    assert_eq!(
        counts(&s),
        vec![
            ("checked", 5),
            ("missing", 3),
            ("checked_notes", 2),
            ("checked_orders", 3),
            ("missing_shipments", 1),
            ("shipped_without_note", 2)
        ]
    );
    assert_eq!(s.notes.len(), 4, "{:?}", s.notes);
    let mut gaps: Vec<(String, String, String, String)> = h
        .report
        .open_exceptions()
        .into_iter()
        .filter(|e| e.kind == "shipment-missing" || e.kind == "shipped-without-note")
        .map(|e| {
            let m = e.impact.unwrap();
            (e.kind, e.entity, m.amount, m.currency)
        })
        .collect();
    gaps.sort();
    let g = |k: &str, e: &str, a: &str, c: &str| {
        (k.to_string(), e.to_string(), a.to_string(), c.to_string())
    };
    assert_eq!(
        gaps,
        vec![
            g("shipment-missing", "brightpearl:note:7002", "123.45", "GBP"),
            g(
                "shipped-without-note",
                "bigcommerce:order:200",
                "50.00",
                "EUR"
            ),
            g(
                "shipped-without-note",
                "bigcommerce:order:300",
                "75.50",
                "EUR"
            ),
        ]
    );
    // Nothing was written by the reconciliation.
    assert_eq!(h.posted().len(), 1);
    // Order 300's note ships: the next reconciliation resolves the order's gap, and finds the
    // note without a shipment instead (the tracking flow has not run since).
    h.world.borrow_mut().notes.get_mut(&7003).unwrap()["status"] =
        json!({"shipped": true, "shippedOn": Timestamp(NOW - 50).to_iso8601()});
    let s = h.run(reconcile);
    let missing = s.counts.iter().find(|(k, _)| k == "missing").unwrap().1;
    assert_eq!(missing, 3);
    let open: Vec<(String, String)> = h
        .report
        .open_exceptions()
        .into_iter()
        .map(|e| (e.kind, e.entity))
        .collect();
    assert!(
        !open.iter().any(|(_, e)| e == "bigcommerce:order:300"),
        "{open:?}"
    );
    assert!(open.contains(&("shipment-missing".into(), "brightpearl:note:7003".into())));
    // A bad date is refused before any call.
    h.api.clear_log();
    let err = h
        .try_run(Trigger::Replay(vec![
            "reconcile:shipments:yesterday".into(),
        ]))
        .unwrap_err();
    assert!(
        matches!(err, FlowError::Internal(ref m) if m.contains("`yesterday` is not a date")),
        "{err:?}"
    );
    assert!(h.api.requests().is_empty());
}

// --- Order statuses and cancellations (issue 10 §5) ---

/// Brightpearl's cancelled status in these tests (an account's own id).
const BP_CANCELLED: u64 = 15;
/// Brightpearl "On hold" and "Awaiting pickup" statuses.
const BP_ON_HOLD: u64 = 12;
const BP_AWAITING_PICKUP: u64 = 20;

fn status_cfg() -> Value {
    let mut cfg = cfg_json();
    cfg["statuses"] = json!({
        "brightpearl_cancelled": BP_CANCELLED,
        "to_bigcommerce": {"12": 12, "20": 8}
    });
    cfg
}

fn bp_status_event(id: u64) -> Trigger {
    Trigger::Events(vec![Event {
        source: System::Brightpearl,
        scope: "order.modified.order-status".into(),
        entity_id: id.to_string(),
        payload: "{}".into(),
    }])
}

fn bc_status_event(id: u64) -> Trigger {
    Trigger::Events(vec![Event {
        source: System::Bigcommerce,
        scope: "store/order/statusUpdated".into(),
        entity_id: id.to_string(),
        payload: "{}".into(),
    }])
}

impl Harness {
    fn set_bp_status(&self, status: u64) {
        let mut w = self.world.borrow_mut();
        let so = w.sales_orders.get_mut(&SALES_ORDER).unwrap();
        so["orderStatus"] = json!({"orderStatusId": status, "name": format!("status {status}")});
        so["updatedOn"] = json!(Timestamp(NOW - 60).to_iso8601());
    }

    fn set_bc_status(&self, order: u64, status: u64, name: &str) {
        let mut w = self.world.borrow_mut();
        let o = &mut w.orders.get_mut(&order).unwrap().0;
        o["status_id"] = json!(status);
        o["status"] = json!(name);
        o["date_modified"] = json!("Wed, 01 May 2024 11:59:00 +0000");
    }

    fn bc_status(&self) -> Value {
        self.world.borrow().orders[&ORDER].0["status_id"].clone()
    }

    fn bp_status(&self) -> Value {
        self.world.borrow().sales_orders[&SALES_ORDER]["orderStatus"]["orderStatusId"].clone()
    }

    /// Every `PUT /v2/orders/100` body sent so far.
    fn bc_status_puts(&self) -> Vec<Value> {
        self.api.bodies(
            System::Bigcommerce,
            Method::Put,
            &format!("/v2/orders/{ORDER}"),
        )
    }

    /// Every `PUT /order-service/order/9001/status` body sent so far.
    fn bp_status_puts(&self) -> Vec<Value> {
        self.api.bodies(
            System::Brightpearl,
            Method::Put,
            &format!("/order-service/order/{SALES_ORDER}/status"),
        )
    }
}

#[test]
fn a_mapped_brightpearl_status_is_written_back_to_bigcommerce_once() {
    let h = Harness::with_config(status_cfg());
    h.set_bp_status(BP_ON_HOLD);
    let s = h.run(bp_status_event(SALES_ORDER));
    assert_eq!(counts(&s), vec![("statuses_written", 1)]);
    assert_eq!(h.bc_status_puts(), vec![json!({"status_id": 12})]);
    assert_eq!(h.bc_status(), 12);
    // The same event again, the sweep, and BigCommerce's own statusUpdated event for it
    // (skipped as the echo of our write): nothing more is written to either system.
    h.run(bp_status_event(SALES_ORDER));
    h.run(Trigger::Scheduled);
    let s = h.run(bc_status_event(ORDER));
    assert_eq!(counts(&s), vec![("echo_skipped", 1)]);
    assert_eq!(h.state("wrote:order:100"), None);
    assert_eq!(h.bc_status_puts().len(), 1);
    assert!(h.bp_status_puts().is_empty());
    // A later status (awaiting pickup) found by the sweep: written once more.
    h.set_bp_status(BP_AWAITING_PICKUP);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("statuses_written", 1)]);
    assert_eq!(
        h.bc_status_puts(),
        vec![json!({"status_id": 12}), json!({"status_id": 8})]
    );
    // An unmapped status writes nothing; an order BigCommerce has shipped is never moved
    // back by a status.
    h.set_bp_status(4);
    h.run(bp_status_event(SALES_ORDER));
    h.set_bc_status(ORDER, 2, "Shipped");
    h.set_bp_status(BP_ON_HOLD);
    h.run(bp_status_event(SALES_ORDER));
    assert_eq!(h.bc_status_puts().len(), 2);
    assert_eq!(h.bc_status(), 2);
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn a_brightpearl_cancellation_cancels_the_bigcommerce_order_and_is_not_echoed_back() {
    let h = Harness::with_config(status_cfg());
    h.set_bp_status(BP_CANCELLED);
    let s = h.run(bp_status_event(SALES_ORDER));
    assert_eq!(counts(&s), vec![("cancelled_in_bigcommerce", 1)]);
    assert_eq!(h.bc_status_puts(), vec![json!({"status_id": 5})]);
    assert_eq!(h.state("wrote:order:100").as_deref(), Some("5"));
    // BigCommerce's statusUpdated event for our own write: skipped, nothing sent to
    // Brightpearl (not even a search).
    h.api.clear_log();
    let s = h.run(bc_status_event(ORDER));
    assert_eq!(counts(&s), vec![("echo_skipped", 1)]);
    assert_eq!(h.api.count_system(System::Brightpearl), 0);
    assert_eq!(h.state("wrote:order:100"), None);
    // The sweeps of both sides see the orders again: nothing is written.
    h.run(Trigger::Scheduled);
    assert!(h.bp_status_puts().is_empty());
    assert!(h.bc_status_puts().is_empty());
    // A note shipped for the cancelled order is not posted as a shipment.
    h.add_note(7001, note(&[(71, 1001, 1)], "RM1", 6, NOW - 600));
    h.run(shipped(&[7001]));
    assert!(h.posted().is_empty());
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "shipped-cancelled-order");
}

#[test]
fn a_bigcommerce_cancellation_before_dispatch_cancels_the_sales_order_once() {
    let h = Harness::with_config(status_cfg());
    h.set_bc_status(ORDER, 5, "Cancelled");
    let s = h.run(bc_status_event(ORDER));
    assert_eq!(counts(&s), vec![("cancelled_in_brightpearl", 1)]);
    assert_eq!(
        h.bp_status_puts(),
        vec![json!({
            "orderStatusId": 15,
            "orderNote": {"text": "Cancelled by Pearlbridge: BigCommerce order 100 is Cancelled (status 5)", "isPublic": false}
        })]
    );
    assert_eq!(h.bp_status(), 15);
    // Brightpearl's order-status event for our own write: skipped, nothing sent to
    // BigCommerce.
    h.api.clear_log();
    let s = h.run(bp_status_event(SALES_ORDER));
    assert_eq!(counts(&s), vec![("echo_skipped", 1)]);
    assert_eq!(
        h.api.count(System::Bigcommerce, Method::Put, "/v2/orders"),
        0
    );
    // The same BigCommerce event again and the sweeps: nothing more is written (the log
    // was cleared above).
    h.run(bc_status_event(ORDER));
    h.run(Trigger::Scheduled);
    assert!(h.bp_status_puts().is_empty());
    assert!(h.bc_status_puts().is_empty());
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn a_full_refund_cancels_and_an_order_not_posted_yet_is_only_watched() {
    // Refunded in full (status 4) before dispatch, found by the sweep.
    let h = Harness::with_config(status_cfg());
    h.set_bc_status(ORDER, 4, "Refunded");
    let s = h.run(Trigger::Scheduled);
    // The same run's Brightpearl sweep sees the sales order changed: its own echo.
    assert_eq!(
        counts(&s),
        vec![("cancelled_in_brightpearl", 1), ("echo_skipped", 1)]
    );
    assert_eq!(
        h.bp_status_puts(),
        vec![json!({
            "orderStatusId": 15,
            "orderNote": {"text": "Cancelled by Pearlbridge: BigCommerce order 100 is Refunded (status 4)", "isPublic": false}
        })]
    );
    // An order cancelled before the orders flow posted it: nothing to cancel, and nothing is
    // posted (the orders flow's status filter leaves it out); it is watched for 24 hours in
    // case a post already under way lands.
    let h = Harness::with_config(status_cfg());
    h.world.borrow_mut().sales_orders.clear();
    h.set_bc_status(ORDER, 5, "Cancelled");
    let s = h.run(bc_status_event(ORDER));
    assert_eq!(counts(&s), vec![("cancelled_before_posting", 1)]);
    assert_eq!(h.state("unposted:order:100"), Some(NOW.to_string()));
    assert!(h.bp_status_puts().is_empty());
    // The post lands an hour later: the watch cancels it.
    h.world
        .borrow_mut()
        .sales_orders
        .insert(SALES_ORDER, sales_order());
    h.set_now(NOW + 3600);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(
        counts(&s),
        vec![("cancelled_in_brightpearl", 1), ("echo_skipped", 1)]
    );
    assert_eq!(h.bp_status_puts().len(), 1);
    assert_eq!(h.state("unposted:order:100"), None);
    // Another order that never lands is dropped from the watch after 24 hours.
    let h = Harness::with_config(status_cfg());
    h.world.borrow_mut().sales_orders.clear();
    h.set_bc_status(ORDER, 5, "Cancelled");
    h.run(bc_status_event(ORDER));
    h.set_now(NOW + 24 * 3600);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![]);
    assert_eq!(h.state("unposted:order:100"), None);
    assert_eq!(h.state("mirrored:order:100").as_deref(), Some("5"));
}

#[test]
fn a_cancellation_after_dispatch_or_of_a_paid_order_is_held_not_forced() {
    // Dispatch started: a goods-out note exists (not shipped yet).
    let h = Harness::with_config(status_cfg());
    let mut unshipped = note(&[(71, 1001, 1)], "", 6, NOW - 100);
    unshipped["status"] = json!({"shipped": false, "shippedOn": null});
    h.add_note(7009, unshipped);
    h.set_bc_status(ORDER, 5, "Cancelled");
    let s = h.run(bc_status_event(ORDER));
    assert_eq!(counts(&s), vec![("held", 1)]);
    assert!(h.bp_status_puts().is_empty());
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "cancellation-blocked");
    assert_eq!(open[0].entity, "bigcommerce:order:100");
    assert_eq!(open[0].owner, Team::CustomerService);
    assert!(
        open[0]
            .message
            .contains("sales order 9001 has goods-out note(s) 7009 (not shipped)"),
        "{}",
        open[0].message
    );
    assert_eq!(open[0].impact.as_ref().unwrap().amount, "123.45");
    // The order is reopened in BigCommerce: the hold resolves.
    h.set_bc_status(ORDER, 11, "Awaiting Fulfillment");
    h.run(Trigger::Scheduled);
    assert!(h.report.open_exceptions().is_empty());

    // Paid: Brightpearl refuses the cancelled status; held with its message, retried.
    let h = Harness::with_config(status_cfg());
    h.world.borrow_mut().paid_sales_orders.push(SALES_ORDER);
    h.set_bc_status(ORDER, 5, "Cancelled");
    h.run(bc_status_event(ORDER));
    assert_eq!(h.bp_status_puts().len(), 1);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "cancellation-rejected");
    assert!(
        open[0].message.contains("has payments"),
        "{}",
        open[0].message
    );
    assert_eq!(h.state("wrote:sales-order:9001"), None);

    // Cancelled in Brightpearl after BigCommerce shipped: not cancelled there, held.
    let h = Harness::with_config(status_cfg());
    h.set_bc_status(ORDER, 2, "Shipped");
    h.set_bp_status(BP_CANCELLED);
    h.run(bp_status_event(SALES_ORDER));
    assert!(h.bc_status_puts().is_empty());
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "cancellation-blocked");
    assert_eq!(open[0].entity, "brightpearl:sales-order:9001");
}

#[test]
fn a_lost_status_answer_is_checked_by_reading_not_sent_again() {
    let h = Harness::with_config(status_cfg());
    h.set_bc_status(ORDER, 5, "Cancelled");
    h.world.borrow_mut().lose_put_response = true;
    let s = h.run(bc_status_event(ORDER));
    assert_eq!(counts(&s), vec![("cancelled_in_brightpearl", 1)]);
    assert_eq!(h.bp_status_puts().len(), 1);
    h.run(Trigger::Scheduled);
    assert_eq!(h.bp_status_puts().len(), 1);

    let h = Harness::with_config(status_cfg());
    h.set_bp_status(BP_CANCELLED);
    h.world.borrow_mut().lose_put_response = true;
    let s = h.run(bp_status_event(SALES_ORDER));
    assert_eq!(counts(&s), vec![("cancelled_in_bigcommerce", 1)]);
    h.run(Trigger::Scheduled);
    h.run(bc_status_event(ORDER));
    assert_eq!(h.bc_status_puts(), vec![json!({"status_id": 5})]);
    assert!(h.bp_status_puts().is_empty());
    assert!(h.report.open_exceptions().is_empty());

    // A replay of a status entity without a statuses section is refused by name.
    let h = Harness::new();
    let err = h
        .try_run(Trigger::Replay(vec!["bigcommerce:order:100".into()]))
        .unwrap_err();
    assert!(
        matches!(err, FlowError::Internal(ref m) if m.contains("not configured")),
        "{err:?}"
    );
}
