//! Issue #7 point 3: `pearlbridge:flow@1.1.0` beside 1.0.0 on one host. The probe is built
//! against the frozen 1.0.0 WIT, probe11 against 1.1.0: both load and run side by side;
//! probe11 sees its run context and events with ids, and its manifest is enforced (an
//! undeclared path is denied with no HTTP call), while 1.0.0 keeps the system-wide policy.

use pearlbridge::bindings::{Event, System, Trigger, WitVersion};
use pearlbridge_capabilities::clients::load_client;
use pearlbridge_tests::*;

/// Store `file` and pin it for `client` under flow `probe`.
async fn pinned_client(
    host: &mut pearlbridge::host::Host,
    root: &std::path::Path,
    base: &str,
    client: &str,
    file: &str,
) {
    let stored = host
        .components
        .add(&host.runtime, &component(file))
        .await
        .unwrap();
    let toml = client_toml(base, client, "probe", &stored.id(), &stored.sha256, "");
    let dir = write_client(root, client, &toml);
    host.add_client(load_client(&dir).unwrap());
}

fn replay(refs: &[&str]) -> Trigger {
    Trigger::Replay(refs.iter().map(|m| m.to_string()).collect())
}

fn order_event(id: &str) -> Event {
    Event {
        source: System::Bigcommerce,
        scope: "store/order/created".into(),
        entity_id: id.into(),
        payload: format!(r#"{{"data":{{"type":"order","id":{id}}}}}"#),
    }
}

fn host_with_both(tmp: &std::path::Path) -> pearlbridge::host::Host {
    test_host(
        tmp,
        &[
            ("old_bc_token", "token-old-bc"),
            ("old_bp_token", "token-old-bp"),
            ("new_bc_token", "token-new-bc"),
            ("new_bp_token", "token-new-bp"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_0_probe_and_a_1_1_component_run_side_by_side_and_1_1_sees_its_context() {
    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = host_with_both(tmp.path());
    let root = tmp.path().join("clients");
    pinned_client(&mut host, &root, &up.base_url, "old", "probe.wasm").await;
    pinned_client(&mut host, &root, &up.base_url, "new", "probe11.wasm").await;

    let events = Trigger::Events(vec![order_event("118"), order_event("119")]);
    let (a, b) = tokio::join!(
        host.run_flow("old", "probe", replay(&["mode:env"])),
        host.run_flow("new", "probe", events)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.outcome.unwrap().notes[0], "probe 1.0.0");
    let summary = b.outcome.expect("probe11 run ok");

    let context: Vec<&str> = summary.notes[0].split(' ').collect();
    assert_eq!(context.len(), 5, "{:?}", summary.notes);
    assert_eq!(context[..3], ["context", "new", "probe"]);
    assert_eq!(context[3], b.run_id.to_string());
    let now = chrono::DateTime::parse_from_rfc3339(context[4]).expect("now is RFC 3339");
    assert!(context[4].ends_with('Z'), "now is UTC: {}", context[4]);
    let age = chrono::Utc::now().signed_duration_since(now);
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::seconds(30),
        "now {now} is the run's start"
    );
    assert_eq!(
        summary.notes[1..],
        [
            format!(
                "event {}.0 store/order/created 118 {}",
                b.run_id, context[4]
            ),
            format!(
                "event {}.1 store/order/created 119 {}",
                b.run_id, context[4]
            ),
        ]
    );
    assert_eq!(summary.counts, vec![("events".to_string(), 2)]);

    // A replay run has no events, and a later run id.
    let r = host.run_flow("new", "probe", replay(&[])).await.unwrap();
    let notes = r.outcome.unwrap().notes;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(r.run_id > b.run_id);
    assert!(notes[0].starts_with(&format!("context new probe {} ", r.run_id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_path_is_denied_without_an_http_call_and_1_0_keeps_the_system_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let up = Upstream::start().await;
    let mut host = host_with_both(tmp.path());
    let root = tmp.path().join("clients");
    pinned_client(&mut host, &root, &up.base_url, "old", "probe.wasm").await;
    pinned_client(&mut host, &root, &up.base_url, "new", "probe11.wasm").await;

    let r = host
        .run_flow(
            "new",
            "probe",
            replay(&[
                "get:bigcommerce:/v2/orders/118/products?page=1",
                "get:bigcommerce:/v2/orders_x",
                "get:bigcommerce:/v2/foo?email=a@example.com",
                "get:brightpearl:/order-service/order-status",
                "get:brightpearl:/order-service/sales-order/7",
            ]),
        )
        .await
        .unwrap();
    let notes = r.outcome.expect("probe11 run ok").notes;
    assert_eq!(
        notes[1..],
        [
            "api /v2/orders/118/products?page=1 200",
            "api /v2/orders_x denied: flow `probe` did not declare GET /v2/orders_x in its manifest",
            "api /v2/foo?email=a@example.com denied: flow `probe` did not declare GET /v2/foo in its manifest",
            "api /order-service/order-status denied: flow `probe` did not declare GET /order-service/order-status in its manifest",
            "api /order-service/sales-order/7 200",
        ]
    );
    assert_eq!(r.journal.api_calls, (1, 1), "denied requests are no calls");
    let paths: Vec<String> = up.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/stores/newstore/v2/orders/118/products",
            "/public-api/newacct/order-service/sales-order/7",
        ]
    );

    // The 1.0.0 probe has no manifest: the same host lets it reach order-status.
    let a = host
        .run_flow("old", "probe", replay(&["mode:everything"]))
        .await
        .unwrap();
    let notes = a.outcome.expect("probe run ok").notes;
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("api /order-service/order-status 200")),
        "{notes:?}"
    );
    assert!(
        up.seen()
            .iter()
            .any(|s| s.path == "/public-api/oldacct/order-service/order-status")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_shows_the_wit_version_each_component_was_built_against() {
    let rt = shared_runtime();
    for (file, wit) in [
        ("probe.wasm", WitVersion::V1_0),
        ("orders.wasm", WitVersion::V1_1),
        ("probe11.wasm", WitVersion::V1_1),
    ] {
        let (_, imports, exports) = rt.interfaces(&component(file)).unwrap();
        assert_eq!(WitVersion::of_exports(&exports), Some(wit), "{file}");
        assert_eq!(rt.load(&component(file)).unwrap().wit, wit, "{file}");
        let api = format!("pearlbridge:flow/api@{}", &wit.package()[17..]);
        assert!(imports.contains(&api), "{file}: {imports:?}");
    }
    let loaded = rt.load(&component("probe11.wasm")).unwrap();
    let needs = rt
        .needs(&loaded)
        .await
        .unwrap()
        .expect("1.1.0 has a manifest");
    let prefixes: Vec<&str> = needs.iter().map(|n| n.path_prefix.as_str()).collect();
    assert_eq!(prefixes, ["/v2/orders", "/order-service/sales-order"]);
    let probe = rt.load(&component("probe.wasm")).unwrap();
    assert!(rt.needs(&probe).await.unwrap().is_none());
    // The orders flow declares every path it calls (its run_shell tests check that each
    // request is covered; the end-to-end tests run it under this policy).
    let orders = rt.load(&component("orders.wasm")).unwrap();
    let needs = rt
        .needs(&orders)
        .await
        .unwrap()
        .expect("orders has a manifest");
    let prefixes: Vec<&str> = needs.iter().map(|n| n.path_prefix.as_str()).collect();
    assert!(prefixes.contains(&"/multi-message"), "{prefixes:?}");
    assert!(prefixes.contains(&"/v2/orders"), "{prefixes:?}");
}
