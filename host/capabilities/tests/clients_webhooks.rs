//! `[webhooks]` in client.toml: public URL and the two secret names, referenced by `check`,
//! and the problems a wrong section gets.

use std::path::Path;

use pearlbridge_capabilities::clients::{WebhooksConfig, parse_client};

const HEAD: &str = r#"[connections.bigcommerce]
store_hash = "abc123"
token_secret = "acme_bc_token"
"#;

fn parse(tail: &str) -> Result<pearlbridge_capabilities::clients::ClientConfig, Vec<String>> {
    parse_client(
        "acme",
        Path::new("acme/client.toml"),
        &format!("{HEAD}{tail}"),
    )
    .map_err(|ps| ps.iter().map(|p| p.to_string()).collect())
}

#[test]
fn webhooks_section_names_secrets_that_check_resolves() {
    let c = parse(
        r#"[webhooks]
public_url = "https://hooks.acme.example/"
bigcommerce_secret = "acme_bc_webhook"
brightpearl_secret = "acme_bp_webhook"
"#,
    )
    .unwrap();
    assert_eq!(
        c.webhooks,
        Some(WebhooksConfig {
            public_url: Some("https://hooks.acme.example".into()),
            bigcommerce_secret: Some("acme_bc_webhook".into()),
            brightpearl_secret: Some("acme_bp_webhook".into()),
        })
    );
    assert_eq!(
        c.referenced_secrets(),
        ["acme_bc_token", "acme_bc_webhook", "acme_bp_webhook"]
    );
    // Absent section: no webhooks; a section with only one platform is fine.
    assert_eq!(parse("").unwrap().webhooks, None);
    let bc_only = parse("[webhooks]\nbigcommerce_secret = \"acme_bc_webhook\"\n").unwrap();
    let w = bc_only.webhooks.unwrap();
    assert_eq!((w.public_url, w.brightpearl_secret), (None, None));
}

#[test]
fn a_pasted_secret_an_unknown_key_and_a_bad_url_are_problems_without_the_value() {
    let problems = parse(
        r#"[webhooks]
public_url = "ftp://hooks.acme.example"
bigcommerce_secret = "Sup3r-Secret-Value!"
brightpearl = "x"
"#,
    )
    .unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("webhooks.public_url"), "{problems:#?}");
    assert!(
        problems[1].contains("webhooks.bigcommerce_secret: must be the NAME of a secret"),
        "{problems:#?}"
    );
    assert!(problems.iter().all(|p| !p.contains("Sup3r-Secret-Value!")));
    assert!(
        problems[2].contains("webhooks.brightpearl: unknown key"),
        "{problems:#?}"
    );
}

#[test]
fn alerts_section_names_a_webhook_secret_per_team() {
    use pearlbridge_capabilities::exceptions::Team;
    let c =
        parse("[alerts]\nfinance = \"acme_fin_hook\"\noperations = \"acme_ops_hook\"\n").unwrap();
    assert_eq!(
        c.alerts,
        std::collections::BTreeMap::from([
            (Team::Finance, "acme_fin_hook".to_string()),
            (Team::Operations, "acme_ops_hook".to_string()),
        ])
    );
    let c = parse("[alerts]\nfinance = \"acme_fin_hook\"\n").unwrap();
    assert_eq!(c.referenced_secrets(), ["acme_bc_token", "acme_fin_hook"]);
    let problems = parse(
        "[alerts]\nfinance = \"https://hooks.slack.com/services/T0/B0/abc\"\nmarketing = \"x_hook\"\n",
    )
    .unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("alerts.finance: must be the NAME of a secret")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("alerts.marketing: unknown key")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().all(|p| !p.contains("hooks.slack.com")),
        "{problems:#?}"
    );
}
