//! Brightpearl API simulator (issue #3), following `shared/reference/brightpearl-api.md`.
//!
//! Serves `/public-api/{account}/{service}-service/...` **\[doc\]** and the sandbox admin API under
//! `/_sandbox/brightpearl/...`. Every API request goes through, in order:
//! 1. **Auth** **\[doc\]**: system app (`brightpearl-app-ref` + `brightpearl-account-token`) or
//!    OAuth (`Authorization: Bearer {token}` + `brightpearl-dev-ref`), the token being
//!    [`BrightpearlConfig::account_token`]. Failure → 401 with a **string** `response` **\[obs\]**:
//!    `Not authenticated. You must provide a valid authentication token.` (no token, wrong
//!    app ref / dev ref or account), `Invalid instance token: {the token sent}` (a wrong or
//!    revoked token, in either the bearer or the `brightpearl-account-token` form) or
//!    `Authorization token expired` (an expired OAuth bearer token). Tokens are revoked or
//!    expired with [`BrightpearlSim::set_token_state`]. Not counted against the cap.
//! 2. **Rate limit** ([`ratelimit`]): N per minute on the simulated clock, in one pool shared by
//!    all private apps and one pool per OAuth developer (`brightpearl-dev-ref`) **\[doc\]**; over it → 503
//!    `{"response":"You have sent too many requests. Please wait before sending another request"}`
//!    **\[client\]**, not processed.
//! 3. **Faults** ([`crate::faults`]): latency, a status (error envelope, not processed), a
//!    dropped connection before processing, or processing then a dropped connection.
//! 4. The endpoint ([`api`]), then webhooks for what happened ([`webhooks`]).
//!
//! Endpoints served (paths after `/public-api/{account}`; shapes and rules in [`api`], [`state`]):
//!
//! | service | endpoints |
//! |---|---|
//! | contact | `GET contact-search`, `POST contact`, `GET contact/{idSet}` (≤200), `OPTIONS contact/{idSet}`, `POST postal-address`, `GET postal-address/{idSet}` |
//! | product | `GET product-search`, `GET product/{idSet}`, `GET price-list[/{idSet}]`, `GET product-price/{idSet}[/price-list/{idSet}]` (≤200, 404 `CMNC-404` when none), `OPTIONS product-price/{idSet}`, `GET channel[/{idSet}]` |
//! | warehouse | `GET warehouse[/{idSet}]`, `GET shipping-method[/{idSet}]`, `GET product-availability/{idSet}`, `GET goods-note/goods-out-search`, `GET order/{idSet or *}/goods-note/goods-out[/{idSet}]` (≤500), `POST order/{id}/goods-note/goods-out`, `PUT goods-note/goods-out/{id}`, `POST goods-note/goods-out/{id}/event` (SHW), `POST warehouse/{id}/stock-correction`, `GET warehouse/{id}/stock-correction/{idSet}` |
//! | order | `POST sales-order`, `GET sales-order/{idSet}`, `POST sales-order/{id}/close`, `POST sales-credit`, `GET sales-credit/{idSet}` (207 when some missing), `POST sales-credit/{id}/close`, `GET order/{idSet}` (≤200), `OPTIONS order/{idSet}`, `PUT order/{id}/status`, `GET order-search`, `GET sales-order-search`, `GET order-status[/{idSet}]` |
//! | accounting | `POST customer-payment`, `GET customer-payment-search`, `GET tax-code[/{idSet}]`, `GET nominal-code[/{idSet}]`, `GET nominal-code-search`, `GET payment-method[/{idSet}]` |
//! | integration | `POST webhook`, `GET webhook[/{idSet}]`, `DELETE webhook/{id}`, `POST webhook/{id}/simulate` |
//! | (none) | `POST multi-message` |
//!
//! Admin (`/_sandbox/brightpearl/…`): `GET sales-orders`, `GET customer-payments`,
//! `GET contacts`, `POST stock`, `POST goods-out-notes`, `POST goods-out-notes/{id}/ship`,
//! `POST orders/{id}/invoice`, `GET stats`, `POST consume-quota`, `PUT faults`,
//! `GET webhook-deliveries`, `PUT token-state` — the same
//! operations as the Rust scripting methods on [`BrightpearlSim`].
//!
//! Every response carries `Ruid` **\[obs\]**, `brightpearl-requests-remaining` and
//! `brightpearl-next-throttle-period` (simulated ms) **\[doc\]/\[obs\]**; OAuth responses carry
//! `brightpearl-installed-integration-instance-id` when configured **\[obs\]**.

