//! `TrackingConfig`: the client's `[flows.tracking.mapping]` section (as JSON), and
//! [`check`] which lists every problem of it with the path of its key (WIT `check-config`).
//!
//! ```toml
//! [flows.tracking.mapping]
//! ref_prefix = "BC-"                 # as the orders flow's ref_prefix (fallback lookup)
//! channel_ids = [4]                  # only sales orders of these channels (empty: all)
//! retry_exception_after = 3
//!
//! [flows.tracking.mapping.shipping_methods]   # Brightpearl shipping method id → carrier
//! "6" = { shipping_provider = "royalmail" }
//! "7" = { shipping_provider = "", tracking_carrier = "dpd-uk", shipping_method = "DPD Next Day" }
//! default = { shipping_provider = "" }        # any other method (optional)
//!
//! [flows.tracking.mapping.missing_tracking]
//! action = "hold"                    # or "post": post without tracking after the grace
//! grace_minutes = 120
//!
//! [flows.tracking.mapping.sweep]
//! overlap_minutes = 30
//! initial_lookback_hours = 48
//! max_pages = 10
//!
//! [flows.tracking.mapping.statuses]       # optional: order statuses and cancellations
//! brightpearl_cancelled = 5          # the account's cancelled order status id
//! bigcommerce_cancel = [5, 4]        # BigCommerce Cancelled, Refunded (the default)
//!
//! [flows.tracking.mapping.statuses.to_bigcommerce]   # Brightpearl status id → BigCommerce status_id
//! "12" = 12                          # On hold → Manual Verification Required
//! "20" = 8                           # Awaiting pickup → Awaiting Pickup
//! ```

use std::collections::BTreeMap;

use pearlbridge_sdk::types::ConfigProblem;
use serde::Deserialize;
use serde_json::Value;

/// BigCommerce `shipping_provider` values (bigcommerce-api.md §6 [doc]); `carrier_<id>` (a
/// third-party shipping-provider app) is accepted too.
pub const SHIPPING_PROVIDERS: &[&str] = &[
    "",
    "auspost",
    "canadapost",
    "endicia",
    "usps",
    "fedex",
    "royalmail",
    "ups",
    "upsready",
    "shipperhq",
];

/// The BigCommerce carrier fields of a shipment for one Brightpearl shipping method.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderMapping {
    /// BigCommerce `shipping_provider`: one of [`SHIPPING_PROVIDERS`] or `carrier_<id>`.
    pub shipping_provider: String,
    /// BigCommerce `tracking_carrier`: an AfterShip courier slug (e.g. `dpd-uk`), or empty.
    #[serde(default)]
    pub tracking_carrier: String,
    /// BigCommerce `shipping_method`: the text shown on the shipment (≤ 250 chars), or none.
    #[serde(default)]
    pub shipping_method: Option<String>,
}

/// What to do with a shipped goods-out note that has no tracking number
/// (`shipping.reference` empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MissingTrackingAction {
    /// Hold the note with `missing-tracking` (customer service): no shipment is created
    /// until the note has a tracking number, or a shipment with its items exists in
    /// BigCommerce (created by hand), which is then linked.
    #[default]
    Hold,
    /// Wait `grace_minutes` after `shippedOn` for the tracking number, then post the
    /// shipment without one.
    Post,
}

/// Missing-tracking settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MissingTracking {
    pub action: MissingTrackingAction,
    /// Minutes after the note's `shippedOn` the flow waits for a tracking number before it
    /// posts without one (action `post` only).
    pub grace_minutes: i64,
}

impl Default for MissingTracking {
    fn default() -> Self {
        MissingTracking {
            action: MissingTrackingAction::Hold,
            grace_minutes: 60,
        }
    }
}

/// The scheduled sweep of recently shipped notes (`goods-out-search?shipped=true&shippedOn=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sweep {
    /// Minutes before the cursor (the newest `shippedOn` seen) the sweep starts.
    pub overlap_minutes: i64,
    /// Without a cursor, the first sweep starts this many hours before the run's time.
    pub initial_lookback_hours: i64,
    /// At most this many search pages of 500 notes per run.
    pub max_pages: u32,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep {
            overlap_minutes: 30,
            initial_lookback_hours: 48,
            max_pages: 10,
        }
    }
}

