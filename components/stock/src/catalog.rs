//! What the full sync knows of both catalogs: each Brightpearl product's BigCommerce targets.
//!
//! A complete read takes every stock-tracked BigCommerce variant
//! (`GET /v3/catalog/products?include=variants`, pages of 250) and every Brightpearl SKU
//! (paged `product-search`, 500 a page) and joins them by SKU. Between complete reads (at
//! most `complete_read_hours` apart, or when `--full` asks for one) a full sync reads only
//! what changed since the last read — BigCommerce products with `date_modified:min` from the
//! store's clock (`GET /v2/time`) when the last read began, Brightpearl products with
//! `updatedOn=<since>/` from the newest value the last read saw, each minus
//! [`OVERLAP_MINUTES`] — and joins those onto the targets already in state, so a
//! sync of an unchanged catalog costs one read on each system besides the availability.
//!
//! State keys (besides the flow's `targets:product:<bp id>`):
//! - `catalog:stock` → [`CatalogMark`];
//! - `unmatched:variant:<bc variant id>` → the [`Target`] of a BigCommerce SKU no
//!   Brightpearl product has yet (`sku-not-in-brightpearl` is open for it), matched again
//!   when Brightpearl's changes bring its SKU.
//!
//! What an incremental read cannot see until the next complete read: a BigCommerce product
//! deleted (its variants are written until then; a write that fails holds its batch's
//! products pending) and a Brightpearl product deleted (held `untracked-product`). Drift is
//! checked on the products the read returned: a stock edit in BigCommerce moves the product's
//! `date_modified` [unconfirmed], so it is among them.

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::ApiError;
use pearlbridge_sdk::bigcommerce;
use pearlbridge_sdk::brightpearl::{self, PRODUCT_INDEX_MAX_PAGES};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{self, Cx, Key, Mark};
use pearlbridge_sdk::types::System;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mapping::Target;

/// The state key of the [`CatalogMark`].
pub const CATALOG_KEY: &str = "catalog:stock";
/// Targets of BigCommerce SKUs without a Brightpearl product, by variant.
pub const UNMATCHED: Mark = Mark::Cache("unmatched");
/// The targets of each Brightpearl product (the flow's cache, read by event runs too).
pub const TARGETS: Mark = Mark::Cache("targets");
/// Minutes read again before the newest modification the last read saw.
pub const OVERLAP_MINUTES: i64 = 5;
/// Most SKUs looked up one by one in Brightpearl in an incremental read (new BigCommerce
/// variants of products Brightpearl has had for a while); above it the whole SKU index is
/// read instead (fewer calls).
pub const MAX_SKU_LOOKUPS: usize = 20;

/// Where the last catalog read left off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMark {
    /// The store's clock (`GET /v2/time`) when the last read began (ISO 8601, UTC).
    pub bigcommerce: Option<String>,
    /// The newest Brightpearl product `updatedOn` read (ISO 8601, UTC).
    pub brightpearl: Option<String>,
    /// When the last complete read ran (unix seconds, UTC).
    pub complete_at: i64,
}

/// What one read found.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Brightpearl product id → its BigCommerce targets (every known product).
    pub by_product: BTreeMap<u64, Vec<Target>>,
    /// BigCommerce targets whose SKU no Brightpearl product has.
    pub unmatched: Vec<Target>,
    /// Whether this was a complete read.
    pub complete: bool,
    /// For the run's notes.
    pub note: String,
}

#[derive(Deserialize)]
struct CatalogPage {
    data: Vec<CatalogProduct>,
    #[serde(default)]
    meta: Value,
}

