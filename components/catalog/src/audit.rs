//! The audit rules as plain functions: both catalogs in, the discrepancies out.
//!
//! Every BigCommerce variant is matched to Brightpearl by its SKU exactly as each system
//! holds it (what the orders and stock flows do). What does not match exactly is:
//! - a **near-match** (`sku-near-match`) when the SKUs agree after trimming surrounding
//!   whitespace and ignoring case (orders for it are held as `unmapped-sku`);
//! - part of a **product without a Brightpearl master** (`product-without-brightpearl-master`,
//!   one per BigCommerce product) when none of the product's variants matches at all;
//! - else **missing in Brightpearl** (`sku-not-in-brightpearl`, one per variant; a variant
//!   without a SKU too).
//!
//! Besides: a Brightpearl SKU no BigCommerce variant has, even nearly (`sku-not-in-bigcommerce`,
//! unless it starts with one of `brightpearl_only_prefixes`); a SKU on several variants or
//! several products (`duplicate-sku`, on `bigcommerce:sku:<SKU>` or `brightpearl:sku:<SKU>`);
//! a matched SKU whose stock one system tracks and the other does not
//! (`inventory-tracking-mismatch`).
//!
//! Impacts are in the store's currency ([`CatalogConfig::currency`]): for a variant BigCommerce
//! sells without Brightpearl behind it, its price × the units BigCommerce shows (tracked
//! stock; each order for them would be held), or its price once when BigCommerce does not
//! track its stock (at least one order's worth).

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::brightpearl::ProductRow;
use pearlbridge_sdk::types::Team;
use rust_decimal::Decimal;

use crate::config::CatalogConfig;

/// Exception kinds the audit raises.
pub mod kinds {
    /// A BigCommerce variant's SKU (or a variant without one) matches no Brightpearl product.
    pub const SKU_NOT_IN_BRIGHTPEARL: &str = "sku-not-in-brightpearl";
    /// A Brightpearl product's SKU is on no BigCommerce variant.
    pub const SKU_NOT_IN_BIGCOMMERCE: &str = "sku-not-in-bigcommerce";
    /// One SKU on several BigCommerce variants or several Brightpearl products.
    pub const DUPLICATE_SKU: &str = "duplicate-sku";
    /// The SKUs differ only by case or surrounding whitespace.
    pub const SKU_NEAR_MATCH: &str = "sku-near-match";
    /// None of a BigCommerce product's SKUs is a Brightpearl product.
    pub const PRODUCT_WITHOUT_MASTER: &str = "product-without-brightpearl-master";
    /// One system tracks the SKU's stock and the other does not.
    pub const INVENTORY_TRACKING_MISMATCH: &str = "inventory-tracking-mismatch";

    /// Every kind, in report order.
    pub const ALL: &[&str] = &[
        PRODUCT_WITHOUT_MASTER,
        SKU_NOT_IN_BRIGHTPEARL,
        SKU_NEAR_MATCH,
        DUPLICATE_SKU,
        INVENTORY_TRACKING_MISMATCH,
        SKU_NOT_IN_BIGCOMMERCE,
    ];
}

/// A BigCommerce product as the audit needs it (`GET /v3/catalog/products?include=variants`).
#[derive(Debug, Clone, PartialEq)]
pub struct BcProduct {
    pub id: u64,
    pub name: String,
    /// `inventory_tracking`: `none`, `product` or `variant`.
    pub inventory_tracking: String,
    /// The product's `inventory_level` (the stock of a product-tracked product).
    pub inventory_level: i64,
    /// The product's price in the store's currency.
    pub price: Decimal,
    pub variants: Vec<BcVariant>,
}

/// One BigCommerce variant.
#[derive(Debug, Clone, PartialEq)]
pub struct BcVariant {
    pub id: u64,
    /// Exactly as BigCommerce holds it.
    pub sku: String,
    /// The variant's own price, when it has one.
    pub price: Option<Decimal>,
    pub inventory_level: i64,
    pub purchasing_disabled: bool,
}

impl BcProduct {
    fn tracks_stock(&self) -> bool {
        matches!(self.inventory_tracking.as_str(), "product" | "variant")
    }