/// BigCommerce `status_id`s the status write-back may set (bigcommerce-api.md §4): not
/// Incomplete (0), Shipped (2) or Partially Shipped (3) (only a shipment sets those, so the
/// customer's email carries the tracking), Refunded (4) or Partially Refunded (14) (refunds
/// set those), nor Cancelled (5) (set by `brightpearl_cancelled`).
pub const WRITABLE_BIGCOMMERCE_STATUSES: &[u32] = &[1, 6, 7, 8, 9, 10, 11, 12, 13];

/// BigCommerce `status_id`s that may cancel the Brightpearl order: Refunded (4), Cancelled
/// (5), Declined (6).
pub const CANCELLING_BIGCOMMERCE_STATUSES: &[u32] = &[4, 5, 6];

/// Order status write-back and cancellations both ways (`[flows.tracking.mapping.statuses]`).
/// Absent: the flow writes no status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Statuses {
    /// Brightpearl order status id (a string key, e.g. `"12"`) → the BigCommerce `status_id`
    /// written with `PUT /v2/orders/{id}` when a sales order moves to it (one of
    /// [`WRITABLE_BIGCOMMERCE_STATUSES`]).
    pub to_bigcommerce: BTreeMap<String, u32>,
    /// The Brightpearl account's cancelled order status id (`GET /order-service/order-status`).
    /// Set: a sales order moved to it sets the BigCommerce order Cancelled (5), and a
    /// BigCommerce order in `bigcommerce_cancel` sets its sales order to it
    /// (`PUT /order-service/order/{id}/status`). Unset: no cancellations.
    pub brightpearl_cancelled: Option<u64>,
    /// BigCommerce statuses that cancel the Brightpearl sales order before dispatch (a subset
    /// of [`CANCELLING_BIGCOMMERCE_STATUSES`]; default Cancelled 5 and Refunded 4 — a full
    /// refund).
    pub bigcommerce_cancel: Vec<u32>,
}

impl Default for Statuses {
    fn default() -> Self {
        Statuses {
            to_bigcommerce: BTreeMap::new(),
            brightpearl_cancelled: None,
            bigcommerce_cancel: vec![5, 4],
        }
    }
}

impl Statuses {
    /// The BigCommerce status a Brightpearl order status id maps to: Cancelled (5) for
    /// `brightpearl_cancelled`, else its `to_bigcommerce` entry.
    pub fn bigcommerce_status(&self, brightpearl_status: u64) -> Option<u32> {
        if self.brightpearl_cancelled == Some(brightpearl_status) {
            return Some(5);
        }
        self.to_bigcommerce
            .get(&brightpearl_status.to_string())
            .copied()
    }

    /// True when BigCommerce status `status_id` cancels the Brightpearl order.
    pub fn cancels(&self, status_id: u32) -> bool {
        self.brightpearl_cancelled.is_some() && self.bigcommerce_cancel.contains(&status_id)
    }
}

/// The tracking flow's mapping section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingConfig {
    /// Brightpearl shipping method id (as a string key, e.g. `"6"`) or `default` → the
    /// BigCommerce carrier fields. A note whose method has no entry (and no `default`) is
    /// held with `unmapped-shipping-provider`.
    pub shipping_methods: BTreeMap<String, ProviderMapping>,
    /// The orders flow's `ref_prefix`: a sales order without a numeric `externalRef` is a
    /// BigCommerce order when its `ref` is this prefix + the order id.
    #[serde(default = "default_ref_prefix")]
    pub ref_prefix: String,
    /// Only sales orders of these Brightpearl channels are BigCommerce orders (empty: any).
    #[serde(default)]
    pub channel_ids: Vec<u64>,
    #[serde(default)]
    pub missing_tracking: MissingTracking,
    #[serde(default)]
    pub sweep: Sweep,
    /// A retryable failure raises `shipment-post-failed` after this many consecutive runs.
    #[serde(default = "default_retry_after")]
    pub retry_exception_after: u32,
    /// Order status write-back and cancellations; `None`: none.
    #[serde(default)]
    pub statuses: Option<Statuses>,
}

