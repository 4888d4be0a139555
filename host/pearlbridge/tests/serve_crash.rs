//! Issue 8's crash test: the `pearlbridge serve` binary is killed with SIGKILL several times
//! during a stream of orders (webhooks and scheduled sweeps) and started again. Afterwards
//! every accepted event was processed (the inbox is empty), every order is in Brightpearl
//! exactly once, and no two runs of the client × flow overlapped.

mod serve_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pearlbridge_capabilities::state::Store;
use serve_support::*;

/// Starts the binary; returns it and the address from its first line.
fn spawn(env: &Env) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pearlbridge"))
        .arg("--data-dir")
        .arg(&env.data)
        .args(["serve", "--clients"])
        .arg(&env.clients)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--lease-ttl",
            "2s",
            "--max-jitter",
            "0",
            "--coalesce",
            "50ms",
            "--retry-backoff",
            "200ms",
            "--server-time-scale",
            &TIME_SCALE.to_string(),
        ])
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
        .env("PEARLBRIDGE_LOG", "warn,pearlbridge=info")
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
    assert_eq!(v["clients"][0], "demo", "{v}");
    (child, v["listening"].as_str().unwrap().to_string())
}

fn kill(child: &mut Child) -> DateTime<Utc> {
    // SIGKILL: no drain, no lease release, claims left behind.
    child.kill().unwrap();
    child.wait().unwrap();
    Utc::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_stream_of_webhooks_loses_nothing_and_posts_every_order_once() {
    let mut env = Env::start(36, 31, "3s", true).await;
    let (mut child, addr) = spawn(&env);
    env.register_bigcommerce_hook(addr.parse().unwrap()).await;
    let bundles = std::mem::take(&mut env.bundles);
    let placed = bundles.len();
    let mut kills: Vec<DateTime<Utc>> = vec![];
    for (i, b) in bundles.into_iter().enumerate() {
        env.demo.place_order(b);
        tokio::time::sleep(Duration::from_millis(40)).await;
        // Killed three times mid-stream, at different points of its runs.
        if i % 9 == 8 && kills.len() < 3 {
            tokio::time::sleep(Duration::from_millis(70 * kills.len() as u64)).await;
            kills.push(kill(&mut child));
            // Deliveries fail while it is down; BigCommerce retries them (60 s simulated).
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (c, addr) = spawn(&env);
            child = c;
            env.demo
                .sandbox
                .bigcommerce
                .set_webhook_callback(Some(format!("http://{addr}/webhooks/bigcommerce/demo")));
        }
    }
    assert_eq!(kills.len(), 3);
    let rec = env.wait_reconciled(placed, Duration::from_secs(120)).await;
    assert_eq!(rec["orders"]["duplicated"], 0, "{rec:#}");
    assert_eq!(rec["orders"]["mismatched"], 0, "{rec:#}");
    assert_eq!(rec["payments"]["duplicated"], 0, "{rec:#}");
    let posted = env.demo.sandbox.brightpearl.sales_orders();
    assert_eq!(
        posted.len() as u64,
        rec["orders"]["checked"].as_u64().unwrap()
    );
    // Every accepted event was processed: the inbox empties.
    let store = env.store();
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while !store.inbox(None, 10).unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < until,
            "events left: {:?}",
            store.inbox(None, 10).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let accepted = env
        .demo
        .sandbox
        .bigcommerce
        .webhook_deliveries()
        .iter()
        .filter(|d| d.status == Some(200))
        .count();
    assert!(
        accepted >= placed,
        "{accepted} accepted for {placed} orders"
    );
    kills.push(kill(&mut child));

    // No overlap within the client × flow (the orders flow; the stock flow's runs may run
    // beside it): a run starts after the one before it finished, or, when that one never
    // finished (its process was killed), after the kill.
    let runs: Vec<_> = env
        .runs()
        .into_iter()
        .filter(|r| r.flow == "orders")
        .collect();
    let events_runs = runs
        .iter()
        .filter(|r| r.trigger.starts_with("events("))
        .count();
    let sweeps = runs.iter().filter(|r| r.trigger == "scheduled").count();
    assert!(events_runs > 0 && sweeps > 0, "{runs:?}");
    for w in runs.windows(2) {
        let end = match w[0].finished_at {
            Some(t) => t,
            None => *kills
                .iter()
                .find(|k| **k >= w[0].started_at)
                .unwrap_or_else(|| panic!("run {} never finished and was not killed", w[0].id)),
        };
        assert!(
            w[1].started_at >= end,
            "run {} started at {} before run {} ended at {end}",
            w[1].id,
            w[1].started_at,
            w[0].id
        );
    }
    let unfinished = runs.iter().filter(|r| r.finished_at.is_none()).count();
    assert!(unfinished <= kills.len(), "{runs:?}");
    eprintln!(
        "{} runs ({events_runs} on events, {sweeps} sweeps), {unfinished} cut by SIGKILL; {accepted} webhooks accepted; {} orders posted",
        runs.len(),
        posted.len()
    );
}
