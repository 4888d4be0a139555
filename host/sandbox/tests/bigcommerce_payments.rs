//! Contract tests: v3 transactions, refund quotes, refunds (per order and store-wide).
#![recursion_limit = "256"]

mod bigcommerce_support;

use bigcommerce_support::*;
use chrono::SecondsFormat;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use pearlbridge_sandbox::seed::BigCommerceOrderBundle;
use serde_json::{Value, json};

const TYPE: &str = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";

async fn api() -> Api {
    start_with(seed(), Clock::manual(), Faults::none(), 1000).await
}

#[tokio::test]
async fn transactions_list_and_204() {
    let api = api().await;
    let r = api.get("/v3/orders/100/transactions").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!([transaction(9001, 100, 110.0)]));
    assert_eq!(
        r.json()["meta"],
        json!({"pagination": {"total": 1, "count": 1, "per_page": 50, "current_page": 1, "total_pages": 1,
                              "links": {"current": "?page=1&limit=50"}}})
    );
    let r = api.get("/v3/orders/102/transactions").await;
    assert_eq!((r.status, r.body.is_none()), (204, true));
    let r = api.get("/v3/orders/999/transactions").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        &json!({"status": 404, "title": "The requested resource was not found.", "type": TYPE, "errors": {}})
    );
}

