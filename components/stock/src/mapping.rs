//! The stock rules as plain functions: safety stock, available to sell per location, and the
//! BigCommerce request bodies.
//!
//! Available to sell (one BigCommerce variant, per inventory location) =
//! Σ over the Brightpearl warehouses mapped to that location of `onHand` (Brightpearl's
//! sellable quantity, `inStock − allocated`, brightpearl-api.md §8 [obs]), then
//! safety stock + the units of BigCommerce orders not yet posted to Brightpearl are
//! deducted from the locations in location-id order, each floored at 0.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{Mode, StockConfig};

/// One BigCommerce stock target of a Brightpearl product: a variant, or a product tracked
/// at product level (`inventory_tracking = "product"`, written by `product_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub product_id: u64,
    pub variant_id: u64,
    pub sku: String,
    /// True when BigCommerce tracks the product's stock at product level.
    pub product_level: bool,
    /// Catalog price in the store's default currency (impacts).
    pub price: Decimal,
    /// BigCommerce category ids of the product.
    pub categories: Vec<u64>,
    /// Whether the product is visible on the storefront (`is_visible`); visible products are
    /// written first.
    #[serde(default = "visible")]
    pub visible: bool,
    /// `inventory_level` as this run read it from the catalog (`None` when not read).
    #[serde(skip)]
    pub level: Option<i64>,
}

fn visible() -> bool {
    true
}

/// Brightpearl availability of one product: warehouse id → `onHand`.
pub type Availability = BTreeMap<u64, i64>;

/// The safety stock of `sku` in `categories`: the SKU's own, else the largest of its
/// categories', else the default.
pub fn safety_stock(cfg: &StockConfig, sku: &str, categories: &[u64]) -> u32 {
    let s = &cfg.safety_stock;
    if let Some(n) = s.skus.get(sku) {
        return *n;
    }
    categories
        .iter()
        .filter_map(|c| s.categories.get(&c.to_string()))
        .max()
        .copied()
        .unwrap_or(s.default)
}

/// Available to sell per BigCommerce location (every mapped location, in id order) for a
/// product with `availability`, after deducting `deduct` units (safety stock + unposted
/// orders) from the locations in id order. Never negative.
pub fn location_levels(
    cfg: &StockConfig,
    availability: &Availability,
    deduct: i64,
) -> BTreeMap<u64, i64> {
    let mut levels: BTreeMap<u64, i64> = BTreeMap::new();
    for (warehouse, location) in cfg.warehouse_locations() {
        *levels.entry(location).or_default() +=
            availability.get(&warehouse).copied().unwrap_or(0).max(0);
    }
    let mut left = deduct.max(0);
    for q in levels.values_mut() {
        let take = left.min(*q);
        *q -= take;
        left -= take;
    }
    levels
}

/// One value to write: `quantity` units of `target` at `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub target: Target,
    pub location: u64,
    pub quantity: i64,
}

impl Level {
    /// The key of this value among the last pushed ones: `<variant id>@<location id>`.
    pub fn pushed_key(&self) -> String {
        format!("{}@{}", self.target.variant_id, self.location)
    }
}

/// `PUT /v3/inventory/adjustments/absolute` body (bigcommerce-api.md §8 [doc]): `{reason,
/// items:[{location_id, variant_id | product_id, quantity}]}`; `product_id` for a product
/// tracked at product level.
pub fn absolute_adjustments(reason: &str, levels: &[Level]) -> Value {
    let items: Vec<Value> = levels
        .iter()
        .map(|l| {
            if l.target.product_level {
                json!({"location_id": l.location, "product_id": l.target.product_id, "quantity": l.quantity})
            } else {
                json!({"location_id": l.location, "variant_id": l.target.variant_id, "quantity": l.quantity})
            }
        })
        .collect();
    json!({"reason": reason, "items": items})
}

/// `PUT /v3/catalog/variants` body (bigcommerce-api.md §8 [doc]): `[{id, inventory_level}]`.
pub fn variant_levels(levels: &[Level]) -> Value {
    Value::Array(
        levels
            .iter()
            .map(|l| json!({"id": l.target.variant_id, "inventory_level": l.quantity}))
            .collect(),
    )
}

/// Most values in one write: 2,000 item × location pairs per absolute adjustment, 50
/// variants per catalog batch (bigcommerce-api.md §8 [doc]).
pub fn batch_max(mode: Mode) -> usize {
    match mode {
        Mode::Locations => 2000,
        Mode::Variants => 50,
    }
}
