//! Contacts, postal addresses, products, prices, availability and reference data.

mod brightpearl_support;

use brightpearl_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use serde_json::json;

#[tokio::test]
async fn contacts_search_create_get() {
    let clock = Clock::manual();
    let bp = start_with(config(), clock.clone(), Faults::none()).await;
    let now = bp_time(clock.now());

    let r = bp
        .get("/contact-service/contact-search?primaryEmail=jane@acme.test")
        .await;
    assert_eq!(r.status, 200);
    let rows = search_rows(&r.body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["contactId"], 200);
    assert_eq!(rows[0]["primaryEmail"], "jane@acme.test");
    assert_eq!(rows[0]["firstName"], "Jane");
    assert_eq!(rows[0]["companyName"], "Acme Ltd");
    assert_eq!(rows[0]["isCustomer"], true);
    let r = bp
        .get("/contact-service/contact-search?primaryEmail=nobody@acme.test")
        .await;
    assert_eq!(r.body["response"]["results"], json!([]));

    let r = bp.post("/contact-service/postal-address", json!({"addressLine1": "1 New Rd", "addressLine3": "Leeds", "postalCode": "LS1 1AA", "countryIsoCode": "GBR"})).await;
    assert_eq!(r.body, json!({"response": 101}));
    let r = bp
        .post(
            "/contact-service/postal-address",
            json!({"postalCode": "LS1 1AA", "countryIsoCode": "GBR"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (
            400,
            json!({"errors": [{"code": "CONC-001", "message": "addressLine1 is required"}]})
        )
    );
    let r = bp.get("/contact-service/postal-address/100-101").await;
    assert_eq!(
        r.body["response"][1],
        json!({"addressId": 101, "addressLine1": "1 New Rd", "addressLine3": "Leeds", "postalCode": "LS1 1AA", "countryIsoCode": "GBR"})
    );

    let body = json!({"salutation": "Mr", "firstName": "Sam", "lastName": "Shopper",
        "postAddressIds": {"DEF": 101, "BIL": 101, "DEL": 101},
        "communication": {"emails": {"PRI": {"email": "sam@shop.test"}}, "telephones": {"PRI": "0113 000 0000"}},
        "organisation": {"name": "Shop Co"},
        "relationshipToAccount": {"isSupplier": false, "isStaff": false},
        "marketingDetails": {"isReceiveEmailNewsletter": false},
        "financialDetails": {"priceListId": 2}});
    let r = bp.post("/contact-service/contact", body).await;
    assert_eq!(r.body, json!({"response": 201}));
    let r = bp.get("/contact-service/contact/201").await;
    assert_eq!(
        r.body,
        json!({"response": [{
            "contactId": 201, "isPrimaryContact": true, "salutation": "Mr", "firstName": "Sam", "lastName": "Shopper",
            "postAddressIds": {"DEF": 101, "BIL": 101, "DEL": 101},
            "communication": {"emails": {"PRI": {"email": "sam@shop.test"}}, "telephones": {"PRI": "0113 000 0000"}},
            "contactStatus": {"current": {"contactStatusId": 1, "contactStatusName": "Active"}},
            "relationshipToAccount": {"isSupplier": false, "isStaff": false},
            "marketingDetails": {"isReceiveEmailNewsletter": false},
            "financialDetails": {"priceListId": 2, "nominalCode": 4000, "creditLimit": 0, "creditTermDays": 0, "discountPercentage": 0},
            "assignment": {"current": {"staffOwnerContactId": 0, "leadSourceId": 0, "accountReference": ""}},
            "organisation": {"name": "Shop Co"},
            "createdOn": now, "updatedOn": now, "contactTags": []
        }]})
    );
    let r = bp
        .get("/contact-service/contact-search?primaryEmail=sam@shop.test")
        .await;
    assert_eq!(search_rows(&r.body)[0]["contactId"], 201);
    assert_eq!(search_rows(&r.body)[0]["pri"], "0113 000 0000");
    // SEARCH_STRING is a text search: a part of the address matches both contacts.
    let r = bp
        .get("/contact-service/contact-search?primaryEmail=.test&sort=contactId.DESC")
        .await;
    assert_eq!(
        search_rows(&r.body)
            .iter()
            .map(|x| x["contactId"].clone())
            .collect::<Vec<_>>(),
        vec![json!(201), json!(200)]
    );
    assert_eq!(bp.sim.contacts().len(), 2);

    let r = bp
        .post(
            "/contact-service/contact",
            json!({"firstName": "A", "lastName": "B", "postAddressIds": {"DEF": 555}}),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "CONC-001", "message": "Postal address 555 does not exist"}]})
    );
    let r = bp
        .post(
            "/contact-service/contact",
            json!({"firstName": "x".repeat(33), "lastName": "B"}),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "CONC-001", "message": "firstName must be at most 32 characters"}]})
    );
    assert_eq!(bp.get("/contact-service/contact/1-201").await.status, 414);
    assert_eq!(
        bp.get("/contact-service/contact/1-200").await.body["response"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A GET of contacts none of which exists is a 404 CMNC-404, not 200 [] [obs].
    let r = bp.get("/contact-service/contact/999").await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            404,
            json!({"errors": [{"code": "CMNC-404", "message": "No contacts found"}]})
        )
    );
    // Some found: only those, 200.
    let r = bp.get("/contact-service/contact/200,999").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["response"][0]["contactId"], 200);
    assert_eq!(r.body["response"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn products_prices_availability() {
    let bp = start().await;
    let r = bp.get("/product-service/product-search?SKU=MUG-01").await;
    let rows = search_rows(&r.body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["productId"], 1002);
    assert_eq!(rows[0]["SKU"], "MUG-01");
    assert_eq!(rows[0]["productName"], "Mug");
    assert_eq!(rows[0]["stockTracked"], true);
    assert_eq!(
        r.body["response"]["metaData"]["columns"]
            .as_array()
            .unwrap()
            .len(),
        18
    );
    let r = bp.get("/product-service/product-search?SKU=NOPE").await;
    assert_eq!(r.body["response"]["metaData"]["resultsAvailable"], 0);

    let r = bp.get("/product-service/product/1001-1003").await;
    let ids: Vec<i64> = r.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1001, 1002, 1003]);
    assert_eq!(r.body["response"][0]["identity"]["sku"], "TSHIRT-RED-M");
    assert_eq!(bp.get("/product-service/product/1-201").await.status, 414);
    assert_eq!(
        bp.get("/product-service/product/abc").await.body,
        json!({"errors": [{"code": "CMNC-006", "message": "Invalid ID set: abc"}]})
    );

    let r = bp.get("/product-service/product-price/1001").await;
    assert_eq!(
        r.body,
        json!({"response": [{"productId": 1001, "priceLists": [
            {"priceListId": 1, "currencyCode": "GBP", "currencyId": 1, "quantityPrice": {"1": "12.0000"}},
            {"priceListId": 2, "currencyCode": "GBP", "currencyId": 1, "quantityPrice": {"1": "9.0000", "10": "8.0000"}}]}]})
    );
    let r = bp
        .get("/product-service/product-price/1001/price-list/2")
        .await;
    assert_eq!(
        r.body["response"][0]["priceLists"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(r.body["response"][0]["priceLists"][0]["priceListId"], 2);
    let r = bp.get("/product-service/product-price/1002").await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (
            404,
            json!({"errors": [{"code": "CMNC-404", "message": "No Product Prices Found"}]})
        )
    );
    assert_eq!(
        bp.get("/product-service/product-price/1-201").await.status,
        414
    );

    let r = bp.get("/product-service/price-list/2").await;
    assert_eq!(r.body["response"][0]["code"], "WHOLE");
    assert_eq!(
        bp.get("/product-service/price-list").await.body["response"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // 1003 is not stock-tracked and 4444 is unknown: both are left out.
    let r = bp
        .get("/warehouse-service/product-availability/1001-1003,4444")
        .await;
    assert_eq!(
        r.body,
        json!({"response": {
            "1001": {"total": {"inStock": 10, "onHand": 10, "allocated": 0, "inTransit": 0},
                     "warehouses": {"2": {"inStock": 10, "onHand": 10, "allocated": 0, "inTransit": 0}}},
            "1002": {"total": {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0},
                     "warehouses": {"3": {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0}}}}})
    );
    bp.sim.set_stock(1002, 2, 7);
    let r = bp.get("/warehouse-service/product-availability/1002").await;
    assert_eq!(
        r.body["response"]["1002"]["total"],
        json!({"inStock": 12, "onHand": 12, "allocated": 0, "inTransit": 0})
    );
    assert_eq!(r.body["response"]["1002"]["warehouses"]["2"]["onHand"], 7);
    assert_eq!(
        bp.get("/warehouse-service/product-availability/1-201")
            .await
            .status,
        414
    );
}

#[tokio::test]
async fn reference_data() {
    let bp = start().await;
    let s = seed();
    let cases = [
        ("/warehouse-service/warehouse", json!(s.warehouses)),
        ("/warehouse-service/warehouse/3", json!([s.warehouses[1]])),
        (
            "/warehouse-service/shipping-method",
            json!(s.shipping_methods),
        ),
        (
            "/warehouse-service/shipping-method/6",
            json!([s.shipping_methods[0]]),
        ),
        ("/accounting-service/tax-code", json!(s.tax_codes)),
        (
            "/accounting-service/tax-code/2",
            json!([{"id": 2, "code": "T0", "description": "Zero rated"}]),
        ),
        ("/accounting-service/nominal-code", json!(s.nominal_codes)),
        (
            "/accounting-service/nominal-code/11",
            json!([s.nominal_codes[1]]),
        ),
        (
            "/accounting-service/payment-method",
            json!(s.payment_methods),
        ),
        (
            "/accounting-service/payment-method/1",
            json!(s.payment_methods),
        ),
        ("/product-service/channel", json!(s.channels)),
        ("/product-service/channel/4", json!(s.channels)),
        ("/order-service/order-status", json!(s.order_statuses)),
        (
            "/order-service/order-status/1-2",
            json!([s.order_statuses[0], s.order_statuses[1]]),
        ),
        ("/order-service/order-status/99", json!([])),
    ];
    for (path, expected) in cases {
        let r = bp.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, json!({"response": expected}), "{path}");
    }
    let r = bp
        .get("/accounting-service/nominal-code-search?bank=true")
        .await;
    assert_eq!(
        r.body["response"]["results"],
        json!([[10, "1200", "Bank", 1, true, 1, true]])
    );

    let r = bp.get("/order-service/no-such-thing").await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (
            404,
            json!({"errors": [{"code": "CMNC-404", "message": "No resource at /order-service/no-such-thing"}]})
        )
    );
    let r = bp
        .try_send(
            reqwest::Method::POST,
            "/order-service/sales-order",
            Some(json!(null)),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    // Invalid JSON body.
    let raw = bp
        .client
        .post(bp.url("/contact-service/contact"))
        .header("brightpearl-app-ref", APP_REF)
        .header("brightpearl-account-token", TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let v = body_json(raw).await;
    assert_eq!(v["errors"][0]["code"], "CMNC-010");
}

#[tokio::test]
async fn stock_corrections() {
    let bp = start().await;
    let r = bp
        .post(
            "/warehouse-service/warehouse/2/stock-correction",
            json!({"corrections": [
                {"quantity": 5, "productId": 1001, "reason": "BC recount", "locationId": 2, "cost": {"currency": "GBP", "value": 4.50}},
                {"quantity": -2, "productId": 1001, "reason": "Damaged", "locationId": 2}]}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({"response": [40001, 40002]}))
    );
    let r = bp.get("/warehouse-service/product-availability/1001").await;
    assert_eq!(
        r.body["response"]["1001"]["total"],
        json!({"inStock": 13, "onHand": 13, "allocated": 0, "inTransit": 0})
    );
    let r = bp
        .get("/warehouse-service/warehouse/2/stock-correction/40001-40002")
        .await;
    assert_eq!(r.body["response"][1]["quantity"], -2);
    assert_eq!(r.body["response"][1]["reason"], "Damaged");
    assert_eq!(
        r.body["response"][0]["cost"],
        json!({"currency": "GBP", "value": 4.50})
    );

    let bad = |m: &str| json!({"errors": [{"code": "WHSC-002", "message": m}]});
    let r = bp
        .post(
            "/warehouse-service/warehouse/2/stock-correction",
            json!({"corrections": [{"quantity": 1, "productId": 1001}]}),
        )
        .await;
    assert_eq!(
        r.body,
        bad("corrections[0].cost is required when adding stock")
    );
    let r = bp
        .post(
            "/warehouse-service/warehouse/2/stock-correction",
            json!({"corrections": [{"quantity": -14, "productId": 1001}]}),
        )
        .await;
    assert_eq!(
        r.body,
        bad("corrections[0]: only 13 of product 1001 on hand in warehouse 2")
    );
    let r = bp
        .post(
            "/warehouse-service/warehouse/2/stock-correction",
            json!({"corrections": [{"quantity": -1, "productId": 1003}]}),
        )
        .await;
    assert_eq!(
        r.body,
        bad("corrections[0]: product 1003 is not a stock-tracked product")
    );
    let r = bp
        .post(
            "/warehouse-service/warehouse/9/stock-correction",
            json!({"corrections": [{"quantity": -1, "productId": 1001}]}),
        )
        .await;
    assert_eq!(r.body, bad("Warehouse 9 does not exist"));
    let r = bp.get("/warehouse-service/product-availability/1001").await;
    assert_eq!(
        r.body["response"]["1001"]["total"]["onHand"], 13,
        "refused corrections change nothing"
    );
}
