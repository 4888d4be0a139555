//! Contract tests: v3 catalog, inventory, customers, customer groups, price lists.
#![recursion_limit = "256"]

mod bigcommerce_support;

use bigcommerce_support::*;
use pearlbridge_sandbox::bigcommerce::InventoryLevel;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use serde_json::{Value, json};

const TYPE: &str = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";

async fn api() -> Api {
    start_with(seed(), Clock::manual(), Faults::none(), 5000).await
}

fn ids(v: &Value) -> Vec<i64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

fn level(api: &Api, variant: i64, location: i64) -> Option<i64> {
    api.sim
        .inventory_levels()
        .into_iter()
        .find(|l| l.variant_id == variant && l.location_id == location)
        .map(|l| l.on_hand)
}

#[tokio::test]
async fn products_and_variants_filters() {
    let api = api().await;
    let r = api.get("/v3/catalog/products").await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(r.json()), vec![77, 78]);
    assert_eq!(
        r.json()["data"][0].get("variants"),
        None,
        "variants only with include=variants"
    );
    assert_eq!(
        r.json()["meta"],
        json!({"pagination": {"total": 2, "count": 2, "per_page": 50, "current_page": 1, "total_pages": 1, "links": {"current": "?page=1&limit=50"}}})
    );
    let r = api
        .get("/v3/catalog/products?include=variants&sku:in=BASE-77,SKU-C")
        .await;
    assert_eq!(ids(r.json()), vec![77, 78]);
    assert_eq!(
        r.json()["data"][0]["variants"],
        seed().products[0]["variants"]
    );
    assert_eq!(
        ids(api.get("/v3/catalog/products?sku=SKU-A").await.json()),
        Vec::<i64>::new(),
        "base SKUs only"
    );
    assert_eq!(
        ids(api.get("/v3/catalog/products?id:in=78").await.json()),
        vec![78]
    );
    let r = api.get("/v3/catalog/products?limit=1&page=2").await;
    assert_eq!(
        r.json()["meta"]["pagination"]["links"],
        json!({"previous": "?page=1&limit=1", "current": "?page=2&limit=1"})
    );
    let r = api.get("/v3/catalog/products?limit=1").await;
    assert_eq!(
        r.json()["meta"]["pagination"]["links"],
        json!({"current": "?page=1&limit=1", "next": "?page=2&limit=1"})
    );
    let r = api.get("/v3/catalog/products?limit=251").await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        &json!({"status": 422, "title": "Input is invalid", "type": TYPE, "errors": {"limit": "must be at most 250"}})
    );
    assert_eq!(api.get("/v3/catalog/products?id:in=x").await.status, 422);
    let r = api.get("/v3/catalog/products/77?include=variants").await;
    assert_eq!(r.json(), &json!({"data": seed().products[0], "meta": {}}));
    assert_eq!(api.get("/v3/catalog/products/79").await.status, 404);
    assert_eq!(
        ids(api.get("/v3/catalog/products/77/variants").await.json()),
        vec![501, 502]
    );
    assert_eq!(
        ids(api.get("/v3/catalog/variants?sku=SKU-B").await.json()),
        vec![502]
    );
    assert_eq!(
        ids(api
            .get("/v3/catalog/variants?sku:in=SKU-A,SKU-C")
            .await
            .json()),
        vec![501, 601]
    );
    assert_eq!(
        ids(api
            .get("/v3/catalog/variants?product_id:in=77")
            .await
            .json()),
        vec![501, 502]
    );
    assert_eq!(
        ids(api.get("/v3/catalog/variants?id:in=601,502").await.json()),
        vec![502, 601]
    );
}

