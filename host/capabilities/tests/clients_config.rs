//! client.toml loading: valid files, every problem with its line and key, mapping → JSON.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pearlbridge_capabilities::clients::{
    BIGCOMMERCE_API_BASE, BrightpearlAuth, Problem, load_client, load_clients, parse_interval,
};
use serde_json::json;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn client_dir(root: &Path, name: &str, text: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("client.toml"), text).unwrap();
    dir
}

fn valid_toml() -> String {
    format!(
        r#"# Acme Ltd
[connections.bigcommerce]
store_hash = "abc123"
token_secret = "acme_bc_token"

[connections.brightpearl]
account = "acme"
api_base = "https://euw1.brightpearlconnect.com/"
auth = "system"
app_ref = "acme_pearlbridge"
token_secret = "acme_bp_token"

[flows.orders]
component = "orders@1.0.0"
sha256 = "{upper}"
schedule = "5m"

[flows.orders.mapping]
statuses = [11]

[flows.stock]
component = "stock@0.3.1-rc.1"
sha256 = "{SHA}"
"#,
        upper = SHA.to_ascii_uppercase()
    )
}

#[test]
fn valid_file_parses() {
    let root = tempfile::tempdir().unwrap();
    let dir = client_dir(root.path(), "acme", &valid_toml());
    let c = load_client(&dir).unwrap();
    assert_eq!(c.name, "acme");
    assert_eq!(c.file, dir.join("client.toml"));
    let bc = c.bigcommerce.as_ref().unwrap();
    assert_eq!(bc.store_hash, "abc123");
    assert_eq!(bc.api_base, BIGCOMMERCE_API_BASE);
    assert_eq!(bc.token_secret, "acme_bc_token");
    let bp = c.brightpearl.as_ref().unwrap();
    assert_eq!(bp.account, "acme");
    assert_eq!(bp.api_base, "https://euw1.brightpearlconnect.com");
    assert_eq!(bp.auth, BrightpearlAuth::System);
    assert_eq!(bp.app_ref, "acme_pearlbridge");
    assert_eq!(bp.token_secret, "acme_bp_token");
    assert_eq!(c.flows.keys().collect::<Vec<_>>(), vec!["orders", "stock"]);
    let orders = &c.flows["orders"];
    assert_eq!(orders.component_name, "orders");
    assert_eq!(orders.component_version, "1.0.0");
    assert_eq!(orders.component_ref(), "orders@1.0.0");
    assert_eq!(orders.sha256, SHA);
    assert_eq!(orders.schedule, Some(Duration::from_secs(300)));
    assert_eq!(orders.mapping, json!({"statuses": [11]}));
    let stock = &c.flows["stock"];
    assert_eq!(stock.component_version, "0.3.1-rc.1");
    assert_eq!(stock.schedule, None);
    assert_eq!(stock.mapping, json!({}));
    assert_eq!(
        c.referenced_secrets(),
        vec!["acme_bc_token", "acme_bp_token"]
    );
}

#[test]
fn oauth_and_loopback_sandbox() {
    let root = tempfile::tempdir().unwrap();
    let dir = client_dir(
        root.path(),
        "sandbox-1",
        r#"
[connections.bigcommerce]
store_hash = "s4ndbox"
api_base = "http://127.0.0.1:18080"
token_secret = "shared_token"
[connections.brightpearl]
account = "sandbox"
api_base = "http://localhost:18081/bp"
auth = "oauth"
dev_ref = "pearldev"
app_ref = "pearlbridge"
token_secret = "shared_token"
"#,
    );
    let c = load_client(&dir).unwrap();
    assert_eq!(c.bigcommerce.unwrap().api_base, "http://127.0.0.1:18080");
    let bp = c.brightpearl.unwrap();
    assert_eq!(bp.api_base, "http://localhost:18081/bp");
    assert_eq!(
        bp.auth,
        BrightpearlAuth::OAuth {
            dev_ref: "pearldev".into()
        }
    );
    assert!(c.flows.is_empty());
}

