//! BigCommerce REST API simulator (v2 orders, v3 orders/catalog/inventory/price lists/hooks).
//!
//! Serves `/stores/{store_hash}/v2/...` and `/stores/{store_hash}/v3/...` with the JSON shapes,
//! status codes, headers, pagination and error bodies of `shared/reference/bigcommerce-api.md`
//! (the reference doc is the source; section numbers below point into it). Fidelity tags:
//! [doc] documented by BigCommerce, [obs] seen in public issue reports / real traffic,
//! [unconfirmed] assumed by the sandbox where the reference is silent or marks it "(unverified)".
//!
//! Every request goes through, in order:
//! 1. `X-Auth-Token` check: `401` otherwise (§1 [doc]; the body text is [unconfirmed]).
//! 2. The store quota: fixed 30 s window on the simulated [`Clock`], shared by every caller;
//!    `X-Rate-Limit-*` headers on every response, `429` + `X-Retry-After` when exceeded (§2 [doc]).
//! 3. Fault injection ([`Faults::decide`] with the path after `/stores/{hash}`).
//! 4. The endpoint, a plain function over the store state.
//! 5. Webhooks for what changed, POSTed to the callback set with
//!    [`BigCommerceSim::set_webhook_callback`] for every active hook whose scope matches (§10).
//!
//! Endpoints served (details and tags on each function in the submodules):
//!
//! | area | endpoints |
//! |---|---|
//! | v2 orders (`orders`) | `GET /v2/orders` (filters, `sort`, `page`, `limit` ≤ 250, 204 on an empty page), `GET /v2/orders/count`, `GET/PUT /v2/orders/{id}`, `GET .../products`, `.../shipping_addresses`, `.../coupons`, `.../taxes[?details=true]`, `GET/POST .../shipments`, `GET .../shipments/count`, `GET/PUT/DELETE .../shipments/{id}`, `GET /v2/order_statuses[/{id}]`, `GET /v2/time` |
//! | v2 customer groups (`customers`) | `GET /v2/customer_groups[/{id}]`, `GET /v2/customer_groups/count` |
//! | v3 payments (`payments`) | `GET /v3/orders/{id}/transactions`, `POST .../payment_actions/refund_quotes`, `GET/POST .../payment_actions/refunds`, `GET /v3/orders/payment_actions/refunds[/{id}]` |
//! | v3 catalog, inventory (`catalog`) | `GET /v3/settings/inventory`, `GET /v3/catalog/products[/{id}[/variants]]`, `GET/PUT /v3/catalog/variants`, `GET /v3/inventory/locations`, `GET /v3/inventory/items`, `GET /v3/inventory/locations/{id}/items`, `PUT /v3/inventory/adjustments/absolute`, `POST /v3/inventory/adjustments/relative` |
//! | v3 customers, price lists (`customers`) | `GET /v3/customers`, `GET /v3/pricelists[/{id}]`, `GET/PUT /v3/pricelists/{id}/records`, `GET/POST/DELETE /v3/pricelists/assignments`, `PUT /v3/pricelists/{id}/assignments` |
//! | v3 hooks (`webhooks`) | `GET/POST /v3/hooks`, `GET/PUT/DELETE /v3/hooks/{id}`, `GET/PUT /v3/hooks/admin` |
//!
//! Scripting (the "merchant" side: orders placed, statuses changed, refunds made in the control
//! panel) is a Rust API on [`BigCommerceSim`] and the same under `/_sandbox/bigcommerce/`:
//!
//! * `POST /_sandbox/bigcommerce/orders` — body a [`BigCommerceOrderBundle`] → 201 `{"id"}`
//! * `GET /_sandbox/bigcommerce/orders/{id}` → the order or 404
//! * `PUT /_sandbox/bigcommerce/orders/{id}/status` — `{"status_id"}` → 200 order / 404
//! * `POST /_sandbox/bigcommerce/orders/{id}/refunds` — v3 refund JSON → 201 `{"id"}` / 404
//! * `GET /_sandbox/bigcommerce/orders/{id}/shipments` → shipments array
//! * `GET /_sandbox/bigcommerce/shipment_emails` → `[{"order_id", "shipment_id"}]`
//! * `GET /_sandbox/bigcommerce/inventory` → [`InventoryLevel`] array
//! * `GET /_sandbox/bigcommerce/pricelists/{id}/records` → records array
//! * `GET /_sandbox/bigcommerce/webhooks` → [`WebhookDelivery`] array
//! * `PUT /_sandbox/bigcommerce/webhook_callback` — `{"url": "..." | null}` → 204
//! * `GET /_sandbox/bigcommerce/stats` → `{"request_count", "throttled_count"}`

