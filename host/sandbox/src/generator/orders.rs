//! BigCommerce orders with every §5 field, their products, shipping addresses, coupons,
//! taxes (`details=true`) and v3 transactions, priced with `rust_decimal` so every order
//! re-adds to its own `total_inc_tax`.
//!
//! # Money conventions (stated once, used everywhere)
//! * Lines: the unit price is exact in the order's pricing mode. Tax-exclusive orders:
//!   `total_ex_tax = price_ex_tax × quantity`, `total_tax = round2(total_ex_tax × rate/100)`,
//!   `total_inc_tax = total_ex_tax + total_tax`. Tax-inclusive orders: `total_inc_tax =
//!   price_inc_tax × quantity`, `total_tax = round2(total_inc_tax × rate/(100+rate))`,
//!   `total_ex_tax = total_inc_tax − total_tax`. Unit `price_tax` is kept to 4 dp, so unit
//!   prices may have 4 decimals (3.3333, 0.8325) while line totals have 2.
//! * Shipping, handling and wrapping split the same way (class rate, 2 dp tax); a line's
//!   `wrapping_cost_*` are that line's wrapping totals, and the order's are their sum.
//! * Discounts (`applied_discounts[].amount`, `discount_amount`, `coupon_discount`, a coupon
//!   row's `discount`) are tax-inclusive amounts off what the shopper pays, in both pricing
//!   modes. Order-level promotions and coupons are spread over the lines (target `order`), so
//!   `discount_amount` = Σ automatic (no `code`) line discounts and `coupon_discount` = Σ coupon
//!   line discounts. A line's discounted tax is `total_tax − round2(Σ discounts × rate/(100+rate))`;
//!   that is its `item` tax row's `line_amount`, and `discounted_total_inc_tax = total_inc_tax − Σ discounts`.
//! * Order: `subtotal_* = Σ line total_*` (before discounts);
//!   `total_inc_tax = subtotal_inc_tax + shipping_cost_inc_tax + handling_cost_inc_tax +
//!   wrapping_cost_inc_tax − discount_amount − coupon_discount`;
//!   `total_tax = Σ tax rows' line_amount`; `total_ex_tax = total_inc_tax − total_tax`.
//! * Payments: `gift_certificate_amount` and `store_credit_amount` are tenders, not discounts.
//!   The gateway transactions that take money (`event` purchase, capture or pending with
//!   `status` ok, `method` neither gift_certificate nor store_credit) plus those two amounts
//!   equal the charged amount, `total_inc_tax` rounded to 2 dp (it has 4 dp when a line's
//!   4-decimal unit price does not multiply out to whole pennies, e.g. 3 × 3.3333 = 9.9999); gift certificate and store credit also appear as their own v3
//!   transactions whose amounts equal the order fields. An authorization followed by its
//!   capture counts once (the capture).
//!
//! These conventions are the generator's own, chosen to be consistent; how BigCommerce itself
//! allocates discounts and tax across lines is not in `reference/` [unconfirmed].
//!
//! # Planted scenarios (order index `i` from 0, order id `100 + i`)
//! * `i % 40 == 5`: the tealight rounding case (4.00 inc VAT × 3 → unit 3.3333 ex, line tax 2.00
//!   where per-unit rounding gives 2.01; or trade 0.8325 ex × 4k, line tax rounded once).
//! * `i % 40 == 25`: a line at a 4-decimal unit price, 3 × 3.3333 = 9.9999, so `total_inc_tax`
//!   has 4 decimals (e.g. 21.0999) and the customer is charged it rounded to 2 dp (21.10).
//! * `i % 20 == 7`: a line with a planted unknown SKU; `i % 20 == 13`: a near-match SKU line.
//! * Statuses: ~91% Awaiting Fulfillment (11), ~5% Pending (1, bank deposit, `pending`
//!   transaction), ~4% Cancelled (5, payment still captured).

use super::Rng;
use super::catalog::{Catalog, Variant};
use super::money::{Split, merge, money4, round2, split_total, split_unit, v2, v3};
use super::people::{Address, People, Person, currency_for, random_country};
use super::reference::{
    self, CLASS_SHIPPING, CLASS_WRAPPING, Currency, GBP, GROUP_RETAIL, PAY_BANK, PAY_CREDIT,
    PAY_GIFT, PAY_PAYPAL, PAY_STRIPE, PaymentMethod, SHIP_DHL_EU, SHIP_DHL_WW, SHIP_DPD, SHIP_FREE,
    SHIP_PALLET, SHIP_RM48, SHIP_RMSD, ShippingMethod, USD,
};
use crate::seed::BigCommerceOrderBundle;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::Rng as _;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The store hash in sub-resource links.
pub const STORE_HASH: &str = "hf7kq2";
/// First order id (BigCommerce stores start at 100).
pub const FIRST_ORDER_ID: i64 = 100;

