//! The run shell against in-memory fakes (`pearlbridge_sdk::testing`) and a small fake of
//! both APIs: idempotency, holding and resolving, retries, call counts.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use orders::config::{self, OrdersConfig};
use orders::run::run_at;
use pearlbridge_sdk::State;
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{
    Event, FlowError, Method, Request, Response, SendError, System, Team, Trigger,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn config() -> OrdersConfig {
    config::parse(&fixture("config.json").to_string()).unwrap()
}

/// What the fake Brightpearl and BigCommerce hold, and the faults to inject.
#[derive(Default)]
struct World {
    /// BigCommerce order bundles (fixture JSON) by order id.
    orders: BTreeMap<u64, Value>,
    store_time: i64,
    /// Brightpearl products: SKU → id.
    products: BTreeMap<String, u64>,
    /// Brightpearl contacts: (id, primary e-mail, price list).
    contacts: Vec<(u64, String, Option<u64>)>,
    /// Posted bodies with their ids.
    sales_orders: Vec<(u64, Value)>,
    payments: Vec<(u64, Value)>,
    postal_addresses: Vec<Value>,
    contact_bodies: Vec<Value>,
    next_id: u64,
    /// The next sales-order POST commits, but its response is lost.
    lose_sales_order_response: bool,
    /// The next sales-order POST is lost before it reaches the server.
    drop_sales_order_request: bool,
    /// Sales-order POSTs answer this status without committing, this many times.
    sales_order_failures: Vec<u16>,
    /// The next payment POST commits, but its response is lost.
    lose_payment_response: bool,
    /// The next multi-message request commits all its messages, but its response is lost.
    lose_multi_response: bool,
    /// The next multi-message request is lost before it reaches the server.
    drop_multi_request: bool,
    /// Multi-message requests answer this status as a whole without running, this many times.
    multi_message_failures: Vec<u16>,
    /// A payment (single or in a multi-message) with this transactionRef answers this status
    /// without committing, once.
    payment_failures: BTreeMap<String, u16>,
    /// Payment writes (single or multi-message) panic: a crash of the run.
    crash_on_payment: bool,
    /// The host refuses multi-message requests (`send-error::denied`).
    deny_multi_message: bool,
    /// The unfiltered product search (the index) answers 500 this many times.
    index_failures: u32,
    /// Brightpearl's duplicate keys are enforced, as in the sandbox: a sales order whose
    /// `externalRef` exists answers the existing id; a payment whose (`transactionRef`,
    /// payment method) exists is refused 400 `ACCC-021`.
    duplicate_keys: bool,
    /// Order notes: (note id, sales order id, body).
    notes: Vec<(u64, u64, Value)>,
    /// The next order-note POST commits, but its response is lost.
    lose_note_response: bool,
    /// Order-note POSTs answer this status without committing, this many times.
    note_failures: Vec<u16>,
    /// Requests to this system whose path starts with the prefix answer this status (401/403:
    /// bad credentials), with the system's error body.
    refuse: Vec<(System, String, u16)>,
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

/// The order of a bundle, with `include=consignments.line_items&consignment_structure=object`
/// consignments when `include`: one shipping consignment per shipping address with its
/// products as `line_items` (the fixtures' money stays strings).
fn with_consignments(b: &Value, include: bool) -> Value {
    let mut o = b["order"].clone();
    if include {
        let shipping: Vec<Value> = b["shipping_addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let mut c = a.clone();
                c["line_items"] = b["products"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["order_address_id"] == a["id"])
                    .cloned()
                    .collect();
                c
            })
            .collect();
        o["consignments"] = json!({"pickups": [], "shipping": shipping, "downloads": [], "email": {"gift_certificates": []}});
    }
    o
}

fn query(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .map(|v| {
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        })
}

impl World {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn handle(&mut self, req: &Request) -> Result<Response, SendError> {
        let ok = |v: Value| Ok(Response::new(200, v.to_string()));
        let path = req.path.as_str();
        if let Some((_, _, status)) = self
            .refuse
            .iter()
            .find(|(system, prefix, _)| *system == req.system && path.starts_with(prefix.as_str()))
        {
            let body = match req.system {
                System::Brightpearl => r#"{"response":"Not authenticated"}"#.to_string(),
                System::Bigcommerce => {
                    format!(r#"[{{"status":{status},"message":"You are not authorized."}}]"#)
                }
            };
            return Ok(Response::new(*status, body));
        }
        let base = path.split('?').next().unwrap();
        let parts: Vec<&str> = base.trim_start_matches('/').split('/').collect();
        match (req.system, req.method) {
            (System::Bigcommerce, Method::Get) => match parts.as_slice() {
                ["v2", "time"] => ok(json!({"time": self.store_time})),
                ["v2", "orders"] => {
                    if query(path, "page").as_deref() != Some("1") {
                        return Ok(Response::new(204, ""));
                    }
                    let since =
                        Timestamp::parse_rfc2822(&query(path, "min_date_modified").unwrap())
                            .unwrap();
                    let include = query(path, "include").is_some();
                    let mut list: Vec<Value> = self
                        .orders
                        .values()
                        .map(|b| with_consignments(b, include))
                        .filter(|o| {
                            Timestamp::parse_rfc2822(o["date_modified"].as_str().unwrap()).unwrap()
                                >= since
                        })
                        .collect();
                    list.sort_by_key(|o| o["id"].as_u64());
                    ok(Value::Array(list))
                }
                ["v2", "orders", id, rest @ ..] => {
                    let Some(b) = self.orders.get(&id.parse::<u64>().unwrap()) else {
                        return Ok(Response::new(
                            404,
                            r#"[{"status":404,"message":"The requested resource was not found."}]"#,
                        ));
                    };
                    let v = match rest {
                        [] => with_consignments(b, query(path, "include").is_some()),
                        ["products"] => b["products"].clone(),
                        ["shipping_addresses"] => b["shipping_addresses"].clone(),
                        ["coupons"] => b["coupons"].clone(),
                        ["taxes"] => b["taxes"].clone(),
                        _ => return Ok(Response::new(404, "[]")),
                    };
                    if v.as_array().is_some_and(|a| a.is_empty()) {
                        Ok(Response::new(204, ""))
                    } else {
                        ok(v)
                    }
                }
                ["v3", "orders", id, "transactions"] => {
                    let b = &self.orders[&id.parse::<u64>().unwrap()];
                    if b["transactions"].as_array().unwrap().is_empty() {
                        Ok(Response::new(204, ""))
                    } else {
                        ok(json!({"data": b["transactions"], "meta": {}}))
                    }
                }
                ["v3", "customers"] => {
                    let id: u64 = query(path, "id:in").unwrap().parse().unwrap();
                    let found: Vec<Value> = self
                        .orders
                        .values()
                        .filter_map(|b| {
                            b.get("customer")
                                .filter(|c| c["id"].as_u64() == Some(id))
                                .cloned()
                        })
                        .take(1)
                        .collect();
                    ok(json!({"data": found, "meta": {}}))
                }
                _ => panic!("unexpected BigCommerce GET {path}"),
            },
            (System::Brightpearl, Method::Get) => {
                match parts.as_slice() {
                    ["product-service", "product-search"] => {
                        if let Some(sku) = query(path, "SKU") {
                            let rows = self
                                .products
                                .get(&sku)
                                .map(|id| vec![vec![json!(id), json!(sku)]])
                                .unwrap_or_default();
                            return Ok(search(&["productId", "SKU"], rows));
                        }
                        // The whole catalogue, by productId, in pages (the index).
                        if self.index_failures > 0 {
                            self.index_failures -= 1;
                            return Ok(Response::new(
                                500,
                                r#"{"errors":[{"code":"CMNC-500","message":"boom"}]}"#,
                            ));
                        }
                        assert_eq!(
                            query(path, "columns").as_deref(),
                            Some("productId,SKU,updatedOn")
                        );
                        let size: usize = query(path, "pageSize").unwrap().parse().unwrap();
                        let first: usize = query(path, "firstResult").unwrap().parse().unwrap();
                        let mut all: Vec<(u64, String)> = self
                            .products
                            .iter()
                            .map(|(s, id)| (*id, s.clone()))
                            .collect();
                        all.sort();
                        let page: Vec<Vec<Value>> = all
                            .iter()
                            .skip(first - 1)
                            .take(size)
                            .map(|(id, s)| vec![json!(id), json!(s)])
                            .collect();
                        let n = page.len();
                        let more = first - 1 + n < all.len();
                        ok(
                            json!({"response": {"metaData": {"morePagesAvailable": more, "resultsAvailable": all.len(), "resultsReturned": n,
                        "firstResult": first, "lastResult": first - 1 + n, "columns": [{"name": "productId"}, {"name": "SKU"}]}, "results": page}}),
                        )
                    }
                    ["contact-service", "contact-search"] => {
                        let email = query(path, "primaryEmail").unwrap();
                        let rows = self
                            .contacts
                            .iter()
                            .filter(|c| c.1.eq_ignore_ascii_case(&email))
                            .map(|c| vec![json!(c.0), json!(c.1)])
                            .collect();
                        Ok(search(&["contactId", "primaryEmail"], rows))
                    }
                    ["contact-service", "contact", id] => {
                        let id: u64 = id.parse().unwrap();
                        let found: Vec<Value> = self
                        .contacts
                        .iter()
                        .filter(|c| c.0 == id)
                        .map(|c| json!({"contactId": c.0, "financialDetails": {"priceListId": c.2}}))
                        .collect();
                        ok(json!({"response": found}))
                    }
                    ["order-service", "order-search"] => {
                        let ext = query(path, "externalRef").unwrap();
                        let rows = self
                            .sales_orders
                            .iter()
                            .filter(|(_, b)| b["externalRef"] == json!(ext))
                            .map(|(id, _)| vec![json!(id), json!(1), json!(ext)])
                            .collect();
                        Ok(search(&["orderId", "orderTypeId", "externalRef"], rows))
                    }
                    ["accounting-service", "customer-payment-search"] => {
                        let reference = query(path, "transactionRef").unwrap();
                        let rows = self
                            .payments
                            .iter()
                            .filter(|(_, b)| b["transactionRef"] == json!(reference))
                            .map(|(id, b)| {
                                vec![
                                    json!(id),
                                    b["orderId"].clone(),
                                    b["transactionRef"].clone(),
                                    b["paymentMethodCode"].clone(),
                                    b["paymentType"].clone(),
                                ]
                            })
                            .collect();
                        Ok(search(
                            &[
                                "paymentId",
                                "orderId",
                                "transactionRef",
                                "paymentMethodCode",
                                "paymentType",
                            ],
                            rows,
                        ))
                    }
                    ["order-service", "order", so, "note"] => {
                        let so: u64 = so.parse().unwrap();
                        let found: Vec<Value> = self
                            .notes
                            .iter()
                            .filter(|(_, o, _)| *o == so)
                            .map(|(id, _, b)| json!({"noteId": id, "contactId": 1, "text": b["text"], "isPublic": b["isPublic"], "addedOn": "2024-05-01T10:20:00.000+00:00", "addedBy": 4, "orderStatusId": 3}))
                            .collect();
                        ok(json!({"response": found}))
                    }
                    _ => panic!("unexpected Brightpearl GET {path}"),
                }
            }
            (System::Brightpearl, Method::Post) => {
                let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                match path {
                    "/contact-service/postal-address" => {
                        self.postal_addresses.push(body);
                        let id = self.id();
                        ok(json!({"response": id}))
                    }
                    "/contact-service/contact" => {
                        let id = self.id();
                        let email = body["communication"]["emails"]["PRI"]["email"]
                            .as_str()
                            .unwrap()
                            .to_string();
                        self.contacts.push((
                            id,
                            email,
                            body["financialDetails"]["priceListId"].as_u64(),
                        ));
                        self.contact_bodies.push(body);
                        ok(json!({"response": id}))
                    }
                    "/order-service/sales-order" => {
                        if !self.sales_order_failures.is_empty() {
                            let status = self.sales_order_failures.remove(0);
                            return Ok(Response::new(
                                status,
                                r#"{"response":"You have sent too many requests. Please wait before sending another request"}"#,
                            ));
                        }
                        if std::mem::take(&mut self.drop_sales_order_request) {
                            return Err(SendError::OutcomeUnknown);
                        }
                        if self.duplicate_keys
                            && let Some((id, _)) = self
                                .sales_orders
                                .iter()
                                .find(|(_, b)| b["externalRef"] == body["externalRef"])
                        {
                            return ok(json!({"response": id}));
                        }
                        let id = self.id();
                        self.sales_orders.push((id, body));
                        if std::mem::take(&mut self.lose_sales_order_response) {
                            return Err(SendError::OutcomeUnknown);
                        }
                        ok(json!({"response": id}))
                    }
                    "/multi-message" => {
                        assert!(!self.crash_on_payment, "crash: the run stops here");
                        if self.deny_multi_message {
                            return Err(SendError::Denied(
                                "Brightpearl paths must start with /{service}-service/".into(),
                            ));
                        }
                        if !self.multi_message_failures.is_empty() {
                            let status = self.multi_message_failures.remove(0);
                            return Ok(Response::new(
                                status,
                                r#"{"errors":[{"code":"CMNC-500","message":"gateway failure"}]}"#,
                            ));
                        }
                        if std::mem::take(&mut self.drop_multi_request) {
                            return Err(SendError::OutcomeUnknown);
                        }
                        assert_eq!(
                            (body["processingMode"].as_str(), body["onFail"].as_str()),
                            (Some("SEQUENTIAL"), Some("CONTINUE"))
                        );
                        let messages = body["messages"].as_array().unwrap();
                        assert!(
                            (2..=10).contains(&messages.len()),
                            "{} messages",
                            messages.len()
                        );
                        let mut processed = vec![];
                        for m in messages {
                            assert_eq!(m["httpMethod"], json!("POST"));
                            let inner = Request::post(
                                System::Brightpearl,
                                m["uri"].as_str().unwrap(),
                                m["body"].to_string(),
                            );
                            let (status, content) = match self.handle(&inner) {
                                Ok(r) => (r.status, r.body),
                                Err(e) => panic!("message {m}: {e:?}"),
                            };
                            processed.push(json!({"label": m["label"], "statusCode": status, "body": {"content": content}}));
                        }
                        if std::mem::take(&mut self.lose_multi_response) {
                            return Err(SendError::OutcomeUnknown);
                        }
                        let failed = processed
                            .iter()
                            .any(|p| p["statusCode"].as_u64().unwrap() >= 400);
                        Ok(Response::new(
                            if failed { 207 } else { 200 },
                            json!({"response": {"processedMessages": processed, "unprocessedMessages": []}}).to_string(),
                        ))
                    }
                    "/accounting-service/customer-payment" => {
                        assert!(!self.crash_on_payment, "crash: the run stops here");
                        if let Some(status) = self
                            .payment_failures
                            .remove(body["transactionRef"].as_str().unwrap())
                        {
                            return Ok(Response::new(
                                status,
                                r#"{"errors":[{"code":"PYMC-001","message":"payment failure"}]}"#,
                            ));
                        }
                        if self.duplicate_keys
                            && self.payments.iter().any(|(_, b)| {
                                b["transactionRef"] == body["transactionRef"]
                                    && b["paymentMethodCode"] == body["paymentMethodCode"]
                            })
                        {
                            let message = format!(
                                "A payment with transactionRef {} already exists for payment method {}",
                                body["transactionRef"].as_str().unwrap(),
                                body["paymentMethodCode"].as_str().unwrap()
                            );
                            return Ok(Response::new(
                                400,
                                json!({"errors": [{"code": "ACCC-021", "message": message}]})
                                    .to_string(),
                            ));
                        }
                        let id = self.id();
                        self.payments.push((id, body));
                        if std::mem::take(&mut self.lose_payment_response) {
                            return Err(SendError::OutcomeUnknown);
                        }
                        ok(json!({"response": id}))
                    }
                    p if p.starts_with("/order-service/order/") && p.ends_with("/note") => {
                        let so: u64 = parts[2].parse().unwrap();
                        assert!(self.sales_orders.iter().any(|(id, _)| *id == so));
                        if !self.note_failures.is_empty() {
                            let status = self.note_failures.remove(0);
                            return Ok(Response::new(
                                status,
                                r#"{"errors":[{"code":"CMNC-500","message":"note failure"}]}"#,
                            ));
                        }
                        let id = self.id();
                        self.notes.push((id, so, body));
                        if std::mem::take(&mut self.lose_note_response) {
                            return Err(SendError::OutcomeUnknown);
                        }
                        ok(json!({"response": id}))
                    }
                    _ => panic!("unexpected Brightpearl POST {path}"),
                }
            }
            _ => panic!("unexpected {:?} {:?} {path}", req.system, req.method),
        }
    }
}

struct Harness {
    world: Rc<RefCell<World>>,
    api: FakeApi,
    state: MemoryState,
    report: MemoryReport,
    cfg: OrdersConfig,
    /// The flow's clock (unix seconds).
    now: std::cell::Cell<i64>,
}

impl Harness {
    fn new(fixtures: &[&str]) -> Harness {
        let mut world = World {
            store_time: 1_714_600_000,
            next_id: 5000,
            ..Default::default()
        };
        for name in fixtures {
            let b = fixture(&format!("{name}.json"));
            world.orders.insert(b["order"]["id"].as_u64().unwrap(), b);
        }
        world.products = serde_json::from_value(fixture("products.json")).unwrap();
        world
            .contacts
            .push((2045, "jane@example.co.uk".into(), None));
        let world = Rc::new(RefCell::new(world));
        let w = world.clone();
        let api = FakeApi::new(move |req| w.borrow_mut().handle(req));
        Harness {
            world,
            api,
            state: MemoryState::new(),
            report: MemoryReport::new(),
            cfg: config(),
            now: std::cell::Cell::new(1_714_600_000),
        }
    }

    fn run(&self, trigger: Trigger) -> pearlbridge_sdk::types::RunSummary {
        let summary = run_at(
            &trigger,
            &self.cfg,
            &self.api,
            &self.state,
            &self.report,
            self.now.get(),
        )
        .expect("run succeeds");
        self.assert_manifest_covers_every_request();
        summary
    }

    /// The flow's manifest (`orders::needs`) allows every request it sent: the host would
    /// deny any other.
    fn assert_manifest_covers_every_request(&self) {
        let needs = orders::needs();
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

    fn advance_minutes(&self, minutes: i64) {
        self.now.set(self.now.get() + minutes * 60);
    }

    fn bp_count(&self, method: Method, prefix: &str) -> usize {
        self.api.count(System::Brightpearl, method, prefix)
    }
}

fn replay(ids: &[u64]) -> Trigger {
    Trigger::Replay(
        ids.iter()
            .map(|id| format!("bigcommerce:order:{id}"))
            .collect(),
    )
}

fn counts(s: &pearlbridge_sdk::types::RunSummary) -> Vec<(&str, u64)> {
    s.counts
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| (k.as_str(), *v))
        .collect()
}

#[test]
fn posting_twice_posts_once() {
    let h = Harness::new(&["tax_exclusive_card"]);
    let first = h.run(replay(&[100231]));
    assert_eq!(counts(&first), vec![("posted", 1), ("payments_posted", 1)]);
    // The posted bodies are exactly the fixture's expected ones (contact 2045 found by e-mail).
    let expected = fixture("tax_exclusive_card.expected.json");
    let world = h.world.borrow();
    assert_eq!(world.sales_orders[0].1, expected["sales_order"]);
    let so_id = world.sales_orders[0].0;
    let mut payment = expected["payments"][0].clone();
    payment["orderId"] = json!(so_id);
    assert_eq!(world.payments[0].1, payment);
    drop(world);
    assert_eq!(
        h.state.get("link:order:100231").unwrap().value,
        so_id.to_string()
    );

    // Again by replay, by webhook event and by sweep: nothing is posted twice.
    let again = h.run(replay(&[100231]));
    assert_eq!(counts(&again), vec![("already_posted", 1)]);
    let event = Event {
        source: System::Bigcommerce,
        scope: "store/order/updated".into(),
        entity_id: "100231".into(),
        payload: "{}".into(),
    };
    assert_eq!(
        counts(&h.run(Trigger::Events(vec![event]))),
        vec![("already_posted", 1)]
    );
    assert_eq!(
        counts(&h.run(Trigger::Scheduled)),
        vec![("already_posted", 1)]
    );
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
    assert_eq!(h.world.borrow().payments.len(), 1);
    assert_eq!(h.bp_count(Method::Post, "/order-service/sales-order"), 1);
    assert_eq!(
        h.bp_count(Method::Get, "/order-service/order-search"),
        0,
        "never a search before a normal first POST"
    );
}

#[test]
fn outcome_unknown_on_the_sales_order_post_searches_by_external_ref_and_never_posts_twice() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.world.borrow_mut().lose_sales_order_response = true;
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    let world = h.world.borrow();
    assert_eq!(world.sales_orders.len(), 1);
    let so_id = world.sales_orders[0].0;
    assert_eq!(
        world.payments[0].1["orderId"],
        json!(so_id),
        "the payment goes to the order found by search"
    );
    drop(world);
    assert_eq!(
        h.bp_count(
            Method::Get,
            "/order-service/order-search?orderTypeId=1&externalRef=100231"
        ),
        1
    );
    assert_eq!(
        h.state.get("link:order:100231").unwrap().value,
        so_id.to_string()
    );
    assert!(h.state.get("attempt:order:100231").is_none());
    h.run(Trigger::Scheduled);
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
    assert_eq!(h.bp_count(Method::Post, "/order-service/sales-order"), 1);
}

#[test]
fn outcome_unknown_without_a_commit_stays_pending_then_posts_after_a_search() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.world.borrow_mut().drop_sales_order_request = true;
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("pending_retry", 1)]);
    assert!(h.state.get("attempt:order:100231").is_some());
    assert!(h.state.get("retry:order:100231").is_some());
    // The next run (any trigger) retries it: a search first, because an attempt is recorded.
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert_eq!(h.bp_count(Method::Get, "/order-service/order-search"), 2);
    assert_eq!(h.bp_count(Method::Post, "/order-service/sales-order"), 2);
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
    assert!(h.state.get("retry:order:100231").is_none());
}

