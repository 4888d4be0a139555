//! The tracking-specific part of a run on the SDK's flow engine ([`pearlbridge_sdk::engine`]):
//! how shipped goods-out notes are swept and read, mapped ([`crate::mapping`]), posted as
//! BigCommerce shipments and found again after a lost response. Candidates, the cursor, the
//! write-once protocol, holds, retries and stopping on bad credentials are the engine's.
//!
//! Calls (every one in [`crate::needs`]):
//! - Brightpearl `GET /warehouse-service/goods-note/goods-out-search?shipped=true&shippedOn=<from>/`
//!   (the sweep, pages of 500);
//! - Brightpearl `GET /warehouse-service/order/*/goods-note/goods-out/<note idSet>` (≤ 200 a
//!   call) and `GET /order-service/order/<order idSet>` (≤ 200 a call);
//! - BigCommerce `GET /v2/time` (the store's clock: the first sweep's look-back and the
//!   missing-tracking grace period are counted from it), `GET /v2/orders/{id}`, `GET /v2/orders/{id}/products`,
//!   `GET /v2/orders/{id}/shipments` (only to find a shipment again), and
//!   `POST /v2/orders/{id}/shipments`.
//!
//! The flow never sets a BigCommerce order status: BigCommerce moves the order to Shipped or
//! Partially Shipped itself when a shipment is created, and the customer's shipment email
//! carries the tracking number.
//!
//! State keys ([`pearlbridge_sdk::engine::Key`] / `Mark`):
//! - `cursor:tracking` — ISO 8601: the newest `shippedOn` the sweep has seen;
//! - `link:note:<note id>` → the BigCommerce shipment id (for a note whose rows ship to
//!   several order addresses: the shipment of its lowest order address id, written once all
//!   are posted); `attempt:note:<note id>` while its POST is out;
//! - `link:note:<note id>@<order address id>` / `attempt:…` — each shipment of a note whose
//!   rows ship to several order addresses;
//! - `awaiting:note:<note id>` → the note's `shippedOn`: shipped without tracking, waiting
//!   for the grace period (`missing_tracking.action = "post"`); retried every run;
//! - `shipments:order:<bc order id>` → `{"<shipment id>": "<note key id>"}`: the shipments this
//!   flow posted or linked for the order, so that a shipment is never claimed by two notes;
//! - `held:note:<id>`, `retry:note:<id>`, `done:note:<id>` — the engine's.

use std::collections::BTreeMap;

use pearlbridge_sdk::bigcommerce::{self, Order, OrderProduct};
use pearlbridge_sdk::brightpearl::{Envelope, SearchResponse};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{
    self, Cx, Flow, Impact, Key, Mark, Outcome, Problem, Settings, Stop, Sweep, SweepSettings,
    Swept, SweptList, is_rejection,
};
use pearlbridge_sdk::types::{Event, FlowError, Level, RunSummary, System, Team, Trigger};
use pearlbridge_sdk::{Api, ApiError, Report, State};

use crate::config::{MissingTrackingAction, TrackingConfig};
use crate::mapping::{
    self, GoodsOutNote, NewShipment, NoteProblem, SalesOrderView, Shipment, kinds, note_entity,
};

/// The run summary's counters (WIT `run-summary.counts`), in order.
pub const COUNTERS: &[&str] = &[
    "shipments_created",
    "already_posted",
    "held",
    "pending_retry",
    "awaiting_tracking",
    "posted_without_tracking",
    "not_shipped",
    "not_from_bigcommerce",
];

/// The Brightpearl event this flow runs on (brightpearl-api.md §11 [doc]).
pub const SHIPPED_EVENT: &str = "goods-out-note.modified.shipped";

/// Shipped without tracking, waiting for the grace period (`awaiting:note:<id>`).
const AWAITING: Mark = Mark::Open("awaiting");
/// The shipments this flow claimed for a BigCommerce order (`shipments:order:<id>`).
const CLAIMS: Mark = Mark::Cache("shipments");

/// Notes and orders read per ID-set call.
const ID_SET_MAX: usize = 200;
/// Most ids one event's ID set expands to.
const EVENT_IDS_MAX: usize = 500;

impl From<NoteProblem> for Problem {
    fn from(p: NoteProblem) -> Self {
        Problem {
            kind: p.kind,
            owner: p.owner,
            message: p.message,
            impact: None,
        }
    }
}

