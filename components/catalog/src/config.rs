//! `CatalogConfig`: the client's `[flows.catalog.mapping]` section (as JSON), and [`check`],
//! which lists every problem with the path of its key (WIT `check-config`).
//!
//! ```toml
//! [flows.catalog.mapping]
//! currency = "GBP"                    # the store's default currency (catalog prices, impacts)
//! unmastered = "flag"                 # or "disable-purchasing": a BigCommerce product with no
//!                                     # Brightpearl master gets purchasing_disabled on its
//!                                     # variants until it has one (then it is enabled again)
//! brightpearl_only_prefixes = ["RAW-"]  # Brightpearl SKUs not expected in BigCommerce
//! ```

use pearlbridge_sdk::types::ConfigProblem;
use serde::Deserialize;

/// What the audit does with a BigCommerce product none of whose SKUs Brightpearl has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unmastered {
    /// Raise `product-without-brightpearl-master` only.
    #[default]
    Flag,
    /// Also set `purchasing_disabled` on its variants (`PUT /v3/catalog/variants`), and
    /// clear it again once Brightpearl has the product (only on variants the audit disabled).
    DisablePurchasing,
}

/// The catalog audit's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// ISO 4217 code of the store's default currency: the currency of catalog prices and so
    /// of every impact.
    pub currency: String,
    #[serde(default)]
    pub unmastered: Unmastered,
    /// Brightpearl SKUs starting with one of these are not expected in BigCommerce (raw
    /// materials, B2B-only lines): no `sku-not-in-bigcommerce` for them.
    #[serde(default)]
    pub brightpearl_only_prefixes: Vec<String>,
}

/// Every problem of a mapping section (JSON); empty when it is usable.
pub fn check(json: &str) -> Vec<ConfigProblem> {
    parse(json).err().unwrap_or_default()
}

/// Parse a mapping section (JSON), or every problem of it, each with its key's path.
pub fn parse(json: &str) -> Result<CatalogConfig, Vec<ConfigProblem>> {
    let problem = |path: &str, message: String| ConfigProblem {
        path: path.into(),
        message,
    };
    let de = &mut serde_json::Deserializer::from_str(json);
    let cfg: CatalogConfig = match serde_path_to_error::deserialize(de) {
        Ok(c) => c,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(vec![problem(&path, e.into_inner().to_string())]);
        }
    };
    let mut problems = vec![];
    if cfg.currency.len() != 3 || !cfg.currency.chars().all(|c| c.is_ascii_uppercase()) {
        problems.push(problem(
            "currency",
            format!(
                "`{}` is not an ISO 4217 currency code (three capital letters, e.g. GBP)",
                cfg.currency
            ),
        ));
    }
    for (i, p) in cfg.brightpearl_only_prefixes.iter().enumerate() {
        if p.trim().is_empty() {
            problems.push(problem(
                &format!("brightpearl_only_prefixes[{i}]"),
                "an empty prefix would exclude every Brightpearl SKU".into(),
            ));
        }
    }
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(problems)
    }
}
