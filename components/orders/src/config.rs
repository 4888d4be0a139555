//! `OrdersConfig`: the client's `[flows.orders.mapping]` section (as JSON), and
//! [`check`] which lists every problem of it with its path (WIT `check-config`).
//! The README of this crate shows a full example in TOML.

use std::collections::BTreeMap;
use std::str::FromStr;

use pearlbridge_sdk::types::ConfigProblem;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A BigCommerce payment method or gateway mapped to a Brightpearl payment method.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodMapping {
    /// Brightpearl payment method code (≤ 36 chars), brightpearl-api.md §5 [doc].
    pub code: String,
    /// The bank nominal code the payment lands on. Brightpearl picks the bank account from
    /// the payment method's `bankAccounts` by currency [doc]; this is the code that method
    /// must carry, recorded in the payment's `journalRef` for finance's reconciliation.
    pub bank_nominal_code: String,
}

/// Which Brightpearl warehouse fulfils an order: by the first shipping address's country
/// (ISO 3166 alpha-2), else `default`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseRule {
    pub default: u64,
    #[serde(default)]
    pub by_country: BTreeMap<String, u64>,
}

/// Nominal codes of the order rows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NominalCodes {
    /// Product rows.
    pub sales: String,
    /// Shipping rows.
    pub shipping: String,
    /// Handling-fee row.
    pub handling: String,
    /// Gift-wrapping row.
    pub wrapping: String,
    /// Discount rows (discount mode `rows`).
    pub discount: String,
    /// Rounding row.
    pub rounding: String,
}

/// How discounts (coupons, automatic and manual discounts) reach Brightpearl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DiscountMode {
    /// Inside each product row's net and tax (BigCommerce `discounted_total_inc_tax`).
    #[default]
    Distributed,
    /// Product rows at full price plus one negative discount row per tax code.
    Rows,
}

/// What to do when the rows do not add up to BigCommerce's `total_inc_tax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RoundingMode {
    /// Within `tolerance`: add an explicit rounding row; beyond it: hold the order.
    #[default]
    RoundingRow,
    /// Hold the order on any difference.
    Hold,
}

/// Rounding settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rounding {
    /// Largest difference (order currency) a rounding row may absorb, e.g. `"0.02"`.
    pub tolerance: Decimal,
    pub mode: RoundingMode,
    /// Decimal places of row net and tax: 2 (default) or up to 4 (sales-order rows take
    /// 4 dp, brightpearl-api.md §4.1 [doc]).
    pub row_decimal_places: u32,
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            tolerance: Decimal::new(2, 2),
            mode: RoundingMode::RoundingRow,
            row_decimal_places: 2,
        }
    }
}

/// The scheduled sweep.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sweep {
    /// The sweep re-reads this many minutes before the cursor (late writes, clock skew).
    pub overlap_minutes: i64,
    /// Without a cursor, the first sweep starts this many hours before the store's clock.
    pub initial_lookback_hours: i64,
    /// At most this many pages of 250 orders per run; the rest waits for the next run.
    pub max_pages: u32,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep {
            overlap_minutes: 10,
            initial_lookback_hours: 24,
            max_pages: 40,
        }
    }
}

