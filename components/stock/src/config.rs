//! `StockConfig`: the client's `[flows.stock.mapping]` section (as JSON), and [`check`],
//! which lists every problem with the path of its key (WIT `check-config`).
//!
//! ```toml
//! [flows.stock.mapping]
//! mode = "locations"            # or "variants": no inventory locations, variant inventory_level
//! currency = "GBP"              # the store's default currency (catalog prices, impacts)
//! reason = "Brightpearl stock"  # adjustment reason shown in BigCommerce
//! retry_exception_after = 3     # runs a failed push is retried before `stock-push-failed`
//! complete_read_hours = 168     # the full sync re-reads the whole catalog at least this often
//! [flows.stock.mapping.warehouses]  # Brightpearl warehouse id → BigCommerce location id
//! "2" = 1
//! "3" = 1                       # several warehouses summed into one location
//! [flows.stock.mapping.safety_stock]
//! default = 0                   # units held back on every SKU
//! categories = { "23" = 2 }     # by BigCommerce category id (the largest of a product's wins)
//! skus = { "HOOD-051-OLV-M" = 5 }  # by SKU (wins over category and default)
//! [flows.stock.mapping.pending_orders]
//! statuses = [11]               # BigCommerce statuses of orders accepted but maybe not posted
//! lookback_hours = 72           # how far back such orders are looked for
//! ```

use std::collections::BTreeMap;

use pearlbridge_sdk::types::ConfigProblem;
use serde::Deserialize;

/// How BigCommerce stock is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `PUT /v3/inventory/adjustments/absolute`, one item per variant × location.
    Locations,
    /// `PUT /v3/catalog/variants` `inventory_level` (the default location only).
    Variants,
}

/// Units held back from sale, most specific first: SKU, then category, then default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyStock {
    #[serde(default)]
    pub default: u32,
    /// BigCommerce category id → units; a product in several categories takes the largest.
    #[serde(default)]
    pub categories: BTreeMap<String, u32>,
    /// SKU → units.
    #[serde(default)]
    pub skus: BTreeMap<String, u32>,
}

/// BigCommerce orders whose units are deducted until Brightpearl has them (allocated).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingOrders {
    #[serde(default = "default_statuses")]
    pub statuses: Vec<u32>,
    #[serde(default = "default_lookback")]
    pub lookback_hours: i64,
}

impl Default for PendingOrders {
    fn default() -> Self {
        PendingOrders {
            statuses: default_statuses(),
            lookback_hours: default_lookback(),
        }
    }
}

fn default_statuses() -> Vec<u32> {
    vec![11]
}
fn default_lookback() -> i64 {
    72
}
fn default_reason() -> String {
    "Brightpearl stock".into()
}
fn default_complete_read_hours() -> i64 {
    168
}
fn default_retry_after() -> u32 {
    3
}

/// The stock flow's mapping section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockConfig {
    pub mode: Mode,
    /// ISO 4217 code of the store's default currency.
    pub currency: String,
    #[serde(default = "default_reason")]
    pub reason: String,
    /// Brightpearl warehouse id → BigCommerce inventory location id.
    pub warehouses: BTreeMap<String, u64>,
    #[serde(default)]
    pub safety_stock: SafetyStock,
    #[serde(default)]
    pub pending_orders: PendingOrders,
    #[serde(default = "default_retry_after")]
    pub retry_exception_after: u32,
    /// Hours between complete catalog reads (both systems, every SKU, every BigCommerce
    /// level checked for drift); between them a full sync reads only the products modified
    /// since the last read. `--full` forces a complete read.
    #[serde(default = "default_complete_read_hours")]
    pub complete_read_hours: i64,
}

impl StockConfig {
    /// The mapped warehouses as (Brightpearl warehouse id, BigCommerce location id).
    pub fn warehouse_locations(&self) -> Vec<(u64, u64)> {
        self.warehouses
            .iter()
            .filter_map(|(w, l)| w.parse::<u64>().ok().map(|w| (w, *l)))
            .collect()
    }
}

/// Every problem of a mapping section (JSON); empty when it is valid.
pub fn check(json: &str) -> Vec<ConfigProblem> {
    parse(json).err().unwrap_or_default()
}

/// Parse a mapping section (JSON), or every problem of it, each with its key's path.
pub fn parse(json: &str) -> Result<StockConfig, Vec<ConfigProblem>> {
    let problem = |path: String, message: String| ConfigProblem { path, message };
    let de = &mut serde_json::Deserializer::from_str(json);
    let cfg: StockConfig = match serde_path_to_error::deserialize(de) {
        Ok(c) => c,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(vec![problem(path, e.into_inner().to_string())]);
        }
    };
    let mut problems = vec![];
    if cfg.warehouses.is_empty() {
        problems.push(problem(
            "warehouses".into(),
            "map at least one Brightpearl warehouse id to a BigCommerce location id".into(),
        ));
    }
    for (w, l) in &cfg.warehouses {
        if w.parse::<u64>().ok().filter(|n| *n > 0).is_none() {
            problems.push(problem(
                format!("warehouses.{w}"),
                format!("`{w}` is not a Brightpearl warehouse id (a positive integer)"),
            ));
        }
        if *l == 0 {
            problems.push(problem(
                format!("warehouses.{w}"),
                "BigCommerce location ids start at 1".into(),
            ));
        }
    }
    if cfg.mode == Mode::Variants {
        let locations: std::collections::BTreeSet<u64> = cfg.warehouses.values().copied().collect();
        if locations.len() > 1 {
            problems.push(problem(
                "mode".into(),
                format!(
                    "mode \"variants\" writes the default location only, but warehouses map to locations {locations:?}; use mode \"locations\""
                ),
            ));
        }
    }
    let cur = cfg.currency.trim();
    if cur.len() != 3 || !cur.chars().all(|c| c.is_ascii_uppercase()) {
        problems.push(problem(
            "currency".into(),
            format!(
                "expected an ISO 4217 code such as \"GBP\"; got {:?}",
                cfg.currency
            ),
        ));
    }
    for k in cfg.safety_stock.categories.keys() {
        if k.parse::<u64>().is_err() {
            problems.push(problem(
                format!("safety_stock.categories.{k}"),
                format!("`{k}` is not a BigCommerce category id"),
            ));
        }
    }
    if cfg.pending_orders.lookback_hours <= 0 {
        problems.push(problem(
            "pending_orders.lookback_hours".into(),
            "must be at least 1".into(),
        ));
    }
    if cfg.complete_read_hours <= 0 {
        problems.push(problem(
            "complete_read_hours".into(),
            "must be at least 1".into(),
        ));
    }
    if cfg.retry_exception_after == 0 {
        problems.push(problem(
            "retry_exception_after".into(),
            "must be at least 1".into(),
        ));
    }
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(problems)
    }
}
