//! Each hand-written BigCommerce order fixture (`fixtures/<name>.json`: the order and its
//! sub-resources in the API's shapes) mapped with `fixtures/config.json` must give exactly
//! the Brightpearl request bodies in `fixtures/<name>.expected.json` (sales order and customer
//! payments, or the problems that hold it), and rows that add up to the charged amount
//! (`total_inc_tax` rounded to the currency's precision) to the penny.

use std::collections::BTreeMap;

use orders::config::{self, DiscountMode, OrdersConfig};
use orders::mapping::{self, Lookups};
use pearlbridge_sdk::bigcommerce::OrderBundle;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const SALES_ORDER_ID: u64 = 123456;
const CONTACT_ID: u64 = 2045;

fn dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures").to_string()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/{name}", dir())).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn config() -> OrdersConfig {
    config::parse(&read("config.json")).expect("fixtures/config.json is valid")
}

fn lookups() -> Lookups {
    let products: BTreeMap<String, u64> = serde_json::from_str(&read("products.json")).unwrap();
    Lookups {
        products,
        contact_id: CONTACT_ID,
        ..Lookups::default()
    }
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
        .parse()
        .unwrap()
}

/// Map fixture `name` (with `mode`) and compare with `<name><suffix>.expected.json`.
fn check(name: &str, mode: DiscountMode, suffix: &str) {
    let bundle: OrderBundle =
        serde_json::from_str(&read(&format!("{name}.json"))).expect("fixture decodes");
    let expected: Value =
        serde_json::from_str(&read(&format!("{name}{suffix}.expected.json"))).unwrap();
    let mut cfg = config();
    cfg.discount_mode = mode;
    match mapping::map_order(&bundle, &cfg, &lookups()) {
        Ok(mapped) => {
            assert!(
                expected.get("problems").is_none(),
                "{name}: expected to be held, but it mapped"
            );
            let so = serde_json::to_value(&mapped.sales_order).unwrap();
            assert_eq!(so, expected["sales_order"], "{name}: sales order body");
            let payments = serde_json::to_value(mapped.payments_for(SALES_ORDER_ID)).unwrap();
            assert_eq!(
                payments, expected["payments"],
                "{name}: customer payment bodies"
            );
            // Totals to the penny: the rows (net + tax) add up to the charged amount, and so
            // do the payments (receipts and captures; an authorisation only until captured).
            let total: Decimal = bundle.order.total_inc_tax;
            let charged = mapping::charged_amount(total, &mapped.sales_order.currency.code);
            let rows: Decimal = so["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| dec(&r["net"]) + dec(&r["tax"]))
                .sum();
            assert_eq!(rows, charged, "{name}: rows add up to the charged amount");
            assert_eq!(charged, dec(&expected["charged"]), "{name}: charged amount");
            assert_eq!(mapped.total, charged, "{name}: MappedOrder::total");
            let paid: Decimal = payments
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p.get("amountPaid").map(dec))
                .sum();
            let authorised: Decimal = payments
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p.get("amountAuthorized").map(dec))
                .sum();
            if !bundle.transactions.is_empty() {
                assert_eq!(
                    paid.max(authorised),
                    charged,
                    "{name}: payments add up to the charged amount"
                );
            }
            assert_eq!(
                rows,
                dec(&expected["rows_total"]),
                "{name}: expected rows total"
            );
            assert_eq!(mapped.total_inc_tax, dec(&expected["total_inc_tax"]));
            assert_eq!(
                mapped.note.as_deref(),
                expected.get("note").and_then(Value::as_str),
                "{name}: order note text"
            );
            assert_eq!(
                mapped.rounding.map(|d| d.to_string()),
                expected["rounding"].as_str().map(String::from),
                "{name}: rounding"
            );
        }
        Err(problems) => {
            let got: Vec<Value> = problems
                .iter()
                .map(|p| json!({"kind": p.kind, "message": p.message, "impact": p.impact.to_string(), "currency": p.currency}))
                .collect();
            assert_eq!(Value::Array(got), expected["problems"], "{name}: problems");
        }
    }
}

macro_rules! fixture {
    ($test:ident, $name:literal) => {
        #[test]
        fn $test() {
            check($name, DiscountMode::Distributed, "");
        }
    };
}

fixture!(tax_exclusive_card, "tax_exclusive_card");
fixture!(tax_inclusive_card, "tax_inclusive_card");
fixture!(several_tax_classes, "several_tax_classes");
fixture!(
    coupon_and_automatic_discount_distributed,
    "coupon_and_automatic_discount"
);
fixture!(free_shipping, "free_shipping");
fixture!(other_currency_eur, "other_currency_eur");
fixture!(gift_certificate_and_card, "gift_certificate_and_card");
fixture!(store_credit, "store_credit");
fixture!(guest_paypal, "guest_paypal");
fixture!(b2b_customer_group, "b2b_customer_group");
fixture!(b2b_purchase_order_number_and_messages, "b2b_purchase_order");
fixture!(several_shipping_addresses, "several_shipping_addresses");
fixture!(unknown_sku, "unknown_sku");
fixture!(rounding_four_decimals, "rounding_four_decimals");
fixture!(authorised_then_captured, "authorised_then_captured");
fixture!(handling_and_wrapping, "handling_and_wrapping");
fixture!(several_problems_found_in_one_pass, "several_problems");
fixture!(total_variance_beyond_tolerance, "total_variance");

