//! Order statuses and cancellations, both ways (issue 10 §5), as two passes on the SDK's
//! engine beside the shipments; both only run when the client has a
//! `[flows.tracking.mapping.statuses]` section ([`crate::config::Statuses`]).
//!
//! **Brightpearl → BigCommerce** ([`BrightpearlStatuses`], entity
//! `brightpearl:sales-order:<id>`): a sales order of a BigCommerce order that moves to a
//! mapped status (`to_bigcommerce`) gets that BigCommerce status, one moved to
//! `brightpearl_cancelled` gets Cancelled (5): `PUT /v2/orders/{id}` `{"status_id": N}`.
//! Triggers: `order.modified.order-status` events (an ID set of order ids), the sweep
//! `order-search?orderTypeId=1&updatedOn=<cursor − overlap>/` (cursor `cursor:tracking-statuses`),
//! replays of `brightpearl:sales-order:<id>`. The flow never sets Shipped (2) or Partially
//! Shipped (3) (only a shipment does, so the customer's email carries the tracking), never
//! moves an order that is shipped, completed, refunded, cancelled or declined in BigCommerce
//! to another status, and holds a Brightpearl cancellation of an order BigCommerce already
//! shipped with `cancellation-blocked`.
//!
//! **BigCommerce → Brightpearl** ([`BigCommerceCancellations`], entity
//! `bigcommerce:order:<id>`): an order cancelled or refunded in full (`bigcommerce_cancel`,
//! default Cancelled 5 and Refunded 4) before dispatch sets its sales order (found by
//! `externalRef`, `order-search?orderTypeId=1&externalRef=<id>`) to `brightpearl_cancelled`:
//! `PUT /order-service/order/{id}/status` `{"orderStatusId": C, "orderNote": {"text": ..,
//! "isPublic": false}}` (brightpearl-api.md §4.4 [doc]). Triggers: `store/order/statusUpdated`
//! events, the sweep `GET /v2/orders?status_id=<s>&min_date_modified=<cursor − overlap>`
//! (cursor `cursor:tracking-cancellations`), replays of `bigcommerce:order:<id>`. A sales
//! order with goods-out notes is held `cancellation-blocked` (Brightpearl refuses to cancel
//! it once dispatch has started); one Brightpearl refuses (invoiced, has payments: 4xx) is
//! held `cancellation-rejected` with the server's message.
//!
//! **An order not posted yet is never posted**: the orders flow posts only the BigCommerce
//! statuses in its own `statuses` filter (never Cancelled or Refunded), and it reads a held or
//! pending order again before each retry, so a cancelled order drops out of it by itself.
//! Flows keep separate state, so this flow cannot set a key the orders flow reads; instead,
//! a cancelled order with no sales order is watched for 24 hours (`unposted:order:<id>`, the
//! time it was first seen) in case a post already under way lands, and cancelled then.
//!
//! **No loops**: before each write the flow stores what it writes (`wrote:order:<bc id>` =
//! the BigCommerce `status_id`, `wrote:sales-order:<id>` = the Brightpearl status id); the
//! change event or sweep that write causes finds its own value there and is skipped
//! (`echo_skipped`), the mark is then consumed. `mirrored:<kind>:<id>` = the status last
//! acted on: the sweep's overlap seeing it again costs one read and writes nothing.
//!
//! **Once**: a status write sets a value, so repeating it changes nothing in BigCommerce;
//! Brightpearl appends an order note to every status PUT, so after a lost answer (and
//! before every write) the current status is read and a status already set is not sent
//! again.

use pearlbridge_sdk::bigcommerce::{self, Order};
use pearlbridge_sdk::brightpearl::{self, Envelope, SearchResponse};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{
    self, Cx, Flow, Impact, Key, Mark, Outcome, Problem, Settings, Stop, Sweep, SweepSettings,
    Swept, SweptList, is_rejection,
};
use pearlbridge_sdk::types::{Event, Level, Method, Request, System, Team};
use pearlbridge_sdk::{Api, ApiError};

use crate::config::{Statuses, TrackingConfig};
use crate::mapping::{self, SalesOrderView, kinds};
use crate::run;

