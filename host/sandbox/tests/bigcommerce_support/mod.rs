//! Shared helpers for the BigCommerce simulator tests: a served simulator, a small HTTP client
//! and a seed in the API's documented shapes.
#![allow(dead_code)]

use std::sync::Arc;

use pearlbridge_sandbox::bigcommerce::{BigCommerceConfig, BigCommerceSim};
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use pearlbridge_sandbox::seed::{BigCommerceOrderBundle, BigCommerceSeed};
use serde_json::{Value, json};

pub const HASH: &str = "abc123";
pub const TOKEN: &str = "tok-123";

/// A served simulator and a client for it.
pub struct Api {
    pub root: String,
    pub base: String,
    pub client: reqwest::Client,
    pub sim: Arc<BigCommerceSim>,
    pub clock: Clock,
}

/// A v2 date as BigCommerce writes it: RFC 2822, UTC, two-digit day.
pub fn rfc2822(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// One response: status, headers, body (`None` when empty).
pub struct Res {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Option<Value>,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> &Value {
        self.body.as_ref().expect("response has a body")
    }
}

pub async fn start_with(seed: BigCommerceSeed, clock: Clock, faults: Faults, quota: u32) -> Api {
    let cfg = BigCommerceConfig {
        store_hash: HASH.into(),
        token: TOKEN.into(),
        quota_per_30s: quota,
    };
    let sim = BigCommerceSim::new(cfg, seed, clock.clone(), faults);
    let app = sim.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let root = format!("http://{addr}");
    Api {
        base: format!("{root}/stores/{HASH}"),
        root,
        client: reqwest::Client::new(),
        sim,
        clock,
    }
}

pub async fn start(seed: BigCommerceSeed) -> Api {
    start_with(seed, Clock::scaled(1.0), Faults::none(), 150).await
}

impl Api {
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Res {
        self.try_send(method, path, body, Some(TOKEN))
            .await
            .expect("request completes")
    }

    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> reqwest::Result<Res> {
        let url = format!("{}{}", self.base, path);
        let mut rb = self
            .client
            .request(method.parse().unwrap(), url)
            .header("accept", "application/json");
        if let Some(t) = token {
            rb = rb.header("x-auth-token", t);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            None
        } else {
            Some(serde_json::from_str(&text).expect("JSON body"))
        };
        Ok(Res {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Res {
        self.send("GET", path, None).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Res {
        self.send("PUT", path, Some(body)).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Res {
        self.send("POST", path, Some(body)).await
    }
}

/// `https://api.bigcommerce.com/...` link object as in a real order.
fn link(id: i64, sub: &str) -> Value {
    json!({"url": format!("https://api.bigcommerce.com/stores/{HASH}/v2/orders/{id}/{sub}"), "resource": format!("/orders/{id}/{sub}")})
}

/// A `GET /v2/orders/{id}` body in the documented format (§5), with its sub-resource links.
pub fn order_json(id: i64, status_id: i64, modified: &str, customer_id: i64) -> Value {
    json!({
        "id": id,
        "customer_id": customer_id,
        "date_created": "Tue, 05 Mar 2024 10:00:00 +0000",
        "is_tax_inclusive_pricing": false,
        "date_modified": modified,
        "date_shipped": "",
        "status_id": status_id,
        "status": "Awaiting Fulfillment",
        "subtotal_ex_tax": "90.0000",
        "subtotal_inc_tax": "99.0000",
        "subtotal_tax": "9.0000",
        "base_shipping_cost": "10.0000",
        "shipping_cost_ex_tax": "10.0000",
        "shipping_cost_inc_tax": "11.0000",
        "shipping_cost_tax": "1.0000",
        "shipping_cost_tax_class_id": 2,
        "base_handling_cost": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "handling_cost_tax_class_id": 2,
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "wrapping_cost_tax_class_id": 3,
        "total_ex_tax": "100.0000",
        "total_inc_tax": "110.0000",
        "total_tax": "10.0000",
        "items_total": 3,
        "items_shipped": 0,
        "payment_method": "Credit Card",
        "payment_provider_id": "ch_3Ox",
        "payment_status": "captured",
        "refunded_amount": "0.0000",
        "order_is_digital": false,
        "store_credit_amount": "0.0000",
        "gift_certificate_amount": "0.0000",
        "ip_address": "203.0.113.7",
        "ip_address_v6": "",
        "geoip_country": "United Kingdom",
        "geoip_country_iso2": "GB",
        "currency_id": 1,
        "currency_code": "GBP",
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": "GBP",
        "staff_notes": "",
        "customer_message": "Leave at the door",
        "discount_amount": "0.0000",
        "coupon_discount": "0.0000",
        "shipping_address_count": 1,
        "is_deleted": false,
        "ebay_order_id": "0",
        "cart_id": "aa2f3d1c-1c1f-4b1e-9a42-5b1f3c2e9d10",
        "billing_address": {
            "first_name": "Ada", "last_name": "Lovelace", "company": "", "street_1": "12 Marsh Lane",
            "street_2": "", "city": "London", "state": "London", "zip": "N1 7AA", "country": "United Kingdom",
            "country_iso2": "GB", "phone": "+44 20 7946 0000", "email": "ada@example.com",
            "form_fields": []
        },
        "is_email_opt_in": false,
        "credit_card_type": null,
        "order_source": "www",
        "channel_id": 1,
        "external_source": "",
        "products": link(id, "products"),
        "shipping_addresses": link(id, "shipping_addresses"),
        "coupons": link(id, "coupons"),
        "external_id": null,
        "external_merchant_id": null,
        "tax_provider_id": "BasicTaxProvider",
        "customer_locale": "en",
        "external_order_id": "",
        "store_default_currency_code": "GBP",
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "custom_status": "Awaiting Fulfillment"
    })
}

/// An order product row (§5) for order `order_id`.
pub fn order_product(
    id: i64,
    order_id: i64,
    address_id: i64,
    sku: &str,
    qty: i64,
    unit_ex: &str,
    unit_inc: &str,
) -> Value {
    let ex: rust_decimal::Decimal = unit_ex.parse().unwrap();
    let inc: rust_decimal::Decimal = unit_inc.parse().unwrap();
    let q = rust_decimal::Decimal::from(qty);
    let m = |d: rust_decimal::Decimal| format!("{:.4}", d);
    json!({
        "id": id, "order_id": order_id, "product_id": 77, "variant_id": 501, "order_address_id": address_id,
        "name": format!("Product {sku}"), "name_customer": format!("Product {sku}"), "name_merchant": format!("Product {sku}"),
        "sku": sku, "upc": "", "type": "physical",
        "base_price": m(ex), "price_ex_tax": m(ex), "price_inc_tax": m(inc), "price_tax": m(inc - ex),
        "base_total": m(ex * q), "total_ex_tax": m(ex * q), "total_inc_tax": m(inc * q), "total_tax": m((inc - ex) * q),
        "discounted_total_inc_tax": m(inc * q),
        "quantity": qty, "base_cost_price": "0.0000", "cost_price_inc_tax": "0.0000", "cost_price_ex_tax": "0.0000",
        "weight": "1.0000", "cost_price_tax": "0.0000", "is_refunded": false, "quantity_refunded": 0,
        "refund_amount": "0.0000", "return_id": 0, "wrapping_id": 0, "wrapping_name": "",
        "base_wrapping_cost": "0.0000", "wrapping_cost_ex_tax": "0.0000", "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000", "wrapping_message": "", "quantity_shipped": 0, "event_name": null,
        "event_date": "", "fixed_shipping_cost": "0.0000", "ebay_item_id": "", "ebay_transaction_id": "",
        "option_set_id": null, "parent_order_product_id": null, "is_bundled_product": false,
        "bin_picking_number": "", "external_id": null, "fulfillment_source": "", "brand": "",
        "applied_discounts": [], "product_options": [], "configurable_fields": []
    })
}

/// A shipping address row (§5).
pub fn shipping_address(id: i64, order_id: i64) -> Value {
    json!({
        "id": id, "order_id": order_id, "first_name": "Ada", "last_name": "Lovelace", "company": "",
        "street_1": "12 Marsh Lane", "street_2": "", "city": "London", "zip": "N1 7AA", "country": "United Kingdom",
        "country_iso2": "GB", "state": "London", "email": "ada@example.com", "phone": "+44 20 7946 0000",
        "items_total": 3, "items_shipped": 0, "shipping_method": "Royal Mail Tracked 24",
        "base_cost": "10.0000", "cost_ex_tax": "10.0000", "cost_inc_tax": "11.0000", "cost_tax": "1.0000",
        "cost_tax_class_id": 2, "base_handling_cost": "0.0000", "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000", "handling_cost_tax": "0.0000", "handling_cost_tax_class_id": 2,
        "shipping_zone_id": 1, "shipping_zone_name": "United Kingdom",
        "shipping_quotes": {"url": format!("https://api.bigcommerce.com/stores/{HASH}/v2/orders/{order_id}/shipping_addresses/{id}/shipping_quotes"),
                            "resource": format!("/orders/{order_id}/shipping_addresses/{id}/shipping_quotes")},
        "form_fields": []
    })
}

/// A v3 transaction (§7).
pub fn transaction(id: i64, order_id: i64, amount: f64) -> Value {
    json!({
        "id": id, "order_id": order_id.to_string(), "event": "purchase", "method": "credit_card", "amount": amount,
        "currency": "GBP", "gateway": "stripev3", "gateway_transaction_id": "pi_3Ox", "status": "ok", "test": false,
        "fraud_review": false, "reference_transaction_id": null, "date_created": "2024-03-05T10:00:05+00:00",
        "avs_result": {"code": "", "message": "", "street_match": "", "postal_match": ""},
        "cvv_result": {"code": "", "message": ""},
        "credit_card": {"card_type": "visa", "card_iin": "424242", "card_last4": "4242", "card_expiry_month": 12, "card_expiry_year": 2030}
    })
}

/// Order 100: two lines (2 × A at 30.00 ex / 33.00 inc, 1 × B at 30.00 / 33.00), one address,
/// a tax row per line, a transaction; customer 7.
pub fn bundle_100() -> BigCommerceOrderBundle {
    BigCommerceOrderBundle {
        order: order_json(100, 11, "Tue, 05 Mar 2024 10:05:00 +0000", 7),
        products: vec![
            order_product(1001, 100, 5001, "SKU-A", 2, "30.0000", "33.0000"),
            order_product(1002, 100, 5001, "SKU-B", 1, "30.0000", "33.0000"),
        ],
        shipping_addresses: vec![shipping_address(5001, 100)],
        coupons: vec![],
        taxes: vec![
            json!({"id": 1, "order_id": 100, "order_address_id": 5001, "tax_rate_id": 1, "tax_class_id": 0,
                   "name": "VAT", "class": "Default Tax Class", "rate": "10.0000", "priority": 0,
                   "priority_amount": "6.0000", "line_amount": "6.0000", "order_product_id": "1001",
                   "line_item_type": "item", "sales_tax_id": 1, "order_pickup_method_id": 0}),
            json!({"id": 2, "order_id": 100, "order_address_id": 5001, "tax_rate_id": 1, "tax_class_id": 0,
                   "name": "VAT", "class": "Default Tax Class", "rate": "10.0000", "priority": 0,
                   "priority_amount": "3.0000", "line_amount": "3.0000", "order_product_id": "1002",
                   "line_item_type": "item", "sales_tax_id": 1, "order_pickup_method_id": 0}),
        ],
        transactions: vec![transaction(9001, 100, 110.0)],
        customer: Some(
            json!({"id": 7, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                              "company": "", "phone": "", "customer_group_id": 2, "notes": "", "tax_exempt_category": "",
                              "date_created": "2023-01-01T00:00:00Z", "date_modified": "2023-01-01T00:00:00Z",
                              "accepts_product_review_abandoned_cart_emails": false, "channel_ids": [1]}),
        ),
    }
}

/// A catalog product with variants (§8).
pub fn catalog_product(id: i64, sku: &str, tracking: &str, variants: &[(i64, &str, i64)]) -> Value {
    let vs: Vec<Value> = variants
        .iter()
        .map(|(vid, vsku, level)| json!({
            "id": vid, "product_id": id, "sku": vsku, "sku_id": vid + 10000, "price": 30.0, "calculated_price": 30.0,
            "sale_price": null, "retail_price": null, "cost_price": 12.5, "inventory_level": level,
            "inventory_warning_level": 2, "bin_picking_number": "", "upc": "", "purchasing_disabled": false,
            "option_values": []
        }))
        .collect();
    json!({"id": id, "name": format!("Product {sku}"), "type": "physical", "sku": sku, "price": 30.0,
           "inventory_tracking": tracking, "inventory_level": variants.iter().map(|v| v.2).sum::<i64>(),
           "is_visible": true, "variants": vs})
}

/// A store seed: order 100 (+ order 101 status 0 and order 102 without links), catalog,
/// locations, customers, groups, price lists.
pub fn seed() -> BigCommerceSeed {
    let mut o101 = bundle_100();
    o101.order = order_json(101, 0, "Wed, 06 Mar 2024 09:00:00 +0000", 0);
    o101.order["status"] = json!("Incomplete");
    o101.products = vec![order_product(
        1011, 101, 5011, "SKU-A", 1, "30.0000", "33.0000",
    )];
    o101.shipping_addresses = vec![shipping_address(5011, 101)];
    o101.taxes = vec![];
    o101.transactions = vec![];
    o101.customer = None;
    let mut o102 = bundle_100();
    o102.order = order_json(102, 11, "Mon, 04 Mar 2024 08:00:00 +0000", 0);
    for k in ["products", "shipping_addresses", "coupons"] {
        o102.order.as_object_mut().unwrap().remove(k);
    }
    o102.products = vec![order_product(
        1021, 102, 5021, "SKU-B", 1, "30.0000", "33.0000",
    )];
    o102.shipping_addresses = vec![shipping_address(5021, 102)];
    o102.coupons = vec![
        json!({"id": 3, "coupon_id": 12, "order_id": 102, "code": "SPRING10", "amount": "10.0000",
                               "type": 1, "discount": "3.3000"}),
    ];
    o102.taxes = vec![];
    o102.transactions = vec![];
    o102.customer = None;
    BigCommerceSeed {
        orders: vec![bundle_100(), o101, o102],
        customers: vec![
            json!({"id": 8, "email": "bob@example.com", "first_name": "Bob", "last_name": "B",
                               "customer_group_id": 3}),
        ],
        customer_groups: vec![
            json!({"id": 2, "name": "Retail", "is_default": true, "category_access": {"type": "all"}, "discount_rules": [],
                   "is_group_for_guests": false, "date_created": "2023-01-01T00:00:00Z", "date_modified": "2023-01-01T00:00:00Z"}),
            json!({"id": 3, "name": "Trade", "is_default": false, "category_access": {"type": "all"}, "discount_rules": [],
                   "is_group_for_guests": false, "date_created": "2023-01-01T00:00:00Z", "date_modified": "2023-01-01T00:00:00Z"}),
        ],
        products: vec![
            catalog_product(
                77,
                "BASE-77",
                "variant",
                &[(501, "SKU-A", 10), (502, "SKU-B", 4)],
            ),
            catalog_product(78, "SKU-C", "product", &[(601, "SKU-C", 7)]),
        ],
        locations: vec![
            json!({"id": 1, "code": "BC-DEFAULT", "label": "Default location", "description": "", "managed_by_external_source": false,
                   "type_id": "PHYSICAL", "enabled": true, "storefront_visibility": true, "time_zone": "Europe/London",
                   "created_at": "2023-01-01T00:00:00Z", "updated_at": "2023-01-01T00:00:00Z"}),
            json!({"id": 2, "code": "WH-NORTH", "label": "North warehouse", "description": "", "managed_by_external_source": true,
                   "type_id": "PHYSICAL", "enabled": true, "storefront_visibility": false, "time_zone": "Europe/London",
                   "created_at": "2023-01-01T00:00:00Z", "updated_at": "2023-01-01T00:00:00Z"}),
        ],
        price_lists: vec![
            json!({"id": 1, "name": "Trade", "active": true, "date_created": "2023-01-01T00:00:00Z",
                                 "date_modified": "2023-01-01T00:00:00Z"}),
        ],
        price_list_records: vec![
            json!({"price_list_id": 1, "variant_id": 501, "product_id": 77, "currency": "gbp",
                                        "price": 25.0, "sale_price": null, "retail_price": null, "map_price": null,
                                        "calculated_price": 25.0, "date_created": "2023-01-01T00:00:00Z",
                                        "date_modified": "2023-01-01T00:00:00Z"}),
        ],
        price_list_assignments: vec![
            json!({"id": 1, "price_list_id": 1, "customer_group_id": 3, "channel_id": 1}),
        ],
        refunds: vec![],
    }
}
