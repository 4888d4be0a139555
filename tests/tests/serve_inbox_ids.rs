//! Issue 8: a flow run by `serve` for webhooks gets its events as `Trigger::Events`, and
//! `context.events()` (pearlbridge:flow@1.1.0) gives each its inbox id and the time the host
//! committed it, not run-scoped ids. Two webhooks close together are coalesced into one run.

use std::time::Duration;

use pearlbridge::serve::{ServeOptions, serve};
use pearlbridge_capabilities::clients::BIGCOMMERCE_WEBHOOK_HEADER;
use pearlbridge_capabilities::state::{RunFilter, RunOutcome, SqliteStore, Store};
use pearlbridge_tests::*;

const SECRET: &str = "whsec-acme-3b9f0c2d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_flow_with_their_inbox_ids_in_one_coalesced_run() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = Upstream::start().await;
    let host = test_host(
        tmp.path(),
        &[
            ("acme_bc_token", "tok-bc-0123456789"),
            ("acme_bp_token", "tok-bp-0123456789"),
            ("acme_bc_webhook", SECRET),
        ],
    );
    let stored = host
        .components
        .add(&host.runtime, &component("probe11.wasm"))
        .await
        .unwrap();
    let clients = tmp.path().join("clients");
    let toml = client_toml(
        &upstream.base_url,
        "acme",
        "probe",
        &stored.id(),
        &stored.sha256,
        "",
    ) + "\n[webhooks]\nbigcommerce_secret = \"acme_bc_webhook\"\n";
    write_client(&clients, "acme", &toml);

    let mut opts = ServeOptions::new(&clients, "127.0.0.1:0".parse().unwrap());
    opts.coalesce = Duration::from_millis(400);
    opts.max_jitter = Duration::ZERO;
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (_reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    let server = tokio::spawn(serve(
        host,
        opts,
        async move {
            let _ = stop_rx.await;
        },
        reload_rx,
        move |s| {
            let _ = addr_tx.send(s.clone());
        },
    ));
    let started = addr_rx.await.unwrap();
    assert!(started.refused.is_empty(), "{:?}", started.refused);
    let url = format!("http://{}/webhooks/bigcommerce/acme", started.listening);
    let store = SqliteStore::open(&tmp.path().join("state.sqlite")).unwrap();
    // Let a start-up sweep (if any) pass, so the events run is on its own.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let http = reqwest::Client::new();
    let mut committed = vec![];
    for id in [77, 78] {
        let body = format!(
            r#"{{"scope":"store/order/created","store_id":"1","data":{{"type":"order","id":{id}}},"hash":"h{id}","created_at":1,"producer":"stores/acmestore"}}"#
        );
        let r = http
            .post(&url)
            .header(BIGCOMMERCE_WEBHOOK_HEADER, SECRET)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Committed before the 200: it is in the inbox now (the run waits to coalesce).
        committed = store.inbox(None, 10).unwrap();
    }
    assert_eq!(committed.len(), 2, "{committed:?}");
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    let run = loop {
        let runs = store
            .runs(&RunFilter {
                limit: Some(100),
                ..Default::default()
            })
            .unwrap();
        if let Some(r) = runs
            .iter()
            .find(|r| r.trigger.starts_with("events(") && r.finished_at.is_some())
        {
            assert_eq!(
                runs.iter()
                    .filter(|r| r.trigger.starts_with("events("))
                    .count(),
                1,
                "{runs:?}"
            );
            break r.clone();
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no events run: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(run.trigger, "events(2)", "coalesced");
    let Some(RunOutcome::Ok(summary)) = &run.outcome else {
        panic!("{run:?}");
    };
    let v: serde_json::Value = serde_json::from_str(summary).unwrap();
    let events: Vec<Vec<String>> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str()?.strip_prefix("event "))
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect();
    assert_eq!(events.len(), 2, "{v}");
    for (e, c) in events.iter().zip(&committed) {
        assert_eq!(e[0], c.id.to_string(), "the inbox id: {v}");
        assert_eq!(e[1], "store/order/created");
        assert_eq!(e[2], c.entity_id);
        let at = chrono::DateTime::parse_from_rfc3339(&e[3]).unwrap();
        assert_eq!(
            at.timestamp_millis(),
            c.received_at.timestamp_millis(),
            "{v}"
        );
    }
    // Deleted once the run is recorded as finished OK.
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while !store.inbox(None, 10).unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < until,
            "not deleted after the run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
