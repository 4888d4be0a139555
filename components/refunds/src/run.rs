//! The refunds-specific part of a run on the SDK's flow engine ([`pearlbridge_sdk::engine`]):
//! how refunds are swept and fetched, how the Brightpearl sales order they credit is found
//! (by the orders flow's `externalRef` = the BigCommerce order id), mapped
//! ([`crate::mapping`]), posted (sales credit, then its refund payments through the SDK's
//! [`PaymentPoster`]) and found again by external reference. Candidates, the cursor, the
//! write-once protocol, holds, retries and stopping on bad credentials are the engine's.
//!
//! One refund, in order:
//! 1. the refund (swept, or `GET /v3/orders/payment_actions/refunds/{id}`); a refund done and
//!    seen again by the sweep costs nothing more (refunds do not change);
//! 2. the sales order of its order: cached, else `order-search?orderTypeId=1&externalRef=`;
//!    none → held `refund-order-not-posted`, naming the order (impact: the refund total);
//! 3. the sales order (`GET /order-service/order/{id}`), the credit and payments mapped: any
//!    problem holds the refund before anything is written;
//! 4. not invoiced: `not_invoiced = "invoice-parent"` closes it first
//!    (`POST /order-service/sales-order/{id}/close`); `"hold"` waits (retried every run) and
//!    raises `credit-blocked-not-invoiced` once it waited `blocked_exception_after_minutes`;
//! 5. the sales credit, once ([`Cx::write_once`], found by `externalRef` `bc-refund-<id>`
//!    through `order-search?orderTypeId=3`); a rejection holds it `credit-rejected`;
//! 6. one customer payment of type PAYMENT per refund payment, queued for a multi-message
//!    batch, each once by `transactionRef` `bc-refund-<refund id>-<payment id>`.
//!
//! State keys:
//! - `cursor:refunds` — ISO 8601: the newest refund `created` the sweep has seen;
//! - `link:refund:<id>` → sales credit id; `attempt:refund:<id>` while its POST is out;
//! - `link:payment:<transactionRef>` / `attempt:payment:<transactionRef>` — the poster's;
//! - `parent:order:<bc order id>` → the Brightpearl sales order id (cache);
//! - `blocked:refund:<id>` → ISO 8601 time the credit was first found blocked by an
//!   un-invoiced sales order (`not_invoiced = "hold"`); retried every run while present;
//! - `unpaid:refund:<id>` — the credit is linked and its payments are queued;
//! - `held:`, `retry:`, `done:refund:<id>` — the engine's.

use std::collections::BTreeMap;

use pearlbridge_sdk::bigcommerce::{self, Refund};
use pearlbridge_sdk::brightpearl::{self, CustomerPayment, OrderRecord};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{
    self, Cx, Flow, Impact, Key, Mark, Outcome, Problem, Settings, Stop, Sweep, SweepSettings,
    Swept, Written, amount_text, is_rejection,
};
use pearlbridge_sdk::payments::{PaymentPoster, Sent, Settled};
use pearlbridge_sdk::types::{Event, FlowError, Level, RunSummary, System, Team, Trigger};
use pearlbridge_sdk::{Api, ApiError, Report, State};
use rust_decimal::Decimal;

use crate::config::{NotInvoiced, RefundsConfig};
use crate::mapping::{self, RefundProblem, kinds, refund_entity};

/// The BigCommerce webhook scope of a new refund.
pub const REFUND_EVENT: &str = "store/order/refund/created";

/// Refund payments queued for a multi-message batch.
const UNPAID: Mark = Mark::Open("unpaid");
/// The credit waits for its sales order's invoice (`not_invoiced = "hold"`).
const BLOCKED: Mark = Mark::Open("blocked");
/// The Brightpearl sales order of a BigCommerce order (`parent:order:<id>`).
const PARENT: Mark = Mark::Cache("parent");

/// The run summary's counters (WIT `run-summary.counts`), in order. `payments_posted` counts
/// the refund payments (customer payments of type PAYMENT) posted.
pub const COUNTERS: &[&str] = &[
    "credits_created",
    "already_credited",
    "payments_posted",
    "held",
    "pending_retry",
    "parents_invoiced",
    "blocked_not_invoiced",
    "difference_rows",
    "restocked",
    "restocks_rejected",
];