#[test]
fn a_crash_between_post_and_link_is_recovered_by_search() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.run(replay(&[100231]));
    // Simulate a crash after the POST: no link, but an attempt marker.
    h.state.delete("link:order:100231");
    h.state.set("attempt:order:100231", "sales-order");
    h.api.clear_log();
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    assert_eq!(h.bp_count(Method::Post, "/order-service/sales-order"), 0);
    assert_eq!(h.bp_count(Method::Get, "/order-service/order-search"), 1);
    assert_eq!(
        h.bp_count(Method::Post, "/accounting-service/customer-payment"),
        0,
        "the payment is linked already"
    );
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
}

#[test]
fn outcome_unknown_on_a_single_payment_searches_by_transaction_ref() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.world.borrow_mut().lose_payment_response = true;
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert_eq!(
        h.bp_count(
            Method::Get,
            "/accounting-service/customer-payment-search?transactionRef=bc-txn-9001"
        ),
        1
    );
    assert_eq!(
        h.bp_count(Method::Post, "/multi-message"),
        0,
        "a batch of one is a plain POST"
    );
    h.run(replay(&[100231]));
    assert_eq!(
        h.world.borrow().payments.len(),
        1,
        "never two payments for one transaction"
    );
    assert_eq!(
        h.state.get("link:payment:bc-txn-9001").unwrap().value,
        h.world.borrow().payments[0].0.to_string()
    );
}

