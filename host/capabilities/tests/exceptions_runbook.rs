//! Every exception kind a flow or the host raises has a runbook entry (DESIGN.md
//! "Exceptions": "A runbook entry exists for every exception kind").

use pearlbridge_capabilities::exceptions::{RUNBOOK, Team, runbook};

/// The string constants of `pub mod kinds { ... }` in a flow's source.
fn kinds_in(source: &str) -> Vec<String> {
    let start = source.find("pub mod kinds").expect("a `kinds` module");
    let body = &source[start..];
    let end = body.find("\n}\n").expect("end of the kinds module");
    body[..end]
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("pub const ")?;
            let (_, value) = rest.split_once(": &str = \"")?;
            Some(value.trim_end_matches("\";").to_string())
        })
        .collect()
}

#[test]
fn every_kind_the_orders_flow_and_the_host_raise_has_an_entry() {
    let orders = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../components/orders/src/mapping.rs"
    ))
    .unwrap();
    let mut kinds = kinds_in(&orders);
    assert!(kinds.len() >= 12, "{kinds:?}");
    let stock = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../components/stock/src/run.rs"
    ))
    .unwrap();
    let stock_kinds = kinds_in(&stock);
    assert_eq!(stock_kinds.len(), 4, "{stock_kinds:?}");
    kinds.extend(stock_kinds);
    kinds.extend([
        "credentials-rejected".into(),
        "credentials-expired".into(),
        "corrupt-link".into(),
    ]);
    let missing: Vec<&String> = kinds.iter().filter(|k| runbook(k).is_none()).collect();
    assert!(missing.is_empty(), "no runbook entry for {missing:?}");
}

#[test]
fn every_kind_the_tracking_flow_raises_has_an_entry() {
    let tracking = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../components/tracking/src/mapping.rs"
    ))
    .unwrap();
    let kinds = kinds_in(&tracking);
    assert!(kinds.len() >= 7, "{kinds:?}");
    let missing: Vec<&String> = kinds.iter().filter(|k| runbook(k).is_none()).collect();
    assert!(missing.is_empty(), "no runbook entry for {missing:?}");
    assert_eq!(
        runbook("missing-tracking").unwrap().owner,
        Team::CustomerService
    );
}

#[test]
fn entries_are_unique_kebab_case_and_say_what_to_do() {
    let mut seen = std::collections::BTreeSet::new();
    for e in RUNBOOK {
        assert!(seen.insert(e.kind), "{} twice", e.kind);
        assert!(
            e.kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{}",
            e.kind
        );
        assert!(e.next_step.len() > 40, "{}: next step too thin", e.kind);
        assert!(!e.impact.is_empty());
    }
    assert_eq!(runbook("unmapped-sku").unwrap().owner, Team::Ecommerce);
    assert_eq!(runbook("payment-rejected").unwrap().owner, Team::Finance);
    assert!(runbook("no-such-kind").is_none());
}

#[test]
fn every_kind_the_refunds_flow_raises_has_an_entry() {
    let refunds = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../components/refunds/src/mapping.rs"
    ))
    .unwrap();
    let kinds = kinds_in(&refunds);
    assert_eq!(kinds.len(), 11, "{kinds:?}");
    let missing: Vec<&String> = kinds.iter().filter(|k| runbook(k).is_none()).collect();
    assert!(missing.is_empty(), "no runbook entry for {missing:?}");
    assert_eq!(
        runbook("credit-blocked-not-invoiced").unwrap().owner,
        Team::Finance
    );
}

/// Every `pub mod kinds` in every component's sources (a new flow included without editing
/// this test) names only kinds that have an entry, and each entry says what the kind means.
#[test]
fn every_kind_any_component_declares_has_an_entry() {
    let components = concat!(env!("CARGO_MANIFEST_DIR"), "/../../components");
    let mut declared = vec![];
    for crate_dir in std::fs::read_dir(components).unwrap() {
        let src = crate_dir.unwrap().path().join("src");
        let Ok(files) = std::fs::read_dir(&src) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("pub mod kinds") {
                declared.extend(kinds_in(&text).into_iter().map(|k| (path.clone(), k)));
            }
        }
    }
    assert!(declared.len() >= 35, "{declared:?}");
    let missing: Vec<_> = declared
        .iter()
        .filter(|(_, k)| runbook(k).is_none())
        .collect();
    assert!(missing.is_empty(), "no runbook entry for {missing:?}");
    for e in RUNBOOK {
        assert!(e.means.len() > 30, "{}: what it means is too thin", e.kind);
    }
}

/// `docs/runbook.md` is the generated runbook, so it names every kind with its owner.
#[test]
fn docs_runbook_md_is_the_generated_runbook() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/runbook.md");
    let file = std::fs::read_to_string(path).expect("docs/runbook.md");
    let generated = pearlbridge_capabilities::exceptions::runbook_markdown();
    assert!(
        file == generated,
        "docs/runbook.md is out of date: run `pearlbridge runbook --markdown > docs/runbook.md`"
    );
    for e in RUNBOOK {
        assert!(file.contains(&format!("### `{}`", e.kind)), "{}", e.kind);
    }
    assert!(file.contains("## Owner: finance"));
}
