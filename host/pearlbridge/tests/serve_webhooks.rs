//! Issue 8, `pearlbridge serve` against the sandbox: orders placed in the BigCommerce
//! simulator reach Brightpearl with no manual run, through webhooks and through the schedule
//! with webhooks off; every bad webhook gets its status and leaves the inbox empty;
//! `/healthz`; a client file with problems is refused on reload and the old one keeps running.

mod serve_support;

use std::time::Duration;

use pearlbridge_capabilities::state::Store;
use serde_json::json;
use serve_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_placed_in_bigcommerce_are_posted_through_webhooks_without_a_manual_run() {
    // A daily schedule: after the sweep at start, only webhooks can bring new orders.
    let mut env = Env::start(12, 21, "1d", true).await;
    let serving = Serving::start(env.host(), |_| {}, &env.clients).await;
    env.register_bigcommerce_hook(serving.addr).await;
    // Brightpearl's webhooks too (the orders flow subscribes to none of them: each is
    // verified by its URL token, answered 200 and dropped).
    env.demo
        .sandbox
        .brightpearl
        .subscribe_callback(&serving.url(&format!("/webhooks/brightpearl/demo/{BP_HOOK_TOKEN}")));
    // Let the start-up sweep (nothing to post yet) finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bundles = std::mem::take(&mut env.bundles);
    let placed = bundles.len();
    for b in bundles {
        env.demo.place_order(b);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rec = env.wait_reconciled(placed, Duration::from_secs(90)).await;
    assert_eq!(rec["orders"]["duplicated"], 0, "{rec:#}");
    assert_eq!(rec["orders"]["mismatched"], 0, "{rec:#}");
    assert_eq!(rec["payments"]["duplicated"], 0, "{rec:#}");
    let deliveries = env.demo.sandbox.bigcommerce.webhook_deliveries();
    assert!(
        deliveries.len() >= placed,
        "{} deliveries for {placed} orders",
        deliveries.len()
    );
    assert!(
        deliveries.iter().all(|d| d.status == Some(200)),
        "{deliveries:?}"
    );
    // Brightpearl raised sales-order.created for the posted orders (delivered in the
    // background: wait for them).
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    let bp = loop {
        let d = env.demo.sandbox.brightpearl.webhook_deliveries();
        if d.iter().any(|d| d.event == "sales-order.created") {
            break d;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no Brightpearl webhook: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(bp.iter().all(|d| d.status == Some(200)), "{bp:?}");
    serving.stop().await;
    let runs = env.runs();
    let scheduled = runs.iter().filter(|r| r.trigger == "scheduled").count();
    let events: Vec<_> = runs
        .iter()
        .filter(|r| r.trigger.starts_with("events("))
        .collect();
    assert_eq!(scheduled, 1, "only the start-up sweep: {runs:?}");
    assert!(!events.is_empty(), "{runs:?}");
    assert!(
        runs.iter().all(|r| r.finished_at.is_some()),
        "shutdown drained every run: {runs:?}"
    );
    // The orders flow's events all left the inbox after their runs (the stock flow's
    // Brightpearl events may still wait for its next run when the service stops).
    let left: Vec<_> = env
        .store()
        .inbox(None, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.flow == "orders")
        .collect();
    assert!(
        left.is_empty(),
        "every orders event left the inbox after its run: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_webhooks_off_the_schedule_posts_the_orders() {
    let mut env = Env::start(8, 22, "2s", false).await;
    let serving = Serving::start(env.host(), |_| {}, &env.clients).await;
    // The start-up sweep finds an empty store; the orders come after it.
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while !env.runs().iter().any(|r| r.finished_at.is_some()) {
        assert!(tokio::time::Instant::now() < until, "no start-up sweep");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bundles = std::mem::take(&mut env.bundles);
    let placed = bundles.len();
    for b in bundles {
        env.demo.place_order(b);
    }
    let rec = env.wait_reconciled(placed, Duration::from_secs(90)).await;
    assert_eq!(rec["orders"]["duplicated"], 0, "{rec:#}");
    assert_eq!(rec["orders"]["mismatched"], 0, "{rec:#}");
    serving.stop().await;
    let runs = env.runs();
    assert!(runs.len() >= 2, "{runs:?}");
    assert!(
        runs[0]
            .outcome
            .as_ref()
            .is_some_and(|o| format!("{o:?}").contains(r#"\"posted\":0"#)),
        "the start-up sweep posted nothing: {:?}",
        runs[0]
    );
    assert!(runs.iter().all(|r| r.trigger == "scheduled"), "{runs:?}");
    // One at a time: each run started after the previous one finished.
    for w in runs.windows(2) {
        assert!(
            w[1].started_at >= w[0].finished_at.unwrap(),
            "overlap: {:?}",
            &w
        );
    }
}

/// What a bad request is, where it goes, its headers, its body and the status it must get.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, String, u16);

/// Posts `body` to `path` with `headers`; returns the status.
async fn post(url: String, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> u16 {
    let mut rb = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_webhooks_get_their_status_and_leave_nothing_in_the_inbox() {
    let env = Env::start(1, 23, "1d", true).await;
    let serving = Serving::start(env.host(), |o| o.max_body = 4096, &env.clients).await;
    let health = get_json(serving.url("/healthz")).await;
    assert_eq!(health["status"], "ready", "{health}");
    assert_eq!(health["flows"], 3, "orders, stock and tracking: {health}");
    let bc = |client: &str| serving.url(&format!("/webhooks/bigcommerce/{client}"));
    let bp =
        |client: &str, token: &str| serving.url(&format!("/webhooks/brightpearl/{client}/{token}"));
    let good = bc_body("store/order/created", 9_999);
    let header = "x-pearlbridge-webhook-secret";
    let account = env.demo.sandbox.info.brightpearl.account.clone();
    let bp_good = json!({"accountCode": account, "resourceType": "sales-order", "id": "1-2",
        "lifecycleEvent": "created", "fullEvent": "sales-order.created", "raisedOn": "2026-12-03T10:00:00Z"})
    .to_string();

    let cases: Vec<Case> = vec![
        ("unsigned", bc("demo"), vec![], good.clone(), 401),
        (
            "wrongly signed",
            bc("demo"),
            vec![(header, "whsec-bc-wrong-value")],
            good.clone(),
            401,
        ),
        (
            "signed with a prefix of the secret",
            bc("demo"),
            vec![(header, &BC_HOOK_SECRET[..10])],
            good.clone(),
            401,
        ),
        (
            "unknown client",
            bc("nobody"),
            vec![(header, BC_HOOK_SECRET)],
            good.clone(),
            404,
        ),
        (
            "oversized",
            bc("demo"),
            vec![(header, BC_HOOK_SECRET)],
            format!(
                r#"{{"scope":"store/order/created","data":{{"id":1}},"pad":"{}"}}"#,
                "x".repeat(5000)
            ),
            413,
        ),
        (
            "malformed JSON",
            bc("demo"),
            vec![(header, BC_HOOK_SECRET)],
            "{\"scope\": \"store/order/created\", ".into(),
            400,
        ),
        (
            "JSON without an entity",
            bc("demo"),
            vec![(header, BC_HOOK_SECRET)],
            r#"{"scope":"store/order/created","data":{}}"#.into(),
            400,
        ),
        (
            "brightpearl wrong token",
            bp("demo", "whtok-bp-not-it-at-all"),
            vec![],
            bp_good.clone(),
            404,
        ),
        (
            "brightpearl unknown client",
            bp("nobody", BP_HOOK_TOKEN),
            vec![],
            bp_good.clone(),
            404,
        ),
        (
            "brightpearl oversized",
            bp("demo", BP_HOOK_TOKEN),
            vec![],
            format!(
                r#"{{"fullEvent":"sales-order.created","id":"1","pad":"{}"}}"#,
                "x".repeat(5000)
            ),
            413,
        ),
        (
            "brightpearl malformed JSON",
            bp("demo", BP_HOOK_TOKEN),
            vec![],
            "not json".into(),
            400,
        ),
        (
            "brightpearl bad id set",
            bp("demo", BP_HOOK_TOKEN),
            vec![],
            json!({"fullEvent": "sales-order.created", "id": "5-1"}).to_string(),
            400,
        ),
        (
            "brightpearl another account",
            bp("demo", BP_HOOK_TOKEN),
            vec![],
            bp_good.replace(&account, "someone-else"),
            404,
        ),
    ];
    let store = env.store();
    for (what, url, headers, body, want) in cases {
        let got = post(url, &headers, body).await;
        assert_eq!(got, want, "{what}");
        assert!(
            store.inbox(None, 10).unwrap().is_empty(),
            "{what}: something was stored"
        );
    }
    // Nothing was stored, so nothing ran for an event either.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        env.runs().iter().all(|r| !r.trigger.starts_with("events(")),
        "{:?}",
        env.runs()
    );
    // The controls: the same requests done right are accepted and reach a run.
    assert_eq!(
        post(bc("demo"), &[(header, BC_HOOK_SECRET)], good.clone()).await,
        200
    );
    // Delivered again (BigCommerce retries): dropped as a duplicate.
    assert_eq!(
        post(bc("demo"), &[(header, BC_HOOK_SECRET)], good.clone()).await,
        200
    );
    // The orders flow does not subscribe to Brightpearl sales orders: accepted, not stored.
    assert_eq!(post(bp("demo", BP_HOOK_TOKEN), &[], bp_good).await, 200);
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let runs = env.runs();
        let ev: Vec<_> = runs
            .iter()
            .filter(|r| r.trigger.starts_with("events("))
            .collect();
        if ev.iter().any(|r| r.finished_at.is_some()) {
            assert_eq!(ev.len(), 1, "the duplicate made no second run: {runs:?}");
            assert_eq!(ev[0].trigger, "events(1)");
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no events run: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    serving.stop().await;
    // The secrets never reached the state file.
    for f in ["state.sqlite", "state.sqlite-wal"] {
        if let Ok(bytes) = std::fs::read(env.data.join(f)) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(BC_HOOK_SECRET) && !text.contains(BP_HOOK_TOKEN),
                "{f}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_client_file_is_refused_on_reload_and_the_old_one_keeps_running() {
    let env = Env::start(1, 24, "1d", true).await;
    let serving = Serving::start(env.host(), |_| {}, &env.clients).await;
    let file = env.clients.join("demo/client.toml");
    let good = std::fs::read_to_string(&file).unwrap();
    // A typo in a key and a schedule that is not an interval.
    let bad = good
        .replace("schedule = \"1d\"", "schedule = \"often\"")
        .replace("bigcommerce_secret", "bigcomerce_secret");
    std::fs::write(&file, &bad).unwrap();
    serving.reload.send(()).await.unwrap();
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    let health = loop {
        let h = get_json(serving.url("/healthz")).await;
        if h["refused"]["demo"].is_array() {
            break h;
        }
        assert!(tokio::time::Instant::now() < until, "not refused: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let problems = health["refused"]["demo"].to_string();
    assert!(problems.contains("flows.orders.schedule"), "{problems}");
    assert!(
        problems.contains("webhooks.bigcomerce_secret"),
        "{problems}"
    );
    assert_eq!(health["clients"], 1, "{health}");
    // The old configuration still receives webhooks.
    let status = post(
        serving.url("/webhooks/bigcommerce/demo"),
        &[("x-pearlbridge-webhook-secret", BC_HOOK_SECRET)],
        bc_body("store/order/created", 4242),
    )
    .await;
    assert_eq!(status, 200);
    // Fixed again: accepted, nothing refused.
    std::fs::write(&file, &good).unwrap();
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let h = get_json(serving.url("/healthz")).await;
        if h["refused"].as_object().is_some_and(|m| m.is_empty()) {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "still refused: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    serving.stop().await;
}
