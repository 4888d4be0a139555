//! Orders from files in the API's own JSON (the `--orders-from DIR` format) and a generated
//! store read back unchanged through the simulator, and behave under shipments and refunds.
#![recursion_limit = "256"]

mod bigcommerce_support;

use std::path::Path;

use bigcommerce_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use pearlbridge_sandbox::generator::{GeneratorOptions, generate};
use pearlbridge_sandbox::loader::load_bigcommerce_orders;
use pearlbridge_sandbox::seed::BigCommerceSeed;
use serde_json::{Value, json};

fn with_links(mut order: Value) -> Value {
    let id = order["id"].as_i64().unwrap();
    for sub in ["products", "shipping_addresses", "coupons"] {
        if order.get(sub).is_none() {
            order[sub] = json!({"url": format!("https://api.bigcommerce.com/stores/{HASH}/v2/orders/{id}/{sub}"),
                                "resource": format!("/orders/{id}/{sub}")});
        }
    }
    order
}

/// A v2 list read: the array, or `[]` for a 204.
async fn v2_list(api: &Api, path: &str) -> Value {
    let r = api.get(path).await;
    match r.status {
        204 => {
            assert!(r.body.is_none());
            json!([])
        }
        200 => r.body.unwrap(),
        s => panic!("{path}: {s}"),
    }
}

/// Rows in the types the official spec declares (`orders.v2.oas2.yml` [doc]), which is what the
/// simulator serves whatever form the file or generator stored: a tax row's
/// `order_product_id` as a string, a coupon's `discount` as a number.
fn spec_form(mut rows: Value) -> Value {
    for r in rows.as_array_mut().into_iter().flatten() {
        let Some(m) = r.as_object_mut() else { continue };
        if let Some(Value::Number(n)) = m.get("order_product_id") {
            let text = n.to_string();
            m.insert("order_product_id".into(), Value::String(text));
        }
        if let Some(Value::String(d)) = m.get("discount") {
            let d: rust_decimal::Decimal = d.parse().unwrap();
            let number: Value = serde_json::from_str(&d.normalize().to_string()).unwrap();
            m.insert("discount".into(), number);
        }
    }
    rows
}

fn read(path: &Path) -> Value {
    match std::fs::read_to_string(path) {
        Ok(t) if !t.trim().is_empty() => serde_json::from_str(&t).unwrap(),
        _ => json!([]),
    }
}

#[tokio::test]
async fn order_files_read_back_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/orders");
    let bundles = load_bigcommerce_orders(&dir).unwrap();
    assert!(!bundles.is_empty());
    let seed = BigCommerceSeed {
        orders: bundles.clone(),
        ..Default::default()
    };
    let api = start_with(seed, Clock::manual(), Faults::none(), 1000).await;
    let taxes_1001 = read(&dir.join("1001/taxes.json"));
    assert_eq!(taxes_1001[0]["order_product_id"], "5501");
    assert_eq!(taxes_1001[2]["order_product_id"], Value::Null);
    assert_eq!(
        read(&dir.join("1001/coupons.json"))[0]["discount"],
        json!(6.3)
    );
    assert_eq!(
        read(&dir.join("1002/taxes.json"))[0]["order_product_id"],
        5601
    );
    for b in &bundles {
        let id = b.order["id"].as_i64().unwrap();
        let folder = dir.join(id.to_string());
        // Compared with the file text itself, not with what the loader made of it.
        let file_order = read(&folder.join("order.json"));
        assert_eq!(
            api.get(&format!("/v2/orders/{id}")).await.json(),
            &with_links(file_order)
        );
        assert_eq!(
            v2_list(&api, &format!("/v2/orders/{id}/products?limit=250")).await,
            read(&folder.join("products.json"))
        );
        assert_eq!(
            v2_list(&api, &format!("/v2/orders/{id}/shipping_addresses")).await,
            read(&folder.join("shipping_addresses.json"))
        );
        // Order 1001's files hold the spec's types, 1002's the other forms (numeric
        // `order_product_id`): both load, and both are served in the spec's types.
        assert_eq!(
            v2_list(&api, &format!("/v2/orders/{id}/coupons")).await,
            spec_form(read(&folder.join("coupons.json")))
        );
        assert_eq!(
            v2_list(&api, &format!("/v2/orders/{id}/taxes?details=true")).await,
            spec_form(read(&folder.join("taxes.json")))
        );
        let t = api.get(&format!("/v3/orders/{id}/transactions")).await;
        // The file may hold the whole `{data, meta}` response or just the `data` array.
        let file = read(&folder.join("transactions.json"));
        let expected = file.get("data").cloned().unwrap_or(file);
        if expected == json!([]) {
            assert_eq!(t.status, 204);
        } else {
            assert_eq!(t.json()["data"], expected);
        }
    }
}

