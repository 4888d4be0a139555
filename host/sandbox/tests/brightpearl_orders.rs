#![recursion_limit = "256"]
//! Sales orders: POST, externalRef idempotency, GET by id set, search, status, invoicing,
//! sales credits.

mod brightpearl_support;

use brightpearl_support::*;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use serde_json::{Value, json};

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    bp_time(t)
}

#[tokio::test]
async fn sales_order_post_get_and_idempotency() {
    let clock = Clock::manual();
    let bp = start_with(config(), clock.clone(), Faults::none()).await;
    let now = iso(clock.now());

    let r = bp
        .post(
            "/order-service/sales-order",
            sales_order("bc:store:order:100231"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"response": 1001}));
    assert_eq!(r.remaining(), 199);

    // Same (externalRef, installedIntegrationInstanceId): 200, the same id, nothing created.
    let mut changed = sales_order("bc:store:order:100231");
    changed["ref"] = json!("CHANGED");
    let r = bp.post("/order-service/sales-order", changed).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"response": 1001}));
    assert_eq!(bp.sim.sales_orders().len(), 1);
    assert_eq!(bp.sim.sales_orders()[0]["reference"], "BC-100231");

    // The same externalRef under another integration instance is another order.
    let mut other = sales_order("bc:store:order:100231");
    other["installedIntegrationInstanceId"] = json!(12);
    let r = bp.post("/order-service/sales-order", other).await;
    assert_eq!(r.body, json!({"response": 1002}));

    let r = bp.get("/order-service/order/1001").await;
    assert_eq!(r.status, 200);
    let expected = json!({"response": [{
        "id": 1001, "parentOrderId": 0, "orderTypeCode": "SO", "reference": "BC-100231",
        "externalRef": "bc:store:order:100231", "installedIntegrationInstanceId": 11, "version": 1,
        "state": {"tax": "READY"},
        "orderStatus": {"orderStatusId": 2, "name": "New web order"},
        "orderPaymentStatus": "UNPAID",
        "stockStatusCode": "SON", "allocationStatusCode": "AAA", "shippingStatusCode": "SNS",
        "placedOn": "2024-05-01T10:15:00Z", "createdOn": now, "updatedOn": now, "closedOn": null,
        "priceListId": 2, "priceModeCode": "EXC",
        "delivery": {"shippingMethodId": 6, "deliveryDate": null},
        "invoices": [{"invoiceReference": "", "taxDate": null, "dueDate": null}],
        "currency": {"accountingCurrencyCode": "GBP", "orderCurrencyCode": "GBP", "exchangeRate": "1.0", "fixedExchangeRate": true},
        "totalValue": {"net": "24.17", "taxAmount": "4.83", "baseNet": "24.17", "baseTaxAmount": "4.83", "baseTotal": "29.00", "total": "29.00"},
        "assignment": {"current": {"staffOwnerContactId": 0, "projectId": 0, "channelId": 4, "leadSourceId": 0, "teamId": 0}},
        "parties": {
            "customer": {"contactId": 200, "addressLine1": "12 High St", "addressLine3": "Bristol", "postalCode": "BS1 1AA",
                         "countryIsoCode": "GBR", "email": "jane@acme.test"},
            "delivery": {"contactId": 200, "addressFullName": "Jane Buyer", "addressLine1": "12 High St", "postalCode": "BS1 1AA", "countryIsoCode": "GBR"},
            "billing": {"contactId": 200, "addressLine1": "12 High St", "addressLine3": "Bristol", "postalCode": "BS1 1AA", "countryIsoCode": "GBR"}
        },
        "orderRows": {
            "5001": {"orderRowSequence": "10", "productId": 1001, "productName": "Red T-shirt M", "productSku": "TSHIRT-RED-M",
                     "quantity": {"magnitude": "2.0000"},
                     "itemCost": {"currencyCode": "GBP", "value": "0.0000"},
                     "productPrice": {"currencyCode": "GBP", "value": "10.0000"},
                     "discountPercentage": "0.00",
                     "rowValue": {"taxRate": "20.0000", "taxCode": "T20", "taxCalculator": "brightpearl",
                                  "rowNet": {"currencyCode": "GBP", "value": "20.0000"},
                                  "rowTax": {"currencyCode": "GBP", "value": "4.0000"}},
                     "nominalCode": "4000", "externalRef": "bc-line-555",
                     "composition": {"bundleParent": false, "bundleChild": false, "parentOrderRowId": 0}, "clonedFromId": 0},
            "5002": {"orderRowSequence": "20", "productId": 0, "productName": "Shipping: UPS Ground", "productSku": "",
                     "quantity": {"magnitude": "1.0000"},
                     "itemCost": {"currencyCode": "GBP", "value": "0.0000"},
                     "productPrice": {"currencyCode": "GBP", "value": "4.1700"},
                     "discountPercentage": "0.00",
                     "rowValue": {"taxRate": "20.0000", "taxCode": "T20", "taxCalculator": "brightpearl",
                                  "rowNet": {"currencyCode": "GBP", "value": "4.1700"},
                                  "rowTax": {"currencyCode": "GBP", "value": "0.8300"}},
                     "nominalCode": "4040", "externalRef": null,
                     "composition": {"bundleParent": false, "bundleChild": false, "parentOrderRowId": 0}, "clonedFromId": 0}
        },
        "warehouseId": 2, "acknowledged": 0, "costPriceListId": 1, "historicalOrder": false
    }]});
    assert_eq!(r.body, expected);
    assert_eq!(bp.sim.sales_orders()[0], expected["response"][0]);

    // Both orders allocated 2 units each: onHand 10 → 6.
    let r = bp.get("/warehouse-service/product-availability/1001").await;
    assert_eq!(
        r.body,
        json!({"response": {"1001": {"total": {"inStock": 10, "onHand": 6, "allocated": 4, "inTransit": 0},
                                     "warehouses": {"2": {"inStock": 10, "onHand": 6, "allocated": 4, "inTransit": 0}}}}})
    );

    // Missing order: 200 and an empty list; id-set syntax; the 200-id limit.
    assert_eq!(
        bp.get("/order-service/order/999").await.body,
        json!({"response": []})
    );
    let r = bp.get("/order-service/order/999-1001,1002").await;
    let ids: Vec<i64> = r.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1001, 1002]);
    let r = bp.get("/order-service/order/1-201").await;
    assert_eq!(r.status, 414);
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "CMNC-414", "message": "Request-URI Too Long: 201 order ids requested, at most 200 per request"}]})
    );
    assert_eq!(bp.get("/order-service/order/1-200").await.status, 200);

    // Flat sales-order GET.
    let r = bp.get("/order-service/sales-order/1001").await;
    let so = &r.body["response"][0];
    assert_eq!(so["customer"]["id"], 200);
    assert_eq!(so["ref"], "BC-100231");
    assert_eq!(
        so["total"],
        json!({"net": "24.17", "tax": "4.83", "gross": "29.00", "baseNet": "24.17", "baseTax": "4.83", "baseGross": "29.00"})
    );
    assert_eq!(so["rows"][0]["id"], 5001);
    assert_eq!(so["rows"][0]["sku"], "TSHIRT-RED-M");
    assert_eq!(so["rows"][1]["net"], "4.1700");
}