impl From<RefundProblem> for Problem {
    fn from(p: RefundProblem) -> Self {
        Problem {
            kind: p.kind,
            owner: p.owner,
            message: p.message,
            impact: Some(Impact::new(p.impact, p.currency)),
        }
    }
}

/// A refund whose payments are queued: how many are still out, and how the others ended.
#[derive(Default)]
struct Waiting {
    outstanding: usize,
    rejected: Vec<String>,
    rejected_amount: Decimal,
    currency: String,
    failure: Option<ApiError>,
}

/// The refunds flow on the engine: its configuration and what one run has queued.
pub struct Refunds<'c> {
    cfg: &'c RefundsConfig,
    payments: PaymentPoster,
    waiting: BTreeMap<u64, Waiting>,
}

impl<'c> Refunds<'c> {
    pub fn new(cfg: &'c RefundsConfig) -> Self {
        Refunds {
            cfg,
            payments: PaymentPoster::new(),
            waiting: BTreeMap::new(),
        }
    }
}

/// Do the work for one trigger; `now` is the time in unix seconds (UTC). The engine's
/// [`engine::run`] says when the run fails (a bad replay reference, an unreadable sweep,
/// 401/403 from either system).
pub fn run_at(
    trigger: &Trigger,
    cfg: &RefundsConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    now: i64,
) -> Result<RunSummary, FlowError> {
    engine::run(
        &mut Refunds::new(cfg),
        trigger,
        api,
        state,
        report,
        Timestamp(now),
    )
}

