//! Envelope, error, id-set, money and date helpers shared by the Brightpearl simulator.

use std::collections::BTreeSet;
use std::str::FromStr;

use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

/// A handler's answer: HTTP status and the full JSON body (already enveloped).
pub(crate) type Reply = (StatusCode, Value);

/// `200 {"response": value}` — the success envelope **\[doc\]**.
pub(crate) fn ok(value: Value) -> Reply {
    (StatusCode::OK, json!({ "response": value }))
}

/// An error answer in the `{"errors":[{"code","message"}]}` envelope **\[obs\]**.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 with a code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn reply(&self) -> Reply {
        (
            self.status,
            json!({ "errors": [{ "code": self.code, "message": self.message }] }),
        )
    }
}

pub(crate) type ApiResult = Result<Reply, ApiError>;

/// Error codes the simulator answers with. Tags say which are Brightpearl's own.
pub(crate) mod codes {
    /// Missing JSON body **\[obs\]**.
    pub const MISSING_BODY: &str = "CMNC-010";
    /// Filter value that cannot be parsed (answered with 500, not 400) **\[obs\]**.
    pub const UNPARSABLE_FILTER: &str = "CMNC-018";
    /// Empty result for some resources (product prices) **\[obs\]**.
    pub const NOT_FOUND: &str = "CMNC-404";
    /// ID set too large for the resource (HTTP 414 is **\[client\]**; this code is **\[unconfirmed\]**).
    pub const URI_TOO_LONG: &str = "CMNC-414";
    /// Malformed ID set or path id **\[unconfirmed\]**.
    pub const BAD_ID_SET: &str = "CMNC-006";
    /// Invalid row quantity **\[obs\]** (`ORDC-024`).
    pub const BAD_ROW_QUANTITY: &str = "ORDC-024";
    /// Sales order / credit validation failures (missing customer, unknown product, bad money,
    /// unknown status, already invoiced) **\[unconfirmed\]** — the real codes are not in the reference.
    pub const ORDER_INVALID: &str = "ORDC-003";
    /// Sales credit against a parent order that is not invoiced **\[unconfirmed\]** (no public text, §10).
    pub const CREDIT_PARENT_NOT_INVOICED: &str = "ORDC-031";
    /// Contact / postal address validation **\[unconfirmed\]**.
    pub const CONTACT_INVALID: &str = "CONC-001";
    /// Customer payment validation **\[unconfirmed\]**.
    pub const PAYMENT_INVALID: &str = "ACCC-001";
    /// Repeated (`transactionRef`, `paymentMethodCode`) — uniqueness is **\[doc\]**, this code and
    /// text are **\[unconfirmed\]**.
    pub const PAYMENT_DUPLICATE_TRANSACTION_REF: &str = "ACCC-021";
    /// Goods-out note validation **\[unconfirmed\]**.
    pub const GOODS_OUT_INVALID: &str = "WHSC-001";
    /// Webhook event not subscribable **\[obs\]** (`INTC-064`).
    pub const WEBHOOK_EVENT: &str = "INTC-064";
    /// Stock correction validation **\[unconfirmed\]**.
    pub const STOCK_CORRECTION_INVALID: &str = "WHSC-002";
    /// Goods-in note validation **\[unconfirmed\]**.
    pub const GOODS_IN_INVALID: &str = "WHSC-003";
    /// Malformed multi-message request **\[unconfirmed\]**.
    pub const MULTI_MESSAGE_INVALID: &str = "CMNC-400";
    /// Webhook body validation **\[unconfirmed\]**.
    pub const WEBHOOK_INVALID: &str = "INTC-001";
}

/// Parses an ID set **\[doc\]**: `8`, `100-200`, `1,5,9`, `1-5,7,9`. Returns the ids ascending and
/// de-duplicated. A descending range or a non-number is an error.
pub(crate) fn parse_id_set(s: &str) -> Result<Vec<i64>, ApiError> {
    let bad = || ApiError::bad(codes::BAD_ID_SET, format!("Invalid ID set: {s}"));
    let mut out = BTreeSet::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(bad());
        }
        if let Some((a, b)) = part.split_once('-') {
            let a: i64 = a.trim().parse().map_err(|_| bad())?;
            let b: i64 = b.trim().parse().map_err(|_| bad())?;
            if b < a || b - a > 100_000 {
                return Err(bad());
            }
            out.extend(a..=b);
        } else {
            out.insert(part.parse::<i64>().map_err(|_| bad())?);
        }
        if out.len() > 100_000 {
            return Err(bad());
        }
    }
    Ok(out.into_iter().collect())
}