#[tokio::test]
async fn generated_store_reads_back_and_ships_and_refunds() {
    let store = generate(&GeneratorOptions {
        seed: 3,
        orders: 40,
        products: 12,
        customers: 15,
    });
    let seed = store.seed.bigcommerce.clone();
    let api = start_with(seed.clone(), Clock::manual(), Faults::none(), 100_000).await;
    let mut shipped = 0;
    let mut shipments = Vec::new();
    let mut refunded = 0;
    for b in &seed.orders {
        let id = b.order["id"].as_i64().unwrap();
        assert_eq!(
            api.get(&format!("/v2/orders/{id}")).await.json(),
            &with_links(b.order.clone()),
            "order {id}"
        );
        assert_eq!(
            v2_list(&api, &format!("/v2/orders/{id}/products?limit=250")).await,
            json!(b.products)
        );
        assert_eq!(
            v2_list(&api, &format!("/v2/orders/{id}/shipping_addresses")).await,
            json!(b.shipping_addresses)
        );
        assert_eq!(
            v2_list(&api, &format!("/v2/orders/{id}/taxes?details=true")).await,
            spec_form(json!(b.taxes))
        );
        let customer_id = b.order["customer_id"].as_i64().unwrap();
        if customer_id != 0 {
            let c = api.get(&format!("/v3/customers?id:in={customer_id}")).await;
            assert_eq!(
                c.json()["data"].as_array().unwrap().len(),
                1,
                "order {id}: customer {customer_id}"
            );
            assert!(c.json()["data"][0]["customer_group_id"].is_i64());
        }
        // Ship everything, one shipment per address: the order ends Shipped.
        if b.order["status_id"] == 11 && !b.products.is_empty() {
            for a in &b.shipping_addresses {
                let aid = a["id"].as_i64().unwrap();
                let items: Vec<Value> = b
                    .products
                    .iter()
                    .filter(|p| p["order_address_id"].as_i64() == Some(aid))
                    .map(|p| json!({"order_product_id": p["id"], "quantity": p["quantity"]}))
                    .collect();
                if items.is_empty() {
                    continue;
                }
                let r = api
                    .post(
                        &format!("/v2/orders/{id}/shipments"),
                        json!({"order_address_id": aid, "items": items, "tracking_number": "T1"}),
                    )
                    .await;
                assert_eq!(r.status, 201, "order {id}: {:?}", r.body);
                shipments.push((id, r.json()["id"].as_i64().unwrap()));
            }
            assert_eq!(api.sim.order(id).unwrap()["status_id"], 2, "order {id}");
            shipped += 1;
        }
        // Quote and refund one unit of the first line through the quoted provider.
        if let Some(p) = b.products.first().filter(|_| !b.transactions.is_empty()) {
            let items = json!([{"item_type": "PRODUCT", "item_id": p["id"], "quantity": 1}]);
            let q = api
                .post(
                    &format!("/v3/orders/{id}/payment_actions/refund_quotes"),
                    json!({"items": items}),
                )
                .await;
            assert_eq!(q.status, 201, "order {id}: {:?}", q.body);
            // The first option: back to the order's gateways (possibly split over several).
            let payments: Vec<Value> = q.json()["data"]["refund_methods"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| json!({"provider_id": m["provider_id"], "amount": m["amount"], "offline": m["offline"]}))
                .collect();
            let r = api
                .post(
                    &format!("/v3/orders/{id}/payment_actions/refunds"),
                    json!({"items": items, "payments": payments}),
                )
                .await;
            assert_eq!(r.status, 201, "order {id}: {:?}", r.body);
            assert_eq!(
                r.json()["data"]["total_amount"],
                q.json()["data"]["total_refund_amount"]
            );
            refunded += 1;
        }
    }
    assert!(
        shipped > 0 && refunded > 0,
        "shipped {shipped}, refunded {refunded}"
    );
    assert_eq!(
        api.sim.shipment_emails_sent(),
        shipments,
        "one customer email per shipment"
    );
    // Every catalog variant can be found by SKU and has an inventory item.
    for p in &seed.products {
        for v in p["variants"].as_array().unwrap() {
            let sku = v["sku"].as_str().unwrap();
            let r = api
                .get(&format!(
                    "/v3/catalog/variants?sku={}",
                    sku.replace(' ', "%20")
                ))
                .await;
            assert_eq!(r.json()["data"][0]["id"], v["id"], "sku {sku}");
        }
    }
    let all_variants: usize = seed
        .products
        .iter()
        .map(|p| p["variants"].as_array().unwrap().len())
        .sum();
    let r = api.get("/v3/inventory/items?limit=1000").await;
    assert_eq!(r.json()["meta"]["pagination"]["total"], all_variants);
    let r = api.get("/v2/orders?limit=250").await;
    assert_eq!(
        r.json().as_array().unwrap().len(),
        seed.orders
            .iter()
            .filter(|o| o.order["status_id"] != 0)
            .count()
    );
}
