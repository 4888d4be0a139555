//! Auth modes, 401 bodies, the per-minute cap and its headers on every response.

mod brightpearl_support;

use brightpearl_support::*;
use pearlbridge_sandbox::brightpearl::{
    INVALID_INSTANCE_TOKEN, NOT_AUTHENTICATED, TOKEN_EXPIRED, TOO_MANY_REQUESTS, TokenState,
};
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use serde_json::json;

#[tokio::test]
async fn system_app_oauth_and_401_bodies() {
    let bp = start_with(config(), Clock::manual(), Faults::none()).await;
    // No credentials.
    let r = bp
        .client
        .get(bp.url("/warehouse-service/warehouse"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["brightpearl-requests-remaining"], "200");
    assert_eq!(r.headers()["brightpearl-next-throttle-period"], "60000");
    assert_eq!(r.headers()["ruid"].len(), 36);
    assert_eq!(body_json(r).await, json!({"response": NOT_AUTHENTICATED}));
    // Wrong account token.
    let r = bp
        .client
        .get(bp.url("/warehouse-service/warehouse"))
        .header("brightpearl-app-ref", APP_REF)
        .header("brightpearl-account-token", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        body_json(r).await,
        json!({"response": "Invalid instance token: nope"})
    );
    // Right token, wrong account code.
    let r = bp
        .client
        .get(format!(
            "{}/public-api/other/warehouse-service/warehouse",
            bp.base
        ))
        .header("brightpearl-app-ref", APP_REF)
        .header("brightpearl-account-token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // OAuth with a wrong bearer token.
    let r = bp
        .client
        .get(bp.url("/warehouse-service/warehouse"))
        .header("authorization", "Bearer wrong")
        .header("brightpearl-dev-ref", "dev1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        body_json(r).await,
        json!({"response": "Invalid instance token: wrong"})
    );
    // OAuth bearer without the dev ref.
    let r = bp
        .client
        .get(bp.url("/warehouse-service/warehouse"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(bp.sim.request_count(), 0, "401s are not counted");

    // System app: 200, no instance-id header.
    let r = bp.get("/warehouse-service/warehouse").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"response": [{"id": 2, "name": "Main"}, {"id": 3, "name": "Overflow"}]})
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(r.remaining(), 199);
    assert_eq!(r.next_period(), 60_000);
    assert!(
        r.header("brightpearl-installed-integration-instance-id")
            .is_none()
    );
    // OAuth: 200 and the instance id header.
    let r = bp
        .client
        .get(bp.url("/warehouse-service/warehouse"))
        .bearer_auth(TOKEN)
        .header("brightpearl-dev-ref", "dev1")
        .header("brightpearl-app-ref", APP_REF)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["brightpearl-installed-integration-instance-id"],
        "11"
    );
    // OAuth apps get their own pool per developer; private apps share one [doc].
    assert_eq!(r.headers()["brightpearl-requests-remaining"], "199");
    assert_eq!(bp.sim.request_count(), 2);
    assert_eq!(
        bp.get("/warehouse-service/warehouse").await.remaining(),
        198
    );
}

/// One request with the bearer (OAuth) or the system-app form of `token`: status and body.
async fn with_token(bp: &Bp, oauth: bool, token: &str) -> (u16, serde_json::Value) {
    let req = bp.client.get(bp.url("/warehouse-service/warehouse"));
    let req = if oauth {
        req.bearer_auth(token).header("brightpearl-dev-ref", "dev1")
    } else {
        req.header("brightpearl-app-ref", APP_REF)
            .header("brightpearl-account-token", token)
    };
    let r = req.send().await.unwrap();
    (r.status().as_u16(), body_json(r).await)
}

#[tokio::test]
async fn revoked_and_expired_tokens_answer_as_the_real_api() {
    let bp = start_with(config(), Clock::manual(), Faults::none()).await;
    let ok = json!({"response": [{"id": 2, "name": "Main"}, {"id": 3, "name": "Overflow"}]});
    assert_eq!(with_token(&bp, true, TOKEN).await, (200, ok.clone()));
    assert_eq!(with_token(&bp, false, TOKEN).await, (200, ok.clone()));

    // Expired: the OAuth form gets its own message; the system-app form echoes the token.
    bp.sim.expire_token(TOKEN);
    assert_eq!(bp.sim.token_state(TOKEN), TokenState::Expired);
    assert_eq!(
        with_token(&bp, true, TOKEN).await,
        (401, json!({"response": "Authorization token expired"}))
    );
    assert_eq!(
        with_token(&bp, false, TOKEN).await,
        (401, json!({"response": "Invalid instance token: tok-123"}))
    );

    // Revoked: both forms repeat the token that was sent.
    bp.sim.revoke_token(TOKEN);
    for oauth in [true, false] {
        assert_eq!(
            with_token(&bp, oauth, TOKEN).await,
            (401, json!({"response": "Invalid instance token: tok-123"})),
            "oauth={oauth}"
        );
    }

    // The admin endpoint reinstates it (token defaults to the account token), then expires it.
    let admin = |body: serde_json::Value| {
        bp.client
            .put(format!("{}/_sandbox/brightpearl/token-state", bp.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    assert_eq!(
        admin(json!({"state": "valid"})).await.unwrap().status(),
        204
    );
    assert_eq!(with_token(&bp, true, TOKEN).await, (200, ok.clone()));
    assert_eq!(
        admin(json!({"token": TOKEN, "state": "expired"}))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        with_token(&bp, true, TOKEN).await,
        (401, json!({"response": TOKEN_EXPIRED}))
    );
    assert_eq!(
        admin(json!({"state": "revoked"})).await.unwrap().status(),
        204
    );
    assert_eq!(
        with_token(&bp, false, TOKEN).await,
        (
            401,
            json!({"response": format!("{INVALID_INSTANCE_TOKEN}{TOKEN}")})
        )
    );
    assert_eq!(
        admin(json!({"state": "gone"})).await.unwrap().status(),
        422,
        "an unknown state is refused"
    );
    assert_eq!(bp.sim.request_count(), 3, "401s are not counted");
}

#[tokio::test]
async fn other_private_apps_share_the_pool() {
    let bp = start_with(config(), Clock::manual(), Faults::none()).await;
    assert_eq!(
        bp.get("/warehouse-service/warehouse").await.remaining(),
        199
    );
    assert_eq!(bp.sim.consume_quota(150), 150);
    assert_eq!(bp.get("/warehouse-service/warehouse").await.remaining(), 48);
    assert_eq!(bp.sim.consume_quota(100), 48);
    let r = bp.get("/warehouse-service/warehouse").await;
    assert_eq!((r.status.as_u16(), r.remaining()), (503, 0));
    assert_eq!(r.body, json!({"response": TOO_MANY_REQUESTS}));
    // An OAuth developer's pool is untouched.
    let r = bp
        .client
        .get(bp.url("/warehouse-service/warehouse"))
        .bearer_auth(TOKEN)
        .header("brightpearl-dev-ref", "dev1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["brightpearl-requests-remaining"], "199");
}

#[tokio::test]
async fn three_hundred_requests_in_one_frozen_minute() {
    let clock = Clock::manual();
    let bp = start_with(config(), clock.clone(), Faults::none()).await;
    clock.advance_ms(5_000);
    for i in 1..=300u32 {
        // Half the calls are writes: a throttled write must not be processed.
        let r = if i % 2 == 0 {
            bp.post(
                "/contact-service/postal-address",
                json!({"addressLine1": format!("{i} Road"), "countryIsoCode": "GBR"}),
            )
            .await
        } else {
            bp.get("/warehouse-service/warehouse").await
        };
        assert_eq!(r.next_period(), 60_000, "request {i}");
        if i <= 200 {
            assert_eq!(r.status, 200, "request {i}");
            assert_eq!(r.remaining(), 200 - i, "request {i}");
        } else {
            assert_eq!(r.status, 503, "request {i}");
            assert_eq!(r.remaining(), 0);
            assert_eq!(r.body, json!({"response": TOO_MANY_REQUESTS}));
        }
    }
    assert_eq!(bp.sim.request_count(), 300);
    assert_eq!(bp.sim.throttled_count(), 100);
    // 100 accepted POSTs created addresses 101..=200 (seed address is 100); none after the cap.
    let r = bp.get("/contact-service/postal-address/101-300").await;
    assert_eq!(r.status, 503, "still throttled within the window");
    clock.advance_ms(59_999);
    let r = bp.get("/contact-service/postal-address/101-300").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.next_period(), 1);
    clock.advance_ms(1);
    let r = bp.get("/contact-service/postal-address/101-250").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.remaining(), 199);
    assert_eq!(r.next_period(), 60_000);
    let ids: Vec<i64> = r.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["addressId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (101..=200).collect::<Vec<_>>());
    assert_eq!(bp.sim.throttled_count(), 102);
}

#[tokio::test]
async fn scaled_clock_headers_follow_simulated_time() {
    // 10 simulated ms per real ms: the minute lasts 6 real seconds.
    let clock = Clock::scaled(10.0);
    let bp = start_with(config(), clock.clone(), Faults::none()).await;
    let start = clock.elapsed_ms();
    let mut last_period = u64::MAX;
    for i in 1..=300u32 {
        let r = bp.get("/order-service/order-status").await;
        let period = r.next_period();
        let elapsed = clock.elapsed_ms() - start;
        assert!(
            period <= 60_000 && period <= last_period,
            "request {i}: {period} after {last_period}"
        );
        assert!(
            period + elapsed >= 59_999 && period + elapsed <= 70_000,
            "request {i}: period {period}, elapsed {elapsed}"
        );
        last_period = period;
        if i <= 200 {
            assert_eq!(
                (r.status.as_u16(), r.remaining()),
                (200, 200 - i),
                "request {i}"
            );
        } else {
            assert_eq!((r.status.as_u16(), r.remaining()), (503, 0), "request {i}");
        }
    }
    assert!(
        clock.elapsed_ms() - start < 60_000,
        "the test must run inside one simulated minute"
    );
    // Wait out the window as a client would: sleep next-throttle-period simulated ms.
    clock.sleep_simulated(last_period + 10).await;
    let r = bp.get("/order-service/order-status").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.remaining(), 199);
    assert_eq!(bp.sim.throttled_count(), 100);
    assert_eq!(bp.sim.request_count(), 301);
}
