//! Shared test fixture for the Brightpearl simulator tests: a small seeded account served on
//! 127.0.0.1:0 and a client that sends system-app credentials.
#![allow(dead_code)]

use std::sync::Arc;

use pearlbridge_sandbox::brightpearl::{BrightpearlConfig, BrightpearlSim};
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use pearlbridge_sandbox::seed::BrightpearlSeed;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "acme";
pub const APP_REF: &str = "acme-sync";
pub const TOKEN: &str = "tok-123";

pub fn seed() -> BrightpearlSeed {
    let product = |id: i64, sku: &str, name: &str, tracked: bool| {
        json!({"id": id, "brandId": 74, "productTypeId": 1, "productGroupId": 0, "version": 3,
               "identity": {"sku": sku, "ean": "", "barcode": format!("BC{id}")},
               "stock": {"stockTracked": tracked},
               "financialDetails": {"taxable": true, "taxCode": {"id": 1, "code": "T20"}},
               "salesChannels": [{"salesChannelName": "Brightpearl", "productName": name, "categories": [{"categoryCode": "276"}]}],
               "composition": {"bundle": false}, "createdOn": "2024-01-10T09:00:00.000Z", "updatedOn": "2024-02-01T09:00:00.000Z"})
    };
    let mut availability = serde_json::Map::new();
    availability.insert(
        "1001".into(),
        json!({"total": {"inStock": 10, "onHand": 10, "allocated": 0, "inTransit": 0},
               "warehouses": {"2": {"inStock": 10, "onHand": 10, "allocated": 0, "inTransit": 0}}}),
    );
    availability.insert(
        "1002".into(),
        json!({"total": {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0},
               "warehouses": {"3": {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0}}}),
    );
    BrightpearlSeed {
        products: vec![
            product(1001, "TSHIRT-RED-M", "Red T-shirt M", true),
            product(1002, "MUG-01", "Mug", true),
            product(1003, "GIFTWRAP", "Gift wrap", false),
        ],
        contacts: vec![json!({
            "contactId": 200, "isPrimaryContact": true, "firstName": "Jane", "lastName": "Buyer",
            "postAddressIds": {"DEF": 100, "BIL": 100, "DEL": 100},
            "communication": {"emails": {"PRI": {"email": "jane@acme.test"}}},
            "relationshipToAccount": {"isSupplier": false, "isStaff": false},
            "financialDetails": {"priceListId": 2},
            "organisation": {"name": "Acme Ltd"},
            "createdOn": "2024-01-05T10:00:00.000Z", "updatedOn": "2024-01-05T10:00:00.000Z"
        })],
        postal_addresses: vec![
            json!({"addressId": 100, "addressLine1": "12 High St", "addressLine3": "Bristol",
                                       "postalCode": "BS1 1AA", "countryIsoCode": "GBR"}),
        ],
        price_lists: vec![
            json!({"id": 1, "name": {"languageCode": "en", "text": "Retail", "format": "PLAINTEXT"}, "code": "RETAIL",
                   "currencyCode": "GBP", "currencySymbol": "£", "currencyId": 1, "priceListTypeCode": "SELL", "gross": true}),
            json!({"id": 2, "name": {"languageCode": "en", "text": "Wholesale", "format": "PLAINTEXT"}, "code": "WHOLE",
                   "currencyCode": "GBP", "currencySymbol": "£", "currencyId": 1, "priceListTypeCode": "SELL", "gross": false}),
        ],
        product_prices: vec![json!({"productId": 1001, "priceLists": [
            {"priceListId": 1, "currencyCode": "GBP", "currencyId": 1, "quantityPrice": {"1": "12.0000"}},
            {"priceListId": 2, "currencyCode": "GBP", "currencyId": 1, "quantityPrice": {"1": "9.0000", "10": "8.0000"}}]})],
        warehouses: vec![
            json!({"id": 2, "name": "Main"}),
            json!({"id": 3, "name": "Overflow"}),
        ],
        availability,
        tax_codes: vec![
            json!({"id": 1, "code": "T20", "description": "VAT (20%)", "rate": 20}),
            json!({"id": 2, "code": "T0", "description": "Zero rated"}),
        ],
        nominal_codes: vec![
            json!({"id": 10, "code": "1200", "name": "Bank", "type": {"id": 1}, "bank": true, "active": true, "currencyId": 1}),
            json!({"id": 11, "code": "4000", "name": "Sales", "type": {"id": 4}, "bank": false, "active": true}),
        ],
        payment_methods: vec![
            json!({"id": 1, "name": "BigCommerce", "code": "BIGCOMMERCE", "isActive": true,
            "bankAccounts": [{"paymentMethodId": 1, "currencyIsoCode": "GBP", "bankAccountNominalCode": "1200"}]}),
        ],
        shipping_methods: vec![
            json!({"id": 6, "name": "Standard Shipping", "code": "STD"}),
            json!({"id": 7, "name": "Express", "code": "EXP"}),
        ],
        channels: vec![
            json!({"id": 4, "name": "Web", "channelTypeId": 1, "defaultWarehouseId": 2, "defaultPriceListId": 1, "warehouseIds": [2]}),
        ],
        order_statuses: vec![
            json!({"statusId": 1, "name": "Draft / Quote", "orderTypeCode": "SO", "sortOrder": 1}),
            json!({"statusId": 2, "name": "New web order", "orderTypeCode": "SO", "sortOrder": 2}),
            json!({"statusId": 4, "name": "Invoiced", "orderTypeCode": "SO", "sortOrder": 4}),
            json!({"statusId": 5, "name": "Cancelled", "orderTypeCode": "SO", "sortOrder": 5}),
            json!({"statusId": 29, "name": "Pending credit", "orderTypeCode": "SC", "sortOrder": 1}),
        ],
    }
}

