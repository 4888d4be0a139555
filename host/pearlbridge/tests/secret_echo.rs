//! Issue 15, end to end: a server that echoes the credential it was sent — Brightpearl's
//! `401 {"response":"Invalid instance token: <token>"}` for a revoked token, and a
//! BigCommerce-side proxy that repeats the token in its body, a header and a redirect URL —
//! leaves no byte of it anywhere the product writes: the CLI's stdout and stderr (logs at
//! TRACE), the state file and its WAL, the audit table, exceptions and run records. An
//! expired OAuth token raises `credentials-expired` and the run stops (no loop).

use std::path::{Path, PathBuf};
use std::process::Command;

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_capabilities::state::{ExceptionFilter, RunFilter, SqliteStore, Store};

fn components_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/components");
    assert!(
        dir.join("orders.wasm").exists(),
        "{} has no built components: run `./dev build` first",
        dir.display()
    );
    dir
}

/// What one CLI call printed.
struct Printed {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the `pearlbridge` binary with the two tokens in the environment, logs at TRACE.
async fn cli(data: &Path, bc: &str, bp: &str, args: &[&str]) -> Printed {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pearlbridge"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("PEARLBRIDGE_SECRET_DEMO_BC_TOKEN", bc)
        .env("PEARLBRIDGE_SECRET_DEMO_BP_TOKEN", bp)
        // Everything of the product's own at TRACE (wasmtime's compiler chatter left out).
        .env(
            "PEARLBRIDGE_LOG",
            "warn,pearlbridge=trace,pearlbridge_capabilities=trace,reqwest=trace,hyper_util=trace",
        );
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    Printed {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every non-alphanumeric byte as `%XX`.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A "BigCommerce" that answers every request with a redirect whose URL, header and body
/// all repeat the `X-Auth-Token` it was sent.
async fn echoing_bigcommerce() -> String {
    use axum::extract::Request;
    use axum::http::StatusCode;
    let app = axum::Router::new().fallback(|req: Request| async move {
        let token = req
            .headers()
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (
            StatusCode::FOUND,
            [
                (
                    "location",
                    format!("https://login.example/auth?token={}", pct(&token)),
                ),
                ("x-echo", format!("X-Auth-Token: {token}")),
            ],
            format!(r#"{{"status":302,"title":"token {token} must log in again"}}"#),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_echoing_the_credential_leaves_no_byte_of_it_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let opts = DemoOptions {
        orders: 4,
        seed: 5,
        components_dir: components_dir(),
        time_scale: 200.0,
        data_dir: Some(data.clone()),
        max_runs: 3,
        ..DemoOptions::default()
    };
    let (seed, facts) = build_seed(&opts).unwrap();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    let bc = env.sandbox.info.bigcommerce.token.clone();
    let bp = env.sandbox.info.brightpearl.token.clone();
    let clients = data.join("clients");
    let demo = std::fs::read_to_string(clients.join("demo/client.toml")).unwrap();
    assert!(demo.contains(r#"auth = "system""#), "{demo}");
    // The same store on OAuth, as real Brightpearl instance apps connect.
    let oauth = demo.replace(
        r#"auth = "system""#,
        "auth = \"oauth\"\ndev_ref = \"pbdev\"",
    );
    std::fs::create_dir_all(clients.join("oauth")).unwrap();
    std::fs::write(clients.join("oauth/client.toml"), &oauth).unwrap();
    // And one whose BigCommerce answers through an echoing proxy.
    let echo_base = echoing_bigcommerce().await;
    let echo = oauth.replace(&env.sandbox.info.bigcommerce.base_url, &echo_base);
    assert_ne!(echo, oauth);
    std::fs::create_dir_all(clients.join("echo")).unwrap();
    std::fs::write(clients.join("echo/client.toml"), &echo).unwrap();

    let clients_arg = clients.to_str().unwrap();
    let run = |client: &'static str| ["flow", "run", client, "orders", "--clients", clients_arg];
    let mut printed = vec![];

    // 1. Revoked: Brightpearl's 401 repeats the token; the run fails naming the 401.
    env.sandbox.brightpearl.revoke_token(&bp);
    let revoked = cli(&data, &bc, &bp, &run("oauth")).await;
    let said = format!("{}{}", revoked.stdout, revoked.stderr);
    assert_eq!(revoked.code, Some(1), "{said}");
    assert!(said.contains("401"), "{said}");
    assert!(
        said.contains("Invalid instance token: [redacted]"),
        "{said}"
    );
    printed.push(revoked);

    // 2. Expired: a distinct 401; a credentials-expired exception; the run stops.
    env.sandbox.brightpearl.expire_token(&bp);
    let before = bp_401s(&data, "oauth");
    let expired = cli(&data, &bc, &bp, &run("oauth")).await;
    let said = format!("{}{}", expired.stdout, expired.stderr);
    assert_eq!(expired.code, Some(1), "{said}");
    assert!(said.contains("Authorization token expired"), "{said}");
    printed.push(expired);
    let sent = bp_401s(&data, "oauth") - before;
    assert!(
        (1..=2).contains(&sent),
        "an expired token must stop the run, not loop: {sent} requests answered 401"
    );

    // 3. A token that works again: the run posts and the credentials exceptions resolve.
    env.sandbox
        .brightpearl
        .set_token_state(&bp, pearlbridge_sandbox::brightpearl::TokenState::Valid);
    let ok = cli(&data, &bc, &bp, &run("oauth")).await;
    assert_eq!(ok.code, Some(0), "{}\n{}", ok.stdout, ok.stderr);
    printed.push(ok);

    // 4. The echoing BigCommerce proxy: body, header and redirect URL.
    let echoed = cli(&data, &bc, &bp, &run("echo")).await;
    let said = format!("{}{}", echoed.stdout, echoed.stderr);
    assert!(said.contains("302"), "{said}");
    printed.push(echoed);

    // The operator's views of what happened.
    printed.push(cli(&data, &bc, &bp, &["exceptions", "--all"]).await);
    printed.push(cli(&data, &bc, &bp, &["exceptions", "--all", "--json"]).await);

    let store = SqliteStore::open(&data.join("state.sqlite")).unwrap();
    let exceptions = store.exceptions(&ExceptionFilter::default()).unwrap();
    let kinds: Vec<(&str, &str, &str)> = exceptions
        .iter()
        .filter(|e| e.entity == "connection:brightpearl")
        .map(|e| (e.client.as_str(), e.kind.as_str(), e.message.as_str()))
        .collect();
    assert!(
        exceptions
            .iter()
            .filter(|e| e.client == "oauth" && e.entity == "connection:brightpearl")
            .all(|e| e.resolved_at.is_some()),
        "the run with a good token resolves the credentials exceptions: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|(c, k, m)| *c == "oauth"
            && *k == "credentials-rejected"
            && m.contains("Invalid instance token: [redacted]")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|(c, k, _)| *c == "oauth" && *k == "credentials-expired"),
        "{kinds:?}"
    );

    let mut texts: Vec<(String, String)> = vec![];
    for (i, p) in printed.iter().enumerate() {
        texts.push((format!("stdout of call {i}"), p.stdout.clone()));
        texts.push((format!("stderr of call {i}"), p.stderr.clone()));
    }
    texts.push(("exceptions".into(), format!("{exceptions:?}")));
    texts.push((
        "runs".into(),
        format!("{:?}", store.runs(&RunFilter::default()).unwrap()),
    ));
    texts.push((
        "audit lines".into(),
        format!("{:?}", store.audit_lines(None, 100_000).unwrap()),
    ));
    drop(store);
    for f in ["state.sqlite", "state.sqlite-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(f)) {
            texts.push((f.into(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    let total: usize = texts.iter().map(|(_, t)| t.len()).sum();
    assert!(
        total > 10_000,
        "captured too little to prove anything: {total} bytes"
    );
    let redacted = texts
        .iter()
        .filter(|(_, t)| t.contains("[redacted]"))
        .count();
    assert!(redacted >= 3, "the echoes were not seen at all");
    for (what, t) in &texts {
        for secret in [&bc, &bp] {
            for form in [secret.to_string(), pct(secret)] {
                assert!(!t.contains(&form), "a credential leaked into {what}");
            }
        }
    }
}

/// Brightpearl requests of `client` answered 401, from the audit table.
fn bp_401s(data: &Path, client: &str) -> usize {
    let store = SqliteStore::open(&data.join("state.sqlite")).unwrap();
    store
        .audit_lines(Some(client), 100_000)
        .unwrap()
        .iter()
        .filter(|l| l.system == "brightpearl" && l.status == Some(401))
        .count()
}
