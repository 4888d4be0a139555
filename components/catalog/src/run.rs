//! One audit run: read both catalogs completely, apply [`crate::audit`], raise every finding
//! and resolve every open exception of this flow the audit no longer finds, then (with
//! `unmastered = "disable-purchasing"`) set or clear `purchasing_disabled`.
//!
//! Reads (nothing is raised or resolved unless both reads are complete):
//! - BigCommerce `GET /v3/catalog/products?include=variants&limit=250&page=N` while
//!   `meta.pagination.total_pages` says there are more;
//! - Brightpearl `GET /product-service/product-search?columns=productId,SKU,stockTracked`, pages
//!   of 500 ([`pearlbridge_sdk::brightpearl::Client::product_rows`]).
//!
//! Writes (only with `disable-purchasing`): `PUT /v3/catalog/variants` in batches of at most
//! [`VARIANTS_PER_PUT`], `{"id", "purchasing_disabled": true}` for each variant of a product
//! without a master that is not disabled yet, and `false` for each variant the audit disabled
//! whose product has a master now. Setting a field to a value is idempotent; the state key
//! `disabled:variant:<id>` → the product id records what the audit disabled, so it never
//! enables a variant someone else disabled.

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::bigcommerce;
use pearlbridge_sdk::brightpearl::{self, PRODUCT_INDEX_MAX_PAGES};
use pearlbridge_sdk::engine::{self, Impact};
use pearlbridge_sdk::types::{
    Exception, FlowError, Level, Method, Request, RunSummary, System, Trigger,
};
use pearlbridge_sdk::{Api, ApiError, Report, State};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::{self, BcProduct, BcVariant};
use crate::config::{CatalogConfig, Unmastered};

/// Most variants in one `PUT /v3/catalog/variants` (BigCommerce's batch limit, 50).
pub const VARIANTS_PER_PUT: usize = 50;

/// The state-key prefix of variants the audit disabled.
pub const DISABLED_PREFIX: &str = "disabled:variant:";

/// The run summary's counters, in order.
pub const COUNTERS: &[&str] = &[
    "skus_audited",
    "bigcommerce_variants",
    "brightpearl_products",
    "discrepancies",
    "variants_disabled",
    "variants_enabled",
];

#[derive(Deserialize)]
struct Page {
    data: Vec<RawProduct>,
    #[serde(default)]
    meta: Value,
}

#[derive(Deserialize)]
struct RawProduct {
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    inventory_tracking: String,
    #[serde(default)]
    inventory_level: i64,
    #[serde(default, with = "pearlbridge_sdk::money::serde_amount")]
    price: Decimal,
    #[serde(default)]
    variants: Vec<RawVariant>,
}

#[derive(Deserialize)]
struct RawVariant {
    id: u64,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default, with = "pearlbridge_sdk::money::serde_amount::option")]
    price: Option<Decimal>,
    #[serde(default)]
    inventory_level: i64,
    #[serde(default)]
    purchasing_disabled: bool,
}

/// Every BigCommerce product with its variants, and the pages read.
fn read_bigcommerce(api: &dyn Api, report: &dyn Report) -> Result<(Vec<BcProduct>, u32), ApiError> {
    let mut out = Vec::new();
    let mut page = 1u32;
    loop {
        let got: Page = engine::get_json(
            api,
            System::Bigcommerce,
            &format!(
                "/v3/catalog/products?include=variants&limit={}&page={page}",
                bigcommerce::V3_MAX_LIMIT
            ),
        )?;
        let n = got.data.len();
        out.extend(got.data.into_iter().map(|p| {
            BcProduct {
                id: p.id,
                name: p.name,
                inventory_tracking: p.inventory_tracking,
                inventory_level: p.inventory_level,
                price: p.price,
                variants: p
                    .variants
                    .into_iter()
                    .map(|v| BcVariant {
                        id: v.id,
                        sku: v.sku.unwrap_or_default(),
                        price: v.price,
                        inventory_level: v.inventory_level,
                        purchasing_disabled: v.purchasing_disabled,
                    })
                    .collect(),
            }
        }));
        let total_pages = got.meta["pagination"]["total_pages"].as_u64().unwrap_or(1);
        report.progress(u64::from(page), Some(total_pages));
        if n == 0 || u64::from(page) >= total_pages {
            break;
        }
        page += 1;
    }
    Ok((out, page))
}

fn upstream(e: &ApiError) -> FlowError {
    FlowError::Upstream(e.credentials_problem().unwrap_or_else(|| e.to_string()))
}

