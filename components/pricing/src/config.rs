//! `PricingConfig`: the client's `[flows.pricing.mapping]` section (as JSON), and [`check`],
//! which lists every problem with the path of its key (WIT `check-config`).
//!
//! ```toml
//! [flows.pricing.mapping]
//! currency = "GBP"              # ISO 4217: the currency of the records written (and of the
//!                               # Brightpearl lists read; a list in another currency is skipped)
//! wrong_list = "hold"           # or "post-with-group-list": what the orders flow should do
//!                               # with a B2B order whose contact is on the wrong list
//! retry_exception_after = 3     # runs a failed push is retried before `price-push-failed`
//! [[flows.pricing.mapping.groups]]
//! customer_group_id = 2         # BigCommerce customer group
//! price_list_id = 3             # Brightpearl price list (its prices are the source)
//! bc_price_list_id = 1          # BigCommerce price list the records are written to
//! channel_id = 1                # BigCommerce channel of the assignment (default 1)
//! ```

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::types::ConfigProblem;
use serde::Deserialize;

/// What the orders flow should do with a B2B order whose Brightpearl contact is on a
/// different price list from its customer group's (recorded in state as
/// [`crate::run::WRONG_LIST_KEY`]; this flow only raises `price-list-mismatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WrongList {
    /// Hold the order until the contact's price list is corrected.
    Hold,
    /// Post the order with the group's price list (`priceListId`) anyway.
    PostWithGroupList,
}

impl WrongList {
    /// The setting as written in the config (`hold`, `post-with-group-list`).
    pub fn as_str(self) -> &'static str {
        match self {
            WrongList::Hold => "hold",
            WrongList::PostWithGroupList => "post-with-group-list",
        }
    }
}

fn default_channel() -> u64 {
    1
}
fn default_retry_after() -> u32 {
    3
}

/// One B2B customer group: its BigCommerce price list is filled from a Brightpearl price
/// list and assigned to the group on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// BigCommerce customer group id (`/v2/customer_groups`).
    pub customer_group_id: u64,
    /// Brightpearl price list id (`/product-service/price-list`): the source of the prices.
    pub price_list_id: u64,
    /// BigCommerce price list id (`/v3/pricelists`): where the records are written.
    pub bc_price_list_id: u64,
    /// BigCommerce channel of the assignment (default 1, the storefront).
    #[serde(default = "default_channel")]
    pub channel_id: u64,
}

/// The pricing flow's mapping section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    pub groups: Vec<Group>,
    /// ISO 4217 code, upper case (`GBP`); records are written with it in lower case (`gbp`,
    /// as bigcommerce-api.md §9 shows it).
    pub currency: String,
    pub wrong_list: WrongList,
    #[serde(default = "default_retry_after")]
    pub retry_exception_after: u32,
}

impl PricingConfig {
    /// BigCommerce price list id → its Brightpearl price list id (each BigCommerce list has
    /// one source; [`check`] rejects two).
    pub fn lists(&self) -> BTreeMap<u64, u64> {
        self.groups
            .iter()
            .map(|g| (g.bc_price_list_id, g.price_list_id))
            .collect()
    }

    /// The groups whose records go to BigCommerce price list `bc_list`.
    pub fn groups_of(&self, bc_list: u64) -> Vec<&Group> {
        self.groups
            .iter()
            .filter(|g| g.bc_price_list_id == bc_list)
            .collect()
    }

    /// The group with BigCommerce customer group id `id` (the first, when a group is mapped
    /// on several channels: they share one Brightpearl list, see [`check`]).
    pub fn group(&self, id: u64) -> Option<&Group> {
        self.groups.iter().find(|g| g.customer_group_id == id)
    }
}

/// Every problem of a mapping section (JSON); empty when it is valid.
pub fn check(json: &str) -> Vec<ConfigProblem> {
    parse(json).err().unwrap_or_default()
}

/// Parse a mapping section (JSON), or every problem of it, each with its key's path (e.g.
/// `groups[1].price_list_id`).
pub fn parse(json: &str) -> Result<PricingConfig, Vec<ConfigProblem>> {
    let problem = |path: String, message: String| ConfigProblem { path, message };
    let de = &mut serde_json::Deserializer::from_str(json);
    let cfg: PricingConfig = match serde_path_to_error::deserialize(de) {
        Ok(c) => c,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(vec![problem(path, e.into_inner().to_string())]);
        }
    };
    let mut problems = vec![];
    if cfg.groups.is_empty() {
        problems.push(problem(
            "groups".into(),
            "map at least one BigCommerce customer group to a Brightpearl price list and a BigCommerce price list".into(),
        ));
    }
    let mut source: BTreeMap<u64, (usize, u64)> = BTreeMap::new();
    let mut seen: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut group_list: BTreeMap<u64, u64> = BTreeMap::new();
    for (i, g) in cfg.groups.iter().enumerate() {
        for (field, v) in [
            ("customer_group_id", g.customer_group_id),
            ("price_list_id", g.price_list_id),
            ("bc_price_list_id", g.bc_price_list_id),
            ("channel_id", g.channel_id),
        ] {
            if v == 0 {
                problems.push(problem(
                    format!("groups[{i}].{field}"),
                    "ids start at 1".into(),
                ));
            }
        }
        match source.get(&g.bc_price_list_id) {
            Some((j, pl)) if *pl != g.price_list_id => problems.push(problem(
                format!("groups[{i}].price_list_id"),
                format!(
                    "BigCommerce price list {} is filled from Brightpearl price list {pl} by groups[{j}]; one BigCommerce list has one source",
                    g.bc_price_list_id
                ),
            )),
            Some(_) => {}
            None => {
                source.insert(g.bc_price_list_id, (i, g.price_list_id));
            }
        }
        if !seen.insert((g.customer_group_id, g.channel_id)) {
            problems.push(problem(
                format!("groups[{i}].customer_group_id"),
                format!(
                    "customer group {} is mapped twice on channel {}; BigCommerce takes one price list per group and channel",
                    g.customer_group_id, g.channel_id
                ),
            ));
        }
        match group_list.get(&g.customer_group_id) {
            Some(pl) if *pl != g.price_list_id => problems.push(problem(
                format!("groups[{i}].price_list_id"),
                format!(
                    "customer group {} is mapped to Brightpearl price list {pl} on another channel; a contact has one price list",
                    g.customer_group_id
                ),
            )),
            Some(_) => {}
            None => {
                group_list.insert(g.customer_group_id, g.price_list_id);
            }
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