/// The orders flow's mapping section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    /// BigCommerce status ids that are posted (e.g. `[11]`, Awaiting Fulfillment); by id,
    /// never by label (bigcommerce-api.md §4).
    pub statuses: Vec<u32>,
    /// Brightpearl sales channel id.
    pub channel_id: u64,
    /// Brightpearl order status id of new sales orders.
    pub order_status_id: u64,
    /// The sales order `ref` is this prefix + the BigCommerce order id.
    #[serde(default = "default_ref_prefix")]
    pub ref_prefix: String,
    /// Sent with `externalRef` for Brightpearl's server-side duplicate check (OAuth apps).
    #[serde(default)]
    pub installed_integration_instance_id: Option<u64>,
    /// Name of the checkout form field (order `billing_address.form_fields[].name`, e.g.
    /// `"PO Number"`, matched ignoring case and surrounding spaces) that holds the customer's
    /// purchase-order number: when it has a value, it is the sales order `ref` (Brightpearl's
    /// customer reference, searchable as `customerRef`) instead of `ref_prefix` + id.
    #[serde(default)]
    pub purchase_order_form_field: Option<String>,
    pub warehouse: WarehouseRule,
    pub nominal_codes: NominalCodes,
    /// BigCommerce tax class name (taxes `class`) → Brightpearl tax code.
    pub tax_codes: BTreeMap<String, String>,
    /// Tax code of untaxed rows and of the rounding row (a zero-rate code, e.g. `T0`).
    pub no_tax_code: String,
    /// BigCommerce gateway (transactions `gateway`) or payment method (order
    /// `payment_method`) → Brightpearl payment method.
    #[serde(default)]
    pub payment_methods: BTreeMap<String, PaymentMethodMapping>,
    /// Order `payment_method` values paid on account: no customer payment is posted.
    #[serde(default)]
    pub on_account_methods: Vec<String>,
    /// Payment method of the gift-certificate part of an order.
    #[serde(default)]
    pub gift_certificate: Option<PaymentMethodMapping>,
    /// Payment method of the store-credit part of an order.
    #[serde(default)]
    pub store_credit: Option<PaymentMethodMapping>,
    /// BigCommerce shipping method name (shipping address `shipping_method`) → Brightpearl
    /// shipping method id.
    pub shipping_methods: BTreeMap<String, u64>,
    /// BigCommerce customer group id → Brightpearl price list id (B2B).
    #[serde(default)]
    pub customer_groups: BTreeMap<String, u64>,
    /// Customer group ids that buy at the default price list (group 0 and guests always do).
    #[serde(default)]
    pub retail_groups: Vec<u64>,
    /// Price list set on retail orders; none leaves Brightpearl's default (the contact's).
    #[serde(default)]
    pub default_price_list_id: Option<u64>,
    #[serde(default)]
    pub discount_mode: DiscountMode,
    #[serde(default)]
    pub rounding: Rounding,
    #[serde(default)]
    pub sweep: Sweep,
    /// `authorizationExpiry` of an AUTH payment = the authorisation date + this many days.
    #[serde(default = "default_auth_days")]
    pub authorization_expiry_days: i64,
    /// A retryable failure (5xx, throttling, transport) raises `order-post-failed` after this
    /// many consecutive runs.
    #[serde(default = "default_retry_after")]
    pub retry_exception_after: u32,
    /// The SKU → product id index (`product-search` paged without a filter) is rebuilt when
    /// it is older than this many minutes and an order needs it; a SKU missing from an index
    /// younger than this is an unknown SKU.
    #[serde(default = "default_index_refresh")]
    pub product_index_refresh_minutes: i64,
}

fn default_ref_prefix() -> String {
    "BC-".into()
}
fn default_auth_days() -> i64 {
    7
}
fn default_retry_after() -> u32 {
    3
}
fn default_index_refresh() -> i64 {
    60
}