pub mod api;
pub mod model;
pub mod ratelimit;
pub mod search;
pub mod state;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use self::model::{ApiError, codes};
use self::ratelimit::{RateHeaders, RateLimiter};
use self::state::State;
pub use self::webhooks::WebhookDelivery;
use crate::clock::Clock;
use crate::faults::{FaultKind, FaultRule, Faults, dropped_connection};
use crate::seed::BrightpearlSeed;

const PRIVATE_POOL: &str = "private";

/// 401 body for missing or wrong credentials **\[obs\]**.
pub const NOT_AUTHENTICATED: &str =
    "Not authenticated. You must provide a valid authentication token.";
/// 401 body prefix for a wrong or revoked token; the token sent follows **\[obs\]**.
pub const INVALID_INSTANCE_TOKEN: &str = "Invalid instance token: ";
/// 401 body for an expired OAuth access token **\[obs\]**.
pub const TOKEN_EXPIRED: &str = "Authorization token expired";
/// 503 body when the per-minute cap is exceeded **\[client\]** (JAVA fixture).
pub const TOO_MANY_REQUESTS: &str =
    "You have sent too many requests. Please wait before sending another request";

/// One simulated Brightpearl account.
#[derive(Clone, Debug)]
pub struct BrightpearlConfig {
    /// Account code in `/public-api/{account}/…`.
    pub account: String,
    /// `brightpearl-app-ref` a system app must send.
    pub app_ref: String,
    /// `brightpearl-account-token` (system app) or the OAuth bearer token.
    pub account_token: String,
    /// Requests per minute per account (Brightpearl: 200 **\[doc\]**).
    pub requests_per_minute: u32,
    /// Refuse a sales credit whose parent order is not invoiced (rule from §10; error **\[unconfirmed\]**).
    pub sales_credit_requires_invoice: bool,
    /// Sent as `brightpearl-installed-integration-instance-id` on OAuth responses **\[obs\]**.
    pub installed_integration_instance_id: Option<i64>,
    /// The account's UTC offset: date-times the simulator writes (`createdOn`, `updatedOn`,
    /// `closedOn`, `shippedOn`, webhook `raised-on`, …) carry it, e.g.
    /// `2020-03-31T15:02:44.000-06:00` **\[obs\]**. Default UTC (`+00:00`). Dates a client
    /// posts (`placedOn`, `paymentDate`, …) and seed dates are kept as sent.
    pub utc_offset: chrono::FixedOffset,
}

impl Default for BrightpearlConfig {
    fn default() -> Self {
        BrightpearlConfig {
            account: "pearlbridge".into(),
            app_ref: "pearlbridge-sync".into(),
            account_token: "sandbox-brightpearl-token".into(),
            requests_per_minute: 200,
            sales_credit_requires_invoice: true,
            installed_integration_instance_id: None,
            utc_offset: chrono::FixedOffset::east_opt(0).expect("UTC"),
        }
    }
}

/// What the simulator does with a token ([`BrightpearlSim::set_token_state`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Accepted (the configured [`BrightpearlConfig::account_token`] only).
    Valid,
    /// Refused with `401 {"response":"Invalid instance token: <token>"}` **\[obs\]** (a disabled
    /// private app or an uninstalled OAuth app).
    Revoked,
    /// An OAuth bearer token is refused with `401 {"response":"Authorization token expired"}`
    /// **\[obs\]**; sent as a system-app `brightpearl-account-token` it is refused like a revoked
    /// one (system-app tokens do not expire **\[doc\]**; the answer is **\[unconfirmed\]**).
    Expired,
}

