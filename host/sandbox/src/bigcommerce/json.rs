//! Small JSON, money and date helpers shared by the BigCommerce endpoint modules.
//!
//! Money: v2 money fields are 4-decimal strings (`"225.0000"`) [doc]; v3 money fields are JSON
//! numbers [doc]. Arithmetic is `rust_decimal::Decimal` only; a decimal is turned into a JSON
//! number only at the wire. Dates: v2 RFC 2822 UTC (`+0000`) [doc], v3 ISO 8601 / RFC 3339 [doc],
//! webhook `created_at` Unix seconds [doc].

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// An integer field, accepting a JSON number or a numeric string.
pub(crate) fn int(v: &Value, key: &str) -> Option<i64> {
    as_int(v.get(key)?)
}

/// A JSON number or numeric string as an integer.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A money field (4-decimal string in v2, number in v3) as a decimal.
pub(crate) fn dec(v: &Value, key: &str) -> Option<Decimal> {
    as_dec(v.get(key)?)
}

/// A JSON number or numeric string as a decimal (numbers go through their decimal text).
pub(crate) fn as_dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

/// A string field ("" when absent or not a string).
pub(crate) fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// v2 money: a string with exactly 4 decimals, e.g. `"12.5000"` [doc].
pub(crate) fn money4(d: Decimal) -> Value {
    let mut d = d.round_dp(4);
    d.rescale(4);
    Value::String(d.to_string())
}

/// v3 money: a JSON number with the decimal's value (e.g. `12.5`) [doc].
pub(crate) fn number(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

/// v2 date: RFC 2822 in UTC with a two-digit day, e.g. `Tue, 05 Mar 2024 15:32:00 +0000`
/// [doc] (chrono's `to_rfc2822` would write `5 Mar`; BigCommerce pads the day [obs]).
pub(crate) fn rfc2822(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// v3 date: RFC 3339 / ISO 8601 UTC with a `Z`, e.g. `2017-04-20T15:32:00Z` [doc].
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a v2 date filter: RFC 2822 or ISO 8601 [doc] (`bigcommerce-api.md` §3).
pub(crate) fn parse_v2_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc2822(s)
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a stored date of any documented shape (RFC 2822 or RFC 3339).
pub(crate) fn parse_any_date(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(parse_v2_date)
}

/// Comma-separated filter values (`id:in=1,2,3`).
pub(crate) fn csv(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Comma-separated integer filter values; `None` if any is not an integer.
pub(crate) fn csv_ints(s: &str) -> Option<Vec<i64>> {
    csv(s).iter().map(|p| p.parse().ok()).collect()
}

/// SHA-1 (FIPS 180-4) of `data`, lower-case hex. BigCommerce's webhook `hash` is a SHA-1 of
/// the payload data [doc]; no SHA-1 crate is in the workspace, so it is written out here.
pub(crate) fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let (mut a, mut b, mut c, mut d, mut e) = (h[0], h[1], h[2], h[3], h[4]);
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | ((!b) & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
        h[4] = h[4].wrapping_add(e);
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_vectors() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn money_and_dates() {
        assert_eq!(
            money4(Decimal::new(125, 1)),
            Value::String("12.5000".into())
        );
        assert_eq!(number(Decimal::new(1250, 2)).to_string(), "12.5");
        let t = parse_v2_date("Thu, 20 Apr 2017 11:32:00 -0400").unwrap();
        assert_eq!(rfc2822(t), "Thu, 20 Apr 2017 15:32:00 +0000");
        assert_eq!(parse_v2_date("2017-04-20T11:32:00.000-04:00"), Some(t));
        assert_eq!(iso(t), "2017-04-20T15:32:00Z");
        let t = parse_v2_date("2024-03-05T09:07:08Z").unwrap();
        assert_eq!(rfc2822(t), "Tue, 05 Mar 2024 09:07:08 +0000");
    }
}