#[test]
fn three_problems_reported_with_lines_and_keys() {
    let root = tempfile::tempdir().unwrap();
    let text = format!(
        r#"[connections.bigcommerce]
store_hash = "abc123"
token_secret = "acme_bc_token"
region = "eu"

[flows.orders]
component = "orders-1.0"
sha256 = "{SHA}"
schedule = 5

[flows.orders.mapping]
anything = {{ goes = "here" }}
"#
    );
    let dir = client_dir(root.path(), "acme", &text);
    let problems = load_client(&dir).unwrap_err();
    let file = dir.join("client.toml");
    let f = file.display();
    let shown: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert_eq!(
        shown,
        vec![
            format!(
                "{f}:4: connections.bigcommerce.region: unknown key; expected one of: store_hash, api_base, token_secret"
            ),
            format!(
                r#"{f}:7: flows.orders.component: "orders-1.0" is not name@version (e.g. orders@1.0.0; name lower-case, version semver)"#
            ),
            format!("{f}:9: flows.orders.schedule: expected a string, found integer"),
        ]
    );
    assert!(
        problems
            .iter()
            .all(|p| p.client == "acme" && p.file == file)
    );
    assert_eq!(problems[0].line, Some(4));
    assert_eq!(
        problems[0].key.as_deref(),
        Some("connections.bigcommerce.region")
    );
}

#[test]
fn more_problems_each_with_its_place() {
    let root = tempfile::tempdir().unwrap();
    let text = r#"colour = "blue"
[connections.bigcommerce]
store_hash = "ABC-123"
api_base = "http://api.bigcommerce.com"
token_secret = "Xq9Zr7Tk2Lm4Np6Qs8Uv0Wy1Ab3Cd5E"
[connections.brightpearl]
account = "acme"
api_base = "https://euw1.brightpearlconnect.com"
auth = "oauth"
app_ref = "acme"
token_secret = "acme_bp"
[connections.shopify]
shop = "x"
[flows.Orders]
sha256 = "abc"
schedule = "0m"
mapping = 3
"#;
    let dir = client_dir(root.path(), "acme", text);
    let problems = load_client(&dir).unwrap_err();
    let got: Vec<(Option<usize>, Option<&str>)> = problems
        .iter()
        .map(|p| (p.line, p.key.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(1), Some("colour")),
            (Some(3), Some("connections.bigcommerce.store_hash")),
            (Some(4), Some("connections.bigcommerce.api_base")),
            (Some(5), Some("connections.bigcommerce.token_secret")),
            (Some(6), Some("connections.brightpearl.dev_ref")),
            (Some(12), Some("connections.shopify")),
            (Some(14), Some("flows.Orders")),
            (Some(14), Some("flows.Orders.component")),
            (Some(15), Some("flows.Orders.sha256")),
            (Some(16), Some("flows.Orders.schedule")),
            (Some(17), Some("flows.Orders.mapping")),
        ]
    );
    // The pasted token is never echoed.
    let all: String = problems.iter().map(|p| p.to_string()).collect();
    assert!(!all.contains("Xq9Zr7Tk2Lm4Np6Qs8Uv0Wy1Ab3Cd5E"), "{all}");
    assert!(all.contains("plain http is only allowed to a loopback host"));
    assert!(all.contains("got 3 characters"));
    assert!(all.contains("missing; required with auth = \"oauth\""));
    assert!(all.contains("the interval must be longer than zero"));
}

#[test]
fn syntax_errors_name_line_and_key() {
    let root = tempfile::tempdir().unwrap();
    let dir = client_dir(
        root.path(),
        "acme",
        "[flows.orders]\ncomponent = \"orders@1.0.0\nsha256 = 12\n",
    );
    let problems = load_client(&dir).unwrap_err();
    assert!(!problems.is_empty());
    assert_eq!(problems[0].line, Some(2));
    assert_eq!(problems[0].key.as_deref(), Some("component"));
    assert!(
        problems[0].message.starts_with("TOML syntax: "),
        "{}",
        problems[0].message
    );
}

#[test]
fn all_clients_are_loaded_and_all_problems_collected() {
    let root = tempfile::tempdir().unwrap();
    client_dir(root.path(), "acme", &valid_toml());
    client_dir(
        root.path(),
        "bolt",
        "[flows.orders]\ncomponent = \"orders\"\nsha256 = \"x\"\n",
    );
    client_dir(
        root.path(),
        "crux",
        "[connections.brightpearl]\naccount = \"crux\"\n",
    );
    std::fs::create_dir_all(root.path().join("empty")).unwrap();
    std::fs::create_dir_all(root.path().join(".git")).unwrap();
    std::fs::write(root.path().join("README.md"), "not a client").unwrap();
    let (clients, problems) = load_clients(root.path());
    assert_eq!(
        clients.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["acme"]
    );
    let who: Vec<(&str, Option<&str>)> = problems
        .iter()
        .map(|p| (p.client.as_str(), p.key.as_deref()))
        .collect();
    assert_eq!(
        who,
        vec![
            ("bolt", Some("flows.orders.component")),
            ("bolt", Some("flows.orders.sha256")),
            ("crux", Some("connections.brightpearl.api_base")),
            ("crux", Some("connections.brightpearl.app_ref")),
            ("crux", Some("connections.brightpearl.token_secret")),
            ("crux", Some("connections.brightpearl.auth")),
            ("empty", None),
        ]
    );
    // Missing keys point at the section header.
    assert!(problems[2..6].iter().all(|p| p.line == Some(1)));
    assert!(problems[6].message.starts_with("cannot read: "));
    let (none, missing_root) = load_clients(&root.path().join("nope"));
    assert!(none.is_empty());
    assert_eq!(missing_root.len(), 1);
    assert_eq!(missing_root[0].line, None);
}