struct Disc {
    id: String,
    name: String,
    code: Option<String>,
    target: &'static str,
    amount: Decimal,
}

struct Line<'a> {
    id: i64,
    v: &'a Variant,
    qty: u32,
    addr: usize,
    rate: Decimal,
    unit: Split,
    total: Split,
    wrap: Option<Split>,
    discounts: Vec<Disc>,
}

impl Line<'_> {
    fn discount_total(&self) -> Decimal {
        self.discounts.iter().map(|d| d.amount).sum()
    }
    fn discount_tax(&self) -> Decimal {
        round2(self.discount_total() * self.rate / (Decimal::ONE_HUNDRED + self.rate))
    }
}

struct Ship {
    id: i64,
    address: Address,
    person: Person,
    method: ShippingMethod,
    cost: Split,
    handling: Split,
    zone: (i64, &'static str),
}

struct Counters {
    order_product: i64,
    address: i64,
    tax_row: i64,
    coupon_row: i64,
    transaction: i64,
}

/// A v2 date as BigCommerce writes it: RFC 2822, UTC, two-digit day
/// (`Tue, 01 Sep 2026 08:15:00 +0000`), `bigcommerce-api.md` §3 [doc].
pub fn rfc2822(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

fn alnum(rng: &mut Rng, n: usize, upper: bool) -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| {
            let c = A[rng.random_range(0..A.len())] as char;
            if upper { c.to_ascii_uppercase() } else { c }
        })
        .collect()
}

fn convert(gbp: Decimal, cur: Currency) -> Decimal {
    if cur.code == GBP.code {
        gbp
    } else {
        round2(gbp * cur.rate())
    }
}

/// Spreads `total` over `weights` in proportion, 2 dp; the rounding remainder goes to the
/// heaviest weight so no share can go negative.
fn distribute(total: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    let sum: Decimal = weights.iter().sum();
    let mut shares: Vec<Decimal> = weights.iter().map(|w| round2(total * *w / sum)).collect();
    let heaviest = (0..weights.len())
        .max_by_key(|&k| (weights[k], std::cmp::Reverse(k)))
        .unwrap_or(0);
    let rest: Decimal = shares
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != heaviest)
        .map(|(_, s)| *s)
        .sum();
    shares[heaviest] = total - rest;
    shares
}

fn link(order_id: i64, resource: &str) -> Value {
    json!({"url": format!("https://api.bigcommerce.com/stores/{STORE_HASH}/v2/orders/{order_id}/{resource}"),
           "resource": format!("/orders/{order_id}/{resource}")})
}

fn zone(iso2: &str) -> (i64, &'static str) {
    match iso2 {
        "GB" => (1, "United Kingdom"),
        "US" => (3, "Rest of the World"),
        _ => (2, "Europe"),
    }
}