/// The tracking flow on the engine: its configuration and what one run has read.
pub struct Tracking<'c> {
    cfg: &'c TrackingConfig,
    /// Goods-out notes read ahead (the sweep's), by id.
    notes: BTreeMap<u64, GoodsOutNote>,
    /// Brightpearl sales orders read in this run, by id (`None`: Brightpearl has none).
    sales_orders: BTreeMap<u64, Option<SalesOrderView>>,
    /// BigCommerce orders and their products read in this run, by order id (`None`: 404).
    orders: BTreeMap<u64, Option<(Order, Vec<OrderProduct>)>>,
    /// The store's clock (`GET /v2/time`), read once per run when a grace period is judged.
    server_now: Option<Timestamp>,
}

impl<'c> Tracking<'c> {
    pub fn new(cfg: &'c TrackingConfig) -> Self {
        Tracking {
            cfg,
            notes: BTreeMap::new(),
            sales_orders: BTreeMap::new(),
            orders: BTreeMap::new(),
            server_now: None,
        }
    }
}

/// The ids of a Brightpearl ID set such as `12`, `1-3,7` (at most [`EVENT_IDS_MAX`]);
/// `None` when it is not one.
pub fn id_set(text: &str) -> Option<Vec<u64>> {
    let mut ids = Vec::new();
    for part in text.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?);
                if b < a || (b - a) as usize >= EVENT_IDS_MAX {
                    return None;
                }
                ids.extend(a..=b);
            }
            None => ids.push(part.parse::<u64>().ok()?),
        }
        if ids.len() > EVENT_IDS_MAX {
            return None;
        }
    }
    Some(ids)
}

/// One event per id: Brightpearl webhooks registered with `idSetAccepted` carry an ID set
/// (`1-3,7`) as the resource id (brightpearl-api.md §11 [doc]); the engine takes one id per
/// event. A plain id (a BigCommerce order id) is left as it is.
pub fn one_event_per_id(trigger: &Trigger) -> Trigger {
    let Trigger::Events(events) = trigger else {
        return trigger.clone();
    };
    let mut out = Vec::new();
    for e in events {
        match id_set(&e.entity_id) {
            Some(ids) if ids.len() > 1 => out.extend(ids.into_iter().map(|id| Event {
                entity_id: id.to_string(),
                ..e.clone()
            })),
            _ => out.push(e.clone()),
        }
    }
    Trigger::Events(out)
}

/// Replay references of the status passes ([`crate::status`]).
const ORDER_REPLAY: &str = "bigcommerce:order:";
const SALES_ORDER_REPLAY: &str = "brightpearl:sales-order:";

/// Add `more` to `into`: counters of the same name summed (the first summary's order kept),
/// notes appended.
fn merge(into: &mut RunSummary, more: RunSummary) {
    for (k, v) in more.counts {
        match into.counts.iter_mut().find(|(n, _)| *n == k) {
            Some((_, n)) => *n += v,
            None => into.counts.push((k, v)),
        }
    }
    into.notes.extend(more.notes);
}