/// The simulator. Create with [`BrightpearlSim::new`], serve [`BrightpearlSim::router`].
pub struct BrightpearlSim {
    cfg: BrightpearlConfig,
    clock: Clock,
    faults: Faults,
    state: Mutex<State>,
    /// Request pools: `"private"` (all private apps of the account share it **[doc]**) and
    /// `"oauth:{dev-ref}"` (one per account × developer for OAuth apps **[doc]**).
    limiters: Mutex<std::collections::BTreeMap<String, RateLimiter>>,
    requests: AtomicU64,
    throttled: AtomicU64,
    deliveries: Arc<Mutex<Vec<WebhookDelivery>>>,
    http: reqwest::Client,
    /// Tokens revoked or expired by the scripting API (absent = as configured).
    token_states: Mutex<std::collections::BTreeMap<String, TokenState>>,
}

impl std::fmt::Debug for BrightpearlSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrightpearlSim")
            .field("account", &self.cfg.account)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthMode {
    System,
    OAuth,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl BrightpearlSim {
    pub fn new(
        cfg: BrightpearlConfig,
        seed: BrightpearlSeed,
        clock: Clock,
        faults: Faults,
    ) -> Arc<Self> {
        let mut state = State::new(seed);
        state.tz = cfg.utc_offset;
        Arc::new(BrightpearlSim {
            limiters: Mutex::new(std::collections::BTreeMap::new()),
            cfg,
            clock,
            faults,
            state: Mutex::new(state),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            deliveries: Arc::new(Mutex::new(Vec::new())),
            http: reqwest::Client::new(),
            token_states: Mutex::new(std::collections::BTreeMap::new()),
        })
    }

    pub fn config(&self) -> &BrightpearlConfig {
        &self.cfg
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// `/public-api/{account}/…` (the API) and `/_sandbox/brightpearl/…` (admin, no auth, not
    /// rate limited).
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/public-api/{account}/{*rest}", any(api_entry))
            .route(
                "/_sandbox/brightpearl/sales-orders",
                get(admin_sales_orders),
            )
            .route(
                "/_sandbox/brightpearl/customer-payments",
                get(admin_payments),
            )
            .route("/_sandbox/brightpearl/contacts", get(admin_contacts))
            .route("/_sandbox/brightpearl/stock", post(admin_stock))
            .route(
                "/_sandbox/brightpearl/goods-out-notes",
                post(admin_create_gon),
            )
            .route(
                "/_sandbox/brightpearl/goods-out-notes/{id}/ship",
                post(admin_ship_gon),
            )
            .route(
                "/_sandbox/brightpearl/orders/{id}/invoice",
                post(admin_invoice),
            )
            .route("/_sandbox/brightpearl/stats", get(admin_stats))
            .route("/_sandbox/brightpearl/consume-quota", post(admin_consume))
            .route("/_sandbox/brightpearl/faults", put(admin_faults))
            .route(
                "/_sandbox/brightpearl/webhook-deliveries",
                get(admin_deliveries),
            )
            .route("/_sandbox/brightpearl/token-state", put(admin_token_state))
            .with_state(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("brightpearl state lock")
    }

    fn raise(&self, st: &State, events: &[state::Event]) {
        let calls = webhooks::calls_for(st, &self.cfg.account, events);
        webhooks::dispatch(
            calls,
            self.http.clone(),
            self.clock.clone(),
            self.deliveries.clone(),
        );
    }

    // ------------------------------------------------------------------ scripting API

    /// All sales orders and credits as `GET /order-service/order/{idSet}` returns them.
    pub fn sales_orders(&self) -> Vec<Value> {
        let st = self.lock();
        st.orders
            .values()
            .map(|o| api::order_json(&st, o))
            .collect()
    }

    /// All customer payments as objects keyed by the `customer-payment-search` column names,
    /// plus `exchangeRate` and `journalRef` as posted.
    pub fn customer_payments(&self) -> Vec<Value> {
        let st = self.lock();
        st.payments
            .values()
            .map(|p| {
                let row = State::payment_search_row(p);
                let mut m: serde_json::Map<String, Value> = api::PAYMENT_COLUMNS
                    .iter()
                    .zip(row)
                    .map(|(c, v)| (c.name.to_string(), v))
                    .collect();
                m.insert(
                    "exchangeRate".into(),
                    json!(p.exchange_rate.map(|d| d.to_string())),
                );
                m.insert("journalRef".into(), json!(p.journal_ref));
                Value::Object(m)
            })
            .collect()
    }

    /// All contacts as `GET /contact-service/contact/{idSet}` returns them.
    pub fn contacts(&self) -> Vec<Value> {
        self.lock().contacts.values().cloned().collect()
    }

    /// Every goods-in note (`GET …/goods-note/goods-in/` shape), lowest id first.
    pub fn goods_in_notes(&self) -> Vec<Value> {
        self.lock().goods_in_notes.values().cloned().collect()
    }

    /// On-hand units of a product in each warehouse that holds any: warehouse id → `onHand`.
    pub fn on_hand(&self, product_id: i64) -> BTreeMap<i64, i64> {
        let st = self.lock();
        st.stock
            .range((product_id, i64::MIN)..=(product_id, i64::MAX))
            .map(|((_, w), lv)| (*w, lv.on_hand()))
            .collect()
    }

    /// Every stock-tracked product's sellable stock: SKU (exactly as product-search shows
    /// it) → (product id, Σ `onHand` over its warehouses), as
    /// `GET /warehouse-service/product-availability` would answer.
    pub fn on_hand_by_sku(&self) -> BTreeMap<String, (i64, i64)> {
        let st = self.lock();
        let mut out = BTreeMap::new();
        for id in st.products.keys() {
            // The SKU exactly as product-search shows it (untrimmed).
            let sku = st.products[id]
                .pointer("/identity/sku")
                .and_then(Value::as_str)
                .map(str::to_string);
            let (Some(sku), Some(a)) = (sku, st.availability(*id)) else {
                continue;
            };
            let on_hand = a["warehouses"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, w)| w["onHand"].as_i64())
                .sum();
            out.entry(sku).or_insert((*id, on_hand));
        }
        out
    }

    /// Moves a product's on-hand quantity in a warehouse by `delta` (a receipt > 0, a sale
    /// elsewhere < 0), floored at 0; raises `product.modified.on-hand-modified`.
    pub fn add_stock(&self, product_id: i64, warehouse_id: i64, delta: i64) {
        let on_hand = self
            .lock()
            .stock
            .get(&(product_id, warehouse_id))
            .map(|l| l.in_stock - l.allocated)
            .unwrap_or(0);
        self.set_stock(product_id, warehouse_id, (on_hand + delta).max(0));
    }

    /// Sets a product's on-hand quantity in a warehouse (inStock = on_hand + allocated);
    /// raises `product.modified.on-hand-modified`.
    pub fn set_stock(&self, product_id: i64, warehouse_id: i64, on_hand: i64) {
        let mut st = self.lock();
        let ev = st.set_stock(product_id, warehouse_id, on_hand, self.clock.now());
        self.raise(&st, &[ev]);
    }

    /// Creates a goods-out note for `rows` (order row id, quantity) of a sales order, like
    /// `POST /warehouse-service/order/{id}/goods-note/goods-out`. Returns the note id.
    pub fn try_create_goods_out_note(
        &self,
        order_id: i64,
        warehouse_id: i64,
        rows: Vec<(i64, i64)>,
    ) -> Result<i64, String> {
        let body = json!({"warehouses": [{"warehouseId": warehouse_id,
            "products": rows.iter().map(|(r, q)| json!({"salesOrderRowId": r, "quantity": q})).collect::<Vec<_>>()}]});
        let mut st = self.lock();
        let (ids, events) = st
            .create_goods_out_notes(order_id, &body, self.clock.now())
            .map_err(|e| e.message)?;
        self.raise(&st, &events);
        Ok(ids[0])
    }

    /// [`Self::try_create_goods_out_note`]; panics with the validation message on bad input.
    pub fn create_goods_out_note(
        &self,
        order_id: i64,
        warehouse_id: i64,
        rows: Vec<(i64, i64)>,
    ) -> i64 {
        self.try_create_goods_out_note(order_id, warehouse_id, rows)
            .unwrap_or_else(|e| panic!("create_goods_out_note: {e}"))
    }

    /// Ships a goods-out note with a tracking reference (`shipping.reference`) and optionally a
    /// shipping method; raises `goods-out-note.modified.shipped` and friends.
    pub fn try_ship_goods_out_note(
        &self,
        gon_id: i64,
        shipping_method_id: Option<i64>,
        tracking_reference: &str,
    ) -> Result<(), String> {
        let mut st = self.lock();
        let events = st
            .ship_goods_out_note(
                gon_id,
                shipping_method_id,
                Some(tracking_reference),
                self.clock.now(),
            )
            .map_err(|e| e.message)?;
        self.raise(&st, &events);
        Ok(())
    }

    /// [`Self::try_ship_goods_out_note`]; panics on an unknown or already shipped note.
    pub fn ship_goods_out_note(
        &self,
        gon_id: i64,
        shipping_method_id: Option<i64>,
        tracking_reference: &str,
    ) {
        self.try_ship_goods_out_note(gon_id, shipping_method_id, tracking_reference)
            .unwrap_or_else(|e| panic!("ship_goods_out_note: {e}"))
    }

    /// Sets an order's status like `PUT /order-service/order/{id}/status` (same rules: the
    /// status must exist for the order type; the "Cancelled" status is refused for an order
    /// with goods-out notes, an invoice or payments), with an order note when given; raises
    /// `order.modified.order-status`.
    pub fn try_set_order_status(
        &self,
        order_id: i64,
        status_id: i64,
        note: Option<&str>,
    ) -> Result<(), String> {
        let mut body = json!({ "orderStatusId": status_id });
        if let Some(text) = note {
            body["orderNote"] = json!({"text": text, "isPublic": false});
        }
        let mut st = self.lock();
        let events = st
            .set_status(order_id, &body, self.clock.now())
            .map_err(|e| e.message)?;
        self.raise(&st, &events);
        Ok(())
    }

    /// Invoices a sales order like `POST /order-service/sales-order/{id}/close`.
    pub fn try_invoice_order(&self, order_id: i64) -> Result<(), String> {
        self.lock()
            .close(order_id, "SO", &json!({}), self.clock.now())
            .map_err(|e| e.message)
    }

    /// [`Self::try_invoice_order`]; panics on an unknown or already invoiced order.
    pub fn invoice_order(&self, order_id: i64) {
        self.try_invoice_order(order_id)
            .unwrap_or_else(|e| panic!("invoice_order: {e}"))
    }

    /// Registers webhooks to `uri` for `goods-out-note.modified.shipped`, `sales-order.created`
    /// and `product.modified.on-hand-modified` with the reference's JSON body template,
    /// `idSetAccepted: true`, `qualityOfService: 1` (as a sync app would, §11).
    pub fn subscribe_callback(&self, uri: &str) -> Vec<i64> {
        let body_template = r#"{"accountCode":"${account-code}","resourceType":"${resource-type}","id":"${resource-id}","lifecycleEvent":"${lifecycle-event}","fullEvent":"${full-event}","raisedOn":"${raised-on}"}"#;
        let mut st = self.lock();
        ["goods-out-note.modified.shipped", "sales-order.created", "product.modified.on-hand-modified"]
            .iter()
            .map(|ev| {
                st.register_webhook(&json!({"subscribeTo": ev, "httpMethod": "POST", "uriTemplate": uri,
                    "bodyTemplate": body_template, "contentType": "application/json", "idSetAccepted": true, "qualityOfService": 1}))
                    .expect("built-in webhook registration is valid")
            })
            .collect()
    }

    /// Webhook calls made so far (completed deliveries, in completion order).
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.deliveries.lock().expect("webhook log").clone()
    }

    /// API requests received with valid credentials (throttled ones included).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Requests refused with 503 "too many requests".
    pub fn throttled_count(&self) -> u64 {
        self.throttled.load(Ordering::SeqCst)
    }

    /// Counts `requests` against the private-app pool as if another private integration on the
    /// account (a shipping app, the vendor's own connector) had made them — the shared-pool
    /// starvation of gotcha #2 **\[doc\]**. Requests over the cap are dropped silently.
    /// Returns how many were counted.
    pub fn consume_quota(&self, requests: u32) -> u32 {
        self.with_pool(PRIVATE_POOL, |l, now| {
            (0..requests).filter(|_| l.acquire(now).is_ok()).count() as u32
        })
    }

    fn with_pool<T>(&self, pool: &str, f: impl FnOnce(&mut RateLimiter, u64) -> T) -> T {
        let mut pools = self.limiters.lock().expect("limiters");
        let limiter = pools
            .entry(pool.to_string())
            .or_insert_with(|| RateLimiter::new(self.cfg.requests_per_minute));
        f(limiter, self.clock.elapsed_ms())
    }

    /// Revokes, expires or reinstates `token` (see [`TokenState`]); from the next request on.
    /// Reinstating ([`TokenState::Valid`]) only makes the configured account token good again.
    pub fn set_token_state(&self, token: &str, state: TokenState) {
        let mut states = self.token_states.lock().expect("token states");
        match state {
            TokenState::Valid => states.remove(token),
            other => states.insert(token.to_string(), other),
        };
    }

    /// Revokes `token`: it is answered `401 Invalid instance token: <token>` from now on.
    pub fn revoke_token(&self, token: &str) {
        self.set_token_state(token, TokenState::Revoked);
    }

    /// Expires `token`: as a bearer token it is answered `401 Authorization token expired`.
    pub fn expire_token(&self, token: &str) {
        self.set_token_state(token, TokenState::Expired);
    }

    /// What a token sent now would get: [`TokenState::Valid`] only for the configured
    /// account token when it has not been revoked or expired.
    pub fn token_state(&self, token: &str) -> TokenState {
        let set = self
            .token_states
            .lock()
            .expect("token states")
            .get(token)
            .copied();
        match set {
            Some(s) => s,
            None if token == self.cfg.account_token => TokenState::Valid,
            None => TokenState::Revoked,
        }
    }

    // ------------------------------------------------------------------ pipeline

    /// The 401 body text for a failed request, or the auth mode. A wrong, revoked (or, for a
    /// system app, expired) token is echoed back in the message as the real API does **\[obs\]**.
    fn authenticate(&self, account: &str, h: &HeaderMap) -> Result<AuthMode, String> {
        if let Some(auth) = header(h, "authorization") {
            let token = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("bearer "))
                .unwrap_or(auth)
                .trim();
            if header(h, "brightpearl-dev-ref").is_none() || account != self.cfg.account {
                return Err(NOT_AUTHENTICATED.into());
            }
            return match self.token_state(token) {
                TokenState::Valid => Ok(AuthMode::OAuth),
                TokenState::Expired => Err(TOKEN_EXPIRED.into()),
                TokenState::Revoked => Err(format!("{INVALID_INSTANCE_TOKEN}{token}")),
            };
        }
        let Some(token) = header(h, "brightpearl-account-token") else {
            return Err(NOT_AUTHENTICATED.into());
        };
        if account != self.cfg.account
            || header(h, "brightpearl-app-ref") != Some(self.cfg.app_ref.as_str())
        {
            return Err(NOT_AUTHENTICATED.into());
        }
        match self.token_state(token) {
            TokenState::Valid => Ok(AuthMode::System),
            TokenState::Expired | TokenState::Revoked => {
                Err(format!("{INVALID_INSTANCE_TOKEN}{token}"))
            }
        }
    }

    fn finish(
        &self,
        status: StatusCode,
        body: &Value,
        rate: RateHeaders,
        ruid: &str,
        mode: Option<AuthMode>,
    ) -> Response {
        let mut resp = (status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        h.insert(
            HeaderName::from_static("ruid"),
            HeaderValue::from_str(ruid).expect("uuid text"),
        );
        h.insert(
            HeaderName::from_static("brightpearl-requests-remaining"),
            HeaderValue::from(rate.remaining),
        );
        h.insert(
            HeaderName::from_static("brightpearl-next-throttle-period"),
            HeaderValue::from(rate.next_throttle_period_ms),
        );
        if mode == Some(AuthMode::OAuth)
            && let Some(id) = self.cfg.installed_integration_instance_id
        {
            h.insert(
                HeaderName::from_static("brightpearl-installed-integration-instance-id"),
                HeaderValue::from(id),
            );
        }
        resp
    }
}