fn address_json(p: &Person, a: &Address) -> serde_json::Map<String, Value> {
    let v = json!({
        "first_name": p.first_name, "last_name": p.last_name, "company": p.company,
        "street_1": a.street_1, "street_2": a.street_2, "city": a.city, "state": a.state, "zip": a.zip,
        "country": a.country, "country_iso2": a.country_iso2, "phone": p.phone, "email": p.email,
        "form_fields": []
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// What the order step produced.
pub struct Orders {
    pub bundles: Vec<BigCommerceOrderBundle>,
    pub with_unknown_skus: Vec<i64>,
}

/// Builds `count` orders placed from `epoch` onwards.
pub fn build(
    rng: &mut Rng,
    count: usize,
    catalog: &Catalog,
    people: &mut People,
    epoch: DateTime<Utc>,
) -> Orders {
    let mut c = Counters {
        order_product: 1001,
        address: 501,
        tax_row: 2001,
        coupon_row: 301,
        transaction: 7001,
    };
    let mut credit_left: Vec<Decimal> = people.customers.iter().map(|c| c.store_credit).collect();
    let known: Vec<&Variant> = catalog
        .variants
        .iter()
        .filter(|v| v.bp_sku.is_some())
        .collect();
    let unknown: Vec<&Variant> = catalog
        .variants
        .iter()
        .filter(|v| v.bp_sku.is_none())
        .collect();
    let near: Vec<&Variant> = catalog
        .variants
        .iter()
        .filter(|v| {
            catalog
                .near_match_skus
                .iter()
                .any(|(bc, _)| *bc == v.bc_sku)
        })
        .collect();
    let tealight = &catalog.variants[0];
    let mut at = epoch;
    let mut out = Orders {
        bundles: Vec::with_capacity(count),
        with_unknown_skus: Vec::new(),
    };

    for i in 0..count {
        let order_id = FIRST_ORDER_ID + i as i64;
        at += Duration::minutes(rng.random_range(15..180));

        // Shopper.
        let registered = if !people.customers.is_empty() && rng.random_bool(0.7) {
            Some(rng.random_range(0..people.customers.len()))
        } else {
            None
        };
        let (customer_id, person, group) = match registered {
            Some(k) => {
                let cu = &people.customers[k];
                (cu.id, cu.person.clone(), cu.group)
            }
            None => {
                let code = random_country(rng);
                (0, people.person(rng, code, false), GROUP_RETAIL)
            }
        };
        let b2b = group.b2b;
        let cur = if b2b {
            GBP
        } else {
            currency_for(person.address.country_iso2)
        };
        let inclusive = !b2b && cur.code != USD.code;

        // Status.
        let roll = rng.random_range(0..100);
        let (status_id, status) = if roll < 5 {
            (1, "Pending")
        } else if roll < 9 {
            (5, "Cancelled")
        } else {
            (11, "Awaiting Fulfillment")
        };

        // Lines.
        let n_lines = if b2b {
            rng.random_range(2..=6)
        } else {
            rng.random_range(1..=4)
        };
        let mut picked: Vec<&Variant> = Vec::new();
        if i % 40 == 5 {
            picked.push(tealight);
        }
        if i % 20 == 7 && !unknown.is_empty() {
            picked.push(unknown[(i / 20) % unknown.len()]);
        }
        if i % 20 == 13 && !near.is_empty() {
            picked.push(near[(i / 20) % near.len()]);
        }
        let mut guard = 0;
        while picked.len() < n_lines.max(picked.len()) && guard < 50 && !known.is_empty() {
            guard += 1;
            let v = known[rng.random_range(0..known.len())];
            if !picked.iter().any(|p| p.bc_variant_id == v.bc_variant_id) {
                picked.push(v);
            }
        }
        let two_addresses = !b2b && picked.len() >= 2 && rng.random_bool(0.08);
        let mut lines: Vec<Line> = Vec::new();
        for (k, v) in picked.iter().enumerate() {
            let class = reference::tax_class(v.tax_class_id);
            let mut qty: u32 = if b2b {
                rng.random_range(4..=24)
            } else if rng.random_bool(0.85) {
                rng.random_range(1..=2)
            } else {
                rng.random_range(3..=5)
            };
            if v.pack > 1 {
                qty = if b2b {
                    qty.div_ceil(v.pack) * v.pack
                } else {
                    3
                };
            }
            let four_dp = i % 40 == 25 && k == 0;
            if four_dp {
                qty = 3;
            }
            let price = if four_dp {
                d("3.3333")
            } else if b2b {
                if group.id == reference::GROUP_TRADE.id {
                    v.trade_ex
                } else {
                    v.wholesale_ex
                }
            } else if cur.code == USD.code {
                round2(v.retail_ex() * USD.rate())
            } else {
                convert(v.retail_inc, cur)
            };
            let unit = split_unit(price, class.rate(), inclusive);
            let total = split_total(price * Decimal::from(qty), class.rate(), inclusive);
            let addr = if two_addresses && k == picked.len() - 1 {
                1
            } else {
                0
            };
            lines.push(Line {
                id: c.order_product,
                v,
                qty,
                addr,
                rate: class.rate(),
                unit,
                total,
                wrap: None,
                discounts: Vec::new(),
            });
            c.order_product += 1;
        }
        if !b2b && rng.random_bool(0.05) && !lines.is_empty() {
            let k = rng.random_range(0..lines.len());
            lines[k].wrap = Some(split_total(
                convert(d("2.50"), cur),
                reference::tax_class(CLASS_WRAPPING).rate(),
                inclusive,
            ));
        }
        let sub: Split = lines.iter().fold(Split::ZERO, |a, l| a + l.total);
        let gbp_value = if cur.code == GBP.code {
            sub.inc
        } else {
            round2(sub.inc / cur.rate())
        };

        // Automatic promotions.
        if !b2b {
            for l in lines.iter_mut() {
                let multi_buy = l.v.bc_sku.starts_with("SOCK") || l.v.bc_sku.starts_with("MUG");
                if l.qty >= 3 && multi_buy {
                    let amount = round2(l.total.inc * d("0.10"));
                    l.discounts.push(Disc {
                        id: "7".into(),
                        name: "Socks and mugs: buy 3, save 10%".into(),
                        code: None,
                        target: "product",
                        amount,
                    });
                }
            }
            if cur.code == GBP.code && sub.inc >= d("250") {
                let shares = distribute(
                    d("25.00"),
                    &lines.iter().map(|l| l.total.inc).collect::<Vec<_>>(),
                );
                for (l, s) in lines.iter_mut().zip(shares) {
                    l.discounts.push(Disc {
                        id: "9".into(),
                        name: "Spend £250, save £25".into(),
                        code: None,
                        target: "order",
                        amount: s,
                    });
                }
            }
        }
        // Coupons: (coupon_id, code, type, amount as configured).
        let mut coupon: Option<(i64, &str, i64, Decimal)> = None;
        if rng.random_bool(0.12) {
            if b2b {
                coupon = Some((4, "TRADE5", 1, d("5")));
            } else {
                match rng.random_range(0..3) {
                    0 => coupon = Some((1, "SPRING10", 1, d("10"))),
                    1 if gbp_value >= d("40") => {
                        coupon = Some((2, "TAKE5", 2, convert(d("5.00"), cur)))
                    }
                    2 if person.address.country_iso2 == "GB" => {
                        coupon = Some((3, "FREESHIP", 4, Decimal::ZERO))
                    }
                    _ => {}
                }
            }
        }
        let mut coupon_discount = Decimal::ZERO;
        if let Some((cid, code, ty, amount)) = coupon {
            match ty {
                1 => {
                    for l in lines.iter_mut() {
                        let a = round2(l.total.inc * amount / Decimal::ONE_HUNDRED);
                        coupon_discount += a;
                        l.discounts.push(Disc {
                            id: cid.to_string(),
                            name: code.into(),
                            code: Some(code.into()),
                            target: "product",
                            amount: a,
                        });
                    }
                }
                2 => {
                    let shares = distribute(
                        amount,
                        &lines.iter().map(|l| l.total.inc).collect::<Vec<_>>(),
                    );
                    for (l, s) in lines.iter_mut().zip(shares) {
                        coupon_discount += s;
                        l.discounts.push(Disc {
                            id: cid.to_string(),
                            name: code.into(),
                            code: Some(code.into()),
                            target: "order",
                            amount: s,
                        });
                    }
                }
                _ => {}
            }
        }
        let free_ship = matches!(coupon, Some((3, ..)));

        // Shipping addresses, shipping and handling.
        let ship_rate = reference::tax_class(CLASS_SHIPPING).rate();
        let iso2 = person.address.country_iso2;
        let method = if b2b {
            if sub.ex >= d("500") {
                SHIP_PALLET
            } else {
                SHIP_DPD
            }
        } else if iso2 == "GB" {
            if free_ship || gbp_value >= d("100") {
                SHIP_FREE
            } else {
                match rng.random_range(0..100) {
                    0..60 => SHIP_RM48,
                    60..85 => SHIP_DPD,
                    _ => SHIP_RMSD,
                }
            }
        } else if iso2 == "US" {
            SHIP_DHL_WW
        } else {
            SHIP_DHL_EU
        };
        let handling_gbp = if lines.iter().any(|l| l.v.bc_sku.starts_with("SEAT")) {
            d("5.00")
        } else if gbp_value < d("10") {
            d("1.50")
        } else {
            Decimal::ZERO
        };
        let mut ships: Vec<Ship> = Vec::new();
        for a in 0..if two_addresses { 2 } else { 1 } {
            let (p, addr, m) = if a == 0 {
                (person.clone(), person.address.clone(), method)
            } else {
                let gift = people.person(rng, iso2, false);
                let m = if method.bp_id == SHIP_FREE.bp_id || iso2 != "GB" {
                    method
                } else {
                    SHIP_RM48
                };
                (gift.clone(), gift.address, m)
            };
            let cost = split_total(convert(m.price.parse().unwrap(), cur), ship_rate, inclusive);
            let handling = if a == 0 {
                split_total(convert(handling_gbp, cur), ship_rate, inclusive)
            } else {
                Split::ZERO
            };
            ships.push(Ship {
                id: c.address,
                zone: zone(addr.country_iso2),
                address: addr,
                person: p,
                method: m,
                cost,
                handling,
            });
            c.address += 1;
        }

        // Totals.
        let shipping: Split = ships.iter().fold(Split::ZERO, |a, s| a + s.cost);
        let handling: Split = ships.iter().fold(Split::ZERO, |a, s| a + s.handling);
        let wrapping: Split = lines
            .iter()
            .filter_map(|l| l.wrap)
            .fold(Split::ZERO, |a, w| a + w);
        let discount_amount: Decimal = lines
            .iter()
            .flat_map(|l| &l.discounts)
            .filter(|d| d.code.is_none())
            .map(|d| d.amount)
            .sum();
        let total_inc = sub.inc + shipping.inc + handling.inc + wrapping.inc
            - discount_amount
            - coupon_discount;

        // Tax rows.
        let mut taxes = Vec::new();
        let tax_row = |c: &mut Counters,
                       addr: i64,
                       class_id: i64,
                       amount: Decimal,
                       product: Option<i64>,
                       kind: &str| {
            let class = reference::tax_class(class_id);
            let (rate_id, rate_name) = reference::tax_rate_row(class.rate);
            let row = json!({
                "id": c.tax_row, "order_id": order_id, "order_address_id": addr, "tax_rate_id": rate_id,
                "sales_tax_id": rate_id, "tax_class_id": class.id, "name": rate_name, "class": class.name,
                "rate": money4(class.rate()), "priority": 0, "priority_amount": money4(amount),
                "line_amount": money4(amount), "order_pickup_method_id": 0,
                "order_product_id": product.map(Value::from).unwrap_or(Value::Null), "line_item_type": kind
            });
            c.tax_row += 1;
            row
        };
        let mut total_tax = Decimal::ZERO;
        for l in &lines {
            let amount = l.total.tax - l.discount_tax();
            total_tax += amount;
            taxes.push(tax_row(
                &mut c,
                ships[l.addr].id,
                l.v.tax_class_id,
                amount,
                Some(l.id),
                "item",
            ));
            if let Some(w) = l.wrap {
                total_tax += w.tax;
                taxes.push(tax_row(
                    &mut c,
                    ships[l.addr].id,
                    CLASS_WRAPPING,
                    w.tax,
                    Some(l.id),
                    "gift-wrapping",
                ));
            }
        }
        for s in &ships {
            total_tax += s.cost.tax;
            taxes.push(tax_row(
                &mut c,
                s.id,
                CLASS_SHIPPING,
                s.cost.tax,
                None,
                "shipping",
            ));
            if s.handling.inc > Decimal::ZERO {
                total_tax += s.handling.tax;
                taxes.push(tax_row(
                    &mut c,
                    s.id,
                    CLASS_SHIPPING,
                    s.handling.tax,
                    None,
                    "handling",
                ));
            }
        }

        // Tenders: they add up to the charged amount, total_inc_tax at 2 dp.
        let charged = round2(total_inc);
        let mut gift = Decimal::ZERO;
        let mut credit = Decimal::ZERO;
        if !b2b && rng.random_bool(0.06) {
            gift = charged.min(convert(
                Decimal::from([10, 20, 25, 50][rng.random_range(0..4)]),
                cur,
            ));
        }
        if let Some(k) = registered
            && credit_left[k] > Decimal::ZERO
            && cur.code == GBP.code
            && rng.random_bool(0.7)
        {
            credit = (charged - gift).min(credit_left[k]);
            credit_left[k] -= credit;
        }
        let remainder = charged - gift - credit;
        let gateway: Option<PaymentMethod> = if remainder <= Decimal::ZERO {
            None
        } else if status_id == 1 || (b2b && rng.random_bool(0.4)) {
            Some(PAY_BANK)
        } else if rng.random_bool(0.65) {
            Some(PAY_STRIPE)
        } else {
            Some(PAY_PAYPAL)
        };
        let paid_at = at + Duration::seconds(rng.random_range(4..40));
        let iso = paid_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut transactions = Vec::new();
        let txn = |c: &mut Counters,
                   pm: PaymentMethod,
                   event: &str,
                   amount: Decimal,
                   gw_id: Value,
                   reference: Value,
                   extra: Value| {
            let mut t = json!({
                "id": c.transaction, "order_id": order_id.to_string(), "event": event, "method": pm.method,
                "amount": v3(amount), "currency": cur.code, "gateway": pm.gateway,
                "gateway_transaction_id": gw_id, "date_created": iso, "test": false, "status": "ok",
                "fraud_review": false, "reference_transaction_id": reference, "offline": Value::Null,
                "custom": Value::Null, "payment_method_id": Value::Null, "payment_instrument_token": Value::Null,
                "credit_card": Value::Null, "gift_certificate": Value::Null, "store_credit": Value::Null,
                "avs_result": Value::Null, "cvv_result": Value::Null
            });
            if let (Value::Object(m), Value::Object(x)) = (&mut t, extra) {
                m.extend(x);
            }
            c.transaction += 1;
            let id = c.transaction - 1;
            (t, id)
        };
        if gift > Decimal::ZERO {
            let start = gift + Decimal::from(rng.random_range(0..3) * 5);
            let code = format!("GC-{}-{}", alnum(rng, 4, true), alnum(rng, 4, true));
            let extra = json!({"gift_certificate": {"code": code, "original_balance": v3(start.max(convert(d("50"), cur))),
                               "starting_balance": v3(start), "remaining_balance": v3(start - gift), "status": "active"}});
            transactions.push(
                txn(
                    &mut c,
                    PAY_GIFT,
                    "purchase",
                    gift,
                    Value::Null,
                    Value::Null,
                    extra,
                )
                .0,
            );
        }
        if credit > Decimal::ZERO {
            let k = registered.expect("store credit needs a customer");
            let extra = json!({"store_credit": {"remaining_balance": v3(credit_left[k])}});
            transactions.push(
                txn(
                    &mut c,
                    PAY_CREDIT,
                    "purchase",
                    credit,
                    Value::Null,
                    Value::Null,
                    extra,
                )
                .0,
            );
        }
        let mut provider_id = String::new();
        let mut card_type = Value::Null;
        if let Some(pm) = gateway {
            if pm.gateway == PAY_STRIPE.gateway {
                let gw = format!("pi_3{}", alnum(rng, 23, false));
                provider_id = gw.clone();
                let (ct, iin) = [
                    ("visa", "424242"),
                    ("mastercard", "555555"),
                    ("amex", "378282"),
                ][rng.random_range(0..3)];
                card_type = Value::from(match ct {
                    "visa" => "Visa",
                    "mastercard" => "MasterCard",
                    _ => "American Express",
                });
                let extra = json!({
                    "payment_method_id": "stripev3.card",
                    "credit_card": {"card_type": ct, "card_iin": iin, "card_last4": format!("{:04}", rng.random_range(0..10000)),
                                    "card_expiry_month": rng.random_range(1..=12), "card_expiry_year": rng.random_range(2027..=2031)},
                    "avs_result": {"code": "Y", "message": "Street address and 5-digit postal code match", "street_match": "Y", "postal_match": "Y"},
                    "cvv_result": {"code": "M", "message": "CVV2 match"}
                });
                if rng.random_bool(0.5) {
                    transactions.push(
                        txn(
                            &mut c,
                            pm,
                            "purchase",
                            remainder,
                            Value::from(gw),
                            Value::Null,
                            extra,
                        )
                        .0,
                    );
                } else {
                    let (auth, auth_id) = txn(
                        &mut c,
                        pm,
                        "authorization",
                        remainder,
                        Value::from(gw.clone()),
                        Value::Null,
                        extra.clone(),
                    );
                    transactions.push(auth);
                    transactions.push(
                        txn(
                            &mut c,
                            pm,
                            "capture",
                            remainder,
                            Value::from(gw),
                            Value::from(auth_id),
                            extra,
                        )
                        .0,
                    );
                }
            } else if pm.gateway == PAY_PAYPAL.gateway {
                let gw = alnum(rng, 17, true);
                provider_id = gw.clone();
                let extra = json!({"payment_method_id": "paypalcommerce.paypal"});
                transactions.push(
                    txn(
                        &mut c,
                        pm,
                        "purchase",
                        remainder,
                        Value::from(gw),
                        Value::Null,
                        extra,
                    )
                    .0,
                );
            } else {
                let event = if status_id == 1 {
                    "pending"
                } else {
                    "purchase"
                };
                let extra = json!({"payment_method_id": "bankdeposit", "offline": {"display_name": "Bank Deposit"}});
                transactions.push(
                    txn(
                        &mut c,
                        pm,
                        event,
                        remainder,
                        Value::Null,
                        Value::Null,
                        extra,
                    )
                    .0,
                );
            }
        }
        let payment_method = match gateway {
            Some(pm) => pm.display,
            None if gift > Decimal::ZERO => PAY_GIFT.display,
            None => PAY_CREDIT.display,
        };
        let payment_status = match (status_id, gateway.map(|g| g.gateway)) {
            (1, _) => "pending",
            (_, Some("bankdeposit")) => "paid",
            _ => "captured",
        };

        // Coupons.
        let coupons: Vec<Value> = match coupon {
            Some((cid, code, ty, amount)) => {
                let row = json!({"id": c.coupon_row, "coupon_id": cid, "order_id": order_id, "code": code,
                                 "amount": money4(amount), "type": ty, "discount": money4(coupon_discount)});
                c.coupon_row += 1;
                vec![row]
            }
            None => Vec::new(),
        };

        // Order products.
        let products: Vec<Value> = lines
            .iter()
            .map(|l| {
                let v = l.v;
                let options: Vec<Value> = v
                    .options
                    .iter()
                    .enumerate()
                    .map(|(k, (opt, label, oid, vid))| {
                        json!({"id": l.id * 10 + k as i64, "option_id": oid, "order_product_id": l.id,
                               "product_option_id": oid, "display_name": opt, "display_name_customer": opt,
                               "display_name_merchant": opt, "display_value": label, "display_value_customer": label,
                               "display_value_merchant": label, "value": vid.to_string(), "type": "Multiple choice",
                               "name": opt.to_lowercase(), "display_style": "Rectangle"})
                    })
                    .collect();
                let name = v.product_name.clone();
                let class = reference::tax_class(v.tax_class_id);
                let cost = split_unit(v.cost, class.rate(), false);
                let wrap = l.wrap.unwrap_or(Split::ZERO);
                let applied: Vec<Value> = l
                    .discounts
                    .iter()
                    .map(|d| json!({"id": d.id, "amount": money4(d.amount), "name": d.name,
                                    "code": d.code.clone().map(Value::from).unwrap_or(Value::Null), "target": d.target}))
                    .collect();
                let mut a = json!({
                    "id": l.id, "order_id": order_id, "product_id": v.bc_product_id, "variant_id": v.bc_variant_id,
                    "order_pickup_method_id": 0, "order_address_id": ships[l.addr].id,
                    "name": name, "name_customer": name, "name_merchant": name,
                    "product_options": options, "sku": v.bc_sku, "upc": v.upc, "type": "physical",
                    "base_price": v2(l.unit.base(inclusive)), "price_ex_tax": v2(l.unit.ex),
                    "price_inc_tax": v2(l.unit.inc), "price_tax": v2(l.unit.tax),
                    "base_total": v2(l.total.base(inclusive)), "total_ex_tax": v2(l.total.ex),
                    "total_inc_tax": v2(l.total.inc), "total_tax": v2(l.total.tax),
                });
                let b = json!({
                    "weight": v2(v.weight), "width": v2(Decimal::ZERO), "height": v2(Decimal::ZERO), "depth": v2(Decimal::ZERO),
                    "quantity": l.qty,
                    "base_cost_price": v2(cost.ex), "cost_price_inc_tax": v2(cost.inc),
                    "cost_price_ex_tax": v2(cost.ex), "cost_price_tax": v2(cost.tax),
                    "is_refunded": false, "quantity_refunded": 0, "refund_amount": v2(Decimal::ZERO), "return_id": 0,
                    "wrapping_id": if l.wrap.is_some() { 1 } else { 0 },
                    "wrapping_name": if l.wrap.is_some() { "Gift Wrap" } else { "" },
                    "base_wrapping_cost": v2(wrap.base(inclusive)), "wrapping_cost_ex_tax": v2(wrap.ex),
                    "wrapping_cost_inc_tax": v2(wrap.inc), "wrapping_cost_tax": v2(wrap.tax),
                    "wrapping_message": if l.wrap.is_some() { "Happy birthday! Love from us all." } else { "" },
                });
                let c3 = json!({
                    "quantity_shipped": 0, "event_name": Value::Null, "event_date": "",
                    "fixed_shipping_cost": v2(Decimal::ZERO), "ebay_item_id": "", "ebay_transaction_id": "",
                    "option_set_id": Value::Null, "parent_order_product_id": Value::Null, "is_bundled_product": false,
                    "bin_picking_number": "", "external_id": Value::Null, "brand": v.brand,
                    "applied_discounts": applied, "configurable_fields": [], "gift_certificate_id": Value::Null,
                    "discounted_total_inc_tax": v2(l.total.inc - l.discount_total())
                });
                merge(&mut a, b);
                merge(&mut a, c3);
                a
            })
            .collect();

        // Shipping addresses.
        let shipping_addresses: Vec<Value> = ships
            .iter()
            .map(|s| {
                let mut m = address_json(&s.person, &s.address);
                let items: u32 = lines.iter().filter(|l| ships[l.addr].id == s.id).map(|l| l.qty).sum();
                let extra = json!({
                    "id": s.id, "order_id": order_id, "items_total": items, "items_shipped": 0,
                    "shipping_method": s.method.name, "base_cost": v2(s.cost.base(inclusive)),
                    "cost_ex_tax": v2(s.cost.ex), "cost_inc_tax": v2(s.cost.inc), "cost_tax": v2(s.cost.tax),
                    "cost_tax_class_id": CLASS_SHIPPING, "base_handling_cost": v2(s.handling.base(inclusive)),
                    "handling_cost_ex_tax": v2(s.handling.ex), "handling_cost_inc_tax": v2(s.handling.inc),
                    "handling_cost_tax": v2(s.handling.tax), "handling_cost_tax_class_id": CLASS_SHIPPING,
                    "shipping_zone_id": s.zone.0, "shipping_zone_name": s.zone.1,
                    "shipping_quotes": link(order_id, &format!("shipping_addresses/{}/shipping_quotes", s.id))
                });
                if let Value::Object(x) = extra {
                    m.extend(x);
                }
                Value::Object(m)
            })
            .collect();

        // The order.
        let created = rfc2822(at);
        let modified = rfc2822(at + Duration::minutes(3));
        let manual = b2b && rng.random_bool(0.3);
        let items_total: u32 = lines.iter().map(|l| l.qty).sum();
        let billing = address_json(&person, &person.address);
        let mut order = json!({
            "id": order_id, "customer_id": customer_id,
            "date_created": created, "date_modified": modified, "date_shipped": "",
            "status_id": status_id, "status": status, "custom_status": status,
            "subtotal_ex_tax": v2(sub.ex), "subtotal_inc_tax": v2(sub.inc), "subtotal_tax": v2(sub.tax),
            "base_shipping_cost": v2(shipping.base(inclusive)), "shipping_cost_ex_tax": v2(shipping.ex),
            "shipping_cost_inc_tax": v2(shipping.inc), "shipping_cost_tax": v2(shipping.tax),
            "shipping_cost_tax_class_id": CLASS_SHIPPING,
        });
        let part2 = json!({
            "base_handling_cost": v2(handling.base(inclusive)), "handling_cost_ex_tax": v2(handling.ex),
            "handling_cost_inc_tax": v2(handling.inc), "handling_cost_tax": v2(handling.tax),
            "handling_cost_tax_class_id": CLASS_SHIPPING,
            "base_wrapping_cost": v2(wrapping.base(inclusive)), "wrapping_cost_ex_tax": v2(wrapping.ex),
            "wrapping_cost_inc_tax": v2(wrapping.inc), "wrapping_cost_tax": v2(wrapping.tax),
            "wrapping_cost_tax_class_id": CLASS_WRAPPING,
            "total_ex_tax": v2(total_inc - total_tax), "total_inc_tax": v2(total_inc), "total_tax": v2(total_tax),
        });
        let part3 = json!({
            "items_total": items_total, "items_shipped": 0,
            "payment_method": payment_method, "payment_provider_id": provider_id, "payment_status": payment_status,
            "refunded_amount": v2(Decimal::ZERO), "order_is_digital": false,
            "store_credit_amount": v2(credit), "gift_certificate_amount": v2(gift),
            "ip_address": format!("81.2.69.{}", rng.random_range(1..250)), "ip_address_v6": "",
            "geoip_country": person.address.country, "geoip_country_iso2": person.address.country_iso2,
            "currency_id": cur.bc_id, "currency_code": cur.code, "currency_exchange_rate": cur.rate,
            "default_currency_id": cur.bc_id, "default_currency_code": cur.code,
            "store_default_currency_code": GBP.code, "store_default_to_transactional_exchange_rate": cur.rate,
        });
        let part4 = json!({
            "staff_notes": if manual { "Phone order taken by Sam" } else { "" },
            "customer_message": if rng.random_bool(0.1) { "Please leave with a neighbour if we are out." } else { "" },
            "discount_amount": v2(discount_amount), "coupon_discount": v2(coupon_discount),
            "shipping_address_count": ships.len(), "is_deleted": false, "ebay_order_id": "0",
            "cart_id": format!("{}-{}-4{}-a{}-{}", alnum(rng, 8, false), alnum(rng, 4, false), alnum(rng, 3, false), alnum(rng, 3, false), alnum(rng, 12, false)),
            "billing_address": Value::Object(billing),
        });
        let part5 = json!({
            "is_email_opt_in": rng.random_bool(0.3), "credit_card_type": card_type,
            "order_source": if manual { "manual" } else { "www" }, "channel_id": 1,
            "external_source": Value::Null, "external_id": Value::Null, "external_merchant_id": Value::Null,
            "external_order_id": "", "tax_provider_id": "BasicTaxProvider",
            "customer_locale": match person.address.country_iso2 { "US" => "en-US", "DE" => "de-DE", "FR" => "fr-FR", "NL" => "nl-NL", _ => "en-GB" },
            "is_tax_inclusive_pricing": inclusive,
            "products": link(order_id, "products"), "shipping_addresses": link(order_id, "shipping_addresses"),
            "coupons": link(order_id, "coupons"), "consignments": link(order_id, "consignments"),
            "fees": link(order_id, "fees")
        });
        for part in [part2, part3, part4, part5] {
            merge(&mut order, part);
        }
        if lines.iter().any(|l| l.v.bp_sku.is_none()) {
            out.with_unknown_skus.push(order_id);
        }
        let customer = registered.map(|k| people.customers[k].json.clone());
        out.bundles.push(BigCommerceOrderBundle {
            order,
            products,
            shipping_addresses,
            coupons,
            taxes,
            transactions,
            customer,
        });
    }
    out
}