#[test]
fn outcome_unknown_on_a_batch_searches_each_payment_and_never_posts_twice() {
    let h = Harness::new(&["gift_certificate_and_card"]);
    h.world.borrow_mut().lose_multi_response = true;
    let s = h.run(replay(&[100237]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 2)]);
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 1);
    for reference in ["bc-txn-1002370", "bc-txn-1002371"] {
        let path =
            format!("/accounting-service/customer-payment-search?transactionRef={reference}");
        assert_eq!(h.bp_count(Method::Get, &path), 1, "{path}");
    }
    {
        let world = h.world.borrow();
        assert_eq!(world.payments.len(), 2);
        assert_eq!(
            h.state.get("link:payment:bc-txn-1002370").unwrap().value,
            world.payments[0].0.to_string()
        );
        assert_eq!(
            h.state.get("link:payment:bc-txn-1002371").unwrap().value,
            world.payments[1].0.to_string()
        );
    }
    assert!(h.state.list("attempt:", 10).is_empty());
    assert!(h.state.list("unpaid:", 10).is_empty());
    let s = h.run(replay(&[100237]));
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    assert_eq!(
        h.world.borrow().payments.len(),
        2,
        "never two payments for one transaction"
    );
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 1);
    assert_eq!(
        h.bp_count(Method::Post, "/accounting-service/customer-payment"),
        0
    );
}

#[test]
fn a_batch_lost_before_it_commits_stays_pending_then_posts_after_searching_again() {
    let h = Harness::new(&["gift_certificate_and_card"]);
    h.world.borrow_mut().drop_multi_request = true;
    let s = h.run(replay(&[100237]));
    assert_eq!(counts(&s), vec![("posted", 1), ("pending_retry", 1)]);
    assert_eq!(
        h.bp_count(Method::Get, "/accounting-service/customer-payment-search"),
        2
    );
    assert!(h.state.get("attempt:payment:bc-txn-1002371").is_some());
    assert!(h.state.get("retry:order:100237").is_some());
    // Next run: the sales order is linked; both payments are searched again (their attempt
    // markers are left), not found, then posted in one batch.
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(
        counts(&s),
        vec![("already_posted", 1), ("payments_posted", 2)]
    );
    assert_eq!(
        h.bp_count(Method::Get, "/accounting-service/customer-payment-search"),
        4
    );
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 2);
    assert_eq!(h.world.borrow().payments.len(), 2);
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
    assert!(h.state.get("retry:order:100237").is_none());
    assert!(h.state.list("attempt:", 10).is_empty());
}

