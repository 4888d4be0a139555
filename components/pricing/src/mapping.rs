//! The pricing rules as plain functions: Brightpearl quantity prices → one BigCommerce price
//! list record per variant, the exact `PUT /v3/pricelists/{id}/records` body, and the
//! comparison of a record BigCommerce holds with the one wanted.
//!
//! Brightpearl stores every price net to 4 dp (brightpearl-api.md §7 [doc]) as a map break
//! quantity → unit price string (`{"1": "12.3450", "10": "11.0000"}`). A BigCommerce record
//! (bigcommerce-api.md §9 [doc]) gets:
//! - `price`: the unit price at the lowest break (normally 1), at most 4 dp, trailing zeros
//!   dropped (`12.3450` → `12.345`, `11.0000` → `11`), written as a JSON number;
//! - `bulk_pricing_tiers`: one tier per further break, `{quantity_min: break,
//!   quantity_max: next break − 1 (0 for the last: no upper bound), type: "fixed", amount:
//!   unit price}` (`fixed` = the unit price at that quantity); `[]` when there is only one
//!   break, so breaks removed in Brightpearl are removed in BigCommerce too.

use std::collections::BTreeMap;

use pearlbridge_sdk::money;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// Most records in one `PUT /v3/pricelists/{id}/records` (bigcommerce-api.md §9 [doc]).
pub const RECORDS_PER_PUT: usize = 1000;

/// Break quantity → net unit price (4 dp at most).
pub type Breaks = BTreeMap<u64, Decimal>;

/// One price list of one product in `GET /product-service/product-price/{ids}`
/// (brightpearl-api.md §7 [doc]): `{priceListId, currencyCode, sku?, quantityPrice}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListPrice {
    pub price_list_id: u64,
    pub currency_code: String,
    /// Break quantity (text) → unit price (a string, or a number in some accounts).
    pub quantity_price: BTreeMap<String, Value>,
}

/// One product of `GET /product-service/product-price/{ids}`: `{productId, priceLists}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProductPrice {
    pub product_id: u64,
    pub price_lists: Vec<ListPrice>,
}

/// The breaks of one list price; an error names the break and the value. An empty map is
/// `Ok` and empty (no price on that list).
pub fn breaks(lp: &ListPrice) -> Result<Breaks, String> {
    let mut out = Breaks::new();
    for (qty, v) in &lp.quantity_price {
        let q = qty
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|q| *q > 0)
            .ok_or_else(|| format!("break quantity {qty:?} is not a positive integer"))?;
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        let price = money::parse("", "quantityPrice", &text)
            .ok()
            .filter(|p| !p.is_sign_negative())
            .ok_or_else(|| format!("the price at break {q} is {v} (not an amount ≥ 0)"))?;
        out.insert(q, price);
    }
    Ok(out)
}

/// One quantity tier of a record (`type` is always `fixed`: `amount` is the unit price).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub quantity_min: u64,
    /// 0 = no upper bound.
    pub quantity_max: u64,
    pub amount: Decimal,
}

/// One BigCommerce price list record to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub variant_id: u64,
    /// The variant's SKU (messages only; the record is keyed by `variant_id`).
    pub sku: String,
    /// ISO 4217, lower case (`gbp`).
    pub currency: String,
    pub price: Decimal,
    pub tiers: Vec<Tier>,
}

/// A price as BigCommerce gets it: rounded half away from zero to 4 dp, trailing zeros
/// dropped (`12.3450` → `12.345`, `11.0000` → `11`, `0.0000` → `0`).
pub fn price(d: Decimal) -> Decimal {
    let mut p = money::round(d, 4).normalize();
    if p.is_zero() {
        p.set_sign_positive(true);
    }
    p
}

/// The record of `variant_id` for a product with `breaks` (non-empty), in `currency`
/// (any case; written lower case). `None` when `breaks` is empty.
pub fn record(variant_id: u64, sku: &str, currency: &str, breaks: &Breaks) -> Option<Record> {
    let (_, base) = breaks.iter().next()?;
    let rest: Vec<(u64, Decimal)> = breaks.iter().skip(1).map(|(q, p)| (*q, *p)).collect();
    let tiers = rest
        .iter()
        .enumerate()
        .map(|(i, (q, p))| Tier {
            quantity_min: *q,
            quantity_max: rest.get(i + 1).map(|(n, _)| n - 1).unwrap_or(0),
            amount: price(*p),
        })
        .collect();
    Some(Record {
        variant_id,
        sku: sku.to_string(),
        currency: currency.to_ascii_lowercase(),
        price: price(*base),
        tiers,
    })
}

impl Record {
    /// The record as the JSON text of one element of the PUT body, e.g.
    /// `{"variant_id":77,"currency":"gbp","price":12.345,"bulk_pricing_tiers":[{"quantity_min":10,"quantity_max":0,"type":"fixed","amount":11}]}`.
    /// Prices are written from the decimal's text (never through `f64`). It is also the
    /// value stored as last pushed.
    pub fn json(&self) -> String {
        let tiers: Vec<String> = self
            .tiers
            .iter()
            .map(|t| {
                format!(
                    "{{\"quantity_min\":{},\"quantity_max\":{},\"type\":\"fixed\",\"amount\":{}}}",
                    t.quantity_min, t.quantity_max, t.amount
                )
            })
            .collect();
        format!(
            "{{\"variant_id\":{},\"currency\":{},\"price\":{},\"bulk_pricing_tiers\":[{}]}}",
            self.variant_id,
            Value::String(self.currency.clone()),
            self.price,
            tiers.join(",")
        )
    }