/// Do the work for one trigger; `now` is the time in unix seconds (UTC). Up to three passes
/// on the engine ([`engine::run`] says when each fails: a bad replay reference, an unreadable
/// sweep, 401/403 from either system; the first failure fails the run):
/// 1. with `statuses.brightpearl_cancelled`: BigCommerce cancellations → Brightpearl
///    ([`crate::status::BigCommerceCancellations`]);
/// 2. with a `statuses` section: Brightpearl statuses → BigCommerce
///    ([`crate::status::BrightpearlStatuses`]);
/// 3. shipped goods-out notes → shipments ([`Tracking`]).
///
/// A scheduled run runs every pass; an events run the passes its events are for (each
/// retries its held entities too); a replay the pass of each reference:
/// `bigcommerce:order:<id>`, `brightpearl:sales-order:<id>`, else `brightpearl:note:<id>`.
/// A replay of `reconcile:shipments:<since>` runs [`crate::reconcile::reconcile`] instead.
/// The summary lists the shipment counters first, then the status passes' (summed by name).
pub fn run_at(
    trigger: &Trigger,
    cfg: &TrackingConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    now: i64,
) -> Result<RunSummary, FlowError> {
    use crate::status::{
        BIGCOMMERCE_STATUS_EVENT, BRIGHTPEARL_STATUS_EVENT, BigCommerceCancellations,
        BrightpearlStatuses,
    };
    if let Some(since) = crate::reconcile::since_of(trigger) {
        return crate::reconcile::reconcile(cfg, api, state, report, since?);
    }
    let now = Timestamp(now);
    let trigger = one_event_per_id(trigger);
    // Which trigger each pass gets (`None`: the pass does not run).
    let (notes, cancels, statuses) = match &trigger {
        Trigger::Scheduled => (
            Some(Trigger::Scheduled),
            Some(Trigger::Scheduled),
            Some(Trigger::Scheduled),
        ),
        Trigger::Events(events) => {
            let only = |f: &dyn Fn(&Event) -> bool| {
                let picked: Vec<Event> = events.iter().filter(|e| f(e)).cloned().collect();
                (!picked.is_empty()).then_some(Trigger::Events(picked))
            };
            (
                only(&|e| e.scope == SHIPPED_EVENT),
                only(&|e| e.scope == BIGCOMMERCE_STATUS_EVENT),
                only(&|e| e.scope == BRIGHTPEARL_STATUS_EVENT),
            )
        }
        Trigger::Replay(refs) => {
            let pick = |f: &dyn Fn(&str) -> bool| {
                let picked: Vec<String> = refs.iter().filter(|r| f(r)).cloned().collect();
                (!picked.is_empty()).then_some(Trigger::Replay(picked))
            };
            (
                pick(&|r| !r.starts_with(ORDER_REPLAY) && !r.starts_with(SALES_ORDER_REPLAY)),
                pick(&|r| r.starts_with(ORDER_REPLAY)),
                pick(&|r| r.starts_with(SALES_ORDER_REPLAY)),
            )
        }
    };
    let not_configured = |pass: &Option<Trigger>, what: &str| {
        if let Some(Trigger::Replay(refs)) = pass {
            return Err(FlowError::Internal(format!(
                "replay `{}`: {what} is not configured for this client (flows.tracking.mapping.statuses)",
                refs[0]
            )));
        }
        Ok(())
    };
    let mut summary = RunSummary {
        counts: COUNTERS.iter().map(|c| (c.to_string(), 0)).collect(),
        notes: vec![],
    };
    let mut status_summary = RunSummary {
        counts: vec![],
        notes: vec![],
    };
    match cfg.statuses.as_ref() {
        Some(st) => {
            if st.brightpearl_cancelled.is_some() {
                if let Some(t) = &cancels {
                    let mut flow = BigCommerceCancellations::new(cfg, st);
                    merge(
                        &mut status_summary,
                        engine::run(&mut flow, t, api, state, report, now)?,
                    );
                }
            } else {
                not_configured(&cancels, "cancelling sales orders (brightpearl_cancelled)")?;
            }
            if let Some(t) = &statuses {
                let mut flow = BrightpearlStatuses::new(cfg, st);
                merge(
                    &mut status_summary,
                    engine::run(&mut flow, t, api, state, report, now)?,
                );
            }
        }
        None => {
            not_configured(&cancels, "cancelling sales orders")?;
            not_configured(&statuses, "the status write-back")?;
        }
    }
    if let Some(t) = &notes {
        merge(
            &mut summary,
            engine::run(&mut Tracking::new(cfg), t, api, state, report, now)?,
        );
    }
    merge(&mut summary, status_summary);
    Ok(summary)
}

/// Notes of the given Brightpearl orders (shipped or not), by note id:
/// `GET /warehouse-service/order/<orderIdSet>/goods-note/goods-out` (≤ 200 orders a call).
pub fn goods_out_notes_of_orders(
    api: &dyn Api,
    orders: &[u64],
) -> Result<BTreeMap<u64, GoodsOutNote>, ApiError> {
    let mut out = BTreeMap::new();
    for chunk in pearlbridge_sdk::idset::chunks(orders, ID_SET_MAX) {
        let path = format!("/warehouse-service/order/{chunk}/goods-note/goods-out");
        let got: Envelope<serde_json::Value> = engine::get_json(api, System::Brightpearl, &path)?;
        if let Some(map) = got.response.as_object() {
            for (id, v) in map {
                let note: GoodsOutNote =
                    serde_json::from_value(v.clone()).map_err(|e| ApiError::Decode {
                        what: "GET /warehouse-service/order/{id}/goods-note/goods-out".into(),
                        message: format!("goods-out note {id}: {e}"),
                    })?;
                if let Ok(id) = id.parse::<u64>() {
                    out.insert(id, note);
                }
            }
        }
    }
    Ok(out)
}