#[tokio::test]
async fn sales_order_validation_errors() {
    let bp = start().await;
    let err = |code: &str, msg: &str| json!({"errors": [{"code": code, "message": msg}]});

    let r = bp
        .try_send(reqwest::Method::POST, "/order-service/sales-order", None)
        .await
        .unwrap();
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (400, err("CMNC-010", "You have not supplied a JSON body"))
    );

    let mut b = sales_order("x1");
    b["rows"][0]["quantity"] = json!("1.5");
    let r = bp.post("/order-service/sales-order", b).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (
            400,
            err(
                "ORDC-024",
                "rows[0]: quantity 1.5 is not valid for this product"
            )
        )
    );

    let mut b = sales_order("x2");
    b["rows"][0]["productId"] = json!(4242);
    let r = bp.post("/order-service/sales-order", b).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (400, err("ORDC-003", "rows[0]: product 4242 does not exist"))
    );

    let mut b = sales_order("x3");
    b["rows"][1]["tax"] = json!("0.83001");
    let r = bp.post("/order-service/sales-order", b).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (
            400,
            err("ORDC-003", "rows[1]: tax has more than 4 decimal places")
        )
    );

    let mut b = sales_order("x4");
    b["customer"]["id"] = json!(9);
    let r = bp.post("/order-service/sales-order", b).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (400, err("ORDC-003", "Contact 9 does not exist"))
    );

    let r = bp
        .try_send(reqwest::Method::POST, "/order-service/sales-order", None)
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(
        bp.sim.sales_orders().is_empty(),
        "nothing is created by a refused order"
    );
}

