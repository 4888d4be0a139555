//! The thin shell of a run: pick up orders (events, sweep, replay, held, pending), fetch,
//! map ([`crate::mapping`]), post once, link, report.
//!
//! State keys (all values are plain strings or small JSON):
//! - `cursor:orders` — ISO 8601 `date_modified` watermark of the scheduled sweep;
//! - `link:order:<bc id>` → Brightpearl sales order id;
//! - `link:payment:<transactionRef>` → Brightpearl customer payment id;
//! - `attempt:order:<bc id>`, `attempt:payment:<ref>` — a write was sent and its link is
//!   not stored yet: search by `externalRef` / `transactionRef` before writing again;
//! - `held:order:<bc id>` → `{"kinds":[..]}` — held with open exceptions, retried every run;
//! - `retry:order:<bc id>` → `{"attempts":n,"error":".."}` — a retryable failure, retried
//!   every run;
//! - `product:sku:<sku>` → Brightpearl product id;
//! - `contact:email:<email>` → `{"id":..,"priceListId":..}`.

use std::collections::BTreeMap;

use pearlbridge_sdk::bigcommerce::{self, Order, OrderBundle};
use pearlbridge_sdk::brightpearl::{
    self, Communication, ContactCreate, ContactEmail, FinancialDetails, MarketingDetails, Organisation, PostAddressIds,
    RelationshipToAccount,
};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::types::{Exception, FlowError, Level, Money, RunSummary, Team, Trigger};
use pearlbridge_sdk::{Api, ApiError, Report, State, money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::OrdersConfig;
use crate::mapping::{self, Lookups, MappedOrder, MappingProblem, kinds, order_entity};

const HELD_PREFIX: &str = "held:order:";
const RETRY_PREFIX: &str = "retry:order:";
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

struct Run<'a> {
    api: &'a dyn Api,
    state: &'a dyn State,
    report: &'a dyn Report,
    cfg: &'a OrdersConfig,
    counts: Counts,
    notes: Vec<String>,
}

/// Do the work for one trigger. Per-order problems become exceptions and counters; only an
/// unusable sweep (the order list cannot be read) fails the run.
pub fn run(trigger: &Trigger, cfg: &OrdersConfig, api: &dyn Api, state: &dyn State, report: &dyn Report) -> Result<RunSummary, FlowError> {
    let mut r = Run {
        api,
        state,
        report,
        cfg,
        counts: Counts::default(),
        notes: vec![],
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
                        &format!("event {} has a non-numeric entity id {:?}", e.scope, e.entity_id),
                    ),
                }
            }
        }
        Trigger::Replay(refs) => {
            for reference in refs {
                match reference.strip_prefix("bigcommerce:order:").and_then(|id| id.parse::<u64>().ok()) {
                    Some(id) => {
                        candidates.insert(id, None);
                    }
                    None => report.log(
                        Level::Warn,
                        &format!("replay: {reference:?} is not a bigcommerce:order:<id> reference"),
                    ),
                }
            }
        }
        Trigger::Scheduled => {
            let (orders, cursor) = r.sweep().map_err(|e| FlowError::Upstream(e.to_string()))?;
            for o in orders {
                candidates.insert(o.id, Some(o));
            }
            new_cursor = cursor;
        }
    }
    // Orders held or pending from earlier runs are retried on every run.
    for prefix in [HELD_PREFIX, RETRY_PREFIX] {
        for (key, _) in state.list(prefix, MAX_LISTED) {
            if let Ok(id) = key[prefix.len()..].parse::<u64>() {
                candidates.entry(id).or_insert(None);
            }
        }
    }
    let total = candidates.len() as u64;
    for (done, (id, prefetched)) in candidates.into_iter().enumerate() {
        r.process(id, prefetched);
        report.progress(done as u64 + 1, Some(total));
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
        ],
        notes: r.notes,
    })
}

fn amount_text(d: Decimal) -> String {
    let scale = d.normalize().scale();
    money::format(d, scale.clamp(2, 4))
}