#[derive(Deserialize)]
pub(crate) struct CatalogProduct {
    id: u64,
    #[serde(default)]
    inventory_tracking: String,
    #[serde(default)]
    inventory_level: i64,
    #[serde(default = "yes")]
    is_visible: bool,
    #[serde(default, with = "pearlbridge_sdk::money::serde_amount")]
    price: Decimal,
    #[serde(default)]
    categories: Vec<u64>,
    #[serde(default)]
    date_modified: Option<String>,
    #[serde(default)]
    variants: Vec<CatalogVariant>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct CatalogVariant {
    id: u64,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    inventory_level: i64,
    #[serde(default, with = "pearlbridge_sdk::money::serde_amount::option")]
    price: Option<Decimal>,
}

/// The stock targets of a catalog product: a product-level product by its base variant, a
/// variant-level product by each variant with a SKU; an untracked product has none.
pub(crate) fn targets_of(p: &CatalogProduct) -> Vec<Target> {
    let target = |v: &CatalogVariant, product_level: bool, level: i64| Target {
        product_id: p.id,
        variant_id: v.id,
        sku: v.sku.trim().to_string(),
        product_level,
        price: if product_level {
            p.price
        } else {
            v.price.unwrap_or(p.price)
        },
        categories: p.categories.clone(),
        visible: p.is_visible,
        level: Some(level),
    };
    let mut out: Vec<Target> = match p.inventory_tracking.as_str() {
        "product" => p
            .variants
            .first()
            .map(|base| target(base, true, p.inventory_level))
            .into_iter()
            .collect(),
        "variant" => p
            .variants
            .iter()
            .map(|v| target(v, false, v.inventory_level))
            .collect(),
        _ => vec![],
    };
    out.retain(|t| !t.sku.is_empty());
    out
}

/// BigCommerce products modified since `since` (every product when `None`): product id →
/// its targets (empty for a product no longer tracked), and the newest `date_modified`.
fn read_bigcommerce(cx: &Cx, since: Option<Timestamp>) -> Result<BigCommerceRead, ApiError> {
    let filter = since
        .map(|t| {
            format!(
                "&date_modified:min={}",
                pearlbridge_sdk::url::encode(&t.to_iso8601())
            )
        })
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut newest: Option<Timestamp> = None;
    let mut page = 1u32;
    loop {
        let got: CatalogPage = engine::get_json(
            cx.api,
            System::Bigcommerce,
            &format!(
                "/v3/catalog/products?include=variants{filter}&limit={}&page={page}",
                bigcommerce::V3_MAX_LIMIT
            ),
        )?;
        let n = got.data.len();
        for p in &got.data {
            if let Some(t) = p
                .date_modified
                .as_deref()
                .and_then(|d| Timestamp::parse_iso8601(d).ok())
            {
                newest = Some(newest.map_or(t, |n| n.max(t)));
            }
            out.insert(p.id, targets_of(p));
        }
        let total_pages = got.meta["pagination"]["total_pages"].as_u64().unwrap_or(1);
        if n == 0 || u64::from(page) >= total_pages {
            break;
        }
        page += 1;
    }
    Ok(BigCommerceRead {
        products: out,
        newest,
        pages: page,
    })
}

/// What [`read_bigcommerce`] read: product id → its targets, the newest `date_modified`,
/// the pages read.
struct BigCommerceRead {
    products: BTreeMap<u64, Vec<Target>>,
    newest: Option<Timestamp>,
    pages: u32,
}

fn mark_time(t: &Option<String>) -> Option<Timestamp> {
    t.as_deref().and_then(|t| Timestamp::parse_iso8601(t).ok())
}

fn later(old: Option<Timestamp>, new: Option<Timestamp>) -> Option<String> {
    match (old, new) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
    .map(Timestamp::to_iso8601)
}

fn stored<T: for<'de> Deserialize<'de>>(cx: &Cx, prefix: &str) -> BTreeMap<u64, T> {
    cx.state
        .list(prefix, u32::MAX)
        .into_iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix(prefix)?.parse::<u64>().ok()?;
            Some((id, serde_json::from_str(&v).ok()?))
        })
        .collect()
}