#[tokio::test]
async fn order_search_filters_and_bad_filter() {
    let bp = start().await;
    bp.post("/order-service/sales-order", sales_order("ext-a"))
        .await;
    let mut b = sales_order("ext-b");
    b["ref"] = json!("BC-2");
    b["statusId"] = json!(1);
    bp.post("/order-service/sales-order", b).await;

    let r = bp
        .get("/order-service/order-search?externalRef=ext-b")
        .await;
    assert_eq!(r.status, 200);
    let md = &r.body["response"]["metaData"];
    assert_eq!(md["resultsAvailable"], 1);
    assert_eq!(md["resultsReturned"], 1);
    assert_eq!(md["firstResult"], 1);
    assert_eq!(md["lastResult"], 1);
    assert_eq!(md["morePagesAvailable"], false);
    assert_eq!(md["columns"].as_array().unwrap().len(), 19);
    assert_eq!(
        md["columns"][0],
        json!({"name": "orderId", "sortable": true, "filterable": true, "reportDataType": "IDSET", "referenceData": [], "isFreeTextSearchable": false, "required": false})
    );
    // Types and lookups as the API docs list them (order/order/search.html [doc]).
    let types: Vec<(String, String, Value)> = md["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["reportDataType"].as_str().unwrap().to_string(),
                c["referenceData"].clone(),
            )
        })
        .collect();
    let t = |name: &str, ty: &str, refs: Value| (name.to_string(), ty.to_string(), refs);
    assert_eq!(
        types,
        vec![
            t("orderId", "IDSET", json!([])),
            t("orderTypeId", "IDSET", json!(["orderTypeNames"])),
            t("contactId", "INTEGER", json!([])),
            t("orderStatusId", "INTEGER", json!(["orderStatusNames"])),
            t(
                "orderStockStatusId",
                "INTEGER",
                json!(["orderStockStatusNames"])
            ),
            t("createdOn", "PERIOD", json!([])),
            t("createdById", "INTEGER", json!([])),
            t("customerRef", "STRING", json!([])),
            t(
                "orderPaymentStatusId",
                "INTEGER",
                json!(["orderPaymentStatusNames"])
            ),
            t("updatedOn", "PERIOD", json!([])),
            t("parentOrderId", "IDSET", json!([])),
            t(
                "orderShippingStatusId",
                "INTEGER",
                json!(["orderShippingStatusNames"])
            ),
            t("externalRef", "STRING", json!([])),
            t("installedIntegrationInstanceId", "INTEGER", json!([])),
            t("warehouseId", "IDSET", json!([])),
            t("staffOwnerContactId", "INTEGER", json!([])),
            t("taxDate", "PERIOD", json!([])),
            t("departmentId", "INTEGER", json!([])),
            t("deliveryDate", "PERIOD", json!([])),
        ]
    );
    assert_eq!(
        md["sorting"],
        json!([{"filterable": md["columns"][0].clone(), "direction": "ASC"}])
    );
    // An IDSET column takes an ID set as its filter.
    let r2 = bp
        .get("/order-service/order-search?warehouseId=1-3&orderTypeId=1,3&columns=orderId")
        .await;
    assert_eq!(r2.body["response"]["results"], json!([[1001], [1002]]));
    let r2 = bp
        .get("/order-service/sales-order-search?warehouseId=5")
        .await;
    assert_eq!(r2.body["response"]["results"], json!([]));
    assert_eq!(
        r2.body["response"]["metaData"]["columns"][11]["name"],
        "warehouseId"
    );
    assert_eq!(
        r2.body["response"]["metaData"]["columns"][11]["reportDataType"],
        "IDSET"
    );
    let rows = search_rows(&r.body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["orderId"], 1002);
    assert_eq!(rows[0]["orderTypeId"], 1);
    assert_eq!(rows[0]["contactId"], 200);
    assert_eq!(rows[0]["customerRef"], "BC-2");
    assert_eq!(rows[0]["orderStatusId"], 1);
    assert_eq!(rows[0]["orderShippingStatusId"], 2);
    assert_eq!(rows[0]["installedIntegrationInstanceId"], 11);
    assert_eq!(r.body["reference"]["orderTypeNames"]["1"], "SALES_ORDER");
    assert_eq!(
        r.body["reference"]["orderStatusNames"]["2"],
        "New web order"
    );

    let r = bp
        .get("/order-service/order-search?customerRef=BC-100231")
        .await;
    assert_eq!(r.body["response"]["results"].as_array().unwrap().len(), 1);
    assert_eq!(search_rows(&r.body)[0]["orderId"], 1001);
    let r = bp.get("/order-service/order-search?orderStatusId=2").await;
    assert_eq!(
        search_rows(&r.body)
            .iter()
            .map(|x| x["orderId"].clone())
            .collect::<Vec<_>>(),
        vec![json!(1001)]
    );
    let r = bp
        .get("/order-service/order-search?sort=orderId.DESC&columns=orderId,externalRef")
        .await;
    assert_eq!(
        r.body["response"]["results"],
        json!([[1002, "ext-b"], [1001, "ext-a"]])
    );
    let r = bp.get("/order-service/order-search?pageSize=1").await;
    assert_eq!(r.body["response"]["metaData"]["morePagesAvailable"], true);
    assert_eq!(r.body["response"]["metaData"]["resultsAvailable"], 2);
    assert_eq!(r.body["response"]["results"].as_array().unwrap().len(), 1);
    let r = bp
        .get("/order-service/order-search?pageSize=1&firstResult=2")
        .await;
    assert_eq!(r.body["response"]["metaData"]["morePagesAvailable"], false);
    assert_eq!(r.body["response"]["results"][0][0], 1002);

    let r = bp
        .get("/order-service/order-search?orderStatusId=BAD%20PARAM")
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "CMNC-018", "message": "The value 'BAD PARAM' for column 'orderStatusId' cannot be parsed as: INTEGER"}]})
    );

    let r = bp
        .get("/order-service/sales-order-search?externalRef=ext-a")
        .await;
    let rows = search_rows(&r.body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["salesOrderId"], 1001);
    assert_eq!(rows[0]["orderShippingStatus"], "SNS");
    assert_eq!(rows[0]["orderPaymentStatus"], "UNPAID");
}