/// BigCommerce's order status webhook scope (bigcommerce-api.md §10 [doc]).
pub const BIGCOMMERCE_STATUS_EVENT: &str = "store/order/statusUpdated";
/// Brightpearl's order status event (brightpearl-api.md §11 [obs]).
pub const BRIGHTPEARL_STATUS_EVENT: &str = "order.modified.order-status";
/// BigCommerce Cancelled.
pub const CANCELLED: u32 = 5;
/// BigCommerce statuses the write-back never moves an order out of: Shipped (2), Partially
/// Shipped (3), Refunded (4), Cancelled (5), Declined (6), Completed (10), Partially
/// Refunded (14).
pub const FINAL_STATUSES: &[u32] = &[2, 3, 4, 5, 6, 10, 14];
/// BigCommerce statuses of an order whose goods left: Shipped, Partially Shipped, Completed.
pub const SHIPPED_STATUSES: &[u32] = &[2, 3, 10];

/// `wrote:<kind>:<id>` → the status id this flow last wrote (echo suppression).
const WROTE: Mark = Mark::Cache("wrote");
/// `mirrored:<kind>:<id>` → the status id last acted on.
const MIRRORED: Mark = Mark::Cache("mirrored");
/// `unposted:order:<id>` → unix seconds: cancelled in BigCommerce with no sales order yet.
const UNPOSTED: Mark = Mark::Open("unposted");
/// How long a cancelled order with no sales order is watched.
pub const UNPOSTED_WATCH_SECONDS: i64 = 24 * 3600;

/// The BigCommerce → Brightpearl pass's counters.
pub const CANCEL_COUNTERS: &[&str] = &[
    "cancelled_in_brightpearl",
    "cancelled_before_posting",
    "already_cancelled",
    "echo_skipped",
];
/// The Brightpearl → BigCommerce pass's counters.
pub const STATUS_COUNTERS: &[&str] = &[
    "statuses_written",
    "cancelled_in_bigcommerce",
    "echo_skipped",
];

/// The entity reference of a Brightpearl sales order: `brightpearl:sales-order:<id>`.
pub fn sales_order_entity(id: u64) -> String {
    format!("brightpearl:sales-order:{id}")
}

/// The text of the order note Brightpearl adds to a cancellation from BigCommerce.
pub fn cancel_note(order: &Order) -> String {
    format!(
        "Cancelled by Pearlbridge: BigCommerce order {} is {} (status {})",
        order.id, order.status, order.status_id
    )
}

/// `PUT /v2/orders/{id}` with `{"status_id": status_id}` (bigcommerce-api.md §5 [doc]); the
/// answer (the order) is not read. Errors name the call.
pub fn put_order_status(api: &dyn Api, order_id: u64, status_id: u32) -> Result<(), ApiError> {
    let path = format!("/v2/orders/{order_id}");
    let what = format!("PUT {path}");
    let req = Request {
        system: System::Bigcommerce,
        method: Method::Put,
        path,
        body: Some(serde_json::json!({ "status_id": status_id }).to_string()),
        headers: vec![],
    };
    engine::send(api, req, &what).map(|_| ())
}

/// BigCommerce orders with `status_id` modified since `since`, oldest first:
/// `GET /v2/orders?status_id=<s>&min_date_modified=<RFC 2822>&sort=date_modified:asc&limit=250&page=N`
/// until a short or 204 page, at most `max_pages`.
pub fn orders_with_status(
    api: &dyn Api,
    status: u32,
    since: Timestamp,
    max_pages: u32,
) -> Result<Vec<Order>, ApiError> {
    let mut all = vec![];
    for page in 1..=max_pages.max(1) {
        let rows: Vec<Order> = bigcommerce::Client::new(api).list(
            format!(
                "/v2/orders?status_id={status}&min_date_modified={}&sort=date_modified:asc&limit=250&page={page}",
                pearlbridge_sdk::url::encode(&since.to_rfc2822())
            ),
            "GET /v2/orders",
        )?;
        let short = rows.len() < 250;
        all.extend(rows);
        if short {
            break;
        }
    }
    Ok(all)
}

