//! Hooks CRUD, webhook deliveries (payload and custom headers), and fault injection.
#![recursion_limit = "256"]

mod bigcommerce_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use bigcommerce_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::{FaultKind, FaultRule, Faults};
use pearlbridge_sandbox::seed::BigCommerceOrderBundle;
use serde_json::{Value, json};

const TYPE: &str = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";

type Got = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A callback receiver recording `(X-Secret header, body)`.
async fn receiver() -> (String, Got) {
    let got: Got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let g = g.clone();
            async move {
                let secret = headers
                    .get("x-secret")
                    .map(|v| v.to_str().unwrap().to_string());
                g.lock()
                    .unwrap()
                    .push((secret, serde_json::from_str(&body).unwrap()));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

async fn wait_for(got: &Got, n: usize) -> Vec<(Option<String>, Value)> {
    let start = Instant::now();
    while got.lock().unwrap().len() < n && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    got.lock().unwrap().clone()
}

#[tokio::test]
async fn hooks_crud() {
    let api = start_with(seed(), Clock::manual(), Faults::none(), 1000).await;
    let now = api.clock.now().timestamp();
    let r = api
        .post("/v3/hooks", json!({"scope": "store/order/*", "destination": "https://erp.example.com/bc", "is_active": true,
                                  "headers": {"X-Secret": "s3cret"}}))
        .await;
    assert_eq!(r.status, 200);
    let hook = json!({"id": 1, "client_id": format!("sandbox-client-{HASH}"), "store_hash": HASH, "scope": "store/order/*",
                      "destination": "https://erp.example.com/bc", "headers": {"X-Secret": "s3cret"}, "is_active": true,
                      "created_at": now, "updated_at": now});
    assert_eq!(r.json(), &json!({"data": hook, "meta": {}}));
    let r = api
        .post(
            "/v3/hooks",
            json!({"scope": "store/order/*", "destination": "https://erp.example.com/bc"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        &json!({"status": 422, "title": "A hook with this scope and destination already exists.", "type": TYPE, "errors": {}})
    );
    let r = api
        .post(
            "/v3/hooks",
            json!({"scope": "orders", "destination": "http://erp.example.com:8080/bc"}),
        )
        .await;
    assert_eq!(
        r.json(),
        &json!({"status": 422, "title": "Input is invalid", "type": TYPE,
                "errors": {"scope": "must be a store/... webhook scope", "destination": "must be an https URL on port 443"}})
    );
    api.post(
        "/v3/hooks",
        json!({"scope": "store/shipment/created", "destination": "https://erp.example.com/bc"}),
    )
    .await;
    let r = api.get("/v3/hooks").await;
    assert_eq!(r.json()["meta"]["pagination"]["total"], 2);
    assert_eq!(r.json()["data"][0], hook);
    assert_eq!(
        api.get("/v3/hooks?scope=store/shipment/created")
            .await
            .json()["data"][0]["id"],
        2
    );
    api.clock.advance_ms(10_000);
    let r = api.put("/v3/hooks/1", json!({"is_active": false})).await;
    assert_eq!(r.json()["data"]["is_active"], false);
    assert_eq!(r.json()["data"]["updated_at"], now + 10);
    assert_eq!(
        api.get("/v3/hooks?is_active=true").await.json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/v3/hooks/1").await.json()["data"]["is_active"],
        false
    );
    let r = api.get("/v3/hooks/admin").await;
    let mut listed = hook.clone();
    listed["is_active"] = json!(false);
    listed["updated_at"] = json!(now + 10);
    listed["status"] = json!("inactive");
    assert_eq!(r.json()["data"]["hooks_list"][0], listed);
    assert_eq!(r.json()["data"]["hooks_list"][1]["status"], "active");
    assert_eq!(r.json()["data"]["blocked_domains"], json!([]));
    let r = api
        .put("/v3/hooks/admin", json!({"emails": ["ops@example.com"]}))
        .await;
    assert_eq!(r.json()["data"]["emails"], json!(["ops@example.com"]));
    assert_eq!(
        api.put("/v3/hooks/admin", json!({"emails": "ops"}))
            .await
            .status,
        422
    );
    let r = api.send("DELETE", "/v3/hooks/2", None).await;
    assert_eq!(r.json()["data"]["id"], 2);
    assert_eq!(api.get("/v3/hooks/2").await.status, 404);
}

#[tokio::test]
async fn webhooks_are_posted_with_the_registered_headers() {
    let api = start_with(seed(), Clock::manual(), Faults::none(), 1000).await;
    let (url, got) = receiver().await;
    api.sim.set_webhook_callback(Some(url.clone()));
    api.post("/v3/hooks", json!({"scope": "store/order/*", "destination": "https://erp.example.com/bc", "headers": {"X-Secret": "s3cret"}}))
        .await;
    api.post("/v3/hooks", json!({"scope": "store/shipment/*", "destination": "https://erp.example.com/ship", "headers": {"X-Secret": "ship"}}))
        .await;
    api.post("/v3/hooks", json!({"scope": "store/sku/inventory/updated", "destination": "https://erp.example.com/inv", "is_active": false}))
        .await;
    let id = api.sim.create_order(BigCommerceOrderBundle {
        order: order_json(0, 11, "", 0),
        ..Default::default()
    });
    assert_eq!(id, 103);
    let got1 = wait_for(&got, 1).await;
    let store_id = api.sim.store_id();
    assert!(store_id.parse::<u64>().is_ok());
    assert_eq!(
        got1,
        vec![(
            Some("s3cret".to_string()),
            json!({"scope": "store/order/created", "store_id": store_id, "data": {"type": "order", "id": 103},
            "hash": "a0d7395167e2175f69159aa1ade9ae7307d54b7b", "created_at": api.clock.now().timestamp(), "producer": format!("stores/{HASH}")})
        )]
    );
    // A shipment: shipment/created to the shipment hook, order updated + statusUpdated to the order hook.
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 5001, "items": [{"order_product_id": 1001, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let all = wait_for(&got, 4).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[1].0.as_deref(), Some("ship"));
    assert_eq!(
        all[1].1["data"],
        json!({"type": "shipment", "id": 1, "orderId": 100})
    );
    assert_eq!(all[1].1["hash"], "64c15b1e4428c62dd3a82ae4046ebefc4b95f0a1");
    assert_eq!(all[2].1["scope"], "store/order/updated");
    assert_eq!(all[3].1["scope"], "store/order/statusUpdated");
    assert_eq!(
        all[3].1["data"],
        json!({"type": "order", "id": 100, "status": {"previous_status_id": 11, "new_status_id": 3}})
    );
    // The inactive inventory hook gets nothing; the deliveries are logged with the callback status.
    api.put(
        "/v3/inventory/adjustments/absolute",
        json!({"items": [{"location_id": 1, "variant_id": 501, "quantity": 1}]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(got.lock().unwrap().len(), 4);
    let log = api.sim.webhook_deliveries();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|d| d.status == Some(200) && d.url == url));
    // Refund webhook carries the refund id.
    api.sim.create_refund(
        100,
        json!({"total_amount": 5.0, "total_tax": 0, "items": [], "payments": []}),
    );
    let all = wait_for(&got, 7).await;
    assert_eq!(
        all[4].1["data"],
        json!({"type": "order", "id": 100, "refund": {"refund_id": 1}})
    );
    assert_eq!(all[4].1["scope"], "store/order/refund/created");
}

fn rule(method: &str, path: &str, kind: FaultKind) -> FaultRule {
    FaultRule {
        method: Some(method.into()),
        path: path.into(),
        probability: 1.0,
        kind,
    }
}

#[tokio::test]
async fn faults_before_and_after_processing() {
    let faults = Faults::new(
        7,
        vec![
            rule("GET", "/v2/orders/100", FaultKind::Status { status: 503 }),
            rule("GET", "/v3/catalog/*", FaultKind::Status { status: 500 }),
            rule("PUT", "/v2/orders/100", FaultKind::DropBeforeProcessing),
            rule(
                "POST",
                "/v2/orders/100/shipments",
                FaultKind::CommitThenDrop,
            ),
            rule("GET", "/v2/time", FaultKind::Latency { ms: 30_000 }),
            rule("GET", "/v3/customers", FaultKind::Status { status: 429 }),
        ],
    );
    let api = start_with(seed(), Clock::scaled(60.0), faults, 1000).await;
    let r = api.get("/v2/orders/100").await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json(),
        &json!([{"status": 503, "message": "Service Unavailable"}])
    );
    assert!(r.header("x-rate-limit-requests-left").is_some());
    let r = api.get("/v3/catalog/products").await;
    assert_eq!(
        r.json(),
        &json!({"status": 500, "title": "Internal Server Error", "type": TYPE, "errors": {}})
    );
    // An injected 429 is "platform under load": no rate-limit headers.
    let r = api.get("/v3/customers").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["title"], "Too Many Requests");
    assert_eq!(r.header("x-rate-limit-requests-left"), None);
    // Dropped before processing: a transport error, nothing changed.
    let r = api
        .try_send(
            "PUT",
            "/v2/orders/100",
            Some(json!({"status_id": 5})),
            Some(TOKEN),
        )
        .await;
    assert!(r.is_err());
    assert_eq!(api.sim.order(100).unwrap()["status_id"], 11);
    // Committed then dropped: a transport error, but the shipment exists and the email went out.
    let r = api
        .try_send("POST", "/v2/orders/100/shipments",
                  Some(json!({"order_address_id": 5001, "items": [{"order_product_id": 1002, "quantity": 1}]})), Some(TOKEN))
        .await;
    assert!(r.is_err());
    assert_eq!(api.sim.shipments(100).len(), 1);
    assert_eq!(api.sim.shipment_emails_sent(), vec![(100, 1)]);
    // 30 simulated seconds at 60× ≈ 0.5 real seconds.
    let start = Instant::now();
    let r = api.get("/v2/time").await;
    assert_eq!(r.status, 200);
    assert!(
        start.elapsed() >= Duration::from_millis(450),
        "{:?}",
        start.elapsed()
    );
    // Unaffected paths answer normally.
    assert_eq!(api.get("/v2/orders/102").await.status, 200);
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_the_documented_schedule() {
    // 300 simulated ms per real ms: the 60 s and 180 s retries come after 0.2 s and 0.6 s.
    let clock = Clock::scaled(300.0);
    let api = start_with(seed(), clock.clone(), Faults::none(), 1000).await;
    let calls: Arc<Mutex<Vec<(u64, Value)>>> = Arc::new(Mutex::new(Vec::new()));
    let c = calls.clone();
    let ck = clock.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: String| {
            let c = c.clone();
            let ck = ck.clone();
            async move {
                let mut calls = c.lock().unwrap();
                calls.push((ck.elapsed_ms(), serde_json::from_str(&body).unwrap()));
                // Fail the first two attempts.
                if calls.len() <= 2 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    api.sim
        .set_webhook_callback(Some(format!("http://{addr}/hook")));
    api.post(
        "/v3/hooks",
        json!({"scope": "store/order/statusUpdated", "destination": "https://erp.example.com/bc"}),
    )
    .await;
    assert!(api.sim.update_order_status(100, 9));
    let start = Instant::now();
    while api
        .sim
        .webhook_deliveries()
        .first()
        .is_none_or(|d| d.status != Some(200))
        && start.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    assert!(
        calls.iter().all(|(_, p)| p == &calls[0].1),
        "the same payload (same hash) each time"
    );
    assert_eq!(
        calls[0].1["data"]["status"],
        json!({"previous_status_id": 11, "new_status_id": 9})
    );
    let gaps: Vec<u64> = calls.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert!(gaps[0] >= 60_000 && gaps[0] < 180_000, "{gaps:?}");
    assert!(gaps[1] >= 180_000 && gaps[1] < 300_000, "{gaps:?}");
    let log = api.sim.webhook_deliveries();
    assert_eq!(
        (log.len(), log[0].attempts, log[0].status),
        (1, 3, Some(200))
    );
}

#[tokio::test]
async fn a_placed_order_moves_stock_and_says_so() {
    let api = start_with(seed(), Clock::manual(), Faults::none(), 1000).await;
    let (url, got) = receiver().await;
    api.sim.set_webhook_callback(Some(url));
    api.post(
        "/v3/hooks",
        json!({"scope": "store/sku/inventory/order/updated", "destination": "https://erp.example.com/inv", "headers": {"X-Secret": "inv"}}),
    )
    .await;
    let r = api.get("/v3/settings/inventory").await;
    assert_eq!(
        r.json(),
        &json!({"data": {"update_stock_behavior": "order_placed", "edit_order_stock_adjustment": true,
                         "refund_order_stock_adjustment": true}, "meta": {}})
    );
    let mut b = bundle_100();
    b.order["id"] = json!(0);
    let mut by_sku = order_product(0, 0, 0, "SKU-B", 3, "30.0000", "33.0000");
    by_sku.as_object_mut().unwrap().remove("variant_id");
    b.products = vec![
        order_product(0, 0, 0, "SKU-A", 2, "30.0000", "33.0000"),
        by_sku,
    ];
    api.sim.create_order(b);
    let all = wait_for(&got, 2).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0.as_deref(), Some("inv"));
    assert_eq!(all[0].1["scope"], "store/sku/inventory/order/updated");
    assert_eq!(
        all[0].1["data"],
        json!({"type": "sku", "id": 501, "inventory": {"product_id": 77, "variant_id": 501, "method": "relative", "value": -2}})
    );
    assert_eq!(
        all[1].1["data"]["inventory"],
        json!({"product_id": 77, "variant_id": 502, "method": "relative", "value": -3})
    );
    let r = api
        .get("/v3/catalog/variants?product_id=77&include_fields=inventory_level")
        .await;
    assert_eq!(
        r.json()["data"],
        json!([{"id": 501, "inventory_level": 8}, {"id": 502, "inventory_level": 1}])
    );
    assert_eq!(
        api.get("/v3/catalog/products/77").await.json()["data"]["inventory_level"],
        9
    );
}
