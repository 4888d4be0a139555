//! The demo's catalog audit: the demo client's `catalog` flow run once through
//! [`crate::audit::audit_catalog`], and what it found compared with what the generator
//! planted (BigCommerce SKUs with no Brightpearl product, SKUs differing only by case or
//! surrounding whitespace). `--json` adds `flows.catalog` and `reconciliation.catalog`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::demo::DemoEnv;

/// The catalog flow's mapping for the sandbox: the store's currency (the stock mapping's),
/// products without a Brightpearl master flagged only.
pub fn catalog_mapping(stock: &Value) -> Value {
    json!({"currency": stock["currency"].clone(), "unmastered": "flag"})
}

/// Run the audit; returns `flows.catalog` and `reconciliation.catalog`:
/// `{planted, found, missed, unexpected}` where planted are the generator's SKU gaps and
/// near-matches (BigCommerce spelling) and found the BigCommerce SKUs the audit named.
pub async fn run(env: &DemoEnv) -> anyhow::Result<(Value, Value)> {
    let r = crate::audit::audit_catalog(&env.host, "demo").await?;
    // BigCommerce SKUs by variant and by product, to name what each finding is about.
    let products = env.sandbox.bigcommerce.products();
    let sku_of_variant = |id: &str| -> Vec<String> {
        products
            .iter()
            .flat_map(|p| p["variants"].as_array().cloned().unwrap_or_default())
            .filter(|v| v["id"].as_u64().is_some_and(|i| i.to_string() == id))
            .map(|v| v["sku"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let skus_of_product = |id: &str| -> Vec<String> {
        products
            .iter()
            .filter(|p| p["id"].as_u64().is_some_and(|i| i.to_string() == id))
            .flat_map(|p| p["variants"].as_array().cloned().unwrap_or_default())
            .map(|v| v["sku"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut other = vec![];
    for d in &r.discrepancies {
        let named = match (d.kind.as_str(), d.entity.rsplit_once(':')) {
            ("sku-not-in-brightpearl" | "sku-near-match", Some((_, id))) => sku_of_variant(id),
            ("product-without-brightpearl-master", Some((_, id))) => skus_of_product(id),
            _ => {
                other.push(json!({"kind": d.kind, "entity": d.entity}));
                vec![]
            }
        };
        found.extend(named);
    }
    let planted: BTreeSet<String> = env
        .facts
        .as_ref()
        .map(|f| {
            f.unknown_skus
                .iter()
                .cloned()
                .chain(f.near_match_skus.iter().map(|(bc, _)| bc.clone()))
                .collect()
        })
        .unwrap_or_default();
    let missed: Vec<&String> = planted.difference(&found).collect();
    let unexpected: Vec<&String> = found.difference(&planted).collect();
    let flow = json!({
        "skus_audited": r.skus_audited,
        "bigcommerce_variants": r.bigcommerce_variants,
        "brightpearl_products": r.brightpearl_products,
        "discrepancies": r.discrepancy_count,
        "by_kind": r.by_kind.iter().map(|(k, n)| (k.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
    });
    let reconciliation = json!({
        "planted": planted.len(),
        "found": found.len(),
        "missed": missed,
        "unexpected": unexpected,
        "other_discrepancies": other,
    });
    Ok((flow, reconciliation))
}

/// The problems of `reconciliation.catalog`: a planted SKU the audit missed, a SKU it named
/// that was not planted, or any other discrepancy (the generated catalogue has none).
pub fn reconciliation_problems(report: &Value) -> Vec<String> {
    let c = &report["reconciliation"]["catalog"];
    let mut problems = vec![];
    for (key, what) in [
        ("missed", "planted SKU problems the catalog audit missed"),
        (
            "unexpected",
            "SKUs the catalog audit named that were not planted",
        ),
        (
            "other_discrepancies",
            "catalog discrepancies nobody planted",
        ),
    ] {
        if c[key].as_array().is_some_and(|a| !a.is_empty()) {
            problems.push(format!("{what}: {}", c[key]));
        }
    }
    problems
}

/// The text lines of the demo report.
pub fn render_text(r: &Value) -> String {
    let f = &r["flows"]["catalog"];
    if f.is_null() {
        return String::new();
    }
    let kinds: Vec<String> = f["by_kind"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, n)| n.as_u64().unwrap_or(0) > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let c = &r["reconciliation"]["catalog"];
    format!(
        "catalog        {} SKUs audited: {} discrepancies ({}); {} of {} planted SKU problems found\n",
        f["skus_audited"],
        f["discrepancies"],
        kinds.join(", "),
        c["found"],
        c["planted"]
    )
}