/// Sales orders updated since `from` with their status: `GET /order-service/order-search?orderTypeId=1&updatedOn=<from>/`,
/// pages of 500, at most `max_pages`; `(order id, orderStatusId, updatedOn)`.
pub fn sales_orders_updated_since(
    api: &dyn Api,
    from: Timestamp,
    max_pages: u32,
) -> Result<Vec<(u64, u64, Option<Timestamp>)>, ApiError> {
    let mut out = vec![];
    let mut first = 1u64;
    for _ in 0..max_pages.max(1) {
        let path = format!(
            "/order-service/order-search?orderTypeId=1&updatedOn={}/&pageSize=500&firstResult={first}",
            from.to_iso8601()
        );
        let page: Envelope<SearchResponse> = engine::get_json(api, System::Brightpearl, &path)?;
        let page = page.response;
        let got = page.results.len() as u64;
        for row in page.rows() {
            let (Some(id), Some(status)) = (row.u64("orderId"), row.u64("orderStatusId")) else {
                continue;
            };
            let updated = row
                .str("updatedOn")
                .and_then(|s| Timestamp::parse_iso8601(&s).ok());
            out.push((id, status, updated));
        }
        if !page.meta_data.more_pages_available || got == 0 {
            break;
        }
        first = page.meta_data.last_result.max(first + got - 1) + 1;
    }
    out.sort_by_key(|(_, _, t)| *t);
    Ok(out)
}

fn store_clock(cx: &Cx, cache: &mut Option<Timestamp>) -> Result<Timestamp, ApiError> {
    if let Some(t) = *cache {
        return Ok(t);
    }
    let t = Timestamp(bigcommerce::Client::new(cx.api).time()?);
    *cache = Some(t);
    Ok(t)
}

fn order_stake(order: &Order) -> Impact {
    let (value, currency) = mapping::order_value(order);
    Impact::new(value, currency)
}

/// BigCommerce → Brightpearl: cancellations (see the module docs).
pub struct BigCommerceCancellations<'c> {
    cfg: &'c TrackingConfig,
    st: &'c Statuses,
    clock: Option<Timestamp>,
}

impl<'c> BigCommerceCancellations<'c> {
    pub fn new(cfg: &'c TrackingConfig, st: &'c Statuses) -> Self {
        BigCommerceCancellations {
            cfg,
            st,
            clock: None,
        }
    }
}

impl Flow for BigCommerceCancellations<'_> {
    type Id = u64;
    type Item = Order;

    fn settings(&self) -> Settings {
        Settings {
            name: "tracking-cancellations",
            system: System::Bigcommerce,
            kind: "order",
            plural: "orders",
            open_marks: &["unposted"],
            retry_kind: kinds::STATUS_WRITE_FAILED,
            retry_owner: Team::Integration,
            retry_exception_after: self.cfg.retry_exception_after,
            sweep: Some(Sweep::Since(SweepSettings {
                overlap_minutes: self.cfg.sweep.overlap_minutes,
                initial_lookback_hours: self.cfg.sweep.initial_lookback_hours,
            })),
            counters: CANCEL_COUNTERS,
        }
    }

    fn clock(&mut self, cx: &mut Cx) -> Result<Timestamp, ApiError> {
        store_clock(cx, &mut self.clock)
    }

    /// BigCommerce `store/order/statusUpdated` events (the entity id is the order id).
    fn event_id(&self, e: &Event) -> Option<String> {
        (e.source == System::Bigcommerce && e.scope == BIGCOMMERCE_STATUS_EVENT)
            .then(|| e.entity_id.clone())
    }

    /// Orders in each of `bigcommerce_cancel` modified since `from`.
    fn sweep(&mut self, cx: &mut Cx, from: Timestamp) -> Result<SweptList<Self>, ApiError> {
        let mut all = vec![];
        for status in &self.st.bigcommerce_cancel {
            for o in orders_with_status(cx.api, *status, from, self.cfg.sweep.max_pages)? {
                all.push(Swept {
                    id: o.id,
                    modified: Timestamp::parse_rfc2822(&o.date_modified).ok(),
                    item: o,
                });
            }
        }
        all.sort_by_key(|s| s.modified);
        Ok(all)
    }

    fn process(&mut self, cx: &mut Cx, id: &u64, item: Option<Order>) -> Result<Outcome, Stop> {
        self.process_order(cx, *id, item)
    }
}