#[test]
fn coupon_and_automatic_discount_as_discount_rows() {
    check("coupon_and_automatic_discount", DiscountMode::Rows, ".rows");
}

#[test]
fn discount_modes_give_the_same_total() {
    let bundle: OrderBundle =
        serde_json::from_str(&read("coupon_and_automatic_discount.json")).unwrap();
    let mut cfg = config();
    let distributed = mapping::map_order(&bundle, &cfg, &lookups()).unwrap();
    cfg.discount_mode = DiscountMode::Rows;
    let rows = mapping::map_order(&bundle, &cfg, &lookups()).unwrap();
    assert_eq!(
        mapping::sales_order_total(&distributed.sales_order),
        Decimal::new(3380, 2)
    );
    assert_eq!(
        mapping::sales_order_total(&rows.sales_order),
        Decimal::new(3380, 2)
    );
    assert_eq!(
        rows.sales_order.rows.len(),
        distributed.sales_order.rows.len() + 1
    );
}

#[test]
fn hold_mode_posts_a_four_decimal_total_whose_rows_add_up_to_the_charged_amount() {
    // total_inc_tax 26.9999, charged 27.00: the 2 dp rows add up to 27.00 exactly.
    let bundle: OrderBundle = serde_json::from_str(&read("rounding_four_decimals.json")).unwrap();
    let mut cfg = config();
    cfg.rounding.mode = config::RoundingMode::Hold;
    let mapped = mapping::map_order(&bundle, &cfg, &lookups()).unwrap();
    assert_eq!(mapped.rounding, None);
    assert_eq!(
        mapping::sales_order_total(&mapped.sales_order).to_string(),
        "27.00"
    );
}

#[test]
fn hold_mode_holds_even_a_sub_tolerance_difference() {
    // 4 dp rows add up to 26.9999, which cannot be the charged 27.00.
    let bundle: OrderBundle = serde_json::from_str(&read("rounding_four_decimals.json")).unwrap();
    let mut cfg = config();
    cfg.rounding.mode = config::RoundingMode::Hold;
    cfg.rounding.row_decimal_places = 4;
    let problems = mapping::map_order(&bundle, &cfg, &lookups()).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].kind, "order-total-variance");
    assert_eq!(problems[0].impact, "0.0001".parse::<Decimal>().unwrap());
    assert_eq!(
        problems[0].message,
        "bigcommerce:order:100243: the rows add up to 26.9999 GBP but the charged amount is 27.00 (total_inc_tax 26.9999): a difference of 0.0001 beyond the tolerance of 0.02"
    );
}

#[test]
fn four_decimal_rows_get_a_rounding_row_up_to_the_charged_amount() {
    let bundle: OrderBundle = serde_json::from_str(&read("rounding_four_decimals.json")).unwrap();
    let mut cfg = config();
    cfg.rounding.row_decimal_places = 4;
    let mapped = mapping::map_order(&bundle, &cfg, &lookups()).unwrap();
    let sticker = &mapped.sales_order.rows[0];
    assert_eq!(
        (sticker.net.to_string(), sticker.tax.to_string()),
        ("9.9999".to_string(), "2.0000".to_string())
    );
    assert_eq!(mapped.rounding, Some("0.0001".parse().unwrap()));
    let rounding = mapped.sales_order.rows.last().unwrap();
    assert_eq!(
        (
            rounding.name.as_deref(),
            rounding.net.to_string().as_str(),
            rounding.tax.to_string().as_str(),
            rounding.tax_code.as_str(),
            rounding.nominal_code.as_str()
        ),
        (Some("Rounding"), "0.0001", "0.0000", "T0", "4090")
    );
    assert_eq!(
        mapping::sales_order_total(&mapped.sales_order).to_string(),
        "27.0000"
    );
}

#[test]
fn charged_amount_is_total_inc_tax_at_the_currency_precision() {
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    assert_eq!(mapping::charged_amount(d("21.0999"), "GBP"), d("21.10"));
    assert_eq!(mapping::charged_amount(d("21.0949"), "EUR"), d("21.09"));
    assert_eq!(mapping::charged_amount(d("1234.5000"), "JPY"), d("1235"));
    assert_eq!(mapping::charged_amount(d("12.3455"), "KWD"), d("12.346"));
}