pub fn config() -> BrightpearlConfig {
    BrightpearlConfig {
        account: ACCOUNT.into(),
        app_ref: APP_REF.into(),
        account_token: TOKEN.into(),
        requests_per_minute: 200,
        sales_credit_requires_invoice: true,
        installed_integration_instance_id: Some(11),
        utc_offset: utc_offset(),
    }
}

/// The test account's UTC offset: `-06:00`, as in recorded traffic [obs].
pub fn utc_offset() -> chrono::FixedOffset {
    chrono::FixedOffset::west_opt(6 * 3600).unwrap()
}

/// A date-time as the test account writes it: milliseconds and its `-06:00` offset.
pub fn bp_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&utc_offset())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

pub struct Bp {
    pub sim: Arc<BrightpearlSim>,
    pub base: String,
    pub client: reqwest::Client,
}

/// One response, read fully.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn remaining(&self) -> u32 {
        self.header("brightpearl-requests-remaining")
            .unwrap()
            .parse()
            .unwrap()
    }
    pub fn next_period(&self) -> u64 {
        self.header("brightpearl-next-throttle-period")
            .unwrap()
            .parse()
            .unwrap()
    }
}

pub async fn start_with(cfg: BrightpearlConfig, clock: Clock, faults: Faults) -> Bp {
    let sim = BrightpearlSim::new(cfg, seed(), clock, faults);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = sim.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Bp {
        sim,
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
    }
}

pub async fn start() -> Bp {
    start_with(config(), Clock::scaled(60.0), Faults::none()).await
}

impl Bp {
    pub fn url(&self, path: &str) -> String {
        format!("{}/public-api/{ACCOUNT}{path}", self.base)
    }

    /// Sends with system-app credentials; a transport error is returned as `Err`.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Resp, reqwest::Error> {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("brightpearl-app-ref", APP_REF)
            .header("brightpearl-account-token", TOKEN);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await?;
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.try_send(Method::GET, path, None).await.unwrap()
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.try_send(Method::POST, path, Some(body)).await.unwrap()
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.try_send(Method::PUT, path, Some(body)).await.unwrap()
    }
}

/// A valid sales order body for contact 200: one stock-tracked row (2 × 1001) and one free-text row.
pub fn sales_order(external_ref: &str) -> Value {
    json!({
        "customer": {"id": 200},
        "ref": "BC-100231",
        "externalRef": external_ref,
        "installedIntegrationInstanceId": 11,
        "placedOn": "2024-05-01T10:15:00Z",
        "statusId": 2,
        "channelId": 4,
        "warehouseId": 2,
        "priceListId": 2,
        "priceModeCode": "EXC",
        "currency": {"code": "GBP", "fixedExchangeRate": true, "exchangeRate": "1.0"},
        "delivery": {"shippingMethodId": 6,
                     "address": {"addressFullName": "Jane Buyer", "addressLine1": "12 High St", "postalCode": "BS1 1AA", "countryIsoCode": "GBR"}},
        "rows": [
            {"productId": 1001, "quantity": "2", "taxCode": "T20", "net": "20.00", "tax": "4.00", "nominalCode": "4000", "externalRef": "bc-line-555"},
            {"name": "Shipping: UPS Ground", "quantity": "1", "taxCode": "T20", "net": "4.17", "tax": "0.83", "nominalCode": "4040"}
        ]
    })
}

/// A raw response's body as JSON.
pub async fn body_json(r: reqwest::Response) -> Value {
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

/// Zips a search response's positional rows with its column names.
pub fn search_rows(body: &Value) -> Vec<serde_json::Map<String, Value>> {
    let cols: Vec<String> = body["response"]["metaData"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    body["response"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            cols.iter()
                .cloned()
                .zip(r.as_array().unwrap().iter().cloned())
                .collect()
        })
        .collect()
}