#[test]
fn a_batch_with_one_failed_message_retries_only_that_payment_later() {
    let h = Harness::new(&[
        "tax_exclusive_card",
        "gift_certificate_and_card",
        "guest_paypal",
    ]);
    h.world
        .borrow_mut()
        .payment_failures
        .insert("bc-txn-9001".into(), 503);
    let s = h.run(replay(&[100231, 100237, 100239]));
    assert_eq!(
        counts(&s),
        vec![("posted", 3), ("payments_posted", 3), ("pending_retry", 1)]
    );
    // The four payments of the three orders went in one multi-message.
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 1);
    let bodies = h
        .api
        .bodies(System::Brightpearl, Method::Post, "/multi-message");
    let refs: Vec<&str> = bodies[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"]["transactionRef"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        vec![
            "bc-txn-9001",
            "bc-txn-1002370",
            "bc-txn-1002371",
            "bc-txn-1002391"
        ]
    );
    assert_eq!(
        bodies[0]["messages"][0]["uri"],
        json!("/accounting-service/customer-payment")
    );
    assert_eq!(h.world.borrow().payments.len(), 3);
    assert!(h.state.get("retry:order:100231").is_some());
    assert!(h.state.get("retry:order:100237").is_none());
    assert!(h.state.get("link:payment:bc-txn-1002391").is_some());
    h.api.clear_log();
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(
        counts(&s),
        vec![("already_posted", 1), ("payments_posted", 1)]
    );
    // Only the failed payment: searched (its attempt marker was left), then one plain POST.
    assert_eq!(
        h.bp_count(
            Method::Get,
            "/accounting-service/customer-payment-search?transactionRef=bc-txn-9001"
        ),
        1
    );
    assert_eq!(
        h.bp_count(Method::Post, "/accounting-service/customer-payment"),
        1
    );
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 0);
    assert_eq!(h.bp_count(Method::Post, "/order-service/sales-order"), 0);
    assert_eq!(h.api.count_system(System::Brightpearl), 2);
    assert_eq!(h.world.borrow().payments.len(), 4);
    assert_eq!(
        h.world.borrow().payments[3].1["transactionRef"],
        json!("bc-txn-9001")
    );
    assert!(h.state.get("retry:order:100231").is_none());
}

#[test]
fn a_rejected_message_holds_its_order_with_payment_rejected() {
    let h = Harness::new(&["tax_exclusive_card", "guest_paypal"]);
    h.world
        .borrow_mut()
        .payment_failures
        .insert("bc-txn-1002391".into(), 400);
    let s = h.run(replay(&[100231, 100239]));
    assert_eq!(
        counts(&s),
        vec![("posted", 2), ("held", 1), ("payments_posted", 1)]
    );
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].kind.as_str(), open[0].entity.as_str()),
        ("payment-rejected", "bigcommerce:order:100239")
    );
    assert_eq!(
        open[0].message,
        "bigcommerce:order:100239: Brightpearl rejected customer payment bc-txn-1002391: POST /accounting-service/customer-payment (multi-message pay-2-bc-txn-1002391): HTTP 400: PYMC-001 payment failure"
    );
    assert!(
        h.state.get("attempt:payment:bc-txn-1002391").is_none(),
        "nothing was created"
    );
}

#[test]
fn a_failing_multi_message_endpoint_falls_back_to_single_posts() {
    // 404: the gateway is missing; nothing ran, so no search, and the rest of the run posts singly.
    let h = Harness::new(&["gift_certificate_and_card"]);
    h.world.borrow_mut().multi_message_failures = vec![404];
    let s = h.run(replay(&[100237]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 2)]);
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 1);
    assert_eq!(
        h.bp_count(Method::Post, "/accounting-service/customer-payment"),
        2
    );
    assert_eq!(
        h.bp_count(Method::Get, "/accounting-service/customer-payment-search"),
        0
    );
    assert_eq!(h.world.borrow().payments.len(), 2);

    // The host refuses the path: never sent, so single POSTs without a search, and no
    // multi-message is tried again in this run.
    let h = Harness::new(&[
        "tax_exclusive_card",
        "gift_certificate_and_card",
        "guest_paypal",
    ]);
    h.world.borrow_mut().deny_multi_message = true;
    add_card_orders(&h, 200000, 10);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(
        (
            s.count("posted"),
            s.count("payments_posted"),
            s.count("pending_retry")
        ),
        (13, 14, 0)
    );
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 1);
    assert_eq!(
        h.bp_count(Method::Post, "/accounting-service/customer-payment"),
        14
    );
    assert_eq!(
        h.bp_count(Method::Get, "/accounting-service/customer-payment-search"),
        0
    );
    assert_eq!(h.world.borrow().payments.len(), 14);

    // 503: a partial commit cannot be ruled out, so each payment is searched before its POST.
    let h = Harness::new(&["gift_certificate_and_card"]);
    h.world.borrow_mut().multi_message_failures = vec![503];
    let s = h.run(replay(&[100237]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 2)]);
    assert_eq!(
        h.bp_count(Method::Get, "/accounting-service/customer-payment-search"),
        2
    );
    assert_eq!(
        h.bp_count(Method::Post, "/accounting-service/customer-payment"),
        2
    );
    assert_eq!(h.world.borrow().payments.len(), 2);
}

#[test]
fn a_crash_between_the_sales_order_and_its_payments_posts_them_on_the_next_run() {
    let h = Harness::new(&["tax_exclusive_card", "gift_certificate_and_card"]);
    h.world.borrow_mut().crash_on_payment = true;
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.run(replay(&[100231, 100237]))
    }));
    assert!(crashed.is_err());
    assert_eq!(h.world.borrow().sales_orders.len(), 2);
    assert_eq!(h.world.borrow().payments.len(), 0);
    assert_eq!(h.state.get("unpaid:order:100231").unwrap().value, "1");
    assert_eq!(h.state.get("unpaid:order:100237").unwrap().value, "2");
    h.world.borrow_mut().crash_on_payment = false;
    // Any trigger picks them up again: the sales orders are linked, only the payments go.
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(
        counts(&s),
        vec![("already_posted", 2), ("payments_posted", 3)]
    );
    assert_eq!(h.world.borrow().sales_orders.len(), 2);
    assert_eq!(h.world.borrow().payments.len(), 3);
    assert!(h.state.list("unpaid:", 10).is_empty());
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![]);
}

#[test]
fn held_order_with_two_problems_raises_two_exceptions_then_posts_when_mapped() {
    let mut h = Harness::new(&["unknown_sku"]);
    h.world.borrow_mut().orders.get_mut(&100242).unwrap()["shipping_addresses"][0]["shipping_method"] =
        json!("Courier Next Day");
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("held", 1)]);
    let open = h.report.open_exceptions();
    assert_eq!(
        open.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        vec!["unmapped-shipping-method", "unmapped-sku"]
    );
    let sku = open.iter().find(|e| e.kind == "unmapped-sku").unwrap();
    assert_eq!(sku.entity, "bigcommerce:order:100242");
    assert_eq!(sku.owner, Team::Ecommerce);
    assert_eq!(
        sku.impact
            .as_ref()
            .map(|m| (m.amount.as_str(), m.currency.as_str())),
        Some(("32.00", "GBP"))
    );
    assert!(sku.retryable);
    assert_eq!(
        open.iter()
            .find(|e| e.kind == "unmapped-shipping-method")
            .unwrap()
            .owner,
        Team::Operations
    );
    assert_eq!(
        h.state.get("held:order:100242").unwrap().value,
        r#"{"kinds":["unmapped-sku","unmapped-shipping-method"]}"#
    );
    // Nothing is written to Brightpearl for a held order.
    assert_eq!(h.bp_count(Method::Post, "/"), 0);

    // The product now exists, but the index is younger than product_index_refresh_minutes:
    // still unknown, and the index is not read again.
    assert_eq!(
        h.bp_count(Method::Get, "/product-service/product-search"),
        1
    );
    h.world
        .borrow_mut()
        .products
        .insert("NEW-CAP-RED".into(), 1020);
    h.advance_minutes(59);
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("held", 1)]);
    assert_eq!(
        h.bp_count(Method::Get, "/product-service/product-search"),
        1
    );
    assert!(h.report.resolved().is_empty());
    // An hour after it was built, the next run rebuilds it: held again for the shipping
    // method only; the SKU exception resolves.
    h.advance_minutes(1);
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(
        h.bp_count(Method::Get, "/product-service/product-search"),
        2
    );
    assert_eq!(counts(&s), vec![("held", 1)]);
    assert_eq!(
        h.report.resolved(),
        vec![(
            "unmapped-sku".to_string(),
            "bigcommerce:order:100242".to_string()
        )]
    );
    assert_eq!(h.report.open_exceptions().len(), 1);

    // The mapping is added: the order posts by itself and its last exception resolves.
    h.cfg.shipping_methods.insert("Courier Next Day".into(), 11);
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert!(h.report.open_exceptions().is_empty());
    assert_eq!(h.report.resolved().len(), 2);
    assert!(h.state.get("held:order:100242").is_none());
    let world = h.world.borrow();
    let rows = world.sales_orders[0].1["rows"].as_array().unwrap().clone();
    assert_eq!(rows[1]["productId"], json!(1020));
    assert_eq!(rows[1]["externalRef"], json!("702"));
    assert_eq!(
        world.sales_orders[0].1["delivery"]["shippingMethodId"],
        json!(11)
    );
}