#[tokio::test]
async fn quote_then_refund_then_read_back() {
    let api = api().await;
    let items = json!([
        {"item_type": "PRODUCT", "item_id": 1001, "quantity": 1, "reason": "Damaged"},
        {"item_type": "SHIPPING", "item_id": 5001, "amount": 5.5}
    ]);
    let q = api
        .post(
            "/v3/orders/100/payment_actions/refund_quotes",
            json!({"items": items}),
        )
        .await;
    assert_eq!(q.status, 201);
    assert_eq!(
        q.json(),
        &json!({"data": {
            "order_id": 100, "total_refund_amount": 38.5, "total_refund_tax_amount": 3, "order_level_refund_amount": 0,
            "rounding": 0, "adjustment": 0, "tax_inclusive": false,
            "refund_methods": [
                [{"provider_id": "stripev3", "provider_description": "stripev3", "amount": 38.5, "offline": false, "offline_provider": false, "offline_reason": ""}],
                [{"provider_id": "storecredit", "provider_description": "Store Credit", "amount": 38.5, "offline": false, "offline_provider": false, "offline_reason": ""}],
                [{"provider_id": "custom", "provider_description": "Custom", "amount": 38.5, "offline": true, "offline_provider": true, "offline_reason": ""}]
            ]
        }})
    );
    // A payment that differs from the quote: 422, wrapped in data.
    let r = api
        .post("/v3/orders/100/payment_actions/refunds",
              json!({"items": items, "payments": [{"provider_id": "stripev3", "amount": 38.0, "offline": false}]}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        &json!({"data": [{"status": 422, "title": "The payment amount 38.00 does not match the refund amount 38.50", "type": TYPE}]})
    );
    assert!(api.sim.refunds(100).is_empty(), "nothing stored on 422");
    api.clock.advance_ms(60_000);
    let created = api.clock.now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let r = api
        .post("/v3/orders/100/payment_actions/refunds",
              json!({"items": items, "payments": [{"provider_id": "stripev3", "amount": 38.5, "offline": false}]}))
        .await;
    assert_eq!(r.status, 201);
    let refund = json!({
        "id": 1, "order_id": 100, "user_id": 0, "created": created, "reason": "", "total_amount": 38.5, "total_tax": 3,
        "uses_merchant_override_values": false,
        "items": [
            {"item_type": "PRODUCT", "item_id": 1001, "reason": "Damaged", "quantity": 1, "requested_amount": null},
            {"item_type": "SHIPPING", "item_id": 5001, "reason": "", "requested_amount": 5.5}
        ],
        "payments": [{"id": 1, "provider_id": "stripev3", "amount": 38.5, "offline": false, "is_declined": false,
                      "declined_message": "", "transaction_id": 9002}]
    });
    assert_eq!(r.json(), &json!({"data": refund, "meta": {}}));
    let o = api.get("/v2/orders/100").await;
    assert_eq!(o.json()["status_id"], 14);
    assert_eq!(o.json()["status"], "Partially Refunded");
    assert_eq!(o.json()["payment_status"], "partially refunded");
    assert_eq!(
        api.get("/v2/orders/100/products").await.json()[0]["quantity_refunded"],
        1
    );
    let t = api.get("/v3/orders/100/transactions").await;
    assert_eq!(t.json()["data"][1]["event"], "refund");
    assert_eq!(t.json()["data"][1]["amount"], 38.5);
    assert_eq!(t.json()["data"][1]["reference_transaction_id"], 9001);

    // Read back: per order, store-wide since a date, one by id.
    let r = api.get("/v3/orders/100/payment_actions/refunds").await;
    assert_eq!(r.json()["data"], json!([refund]));
    let r = api
        .get("/v3/orders/payment_actions/refunds?created:min=2020-01-01T00%3A00%3A00%2B00%3A00")
        .await;
    assert_eq!(r.json()["data"], json!([refund]));
    assert_eq!(r.json()["meta"]["pagination"]["total"], 1);
    let later =
        (api.clock.now() + chrono::Duration::seconds(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let r = api
        .get(&format!(
            "/v3/orders/payment_actions/refunds?created:min={}",
            later.replace('+', "%2B")
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!([]));
    assert_eq!(r.json()["meta"]["pagination"]["total_pages"], 0);
    let r = api
        .get("/v3/orders/payment_actions/refunds?created:min=yesterday")
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["errors"],
        json!({"created:min": "must be an RFC 3339 date-time"})
    );
    assert_eq!(
        api.get("/v3/orders/payment_actions/refunds?order_id:in=102")
            .await
            .json()["data"],
        json!([])
    );
    assert_eq!(
        api.get("/v3/orders/payment_actions/refunds/1").await.json(),
        &json!({"data": refund, "meta": {}})
    );
    assert_eq!(
        api.get("/v3/orders/payment_actions/refunds/2").await.status,
        404
    );

    // More than is left: 422 on the quote. Then the rest, offline: Refunded (4).
    let q = api
        .post(
            "/v3/orders/100/payment_actions/refund_quotes",
            json!({"items": [{"item_type": "ORDER", "item_id": 100, "amount": 200}]}),
        )
        .await;
    assert_eq!(q.status, 422);
    assert_eq!(
        q.json(),
        &json!({"status": 422, "title": "The refund quote request is invalid.", "type": TYPE,
                "errors": {"items": "the refund of 200.00 exceeds the 71.50 left to refund"}})
    );
    let r = api
        .post(
            "/v3/orders/100/payment_actions/refunds",
            json!({"items": [{"item_type": "ORDER", "item_id": 100, "amount": 71.5}],
                     "payments": [{"provider_id": "custom", "amount": 71.5, "offline": true}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json()["data"]["payments"],
        json!([{"id": 2, "provider_id": "custom", "amount": 71.5, "offline": true,
                                                     "is_declined": false, "declined_message": ""}])
    );
    let o = api.get("/v2/orders/100").await;
    assert_eq!(
        (
            o.json()["status_id"].clone(),
            o.json()["payment_status"].clone()
        ),
        (json!(4), json!("refunded"))
    );
}

#[tokio::test]
async fn refund_rules_guest_store_credit_rounding_override() {
    let api = api().await;
    // Guest order: no store credit.
    let r = api
        .post("/v3/orders/102/payment_actions/refunds",
              json!({"items": [{"item_type": "PRODUCT", "item_id": 1021, "quantity": 1}],
                     "payments": [{"provider_id": "storecredit", "amount": 33.0, "offline": false}]}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["data"][0]["title"],
        "A guest order cannot be refunded to store credit"
    );
    // Unknown provider, quantity over what was ordered.
    let r = api
        .post(
            "/v3/orders/102/payment_actions/refunds",
            json!({"items": [{"item_type": "PRODUCT", "item_id": 1021, "quantity": 1}],
                     "payments": [{"provider_id": "paypal", "amount": 33.0}]}),
        )
        .await;
    assert_eq!(
        r.json()["data"][0]["title"],
        "Payment provider 'paypal' is not available for this order"
    );
    let q = api
        .post(
            "/v3/orders/102/payment_actions/refund_quotes",
            json!({"items": [{"item_type": "PRODUCT", "item_id": 1021, "quantity": 2}]}),
        )
        .await;
    assert_eq!(
        q.json()["errors"],
        json!({"items[0].quantity": "only 1 left to refund"})
    );
    // Rounding: 10.00 paid for 3 units, refund 1 → 3.33 with rounding -0.0033.
    let mut p = order_product(0, 0, 0, "R", 3, "2.7778", "3.3333");
    p["discounted_total_inc_tax"] = json!("10.0000");
    p["total_tax"] = json!("0.0000");
    let mut o = order_json(0, 11, "", 0);
    o["total_inc_tax"] = json!("10.0000");
    let id = api.sim.create_order(BigCommerceOrderBundle {
        order: o,
        products: vec![p],
        shipping_addresses: vec![shipping_address(0, 0)],
        ..Default::default()
    });
    let opid = api.sim.order_products(id)[0]["id"].as_i64().unwrap();
    let q = api
        .post(
            &format!("/v3/orders/{id}/payment_actions/refund_quotes"),
            json!({"items": [{"item_type": "PRODUCT", "item_id": opid, "quantity": 1}]}),
        )
        .await;
    assert_eq!(q.json()["data"]["total_refund_amount"], 3.33);
    assert_eq!(q.json()["data"]["rounding"], -0.0033);
    assert_eq!(
        q.json()["data"]["refund_methods"].as_array().unwrap().len(),
        1,
        "guest, no gateway: custom only"
    );
    // Merchant override: the payments must match the override total.
    let r = api
        .post(
            &format!("/v3/orders/{id}/payment_actions/refunds"),
            json!({"items": [{"item_type": "PRODUCT", "item_id": opid, "quantity": 1}],
                     "merchant_calculated_override": {"total_amount": 3.0, "total_tax": 0},
                     "payments": [{"provider_id": "custom", "amount": 3.0, "offline": true}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["data"]["total_amount"], 3);
    assert_eq!(r.json()["data"]["uses_merchant_override_values"], true);
    // A control-panel refund through the scripting endpoint.
    let res = api
        .client
        .post(format!("{}/_sandbox/bigcommerce/orders/102/refunds", api.root))
        .header("content-type", "application/json")
        .body(json!({"total_amount": 10.0, "total_tax": 0, "items": [{"item_type": "ORDER", "item_id": 102, "requested_amount": 10.0}], "payments": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body, json!({"id": 2}));
    assert_eq!(api.get("/v2/orders/102").await.json()["status_id"], 14);
    assert_eq!(
        api.get("/v3/orders/102/payment_actions/refunds")
            .await
            .json()["data"][0]["total_amount"],
        10.0
    );
}

#[tokio::test]
async fn refunds_split_over_the_gateways_the_order_was_paid_with() {
    let api = api().await;
    let mut gc = transaction(9101, 0, 20.0);
    gc["gateway"] = json!("giftcertificate");
    gc["method"] = json!("gift_certificate");
    let card = transaction(9102, 0, 90.0);
    let mut b = bundle_100();
    b.order["id"] = json!(0);
    b.products = vec![order_product(0, 0, 0, "SKU-A", 2, "30.0000", "33.0000")];
    b.shipping_addresses = vec![shipping_address(0, 0)];
    b.transactions = vec![gc, card];
    let id = api.sim.create_order(b);
    let q = api
        .post(
            &format!("/v3/orders/{id}/payment_actions/refund_quotes"),
            json!({"items": [{"item_type": "ORDER", "item_id": id, "amount": 50}]}),
        )
        .await;
    assert_eq!(
        q.json()["data"]["refund_methods"][0],
        json!([
            {"provider_id": "giftcertificate", "provider_description": "giftcertificate", "amount": 20, "offline": false, "offline_provider": false, "offline_reason": ""},
            {"provider_id": "stripev3", "provider_description": "stripev3", "amount": 30, "offline": false, "offline_provider": false, "offline_reason": ""}
        ])
    );
    let r = api
        .post(
            &format!("/v3/orders/{id}/payment_actions/refunds"),
            json!({"items": [{"item_type": "ORDER", "item_id": id, "amount": 95}],
                   "payments": [{"provider_id": "stripev3", "amount": 95, "offline": false}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["data"][0]["title"],
        "The payment amount 95.00 exceeds the 90.00 left to refund to 'stripev3'"
    );
    let r = api
        .post(
            &format!("/v3/orders/{id}/payment_actions/refunds"),
            json!({"items": [{"item_type": "ORDER", "item_id": id, "amount": 50}],
                   "payments": [{"provider_id": "giftcertificate", "amount": 20, "offline": false},
                                {"provider_id": "stripev3", "amount": 30, "offline": false}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let t = api.get(&format!("/v3/orders/{id}/transactions")).await;
    let refunds: Vec<(Value, Value)> = t.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["event"] == "refund")
        .map(|t| (t["gateway"].clone(), t["reference_transaction_id"].clone()))
        .collect();
    assert_eq!(
        refunds,
        vec![
            (json!("giftcertificate"), json!(9101)),
            (json!("stripev3"), json!(9102))
        ]
    );
    // What is left on the gateways: 0 + 60; a quote for 70 no longer offers them.
    let q = api
        .post(
            &format!("/v3/orders/{id}/payment_actions/refund_quotes"),
            json!({"items": [{"item_type": "ORDER", "item_id": id, "amount": 60}]}),
        )
        .await;
    assert_eq!(
        q.json()["data"]["refund_methods"][0],
        json!([
            {"provider_id": "stripev3", "provider_description": "stripev3", "amount": 60, "offline": false, "offline_provider": false, "offline_reason": ""}
        ])
    );
}
