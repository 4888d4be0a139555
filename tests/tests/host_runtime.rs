//! Issue #2 "done when": the host runs real components with every import, stops hostile
//! ones with a clear error, runs two versions side by side and keeps clients apart.

use pearlbridge::bindings::Trigger;
use pearlbridge::runtime::LoadError;
use pearlbridge_capabilities::clients::load_client;
use pearlbridge_capabilities::state::{ExceptionFilter, Namespace, RunFilter, RunOutcome};
use pearlbridge_tests::*;

fn replay(modes: &[&str]) -> Trigger {
    Trigger::Replay(modes.iter().map(|m| m.to_string()).collect())
}

/// Store `file` and pin it for `client` under flow `probe`.
async fn pinned_client(
    host: &mut pearlbridge::host::Host,
    root: &std::path::Path,
    base: &str,
    client: &str,
    file: &str,
    mapping: &str,
) {
    let stored = host
        .components
        .add(&host.runtime, &component(file))
        .await
        .unwrap();
    let toml = client_toml(base, client, "probe", &stored.id(), &stored.sha256, mapping);
    let dir = write_client(root, client, &toml);
    host.add_client(load_client(&dir).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_uses_every_host_import_and_its_effects_are_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = test_host(
        tmp.path(),
        &[
            ("acme_bc_token", "bc-SECRET-1"),
            ("acme_bp_token", "bp-SECRET-2"),
        ],
    );
    pinned_client(
        &mut host,
        &tmp.path().join("clients"),
        &up.base_url,
        "acme",
        "probe.wasm",
        "label = \"x\"",
    )
    .await;

    let report = host
        .run_flow("acme", "probe", replay(&["mode:everything"]))
        .await
        .unwrap();
    let summary = report.outcome.clone().expect("run ok");
    assert_eq!(summary.notes[0], "probe 1.0.0");
    assert_eq!(summary.notes[1], r#"config {"label":"x"}"#);
    assert_eq!(
        summary.notes[2],
        r#"api /v2/time 200 {"path":"/stores/acmestore/v2/time"}"#
    );
    assert_eq!(
        summary.notes[3],
        r#"api /order-service/order-status 200 {"path":"/public-api/acmeacct/order-service/order-status"}"#
    );
    assert_eq!(
        summary.notes[4],
        r#"state v1=1 cas_ok=Ok(2) cas_conflict=Err(2) fresh=Ok(1) listed=[("link:1", "100"), ("link:2", "200")] cursor=Some(("2026-11-29T01:00:00Z", 2)) tmp=None"#
    );
    assert_eq!(
        summary.notes[5],
        r#"open [("unmapped-sku", "bigcommerce:order:1")]"#
    );
    assert_eq!(summary.counts, vec![("api_calls".to_string(), 2)]);
    assert_eq!(report.journal.progress, Some((1, Some(2))));
    assert_eq!(report.journal.raised.len(), 2);
    assert_eq!(
        report.journal.resolved,
        vec![(
            "order-total-variance".to_string(),
            "bigcommerce:order:2".to_string()
        )]
    );
    assert_eq!(report.journal.api_calls, (1, 1));

    // Credentials were added by the host, upstream saw them.
    let seen = up.seen();
    assert_eq!(seen.len(), 2);
    let h = |i: usize, name: &str| {
        seen[i]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h(0, "x-auth-token").as_deref(), Some("bc-SECRET-1"));
    assert_eq!(
        h(1, "brightpearl-account-token").as_deref(),
        Some("bp-SECRET-2")
    );
    assert_eq!(h(1, "brightpearl-app-ref").as_deref(), Some("acme_app"));

    // Effects in the store: state, exceptions, the run and audit lines.
    let ns = Namespace {
        client: "acme".into(),
        flow: "probe".into(),
    };
    assert_eq!(
        host.store.state_get(&ns, "link:2").unwrap().unwrap().value,
        "200"
    );
    let open = host
        .store
        .exceptions(&ExceptionFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "unmapped-sku");
    assert_eq!(
        open[0].impact.as_ref().unwrap().amount.to_string(),
        "12.3400"
    );
    assert_eq!(open[0].impact.as_ref().unwrap().currency, "GBP");
    let runs = host.store.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, "replay(1)");
    assert!(matches!(runs[0].outcome, Some(RunOutcome::Ok(_))));
    let audit = host.store.audit_lines(Some("acme"), 10).unwrap();
    assert_eq!(audit.len(), 2);
    for line in &audit {
        assert_eq!(line.status, Some(200));
        assert_eq!(line.flow, "probe");
        let text = format!("{line:?}");
        assert!(
            !text.contains("SECRET"),
            "audit line leaks a secret: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_components_are_stopped_and_the_next_run_is_unaffected() {
    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = test_host(
        tmp.path(),
        &[
            ("acme_bc_token", "token-t1-bc"),
            ("acme_bp_token", "token-t2-bp"),
        ],
    );
    pinned_client(
        &mut host,
        &tmp.path().join("clients"),
        &up.base_url,
        "acme",
        "probe.wasm",
        "",
    )
    .await;

    // Endless loop: stopped at the deadline (3 s in the shared test runtime).
    let looped = host
        .run_flow("acme", "probe", replay(&["mode:loop"]))
        .await
        .unwrap();
    let err = looped.outcome.unwrap_err();
    assert!(err.contains("ran past its deadline of 3000 ms"), "{err}");
    assert!(err.contains("client `acme` flow `probe`"), "{err}");

    // 1 GiB allocation against a 64 MiB cap.
    let alloc = host
        .run_flow("acme", "probe", replay(&["mode:alloc"]))
        .await
        .unwrap();
    let err = alloc.outcome.unwrap_err();
    assert!(err.contains("past the cap of 67108864 bytes"), "{err}");

    // A panic is a trap with the guest's message.
    let panicked = host
        .run_flow("acme", "probe", replay(&["mode:panic"]))
        .await
        .unwrap();
    let err = panicked.outcome.unwrap_err();
    assert!(
        err.contains("trapped") && err.contains("probe asked to panic"),
        "{err}"
    );

    // The environment is empty even though the host process has secrets in its own.
    // SAFETY: single assignment in a test before the run reads nothing from it concurrently.
    unsafe { std::env::set_var("PEARLBRIDGE_SECRET_ACME_BC_TOKEN", "leaked?") };
    let env = host
        .run_flow("acme", "probe", replay(&["mode:env"]))
        .await
        .unwrap();
    let notes = env.outcome.unwrap().notes;
    assert_eq!(notes[1], "env vars visible: 0");
    assert_eq!(notes[2], "args visible: 0");

    // The next run of the same client is unaffected.
    let ok = host
        .run_flow("acme", "probe", replay(&["mode:everything"]))
        .await
        .unwrap();
    assert!(ok.outcome.is_ok(), "{:?}", ok.outcome);

    // A run that failed is recorded with its error.
    let runs = host.store.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 5);
    let errors = runs
        .iter()
        .filter(|r| matches!(r.outcome, Some(RunOutcome::Error(_))))
        .count();
    assert_eq!(errors, 3);
}

#[test]
fn sockets_and_files_are_refused_at_load_naming_the_import() {
    let rt = shared_runtime();
    let err = rt.load(&component("escape.wasm")).unwrap_err();
    match &err {
        LoadError::MissingImport { file, import, why } => {
            assert!(file.ends_with("escape.wasm"));
            assert!(
                import.starts_with("wasi:sockets/") || import.starts_with("wasi:filesystem/"),
                "{import}"
            );
            assert!(why.contains("flows have no"), "{why}");
        }
        other => panic!("expected MissingImport, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("escape.wasm: imports `wasi:"), "{text}");
}

#[test]
fn a_file_that_is_not_a_component_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let core = tmp.path().join("core.wasm");
    // A minimal core module: magic + version 1.
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let err = shared_runtime().load(&core).unwrap_err();
    assert!(matches!(err, LoadError::NotAComponent { .. }));
    assert!(
        err.to_string()
            .contains("it is a core module, not a component"),
        "{err}"
    );
    let text = tmp.path().join("notes.wasm");
    std::fs::write(&text, b"hello").unwrap();
    let err = shared_runtime().load(&text).unwrap_err();
    assert!(
        err.to_string().contains("no WebAssembly magic number"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_run_two_versions_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = test_host(
        tmp.path(),
        &[
            ("old_bc_token", "token-old-bc"),
            ("old_bp_token", "token-old-bp"),
            ("new_bc_token", "token-new-bc"),
            ("new_bp_token", "token-new-bp"),
        ],
    );
    let root = tmp.path().join("clients");
    pinned_client(
        &mut host,
        &root,
        &up.base_url,
        "old",
        "probe-1.0.0.wasm",
        "",
    )
    .await;
    pinned_client(
        &mut host,
        &root,
        &up.base_url,
        "new",
        "probe-1.1.0.wasm",
        "",
    )
    .await;
    let stored: Vec<String> = host
        .components
        .list()
        .unwrap()
        .iter()
        .map(|c| c.id())
        .collect();
    assert_eq!(stored, vec!["probe@1.0.0", "probe@1.1.0"]);

    let (a, b) = tokio::join!(
        host.run_flow("old", "probe", replay(&["mode:env"])),
        host.run_flow("new", "probe", replay(&["mode:env"]))
    );
    assert_eq!(a.unwrap().outcome.unwrap().notes[0], "probe 1.0.0");
    assert_eq!(b.unwrap().outcome.unwrap().notes[0], "probe 1.1.0");

    // Storing different bytes under a stored version is refused.
    let tmpfile = tmp.path().join("tampered.wasm");
    let mut bytes = std::fs::read(component("probe-1.0.0.wasm")).unwrap();
    bytes.extend_from_slice(&[0x00, 0x05, 0x04, b't', b'e', b's', b't']); // a custom section: new digest, same version
    std::fs::write(&tmpfile, &bytes).unwrap();
    let e = host
        .components
        .add(&host.runtime, &tmpfile)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("probe@1.0.0 is already stored with sha256"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_read_another_clients_state_or_use_its_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = test_host(
        tmp.path(),
        &[
            ("a_bc_token", "token-of-A"),
            ("a_bp_token", "bp-token-of-A"),
            ("b_bc_token", "token-of-B"),
            ("b_bp_token", "bp-token-of-B"),
        ],
    );
    let root = tmp.path().join("clients");
    pinned_client(&mut host, &root, &up.base_url, "a", "probe.wasm", "").await;
    pinned_client(&mut host, &root, &up.base_url, "b", "probe.wasm", "").await;

    // A writes state (link:1, link:2, cursor); B sees none of it.
    host.run_flow("a", "probe", replay(&["mode:everything"]))
        .await
        .unwrap()
        .outcome
        .unwrap();
    let b = host
        .run_flow("b", "probe", replay(&["get:link:1", "get:cursor"]))
        .await
        .unwrap();
    let notes = b.outcome.unwrap().notes;
    assert_eq!(
        notes[1..],
        [
            "state link:1 absent".to_string(),
            "state cursor absent".to_string()
        ]
    );
    let a = host
        .run_flow("a", "probe", replay(&["get:link:1"]))
        .await
        .unwrap();
    assert_eq!(a.outcome.unwrap().notes[1], "state link:1 = 100");

    // B's calls carry B's credentials and B's store path, never A's.
    host.run_flow("b", "probe", replay(&["mode:everything"]))
        .await
        .unwrap()
        .outcome
        .unwrap();
    for s in up.seen() {
        let token = s
            .headers
            .iter()
            .find(|(k, _)| k == "x-auth-token")
            .map(|(_, v)| v.as_str());
        if s.path.starts_with("/stores/bstore/") {
            assert_eq!(token, Some("token-of-B"));
        }
        if s.path.starts_with("/stores/astore/") {
            assert_eq!(token, Some("token-of-A"));
        }
    }
    let b_exceptions = host
        .store
        .exceptions(&ExceptionFilter {
            client: Some("b".into()),
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert!(b_exceptions.iter().all(|e| e.client == "b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_the_client_has_not_configured_is_denied_without_a_call() {
    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = test_host(tmp.path(), &[("solo_bc_token", "token-solo-bc")]);
    let stored = host
        .components
        .add(&host.runtime, &component("probe.wasm"))
        .await
        .unwrap();
    let toml = format!(
        "[connections.bigcommerce]\nstore_hash = \"solostore\"\napi_base = \"{}\"\ntoken_secret = \"solo_bc_token\"\n\n[flows.probe]\ncomponent = \"{}\"\nsha256 = \"{}\"\n",
        up.base_url,
        stored.id(),
        stored.sha256
    );
    let dir = write_client(&tmp.path().join("clients"), "solo", &toml);
    host.add_client(load_client(&dir).unwrap());
    let r = host
        .run_flow("solo", "probe", replay(&["mode:everything"]))
        .await
        .unwrap();
    let notes = r.outcome.unwrap().notes;
    assert_eq!(
        notes[2],
        r#"api /v2/time 200 {"path":"/stores/solostore/v2/time"}"#
    );
    assert_eq!(
        notes[3],
        r#"api /order-service/order-status error SendError::Denied("client `solo` has no brightpearl connection configured")"#
    );
    assert_eq!(up.seen().len(), 1);
}
