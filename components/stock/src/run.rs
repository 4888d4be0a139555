//! The stock-specific part of a run on the SDK's flow engine: which BigCommerce targets each
//! Brightpearl product has, Brightpearl availability in id-set batches, the values to write,
//! and the writes in batches. Candidates (a full sync of every product on a schedule,
//! Brightpearl `product.modified.on-hand-modified` events, replays, retries), holds, retries
//! and the 401/403 stop are the engine's.
//!
//! State keys:
//! - `targets:product:<bp id>` → JSON list of the product's BigCommerce targets
//!   ([`Target`]), written by each full sync, read by event runs;
//! - `pushed:product:<bp id>` → `{"<variant id>@<location id>": units}`: the values last
//!   written to BigCommerce (only changed values are written again);
//! - `held:`/`retry:product:<bp id>` — the engine's.

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::bigcommerce;
use pearlbridge_sdk::brightpearl::{Envelope, SearchResponse};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{
    self, Cx, Flow, Impact, Key, Mark, Outcome, Problem, Settings, Stop, Sweep, Swept, SweptList,
};
use pearlbridge_sdk::types::{
    Event, FlowError, Level as LogLevel, Method, Request, RunSummary, System, Team, Trigger,
};
use pearlbridge_sdk::{Api, ApiError, Report, State};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::catalog::{self, TARGETS};
use crate::config::{Mode, StockConfig};
use crate::mapping::{self, Availability, Level, Target};

/// Exception kinds this flow raises.
pub mod kinds {
    /// A BigCommerce SKU with no Brightpearl product: its stock is never set.
    pub const SKU_NOT_IN_BRIGHTPEARL: &str = "sku-not-in-brightpearl";
    /// A Brightpearl product that is not stock-tracked (absent from product-availability).
    pub const UNTRACKED_PRODUCT: &str = "untracked-product";
    /// BigCommerce holds more than was last written: stock was edited in BigCommerce.
    pub const STOCK_DRIFT: &str = "stock-drift";
    /// Writing the product's stock failed on several runs in a row.
    pub const STOCK_PUSH_FAILED: &str = "stock-push-failed";
}

const PUSHED: Mark = Mark::Cache("pushed");

/// The run summary's counters, in order.
pub const COUNTERS: &[&str] = &[
    "skus_checked",
    "skus_pushed",
    "writes",
    "held",
    "pending_retry",
];

/// Most ids in one `product-availability` id set (the safe size, brightpearl-api.md §2).
pub const AVAILABILITY_IDS_MAX: usize = 100;

/// The stock flow on the engine.
pub struct Stock<'c> {
    cfg: &'c StockConfig,
    /// Read both catalogs completely (`--full`), whatever `complete_read_hours` says.
    complete: bool,
    /// Brightpearl product id → its BigCommerce targets, queued for the end of the run.
    queue: BTreeMap<u64, Vec<Target>>,
}

impl<'c> Stock<'c> {
    pub fn new(cfg: &'c StockConfig) -> Self {
        Stock {
            cfg,
            complete: false,
            queue: BTreeMap::new(),
        }
    }
}

/// The replay reference of a full sync with a complete catalog read
/// (`pearlbridge flow run <client> stock --full`).
pub const FULL_SYNC: &str = "full";

/// Run for one trigger at `now` (unix seconds, UTC); see [`engine::run`] for when the run
/// fails. A replay of [`FULL_SYNC`] alone is a full sync that reads both catalogs
/// completely.
pub fn run_at(
    trigger: &Trigger,
    cfg: &StockConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    now: i64,
) -> Result<RunSummary, FlowError> {
    let mut flow = Stock::new(cfg);
    let full = [FULL_SYNC.to_string()];
    let trigger = match trigger {
        Trigger::Replay(refs) if refs.as_slice() == full => {
            flow.complete = true;
            &Trigger::Scheduled
        }
        t => t,
    };
    engine::run(&mut flow, trigger, api, state, report, Timestamp(now))
}

