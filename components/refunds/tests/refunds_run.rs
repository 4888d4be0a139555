//! The refunds flow's run against fakes (`pearlbridge_sdk::testing`): a BigCommerce with
//! refunds, a Brightpearl with the sales order the orders flow posted (rows with the order
//! product ids in `externalRef`), sales credits and customer payments (single and
//! multi-message). Every case asserts the exact `POST /order-service/sales-credit` and
//! customer payment bodies; fault cases assert nothing is duplicated or lost.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pearlbridge_sdk::State;
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{
    Event, Method, Request, Response, RunSummary, SendError, System, Team, Trigger,
};
use refunds::config::{self, RefundsConfig};
use refunds::run::run_at;
use serde_json::{Value, json};

/// 2024-05-01T12:00:00Z.
const NOW: i64 = 1_714_564_800;
const ORDER: u64 = 100;
const SALES_ORDER: u64 = 9001;

#[derive(Default)]
struct World {
    refunds: BTreeMap<u64, Value>,
    /// BigCommerce orders (id → currency).
    orders: BTreeMap<u64, &'static str>,
    /// Brightpearl orders (sales orders and credits) by id, GET shape.
    bp_orders: BTreeMap<u64, Value>,
    /// Brightpearl customer payments (POST bodies, with `paymentId`).
    payments: Vec<Value>,
    next_id: u64,
    /// The next sales-credit POST commits but its answer is lost.
    lose_credit_response: bool,
    /// The next sales-credit POSTs answer 503 (not processed).
    credit_failures: u32,
    /// The next payment write (single or multi-message) commits but its answer is lost.
    lose_payment_response: bool,
    /// Closing a sales order is refused.
    refuse_close: bool,
    /// Goods-in notes (POST bodies, with `goodsNoteId` and `orderId`).
    goods_in: Vec<Value>,
    /// The next goods-in POST commits but its answer is lost.
    lose_goods_in_response: bool,
    /// Goods-in POSTs are refused (400).
    refuse_goods_in: bool,
}

fn ok(v: Value) -> Result<Response, SendError> {
    Ok(Response::new(200, v.to_string()))
}

fn search(columns: &[&str], rows: Vec<Value>) -> Result<Response, SendError> {
    let cols: Vec<Value> = columns.iter().map(|c| json!({"name": c})).collect();
    ok(json!({"response": {
        "metaData": {"morePagesAvailable": false, "resultsAvailable": rows.len(),
            "resultsReturned": rows.len(), "firstResult": 1, "lastResult": rows.len(),
            "columns": cols},
        "results": rows}}))
}

fn query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%2B", "+")))
        .collect()
}

impl World {
    fn new() -> Self {
        let mut w = World {
            next_id: 50_000,
            ..World::default()
        };
        w.orders.insert(ORDER, "GBP");
        w.orders.insert(101, "GBP");
        w.bp_orders
            .insert(SALES_ORDER, sales_order(SALES_ORDER, ORDER, true));
        w
    }

