//! The thin shell of a run: pick up orders (events, sweep, replay, held, pending), fetch,
//! map ([`crate::mapping`]), post once, link, report.
//!
//! State keys (all values are plain strings or small JSON):
//! - `cursor:orders` — ISO 8601: the newest `date_modified` the scheduled sweep has seen
//!   (absent until it has seen an order: an empty sweep never sets or moves it);
//! - `link:order:<bc id>` → Brightpearl sales order id;
//! - `link:payment:<transactionRef>` → Brightpearl customer payment id;
//! - `attempt:order:<bc id>`, `attempt:payment:<ref>` — a write was sent and its link is
//!   not stored yet: search by `externalRef` / `transactionRef` before writing again;
//! - `held:order:<bc id>` → `{"kinds":[..]}` — held with open exceptions, retried every run;
//! - `retry:order:<bc id>` → `{"attempts":n,"error":".."}` — a retryable failure, retried
//!   every run;
//! - `unpaid:order:<bc id>` — the sales order is linked and its customer payments are queued
//!   for a multi-message batch; retried every run until they are linked (a crash before the
//!   batch is sent loses nothing);
//! - `link:note:order:<bc id>` → the Brightpearl order note id of the order's messages;
//!   `attempt:note:order:<bc id>` while its POST is out; `unnoted:order:<bc id>` — the note
//!   could not be posted (retryable failure): retried every run;
//! - `product-index`, `product-index:<i>` — the SKU → product id index
//!   ([`crate::product_index`]);
//! - `contact:email:<email>` → `{"id":..,"priceListId":..}`.

use std::collections::BTreeMap;

use pearlbridge_sdk::bigcommerce::{self, Order, OrderBundle};
use pearlbridge_sdk::brightpearl::{
    self, Communication, ContactCreate, ContactEmail, CustomerPayment, FinancialDetails,
    MULTI_MESSAGE_MAX, MarketingDetails, OrderNote, Organisation, PRODUCT_INDEX_MAX_PAGES,
    PostAddressIds, RelationshipToAccount,
};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::types::{Exception, FlowError, Level, Money, RunSummary, Team, Trigger};
use pearlbridge_sdk::{Api, ApiError, Report, State, money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::OrdersConfig;
use crate::mapping::{self, Lookups, MappedOrder, MappingProblem, kinds, order_entity};
use crate::product_index::ProductIndex;

const HELD_PREFIX: &str = "held:order:";
const RETRY_PREFIX: &str = "retry:order:";
const UNPAID_PREFIX: &str = "unpaid:order:";
const UNNOTED_PREFIX: &str = "unnoted:order:";
/// `done:order:<bc id>` → the order's `date_modified` when its sales order, payments and note
/// were all linked: an already posted order the sweep sees again unchanged (its overlap)
/// costs no further reads.
const DONE_PREFIX: &str = "done:order:";
const CURSOR_KEY: &str = "cursor:orders";
/// Most held or pending orders retried in one run.
const MAX_LISTED: u32 = 10_000;

/// Counters of a run (WIT `run-summary.counts`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts {
    pub posted: u64,
    pub held: u64,
    pub already_posted: u64,
    pub payments_posted: u64,
    pub pending_retry: u64,
    pub rounding_rows: u64,
    pub skipped_status: u64,
    pub notes_posted: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct Held {
    kinds: Vec<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct Retry {
    attempts: u32,
    error: String,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct CachedContact {
    id: u64,
    price_list_id: Option<u64>,
}

/// Why one order stopped.
enum Stop {
    /// An API failure: retryable ones leave the order pending.
    Api(ApiError),
    /// Problems that hold the order.
    Hold(Vec<MappingProblem>),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Api(e)
    }
}

/// One customer payment queued for a multi-message batch, for BigCommerce order `order`.
struct Job {
    order: u64,
    payment: CustomerPayment,
}

/// How one queued payment ended.
enum Sent {
    /// Linked (posted now, or found by transactionRef after an unknown outcome).
    Linked,
    /// Brightpearl rejected it (4xx): the order is held `payment-rejected`.
    Rejected(String),
    /// A retryable or unknown failure: the order stays pending (its attempt marker, when
    /// kept, makes the next run search by transactionRef first).
    Failed(ApiError),
}

/// An order whose payments are queued: how many are still out, and how the others ended.
#[derive(Default)]
struct Waiting {
    outstanding: usize,
    rejected: Vec<String>,
    failure: Option<ApiError>,
}

struct Run<'a> {
    api: &'a dyn Api,
    state: &'a dyn State,
    report: &'a dyn Report,
    cfg: &'a OrdersConfig,
    counts: Counts,
    notes: Vec<String>,
    /// Unix seconds (the product index's age is measured with it).
    now: i64,
    /// The product index, once an order of this run needed it.
    index: Option<ProductIndex>,
    /// A rebuild of the index failed in this run: it is not tried again until the next run.
    index_error: Option<ApiError>,
    /// Payments waiting for the next multi-message batch, in order.
    queue: Vec<Job>,
    waiting: BTreeMap<u64, Waiting>,
    /// The multi-message endpoint answered 404: single POSTs for the rest of the run.
    multi_message_missing: bool,
    /// A 401 or 403 (bad credentials) stopped the run: the message of its
    /// `FlowError::Upstream`. No further order is touched.
    abort: Option<String>,
    /// BigCommerce customers read in this run (v3 `customers?id:in=`), by id; `None` for an
    /// id BigCommerce does not know.
    customers: BTreeMap<u64, Option<bigcommerce::Customer>>,
    /// `date_modified` of the orders processed in this run, written to `done:order:<id>`
    /// once the order is clear.
    modified: BTreeMap<u64, String>,
}

/// What a scheduled sweep read.
struct Sweep {
    /// The orders modified since the window start, deduplicated by id.
    orders: Vec<Order>,
    /// The next cursor: the newest `date_modified` seen (never older than the stored one);
    /// `None` when no order was seen (the stored cursor, or its absence, stays).
    cursor: Option<String>,
    /// The run-summary note naming the window and how many orders were seen.
    note: String,
}

/// Do the work for one trigger at the current wall-clock time (WASI `wall-clock`); see
/// [`run_at`].
pub fn run(
    trigger: &Trigger,
    cfg: &OrdersConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
) -> Result<RunSummary, FlowError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    run_at(trigger, cfg, api, state, report, now)
}