    /// What orders for a variant BigCommerce sells without Brightpearl could be worth: its
    /// price × the units BigCommerce shows, or its price once when stock is not tracked.
    fn at_risk(&self, v: &BcVariant) -> Decimal {
        let price = v.price.unwrap_or(self.price);
        match self.inventory_tracking.as_str() {
            "product" => price * Decimal::from(self.inventory_level.max(0)),
            "variant" => price * Decimal::from(v.inventory_level.max(0)),
            _ => price,
        }
    }
}

/// One discrepancy: an exception to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: &'static str,
    /// e.g. `bigcommerce:variant:77`, `brightpearl:product:1001`, `bigcommerce:sku:ABC-1`.
    pub entity: String,
    pub message: String,
    pub owner: Team,
    /// In the store's currency; `None` when no money is at stake.
    pub impact: Option<Decimal>,
}

/// What [`audit`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    pub findings: Vec<Finding>,
    /// BigCommerce products without a Brightpearl master (ids, ascending).
    pub unmastered: Vec<u64>,
    /// Distinct SKUs seen on either side, exactly as spelled (variants without a SKU and
    /// Brightpearl products without one count once each).
    pub skus_audited: u64,
    pub bigcommerce_variants: u64,
    pub brightpearl_products: u64,
}

/// The case- and whitespace-insensitive form of a SKU, for near-matches.
pub fn near(sku: &str) -> String {
    sku.trim().to_lowercase()
}

