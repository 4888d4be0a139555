//! `pearlbridge demo --serve`: the demo driven by webhooks instead of manual runs. The sandbox
//! starts with an empty BigCommerce store; `pearlbridge serve` runs in process with the demo
//! client (a daily sweep, `[webhooks]` with a fresh random secret); `hooks register` creates
//! the BigCommerce hook with the secret header; the simulator's callbacks go to the service.
//! Then the generated orders are placed one by one in the simulator, and the demo waits until
//! every in-scope order is posted (or held) and the inbox is empty. The report has the demo's
//! shape (orders, exceptions, API calls, reconciliation) plus a `serve` section: webhooks
//! delivered and accepted, runs on events and on the schedule.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use pearlbridge_capabilities::clients::load_client;
use pearlbridge_capabilities::connections::System;
use pearlbridge_capabilities::secrets::{MemorySecrets, Secret, Secrets};
use pearlbridge_capabilities::state::{RunFilter, RunOutcome};
use serde_json::{Value, json};

use crate::demo::{DemoEnv, DemoOptions, build_seed};
use crate::host::Host;
use crate::serve::{ServeOptions, serve};

/// Secret name of the demo's BigCommerce webhook header value.
const WEBHOOK_SECRET: &str = "demo_bc_webhook";

fn secrets(env: &DemoEnv, webhook: &str) -> Secrets {
    let mut s = MemorySecrets::new();
    s.insert(
        "demo_bc_token",
        Secret::new(env.sandbox.info.bigcommerce.token.clone()),
    );
    s.insert(
        "demo_bp_token",
        Secret::new(env.sandbox.info.brightpearl.token.clone()),
    );
    s.insert(WEBHOOK_SECRET, Secret::new(webhook));
    Secrets::new(vec![Box::new(s)])
}