impl BigCommerceCancellations<'_> {
    fn process_order(
        &mut self,
        cx: &mut Cx,
        id: u64,
        item: Option<Order>,
    ) -> Result<Outcome, Stop> {
        let key = cx.key(id);
        let entity = key.entity();
        // A swept copy may be older than the order: an unposted watch reads it again.
        let order = match item {
            Some(o) if cx.mark(&key, UNPOSTED).is_none() => o,
            _ => match bigcommerce::Client::new(cx.api).order(id)? {
                Some(o) => o,
                None => {
                    cx.log(Level::Warn, &format!("{entity}: not found in BigCommerce"));
                    cx.clear_mark(&key, UNPOSTED);
                    return Ok(Outcome::Clear);
                }
            },
        };
        cx.at_stake(&key, order_stake(&order));
        let status = order.status_id;
        let status_text = status.to_string();
        if cx.mark(&key, WROTE).as_deref() == Some(status_text.as_str()) {
            // The flow's own write from Brightpearl: not echoed back.
            cx.count("echo_skipped");
            cx.clear_mark(&key, WROTE);
            cx.set_mark(&key, MIRRORED, &status_text);
            cx.clear_mark(&key, UNPOSTED);
            return Ok(Outcome::Clear);
        }
        if !self.st.cancels(status) {
            // Reopened (or never cancelled): nothing to cancel, nothing left to watch.
            cx.clear_mark(&key, UNPOSTED);
            return Ok(Outcome::Clear);
        }
        let watching = cx.mark(&key, UNPOSTED);
        if watching.is_none() && cx.mark(&key, MIRRORED).as_deref() == Some(status_text.as_str()) {
            return Ok(Outcome::Clear);
        }
        let cancelled = self.st.brightpearl_cancelled.expect("cancels() checked it");
        let bp = brightpearl::Client::new(cx.api);
        let so_ids = bp.sales_orders_by_external_ref(&id.to_string())?;
        let sales_orders: Vec<SalesOrderView> = run::sales_orders(cx.api, &so_ids)?
            .into_values()
            .filter(|so| mapping::bigcommerce_order_id(so, self.cfg) == Some(id))
            .collect();
        if sales_orders.is_empty() {
            // Not posted: the orders flow's status filter keeps it out; watch for a post
            // already under way.
            let first = match watching.as_deref().and_then(|v| v.parse::<i64>().ok()) {
                Some(t) => t,
                None => {
                    cx.count("cancelled_before_posting");
                    cx.log(
                        Level::Info,
                        &format!(
                            "{entity} is {} (status {status}) and has no Brightpearl sales order: nothing to cancel; the orders flow does not post it",
                            order.status
                        ),
                    );
                    cx.set_mark(&key, UNPOSTED, &cx.now.0.to_string());
                    cx.now.0
                }
            };
            if cx.now.0 - first >= UNPOSTED_WATCH_SECONDS {
                cx.clear_mark(&key, UNPOSTED);
                cx.set_mark(&key, MIRRORED, &status_text);
                return Ok(Outcome::Clear);
            }
            return Ok(Outcome::Unchanged);
        }
        let mut problems = vec![];
        for so in &sales_orders {
            let so_key = Key::new(System::Brightpearl, "sales-order", so.id);
            if so.order_status.order_status_id == cancelled {
                cx.count("already_cancelled");
                cx.set_mark(&so_key, MIRRORED, &cancelled.to_string());
                continue;
            }
            let notes = run::goods_out_notes_of_orders(cx.api, &[so.id])?;
            if !notes.is_empty() {
                let list: Vec<String> = notes
                    .iter()
                    .map(|(nid, n)| {
                        format!(
                            "{nid} ({})",
                            if n.status.shipped {
                                "shipped"
                            } else {
                                "not shipped"
                            }
                        )
                    })
                    .collect();
                problems.push(Problem {
                    kind: kinds::CANCELLATION_BLOCKED,
                    owner: Team::CustomerService,
                    message: format!(
                        "{entity} is {} (status {status}) in BigCommerce, but its Brightpearl sales order {} has goods-out note(s) {}: Brightpearl does not cancel an order once dispatch has started, so it is not cancelled",
                        order.status,
                        so.id,
                        list.join(", ")
                    ),
                    impact: None,
                });
                continue;
            }
            cx.set_mark(&so_key, WROTE, &cancelled.to_string());
            match bp.set_order_status(so.id, cancelled, Some(&cancel_note(&order))) {
                Ok(()) => {}
                Err(e) if e.is_outcome_unknown() => {
                    let now = run::sales_orders(cx.api, &[so.id])?;
                    if now.get(&so.id).map(|s| s.order_status.order_status_id) != Some(cancelled) {
                        return Err(Stop::Api(e));
                    }
                }
                Err(e) if is_rejection(&e) && e.credentials_problem().is_none() => {
                    cx.clear_mark(&so_key, WROTE);
                    problems.push(Problem {
                        kind: kinds::CANCELLATION_REJECTED,
                        owner: Team::CustomerService,
                        message: format!(
                            "{entity} is {} (status {status}) in BigCommerce; Brightpearl refused to set its sales order {} to the cancelled status {cancelled}: {}",
                            order.status,
                            so.id,
                            e.server_message()
                        ),
                        impact: None,
                    });
                    continue;
                }
                Err(e) => return Err(Stop::Api(e)),
            }
            // `wrote:` stays until the change's own event or sweep consumes it.
            cx.count("cancelled_in_brightpearl");
        }
        if !problems.is_empty() {
            return Err(Stop::Hold(problems));
        }
        cx.clear_mark(&key, UNPOSTED);
        cx.set_mark(&key, MIRRORED, &status_text);
        Ok(Outcome::Clear)
    }
}

