//! Money as `rust_decimal::Decimal` (never `f64`).
//!
//! BigCommerce v2 money fields are strings with 4 decimals (`"225.0000"`, bigcommerce-api.md
//! §3 [doc]); v3 money fields are JSON numbers. Brightpearl sales-order rows take up to 4 dp
//! (brightpearl-api.md §4.1 [doc]).

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// A money value that could not be parsed; names the entity and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity}: field `{field}` is not a decimal amount: {value:?}")]
pub struct MoneyError {
    /// e.g. `bigcommerce:order:118`.
    pub entity: String,
    /// e.g. `total_inc_tax` or `products[2].total_tax`.
    pub field: String,
    pub value: String,
}

/// Parse a BigCommerce money string (e.g. `"12.3400"`) into a `Decimal`. An empty string is
/// an error (BigCommerce always sends `"0.0000"` for zero).
pub fn parse(entity: &str, field: &str, value: &str) -> Result<Decimal, MoneyError> {
    let trimmed = value.trim();
    Decimal::from_str(trimmed)
        .or_else(|_| Decimal::from_scientific(trimmed))
        .map_err(|_| MoneyError {
            entity: entity.into(),
            field: field.into(),
            value: value.into(),
        })
}

/// Parse a JSON number (BigCommerce v3 money) into a `Decimal` through its text, never
/// through `f64` arithmetic.
pub fn from_json_number(
    entity: &str,
    field: &str,
    n: &serde_json::Number,
) -> Result<Decimal, MoneyError> {
    parse(entity, field, &n.to_string())
}

/// Round half away from zero to `dp` decimal places (commercial rounding).
pub fn round(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// `value` rounded half away from zero to exactly `dp` decimal places, its scale set to
/// `dp` so its text has them all (`fixed(12.3, 2)` prints `12.30`); a zero is positive.
pub fn fixed(value: Decimal, dp: u32) -> Decimal {
    let mut v = round(value, dp);
    v.rescale(dp);
    if v.is_zero() {
        v.set_sign_positive(true);
    }
    v
}

/// Format with exactly `dp` decimal places (e.g. `format(12.3, 2)` = `"12.30"`), rounding
/// half away from zero first: the text of [`fixed`].
pub fn format(value: Decimal, dp: u32) -> String {
    fixed(value, dp).to_string()
}

/// Serde for a money field of an API model: a decimal amount in the currency of the
/// resource it belongs to (the order's currency for order amounts).
///
/// Decoding accepts a JSON string (BigCommerce v2, e.g. `"12.3400"`, surrounding spaces
/// ignored) or a JSON number (BigCommerce v3, read through its text, never through `f64`
/// arithmetic). Anything else — `""`, `null`, `"12.x4"`, `"12,50"`, `true` — is an error
/// `"12.x4" is not a decimal amount` (the value as JSON), so the response fails to decode
/// and [`crate::http`] names the field (`GET /v2/orders/118: cannot decode the response:
/// total_inc_tax: "12.x4" is not a decimal amount`); never a silent 0. A field absent from
/// the body takes its model's default.
///
/// Encoding writes the decimal's text as a JSON string with its scale kept (`12.30` →
/// `"12.30"`), the form Brightpearl receives amounts in.
pub mod serde_amount {
    use rust_decimal::Decimal;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    /// The amount of a JSON string or number; anything else is an error naming the value.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        from_value(&v).ok_or_else(|| D::Error::custom(format!("{v} is not a decimal amount")))
    }

    /// The decimal's text as a JSON string (scale kept).
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn from_value(v: &serde_json::Value) -> Option<Decimal> {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        super::parse("", "", &text).ok()
    }

    /// An optional amount: `null`, `""` (or the field absent, with `#[serde(default)]`) is
    /// `None`; otherwise as [`deserialize`]. `None` encodes as `null` (pair it with
    /// `skip_serializing_if = "Option::is_none"` to leave the field out).
    pub mod option {
        use rust_decimal::Decimal;
        use serde::de::Error;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            let v = serde_json::Value::deserialize(d)?;
            match &v {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
                _ => super::from_value(&v)
                    .map(Some)
                    .ok_or_else(|| D::Error::custom(format!("{v} is not a decimal amount"))),
            }
        }

        pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(d) => s.collect_str(d),
                None => s.serialize_none(),
            }
        }
    }
}