/// `GET /warehouse-service/order/*/goods-note/goods-out/<idSet>` for `ids` (≤ 200 a call):
/// the notes Brightpearl has, by id. A note that does not decode is an [`ApiError::Decode`]
/// naming the note and the field.
pub fn goods_out_notes(
    api: &dyn Api,
    ids: &[u64],
) -> Result<BTreeMap<u64, GoodsOutNote>, ApiError> {
    let mut out = BTreeMap::new();
    for chunk in pearlbridge_sdk::idset::chunks(ids, ID_SET_MAX) {
        let path = format!("/warehouse-service/order/*/goods-note/goods-out/{chunk}");
        let got: Envelope<serde_json::Value> = engine::get_json(api, System::Brightpearl, &path)?;
        // A map note id → note; an empty answer may be `[]`.
        let Some(map) = got.response.as_object() else {
            continue;
        };
        for (id, v) in map {
            let note: GoodsOutNote =
                serde_json::from_value(v.clone()).map_err(|e| ApiError::Decode {
                    what: "GET /warehouse-service/order/*/goods-note/goods-out".into(),
                    message: format!("goods-out note {id}: {e}"),
                })?;
            if let Ok(id) = id.parse::<u64>() {
                out.insert(id, note);
            }
        }
    }
    Ok(out)
}

/// `GET /order-service/order/<idSet>` for `ids` (≤ 200 a call): the orders Brightpearl has
/// (a missing one is simply absent, §3.2 [obs]), by id.
pub fn sales_orders(api: &dyn Api, ids: &[u64]) -> Result<BTreeMap<u64, SalesOrderView>, ApiError> {
    let mut out = BTreeMap::new();
    for chunk in pearlbridge_sdk::idset::chunks(ids, ID_SET_MAX) {
        let path = format!("/order-service/order/{chunk}");
        let got: Envelope<Vec<serde_json::Value>> =
            engine::get_json(api, System::Brightpearl, &path)?;
        for v in got.response {
            let so: SalesOrderView =
                serde_json::from_value(v.clone()).map_err(|e| ApiError::Decode {
                    what: "GET /order-service/order".into(),
                    message: format!("order {}: {e}", v.get("id").unwrap_or(&v)),
                })?;
            out.insert(so.id, so);
        }
    }
    Ok(out)
}

/// The goods-out notes shipped since `from` (transfers left out) with their `shippedOn`,
/// oldest first: `GET /warehouse-service/goods-note/goods-out-search?shipped=true&shippedOn=<from>/`,
/// pages of 500, at most `max_pages`.
pub fn shipped_notes_since(
    api: &dyn Api,
    from: Timestamp,
    max_pages: u32,
) -> Result<Vec<(u64, Option<Timestamp>)>, ApiError> {
    let mut out = Vec::new();
    let mut first = 1u64;
    for _ in 0..max_pages.max(1) {
        let path = format!(
            "/warehouse-service/goods-note/goods-out-search?shipped=true&shippedOn={}/&pageSize=500&firstResult={first}",
            from.to_iso8601()
        );
        let page: Envelope<SearchResponse> = engine::get_json(api, System::Brightpearl, &path)?;
        let page = page.response;
        let got = page.results.len() as u64;
        for row in page.rows() {
            let Some(id) = row.u64("goodsOutNoteId") else {
                continue;
            };
            if row.0.get("transfer").and_then(|v| v.as_bool()) == Some(true) {
                continue;
            }
            let shipped = row
                .str("shippedOn")
                .and_then(|s| Timestamp::parse_iso8601(&s).ok());
            out.push((id, shipped));
        }
        if !page.meta_data.more_pages_available || got == 0 {
            break;
        }
        first = page.meta_data.last_result.max(first + got - 1) + 1;
    }
    out.sort_by_key(|(_, t)| *t);
    Ok(out)
}

/// Every shipment of BigCommerce order `order_id`: `GET /v2/orders/{id}/shipments?limit=250&page=N`
/// until a short or 204 page (at most 20 pages). Errors name the call.
pub fn order_shipments(api: &dyn Api, order_id: u64) -> Result<Vec<Shipment>, ApiError> {
    let mut all = Vec::new();
    let what = format!("GET /v2/orders/{order_id}/shipments");
    for page in 1..=20 {
        let rows: Vec<Shipment> = bigcommerce::Client::new(api).list(
            format!("/v2/orders/{order_id}/shipments?limit=250&page={page}"),
            &what,
        )?;
        let short = rows.len() < 250;
        all.extend(rows);
        if short {
            break;
        }
    }
    Ok(all)
}