    fn credits(&self) -> Vec<&Value> {
        self.bp_orders
            .values()
            .filter(|o| o["orderTypeCode"] == "SC")
            .collect()
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn post_payment(&mut self, body: &Value) -> (u16, Value) {
        let dup = self.payments.iter().any(|p| {
            p["transactionRef"] == body["transactionRef"]
                && p["paymentMethodCode"] == body["paymentMethodCode"]
        });
        if dup {
            return (
                400,
                json!({"errors": [{"code": "ACCC-021", "message": "duplicate transactionRef"}]}),
            );
        }
        let id = self.id();
        let mut p = body.clone();
        p["paymentId"] = json!(id);
        self.payments.push(p);
        (200, json!({ "response": id }))
    }

    fn handle(&mut self, req: &Request) -> Result<Response, SendError> {
        let (path, q) = req.path.split_once('?').unwrap_or((&req.path, ""));
        let q = query(q);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let body: Value = req
            .body
            .as_deref()
            .map(|b| serde_json::from_str(b).unwrap())
            .unwrap_or(Value::Null);
        match (req.system, req.method, parts.as_slice()) {
            (System::Bigcommerce, Method::Get, ["v2", "time"]) => ok(json!({"time": NOW})),
            (System::Bigcommerce, Method::Get, ["v2", "orders", id]) => {
                match self.orders.get(&id.parse::<u64>().unwrap()) {
                    Some(c) => ok(
                        json!({"id": id.parse::<u64>().unwrap(), "currency_code": c, "default_currency_code": c}),
                    ),
                    None => Ok(Response::new(404, r#"[{"status":404}]"#)),
                }
            }
            (System::Bigcommerce, Method::Get, ["v3", "orders", "payment_actions", "refunds"]) => {
                let min = Timestamp::parse_iso8601(&q["created:min"]).unwrap();
                let list: Vec<Value> = self
                    .refunds
                    .values()
                    .filter(|r| {
                        Timestamp::parse_iso8601(r["created"].as_str().unwrap()).unwrap() >= min
                    })
                    .cloned()
                    .collect();
                ok(
                    json!({"data": list, "meta": {"pagination": {"current_page": 1, "total_pages": 1}}}),
                )
            }
            (
                System::Bigcommerce,
                Method::Get,
                ["v3", "orders", "payment_actions", "refunds", id],
            ) => match self.refunds.get(&id.parse::<u64>().unwrap()) {
                Some(r) => ok(json!({"data": r, "meta": {}})),
                None => Ok(Response::new(404, r#"{"status":404,"title":"not found"}"#)),
            },
            (System::Brightpearl, Method::Get, ["order-service", "order-search"]) => {
                let ty: u64 = q["orderTypeId"].parse().unwrap();
                let code = if ty == 3 { "SC" } else { "SO" };
                let rows = self
                    .bp_orders
                    .values()
                    .filter(|o| o["orderTypeCode"] == code && o["externalRef"] == q["externalRef"])
                    .map(|o| json!([o["id"], o["externalRef"]]))
                    .collect();
                search(&["orderId", "externalRef"], rows)
            }
            (System::Brightpearl, Method::Get, ["order-service", "order", id]) => ok(json!({
                "response": self.bp_orders.get(&id.parse::<u64>().unwrap()).cloned().into_iter().collect::<Vec<_>>()
            })),
            (System::Brightpearl, Method::Post, ["order-service", "sales-order", id, "close"]) => {
                if self.refuse_close {
                    return Ok(Response::new(
                        400,
                        r#"{"errors":[{"code":"ORDC-031","message":"cannot close"}]}"#,
                    ));
                }
                let o = self.bp_orders.get_mut(&id.parse::<u64>().unwrap()).unwrap();
                o["invoices"] = json!([{"invoiceReference": "SI-2001"}]);
                ok(json!({}))
            }
            (System::Brightpearl, Method::Post, ["order-service", "sales-credit"]) => {
                if self.credit_failures > 0 {
                    self.credit_failures -= 1;
                    return Ok(Response::new(
                        503,
                        r#"{"errors":[{"code":"X","message":"busy"}]}"#,
                    ));
                }
                let parent = &self.bp_orders[&body["parentId"].as_u64().unwrap()];
                if parent["invoices"][0]["invoiceReference"] == "" {
                    return Ok(Response::new(
                        400,
                        r#"{"errors":[{"code":"ORDC-031","message":"Sales order must be invoiced before it can be credited"}]}"#,
                    ));
                }
                let id = self.id();
                let mut rows = serde_json::Map::new();
                for (i, r) in body["rows"].as_array().unwrap().iter().enumerate() {
                    rows.insert(
                        format!("{id}{i}"),
                        json!({"productId": r["productId"], "quantity": {"magnitude": r["quantity"]},
                               "externalRef": r["externalRef"],
                               "rowValue": {"rowNet": {"value": r["net"]}, "rowTax": {"value": r["tax"]}, "taxCode": r["taxCode"]}}),
                    );
                }
                self.bp_orders.insert(
                    id,
                    json!({"id": id, "orderTypeCode": "SC", "externalRef": body["externalRef"],
                           "parentOrderId": body["parentId"], "warehouseId": body["warehouseId"],
                           "orderRows": rows, "body": body}),
                );
                if std::mem::take(&mut self.lose_credit_response) {
                    return Err(SendError::OutcomeUnknown);
                }
                ok(json!({ "response": id }))
            }
            (
                System::Brightpearl,
                Method::Get,
                ["warehouse-service", "warehouse", "2", "product", set],
            ) => {
                // Products 1007 and 1008 are stock-tracked, with default location 201.
                let defaults: Vec<Value> = set
                    .split(',')
                    .filter(|p| ["1007", "1008"].contains(p))
                    .map(|p| json!({"productId": p.parse::<u64>().unwrap(), "defaultLocationId": 201}))
                    .collect();
                ok(json!({ "response": defaults }))
            }
            (
                System::Brightpearl,
                Method::Get,
                [
                    "warehouse-service",
                    "order",
                    credit,
                    "goods-note",
                    "goods-in",
                    "",
                ],
            ) => {
                let notes: serde_json::Map<String, Value> = self
                    .goods_in
                    .iter()
                    .filter(|n| {
                        n["orderId"]
                            .as_u64()
                            .is_some_and(|id| credit.parse() == Ok(id))
                    })
                    .map(|n| (n["goodsNoteId"].to_string(), n.clone()))
                    .collect();
                ok(json!({ "response": notes }))
            }
            (
                System::Brightpearl,
                Method::Post,
                [
                    "warehouse-service",
                    "order",
                    credit,
                    "goods-note",
                    "goods-in",
                ],
            ) => {
                if self.refuse_goods_in {
                    return Ok(Response::new(
                        400,
                        r#"{"errors":[{"code":"WHSC-003","message":"Location 201 is closed"}]}"#,
                    ));
                }
                if self
                    .goods_in
                    .iter()
                    .any(|n| n["userBatchReference"] == body["userBatchReference"])
                {
                    return Ok(Response::new(
                        400,
                        r#"{"errors":[{"code":"WHSC-003","message":"userBatchReference already used"}]}"#,
                    ));
                }
                let id = self.id();
                let mut n = body.clone();
                n["goodsNoteId"] = json!(id);
                n["orderId"] = json!(credit.parse::<u64>().unwrap());
                self.goods_in.push(n);
                if std::mem::take(&mut self.lose_goods_in_response) {
                    return Err(SendError::OutcomeUnknown);
                }
                ok(json!({ "response": id }))
            }
            (System::Brightpearl, Method::Post, ["accounting-service", "customer-payment"]) => {
                let (status, resp) = self.post_payment(&body);
                if std::mem::take(&mut self.lose_payment_response) {
                    return Err(SendError::OutcomeUnknown);
                }
                Ok(Response::new(status, resp.to_string()))
            }
            (System::Brightpearl, Method::Post, ["multi-message"]) => {
                let mut processed = vec![];
                for m in body["messages"].as_array().unwrap() {
                    assert_eq!(m["uri"], "/accounting-service/customer-payment");
                    let (status, resp) = self.post_payment(&m["body"]);
                    processed.push(json!({"label": m["label"], "statusCode": status,
                        "body": {"content": resp.to_string()}}));
                }
                if std::mem::take(&mut self.lose_payment_response) {
                    return Err(SendError::OutcomeUnknown);
                }
                ok(json!({"response": {"processedMessages": processed, "unprocessedMessages": []}}))
            }
            (
                System::Brightpearl,
                Method::Get,
                ["accounting-service", "customer-payment-search"],
            ) => {
                let rows = self
                    .payments
                    .iter()
                    .filter(|p| p["transactionRef"] == q["transactionRef"])
                    .map(|p| {
                        json!([
                            p["paymentId"],
                            p["orderId"],
                            p["transactionRef"],
                            p["paymentMethodCode"],
                            p["paymentType"]
                        ])
                    })
                    .collect();
                search(
                    &[
                        "paymentId",
                        "orderId",
                        "transactionRef",
                        "paymentMethodCode",
                        "paymentType",
                    ],
                    rows,
                )
            }
            _ => panic!("unexpected {:?} {:?} {}", req.system, req.method, req.path),
        }
    }
}

/// The sales order the orders flow posted for BigCommerce order `bc`: two product rows
/// (order products 555 × 2 and 556 × 1) and a shipping row, 40.00 GBP in all.
fn sales_order(id: u64, bc: u64, invoiced: bool) -> Value {
    let row = |pid: u64, name: &str, qty: &str, net: &str, tax: &str, nominal: &str, er: Value| {
        let cost = match pid {
            1007 => "4.5000",
            1008 => "2.2500",
            _ => "0.0000",
        };
        json!({"productId": pid, "productName": name, "quantity": {"magnitude": qty},
               "itemCost": {"currencyCode": "GBP", "value": cost},
               "rowValue": {"taxCode": "T20", "rowNet": {"currencyCode": "GBP", "value": net},
                            "rowTax": {"currencyCode": "GBP", "value": tax}},
               "nominalCode": nominal, "externalRef": er})
    };
    json!({
        "id": id, "parentOrderId": 0, "orderTypeCode": "SO", "reference": format!("BC-{bc}"),
        "externalRef": bc.to_string(), "priceListId": 1, "warehouseId": 2,
        "invoices": [{"invoiceReference": if invoiced { "SI-1001" } else { "" }}],
        "currency": {"accountingCurrencyCode": "GBP", "orderCurrencyCode": "GBP", "exchangeRate": "1.000000"},
        "assignment": {"current": {"channelId": 4}},
        "parties": {"customer": {"contactId": 200}},
        "orderRows": {
            "11": row(1007, "Hoodie", "2.0000", "20.0000", "4.0000", "4000", json!("555")),
            "12": row(1008, "Cap", "1.0000", "8.3300", "1.6700", "4000", json!("556")),
            "13": row(0, "Shipping: Royal Mail", "1.0000", "5.0000", "1.0000", "4040", Value::Null),
        }
    })
}

fn refund(id: u64, order: u64, total: &str, items: Value, payments: Value) -> Value {
    json!({"id": id, "order_id": order, "user_id": 0, "created": "2024-05-01T11:00:00+00:00",
           "reason": "", "total_amount": total.parse::<f64>().unwrap(), "total_tax": 0,
           "uses_merchant_override_values": false, "items": items, "payments": payments})
}

fn product(id: u64, q: u64) -> Value {
    json!({"item_type": "PRODUCT", "item_id": id, "reason": "", "quantity": q, "requested_amount": null})
}

fn amount(kind: &str, id: u64, a: &str) -> Value {
    json!({"item_type": kind, "item_id": id, "reason": "", "requested_amount": a})
}

fn pay(id: u64, provider: &str, a: &str) -> Value {
    json!({"id": id, "provider_id": provider, "amount": a.parse::<f64>().unwrap(), "offline": provider == "custom",
           "is_declined": false, "declined_message": ""})
}

fn cfg_json() -> Value {
    json!({
        "no_tax_code": "T0",
        "credit_status_id": 29,
        "nominal_codes": {"shipping": "4040", "handling": "4045", "fees": "4050", "refund": "4010", "rounding": "4020"},
        "payment_methods": {
            "braintree": {"code": "BRAINTREE", "bank_nominal_code": "1200"},
            "storecredit": {"code": "STORECREDIT", "bank_nominal_code": "2150"},
            "custom": {"code": "OFFLINE", "bank_nominal_code": "1210"},
        },
    })
}

fn cfg() -> RefundsConfig {
    config::parse(&cfg_json().to_string()).unwrap()
}

struct Harness {
    world: Rc<RefCell<World>>,
    api: FakeApi,
    state: MemoryState,
    report: MemoryReport,
    cfg: RefundsConfig,
}

impl Harness {
    fn new() -> Self {
        Self::with(cfg())
    }

    fn with(cfg: RefundsConfig) -> Self {
        let world = Rc::new(RefCell::new(World::new()));
        let w = world.clone();
        Harness {
            world,
            api: FakeApi::new(move |req| w.borrow_mut().handle(req)),
            state: MemoryState::new(),
            report: MemoryReport::new(),
            cfg,
        }
    }

    fn add(&self, r: Value) {
        let id = r["id"].as_u64().unwrap();
        self.world.borrow_mut().refunds.insert(id, r);
    }

    fn run_at(&self, trigger: Trigger, now: i64) -> RunSummary {
        let s = run_at(
            &trigger,
            &self.cfg,
            &self.api,
            &self.state,
            &self.report,
            now,
        )
        .expect("run succeeds");
        let needs = refunds::needs();
        for r in self.api.requests() {
            assert!(
                needs.iter().any(|n| n.system == r.system
                    && n.methods.contains(&r.method)
                    && r.path.starts_with(&n.path_prefix)),
                "not in the manifest: {:?} {}",
                r.method,
                r.path
            );
        }
        s
    }

    fn run(&self) -> RunSummary {
        self.run_at(Trigger::Scheduled, NOW)
    }

    fn credit_bodies(&self) -> Vec<Value> {
        self.api.bodies(
            System::Brightpearl,
            Method::Post,
            "/order-service/sales-credit",
        )
    }

    fn credits(&self) -> Vec<Value> {
        self.world.borrow().credits().into_iter().cloned().collect()
    }

    fn payments(&self) -> Vec<Value> {
        self.world.borrow().payments.clone()
    }

    fn open_kinds(&self) -> Vec<(String, String)> {
        self.report
            .open_exceptions()
            .into_iter()
            .map(|e| (e.kind, e.entity))
            .collect()
    }
}

fn count(s: &RunSummary, name: &str) -> u64 {
    s.counts
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or(0)
}

fn credit_header(refund: u64, rows: Value) -> Value {
    json!({
        "customer": {"id": 200}, "parentId": SALES_ORDER, "ref": format!("BC-{ORDER}-R{refund}"),
        "externalRef": format!("bc-refund-{refund}"), "placedOn": "2024-05-01T11:00:00Z",
        "statusId": 29, "channelId": 4, "warehouseId": 2, "priceListId": 1,
        "currency": {"code": "GBP", "fixedExchangeRate": true, "exchangeRate": "1.000000"},
        "rows": rows
    })
}

fn payment_body(refund: u64, pid: u64, method: &str, bank: &str, credit: u64, a: &str) -> Value {
    json!({
        "transactionRef": format!("bc-refund-{refund}-{pid}"), "paymentMethodCode": method,
        "paymentType": "PAYMENT", "orderId": credit, "currencyIsoCode": "GBP",
        "exchangeRate": "1.000000", "amountPaid": a, "paymentDate": "2024-05-01T11:00:00Z",
        "journalRef": format!("BigCommerce refund {refund} of order {ORDER} (bank {bank})")
    })
}

#[test]
fn a_full_refund_credits_every_row_and_pays_it_back_once() {
    let h = Harness::new();
    h.add(refund(
        7001,
        ORDER,
        "40.00",
        json!([
            product(555, 2),
            product(556, 1),
            amount("SHIPPING", 1, "6.00")
        ]),
        json!([pay(1, "braintree", "40.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(count(&s, "payments_posted"), 1);
    assert_eq!(
        h.credit_bodies(),
        vec![credit_header(
            7001,
            json!([
                {"productId": 1007, "quantity": "2", "taxCode": "T20", "net": "20.00", "tax": "4.00", "nominalCode": "4000", "externalRef": "555"},
                {"productId": 1008, "quantity": "1", "taxCode": "T20", "net": "8.33", "tax": "1.67", "nominalCode": "4000", "externalRef": "556"},
                {"name": "Shipping refund", "quantity": "1", "taxCode": "T20", "net": "5.00", "tax": "1.00", "nominalCode": "4040"}
            ])
        )]
    );
    let credit = h.credits()[0]["id"].as_u64().unwrap();
    assert_eq!(
        h.api.bodies(
            System::Brightpearl,
            Method::Post,
            "/accounting-service/customer-payment"
        ),
        vec![payment_body(7001, 1, "BRAINTREE", "1200", credit, "40.00")]
    );
    assert!(h.open_kinds().is_empty(), "{:?}", h.open_kinds());
    // Seen again by the next sweep: nothing is read from Brightpearl, nothing written.
    h.api.clear_log();
    let s = h.run();
    assert_eq!(h.api.count_system(System::Brightpearl), 0);
    assert_eq!(count(&s, "credits_created"), 0);
}

#[test]
fn partial_shipping_only_store_credit_and_amount_only_refunds_are_their_own_credits() {
    let h = Harness::new();
    h.add(refund(
        7002,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(2, "braintree", "12.00")]),
    ));
    h.add(refund(
        7003,
        ORDER,
        "3.00",
        json!([amount("SHIPPING", 1, "3.00")]),
        json!([pay(3, "storecredit", "3.00")]),
    ));
    h.add(refund(
        7004,
        ORDER,
        "5.00",
        json!([amount("ORDER", ORDER, "5.00")]),
        json!([pay(4, "custom", "5.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 3);
    assert_eq!(count(&s, "payments_posted"), 3);
    assert_eq!(
        h.credit_bodies(),
        vec![
            credit_header(
                7002,
                json!([{"productId": 1007, "quantity": "1", "taxCode": "T20", "net": "10.00", "tax": "2.00", "nominalCode": "4000", "externalRef": "555"}])
            ),
            credit_header(
                7003,
                json!([{"name": "Shipping refund", "quantity": "1", "taxCode": "T20", "net": "2.50", "tax": "0.50", "nominalCode": "4040"}])
            ),
            credit_header(
                7004,
                json!([{"name": "Refund", "quantity": "1", "taxCode": "T0", "net": "5.00", "tax": "0.00", "nominalCode": "4010"}])
            ),
        ]
    );
    let ids: Vec<u64> = h
        .credits()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    // Three payments queued: one multi-message batch at the end of the run.
    let batch = h
        .api
        .bodies(System::Brightpearl, Method::Post, "/multi-message");
    assert_eq!(batch.len(), 1);
    let sent: Vec<Value> = batch[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(
        sent,
        vec![
            payment_body(7002, 2, "BRAINTREE", "1200", ids[0], "12.00"),
            payment_body(7003, 3, "STORECREDIT", "2150", ids[1], "3.00"),
            payment_body(7004, 4, "OFFLINE", "1210", ids[2], "5.00"),
        ]
    );
}

#[test]
fn a_penny_of_rounding_is_a_difference_row_and_more_is_a_variance() {
    let h = Harness::new();
    h.add(refund(
        7005,
        ORDER,
        "9.99",
        json!([product(556, 1)]),
        json!([pay(5, "braintree", "9.99")]),
    ));
    h.add(refund(
        7006,
        ORDER,
        "15.00",
        json!([product(556, 1)]),
        json!([pay(6, "braintree", "15.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "difference_rows"), 1);
    assert_eq!(
        h.credit_bodies(),
        vec![credit_header(
            7005,
            json!([
                {"productId": 1008, "quantity": "1", "taxCode": "T20", "net": "8.33", "tax": "1.67", "nominalCode": "4000", "externalRef": "556"},
                {"name": "Refund difference", "quantity": "1", "taxCode": "T0", "net": "-0.01", "tax": "0.00", "nominalCode": "4020"}
            ])
        )]
    );
    let ex = h.report.open_exceptions();
    assert_eq!(ex.len(), 1);
    assert_eq!(
        (ex[0].kind.as_str(), ex[0].entity.as_str(), ex[0].owner),
        (
            "refund-total-variance",
            "bigcommerce:refund:7006",
            Team::Finance
        )
    );
    assert_eq!(ex[0].impact.as_ref().unwrap().amount, "5.00");
    assert!(
        ex[0]
            .message
            .contains("10.00 GBP but BigCommerce refunded 15.00"),
        "{}",
        ex[0].message
    );
    // Only the good refund's payment was posted.
    assert_eq!(h.payments().len(), 1);
}

#[test]
fn a_refund_of_an_order_never_posted_is_held_naming_the_order_then_credited() {
    let h = Harness::new();
    h.add(refund(
        7007,
        101,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(7, "braintree", "12.00")]),
    ));
    h.run();
    assert!(h.credit_bodies().is_empty());
    let ex = h.report.open_exceptions();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].kind, "refund-order-not-posted");
    assert!(
        ex[0]
            .message
            .contains("BigCommerce order 101 has no Brightpearl sales order"),
        "{}",
        ex[0].message
    );
    assert_eq!(
        (
            ex[0].impact.as_ref().unwrap().amount.as_str(),
            ex[0].impact.as_ref().unwrap().currency.as_str()
        ),
        ("12.00", "GBP")
    );
    // The orders flow posts it: the next run credits it.
    h.world
        .borrow_mut()
        .bp_orders
        .insert(9002, sales_order(9002, 101, true));
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(h.credit_bodies()[0]["parentId"], 9002);
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn hold_mode_waits_for_the_invoice_raises_after_the_limit_and_posts_by_itself() {
    let mut c = cfg_json();
    c["not_invoiced"] = json!("hold");
    c["blocked_exception_after_minutes"] = json!(60);
    let h = Harness::with(config::parse(&c.to_string()).unwrap());
    h.world
        .borrow_mut()
        .bp_orders
        .insert(SALES_ORDER, sales_order(SALES_ORDER, ORDER, false));
    h.add(refund(
        7008,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(8, "braintree", "12.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "blocked_not_invoiced"), 1);
    assert!(h.credit_bodies().is_empty());
    assert!(h.report.open_exceptions().is_empty());
    // 30 minutes later: still waiting, no exception yet; never a close call.
    h.run_at(Trigger::Scheduled, NOW + 1800);
    assert!(h.report.open_exceptions().is_empty());
    // An hour later: finance is told, with the refund total.
    h.run_at(Trigger::Scheduled, NOW + 3600);
    let ex = h.report.open_exceptions();
    assert_eq!(ex.len(), 1);
    assert_eq!(
        (ex[0].kind.as_str(), ex[0].owner),
        ("credit-blocked-not-invoiced", Team::Finance)
    );
    assert_eq!(ex[0].impact.as_ref().unwrap().amount, "12.00");
    assert_eq!(
        h.api.count(
            System::Brightpearl,
            Method::Post,
            "/order-service/sales-order"
        ),
        0
    );
    assert!(h.credit_bodies().is_empty());
    // Accounting invoices the sales order: the next run posts the credit and resolves it.
    h.world
        .borrow_mut()
        .bp_orders
        .get_mut(&SALES_ORDER)
        .unwrap()["invoices"] = json!([{"invoiceReference": "SI-1001"}]);
    let s = h.run_at(Trigger::Scheduled, NOW + 3700);
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(count(&s, "payments_posted"), 1);
    assert!(h.report.open_exceptions().is_empty());
    assert!(
        h.state
            .dump()
            .iter()
            .all(|(k, _)| !k.starts_with("blocked:")),
        "{:?}",
        h.state.dump()
    );
}

#[test]
fn invoice_parent_mode_closes_the_sales_order_first_and_a_refusal_holds() {
    let h = Harness::new();
    h.world
        .borrow_mut()
        .bp_orders
        .insert(SALES_ORDER, sales_order(SALES_ORDER, ORDER, false));
    h.world.borrow_mut().refuse_close = true;
    h.add(refund(
        7009,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(9, "braintree", "12.00")]),
    ));
    h.run();
    assert_eq!(
        h.open_kinds(),
        vec![(
            "parent-invoice-rejected".to_string(),
            "bigcommerce:refund:7009".to_string()
        )]
    );
    assert!(h.credit_bodies().is_empty());
    h.world.borrow_mut().refuse_close = false;
    let s = h.run();
    assert_eq!(count(&s, "parents_invoiced"), 1);
    assert_eq!(count(&s, "credits_created"), 1);
    let reqs: Vec<String> = h
        .api
        .requests()
        .iter()
        .filter(|r| r.method == Method::Post)
        .map(|r| r.path.clone())
        .collect();
    let close = reqs.iter().rposition(|p| p.ends_with("/close")).unwrap();
    let credit = reqs
        .iter()
        .position(|p| p == "/order-service/sales-credit")
        .unwrap();
    assert!(close < credit, "{reqs:?}");
    assert!(h.report.open_exceptions().is_empty());
}

#[test]
fn lost_responses_and_server_errors_never_duplicate_or_lose_a_credit_or_payment() {
    let h = Harness::new();
    h.add(refund(
        7010,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(10, "braintree", "12.00")]),
    ));
    h.add(refund(
        7011,
        ORDER,
        "3.00",
        json!([amount("SHIPPING", 1, "3.00")]),
        json!([pay(11, "storecredit", "3.00")]),
    ));
    {
        let mut w = h.world.borrow_mut();
        w.lose_credit_response = true; // 7010's credit commits, its answer is lost
        w.lose_payment_response = true; // the payment batch commits, its answer is lost
    }
    let s = h.run();
    assert_eq!(h.credits().len(), 2);
    assert_eq!(h.payments().len(), 2);
    assert_eq!(count(&s, "credits_created"), 2);
    assert_eq!(count(&s, "payments_posted"), 2);
    assert!(h.report.open_exceptions().is_empty());
    // 5xx on the credit: pending, then posted once on the next run.
    h.add(refund(
        7012,
        ORDER,
        "5.00",
        json!([amount("ORDER", ORDER, "5.00")]),
        json!([pay(12, "custom", "5.00")]),
    ));
    h.world.borrow_mut().credit_failures = 1;
    let s = h.run();
    assert_eq!(count(&s, "pending_retry"), 1);
    assert_eq!(h.credits().len(), 2);
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(h.credits().len(), 3);
    assert_eq!(h.payments().len(), 3);
    // A crash after the credit's POST left its marker: the next run searches first.
    h.state.set("attempt:refund:7013", "sales-credit");
    h.add(refund(
        7013,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(13, "braintree", "12.00")]),
    ));
    h.world.borrow_mut().lose_credit_response = true;
    h.run();
    h.run();
    assert_eq!(h.credits().len(), 4);
    assert_eq!(h.payments().len(), 4);
    // Every credit and transactionRef once.
    let mut refs: Vec<String> = h
        .credits()
        .iter()
        .map(|c| c["externalRef"].as_str().unwrap().to_string())
        .collect();
    refs.dedup();
    assert_eq!(refs.len(), 4);
}

#[test]
fn an_unmapped_refund_method_holds_before_anything_is_written() {
    let h = Harness::new();
    h.add(refund(
        7014,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(14, "klarna", "12.00")]),
    ));
    h.run();
    assert!(h.credit_bodies().is_empty());
    let ex = h.report.open_exceptions();
    assert_eq!(ex[0].kind, "unmapped-refund-method");
    assert!(ex[0].message.contains("\"klarna\""), "{}", ex[0].message);
}

#[test]
fn an_event_names_the_refund_in_its_payload() {
    let h = Harness::new();
    h.add(refund(
        7015,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(15, "braintree", "12.00")]),
    ));
    let event = Event {
        source: System::Bigcommerce,
        scope: "store/order/refund/created".into(),
        entity_id: ORDER.to_string(),
        payload: json!({"scope": "store/order/refund/created", "data": {"type": "order", "id": ORDER, "refund": {"refund_id": 7015}}}).to_string(),
    };
    let s = h.run_at(Trigger::Events(vec![event]), NOW);
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(h.credit_bodies()[0]["externalRef"], "bc-refund-7015");
    // No sweep on an event run.
    assert_eq!(
        h.api.count(
            System::Bigcommerce,
            Method::Get,
            "/v3/orders/payment_actions/refunds?"
        ),
        0
    );
}

#[test]
fn a_refund_in_another_currency_credits_and_pays_in_the_sales_orders_currency() {
    let h = Harness::new();
    {
        let mut w = h.world.borrow_mut();
        let so = w.bp_orders.get_mut(&SALES_ORDER).unwrap();
        so["currency"] = json!({"accountingCurrencyCode": "GBP", "orderCurrencyCode": "EUR", "exchangeRate": "1.170000"});
    }
    h.add(refund(
        7016,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(16, "braintree", "7.00"), pay(17, "storecredit", "5.00")]),
    ));
    h.run();
    let body = &h.credit_bodies()[0];
    assert_eq!(
        body["currency"],
        json!({"code": "EUR", "fixedExchangeRate": true, "exchangeRate": "1.170000"})
    );
    let credit = h.credits()[0]["id"].as_u64().unwrap();
    let sent: Vec<Value> = h
        .api
        .bodies(System::Brightpearl, Method::Post, "/multi-message")[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    let eur = |mut v: Value| {
        v["currencyIsoCode"] = json!("EUR");
        v["exchangeRate"] = json!("1.170000");
        v
    };
    assert_eq!(
        sent,
        vec![
            eur(payment_body(7016, 16, "BRAINTREE", "1200", credit, "7.00")),
            eur(payment_body(
                7016,
                17,
                "STORECREDIT",
                "2150",
                credit,
                "5.00"
            )),
        ]
    );
}

fn restocking() -> Harness {
    let mut v = cfg_json();
    v["restock"] = json!(true);
    Harness::with(config::parse(&v.to_string()).unwrap())
}

fn goods_in_body(refund: u64, moved: Value) -> Value {
    json!({"transfer": false, "warehouseId": 2, "goodsMoved": moved,
           "receivedOn": "2024-05-01T11:00:00+00:00",
           "userBatchReference": format!("bc-refund-{refund}")})
}

#[test]
fn restock_off_sends_no_goods_in_note() {
    let h = Harness::new();
    h.add(refund(
        7101,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(1, "braintree", "12.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(count(&s, "restocked"), 0);
    assert_eq!(
        h.api
            .count(System::Brightpearl, Method::Post, "/warehouse-service/"),
        0
    );
    assert_eq!(
        h.api
            .count(System::Brightpearl, Method::Get, "/warehouse-service/"),
        0
    );
}

#[test]
fn restock_receives_the_credited_product_rows_at_their_cost_once() {
    let h = restocking();
    h.add(refund(
        7102,
        ORDER,
        "40.00",
        json!([
            product(555, 2),
            product(556, 1),
            amount("SHIPPING", 1, "6.00")
        ]),
        json!([pay(1, "braintree", "40.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(count(&s, "restocked"), 1);
    assert_eq!(count(&s, "payments_posted"), 1);
    let credit = h.credits()[0]["id"].as_u64().unwrap();
    // The credit's rows are `<credit id><index>`: 0 and 1 are the product rows (the shipping
    // row is not received).
    assert_eq!(
        h.api.bodies(
            System::Brightpearl,
            Method::Post,
            &format!("/warehouse-service/order/{credit}/goods-note/goods-in")
        ),
        vec![goods_in_body(
            7102,
            json!([
                {"productId": 1007, "purchaseOrderRowId": format!("{credit}0").parse::<u64>().unwrap(),
                 "quantity": 2, "destinationLocationId": 201,
                 "productValue": {"currency": "GBP", "value": "4.5000"}},
                {"productId": 1008, "purchaseOrderRowId": format!("{credit}1").parse::<u64>().unwrap(),
                 "quantity": 1, "destinationLocationId": 201,
                 "productValue": {"currency": "GBP", "value": "2.2500"}}
            ])
        )]
    );
    assert!(h.open_kinds().is_empty(), "{:?}", h.open_kinds());
    // A replay of the refund: the restock is linked, nothing is received twice.
    h.api.clear_log();
    let s = h.run_at(Trigger::Replay(vec!["bigcommerce:refund:7102".into()]), NOW);
    assert_eq!(count(&s, "restocked"), 0);
    assert_eq!(h.world.borrow().goods_in.len(), 1);
    assert_eq!(
        h.api
            .count(System::Brightpearl, Method::Post, "/warehouse-service/"),
        0
    );
}

#[test]
fn a_lost_goods_in_answer_is_found_by_its_batch_reference_not_received_twice() {
    let h = restocking();
    h.world.borrow_mut().lose_goods_in_response = true;
    h.add(refund(
        7103,
        ORDER,
        "12.00",
        json!([product(555, 1)]),
        json!([pay(1, "braintree", "12.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(count(&s, "restocked"), 1);
    assert_eq!(count(&s, "payments_posted"), 1);
    let notes = h.world.borrow().goods_in.clone();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["goodsMoved"][0]["quantity"], 1);
    assert_eq!(
        h.state.get("link:restock:7103").map(|e| e.value),
        Some(notes[0]["goodsNoteId"].to_string())
    );
}

#[test]
fn a_refused_goods_in_note_raises_restock_rejected_and_the_payment_still_posts() {
    let h = restocking();
    h.world.borrow_mut().refuse_goods_in = true;
    h.add(refund(
        7104,
        ORDER,
        "24.00",
        json!([product(555, 2)]),
        json!([pay(1, "braintree", "24.00")]),
    ));
    let s = h.run();
    assert_eq!(count(&s, "credits_created"), 1);
    assert_eq!(count(&s, "restocks_rejected"), 1);
    assert_eq!(count(&s, "payments_posted"), 1);
    assert_eq!(h.payments().len(), 1);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind, "restock-rejected");
    assert_eq!(open[0].entity, "bigcommerce:refund:7104");
    assert_eq!(open[0].owner, Team::Operations);
    // 2 units at 4.50 cost.
    assert_eq!(
        open[0]
            .impact
            .as_ref()
            .map(|i| (i.amount.as_str(), i.currency.as_str())),
        Some(("9.00", "GBP"))
    );
    assert!(
        open[0].message.contains("Location 201 is closed"),
        "{}",
        open[0].message
    );
}
