//! Generated resources carry the documented fields in the documented encodings, the store has
//! the variety the demo needs, and `StoreFacts` agrees with the Brightpearl reference data.

use pearlbridge_sandbox::generator::{GeneratedStore, GeneratorOptions, generate};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const ORDER_FIELDS: &[&str] = &[
    "id",
    "status_id",
    "status",
    "payment_status",
    "is_deleted",
    "channel_id",
    "order_source",
    "external_source",
    "external_id",
    "external_order_id",
    "external_merchant_id",
    "ebay_order_id",
    "cart_id",
    "date_created",
    "date_modified",
    "date_shipped",
    "customer_id",
    "billing_address",
    "customer_message",
    "staff_notes",
    "ip_address",
    "ip_address_v6",
    "geoip_country",
    "geoip_country_iso2",
    "customer_locale",
    "subtotal_ex_tax",
    "subtotal_inc_tax",
    "subtotal_tax",
    "total_ex_tax",
    "total_inc_tax",
    "total_tax",
    "base_shipping_cost",
    "shipping_cost_ex_tax",
    "shipping_cost_inc_tax",
    "shipping_cost_tax",
    "shipping_cost_tax_class_id",
    "base_handling_cost",
    "handling_cost_ex_tax",
    "handling_cost_inc_tax",
    "handling_cost_tax",
    "handling_cost_tax_class_id",
    "base_wrapping_cost",
    "wrapping_cost_ex_tax",
    "wrapping_cost_inc_tax",
    "wrapping_cost_tax",
    "wrapping_cost_tax_class_id",
    "discount_amount",
    "coupon_discount",
    "store_credit_amount",
    "gift_certificate_amount",
    "refunded_amount",
    "is_tax_inclusive_pricing",
    "tax_provider_id",
    "currency_id",
    "currency_code",
    "currency_exchange_rate",
    "default_currency_id",
    "default_currency_code",
    "store_default_currency_code",
    "store_default_to_transactional_exchange_rate",
    "payment_method",
    "payment_provider_id",
    "items_total",
    "items_shipped",
    "shipping_address_count",
    "order_is_digital",
    "products",
    "shipping_addresses",
    "coupons",
    "consignments",
    "fees",
];
const PRODUCT_FIELDS: &[&str] = &[
    "id",
    "order_id",
    "product_id",
    "variant_id",
    "order_address_id",
    "order_pickup_method_id",
    "sku",
    "upc",
    "name",
    "name_merchant",
    "type",
    "quantity",
    "base_price",
    "price_ex_tax",
    "price_inc_tax",
    "price_tax",
    "base_total",
    "total_ex_tax",
    "total_inc_tax",
    "total_tax",
    "base_cost_price",
    "cost_price_ex_tax",
    "cost_price_inc_tax",
    "cost_price_tax",
    "discounted_total_inc_tax",
    "applied_discounts",
    "product_options",
    "quantity_shipped",
    "quantity_refunded",
    "is_refunded",
    "refund_amount",
    "return_id",
    "wrapping_id",
    "wrapping_name",
    "wrapping_cost_ex_tax",
    "wrapping_cost_inc_tax",
    "wrapping_cost_tax",
    "parent_order_product_id",
    "is_bundled_product",
    "weight",
    "bin_picking_number",
    "brand",
    "event_name",
    "event_date",
];
const ADDRESS_FIELDS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "company",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
    "country",
    "country_iso2",
    "phone",
    "email",
    "form_fields",
    "items_total",
    "items_shipped",
    "shipping_method",
    "base_cost",
    "cost_ex_tax",
    "cost_inc_tax",
    "cost_tax",
    "cost_tax_class_id",
    "base_handling_cost",
    "handling_cost_ex_tax",
    "handling_cost_inc_tax",
    "handling_cost_tax",
    "handling_cost_tax_class_id",
    "shipping_zone_id",
    "shipping_zone_name",
    "shipping_quotes",
];
const TAX_FIELDS: &[&str] = &[
    "id",
    "order_id",
    "order_address_id",
    "tax_rate_id",
    "sales_tax_id",
    "tax_class_id",
    "name",
    "class",
    "rate",
    "priority",
    "priority_amount",
    "line_amount",
    "order_pickup_method_id",
    "order_product_id",
    "line_item_type",
];
const TRANSACTION_FIELDS: &[&str] = &[
    "id",
    "order_id",
    "event",
    "method",
    "amount",
    "currency",
    "gateway",
    "gateway_transaction_id",
    "status",
    "test",
    "fraud_review",
    "reference_transaction_id",
    "date_created",
    "payment_method_id",
    "offline",
    "custom",
    "credit_card",
    "gift_certificate",
    "store_credit",
    "avs_result",
    "cvv_result",
];

fn missing(v: &Value, fields: &[&str]) -> Vec<String> {
    fields
        .iter()
        .filter(|f| v.get(**f).is_none())
        .map(|f| f.to_string())
        .collect()
}

fn store() -> GeneratedStore {
    generate(&GeneratorOptions::default())
}