/// Split `total` across `weights` in proportion, each part rounded to `dp`, the parts summing
/// to `total` exactly (the remainder goes to the largest weight). With all-zero weights the
/// first part takes the whole total; with no weights the result is empty.
pub fn allocate(total: Decimal, weights: &[Decimal], dp: u32) -> Vec<Decimal> {
    if weights.is_empty() {
        return vec![];
    }
    let sum: Decimal = weights.iter().copied().sum();
    let mut parts: Vec<Decimal> = if sum.is_zero() {
        let mut v = vec![Decimal::ZERO; weights.len()];
        v[0] = total;
        return v;
    } else {
        weights
            .iter()
            .map(|w| round(total * *w / sum, dp))
            .collect()
    };
    let allocated: Decimal = parts.iter().copied().sum();
    let rest = total - allocated;
    if !rest.is_zero() {
        let largest = weights
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().cmp(&b.1.abs()).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i)
            .unwrap_or(0);
        parts[largest] += rest;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::d;

    mod rust_decimal_macros_free {
        pub fn d(s: &str) -> rust_decimal::Decimal {
            s.parse().unwrap()
        }
    }

    #[test]
    fn parses_four_decimal_strings_and_names_the_field_on_error() {
        assert_eq!(
            parse("bigcommerce:order:1", "total_inc_tax", "225.0000").unwrap(),
            d("225")
        );
        assert_eq!(parse("x", "f", "0.3333").unwrap().to_string(), "0.3333");
        let err = parse("bigcommerce:order:118", "total_inc_tax", "12,50").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bigcommerce:order:118: field `total_inc_tax` is not a decimal amount: \"12,50\""
        );
        assert!(parse("x", "f", "").is_err());
    }

    #[test]
    fn rounds_half_away_from_zero_and_formats() {
        assert_eq!(format(d("2.345"), 2), "2.35");
        assert_eq!(format(d("-2.345"), 2), "-2.35");
        assert_eq!(format(d("2.3449"), 2), "2.34");
        assert_eq!(format(d("5"), 2), "5.00");
        assert_eq!(format(d("-0.001"), 2), "0.00");
        assert_eq!(format(d("1.23456"), 4), "1.2346");
    }

    #[test]
    fn allocation_sums_to_the_total() {
        let parts = allocate(d("10.00"), &[d("1"), d("1"), d("1")], 2);
        assert_eq!(parts, vec![d("3.34"), d("3.33"), d("3.33")]);
        let parts = allocate(d("5.00"), &[d("30"), d("10")], 2);
        assert_eq!(parts, vec![d("3.75"), d("1.25")]);
        assert_eq!(allocate(d("1"), &[d("0")], 2), vec![d("1")]);
    }

    #[derive(Debug, serde::Deserialize, serde::Serialize)]
    struct Row {
        #[serde(with = "serde_amount")]
        amount: Decimal,
        #[serde(
            default,
            with = "serde_amount::option",
            skip_serializing_if = "Option::is_none"
        )]
        rate: Option<Decimal>,
    }

    #[test]
    fn serde_amount_takes_strings_and_numbers_and_names_a_bad_value() {
        let r: Row = serde_json::from_str(r#"{"amount":" 12.3400 "}"#).unwrap();
        assert_eq!((r.amount.to_string(), r.rate), ("12.3400".into(), None));
        let r: Row = serde_json::from_str(r#"{"amount":24.99,"rate":"0.8"}"#).unwrap();
        assert_eq!((r.amount, r.rate), (d("24.99"), Some(d("0.8"))));
        let r: Row = serde_json::from_str(r#"{"amount":"1","rate":null}"#).unwrap();
        assert_eq!(r.rate, None);
        let r: Row = serde_json::from_str(r#"{"amount":"1","rate":""}"#).unwrap();
        assert_eq!(r.rate, None);
        for (body, bad) in [
            (r#"{"amount":"12.x4"}"#, r#""12.x4""#),
            (r#"{"amount":"12,50"}"#, r#""12,50""#),
            (r#"{"amount":""}"#, r#""""#),
            (r#"{"amount":null}"#, "null"),
            (r#"{"amount":true}"#, "true"),
            (r#"{"amount":"1","rate":"x"}"#, r#""x""#),
        ] {
            let err = serde_json::from_str::<Row>(body).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{bad} is not a decimal amount")),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn serde_amount_writes_the_text_with_its_scale() {
        let r = Row {
            amount: fixed(d("12.3"), 2),
            rate: None,
        };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"amount":"12.30"}"#);
        let r = Row {
            amount: fixed(d("-0.001"), 2),
            rate: Some(d("1.0000")),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"amount":"0.00","rate":"1.0000"}"#
        );
    }

    #[test]
    fn json_numbers_go_through_text() {
        let n: serde_json::Number = serde_json::from_str("24.99").unwrap();
        assert_eq!(from_json_number("t", "amount", &n).unwrap(), d("24.99"));
    }
}
