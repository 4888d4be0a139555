//! Issue #13 item 2: `pearlbridge serve` posts each team's new exceptions to its chat webhook:
//! once per exception, bursts as a digest, retried after a failed delivery, never a secret.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_capabilities::exceptions::{Money, NewException, Team};
use pearlbridge_capabilities::state::{ExceptionFilter, Namespace};
use pearlbridge_tests::{Serving, components_dir};
use rust_decimal::Decimal;
use serde_json::Value;

/// A chat webhook: records every body; answers 500 to the first request, 200 after.
async fn chat() -> (String, Arc<Mutex<Vec<(u16, Value)>>>) {
    let seen: Arc<Mutex<Vec<(u16, Value)>>> = Arc::default();
    let rec = seen.clone();
    let app = axum::Router::new().route(
        "/hook/{team}",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let rec = rec.clone();
            async move {
                let mut seen = rec.lock().unwrap();
                let status = if seen.is_empty() { 500 } else { 200 };
                seen.push((status, body));
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook/ecommerce-secret-path"), seen)
}

/// (flow, kind, entity) of every exception the delivered (200) bodies carried.
fn alerted(seen: &[(u16, Value)]) -> Vec<(String, String, String)> {
    seen.iter()
        .filter(|(s, _)| *s == 200)
        .flat_map(|(_, b)| b["exceptions"].as_array().unwrap().clone())
        .map(|e| {
            (
                e["flow"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
                e["entity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_exceptions_reach_their_team_once_bursts_as_a_digest() {
    let opts = DemoOptions {
        orders: 40,
        seed: 5,
        components_dir: components_dir(),
        time_scale: 200.0,
        max_runs: 20,
        ..DemoOptions::default()
    };
    let (seed, facts) = build_seed(&opts).unwrap();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();

    let (url, seen) = chat().await;
    let serving = Serving::start_with(
        &env,
        &[("demo_alerts_ecommerce", url.as_str())],
        "\n[alerts]\necommerce = \"demo_alerts_ecommerce\"",
        |o| {
            o.alert_every = Duration::from_millis(200);
            o.alert_digest_over = 5;
        },
    )
    .await;
    let store = env.host.store.clone();
    let open_of = |team: Team| {
        let mut v: Vec<(String, String, String)> = store
            .exceptions(&ExceptionFilter {
                client: Some("demo".into()),
                owner: Some(team),
                open_only: true,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| (e.flow, e.kind, e.entity))
            .collect();
        v.sort();
        v
    };
    let started = |flow: &str| {
        store
            .run_counts()
            .unwrap()
            .iter()
            .any(|c| c.flow == flow && c.outcome == "ok")
    };

    // Every open ecommerce exception (the orders runs' and the start-up runs') is alerted.
    let until = Instant::now() + Duration::from_secs(300);
    loop {
        let done = pearlbridge::demo::DEMO_FLOWS.iter().all(|f| started(f))
            && !store
                .run_counts()
                .unwrap()
                .iter()
                .any(|c| c.outcome == "running");
        let mut got = alerted(&seen.lock().unwrap());
        got.sort();
        if done && got == open_of(Team::Ecommerce) {
            break;
        }
        assert!(
            Instant::now() < until,
            "alerts never caught up: {got:?}\nvs {:?}",
            open_of(Team::Ecommerce)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // More passes change nothing: each exception was alerted once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let first = seen.lock().unwrap().clone();
    let mut got = alerted(&first);
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), n, "an exception was alerted twice");
    let open = open_of(Team::Ecommerce);
    assert!(open.len() > 5, "{open:?}");
    assert!(open.iter().any(|(_, k, _)| k == "unmapped-sku"), "{open:?}");
    // The refused first delivery was retried with the same body.
    assert_eq!(first[0].0, 500);
    assert_eq!(first[1].0, 200);
    assert_eq!(first[0].1, first[1].1);
    // A burst of more than five went as a digest naming the count.
    let digest = first
        .iter()
        .find(|(s, b)| *s == 200 && b["digest"] == true)
        .expect("a digest");
    let count = digest.1["exceptions"].as_array().unwrap().len();
    assert!(count > 5);
    assert!(
        digest.1["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{count} new exceptions")),
        "{}",
        digest.1["text"]
    );
    for (_, b) in &first {
        assert_eq!(b["client"], "demo");
        assert_eq!(b["team"], "ecommerce");
        let text = b.to_string();
        for token in [
            &env.sandbox.info.bigcommerce.token,
            &env.sandbox.info.brightpearl.token,
        ] {
            assert!(!text.contains(token.as_str()), "a token in an alert");
        }
        assert!(
            !text.contains("ecommerce-secret-path"),
            "the URL in an alert"
        );
    }

    // One new ecommerce exception: one message of its own, with the runbook's next step.
    // A finance one: finance has no webhook, nothing is sent.
    let ns = Namespace::new("demo", "orders");
    store
        .exception_raise(
            &ns,
            &NewException {
                kind: "unmapped-sku".into(),
                entity: "bigcommerce:order:990001".into(),
                message: "order 990001: SKU \"NEW-1\" is not in Brightpearl".into(),
                owner: Team::Ecommerce,
                impact: Some(Money::new(Decimal::new(4250, 2), "GBP")),
                retryable: true,
            },
        )
        .unwrap();
    store
        .exception_raise(
            &ns,
            &NewException {
                kind: "order-total-variance".into(),
                entity: "bigcommerce:order:990002".into(),
                message: "order 990002: rows differ from the total by GBP 0.05".into(),
                owner: Team::Finance,
                impact: Some(Money::new(Decimal::new(5, 2), "GBP")),
                retryable: false,
            },
        )
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() == first.len() {
        assert!(Instant::now() < until, "the new exception was not alerted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    serving.stop().await;
    let all = seen.lock().unwrap().clone();
    assert_eq!(all.len(), first.len() + 1, "{:?}", &all[first.len()..]);
    let (status, body) = &all[first.len()];
    assert_eq!(*status, 200);
    assert_eq!(body["digest"], false);
    let e = &body["exceptions"][0];
    assert_eq!(body["exceptions"].as_array().unwrap().len(), 1);
    assert_eq!(e["entity"], "bigcommerce:order:990001");
    assert_eq!(e["kind"], "unmapped-sku");
    assert_eq!(e["impact"]["amount"], "42.50");
    assert_eq!(e["impact"]["currency"], "GBP");
    let next_step = pearlbridge_capabilities::exceptions::runbook("unmapped-sku")
        .unwrap()
        .next_step;
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "[demo] ecommerce: unmapped-sku on bigcommerce:order:990001 (orders), GBP 42.50"
        ),
        "{text}"
    );
    assert!(text.contains(next_step), "{text}");
    env.shutdown().await;
}
