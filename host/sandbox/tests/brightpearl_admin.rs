//! The sandbox admin API under `/_sandbox/brightpearl/` (no auth, not rate limited).

mod brightpearl_support;

use brightpearl_support::*;
use serde_json::{Value, json};

async fn admin(bp: &Bp, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = bp
        .client
        .request(method, format!("{}/_sandbox/brightpearl{path}", bp.base));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

#[tokio::test]
async fn admin_endpoints_script_the_account() {
    use reqwest::Method as M;
    let bp = start().await;
    bp.post("/order-service/sales-order", sales_order("ext-1"))
        .await;
    bp.post("/accounting-service/customer-payment", json!({"transactionRef": "t1", "paymentMethodCode": "BIGCOMMERCE",
        "paymentType": "RECEIPT", "orderId": 1001, "currencyIsoCode": "GBP", "amountPaid": "29.00", "paymentDate": "2024-05-01T10:16:00Z"})).await;

    let (s, orders) = admin(&bp, M::GET, "/sales-orders", None).await;
    assert_eq!(s, 200);
    assert_eq!(orders, json!(bp.sim.sales_orders()));
    assert_eq!(orders[0]["orderPaymentStatus"], "PAID");
    let (_, payments) = admin(&bp, M::GET, "/customer-payments", None).await;
    assert_eq!(payments[0]["transactionRef"], "t1");
    assert_eq!(payments[0]["amountPaid"], "29.00");
    let (_, contacts) = admin(&bp, M::GET, "/contacts", None).await;
    assert_eq!(contacts[0]["contactId"], 200);

    let (s, _) = admin(
        &bp,
        M::POST,
        "/stock",
        Some(json!({"productId": 1001, "warehouseId": 2, "onHand": 50})),
    )
    .await;
    assert_eq!(s, 204);
    let r = bp.get("/warehouse-service/product-availability/1001").await;
    assert_eq!(
        r.body["response"]["1001"]["total"],
        json!({"inStock": 52, "onHand": 50, "allocated": 2, "inTransit": 0})
    );

    let (s, v) = admin(&bp, M::POST, "/goods-out-notes", Some(json!({"orderId": 1001, "warehouseId": 2, "rows": [{"orderRowId": 5001, "quantity": 2}]}))).await;
    assert_eq!((s, v), (200, json!({"id": 70001})));
    let (s, v) = admin(&bp, M::POST, "/goods-out-notes", Some(json!({"orderId": 1001, "warehouseId": 2, "rows": [{"orderRowId": 5001, "quantity": 1}]}))).await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"error": "Row 5001: 1 more would exceed the ordered quantity 2 (2 already on notes)"})
        )
    );
    let (s, _) = admin(
        &bp,
        M::POST,
        "/goods-out-notes/70001/ship",
        Some(json!({"shippingMethodId": 7, "trackingReference": "TRK-9"})),
    )
    .await;
    assert_eq!(s, 204);
    let g = bp
        .get("/warehouse-service/order/1001/goods-note/goods-out/70001")
        .await;
    assert_eq!(
        g.body["response"]["70001"]["shipping"],
        json!({"reference": "TRK-9", "shippingMethodId": 7})
    );
    let (s, v) = admin(
        &bp,
        M::POST,
        "/goods-out-notes/70001/ship",
        Some(json!({"trackingReference": "again"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"error": "Goods-out note 70001 is already shipped"})
        )
    );

    let (s, _) = admin(&bp, M::POST, "/orders/1001/invoice", None).await;
    assert_eq!(s, 204);
    assert_eq!(
        bp.sim.sales_orders()[0]["invoices"][0]["invoiceReference"],
        "SI-1001"
    );
    let (s, v) = admin(&bp, M::POST, "/orders/1001/invoice", None).await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"error": "Order 1001 has already been invoiced"})
        )
    );

    let (s, _) = admin(&bp, M::PUT, "/faults", Some(json!([{"method": "GET", "path": "/warehouse-service/*", "probability": 1.0, "kind": {"Status": {"status": 500}}}]))).await;
    assert_eq!(s, 204);
    assert_eq!(bp.get("/warehouse-service/warehouse").await.status, 500);

    let (_, stats) = admin(&bp, M::GET, "/stats", None).await;
    assert_eq!(
        stats,
        json!({"requestCount": bp.sim.request_count(), "throttledCount": 0})
    );
    assert_eq!(stats["requestCount"], 5, "admin calls are not API requests");
    let (s, v) = admin(
        &bp,
        M::POST,
        "/consume-quota",
        Some(json!({"requests": 500})),
    )
    .await;
    assert_eq!((s, v), (200, json!({"consumed": 195})));
    let (s, d) = admin(&bp, M::GET, "/webhook-deliveries", None).await;
    assert_eq!((s, d), (200, json!([])));
}
