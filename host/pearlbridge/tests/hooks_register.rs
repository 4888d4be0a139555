//! `pearlbridge hooks register --client X` against the BigCommerce simulator: creates the
//! orders flow's hook with the secret header, a second call creates nothing, a deactivated
//! hook is reported and reactivated; the secret never appears in what the CLI prints.

mod serve_support;

use std::process::Command;

use serde_json::json;
use serve_support::*;

fn register(env: &Env) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pearlbridge"))
        .arg("--data-dir")
        .arg(&env.data)
        .args(["hooks", "register", "--client", "demo", "--clients"])
        .arg(&env.clients)
        .env(
            "PEARLBRIDGE_SECRET_DEMO_BC_TOKEN",
            &env.demo.sandbox.info.bigcommerce.token,
        )
        .env(
            "PEARLBRIDGE_SECRET_DEMO_BP_TOKEN",
            &env.demo.sandbox.info.brightpearl.token,
        )
        .env("PEARLBRIDGE_SECRET_DEMO_BC_WEBHOOK", BC_HOOK_SECRET)
        .env("PEARLBRIDGE_SECRET_DEMO_BP_WEBHOOK", BP_HOOK_TOKEN)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(BC_HOOK_SECRET), "the secret was printed");
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_is_idempotent_and_reports_and_reactivates_deactivated_hooks() {
    let env = Env::start(1, 41, "5m", true).await;
    let (code, text) = register(&env);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("store/order/*"), "{text}");
    assert!(text.contains("created"), "{text}");
    // One hook: the orders flow's `store/order/*` covers the tracking flow's
    // `store/order/statusUpdated` and the refunds flow's `store/order/refund/created` (a
    // second hook would deliver those events twice).
    let hooks = env.demo.sandbox.bigcommerce.hooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let h = &hooks[0];
    assert_eq!(h["scope"], "store/order/*");
    assert_eq!(
        h["destination"],
        "https://hooks.example.com/webhooks/bigcommerce/demo"
    );
    assert_eq!(h["headers"]["x-pearlbridge-webhook-secret"], BC_HOOK_SECRET);
    assert_eq!(h["is_active"], true);

    // Again: nothing new.
    let (code, text) = register(&env);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("unchanged"), "{text}");
    assert!(text.contains("0 deactivated"), "{text}");
    assert_eq!(env.demo.sandbox.bigcommerce.hooks().len(), 1);

    // BigCommerce deactivated it (deliveries failed for 48 h): reported and reactivated.
    let bc = &env.demo.sandbox.info.bigcommerce;
    let id = h["id"].as_i64().unwrap();
    let r = reqwest::Client::new()
        .put(format!(
            "{}/stores/{}/v3/hooks/{id}",
            bc.base_url, bc.store_hash
        ))
        .header("x-auth-token", &bc.token)
        .header("content-type", "application/json")
        .body(json!({"is_active": false}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (code, text) = register(&env);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("deactivated: bigcommerce hook {id} store/order/*")),
        "{text}"
    );
    assert!(text.contains("reactivated"), "{text}");
    let hooks = env.demo.sandbox.bigcommerce.hooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert!(hooks.iter().all(|h| h["is_active"] == true), "{hooks:?}");

    // Without a public URL there is nothing to register at.
    let file = env.clients.join("demo/client.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("public_url = \"https://hooks.example.com\"\n", ""),
    )
    .unwrap();
    let (code, text) = register(&env);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("webhooks.public_url is needed"), "{text}");
}
