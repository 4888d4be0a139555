//! The scripting endpoints under `/_sandbox/bigcommerce/`.
#![recursion_limit = "256"]

mod bigcommerce_support;

use bigcommerce_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use serde_json::{Value, json};

async fn admin(api: &Api, method: &str, path: &str, body: Option<Value>) -> (u16, Option<Value>) {
    let mut rb = api.client.request(
        method.parse().unwrap(),
        format!("{}/_sandbox/bigcommerce{path}", api.root),
    );
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            None
        } else {
            Some(serde_json::from_str(&text).unwrap())
        },
    )
}

#[tokio::test]
async fn scripting_endpoints() {
    let api = start_with(seed(), Clock::manual(), Faults::none(), 1000).await;
    let mut bundle = bundle_100();
    bundle.order["id"] = json!(0);
    let (s, b) = admin(
        &api,
        "POST",
        "/orders",
        Some(serde_json::to_value(&bundle).unwrap()),
    )
    .await;
    assert_eq!((s, b), (201, Some(json!({"id": 103}))));
    let (s, b) = admin(&api, "GET", "/orders/103", None).await;
    assert_eq!(s, 200);
    let b = b.unwrap();
    assert_eq!(b["id"], 103);
    assert_eq!(b["date_created"], json!(rfc2822(api.clock.now())));
    assert_eq!(b["total_inc_tax"], "110.0000");
    assert_eq!(admin(&api, "GET", "/orders/999", None).await.0, 404);
    let (s, b) = admin(
        &api,
        "PUT",
        "/orders/103/status",
        Some(json!({"status_id": 9})),
    )
    .await;
    assert_eq!(
        (s, b.unwrap()["status"].clone()),
        (200, json!("Awaiting Shipment"))
    );
    assert_eq!(
        admin(
            &api,
            "PUT",
            "/orders/999/status",
            Some(json!({"status_id": 9}))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        admin(&api, "PUT", "/orders/103/status", Some(json!({})))
            .await
            .0,
        400
    );

    api.post(
        "/v2/orders/100/shipments",
        json!({"order_address_id": 5001, "items": [{"order_product_id": 1002, "quantity": 1}]}),
    )
    .await;
    let (_, b) = admin(&api, "GET", "/orders/100/shipments", None).await;
    assert_eq!(
        b.unwrap()[0]["items"],
        json!([{"order_product_id": 1002, "product_id": 77, "quantity": 1}])
    );
    assert_eq!(
        admin(&api, "GET", "/shipment_emails", None).await.1,
        Some(json!([{"order_id": 100, "shipment_id": 1}]))
    );
    // The placed order took 2 + 1 of variant 501 off the default location.
    let (_, b) = admin(&api, "GET", "/inventory", None).await;
    assert_eq!(
        b.unwrap()[0],
        json!({"product_id": 77, "variant_id": 501, "sku": "SKU-A", "location_id": 1, "on_hand": 7, "safety_stock": 0})
    );
    assert_eq!(
        admin(&api, "GET", "/pricelists/1/records", None).await.1,
        Some(json!(seed().price_list_records))
    );
    assert_eq!(
        admin(&api, "PUT", "/webhook_callback", Some(json!({"url": null}))).await,
        (204, None)
    );
    assert_eq!(
        admin(&api, "GET", "/webhooks", None).await.1,
        Some(json!([]))
    );
    assert_eq!(
        admin(&api, "GET", "/stats", None).await.1,
        Some(json!({"request_count": api.sim.request_count(), "throttled_count": 0}))
    );
    assert_eq!(api.sim.request_count(), 1);
}