fn add_card_orders(h: &Harness, first: u64, n: u64) {
    let base = fixture("tax_exclusive_card.json");
    for i in 0..n {
        let mut b = base.clone();
        let id = first + i;
        b["order"]["id"] = json!(id);
        b["transactions"][0]["id"] = json!(900000 + id);
        h.world.borrow_mut().orders.insert(id, b);
    }
}

#[test]
fn call_counts_per_order_at_steady_state() {
    let h = Harness::new(&[]);
    add_card_orders(&h, 200000, 20);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(s.count("posted"), 20);
    assert_eq!(s.count("payments_posted"), 20);
    // One product index page + one contact search, 20 sales orders, 2 multi-messages of 10.
    assert_eq!(
        h.bp_count(
            Method::Get,
            "/product-service/product-search?columns=productId,SKU,updatedOn&pageSize=500&firstResult=1"
        ),
        1
    );
    assert_eq!(
        h.bp_count(Method::Get, "/contact-service/contact-search"),
        1
    );
    assert_eq!(h.bp_count(Method::Post, "/order-service/sales-order"), 20);
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 2);
    assert_eq!(h.api.count_system(System::Brightpearl), 1 + 1 + 20 + 2);
    assert_eq!(h.bp_count(Method::Get, "/order-service/order-search"), 0);
    assert_eq!(
        h.bp_count(Method::Get, "/accounting-service/customer-payment-search"),
        0
    );
    // BigCommerce: store time + one (short) list page with each order's consignments
    // (products and shipping addresses), then per order only taxes and transactions (no
    // coupon discount: no coupons call; guests: no customer call).
    assert_eq!(h.api.count_system(System::Bigcommerce), 1 + 1 + 20 * 2);
    assert_eq!(
        h.api
            .count(System::Bigcommerce, Method::Get, "/v2/orders/200001/taxes"),
        1
    );
    assert_eq!(
        h.api.count(
            System::Bigcommerce,
            Method::Get,
            "/v3/orders/200001/transactions"
        ),
        1
    );
    for sub in ["products", "shipping_addresses", "coupons"] {
        assert_eq!(
            h.api.count(
                System::Bigcommerce,
                Method::Get,
                &format!("/v2/orders/200001/{sub}")
            ),
            0,
            "{sub}"
        );
    }

    // Steady state (index fresh, contact cached): 25 new orders cost their sales orders and
    // 3 multi-messages (10 + 10 + 5).
    add_card_orders(&h, 300000, 25);
    h.advance_minutes(5);
    h.api.clear_log();
    let s = h.run(Trigger::Scheduled);
    assert_eq!(s.count("posted"), 25);
    assert_eq!(s.count("payments_posted"), 25);
    let bp_total = h.api.count_system(System::Brightpearl);
    assert_eq!(bp_total, 25 + 3);
    assert!(
        bp_total as f64 / 25.0 <= 1.2,
        "{bp_total} Brightpearl calls for 25 orders"
    );
    let sizes: Vec<usize> = h
        .api
        .bodies(System::Brightpearl, Method::Post, "/multi-message")
        .iter()
        .map(|b| b["messages"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(h.world.borrow().payments.len(), 45);
    assert!(h.state.list("unpaid:", 100).is_empty());
}

#[test]
fn an_unknown_sku_that_differs_only_by_case_or_whitespace_is_named_in_the_exception() {
    let h = Harness::new(&["tax_exclusive_card"]);
    {
        let mut w = h.world.borrow_mut();
        let o = w.orders.get_mut(&100231).unwrap();
        o["products"][0]["sku"] = json!(" tee-blk-m");
    }
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("held", 1)]);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    let line_id = h.world.borrow().orders[&100231]["products"][0]["id"].clone();
    assert_eq!(
        open[0].message,
        format!(
            "bigcommerce:order:100231: no Brightpearl product with SKU ` tee-blk-m` (order product {line_id}; did you mean `TEE-BLK-M`?)"
        )
    );
    assert_eq!(h.bp_count(Method::Post, "/"), 0);
}

#[test]
fn a_retryable_failure_leaves_the_order_pending_and_the_run_goes_on() {
    let mut h = Harness::new(&["tax_exclusive_card", "guest_paypal"]);
    h.cfg.retry_exception_after = 2;
    h.world.borrow_mut().sales_order_failures = vec![503];
    let s = h.run(replay(&[100231, 100239]));
    // 100231 hits a Brightpearl cap-503; the run goes on and 100239 posts.
    assert_eq!(s.count("pending_retry"), 1);
    assert_eq!(s.count("posted"), 1);
    assert!(
        h.report.open_exceptions().is_empty(),
        "no exception before retry_exception_after runs"
    );
    h.world.borrow_mut().sales_order_failures = vec![503];
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("pending_retry", 1)]);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (
            open[0].kind.as_str(),
            open[0].entity.as_str(),
            open[0].retryable
        ),
        ("order-post-failed", "bigcommerce:order:100231", true)
    );
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert!(h.report.open_exceptions().is_empty());
    assert_eq!(h.world.borrow().sales_orders.len(), 2);
}

#[test]
fn only_configured_statuses_are_posted() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.world.borrow_mut().orders.get_mut(&100231).unwrap()["order"]["status_id"] = json!(0);
    let event = Event {
        source: System::Bigcommerce,
        scope: "store/order/created".into(),
        entity_id: "100231".into(),
        payload: "{}".into(),
    };
    let s = h.run(Trigger::Events(vec![event]));
    assert_eq!(counts(&s), vec![("skipped_status", 1)]);
    assert_eq!(h.api.count_system(System::Brightpearl), 0);
}

#[test]
fn the_sweep_keeps_a_cursor_with_an_overlap() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.run(Trigger::Scheduled);
    // No cursor yet: store time (1_714_600_000 = 2024-05-01T21:46:40Z) minus 24 h, minus 10 min.
    let first = h
        .api
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/v2/orders?"))
        .unwrap();
    assert_eq!(
        first.path,
        "/v2/orders?min_date_modified=Tue%2C%2030%20Apr%202024%2021%3A36%3A40%20%2B0000&sort=date_modified:asc&limit=250&page=1&include=consignments.line_items&consignment_structure=object"
    );
    // The cursor is the newest date_modified seen (Wed, 01 May 2024 10:16:30 +0000).
    assert_eq!(
        h.state.get("cursor:orders").unwrap().value,
        "2024-05-01T10:16:30Z"
    );
    h.api.clear_log();
    h.run(Trigger::Scheduled);
    let second = h
        .api
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/v2/orders?"))
        .unwrap();
    assert_eq!(
        second.path,
        "/v2/orders?min_date_modified=Wed%2C%2001%20May%202024%2010%3A06%3A30%20%2B0000&sort=date_modified:asc&limit=250&page=1&include=consignments.line_items&consignment_structure=object"
    );
    assert_eq!(h.api.count(System::Bigcommerce, Method::Get, "/v2/time"), 0);
}

#[test]
fn a_new_b2b_customer_gets_a_contact_with_its_price_list_and_addresses() {
    let h = Harness::new(&["b2b_customer_group"]);
    let s = h.run(replay(&[100240]));
    assert_eq!(counts(&s), vec![("posted", 1)], "on account: no payment");
    let world = h.world.borrow();
    assert_eq!(
        world.postal_addresses,
        vec![
            json!({"addressLine1": "Unit 4, Dock Rd", "addressLine2": "", "addressLine3": "Liverpool", "addressLine4": "Merseyside", "postalCode": "L3 4BB", "countryIsoCode": "GB"})
        ]
    );
    let address_id = 5001;
    assert_eq!(
        world.contact_bodies,
        vec![json!({
            "firstName": "Priya", "lastName": "Shah",
            "postAddressIds": {"DEF": address_id, "BIL": address_id, "DEL": address_id},
            "communication": {"emails": {"PRI": {"email": "accounts@shahtrading.example"}}, "telephones": {"PRI": "0151 000 1111"}},
            "organisation": {"name": "Shah Trading Ltd"},
            "relationshipToAccount": {"isSupplier": false, "isStaff": false},
            "marketingDetails": {"isReceiveEmailNewsletter": false},
            "financialDetails": {"priceListId": 5}
        })]
    );
    let mut expected = fixture("b2b_customer_group.expected.json")["sales_order"].clone();
    expected["customer"]["id"] = json!(5002);
    assert_eq!(world.sales_orders[0].1, expected);
    drop(world);
    assert_eq!(
        h.state
            .get("contact:email:accounts@shahtrading.example")
            .unwrap()
            .value,
        r#"{"id":5002,"priceListId":5}"#
    );
}

