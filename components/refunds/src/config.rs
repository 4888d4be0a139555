//! `RefundsConfig`: the client's `[flows.refunds.mapping]` section (as JSON), and [`check`]
//! which lists every problem of it with the path of its key (WIT `check-config`).
//!
//! ```toml
//! [flows.refunds.mapping]
//! ref_prefix = "BC-"                 # credit ref = prefix + order id + "-R" + refund id
//! no_tax_code = "T0"                 # zero-rate code of untaxed rows (ORDER refunds, difference row)
//! credit_status_id = 29              # optional: Brightpearl status of new sales credits
//! not_invoiced = "invoice-parent"    # or "hold": wait until the sales order is invoiced
//! blocked_exception_after_minutes = 1440
//! restock = false                    # default: returns arrive separately; true = a goods-in
//!                                    # note against each credit returns its units to stock
//! retry_exception_after = 3
//!
//! [flows.refunds.mapping.nominal_codes]
//! shipping = "4040"                  # SHIPPING refund rows (and the original shipping row)
//! handling = "4045"
//! fees = "4050"                      # FEE refund rows
//! refund = "4000"                    # ORDER (amount-only) refunds and refunds without items
//! rounding = "4000"                  # the "Refund difference" row
//!
//! [flows.refunds.mapping.payment_methods]   # BigCommerce refund payment provider_id → method
//! braintree = { code = "BRAINTREE", bank_nominal_code = "1200" }
//! storecredit = { code = "STORECREDIT", bank_nominal_code = "2150" }
//! custom = { code = "OFFLINE", bank_nominal_code = "1210" }
//!
//! [flows.refunds.mapping.rounding]
//! tolerance = "0.02"
//!
//! [flows.refunds.mapping.sweep]
//! overlap_minutes = 10
//! initial_lookback_hours = 24
//! max_pages = 20
//! ```

use std::collections::BTreeMap;
use std::str::FromStr;

use pearlbridge_sdk::types::ConfigProblem;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// A BigCommerce refund payment provider mapped to a Brightpearl payment method.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodMapping {
    /// Brightpearl payment method code (≤ 36 chars), brightpearl-api.md §5 [doc].
    pub code: String,
    /// The bank nominal code the money leaves from, recorded in the payment's `journalRef`
    /// (Brightpearl picks the bank account from the payment method by currency [doc]).
    pub bank_nominal_code: String,
}

/// Nominal codes of the credit's rows that are not product rows (product rows keep the
/// nominal code of the sales order row they credit).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NominalCodes {
    /// SHIPPING refund rows; also how the sales order's shipping row is recognised (its tax
    /// code and rate are the shipping refund's).
    pub shipping: String,
    /// HANDLING refund rows (tax as the sales order row with this nominal code, if any).
    pub handling: String,
    /// FEE refund rows.
    pub fees: String,
    /// ORDER refunds (amount-only, tax-exempt) and refunds without items.
    pub refund: String,
    /// The "Refund difference" row.
    pub rounding: String,
}

/// What to do when the sales order being credited is not invoiced yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NotInvoiced {
    /// Invoice (close) the sales order first (`POST /order-service/sales-order/{id}/close`),
    /// then post the credit.
    #[default]
    InvoiceParent,
    /// Hold the credit and retry on every run; `credit-blocked-not-invoiced` is raised once it
    /// has waited `blocked_exception_after_minutes`.
    Hold,
}

/// Rounding of the credit's rows against the refund total.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rounding {
    /// Largest difference (refund currency) a "Refund difference" row may absorb; beyond it
    /// the refund is held with `refund-total-variance`.
    pub tolerance: Decimal,
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            tolerance: Decimal::new(2, 2),
        }
    }
}

/// The scheduled sweep of refunds (`GET /v3/orders/payment_actions/refunds?created:min=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sweep {
    /// Minutes before the cursor (the newest refund `created` seen) the sweep starts.
    pub overlap_minutes: i64,
    /// Without a cursor, the first sweep starts this many hours before the store's clock.
    pub initial_lookback_hours: i64,
    /// At most this many pages of 250 refunds per run.
    pub max_pages: u32,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep {
            overlap_minutes: 10,
            initial_lookback_hours: 24,
            max_pages: 20,
        }
    }
}

/// The refunds flow's mapping section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundsConfig {
    /// The credit `ref` is this prefix + BigCommerce order id + `-R` + refund id.
    #[serde(default = "default_ref_prefix")]
    pub ref_prefix: String,
    /// Sent with `externalRef` for Brightpearl's server-side duplicate check (OAuth apps).
    #[serde(default)]
    pub installed_integration_instance_id: Option<u64>,
    /// Brightpearl order status id of new sales credits; none leaves Brightpearl's default.
    #[serde(default)]
    pub credit_status_id: Option<u64>,
    /// Zero-rate tax code of tax-exempt rows (ORDER refunds, the difference row).
    pub no_tax_code: String,
    pub nominal_codes: NominalCodes,
    /// BigCommerce refund payment `provider_id` (e.g. `braintree`, `storecredit`, `custom`)
    /// → Brightpearl payment method.
    pub payment_methods: BTreeMap<String, PaymentMethodMapping>,
    #[serde(default)]
    pub not_invoiced: NotInvoiced,
    /// `not_invoiced = "hold"`: minutes a credit may wait for its sales order's invoice before
    /// `credit-blocked-not-invoiced` (owner finance, impact the refund total) is raised.
    #[serde(default = "default_blocked_after")]
    pub blocked_exception_after_minutes: i64,
    /// Return the credited units to stock with a goods-in note against each sales credit
    /// (`POST /warehouse-service/order/{creditId}/goods-note/goods-in`, brightpearl-api.md
    /// §10 [doc]). Default off: returns arrive separately and are received in Brightpearl.
    #[serde(default)]
    pub restock: bool,
    #[serde(default)]
    pub rounding: Rounding,
    #[serde(default)]
    pub sweep: Sweep,
    /// A retryable failure (5xx, throttling, transport) raises `refund-post-failed` after this
    /// many consecutive runs.
    #[serde(default = "default_retry_after")]
    pub retry_exception_after: u32,
}