#[test]
fn every_resource_has_the_documented_fields_and_encodings() {
    let s = store();
    for b in &s.seed.bigcommerce.orders {
        let id = &b.order["id"];
        assert_eq!(
            missing(&b.order, ORDER_FIELDS),
            Vec::<String>::new(),
            "order {id}"
        );
        for f in ["date_created", "date_modified"] {
            let text = b.order[f].as_str().unwrap();
            let t = chrono::DateTime::parse_from_rfc2822(text)
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(t.offset().local_minus_utc(), 0);
            assert!(
                text.ends_with(" +0000")
                    && text.as_bytes()[5].is_ascii_digit()
                    && text.as_bytes()[6].is_ascii_digit(),
                "{text}"
            );
        }
        assert_eq!(b.order["date_shipped"], "");
        assert_eq!(
            b.order["shipping_address_count"].as_u64().unwrap() as usize,
            b.shipping_addresses.len()
        );
        for p in &b.products {
            assert_eq!(
                missing(p, PRODUCT_FIELDS),
                Vec::<String>::new(),
                "order {id} product"
            );
            assert!(p["price_ex_tax"].is_string() && p["quantity"].is_u64());
        }
        for a in &b.shipping_addresses {
            assert_eq!(
                missing(a, ADDRESS_FIELDS),
                Vec::<String>::new(),
                "order {id} address"
            );
        }
        for t in &b.taxes {
            assert_eq!(
                missing(t, TAX_FIELDS),
                Vec::<String>::new(),
                "order {id} tax row"
            );
            let kind = t["line_item_type"].as_str().unwrap();
            assert!(["item", "shipping", "handling", "gift-wrapping"].contains(&kind));
            assert_eq!(
                t["order_product_id"].is_null(),
                kind == "shipping" || kind == "handling"
            );
        }
        for c in &b.coupons {
            assert_eq!(
                missing(
                    c,
                    &[
                        "id",
                        "coupon_id",
                        "order_id",
                        "code",
                        "amount",
                        "type",
                        "discount"
                    ]
                ),
                Vec::<String>::new()
            );
        }
        for t in &b.transactions {
            assert_eq!(
                missing(t, TRANSACTION_FIELDS),
                Vec::<String>::new(),
                "order {id} transaction"
            );
            assert!(t["amount"].is_number(), "v3 amount is a number");
            assert!(t["order_id"].is_string(), "v3 order_id is a string");
            chrono::DateTime::parse_from_rfc3339(t["date_created"].as_str().unwrap()).unwrap();
        }
        match &b.customer {
            Some(c) => assert_eq!(c["id"], b.order["customer_id"]),
            None => assert_eq!(b.order["customer_id"], 0),
        }
    }
    for p in &s.seed.bigcommerce.products {
        assert!(!p["variants"].as_array().unwrap().is_empty());
        assert!(p["price"].is_number());
    }
    for c in &s.seed.bigcommerce.customers {
        assert!(c["customer_group_id"].is_i64() && c["email"].is_string());
    }
}