#[test]
fn a_guest_with_a_separate_delivery_address_gets_two_postal_addresses() {
    let h = Harness::new(&["several_shipping_addresses"]);
    h.world.borrow_mut().contacts.clear();
    h.run(replay(&[100241]));
    let world = h.world.borrow();
    // Billing = first shipping address, so one address; the contact is created once.
    assert_eq!(world.postal_addresses.len(), 1);
    assert_eq!(world.contact_bodies.len(), 1);
    assert_eq!(
        world.contact_bodies[0]["communication"]["emails"]["PRI"]["email"],
        json!("jane@example.co.uk")
    );
    drop(world);

    let h = Harness::new(&["guest_paypal"]);
    {
        let mut w = h.world.borrow_mut();
        let o = w.orders.get_mut(&100239).unwrap();
        o["shipping_addresses"][0]["street_1"] = json!("Leeds Station, Parcel Locker 7");
    }
    h.run(replay(&[100239]));
    let world = h.world.borrow();
    assert_eq!(world.postal_addresses.len(), 2);
    assert_eq!(
        world.contact_bodies[0]["postAddressIds"],
        json!({"DEF": 5001, "BIL": 5001, "DEL": 5002})
    );
    assert_eq!(
        world.contact_bodies[0]["communication"]["emails"]["PRI"]["email"],
        json!("sam.guest@example.com")
    );
    assert!(world.contact_bodies[0].get("organisation").is_none());
    assert!(world.contact_bodies[0].get("financialDetails").is_none());
}

#[test]
fn a_contact_on_another_price_list_raises_price_list_mismatch_and_the_order_still_posts() {
    let h = Harness::new(&["b2b_customer_group"]);
    h.world
        .borrow_mut()
        .contacts
        .push((3100, "accounts@shahtrading.example".into(), Some(1)));
    let s = h.run(replay(&[100240]));
    assert_eq!(s.count("posted"), 1);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "price-list-mismatch");
    assert_eq!(open[0].entity, "brightpearl:contact:3100");
    assert_eq!(open[0].owner, Team::Ecommerce);
    assert!(!open[0].retryable);
    assert_eq!(h.world.borrow().sales_orders[0].1["priceListId"], json!(5));
    assert_eq!(h.bp_count(Method::Get, "/contact-service/contact/3100"), 1);
}

#[test]
fn a_four_decimal_total_posts_at_the_charged_amount_without_a_rounding_row() {
    // total_inc_tax 26.9999 is charged 27.00 (the Stripe purchase): the rows add up to it.
    let h = Harness::new(&["rounding_four_decimals"]);
    let s = h.run(replay(&[100243]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    let world = h.world.borrow();
    let rows = world.sales_orders[0].1["rows"].as_array().unwrap();
    let total: rust_decimal::Decimal = rows
        .iter()
        .map(|r| {
            r["net"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
                + r["tax"]
                    .as_str()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
        })
        .sum();
    assert_eq!(total.to_string(), "27.00");
    assert!(
        rows.iter()
            .all(|r| r.get("name") != Some(&json!("Rounding")))
    );
    assert_eq!(world.payments[0].1["amountPaid"], json!("27.00"));
}

#[test]
fn rounding_rows_are_counted_and_noted() {
    // With 4 dp rows the lines add up to 26.9999, which cannot be the charged 27.00.
    let mut h = Harness::new(&["rounding_four_decimals"]);
    h.cfg.rounding.row_decimal_places = 4;
    let s = h.run(replay(&[100243]));
    assert_eq!(s.count("rounding_rows"), 1);
    assert_eq!(s.notes.len(), 1);
    let so_id = h.world.borrow().sales_orders[0].0;
    assert_eq!(
        s.notes[0],
        format!(
            "bigcommerce:order:100243: rounding row of 0.0001 GBP added to sales order {so_id} (rows 26.9999 + rounding = charged amount 27.00)"
        )
    );
}

#[test]
fn a_later_capture_is_posted_for_an_order_already_posted() {
    let h = Harness::new(&["authorised_then_captured"]);
    let capture = h.world.borrow_mut().orders.get_mut(&100244).unwrap()["transactions"]
        .as_array_mut()
        .unwrap()
        .pop()
        .unwrap();
    let s = h.run(replay(&[100244]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert_eq!(h.world.borrow().payments[0].1["paymentType"], json!("AUTH"));
    h.world.borrow_mut().orders.get_mut(&100244).unwrap()["transactions"]
        .as_array_mut()
        .unwrap()
        .push(capture);
    let event = Event {
        source: System::Bigcommerce,
        scope: "store/order/transaction/created".into(),
        entity_id: "100244".into(),
        payload: "{}".into(),
    };
    let s = h.run(Trigger::Events(vec![event]));
    assert_eq!(
        counts(&s),
        vec![("already_posted", 1), ("payments_posted", 1)]
    );
    let world = h.world.borrow();
    assert_eq!(world.payments[1].1["paymentType"], json!("CAPTURE"));
    assert_eq!(
        world.payments[1].1["transactionCode"],
        json!("bc-txn-1002441")
    );
    assert_eq!(world.sales_orders.len(), 1);
}

#[test]
fn a_failed_index_rebuild_is_tried_once_per_run_and_leaves_orders_pending() {
    let h = Harness::new(&["tax_exclusive_card", "guest_paypal"]);
    h.world.borrow_mut().index_failures = 1;
    let s = h.run(replay(&[100231, 100239]));
    assert_eq!(counts(&s), vec![("pending_retry", 2)]);
    assert_eq!(
        h.bp_count(Method::Get, "/product-service/product-search"),
        1
    );
    assert_eq!(h.bp_count(Method::Post, "/"), 0);
    assert!(h.report.open_exceptions().is_empty());
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("posted", 2), ("payments_posted", 2)]);
    assert_eq!(
        h.bp_count(Method::Get, "/product-service/product-search"),
        2
    );

    // Stale index + failed rebuild: orders whose SKUs it has still post; the others wait.
    h.world
        .borrow_mut()
        .orders
        .insert(100242, fixture("unknown_sku.json"));
    add_card_orders(&h, 200000, 1);
    h.advance_minutes(61);
    h.world.borrow_mut().index_failures = 1;
    let s = h.run(replay(&[100242, 200000]));
    assert_eq!(
        counts(&s),
        vec![("posted", 1), ("payments_posted", 1), ("pending_retry", 1)]
    );
    assert!(h.state.get("retry:order:100242").is_some());
    assert_eq!(
        h.bp_count(Method::Get, "/product-service/product-search"),
        3
    );
}

#[test]
fn a_sku_with_a_stray_space_is_quoted_in_backticks() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.world.borrow_mut().orders.get_mut(&100231).unwrap()["products"][0]["sku"] =
        json!("TEE-BLK-M ");
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("held", 1)]);
    let line_id = h.world.borrow().orders[&100231]["products"][0]["id"].clone();
    assert_eq!(
        h.report.open_exceptions()[0].message,
        format!(
            "bigcommerce:order:100231: no Brightpearl product with SKU `TEE-BLK-M ` (order product {line_id}; did you mean `TEE-BLK-M`?)"
        )
    );
}

#[test]
fn an_empty_sweep_saves_no_cursor_so_a_longer_lookback_still_applies() {
    let mut h = Harness::new(&["tax_exclusive_card"]);
    // Store clock 2024-05-01T21:46:40Z; the order was modified at 10:16:30, before the window.
    h.cfg.sweep.initial_lookback_hours = 1;
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![]);
    assert_eq!(
        s.notes,
        vec![
            "swept orders modified since 2024-05-01T20:36:40Z (no cursor yet: initial_lookback_hours = 1): 0 orders seen; no cursor saved"
        ]
    );
    assert!(
        h.state.get("cursor:orders").is_none(),
        "an empty sweep saves no cursor"
    );

    h.cfg.sweep.initial_lookback_hours = 24;
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert_eq!(
        s.notes,
        vec![
            "swept orders modified since 2024-04-30T21:36:40Z (no cursor yet: initial_lookback_hours = 24): 1 order seen; cursor 2024-05-01T10:16:30Z"
        ]
    );
    assert_eq!(
        h.state.get("cursor:orders").unwrap().value,
        "2024-05-01T10:16:30Z"
    );

    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    assert_eq!(
        s.notes,
        vec![
            "swept orders modified since 2024-05-01T10:06:30Z (cursor 2024-05-01T10:16:30Z − overlap_minutes = 10): 1 order seen; cursor 2024-05-01T10:16:30Z"
        ]
    );
    // Nothing in the window: the cursor stays where it was.
    h.world.borrow_mut().orders.clear();
    let s = h.run(Trigger::Scheduled);
    assert_eq!(
        s.notes,
        vec![
            "swept orders modified since 2024-05-01T10:06:30Z (cursor 2024-05-01T10:16:30Z − overlap_minutes = 10): 0 orders seen; cursor unchanged"
        ]
    );
    assert_eq!(
        h.state.get("cursor:orders").unwrap().value,
        "2024-05-01T10:16:30Z"
    );
    assert_eq!(
        h.api.count(System::Bigcommerce, Method::Get, "/v2/time"),
        2,
        "only while there is no cursor"
    );
}