const KNOWN_KEYS: &[&str] = &[
    "statuses",
    "channel_id",
    "order_status_id",
    "ref_prefix",
    "installed_integration_instance_id",
    "purchase_order_form_field",
    "warehouse",
    "nominal_codes",
    "tax_codes",
    "no_tax_code",
    "payment_methods",
    "on_account_methods",
    "gift_certificate",
    "store_credit",
    "shipping_methods",
    "customer_groups",
    "retail_groups",
    "default_price_list_id",
    "discount_mode",
    "rounding",
    "sweep",
    "authorization_expiry_days",
    "retry_exception_after",
    "product_index_refresh_minutes",
];
const REQUIRED_KEYS: &[&str] = &[
    "statuses",
    "channel_id",
    "order_status_id",
    "warehouse",
    "nominal_codes",
    "tax_codes",
    "no_tax_code",
    "shipping_methods",
];

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

    fn typed<T: DeserializeOwned>(&mut self, path: &str, v: &Value) -> Option<T> {
        match serde_json::from_value::<T>(v.clone()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.push(path, e.to_string());
                None
            }
        }
    }

    fn nominal(&mut self, path: &str, v: &Value) {
        match v.as_str() {
            Some(s) if !s.is_empty() && s.len() <= 10 && s.chars().all(|c| c.is_ascii_digit()) => {}
            _ => self.push(
                path,
                format!("a nominal code is a string of digits, e.g. \"4000\"; got {v}"),
            ),
        }
    }

    fn code(&mut self, path: &str, v: &Value, max: usize) {
        match v.as_str() {
            Some(s) if !s.trim().is_empty() && s.len() <= max => {}
            _ => self.push(
                path,
                format!("expected a non-empty code of at most {max} characters; got {v}"),
            ),
        }
    }

    fn id(&mut self, path: &str, v: &Value) {
        if v.as_u64().filter(|n| *n > 0).is_none() {
            self.push(path, format!("expected a positive integer id; got {v}"));
        }
    }

    fn payment(&mut self, path: &str, v: &Value) {
        let Some(obj) = v.as_object() else {
            self.push(
                path,
                "expected a table { code = \"...\", bank_nominal_code = \"...\" }",
            );
            return;
        };
        for k in obj.keys() {
            if k != "code" && k != "bank_nominal_code" {
                self.push(
                    format!("{path}.{k}"),
                    "unknown key (expected code, bank_nominal_code)",
                );
            }
        }
        match obj.get("code") {
            Some(c) => self.code(&format!("{path}.code"), c, 36),
            None => self.push(
                format!("{path}.code"),
                "missing: the Brightpearl payment method code",
            ),
        }
        match obj.get("bank_nominal_code") {
            Some(c) => self.nominal(&format!("{path}.bank_nominal_code"), c),
            None => self.push(
                format!("{path}.bank_nominal_code"),
                "missing: the bank nominal code",
            ),
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

/// Parse a mapping section (JSON), or every problem of it.
pub fn parse(json: &str) -> Result<OrdersConfig, Vec<ConfigProblem>> {
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
    for k in REQUIRED_KEYS {
        if !obj.contains_key(*k) {
            c.push(*k, "missing");
        }
    }
    if let Some(v) = obj.get("statuses") {
        match v.as_array() {
            Some(list) if !list.is_empty() => {
                for (i, s) in list.iter().enumerate() {
                    if s.as_u64().filter(|n| *n <= 14).is_none() {
                        c.push(
                            format!("statuses[{i}]"),
                            format!("a BigCommerce status id 0-14 is expected; got {s}"),
                        );
                    }
                }
            }
            _ => c.push(
                "statuses",
                "a non-empty list of BigCommerce status ids, e.g. [11]",
            ),
        }
    }
    for k in ["channel_id", "order_status_id"] {
        if let Some(v) = obj.get(k) {
            c.id(k, v);
        }
    }
    for k in ["installed_integration_instance_id", "default_price_list_id"] {
        if let Some(v) = obj.get(k).filter(|v| !v.is_null()) {
            c.id(k, v);
        }
    }
    if let Some(v) = obj
        .get("purchase_order_form_field")
        .filter(|v| !v.is_null())
        && v.as_str().filter(|s| !s.trim().is_empty()).is_none()
    {
        c.push(
            "purchase_order_form_field",
            "the name of a checkout form field, e.g. \"PO Number\"",
        );
    }
    if let Some(v) = obj.get("ref_prefix")
        && v.as_str().filter(|s| s.len() <= 20).is_none()
    {
        c.push("ref_prefix", "a string of at most 20 characters");
    }
    if let Some(v) = obj.get("warehouse") {
        match v.as_object() {
            Some(w) => {
                for k in w.keys() {
                    if k != "default" && k != "by_country" {
                        c.push(
                            format!("warehouse.{k}"),
                            "unknown key (expected default, by_country)",
                        );
                    }
                }
                match w.get("default") {
                    Some(d) => c.id("warehouse.default", d),
                    None => c.push("warehouse.default", "missing"),
                }
                if let Some(by) = w.get("by_country") {
                    match by.as_object() {
                        Some(m) => {
                            for (country, id) in m {
                                let path = format!("warehouse.by_country.{country}");
                                if country.len() != 2
                                    || !country.chars().all(|ch| ch.is_ascii_uppercase())
                                {
                                    c.push(
                                        path.clone(),
                                        "the key must be an ISO 3166 alpha-2 country code, e.g. GB",
                                    );
                                }
                                c.id(&path, id);
                            }
                        }
                        None => c.push("warehouse.by_country", "a table country → warehouse id"),
                    }
                }
            }
            None => c.push(
                "warehouse",
                "a table { default = <id>, by_country = { .. } }",
            ),
        }
    }
    if let Some(v) = obj.get("nominal_codes") {
        match v.as_object() {
            Some(n) => {
                for k in [
                    "sales", "shipping", "handling", "wrapping", "discount", "rounding",
                ] {
                    match n.get(k) {
                        Some(code) => c.nominal(&format!("nominal_codes.{k}"), code),
                        None => c.push(format!("nominal_codes.{k}"), "missing"),
                    }
                }
                for k in n.keys() {
                    if ![
                        "sales", "shipping", "handling", "wrapping", "discount", "rounding",
                    ]
                    .contains(&k.as_str())
                    {
                        c.push(format!("nominal_codes.{k}"), "unknown key");
                    }
                }
            }
            None => c.push("nominal_codes", "a table of nominal codes"),
        }
    }
    if let Some(v) = obj.get("tax_codes") {
        match v.as_object() {
            Some(m) => {
                for (class, code) in m {
                    c.code(&format!("tax_codes.{class}"), code, 10);
                }
            }
            None => c.push(
                "tax_codes",
                "a table BigCommerce tax class → Brightpearl tax code",
            ),
        }
    }
    if let Some(v) = obj.get("no_tax_code") {
        c.code("no_tax_code", v, 10);
    }
    if let Some(v) = obj.get("payment_methods") {
        match v.as_object() {
            Some(m) => {
                for (method, mapping) in m {
                    c.payment(&format!("payment_methods.{method}"), mapping);
                }
            }
            None => c.push(
                "payment_methods",
                "a table BigCommerce method → { code, bank_nominal_code }",
            ),
        }
    }
    for k in ["gift_certificate", "store_credit"] {
        if let Some(v) = obj.get(k).filter(|v| !v.is_null()) {
            c.payment(k, v);
        }
    }
    if let Some(v) = obj.get("on_account_methods") {
        c.typed::<Vec<String>>("on_account_methods", v);
    }
    if let (Some(on), Some(pm)) = (
        obj.get("on_account_methods").and_then(|v| v.as_array()),
        obj.get("payment_methods").and_then(|v| v.as_object()),
    ) {
        for (i, m) in on.iter().enumerate() {
            if let Some(name) = m.as_str()
                && pm.contains_key(name)
            {
                c.push(
                    format!("on_account_methods[{i}]"),
                    format!(
                        "{name:?} is also in payment_methods; a method is either paid or on account"
                    ),
                );
            }
        }
    }
    if let Some(v) = obj.get("shipping_methods") {
        match v.as_object() {
            Some(m) => {
                for (name, id) in m {
                    c.id(&format!("shipping_methods.{name}"), id);
                }
            }
            None => c.push(
                "shipping_methods",
                "a table BigCommerce shipping method → Brightpearl shipping method id",
            ),
        }
    }
    if let Some(v) = obj.get("customer_groups") {
        match v.as_object() {
            Some(m) => {
                for (group, id) in m {
                    let path = format!("customer_groups.{group}");
                    if group.parse::<u64>().is_err() {
                        c.push(
                            path.clone(),
                            "the key must be a BigCommerce customer group id, e.g. \"2\"",
                        );
                    }
                    c.id(&path, id);
                }
            }
            None => c.push(
                "customer_groups",
                "a table customer group id → price list id",
            ),
        }
    }
    if let Some(v) = obj.get("retail_groups") {
        c.typed::<Vec<u64>>("retail_groups", v);
    }
    if let Some(v) = obj.get("discount_mode") {
        c.typed::<DiscountMode>("discount_mode", v);
    }
    if let Some(v) = obj.get("rounding") {
        match v.as_object() {
            Some(r) => {
                for (k, val) in r {
                    let path = format!("rounding.{k}");
                    match k.as_str() {
                        "tolerance" => match val.as_str().and_then(|s| Decimal::from_str(s).ok()) {
                            Some(d) if !d.is_sign_negative() => {}
                            _ => c.push(
                                path,
                                format!("a decimal amount as a string, e.g. \"0.02\"; got {val}"),
                            ),
                        },
                        "mode" => {
                            c.typed::<RoundingMode>(&path, val);
                        }
                        "row_decimal_places" => {
                            if val.as_u64().filter(|n| (2..=4).contains(n)).is_none() {
                                c.push(path, format!("2, 3 or 4; got {val}"));
                            }
                        }
                        _ => c.push(
                            path,
                            "unknown key (expected tolerance, mode, row_decimal_places)",
                        ),
                    }
                }
            }
            None => c.push(
                "rounding",
                "a table { tolerance, mode, row_decimal_places }",
            ),
        }
    }
    if let Some(v) = obj.get("sweep")
        && let Some(s) = c.typed::<Sweep>("sweep", v)
    {
        if s.overlap_minutes < 0 {
            c.push("sweep.overlap_minutes", "must not be negative");
        }
        if s.initial_lookback_hours <= 0 {
            c.push("sweep.initial_lookback_hours", "must be positive");
        }
        if s.max_pages == 0 {
            c.push("sweep.max_pages", "must be positive");
        }
    }
    if let Some(v) = obj.get("authorization_expiry_days")
        && v.as_i64().filter(|d| (1..=90).contains(d)).is_none()
    {
        c.push(
            "authorization_expiry_days",
            format!("1 to 90 days; got {v}"),
        );
    }
    if let Some(v) = obj.get("retry_exception_after")
        && v.as_u64().filter(|d| *d >= 1).is_none()
    {
        c.push(
            "retry_exception_after",
            format!("a positive number of runs; got {v}"),
        );
    }
    if let Some(v) = obj.get("product_index_refresh_minutes")
        && v.as_i64().filter(|m| (1..=10_080).contains(m)).is_none()
    {
        c.push(
            "product_index_refresh_minutes",
            format!("1 to 10080 minutes; got {v}"),
        );
    }
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    serde_json::from_value::<OrdersConfig>(root).map_err(|e| {
        vec![ConfigProblem {
            path: String::new(),
            message: e.to_string(),
        }]
    })
}
