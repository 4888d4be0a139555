//! Fault injection on the Brightpearl simulator: status, dropped connections before and after
//! processing, latency on the simulated clock, and reproducibility by seed.

mod brightpearl_support;

use std::time::Duration;

use brightpearl_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::{FaultKind, FaultRule, Faults};
use serde_json::json;

fn rule(method: Option<&str>, path: &str, probability: f64, kind: FaultKind) -> FaultRule {
    FaultRule {
        method: method.map(str::to_string),
        path: path.into(),
        probability,
        kind,
    }
}

#[tokio::test]
async fn status_fault_is_not_processed_and_still_counted() {
    let faults = Faults::new(
        1,
        vec![rule(
            Some("POST"),
            "/order-service/sales-order",
            1.0,
            FaultKind::Status { status: 502 },
        )],
    );
    let bp = start_with(config(), Clock::manual(), faults).await;
    let r = bp
        .post("/order-service/sales-order", sales_order("ext-1"))
        .await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "CMNC-500", "message": "Simulated fault: HTTP 502"}]})
    );
    assert_eq!(r.remaining(), 199);
    assert!(r.header("ruid").is_some());
    assert!(bp.sim.sales_orders().is_empty());
    // GETs do not match the rule.
    assert_eq!(bp.get("/order-service/order/1001").await.status, 200);
    bp.sim.faults().set_rules(vec![]);
    assert_eq!(
        bp.post("/order-service/sales-order", sales_order("ext-1"))
            .await
            .body,
        json!({"response": 1001})
    );
}

#[tokio::test]
async fn drop_before_processing_creates_nothing() {
    let faults = Faults::new(
        1,
        vec![rule(
            None,
            "/order-service/*",
            1.0,
            FaultKind::DropBeforeProcessing,
        )],
    );
    let bp = start_with(config(), Clock::manual(), faults).await;
    let r = bp
        .try_send(
            reqwest::Method::POST,
            "/order-service/sales-order",
            Some(sales_order("ext-1")),
        )
        .await;
    assert!(r.is_err(), "connection dropped: {r:?}");
    assert!(bp.sim.sales_orders().is_empty());
    assert_eq!(bp.sim.request_count(), 1);
}

#[tokio::test]
async fn commit_then_drop_commits_and_the_retry_is_idempotent() {
    let faults = Faults::new(
        1,
        vec![
            rule(
                Some("POST"),
                "/order-service/sales-order",
                1.0,
                FaultKind::CommitThenDrop,
            ),
            rule(
                Some("POST"),
                "/accounting-service/customer-payment",
                1.0,
                FaultKind::CommitThenDrop,
            ),
        ],
    );
    let bp = start_with(config(), Clock::manual(), faults).await;
    let r = bp
        .try_send(
            reqwest::Method::POST,
            "/order-service/sales-order",
            Some(sales_order("ext-1")),
        )
        .await;
    assert!(r.is_err(), "response lost: {r:?}");
    assert_eq!(bp.sim.sales_orders().len(), 1, "the write happened");
    // The client looks the order up by externalRef before posting again.
    let found = bp
        .get("/order-service/order-search?externalRef=ext-1")
        .await;
    assert_eq!(search_rows(&found.body)[0]["orderId"], 1001);
    bp.sim.faults().set_rules(vec![rule(
        Some("POST"),
        "/accounting-service/customer-payment",
        1.0,
        FaultKind::CommitThenDrop,
    )]);
    let r = bp
        .post("/order-service/sales-order", sales_order("ext-1"))
        .await;
    assert_eq!(r.body, json!({"response": 1001}));
    assert_eq!(bp.sim.sales_orders().len(), 1);

    let pay = json!({"transactionRef": "t-1", "paymentMethodCode": "BIGCOMMERCE", "paymentType": "RECEIPT", "orderId": 1001,
                     "currencyIsoCode": "GBP", "amountPaid": "29.00", "paymentDate": "2024-05-01T10:16:00Z"});
    assert!(
        bp.try_send(
            reqwest::Method::POST,
            "/accounting-service/customer-payment",
            Some(pay.clone())
        )
        .await
        .is_err()
    );
    bp.sim.faults().set_rules(vec![]);
    let r = bp.post("/accounting-service/customer-payment", pay).await;
    assert_eq!(
        r.body["errors"][0]["code"], "ACCC-021",
        "the repeat is refused: the first one was committed"
    );
    assert_eq!(bp.sim.customer_payments().len(), 1);
}

#[tokio::test]
async fn latency_waits_on_the_simulated_clock() {
    let clock = Clock::manual();
    let faults = Faults::new(
        1,
        vec![rule(
            Some("GET"),
            "/warehouse-service/warehouse",
            1.0,
            FaultKind::Latency { ms: 30_000 },
        )],
    );
    let bp = Arc::new(start_with(config(), clock.clone(), faults).await);
    let b2 = bp.clone();
    let pending = tokio::spawn(async move { b2.get("/warehouse-service/warehouse").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !pending.is_finished(),
        "held until 30 simulated seconds pass"
    );
    clock.advance_ms(29_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!pending.is_finished());
    clock.advance_ms(1_000);
    let r = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body["response"][0]["name"], "Main");
}

use std::sync::Arc;

async fn outcome_sequence(seed: u64) -> Vec<String> {
    let rules = vec![
        rule(
            Some("GET"),
            "/warehouse-service/*",
            0.3,
            FaultKind::Status { status: 503 },
        ),
        rule(None, "*", 0.2, FaultKind::DropBeforeProcessing),
    ];
    let bp = start_with(config(), Clock::manual(), Faults::new(seed, rules)).await;
    let mut out = Vec::new();
    for i in 0..60 {
        let path = if i % 2 == 0 {
            "/warehouse-service/warehouse"
        } else {
            "/product-service/price-list"
        };
        out.push(match bp.try_send(reqwest::Method::GET, path, None).await {
            Ok(r) => r.status.as_u16().to_string(),
            Err(_) => "dropped".into(),
        });
    }
    out
}

#[tokio::test]
async fn same_seed_same_faults() {
    let a = outcome_sequence(99).await;
    let b = outcome_sequence(99).await;
    let c = outcome_sequence(100).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    for kind in ["200", "503", "dropped"] {
        assert!(a.iter().any(|o| o == kind), "{kind} missing from {a:?}");
    }
    // 503 only ever on the warehouse path (even indexes).
    assert!(a.iter().enumerate().all(|(i, o)| o != "503" || i % 2 == 0));
}