#[tokio::test]
async fn variant_batch_200_207_422_413() {
    let api = api().await;
    let r = api
        .put(
            "/v3/catalog/variants",
            json!([{"id": 501, "inventory_level": 15, "price": 31.5}]),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut v = seed().products[0]["variants"][0].clone();
    v["inventory_level"] = json!(15);
    v["price"] = json!(31.5);
    assert_eq!(r.json(), &json!({"data": [v], "meta": {}}));
    assert_eq!(level(&api, 501, 1), Some(15));
    assert_eq!(
        api.get("/v3/catalog/products/77").await.json()["data"]["inventory_level"],
        19,
        "variant tracking: sum"
    );
    let r = api
        .put(
            "/v3/catalog/variants",
            json!([{"id": 502, "inventory_level": 3}, {"id": 999, "inventory_level": 1}]),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.json()["data"][0]["inventory_level"], 3);
    assert_eq!(
        r.json()["batch_errors"],
        json!([{"status": 422, "title": "Variant 999 was not found.", "type": TYPE, "errors": {"[1].id": "not found"}}])
    );
    let r = api
        .put(
            "/v3/catalog/variants",
            json!([{"inventory_level": 1}, {"id": 501, "product_id": 78}]),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        &json!({"batch_errors": [
            {"status": 422, "title": "Variant id is required.", "type": TYPE, "errors": {"[0].id": "is required"}},
            {"status": 422, "title": "The field 'product_id' cannot be written.", "type": TYPE, "errors": {"[1].product_id": "read-only"}}
        ]})
    );
    let many: Vec<Value> = (0..51)
        .map(|_| json!({"id": 501, "inventory_level": 1}))
        .collect();
    let r = api.put("/v3/catalog/variants", Value::Array(many)).await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json()["title"],
        "The request payload is too large. The maximum number of variants per request is 50."
    );
    assert_eq!(level(&api, 501, 1), Some(15), "413 writes nothing");
    // Clamped to the maximum.
    let r = api
        .put(
            "/v3/catalog/variants",
            json!([{"id": 601, "inventory_level": 3_000_000_000i64}]),
        )
        .await;
    assert_eq!(r.json()["data"][0]["inventory_level"], 2_147_483_647i64);
}