fn default_ref_prefix() -> String {
    "BC-".into()
}
fn default_blocked_after() -> i64 {
    1440
}
fn default_retry_after() -> u32 {
    3
}

const KNOWN_KEYS: &[&str] = &[
    "ref_prefix",
    "installed_integration_instance_id",
    "credit_status_id",
    "no_tax_code",
    "nominal_codes",
    "payment_methods",
    "not_invoiced",
    "blocked_exception_after_minutes",
    "restock",
    "rounding",
    "sweep",
    "retry_exception_after",
];
const REQUIRED_KEYS: &[&str] = &["no_tax_code", "nominal_codes", "payment_methods"];
const NOMINALS: &[&str] = &["shipping", "handling", "fees", "refund", "rounding"];

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
pub fn parse(json: &str) -> Result<RefundsConfig, Vec<ConfigProblem>> {
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
    if let Some(v) = obj.get("ref_prefix")
        && v.as_str().filter(|s| s.len() <= 20).is_none()
    {
        c.push("ref_prefix", "a string of at most 20 characters");
    }
    for k in ["installed_integration_instance_id", "credit_status_id"] {
        if let Some(v) = obj.get(k).filter(|v| !v.is_null()) {
            c.id(k, v);
        }
    }
    if let Some(v) = obj.get("no_tax_code") {
        c.code("no_tax_code", v, 10);
    }
    if let Some(v) = obj.get("nominal_codes") {
        match v.as_object() {
            Some(n) => {
                for k in NOMINALS {
                    match n.get(*k) {
                        Some(code) => c.nominal(&format!("nominal_codes.{k}"), code),
                        None => c.push(format!("nominal_codes.{k}"), "missing"),
                    }
                }
                for k in n.keys() {
                    if !NOMINALS.contains(&k.as_str()) {
                        c.push(
                            format!("nominal_codes.{k}"),
                            format!("unknown key (expected {})", NOMINALS.join(", ")),
                        );
                    }
                }
            }
            None => c.push("nominal_codes", "a table of nominal codes"),
        }
    }
    if let Some(v) = obj.get("payment_methods") {
        match v.as_object() {
            Some(m) => {
                for (provider, mapping) in m {
                    c.payment(&format!("payment_methods.{provider}"), mapping);
                }
            }
            None => c.push(
                "payment_methods",
                "a table BigCommerce refund provider_id → { code, bank_nominal_code }",
            ),
        }
    }
    if let Some(v) = obj.get("not_invoiced")
        && serde_json::from_value::<NotInvoiced>(v.clone()).is_err()
    {
        c.push(
            "not_invoiced",
            format!("\"invoice-parent\" or \"hold\"; got {v}"),
        );
    }
    if let Some(v) = obj.get("blocked_exception_after_minutes")
        && v.as_i64().filter(|m| (0..=525_600).contains(m)).is_none()
    {
        c.push(
            "blocked_exception_after_minutes",
            format!("0 to 525600 minutes; got {v}"),
        );
    }
    match obj.get("restock") {
        Some(Value::Bool(_)) | None => {}
        Some(v) => c.push("restock", format!("true or false; got {v}")),
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
                        _ => c.push(path, "unknown key (expected tolerance)"),
                    }
                }
            }
            None => c.push("rounding", "a table { tolerance }"),
        }
    }
    if let Some(v) = obj.get("sweep") {
        match serde_json::from_value::<Sweep>(v.clone()) {
            Ok(s) => {
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
            Err(e) => c.push("sweep", e.to_string()),
        }
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
    serde_json::from_value::<RefundsConfig>(root).map_err(|e| {
        vec![ConfigProblem {
            path: String::new(),
            message: e.to_string(),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Value {
        serde_json::json!({
            "no_tax_code": "T0",
            "nominal_codes": {"shipping": "4040", "handling": "4045", "fees": "4050", "refund": "4000", "rounding": "4000"},
            "payment_methods": {"braintree": {"code": "BRAINTREE", "bank_nominal_code": "1200"}},
        })
    }

    #[test]
    fn a_minimal_section_parses_with_the_defaults() {
        let cfg = parse(&valid().to_string()).unwrap();
        assert_eq!(cfg.not_invoiced, NotInvoiced::InvoiceParent);
        assert!(!cfg.restock);
        assert_eq!(cfg.rounding.tolerance, Decimal::new(2, 2));
        assert_eq!(cfg.ref_prefix, "BC-");
        assert_eq!(cfg.blocked_exception_after_minutes, 1440);
    }

    #[test]
    fn every_problem_is_listed_with_its_path() {
        let mut v = valid();
        v["nominal_codes"]["shipping"] = serde_json::json!("ship");
        v["nominal_codes"].as_object_mut().unwrap().remove("fees");
        v["payment_methods"]["storecredit"] = serde_json::json!({"code": ""});
        v["not_invoiced"] = serde_json::json!("later");
        v["restock"] = serde_json::json!("yes");
        v["colour"] = serde_json::json!(1);
        let paths: Vec<String> = check(&v.to_string()).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            vec![
                "colour",
                "nominal_codes.shipping",
                "nominal_codes.fees",
                "payment_methods.storecredit.code",
                "payment_methods.storecredit.bank_nominal_code",
                "not_invoiced",
                "restock",
            ]
        );
    }
}