/// `POST /v2/orders/{id}/shipments` with `body` → the new shipment's id. Not idempotent by
/// itself: called inside [`Cx::write_once`].
pub fn create_shipment(api: &dyn Api, order_id: u64, body: &NewShipment) -> Result<u64, ApiError> {
    let created: Shipment = engine::post_json(
        api,
        System::Bigcommerce,
        &format!("/v2/orders/{order_id}/shipments"),
        body,
    )?;
    Ok(created.id)
}

/// The shipments of `order_id` this flow claimed, shipment id → the note key id.
fn claims(cx: &Cx, order_id: u64) -> BTreeMap<u64, String> {
    cx.mark(&Key::new(System::Bigcommerce, "order", order_id), CLAIMS)
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default()
}

fn claim(cx: &Cx, order_id: u64, shipment_id: u64, note_key: &Key) {
    let mut c = claims(cx, order_id);
    c.insert(shipment_id, note_key.id.clone());
    cx.set_mark(
        &Key::new(System::Bigcommerce, "order", order_id),
        CLAIMS,
        &serde_json::to_string(&c).unwrap_or_default(),
    );
}

impl Flow for Tracking<'_> {
    type Id = u64;
    /// The note id (the sweep's search rows carry no more; [`Flow::prefetch`] reads the notes).
    type Item = u64;

    fn settings(&self) -> Settings {
        Settings {
            name: "tracking",
            system: System::Brightpearl,
            kind: "note",
            plural: "notes",
            open_marks: &["awaiting"],
            retry_kind: kinds::SHIPMENT_POST_FAILED,
            retry_owner: Team::Integration,
            retry_exception_after: self.cfg.retry_exception_after,
            sweep: Some(Sweep::Since(SweepSettings {
                overlap_minutes: self.cfg.sweep.overlap_minutes,
                initial_lookback_hours: self.cfg.sweep.initial_lookback_hours,
            })),
            counters: COUNTERS,
        }
    }

    /// The store's clock (`GET /v2/time`): Brightpearl has no clock endpoint, and BigCommerce
    /// and Brightpearl agree on the time far better than the host may (and in the sandbox
    /// they share a simulated clock).
    fn clock(&mut self, cx: &mut Cx) -> Result<Timestamp, ApiError> {
        self.server_now(cx)
    }

    /// Brightpearl `goods-out-note.modified.shipped` events.
    fn event_id(&self, e: &Event) -> Option<String> {
        (e.source == System::Brightpearl && e.scope == SHIPPED_EVENT).then(|| e.entity_id.clone())
    }

    /// Notes shipped since `from`: `goods-out-search?shipped=true&shippedOn=<from>/`, pages of
    /// 500, at most `sweep.max_pages`; transfers left out.
    fn sweep(&mut self, cx: &mut Cx, from: Timestamp) -> Result<SweptList<Self>, ApiError> {
        Ok(shipped_notes_since(cx.api, from, self.cfg.sweep.max_pages)?
            .into_iter()
            .map(|(id, modified)| Swept {
                id,
                modified,
                item: id,
            })
            .collect())
    }

    /// The swept notes not linked yet and their sales orders, in ID sets of 200.
    fn prefetch(&mut self, cx: &mut Cx, items: &[&u64]) -> Result<(), ApiError> {
        let ids: Vec<u64> = items
            .iter()
            .map(|id| **id)
            .filter(|id| cx.mark(&cx.key(id), Mark::Link).is_none())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        self.notes = goods_out_notes(cx.api, &ids)?;
        let mut orders: Vec<u64> = self
            .notes
            .values()
            .filter(|n| n.status.shipped && n.order_id > 0)
            .map(|n| n.order_id)
            .collect();
        orders.sort_unstable();
        orders.dedup();
        let found = sales_orders(cx.api, &orders)?;
        for id in orders {
            self.sales_orders.insert(id, found.get(&id).cloned());
        }
        Ok(())
    }

    fn process(&mut self, cx: &mut Cx, id: &u64, _item: Option<u64>) -> Result<Outcome, Stop> {
        self.process_note(cx, *id)
    }
}

