//! `Sandbox::start`: both simulators on their own listeners, one clock, config applied.

mod brightpearl_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pearlbridge_sandbox::faults::{FaultKind, FaultRule};
use pearlbridge_sandbox::seed::StoreSeed;
use pearlbridge_sandbox::server::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

#[tokio::test]
async fn starts_both_simulators_and_shuts_down() {
    // Webhook receiver for the callback.
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
        let g = g.clone();
        async move {
            g.lock().unwrap().push((uri.path().to_string(), body));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let cfg = SandboxConfig {
        seed: StoreSeed {
            brightpearl: brightpearl_support::seed(),
            ..Default::default()
        },
        time_scale: 60.0,
        fault_seed: 5,
        brightpearl_faults: vec![FaultRule {
            method: None,
            path: "/product-service/*".into(),
            probability: 1.0,
            kind: FaultKind::Status { status: 500 },
        }],
        brightpearl_requests_per_minute: 4,
        webhook_callback: Some(format!("{hook}/hooks/{{system}}")),
        ..Default::default()
    };
    let sb = Sandbox::start(cfg).await.unwrap();
    assert_eq!(sb.clock.factor(), 60.0);
    let bc = sb.info.bigcommerce.clone();
    let bp = sb.info.brightpearl.clone();
    assert!(bc.base_url.starts_with("http://127.0.0.1:"));
    assert!(bp.base_url.starts_with("http://127.0.0.1:"));
    assert_ne!(bc.base_url, bp.base_url);
    assert_eq!(
        (bc.store_hash.as_str(), bc.token.as_str()),
        ("sandbox", "sandbox-token")
    );
    assert_eq!(
        (bp.account.as_str(), bp.app_ref.as_str(), bp.token.as_str()),
        (
            "pearlbridge",
            "pearlbridge-sync",
            "sandbox-brightpearl-token"
        )
    );
    let info = serde_json::to_value(&sb.info).unwrap();
    assert_eq!(info["brightpearl"]["account"], "pearlbridge");
    assert_eq!(info["bigcommerce"]["store_hash"], "sandbox");

    let client = reqwest::Client::new();
    let bp_get = |path: &str| {
        client
            .get(format!("{}/public-api/{}{path}", bp.base_url, bp.account))
            .header("brightpearl-app-ref", &bp.app_ref)
            .header("brightpearl-account-token", &bp.token)
            .send()
    };
    let r = bp_get("/warehouse-service/warehouse").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["brightpearl-requests-remaining"], "3");
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"response": [{"id": 2, "name": "Main"}, {"id": 3, "name": "Overflow"}]})
    );
    // Brightpearl fault rules from the config.
    assert_eq!(
        bp_get("/product-service/price-list")
            .await
            .unwrap()
            .status(),
        500
    );
    assert_eq!(
        bp_get("/warehouse-service/warehouse")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        bp_get("/warehouse-service/warehouse")
            .await
            .unwrap()
            .status(),
        200
    );
    // requests_per_minute = 4.
    assert_eq!(
        bp_get("/warehouse-service/warehouse")
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(sb.brightpearl.throttled_count(), 1);

    // BigCommerce answers on its own listener with its own credentials.
    let r = client
        .get(format!("{}/stores/{}/v2/time", bc.base_url, bc.store_hash))
        .header("x-auth-token", &bc.token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(sb.bigcommerce.request_count() >= 1);

    // The Brightpearl webhooks go to the callback with {system} = brightpearl.
    sb.brightpearl.set_stock(1001, 2, 3);
    let mut calls = Vec::new();
    for _ in 0..200 {
        calls = got.lock().unwrap().clone();
        if !calls.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "/hooks/brightpearl");
    let body: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(body["fullEvent"], "product.modified.on-hand-modified");
    assert_eq!(body["accountCode"], "pearlbridge");

    let bp_url = bp.base_url.clone();
    sb.shutdown().await;
    let after = reqwest::Client::new()
        .get(format!(
            "{bp_url}/public-api/pearlbridge/warehouse-service/warehouse"
        ))
        .send()
        .await;
    assert!(after.is_err(), "listener closed after shutdown");
}