#[tokio::test]
async fn status_invoice_and_credit() {
    let bp = start().await;
    bp.post("/order-service/sales-order", sales_order("ext-1"))
        .await;

    let r = bp
        .put(
            "/order-service/order/1001/status",
            json!({"orderStatusId": 1, "orderNote": {"text": "moved", "isPublic": false}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({})),
        "a status PUT answers a bare {{}} [obs]"
    );
    let o = bp.get("/order-service/order/1001").await.body["response"][0].clone();
    assert_eq!(
        o["orderStatus"],
        json!({"orderStatusId": 1, "name": "Draft / Quote"})
    );
    assert_eq!(o["version"], 2);
    let r = bp
        .put(
            "/order-service/order/1001/status",
            json!({"orderStatusId": 29}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Order status 29 does not exist for order type SO"
    );

    // A sales credit is refused before the parent is invoiced (per-account switch on).
    let credit = json!({"customer": {"id": 200}, "parentId": 1001, "ref": "BC-100231-R1", "externalRef": "bc:refund:7781",
        "installedIntegrationInstanceId": 11, "channelId": 4, "warehouseId": 2, "priceListId": 2, "priceModeCode": "EXC",
        "currency": {"code": "GBP", "fixedExchangeRate": true, "exchangeRate": "1.0"},
        "rows": [{"productId": 1001, "quantity": "1", "taxCode": "T20", "net": "10.00", "tax": "2.00", "nominalCode": "4000"}]});
    let r = bp.post("/order-service/sales-credit", credit.clone()).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "ORDC-031", "message": "Sales order 1001 must be invoiced before it can be credited"}]})
    );

    // Invoice (close): {} then the order is invoiced; closing again is refused.
    let r = bp
        .post("/order-service/sales-order/1001/close", json!({}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({"response": {}}))
    );
    let o = bp.get("/order-service/order/1001").await.body["response"][0].clone();
    assert_eq!(o["invoices"][0]["invoiceReference"], "SI-1001");
    assert_eq!(o["state"]["tax"], "INVOICED");
    assert!(o["closedOn"].is_string());
    let r = bp
        .post("/order-service/sales-order/1001/close", json!({}))
        .await;
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "ORDC-003", "message": "Order 1001 has already been invoiced"}]})
    );

    // Cancelling an invoiced order is refused.
    let r = bp
        .put(
            "/order-service/order/1001/status",
            json!({"orderStatusId": 5}),
        )
        .await;
    assert_eq!(r.status, 400);

    let r = bp.post("/order-service/sales-credit", credit.clone()).await;
    assert_eq!(r.body, json!({"response": 1002}));
    let r = bp.post("/order-service/sales-credit", credit).await;
    assert_eq!(
        r.body,
        json!({"response": 1002}),
        "externalRef idempotency on credits too"
    );
    let r = bp.get("/order-service/sales-credit/1002").await;
    assert_eq!(r.status, 200);
    let sc = &r.body["response"][0];
    assert_eq!(sc["parentId"], 1001);
    assert_eq!(sc["statusId"], 29);
    assert_eq!(sc["total"]["gross"], "12.00");
    assert_eq!(sc["stockStatusCode"], "SCN");
    // Some ids missing → 207.
    let r = bp.get("/order-service/sales-credit/1002,7777").await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["response"].as_array().unwrap().len(), 1);
    let r = bp
        .post("/order-service/sales-credit/1002/close", json!({}))
        .await;
    assert_eq!(r.body, json!({"response": {}}));
    let all = bp.sim.sales_orders();
    assert_eq!(all[1]["orderTypeCode"], "SC");
    assert_eq!(all[1]["invoices"][0]["invoiceReference"], "SC-1001");
    let r = bp.get("/order-service/order-search?orderTypeId=3").await;
    assert_eq!(search_rows(&r.body)[0]["parentOrderId"], 1001);
}