/// Brightpearl → BigCommerce: status write-back and cancellations (see the module docs).
pub struct BrightpearlStatuses<'c> {
    cfg: &'c TrackingConfig,
    st: &'c Statuses,
    clock: Option<Timestamp>,
}

impl<'c> BrightpearlStatuses<'c> {
    pub fn new(cfg: &'c TrackingConfig, st: &'c Statuses) -> Self {
        BrightpearlStatuses {
            cfg,
            st,
            clock: None,
        }
    }
}

impl Flow for BrightpearlStatuses<'_> {
    type Id = u64;
    /// The sales order's status id in the search row.
    type Item = u64;

    fn settings(&self) -> Settings {
        Settings {
            name: "tracking-statuses",
            system: System::Brightpearl,
            kind: "sales-order",
            plural: "sales orders",
            open_marks: &[],
            retry_kind: kinds::STATUS_WRITE_FAILED,
            retry_owner: Team::Integration,
            retry_exception_after: self.cfg.retry_exception_after,
            sweep: Some(Sweep::Since(SweepSettings {
                overlap_minutes: self.cfg.sweep.overlap_minutes,
                initial_lookback_hours: self.cfg.sweep.initial_lookback_hours,
            })),
            counters: STATUS_COUNTERS,
        }
    }

    fn clock(&mut self, cx: &mut Cx) -> Result<Timestamp, ApiError> {
        store_clock(cx, &mut self.clock)
    }

    /// Brightpearl `order.modified.order-status` events (one order id each, see
    /// [`run::one_event_per_id`]).
    fn event_id(&self, e: &Event) -> Option<String> {
        (e.source == System::Brightpearl && e.scope == BRIGHTPEARL_STATUS_EVENT)
            .then(|| e.entity_id.clone())
    }

    /// Sales orders updated since `from` whose status maps to a BigCommerce status and was
    /// not acted on yet.
    fn sweep(&mut self, cx: &mut Cx, from: Timestamp) -> Result<SweptList<Self>, ApiError> {
        Ok(
            sales_orders_updated_since(cx.api, from, self.cfg.sweep.max_pages)?
                .into_iter()
                .filter(|(_, status, _)| self.st.bigcommerce_status(*status).is_some())
                .filter(|(id, status, _)| {
                    cx.mark(&cx.key(id), MIRRORED) != Some(status.to_string())
                })
                .map(|(id, status, modified)| Swept {
                    id,
                    modified,
                    item: status,
                })
                .collect(),
        )
    }

    fn process(&mut self, cx: &mut Cx, id: &u64, _item: Option<u64>) -> Result<Outcome, Stop> {
        self.process_sales_order(cx, *id)
    }
}

