//! The loader reads the hand-written example store under `tests/data/` (two BigCommerce order
//! folders and a Brightpearl account file) with exact values.

use pearlbridge_sandbox::loader::{load_bigcommerce_orders, load_brightpearl};
use rust_decimal::Decimal;
use serde_json::Value;
use std::path::PathBuf;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.to_string().parse().unwrap(),
        other => panic!("not money: {other}"),
    }
}

fn sum(list: &[Value], key: &str) -> Decimal {
    list.iter().map(|v| dec(&v[key])).sum()
}

#[test]
fn loads_the_example_orders_in_order_with_every_file() {
    let orders = load_bigcommerce_orders(&data().join("orders")).unwrap();
    let ids: Vec<i64> = orders
        .iter()
        .map(|b| b.order["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1001, 1002]);

    let a = &orders[0];
    assert_eq!(a.order["total_inc_tax"], "60.6400");
    assert_eq!(a.order["coupon_discount"], "6.3000");
    assert_eq!(a.order["date_created"], "Tue, 01 Sep 2026 09:14:27 +0000");
    assert_eq!(a.products.len(), 2);
    assert_eq!(a.products[0]["sku"], "TEE-001-BLK-M");
    assert_eq!(a.products[0]["order_address_id"], 801);
    assert_eq!(a.shipping_addresses.len(), 1);
    assert_eq!(a.coupons.len(), 1);
    assert_eq!(a.coupons[0]["code"], "SPRING10");
    assert_eq!(a.taxes.len(), 3);
    assert_eq!(
        a.transactions
            .iter()
            .map(|t| t["event"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["authorization", "capture"]
    );
    assert_eq!(a.transactions[1]["amount"], serde_json::json!(60.64));
    let customer = a.customer.as_ref().expect("customer.json");
    assert_eq!(customer["customer_group_id"], 1);
    assert_eq!(customer["email"], "jane.buyer@example.co.uk");

    let b = &orders[1];
    assert_eq!(b.order["customer_id"], 0);
    assert!(b.customer.is_none(), "guest: no customer.json");
    assert!(b.coupons.is_empty(), "no coupons.json means 204");
    assert_eq!(b.shipping_addresses.len(), 2);
    assert_eq!(
        b.transactions.len(),
        2,
        "the v3 {{data, meta}} body is unwrapped"
    );
    assert_eq!(b.transactions[0]["method"], "gift_certificate");
    assert_eq!(b.order["currency_code"], "EUR");
    assert_eq!(b.order["total_inc_tax"], "106.9500");
}

#[test]
fn the_example_orders_re_add_to_their_totals() {
    for b in load_bigcommerce_orders(&data().join("orders")).unwrap() {
        let o = &b.order;
        let total = dec(&o["total_inc_tax"]);
        assert_eq!(
            dec(&o["subtotal_inc_tax"]),
            sum(&b.products, "total_inc_tax")
        );
        assert_eq!(
            dec(&o["shipping_cost_inc_tax"]),
            sum(&b.shipping_addresses, "cost_inc_tax")
        );
        assert_eq!(
            dec(&o["subtotal_inc_tax"])
                + dec(&o["shipping_cost_inc_tax"])
                + dec(&o["handling_cost_inc_tax"])
                + dec(&o["wrapping_cost_inc_tax"])
                - dec(&o["discount_amount"])
                - dec(&o["coupon_discount"]),
            total
        );
        assert_eq!(dec(&o["total_tax"]), sum(&b.taxes, "line_amount"));
        assert_eq!(dec(&o["total_ex_tax"]) + dec(&o["total_tax"]), total);
        let gateway: Decimal = b
            .transactions
            .iter()
            .filter(|t| matches!(t["event"].as_str(), Some("purchase" | "capture")))
            .filter(|t| {
                !matches!(
                    t["method"].as_str(),
                    Some("gift_certificate" | "store_credit")
                )
            })
            .map(|t| dec(&t["amount"]))
            .sum();
        assert_eq!(
            gateway + dec(&o["gift_certificate_amount"]) + dec(&o["store_credit_amount"]),
            total
        );
    }
}

#[test]
fn loads_the_example_brightpearl_account() {
    let bp = load_brightpearl(&data().join("brightpearl.json")).unwrap();
    assert_eq!(bp.products.len(), 4);
    assert_eq!(
        bp.products[3]["identity"]["sku"], "mug-004-olv",
        "a near-match of BigCommerce MUG-004-OLV"
    );
    assert_eq!(
        bp.contacts[0]["communication"]["emails"]["PRI"]["email"],
        "jane.buyer@example.co.uk"
    );
    assert_eq!(bp.contacts[0]["postAddressIds"]["DEF"], 311);
    assert_eq!(bp.postal_addresses[0]["id"], 311);
    assert_eq!(bp.price_lists.len(), 4);
    assert_eq!(
        bp.product_prices[2]["priceLists"][0]["quantityPrice"]["1"],
        "14.9900"
    );
    assert_eq!(bp.availability["1001"]["warehouses"]["2"]["onHand"], 40);
    assert_eq!(
        bp.tax_codes
            .iter()
            .find(|t| t["code"] == "T0")
            .unwrap()
            .get("rate"),
        None
    );
    assert_eq!(
        bp.payment_methods[1]["bankAccounts"][1]["bankAccountNominalCode"],
        "1210"
    );
    assert_eq!(bp.shipping_methods[1]["name"], "DHL Express Europe");
    assert_eq!(bp.channels[0]["id"], 4);
    assert_eq!(bp.order_statuses.len(), 3);
    assert_eq!(bp.nominal_codes.len(), 6);
    assert_eq!(bp.warehouses.len(), 2);
}