impl Run<'_> {
    /// The scheduled sweep: orders modified since the cursor minus the overlap, sorted
    /// `date_modified:asc`, pages of 250, deduplicated by id; and the next cursor.
    fn sweep(&self) -> Result<(Vec<Order>, Option<String>), ApiError> {
        let bc = bigcommerce::Client::new(self.api);
        let cursor = match self.state.get(CURSOR_KEY).and_then(|e| Timestamp::parse_iso8601(&e.value).ok()) {
            Some(t) => t,
            None => Timestamp(bc.time()?).plus_seconds(-self.cfg.sweep.initial_lookback_hours * 3600),
        };
        let from = cursor.plus_seconds(-self.cfg.sweep.overlap_minutes * 60);
        let listed = bc.orders_modified_since(&from.to_rfc2822(), bigcommerce::V2_MAX_LIMIT, self.cfg.sweep.max_pages)?;
        let mut latest = cursor;
        let mut by_id: BTreeMap<u64, Order> = BTreeMap::new();
        for o in listed {
            if let Ok(t) = Timestamp::parse_rfc2822(&o.date_modified) {
                latest = latest.max(t);
            }
            by_id.insert(o.id, o); // sorted ascending: the last copy is the newest
        }
        Ok((by_id.into_values().collect(), Some(latest.to_iso8601())))
    }

    fn process(&mut self, id: u64, prefetched: Option<Order>) {
        match self.process_inner(id, prefetched) {
            Ok(()) => {}
            Err(Stop::Hold(problems)) => self.hold(id, problems),
            Err(Stop::Api(e)) => self.pending(id, &e),
        }
    }

    fn process_inner(&mut self, id: u64, prefetched: Option<Order>) -> Result<(), Stop> {
        let bc = bigcommerce::Client::new(self.api);
        let order = match prefetched {
            Some(o) => o,
            None => match bc.order(id)? {
                Some(o) => o,
                None => {
                    self.report
                        .log(Level::Warn, &format!("{}: not found in BigCommerce", order_entity(id)));
                    self.state.delete(&format!("{RETRY_PREFIX}{id}"));
                    return Ok(());
                }
            },
        };
        if let Some(link) = self.state.get(&format!("link:order:{id}")) {
            let so_id: u64 = link.value.parse().unwrap_or(0);
            self.counts.already_posted += 1;
            let transactions = bc.order_transactions(id)?;
            let payments = mapping::map_payments(&order, &transactions, self.cfg).map_err(|msgs| {
                Stop::Hold(
                    msgs.into_iter()
                        .map(|m| MappingProblem {
                            kind: kinds::UNMAPPED_PAYMENT_METHOD,
                            owner: Team::Finance,
                            message: format!("{}: {m}", order_entity(id)),
                            impact: order.total_inc_tax.parse().unwrap_or_default(),
                            currency: mapping::order_currency(&order).0,
                        })
                        .collect(),
                )
            })?;
            let payments = payments.into_iter().map(|mut p| {
                p.order_id = so_id;
                p
            });
            self.post_payments(id, payments.collect())?;
            self.clear(id);
            return Ok(());
        }
        if !self.cfg.statuses.contains(&order.status_id) {
            self.counts.skipped_status += 1;
            return Ok(());
        }
        let bundle = bc.bundle_for(order)?;
        let products = self.products(&bundle)?;
        let mut lookups = Lookups { products, contact_id: 0 };
        // Every problem first (none depends on the contact), so nothing is created in
        // Brightpearl for an order that is held.
        let first = mapping::map_order(&bundle, self.cfg, &lookups).map_err(Stop::Hold)?;
        lookups.contact_id = self.contact(&bundle, first.price_list_id)?;
        let mapped = mapping::map_order(&bundle, self.cfg, &lookups).map_err(Stop::Hold)?;
        let so_id = self.post_sales_order(id, &mapped)?;
        if let Some(diff) = mapped.rounding {
            self.counts.rounding_rows += 1;
            self.notes.push(format!(
                "{}: rounding row of {} {} added to sales order {so_id} (rows {} + rounding = total_inc_tax {})",
                order_entity(id),
                amount_text(diff),
                mapped.sales_order.currency.code,
                amount_text(mapped.total - diff),
                amount_text(mapped.total)
            ));
        }
        self.post_payments(id, mapped.payments_for(so_id))?;
        self.clear(id);
        Ok(())
    }

    /// Product ids of the order's SKUs: from the cache, else one product search per SKU
    /// (cached when found; a missing SKU is searched again on the next run).
    fn products(&self, bundle: &OrderBundle) -> Result<BTreeMap<String, u64>, ApiError> {
        let bp = brightpearl::Client::new(self.api);
        let mut out = BTreeMap::new();
        for sku in mapping::order_skus(bundle) {
            let key = format!("product:sku:{sku}");
            if let Some(id) = self.state.get(&key).and_then(|e| e.value.parse::<u64>().ok()) {
                out.insert(sku, id);
                continue;
            }
            if let Some(id) = bp.products_by_sku(&sku)?.first() {
                self.state.set(&key, &id.to_string());
                out.insert(sku, *id);
            }
        }
        Ok(out)
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
                            Some(_) => bp.contact(m.contact_id)?.and_then(|c| c.financial_details.price_list_id),
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
                self.state.set(&key, &serde_json::to_string(&c).unwrap_or_default());
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

    fn create_contact(&self, bundle: &OrderBundle, price_list: Option<u64>) -> Result<u64, ApiError> {
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
            let mut p = mapping::postal_address(&a.address());
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
            financial_details: price_list.map(|id| FinancialDetails { price_list_id: Some(id) }),
        };
        bp.create_contact(&contact)
    }

    /// Post the sales order once: after an attempt whose outcome is unknown (or a crash
    /// between POST and link), search by `externalRef` first; a normal first POST never
    /// searches.
    fn post_sales_order(&mut self, id: u64, mapped: &MappedOrder) -> Result<u64, Stop> {
        let bp = brightpearl::Client::new(self.api);
        let link_key = format!("link:order:{id}");
        let attempt_key = format!("attempt:order:{id}");
        let external_ref = &mapped.sales_order.external_ref;
        if self.state.get(&attempt_key).is_some()
            && let Some(existing) = bp.sales_orders_by_external_ref(external_ref)?.first().copied()
        {
            self.link(&link_key, &attempt_key, existing);
            self.counts.already_posted += 1;
            return Ok(existing);
        }
        self.state.set(&attempt_key, "sales-order");
        match bp.create_sales_order(&mapped.sales_order) {
            Ok(so_id) => {
                self.link(&link_key, &attempt_key, so_id);
                self.counts.posted += 1;
                Ok(so_id)
            }
            Err(e) if e.is_outcome_unknown() => match bp.sales_orders_by_external_ref(external_ref)?.first().copied() {
                Some(existing) => {
                    self.link(&link_key, &attempt_key, existing);
                    self.counts.posted += 1;
                    Ok(existing)
                }
                None => Err(Stop::Api(e)),
            },
            Err(e) if !e.is_retryable() && e.status().is_some() => {
                // Rejected: nothing was created.
                self.state.delete(&attempt_key);
                Err(Stop::Hold(vec![MappingProblem {
                    kind: kinds::ORDER_REJECTED,
                    owner: Team::Integration,
                    message: format!("{}: Brightpearl rejected the sales order: {e}", order_entity(id)),
                    impact: mapped.total,
                    currency: mapped.sales_order.currency.code.clone(),
                }]))
            }
            Err(e) => Err(Stop::Api(e)),
        }
    }

    fn link(&self, link_key: &str, attempt_key: &str, id: u64) {
        self.state.set(link_key, &id.to_string());
        self.state.delete(attempt_key);
    }

    /// Post each payment not linked yet: one per `transactionRef`, searched first after an
    /// unknown outcome.
    fn post_payments(&mut self, id: u64, payments: Vec<brightpearl::CustomerPayment>) -> Result<(), Stop> {
        let bp = brightpearl::Client::new(self.api);
        let mut rejected = Vec::new();
        for p in payments {
            let link_key = format!("link:payment:{}", p.transaction_ref);
            let attempt_key = format!("attempt:payment:{}", p.transaction_ref);
            if self.state.get(&link_key).is_some() {
                continue;
            }
            if self.state.get(&attempt_key).is_some()
                && let Some(found) = bp
                    .payments_by_transaction_ref(&p.transaction_ref)?
                    .into_iter()
                    .find(|m| m.payment_method_code.is_empty() || m.payment_method_code.eq_ignore_ascii_case(&p.payment_method_code))
            {
                self.link(&link_key, &attempt_key, found.payment_id);
                continue;
            }
            self.state.set(&attempt_key, "customer-payment");
            match bp.create_customer_payment(&p) {
                Ok(pid) => {
                    self.link(&link_key, &attempt_key, pid);
                    self.counts.payments_posted += 1;
                }
                Err(e) if e.is_outcome_unknown() => match bp.payments_by_transaction_ref(&p.transaction_ref)?.first() {
                    Some(found) => {
                        self.link(&link_key, &attempt_key, found.payment_id);
                        self.counts.payments_posted += 1;
                    }
                    None => return Err(Stop::Api(e)),
                },
                Err(e) if !e.is_retryable() && e.status().is_some() => {
                    self.state.delete(&attempt_key);
                    rejected.push(format!("{}: {e}", p.transaction_ref));
                }
                Err(e) => return Err(Stop::Api(e)),
            }
        }
        if rejected.is_empty() {
            Ok(())
        } else {
            Err(Stop::Hold(vec![MappingProblem {
                kind: kinds::PAYMENT_REJECTED,
                owner: Team::Finance,
                message: format!(
                    "{}: Brightpearl rejected customer payment {}",
                    order_entity(id),
                    rejected.join("; ")
                ),
                impact: Decimal::ZERO,
                currency: String::new(),
            }]))
        }
    }

    /// The order is done: resolve what it was held or pending for.
    fn clear(&mut self, id: u64) {
        let entity = order_entity(id);
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
        self.state
            .set(&key, &serde_json::to_string(&Held { kinds: now }).unwrap_or_default());
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
        self.state.set(&key, &serde_json::to_string(&retry).unwrap_or_default());
        self.report
            .log(Level::Warn, &format!("{entity}: pending ({} run(s)): {error}", retry.attempts));
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
