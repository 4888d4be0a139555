//! Contract tests: v2 orders, sub-resources, status updates and shipments.
#![recursion_limit = "256"]

mod bigcommerce_support;

use bigcommerce_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use pearlbridge_sandbox::seed::BigCommerceOrderBundle;
use serde_json::{Value, json};

async fn api() -> Api {
    start_with(seed(), Clock::manual(), Faults::none(), 1000).await
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn documented_order_json_reads_back_unchanged() {
    let api = api().await;
    let b = bundle_100();
    let r = api.get("/v2/orders/100").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), &b.order);
    assert_eq!(
        api.get("/v2/orders/100/products").await.json(),
        &Value::Array(b.products.clone())
    );
    assert_eq!(
        api.get("/v2/orders/100/shipping_addresses").await.json(),
        &Value::Array(b.shipping_addresses.clone())
    );
    assert_eq!(
        api.get("/v2/orders/100/taxes?details=true").await.json(),
        &Value::Array(b.taxes.clone())
    );
    // Order 102 was seeded without links: they are added, everything else is as seeded.
    let r = api.get("/v2/orders/102").await;
    let mut expected = seed().orders[2].order.clone();
    expected["products"] = json!({"url": format!("https://api.bigcommerce.com/stores/{HASH}/v2/orders/102/products"), "resource": "/orders/102/products"});
    expected["shipping_addresses"] = json!({"url": format!("https://api.bigcommerce.com/stores/{HASH}/v2/orders/102/shipping_addresses"), "resource": "/orders/102/shipping_addresses"});
    expected["coupons"] = json!({"url": format!("https://api.bigcommerce.com/stores/{HASH}/v2/orders/102/coupons"), "resource": "/orders/102/coupons"});
    assert_eq!(r.json(), &expected);
    // Byte-level: the seeded JSON text parses to the same value the API returns.
    let text = serde_json::to_string(&b.order).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        api.sim.order(100).unwrap()
    );
}

#[tokio::test]
async fn unknown_order_and_bad_token() {
    let api = api().await;
    let r = api.get("/v2/orders/999").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        &json!([{"status": 404, "message": "The requested resource was not found."}])
    );
    let r = api
        .try_send("GET", "/v2/orders/100", None, Some("wrong"))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        &json!([{"status": 401, "message": "No valid credential found in the X-Auth-Token header."}])
    );
    assert_eq!(r.header("x-rate-limit-requests-left"), Some("999"));
    let r = api
        .try_send("GET", "/v3/catalog/products", None, None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        &json!({"status": 401, "title": "No valid credential found in the X-Auth-Token header.",
                "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes", "errors": {}})
    );
    let r = api.get("/v3/nothing/here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["title"], "The requested resource was not found.");
}

#[tokio::test]
async fn list_filters_sorting_paging_and_204() {
    let api = api().await;
    let r = api.get("/v2/orders").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        ids(r.json()),
        vec![100, 102],
        "status 0 is left out by default"
    );
    assert_eq!(
        r.json()[0]["date_modified"],
        "Tue, 05 Mar 2024 10:05:00 +0000"
    );
    assert_eq!(
        ids(api.get("/v2/orders?status_id=0").await.json()),
        vec![101]
    );
    assert_eq!(
        ids(api.get("/v2/orders?status_id=11").await.json()),
        vec![100, 102]
    );
    // RFC 2822, URL-encoded.
    let r = api
        .get("/v2/orders?min_date_modified=Tue%2C%2005%20Mar%202024%2000%3A00%3A00%20%2B0000")
        .await;
    assert_eq!(ids(r.json()), vec![100]);
    // ISO 8601 with an offset, and sort by date_modified.
    let r = api.get("/v2/orders?min_date_modified=2024-03-04T00%3A00%3A00.000%2B00%3A00&sort=date_modified:asc").await;
    assert_eq!(ids(r.json()), vec![102, 100]);
    assert_eq!(
        ids(api.get("/v2/orders?sort=date_modified:desc").await.json()),
        vec![100, 102]
    );
    assert_eq!(
        ids(api.get("/v2/orders?sort=id:desc").await.json()),
        vec![102, 100]
    );
    assert_eq!(
        ids(api
            .get("/v2/orders?max_date_modified=2024-03-04T12:00:00Z")
            .await
            .json()),
        vec![102]
    );
    assert_eq!(
        ids(api.get("/v2/orders?limit=1&page=2").await.json()),
        vec![102]
    );
    assert_eq!(
        ids(api.get("/v2/orders?customer_id=7").await.json()),
        vec![100]
    );
    assert_eq!(
        ids(api.get("/v2/orders?min_id=101").await.json()),
        vec![102]
    );
    // Empty page: 204, no body.
    let r = api.get("/v2/orders?limit=1&page=3").await;
    assert_eq!((r.status, r.body.is_none()), (204, true));
    let r = api
        .get("/v2/orders?min_date_modified=2030-01-01T00:00:00Z")
        .await;
    assert_eq!((r.status, r.body.is_none()), (204, true));
    // Over the limit maximum.
    let r = api.get("/v2/orders?limit=251").await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json(),
        &json!([{"status": 413, "message": "The limit may not exceed 250."}])
    );
    // An un-encoded RFC 2822 date: `+` decodes to a space (bigcommerce/api #121).
    let r = api
        .get("/v2/orders?min_date_modified=Tue, 05 Mar 2024 00:00:00 +0000")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        &json!([{"status": 400, "message": "The field 'min_date_modified' is not valid for this resource."}])
    );
    let r = api.get("/v2/orders?sort=total:asc").await;
    assert_eq!(r.status, 400);
    let r = api.get("/v2/orders/count").await;
    assert_eq!(r.json()["count"], 3);
    assert_eq!(
        r.json()["statuses"][11],
        json!({"id": 11, "name": "Awaiting Fulfillment", "system_label": "Awaiting Fulfillment",
        "custom_label": "Awaiting Fulfillment", "system_description": "Awaiting Fulfillment", "count": 2, "sort_order": 11})
    );
}

