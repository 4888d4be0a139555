//! Connections: rate limiting driven by the server's headers, throttle waits shared by every
//! caller, safe retries, outcome-unknown writes and deadlines.

mod connections_support;

use std::time::Duration;

use connections_support::*;
use pearlbridge_capabilities::connections::{RetryPolicy, SendError, System};
use tokio::time::Instant;

const RESET: Duration = Duration::from_millis(300);

fn outcomes(
    audit: &pearlbridge_capabilities::connections::MemoryAudit,
) -> Vec<(Option<u16>, String, u32)> {
    audit
        .lines()
        .into_iter()
        .map(|l| (l.status, l.outcome, l.attempt))
        .collect()
}

#[tokio::test]
async fn bigcommerce_429_makes_every_caller_wait_then_retries_the_write() {
    let up = Upstream::start(|n, _| match n {
        0 => Reply::new(429, r#"{"status":429,"title":"Too many requests"}"#)
            .header("x-rate-limit-requests-left", 0)
            .header("x-rate-limit-time-reset-ms", 300),
        _ => Reply::new(200, r#"{"id":1}"#)
            .header("x-rate-limit-requests-left", 100)
            .header("x-rate-limit-time-reset-ms", 30000),
    })
    .await;
    let (conn, audit) = connect(bc_config(&up.base));
    let started = Instant::now();
    let writer = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.send(
                "orders",
                post(System::BigCommerce, "/v2/orders", "{}"),
                later(),
            )
            .await
        })
    };
    // The second caller starts once the 429 has been seen, while the first is waiting.
    until(|| conn.stats().throttled == 1).await;
    let reader = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.send(
                "stock",
                get(System::BigCommerce, "/v3/inventory/items"),
                later(),
            )
            .await
        })
    };
    let (w, r) = (
        writer.await.unwrap().unwrap(),
        reader.await.unwrap().unwrap(),
    );
    assert_eq!((w.status, r.status), (200, 200));
    assert!(started.elapsed() >= RESET);

    let seen = up.seen();
    assert_eq!(seen.len(), 3, "one 429, then the repeated POST and the GET");
    let throttled_at = seen[0].at;
    for s in &seen[1..] {
        assert!(
            s.at.duration_since(throttled_at) >= RESET,
            "{} sent {:?} after the 429",
            s.method,
            s.at.duration_since(throttled_at)
        );
    }
    let mut methods: Vec<_> = seen.iter().map(|s| s.method.as_str()).collect();
    methods.sort();
    assert_eq!(methods, ["GET", "POST", "POST"]);
    let stats = conn.stats();
    assert_eq!((stats.calls, stats.throttled, stats.retries), (3, 1, 1));
    assert!(stats.waits_ms >= 2 * 250, "both callers waited: {stats:?}");
    let post_lines: Vec<_> = audit
        .lines()
        .into_iter()
        .filter(|l| l.flow == "orders")
        .map(|l| (l.status, l.outcome, l.attempt))
        .collect();
    assert_eq!(
        post_lines,
        [
            (Some(429), "throttled".to_string(), 1),
            (Some(200), "ok".to_string(), 2)
        ]
    );
}

#[tokio::test]
async fn brightpearl_too_many_requests_503_is_a_shared_throttle() {
    let up = Upstream::start(|n, _| match n {
        0 => Reply::new(
            503,
            r#"{"response":"You have sent too many requests. Please wait before sending another request"}"#,
        )
        .header("brightpearl-requests-remaining", 0)
        .header("brightpearl-next-throttle-period", 300),
        _ => Reply::new(200, r#"{"response":[]}"#)
            .header("brightpearl-requests-remaining", 150)
            .header("brightpearl-next-throttle-period", 40000),
    })
    .await;
    let (conn, audit) = connect(bp_config(&up.base));
    let first = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.send(
                "orders",
                get(System::Brightpearl, "/order-service/order/1"),
                later(),
            )
            .await
        })
    };
    until(|| conn.stats().throttled == 1).await;
    let second = conn
        .send(
            "orders",
            post(System::Brightpearl, "/order-service/sales-order", "{}"),
            later(),
        )
        .await
        .unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!((first.status, second.status), (200, 200));
    let seen = up.seen();
    assert_eq!(seen.len(), 3);
    for s in &seen[1..] {
        assert!(s.at.duration_since(seen[0].at) >= RESET);
    }
    assert_eq!(
        seen.iter().filter(|s| s.method == "POST").count(),
        1,
        "the POST was never throttled, sent once"
    );
    assert_eq!(conn.stats().throttled, 1);
    assert_eq!(outcomes(&audit)[0], (Some(503), "throttled".to_string(), 1));
}