fn quoted(skus: &[&str]) -> String {
    skus.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ids(list: impl IntoIterator<Item = u64>) -> String {
    list.into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Audit BigCommerce `products` against Brightpearl `bp` (see the module docs for the rules).
/// Findings come in [`kinds::ALL`] order, then by entity.
pub fn audit(products: &[BcProduct], bp: &[ProductRow], cfg: &CatalogConfig) -> Audit {
    let mut out = Audit::default();
    let mut exact: BTreeMap<&str, Vec<&ProductRow>> = BTreeMap::new();
    let mut nearly: BTreeMap<String, Vec<&ProductRow>> = BTreeMap::new();
    let mut skus: BTreeSet<&str> = BTreeSet::new();
    let mut no_sku = 0u64;
    for p in bp {
        out.brightpearl_products += 1;
        if p.sku.is_empty() {
            no_sku += 1;
            continue;
        }
        skus.insert(&p.sku);
        exact.entry(&p.sku).or_default().push(p);
        nearly.entry(near(&p.sku)).or_default().push(p);
    }
    let mut bc_exact: BTreeMap<&str, Vec<(&BcProduct, &BcVariant)>> = BTreeMap::new();
    let mut bc_near: BTreeSet<String> = BTreeSet::new();
    let mut findings = Vec::new();
    let tracking = |findings: &mut Vec<Finding>, p: &BcProduct, v: &BcVariant, b: &ProductRow| {
        let Some(bp_tracks) = b.stock_tracked else {
            return;
        };
        if bp_tracks == p.tracks_stock() {
            return;
        }
        let message = if bp_tracks {
            format!(
                "variant {} (SKU {:?}) of product {} \"{}\": BigCommerce does not track its stock (inventory_tracking none) but Brightpearl product {} does: BigCommerce sells it without limit",
                v.id, v.sku, p.id, p.name, b.id
            )
        } else {
            format!(
                "variant {} (SKU {:?}) of product {} \"{}\": BigCommerce tracks its stock (inventory_tracking {}) but Brightpearl product {} is not stock-tracked, so no stock is ever set from Brightpearl",
                v.id, v.sku, p.id, p.name, p.inventory_tracking, b.id
            )
        };
        findings.push(Finding {
            kind: kinds::INVENTORY_TRACKING_MISMATCH,
            entity: format!("bigcommerce:variant:{}", v.id),
            message,
            owner: Team::Operations,
            impact: None,
        });
    };
    for p in products {
        let mut matched = false;
        let mut missing: Vec<&BcVariant> = Vec::new();
        let mut near_matches: Vec<(&BcVariant, &ProductRow)> = Vec::new();
        for v in &p.variants {
            out.bigcommerce_variants += 1;
            if v.sku.is_empty() {
                no_sku += 1;
                missing.push(v);
                continue;
            }
            skus.insert(&v.sku);
            bc_exact.entry(&v.sku).or_default().push((p, v));
            bc_near.insert(near(&v.sku));
            if let Some(b) = exact.get(v.sku.as_str()).and_then(|l| l.first()) {
                matched = true;
                tracking(&mut findings, p, v, b);
            } else if let Some(b) = nearly.get(&near(&v.sku)).and_then(|l| l.first()) {
                matched = true;
                near_matches.push((v, b));
            } else {
                missing.push(v);
            }
        }
        if p.variants.is_empty() {
            continue;
        }
        if !matched {
            out.unmastered.push(p.id);
            let total: Decimal = p.variants.iter().map(|v| p.at_risk(v)).sum();
            let listed: Vec<&str> = p.variants.iter().map(|v| v.sku.as_str()).collect();
            findings.push(Finding {
                kind: kinds::PRODUCT_WITHOUT_MASTER,
                entity: format!("bigcommerce:product:{}", p.id),
                message: format!(
                    "product {} \"{}\" has no Brightpearl master: none of its {} SKU(s) ({}) is a Brightpearl product; orders for it are held",
                    p.id,
                    p.name,
                    listed.len(),
                    quoted(&listed)
                ),
                owner: Team::Ecommerce,
                impact: Some(total),
            });
            continue;
        }
        for (v, b) in near_matches {
            findings.push(Finding {
                kind: kinds::SKU_NEAR_MATCH,
                entity: format!("bigcommerce:variant:{}", v.id),
                message: format!(
                    "variant {} of product {} \"{}\": SKU {:?} is not in Brightpearl, which has {:?} (product {}): they differ only by case or surrounding spaces; orders for it are held",
                    v.id, p.id, p.name, v.sku, b.sku, b.id
                ),
                owner: Team::Ecommerce,
                impact: Some(p.at_risk(v)),
            });
            tracking(&mut findings, p, v, b);
        }
        for v in missing {
            let message = if v.sku.is_empty() {
                format!(
                    "variant {} of product {} \"{}\" has no SKU, so no Brightpearl product can match it; orders for it are held",
                    v.id, p.id, p.name
                )
            } else {
                format!(
                    "variant {} of product {} \"{}\": SKU {:?} is not a Brightpearl product; orders for it are held",
                    v.id, p.id, p.name, v.sku
                )
            };
            findings.push(Finding {
                kind: kinds::SKU_NOT_IN_BRIGHTPEARL,
                entity: format!("bigcommerce:variant:{}", v.id),
                message,
                owner: Team::Ecommerce,
                impact: Some(p.at_risk(v)),
            });
        }
    }
    for (sku, list) in &bc_exact {
        if list.len() > 1 {
            findings.push(Finding {
                kind: kinds::DUPLICATE_SKU,
                entity: format!("bigcommerce:sku:{sku}"),
                message: format!(
                    "SKU {sku:?} is on {} BigCommerce variants ({}, of products {}): orders and stock for it cannot tell them apart",
                    list.len(),
                    ids(list.iter().map(|(_, v)| v.id)),
                    ids(list.iter().map(|(p, _)| p.id).collect::<BTreeSet<_>>())
                ),
                owner: Team::Ecommerce,
                impact: None,
            });
        }
    }
    for (sku, list) in &exact {
        if list.len() > 1 {
            findings.push(Finding {
                kind: kinds::DUPLICATE_SKU,
                entity: format!("brightpearl:sku:{sku}"),
                message: format!(
                    "SKU {sku:?} is on {} Brightpearl products ({}): orders post to the lowest id, {}",
                    list.len(),
                    ids(list.iter().map(|b| b.id)),
                    list[0].id
                ),
                owner: Team::Operations,
                impact: None,
            });
        }
        if !bc_exact.contains_key(sku)
            && !bc_near.contains(&near(sku))
            && !cfg
                .brightpearl_only_prefixes
                .iter()
                .any(|pre| sku.starts_with(pre.as_str()))
        {
            for b in list {
                findings.push(Finding {
                    kind: kinds::SKU_NOT_IN_BIGCOMMERCE,
                    entity: format!("brightpearl:product:{}", b.id),
                    message: format!(
                        "Brightpearl product {} (SKU {sku:?}) is on no BigCommerce variant: it cannot be sold online",
                        b.id
                    ),
                    owner: Team::Ecommerce,
                    impact: None,
                });
            }
        }
    }
    findings.sort_by(|a, b| {
        let rank = |k: &str| kinds::ALL.iter().position(|x| *x == k);
        (rank(a.kind), &a.entity).cmp(&(rank(b.kind), &b.entity))
    });
    out.findings = findings;
    out.skus_audited = skus.len() as u64 + no_sku;
    out
}
