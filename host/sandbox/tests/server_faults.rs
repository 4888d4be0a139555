//! Fault-injection primitives: reproducible decisions and a really dropped connection.

use pearlbridge_sandbox::faults::{FaultKind, FaultRule, Faults, dropped_connection};

fn rules() -> Vec<FaultRule> {
    vec![
        FaultRule {
            method: Some("POST".into()),
            path: "/order-service/*".into(),
            probability: 0.3,
            kind: FaultKind::CommitThenDrop,
        },
        FaultRule {
            method: None,
            path: "*".into(),
            probability: 0.2,
            kind: FaultKind::Status { status: 502 },
        },
    ]
}

fn sequence(f: &Faults) -> Vec<Option<FaultKind>> {
    (0..200)
        .map(|i| {
            if i % 3 == 0 {
                f.decide("POST", "/order-service/sales-order")
            } else {
                f.decide("GET", &format!("/contact-service/contact/{i}"))
            }
        })
        .collect()
}

#[test]
fn same_seed_same_decisions_different_seed_differs() {
    let a = sequence(&Faults::new(42, rules()));
    let b = sequence(&Faults::new(42, rules()));
    let c = sequence(&Faults::new(43, rules()));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let commits = a
        .iter()
        .filter(|d| **d == Some(FaultKind::CommitThenDrop))
        .count();
    let statuses = a
        .iter()
        .filter(|d| **d == Some(FaultKind::Status { status: 502 }))
        .count();
    // 67 POSTs at 0.3 and ~ 200-commits requests at 0.2: loose bounds that a broken RNG fails.
    assert!((8..=35).contains(&commits), "{commits}");
    assert!((15..=70).contains(&statuses), "{statuses}");
    assert_eq!(a.iter().filter(|d| d.is_some()).count(), commits + statuses);
}

#[tokio::test]
async fn dropped_connection_is_a_client_error() {
    let app = axum::Router::new()
        .route(
            "/drop",
            axum::routing::get(|| async { dropped_connection() }),
        )
        .route("/ok", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let r = client.get(format!("http://{addr}/drop")).send().await;
    assert!(
        r.is_err(),
        "expected a transport error, got {:?}",
        r.map(|r| r.status())
    );
    let ok = client
        .get(format!("http://{addr}/ok"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "ok");
}
