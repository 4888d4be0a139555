//! Issue #2: no secret value appears in logs, state, audit lines, exceptions or error messages.

use std::io::Write;
use std::sync::{Arc, Mutex};

use pearlbridge::bindings::Trigger;
use pearlbridge_capabilities::clients::load_client;
use pearlbridge_capabilities::state::{ExceptionFilter, RunFilter};
use pearlbridge_tests::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const BC: &str = "bc-TOKEN-a8f3e1";
const BP: &str = "bp-TOKEN-77c2d9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_state_audit_exceptions_or_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = test_host(tmp.path(), &[("acme_bc_token", BC), ("acme_bp_token", BP)]);
    let stored = host
        .components
        .add(&host.runtime, &component("probe.wasm"))
        .await
        .unwrap();
    let root = tmp.path().join("clients");
    let dir = write_client(
        &root,
        "acme",
        &client_toml(
            &up.base_url,
            "acme",
            "probe",
            &stored.id(),
            &stored.sha256,
            "",
        ),
    );
    host.add_client(load_client(&dir).unwrap());

    let mut texts = vec![];
    // A successful run that uses every import (logs, state, exceptions, audit lines) ...
    let ok = host
        .run_flow("acme", "probe", Trigger::Scheduled)
        .await
        .unwrap();
    texts.push(format!("{ok:?}"));
    // ... a failing run ...
    let failed = host
        .run_flow("acme", "probe", Trigger::Replay(vec!["mode:panic".into()]))
        .await
        .unwrap();
    texts.push(format!("{failed:?}"));
    // ... a connection that cannot connect (transport errors are reported to the flow) ...
    let dead = write_client(
        &root,
        "dead",
        &client_toml(
            "http://127.0.0.1:9",
            "dead",
            "probe",
            &stored.id(),
            &stored.sha256,
            "",
        ),
    );
    host.set_secrets(pearlbridge_capabilities::secrets::Secrets::new(vec![
        Box::new(MapSecrets(vec![
            ("acme_bc_token".into(), BC.into()),
            ("acme_bp_token".into(), BP.into()),
            ("dead_bc_token".into(), BC.into()),
            ("dead_bp_token".into(), BP.into()),
        ])),
    ]));
    host.add_client(load_client(&dead).unwrap());
    let unreachable = host
        .run_flow("dead", "probe", Trigger::Scheduled)
        .await
        .unwrap();
    texts.push(format!("{unreachable:?}"));
    assert!(
        texts[2].contains("api /v2/time error SendError::Transport"),
        "{}",
        texts[2]
    );
    // ... and a client whose secret is missing.
    host.set_secrets(pearlbridge_capabilities::secrets::Secrets::new(vec![]));
    host.add_client(load_client(&dead).unwrap());
    let missing = host
        .run_flow("dead", "probe", Trigger::Scheduled)
        .await
        .unwrap_err();
    texts.push(format!("{missing:#} {missing:?}"));

    texts.push(format!("{:?}", host.store.audit_lines(None, 1000).unwrap()));
    texts.push(format!(
        "{:?}",
        host.store.exceptions(&ExceptionFilter::default()).unwrap()
    ));
    texts.push(format!(
        "{:?}",
        host.store.runs(&RunFilter::default()).unwrap()
    ));
    texts.push(format!(
        "{:?}",
        host.connections.get(
            "acme",
            pearlbridge_capabilities::connections::System::BigCommerce
        )
    ));
    for f in ["state.sqlite", "state.sqlite-wal"] {
        if let Ok(bytes) = std::fs::read(tmp.path().join(f)) {
            texts.push(String::from_utf8_lossy(&bytes).to_string());
        }
    }
    texts.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string());
    assert!(
        texts.iter().map(|t| t.len()).sum::<usize>() > 1000,
        "captured too little to prove anything"
    );
    for t in &texts {
        assert!(
            !t.contains(BC) && !t.contains(BP),
            "a secret leaked into: {t}"
        );
    }
    // The upstream did get them (so they were in play).
    assert!(
        up.seen()
            .iter()
            .any(|s| s.headers.iter().any(|(_, v)| v == BC))
    );
}
