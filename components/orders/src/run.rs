//! The orders-specific part of a run on the SDK's flow engine ([`pearlbridge_sdk::engine`]):
//! how orders are swept and fetched, mapped ([`crate::mapping`]), posted (contact, sales
//! order, note, customer payments in multi-message batches) and found again by external
//! reference. Candidates, the cursor, the write-once protocol, holds, retries and stopping
//! on bad credentials are the engine's.
//!
//! State keys ([`pearlbridge_sdk::engine::Key`] / `Mark`; all values plain strings or small
//! JSON):
//! - `cursor:orders` — ISO 8601: the newest `date_modified` the scheduled sweep has seen
//!   (absent until it has seen an order: an empty sweep never sets or moves it);
//! - `link:order:<bc id>` → Brightpearl sales order id; `attempt:order:<bc id>` while its
//!   POST is out;
//! - `link:payment:<transactionRef>` → Brightpearl customer payment id;
//!   `attempt:payment:<transactionRef>` while its POST is out;
//! - `link:note:order:<bc id>` → the Brightpearl order note id of the order's messages;
//!   `attempt:note:order:<bc id>` while its POST is out;
//! - `held:order:<bc id>`, `retry:order:<bc id>`, `done:order:<bc id>` — the engine's;
//! - `unpaid:order:<bc id>` — the sales order is linked and its customer payments are queued
//!   for a multi-message batch; retried every run until they are linked (a crash before the
//!   batch is sent loses nothing);
//! - `unnoted:order:<bc id>` — the note could not be posted (retryable failure): retried
//!   every run;
//! - `product-index`, `product-index:<i>` — the SKU → product id index
//!   ([`crate::product_index`]);
//! - `contact:email:<email>` → `{"id":..,"priceListId":..}`.

use std::collections::BTreeMap;

use pearlbridge_sdk::bigcommerce::{self, Order, OrderBundle};
use pearlbridge_sdk::brightpearl::{
    self, Communication, ContactCreate, ContactEmail, CustomerPayment, FinancialDetails,
    MarketingDetails, OrderNote, Organisation, PRODUCT_INDEX_MAX_PAGES, PostAddressIds,
    RelationshipToAccount,
};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{
    self, Cx, Flow, Impact, Key, Mark, Outcome, Problem, Settings, Stop, Sweep, SweepSettings,
    Swept, Written, amount_text, is_rejection,
};
use pearlbridge_sdk::payments::{PaymentPoster, Sent, Settled};
use pearlbridge_sdk::types::{Event, FlowError, Level, RunSummary, System, Team, Trigger};
use pearlbridge_sdk::{Api, ApiError, Report, State};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::OrdersConfig;
use crate::mapping::{self, Lookups, MappedOrder, MappingProblem, kinds, order_entity};
use crate::product_index::ProductIndex;

/// Customer payments queued for a multi-message batch.
const UNPAID: Mark = Mark::Open("unpaid");
/// The order note is still to post.
const UNNOTED: Mark = Mark::Open("unnoted");
/// Brightpearl contacts by e-mail (`contact:email:<e-mail>`).
const CONTACT: Mark = Mark::Cache("contact");

/// The run summary's counters (WIT `run-summary.counts`), in order.
pub const COUNTERS: &[&str] = &[
    "posted",
    "held",
    "already_posted",
    "payments_posted",
    "pending_retry",
    "rounding_rows",
    "skipped_status",
    "notes_posted",
];

impl From<MappingProblem> for Problem {
    fn from(p: MappingProblem) -> Self {
        Problem {
            kind: p.kind,
            owner: p.owner,
            message: p.message,
            impact: Some(Impact::new(p.impact, p.currency)),
        }
    }
}

fn hold(problems: Vec<MappingProblem>) -> Stop {
    Stop::Hold(problems.into_iter().map(Problem::from).collect())
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct CachedContact {
    id: u64,
    price_list_id: Option<u64>,
}

/// An order whose payments are queued: how many are still out, and how the others ended.
#[derive(Default)]
struct Waiting {
    outstanding: usize,
    rejected: Vec<String>,
    /// The amounts of the rejected payments, in the order currency.
    rejected_amount: Decimal,
    currency: String,
    failure: Option<ApiError>,
}

/// The orders flow on the engine: its configuration and what one run has read.
pub struct Orders<'c> {
    cfg: &'c OrdersConfig,
    /// The product index, once an order of this run needed it.
    index: Option<ProductIndex>,
    /// A rebuild of the index failed in this run: it is not tried again until the next run.
    index_error: Option<ApiError>,
    /// Customer payments queued for the next multi-message batch.
    payments: PaymentPoster,
    /// Orders whose payments are queued, by BigCommerce order id.
    waiting: BTreeMap<u64, Waiting>,
    /// BigCommerce customers read in this run (v3 `customers?id:in=`), by id; `None` for an
    /// id BigCommerce does not know.
    customers: BTreeMap<u64, Option<bigcommerce::Customer>>,
}