/// Run the demo through `serve` and webhooks; see the module docs. The report renders with
/// [`crate::demo::render_text`]. Errors: the sandbox or the service could not start, the hook
/// could not be registered, or the orders were not all posted within 10 minutes.
pub async fn run_demo_serve(opts: &DemoOptions) -> anyhow::Result<Value> {
    let started = Instant::now();
    let (mut seed, facts) = build_seed(opts)?;
    let later = std::mem::take(&mut seed.bigcommerce.orders);
    let mut env = DemoEnv::start(opts, seed, facts).await?;
    let clients = env.host.config.data_dir.join("clients");
    let file = clients.join("demo").join("client.toml");
    let text = std::fs::read_to_string(&file)?;
    std::fs::write(
        &file,
        text.replacen("[flows.orders]\n", "[flows.orders]\nschedule = \"1d\"\n", 1)
            + &format!(
                "\n[webhooks]\npublic_url = \"https://demo.pearlbridge.invalid\"\nbigcommerce_secret = \"{WEBHOOK_SECRET}\"\nbrightpearl_secret = \"{WEBHOOK_SECRET}\"\n"
            ),
    )?;
    let webhook = format!("whsec-{:032x}", rand::random::<u128>());
    env.host.set_secrets(secrets(&env, &webhook));
    env.host
        .put_client(load_client(&clients.join("demo")).map_err(|p| anyhow!("demo client: {p:?}"))?);
    let mut host = Host::with_parts(
        env.host.config.clone(),
        env.host.runtime.clone(),
        env.host.store.clone(),
    )?;
    host.set_secrets(secrets(&env, &webhook));
    let mut sopts = ServeOptions::new(&clients, "127.0.0.1:0".parse()?);
    sopts.max_jitter = Duration::from_millis(500);
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (_reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    let server = tokio::spawn(serve(
        host,
        sopts,
        async move {
            let _ = stop_rx.await;
        },
        reload_rx,
        move |s| {
            let _ = addr_tx.send(s.listening.clone());
        },
    ));
    let addr = addr_rx.await.context("serve did not start")?;
    let hooks = crate::hooks::register(&env.host, "demo").await?;
    env.sandbox
        .bigcommerce
        .set_webhook_callback(Some(format!("http://{addr}/webhooks/bigcommerce/demo")));
    let placed = later.len();
    for b in later {
        env.place_order(b);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let until = Instant::now() + Duration::from_secs(600);
    let reconciliation = loop {
        let rec = env.reconcile()?;
        let empty = env.host.store.inbox(None, 1)?.is_empty();
        if rec["orders"]["missing"] == 0 && empty {
            break rec;
        }
        if Instant::now() > until {
            return Err(anyhow!(
                "not every order was posted within 10 minutes: {}",
                rec["orders"]
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = stop_tx.send(());
    server.await??;

    let runs = env.host.store.runs(&RunFilter {
        client: Some("demo".into()),
        limit: Some(u32::MAX),
        ..Default::default()
    })?;
    let count = |name: &str| -> u64 {
        runs.iter()
            .filter_map(|r| match &r.outcome {
                Some(RunOutcome::Ok(s)) => serde_json::from_str::<Value>(s).ok(),
                _ => None,
            })
            .filter_map(|v| v["counts"][name].as_u64())
            .sum()
    };
    let exceptions = env.exceptions()?;
    let held = exceptions
        .iter()
        .filter(|e| {
            e["entity"]
                .as_str()
                .is_some_and(|s| s.starts_with("bigcommerce:order:"))
        })
        .count();
    let deliveries = env.sandbox.bigcommerce.webhook_deliveries();
    // The service's own host made the calls: count them from its audit lines.
    let audit = env.host.store.audit_lines(Some("demo"), u32::MAX)?;
    let calls = |sys: System| audit.iter().filter(|l| l.system == sys.to_string()).count();
    let throttled = |sys: System| {
        audit
            .iter()
            .filter(|l| l.system == sys.to_string())
            .filter(|l| l.status == Some(429) || l.outcome == "throttled")
            .count()
    };
    let posted = count("posted");
    let statuses: Vec<u64> = env.mapping["statuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    let not_in_scope = env
        .bigcommerce_orders()
        .iter()
        .filter(|o| {
            !o.get("status_id")
                .and_then(Value::as_u64)
                .is_some_and(|st| statuses.contains(&st))
        })
        .count();
    let report = json!({
        "store": { "orders": placed, "seed": opts.seed },
        "flows": { "orders": {
            "runs": runs.len(),
            "posted": posted,
            "held": held,
            "payments_posted": count("payments_posted"),
            "rounding_rows": count("rounding_rows"),
            "pending_retry": 0,
            "not_in_posted_statuses": not_in_scope,
            "notes": [],
        }},
        "serve": {
            "listening": addr,
            "hooks": hooks,
            "webhooks_delivered": deliveries.len(),
            "webhooks_accepted": deliveries.iter().filter(|d| d.status == Some(200)).count(),
            "runs_on_events": runs.iter().filter(|r| r.trigger.starts_with("events(")).count(),
            "runs_on_schedule": runs.iter().filter(|r| r.trigger == "scheduled").count(),
        },
        "exceptions": exceptions,
        "api_calls": { "bigcommerce": calls(System::BigCommerce), "brightpearl": calls(System::Brightpearl) },
        "throttled": { "bigcommerce": throttled(System::BigCommerce), "brightpearl": throttled(System::Brightpearl) },
        "rate_limit_waits_ms": { "bigcommerce": Value::Null, "brightpearl": Value::Null },
        "brightpearl_calls_per_posted_order": if posted > 0 { json!((calls(System::Brightpearl) as f64 / posted as f64 * 100.0).round() / 100.0) } else { Value::Null },
        "reconciliation": reconciliation,
        "faults": { "seed": opts.fault_seed },
        "time_scale": opts.time_scale,
        "elapsed_ms": started.elapsed().as_millis() as u64,
    });
    env.shutdown().await;
    Ok(report)
}

/// The `serve` section of a [`run_demo_serve`] report as text.
pub fn render_serve(r: &Value) -> String {
    let s = &r["serve"];
    if s.is_null() {
        return String::new();
    }
    format!(
        "serve: {} webhooks delivered by BigCommerce, {} accepted; {} runs on events, {} on the schedule (no manual run)\n",
        s["webhooks_delivered"], s["webhooks_accepted"], s["runs_on_events"], s["runs_on_schedule"]
    )
}