// The fidelity tags [doc] / [obs] / [unconfirmed] are plain text, not intra-doc links.
#![allow(rustdoc::broken_intra_doc_links)]

mod admin;
mod catalog;
mod customers;
mod http;
mod json;
mod orders;
mod payments;
mod ratelimit;
mod refund_script;
mod state;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::faults::{FaultKind, Faults, dropped_connection};
use crate::seed::{BigCommerceOrderBundle, BigCommerceSeed};
use http::{Req, Resp, Ver};
pub use ratelimit::{RateDecision, WINDOW_MS};
pub use refund_script::RefundTo;
use state::State;

/// Store settings of the simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct BigCommerceConfig {
    /// The `store_hash` in `/stores/{store_hash}/...` [doc].
    pub store_hash: String,
    /// The only `X-Auth-Token` accepted [doc].
    pub token: String,
    /// Requests per 30 s window: 150 on Standard/Plus, 450 on Pro [doc] (§2).
    pub quota_per_30s: u32,
}

impl BigCommerceConfig {
    /// A Standard/Plus store (quota 150 per 30 s [doc]).
    pub fn new(store_hash: impl Into<String>, token: impl Into<String>) -> Self {
        BigCommerceConfig {
            store_hash: store_hash.into(),
            token: token.into(),
            quota_per_30s: 150,
        }
    }
}

impl Default for BigCommerceConfig {
    /// Store hash `sandbox`, token `sandbox-token`, quota 150.
    fn default() -> Self {
        BigCommerceConfig::new("sandbox", "sandbox-token")
    }
}

/// One webhook POST the simulator made (or is about to make) to the callback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookDelivery {
    /// The hook (`/v3/hooks` id) it was sent for.
    pub hook_id: i64,
    /// Callback URL it went to (the hook's own `destination` is recorded in the hook only).
    pub url: String,
    /// The custom headers registered with the hook [doc], sent with the callback.
    pub headers: BTreeMap<String, String>,
    /// `{scope, store_id, data, hash, created_at, producer}` [doc] (§10).
    pub payload: Value,
    /// HTTP status of the latest attempt; `None` while pending or when the POST failed.
    pub status: Option<u16>,
    /// POSTs made so far (1 + retries). A non-2xx answer or a failed POST is retried after
    /// 60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400 and 86400 simulated seconds [doc]
    /// (§10); the hook is not deactivated by the sandbox [unconfirmed: ~48 h in the real API].
    pub attempts: u32,
}

/// Stock of one variant at one inventory location (for scripting/assertions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryLevel {
    pub product_id: i64,
    pub variant_id: i64,
    pub sku: String,
    pub location_id: i64,
    /// `total_inventory_onhand`.
    pub on_hand: i64,
    pub safety_stock: i64,
}

/// Per-request context for the endpoint functions.
pub(crate) struct Ctx {
    pub now: DateTime<Utc>,
    pub store_hash: String,
    /// Numeric `store_id` string used in webhook payloads [doc].
    pub store_id: String,
    /// `client_id` of the (single) API account; hooks carry it [doc].
    pub client_id: String,
}

type DeliveryQueue = tokio::sync::mpsc::UnboundedSender<(usize, WebhookDelivery)>;

/// The simulated BigCommerce store. Share it as `Arc<BigCommerceSim>`.
pub struct BigCommerceSim {
    cfg: BigCommerceConfig,
    clock: Clock,
    faults: Faults,
    state: Mutex<State>,
    callback: Mutex<Option<String>>,
    requests: AtomicU64,
    throttled: AtomicU64,
    deliveries: Arc<Mutex<Vec<WebhookDelivery>>>,
    queue: Mutex<Option<DeliveryQueue>>,
}

impl BigCommerceSim {
    /// A store loaded from `seed` (orders read back exactly as seeded).
    pub fn new(
        cfg: BigCommerceConfig,
        seed: BigCommerceSeed,
        clock: Clock,
        faults: Faults,
    ) -> Arc<Self> {
        Arc::new(BigCommerceSim {
            cfg,
            clock,
            faults,
            state: Mutex::new(State::from_seed(seed)),
            callback: Mutex::new(None),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            deliveries: Arc::new(Mutex::new(Vec::new())),
            queue: Mutex::new(None),
        })
    }

