//! Goods-out notes (create, GET by order, search, update, ship) and webhooks.

mod brightpearl_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use brightpearl_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use serde_json::{Value, json};

type Received = Arc<Mutex<Vec<(String, String, String)>>>; // (path+query, content-type, body)

/// A webhook receiver: `/ok` answers 200, `/flaky` answers 500 on the first call then 200.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
            let g = g.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let path = uri.path().to_string();
                let mut l = g.lock().unwrap();
                let first_flaky =
                    path == "/flaky" && !l.iter().any(|(p, _, _)| p.starts_with("/flaky"));
                l.push((uri.to_string(), ct, body));
                if first_flaky {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), got)
}

async fn wait_for(got: &Received, n: usize) -> Vec<(String, String, String)> {
    for _ in 0..200 {
        if got.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    got.lock().unwrap().clone()
}

#[tokio::test]
async fn goods_out_note_lifecycle() {
    let clock = Clock::manual();
    let bp = start_with(config(), clock.clone(), Faults::none()).await;
    let now = bp_time(clock.now());
    let mut so = sales_order("ext-1");
    so["rows"][0]["quantity"] = json!("3");
    so["rows"][0]["net"] = json!("30.00");
    so["rows"][0]["tax"] = json!("6.00");
    bp.post("/order-service/sales-order", so).await;

    // Part shipment: 2 of 3 via the API.
    let r = bp
        .post(
            "/warehouse-service/order/1001/goods-note/goods-out",
            json!({"warehouses": [{"releaseDate": "2024-05-02T09:00:00Z", "warehouseId": 2, "transfer": false,
                                   "products": [{"productId": 1001, "salesOrderRowId": 5001, "quantity": 2}]}],
                   "priority": false, "shippingMethodId": 6}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({"response": [70001]}))
    );
    // More than ordered is refused; free-text rows cannot go on a note.
    let over = json!({"warehouses": [{"warehouseId": 2, "products": [{"salesOrderRowId": 5001, "quantity": 2}]}]});
    let r = bp
        .post("/warehouse-service/order/1001/goods-note/goods-out", over)
        .await;
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "WHSC-001", "message": "Row 5001: 2 more would exceed the ordered quantity 3 (2 already on notes)"}]})
    );
    let free = json!({"warehouses": [{"warehouseId": 2, "products": [{"salesOrderRowId": 5002, "quantity": 1}]}]});
    assert_eq!(
        bp.post("/warehouse-service/order/1001/goods-note/goods-out", free)
            .await
            .status,
        400
    );

    let r = bp
        .get("/warehouse-service/order/1001/goods-note/goods-out")
        .await;
    let unshipped = json!({"response": {"70001": {
        "orderId": 1001, "warehouseId": 2, "transfer": false, "priority": false,
        "status": {"shipped": false, "packed": false, "picked": false, "printed": false,
                   "shippedOn": null, "packedOn": null, "pickedOn": null, "printedOn": null,
                   "shippedById": null, "packedById": null, "pickedById": null, "printedById": null},
        "shipping": {"reference": "", "shippingMethodId": 6},
        "releaseDate": "2024-05-02T09:00:00Z", "createdOn": now, "createdBy": 4,
        "orderRows": {"5001": [{"productId": 1001, "quantity": 2, "locationId": 2}]},
        "sequence": 1,
        "events": [{"occured": now, "eventOwnerId": 4, "eventCode": "PLA"}],
        "lastEventVersion": 1}}});
    assert_eq!(r.body, unshipped);
    assert_eq!(
        bp.get("/warehouse-service/order/1001/goods-note/goods-out/")
            .await
            .body,
        unshipped
    );
    assert_eq!(
        bp.get("/warehouse-service/order/*/goods-note/goods-out/70001")
            .await
            .body,
        unshipped
    );
    assert_eq!(
        bp.get("/warehouse-service/order/1001/goods-note/goods-out/70002")
            .await
            .body,
        json!({"response": {}})
    );
    assert_eq!(
        bp.get("/warehouse-service/order/1-501/goods-note/goods-out")
            .await
            .status,
        414
    );
    assert_eq!(
        bp.get("/order-service/order/1001").await.body["response"][0]["stockStatusCode"],
        "SOP"
    );

    // Tracking number before shipping via PUT; then ship through the scripting API.
    let r = bp
        .put(
            "/warehouse-service/goods-note/goods-out/70001",
            json!({"priority": true, "shipping": {"shippingMethodId": 7, "reference": "1Z999"}}),
        )
        .await;
    assert_eq!(r.body, json!({"response": {}}));
    clock.advance_ms(3_600_000);
    let shipped_on = bp_time(clock.now());
    bp.sim
        .ship_goods_out_note(70001, None, "1Z999AA10123456784");
    let g = bp
        .get("/warehouse-service/order/1001/goods-note/goods-out")
        .await
        .body["response"]["70001"]
        .clone();
    assert_eq!(g["status"]["shipped"], true);
    assert_eq!(g["status"]["shippedOn"], shipped_on);
    assert_eq!(
        g["shipping"],
        json!({"reference": "1Z999AA10123456784", "shippingMethodId": 7})
    );
    assert_eq!(g["priority"], true);
    let codes: Vec<&str> = g["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["PLA", "PRI", "PIC", "PAC", "SHW"]);
    assert_eq!(g["lastEventVersion"], 2);
    // Shipped notes are locked.
    let r = bp
        .put(
            "/warehouse-service/goods-note/goods-out/70001",
            json!({"shipping": {"reference": "x"}}),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "WHSC-001", "message": "Goods-out note 70001 is shipped and cannot be changed"}]})
    );

    // Shipping took 2 out of stock and released their allocation; 1 stays allocated.
    let r = bp.get("/warehouse-service/product-availability/1001").await;
    assert_eq!(
        r.body["response"]["1001"]["total"],
        json!({"inStock": 8, "onHand": 7, "allocated": 1, "inTransit": 0})
    );
    let o = bp.get("/order-service/order/1001").await.body["response"][0].clone();
    assert_eq!(
        (
            o["shippingStatusCode"].as_str(),
            o["allocationStatusCode"].as_str()
        ),
        (Some("SPS"), Some("AAA"))
    );

    // The rest via the scripting API and the SHW event endpoint.
    let gon = bp.sim.create_goods_out_note(1001, 2, vec![(5001, 1)]);
    assert_eq!(gon, 70002);
    let r = bp.post("/warehouse-service/goods-note/goods-out/70002/event", json!({"events": [{"eventCode": "SHW", "occured": "2024-05-02T15:00:00Z", "eventOwnerId": 4}]})).await;
    assert_eq!(r.body, json!({"response": {}}));
    let o = bp.get("/order-service/order/1001").await.body["response"][0].clone();
    assert_eq!(
        (
            o["shippingStatusCode"].as_str(),
            o["stockStatusCode"].as_str()
        ),
        (Some("ASS"), Some("SOA"))
    );

    let r = bp
        .get("/warehouse-service/goods-note/goods-out-search?shipped=true&orderId=1001")
        .await;
    let rows = search_rows(&r.body);
    assert_eq!(
        rows.iter()
            .map(|x| x["goodsOutNoteId"].clone())
            .collect::<Vec<_>>(),
        vec![json!(70001), json!(70002)]
    );
    assert_eq!(rows[0]["shippedOn"], shipped_on);
    assert_eq!(rows[0]["channelId"], 4);
    let r = bp
        .get("/warehouse-service/goods-note/goods-out-search?shipped=false")
        .await;
    assert_eq!(r.body["response"]["metaData"]["resultsAvailable"], 0);
    let r = bp
        .get(&format!(
            "/warehouse-service/goods-note/goods-out-search?shippedOn={}/",
            shipped_on
        ))
        .await;
    assert_eq!(r.body["response"]["metaData"]["resultsAvailable"], 2);
}