/// Do the work for one trigger; `now` is the time in unix seconds. Per-order problems become
/// exceptions and counters. The run fails when:
/// - a replay reference is not `bigcommerce:order:<id>` (`FlowError::Internal`, before any
///   call);
/// - the sweep cannot read the order list (`FlowError::Upstream`);
/// - either system answers 401 or 403 (`FlowError::Upstream("brightpearl answered 401 Not
///   authenticated: check the client's brightpearl connection credentials")`): the run stops
///   at once, no further order is touched and the cursor is not moved.
///
/// A scheduled run's summary has a note naming the window swept and the orders seen.
pub fn run_at(
    trigger: &Trigger,
    cfg: &OrdersConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    now: i64,
) -> Result<RunSummary, FlowError> {
    let mut r = Run {
        api,
        state,
        report,
        cfg,
        counts: Counts::default(),
        notes: vec![],
        now,
        index: None,
        index_error: None,
        queue: vec![],
        waiting: BTreeMap::new(),
        multi_message_missing: false,
        abort: None,
        customers: BTreeMap::new(),
        modified: BTreeMap::new(),
    };
    // Candidates: id → the order when the sweep already read it.
    let mut candidates: BTreeMap<u64, Option<Order>> = BTreeMap::new();
    let mut new_cursor = None;
    match trigger {
        Trigger::Events(events) => {
            for e in events {
                if !e.scope.starts_with("store/order/") || e.scope == "store/order/archived" {
                    continue;
                }
                match e.entity_id.trim().parse::<u64>() {
                    Ok(id) => {
                        candidates.insert(id, None);
                    }
                    Err(_) => report.log(
                        Level::Warn,
                        &format!(
                            "event {} has a non-numeric entity id {:?}",
                            e.scope, e.entity_id
                        ),
                    ),
                }
            }
        }
        Trigger::Replay(refs) => {
            // Every reference is checked before anything is done.
            for reference in refs {
                candidates.insert(replay_order_id(reference)?, None);
            }
        }
        Trigger::Scheduled => {
            let sweep = r.sweep().map_err(|e| {
                FlowError::Upstream(e.credentials_problem().unwrap_or_else(|| e.to_string()))
            })?;
            // The registered customers of the orders to post, in one read per 250 (cached
            // for the run).
            let ids: Vec<u64> = sweep
                .orders
                .iter()
                .filter(|o| o.customer_id > 0 && cfg.statuses.contains(&o.status_id))
                .filter(|o| state.get(&format!("link:order:{}", o.id)).is_none())
                .map(|o| o.customer_id)
                .collect();
            if !ids.is_empty() {
                match bigcommerce::Client::new(api).customers_by_ids(&ids) {
                    Ok(found) => {
                        for id in &ids {
                            r.customers.insert(*id, None);
                        }
                        for c in found {
                            r.customers.insert(c.id, Some(c));
                        }
                    }
                    Err(e) => {
                        if let Some(message) = e.credentials_problem() {
                            return Err(FlowError::Upstream(message));
                        }
                        // Each order reads its own customer instead.
                        report.log(Level::Warn, &format!("customers not prefetched: {e}"));
                    }
                }
            }
            for o in sweep.orders {
                candidates.insert(o.id, Some(o));
            }
            new_cursor = sweep.cursor;
            r.notes.push(sweep.note);
        }
    }
    // Orders held or pending from earlier runs, and posted orders whose payments were queued
    // when a run stopped, are retried on every run.
    for prefix in [HELD_PREFIX, RETRY_PREFIX, UNPAID_PREFIX, UNNOTED_PREFIX] {
        for (key, _) in state.list(prefix, MAX_LISTED) {
            if let Ok(id) = key[prefix.len()..].parse::<u64>() {
                candidates.entry(id).or_insert(None);
            }
        }
    }
    let total = candidates.len() as u64;
    for (done, (id, prefetched)) in candidates.into_iter().enumerate() {
        r.process(id, prefetched);
        if let Some(message) = r.abort.take() {
            // Queued payments keep their `unpaid:order:` markers: the next run sends them.
            report.log(Level::Error, &format!("run stopped: {message}"));
            return Err(FlowError::Upstream(message));
        }
        report.progress(done as u64 + 1, Some(total));
    }
    r.flush(true);
    if let Some(message) = r.abort.take() {
        report.log(Level::Error, &format!("run stopped: {message}"));
        return Err(FlowError::Upstream(message));
    }
    if let Some(cursor) = new_cursor {
        state.set(CURSOR_KEY, &cursor);
    }
    let c = &r.counts;
    Ok(RunSummary {
        counts: vec![
            ("posted".into(), c.posted),
            ("held".into(), c.held),
            ("already_posted".into(), c.already_posted),
            ("payments_posted".into(), c.payments_posted),
            ("pending_retry".into(), c.pending_retry),
            ("rounding_rows".into(), c.rounding_rows),
            ("skipped_status".into(), c.skipped_status),
            ("notes_posted".into(), c.notes_posted),
        ],
        notes: r.notes,
    })
}

/// The BigCommerce order id of a replay reference `bigcommerce:order:<id>`; any other
/// reference is an `Internal` error naming it.
fn replay_order_id(reference: &str) -> Result<u64, FlowError> {
    reference
        .strip_prefix("bigcommerce:order:")
        .and_then(|id| id.parse::<u64>().ok())
        .ok_or_else(|| {
            FlowError::Internal(format!(
                "replay reference `{reference}` is not of the form bigcommerce:order:<id>"
            ))
        })
}

/// The host refused the request (WIT `send-error::denied`): it was never sent.
fn is_denied(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Send {
            error: pearlbridge_sdk::types::SendError::Denied(_),
            ..
        }
    )
}

/// `link:payment:<transactionRef>` and `attempt:payment:<transactionRef>`.
fn payment_keys(p: &CustomerPayment) -> (String, String) {
    (
        format!("link:payment:{}", p.transaction_ref),
        format!("attempt:payment:{}", p.transaction_ref),
    )
}

fn amount_text(d: Decimal) -> String {
    let scale = d.normalize().scale();
    money::format(d, scale.clamp(2, 4))
}