#[test]
fn mapping_toml_becomes_json() {
    let root = tempfile::tempdir().unwrap();
    let text = format!(
        r#"[flows.orders]
component = "orders@1.0.0"
sha256 = "{SHA}"

[flows.orders.mapping]
statuses = [1, 11, -3, 0x1F, 1_000]
channel = "web"
post_payments = true
hold = false
rate = 0.2
since = 2026-01-02
at = 2026-01-02T03:04:05Z
local = 2026-01-02T03:04:05
clock = 07:30:00
empty = []
mixed = ["a", 1, false]
tax_codes = {{ Standard = "T20", "Zero rated" = "T0" }}

[flows.orders.mapping.warehouses]
default = 2

[[flows.orders.mapping.rules]]
sku_prefix = "GC-"
nominal_code = "4000"

[[flows.orders.mapping.rules]]
sku_prefix = "SHIP"
nominal_code = "4040"
"#
    );
    let dir = client_dir(root.path(), "acme", &text);
    let c = load_client(&dir).unwrap();
    assert_eq!(
        c.flows["orders"].mapping,
        json!({
            "statuses": [1, 11, -3, 31, 1000],
            "channel": "web",
            "post_payments": true,
            "hold": false,
            "rate": 0.2,
            "since": "2026-01-02",
            "at": "2026-01-02T03:04:05Z",
            "local": "2026-01-02T03:04:05",
            "clock": "07:30:00",
            "empty": [],
            "mixed": ["a", 1, false],
            "tax_codes": {"Standard": "T20", "Zero rated": "T0"},
            "warehouses": {"default": 2},
            "rules": [
                {"sku_prefix": "GC-", "nominal_code": "4000"},
                {"sku_prefix": "SHIP", "nominal_code": "4040"}
            ]
        })
    );
    // Floats with no JSON form are problems, with their mapping path.
    let dir = client_dir(
        root.path(),
        "bad",
        &format!(
            "[flows.orders]\ncomponent = \"orders@1.0.0\"\nsha256 = \"{SHA}\"\n[flows.orders.mapping]\nx = [1, nan]\n"
        ),
    );
    let problems = load_client(&dir).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].key.as_deref(),
        Some("flows.orders.mapping.x[1]")
    );
    assert_eq!(problems[0].line, Some(5));
}

#[test]
fn intervals() {
    assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_interval("2d"), Ok(Duration::from_secs(172_800)));
    for bad in ["", "5", "m", "5 m", "1.5h", "-5m", "5min", "0s"] {
        assert!(parse_interval(bad).is_err(), "{bad}");
    }
}

#[test]
fn problem_display_leaves_out_unknown_parts() {
    let p = Problem {
        client: "acme".into(),
        file: "clients/acme/client.toml".into(),
        line: None,
        key: None,
        message: "cannot read".into(),
    };
    assert_eq!(p.to_string(), "clients/acme/client.toml: cannot read");
    let p = Problem {
        line: Some(3),
        key: Some("flows.x".into()),
        ..p
    };
    assert_eq!(
        p.to_string(),
        "clients/acme/client.toml:3: flows.x: cannot read"
    );
}

#[test]
fn every_syntax_error_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let dir = client_dir(
        root.path(),
        "acme",
        "[flows.orders]\ncomponent = \"orders@1.0.0\nsha256 = 12\n[x]\na=1\na=2\n",
    );
    let file = dir.join("client.toml");
    let shown: Vec<String> = load_client(&dir)
        .unwrap_err()
        .iter()
        .map(Problem::to_string)
        .collect();
    assert_eq!(
        shown,
        vec![
            format!(
                "{}:2: component: TOML syntax: invalid basic string, expected `\"`",
                file.display()
            ),
            format!("{}:6: a: TOML syntax: duplicate key", file.display()),
        ]
    );
}
