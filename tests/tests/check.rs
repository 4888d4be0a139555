//! Issue #2: `pearlbridge check` reports every problem of a client in one run.

use pearlbridge::check::check_clients;
use pearlbridge_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_missing_secret_wrong_sha256_and_invalid_mapping_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    // Only the Brightpearl token exists; the BigCommerce one is missing.
    let host = test_host(tmp.path(), &[("acme_bp_token", "token-acme-bp")]);
    let stored = host
        .components
        .add(&host.runtime, &component("probe.wasm"))
        .await
        .unwrap();
    let wrong = "0".repeat(64);
    let toml = format!(
        r#"[connections.bigcommerce]
store_hash = "acmestore"
api_base = "http://127.0.0.1:9"
token_secret = "acme_bc_token"

[connections.brightpearl]
account = "acme"
api_base = "http://127.0.0.1:9"
auth = "system"
app_ref = "acme_app"
token_secret = "acme_bp_token"

[flows.probe]
component = "{id}"
sha256 = "{wrong}"

[flows.audit]
component = "{id}"
sha256 = "{sha}"

[flows.audit.mapping]
label = 5
"#,
        id = stored.id(),
        sha = stored.sha256
    );
    let root = tmp.path().join("clients");
    write_client(&root, "acme", &toml);
    let (_clients, problems) = check_clients(&host, &root).await;
    let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 3, "{lines:#?}");
    assert!(lines[0].contains("secret `acme_bc_token`"), "{lines:#?}");
    assert!(
        lines[0].ends_with(
            "secret `acme_bc_token`: secret \"acme_bc_token\" not found (looked in: test secrets)"
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("flows.probe.sha256")
                && l.contains(&format!("pinned sha256 {wrong}"))),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("flows.audit.mapping.label: must be a string")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_toml_errors_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let host = test_host(tmp.path(), &[]);
    let root = tmp.path().join("clients");
    write_client(
        &root,
        "broken",
        "[connections.bigcommerce]\nstore_hash = \"abc\"\ntoken_secret = 7\n",
    );
    let (_clients, problems) = check_clients(&host, &root).await;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let line = problems[0].to_string();
    assert!(line.contains("broken/client.toml:3"), "{line}");
    assert!(line.contains("token_secret"), "{line}");
}