fn default_ref_prefix() -> String {
    "BC-".into()
}
fn default_retry_after() -> u32 {
    3
}

impl TrackingConfig {
    /// The carrier fields for a Brightpearl shipping method id (its entry, else `default`).
    pub fn provider(&self, shipping_method_id: u64) -> Option<&ProviderMapping> {
        self.shipping_methods
            .get(&shipping_method_id.to_string())
            .or_else(|| self.shipping_methods.get("default"))
    }
}

const KNOWN_KEYS: &[&str] = &[
    "shipping_methods",
    "ref_prefix",
    "channel_ids",
    "missing_tracking",
    "sweep",
    "retry_exception_after",
    "statuses",
];

/// True for a BigCommerce `shipping_provider` value: a documented one or `carrier_<digits>`.
pub fn valid_provider(p: &str) -> bool {
    SHIPPING_PROVIDERS.contains(&p)
        || p.strip_prefix("carrier_")
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
}

struct Checker {
    problems: Vec<ConfigProblem>,
}

impl Checker {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn provider(&mut self, path: &str, v: &Value) {
        let Some(obj) = v.as_object() else {
            self.push(
                path,
                "expected a table { shipping_provider = \"...\", tracking_carrier = \"...\", shipping_method = \"...\" }",
            );
            return;
        };
        for k in obj.keys() {
            if !["shipping_provider", "tracking_carrier", "shipping_method"].contains(&k.as_str()) {
                self.push(
                    format!("{path}.{k}"),
                    "unknown key (expected shipping_provider, tracking_carrier, shipping_method)",
                );
            }
        }
        match obj.get("shipping_provider") {
            Some(Value::String(p)) if valid_provider(p) => {}
            Some(other) => self.push(
                format!("{path}.shipping_provider"),
                format!(
                    "a BigCommerce shipping provider: one of {} or carrier_<id>; got {other}",
                    SHIPPING_PROVIDERS
                        .iter()
                        .map(|p| format!("{p:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            None => self.push(
                format!("{path}.shipping_provider"),
                "missing: the BigCommerce shipping provider (\"\" for none)",
            ),
        }
        if let Some(c) = obj.get("tracking_carrier") {
            let ok = c.as_str().is_some_and(|s| {
                s.len() <= 100
                    && s.chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            });
            if !ok {
                self.push(
                    format!("{path}.tracking_carrier"),
                    format!("an AfterShip courier slug (lowercase letters, digits, '-'), e.g. \"dpd-uk\"; got {c}"),
                );
            }
        }
        if let Some(m) = obj.get("shipping_method").filter(|m| !m.is_null())
            && m.as_str()
                .filter(|s| !s.trim().is_empty() && s.chars().count() <= 250)
                .is_none()
        {
            self.push(
                format!("{path}.shipping_method"),
                format!("a non-empty text of at most 250 characters; got {m}"),
            );
        }
    }
}

impl Checker {
    /// `statuses`: every bad key named with its path, e.g. `statuses.to_bigcommerce.12`.
    fn statuses(&mut self, v: &Value) {
        let Some(m) = v.as_object() else {
            self.push(
                "statuses",
                "a table { brightpearl_cancelled = .., bigcommerce_cancel = [..], to_bigcommerce = { \"<Brightpearl status id>\" = <BigCommerce status_id> } }",
            );
            return;
        };
        let cancelled = m.get("brightpearl_cancelled");
        let cancelled_id = cancelled.and_then(Value::as_u64).filter(|n| *n > 0);
        for k in m.keys() {
            if ![
                "to_bigcommerce",
                "brightpearl_cancelled",
                "bigcommerce_cancel",
            ]
            .contains(&k.as_str())
            {
                self.push(
                    format!("statuses.{k}"),
                    "unknown key (expected to_bigcommerce, brightpearl_cancelled, bigcommerce_cancel)",
                );
            }
        }
        if let Some(c) = cancelled
            && cancelled_id.is_none()
        {
            self.push(
                "statuses.brightpearl_cancelled",
                format!("a positive Brightpearl order status id (GET /order-service/order-status); got {c}"),
            );
        }
        if let Some(list) = m.get("bigcommerce_cancel") {
            match list.as_array() {
                Some(items) => {
                    for (i, s) in items.iter().enumerate() {
                        if s.as_u64()
                            .filter(|n| CANCELLING_BIGCOMMERCE_STATUSES.contains(&(*n as u32)))
                            .is_none()
                        {
                            self.push(
                                format!("statuses.bigcommerce_cancel[{i}]"),
                                format!("a BigCommerce status_id that cancels an order: 4 (Refunded), 5 (Cancelled) or 6 (Declined); got {s}"),
                            );
                        }
                    }
                    if cancelled.is_none() {
                        self.push(
                            "statuses.bigcommerce_cancel",
                            "needs statuses.brightpearl_cancelled (the Brightpearl status to set)",
                        );
                    }
                }
                None => self.push(
                    "statuses.bigcommerce_cancel",
                    "a list of BigCommerce status ids, e.g. [5, 4]",
                ),
            }
        }
        if let Some(t) = m.get("to_bigcommerce") {
            let Some(t) = t.as_object() else {
                self.push(
                    "statuses.to_bigcommerce",
                    "a table \"<Brightpearl order status id>\" = <BigCommerce status_id>",
                );
                return;
            };
            for (k, val) in t {
                let path = format!("statuses.to_bigcommerce.{k}");
                match k.parse::<u64>() {
                    Ok(id) if id > 0 => {
                        if Some(id) == cancelled_id {
                            self.push(
                                path.clone(),
                                "is statuses.brightpearl_cancelled: a cancelled sales order sets BigCommerce Cancelled (5) by itself; remove this entry",
                            );
                        }
                    }
                    _ => self.push(
                        path.clone(),
                        "the key must be a Brightpearl order status id, e.g. \"12\"",
                    ),
                }
                let ok = val
                    .as_u64()
                    .is_some_and(|n| WRITABLE_BIGCOMMERCE_STATUSES.contains(&(n as u32)));
                if !ok {
                    let why = match val.as_u64() {
                        Some(2) | Some(3) => {
                            " (Shipped / Partially Shipped are set by BigCommerce when the shipment is created, so the customer's email carries the tracking)"
                        }
                        Some(4) | Some(14) => " (refund statuses follow the refunds)",
                        Some(5) => " (Cancelled comes from statuses.brightpearl_cancelled)",
                        _ => "",
                    };
                    self.push(
                        path,
                        format!(
                            "a BigCommerce status_id the flow may set: one of {}; got {val}{why}",
                            WRITABLE_BIGCOMMERCE_STATUSES
                                .iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// Every problem of a mapping section (JSON), each with the path of its key; empty when the
/// section is valid.
pub fn check(json: &str) -> Vec<ConfigProblem> {
    match parse(json) {
        Ok(_) => vec![],
        Err(problems) => problems,
    }
}

/// Parse a mapping section (JSON), or every problem of it (path and message each).
pub fn parse(json: &str) -> Result<TrackingConfig, Vec<ConfigProblem>> {
    let mut c = Checker { problems: vec![] };
    let root: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![ConfigProblem {
                path: String::new(),
                message: format!("not JSON: {e}"),
            }]);
        }
    };
    let Some(obj) = root.as_object() else {
        return Err(vec![ConfigProblem {
            path: String::new(),
            message: "the mapping section must be a table".into(),
        }]);
    };
    for k in obj.keys() {
        if !KNOWN_KEYS.contains(&k.as_str()) {
            c.push(k.clone(), "unknown key");
        }
    }
    match obj.get("shipping_methods") {
        None => c.push(
            "shipping_methods",
            "missing: a table Brightpearl shipping method id → { shipping_provider = .. }",
        ),
        Some(v) => match v.as_object() {
            Some(m) => {
                for (method, mapping) in m {
                    let path = format!("shipping_methods.{method}");
                    if method != "default" && method.parse::<u64>().is_err() {
                        c.push(
                            path.clone(),
                            "the key must be a Brightpearl shipping method id, e.g. \"6\", or default",
                        );
                    }
                    c.provider(&path, mapping);
                }
            }
            None => c.push(
                "shipping_methods",
                "a table Brightpearl shipping method id → { shipping_provider = .. }",
            ),
        },
    }
    if let Some(v) = obj.get("ref_prefix")
        && v.as_str().filter(|s| s.len() <= 20).is_none()
    {
        c.push(
            "ref_prefix",
            format!("a string of at most 20 characters; got {v}"),
        );
    }
    if let Some(v) = obj.get("channel_ids") {
        match v.as_array() {
            Some(list) => {
                for (i, id) in list.iter().enumerate() {
                    if id.as_u64().filter(|n| *n > 0).is_none() {
                        c.push(
                            format!("channel_ids[{i}]"),
                            format!("expected a positive Brightpearl channel id; got {id}"),
                        );
                    }
                }
            }
            None => c.push("channel_ids", "a list of Brightpearl channel ids, e.g. [4]"),
        }
    }
    if let Some(v) = obj.get("missing_tracking") {
        match v.as_object() {
            Some(m) => {
                for (k, val) in m {
                    let path = format!("missing_tracking.{k}");
                    match k.as_str() {
                        "action" => {
                            if serde_json::from_value::<MissingTrackingAction>(val.clone()).is_err()
                            {
                                c.push(path, format!("\"hold\" or \"post\"; got {val}"));
                            }
                        }
                        "grace_minutes" => {
                            if val.as_i64().filter(|m| (0..=43_200).contains(m)).is_none() {
                                c.push(path, format!("0 to 43200 minutes; got {val}"));
                            }
                        }
                        _ => c.push(path, "unknown key (expected action, grace_minutes)"),
                    }
                }
            }
            None => c.push(
                "missing_tracking",
                "a table { action = \"hold\" | \"post\", grace_minutes = .. }",
            ),
        }
    }
    if let Some(v) = obj.get("sweep") {
        match v.as_object() {
            Some(m) => {
                for (k, val) in m {
                    let path = format!("sweep.{k}");
                    let n = val.as_i64();
                    match k.as_str() {
                        "overlap_minutes" if n.is_some_and(|n| (0..=1440).contains(&n)) => {}
                        "overlap_minutes" => c.push(path, format!("0 to 1440 minutes; got {val}")),
                        "initial_lookback_hours" if n.is_some_and(|n| (1..=720).contains(&n)) => {}
                        "initial_lookback_hours" => {
                            c.push(path, format!("1 to 720 hours; got {val}"))
                        }
                        "max_pages" if n.is_some_and(|n| (1..=100).contains(&n)) => {}
                        "max_pages" => c.push(path, format!("1 to 100 pages; got {val}")),
                        _ => c.push(
                            path,
                            "unknown key (expected overlap_minutes, initial_lookback_hours, max_pages)",
                        ),
                    }
                }
            }
            None => c.push(
                "sweep",
                "a table { overlap_minutes, initial_lookback_hours, max_pages }",
            ),
        }
    }
    if let Some(v) = obj.get("statuses") {
        c.statuses(v);
    }
    if let Some(v) = obj.get("retry_exception_after")
        && v.as_u64().filter(|d| *d >= 1).is_none()
    {
        c.push(
            "retry_exception_after",
            format!("a positive number of runs; got {v}"),
        );
    }
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    serde_json::from_value::<TrackingConfig>(root).map_err(|e| {
        vec![ConfigProblem {
            path: String::new(),
            message: e.to_string(),
        }]
    })
}