/// `PUT /v3/catalog/variants` `purchasing_disabled = disabled` for `variants`, in batches.
/// Returns the variants written; a batch that fails is logged and left for the next run.
fn set_purchasing(
    api: &dyn Api,
    report: &dyn Report,
    variants: &[u64],
    disabled: bool,
) -> Result<Vec<u64>, FlowError> {
    let mut done = Vec::new();
    for batch in variants.chunks(VARIANTS_PER_PUT) {
        let body: Vec<Value> = batch
            .iter()
            .map(|id| json!({"id": id, "purchasing_disabled": disabled}))
            .collect();
        let req = Request {
            system: System::Bigcommerce,
            method: Method::Put,
            path: "/v3/catalog/variants".into(),
            body: Some(Value::Array(body).to_string()),
            headers: vec![],
        };
        match engine::send(api, req, "PUT /v3/catalog/variants") {
            Ok(_) => done.extend_from_slice(batch),
            Err(e) if e.credentials_problem().is_some() => return Err(upstream(&e)),
            Err(e) => report.log(
                Level::Warn,
                &format!(
                    "setting purchasing_disabled={disabled} on {} variant(s) failed, retried next run: {e}",
                    batch.len()
                ),
            ),
        }
    }
    Ok(done)
}

/// Run the audit once (every trigger is a complete audit). Fails with
/// `FlowError::Upstream` when either catalog cannot be read completely (nothing is raised or
/// resolved then) or on a credential error while writing.
pub fn run(
    _trigger: &Trigger,
    cfg: &CatalogConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
) -> Result<RunSummary, FlowError> {
    let (products, bc_pages) = read_bigcommerce(api, report).map_err(|e| upstream(&e))?;
    let (bp, bp_pages) = brightpearl::Client::new(api)
        .product_rows(PRODUCT_INDEX_MAX_PAGES)
        .map_err(|e| upstream(&e))?;
    let result = audit::audit(&products, &bp, cfg);

    let mut found: BTreeSet<(String, String)> = BTreeSet::new();
    for f in &result.findings {
        found.insert((f.kind.to_string(), f.entity.clone()));
        report.raise(Exception {
            kind: f.kind.into(),
            entity: f.entity.clone(),
            message: f.message.clone(),
            owner: f.owner,
            impact: f
                .impact
                .and_then(|a| Impact::new(a, cfg.currency.as_str()).money()),
            retryable: false,
        });
    }
    let mut resolved = 0u64;
    for (kind, entity) in report.open("") {
        if audit::kinds::ALL.contains(&kind.as_str())
            && !found.contains(&(kind.clone(), entity.clone()))
        {
            report.resolve(&kind, &entity);
            resolved += 1;
        }
    }

    // Purchasing on products without a master.
    let (mut disabled_now, mut enabled_now) = (0u64, 0u64);
    let previously: BTreeMap<u64, u64> = state
        .list(DISABLED_PREFIX, u32::MAX)
        .into_iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(DISABLED_PREFIX)?.parse().ok()?,
                v.parse().ok()?,
            ))
        })
        .collect();
    let unmastered: BTreeSet<u64> = result.unmastered.iter().copied().collect();
    if cfg.unmastered == Unmastered::DisablePurchasing {
        let to_disable: Vec<(u64, u64)> = products
            .iter()
            .filter(|p| unmastered.contains(&p.id))
            .flat_map(|p| {
                p.variants
                    .iter()
                    .filter(|v| !v.purchasing_disabled)
                    .map(move |v| (v.id, p.id))
            })
            .collect();
        let ids: Vec<u64> = to_disable.iter().map(|(v, _)| *v).collect();
        let done: BTreeSet<u64> = set_purchasing(api, report, &ids, true)?
            .into_iter()
            .collect();
        for (v, p) in &to_disable {
            if done.contains(v) {
                state.set(&format!("{DISABLED_PREFIX}{v}"), &p.to_string());
                disabled_now += 1;
            }
        }
    }
    // Enable again what the audit disabled once its product has a master (or the setting is
    // back to `flag`); a product that is gone from BigCommerce just loses its marks.
    let existing: BTreeSet<u64> = products
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.id))
        .collect();
    let to_enable: Vec<u64> = previously
        .iter()
        .filter(|(v, p)| {
            existing.contains(v) && (cfg.unmastered == Unmastered::Flag || !unmastered.contains(p))
        })
        .map(|(v, _)| *v)
        .collect();
    for v in previously.keys().filter(|v| !existing.contains(v)) {
        state.delete(&format!("{DISABLED_PREFIX}{v}"));
    }
    for v in set_purchasing(api, report, &to_enable, false)? {
        state.delete(&format!("{DISABLED_PREFIX}{v}"));
        enabled_now += 1;
    }

    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &result.findings {
        *by_kind.entry(f.kind).or_default() += 1;
    }
    let mut counts: Vec<(String, u64)> = vec![
        ("skus_audited".into(), result.skus_audited),
        ("bigcommerce_variants".into(), result.bigcommerce_variants),
        ("brightpearl_products".into(), result.brightpearl_products),
        ("discrepancies".into(), result.findings.len() as u64),
        ("variants_disabled".into(), disabled_now),
        ("variants_enabled".into(), enabled_now),
    ];
    for k in audit::kinds::ALL {
        counts.push((k.to_string(), by_kind.get(k).copied().unwrap_or(0)));
    }
    Ok(RunSummary {
        counts,
        notes: vec![format!(
            "read {} BigCommerce product page(s) and {} Brightpearl search page(s); {} discrepancies, {} resolved since the last audit",
            bc_pages,
            bp_pages,
            result.findings.len(),
            resolved
        )],
    })
}