async fn api_entry(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    Path((account, rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{rest}");
    let ruid = sim.lock().ruid();
    let mode = match sim.authenticate(&account, &headers) {
        Ok(m) => m,
        Err(msg) => {
            let rate = sim.with_pool(PRIVATE_POOL, |l, now| l.peek(now));
            return sim.finish(
                StatusCode::UNAUTHORIZED,
                &json!({ "response": msg }),
                rate,
                &ruid,
                None,
            );
        }
    };
    sim.requests.fetch_add(1, Ordering::SeqCst);
    let pool = match mode {
        AuthMode::System => PRIVATE_POOL.to_string(),
        AuthMode::OAuth => format!(
            "oauth:{}",
            header(&headers, "brightpearl-dev-ref").unwrap_or("")
        ),
    };
    let acquired = sim.with_pool(&pool, |l, now| l.acquire(now));
    let rate = match acquired {
        Ok(r) => r,
        Err(r) => {
            sim.throttled.fetch_add(1, Ordering::SeqCst);
            return sim.finish(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "response": TOO_MANY_REQUESTS }),
                r,
                &ruid,
                Some(mode),
            );
        }
    };
    let mut commit_then_drop = false;
    match sim.faults.decide(method.as_str(), &path) {
        None => {}
        Some(FaultKind::Latency { ms }) => sim.clock.sleep_simulated(ms).await,
        Some(FaultKind::Status { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let err = ApiError::new(
                status,
                "CMNC-500",
                format!("Simulated fault: HTTP {}", status.as_u16()),
            );
            return sim.finish(status, &err.reply().1, rate, &ruid, Some(mode));
        }
        Some(FaultKind::DropBeforeProcessing) => return dropped_connection(),
        Some(FaultKind::CommitThenDrop) => commit_then_drop = true,
    }
    let query: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                let err = ApiError::bad(
                    codes::MISSING_BODY,
                    format!("The request body is not valid JSON: {e}"),
                );
                return sim.finish(err.status, &err.reply().1, rate, &ruid, Some(mode));
            }
        }
    };
    let outcome = {
        let mut st = sim.lock();
        let now = sim.clock.now();
        let out = api::handle(
            &mut st,
            &method,
            &path,
            &query,
            parsed.as_ref(),
            now,
            sim.cfg.sales_credit_requires_invoice,
        );
        sim.raise(&st, &out.events);
        out
    };
    if commit_then_drop {
        return dropped_connection();
    }
    sim.finish(outcome.reply.0, &outcome.reply.1, rate, &ruid, Some(mode))
}

