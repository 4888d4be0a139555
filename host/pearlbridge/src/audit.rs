//! `pearlbridge audit catalog --client X [--json]`: the catalog audit of one client (issue 12
//! §5–6).
//!
//! It runs the client's `catalog` flow (`components/catalog`), which reads both catalogs
//! completely — BigCommerce `GET /v3/catalog/products?include=variants`, Brightpearl
//! `GET /product-service/product-search` — and raises one exception per discrepancy (and
//! resolves the ones fixed since the last audit). It writes to BigCommerce only with
//! `unmastered = "disable-purchasing"`. [`CatalogReport`] is what the command prints: the
//! counts, then every open catalog exception, largest impact first.

use anyhow::{Context as _, anyhow};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::bindings::Trigger;
use crate::host::Host;
use pearlbridge_capabilities::state::ExceptionFilter;

/// The audit's exception kinds, in report order (`components/catalog/src/audit.rs`).
pub const CATALOG_KINDS: &[&str] = &[
    "product-without-brightpearl-master",
    "sku-not-in-brightpearl",
    "sku-near-match",
    "duplicate-sku",
    "inventory-tracking-mismatch",
    "sku-not-in-bigcommerce",
];

/// One discrepancy (an open exception of the catalog flow).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discrepancy {
    pub kind: String,
    /// `bigcommerce:variant:<id>`, `bigcommerce:product:<id>`, `brightpearl:product:<id>`,
    /// `bigcommerce:sku:<SKU>` or `brightpearl:sku:<SKU>`.
    pub entity: String,
    pub owner: String,
    pub message: String,
    /// Decimal string in the store's currency, e.g. `"79.96"`; `None` when nothing is named.
    pub impact: Option<String>,
    pub currency: Option<String>,
}

/// What `audit catalog` found (its `--json` form).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogReport {
    pub client: String,
    pub run_id: i64,
    /// Distinct SKUs seen on either side.
    pub skus_audited: u64,
    pub bigcommerce_variants: u64,
    pub brightpearl_products: u64,
    /// Open discrepancies (`discrepancies.len()`).
    pub discrepancy_count: u64,
    /// Count per kind, in [`CATALOG_KINDS`] order (zeros included).
    pub by_kind: Vec<(String, u64)>,
    pub variants_disabled: u64,
    pub variants_enabled: u64,
    /// Largest impact first, then kind and entity.
    pub discrepancies: Vec<Discrepancy>,
}

/// Run the catalog audit of `client` (which must pin a `catalog` flow). Fails when the client
/// has no catalog flow or the run fails (e.g. 401/403, a catalog that could not be read
/// completely); the error names the cause.
pub async fn audit_catalog(host: &Host, client: &str) -> anyhow::Result<CatalogReport> {
    let report = host
        .run_flow(client, "catalog", Trigger::Scheduled)
        .await
        .with_context(|| format!("the catalog flow of client `{client}` could not start"))?;
    if let Err(e) = &report.outcome {
        return Err(anyhow!(
            "the catalog audit of `{client}` failed (run {}): {e}",
            report.run_id
        ));
    }
    let open = host.store.exceptions(&ExceptionFilter {
        client: Some(client.to_string()),
        flow: Some("catalog".into()),
        open_only: true,
        ..Default::default()
    })?;
    let mut discrepancies: Vec<Discrepancy> = open
        .into_iter()
        .filter(|e| CATALOG_KINDS.contains(&e.kind.as_str()))
        .map(|e| Discrepancy {
            kind: e.kind,
            entity: e.entity,
            owner: e.owner.as_str().to_string(),
            message: e.message,
            impact: e.impact.as_ref().map(|m| m.amount.to_string()),
            currency: e.impact.map(|m| m.currency),
        })
        .collect();
    let amount = |d: &Discrepancy| {
        d.impact
            .as_deref()
            .and_then(|a| a.parse::<Decimal>().ok())
            .unwrap_or_default()
    };
    let rank = |k: &str| CATALOG_KINDS.iter().position(|x| *x == k);
    discrepancies.sort_by(|a, b| {
        amount(b)
            .cmp(&amount(a))
            .then_with(|| rank(&a.kind).cmp(&rank(&b.kind)))
            .then_with(|| a.entity.cmp(&b.entity))
    });
    let by_kind = CATALOG_KINDS
        .iter()
        .map(|k| {
            (
                k.to_string(),
                discrepancies.iter().filter(|d| d.kind == *k).count() as u64,
            )
        })
        .collect();
    Ok(CatalogReport {
        client: client.to_string(),
        run_id: report.run_id,
        skus_audited: report.count("skus_audited"),
        bigcommerce_variants: report.count("bigcommerce_variants"),
        brightpearl_products: report.count("brightpearl_products"),
        discrepancy_count: discrepancies.len() as u64,
        by_kind,
        variants_disabled: report.count("variants_disabled"),
        variants_enabled: report.count("variants_enabled"),
        discrepancies,
    })
}

/// The report as text: a headline, the count per kind, then one line per discrepancy.
pub fn render_text(r: &CatalogReport) -> String {
    let mut out = format!(
        "catalog audit of {} (run {}): {} SKUs audited ({} BigCommerce variants, {} Brightpearl products), {} discrepancies\n",
        r.client,
        r.run_id,
        r.skus_audited,
        r.bigcommerce_variants,
        r.brightpearl_products,
        r.discrepancy_count
    );
    for (k, n) in &r.by_kind {
        out.push_str(&format!("  {k:<36} {n:>5}\n"));
    }
    if r.variants_disabled + r.variants_enabled > 0 {
        out.push_str(&format!(
            "  purchasing disabled on {} variant(s), enabled again on {}\n",
            r.variants_disabled, r.variants_enabled
        ));
    }
    for d in &r.discrepancies {
        let impact = match (&d.impact, &d.currency) {
            (Some(a), Some(c)) => format!("{a} {c}"),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "  {:<36} {:<34} {:>14}  owner {}: {}\n",
            d.kind, d.entity, impact, d.owner, d.message
        ));
    }
    if r.discrepancy_count > 0 {
        out.push_str(&format!(
            "  (next steps: pearlbridge runbook <kind>; all open: pearlbridge exceptions --client {})\n",
            r.client
        ));
    }
    out
}
