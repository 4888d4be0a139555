//! Decimal money helpers shared by the generator: rounding, tax splits and the two JSON
//! money encodings (BigCommerce v2 4-decimal strings, v3 JSON numbers).
//!
//! Rounding is half away from zero ("round half up" on positive amounts), the convention
//! BigCommerce's storefront and UK VAT use [unconfirmed for BigCommerce internals].

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

/// Rounds to 2 decimal places, half away from zero.
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Rounds to 4 decimal places, half away from zero.
pub fn round4(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

/// A BigCommerce v2 money string: always 4 decimals (`"225.0000"`), per `bigcommerce-api.md` §3 [doc].
pub fn money4(d: Decimal) -> String {
    let mut r = round4(d);
    r.rescale(4);
    r.to_string()
}

/// A v2 money field as a JSON string value.
pub fn v2(d: Decimal) -> Value {
    Value::String(money4(d))
}

/// A v3 money field as a JSON number (v3 money is numeric, `bigcommerce-api.md` §3 [doc]).
/// Only the JSON encoding goes through `f64`; arithmetic never does. Amounts here have at most
/// 4 decimals, so the shortest round-trip form of the `f64` reads back as the same decimal.
pub fn v3(d: Decimal) -> Value {
    let f = round4(d).to_f64().expect("money fits in f64");
    Value::from(f)
}

/// Adds `more`'s members to the object `into` (both must be JSON objects; `json!` literals
/// are split in two to stay under the macro recursion limit).
pub fn merge(into: &mut Value, more: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, more) {
        a.extend(b);
    }
}

/// Parses a decimal from a JSON string or number (as the API sends either), `None` otherwise.
pub fn parse(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n
            .to_string()
            .parse()
            .ok()
            .or_else(|| Decimal::from_scientific(&n.to_string()).ok()),
        _ => None,
    }
}

/// Tax contained in a tax-inclusive (gross) amount at `rate` percent, rounded to 2 dp:
/// `round2(gross × rate / (100 + rate))`.
pub fn tax_in_gross(gross: Decimal, rate: Decimal) -> Decimal {
    round2(gross * rate / (Decimal::ONE_HUNDRED + rate))
}

/// Tax on a tax-exclusive (net) amount at `rate` percent, rounded to 2 dp: `round2(net × rate / 100)`.
pub fn tax_on_net(net: Decimal, rate: Decimal) -> Decimal {
    round2(net * rate / Decimal::ONE_HUNDRED)
}

/// An amount split into its ex-tax, tax and inc-tax parts (`ex + tax == inc` always).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Split {
    pub ex: Decimal,
    pub tax: Decimal,
    pub inc: Decimal,
}

impl Split {
    pub const ZERO: Split = Split {
        ex: Decimal::ZERO,
        tax: Decimal::ZERO,
        inc: Decimal::ZERO,
    };

    /// The value in the order's pricing mode (`inc` when tax-inclusive, else `ex`): BigCommerce's
    /// `base_*` fields.
    pub fn base(&self, inclusive: bool) -> Decimal {
        if inclusive { self.inc } else { self.ex }
    }
}

impl std::ops::Add for Split {
    type Output = Split;
    fn add(self, o: Split) -> Split {
        Split {
            ex: self.ex + o.ex,
            tax: self.tax + o.tax,
            inc: self.inc + o.inc,
        }
    }
}

/// Splits a line or charge total given in the order's pricing mode, tax rounded to 2 dp.
/// Inclusive: `inc` is exact, `tax = round2(inc × r/(100+r))`, `ex = inc − tax`.
/// Exclusive: `ex` is exact, `tax = round2(ex × r/100)`, `inc = ex + tax`.
pub fn split_total(amount: Decimal, rate: Decimal, inclusive: bool) -> Split {
    if inclusive {
        let tax = tax_in_gross(amount, rate);
        Split {
            ex: amount - tax,
            tax,
            inc: amount,
        }
    } else {
        let tax = tax_on_net(amount, rate);
        Split {
            ex: amount,
            tax,
            inc: amount + tax,
        }
    }
}

/// Splits a unit price given in the order's pricing mode; BigCommerce keeps unit prices to 4 dp,
/// so the unit tax is rounded to 4 dp (e.g. 4.00 inc at 20% → 3.3333 ex + 0.6667 tax).
pub fn split_unit(price: Decimal, rate: Decimal, inclusive: bool) -> Split {
    if inclusive {
        let tax = round4(price * rate / (Decimal::ONE_HUNDRED + rate));
        Split {
            ex: price - tax,
            tax,
            inc: price,
        }
    } else {
        let tax = round4(price * rate / Decimal::ONE_HUNDRED);
        Split {
            ex: price,
            tax,
            inc: price + tax,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn money_strings_have_four_decimals() {
        assert_eq!(money4(d("225")), "225.0000");
        assert_eq!(money4(d("3.33333")), "3.3333");
        assert_eq!(money4(d("0.16665")), "0.1667");
        assert_eq!(money4(Decimal::ZERO), "0.0000");
    }

    #[test]
    fn v3_numbers_read_back_exactly() {
        for s in ["12.00", "12.5", "1234.99", "0.01", "99999.95"] {
            let v = v3(d(s));
            assert!(v.is_number());
            assert_eq!(parse(&v).unwrap(), d(s).normalize());
        }
        assert_eq!(v3(d("12.50")).to_string(), "12.5");
    }

    #[test]
    fn inclusive_split_keeps_the_gross_exact() {
        let s = split_total(d("12.00"), d("20"), true);
        assert_eq!((s.ex, s.tax, s.inc), (d("10.00"), d("2.00"), d("12.00")));
        let u = split_unit(d("4.00"), d("20"), true);
        assert_eq!((u.ex, u.tax), (d("3.3333"), d("0.6667")));
    }

    #[test]
    fn exclusive_split_rounds_line_tax_half_up() {
        // 0.8325 × 4 = 3.33 net; 20% = 0.666 → 0.67 (per-unit rounding would give 4 × 0.17 = 0.68).
        let s = split_total(d("0.8325") * d("4"), d("20"), false);
        assert_eq!((s.ex, s.tax, s.inc), (d("3.3300"), d("0.67"), d("4.0000")));
        assert_eq!(
            round2(split_unit(d("0.8325"), d("20"), false).tax) * d("4"),
            d("0.68")
        );
        assert_eq!(tax_on_net(d("0.125"), d("20")), d("0.03"));
    }
}