fn variant_entity(variant_id: u64) -> String {
    Key::new(System::Bigcommerce, "variant", variant_id).entity()
}

impl Flow for Stock<'_> {
    type Id = u64;
    type Item = Vec<Target>;

    fn settings(&self) -> Settings {
        Settings {
            name: "stock",
            system: System::Brightpearl,
            kind: "product",
            plural: "products",
            open_marks: &[],
            retry_kind: kinds::STOCK_PUSH_FAILED,
            retry_owner: Team::Operations,
            retry_exception_after: self.cfg.retry_exception_after,
            sweep: Some(Sweep::All),
            counters: COUNTERS,
        }
    }

    /// Brightpearl `product.modified*` events (the on-hand change signal, brightpearl-api.md
    /// §8 [doc]/[obs]); the entity id is the Brightpearl product id.
    fn event_id(&self, e: &Event) -> Option<String> {
        (e.source == System::Brightpearl && e.scope.starts_with("product.modified"))
            .then(|| e.entity_id.clone())
    }

    /// The full sync: every Brightpearl product with BigCommerce targets, from
    /// [`catalog::read`] (complete or incremental). A SKU with no Brightpearl product raises
    /// `sku-not-in-brightpearl` (ecommerce; impact = price × BigCommerce level) and is
    /// resolved once it has one.
    fn sweep(&mut self, cx: &mut Cx, _from: Timestamp) -> Result<SweptList<Self>, ApiError> {
        let read = catalog::read(cx, self.complete, self.cfg.complete_read_hours)?;
        cx.note(read.note.clone());
        let open: BTreeSet<String> = cx
            .report
            .open("bigcommerce:variant:")
            .into_iter()
            .filter(|(k, _)| k == kinds::SKU_NOT_IN_BRIGHTPEARL)
            .map(|(_, e)| e)
            .collect();
        if !open.is_empty() {
            for t in read.by_product.values().flatten() {
                let entity = variant_entity(t.variant_id);
                if open.contains(&entity) {
                    cx.report.resolve(kinds::SKU_NOT_IN_BRIGHTPEARL, &entity);
                }
            }
        }
        for t in &read.unmatched {
            let entity = variant_entity(t.variant_id);
            // Known from an earlier read: already raised, with the level read then.
            if t.level.is_none() && open.contains(&entity) {
                continue;
            }
            let units = t.level.unwrap_or(0).max(0);
            cx.raise(
                kinds::SKU_NOT_IN_BRIGHTPEARL,
                &entity,
                Team::Ecommerce,
                format!(
                    "{entity}: SKU `{}` (BigCommerce product {}) has no Brightpearl product, so its stock ({units} in BigCommerce) is never set from Brightpearl",
                    t.sku, t.product_id
                ),
                Some(&Impact::new(t.price * Decimal::from(units), &self.cfg.currency)),
                true,
            );
        }
        Ok(read
            .by_product
            .into_iter()
            .map(|(id, item)| Swept {
                id,
                modified: None,
                item,
            })
            .collect())
    }

    /// Queue the product (its targets from the sweep, else from the last full sync) for the
    /// batched reads and writes at the end of the run.
    fn process(
        &mut self,
        cx: &mut Cx,
        id: &u64,
        item: Option<Vec<Target>>,
    ) -> Result<Outcome, Stop> {
        let key = cx.key(id);
        let targets = match item {
            Some(t) => {
                let text = serde_json::to_string(&t).unwrap_or_default();
                if cx.mark(&key, TARGETS).as_deref() != Some(text.as_str()) {
                    cx.set_mark(&key, TARGETS, &text);
                }
                t
            }
            // The cache is only a copy of the catalog: unreadable counts as absent.
            None => match cx
                .mark(&key, TARGETS)
                .and_then(|text| serde_json::from_str::<Vec<Target>>(&text).ok())
            {
                Some(t) => t,
                None => {
                    cx.log(
                        LogLevel::Warn,
                        &format!(
                            "{}: no BigCommerce variant known for it yet (or `{}` unreadable); the next full sync sets it",
                            key.entity(),
                            key.state(TARGETS)
                        ),
                    );
                    return Ok(Outcome::Unchanged);
                }
            },
        };
        self.queue.insert(*id, targets);
        Ok(Outcome::Deferred)
    }

    fn finish(&mut self, cx: &mut Cx) {
        let queue = std::mem::take(&mut self.queue);
        if queue.is_empty() {
            return;
        }
        let pending = match self.unposted_units(cx) {
            Ok(p) => p,
            Err(e) => {
                // Without the unposted orders any value could oversell: write nothing.
                for id in queue.keys() {
                    cx.failed(&cx.key(id), &e);
                }
                return;
            }
        };
        let ids = self.write_order(cx, &queue);
        let mut writes: Vec<(u64, Vec<Level>)> = vec![];
        for chunk in ids.chunks(AVAILABILITY_IDS_MAX) {
            if cx.stopping() {
                return;
            }
            cx.progress(chunk.len() as u64);
            let availability = match self.availability(cx, chunk) {
                Ok(a) => a,
                Err(e) => {
                    for id in chunk {
                        cx.failed(&cx.key(id), &e);
                    }
                    continue;
                }
            };
            for id in chunk {
                let key = cx.key(id);
                let targets = &queue[id];
                let Some(avail) = availability.get(id) else {
                    cx.hold(
                        &key,
                        vec![Problem {
                            kind: kinds::UNTRACKED_PRODUCT,
                            owner: Team::Operations,
                            message: format!(
                                "{}: Brightpearl product {id} (SKU `{}`) is not stock-tracked (absent from product-availability), so BigCommerce stock is not set from it",
                                key.entity(),
                                targets.first().map(|t| t.sku.as_str()).unwrap_or("")
                            ),
                            impact: None,
                        }],
                    );
                    continue;
                };
                let levels = self.levels(cx, &key, targets, avail, &pending);
                writes.push((*id, levels));
            }
        }
        self.write(cx, writes);
    }
}