#[test]
fn the_store_has_the_variety_the_flows_must_handle() {
    let s = store();
    let o = &s.seed.bigcommerce.orders;
    let count = |f: &dyn Fn(&pearlbridge_sandbox::seed::BigCommerceOrderBundle) -> bool| {
        o.iter().filter(|b| f(b)).count()
    };
    let nonzero =
        |b: &pearlbridge_sandbox::seed::BigCommerceOrderBundle, k: &str| b.order[k] != "0.0000";
    assert!(count(&|b| b.order["customer_id"] == 0) > 30, "guests");
    assert!(count(&|b| b.order["customer_id"] != 0) > 100, "registered");
    assert!(
        count(&|b| b.shipping_addresses.len() == 2) >= 3,
        "two shipping addresses"
    );
    let coupon_types: BTreeSet<i64> = o
        .iter()
        .flat_map(|b| b.coupons.iter().map(|c| c["type"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        coupon_types,
        BTreeSet::from([1, 2, 4]),
        "percentage, per-total and free-shipping coupons"
    );
    assert!(
        count(&|b| nonzero(b, "discount_amount")) >= 5,
        "automatic discounts"
    );
    assert!(
        count(&|b| nonzero(b, "gift_certificate_amount")) >= 3,
        "gift certificates"
    );
    assert!(
        count(&|b| nonzero(b, "store_credit_amount")) >= 3,
        "store credit"
    );
    assert!(
        count(&|b| nonzero(b, "handling_cost_inc_tax")) >= 3,
        "handling fees"
    );
    assert!(
        count(&|b| nonzero(b, "wrapping_cost_inc_tax")) >= 3,
        "gift wrapping"
    );
    assert!(
        count(&|b| b
            .shipping_addresses
            .iter()
            .any(|a| a["shipping_method"] == "Free Shipping"))
            >= 10
    );
    for (code, rate) in [
        ("GBP", "1.0000000000"),
        ("EUR", "1.1700000000"),
        ("USD", "1.2700000000"),
    ] {
        let n = count(&|b| {
            b.order["currency_code"] == code && b.order["currency_exchange_rate"] == rate
        });
        assert!(n >= 10, "{code}: {n}");
    }
    assert!(count(&|b| b.order["is_tax_inclusive_pricing"] == true) > 100);
    assert!(count(&|b| b.order["is_tax_inclusive_pricing"] == false) > 30);
    let mut statuses: BTreeMap<i64, usize> = BTreeMap::new();
    for b in o {
        *statuses
            .entry(b.order["status_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), vec![1, 5, 11]);
    assert!(statuses[&11] > o.len() * 8 / 10, "{statuses:?}");
    let events: BTreeSet<&str> = o
        .iter()
        .flat_map(|b| b.transactions.iter().map(|t| t["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        BTreeSet::from(["authorization", "capture", "pending", "purchase"])
    );
    assert!(
        count(&|b| {
            let classes: BTreeSet<i64> = b
                .taxes
                .iter()
                .filter(|t| t["line_item_type"] == "item")
                .map(|t| t["tax_class_id"].as_i64().unwrap())
                .collect();
            classes.len() >= 2
        }) >= 20,
        "orders mixing tax classes"
    );
    let classes: BTreeSet<i64> = o
        .iter()
        .flat_map(|b| b.taxes.iter().map(|t| t["tax_class_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(classes, BTreeSet::from([0, 1, 2, 3, 4]));
    let groups: BTreeSet<i64> = s
        .seed
        .bigcommerce
        .customers
        .iter()
        .map(|c| c["customer_group_id"].as_i64().unwrap())
        .collect();
    assert_eq!(groups, BTreeSet::from([1, 2, 3]), "B2C and B2B groups");
}

#[test]
fn facts_agree_with_both_sides_reference_data() {
    let s = store();
    let (f, bp, bc) = (&s.facts, &s.seed.brightpearl, &s.seed.bigcommerce);
    let codes: BTreeSet<&str> = bp
        .tax_codes
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    for (_, _, code) in &f.tax_classes {
        assert!(codes.contains(code.as_str()), "{code}");
    }
    let nominals: BTreeMap<&str, &Value> = bp
        .nominal_codes
        .iter()
        .map(|n| (n["code"].as_str().unwrap(), n))
        .collect();
    assert!(
        nominals.contains_key(f.sales_nominal_code.as_str())
            && nominals.contains_key(f.shipping_nominal_code.as_str())
    );
    assert_eq!(
        (
            f.sales_nominal_code.as_str(),
            f.shipping_nominal_code.as_str()
        ),
        ("4000", "4040")
    );
    let gateways: BTreeSet<&str> = bc
        .orders
        .iter()
        .flat_map(|b| {
            b.transactions
                .iter()
                .map(|t| t["gateway"].as_str().unwrap())
        })
        .collect();
    for g in &gateways {
        assert!(
            f.payment_methods.iter().any(|(gw, _, _)| gw == g),
            "gateway {g} is mapped"
        );
    }
    for (_, code, nominal) in &f.payment_methods {
        let pm = bp
            .payment_methods
            .iter()
            .find(|m| m["code"] == code.as_str())
            .unwrap();
        assert!(
            pm["bankAccounts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["bankAccountNominalCode"] == nominal.as_str())
        );
        assert_eq!(
            nominals[nominal.as_str()]["bank"],
            1,
            "{nominal} is a bank account"
        );
    }
    for b in &bc.orders {
        for a in &b.shipping_addresses {
            let (_, id) = f
                .shipping_methods
                .iter()
                .find(|(n, _)| *n == a["shipping_method"])
                .unwrap();
            assert!(
                bp.shipping_methods
                    .iter()
                    .any(|m| m["id"] == *id && m["name"] == a["shipping_method"])
            );
        }
    }
    for (group, list) in &f.customer_groups {
        assert!(bc.customer_groups.iter().any(|g| g["id"] == *group));
        assert!(
            bp.price_lists
                .iter()
                .any(|l| l["id"] == *list && l["priceListTypeCode"] == "SELL")
        );
    }
    for (wh, loc) in &f.warehouses {
        assert!(bp.warehouses.iter().any(|w| w["id"] == *wh));
        assert!(bc.locations.iter().any(|l| l["id"] == *loc));
    }
    assert!(bp.channels.iter().any(|c| c["id"] == f.channel_id));
    assert_eq!(f.currencies, vec!["GBP", "EUR", "USD"]);

    // About half the customers have a Brightpearl contact, on their group's price list.
    let share = bp.contacts.len() * 100 / bc.customers.len();
    assert!((30..=70).contains(&share), "{share}% have contacts");
    for c in &bp.contacts {
        let email = &c["communication"]["emails"]["PRI"]["email"];
        let customer = bc
            .customers
            .iter()
            .find(|k| k["email"] == *email)
            .expect("contact matches a customer");
        let group = customer["customer_group_id"].as_i64().unwrap();
        let list = f
            .customer_groups
            .iter()
            .find(|(g, _)| *g == group)
            .unwrap()
            .1;
        assert_eq!(c["financialDetails"]["priceListId"], list);
        let address = c["postAddressIds"]["DEF"].as_i64().unwrap();
        assert!(bp.postal_addresses.iter().any(|a| a["id"] == address));
    }
}