    /// The key of this record among the last pushed ones of its list: `<variant id>:<currency>`.
    pub fn pushed_key(&self) -> String {
        format!("{}:{}", self.variant_id, self.currency)
    }

    /// True when `bc` (one record of `GET /v3/pricelists/{id}/records?include=bulk_pricing_tiers`)
    /// holds this record's price and tiers (amounts compared as decimals, currency
    /// case-insensitive).
    pub fn matches(&self, bc: &Value) -> bool {
        let dec = |v: &Value| -> Option<Decimal> {
            match v {
                Value::Number(n) => money::parse("", "", &n.to_string()).ok(),
                Value::String(s) => money::parse("", "", s).ok(),
                _ => None,
            }
        };
        if !bc["currency"]
            .as_str()
            .is_some_and(|c| c.eq_ignore_ascii_case(&self.currency))
            || dec(&bc["price"]).map(price) != Some(self.price)
        {
            return false;
        }
        let empty = vec![];
        let tiers = bc["bulk_pricing_tiers"].as_array().unwrap_or(&empty);
        tiers.len() == self.tiers.len()
            && tiers.iter().zip(&self.tiers).all(|(b, t)| {
                b["quantity_min"].as_u64() == Some(t.quantity_min)
                    && b["quantity_max"].as_u64().unwrap_or(0) == t.quantity_max
                    && b["type"].as_str() == Some("fixed")
                    && dec(&b["amount"]).map(price) == Some(t.amount)
            })
    }
}

/// The `PUT /v3/pricelists/{id}/records` body: a JSON array of [`Record::json`].
pub fn records_body(records: &[Record]) -> String {
    let parts: Vec<String> = records.iter().map(Record::json).collect();
    format!("[{}]", parts.join(","))
}

/// The variant ids BigCommerce rejected in a 207/422 answer of the records PUT:
/// `batch_errors[].data.variant_id` with the field errors as text (bigcommerce-api.md §9
/// [doc]).
pub fn rejected(body: &str) -> BTreeMap<u64, String> {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    for e in v["batch_errors"].as_array().into_iter().flatten() {
        if let Some(id) = e["data"]["variant_id"].as_u64() {
            out.insert(id, e["field_errors"].to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn lp(q: Value) -> ListPrice {
        serde_json::from_value(
            serde_json::json!({"priceListId": 3, "currencyCode": "GBP", "quantityPrice": q}),
        )
        .unwrap()
    }

    #[test]
    fn breaks_become_price_and_fixed_tiers() {
        let b = breaks(&lp(
            serde_json::json!({"1": "12.3450", "100": "10.0000", "10": "11.5000"}),
        ))
        .unwrap();
        let r = record(77, "A-1", "GBP", &b).unwrap();
        assert_eq!(
            r.json(),
            r#"{"variant_id":77,"currency":"gbp","price":12.345,"bulk_pricing_tiers":[{"quantity_min":10,"quantity_max":99,"type":"fixed","amount":11.5},{"quantity_min":100,"quantity_max":0,"type":"fixed","amount":10}]}"#
        );
        let one = record(
            5,
            "B",
            "gbp",
            &breaks(&lp(serde_json::json!({"1": "0.0000"}))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            one.json(),
            r#"{"variant_id":5,"currency":"gbp","price":0,"bulk_pricing_tiers":[]}"#
        );
        assert_eq!(record(5, "B", "gbp", &Breaks::new()), None);
    }

    #[test]
    fn bad_breaks_name_the_value() {
        assert_eq!(
            breaks(&lp(serde_json::json!({"1": "12,50"}))).unwrap_err(),
            "the price at break 1 is \"12,50\" (not an amount ≥ 0)"
        );
        assert!(breaks(&lp(serde_json::json!({"0": "1"}))).is_err());
        assert!(breaks(&lp(serde_json::json!({"1": "-1"}))).is_err());
        assert_eq!(price(d("1.23456")), d("1.2346"));
    }

    #[test]
    fn matches_compares_decimals_and_tiers() {
        let b = breaks(&lp(serde_json::json!({"1": "12.3450", "10": "11"}))).unwrap();
        let r = record(77, "A-1", "GBP", &b).unwrap();
        let bc: Value = serde_json::from_str(&r.json()).unwrap();
        assert!(r.matches(&bc));
        let mut other = bc.clone();
        other["price"] = serde_json::json!(12.35);
        assert!(!r.matches(&other));
        let mut no_tiers = bc.clone();
        no_tiers["bulk_pricing_tiers"] = serde_json::json!([]);
        assert!(!r.matches(&no_tiers));
    }

    #[test]
    fn rejected_reads_batch_errors() {
        let body = r#"{"batch_errors":[{"data":{"price_list_id":1,"variant_id":9,"sku":null,"currency":"gbp"},"field_errors":{"variant_id":"variant not found"}}]}"#;
        let r = rejected(body);
        assert_eq!(r.len(), 1);
        assert_eq!(r[&9], r#"{"variant_id":"variant not found"}"#);
    }
}