impl Stock<'_> {
    /// The order products are read and written in: visible on the storefront first, then
    /// the least stock first (the units last written, summed over the product's targets;
    /// never written counts as 0), then by id. A flash sale's products are in stock at
    /// BigCommerce soonest; a large full sync fixes what sells out first.
    fn write_order(&self, cx: &Cx, queue: &BTreeMap<u64, Vec<Target>>) -> Vec<u64> {
        let mut order: Vec<(bool, i64, u64)> = queue
            .iter()
            .map(|(id, targets)| {
                let pushed: BTreeMap<String, i64> = cx
                    .mark(&cx.key(id), PUSHED)
                    .and_then(|v| serde_json::from_str(&v).ok())
                    .unwrap_or_default();
                let units: i64 = pushed.values().sum();
                (!targets.iter().any(|t| t.visible), units, *id)
            })
            .collect();
        order.sort();
        order.into_iter().map(|(_, _, id)| id).collect()
    }

    /// Units per SKU of BigCommerce orders accepted (in `pending_orders.statuses`, created
    /// within `lookback_hours`) whose Brightpearl sales order does not exist yet: Brightpearl
    /// has not allocated them, so they are deducted. Posted = a Brightpearl sales order
    /// created since then with `externalRef` = the BigCommerce order id (as the orders flow
    /// writes it), from `order-search` (`createdOn` period, pages of 500).
    fn unposted_units(&self, cx: &Cx) -> Result<BTreeMap<String, i64>, ApiError> {
        let since = cx
            .now
            .plus_seconds(-self.cfg.pending_orders.lookback_hours * 3600);
        let mut candidates: Vec<u64> = vec![];
        for status in &self.cfg.pending_orders.statuses {
            let mut page = 1;
            loop {
                let list: Vec<Value> = bigcommerce::Client::new(cx.api).list(
                    format!(
                        "/v2/orders?status_id={status}&min_date_created={}&limit=250&page={page}",
                        pearlbridge_sdk::url::encode(&since.to_rfc2822())
                    ),
                    "GET /v2/orders",
                )?;
                let n = list.len();
                candidates.extend(list.iter().filter_map(|o| o["id"].as_u64()));
                if n < 250 {
                    break;
                }
                page += 1;
            }
        }
        let mut units = BTreeMap::new();
        if candidates.is_empty() {
            return Ok(units);
        }
        let mut posted: BTreeSet<String> = BTreeSet::new();
        let mut first = 1u64;
        loop {
            let page: Envelope<SearchResponse> = engine::get_json(
                cx.api,
                System::Brightpearl,
                &format!(
                    "/order-service/order-search?orderTypeId=1&createdOn={}/&columns=orderId,externalRef&pageSize=500&firstResult={first}",
                    since.to_iso8601()
                ),
            )?;
            let got = page.response.results.len() as u64;
            posted.extend(
                page.response
                    .rows()
                    .iter()
                    .filter_map(|r| r.str("externalRef")),
            );
            if !page.response.meta_data.more_pages_available || got == 0 {
                break;
            }
            first += got;
        }
        let bc = bigcommerce::Client::new(cx.api);
        for id in candidates {
            if posted.contains(&id.to_string()) {
                continue;
            }
            for p in bc.order_products(id)? {
                *units.entry(p.sku.trim().to_string()).or_insert(0) +=
                    i64::try_from(p.quantity).unwrap_or(i64::MAX);
            }
        }
        Ok(units)
    }

    /// `GET /warehouse-service/product-availability/{ids}` (brightpearl-api.md §8 [doc]):
    /// product id → warehouse id → `onHand`; a product Brightpearl does not track is absent.
    fn availability(&self, cx: &Cx, ids: &[u64]) -> Result<BTreeMap<u64, Availability>, ApiError> {
        let set = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let body: Envelope<BTreeMap<String, Value>> = engine::get_json(
            cx.api,
            System::Brightpearl,
            &format!("/warehouse-service/product-availability/{set}"),
        )?;
        let mut out = BTreeMap::new();
        for (pid, v) in body.response {
            let Ok(pid) = pid.parse::<u64>() else {
                continue;
            };
            let mut a = Availability::new();
            if let Some(ws) = v["warehouses"].as_object() {
                for (w, q) in ws {
                    if let (Ok(w), Some(n)) = (w.parse::<u64>(), q["onHand"].as_i64()) {
                        a.insert(w, n);
                    }
                }
            }
            out.insert(pid, a);
        }
        Ok(out)
    }

    /// The values to write for a product's targets: each target's levels per location minus
    /// its safety stock and its unposted units, only those that differ from the last
    /// written. A target BigCommerce holds more of than was last written raises
    /// `stock-drift` (operations; impact = price × the extra units); the write corrects it.
    fn levels(
        &self,
        cx: &mut Cx,
        key: &Key,
        targets: &[Target],
        avail: &Availability,
        pending: &BTreeMap<String, i64>,
    ) -> Vec<Level> {
        let pushed: BTreeMap<String, i64> = cx
            .mark(key, PUSHED)
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        let mut out = vec![];
        for t in targets {
            cx.count("skus_checked");
            let deduct = i64::from(mapping::safety_stock(self.cfg, &t.sku, &t.categories))
                + pending.get(&t.sku).copied().unwrap_or(0);
            let levels = mapping::location_levels(self.cfg, avail, deduct);
            let entity = variant_entity(t.variant_id);
            let last: Vec<i64> = levels
                .keys()
                .filter_map(|l| pushed.get(&format!("{}@{l}", t.variant_id)).copied())
                .collect();
            if let Some(level) = t.level
                && last.len() == levels.len()
            {
                let written: i64 = last.iter().sum();
                if level > written {
                    let extra = level - written;
                    cx.raise(
                        kinds::STOCK_DRIFT,
                        &entity,
                        Team::Operations,
                        format!(
                            "{entity}: BigCommerce holds {level} of SKU `{}` but {written} was last written from Brightpearl: stock was edited in BigCommerce; it is set back to Brightpearl's value",
                            t.sku
                        ),
                        Some(&Impact::new(t.price * Decimal::from(extra), &self.cfg.currency)),
                        false,
                    );
                } else {
                    cx.report.resolve(kinds::STOCK_DRIFT, &entity);
                }
            }
            for (location, quantity) in levels {
                let l = Level {
                    target: t.clone(),
                    location,
                    quantity,
                };
                if pushed.get(&l.pushed_key()) != Some(&quantity) {
                    out.push(l);
                }
            }
        }
        out
    }

    /// Write the changed values in batches ([`mapping::batch_max`]), whole products per
    /// batch: absolute adjustments per location, or variant `inventory_level`s. A product
    /// whose batch was written is clear and its values are stored as last written; a failed
    /// batch leaves its products pending (absolute values: writing again is safe).
    fn write(&self, cx: &mut Cx, writes: Vec<(u64, Vec<Level>)>) {
        let max = mapping::batch_max(self.cfg.mode);
        let mut batch: Vec<(u64, Vec<Level>)> = vec![];
        let mut size = 0;
        let mut batches = vec![];
        for (id, levels) in writes {
            if levels.is_empty() {
                cx.clear(&cx.key(id));
                continue;
            }
            if size + levels.len() > max && !batch.is_empty() {
                batches.push(std::mem::take(&mut batch));
                size = 0;
            }
            size += levels.len();
            batch.push((id, levels));
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        for batch in batches {
            if cx.stopping() {
                return;
            }
            let all: Vec<Level> = batch.iter().flat_map(|(_, l)| l.iter().cloned()).collect();
            let req = match self.cfg.mode {
                Mode::Locations => Request {
                    system: System::Bigcommerce,
                    method: Method::Put,
                    path: "/v3/inventory/adjustments/absolute".into(),
                    body: Some(mapping::absolute_adjustments(&self.cfg.reason, &all).to_string()),
                    headers: vec![],
                },
                Mode::Variants => Request {
                    system: System::Bigcommerce,
                    method: Method::Put,
                    path: "/v3/catalog/variants".into(),
                    body: Some(mapping::variant_levels(&all).to_string()),
                    headers: vec![],
                },
            };
            let what = format!("PUT {}", req.path);
            cx.count("writes");
            let result = engine::send(cx.api, req, &what).map(|_| ());
            for (id, levels) in batch {
                let key = cx.key(id);
                match &result {
                    Ok(()) => {
                        let mut pushed: BTreeMap<String, i64> = cx
                            .mark(&key, PUSHED)
                            .and_then(|v| serde_json::from_str(&v).ok())
                            .unwrap_or_default();
                        let mut skus = BTreeSet::new();
                        for l in &levels {
                            pushed.insert(l.pushed_key(), l.quantity);
                            skus.insert(l.target.variant_id);
                        }
                        for _ in skus {
                            cx.count("skus_pushed");
                        }
                        cx.set_mark(
                            &key,
                            PUSHED,
                            &serde_json::to_string(&pushed).unwrap_or_default(),
                        );
                        cx.clear(&key);
                    }
                    Err(e) => {
                        // Money at stake: price × the units this write was to set.
                        let units: Decimal = levels
                            .iter()
                            .map(|l| l.target.price * Decimal::from(l.quantity.max(0)))
                            .sum();
                        cx.at_stake(&key, Impact::new(units, &self.cfg.currency));
                        cx.failed(&key, e);
                    }
                }
            }
        }
    }
}