#[test]
fn with_the_state_lost_payments_refused_as_duplicates_are_found_and_linked() {
    let h = Harness::new(&["tax_exclusive_card", "gift_certificate_and_card"]);
    h.world.borrow_mut().duplicate_keys = true;
    // A first data folder posts both orders: one single payment, then a batch of two.
    assert_eq!(
        counts(&h.run(replay(&[100231]))),
        vec![("posted", 1), ("payments_posted", 1)]
    );
    assert_eq!(
        counts(&h.run(replay(&[100237]))),
        vec![("posted", 1), ("payments_posted", 2)]
    );
    let payment_ids: Vec<u64> = h
        .world
        .borrow()
        .payments
        .iter()
        .map(|(id, _)| *id)
        .collect();

    // A new data folder: the sales orders are answered by externalRef, every payment is
    // refused ACCC-021, found by transactionRef on its sales order and linked.
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    h.api.clear_log();
    let s = run_at(
        &replay(&[100231]),
        &h.cfg,
        &h.api,
        &state,
        &report,
        h.now.get(),
    )
    .unwrap();
    assert_eq!(counts(&s), vec![("posted", 1)]);
    let s = run_at(
        &replay(&[100237]),
        &h.cfg,
        &h.api,
        &state,
        &report,
        h.now.get(),
    )
    .unwrap();
    assert_eq!(counts(&s), vec![("posted", 1)]);
    assert_eq!(
        h.bp_count(Method::Post, "/accounting-service/customer-payment"),
        1
    );
    assert_eq!(h.bp_count(Method::Post, "/multi-message"), 1);
    assert_eq!(
        h.bp_count(Method::Get, "/accounting-service/customer-payment-search"),
        3
    );
    assert!(report.raised().is_empty(), "{:?}", report.raised());
    assert_eq!(h.world.borrow().payments.len(), 3);
    assert_eq!(
        state.get("link:payment:bc-txn-9001").unwrap().value,
        payment_ids[0].to_string()
    );
    assert_eq!(
        state.get("link:payment:bc-txn-1002370").unwrap().value,
        payment_ids[1].to_string()
    );
    assert_eq!(
        state.get("link:payment:bc-txn-1002371").unwrap().value,
        payment_ids[2].to_string()
    );
    assert!(state.list("held:", 10).is_empty());
    assert!(state.list("attempt:", 10).is_empty());
    assert!(state.list("unpaid:", 10).is_empty());

    // On another sales order, the refusal stands; the message has the server's code and text.
    let so_id = h.world.borrow().sales_orders[0].0;
    h.world.borrow_mut().payments[0].1["orderId"] = json!(1);
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    let s = run_at(
        &replay(&[100231]),
        &h.cfg,
        &h.api,
        &state,
        &report,
        h.now.get(),
    )
    .unwrap();
    assert_eq!(counts(&s), vec![("posted", 1), ("held", 1)]);
    let open = report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].kind.as_str(), open[0].owner),
        ("payment-rejected", Team::Finance)
    );
    assert_eq!(
        open[0].message,
        format!(
            "bigcommerce:order:100231: Brightpearl rejected customer payment bc-txn-9001: POST /accounting-service/customer-payment: HTTP 400: ACCC-021 A payment with transactionRef bc-txn-9001 already exists for payment method STRIPE (transactionRef bc-txn-9001 is payment {} on sales order 1)",
            payment_ids[0]
        )
    );
    assert_ne!(so_id, 1);
}