impl<'c> Orders<'c> {
    pub fn new(cfg: &'c OrdersConfig) -> Self {
        Orders {
            cfg,
            index: None,
            index_error: None,
            payments: PaymentPoster::new(),
            waiting: BTreeMap::new(),
            customers: BTreeMap::new(),
        }
    }
}

/// Do the work for one trigger; `now` is the time in unix seconds (UTC). The engine's
/// [`engine::run`] says when the run fails (a bad replay reference, an unreadable sweep,
/// 401/403 from either system). A scheduled run's summary has a note naming the window
/// swept and the orders seen.
pub fn run_at(
    trigger: &Trigger,
    cfg: &OrdersConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    now: i64,
) -> Result<RunSummary, FlowError> {
    engine::run(
        &mut Orders::new(cfg),
        trigger,
        api,
        state,
        report,
        Timestamp(now),
    )
}

/// The amount a customer payment moves (paid, else authorised), in its currency.
fn payment_amount(p: &CustomerPayment) -> Decimal {
    p.amount_paid
        .or(p.amount_authorized)
        .unwrap_or(Decimal::ZERO)
}

/// The order's charged amount in its currency.
fn order_stake(order: &Order) -> Impact {
    let currency = mapping::order_currency(order).0;
    Impact::new(
        mapping::charged_amount(order.total_inc_tax, &currency),
        currency,
    )
}

impl Flow for Orders<'_> {
    type Id = u64;
    type Item = Order;

    fn settings(&self) -> Settings {
        Settings {
            name: "orders",
            system: System::Bigcommerce,
            kind: "order",
            plural: "orders",
            open_marks: &["unpaid", "unnoted"],
            retry_kind: kinds::ORDER_POST_FAILED,
            retry_owner: Team::Integration,
            retry_exception_after: self.cfg.retry_exception_after,
            sweep: Some(Sweep::Since(SweepSettings {
                overlap_minutes: self.cfg.sweep.overlap_minutes,
                initial_lookback_hours: self.cfg.sweep.initial_lookback_hours,
            })),
            counters: COUNTERS,
        }
    }

    /// `store/order/*` events except `store/order/archived`.
    fn event_id(&self, e: &Event) -> Option<String> {
        (e.scope.starts_with("store/order/") && e.scope != "store/order/archived")
            .then(|| e.entity_id.clone())
    }

    /// The store's clock (`GET /v2/time`).
    fn clock(&mut self, cx: &mut Cx) -> Result<Timestamp, ApiError> {
        Ok(Timestamp(bigcommerce::Client::new(cx.api).time()?))
    }

    /// Orders modified since `from`, `date_modified:asc`, pages of 250 with their
    /// consignments, at most `sweep.max_pages` pages.
    fn sweep(&mut self, cx: &mut Cx, from: Timestamp) -> Result<Vec<Swept<u64, Order>>, ApiError> {
        let listed = bigcommerce::Client::new(cx.api).orders_with_consignments_modified_since(
            &from.to_rfc2822(),
            bigcommerce::V2_MAX_LIMIT,
            self.cfg.sweep.max_pages,
        )?;
        Ok(listed
            .into_iter()
            .map(|o| Swept {
                id: o.id,
                modified: Timestamp::parse_rfc2822(&o.date_modified).ok(),
                item: o,
            })
            .collect())
    }

    /// The registered customers of the swept orders still to post, in one read per 250
    /// (`/v3/customers?id:in=`), cached for the run.
    fn prefetch(&mut self, cx: &mut Cx, orders: &[&Order]) -> Result<(), ApiError> {
        let ids: Vec<u64> = orders
            .iter()
            .filter(|o| o.customer_id > 0 && self.cfg.statuses.contains(&o.status_id))
            .filter(|o| cx.mark(&cx.key(o.id), Mark::Link).is_none())
            .map(|o| o.customer_id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let found = bigcommerce::Client::new(cx.api).customers_by_ids(&ids)?;
        for id in &ids {
            self.customers.insert(*id, None);
        }
        for c in found {
            self.customers.insert(c.id, Some(c));
        }
        Ok(())
    }

    fn process(&mut self, cx: &mut Cx, id: &u64, order: Option<Order>) -> Result<Outcome, Stop> {
        let result = match self.process_order(cx, *id, order) {
            Ok(None) => Ok(Outcome::Unchanged),
            Ok(Some(payments)) => Ok(self.enqueue(cx, *id, payments)),
            Err(e) => Err(e),
        };
        if let Err(Stop::Hold(_)) = &result {
            cx.clear_mark(&cx.key(id), UNPAID);
        }
        if let Err(Stop::Api(e)) = &result
            && e.credentials_problem().is_none()
        {
            cx.clear_mark(&cx.key(id), UNPAID);
        }
        result
    }

    fn finish(&mut self, cx: &mut Cx) {
        self.flush(cx, true);
    }
}