impl Run<'_> {
    /// The scheduled sweep: orders modified since the cursor minus the overlap (no cursor
    /// yet: the store clock `/v2/time` minus `initial_lookback_hours`, minus the overlap),
    /// sorted `date_modified:asc`, pages of 250, deduplicated by id. The next cursor is the
    /// newest `date_modified` seen, so an empty sweep leaves the cursor as it was (absent
    /// stays absent: a changed `initial_lookback_hours` applies until an order is seen).
    fn sweep(&self) -> Result<Sweep, ApiError> {
        let bc = bigcommerce::Client::new(self.api);
        let stored = self
            .state
            .get(CURSOR_KEY)
            .and_then(|e| Timestamp::parse_iso8601(&e.value).ok());
        let overlap = self.cfg.sweep.overlap_minutes;
        let lookback = self.cfg.sweep.initial_lookback_hours;
        let (start, why) = match stored {
            Some(t) => (
                t,
                format!("cursor {} − overlap_minutes = {overlap}", t.to_iso8601()),
            ),
            None => (
                Timestamp(bc.time()?).plus_seconds(-lookback * 3600),
                format!("no cursor yet: initial_lookback_hours = {lookback}"),
            ),
        };
        let from = start.plus_seconds(-overlap * 60);
        let listed = bc.orders_with_consignments_modified_since(
            &from.to_rfc2822(),
            bigcommerce::V2_MAX_LIMIT,
            self.cfg.sweep.max_pages,
        )?;
        let mut newest: Option<Timestamp> = None;
        let mut by_id: BTreeMap<u64, Order> = BTreeMap::new();
        for o in listed {
            if let Ok(t) = Timestamp::parse_rfc2822(&o.date_modified) {
                newest = Some(newest.map_or(t, |n| n.max(t)));
            }
            by_id.insert(o.id, o); // sorted ascending: the last copy is the newest
        }
        let cursor = newest.map(|n| stored.map_or(n, |c| c.max(n)));
        let seen = match by_id.len() {
            1 => "1 order seen".to_string(),
            n => format!("{n} orders seen"),
        };
        let after = match (cursor, stored) {
            (Some(c), _) => format!("cursor {}", c.to_iso8601()),
            (None, Some(_)) => "cursor unchanged".to_string(),
            (None, None) => "no cursor saved".to_string(),
        };
        Ok(Sweep {
            orders: by_id.into_values().collect(),
            cursor: cursor.map(Timestamp::to_iso8601),
            note: format!(
                "swept orders modified since {} ({why}): {seen}; {after}",
                from.to_iso8601()
            ),
        })
    }

    fn process(&mut self, id: u64, prefetched: Option<Order>) {
        match self.process_inner(id, prefetched) {
            Ok(None) => {}
            Ok(Some(payments)) => self.enqueue(id, payments),
            Err(Stop::Hold(problems)) => self.hold(id, problems),
            Err(Stop::Api(e)) => match e.credentials_problem() {
                Some(message) => self.abort = Some(message),
                None => self.pending(id, &e),
            },
        }
    }

    /// `None` when there is nothing to do (not found, status not posted); else the sales
    /// order is linked and these are its customer payments still to post.
    fn process_inner(
        &mut self,
        id: u64,
        prefetched: Option<Order>,
    ) -> Result<Option<Vec<CustomerPayment>>, Stop> {
        let bc = bigcommerce::Client::new(self.api);
        let swept = prefetched.is_some();
        let order = match prefetched {
            Some(o) => o,
            None => match bc.order_with_consignments(id)? {
                Some(o) => o,
                None => {
                    self.report.log(
                        Level::Warn,
                        &format!("{}: not found in BigCommerce", order_entity(id)),
                    );
                    self.state.delete(&format!("{RETRY_PREFIX}{id}"));
                    self.state.delete(&format!("{UNPAID_PREFIX}{id}"));
                    return Ok(None);
                }
            },
        };
        self.modified.insert(id, order.date_modified.clone());
        if let Some(link) = self.state.get(&format!("link:order:{id}")) {
            let so_id = mapping::linked_sales_order_id(&order, &link.value)
                .map_err(|p| Stop::Hold(vec![p]))?;
            self.counts.already_posted += 1;
            // Seen again by the sweep, done and unchanged since: nothing new to read or post
            // (events and replays always read the transactions, e.g. a later capture).
            let done = swept
                && self
                    .state
                    .get(&format!("{DONE_PREFIX}{id}"))
                    .is_some_and(|d| d.value == order.date_modified);
            let open = [HELD_PREFIX, RETRY_PREFIX, UNPAID_PREFIX, UNNOTED_PREFIX]
                .iter()
                .any(|p| self.state.get(&format!("{p}{id}")).is_some());
            if done && !open {
                return Ok(None);
            }
            let transactions = bc.order_transactions(id)?;
            let payments =
                mapping::map_payments(&order, &transactions, self.cfg).map_err(|msgs| {
                    Stop::Hold(
                        msgs.into_iter()
                            .map(|m| MappingProblem {
                                kind: kinds::UNMAPPED_PAYMENT_METHOD,
                                owner: Team::Finance,
                                message: format!("{}: {m}", order_entity(id)),
                                impact: order.total_inc_tax,
                                currency: mapping::order_currency(&order).0,
                            })
                            .collect(),
                    )
                })?;
            self.post_note(id, so_id, mapping::order_note(&order, self.cfg), true)?;
            let payments = payments.into_iter().map(|mut p| {
                p.order_id = so_id;
                p
            });
            return Ok(Some(self.unlinked_payments(payments.collect())?));
        }
        if !self.cfg.statuses.contains(&order.status_id) {
            self.counts.skipped_status += 1;
            return Ok(None);
        }
        let bundle = self.bundle(order)?;
        let (products, sku_suggestions) = self.products(&bundle)?;
        let mut lookups = Lookups {
            products,
            sku_suggestions,
            contact_id: 0,
        };
        // Every problem first (none depends on the contact), so nothing is created in
        // Brightpearl for an order that is held.
        let first = mapping::map_order(&bundle, self.cfg, &lookups).map_err(Stop::Hold)?;
        lookups.contact_id = self.contact(&bundle, first.price_list_id)?;
        let mapped = mapping::map_order(&bundle, self.cfg, &lookups).map_err(Stop::Hold)?;
        let (so_id, created) = self.post_sales_order(id, &mapped)?;
        // A sales order found rather than created may have its note already.
        self.post_note(id, so_id, mapped.note.clone(), !created)?;
        if let Some(diff) = mapped.rounding {
            self.counts.rounding_rows += 1;
            self.notes.push(format!(
                "{}: rounding row of {} {} added to sales order {so_id} (rows {} + rounding = charged amount {})",
                order_entity(id),
                amount_text(diff),
                mapped.sales_order.currency.code,
                amount_text(mapped.total - diff),
                amount_text(mapped.total)
            ));
        }
        Ok(Some(self.unlinked_payments(mapped.payments_for(so_id))?))
    }

    /// The order's sub-resources, reading only what the order does not already tell:
    /// - products and shipping addresses from its included consignments
    ///   ([`Order::consignment_parts`]), else `GET /v2/orders/{id}/products` and
    ///   `/shipping_addresses`;
    /// - coupons (`/v2/orders/{id}/coupons`) only when `coupon_discount` is not zero or a
    ///   line's `applied_discounts` names a coupon `code`;
    /// - taxes (`/v2/orders/{id}/taxes?details=true`) always;
    /// - transactions (`/v3/orders/{id}/transactions`) unless the order's `payment_method` is
    ///   `Manual` or an on-account method and it has no gift certificate or store credit;
    /// - the customer (`/v3/customers?id:in=`) once per run and customer id.
    fn bundle(&mut self, order: Order) -> Result<OrderBundle, ApiError> {
        let bc = bigcommerce::Client::new(self.api);
        let id = order.id;
        let (products, shipping_addresses) = match order.consignment_parts() {
            Some(parts) => parts,
            None => (bc.order_products(id)?, bc.order_shipping_addresses(id)?),
        };
        let nonzero = |d: &Decimal| !d.is_zero();
        let coupon_line = products.iter().any(|p| {
            p.applied_discounts
                .iter()
                .any(|d| d.code.as_deref().is_some_and(|c| !c.trim().is_empty()))
        });
        let coupons = if nonzero(&order.coupon_discount) || coupon_line {
            bc.order_coupons(id)?
        } else {
            vec![]
        };
        let taxes = bc.order_taxes(id)?;
        let method = order.payment_method.trim();
        let no_gateway = method.eq_ignore_ascii_case("manual")
            || self.cfg.on_account_methods.iter().any(|m| m == method);
        let tenders =
            nonzero(&order.gift_certificate_amount) || nonzero(&order.store_credit_amount);
        let transactions = if no_gateway && !tenders {
            vec![]
        } else {
            bc.order_transactions(id)?
        };
        let customer = if order.customer_id == 0 {
            None
        } else {
            match self.customers.get(&order.customer_id) {
                Some(c) => c.clone(),
                None => {
                    let c = bc
                        .customers_by_ids(&[order.customer_id])?
                        .into_iter()
                        .find(|c| c.id == order.customer_id);
                    self.customers.insert(order.customer_id, c.clone());
                    c
                }
            }
        };
        Ok(OrderBundle {
            order,
            products,
            shipping_addresses,
            coupons,
            taxes,
            transactions,
            customer,
        })
    }

    /// Product ids of the order's SKUs from the product index, and for each unknown SKU the
    /// indexed SKU it equals but for case or surrounding whitespace. The index is read from
    /// state once per run and rebuilt (paged `product-search`) when it is absent or older
    /// than `product_index_refresh_minutes`; so a SKU missing from it is unknown, and a held
    /// order's SKUs are checked again by the next rebuild.
    #[allow(clippy::type_complexity)]
    fn products(
        &mut self,
        bundle: &OrderBundle,
    ) -> Result<(BTreeMap<String, u64>, BTreeMap<String, String>), ApiError> {
        let skus = mapping::order_skus(bundle);
        let mut found = BTreeMap::new();
        let mut suggestions = BTreeMap::new();
        if skus.is_empty() {
            return Ok((found, suggestions));
        }
        let refresh = self.cfg.product_index_refresh_minutes;
        if self.index.is_none() {
            self.index = ProductIndex::load(self.state);
        }
        let stale = self
            .index
            .as_ref()
            .is_none_or(|i| !i.is_fresh(self.now, refresh));
        if stale && self.index_error.is_none() {
            let (skus, pages) = match brightpearl::Client::new(self.api)
                .product_sku_index(PRODUCT_INDEX_MAX_PAGES)
            {
                Ok(built) => built,
                Err(e) => {
                    self.index_error = Some(e.clone());
                    return Err(e);
                }
            };
            let index = ProductIndex::new(self.now, skus);
            index.store(self.state);
            self.report.log(
                Level::Info,
                &format!(
                    "product index rebuilt: {} SKUs from {pages} product-search page(s)",
                    index.skus.len()
                ),
            );
            self.index = Some(index);
        }
        // After a failed rebuild a stale index still serves the SKUs it has; a SKU it lacks
        // leaves the order pending (not held: it may exist by now).
        let Some(index) = self.index.as_ref() else {
            return Err(self
                .index_error
                .clone()
                .expect("no index only after a failed rebuild"));
        };
        if let Some(e) = &self.index_error
            && skus.iter().any(|s| index.get(s).is_none())
        {
            return Err(e.clone());
        }
        for sku in skus {
            match index.get(&sku) {
                Some(id) => {
                    found.insert(sku, id);
                }
                None => {
                    if let Some(near) = index.suggestion(&sku) {
                        suggestions.insert(sku, near.to_string());
                    }
                }
            }
        }
        Ok((found, suggestions))
    }

    /// The Brightpearl contact of the order's billing e-mail: cached, else found by search
    /// (lowest id when duplicates exist), else created with its postal addresses.
    fn contact(&self, bundle: &OrderBundle, price_list: Option<u64>) -> Result<u64, ApiError> {
        let order = &bundle.order;
        let email = order.billing_address.email.trim().to_lowercase();
        let key = format!("contact:email:{email}");
        let cached = self
            .state
            .get(&key)
            .and_then(|e| serde_json::from_str::<CachedContact>(&e.value).ok());
        let contact = match cached {
            Some(c) => c,
            None => {
                let bp = brightpearl::Client::new(self.api);
                let found = bp.contacts_by_email(&email)?;
                let c = match found.first() {
                    Some(m) => {
                        // Only B2B orders need the contact's price list (one GET, then cached).
                        let pl = match price_list {
                            Some(_) => bp
                                .contact(m.contact_id)?
                                .and_then(|c| c.financial_details.price_list_id),
                            None => None,
                        };
                        CachedContact {
                            id: m.contact_id,
                            price_list_id: pl,
                        }
                    }
                    None => CachedContact {
                        id: self.create_contact(bundle, price_list)?,
                        price_list_id: price_list,
                    },
                };
                self.state
                    .set(&key, &serde_json::to_string(&c).unwrap_or_default());
                c
            }
        };
        let entity = format!("brightpearl:contact:{}", contact.id);
        if let (Some(want), Some(has)) = (price_list, contact.price_list_id) {
            if want != has {
                // Not holding: the order carries priceListId and BigCommerce's own row values.
                self.report.raise(Exception {
                    kind: kinds::PRICE_LIST_MISMATCH.into(),
                    entity,
                    message: format!(
                        "Brightpearl contact {} is on price list {has} but BigCommerce customer {} (customer group {}) maps to price list {want}; {} was posted with priceListId {want}",
                        contact.id,
                        order.customer_id,
                        bundle.customer.as_ref().map(|c| c.customer_group_id).unwrap_or(0),
                        order_entity(order.id)
                    ),
                    owner: Team::Ecommerce,
                    impact: None,
                    retryable: false,
                });
            } else {
                self.report.resolve(kinds::PRICE_LIST_MISMATCH, &entity);
            }
        }
        Ok(contact.id)
    }

    fn create_contact(
        &self,
        bundle: &OrderBundle,
        price_list: Option<u64>,
    ) -> Result<u64, ApiError> {
        let bp = brightpearl::Client::new(self.api);
        let billing = &bundle.order.billing_address;
        let mut billing_address = mapping::postal_address(billing);
        billing_address.address_full_name = None;
        billing_address.company_name = None;
        billing_address.telephone = None;
        billing_address.email = None;
        let billing_id = bp.create_postal_address(&billing_address)?;
        let mut first_shipping = bundle.shipping_addresses.clone();
        first_shipping.sort_by_key(|a| a.id);
        let delivery_id = match first_shipping.first().map(|a| {
            let mut p = mapping::postal_address(&a.address);
            p.address_full_name = None;
            p.company_name = None;
            p.telephone = None;
            p.email = None;
            p
        }) {
            Some(p) if p != billing_address => bp.create_postal_address(&p)?,
            _ => billing_id,
        };
        let truncate = |s: &str| s.trim().chars().take(32).collect::<String>();
        let mut telephones = BTreeMap::new();
        if !billing.phone.trim().is_empty() {
            telephones.insert("PRI".to_string(), billing.phone.trim().to_string());
        }
        let contact = ContactCreate {
            first_name: truncate(&billing.first_name),
            last_name: truncate(&billing.last_name),
            post_address_ids: PostAddressIds {
                def: billing_id,
                bil: billing_id,
                del: delivery_id,
            },
            communication: Communication {
                emails: BTreeMap::from([(
                    "PRI".to_string(),
                    ContactEmail {
                        email: billing.email.trim().to_lowercase(),
                    },
                )]),
                telephones,
            },
            organisation: (!billing.company.trim().is_empty()).then(|| Organisation {
                name: billing.company.trim().to_string(),
            }),
            relationship_to_account: RelationshipToAccount {
                is_supplier: false,
                is_staff: false,
            },
            marketing_details: MarketingDetails {
                is_receive_email_newsletter: false,
            },
            financial_details: price_list.map(|id| FinancialDetails {
                price_list_id: Some(id),
            }),
        };
        bp.create_contact(&contact)
    }

    /// Post the sales order once: after an attempt whose outcome is unknown (or a crash
    /// between POST and link), search by `externalRef` first; a normal first POST never
    /// searches.
    /// `(sales order id, true when this call created it)`.
    fn post_sales_order(&mut self, id: u64, mapped: &MappedOrder) -> Result<(u64, bool), Stop> {
        let bp = brightpearl::Client::new(self.api);
        let link_key = format!("link:order:{id}");
        let attempt_key = format!("attempt:order:{id}");
        let external_ref = &mapped.sales_order.external_ref;
        if self.state.get(&attempt_key).is_some()
            && let Some(existing) = bp
                .sales_orders_by_external_ref(external_ref)?
                .first()
                .copied()
        {
            self.link(&link_key, &attempt_key, existing);
            self.counts.already_posted += 1;
            return Ok((existing, false));
        }
        self.state.set(&attempt_key, "sales-order");
        match bp.create_sales_order(&mapped.sales_order) {
            Ok(so_id) => {
                self.link(&link_key, &attempt_key, so_id);
                self.counts.posted += 1;
                Ok((so_id, true))
            }
            Err(e) if e.is_outcome_unknown() => match bp
                .sales_orders_by_external_ref(external_ref)?
                .first()
                .copied()
            {
                Some(existing) => {
                    self.link(&link_key, &attempt_key, existing);
                    self.counts.posted += 1;
                    Ok((existing, false))
                }
                None => Err(Stop::Api(e)),
            },
            Err(e) if e.credentials_problem().is_some() => {
                self.state.delete(&attempt_key);
                Err(Stop::Api(e))
            }
            Err(e) if !e.is_retryable() && e.status().is_some() => {
                // Rejected: nothing was created.
                self.state.delete(&attempt_key);
                Err(Stop::Hold(vec![MappingProblem {
                    kind: kinds::ORDER_REJECTED,
                    owner: Team::Integration,
                    message: format!(
                        "{}: Brightpearl rejected the sales order: {e}",
                        order_entity(id)
                    ),
                    impact: mapped.total,
                    currency: mapped.sales_order.currency.code.clone(),
                }]))
            }
            Err(e) => Err(Stop::Api(e)),
        }
    }

    /// Post the order's note (`POST /order-service/order/{so_id}/note`, staff-only) once:
    /// `link:note:order:<id>` is stored after it. With `search_first` (a sales order found
    /// rather than created, or an already linked order), and after an attempt whose outcome
    /// is unknown, the order's notes are read first and one with the same text is linked.
    /// A retryable failure leaves `unnoted:order:<id>` (retried every run) and does not stop
    /// the order's payments; a 4xx raises `order-note-rejected`; 401/403 stops the run.
    fn post_note(
        &mut self,
        id: u64,
        so_id: u64,
        text: Option<String>,
        search_first: bool,
    ) -> Result<(), Stop> {
        let unnoted_key = format!("{UNNOTED_PREFIX}{id}");
        let Some(text) = text else {
            self.state.delete(&unnoted_key);
            return Ok(());
        };
        let link_key = format!("link:note:order:{id}");
        let attempt_key = format!("attempt:note:order:{id}");
        if self.state.get(&link_key).is_some() {
            self.state.delete(&unnoted_key);
            return Ok(());
        }
        let bp = brightpearl::Client::new(self.api);
        let find = || -> Result<Option<u64>, ApiError> {
            Ok(bp
                .order_notes(so_id)?
                .into_iter()
                .find(|n| n.text.trim() == text.trim())
                .map(|n| n.note_id))
        };
        let result = (|| -> Result<bool, ApiError> {
            if (search_first || self.state.get(&attempt_key).is_some())
                && let Some(found) = find()?
            {
                self.link(&link_key, &attempt_key, found);
                return Ok(false);
            }
            self.state.set(&attempt_key, "order-note");
            let note = OrderNote {
                text: text.clone(),
                is_public: false,
            };
            match bp.add_order_note(so_id, &note) {
                Ok(note_id) => {
                    self.link(&link_key, &attempt_key, note_id);
                    Ok(true)
                }
                Err(e) if e.is_outcome_unknown() => match find()? {
                    Some(found) => {
                        self.link(&link_key, &attempt_key, found);
                        Ok(true)
                    }
                    None => Err(e),
                },
                Err(e) => {
                    if e.status().is_some() {
                        self.state.delete(&attempt_key); // answered: nothing was created
                    }
                    Err(e)
                }
            }
        })();
        let entity = order_entity(id);
        match result {
            Ok(posted) => {
                if posted {
                    self.counts.notes_posted += 1;
                }
                self.state.delete(&unnoted_key);
                self.report.resolve(kinds::ORDER_NOTE_REJECTED, &entity);
                Ok(())
            }
            Err(e) if e.credentials_problem().is_some() => Err(Stop::Api(e)),
            Err(e) if !e.is_retryable() && e.status().is_some() => {
                self.state.delete(&unnoted_key);
                self.report.raise(Exception {
                    kind: kinds::ORDER_NOTE_REJECTED.into(),
                    entity,
                    message: format!(
                        "{}: Brightpearl rejected the note of sales order {so_id}: {e}",
                        order_entity(id)
                    ),
                    owner: Team::Integration,
                    impact: None,
                    retryable: false,
                });
                Ok(())
            }
            Err(e) => {
                self.state.set(&unnoted_key, &e.to_string());
                self.report.log(
                    Level::Warn,
                    &format!("{entity}: the note of sales order {so_id} is pending: {e}"),
                );
                Ok(())
            }
        }
    }

    fn link(&self, link_key: &str, attempt_key: &str, id: u64) {
        self.state.set(link_key, &id.to_string());
        self.state.delete(attempt_key);
    }

    /// The payments not linked yet. One whose earlier attempt has an unknown outcome (its
    /// `attempt:payment:` marker is left) is looked up by `transactionRef` first and linked
    /// when found.
    fn unlinked_payments(
        &self,
        payments: Vec<CustomerPayment>,
    ) -> Result<Vec<CustomerPayment>, ApiError> {
        let mut out = Vec::new();
        for p in payments {
            let (link_key, attempt_key) = payment_keys(&p);
            if self.state.get(&link_key).is_some() {
                continue;
            }
            if self.state.get(&attempt_key).is_some()
                && let Some(found) = self.find_payment(&p)?
            {
                self.link(&link_key, &attempt_key, found);
                continue;
            }
            out.push(p);
        }
        Ok(out)
    }

    /// The id of the customer payment with `p`'s `transactionRef` (and payment method, when
    /// the search gives it), via customer-payment-search.
    fn find_payment(&self, p: &CustomerPayment) -> Result<Option<u64>, ApiError> {
        Ok(brightpearl::Client::new(self.api)
            .payments_by_transaction_ref(&p.transaction_ref)?
            .into_iter()
            .find(|m| {
                m.payment_method_code.is_empty()
                    || m.payment_method_code
                        .eq_ignore_ascii_case(&p.payment_method_code)
            })
            .map(|m| m.payment_id))
    }

    /// Brightpearl answered a 4xx (not 401/403) to payment `p`, single POST or multi-message
    /// message. A repeated `transactionRef` is refused (e.g. `ACCC-021` after the state was
    /// lost), so it is looked up by `transactionRef` (customer-payment-search) first: found on
    /// `p`'s sales order (same payment method) → linked, no exception; else rejected, with
    /// the server's error code and message (and the order a found payment belongs to).
    fn after_rejection(&mut self, p: &CustomerPayment, e: ApiError) -> Sent {
        let (link_key, attempt_key) = payment_keys(p);
        self.state.delete(&attempt_key);
        let found = match brightpearl::Client::new(self.api)
            .payments_by_transaction_ref(&p.transaction_ref)
        {
            Ok(found) => found,
            Err(se) => return Sent::Failed(se),
        };
        let same_method = |m: &&brightpearl::PaymentMatch| {
            m.payment_method_code.is_empty()
                || m.payment_method_code
                    .eq_ignore_ascii_case(&p.payment_method_code)
        };
        if let Some(m) = found
            .iter()
            .filter(same_method)
            .find(|m| m.order_id == p.order_id || m.order_id == 0)
        {
            self.link(&link_key, &attempt_key, m.payment_id);
            self.report.log(
                Level::Info,
                &format!(
                    "customer payment {} is already in Brightpearl as payment {} on sales order {}: linked ({e})",
                    p.transaction_ref, m.payment_id, p.order_id
                ),
            );
            return Sent::Linked;
        }
        let elsewhere = match found.iter().find(same_method) {
            Some(m) => format!(
                " (transactionRef {} is payment {} on sales order {})",
                p.transaction_ref, m.payment_id, m.order_id
            ),
            None => String::new(),
        };
        Sent::Rejected(format!("{}: {e}{elsewhere}", p.transaction_ref))
    }

    /// The sales order of `id` is linked: queue its payments for the next multi-message
    /// batch (sent once 10 are queued, and at the end of the run). With none left to post
    /// the order is done now.
    fn enqueue(&mut self, id: u64, payments: Vec<CustomerPayment>) {
        if payments.is_empty() {
            self.state.delete(&format!("{UNPAID_PREFIX}{id}"));
            self.clear(id);
            return;
        }
        self.state
            .set(&format!("{UNPAID_PREFIX}{id}"), &payments.len().to_string());
        self.waiting.insert(
            id,
            Waiting {
                outstanding: payments.len(),
                ..Waiting::default()
            },
        );
        self.queue.extend(
            payments
                .into_iter()
                .map(|payment| Job { order: id, payment }),
        );
        self.flush(false);
    }

    /// Send the queued payments in batches of [`MULTI_MESSAGE_MAX`]: only full batches, or
    /// everything when `all` (the end of the run).
    /// Nothing is sent once the run is stopping (a 401/403).
    fn flush(&mut self, all: bool) {
        while self.abort.is_none()
            && (self.queue.len() >= MULTI_MESSAGE_MAX || (all && !self.queue.is_empty()))
        {
            let n = self.queue.len().min(MULTI_MESSAGE_MAX);
            let batch: Vec<Job> = self.queue.drain(..n).collect();
            let sent = self.send_batch(&batch);
            for (job, outcome) in batch.iter().zip(sent) {
                self.settle(job, outcome);
            }
        }
    }

    /// Post one batch of payments and link each one by its transaction.
    /// - One payment: a plain POST ([`Self::send_single`]).
    /// - Several: `POST /multi-message` (SEQUENTIAL, CONTINUE). Each reply is linked,
    ///   rejected (4xx) or left pending (5xx, undecodable, not processed).
    /// - Unknown outcome of the whole request: each payment is looked up by `transactionRef`;
    ///   the ones not found stay pending with their attempt markers (searched again before
    ///   the next POST).
    /// - The endpoint fails as a whole (400/404/5xx, or the host denies the path): single
    ///   POSTs for this batch (and, after a 404 or a denial, for the rest of the run), after a
    ///   search for each payment when a 5xx may hide a partial commit.
    /// - Throttled, timed out, not sent: every payment stays pending.
    fn send_batch(&mut self, batch: &[Job]) -> Vec<Sent> {
        if batch.len() == 1 || self.multi_message_missing {
            return self.send_singles(batch, false);
        }
        let bp = brightpearl::Client::new(self.api);
        let labels: Vec<String> = batch
            .iter()
            .enumerate()
            .map(|(i, j)| format!("pay-{}-{}", i + 1, j.payment.transaction_ref))
            .collect();
        let messages: Vec<brightpearl::Message> = batch
            .iter()
            .zip(&labels)
            .map(|(j, label)| brightpearl::customer_payment_message(label, &j.payment))
            .collect();
        for j in batch {
            self.state
                .set(&payment_keys(&j.payment).1, "customer-payment");
        }
        match bp.multi_message(&messages) {
            Ok(resp) => batch
                .iter()
                .zip(&labels)
                .map(|(j, label)| {
                    let (link_key, attempt_key) = payment_keys(&j.payment);
                    let what = format!(
                        "POST /accounting-service/customer-payment (multi-message {label})"
                    );
                    match resp.processed.iter().find(|m| &m.label == label) {
                        Some(reply) => match reply.created_id(&what) {
                            Ok(pid) => {
                                self.link(&link_key, &attempt_key, pid);
                                self.counts.payments_posted += 1;
                                Sent::Linked
                            }
                            Err(e) if e.credentials_problem().is_some() => {
                                self.state.delete(&attempt_key);
                                Sent::Failed(e)
                            }
                            Err(e) if !e.is_retryable() && e.status().is_some() => {
                                self.after_rejection(&j.payment, e)
                            }
                            // 5xx/429 in the message, or a 2xx whose id cannot be read: the
                            // marker stays, so the next run searches first.
                            Err(e) => Sent::Failed(e),
                        },
                        None => {
                            let not_run = resp.unprocessed.contains(label);
                            if not_run {
                                self.state.delete(&attempt_key);
                            }
                            Sent::Failed(ApiError::Decode {
                                what,
                                message: if not_run {
                                    "listed in unprocessedMessages".into()
                                } else {
                                    "missing from the multi-message response".into()
                                },
                            })
                        }
                    }
                })
                .collect(),
            Err(e) if e.is_outcome_unknown() => batch
                .iter()
                .map(|j| {
                    let (link_key, attempt_key) = payment_keys(&j.payment);
                    match self.find_payment(&j.payment) {
                        Ok(Some(pid)) => {
                            self.link(&link_key, &attempt_key, pid);
                            self.counts.payments_posted += 1;
                            Sent::Linked
                        }
                        Ok(None) => Sent::Failed(e.clone()),
                        Err(se) => Sent::Failed(se),
                    }
                })
                .collect(),
            Err(e) if matches!(e.status(), Some(400 | 404) | Some(500..)) || is_denied(&e) => {
                let maybe_committed = e.status().is_some_and(|s| s >= 500);
                if e.status() == Some(404) || is_denied(&e) {
                    self.multi_message_missing = true;
                }
                self.report.log(
                    Level::Warn,
                    &format!(
                        "multi-message failed ({e}); posting its {} payments one by one",
                        batch.len()
                    ),
                );
                self.send_singles(batch, maybe_committed)
            }
            Err(e) => batch
                .iter()
                .map(|j| {
                    // Not sent (throttled, timeout, transport, denied) or refused as a whole.
                    self.state.delete(&payment_keys(&j.payment).1);
                    Sent::Failed(e.clone())
                })
                .collect(),
        }
    }

    /// The batch's payments one by one ([`Self::send_single`]), each looked up by
    /// `transactionRef` first when `search_first` (a failed multi-message may have committed
    /// them). After a 401/403 the rest are not sent (they fail with the same error).
    fn send_singles(&mut self, batch: &[Job], search_first: bool) -> Vec<Sent> {
        let mut refused: Option<ApiError> = None;
        let mut out = Vec::with_capacity(batch.len());
        for j in batch {
            if let Some(e) = &refused {
                self.state.delete(&payment_keys(&j.payment).1);
                out.push(Sent::Failed(e.clone()));
                continue;
            }
            let sent = self.send_one(&j.payment, search_first);
            if let Sent::Failed(e) = &sent
                && e.credentials_problem().is_some()
            {
                refused = Some(e.clone());
            }
            out.push(sent);
        }
        out
    }

    fn send_one(&mut self, p: &CustomerPayment, search_first: bool) -> Sent {
        let (link_key, attempt_key) = payment_keys(p);
        if search_first {
            match self.find_payment(p) {
                Ok(Some(pid)) => {
                    self.link(&link_key, &attempt_key, pid);
                    self.counts.payments_posted += 1;
                    return Sent::Linked;
                }
                Ok(None) => {}
                Err(se) => return Sent::Failed(se),
            }
            self.state.delete(&attempt_key);
        }
        self.send_single(p)
    }

    /// One `POST /accounting-service/customer-payment`, with its attempt marker; after an
    /// unknown outcome the payment is looked up by `transactionRef`.
    fn send_single(&mut self, p: &CustomerPayment) -> Sent {
        let bp = brightpearl::Client::new(self.api);
        let (link_key, attempt_key) = payment_keys(p);
        self.state.set(&attempt_key, "customer-payment");
        match bp.create_customer_payment(p) {
            Ok(pid) => {
                self.link(&link_key, &attempt_key, pid);
                self.counts.payments_posted += 1;
                Sent::Linked
            }
            Err(e) if e.is_outcome_unknown() => match self.find_payment(p) {
                Ok(Some(pid)) => {
                    self.link(&link_key, &attempt_key, pid);
                    self.counts.payments_posted += 1;
                    Sent::Linked
                }
                Ok(None) => Sent::Failed(e),
                Err(se) => Sent::Failed(se),
            },
            Err(e) if e.credentials_problem().is_some() => {
                self.state.delete(&attempt_key);
                Sent::Failed(e)
            }
            Err(e) if !e.is_retryable() && e.status().is_some() => self.after_rejection(p, e),
            Err(e) => Sent::Failed(e),
        }
    }

    /// Record how one queued payment ended; when it was its order's last one, the order is
    /// done: pending after a failure, held `payment-rejected` after a rejection, else clear.
    fn settle(&mut self, job: &Job, sent: Sent) {
        let id = job.order;
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        w.outstanding = w.outstanding.saturating_sub(1);
        match sent {
            Sent::Linked => {}
            Sent::Rejected(m) => w.rejected.push(m),
            Sent::Failed(e) => {
                if let Some(message) = e.credentials_problem() {
                    // The run stops; the order keeps its `unpaid:order:` marker.
                    self.abort.get_or_insert(message);
                    return;
                }
                w.failure.get_or_insert(e);
            }
        }
        if w.outstanding > 0 {
            return;
        }
        let w = self.waiting.remove(&id).unwrap_or_default();
        self.state.delete(&format!("{UNPAID_PREFIX}{id}"));
        if let Some(e) = w.failure {
            self.pending(id, &e);
        } else if !w.rejected.is_empty() {
            self.hold(
                id,
                vec![MappingProblem {
                    kind: kinds::PAYMENT_REJECTED,
                    owner: Team::Finance,
                    message: format!(
                        "{}: Brightpearl rejected customer payment {}",
                        order_entity(id),
                        w.rejected.join("; ")
                    ),
                    impact: Decimal::ZERO,
                    currency: String::new(),
                }],
            );
        } else {
            self.clear(id);
        }
    }

    /// The order is done: resolve what it was held or pending for.
    fn clear(&mut self, id: u64) {
        let entity = order_entity(id);
        if let Some(modified) = self.modified.get(&id)
            && !modified.is_empty()
            && self.state.get(&format!("{UNNOTED_PREFIX}{id}")).is_none()
        {
            self.state.set(&format!("{DONE_PREFIX}{id}"), modified);
        }
        if let Some(held) = self
            .state
            .get(&format!("{HELD_PREFIX}{id}"))
            .and_then(|e| serde_json::from_str::<Held>(&e.value).ok())
        {
            for kind in held.kinds {
                self.report.resolve(&kind, &entity);
            }
            self.state.delete(&format!("{HELD_PREFIX}{id}"));
        }
        if self.state.get(&format!("{RETRY_PREFIX}{id}")).is_some() {
            self.report.resolve(kinds::ORDER_POST_FAILED, &entity);
            self.state.delete(&format!("{RETRY_PREFIX}{id}"));
        }
    }

    /// Hold the order: one exception per problem kind; kinds it was held for before that are
    /// gone now are resolved.
    fn hold(&mut self, id: u64, problems: Vec<MappingProblem>) {
        let entity = order_entity(id);
        let key = format!("{HELD_PREFIX}{id}");
        let before = self
            .state
            .get(&key)
            .and_then(|e| serde_json::from_str::<Held>(&e.value).ok())
            .unwrap_or_default();
        let now: Vec<String> = problems.iter().map(|p| p.kind.to_string()).collect();
        for p in problems {
            let impact = (!p.impact.is_zero() && !p.currency.is_empty()).then(|| Money {
                amount: amount_text(p.impact),
                currency: p.currency.clone(),
            });
            self.report.raise(Exception {
                kind: p.kind.into(),
                entity: entity.clone(),
                message: p.message,
                owner: p.owner,
                impact,
                retryable: true,
            });
        }
        for kind in before.kinds.iter().filter(|k| !now.contains(k)) {
            self.report.resolve(kind, &entity);
        }
        self.state.set(
            &key,
            &serde_json::to_string(&Held { kinds: now }).unwrap_or_default(),
        );
        self.state.delete(&format!("{UNPAID_PREFIX}{id}"));
        if self.state.get(&format!("{RETRY_PREFIX}{id}")).is_some() {
            self.report.resolve(kinds::ORDER_POST_FAILED, &entity);
            self.state.delete(&format!("{RETRY_PREFIX}{id}"));
        }
        self.counts.held += 1;
    }

    /// A retryable failure (or one the flow cannot classify): the order stays pending and is
    /// retried on the next run; after `retry_exception_after` runs an `order-post-failed`
    /// exception is raised.
    fn pending(&mut self, id: u64, error: &ApiError) {
        let entity = order_entity(id);
        let key = format!("{RETRY_PREFIX}{id}");
        let mut retry = self
            .state
            .get(&key)
            .and_then(|e| serde_json::from_str::<Retry>(&e.value).ok())
            .unwrap_or_default();
        retry.attempts += 1;
        retry.error = error.to_string();
        self.state
            .set(&key, &serde_json::to_string(&retry).unwrap_or_default());
        self.state.delete(&format!("{UNPAID_PREFIX}{id}"));
        self.report.log(
            Level::Warn,
            &format!("{entity}: pending ({} run(s)): {error}", retry.attempts),
        );
        if retry.attempts >= self.cfg.retry_exception_after {
            self.report.raise(Exception {
                kind: kinds::ORDER_POST_FAILED.into(),
                entity,
                message: format!(
                    "{}: not posted after {} runs; last error: {error}",
                    order_entity(id),
                    retry.attempts
                ),
                owner: Team::Integration,
                impact: None,
                retryable: true,
            });
        }
        self.counts.pending_retry += 1;
    }
}