impl BrightpearlStatuses<'_> {
    fn process_sales_order(&mut self, cx: &mut Cx, id: u64) -> Result<Outcome, Stop> {
        let key = cx.key(id);
        let entity = key.entity();
        let Some(so) = run::sales_orders(cx.api, &[id])?.remove(&id) else {
            cx.log(Level::Warn, &format!("{entity}: not found in Brightpearl"));
            return Ok(Outcome::Clear);
        };
        let Some(order_id) = mapping::bigcommerce_order_id(&so, self.cfg) else {
            return Ok(Outcome::Clear);
        };
        let bp_status = so.order_status.order_status_id;
        let bp_text = bp_status.to_string();
        if cx.mark(&key, WROTE).as_deref() == Some(bp_text.as_str()) {
            // The flow's own cancellation from BigCommerce: not echoed back.
            cx.count("echo_skipped");
            cx.clear_mark(&key, WROTE);
            cx.set_mark(&key, MIRRORED, &bp_text);
            return Ok(Outcome::Clear);
        }
        if cx.mark(&key, MIRRORED).as_deref() == Some(bp_text.as_str()) {
            return Ok(Outcome::Clear);
        }
        let Some(target) = self.st.bigcommerce_status(bp_status) else {
            cx.set_mark(&key, MIRRORED, &bp_text);
            return Ok(Outcome::Clear);
        };
        let bc = bigcommerce::Client::new(cx.api);
        let Some(order) = bc.order(order_id)? else {
            return Err(Problem {
                kind: kinds::SHIPMENT_ORDER_MISSING,
                owner: Team::Integration,
                message: format!(
                    "{entity} (status {bp_status} {:?}) names BigCommerce order {order_id} (externalRef {:?}, ref {:?}), which BigCommerce does not have (404): its status cannot be written back",
                    so.order_status.name, so.external_ref, so.reference
                ),
                impact: None,
            }
            .into());
        };
        cx.at_stake(&key, order_stake(&order));
        let done = |cx: &mut Cx| -> Result<Outcome, Stop> {
            cx.set_mark(&key, MIRRORED, &bp_text);
            Ok(Outcome::Clear)
        };
        if order.status_id == target {
            return done(cx);
        }
        if target == CANCELLED && SHIPPED_STATUSES.contains(&order.status_id) {
            return Err(Problem {
                kind: kinds::CANCELLATION_BLOCKED,
                owner: Team::CustomerService,
                message: format!(
                    "{entity} was cancelled in Brightpearl (status {bp_status}), but BigCommerce order {order_id} is {} (status {}): its goods left, so it is not cancelled in BigCommerce",
                    order.status, order.status_id
                ),
                impact: None,
            }
            .into());
        }
        if FINAL_STATUSES.contains(&order.status_id) {
            cx.log(
                Level::Info,
                &format!(
                    "{entity}: Brightpearl status {bp_status} maps to BigCommerce status {target}, but BigCommerce order {order_id} is {} (status {}) and is left so",
                    order.status, order.status_id
                ),
            );
            return done(cx);
        }
        let order_key = Key::new(System::Bigcommerce, "order", order_id);
        cx.set_mark(&order_key, WROTE, &target.to_string());
        match put_order_status(cx.api, order_id, target) {
            Ok(()) => {}
            Err(e) if e.is_outcome_unknown() => {
                if bc.order(order_id)?.map(|o| o.status_id) != Some(target) {
                    return Err(Stop::Api(e));
                }
            }
            Err(e) if is_rejection(&e) => {
                cx.clear_mark(&order_key, WROTE);
                return Err(Problem {
                    kind: kinds::STATUS_REJECTED,
                    owner: Team::Integration,
                    message: format!(
                        "{entity} (Brightpearl status {bp_status}): BigCommerce refused status {target} for order {order_id}: {}",
                        e.server_message()
                    ),
                    impact: None,
                }
                .into());
            }
            Err(e) => return Err(Stop::Api(e)),
        }
        cx.count(if target == CANCELLED {
            "cancelled_in_bigcommerce"
        } else {
            "statuses_written"
        });
        done(cx)
    }
}