    /// Routes `/stores/{store_hash}/...` (the API) and `/_sandbox/bigcommerce/...` (scripting).
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/stores/{store_hash}/{*rest}", any(api_handler))
            .merge(admin::routes())
            .with_state(self.clone())
    }

    /// Where webhooks go (`None`: not sent). Real hooks need an https `destination` on port 443
    /// [doc]; the sandbox sends every matching hook's callbacks to this one URL instead.
    pub fn set_webhook_callback(&self, url: Option<String>) {
        *self.callback.lock().expect("callback lock") = url;
    }

    /// API requests received under `/stores/...` (including refused ones).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Requests answered `429` by the quota.
    pub fn throttled_count(&self) -> u64 {
        self.throttled.load(Ordering::SeqCst)
    }

    /// The configuration.
    pub fn config(&self) -> &BigCommerceConfig {
        &self.cfg
    }

    /// The simulated clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The fault injector (its rules can be changed while the store serves, e.g. to drop the
    /// responses of committed shipment POSTs in a test).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The numeric store id (webhook `store_id`), derived from the store hash.
    pub fn store_id(&self) -> String {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in self.cfg.store_hash.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        (1_000_000 + h % 9_000_000).to_string()
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            now: self.clock.now(),
            store_hash: self.cfg.store_hash.clone(),
            store_id: self.store_id(),
            client_id: format!("sandbox-client-{}", self.cfg.store_hash),
        }
    }

    /// Runs `f` on the state, then delivers the webhook events it produced.
    fn with_state<T>(&self, f: impl FnOnce(&mut State, &Ctx) -> T) -> T {
        let ctx = self.ctx();
        let (out, deliveries) = {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let out = f(&mut st, &ctx);
            let events = std::mem::take(&mut st.events);
            (out, webhooks::payloads(&st.hooks, &events, &ctx))
        };
        self.deliver(deliveries);
        out
    }

    fn deliver(&self, hooks: Vec<(i64, BTreeMap<String, String>, Value)>) {
        let Some(url) = self.callback.lock().expect("callback lock").clone() else {
            return;
        };
        if hooks.is_empty() {
            return;
        }
        let mut queue = self.queue.lock().expect("queue lock");
        if queue.is_none() {
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                tracing::warn!("bigcommerce sandbox: no tokio runtime, webhooks not sent");
                return;
            };
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            rt.spawn(webhooks::delivery_worker(
                rx,
                self.deliveries.clone(),
                self.clock.clone(),
            ));
            *queue = Some(tx);
        }
        let tx = queue.as_ref().expect("queue");
        let mut log = self.deliveries.lock().expect("deliveries lock");
        for (hook_id, headers, payload) in hooks {
            let d = WebhookDelivery {
                hook_id,
                url: url.clone(),
                headers,
                payload,
                status: None,
                attempts: 0,
            };
            log.push(d.clone());
            let _ = tx.send((log.len() - 1, d));
        }
    }

    // ---- scripting API (the merchant / storefront side) ----

    /// Places an order (as the storefront would): assigns the order id when it is 0 or absent
    /// (and order product / address ids likewise), sets `date_created`/`date_modified` from the
    /// clock, fires `store/order/created` [doc], and takes the lines' quantities off the
    /// default location's stock (`update_stock_behavior = order_placed`, see
    /// `GET /v3/settings/inventory`). Returns the order id.
    pub fn create_order(&self, bundle: BigCommerceOrderBundle) -> i64 {
        self.with_state(|st, ctx| {
            let id = st.insert_bundle(bundle, Some(ctx.now));
            st.emit("store/order/created", json!({"type": "order", "id": id}));
            let lines = st.orders[&id].products.clone();
            catalog::order_placed(st, &lines, ctx.now);
            id
        })
    }

    /// Changes an order's status as the merchant would (updates `date_modified`, fires
    /// `store/order/updated` and `store/order/statusUpdated`). False if there is no such order
    /// or the status id is not 0..=14.
    pub fn update_order_status(&self, id: i64, status_id: i64) -> bool {
        self.with_state(|st, ctx| orders::set_status(st, ctx, id, status_id))
    }

    /// Records a refund made in the control panel: `refund` in the v3 refund shape (§7); `id`,
    /// `order_id` and `created` are filled in when absent. Updates the order's refund status
    /// and fires `store/order/refund/created`. `None` if there is no such order.
    pub fn create_refund(&self, order_id: i64, refund: Value) -> Option<i64> {
        self.with_state(|st, ctx| payments::scripted_refund(st, ctx, order_id, refund))
    }

    /// The order as `GET /v2/orders/{id}` returns it.
    pub fn order(&self, id: i64) -> Option<Value> {
        let ctx = self.ctx();
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.orders
            .get(&id)
            .map(|r| orders::with_links(&r.order, &ctx))
    }

    /// The order's shipments as `GET /v2/orders/{id}/shipments` returns them.
    pub fn shipments(&self, order_id: i64) -> Vec<Value> {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.orders
            .get(&order_id)
            .map(|r| r.shipments.clone())
            .unwrap_or_default()
    }

    /// The order products as `GET /v2/orders/{id}/products` returns them.
    pub fn order_products(&self, order_id: i64) -> Vec<Value> {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.orders
            .get(&order_id)
            .map(|r| r.products.clone())
            .unwrap_or_default()
    }

    /// `(order_id, shipment_id)` of every customer shipment email sent, in order (§6: creating a
    /// shipment emails the customer [doc]).
    pub fn shipment_emails_sent(&self) -> Vec<(i64, i64)> {
        self.state
            .lock()
            .expect("state lock")
            .shipment_emails
            .clone()
    }

    /// Every variant's stock at every location that has a record.
    pub fn inventory_levels(&self) -> Vec<InventoryLevel> {
        catalog::inventory_levels(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Every catalog product as stored, with its `variants`.
    pub fn products(&self) -> Vec<Value> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .products
            .clone()
    }

    /// The records of a price list as stored.
    pub fn price_list_records(&self, price_list_id: i64) -> Vec<Value> {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.price_list_records
            .iter()
            .filter(|r| json::int(r, "price_list_id") == Some(price_list_id))
            .cloned()
            .collect()
    }

    /// The refunds of an order (v3 refund JSON).
    pub fn refunds(&self, order_id: i64) -> Vec<Value> {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.refunds
            .iter()
            .filter(|r| json::int(r, "order_id") == Some(order_id))
            .cloned()
            .collect()
    }

    /// The registered hooks (`/v3/hooks` objects).
    pub fn hooks(&self) -> Vec<Value> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hooks
            .clone()
    }

    /// Webhook POSTs made so far, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.deliveries.lock().expect("deliveries lock").clone()
    }

    // ---- request pipeline ----

    async fn handle(
        &self,
        hash: &str,
        rest: &str,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let path = format!("/{}", rest.trim_end_matches('/'));
        let ver = if path.starts_with("/v3") {
            Ver::V3
        } else {
            Ver::V2
        };
        let token_ok = headers.get("x-auth-token").and_then(|v| v.to_str().ok())
            == Some(self.cfg.token.as_str());
        let elapsed = self.clock.elapsed_ms();
        if !token_ok {
            let rate = self
                .state
                .lock()
                .expect("state lock")
                .rate
                .peek(elapsed, self.cfg.quota_per_30s);
            // 401 bodies are [unconfirmed]; the status is [doc].
            return respond(
                Resp::error(
                    ver,
                    401,
                    "No valid credential found in the X-Auth-Token header.",
                ),
                &rate,
            );
        }
        let rate = self
            .state
            .lock()
            .expect("state lock")
            .rate
            .take(elapsed, self.cfg.quota_per_30s);
        if !rate.allowed {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            // Body text [unconfirmed]; status and headers [doc].
            let mut r = respond(
                Resp::error(
                    ver,
                    429,
                    "Too many requests. Retry after the window resets.",
                ),
                &rate,
            );
            r.headers_mut()
                .insert("x-retry-after", HeaderValue::from(rate.retry_after_s()));
            return r;
        }
        if hash != self.cfg.store_hash {
            return respond(Resp::not_found(ver), &rate);
        }
        let mut commit_then_drop = false;
        match self.faults.decide(method.as_str(), &path) {
            None => {}
            Some(FaultKind::Latency { ms }) => self.clock.sleep_simulated(ms).await,
            Some(FaultKind::Status { status }) => {
                let msg = axum::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                let resp = respond(Resp::error(ver, status, msg), &rate);
                return if status == 429 {
                    without_rate_headers(resp)
                } else {
                    resp
                };
            }
            Some(FaultKind::DropBeforeProcessing) => return dropped_connection(),
            Some(FaultKind::CommitThenDrop) => commit_then_drop = true,
        }
        let query = match Query::<Vec<(String, String)>>::try_from_uri(uri) {
            Ok(Query(q)) => q,
            Err(_) => {
                return respond(
                    Resp::error(ver, 400, "The query string is not valid."),
                    &rate,
                );
            }
        };
        let req = Req {
            method,
            query,
            body: body.to_vec(),
        };
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let resp = self.with_state(|st, ctx| route(st, ctx, &segs, &req));
        if commit_then_drop {
            return dropped_connection();
        }
        respond(resp, &rate)
    }
}