impl Tracking<'_> {
    fn server_now(&mut self, cx: &Cx) -> Result<Timestamp, ApiError> {
        if let Some(t) = self.server_now {
            return Ok(t);
        }
        let t = Timestamp(bigcommerce::Client::new(cx.api).time()?);
        self.server_now = Some(t);
        Ok(t)
    }

    fn note(&mut self, cx: &Cx, id: u64) -> Result<Option<GoodsOutNote>, ApiError> {
        if let Some(n) = self.notes.remove(&id) {
            return Ok(Some(n));
        }
        Ok(goods_out_notes(cx.api, &[id])?.remove(&id))
    }

    fn sales_order(&mut self, cx: &Cx, id: u64) -> Result<Option<SalesOrderView>, ApiError> {
        if let Some(so) = self.sales_orders.get(&id) {
            return Ok(so.clone());
        }
        let so = sales_orders(cx.api, &[id])?.remove(&id);
        self.sales_orders.insert(id, so.clone());
        Ok(so)
    }

    fn order(&mut self, cx: &Cx, id: u64) -> Result<Option<(Order, Vec<OrderProduct>)>, ApiError> {
        if let Some(o) = self.orders.get(&id) {
            return Ok(o.clone());
        }
        let bc = bigcommerce::Client::new(cx.api);
        let found = match bc.order(id)? {
            Some(order) => Some((order, bc.order_products(id)?)),
            None => None,
        };
        self.orders.insert(id, found.clone());
        Ok(found)
    }

    fn process_note(&mut self, cx: &mut Cx, id: u64) -> Result<Outcome, Stop> {
        let key = cx.key(id);
        let entity = note_entity(id);
        if cx.linked(&key)?.is_some() {
            cx.count("already_posted");
            cx.clear_mark(&key, AWAITING);
            return Ok(Outcome::Clear);
        }
        let Some(note) = self.note(cx, id)? else {
            cx.log(Level::Warn, &format!("{entity}: not found in Brightpearl"));
            cx.clear_mark(&key, AWAITING);
            return Ok(Outcome::Clear);
        };
        if note.transfer || note.order_id == 0 {
            return Ok(Outcome::Unchanged);
        }
        if !note.status.shipped {
            cx.count("not_shipped");
            return Ok(Outcome::Unchanged);
        }
        let Some(so) = self.sales_order(cx, note.order_id)? else {
            cx.log(
                Level::Warn,
                &format!(
                    "{entity}: its sales order {} is not in Brightpearl",
                    note.order_id
                ),
            );
            return Ok(Outcome::Unchanged);
        };
        let Some(order_id) = mapping::bigcommerce_order_id(&so, self.cfg) else {
            cx.count("not_from_bigcommerce");
            return Ok(Outcome::Clear);
        };
        let Some((order, products)) = self.order(cx, order_id)? else {
            return Err(Problem {
                kind: kinds::SHIPMENT_ORDER_MISSING,
                owner: Team::Integration,
                message: format!(
                    "{entity}: sales order {} names BigCommerce order {order_id} (externalRef {:?}, ref {:?}), which BigCommerce does not have (404): the shipment cannot be posted",
                    note.order_id, so.external_ref, so.reference
                ),
                impact: None,
            }
            .into());
        };
        let (value, currency) = mapping::order_value(&order);
        cx.at_stake(&key, Impact::new(value, currency));
        if mapping::CLOSED_STATUSES.contains(&order.status_id) {
            return Err(Problem {
                kind: kinds::SHIPPED_CANCELLED_ORDER,
                owner: Team::CustomerService,
                message: format!(
                    "{entity} (sales order {}) was shipped, but BigCommerce order {order_id} is {} (status {}): no shipment is posted",
                    note.order_id, order.status, order.status_id
                ),
                impact: None,
            }
            .into());
        }
        let mapped = mapping::map_note(id, &note, &so, order_id, &products, self.cfg)
            .map_err(|problems| Stop::Hold(problems.into_iter().map(Problem::from).collect()))?;
        if mapped.tracking_missing {
            let grace = self.cfg.missing_tracking.grace_minutes;
            match self.cfg.missing_tracking.action {
                MissingTrackingAction::Hold => {
                    // A shipment of these items created by hand in BigCommerce settles it.
                    if let Some(found) =
                        self.found_by_items(cx, order_id, &key, &mapped.shipments)?
                    {
                        cx.link(&key, found);
                        cx.count("already_posted");
                        return Ok(Outcome::Clear);
                    }
                    return Err(Problem {
                        kind: kinds::MISSING_TRACKING,
                        owner: Team::CustomerService,
                        message: format!(
                            "{entity} (sales order {}, BigCommerce order {order_id}) was shipped on {} without a tracking number (`shipping.reference` is empty): no BigCommerce shipment is created, so the customer has no shipment email",
                            note.order_id, note.status.shipped_on
                        ),
                        impact: None,
                    }
                    .into());
                }
                MissingTrackingAction::Post => {
                    let shipped = Timestamp::parse_iso8601(&note.status.shipped_on).ok();
                    let due = shipped.map(|t| t.plus_seconds(grace * 60));
                    let now = self.server_now(cx)?;
                    if due.is_some_and(|due| now < due) {
                        cx.set_mark(&key, AWAITING, &note.status.shipped_on);
                        cx.count("awaiting_tracking");
                        cx.log(
                            Level::Info,
                            &format!(
                                "{entity}: shipped on {} without a tracking number; posted without one after {grace} minutes",
                                note.status.shipped_on
                            ),
                        );
                        return Ok(Outcome::Unchanged);
                    }
                }
            }
        }
        let several = mapped.shipments.len() > 1;
        let mut first_id = None;
        for shipment in &mapped.shipments {
            let write_key = if several {
                Key::new(
                    System::Brightpearl,
                    "note",
                    format!("{id}@{}", shipment.order_address_id),
                )
            } else {
                key.clone()
            };
            let shipment_id = self.post(cx, id, order_id, &write_key, shipment)?;
            first_id.get_or_insert(shipment_id);
        }
        if several && let Some(first) = first_id {
            cx.link(&key, first);
        }
        if mapped.tracking_missing {
            cx.count("posted_without_tracking");
        }
        cx.clear_mark(&key, AWAITING);
        Ok(Outcome::Clear)
    }

    /// A shipment of `order_id` (not claimed by another note) with exactly the items of each
    /// of `wanted` (any tracking number); only for a note with one order address.
    fn found_by_items(
        &self,
        cx: &Cx,
        order_id: u64,
        key: &Key,
        wanted: &[NewShipment],
    ) -> Result<Option<u64>, ApiError> {
        let [one] = wanted else {
            return Ok(None);
        };
        let taken = claims(cx, order_id);
        Ok(order_shipments(cx.api, order_id)?
            .into_iter()
            .filter(|s| taken.get(&s.id).is_none_or(|k| *k == key.id))
            .find(|s| mapping::same_items(s, one))
            .map(|s| {
                claim(cx, order_id, s.id, key);
                s.id
            }))
    }

    /// Post one shipment once ([`Cx::write_once`] under `write_key`); after a lost response
    /// or a crash, the order's shipments are listed and one with the same address, tracking
    /// number and items that no other note claimed is linked instead. A 4xx holds the note
    /// with `shipment-rejected`.
    fn post(
        &self,
        cx: &mut Cx,
        note_id: u64,
        order_id: u64,
        write_key: &Key,
        shipment: &NewShipment,
    ) -> Result<u64, Stop> {
        let api = cx.api;
        let taken = claims(cx, order_id);
        let written = cx.write_once(
            write_key,
            "shipment",
            false,
            || {
                Ok(order_shipments(api, order_id)?
                    .into_iter()
                    .filter(|s| taken.get(&s.id).is_none_or(|k| *k == write_key.id))
                    .find(|s| mapping::same_shipment(s, shipment))
                    .map(|s| s.id))
            },
            || create_shipment(api, order_id, shipment),
        );
        let written = match written {
            Ok(w) => w,
            Err(Stop::Api(e)) if is_rejection(&e) => {
                return Err(Problem {
                    kind: kinds::SHIPMENT_REJECTED,
                    owner: Team::Integration,
                    message: format!(
                        "{}: BigCommerce refused the shipment of order {order_id} to order address {}: {}",
                        note_entity(note_id),
                        shipment.order_address_id,
                        e
                    ),
                    impact: None,
                }
                .into());
            }
            Err(other) => return Err(other),
        };
        claim(cx, order_id, written.id(), write_key);
        if written.by_this_run() {
            cx.count("shipments_created");
        } else {
            cx.count("already_posted");
        }
        Ok(written.id())
    }
}
