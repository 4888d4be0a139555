//! Issue #13 item 5: `GET /metrics` of `pearlbridge serve` agrees with the state store (runs by
//! outcome, open exceptions by kind and owner) and carries no secret.

use std::collections::BTreeMap;

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_capabilities::state::ExceptionFilter;
use pearlbridge_tests::{Serving, components_dir};

/// The samples of family `name` (`name{labels} value` lines), labels as written → value.
fn samples(text: &str, name: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let (labels, value) = rest.rsplit_once(' ')?;
            labels
                .starts_with('{')
                .then(|| (labels.to_string(), value.parse().unwrap()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_runs_and_open_exceptions_as_the_store_holds_them() {
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
    let runs = env.run_orders(opts.max_runs).await.unwrap();

    // The orders runs the store recorded before `serve` started.
    let runs_before = env
        .host
        .store
        .run_counts()
        .unwrap()
        .iter()
        .filter(|c| c.flow == "orders" && c.outcome == "ok")
        .map(|c| c.runs as f64)
        .sum::<f64>();
    assert!(runs_before >= 1.0 && runs_before <= runs.len() as f64);
    let serving = Serving::start(&env, &[], "").await;
    // `serve` runs each flow that is due (never ran, or its schedule was missed) at start:
    // scrape until those runs have finished.
    let scrape = || async {
        let resp = reqwest::get(format!("http://{}/metrics", serving.addr))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        resp.text().await.unwrap()
    };
    let ok = |flow: &str| format!(r#"{{client="demo",flow="{flow}",outcome="ok"}}"#);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let text = loop {
        let text = scrape().await;
        let runs = samples(&text, "pearlbridge_runs_total");
        let started = |flow: &str| {
            runs.get(&ok(flow)).copied().unwrap_or(0.0)
                >= if flow == "orders" { runs_before } else { 1.0 }
        };
        if pearlbridge::demo::DEMO_FLOWS.iter().all(|f| started(f))
            && !runs.keys().any(|k| !k.contains(r#"outcome="ok""#))
            && samples(&text, "pearlbridge_runs_running")
                .values()
                .all(|n| *n == 0.0)
        {
            break text;
        }
        assert!(
            std::time::Instant::now() < until,
            "start-up runs never finished:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    serving.stop().await;

    // Runs as the store holds them: the orders runs above, then one start-up run per other flow.
    let expected_runs: BTreeMap<String, f64> = env
        .host
        .store
        .run_counts()
        .unwrap()
        .into_iter()
        .filter(|c| c.outcome != "running")
        .map(|c| {
            (
                format!(
                    r#"{{client="{}",flow="{}",outcome="{}"}}"#,
                    c.client, c.flow, c.outcome
                ),
                c.runs as f64,
            )
        })
        .collect();
    // Orders ran within its schedule's interval before `serve` started, so it is not due
    // at start; the flows that never ran are.
    assert_eq!(expected_runs[&ok("orders")], runs_before);
    for flow in pearlbridge::demo::DEMO_FLOWS {
        assert!(expected_runs[&ok(flow)] >= 1.0, "{expected_runs:?}");
    }
    assert_eq!(
        samples(&text, "pearlbridge_runs_total"),
        expected_runs,
        "{text}"
    );
    // The start-up runs went through this process's connections to both systems.
    let calls = samples(&text, "pearlbridge_api_calls_total");
    for system in ["bigcommerce", "brightpearl"] {
        let n = calls
            .get(&format!(r#"{{client="demo",system="{system}"}}"#))
            .copied()
            .unwrap_or(0.0);
        assert!(n >= 1.0, "no {system} calls counted:\n{text}");
    }

    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    for e in env
        .host
        .store
        .exceptions(&ExceptionFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap()
    {
        let labels = format!(
            r#"{{client="{}",flow="{}",kind="{}",owner="{}"}}"#,
            e.client,
            e.flow,
            e.kind,
            e.owner.as_str()
        );
        *expected.entry(labels).or_default() += 1.0;
    }
    assert!(
        expected
            .keys()
            .any(|k| k.contains(r#"kind="unmapped-sku""#)),
        "{expected:?}"
    );
    assert_eq!(
        samples(&text, "pearlbridge_exceptions_open"),
        expected,
        "{text}"
    );

    for family in [
        "pearlbridge_api_calls",
        "pearlbridge_api_throttled",
        "pearlbridge_api_retries",
        "pearlbridge_api_rate_limit_wait_milliseconds",
        "pearlbridge_api_requests_left",
        "pearlbridge_inbox_depth",
    ] {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family} missing:\n{text}"
        );
    }
    // Every flow of the demo client has an inbox depth (0: nothing is waiting).
    let depths = samples(&text, "pearlbridge_inbox_depth");
    for flow in pearlbridge::demo::DEMO_FLOWS {
        assert_eq!(
            depths.get(&format!(r#"{{client="demo",flow="{flow}"}}"#)),
            Some(&0.0),
            "{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
    for token in [
        &env.sandbox.info.bigcommerce.token,
        &env.sandbox.info.brightpearl.token,
    ] {
        assert!(!text.contains(token.as_str()), "a token in /metrics");
    }
    env.shutdown().await;
}