impl Orders<'_> {
    /// `None` when there is nothing to do (not found, status not posted, unchanged since it
    /// was done); else the sales order is linked and these are its customer payments still
    /// to post.
    fn process_order(
        &mut self,
        cx: &mut Cx,
        id: u64,
        prefetched: Option<Order>,
    ) -> Result<Option<Vec<CustomerPayment>>, Stop> {
        let bc = bigcommerce::Client::new(cx.api);
        let key = cx.key(id);
        let swept = prefetched.is_some();
        let order = match prefetched {
            Some(o) => o,
            None => match bc.order_with_consignments(id)? {
                Some(o) => o,
                None => {
                    cx.log(
                        Level::Warn,
                        &format!("{}: not found in BigCommerce", order_entity(id)),
                    );
                    cx.clear_mark(&key, Mark::Retry);
                    cx.clear_mark(&key, UNPAID);
                    return Ok(None);
                }
            },
        };
        cx.seen(&key, &order.date_modified);
        cx.at_stake(&key, order_stake(&order));
        if let Some(so_id) = cx.linked(&key)? {
            cx.count("already_posted");
            // Seen again by the sweep, done and unchanged since: nothing new to read or post
            // (events and replays always read the transactions, e.g. a later capture).
            if swept && cx.unchanged_since_done(&key, &order.date_modified) {
                return Ok(None);
            }
            let transactions = bc.order_transactions(id)?;
            let payments =
                mapping::map_payments(&order, &transactions, self.cfg).map_err(|msgs| {
                    Stop::Hold(
                        msgs.into_iter()
                            .map(|m| Problem {
                                kind: kinds::UNMAPPED_PAYMENT_METHOD,
                                owner: Team::Finance,
                                message: format!("{}: {m}", order_entity(id)),
                                impact: cx.stake(&key),
                            })
                            .collect(),
                    )
                })?;
            self.post_note(cx, id, so_id, mapping::order_note(&order, self.cfg), true)?;
            let payments = payments.into_iter().map(|mut p| {
                p.order_id = so_id;
                p
            });
            return Ok(Some(self.payments.unlinked(cx, payments.collect())?));
        }
        if !self.cfg.statuses.contains(&order.status_id) {
            cx.count("skipped_status");
            return Ok(None);
        }
        let bundle = self.bundle(cx, order)?;
        let (products, sku_suggestions) = self.products(cx, &bundle)?;
        let mut lookups = Lookups {
            products,
            sku_suggestions,
            contact_id: 0,
        };
        // Every problem first (none depends on the contact), so nothing is created in
        // Brightpearl for an order that is held.
        let first = mapping::map_order(&bundle, self.cfg, &lookups).map_err(hold)?;
        cx.at_stake(
            &key,
            Impact::new(first.total, first.sales_order.currency.code.clone()),
        );
        lookups.contact_id = self.contact(cx, &bundle, &first)?;
        let mapped = mapping::map_order(&bundle, self.cfg, &lookups).map_err(hold)?;
        let written = self.post_sales_order(cx, id, &mapped)?;
        let so_id = written.id();
        // A sales order found rather than created may have its note already.
        self.post_note(cx, id, so_id, mapped.note.clone(), !written.by_this_run())?;
        if let Some(diff) = mapped.rounding {
            cx.count("rounding_rows");
            cx.note(format!(
                "{}: rounding row of {} {} added to sales order {so_id} (rows {} + rounding = charged amount {})",
                order_entity(id),
                amount_text(diff),
                mapped.sales_order.currency.code,
                amount_text(mapped.total - diff),
                amount_text(mapped.total)
            ));
        }
        Ok(Some(
            self.payments.unlinked(cx, mapped.payments_for(so_id))?,
        ))
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
    fn bundle(&mut self, cx: &Cx, order: Order) -> Result<OrderBundle, ApiError> {
        let bc = bigcommerce::Client::new(cx.api);
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
        cx: &Cx,
        bundle: &OrderBundle,
    ) -> Result<(BTreeMap<String, u64>, BTreeMap<String, String>), ApiError> {
        let skus = mapping::order_skus(bundle);
        let mut found = BTreeMap::new();
        let mut suggestions = BTreeMap::new();
        if skus.is_empty() {
            return Ok((found, suggestions));
        }
        let now = cx.now.0;
        let refresh = self.cfg.product_index_refresh_minutes;
        if self.index.is_none() {
            self.index = ProductIndex::load(cx.state);
        }
        let stale = self
            .index
            .as_ref()
            .is_none_or(|i| !i.is_fresh(now, refresh));
        if stale && self.index_error.is_none() {
            let (skus, pages) =
                match brightpearl::Client::new(cx.api).product_sku_index(PRODUCT_INDEX_MAX_PAGES) {
                    Ok(built) => built,
                    Err(e) => {
                        self.index_error = Some(e.clone());
                        return Err(e);
                    }
                };
            let index = ProductIndex::new(now, skus);
            index.store(cx.state);
            cx.log(
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
    /// (lowest id when duplicates exist), else created with its postal addresses. A B2B
    /// contact on another price list than the customer group's raises
    /// `price-list-mismatch` (impact: the order's charged amount) without holding.
    fn contact(&self, cx: &Cx, bundle: &OrderBundle, first: &MappedOrder) -> Result<u64, ApiError> {
        let price_list = first.price_list_id;
        let order = &bundle.order;
        let email = order.billing_address.email.trim().to_lowercase();
        let cache = Key::new(System::Brightpearl, "email", &email);
        let cached = cx
            .mark(&cache, CONTACT)
            .and_then(|v| serde_json::from_str::<CachedContact>(&v).ok());
        let contact = match cached {
            Some(c) => c,
            None => {
                let bp = brightpearl::Client::new(cx.api);
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
                        id: self.create_contact(cx, bundle, price_list)?,
                        price_list_id: price_list,
                    },
                };
                cx.set_mark(
                    &cache,
                    CONTACT,
                    &serde_json::to_string(&c).unwrap_or_default(),
                );
                c
            }
        };
        let entity = Key::new(System::Brightpearl, "contact", contact.id).entity();
        if let (Some(want), Some(has)) = (price_list, contact.price_list_id) {
            if want != has {
                // Not holding: the order carries priceListId and BigCommerce's own row values.
                cx.raise(
                    kinds::PRICE_LIST_MISMATCH,
                    &entity,
                    Team::Ecommerce,
                    format!(
                        "Brightpearl contact {} is on price list {has} but BigCommerce customer {} (customer group {}) maps to price list {want}; {} was posted with priceListId {want}",
                        contact.id,
                        order.customer_id,
                        bundle.customer.as_ref().map(|c| c.customer_group_id).unwrap_or(0),
                        order_entity(order.id)
                    ),
                    Some(&Impact::new(first.total, first.sales_order.currency.code.clone())),
                    false,
                );
            } else {
                cx.report.resolve(kinds::PRICE_LIST_MISMATCH, &entity);
            }
        }
        Ok(contact.id)
    }

    fn create_contact(
        &self,
        cx: &Cx,
        bundle: &OrderBundle,
        price_list: Option<u64>,
    ) -> Result<u64, ApiError> {
        let bp = brightpearl::Client::new(cx.api);
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

    /// Post the sales order once ([`Cx::write_once`], looked up by `externalRef`). A
    /// rejection (4xx) holds the order `order-rejected` with its charged amount.
    fn post_sales_order(
        &mut self,
        cx: &mut Cx,
        id: u64,
        mapped: &MappedOrder,
    ) -> Result<Written, Stop> {
        let bp = brightpearl::Client::new(cx.api);
        let external_ref = &mapped.sales_order.external_ref;
        let written = cx.write_once(
            &cx.key(id),
            "sales-order",
            false,
            || {
                Ok(bp
                    .sales_orders_by_external_ref(external_ref)?
                    .first()
                    .copied())
            },
            || bp.create_sales_order(&mapped.sales_order),
        );
        match written {
            Ok(w) => {
                cx.count(if w.by_this_run() {
                    "posted"
                } else {
                    "already_posted"
                });
                Ok(w)
            }
            Err(Stop::Api(e)) if is_rejection(&e) => Err(Stop::Hold(vec![Problem {
                kind: kinds::ORDER_REJECTED,
                owner: Team::Integration,
                message: format!(
                    "{}: Brightpearl rejected the sales order: {e}",
                    order_entity(id)
                ),
                impact: Some(Impact::new(
                    mapped.total,
                    mapped.sales_order.currency.code.clone(),
                )),
            }])),
            Err(e) => Err(e),
        }
    }

    /// Post the order's note (`POST /order-service/order/{so_id}/note`, staff-only) once
    /// ([`Cx::write_once`] on `note:order:<id>`, found by its text among the order's notes).
    /// With `search_first` (a sales order found rather than created, or an already linked
    /// order) the notes are read first. A retryable failure leaves `unnoted:order:<id>`
    /// (retried every run) and does not stop the order's payments; a 4xx raises
    /// `order-note-rejected` (impact: the order's charged amount); 401/403 stops the run.
    fn post_note(
        &mut self,
        cx: &mut Cx,
        id: u64,
        so_id: u64,
        text: Option<String>,
        search_first: bool,
    ) -> Result<(), Stop> {
        let key = cx.key(id);
        let Some(text) = text else {
            cx.clear_mark(&key, UNNOTED);
            return Ok(());
        };
        let bp = brightpearl::Client::new(cx.api);
        let find = || -> Result<Option<u64>, ApiError> {
            Ok(bp
                .order_notes(so_id)?
                .into_iter()
                .find(|n| n.text.trim() == text.trim())
                .map(|n| n.note_id))
        };
        let note = OrderNote {
            text: text.clone(),
            is_public: false,
        };
        let written = cx.write_once(
            &key.with_kind("note:order"),
            "order-note",
            search_first,
            find,
            || bp.add_order_note(so_id, &note),
        );
        let entity = order_entity(id);
        match written {
            Ok(w) => {
                if w.by_this_run() {
                    cx.count("notes_posted");
                }
                cx.clear_mark(&key, UNNOTED);
                cx.report.resolve(kinds::ORDER_NOTE_REJECTED, &entity);
                Ok(())
            }
            Err(Stop::Api(e)) if e.credentials_problem().is_some() => Err(Stop::Api(e)),
            Err(Stop::Api(e)) if is_rejection(&e) => {
                cx.clear_mark(&key, UNNOTED);
                cx.raise(
                    kinds::ORDER_NOTE_REJECTED,
                    &entity,
                    Team::Integration,
                    format!("{entity}: Brightpearl rejected the note of sales order {so_id}: {e}"),
                    cx.stake(&key).as_ref(),
                    false,
                );
                Ok(())
            }
            Err(Stop::Api(e)) => {
                cx.set_mark(&key, UNNOTED, &e.to_string());
                cx.log(
                    Level::Warn,
                    &format!("{entity}: the note of sales order {so_id} is pending: {e}"),
                );
                Ok(())
            }
            Err(hold) => Err(hold),
        }
    }

    /// The sales order of `id` is linked: queue its payments for the next multi-message
    /// batch (sent once 10 are queued, and at the end of the run). With none left to post
    /// the order is done now.
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

    /// Send what the poster has ready (everything when `all`) and settle each payment.
    fn flush(&mut self, cx: &mut Cx, all: bool) {
        for settled in self.payments.flush(cx, all) {
            self.settle(cx, settled);
        }
    }

    /// Record how one queued payment ended; when it was its order's last one, the order is
    /// settled: pending after a failure, held `payment-rejected` (impact: the rejected
    /// amounts) after a rejection, else clear.
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
                w.rejected_amount += payment_amount(&payment);
            }
            Sent::Failed(e) => {
                if let Some(message) = e.credentials_problem() {
                    // The run stops; the order keeps its `unpaid:order:` marker.
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
        cx.progress(1);
        let key = cx.key(id);
        cx.clear_mark(&key, UNPAID);
        if let Some(e) = w.failure {
            cx.pending(&key, &e.to_string());
        } else if !w.rejected.is_empty() {
            cx.hold(
                &key,
                vec![Problem {
                    kind: kinds::PAYMENT_REJECTED,
                    owner: Team::Finance,
                    message: format!(
                        "{}: Brightpearl rejected customer payment {}",
                        order_entity(id),
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