#[tokio::test]
async fn locations_adjustments_and_items() {
    let api = api().await;
    let r = api.get("/v3/inventory/locations").await;
    assert_eq!(r.json()["data"], json!(seed().locations));
    assert_eq!(
        ids(api
            .get("/v3/inventory/locations?is_default=true")
            .await
            .json()),
        vec![1]
    );
    assert_eq!(
        ids(api
            .get("/v3/inventory/locations?location_code:in=WH-NORTH")
            .await
            .json()),
        vec![2]
    );
    assert_eq!(
        ids(api
            .get("/v3/inventory/locations?location_id:in=1,2")
            .await
            .json()),
        vec![1, 2]
    );

    // Relative before any absolute at location 2: refused.
    let r = api.post("/v3/inventory/adjustments/relative", json!({"reason": "sale", "items": [{"location_id": 2, "sku": "SKU-A", "quantity": -1}]})).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["errors"],
        json!({"items.0.quantity": "requires absolute adjustment before relative"})
    );

    let r = api
        .put(
            "/v3/inventory/adjustments/absolute",
            json!({"reason": "Brightpearl sync", "items": [
                {"location_id": 2, "sku": "SKU-A", "quantity": 5},
                {"location_id": 1, "variant_id": 502, "quantity": 0},
                {"location_id": 1, "product_id": 78, "quantity": 3}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        &json!({"transaction_id": "00000001-0000-4000-8000-000000000001"})
    );
    assert_eq!(
        (
            level(&api, 501, 2),
            level(&api, 502, 1),
            level(&api, 601, 1)
        ),
        (Some(5), Some(0), Some(3))
    );
    assert_eq!(
        api.get("/v3/catalog/variants?id:in=502").await.json()["data"][0]["inventory_level"],
        0,
        "default location mirrors into the catalog"
    );
    assert_eq!(
        api.get("/v3/catalog/variants?id:in=501").await.json()["data"][0]["inventory_level"],
        10,
        "other locations do not"
    );

    let r = api.get("/v3/inventory/items?variant_id:in=501").await;
    assert_eq!(
        r.json()["data"],
        json!([{"identity": {"sku": "SKU-A", "variant_id": 501, "product_id": 77, "sku_id": 10501}, "locations": [
            {"location_id": 1, "location_code": "BC-DEFAULT", "location_name": "Default location", "available_to_sell": 10,
             "total_inventory_onhand": 10, "location_enabled": true,
             "settings": {"safety_stock": 0, "is_in_stock": true, "warning_level": 2, "bin_picking_number": ""}},
            {"location_id": 2, "location_code": "WH-NORTH", "location_name": "North warehouse", "available_to_sell": 5,
             "total_inventory_onhand": 5, "location_enabled": true,
             "settings": {"safety_stock": 0, "is_in_stock": true, "warning_level": 0, "bin_picking_number": ""}}
        ]}])
    );
    let r = api
        .get("/v3/inventory/items?sku:in=SKU-B&location_id:in=1")
        .await;
    assert_eq!(
        r.json()["data"][0]["locations"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        r.json()["data"][0]["locations"][0]["settings"]["is_in_stock"],
        false
    );
    let r = api.get("/v3/inventory/locations/2/items").await;
    assert_eq!(r.json()["meta"]["pagination"]["total"], 3);
    assert_eq!(
        r.json()["data"][0],
        json!({"identity": {"sku": "SKU-A", "variant_id": 501, "product_id": 77, "sku_id": 10501}, "available_to_sell": 5,
               "total_inventory_onhand": 5, "settings": {"safety_stock": 0, "is_in_stock": true, "warning_level": 0, "bin_picking_number": ""}})
    );
    assert_eq!(api.get("/v3/inventory/locations/9/items").await.status, 404);

    // Relative now works.
    let r = api
        .post(
            "/v3/inventory/adjustments/relative",
            json!({"items": [{"location_id": 2, "variant_id": 501, "quantity": -2}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(level(&api, 501, 2), Some(3));

    // Invalid items: 422, nothing written.
    let r = api
        .put(
            "/v3/inventory/adjustments/absolute",
            json!({"items": [
                {"location_id": 9, "variant_id": 501, "quantity": 1},
                {"location_id": 1, "variant_id": 501, "sku": "SKU-A", "quantity": 1},
                {"location_id": 1, "product_id": 77, "quantity": 1},
                {"location_id": 1, "variant_id": 501, "quantity": -1},
                {"location_id": 2, "variant_id": 502, "quantity": 1}
            ]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        &json!({"status": 422, "title": "Input is invalid", "type": TYPE, "errors": {
            "items.0.location_id": "must be an existing location id",
            "items.1.variant_id": "exactly one of variant_id, sku or product_id is required",
            "items.2.product_id": "does not identify an inventory item",
            "items.3.quantity": "must be between 0 and 2147483647"
        }})
    );
    assert_eq!(level(&api, 502, 2), None);
    let many: Vec<Value> = (0..2001)
        .map(|_| json!({"location_id": 1, "variant_id": 501, "quantity": 1}))
        .collect();
    let r = api
        .put("/v3/inventory/adjustments/absolute", json!({"items": many}))
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json()["title"],
        "The request payload is too large. The maximum number of items per request is 2000."
    );
    assert_eq!(
        api.sim
            .inventory_levels()
            .iter()
            .find(|l| l.variant_id == 601)
            .cloned(),
        Some(InventoryLevel {
            product_id: 78,
            variant_id: 601,
            sku: "SKU-C".into(),
            location_id: 1,
            on_hand: 3,
            safety_stock: 0
        })
    );
}

#[tokio::test]
async fn customers_and_groups() {
    let api = api().await;
    let r = api.get("/v3/customers?id:in=7,8").await;
    assert_eq!(ids(r.json()), vec![7, 8]);
    assert_eq!(r.json()["data"][0]["customer_group_id"], 2);
    assert_eq!(r.json()["data"][1]["customer_group_id"], 3);
    assert_eq!(
        ids(api
            .get("/v3/customers?email:in=BOB@example.com")
            .await
            .json()),
        vec![8]
    );
    assert_eq!(
        ids(api.get("/v3/customers?customer_group_id:in=2").await.json()),
        vec![7]
    );
    let r = api.get("/v2/customer_groups").await;
    assert_eq!(r.json(), &json!(seed().customer_groups));
    assert_eq!(
        api.get("/v2/customer_groups/3").await.json()["name"],
        "Trade"
    );
    assert_eq!(
        api.get("/v2/customer_groups/count").await.json(),
        &json!({"count": 2})
    );
    assert_eq!(api.get("/v2/customer_groups/9").await.status, 404);
    let r = api.get("/v2/customer_groups?page=2").await;
    assert_eq!((r.status, r.body.is_none()), (204, true));
}

#[tokio::test]
async fn price_lists_records_and_assignments() {
    let api = api().await;
    assert_eq!(
        api.get("/v3/pricelists").await.json()["data"],
        json!(seed().price_lists)
    );
    assert_eq!(
        api.get("/v3/pricelists/1").await.json(),
        &json!({"data": seed().price_lists[0], "meta": {}})
    );
    assert_eq!(api.get("/v3/pricelists/2").await.status, 404);
    assert_eq!(
        api.get("/v3/pricelists/1/records").await.json()["data"],
        json!(seed().price_list_records)
    );

    let r = api
        .put(
            "/v3/pricelists/1/records",
            json!([
                {"variant_id": 501, "currency": "GBP", "price": 24},
                {"sku": "SKU-B", "currency": "gbp", "price": 20, "sale_price": 18}
            ]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), &json!({"data": {}, "meta": {}}));
    let now = api
        .clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recs = api.sim.price_list_records(1);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["price"], 24);
    assert_eq!(recs[0]["calculated_price"], 24);
    assert_eq!(recs[0]["date_created"], "2023-01-01T00:00:00Z");
    assert_eq!(
        recs[1],
        json!({"price_list_id": 1, "variant_id": 502, "product_id": 77, "sku": "SKU-B", "currency": "gbp", "date_created": now,
               "price": 20, "sale_price": 18, "calculated_price": 18, "date_modified": now})
    );
    assert_eq!(
        ids(
            &json!({"data": api.get("/v3/pricelists/1/records?sku=SKU-B").await.json()["data"].as_array().unwrap().iter().map(|r| json!({"id": r["variant_id"]})).collect::<Vec<_>>()})
        ),
        vec![502]
    );

    let r = api
        .put(
            "/v3/pricelists/1/records",
            json!([
                {"sku": "SKU-A", "currency": "eur", "price": 30},
                {"sku": "NOPE", "currency": "gbp", "price": 1}
            ]),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(
        r.json(),
        &json!({"batch_errors": [{"data": {"price_list_id": 1, "variant_id": null, "sku": "NOPE", "currency": "gbp"},
                                  "field_errors": {"sku": "sku not found"}}],
                "meta": {"success": 1, "failed": 1, "total": 2}})
    );
    assert_eq!(
        api.get("/v3/pricelists/1/records?currency=EUR")
            .await
            .json()["data"][0]["price"],
        30
    );
    let r = api
        .put(
            "/v3/pricelists/1/records",
            json!([{"variant_id": 601, "currency": "usdollar", "price": -1}]),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        &json!({"batch_errors": [{"data": {"price_list_id": 1, "variant_id": 601, "sku": null, "currency": "usdollar"},
                                  "field_errors": {"currency": "must be an ISO 4217 currency code",
                                                   "price": "must be a number greater than or equal to 0"}}]})
    );
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({"variant_id": 501, "currency": "gbp", "price": 1}))
        .collect();
    let r = api
        .put("/v3/pricelists/1/records", Value::Array(many))
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(api.sim.price_list_records(1).len(), 3);

    // Assignments.
    let r = api
        .put(
            "/v3/pricelists/1/assignments",
            json!({"customer_group_id": 2, "channel_id": 1}),
        )
        .await;
    assert_eq!(
        r.json(),
        &json!({"data": {"id": 2, "price_list_id": 1, "customer_group_id": 2, "channel_id": 1}, "meta": {}})
    );
    assert_eq!(
        ids(api.get("/v3/pricelists/assignments").await.json()),
        vec![1, 2]
    );
    assert_eq!(
        ids(api
            .get("/v3/pricelists/assignments?customer_group_id=3")
            .await
            .json()),
        vec![1]
    );
    let r = api
        .post(
            "/v3/pricelists/assignments",
            json!([{"price_list_id": 5, "customer_group_id": 3}]),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["errors"],
        json!({"[0].price_list_id": "must be an existing price list id"})
    );
    let r = api
        .send(
            "DELETE",
            "/v3/pricelists/assignments?customer_group_id=2",
            None,
        )
        .await;
    assert_eq!((r.status, r.body.is_none()), (204, true));
    assert_eq!(
        ids(api.get("/v3/pricelists/assignments").await.json()),
        vec![1]
    );
    let r = api
        .post(
            "/v3/pricelists/assignments",
            json!([{"price_list_id": 1, "customer_group_id": 2}]),
        )
        .await;
    assert_eq!(
        r.json(),
        &json!({"data": [{"id": 3, "price_list_id": 1, "customer_group_id": 2}], "meta": {}})
    );
}