#[tokio::test]
async fn webhooks_registered_via_api_are_delivered() {
    let (hook_base, got) = receiver().await;
    let bp = start_with(config(), Clock::scaled(1000.0), Faults::none()).await;

    let r = bp.post("/integration-service/webhook", json!({"subscribeTo": "order.created", "httpMethod": "POST",
        "uriTemplate": format!("{hook_base}/ok"), "bodyTemplate": "{}", "contentType": "application/json"})).await;
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "INTC-064", "message": "Event order.created is not subscribable"}]})
    );
    let r = bp.post("/integration-service/webhook", json!({"subscribeTo": "goods-out-note", "httpMethod": "POST", "uriTemplate": "http://x"})).await;
    assert_eq!(r.body["errors"][0]["code"], "INTC-001");

    let template = r#"{"accountCode":"${account-code}","resourceType":"${resource-type}","id":"${resource-id}","lifecycleEvent":"${lifecycle-event}","fullEvent":"${full-event}","raisedOn":"${raised-on}"}"#;
    let r = bp.post("/integration-service/webhook", json!({"subscribeTo": "goods-out-note.modified.shipped", "httpMethod": "POST",
        "uriTemplate": format!("{hook_base}/ok?k=SECRET&e=${{full-event}}"), "bodyTemplate": template,
        "contentType": "application/json", "idSetAccepted": true, "qualityOfService": 1})).await;
    assert_eq!(r.body, json!({"response": 1}));
    let r = bp.post("/integration-service/webhook", json!({"subscribeTo": "product", "httpMethod": "POST",
        "uriTemplate": format!("{hook_base}/flaky"), "bodyTemplate": "${resource-id}|${lifecycle-event}|${resource-specifier}",
        "contentType": "text/plain", "idSetAccepted": false, "qualityOfService": 1})).await;
    assert_eq!(r.body, json!({"response": 2}));
    let r = bp
        .post(
            "/integration-service/webhook",
            json!({"subscribeTo": "sales-order.created", "httpMethod": "GET",
        "uriTemplate": format!("{hook_base}/ok?created=${{resource-id}}")}),
        )
        .await;
    assert_eq!(r.body, json!({"response": 3}));
    let r = bp.get("/integration-service/webhook").await;
    assert_eq!(r.body["response"].as_array().unwrap().len(), 3);
    assert_eq!(
        r.body["response"][0]["subscribeTo"],
        "goods-out-note.modified.shipped"
    );

    // Order creation → sales-order.created (GET, no body) and on-hand change for 1001 (product hook).
    bp.post("/order-service/sales-order", sales_order("ext-1"))
        .await;
    let calls = wait_for(&got, 3).await;
    assert_eq!(calls.len(), 3);
    let created: Vec<_> = calls.iter().filter(|c| c.0.contains("created=")).collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, "/ok?created=1001");
    assert_eq!(created[0].2, "");
    let flaky: Vec<_> = calls.iter().filter(|c| c.0 == "/flaky").collect();
    assert_eq!(flaky.len(), 2, "500 then a retry (QoS 1)");
    assert_eq!(flaky[1].1, "text/plain");
    assert_eq!(flaky[1].2, "1001|modified|on-hand-modified");

    let gon = bp.sim.create_goods_out_note(1001, 2, vec![(5001, 2)]);
    let raised = bp.sim.clock().now();
    bp.sim.ship_goods_out_note(gon, Some(6), "TRACK-1");
    let calls = wait_for(&got, 5).await;
    assert_eq!(calls.len(), 5);
    let shipped: Vec<_> = calls
        .iter()
        .filter(|c| c.0.starts_with("/ok?k=SECRET"))
        .collect();
    assert_eq!(shipped.len(), 1);
    assert_eq!(
        shipped[0].0,
        "/ok?k=SECRET&e=goods-out-note.modified.shipped"
    );
    assert_eq!(shipped[0].1, "application/json");
    let body: Value = serde_json::from_str(&shipped[0].2).unwrap();
    assert_eq!(body["accountCode"], ACCOUNT);
    assert_eq!(body["resourceType"], "goods-out-note");
    assert_eq!(body["id"], gon.to_string());
    assert_eq!(body["lifecycleEvent"], "modified");
    assert_eq!(body["fullEvent"], "goods-out-note.modified.shipped");
    let raised_on =
        chrono::DateTime::parse_from_rfc3339(body["raisedOn"].as_str().unwrap()).unwrap();
    assert!((raised_on.timestamp_millis() - raised.timestamp_millis()).abs() < 5_000);
    let flaky_after: Vec<_> = calls.iter().filter(|c| c.0 == "/flaky").collect();
    assert_eq!(flaky_after.len(), 3);
    assert_eq!(flaky_after[2].2, "1001|modified|on-hand-modified");

    let log = bp.sim.webhook_deliveries();
    assert!(
        log.iter()
            .any(|d| d.event == "goods-out-note.modified.shipped"
                && d.status == Some(200)
                && d.attempts == 1)
    );
    assert!(
        log.iter()
            .any(|d| d.webhook_id == 2 && d.status == Some(200) && d.attempts == 2)
    );

    let r = bp
        .try_send(
            reqwest::Method::DELETE,
            "/integration-service/webhook/1",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (r.status.as_u16(), r.body),
        (200, json!({})),
        "a DELETE answers a bare {{}} [obs]"
    );
    assert_eq!(
        bp.get("/integration-service/webhook/1-3").await.body["response"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A GET of webhooks none of which exists is a 404 CMNC-404, not 200 [].
    let r = bp.get("/integration-service/webhook/1").await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            404,
            json!({"errors": [{"code": "CMNC-404", "message": "No webhooks found"}]})
        )
    );
    let r = bp
        .try_send(
            reqwest::Method::DELETE,
            "/integration-service/webhook/1",
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404, "deleting a deleted webhook");
}