async fn api_handler(
    AxState(sim): AxState<Arc<BigCommerceSim>>,
    Path((hash, rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.handle(&hash, &rest, method, &uri, &headers, body).await
}

/// Turns a [`Resp`] into an HTTP response with the rate-limit headers (§2 [doc]).
fn respond(r: Resp, rate: &RateDecision) -> Response {
    let status = axum::http::StatusCode::from_u16(r.status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match r.body {
        Some(b) => (
            status,
            [("content-type", "application/json")],
            b.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    let h = resp.headers_mut();
    h.insert("x-rate-limit-time-window-ms", HeaderValue::from(WINDOW_MS));
    h.insert(
        "x-rate-limit-time-reset-ms",
        HeaderValue::from(rate.reset_ms),
    );
    h.insert("x-rate-limit-requests-quota", HeaderValue::from(rate.quota));
    h.insert("x-rate-limit-requests-left", HeaderValue::from(rate.left));
    resp
}

/// An injected 429 stands for "the platform itself is under load": it carries no
/// rate-limit headers [doc] (§2).
fn without_rate_headers(mut resp: Response) -> Response {
    for h in [
        "x-rate-limit-time-window-ms",
        "x-rate-limit-time-reset-ms",
        "x-rate-limit-requests-quota",
        "x-rate-limit-requests-left",
    ] {
        resp.headers_mut().remove(h);
    }
    resp
}

fn id_of(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// Dispatches one API request to its endpoint function.
fn route(st: &mut State, ctx: &Ctx, segs: &[&str], req: &Req) -> Resp {
    use Method as M;
    let m = &req.method;
    let ver = if segs.first() == Some(&"v3") {
        Ver::V3
    } else {
        Ver::V2
    };
    let nf = || Resp::not_found(ver);
    match segs {
        ["v2", "time"] if m == M::GET => Resp::ok(json!({"time": ctx.now.timestamp()})),
        // v2 orders (§3, §5, §6)
        ["v2", "orders"] if m == M::GET => orders::list(st, ctx, req),
        ["v2", "orders", "count"] if m == M::GET => orders::count(st),
        ["v2", "orders", id] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| orders::get(st, ctx, id, req))
        }
        ["v2", "orders", id] if m == M::PUT => {
            id_of(id).map_or_else(nf, |id| orders::update(st, ctx, id, req))
        }
        ["v2", "orders", id, "products"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| orders::products(st, id, req))
        }
        ["v2", "orders", id, "shipping_addresses"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| orders::shipping_addresses(st, id, req))
        }
        ["v2", "orders", id, "coupons"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| orders::coupons(st, id, req))
        }
        ["v2", "orders", id, "taxes"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| orders::taxes(st, id, req))
        }
        ["v2", "orders", id, "shipments"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| orders::shipments(st, id, req))
        }
        ["v2", "orders", id, "shipments"] if m == M::POST => {
            id_of(id).map_or_else(nf, |id| orders::create_shipment(st, ctx, id, req))
        }
        ["v2", "orders", id, "shipments", "count"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| orders::shipment_count(st, id))
        }
        ["v2", "orders", id, "shipments", sid] if m == M::GET => match (id_of(id), id_of(sid)) {
            (Some(id), Some(sid)) => orders::shipment(st, id, sid),
            _ => nf(),
        },
        ["v2", "orders", id, "shipments", sid] if m == M::PUT => match (id_of(id), id_of(sid)) {
            (Some(id), Some(sid)) => orders::update_shipment(st, id, sid, req),
            _ => nf(),
        },
        ["v2", "orders", id, "shipments", sid] if m == M::DELETE => match (id_of(id), id_of(sid)) {
            (Some(id), Some(sid)) => orders::delete_shipment(st, ctx, id, sid),
            _ => nf(),
        },
        ["v2", "order_statuses"] if m == M::GET => orders::statuses(),
        ["v2", "order_statuses", sid] if m == M::GET => id_of(sid).map_or_else(nf, orders::status),
        // v2 customer groups (§9)
        ["v2", "customer_groups"] if m == M::GET => customers::groups(st, req),
        ["v2", "customer_groups", "count"] if m == M::GET => customers::group_count(st),
        ["v2", "customer_groups", id] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| customers::group(st, id))
        }
        // v3 orders: transactions, refunds (§7)
        ["v3", "orders", "payment_actions", "refunds"] if m == M::GET => {
            payments::list_refunds(st, req)
        }
        ["v3", "orders", "payment_actions", "refunds", rid] if m == M::GET => {
            id_of(rid).map_or_else(nf, |rid| payments::get_refund(st, rid))
        }
        ["v3", "orders", id, "transactions"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| payments::transactions(st, id, req))
        }
        ["v3", "orders", id, "payment_actions", "refund_quotes"] if m == M::POST => {
            id_of(id).map_or_else(nf, |id| payments::refund_quote(st, id, req))
        }
        ["v3", "orders", id, "payment_actions", "refunds"] if m == M::POST => {
            id_of(id).map_or_else(nf, |id| payments::create_refund(st, ctx, id, req))
        }
        ["v3", "orders", id, "payment_actions", "refunds"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| payments::order_refunds(st, id, req))
        }
        // v3 catalog (§8)
        ["v3", "catalog", "products"] if m == M::GET => catalog::products(st, req),
        ["v3", "catalog", "products", id] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| catalog::product(st, id, req))
        }
        ["v3", "catalog", "products", id, "variants"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| catalog::product_variants(st, id, req))
        }
        ["v3", "catalog", "variants"] if m == M::GET => catalog::variants(st, req),
        ["v3", "catalog", "variants"] if m == M::PUT => catalog::update_variants(st, req, ctx.now),
        // v3 inventory (§8)
        ["v3", "inventory", "locations"] if m == M::GET => catalog::locations(st, req),
        ["v3", "inventory", "locations", id, "items"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| catalog::location_items(st, id, req))
        }
        ["v3", "settings", "inventory"] if m == M::GET => catalog::inventory_settings(),
        ["v3", "inventory", "items"] if m == M::GET => catalog::inventory_items(st, req),
        ["v3", "inventory", "adjustments", "absolute"] if m == M::PUT => {
            catalog::adjust(st, req, true, ctx.now)
        }
        ["v3", "inventory", "adjustments", "relative"] if m == M::POST => {
            catalog::adjust(st, req, false, ctx.now)
        }
        // v3 customers (§9)
        ["v3", "customers"] if m == M::GET => customers::customers(st, req),
        // v3 price lists (§9)
        ["v3", "pricelists"] if m == M::GET => customers::price_lists(st, req),
        ["v3", "pricelists", "assignments"] if m == M::GET => customers::assignments(st, req),
        ["v3", "pricelists", "assignments"] if m == M::POST => {
            customers::create_assignments(st, req)
        }
        ["v3", "pricelists", "assignments"] if m == M::DELETE => {
            customers::delete_assignments(st, req)
        }
        ["v3", "pricelists", id] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| customers::price_list(st, id))
        }
        ["v3", "pricelists", id, "records"] if m == M::GET => {
            id_of(id).map_or_else(nf, |id| customers::records(st, id, req))
        }
        ["v3", "pricelists", id, "records"] if m == M::PUT => {
            id_of(id).map_or_else(nf, |id| customers::upsert_records(st, ctx, id, req))
        }
        ["v3", "pricelists", id, "assignments"] if m == M::PUT => {
            id_of(id).map_or_else(nf, |id| customers::put_assignment(st, id, req))
        }
        // v3 hooks (§10)
        ["v3", "hooks"] if m == M::GET => webhooks::list(st, req),
        ["v3", "hooks"] if m == M::POST => webhooks::create(st, ctx, req),
        ["v3", "hooks", "admin"] if m == M::GET => webhooks::admin(st),
        ["v3", "hooks", "admin"] if m == M::PUT => webhooks::set_admin(st, req),
        ["v3", "hooks", id] if m == M::GET => id_of(id).map_or_else(nf, |id| webhooks::get(st, id)),
        ["v3", "hooks", id] if m == M::PUT => {
            id_of(id).map_or_else(nf, |id| webhooks::update(st, ctx, id, req))
        }
        ["v3", "hooks", id] if m == M::DELETE => {
            id_of(id).map_or_else(nf, |id| webhooks::delete(st, id))
        }
        _ => nf(),
    }
}