#[tokio::test]
async fn status_update_moves_date_modified() {
    let api = api().await;
    api.clock.advance_ms(90_000);
    let now = rfc2822(api.clock.now());
    let r = api.put("/v2/orders/100", json!({"status_id": 9})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status_id"], 9);
    assert_eq!(r.json()["status"], "Awaiting Shipment");
    assert_eq!(r.json()["date_modified"], json!(now));
    assert_eq!(r.json()["date_created"], "Tue, 05 Mar 2024 10:00:00 +0000");
    // Visible to the incremental poll.
    let r = api.get("/v2/orders?sort=date_modified:desc&limit=1").await;
    assert_eq!(ids(r.json()), vec![100]);
    let r = api.put("/v2/orders/100", json!({"items_total": 4})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        &json!([{"status": 400, "message": "The field 'items_total' cannot be written to. Please remove it from your request before trying again."}])
    );
    let r = api.put("/v2/orders/100", json!({"status_id": 15})).await;
    assert_eq!(
        r.json(),
        &json!([{"status": 400, "message": "The field 'status_id' is not valid for this resource."}])
    );
    assert_eq!(
        api.put("/v2/orders/999", json!({"status_id": 2}))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn sub_resources_page_and_answer_204_when_empty() {
    let api = api().await;
    let mut b = BigCommerceOrderBundle {
        order: order_json(0, 11, "", 0),
        shipping_addresses: vec![shipping_address(0, 0)],
        ..Default::default()
    };
    b.products = (0..60)
        .map(|i| order_product(0, 0, 0, &format!("L{i}"), 1, "1.0000", "1.2000"))
        .collect();
    let id = api.sim.create_order(b);
    assert_eq!(id, 103, "next id after the seeded orders");
    let order = api.get(&format!("/v2/orders/{id}")).await;
    assert_eq!(
        order.json()["date_created"],
        json!(rfc2822(api.clock.now()))
    );
    let p1 = api.get(&format!("/v2/orders/{id}/products")).await;
    assert_eq!(p1.json().as_array().unwrap().len(), 50, "default limit 50");
    let p2 = api.get(&format!("/v2/orders/{id}/products?page=2")).await;
    assert_eq!(p2.json().as_array().unwrap().len(), 10);
    assert_eq!(p2.json()[9]["sku"], "L59");
    assert_eq!(p2.json()[9]["order_id"], id);
    let p3 = api.get(&format!("/v2/orders/{id}/products?page=3")).await;
    assert_eq!((p3.status, p3.body.is_none()), (204, true));
    assert_eq!(
        api.get(&format!("/v2/orders/{id}/products?limit=250"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        60
    );
    assert_eq!(
        api.get(&format!("/v2/orders/{id}/products?limit=251"))
            .await
            .status,
        413
    );
    // Coupons: 204 when none.
    let c = api.get("/v2/orders/100/coupons").await;
    assert_eq!((c.status, c.body.is_none()), (204, true));
    // Seeded with `"discount": "3.3000"`; served as the spec's number [doc].
    let c = api.get("/v2/orders/102/coupons").await;
    assert_eq!(
        c.json(),
        &json!([{"id": 3, "coupon_id": 12, "order_id": 102, "code": "SPRING10", "amount": "10.0000",
                 "type": 1, "discount": 3.3}])
    );
    // Taxes without details leave out the per-line fields.
    let t = api.get("/v2/orders/100/taxes").await;
    assert_eq!(t.json()[0].get("order_product_id"), None);
    assert_eq!(t.json()[0]["line_amount"], "6.0000");
    let t = api.get("/v2/orders/102/taxes").await;
    assert_eq!(t.status, 204);
    assert_eq!(api.get("/v2/orders/999/products").await.status, 404);
}

#[tokio::test]
async fn shipments_validate_quantities_and_drive_the_status() {
    let api = api().await;
    let r = api.get("/v2/orders/100/shipments").await;
    assert_eq!((r.status, r.body.is_none()), (204, true));
    let now = rfc2822(api.clock.now());
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 5001, "tracking_number": "RM123456785GB", "shipping_provider": "royalmail",
                   "tracking_carrier": "", "items": [{"order_product_id": 1001, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let expected = json!({
        "id": 1, "order_id": 100, "customer_id": 7, "order_address_id": 5001, "date_created": now,
        "tracking_number": "RM123456785GB", "merchant_shipping_cost": "0.0000", "shipping_method": "", "comments": "",
        "shipping_provider": "royalmail", "tracking_carrier": "", "tracking_link": "",
        "shipping_provider_display_name": "Royal Mail",
        "generated_tracking_link": "https://www.royalmail.com/track-your-item#/tracking-results/RM123456785GB",
        "billing_address": bundle_100().order["billing_address"],
        "shipping_address": {"first_name": "Ada", "last_name": "Lovelace", "company": "", "street_1": "12 Marsh Lane",
            "street_2": "", "city": "London", "state": "London", "zip": "N1 7AA", "country": "United Kingdom",
            "country_iso2": "GB", "phone": "+44 20 7946 0000", "email": "ada@example.com"},
        "items": [{"order_product_id": 1001, "product_id": 77, "quantity": 1}],
    });
    assert_eq!(r.json(), &expected);
    let o = api.get("/v2/orders/100").await;
    assert_eq!(o.json()["status_id"], 3);
    assert_eq!(o.json()["status"], "Partially Shipped");
    assert_eq!(o.json()["items_shipped"], 1);
    assert_eq!(o.json()["date_shipped"], json!(now));
    // More than is left to ship.
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 5001, "items": [{"order_product_id": 1001, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        &json!([{"status": 400, "message": "The quantity specified for order product 1001 is greater than the quantity left to ship (1)."}])
    );
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 9, "items": [{"order_product_id": 1001, "quantity": 1}]}),
        )
        .await;
    assert_eq!(
        r.json(),
        &json!([{"status": 400, "message": "The order address 9 does not belong to order 100."}])
    );
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 5001, "items": []}),
        )
        .await;
    assert_eq!(
        r.json(),
        &json!([{"status": 400, "message": "The required field 'items' was not supplied."}])
    );
    // Ship the rest: the status becomes Shipped.
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 5001, "tracking_number": "1Z999", "tracking_carrier": "dhl",
                   "items": [{"order_product_id": 1001, "quantity": 1}, {"order_product_id": 1002, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json()["generated_tracking_link"],
        "https://track.aftership.com/dhl/1Z999"
    );
    let o = api.get("/v2/orders/100").await;
    assert_eq!(
        (
            o.json()["status_id"].clone(),
            o.json()["items_shipped"].clone()
        ),
        (json!(2), json!(3))
    );
    let p = api.get("/v2/orders/100/products").await;
    assert_eq!(
        (
            p.json()[0]["quantity_shipped"].clone(),
            p.json()[1]["quantity_shipped"].clone()
        ),
        (json!(2), json!(1))
    );
    let s = api.get("/v2/orders/100/shipments").await;
    assert_eq!(ids(s.json()), vec![1, 2]);
    assert_eq!(
        api.get("/v2/orders/100/shipments/2").await.json()["tracking_number"],
        "1Z999"
    );
    assert_eq!(
        api.get("/v2/orders/100/shipments/count").await.json(),
        &json!({"count": 2})
    );
    assert_eq!(api.sim.shipment_emails_sent(), vec![(100, 1), (100, 2)]);
    assert_eq!(api.sim.shipments(100).len(), 2);
}

#[tokio::test]
async fn shipment_update_delete_and_order_statuses() {
    let api = api().await;
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 5001, "items": [{"order_product_id": 1001, "quantity": 2}, {"order_product_id": 1002, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(api.sim.order(100).unwrap()["status_id"], 2);
    let r = api
        .put(
            "/v2/orders/100/shipments/1",
            json!({"tracking_number": "1Z42", "shipping_provider": "ups"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tracking_number"], "1Z42");
    assert_eq!(r.json()["shipping_provider_display_name"], "UPS");
    assert_eq!(
        r.json()["generated_tracking_link"],
        "https://www.ups.com/track?tracknum=1Z42"
    );
    assert_eq!(
        r.json()["items"],
        json!([{"order_product_id": 1001, "product_id": 77, "quantity": 2}, {"order_product_id": 1002, "product_id": 77, "quantity": 1}])
    );
    let r = api
        .put("/v2/orders/100/shipments/1", json!({"items": []}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        &json!([{"status": 400, "message": "The field 'items' cannot be written to. Please remove it from your request before trying again."}])
    );
    assert_eq!(
        api.put("/v2/orders/100/shipments/9", json!({"comments": "x"}))
            .await
            .status,
        404
    );
    let r = api.send("DELETE", "/v2/orders/100/shipments/1", None).await;
    assert_eq!((r.status, r.body.is_none()), (204, true));
    let o = api.sim.order(100).unwrap();
    assert_eq!(
        (o["status_id"].clone(), o["items_shipped"].clone()),
        (json!(2), json!(0)),
        "status stays Shipped"
    );
    assert_eq!(api.get("/v2/orders/100/shipments").await.status, 204);
    // The items can be shipped again.
    let r = api
        .post(
            "/v2/orders/100/shipments",
            json!({"order_address_id": 5001, "items": [{"order_product_id": 1001, "quantity": 2}]}),
        )
        .await;
    assert_eq!((r.status, r.json()["id"].clone()), (201, json!(2)));

    let r = api.get("/v2/order_statuses").await;
    assert_eq!(r.json().as_array().unwrap().len(), 15);
    assert_eq!(
        r.json()[14],
        json!({"id": 14, "name": "Partially Refunded", "system_label": "Partially Refunded", "custom_label": "Partially Refunded",
               "system_description": "Partially Refunded", "order": 14})
    );
    assert_eq!(
        api.get("/v2/order_statuses/3").await.json()["name"],
        "Partially Shipped"
    );
    assert_eq!(api.get("/v2/order_statuses/15").await.status, 404);
}

#[tokio::test]
async fn include_consignments_line_items_carries_the_products_and_shipping_addresses() {
    let api = api().await;
    let b = bundle_100();
    let r = api
        .get("/v2/orders/100?include=consignments.line_items&consignment_structure=object")
        .await;
    assert_eq!(r.status, 200);
    let c = &r.json()["consignments"];
    let shipping = c["shipping"].as_array().unwrap();
    assert_eq!(shipping.len(), b.shipping_addresses.len());
    let mut items: Vec<Value> = vec![];
    for (s, a) in shipping.iter().zip(&b.shipping_addresses) {
        assert_eq!(s["id"], a["id"]);
        assert_eq!(s["shipping_method"], a["shipping_method"]);
        let cost: f64 = a["cost_inc_tax"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            s["cost_inc_tax"].as_f64(),
            Some(cost),
            "money as JSON numbers"
        );
        items.extend(s["line_items"].as_array().unwrap().iter().cloned());
    }
    for d in c["downloads"].as_array().unwrap() {
        items.extend(d["line_items"].as_array().unwrap().iter().cloned());
    }
    items.sort_by_key(|p| p["id"].as_i64());
    let mut products = b.products.clone();
    products.sort_by_key(|p| p["id"].as_i64());
    assert_eq!(items, products);
    // The same include on the list; without consignment_structure=object it is ignored.
    let list = api
        .get("/v2/orders?min_id=100&max_id=100&include=consignments.line_items&consignment_structure=object")
        .await;
    assert_eq!(list.json()[0]["consignments"], *c);
    let plain = api
        .get("/v2/orders/100?include=consignments.line_items")
        .await;
    assert_eq!(plain.json(), &b.order);
}