/// Read both catalogs (completely when `forced`, when nothing was read before, or when the
/// last complete read is `complete_read_hours` old) and join them by SKU. Saves the
/// [`CatalogMark`] and the unmatched targets; deletes the targets of products that have none
/// any more. Errors: the reads' [`ApiError`]s (nothing is saved then).
pub fn read(cx: &mut Cx, forced: bool, complete_read_hours: i64) -> Result<Catalog, ApiError> {
    let mark: Option<CatalogMark> = cx
        .state
        .get(CATALOG_KEY)
        .and_then(|e| serde_json::from_str(&e.value).ok());
    let complete = forced
        || mark
            .as_ref()
            .is_none_or(|m| cx.now.0 - m.complete_at >= complete_read_hours * 3600);
    let mark = mark.unwrap_or_default();
    let back = |t: Option<Timestamp>| t.map(|t| t.plus_seconds(-OVERLAP_MINUTES * 60));
    let (bc_since, bp_since) = if complete {
        (None, None)
    } else {
        (
            back(mark_time(&mark.bigcommerce)),
            back(mark_time(&mark.brightpearl)),
        )
    };
    // The store's clock before the read: whatever changes after it (our own writes too) is
    // read next time; the newest `date_modified` read would lag behind those writes.
    let bc_clock = bigcommerce::Client::new(cx.api).time()?;
    let BigCommerceRead {
        products: fresh,
        newest: bc_newest,
        pages: bc_pages,
    } = read_bigcommerce(cx, bc_since)?;
    let bp = brightpearl::Client::new(cx.api);
    let skus = bp.product_skus(bp_since, PRODUCT_INDEX_MAX_PAGES)?;

    let targets_prefix = Key::prefix(TARGETS, "product");
    let unmatched_prefix = Key::prefix(UNMATCHED, "variant");
    let before: BTreeMap<u64, Vec<Target>> = stored(cx, &targets_prefix);
    let unmatched_before: BTreeMap<u64, Target> = stored(cx, &unmatched_prefix);

    // The targets to join, and the SKU → Brightpearl product id known for them.
    let mut index: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_product: BTreeMap<u64, Vec<Target>> = BTreeMap::new();
    let mut pool: Vec<Target> = vec![];
    // Freshly read targets first: they carry the BigCommerce level (drift is checked).
    pool.extend(fresh.values().flatten().cloned());
    if !complete {
        // What the last read joined stands, except for products either side changed.
        for (bp_id, targets) in &before {
            let changed = skus.ids.contains(bp_id); // its SKU may have changed in Brightpearl
            for t in targets {
                if !changed {
                    index.insert(t.sku.clone(), *bp_id);
                }
                if fresh.contains_key(&t.product_id) {
                    continue; // read again: the fresh copy is in the pool
                }
                if changed {
                    pool.push(t.clone());
                } else {
                    by_product.entry(*bp_id).or_default().push(t.clone());
                }
            }
        }
        pool.extend(
            unmatched_before
                .values()
                .filter(|t| !fresh.contains_key(&t.product_id))
                .cloned(),
        );
    }
    index.extend(skus.index.iter().map(|(s, id)| (s.clone(), *id)));
    let mut lookups = 0;
    if !complete {
        let unknown: BTreeSet<String> = pool
            .iter()
            .filter(|t| {
                !index.contains_key(&t.sku) && !unmatched_before.contains_key(&t.variant_id)
            })
            .map(|t| t.sku.clone())
            .collect();
        if unknown.len() > MAX_SKU_LOOKUPS {
            index.extend(bp.product_sku_index(PRODUCT_INDEX_MAX_PAGES)?.0);
        } else {
            let list: Vec<String> = unknown.into_iter().collect();
            lookups = list.len();
            index.extend(bp.products_by_skus(&list)?);
        }
    }
    let mut catalog = Catalog {
        complete,
        ..Catalog::default()
    };
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    for t in pool {
        if !seen.insert(t.variant_id) {
            continue;
        }
        match index.get(&t.sku) {
            Some(id) => by_product.entry(*id).or_default().push(t),
            None => catalog.unmatched.push(t),
        }
    }
    for targets in by_product.values_mut() {
        targets.sort_by_key(|t| t.variant_id);
    }

    // Save: products without targets lose their row; unmatched rows follow the join.
    for id in before.keys().filter(|id| !by_product.contains_key(id)) {
        cx.state
            .delete(&Key::new(System::Brightpearl, "product", id).state(TARGETS));
    }
    let unmatched_now: BTreeSet<u64> = catalog.unmatched.iter().map(|t| t.variant_id).collect();
    for id in unmatched_before
        .keys()
        .filter(|id| !unmatched_now.contains(id))
    {
        cx.state
            .delete(&Key::new(System::Bigcommerce, "variant", id).state(UNMATCHED));
    }
    for t in &catalog.unmatched {
        let text = serde_json::to_string(t).unwrap_or_default();
        let key = Key::new(System::Bigcommerce, "variant", t.variant_id).state(UNMATCHED);
        if cx.state.get(&key).map(|e| e.value) != Some(text.clone()) {
            cx.state.set(&key, &text);
        }
    }
    let saved = CatalogMark {
        bigcommerce: later(
            mark_time(&mark.bigcommerce),
            Some(Timestamp(bc_clock)).max(bc_newest),
        ),
        brightpearl: later(mark_time(&mark.brightpearl), skus.newest),
        complete_at: if complete { cx.now.0 } else { mark.complete_at },
    };
    cx.state.set(
        CATALOG_KEY,
        &serde_json::to_string(&saved).unwrap_or_default(),
    );
    catalog.note = format!(
        "{} catalog read: {} BigCommerce product(s) in {bc_pages} page(s), {} Brightpearl product(s) in {} page(s){}; {} products with stock targets, {} SKU(s) not in Brightpearl",
        if complete { "complete" } else { "incremental" },
        fresh.len(),
        skus.ids.len(),
        skus.pages,
        if lookups > 0 {
            format!(", {lookups} SKU lookup(s)")
        } else {
            String::new()
        },
        by_product.len(),
        catalog.unmatched.len(),
    );
    catalog.by_product = by_product;
    Ok(catalog)
}
