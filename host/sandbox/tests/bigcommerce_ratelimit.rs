//! The store quota: fixed 30 s window on the simulated clock, headers on every response, 429.
#![recursion_limit = "256"]

mod bigcommerce_support;

use bigcommerce_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use serde_json::json;

fn quota_headers(r: &Res) -> (String, String, String, String) {
    (
        r.header("x-rate-limit-time-window-ms").unwrap().to_string(),
        r.header("x-rate-limit-time-reset-ms").unwrap().to_string(),
        r.header("x-rate-limit-requests-quota").unwrap().to_string(),
        r.header("x-rate-limit-requests-left").unwrap().to_string(),
    )
}

fn h(w: &str, reset: &str, q: &str, left: &str) -> (String, String, String, String) {
    (w.into(), reset.into(), q.into(), left.into())
}

#[tokio::test]
async fn exact_headers_count_down_then_429_then_refresh() {
    let api = start_with(seed(), Clock::manual(), Faults::none(), 3).await;
    api.clock.advance_ms(5_000);
    let other = reqwest::Client::new();
    let r1 = api.get("/v2/orders/100").await;
    assert_eq!(quota_headers(&r1), h("30000", "25000", "3", "2"));
    // A second caller shares the store's quota.
    let r2 = other
        .get(format!("{}/v3/catalog/products", api.base))
        .header("x-auth-token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r2.headers()["x-rate-limit-requests-left"], "1");
    api.clock.advance_ms(1_500);
    let r3 = api.get("/v2/time").await;
    assert_eq!(quota_headers(&r3), h("30000", "23500", "3", "0"));
    assert_eq!(r3.json(), &json!({"time": api.clock.now().timestamp()}));
    // Over the quota: 429, X-Retry-After in seconds, and the request is not processed.
    let r4 = api.put("/v2/orders/100", json!({"status_id": 5})).await;
    assert_eq!(r4.status, 429);
    assert_eq!(quota_headers(&r4), h("30000", "23500", "3", "0"));
    assert_eq!(r4.header("x-retry-after"), Some("24"));
    assert_eq!(
        r4.json(),
        &json!([{"status": 429, "message": "Too many requests. Retry after the window resets."}])
    );
    let r5 = api.get("/v3/catalog/products").await;
    assert_eq!(r5.status, 429);
    assert_eq!(
        r5.json()["title"],
        "Too many requests. Retry after the window resets."
    );
    assert_eq!(
        api.sim.order(100).unwrap()["status_id"],
        11,
        "the throttled PUT was not processed"
    );
    assert_eq!((api.sim.request_count(), api.sim.throttled_count()), (5, 2));
    // The next window.
    api.clock.advance_ms(23_500);
    let r6 = api.get("/v2/orders/100").await;
    assert_eq!(r6.status, 200);
    assert_eq!(quota_headers(&r6), h("30000", "30000", "3", "2"));
}

#[tokio::test]
async fn scaled_window_past_the_quota() {
    // 5 simulated ms per real ms: the 30 s window lasts 6 real seconds.
    let clock = Clock::scaled(5.0);
    let api = start_with(seed(), clock.clone(), Faults::none(), 5).await;
    let mut lefts = Vec::new();
    let mut resets = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = api.get("/v2/orders/100").await;
        statuses.push(r.status);
        lefts.push(
            r.header("x-rate-limit-requests-left")
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
        let reset: u64 = r
            .header("x-rate-limit-time-reset-ms")
            .unwrap()
            .parse()
            .unwrap();
        resets.push(reset);
        assert_eq!(r.header("x-rate-limit-requests-quota"), Some("5"));
        assert_eq!(r.header("x-rate-limit-time-window-ms"), Some("30000"));
        if r.status == 429 {
            let retry: u64 = r.header("x-retry-after").unwrap().parse().unwrap();
            assert_eq!(retry, reset.div_ceil(1000));
        } else {
            assert_eq!(r.header("x-retry-after"), None);
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429]);
    assert_eq!(lefts, vec![4, 3, 2, 1, 0, 0, 0]);
    assert!(
        resets.windows(2).all(|w| w[0] >= w[1]),
        "reset counts down within the window: {resets:?}"
    );
    assert!(resets.iter().all(|r| *r <= 30_000 && *r > 0));
    assert_eq!(api.sim.throttled_count(), 2);
    // Wait out the reset the 429 announced: the quota is back.
    tokio::time::sleep(clock.real_duration(resets[6] + 100)).await;
    let r = api.get("/v2/orders/100").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-rate-limit-requests-left"), Some("4"));
}