#[tokio::test]
async fn credit_allowed_on_uninvoiced_order_when_switch_is_off() {
    let mut cfg = config();
    cfg.sales_credit_requires_invoice = false;
    let bp = start_with(cfg, Clock::scaled(60.0), Faults::none()).await;
    bp.post("/order-service/sales-order", sales_order("ext-1"))
        .await;
    let r = bp
        .post(
            "/order-service/sales-credit",
            json!({"customer": {"id": 200}, "parentId": 1001,
                   "rows": [{"name": "Refund", "quantity": "1", "taxCode": "T0", "net": "5.00", "tax": "0.00"}]}),
        )
        .await;
    assert_eq!(r.body, json!({"response": 1002}));
    let v: Value = bp.get("/order-service/sales-credit/1002").await.body;
    assert_eq!(v["response"][0]["rows"][0]["taxCode"], "T0");
}

#[tokio::test]
async fn options_splits_id_sets_into_uris_within_the_limit() {
    let mut cfg = config();
    cfg.requests_per_minute = 1000;
    let bp = start_with(cfg, Clock::manual(), Faults::none()).await;
    for i in 0..202 {
        let mut so = sales_order(&format!("ext-{i}"));
        so["rows"] = json!([{"name": "Item", "quantity": "1", "taxCode": "T0", "net": "1.00", "tax": "0.00"}]);
        assert_eq!(bp.post("/order-service/sales-order", so).await.status, 200);
    }
    // Orders 1001..=1202 exist.
    let r = bp
        .try_send(
            reqwest::Method::OPTIONS,
            "/order-service/order/1-1300,5000",
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"response": {"getUris": ["/order/1001-1200", "/order/1201-1202"]}})
    );
    let r = bp
        .try_send(
            reqwest::Method::OPTIONS,
            "/order-service/order/1-1100,1150-1300",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        r.body,
        json!({"response": {"getUris": ["/order/1001-1100,1150-1202"]}})
    );
    let r = bp
        .try_send(
            reqwest::Method::OPTIONS,
            "/contact-service/contact/1-300",
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.body, json!({"response": {"getUris": ["/contact/200"]}}));
    let r = bp
        .try_send(
            reqwest::Method::OPTIONS,
            "/product-service/product-price/1000-1005",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        r.body,
        json!({"response": {"getUris": ["/product-price/1001"]}})
    );
    // Each URI is a valid GET.
    let r = bp.get("/order-service/order/1001-1200").await;
    assert_eq!(r.body["response"].as_array().unwrap().len(), 200);
}