#[tokio::test]
async fn subscribe_callback_registers_the_sync_events() {
    let (hook_base, got) = receiver().await;
    let bp = start().await;
    assert_eq!(
        bp.sim.subscribe_callback(&format!("{hook_base}/bp")),
        vec![1, 2, 3]
    );
    bp.sim.set_stock(1002, 3, 1);
    let calls = wait_for(&got, 1).await;
    assert_eq!(calls.len(), 1);
    let body: Value = serde_json::from_str(&calls[0].2).unwrap();
    assert_eq!(body["fullEvent"], "product.modified.on-hand-modified");
    assert_eq!(body["id"], "1002");
    assert_eq!(calls[0].0, "/bp");
}

#[tokio::test]
async fn webhook_simulate_sends_only_that_hook() {
    let (hook_base, got) = receiver().await;
    let bp = start().await;
    for path in ["a", "b"] {
        bp.post("/integration-service/webhook", json!({"subscribeTo": "product.modified.on-hand-modified", "httpMethod": "POST",
            "uriTemplate": format!("{hook_base}/{path}"), "bodyTemplate": "${resource-id}", "contentType": "text/plain",
            "idSetAccepted": true, "qualityOfService": 0})).await;
    }
    let r = bp
        .post(
            "/integration-service/webhook/2/simulate",
            json!({"testData": {"${resource-id}": "1-5"}}),
        )
        .await;
    assert_eq!(r.body, json!({"response": {}}));
    let calls = wait_for(&got, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(got.lock().unwrap().len(), 1);
    assert_eq!((calls[0].0.as_str(), calls[0].2.as_str()), ("/b", "1-5"));
    let r = bp
        .post(
            "/integration-service/webhook/2/simulate",
            json!({"testData": {"${resource-id}": "1-11"}}),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "INTC-001", "message": "At most 10 resource ids can be simulated"}]})
    );
    assert_eq!(
        bp.post(
            "/integration-service/webhook/9/simulate",
            json!({"testData": {"${resource-id}": "1"}})
        )
        .await
        .status,
        404
    );
}