// ---------------------------------------------------------------------- admin endpoints

fn admin_error(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": msg }))).into_response()
}

async fn admin_sales_orders(AxState(sim): AxState<Arc<BrightpearlSim>>) -> Response {
    axum::Json(sim.sales_orders()).into_response()
}

async fn admin_payments(AxState(sim): AxState<Arc<BrightpearlSim>>) -> Response {
    axum::Json(sim.customer_payments()).into_response()
}

async fn admin_contacts(AxState(sim): AxState<Arc<BrightpearlSim>>) -> Response {
    axum::Json(sim.contacts()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StockBody {
    product_id: i64,
    warehouse_id: i64,
    on_hand: i64,
}

/// `POST /_sandbox/brightpearl/stock {"productId","warehouseId","onHand"}` → 204.
async fn admin_stock(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    axum::Json(b): axum::Json<StockBody>,
) -> Response {
    sim.set_stock(b.product_id, b.warehouse_id, b.on_hand);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GonRowBody {
    order_row_id: i64,
    quantity: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GonBody {
    order_id: i64,
    warehouse_id: i64,
    rows: Vec<GonRowBody>,
}

/// `POST /_sandbox/brightpearl/goods-out-notes {"orderId","warehouseId","rows":[{"orderRowId","quantity"}]}` → `{"id": n}`.
async fn admin_create_gon(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    axum::Json(b): axum::Json<GonBody>,
) -> Response {
    match sim.try_create_goods_out_note(
        b.order_id,
        b.warehouse_id,
        b.rows
            .iter()
            .map(|r| (r.order_row_id, r.quantity))
            .collect(),
    ) {
        Ok(id) => axum::Json(json!({ "id": id })).into_response(),
        Err(e) => admin_error(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ShipBody {
    shipping_method_id: Option<i64>,
    #[serde(default)]
    tracking_reference: String,
}

/// `POST /_sandbox/brightpearl/goods-out-notes/{id}/ship {"shippingMethodId","trackingReference"}` → 204.
async fn admin_ship_gon(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    Path(id): Path<i64>,
    axum::Json(b): axum::Json<ShipBody>,
) -> Response {
    match sim.try_ship_goods_out_note(id, b.shipping_method_id, &b.tracking_reference) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => admin_error(e),
    }
}

/// `POST /_sandbox/brightpearl/orders/{id}/invoice` → 204.
async fn admin_invoice(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    Path(id): Path<i64>,
) -> Response {
    match sim.try_invoice_order(id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => admin_error(e),
    }
}

/// `GET /_sandbox/brightpearl/stats` → `{"requestCount","throttledCount"}`.
async fn admin_stats(AxState(sim): AxState<Arc<BrightpearlSim>>) -> Response {
    axum::Json(
        json!({"requestCount": sim.request_count(), "throttledCount": sim.throttled_count()}),
    )
    .into_response()
}

#[derive(Deserialize)]
struct ConsumeBody {
    requests: u32,
}

/// `POST /_sandbox/brightpearl/consume-quota {"requests": n}` → `{"consumed": k}`.
async fn admin_consume(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    axum::Json(b): axum::Json<ConsumeBody>,
) -> Response {
    axum::Json(json!({ "consumed": sim.consume_quota(b.requests) })).into_response()
}

/// `PUT /_sandbox/brightpearl/faults [FaultRule…]` → 204 (replaces the rules).
async fn admin_faults(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    axum::Json(rules): axum::Json<Vec<FaultRule>>,
) -> Response {
    sim.faults.set_rules(rules);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sandbox/brightpearl/webhook-deliveries` → the deliveries made so far.
async fn admin_deliveries(AxState(sim): AxState<Arc<BrightpearlSim>>) -> Response {
    axum::Json(sim.webhook_deliveries()).into_response()
}

#[derive(Deserialize)]
struct TokenStateBody {
    /// Defaults to the configured account token.
    token: Option<String>,
    state: TokenState,
}

/// `PUT /_sandbox/brightpearl/token-state {"token"?: "...", "state": "revoked"|"expired"|"valid"}`
/// → 204 ([`BrightpearlSim::set_token_state`]; `token` defaults to the account token).
async fn admin_token_state(
    AxState(sim): AxState<Arc<BrightpearlSim>>,
    axum::Json(b): axum::Json<TokenStateBody>,
) -> Response {
    let token = b.token.unwrap_or_else(|| sim.cfg.account_token.clone());
    sim.set_token_state(&token, b.state);
    StatusCode::NO_CONTENT.into_response()
}