#[tokio::test]
async fn multi_message_runs_in_order_and_stops_on_failure() {
    let bp = start_with(config(), Clock::manual(), Faults::none()).await;
    bp.post("/order-service/sales-order", sales_order("ext-1"))
        .await;
    let pay = |tr: &str| {
        json!({"transactionRef": tr, "paymentMethodCode": "BIGCOMMERCE", "paymentType": "RECEIPT", "orderId": 1001,
                               "currencyIsoCode": "GBP", "amountPaid": 5.00, "paymentDate": "2024-05-01T10:16:00Z"})
    };
    let r = bp
        .post(
            "/multi-message",
            json!({"processingMode": "SEQUENTIAL", "onFail": "STOP", "messages": [
                {"label": "pay-1", "uri": "/accounting-service/customer-payment", "httpMethod": "POST", "body": pay("m-1")},
                {"label": "status-1", "uri": "/order-service/order/1001/status", "httpMethod": "PUT", "body": {"orderStatusId": 1}}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.remaining(), 198, "one request against the cap");
    assert_eq!(
        r.body,
        json!({"response": {"processedMessages": [
            {"label": "pay-1", "statusCode": 200, "body": {"content": "{\"response\":9001}"}},
            {"label": "status-1", "statusCode": 200, "body": {"content": "{}"}}],
            "unprocessedMessages": []}})
    );
    let r = bp
        .post(
            "/multi-message",
            json!({"processingMode": "SEQUENTIAL", "onFail": "STOP", "messages": [
                {"label": "dup", "uri": "/accounting-service/customer-payment", "httpMethod": "POST", "body": pay("m-1")},
                {"label": "next", "uri": "/accounting-service/customer-payment", "httpMethod": "POST", "body": pay("m-2")}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    let processed = &r.body["response"]["processedMessages"];
    assert_eq!(processed[0]["statusCode"], 400);
    let inner: Value =
        serde_json::from_str(processed[0]["body"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(inner["errors"][0]["code"], "ACCC-021");
    assert_eq!(r.body["response"]["unprocessedMessages"], json!(["next"]));
    assert_eq!(bp.sim.customer_payments().len(), 1);
    let r = bp
        .post("/multi-message", json!({"onFail": "CONTINUE", "messages": [
            {"label": "dup", "uri": "/accounting-service/customer-payment", "httpMethod": "POST", "body": pay("m-1")},
            {"label": "next", "uri": "/accounting-service/customer-payment", "httpMethod": "POST", "body": pay("m-2")}]}))
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(
        r.body["response"]["processedMessages"][1]["statusCode"],
        200
    );
    assert_eq!(bp.sim.customer_payments().len(), 2);
    let r = bp.post("/multi-message", json!({"messages": [{"label": "g", "uri": "/order-service/order/1001", "httpMethod": "GET"}]})).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (
            400,
            json!({"errors": [{"code": "CMNC-400", "message": "Only POST, PUT and DELETE messages can be sent in a multi-message request"}]})
        )
    );
}