#[test]
fn a_bad_money_string_or_number_does_not_decode() {
    // Amounts are decimals in the models: a corrupt one fails the decode (the SDK's HTTP
    // decode names the field path, see `bigcommerce::tests`), never a silent 0.
    let fixture: Value = serde_json::from_str(&read("tax_exclusive_card.json")).unwrap();
    for (bad, shown) in [
        (json!("1,50"), r#""1,50""#),
        (json!("12.x4"), r#""12.x4""#),
        (json!(""), r#""""#),
        (json!(null), "null"),
        (json!(true), "true"),
    ] {
        let mut v = fixture.clone();
        v["products"][1]["total_tax"] = bad;
        let err = serde_json::from_value::<OrderBundle>(v).unwrap_err();
        assert_eq!(err.to_string(), format!("{shown} is not a decimal amount"));
    }
    let mut v = fixture.clone();
    v["transactions"][0]["amount"] = json!("24.99x");
    let err = serde_json::from_value::<OrderBundle>(v).unwrap_err();
    assert_eq!(err.to_string(), r#""24.99x" is not a decimal amount"#);
    // Both forms of a good amount decode to the same decimal.
    let mut v = fixture;
    v["products"][1]["total_tax"] = json!(1.5);
    let number: OrderBundle = serde_json::from_value(v.clone()).unwrap();
    v["products"][1]["total_tax"] = json!("1.5000");
    let string: OrderBundle = serde_json::from_value(v).unwrap();
    assert_eq!(number.products[1].total_tax, string.products[1].total_tax);
}

#[test]
fn two_gift_certificates_are_two_receipts_with_their_own_transaction_refs() {
    let mut bundle: OrderBundle =
        serde_json::from_str(&read("gift_certificate_and_card.json")).unwrap();
    // The shopper paid 20.00 with two certificates (12.50 + 7.50) and 30.00 by card.
    let mut second = bundle.transactions[0].clone();
    bundle.transactions[0].amount = "12.5".parse().unwrap();
    second.id = 1002372;
    second.amount = "7.5".parse().unwrap();
    second.date_created = "2024-05-01T10:15:25+00:00".into();
    bundle.transactions.push(second);
    let mapped = mapping::map_order(&bundle, &config(), &lookups()).unwrap();
    let got: Vec<(&str, &str, String, &str)> = mapped
        .payments
        .iter()
        .map(|p| {
            (
                p.transaction_ref.as_str(),
                p.payment_method_code.as_str(),
                p.amount_paid.unwrap().to_string(),
                p.payment_date.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "bc-txn-1002370",
                "GIFTCERT",
                "12.50".into(),
                "2024-05-01T10:15:20Z"
            ),
            (
                "bc-txn-1002372",
                "GIFTCERT",
                "7.50".into(),
                "2024-05-01T10:15:25Z"
            ),
            (
                "bc-txn-1002371",
                "STRIPE",
                "30.00".into(),
                "2024-05-01T10:15:30Z"
            ),
        ]
    );
}

#[test]
fn a_gift_certificate_without_its_transaction_falls_back_to_the_order_amount() {
    // Exported data without the gift-certificate transaction: one receipt from the order field.
    let mut bundle: OrderBundle =
        serde_json::from_str(&read("gift_certificate_and_card.json")).unwrap();
    bundle.transactions.remove(0);
    let mapped = mapping::map_order(&bundle, &config(), &lookups()).unwrap();
    let p = &mapped.payments[0];
    assert_eq!(
        (
            p.transaction_ref.as_str(),
            p.amount_paid.map(|a| a.to_string()),
            p.payment_date.as_str()
        ),
        (
            "bc-order-100237-gift-certificate",
            Some("20.00".to_string()),
            "2024-05-01T10:15:00Z"
        )
    );
}

#[test]
fn without_the_mapping_key_the_po_field_is_ignored_and_the_ref_is_the_prefix() {
    let bundle: OrderBundle = serde_json::from_str(&read("b2b_purchase_order.json")).unwrap();
    let mut cfg = config();
    cfg.purchase_order_form_field = None;
    let mapped = mapping::map_order(&bundle, &cfg, &lookups()).unwrap();
    assert_eq!(mapped.sales_order.reference, "BC-100248");
    assert_eq!(
        mapped.note.as_deref(),
        Some(
            "BigCommerce order 100248\nCustomer message: Deliver to goods-in, door 3\nStaff notes: Phone order taken by Sam"
        )
    );
}

#[test]
fn a_numeric_po_field_matched_ignoring_case_is_the_ref() {
    let mut bundle: OrderBundle = serde_json::from_str(&read("b2b_purchase_order.json")).unwrap();
    bundle.order.billing_address.form_fields = vec![pearlbridge_sdk::bigcommerce::FormField {
        name: " po number ".into(),
        value: json!(450012),
    }];
    bundle.order.customer_message = String::new();
    bundle.order.staff_notes = String::new();
    let mapped = mapping::map_order(&bundle, &config(), &lookups()).unwrap();
    assert_eq!(mapped.sales_order.reference, "450012");
    assert_eq!(mapped.note, None, "no messages, no note");
}