/// Parses an ID set and refuses more than `limit` ids with HTTP 414 (the status MEDUSA hit on
/// large ID sets **\[client\]**; limits per resource from §3.5 **\[doc\]**).
pub(crate) fn parse_id_set_limited(
    s: &str,
    limit: usize,
    resource: &str,
) -> Result<Vec<i64>, ApiError> {
    let ids = parse_id_set(s)?;
    if ids.len() > limit {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            codes::URI_TOO_LONG,
            format!(
                "Request-URI Too Long: {} {resource} ids requested, at most {limit} per request",
                ids.len()
            ),
        ));
    }
    Ok(ids)
}

/// Writes ids (any order) as a compact ID set: `[1,2,3,7]` → `"1-3,7"`.
pub(crate) fn compact_id_set(ids: &[i64]) -> String {
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    let mut parts = Vec::new();
    let mut iter = set.into_iter().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// A decimal from a JSON string (`"9.0909"`) or number (`24.00`); `None` for anything else.
pub(crate) fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

/// `d` rounded half away from zero to exactly `dp` decimals, as a string (`"9.0900"`).
pub(crate) fn money(d: Decimal, dp: u32) -> String {
    let mut r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(dp);
    r.to_string()
}

/// ISO-8601 with milliseconds in the account's UTC offset, e.g.
/// `2020-03-31T15:02:44.000-06:00` (recorded traffic carries the account's offset **\[obs\]**;
/// a UTC account as `+00:00` is **\[unconfirmed\]**).
pub(crate) fn iso(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// Parses an ISO-8601 date-time or date (`2024-05-01`) to UTC.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc());
    }
    None
}

/// The integer id of a seed object: the first of `keys` that holds an integer (or an integer string).
pub(crate) fn id_of(v: &Value, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| match v.get(*k) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

/// `v` at a `/`-separated pointer, or `Null`.
pub(crate) fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.pointer(pointer).unwrap_or(&NULL)
}

/// A string field, trimmed; `None` when absent, not a string, or empty.
pub(crate) fn str_at(v: &Value, pointer: &str) -> Option<String> {
    match at(v, pointer) {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer field (number or integer string).
pub(crate) fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    match at(v, pointer) {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_sets() {
        assert_eq!(parse_id_set("1-5,7").unwrap(), vec![1, 2, 3, 4, 5, 7]);
        assert_eq!(parse_id_set("9,3,3").unwrap(), vec![3, 9]);
        assert!(parse_id_set("5-1").is_err());
        assert!(parse_id_set("a").is_err());
        assert!(parse_id_set("1,,2").is_err());
        assert_eq!(compact_id_set(&[7, 1, 2, 3, 10, 11]), "1-3,7,10-11");
        let e = parse_id_set_limited("1-201", 200, "order").unwrap_err();
        assert_eq!(e.status, StatusCode::URI_TOO_LONG);
    }

    #[test]
    fn dates_carry_the_account_offset() {
        let t = DateTime::parse_from_rfc3339("2020-03-31T21:02:44Z")
            .unwrap()
            .with_timezone(&Utc);
        let west = FixedOffset::west_opt(6 * 3600).unwrap();
        assert_eq!(iso(t, west), "2020-03-31T15:02:44.000-06:00");
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(iso(t, utc), "2020-03-31T21:02:44.000+00:00");
        assert_eq!(parse_time(&iso(t, west)), Some(t));
    }

    #[test]
    fn money_format() {
        assert_eq!(money(Decimal::new(90909, 4), 2), "9.09");
        assert_eq!(money(Decimal::new(5, 3), 2), "0.01");
        assert_eq!(money(Decimal::new(2, 0), 4), "2.0000");
        assert_eq!(dec(&json!(24.5)), Some(Decimal::new(245, 1)));
        assert_eq!(dec(&json!("1.0000")), Some(Decimal::new(10000, 4)));
    }
}