/// The refund id of a `store/order/refund/created` callback: `data.refund.refund_id`
/// (bigcommerce-api.md §10: "`refund/created` adds `data.refund{refund_id}`"); the event's
/// own entity id is the order's.
pub fn refund_id_of(payload: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let id = v
        .pointer("/data/refund/refund_id")
        .or_else(|| v.pointer("/refund/refund_id"))?;
    match id {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

impl Flow for Refunds<'_> {
    type Id = u64;
    type Item = Refund;

    fn settings(&self) -> Settings {
        Settings {
            name: "refunds",
            system: System::Bigcommerce,
            kind: "refund",
            plural: "refunds",
            open_marks: &["unpaid", "blocked"],
            retry_kind: kinds::REFUND_POST_FAILED,
            retry_owner: Team::Integration,
            retry_exception_after: self.cfg.retry_exception_after,
            sweep: Some(Sweep::Since(SweepSettings {
                overlap_minutes: self.cfg.sweep.overlap_minutes,
                initial_lookback_hours: self.cfg.sweep.initial_lookback_hours,
            })),
            counters: COUNTERS,
        }
    }

    /// `store/order/refund/created`: the refund id from the payload (an event without one is
    /// left to the sweep).
    fn event_id(&self, e: &Event) -> Option<String> {
        (e.scope == REFUND_EVENT)
            .then(|| refund_id_of(&e.payload))
            .flatten()
    }

    /// The store's clock (`GET /v2/time`).
    fn clock(&mut self, cx: &mut Cx) -> Result<Timestamp, ApiError> {
        Ok(Timestamp(bigcommerce::Client::new(cx.api).time()?))
    }

    /// Refunds created since `from`, ascending by id, pages of 250, at most
    /// `sweep.max_pages`.
    fn sweep(&mut self, cx: &mut Cx, from: Timestamp) -> Result<Vec<Swept<u64, Refund>>, ApiError> {
        let listed = bigcommerce::Client::new(cx.api)
            .refunds_created_since(&from.to_iso8601(), self.cfg.sweep.max_pages)?;
        Ok(listed
            .into_iter()
            .map(|r| Swept {
                id: r.id,
                modified: Timestamp::parse_iso8601(&r.created).ok(),
                item: r,
            })
            .collect())
    }

    fn process(&mut self, cx: &mut Cx, id: &u64, refund: Option<Refund>) -> Result<Outcome, Stop> {
        let result = self.process_refund(cx, *id, refund);
        let key = cx.key(id);
        match &result {
            Err(Stop::Hold(_)) => cx.clear_mark(&key, UNPAID),
            Err(Stop::Api(e)) if e.credentials_problem().is_none() => cx.clear_mark(&key, UNPAID),
            _ => {}
        }
        result
    }

    fn finish(&mut self, cx: &mut Cx) {
        self.flush(cx, true);
    }
}

impl Refunds<'_> {
    fn process_refund(
        &mut self,
        cx: &mut Cx,
        id: u64,
        prefetched: Option<Refund>,
    ) -> Result<Outcome, Stop> {
        let key = cx.key(id);
        let entity = refund_entity(id);
        let swept = prefetched.is_some();
        let refund = match prefetched {
            Some(r) => r,
            None => match bigcommerce::Client::new(cx.api).refund(id)? {
                Some(r) => r,
                None => {
                    cx.log(Level::Warn, &format!("{entity}: not found in BigCommerce"));
                    cx.clear_mark(&key, Mark::Retry);
                    return Ok(Outcome::Unchanged);
                }
            },
        };
        // Refunds never change: one done and swept again costs nothing.
        cx.seen(&key, &refund.created);
        if swept && cx.unchanged_since_done(&key, &refund.created) {
            return Ok(Outcome::Unchanged);
        }
        let Some(parent) = self.parent(cx, &refund)? else {
            return Err(self.not_posted(cx, &refund));
        };
        let currency = mapping::credit_currency(&parent);
        cx.at_stake(
            &key,
            Impact::new(mapping::money_total(&refund), currency.clone()),
        );
        for p in refund.payments.iter().filter(|p| p.is_declined) {
            cx.raise(
                kinds::REFUND_PAYMENT_DECLINED,
                &entity,
                Team::Finance,
                format!(
                    "{entity}: BigCommerce declined refund payment {} of {} {currency} to {:?} ({}); no customer payment is posted for it, refund the customer another way",
                    p.id,
                    amount_text(p.amount),
                    p.provider_id,
                    p.declined_message
                ),
                Some(&Impact::new(p.amount, currency.clone())),
                false,
            );
        }
        // Every problem first, so nothing is written for a refund that is held.
        let stake = cx.stake(&key);
        let unmapped = |msgs: Vec<String>| {
            Stop::Hold(vec![Problem {
                kind: kinds::UNMAPPED_REFUND_METHOD,
                owner: Team::Finance,
                message: format!("{entity}: {}", msgs.join("; ")),
                impact: stake.clone(),
            }])
        };
        let credit_id = match cx.linked(&key)? {
            Some(credit_id) => {
                cx.count("already_credited");
                credit_id
            }
            None => {
                let mapped = mapping::map_refund(&refund, &parent, self.cfg)
                    .map_err(|ps| Stop::Hold(ps.into_iter().map(Problem::from).collect()))?;
                mapping::map_payments(&refund, &parent, 0, self.cfg).map_err(unmapped)?;
                if !parent.is_invoiced() && !cx.has_attempt(&key) {
                    match self.cfg.not_invoiced {
                        NotInvoiced::InvoiceParent => self.invoice_parent(cx, &refund, &parent)?,
                        NotInvoiced::Hold => return self.blocked(cx, &refund, &parent),
                    }
                }
                let written = self.post_credit(cx, &refund, &mapped)?;
                if let Some(diff) = mapped.difference.filter(|_| written.by_this_run()) {
                    cx.count("difference_rows");
                    cx.note(format!(
                        "{entity}: difference row of {} {currency} added to sales credit {} (rows {} + difference = refund total {})",
                        amount_text(diff),
                        written.id(),
                        amount_text(mapped.total - diff),
                        amount_text(mapped.total)
                    ));
                }
                written.id()
            }
        };
        cx.clear_mark(&key, BLOCKED);
        if self.cfg.restock {
            self.restock(cx, &refund, &parent, credit_id)?;
        }
        let payments =
            mapping::map_payments(&refund, &parent, credit_id, self.cfg).map_err(unmapped)?;
        let payments = self.payments.unlinked(cx, payments)?;
        Ok(self.enqueue(cx, id, payments))
    }

    /// The Brightpearl sales order of the refund's BigCommerce order: the cached id, else the
    /// sales order whose `externalRef` is the order id (lowest id), read with
    /// `GET /order-service/order/{id}`. `None` when there is none (the order was never
    /// posted), or the cached one is gone.
    fn parent(&self, cx: &Cx, refund: &Refund) -> Result<Option<OrderRecord>, ApiError> {
        let bp = brightpearl::Client::new(cx.api);
        let order_key = Key::new(System::Bigcommerce, "order", refund.order_id);
        let cached = cx
            .mark(&order_key, PARENT)
            .and_then(|v| v.trim().parse::<u64>().ok());
        let so_id = match cached {
            Some(id) => id,
            None => match bp
                .sales_orders_by_external_ref(&refund.order_id.to_string())?
                .first()
            {
                Some(id) => {
                    cx.set_mark(&order_key, PARENT, &id.to_string());
                    *id
                }
                None => return Ok(None),
            },
        };
        match bp.order(so_id)? {
            Some(o) => Ok(Some(o)),
            None => {
                cx.clear_mark(&order_key, PARENT);
                Ok(None)
            }
        }
    }

    /// The hold of a refund whose order has no sales order, naming the order; the impact is
    /// the refund total in the BigCommerce order's currency (one `GET /v2/orders/{id}`).
    fn not_posted(&self, cx: &mut Cx, refund: &Refund) -> Stop {
        let key = cx.key(refund.id);
        let currency = match bigcommerce::Client::new(cx.api).order(refund.order_id) {
            Ok(Some(o)) if !o.default_currency_code.trim().is_empty() => o.default_currency_code,
            Ok(Some(o)) => o.currency_code,
            Ok(None) | Err(_) => cx.stake(&key).map(|i| i.currency).unwrap_or_default(),
        };
        let total = mapping::money_total(refund);
        Stop::Hold(vec![Problem {
            kind: kinds::REFUND_ORDER_NOT_POSTED,
            owner: Team::Integration,
            message: format!(
                "{}: BigCommerce order {} has no Brightpearl sales order (the orders flow holds it, or its status is not posted); the refund of {} {currency} is credited once the order is posted",
                refund_entity(refund.id),
                refund.order_id,
                amount_text(total)
            ),
            impact: Some(Impact::new(total, currency)),
        }])
    }

    /// `not_invoiced = "invoice-parent"`: invoice (close) the sales order. After an unknown
    /// outcome or a refusal the order is read again: invoiced by now → go on. A refusal of an
    /// order still not invoiced holds the refund `parent-invoice-rejected`.
    fn invoice_parent(
        &self,
        cx: &mut Cx,
        refund: &Refund,
        parent: &OrderRecord,
    ) -> Result<(), Stop> {
        let bp = brightpearl::Client::new(cx.api);
        let entity = refund_entity(refund.id);
        match bp.close_sales_order(parent.id) {
            Ok(()) => {
                cx.count("parents_invoiced");
                cx.note(format!(
                    "{entity}: sales order {} was not invoiced: invoiced (closed) before its credit",
                    parent.id
                ));
                Ok(())
            }
            Err(e) if e.credentials_problem().is_some() => Err(Stop::Api(e)),
            Err(e) if e.is_outcome_unknown() || is_rejection(&e) => {
                let now_invoiced = bp.order(parent.id)?.is_some_and(|o| o.is_invoiced());
                if now_invoiced {
                    return Ok(());
                }
                if e.is_outcome_unknown() {
                    return Err(Stop::Api(e));
                }
                Err(Stop::Hold(vec![Problem {
                    kind: kinds::PARENT_INVOICE_REJECTED,
                    owner: Team::Finance,
                    message: format!(
                        "{entity}: Brightpearl refused to invoice sales order {} before its credit: {e}",
                        parent.id
                    ),
                    impact: cx.stake(&cx.key(refund.id)),
                }]))
            }
            Err(e) => Err(Stop::Api(e)),
        }
    }

    /// `not_invoiced = "hold"`: the credit waits for the sales order's invoice, retried every
    /// run (`blocked:refund:<id>` holds when it was first blocked). Once it has waited
    /// `blocked_exception_after_minutes` it is held `credit-blocked-not-invoiced` (owner
    /// finance, impact the refund total).
    fn blocked(&self, cx: &mut Cx, refund: &Refund, parent: &OrderRecord) -> Result<Outcome, Stop> {
        let key = cx.key(refund.id);
        cx.count("blocked_not_invoiced");
        let since = match cx
            .mark(&key, BLOCKED)
            .and_then(|v| Timestamp::parse_iso8601(&v).ok())
        {
            Some(t) => t,
            None => {
                cx.set_mark(&key, BLOCKED, &cx.now.to_iso8601());
                cx.now
            }
        };
        let waited_minutes = (cx.now.0 - since.0) / 60;
        let entity = refund_entity(refund.id);
        if waited_minutes >= self.cfg.blocked_exception_after_minutes {
            return Err(Stop::Hold(vec![Problem {
                kind: kinds::CREDIT_BLOCKED_NOT_INVOICED,
                owner: Team::Finance,
                message: format!(
                    "{entity}: Brightpearl sales order {} (BigCommerce order {}) is not invoiced, so its sales credit cannot be posted; blocked since {} ({waited_minutes} minutes); invoice the sales order and the credit posts on the next run",
                    parent.id,
                    refund.order_id,
                    since.to_iso8601()
                ),
                impact: cx.stake(&key),
            }]));
        }
        // Held before because its order was not posted: that is over now.
        cx.report.resolve(kinds::REFUND_ORDER_NOT_POSTED, &entity);
        cx.log(
            Level::Info,
            &format!(
                "{entity}: waiting for sales order {} to be invoiced ({waited_minutes} of {} minutes)",
                parent.id, self.cfg.blocked_exception_after_minutes
            ),
        );
        Ok(Outcome::Unchanged)
    }

    /// Post the sales credit once ([`Cx::write_once`], found by `externalRef`). A rejection
    /// (4xx) holds the refund `credit-rejected` with the refund total.
    fn post_credit(
        &self,
        cx: &mut Cx,
        refund: &Refund,
        mapped: &mapping::MappedCredit,
    ) -> Result<Written, Stop> {
        let bp = brightpearl::Client::new(cx.api);
        let external_ref = &mapped.credit.external_ref;
        let key = cx.key(refund.id);
        let written = cx.write_once(
            &key,
            "sales-credit",
            false,
            || {
                Ok(bp
                    .sales_credits_by_external_ref(external_ref)?
                    .first()
                    .copied())
            },
            || bp.create_sales_credit(&mapped.credit),
        );
        match written {
            Ok(w) => {
                cx.count(if w.by_this_run() {
                    "credits_created"
                } else {
                    "already_credited"
                });
                Ok(w)
            }
            Err(Stop::Api(e)) if is_rejection(&e) => Err(Stop::Hold(vec![Problem {
                kind: kinds::CREDIT_REJECTED,
                owner: Team::Integration,
                message: format!(
                    "{}: Brightpearl rejected the sales credit for sales order {}: {e}",
                    refund_entity(refund.id),
                    mapped.credit.parent_id
                ),
                impact: Some(Impact::new(
                    mapped.total,
                    mapped.credit.currency.code.clone(),
                )),
            }])),
            Err(e) => Err(e),
        }
    }

    /// `restock = true`: return the credited units to stock once, with a goods-in note against
    /// the sales credit ([`mapping::goods_in_note`]; [`Cx::write_once`] under
    /// `link:restock:<refund id>`, found again by its `userBatchReference` among the credit's
    /// goods-in notes). A rejection, or a credit that cannot be received, raises
    /// `restock-rejected` (owner operations, impact the units at cost) and the refund payments
    /// still post; any other failure is retried with the refund.
    fn restock(
        &self,
        cx: &mut Cx,
        refund: &Refund,
        parent: &OrderRecord,
        credit_id: u64,
    ) -> Result<(), Stop> {
        let key = Key::new(System::Brightpearl, "restock", refund.id);
        if cx.linked(&key)?.is_some() {
            return Ok(());
        }
        let entity = refund_entity(refund.id);
        let bp = brightpearl::Client::new(cx.api);
        let Some(credit) = bp.order(credit_id)? else {
            return Err(Stop::Api(ApiError::Decode {
                what: format!("GET /order-service/order/{credit_id}"),
                message: format!("{entity}: sales credit {credit_id} not found to restock"),
            }));
        };
        let products: Vec<u64> = credit
            .order_rows
            .values()
            .map(|r| r.product_id)
            .filter(|p| *p > 0)
            .collect();
        if products.is_empty() {
            return Ok(());
        }
        let locations = bp.default_locations(credit.warehouse_id, &products)?;
        let rejected = |cx: &mut Cx, message: String, at_cost: Decimal, currency: String| {
            cx.count("restocks_rejected");
            cx.raise(
                kinds::RESTOCK_REJECTED,
                &entity,
                Team::Operations,
                message,
                Some(&Impact::new(at_cost, currency)),
                false,
            );
        };
        let note =
            match mapping::goods_in_note(refund.id, &refund.created, &credit, parent, &locations) {
                Ok(Some(note)) => note,
                Ok(None) => return Ok(()),
                Err(message) => {
                    rejected(cx, message, Decimal::ZERO, mapping::credit_currency(parent));
                    return Ok(());
                }
            };
        let at_cost: Decimal = note
            .goods_moved
            .iter()
            .map(|m| m.product_value.value * Decimal::from(m.quantity))
            .sum();
        let currency = note
            .goods_moved
            .first()
            .map(|m| m.product_value.currency.clone())
            .unwrap_or_default();
        let reference = note.user_batch_reference.clone();
        let written = cx.write_once(
            &key,
            "goods-in-note",
            false,
            || {
                Ok(bp
                    .goods_in_notes(credit_id)?
                    .into_iter()
                    .find(|n| n.user_batch_reference == reference)
                    .map(|n| n.goods_note_id))
            },
            || bp.create_goods_in_note(credit_id, &note),
        );
        match written {
            Ok(w) => {
                if w.by_this_run() {
                    cx.count("restocked");
                }
                cx.report.resolve(kinds::RESTOCK_REJECTED, &entity);
                Ok(())
            }
            Err(Stop::Api(e)) if is_rejection(&e) => {
                let units: u64 = note.goods_moved.iter().map(|m| m.quantity).sum();
                rejected(
                    cx,
                    format!(
                        "{entity}: Brightpearl rejected the goods-in note returning {units} units of sales credit {credit_id} to warehouse {}: {e}",
                        note.warehouse_id
                    ),
                    at_cost,
                    currency,
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The credit of `id` is linked: queue its refund payments (sent once 10 are queued, and at
    /// the end of the run). With none left to post the refund is done now.
    fn enqueue(&mut self, cx: &mut Cx, id: u64, payments: Vec<CustomerPayment>) -> Outcome {
        let key = cx.key(id);
        if payments.is_empty() {
            cx.clear_mark(&key, UNPAID);
            return Outcome::Clear;
        }
        cx.set_mark(&key, UNPAID, &payments.len().to_string());
        let currency = payments
            .first()
            .map(|p| p.currency_iso_code.clone())
            .unwrap_or_default();
        self.waiting.insert(
            id,
            Waiting {
                outstanding: payments.len(),
                currency,
                ..Waiting::default()
            },
        );
        self.payments.queue(id, payments);
        self.flush(cx, false);
        Outcome::Deferred
    }

    fn flush(&mut self, cx: &mut Cx, all: bool) {
        for settled in self.payments.flush(cx, all) {
            self.settle(cx, settled);
        }
    }

    /// Record how one queued payment ended; after the refund's last one it is pending (a
    /// failure), held `refund-payment-rejected` (a rejection; impact the rejected amounts) or
    /// clear.
    fn settle(&mut self, cx: &mut Cx, settled: Settled) {
        let Settled {
            owner: id,
            payment,
            sent,
        } = settled;
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        w.outstanding = w.outstanding.saturating_sub(1);
        match sent {
            Sent::Linked => {}
            Sent::Rejected(m) => {
                w.rejected.push(m);
                w.rejected_amount += payment.amount_paid.unwrap_or_default();
            }
            Sent::Failed(e) => {
                if let Some(message) = e.credentials_problem() {
                    cx.stop(message);
                    return;
                }
                w.failure.get_or_insert(e);
            }
        }
        if w.outstanding > 0 {
            return;
        }
        let w = self.waiting.remove(&id).unwrap_or_default();
        let key = cx.key(id);
        cx.clear_mark(&key, UNPAID);
        if let Some(e) = w.failure {
            cx.pending(&key, &e.to_string());
        } else if !w.rejected.is_empty() {
            cx.hold(
                &key,
                vec![Problem {
                    kind: kinds::REFUND_PAYMENT_REJECTED,
                    owner: Team::Finance,
                    message: format!(
                        "{}: Brightpearl rejected refund payment {}",
                        refund_entity(id),
                        w.rejected.join("; ")
                    ),
                    impact: Some(Impact::new(w.rejected_amount, w.currency)),
                }],
            );
        } else {
            cx.clear(&key);
        }
    }
}
