//! SIGTERM to the `pearlbridge serve` binary while a run is in flight: it stops accepting,
//! the run finishes (nothing is cut), the process exits 0; events accepted and not yet run
//! stay in the inbox and are run after a restart.

mod serve_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pearlbridge_capabilities::state::Store;
use serve_support::*;

fn spawn(env: &Env) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pearlbridge"))
        .arg("--data-dir")
        .arg(&env.data)
        .args(["serve", "--clients"])
        .arg(&env.clients)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--max-jitter",
            "0",
            "--drain",
            "60s",
        ])
        .args(["--server-time-scale", &TIME_SCALE.to_string()])
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
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, v["listening"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_run_in_flight_finish_and_keeps_the_rest_in_the_inbox() {
    let mut env = Env::start(30, 51, "1d", true).await;
    let (mut child, addr) = spawn(&env);
    env.register_bigcommerce_hook(addr.parse().unwrap()).await;
    let bundles = std::mem::take(&mut env.bundles);
    let placed = bundles.len();
    for b in bundles {
        env.demo.place_order(b);
    }
    // Wait for an events run to be going.
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs = env.runs();
        if runs
            .iter()
            .any(|r| r.trigger.starts_with("events(") && r.finished_at.is_none())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no events run: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SAFETY: sending a signal to the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    let runs = env.runs();
    assert!(
        runs.iter().all(|r| r.finished_at.is_some()),
        "a run was cut: {runs:?}"
    );
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err(),
        "still listening"
    );
    // Restarted: whatever was left (in the inbox, or retried by BigCommerce) is run.
    let (mut child, addr) = spawn(&env);
    env.demo
        .sandbox
        .bigcommerce
        .set_webhook_callback(Some(format!("http://{addr}/webhooks/bigcommerce/demo")));
    let rec = env.wait_reconciled(placed, Duration::from_secs(120)).await;
    assert_eq!(rec["orders"]["duplicated"], 0, "{rec:#}");
    let store = env.store();
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while !store.inbox(None, 1).unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < until, "inbox not emptied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}
