//! The run shell against in-memory fakes (`pearlbridge_sdk::testing`) and a small fake of
//! both APIs: idempotency, holding and resolving, retries, call counts.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use orders::config::{self, OrdersConfig};
use orders::run::run;
use pearlbridge_sdk::State;
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{Event, Method, Request, Response, SendError, System, Team, Trigger};
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

fn query(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    q.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}="))).map(|v| {
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
        let base = path.split('?').next().unwrap();
        let parts: Vec<&str> = base.trim_start_matches('/').split('/').collect();
        match (req.system, req.method) {
            (System::Bigcommerce, Method::Get) => match parts.as_slice() {
                ["v2", "time"] => ok(json!({"time": self.store_time})),
                ["v2", "orders"] => {
                    if query(path, "page").as_deref() != Some("1") {
                        return Ok(Response::new(204, ""));
                    }
                    let mut list: Vec<Value> = self.orders.values().map(|b| b["order"].clone()).collect();
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
                        [] => b["order"].clone(),
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
                        .filter_map(|b| b.get("customer").filter(|c| c["id"].as_u64() == Some(id)).cloned())
                        .take(1)
                        .collect();
                    ok(json!({"data": found, "meta": {}}))
                }
                _ => panic!("unexpected BigCommerce GET {path}"),
            },
            (System::Brightpearl, Method::Get) => match parts.as_slice() {
                ["product-service", "product-search"] => {
                    let sku = query(path, "SKU").unwrap();
                    let rows = self
                        .products
                        .get(&sku)
                        .map(|id| vec![vec![json!(id), json!(sku)]])
                        .unwrap_or_default();
                    Ok(search(&["productId", "SKU"], rows))
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
                        &["paymentId", "orderId", "transactionRef", "paymentMethodCode", "paymentType"],
                        rows,
                    ))
                }
                _ => panic!("unexpected Brightpearl GET {path}"),
            },
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
                        let email = body["communication"]["emails"]["PRI"]["email"].as_str().unwrap().to_string();
                        self.contacts.push((id, email, body["financialDetails"]["priceListId"].as_u64()));
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
                        let id = self.id();
                        self.sales_orders.push((id, body));
                        if std::mem::take(&mut self.lose_sales_order_response) {
                            return Err(SendError::OutcomeUnknown);
                        }
                        ok(json!({"response": id}))
                    }
                    "/accounting-service/customer-payment" => {
                        let id = self.id();
                        self.payments.push((id, body));
                        if std::mem::take(&mut self.lose_payment_response) {
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
        world.contacts.push((2045, "jane@example.co.uk".into(), None));
        let world = Rc::new(RefCell::new(world));
        let w = world.clone();
        let api = FakeApi::new(move |req| w.borrow_mut().handle(req));
        Harness {
            world,
            api,
            state: MemoryState::new(),
            report: MemoryReport::new(),
            cfg: config(),
        }
    }

    fn run(&self, trigger: Trigger) -> pearlbridge_sdk::types::RunSummary {
        run(&trigger, &self.cfg, &self.api, &self.state, &self.report).expect("run succeeds")
    }

    fn bp_count(&self, method: Method, prefix: &str) -> usize {
        self.api.count(System::Brightpearl, method, prefix)
    }
}

fn replay(ids: &[u64]) -> Trigger {
    Trigger::Replay(ids.iter().map(|id| format!("bigcommerce:order:{id}")).collect())
}

fn counts(s: &pearlbridge_sdk::types::RunSummary) -> Vec<(&str, u64)> {
    s.counts.iter().filter(|(_, v)| *v > 0).map(|(k, v)| (k.as_str(), *v)).collect()
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
    assert_eq!(h.state.get("link:order:100231").unwrap().value, so_id.to_string());

    // Again by replay, by webhook event and by sweep: nothing is posted twice.
    let again = h.run(replay(&[100231]));
    assert_eq!(counts(&again), vec![("already_posted", 1)]);
    let event = Event {
        source: System::Bigcommerce,
        scope: "store/order/updated".into(),
        entity_id: "100231".into(),
        payload: "{}".into(),
    };
    assert_eq!(counts(&h.run(Trigger::Events(vec![event]))), vec![("already_posted", 1)]);
    assert_eq!(counts(&h.run(Trigger::Scheduled)), vec![("already_posted", 1)]);
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
        h.bp_count(Method::Get, "/order-service/order-search?orderTypeId=1&externalRef=100231"),
        1
    );
    assert_eq!(h.state.get("link:order:100231").unwrap().value, so_id.to_string());
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
fn outcome_unknown_on_a_payment_searches_by_transaction_ref() {
    let h = Harness::new(&["gift_certificate_and_card"]);
    h.world.borrow_mut().lose_payment_response = true;
    let s = h.run(replay(&[100237]));
    assert_eq!(counts(&s), vec![("posted", 1), ("payments_posted", 2)]);
    assert_eq!(
        h.bp_count(
            Method::Get,
            "/accounting-service/customer-payment-search?transactionRef=bc-order-100237-gift-certificate"
        ),
        1
    );
    h.run(replay(&[100237]));
    assert_eq!(h.world.borrow().payments.len(), 2, "never two payments for one transaction");
    assert!(h.state.get("link:payment:bc-order-100237-gift-certificate").is_some());
    assert!(h.state.get("link:payment:bc-txn-1002371").is_some());
}