#[test]
fn a_401_from_brightpearl_stops_the_run_without_touching_further_orders() {
    let h = Harness::new(&["tax_exclusive_card", "guest_paypal"]);
    h.world.borrow_mut().refuse = vec![(System::Brightpearl, "/".into(), 401)];
    let err = run_at(
        &replay(&[100231, 100239]),
        &h.cfg,
        &h.api,
        &h.state,
        &h.report,
        h.now.get(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        FlowError::Upstream(
            "brightpearl answered 401 Not authenticated: check the client's brightpearl connection credentials".into()
        )
    );
    // The first order's product index read was refused; the second order was not read.
    assert_eq!(h.api.count_system(System::Brightpearl), 1);
    assert_eq!(
        h.api
            .count(System::Bigcommerce, Method::Get, "/v2/orders/100239"),
        0
    );
    assert!(h.state.list("retry:", 10).is_empty(), "not left pending");
    assert!(h.report.raised().is_empty());
}

#[test]
fn a_401_on_the_payments_stops_the_run_and_the_next_run_sends_them() {
    let h = Harness::new(&["tax_exclusive_card", "guest_paypal"]);
    h.world.borrow_mut().refuse = vec![(
        System::Brightpearl,
        "/accounting-service/customer-payment".into(),
        401,
    )];
    let err = run_at(
        &replay(&[100231, 100239]),
        &h.cfg,
        &h.api,
        &h.state,
        &h.report,
        h.now.get(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        FlowError::Upstream(
            "brightpearl answered 401 Not authenticated: check the client's brightpearl connection credentials".into()
        )
    );
    assert_eq!(h.world.borrow().sales_orders.len(), 2);
    assert!(
        h.report.raised().is_empty(),
        "not held payment-rejected: {:?}",
        h.report.raised()
    );
    assert_eq!(h.state.list("unpaid:", 10).len(), 2);
    assert!(h.state.list("retry:", 10).is_empty());
    assert!(h.state.list("attempt:payment:", 10).is_empty());
    h.world.borrow_mut().refuse.clear();
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(
        counts(&s),
        vec![("already_posted", 2), ("payments_posted", 2)]
    );
    assert_eq!(h.world.borrow().payments.len(), 2);
}

#[test]
fn a_403_from_bigcommerce_fails_the_run() {
    let h = Harness::new(&["tax_exclusive_card", "guest_paypal"]);
    h.world.borrow_mut().refuse = vec![(System::Bigcommerce, "/".into(), 403)];
    let expected = FlowError::Upstream(
        "bigcommerce answered 403 You are not authorized.: check the client's bigcommerce connection credentials".into(),
    );
    let scheduled = run_at(
        &Trigger::Scheduled,
        &h.cfg,
        &h.api,
        &h.state,
        &h.report,
        h.now.get(),
    );
    assert_eq!(scheduled, Err(expected.clone()));
    let events: Vec<Event> = [100231, 100239]
        .iter()
        .map(|id| Event {
            source: System::Bigcommerce,
            scope: "store/order/created".into(),
            entity_id: id.to_string(),
            payload: "{}".into(),
        })
        .collect();
    h.api.clear_log();
    let r = run_at(
        &Trigger::Events(events),
        &h.cfg,
        &h.api,
        &h.state,
        &h.report,
        h.now.get(),
    );
    assert_eq!(r, Err(expected));
    assert_eq!(h.api.requests().len(), 1, "the second order is not read");
    assert!(h.state.list("retry:", 10).is_empty());
    assert!(h.state.get("cursor:orders").is_none());
}

#[test]
fn a_replay_reference_of_another_form_fails_the_run_before_anything_is_done() {
    let h = Harness::new(&["tax_exclusive_card"]);
    let trigger = Trigger::Replay(vec!["bigcommerce:order:100231".into(), "order:101".into()]);
    let r = run_at(&trigger, &h.cfg, &h.api, &h.state, &h.report, h.now.get());
    assert_eq!(
        r,
        Err(FlowError::Internal(
            "replay reference `order:101` is not of the form bigcommerce:order:<id>".into()
        ))
    );
    assert!(h.api.requests().is_empty());
    assert!(h.state.dump().is_empty());
}

const PO_NOTE: &str = "BigCommerce order 100248\nPurchase order: PO-7781\nCustomer message: Deliver to goods-in, door 3\nStaff notes: Phone order taken by Sam";

#[test]
fn a_purchase_order_number_is_the_ref_and_the_messages_one_note_never_posted_twice() {
    let h = Harness::new(&["b2b_purchase_order"]);
    let s = h.run(replay(&[100248]));
    assert_eq!(counts(&s), vec![("posted", 1), ("notes_posted", 1)]);
    let so_id = {
        let world = h.world.borrow();
        assert_eq!(world.sales_orders[0].1["ref"], json!("PO-7781"));
        assert_eq!(world.sales_orders[0].1["externalRef"], json!("100248"));
        assert_eq!(world.notes.len(), 1);
        assert_eq!(world.notes[0].1, world.sales_orders[0].0);
        assert_eq!(
            world.notes[0].2,
            json!({"text": PO_NOTE, "isPublic": false})
        );
        world.sales_orders[0].0
    };
    assert_eq!(
        h.state.get("link:note:order:100248").unwrap().value,
        h.world.borrow().notes[0].0.to_string()
    );
    // A normal first POST never searches the notes.
    assert_eq!(
        h.bp_count(Method::Get, &format!("/order-service/order/{so_id}/note")),
        0
    );
    // A replay posts nothing again.
    let again = h.run(replay(&[100248]));
    assert_eq!(counts(&again), vec![("already_posted", 1)]);
    assert_eq!(h.world.borrow().notes.len(), 1);
    assert_eq!(h.bp_count(Method::Post, "/order-service/order/"), 1);
}

#[test]
fn a_lost_note_response_is_found_by_its_text_and_not_posted_again() {
    let h = Harness::new(&["b2b_purchase_order"]);
    h.world.borrow_mut().lose_note_response = true;
    let s = h.run(replay(&[100248]));
    assert_eq!(counts(&s), vec![("posted", 1), ("notes_posted", 1)]);
    assert_eq!(h.world.borrow().notes.len(), 1);
    let so_id = h.world.borrow().sales_orders[0].0;
    assert_eq!(
        h.bp_count(Method::Get, &format!("/order-service/order/{so_id}/note")),
        1
    );
    assert!(h.state.get("attempt:note:order:100248").is_none());
    h.run(replay(&[100248]));
    assert_eq!(h.world.borrow().notes.len(), 1);
}

#[test]
fn with_the_state_lost_the_found_sales_order_keeps_its_one_note() {
    let h = Harness::new(&["b2b_purchase_order"]);
    h.world.borrow_mut().duplicate_keys = true;
    h.run(replay(&[100248]));
    assert_eq!(h.world.borrow().notes.len(), 1);
    // A new data folder: the sales order comes back as a duplicate, its note is found.
    let (state, report) = (MemoryState::new(), MemoryReport::new());
    state.set("attempt:order:100248", "sales-order");
    let s = run_at(
        &replay(&[100248]),
        &h.cfg,
        &h.api,
        &state,
        &report,
        h.now.get(),
    )
    .unwrap();
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    assert_eq!(h.world.borrow().notes.len(), 1);
    assert!(state.get("link:note:order:100248").is_some());
}

#[test]
fn a_failed_note_is_retried_on_the_next_run_without_holding_the_order() {
    let h = Harness::new(&["b2b_purchase_order"]);
    h.world.borrow_mut().note_failures = vec![503];
    let s = h.run(replay(&[100248]));
    assert_eq!(counts(&s), vec![("posted", 1)]);
    assert!(h.world.borrow().notes.is_empty());
    assert!(h.state.get("unnoted:order:100248").is_some());
    assert!(h.report.open_exceptions().is_empty());
    // The next scheduled run retries it (the order is linked: no second sales order).
    let s = h.run(Trigger::Scheduled);
    assert_eq!(s.count("notes_posted"), 1);
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
    assert_eq!(h.world.borrow().notes.len(), 1);
    assert!(h.state.get("unnoted:order:100248").is_none());
}

#[test]
fn a_sweep_reads_each_customer_once_and_skips_what_the_order_already_tells() {
    let h = Harness::new(&["b2b_customer_group"]);
    {
        let mut w = h.world.borrow_mut();
        let mut second = w.orders[&100240].clone();
        second["order"]["id"] = json!(100241);
        w.orders.insert(100241, second);
        // The B2B orders are paid on account and have no tenders: no transactions read.
        for b in w.orders.values() {
            assert_eq!(b["order"]["payment_method"], json!("Pay on Account"));
        }
    }
    let s = h.run(Trigger::Scheduled);
    assert_eq!(s.count("posted"), 2);
    let bc = |p: &str| h.api.count(System::Bigcommerce, Method::Get, p);
    assert_eq!(bc("/v3/customers"), 1, "one customers read for the sweep");
    assert_eq!(bc("/v3/orders/100240/transactions"), 0);
    assert_eq!(bc("/v2/orders/100240/coupons"), 0, "no coupon discount");
    assert_eq!(bc("/v2/orders/100240/products"), 0, "from the consignments");
    assert_eq!(bc("/v2/orders/100240/taxes"), 1);
    // Store time + list + per order taxes only.
    assert_eq!(h.api.count_system(System::Bigcommerce), 2 + 1 + 2);
}

#[test]
fn a_coupon_discount_still_reads_the_coupons() {
    let h = Harness::new(&["coupon_and_automatic_discount"]);
    let id = h.world.borrow().orders.keys().next().copied().unwrap();
    let s = h.run(replay(&[id]));
    assert_eq!(s.count("posted"), 1);
    assert_eq!(
        h.api.count(
            System::Bigcommerce,
            Method::Get,
            &format!("/v2/orders/{id}/coupons")
        ),
        1
    );
    assert_eq!(
        h.api.count(
            System::Bigcommerce,
            Method::Get,
            &format!("/v2/orders/{id}?include=consignments.line_items")
        ),
        1
    );
}

#[test]
fn an_order_the_sweep_sees_again_unchanged_costs_no_reads() {
    let h = Harness::new(&["tax_exclusive_card"]);
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert!(h.state.get("done:order:100231").is_some());
    h.advance_minutes(5);
    h.api.clear_log();
    // The overlap lists it again: no transactions, taxes or Brightpearl calls.
    let s = h.run(Trigger::Scheduled);
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    assert_eq!(
        h.api.count_system(System::Bigcommerce),
        1,
        "the list page only"
    );
    assert_eq!(h.api.count_system(System::Brightpearl), 0);
}

#[test]
fn a_corrupt_stored_link_holds_the_order_naming_the_key_and_posts_nothing_twice() {
    let h = Harness::new(&["tax_exclusive_card"]);
    h.run(replay(&[100231]));
    let so_id = h.state.get("link:order:100231").unwrap().value;
    // The link is damaged (e.g. edited by hand): never read as sales order 0.
    h.state.set("link:order:100231", "51x2");
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("held", 1)]);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (
            open[0].kind.as_str(),
            open[0].entity.as_str(),
            open[0].owner,
            open[0].message.as_str()
        ),
        (
            "corrupt-link",
            "bigcommerce:order:100231",
            Team::Integration,
            "bigcommerce:order:100231: state key `link:order:100231` holds \"51x2\", which is not an id; set it to the id of what was written for it (look it up by its external reference) and do not delete it, or it is written again"
        )
    );
    // Held, it is seen again on the next run (still corrupt: still held, nothing posted).
    h.state.set("link:order:100231", "0");
    assert_eq!(counts(&h.run(Trigger::Events(vec![]))), vec![("held", 1)]);
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
    assert_eq!(h.world.borrow().payments.len(), 1);
    assert_eq!(h.bp_count(Method::Post, "/order-service/sales-order"), 1);
    // Repaired: the order is already posted and the exception is resolved.
    h.state.set("link:order:100231", &so_id);
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("already_posted", 1)]);
    assert!(h.report.open_exceptions().is_empty());
    assert_eq!(h.world.borrow().sales_orders.len(), 1);
    assert_eq!(h.world.borrow().payments.len(), 1);
}

#[test]
fn a_corrupt_bigcommerce_amount_leaves_the_order_pending_naming_the_field_and_value() {
    let mut h = Harness::new(&["tax_exclusive_card"]);
    h.cfg.retry_exception_after = 1;
    h.world.borrow_mut().orders.get_mut(&100231).unwrap()["order"]["total_inc_tax"] =
        json!("12.x4");
    let s = h.run(replay(&[100231]));
    assert_eq!(counts(&s), vec![("pending_retry", 1)]);
    assert_eq!(h.api.count_system(System::Brightpearl), 0, "nothing posted");
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "order-post-failed");
    assert!(
        open[0].message.ends_with(
            ": cannot decode the response: total_inc_tax: \"12.x4\" is not a decimal amount"
        ) && open[0].message.contains("GET /v2/orders/100231"),
        "{}",
        open[0].message
    );
    // Fixed at the source: posted on the next run with the exact expected bodies.
    h.world.borrow_mut().orders.get_mut(&100231).unwrap()["order"]["total_inc_tax"] =
        fixture("tax_exclusive_card.json")["order"]["total_inc_tax"].clone();
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 1)]);
    assert_eq!(
        h.world.borrow().sales_orders[0].1,
        fixture("tax_exclusive_card.expected.json")["sales_order"]
    );
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn a_corrupt_amount_in_a_sweep_page_fails_the_run_naming_the_row_and_keeps_the_cursor() {
    let h = Harness::new(&["tax_exclusive_card", "guest_paypal"]);
    h.run(Trigger::Scheduled);
    let cursor = h.state.get("cursor:orders").unwrap().value;
    h.world.borrow_mut().orders.get_mut(&100239).unwrap()["order"]["coupon_discount"] =
        json!("1.2.3");
    let err = run_at(
        &Trigger::Scheduled,
        &h.cfg,
        &h.api,
        &h.state,
        &h.report,
        h.now.get(),
    )
    .unwrap_err();
    let FlowError::Upstream(message) = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.ends_with(
            ": cannot decode the response: [1].coupon_discount: \"1.2.3\" is not a decimal amount (row id 100239)"
        ) && message.starts_with("GET /v2/orders?min_date_modified="),
        "{message}"
    );
    // Nothing is lost: the cursor is where it was, so the order is swept again once fixed.
    assert_eq!(h.state.get("cursor:orders").unwrap().value, cursor);
    assert_eq!(h.world.borrow().sales_orders.len(), 2);
}