#[tokio::test]
async fn maintenance_503_get_is_retried_with_backoff() {
    let up = Upstream::start(|n, _| match n {
        0 | 1 => Reply::new(
            503,
            r#"{"response":"Service temporarily unavailable for maintenance"}"#,
        ),
        _ => Reply::new(200, r#"{"response":[7]}"#),
    })
    .await;
    let (conn, audit) = connect(bp_config(&up.base));
    let resp = conn
        .send(
            "orders",
            get(System::Brightpearl, "/order-service/order/7"),
            later(),
        )
        .await
        .unwrap();
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (200, r#"{"response":[7]}"#)
    );
    let seen = up.seen();
    assert_eq!(seen.len(), 3);
    // quick_retry: 40 ms base doubling, jitter keeps at least half: ≥ 20 ms, then ≥ 40 ms.
    assert!(seen[1].at.duration_since(seen[0].at) >= Duration::from_millis(20));
    assert!(seen[2].at.duration_since(seen[1].at) >= Duration::from_millis(40));
    assert_eq!(conn.stats().throttled, 0, "maintenance is not a throttle");
    assert_eq!(
        outcomes(&audit),
        [
            (Some(503), "retry".into(), 1),
            (Some(503), "retry".into(), 2),
            (Some(200), "ok".into(), 3)
        ]
    );
}

#[tokio::test]
async fn maintenance_503_on_a_post_is_returned_as_is() {
    let body = r#"{"response":"Service temporarily unavailable for maintenance"}"#;
    let up = Upstream::start(move |_, _| Reply::new(503, body)).await;
    let (conn, audit) = connect(bp_config(&up.base));
    let resp = conn
        .send(
            "orders",
            post(
                System::Brightpearl,
                "/order-service/sales-order",
                r#"{"ref":"118"}"#,
            ),
            later(),
        )
        .await
        .unwrap();
    assert_eq!((resp.status, resp.body.as_str()), (503, body));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(up.count(), 1);
    assert_eq!(outcomes(&audit), [(Some(503), "ok".into(), 1)]);
}

#[tokio::test]
async fn write_with_500_is_not_repeated() {
    let up =
        Upstream::start(|_, _| Reply::new(500, r#"[{"status":500,"message":"Internal"}]"#)).await;
    let (conn, _) = connect(bc_config(&up.base));
    let resp = conn
        .send(
            "orders",
            post(System::BigCommerce, "/v2/orders/1/shipments", "{}"),
            later(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 500);
    assert_eq!(up.count(), 1);
}

#[tokio::test]
async fn post_that_times_out_after_arriving_is_outcome_unknown() {
    let up =
        Upstream::start(|_, _| Reply::new(201, r#"{"id":5}"#).delay(Duration::from_millis(1500)))
            .await;
    let mut cfg = bc_config(&up.base);
    cfg.request_timeout = Duration::from_millis(300);
    let (conn, audit) = connect(cfg);
    let started = Instant::now();
    let err = conn
        .send(
            "orders",
            post(
                System::BigCommerce,
                "/v2/orders",
                r#"{"external_order_id":"SO-1"}"#,
            ),
            later(),
        )
        .await
        .unwrap_err();
    assert_eq!(err, SendError::OutcomeUnknown);
    assert!(started.elapsed() < Duration::from_millis(1000));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(up.count(), 1, "the write reached the server exactly once");
    assert_eq!(up.seen()[0].body, r#"{"external_order_id":"SO-1"}"#);
    assert_eq!(outcomes(&audit), [(None, "outcome-unknown".into(), 1)]);
}

#[tokio::test]
async fn get_that_times_out_is_retried_then_timeout() {
    let up = Upstream::start(|_, _| Reply::new(200, "{}").delay(Duration::from_millis(1000))).await;
    let mut cfg = bc_config(&up.base);
    cfg.request_timeout = Duration::from_millis(150);
    let (conn, audit) = connect(cfg);
    let err = conn
        .send("orders", get(System::BigCommerce, "/v2/orders"), later())
        .await
        .unwrap_err();
    assert_eq!(err, SendError::Timeout);
    assert_eq!(up.count(), 3);
    assert_eq!(
        outcomes(&audit),
        [
            (None, "retry".into(), 1),
            (None, "retry".into(), 2),
            (None, "timeout".into(), 3)
        ]
    );
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn post_to_a_refused_port_is_retried() {
    let port = free_port().await;
    let (conn, audit) = connect(bc_config(&format!("http://127.0.0.1:{port}")));
    let err = conn
        .send(
            "orders",
            post(System::BigCommerce, "/v2/orders", "{}"),
            later(),
        )
        .await
        .unwrap_err();
    let SendError::Transport(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(
        !msg.contains("127.0.0.1"),
        "no hostname for the flow: {msg}"
    );
    assert_eq!(conn.stats().calls, 3);
    assert_eq!(
        outcomes(&audit),
        [
            (None, "retry".into(), 1),
            (None, "retry".into(), 2),
            (None, "transport".into(), 3)
        ]
    );
}

#[tokio::test]
async fn post_succeeds_once_the_server_comes_up() {
    let port = free_port().await;
    let mut cfg = bc_config(&format!("http://127.0.0.1:{port}"));
    cfg.retry = RetryPolicy {
        max_attempts: 8,
        max_throttle_retries: 0,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(200),
    };
    let (conn, audit) = connect(cfg);
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        Upstream::serve(listener, |_, _| Reply::new(201, r#"{"id":9}"#))
    });
    let resp = conn
        .send(
            "orders",
            post(System::BigCommerce, "/v2/orders", r#"{"a":1}"#),
            later(),
        )
        .await
        .unwrap();
    assert_eq!((resp.status, resp.body.as_str()), (201, r#"{"id":9}"#));
    let up = server.await.unwrap();
    assert_eq!(up.count(), 1, "the POST reached the server once");
    let lines = outcomes(&audit);
    assert!(lines.len() >= 2, "{lines:?}");
    assert_eq!(lines.last().unwrap().1, "ok");
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|(status, outcome, _)| status.is_none() && outcome == "retry")
    );
}

#[tokio::test]
async fn get_500_500_200_succeeds_on_the_third_attempt() {
    let up = Upstream::start(|n, _| {
        if n < 2 {
            Reply::new(500, "oops")
        } else {
            Reply::new(200, r#"{"data":[]}"#)
        }
    })
    .await;
    let (conn, audit) = connect(bc_config(&up.base));
    let resp = conn
        .send(
            "stock",
            get(System::BigCommerce, "/v3/inventory/items?page=2"),
            later(),
        )
        .await
        .unwrap();
    assert_eq!((resp.status, resp.body.as_str()), (200, r#"{"data":[]}"#));
    assert_eq!(up.count(), 3);
    assert_eq!(conn.stats().retries, 2);
    assert_eq!(
        outcomes(&audit),
        [
            (Some(500), "retry".into(), 1),
            (Some(500), "retry".into(), 2),
            (Some(200), "ok".into(), 3)
        ]
    );
    assert!(
        audit
            .lines()
            .iter()
            .all(|l| l.path == "/v3/inventory/items?page=2")
    );
}

#[tokio::test]
async fn get_501_and_persistent_500_are_returned() {
    let up = Upstream::start(|n, _| {
        if n == 0 {
            Reply::new(501, "no")
        } else {
            Reply::new(500, "down")
        }
    })
    .await;
    let (conn, _) = connect(bc_config(&up.base));
    let resp = conn
        .send("stock", get(System::BigCommerce, "/v3/x"), later())
        .await
        .unwrap();
    assert_eq!(resp.status, 501);
    assert_eq!(up.count(), 1, "501 is not retried");
    let resp = conn
        .send("stock", get(System::BigCommerce, "/v3/x"), later())
        .await
        .unwrap();
    assert_eq!((resp.status, resp.body.as_str()), (500, "down"));
    assert_eq!(up.count(), 4, "3 attempts for the 500");
}

#[tokio::test]
async fn requests_left_zero_makes_the_next_call_wait_for_the_reset() {
    let up = Upstream::start(|n, _| match n {
        0 => Reply::new(200, "{}")
            .header("x-rate-limit-requests-left", 0)
            .header("x-rate-limit-time-reset-ms", 200),
        _ => Reply::new(200, "{}")
            .header("x-rate-limit-requests-left", 149)
            .header("x-rate-limit-time-reset-ms", 30000),
    })
    .await;
    let (conn, _) = connect(bc_config(&up.base));
    conn.send("orders", get(System::BigCommerce, "/v2/orders"), later())
        .await
        .unwrap();
    let second_started = Instant::now();
    conn.send("orders", get(System::BigCommerce, "/v2/orders"), later())
        .await
        .unwrap();
    assert!(
        second_started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        second_started.elapsed()
    );
    let seen = up.seen();
    assert!(seen[1].at.duration_since(seen[0].at) >= Duration::from_millis(200));
    assert_eq!(conn.stats().throttled, 0);
    assert!(conn.stats().waits_ms >= 190);
    // Quota left again: the third call goes at once.
    let third_started = Instant::now();
    conn.send("orders", get(System::BigCommerce, "/v2/orders"), later())
        .await
        .unwrap();
    assert!(
        third_started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        third_started.elapsed()
    );
}

#[tokio::test]
async fn deadline_before_the_reset_returns_throttled_without_waiting() {
    let up = Upstream::start(|n, _| match n {
        0 => Reply::new(200, r#"{"response":[]}"#)
            .header("brightpearl-requests-remaining", 0)
            .header("brightpearl-next-throttle-period", 5000),
        _ => Reply::new(200, "{}"),
    })
    .await;
    let (conn, _) = connect(bp_config(&up.base));
    conn.send(
        "orders",
        get(System::Brightpearl, "/order-service/order/1"),
        later(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let err = conn
        .send(
            "orders",
            get(System::Brightpearl, "/order-service/order/2"),
            started + Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "did not wait: {:?}",
        started.elapsed()
    );
    let SendError::Throttled { reset_ms } = err else {
        panic!("{err:?}")
    };
    assert!((4800..=5000).contains(&reset_ms), "{reset_ms}");
    assert_eq!(up.count(), 1);
}

#[tokio::test]
async fn throttle_reset_after_the_deadline_is_returned_at_once() {
    let up = Upstream::start(|_, _| {
        Reply::new(429, "")
            .header("x-rate-limit-time-reset-ms", 5000)
            .header("x-retry-after", 6)
    })
    .await;
    let (conn, audit) = connect(bc_config(&up.base));
    let started = Instant::now();
    let err = conn
        .send(
            "orders",
            post(System::BigCommerce, "/v2/orders", "{}"),
            started + Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    let SendError::Throttled { reset_ms } = err else {
        panic!("{err:?}")
    };
    assert!(
        (5800..=6000).contains(&reset_ms),
        "X-Retry-After (6 s) is longer than the reset: {reset_ms}"
    );
    assert_eq!(up.count(), 1);
    assert_eq!(outcomes(&audit), [(Some(429), "throttled".into(), 1)]);
    // Every other caller of the connection is held back too, without sending.
    let err = conn
        .send(
            "stock",
            get(System::BigCommerce, "/v3/x"),
            Instant::now() + Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Throttled { .. }));
    assert_eq!(up.count(), 1);
}

#[tokio::test]
async fn brightpearl_500_for_a_bad_filter_is_not_repeated() {
    let body =
        r#"{"errors":[{"code":"CMNC-018","message":"BAD PARAM cannot be parsed as: INTEGER"}]}"#;
    let up = Upstream::start(move |_, _| Reply::new(500, body)).await;
    let (conn, audit) = connect(bp_config(&up.base));
    let resp = conn
        .send(
            "orders",
            get(
                System::Brightpearl,
                "/order-service/order-search?orderStatusId=BAD%20PARAM",
            ),
            later(),
        )
        .await
        .unwrap();
    assert_eq!((resp.status, resp.body.as_str()), (500, body));
    assert_eq!(up.count(), 1);
    assert_eq!(
        up.seen()[0].uri,
        "/public-api/acmeltd/order-service/order-search?orderStatusId=BAD%20PARAM"
    );
    assert_eq!(outcomes(&audit), [(Some(500), "ok".into(), 1)]);
}