#[test]
fn held_order_with_two_problems_raises_two_exceptions_then_posts_when_mapped() {
    let mut h = Harness::new(&["unknown_sku"]);
    h.world.borrow_mut().orders.get_mut(&100242).unwrap()["shipping_addresses"][0]["shipping_method"] = json!("Courier Next Day");
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
        sku.impact.as_ref().map(|m| (m.amount.as_str(), m.currency.as_str())),
        Some(("32.00", "GBP"))
    );
    assert!(sku.retryable);
    assert_eq!(
        open.iter().find(|e| e.kind == "unmapped-shipping-method").unwrap().owner,
        Team::Operations
    );
    assert_eq!(
        h.state.get("held:order:100242").unwrap().value,
        r#"{"kinds":["unmapped-sku","unmapped-shipping-method"]}"#
    );
    // Nothing is written to Brightpearl for a held order.
    assert_eq!(h.bp_count(Method::Post, "/"), 0);

    // The product now exists: held again for the shipping method only; the SKU exception resolves.
    h.world.borrow_mut().products.insert("NEW-CAP-RED".into(), 1020);
    let s = h.run(Trigger::Events(vec![]));
    assert_eq!(counts(&s), vec![("held", 1)]);
    assert_eq!(
        h.report.resolved(),
        vec![("unmapped-sku".to_string(), "bigcommerce:order:100242".to_string())]
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
    assert_eq!(world.sales_orders[0].1["delivery"]["shippingMethodId"], json!(11));
}

#[test]
fn call_counts_per_order_at_steady_state() {
    let h = Harness::new(&[]);
    let base = fixture("tax_exclusive_card.json");
    for i in 0..20u64 {
        let mut b = base.clone();
        let id = 200000 + i;
        b["order"]["id"] = json!(id);
        b["transactions"][0]["id"] = json!(900000 + i);
        h.world.borrow_mut().orders.insert(id, b);
    }
    let s = h.run(Trigger::Scheduled);
    assert_eq!(s.count("posted"), 20);
    assert_eq!(s.count("payments_posted"), 20);
    let bp_total = h.api.count_system(System::Brightpearl);
    // First order: contact search + 2 product searches + sales order + payment; then 2 each.
    assert_eq!(bp_total, 5 + 19 * 2);
    assert!(bp_total as f64 / 20.0 <= 2.2, "{bp_total} Brightpearl calls for 20 orders");
    assert_eq!(h.bp_count(Method::Get, "/order-service/order-search"), 0);
    // BigCommerce: store time + one (short) list page, then per order: products, shipping
    // addresses, coupons, taxes, transactions (guest: no customer call).
    assert_eq!(h.api.count_system(System::Bigcommerce), 1 + 1 + 20 * 5);
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
        (open[0].kind.as_str(), open[0].entity.as_str(), open[0].retryable),
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
    let first = h.api.requests().into_iter().find(|r| r.path.starts_with("/v2/orders?")).unwrap();
    assert_eq!(
        first.path,
        "/v2/orders?min_date_modified=Tue%2C%2030%20Apr%202024%2021%3A36%3A40%20%2B0000&sort=date_modified:asc&limit=250&page=1"
    );
    // The cursor is the newest date_modified seen (Wed, 01 May 2024 10:16:30 +0000).
    assert_eq!(h.state.get("cursor:orders").unwrap().value, "2024-05-01T10:16:30Z");
    h.api.clear_log();
    h.run(Trigger::Scheduled);
    let second = h.api.requests().into_iter().find(|r| r.path.starts_with("/v2/orders?")).unwrap();
    assert_eq!(
        second.path,
        "/v2/orders?min_date_modified=Wed%2C%2001%20May%202024%2010%3A06%3A30%20%2B0000&sort=date_modified:asc&limit=250&page=1"
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
        h.state.get("contact:email:accounts@shahtrading.example").unwrap().value,
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
fn rounding_rows_are_counted_and_noted() {
    let h = Harness::new(&["rounding_four_decimals"]);
    let s = h.run(replay(&[100243]));
    assert_eq!(s.count("rounding_rows"), 1);
    assert_eq!(s.notes.len(), 1);
    let so_id = h.world.borrow().sales_orders[0].0;
    assert_eq!(
        s.notes[0],
        format!(
            "bigcommerce:order:100243: rounding row of -0.0001 GBP added to sales order {so_id} (rows 27.00 + rounding = total_inc_tax 26.9999)"
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
    assert_eq!(counts(&s), vec![("already_posted", 1), ("payments_posted", 1)]);
    let world = h.world.borrow();
    assert_eq!(world.payments[1].1["paymentType"], json!("CAPTURE"));
    assert_eq!(world.payments[1].1["transactionCode"], json!("bc-txn-1002441"));
    assert_eq!(world.sales_orders.len(), 1);
}
