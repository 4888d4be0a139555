//! Customer payments: POST, transactionRef uniqueness per payment method, search, payment status.

mod brightpearl_support;

use brightpearl_support::*;
use serde_json::json;

fn receipt(tr: &str, method: &str, amount: serde_json::Value) -> serde_json::Value {
    json!({"transactionRef": tr, "transactionCode": "bc-100231", "paymentMethodCode": method,
           "paymentType": "RECEIPT", "orderId": 1001, "currencyIsoCode": "GBP", "exchangeRate": 1.0,
           "amountPaid": amount, "paymentDate": "2024-05-01T10:16:00Z", "journalRef": "BC order 100231"})
}

#[tokio::test]
async fn payments_unique_transaction_ref_and_search() {
    let clock = pearlbridge_sandbox::clock::Clock::manual();
    let bp = start_with(
        config(),
        clock.clone(),
        pearlbridge_sandbox::faults::Faults::none(),
    )
    .await;
    bp.post("/order-service/sales-order", sales_order("ext-1"))
        .await;

    let r = bp
        .post(
            "/accounting-service/customer-payment",
            receipt("bc-100231-cap", "BIGCOMMERCE", json!(20.00)),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({"response": 9001}))
    );
    assert_eq!(
        bp.get("/order-service/order/1001").await.body["response"][0]["orderPaymentStatus"],
        "PARTIALLY_PAID"
    );

    // Same transactionRef and method: refused, nothing stored.
    let r = bp
        .post(
            "/accounting-service/customer-payment",
            receipt("bc-100231-cap", "BIGCOMMERCE", json!("9.00")),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"errors": [{"code": "ACCC-021", "message": "A payment with transactionRef bc-100231-cap already exists for payment method BIGCOMMERCE"}]})
    );
    assert_eq!(bp.sim.customer_payments().len(), 1);
    // The pair is the key: the same transactionRef under another method is accepted.
    let r = bp
        .post(
            "/accounting-service/customer-payment",
            receipt("bc-100231-cap", "PAYPAL", json!("9.00")),
        )
        .await;
    assert_eq!(r.body, json!({"response": 9002}));
    assert_eq!(
        bp.get("/order-service/order/1001").await.body["response"][0]["orderPaymentStatus"],
        "PAID"
    );

    let r = bp
        .get("/accounting-service/customer-payment-search?orderId=1001")
        .await;
    assert_eq!(r.status, 200);
    let names: Vec<&str> = r.body["response"]["metaData"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "paymentId",
            "transactionRef",
            "transactionCode",
            "paymentMethodCode",
            "paymentType",
            "orderId",
            "currencyId",
            "currencyCode",
            "amountAuthorized",
            "amountPaid",
            "expires",
            "paymentDate",
            "createdOn",
            "journalId"
        ]
    );
    let idsets: Vec<&str> = r.body["response"]["metaData"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["reportDataType"] == "IDSET")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        idsets,
        vec!["paymentId", "orderId", "currencyId", "journalId"],
        "customer-payment/search.html [doc]"
    );
    let created = bp_time(clock.now());
    assert_eq!(
        r.body["response"]["results"],
        json!([
            [
                9001,
                "bc-100231-cap",
                "bc-100231",
                "BIGCOMMERCE",
                "RECEIPT",
                1001,
                1,
                "GBP",
                null,
                "20.00",
                null,
                "2024-05-01T10:16:00Z",
                created,
                30001
            ],
            [
                9002,
                "bc-100231-cap",
                "bc-100231",
                "PAYPAL",
                "RECEIPT",
                1001,
                1,
                "GBP",
                null,
                "9.00",
                null,
                "2024-05-01T10:16:00Z",
                created,
                null
            ]
        ])
    );
    let r = bp.get("/accounting-service/customer-payment-search?transactionRef=bc-100231-cap&paymentMethodCode=PAYPAL").await;
    assert_eq!(search_rows(&r.body).len(), 1);
    assert_eq!(search_rows(&r.body)[0]["paymentId"], 9002);
    let r = bp
        .get("/accounting-service/customer-payment-search?orderId=5")
        .await;
    assert_eq!(r.body["response"]["metaData"]["resultsAvailable"], 0);
    assert_eq!(r.body["response"]["results"], json!([]));

    let p = &bp.sim.customer_payments()[0];
    assert_eq!(p["paymentId"], 9001);
    assert_eq!(p["amountPaid"], "20.00");
    assert_eq!(p["journalRef"], "BC order 100231");
}

#[tokio::test]
async fn payment_validation() {
    let bp = start().await;
    bp.post("/order-service/sales-order", sales_order("ext-1"))
        .await;
    let bad = |msg: &str| json!({"errors": [{"code": "ACCC-001", "message": msg}]});

    let mut b = receipt("a", "BIGCOMMERCE", json!(1));
    b["orderId"] = json!(4);
    assert_eq!(
        bp.post("/accounting-service/customer-payment", b)
            .await
            .body,
        bad("Order 4 does not exist")
    );

    let mut b = receipt("a", "BIGCOMMERCE", json!(1));
    b["paymentType"] = json!("GIFT");
    assert_eq!(
        bp.post("/accounting-service/customer-payment", b)
            .await
            .body,
        bad("paymentType GIFT is not one of RECEIPT, PAYMENT, AUTH, CAPTURE, VOID")
    );

    let mut b = receipt("a", "BIGCOMMERCE", json!(1));
    b["paymentType"] = json!("AUTH");
    assert_eq!(
        bp.post("/accounting-service/customer-payment", b)
            .await
            .body,
        bad("AUTH payments need amountAuthorized and authorizationExpiry")
    );

    let b = receipt("a", "BIGCOMMERCE", json!(-1));
    let r = bp.post("/accounting-service/customer-payment", b).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (400, bad("amountPaid must be a non-negative decimal"))
    );
    assert!(bp.sim.customer_payments().is_empty());

    let auth = json!({"transactionRef": "bc-auth", "transactionCode": "bc-100231", "paymentMethodCode": "BIGCOMMERCE",
        "paymentType": "AUTH", "orderId": 1001, "currencyIsoCode": "GBP", "amountAuthorized": "29.00",
        "authorizationExpiry": "2024-05-08T10:16:00Z", "paymentDate": "2024-05-01T10:16:00Z"});
    assert_eq!(
        bp.post("/accounting-service/customer-payment", auth)
            .await
            .body,
        json!({"response": 9001})
    );
    let p = &bp.sim.customer_payments()[0];
    assert_eq!(p["amountAuthorized"], "29.00");
    assert_eq!(p["amountPaid"], "0.00");
    assert_eq!(p["expires"], "2024-05-08T10:16:00Z");
    assert_eq!(p["journalId"], json!(null), "AUTH creates no journal");
    assert_eq!(
        bp.get("/order-service/order/1001").await.body["response"][0]["orderPaymentStatus"],
        "UNPAID"
    );
}
