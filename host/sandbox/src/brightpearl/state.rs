//! The simulated Brightpearl account: seed reference data, contacts, products, stock, sales
//! orders and credits, customer payments, goods-out notes and webhooks, with the business
//! rules the real API applies (each rule tagged with its source).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::model::{ApiError, codes, dec, id_of, int_at, iso, money, str_at};
use crate::seed::BrightpearlSeed;

/// Something that happened that webhooks may be subscribed to: full event name
/// `{resource}.{lifecycle}[.{specifier}]` **\[doc\]** and the resource ids.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub full: &'static str,
    pub ids: Vec<i64>,
    pub raised_on: DateTime<Utc>,
    /// Deliver to this webhook only (webhook `simulate`); `None` = every matching registration.
    pub only: Option<i64>,
}

/// Stock of one product in one warehouse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StockLevel {
    pub in_stock: i64,
    pub allocated: i64,
    pub in_transit: i64,
}

impl StockLevel {
    /// `onHand = inStock − allocated` **\[obs\]**.
    pub fn on_hand(&self) -> i64 {
        self.in_stock - self.allocated
    }
    fn json(&self) -> Value {
        json!({"inStock": self.in_stock, "onHand": self.on_hand(), "allocated": self.allocated, "inTransit": self.in_transit})
    }
}

/// An order row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub id: i64,
    pub product_id: Option<i64>,
    pub name: String,
    pub sku: Option<String>,
    pub quantity: Decimal,
    pub tax_code: Option<String>,
    pub tax_rate: Option<Decimal>,
    pub net: Decimal,
    pub tax: Decimal,
    pub nominal_code: Option<String>,
    pub external_ref: Option<String>,
    pub sequence: i64,
    pub stock_tracked: bool,
    /// Units allocated in the order's warehouse (sales orders only).
    pub allocated: i64,
}

/// A sales order (`SO`) or sales credit (`SC`).
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub id: i64,
    pub type_code: &'static str,
    pub parent_id: Option<i64>,
    pub reference: String,
    pub external_ref: Option<String>,
    pub installed_integration_instance_id: Option<i64>,
    pub status_id: i64,
    pub customer_id: i64,
    pub customer_address: Value,
    pub billing_contact_id: i64,
    pub billing_address: Value,
    pub delivery_address: Value,
    pub delivery_date: Option<String>,
    pub shipping_method_id: i64,
    pub placed_on: String,
    pub tax_date: Option<String>,
    pub created_on: String,
    pub updated_on: String,
    pub closed_on: Option<String>,
    pub invoice_reference: Option<String>,
    pub price_list_id: i64,
    pub price_mode_code: String,
    pub currency_code: String,
    pub exchange_rate: String,
    pub fixed_exchange_rate: bool,
    pub channel_id: i64,
    pub warehouse_id: i64,
    pub staff_owner_id: i64,
    pub version: i64,
    pub rows: Vec<Row>,
    pub notes: Vec<Value>,
}

/// A customer payment (`POST /accounting-service/customer-payment`).
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub id: i64,
    pub transaction_ref: Option<String>,
    pub transaction_code: Option<String>,
    pub payment_method_code: String,
    pub payment_type: String,
    pub order_id: i64,
    pub currency_code: String,
    pub exchange_rate: Option<Decimal>,
    pub amount_authorized: Option<Decimal>,
    pub amount_paid: Decimal,
    pub authorization_expiry: Option<String>,
    pub payment_date: String,
    pub created_on: String,
    pub journal_id: Option<i64>,
    pub journal_ref: Option<String>,
}

/// One line of a goods-out note: order row → product quantity.
#[derive(Debug, Clone)]
pub(crate) struct GonRow {
    pub order_row_id: i64,
    pub product_id: i64,
    pub quantity: i64,
}

/// A goods-out note.
#[derive(Debug, Clone)]
pub(crate) struct GoodsOutNote {
    pub id: i64,
    pub order_id: i64,
    pub warehouse_id: i64,
    pub priority: bool,
    pub shipping_method_id: i64,
    pub reference: String,
    pub release_date: String,
    pub created_on: String,
    pub shipped_on: Option<String>,
    pub rows: Vec<GonRow>,
    pub events: Vec<Value>,
    pub last_event_version: i64,
    pub sequence: i64,
}

/// A registered webhook (`POST /integration-service/webhook`).
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub id: i64,
    pub subscribe_to: String,
    pub http_method: String,
    pub uri_template: String,
    pub body_template: Option<String>,
    pub content_type: Option<String>,
    pub id_set_accepted: bool,
    pub quality_of_service: i64,
}

/// Events a webhook may subscribe to **\[doc\]/\[obs\]** (§11). `order.created` and `contact.*`
/// are not subscribable **\[client\]/\[unconfirmed\]**.
pub(crate) const SUBSCRIBABLE: &[&str] = &[
    "product",
    "product.created",
    "product.destroyed",
    "product.modified",
    "product.modified.on-hand-modified",
    "goods-out-note",
    "goods-out-note.created",
    "goods-out-note.destroyed",
    "goods-out-note.modified",
    "goods-out-note.modified.printed",
    "goods-out-note.modified.picked",
    "goods-out-note.modified.packed",
    "goods-out-note.modified.un-printed",
    "goods-out-note.modified.un-picked",
    "goods-out-note.modified.un-packed",
    "goods-out-note.modified.shipped",
    "drop-ship-note.created",
    "drop-ship-note.destroyed",
    "drop-ship-note.modified.shipped",
    "goods-in-note.created",
    "quarantine-release.created",
    "order.modified",
    "order.modified.fully-shipped",
    "order.modified.order-status",
    "sales-order.created",
];

/// The whole account.
#[derive(Debug)]
pub(crate) struct State {
    pub contacts: BTreeMap<i64, Value>,
    pub addresses: BTreeMap<i64, Value>,
    pub products: BTreeMap<i64, Value>,
    pub price_lists: Vec<Value>,
    pub product_prices: BTreeMap<i64, Value>,
    pub warehouses: Vec<Value>,
    pub stock: BTreeMap<(i64, i64), StockLevel>,
    pub tax_codes: Vec<Value>,
    pub nominal_codes: Vec<Value>,
    pub payment_methods: Vec<Value>,
    pub shipping_methods: Vec<Value>,
    pub channels: Vec<Value>,
    pub order_statuses: Vec<Value>,
    pub orders: BTreeMap<i64, Order>,
    pub payments: BTreeMap<i64, Payment>,
    pub gons: BTreeMap<i64, GoodsOutNote>,
    pub webhooks: BTreeMap<i64, Webhook>,
    pub stock_corrections: BTreeMap<i64, Value>,
    /// Goods-in notes by id, as `GET …/goods-note/goods-in/` answers them.
    pub goods_in_notes: BTreeMap<i64, Value>,
    next_contact: i64,
    next_address: i64,
    next_order: i64,
    next_row: i64,
    next_payment: i64,
    next_gon: i64,
    next_webhook: i64,
    next_journal: i64,
    next_invoice: i64,
    next_credit_note: i64,
    next_stock_correction: i64,
    next_goods_in: i64,
    ruid_rng: ChaCha8Rng,
    /// The account's UTC offset: every date-time the simulator writes carries it
    /// ([`BrightpearlConfig::utc_offset`](super::BrightpearlConfig::utc_offset)).
    pub tz: FixedOffset,
}

fn index(values: &[Value], keys: &[&str]) -> BTreeMap<i64, Value> {
    values
        .iter()
        .filter_map(|v| id_of(v, keys).map(|id| (id, v.clone())))
        .collect()
}

fn next_after(map_max: Option<i64>, base: i64) -> i64 {
    map_max.map_or(base, |m| (m + 1).max(base))
}

impl State {
    pub fn new(seed: BrightpearlSeed) -> Self {
        let contacts = index(&seed.contacts, &["contactId", "id"]);
        let addresses = index(
            &seed.postal_addresses,
            &["addressId", "id", "postalAddressId"],
        );
        let products = index(&seed.products, &["id", "productId"]);
        let product_prices = index(&seed.product_prices, &["productId"]);
        let mut stock = BTreeMap::new();
        for (pid, v) in &seed.availability {
            let Ok(pid) = pid.parse::<i64>() else {
                continue;
            };
            if let Some(Value::Object(whs)) = v.get("warehouses") {
                for (wid, lv) in whs {
                    let Ok(wid) = wid.parse::<i64>() else {
                        continue;
                    };
                    let in_stock = int_at(lv, "/inStock")
                        .unwrap_or_else(|| int_at(lv, "/onHand").unwrap_or(0));
                    let allocated = int_at(lv, "/allocated").unwrap_or(0);
                    let in_transit = int_at(lv, "/inTransit").unwrap_or(0);
                    stock.insert(
                        (pid, wid),
                        StockLevel {
                            in_stock,
                            allocated,
                            in_transit,
                        },
                    );
                }
            }
        }
        State {
            next_contact: next_after(contacts.keys().max().copied(), 200),
            next_address: next_after(addresses.keys().max().copied(), 100),
            next_order: 1001,
            next_row: 5001,
            next_payment: 9001,
            next_gon: 70001,
            next_webhook: 1,
            next_journal: 30001,
            next_invoice: 1001,
            next_credit_note: 1001,
            next_stock_correction: 40001,
            stock_corrections: BTreeMap::new(),
            next_goods_in: 60001,
            goods_in_notes: BTreeMap::new(),
            contacts,
            addresses,
            products,
            price_lists: seed.price_lists,
            product_prices,
            warehouses: seed.warehouses,
            stock,
            tax_codes: seed.tax_codes,
            nominal_codes: seed.nominal_codes,
            payment_methods: seed.payment_methods,
            shipping_methods: seed.shipping_methods,
            channels: seed.channels,
            order_statuses: seed.order_statuses,
            orders: BTreeMap::new(),
            payments: BTreeMap::new(),
            gons: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            ruid_rng: ChaCha8Rng::seed_from_u64(0xB219_47EA),
            tz: FixedOffset::east_opt(0).expect("UTC"),
        }
    }

    /// A request id for the `Ruid` header **\[obs\]** (UUID v4 text, deterministic sequence).
    pub fn ruid(&mut self) -> String {
        let b: [u8; 16] = self.ruid_rng.random();
        let h =
            |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut s = format!("{}-{}-4{}-", h(0..4), h(4..6), &h(6..8)[1..]);
        s.push_str(&format!(
            "{:x}{}-{}",
            8 | (b[8] & 0x3),
            &h(8..10)[1..],
            h(10..16)
        ));
        s
    }

    // ---------------------------------------------------------------- contacts

    /// `POST /contact-service/postal-address` **\[doc\]**: `addressLine1` required; stored with
    /// `addressId`. Returns the new id.
    pub fn create_postal_address(&mut self, body: &Value) -> Result<i64, ApiError> {
        let Value::Object(obj) = body else {
            return Err(ApiError::bad(
                codes::MISSING_BODY,
                "A JSON object body is required",
            ));
        };
        if str_at(body, "/addressLine1").is_none() {
            return Err(ApiError::bad(
                codes::CONTACT_INVALID,
                "addressLine1 is required",
            ));
        }
        if str_at(body, "/countryIsoCode").is_none() && int_at(body, "/countryId").is_none() {
            return Err(ApiError::bad(
                codes::CONTACT_INVALID,
                "countryIsoCode or countryId is required",
            ));
        }
        let id = self.next_address;
        self.next_address += 1;
        let mut stored = obj.clone();
        stored.insert("addressId".into(), json!(id));
        self.addresses.insert(id, Value::Object(stored));
        Ok(id)
    }

    /// `POST /contact-service/contact` **\[doc\]** (fields) / **\[obs\]** (shape). First and last
    /// name at most 32 characters **\[doc\]**; `postAddressIds` must name existing addresses.
    /// The stored contact has the GET shape (`contactId`, `financialDetails.priceListId`, …).
    pub fn create_contact(&mut self, body: &Value, now: DateTime<Utc>) -> Result<i64, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad(
                codes::MISSING_BODY,
                "A JSON object body is required",
            ));
        }
        for field in ["firstName", "lastName"] {
            if let Some(s) = str_at(body, &format!("/{field}"))
                && s.chars().count() > 32
            {
                return Err(ApiError::bad(
                    codes::CONTACT_INVALID,
                    format!("{field} must be at most 32 characters"),
                ));
            }
        }
        if str_at(body, "/firstName").is_none()
            && str_at(body, "/lastName").is_none()
            && str_at(body, "/organisation/name").is_none()
        {
            return Err(ApiError::bad(
                codes::CONTACT_INVALID,
                "A contact needs a firstName, lastName or organisation name",
            ));
        }
        let mut post_ids = Map::new();
        if let Some(Value::Object(ids)) = body.get("postAddressIds") {
            for (ty, v) in ids {
                let Some(aid) = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                else {
                    return Err(ApiError::bad(
                        codes::CONTACT_INVALID,
                        format!("postAddressIds.{ty} is not an id"),
                    ));
                };
                if !self.addresses.contains_key(&aid) {
                    return Err(ApiError::bad(
                        codes::CONTACT_INVALID,
                        format!("Postal address {aid} does not exist"),
                    ));
                }
                post_ids.insert(ty.clone(), json!(aid));
            }
        }
        let id = self.next_contact;
        self.next_contact += 1;
        let price_list_id =
            int_at(body, "/financialDetails/priceListId").or_else(|| int_at(body, "/priceListId"));
        let default_price_list = self.price_lists.iter().find_map(|p| id_of(p, &["id"]));
        let mut financial = body
            .get("financialDetails")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Value::Object(f) = &mut financial {
            f.insert(
                "priceListId".into(),
                json!(price_list_id.or(default_price_list).unwrap_or(1)),
            );
            f.entry("nominalCode").or_insert(json!(4000));
            f.entry("creditLimit").or_insert(json!(0));
            f.entry("creditTermDays").or_insert(json!(0));
            f.entry("discountPercentage").or_insert(json!(0));
        }
        let rel = body
            .get("relationshipToAccount")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let contact = json!({
            "contactId": id,
            "isPrimaryContact": true,
            "salutation": body.get("salutation").cloned().unwrap_or(json!("")),
            "firstName": body.get("firstName").cloned().unwrap_or(json!("")),
            "lastName": body.get("lastName").cloned().unwrap_or(json!("")),
            "postAddressIds": Value::Object(post_ids),
            "communication": body.get("communication").cloned().unwrap_or_else(|| json!({})),
            "contactStatus": {"current": {"contactStatusId": 1, "contactStatusName": "Active"}},
            "relationshipToAccount": {
                "isSupplier": rel.get("isSupplier").and_then(Value::as_bool).unwrap_or(false),
                "isStaff": rel.get("isStaff").and_then(Value::as_bool).unwrap_or(false)
            },
            "marketingDetails": body.get("marketingDetails").cloned().unwrap_or_else(|| json!({"isReceiveEmailNewsletter": false})),
            "financialDetails": financial,
            "assignment": {"current": {"staffOwnerContactId": 0, "leadSourceId": 0, "accountReference": ""}},
            "organisation": body.get("organisation").cloned().unwrap_or_else(|| json!({"name": ""})),
            "createdOn": iso(now, self.tz),
            "updatedOn": iso(now, self.tz),
            "contactTags": []
        });
        self.contacts.insert(id, contact);
        Ok(id)
    }

    /// One row of `contact-search` (columns in [`super::api::CONTACT_COLUMNS`] order).
    pub fn contact_search_row(c: &Value) -> Vec<Value> {
        let email = |t: &str| {
            c.pointer(&format!("/communication/emails/{t}/email"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let phone = |t: &str| {
            c.pointer(&format!("/communication/telephones/{t}"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let b = |p: &str| c.pointer(p).and_then(Value::as_bool).unwrap_or(false);
        let is_supplier = b("/relationshipToAccount/isSupplier");
        let is_staff = b("/relationshipToAccount/isStaff");
        let is_customer = c
            .pointer("/relationshipToAccount/isCustomer")
            .and_then(Value::as_bool)
            .unwrap_or(!is_supplier && !is_staff);
        let company = c
            .pointer("/organisation/name")
            .cloned()
            .unwrap_or(Value::Null);
        vec![
            json!(id_of(c, &["contactId", "id"])),
            email("PRI"),
            email("SEC"),
            email("TER"),
            c.get("firstName").cloned().unwrap_or(Value::Null),
            c.get("lastName").cloned().unwrap_or(Value::Null),
            json!(is_supplier),
            company.clone(),
            json!(is_staff),
            json!(is_customer),
            c.get("createdOn").cloned().unwrap_or(Value::Null),
            c.get("updatedOn").cloned().unwrap_or(Value::Null),
            c.pointer("/financialDetails/nominalCode")
                .cloned()
                .unwrap_or(Value::Null),
            json!(
                c.get("isPrimaryContact")
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
            ),
            phone("PRI"),
            phone("SEC"),
            phone("MOB"),
            company,
            c.get("salutation").cloned().unwrap_or(Value::Null),
        ]
    }

    // ---------------------------------------------------------------- products & stock

    pub fn product_sku(&self, product_id: i64) -> Option<String> {
        self.products
            .get(&product_id)
            .and_then(|p| str_at(p, "/identity/sku"))
    }

    /// Stock-tracked unless `stock.stockTracked` is `false` **\[obs\]**; bundles never are **\[doc\]**.
    pub fn product_stock_tracked(&self, product_id: i64) -> bool {
        self.products.get(&product_id).is_some_and(|p| {
            p.pointer("/stock/stockTracked")
                .and_then(Value::as_bool)
                .unwrap_or(true)
                && !p
                    .pointer("/composition/bundle")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
        })
    }

    /// One row of `product-search` (columns in [`super::api::PRODUCT_COLUMNS`] order).
    pub fn product_search_row(p: &Value) -> Vec<Value> {
        let g = |ptr: &str| p.pointer(ptr).cloned().unwrap_or(Value::Null);
        vec![
            json!(id_of(p, &["id", "productId"])),
            g("/salesChannels/0/productName"),
            g("/identity/sku"),
            g("/identity/barcode"),
            g("/identity/ean"),
            g("/identity/upc"),
            g("/identity/isbn"),
            g("/identity/mpn"),
            json!(
                p.pointer("/stock/stockTracked")
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
            ),
            g("/salesChannels/0/salesChannelName"),
            g("/createdOn"),
            g("/updatedOn"),
            g("/salesChannels/0/categories/0/categoryCode"),
            g("/productGroupId"),
            g("/brandId"),
            g("/productTypeId"),
            p.get("status")
                .cloned()
                .or_else(|| p.get("productStatus").cloned())
                .unwrap_or(json!("LIVE")),
            g("/primarySupplierId"),
        ]
    }

    /// `GET /warehouse-service/product-availability/{idSet}` entry for one product, or `None`
    /// when the product is unknown or not stock-tracked (silently dropped **\[doc\]**).
    /// Warehouses with nothing in stock, allocated or in transit are absent **\[client\]**.
    pub fn availability(&self, product_id: i64) -> Option<Value> {
        let known = self.products.contains_key(&product_id)
            || self.stock.keys().any(|(p, _)| *p == product_id);
        if !known
            || (self.products.contains_key(&product_id) && !self.product_stock_tracked(product_id))
        {
            return None;
        }
        let mut total = StockLevel::default();
        let mut whs = Map::new();
        for ((p, w), lv) in self
            .stock
            .range((product_id, i64::MIN)..=(product_id, i64::MAX))
        {
            debug_assert_eq!(*p, product_id);
            if *lv == StockLevel::default() {
                continue;
            }
            total.in_stock += lv.in_stock;
            total.allocated += lv.allocated;
            total.in_transit += lv.in_transit;
            whs.insert(w.to_string(), lv.json());
        }
        Some(json!({"total": total.json(), "warehouses": Value::Object(whs)}))
    }

    /// Sets on-hand to `on_hand` (inStock = on_hand + allocated). Returns the event to raise.
    pub fn set_stock(
        &mut self,
        product_id: i64,
        warehouse_id: i64,
        on_hand: i64,
        now: DateTime<Utc>,
    ) -> Event {
        let lv = self.stock.entry((product_id, warehouse_id)).or_default();
        lv.in_stock = on_hand + lv.allocated;
        Event {
            full: "product.modified.on-hand-modified",
            ids: vec![product_id],
            raised_on: now,
            only: None,
        }
    }

    /// `POST /warehouse-service/warehouse/{warehouseId}/stock-correction` **\[doc\]**: each
    /// correction is a signed `quantity` of a stock-tracked `productId`; `cost` is required when
    /// adding stock **\[doc\]**; a removal that would take on-hand below zero is refused
    /// **\[unconfirmed\]**. All or nothing. Returns one stock-correction note id per correction
    /// (the docs say "array of stock-correction note ids"; one per line is **\[unconfirmed\]**).
    pub fn stock_correction(
        &mut self,
        warehouse_id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(Vec<i64>, Vec<Event>), ApiError> {
        let invalid = |m: String| ApiError::bad(codes::STOCK_CORRECTION_INVALID, m);
        if !self.warehouses.is_empty()
            && !self
                .warehouses
                .iter()
                .any(|w| id_of(w, &["id"]) == Some(warehouse_id))
        {
            return Err(invalid(format!("Warehouse {warehouse_id} does not exist")));
        }
        let Some(Value::Array(lines)) = body.get("corrections") else {
            return Err(invalid("corrections is required".into()));
        };
        if lines.is_empty() {
            return Err(invalid("corrections must not be empty".into()));
        }
        let mut planned: BTreeMap<i64, i64> = BTreeMap::new();
        for (i, c) in lines.iter().enumerate() {
            let pid = int_at(c, "/productId")
                .ok_or_else(|| invalid(format!("corrections[{i}].productId is required")))?;
            if !self.products.contains_key(&pid) || !self.product_stock_tracked(pid) {
                return Err(invalid(format!(
                    "corrections[{i}]: product {pid} is not a stock-tracked product"
                )));
            }
            let q = int_at(c, "/quantity").filter(|q| *q != 0).ok_or_else(|| {
                invalid(format!(
                    "corrections[{i}].quantity must be a non-zero integer"
                ))
            })?;
            if q > 0 && c.pointer("/cost/value").and_then(dec).is_none() {
                return Err(invalid(format!(
                    "corrections[{i}].cost is required when adding stock"
                )));
            }
            let delta = planned.entry(pid).or_insert(0);
            *delta += q;
            let lv = self
                .stock
                .get(&(pid, warehouse_id))
                .copied()
                .unwrap_or_default();
            if lv.on_hand() + *delta < 0 {
                return Err(invalid(format!(
                    "corrections[{i}]: only {} of product {pid} on hand in warehouse {warehouse_id}",
                    lv.on_hand()
                )));
            }
        }
        let mut ids = Vec::new();
        for c in lines {
            let pid = int_at(c, "/productId").expect("validated");
            let q = int_at(c, "/quantity").expect("validated");
            self.stock.entry((pid, warehouse_id)).or_default().in_stock += q;
            let id = self.next_stock_correction;
            self.next_stock_correction += 1;
            self.stock_corrections.insert(
                id,
                json!({"id": id, "warehouseId": warehouse_id, "productId": pid, "quantity": q,
                       "reason": c.get("reason").cloned().unwrap_or(Value::Null),
                       "locationId": int_at(c, "/locationId").unwrap_or(2),
                       "cost": c.get("cost").cloned().unwrap_or(Value::Null),
                       "createdOn": iso(now, self.tz)}),
            );
            ids.push(id);
        }
        let products: Vec<i64> = planned.keys().copied().collect();
        Ok((
            ids,
            vec![Event {
                full: "product.modified.on-hand-modified",
                ids: products,
                raised_on: now,
                only: None,
            }],
        ))
    }

    /// The default location of a warehouse (`locationId`): `warehouse id × 100 + 1`
    /// (a simulator convention; real ids are account-wide).
    pub fn default_location(warehouse_id: i64) -> i64 {
        warehouse_id * 100 + 1
    }

    fn warehouse_exists(&self, warehouse_id: i64) -> bool {
        self.warehouses.is_empty()
            || self
                .warehouses
                .iter()
                .any(|w| id_of(w, &["id"]) == Some(warehouse_id))
    }

    /// `GET /warehouse-service/warehouse/{id}/product/{idSet}` **\[doc\]**: the warehouse
    /// defaults of the stock-tracked products among `ids` (others are absent
    /// **\[unconfirmed\]**); reorder levels are 0.
    pub fn warehouse_defaults(&self, warehouse_id: i64, ids: &[i64]) -> Result<Value, ApiError> {
        if !self.warehouse_exists(warehouse_id) {
            return Err(ApiError::bad(
                codes::GOODS_IN_INVALID,
                format!("Warehouse {warehouse_id} does not exist"),
            ));
        }
        let location = Self::default_location(warehouse_id);
        Ok(Value::Array(
            ids.iter()
                .filter(|p| self.products.contains_key(p) && self.product_stock_tracked(**p))
                .map(|p| {
                    json!({"productId": p, "defaultLocationId": location,
                           "overflowLocationId": location, "reorderLevel": 0, "reorderQuantity": 0})
                })
                .collect(),
        ))
    }

    /// The cost of one unit of a product: its price at quantity 1 on the account's `BUY`
    /// (cost) price list **\[doc\]**, with that list's currency; zero in the base currency
    /// when it has none. Order rows carry it as `itemCost`.
    pub fn item_cost(&self, product_id: Option<i64>) -> (Decimal, String) {
        let cost_list = self
            .price_lists
            .iter()
            .find(|l| l["priceListTypeCode"] == "BUY");
        let currency = cost_list
            .and_then(|l| l["currencyCode"].as_str())
            .unwrap_or("GBP")
            .to_string();
        let value = cost_list
            .and_then(|l| id_of(l, &["id"]))
            .zip(product_id.and_then(|p| self.product_prices.get(&p)))
            .and_then(|(list, prices)| {
                prices["priceLists"]
                    .as_array()?
                    .iter()
                    .find(|pl| id_of(pl, &["priceListId"]) == Some(list))?
                    .pointer("/quantityPrice/1")
                    .and_then(dec)
            })
            .unwrap_or(Decimal::ZERO);
        (value, currency)
    }

    /// `POST /warehouse-service/order/{orderId}/goods-note/goods-in` **\[doc\]** against a
    /// sales credit: `warehouseId` (must exist), `goodsMoved[]` each with `productId`,
    /// `purchaseOrderRowId` (a stock-tracked row of this credit, for that product), a positive
    /// whole `quantity` (with earlier notes at most the row's units), `destinationLocationId`
    /// (the warehouse's default location) and `productValue {currency, value}`;
    /// `userBatchReference` optional but unique across goods-in notes **\[doc\]**. All or
    /// nothing; the units go into stock (`inStock`). Returns the note id and the
    /// `goods-in-note.created` and on-hand events. Purchase orders are not simulated.
    pub fn create_goods_in_note(
        &mut self,
        order_id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(i64, Vec<Event>), ApiError> {
        let invalid = |m: String| ApiError::bad(codes::GOODS_IN_INVALID, m);
        let o = self
            .orders
            .get(&order_id)
            .filter(|o| o.type_code == "SC")
            .ok_or_else(|| invalid(format!("Sales credit {order_id} does not exist")))?;
        let warehouse_id = int_at(body, "/warehouseId")
            .ok_or_else(|| invalid("warehouseId is required".into()))?;
        if !self.warehouse_exists(warehouse_id) {
            return Err(invalid(format!("Warehouse {warehouse_id} does not exist")));
        }
        let reference = body
            .get("userBatchReference")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty());
        if let Some(r) = reference
            && self
                .goods_in_notes
                .values()
                .any(|n| n["userBatchReference"] == r)
        {
            return Err(invalid(format!(
                "userBatchReference {r} is already used by another goods-in note"
            )));
        }
        let Some(Value::Array(lines)) = body.get("goodsMoved") else {
            return Err(invalid("goodsMoved is required".into()));
        };
        if lines.is_empty() {
            return Err(invalid("goodsMoved must not be empty".into()));
        }
        let mut received: BTreeMap<i64, i64> = BTreeMap::new();
        for n in self
            .goods_in_notes
            .values()
            .filter(|n| n["orderId"] == order_id)
        {
            for m in n["goodsMoved"].as_array().into_iter().flatten() {
                if let Some(row) = int_at(m, "/purchaseOrderRowId") {
                    *received.entry(row).or_default() += int_at(m, "/quantity").unwrap_or(0);
                }
            }
        }
        let location = Self::default_location(warehouse_id);
        let mut moved = Vec::new();
        for (i, m) in lines.iter().enumerate() {
            let row_id = int_at(m, "/purchaseOrderRowId").ok_or_else(|| {
                invalid(format!("goodsMoved[{i}].purchaseOrderRowId is required"))
            })?;
            let row = o
                .rows
                .iter()
                .find(|r| r.id == row_id)
                .ok_or_else(|| invalid(format!("Row {row_id} is not on order {order_id}")))?;
            let product_id = row
                .product_id
                .filter(|_| row.stock_tracked)
                .ok_or_else(|| {
                    invalid(format!("Row {row_id} is not a stock-tracked product row"))
                })?;
            if int_at(m, "/productId") != Some(product_id) {
                return Err(invalid(format!(
                    "goodsMoved[{i}].productId must be {product_id}, the product of row {row_id}"
                )));
            }
            let q = int_at(m, "/quantity").filter(|q| *q > 0).ok_or_else(|| {
                invalid(format!(
                    "goodsMoved[{i}].quantity must be a positive integer"
                ))
            })?;
            let done = received.entry(row_id).or_default();
            if Decimal::from(*done + q) > row.quantity {
                return Err(invalid(format!(
                    "Row {row_id} has {} units, {done} already received: cannot receive {q} more",
                    row.quantity.normalize()
                )));
            }
            *done += q;
            if int_at(m, "/destinationLocationId") != Some(location) {
                return Err(invalid(format!(
                    "goodsMoved[{i}].destinationLocationId must be a location of warehouse {warehouse_id}"
                )));
            }
            if m.pointer("/productValue/value").and_then(dec).is_none()
                || m.pointer("/productValue/currency")
                    .and_then(Value::as_str)
                    .is_none()
            {
                return Err(invalid(format!(
                    "goodsMoved[{i}].productValue {{currency, value}} is required"
                )));
            }
            moved.push((product_id, q, m.clone()));
        }
        let id = self.next_goods_in;
        self.next_goods_in += 1;
        let mut products = Vec::new();
        for (product_id, q, _) in &moved {
            self.stock
                .entry((*product_id, warehouse_id))
                .or_default()
                .in_stock += q;
            products.push(*product_id);
        }
        products.sort_unstable();
        products.dedup();
        let goods_moved: Vec<Value> = moved
            .into_iter()
            .map(|(_, _, mut m)| {
                m["warehouseId"] = json!(warehouse_id);
                m["goodsNoteId"] = json!(id);
                m
            })
            .collect();
        self.goods_in_notes.insert(
            id,
            json!({"goodsNoteId": id, "orderId": order_id, "transfer": false,
                   "goodsNoteStatus": "CLOSED", "userBatchReference": reference,
                   "receivedOn": body.get("receivedOn").cloned().unwrap_or_else(|| json!(iso(now, self.tz))),
                   "createdBy": 4, "goodsMoved": goods_moved}),
        );
        Ok((
            id,
            vec![
                Event {
                    full: "goods-in-note.created",
                    ids: vec![id],
                    raised_on: now,
                    only: None,
                },
                Event {
                    full: "product.modified.on-hand-modified",
                    ids: products,
                    raised_on: now,
                    only: None,
                },
            ],
        ))
    }

    /// `GET /warehouse-service/order/{orderIdSet}/goods-note/goods-in/[{noteIdSet}]`
    /// **\[doc\]**: a map of note id → note.
    pub fn goods_in_get(&self, orders: Option<&[i64]>, notes: Option<&[i64]>) -> Value {
        let mut m = Map::new();
        for (id, n) in &self.goods_in_notes {
            let order = n["orderId"].as_i64().unwrap_or(0);
            if orders.is_none_or(|os| os.contains(&order)) && notes.is_none_or(|ns| ns.contains(id))
            {
                m.insert(id.to_string(), n.clone());
            }
        }
        Value::Object(m)
    }

    fn default_warehouse(&self) -> i64 {
        self.warehouses
            .iter()
            .find_map(|w| id_of(w, &["id"]))
            .unwrap_or(2)
    }

    // ---------------------------------------------------------------- orders

    fn status_exists(&self, status_id: i64, type_code: &str) -> bool {
        self.order_statuses.iter().any(|s| {
            id_of(s, &["statusId", "id"]) == Some(status_id)
                && str_at(s, "/orderTypeCode").is_none_or(|t| t == type_code)
        })
    }

    /// The default status for new orders of a type: the lowest `sortOrder` status of that type
    /// in the seed **\[unconfirmed\]**, else `1` (sales order) / `29` (sales credit) **\[unconfirmed\]**.
    fn default_status(&self, type_code: &str) -> i64 {
        self.order_statuses
            .iter()
            .filter(|s| str_at(s, "/orderTypeCode").is_none_or(|t| t == type_code))
            .min_by_key(|s| int_at(s, "/sortOrder").unwrap_or(i64::MAX))
            .and_then(|s| id_of(s, &["statusId", "id"]))
            .unwrap_or(if type_code == "SO" { 1 } else { 29 })
    }

    /// The existing order with this (`externalRef`, `installedIntegrationInstanceId`) pair.
    pub fn find_by_external_ref(
        &self,
        type_code: &str,
        external_ref: &str,
        instance: Option<i64>,
    ) -> Option<i64> {
        self.orders
            .values()
            .find(|o| {
                o.type_code == type_code
                    && o.external_ref.as_deref() == Some(external_ref)
                    && o.installed_integration_instance_id == instance
            })
            .map(|o| o.id)
    }

    /// `POST /order-service/sales-order` or `/sales-credit` **\[doc\]**: header and rows in one
    /// call, all or nothing. Returns `(id, created)`; a repeated (`externalRef`,
    /// `installedIntegrationInstanceId`) pair creates nothing — "200 and no change" **\[doc\]** —
    /// and returns the existing id (**\[unconfirmed\]**: the docs do not say what the body holds).
    /// A missing instance id counts as its own value, so a private app's repeated `externalRef`
    /// is a duplicate too **\[unconfirmed\]**.
    pub fn create_order(
        &mut self,
        type_code: &'static str,
        body: &Value,
        now: DateTime<Utc>,
        credit_requires_invoice: bool,
    ) -> Result<(i64, bool, Vec<Event>), ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad(
                codes::MISSING_BODY,
                "A JSON object body is required",
            ));
        }
        let external_ref = str_at(body, "/externalRef");
        let instance = int_at(body, "/installedIntegrationInstanceId");
        if let Some(er) = &external_ref
            && let Some(existing) = self.find_by_external_ref(type_code, er, instance)
        {
            return Ok((existing, false, Vec::new()));
        }
        let invalid = |m: String| ApiError::bad(codes::ORDER_INVALID, m);
        let customer_id = int_at(body, "/customer/id")
            .or_else(|| int_at(body, "/customerId"))
            .ok_or_else(|| invalid("customer.id is required".into()))?;
        if !self.contacts.contains_key(&customer_id) {
            return Err(invalid(format!("Contact {customer_id} does not exist")));
        }
        let parent_id = int_at(body, "/parentId");
        if type_code == "SC" {
            let pid = parent_id
                .ok_or_else(|| invalid("parentId is required on a sales credit".into()))?;
            let parent = self
                .orders
                .get(&pid)
                .filter(|o| o.type_code == "SO")
                .ok_or_else(|| invalid(format!("Sales order {pid} does not exist")))?;
            if credit_requires_invoice && parent.invoice_reference.is_none() {
                return Err(ApiError::bad(
                    codes::CREDIT_PARENT_NOT_INVOICED,
                    format!("Sales order {pid} must be invoiced before it can be credited"),
                ));
            }
        }
        let status_id = match int_at(body, "/statusId") {
            Some(s) => {
                if !self.order_statuses.is_empty() && !self.status_exists(s, type_code) {
                    return Err(invalid(format!(
                        "Order status {s} does not exist for order type {type_code}"
                    )));
                }
                s
            }
            None => self.default_status(type_code),
        };
        let warehouse_id = int_at(body, "/warehouseId").unwrap_or_else(|| self.default_warehouse());
        let Some(Value::Array(rows_in)) = body.get("rows") else {
            return Err(invalid("rows is required".into()));
        };
        if rows_in.is_empty() {
            return Err(invalid("rows must not be empty".into()));
        }
        let mut rows = Vec::new();
        for (i, r) in rows_in.iter().enumerate() {
            let product_id = int_at(r, "/productId");
            let name = str_at(r, "/name");
            if product_id.is_none() && name.is_none() {
                return Err(invalid(format!("rows[{i}]: productId or name is required")));
            }
            if let Some(pid) = product_id
                && !self.products.contains_key(&pid)
            {
                return Err(invalid(format!("rows[{i}]: product {pid} does not exist")));
            }
            let stock_tracked = product_id.is_some_and(|p| self.product_stock_tracked(p));
            let quantity = r
                .get("quantity")
                .and_then(dec)
                .filter(|q| *q > Decimal::ZERO)
                .ok_or_else(|| {
                    ApiError::bad(
                        codes::BAD_ROW_QUANTITY,
                        format!("rows[{i}]: quantity must be a positive number"),
                    )
                })?;
            if (stock_tracked && !quantity.fract().is_zero()) || quantity.normalize().scale() > 4 {
                return Err(ApiError::bad(
                    codes::BAD_ROW_QUANTITY,
                    format!("rows[{i}]: quantity {quantity} is not valid for this product"),
                ));
            }
            // Net and tax are both required; sales-order rows take up to 4 dp **[doc]**.
            let money_field = |f: &str| -> Result<Decimal, ApiError> {
                let d = r
                    .get(f)
                    .and_then(dec)
                    .ok_or_else(|| invalid(format!("rows[{i}]: {f} is required")))?;
                if d.normalize().scale() > 4 {
                    return Err(invalid(format!(
                        "rows[{i}]: {f} has more than 4 decimal places"
                    )));
                }
                Ok(d)
            };
            let net = money_field("net")?;
            let tax = money_field("tax")?;
            let tax_code = str_at(r, "/taxCode");
            let tax_rate = match &tax_code {
                Some(code) if !self.tax_codes.is_empty() => {
                    let tc = self
                        .tax_codes
                        .iter()
                        .find(|t| str_at(t, "/code").as_deref() == Some(code))
                        .ok_or_else(|| {
                            invalid(format!("rows[{i}]: tax code {code} does not exist"))
                        })?;
                    Some(tc.get("rate").and_then(dec).unwrap_or(Decimal::ZERO))
                }
                _ => None,
            };
            let product_name = product_id
                .and_then(|p| self.products.get(&p))
                .and_then(|p| str_at(p, "/salesChannels/0/productName"));
            rows.push(Row {
                id: 0,
                product_id,
                name: name.or(product_name).unwrap_or_default(),
                sku: product_id.and_then(|p| self.product_sku(p)),
                quantity,
                tax_code,
                tax_rate,
                net,
                tax,
                nominal_code: str_at(r, "/nominalCode"),
                external_ref: str_at(r, "/externalRef"),
                sequence: int_at(r, "/sequence").unwrap_or((i as i64 + 1) * 10),
                stock_tracked,
                allocated: 0,
            });
        }
        // Valid: assign ids and allocate stock (sales orders only; allocation up to on-hand).
        let mut events = Vec::new();
        let mut touched = Vec::new();
        for row in &mut rows {
            row.id = self.next_row;
            self.next_row += 1;
            if type_code == "SO" && row.stock_tracked {
                let pid = row.product_id.expect("stock-tracked rows have products");
                let lv = self.stock.entry((pid, warehouse_id)).or_default();
                let want = row.quantity.trunc().try_into().unwrap_or(0i64);
                let take = want.min(lv.on_hand().max(0));
                if take > 0 {
                    lv.allocated += take;
                    row.allocated = take;
                    touched.push(pid);
                }
            }
        }
        let id = self.next_order;
        self.next_order += 1;
        let customer = &self.contacts[&customer_id];
        // Addresses default to the contact's own (DEF / BIL / DEL) addresses **\[doc\]** (§4.1).
        let contact_address = |ty: &str| -> Value {
            let aid = int_at(customer, &format!("/postAddressIds/{ty}"))
                .or_else(|| int_at(customer, "/postAddressIds/DEF"));
            let mut a = aid
                .and_then(|a| self.addresses.get(&a).cloned())
                .unwrap_or_else(|| json!({}));
            if let Value::Object(m) = &mut a {
                for k in [
                    "addressId",
                    "id",
                    "postalAddressId",
                    "customerId",
                    "contactId",
                ] {
                    m.remove(k);
                }
            }
            a
        };
        let customer_address = body
            .pointer("/customer/address")
            .cloned()
            .unwrap_or_else(|| contact_address("DEF"));
        let billing_address = body
            .pointer("/billing/address")
            .cloned()
            .unwrap_or_else(|| contact_address("BIL"));
        let delivery_address = body
            .pointer("/delivery/address")
            .cloned()
            .unwrap_or_else(|| contact_address("DEL"));
        let default_price_list = int_at(customer, "/financialDetails/priceListId").unwrap_or(1);
        let currency_code = str_at(body, "/currency/code")
            .or_else(|| str_at(body, "/currency/orderCurrencyCode"))
            .or_else(|| {
                let pl = int_at(body, "/priceListId").unwrap_or(default_price_list);
                self.price_lists
                    .iter()
                    .find(|p| id_of(p, &["id"]) == Some(pl))
                    .and_then(|p| str_at(p, "/currencyCode"))
            })
            .unwrap_or_else(|| "GBP".into());
        let order = Order {
            id,
            type_code,
            parent_id,
            reference: str_at(body, "/ref").unwrap_or_default(),
            external_ref,
            installed_integration_instance_id: instance,
            status_id,
            customer_id,
            customer_address,
            billing_contact_id: int_at(body, "/billing/contactId").unwrap_or(customer_id),
            billing_address,
            delivery_address,
            delivery_date: str_at(body, "/delivery/date"),
            shipping_method_id: int_at(body, "/delivery/shippingMethodId").unwrap_or(0),
            placed_on: str_at(body, "/placedOn").unwrap_or_else(|| iso(now, self.tz)),
            tax_date: str_at(body, "/taxDate"),
            created_on: iso(now, self.tz),
            updated_on: iso(now, self.tz),
            closed_on: None,
            invoice_reference: None,
            price_list_id: int_at(body, "/priceListId").unwrap_or(default_price_list),
            price_mode_code: str_at(body, "/priceModeCode").unwrap_or_else(|| "EXC".into()),
            currency_code,
            exchange_rate: str_at(body, "/currency/exchangeRate")
                .unwrap_or_else(|| "1.000000".into()),
            fixed_exchange_rate: body
                .pointer("/currency/fixedExchangeRate")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            channel_id: int_at(body, "/channelId").unwrap_or(0),
            warehouse_id,
            staff_owner_id: int_at(body, "/staffOwnerId").unwrap_or(0),
            version: 1,
            rows,
            notes: Vec::new(),
        };
        self.orders.insert(id, order);
        if type_code == "SO" {
            events.push(Event {
                full: "sales-order.created",
                ids: vec![id],
                raised_on: now,
                only: None,
            });
        }
        if !touched.is_empty() {
            events.push(Event {
                full: "product.modified.on-hand-modified",
                ids: touched,
                raised_on: now,
                only: None,
            });
        }
        Ok((id, true, events))
    }

    pub fn order_totals(o: &Order) -> (Decimal, Decimal) {
        o.rows
            .iter()
            .fold((Decimal::ZERO, Decimal::ZERO), |(n, t), r| {
                (n + r.net, t + r.tax)
            })
    }

    /// `PAID` / `PARTIALLY_PAID` / `UNPAID` **\[doc\]/\[obs\]** from the order's customer payments:
    /// receipts and captures pay a sales order, payments (money out) pay a sales credit.
    pub fn payment_status(&self, o: &Order) -> &'static str {
        let (net, tax) = Self::order_totals(o);
        let total = net + tax;
        let paid: Decimal = self
            .payments
            .values()
            .filter(|p| p.order_id == o.id)
            .map(|p| match (o.type_code, p.payment_type.as_str()) {
                ("SO", "RECEIPT" | "CAPTURE") | ("SC", "PAYMENT") => p.amount_paid,
                ("SO", "PAYMENT") | ("SC", "RECEIPT") => -p.amount_paid,
                _ => Decimal::ZERO,
            })
            .sum();
        if paid <= Decimal::ZERO && total > Decimal::ZERO {
            "UNPAID"
        } else if paid >= total {
            "PAID"
        } else {
            "PARTIALLY_PAID"
        }
    }

    fn row_quantities(&self, o: &Order, shipped_only: bool) -> BTreeMap<i64, i64> {
        let mut m = BTreeMap::new();
        for g in self
            .gons
            .values()
            .filter(|g| g.order_id == o.id && (!shipped_only || g.shipped_on.is_some()))
        {
            for r in &g.rows {
                *m.entry(r.order_row_id).or_insert(0) += r.quantity;
            }
        }
        m
    }

    fn tracked_need(o: &Order) -> Vec<(i64, i64)> {
        o.rows
            .iter()
            .filter(|r| r.stock_tracked)
            .map(|r| (r.id, r.quantity.trunc().try_into().unwrap_or(0i64)))
            .collect()
    }

    /// (`stockStatusCode`, `allocationStatusCode`, `shippingStatusCode`) **\[doc\]** code tables:
    /// stock SON/SOP/SOA (none/part/all on goods-out notes) or NON; allocation ANR/ANA/APA/AAA;
    /// shipping NST (nothing to ship), SNS, SPS, ASS. The derivation is **\[unconfirmed\]**.
    pub fn status_codes(&self, o: &Order) -> (&'static str, &'static str, &'static str) {
        let need = Self::tracked_need(o);
        if need.is_empty() {
            return ("NON", "ANR", "NST");
        }
        let level = |have: &BTreeMap<i64, i64>| {
            let total: i64 = need.iter().map(|(_, q)| q).sum();
            let got: i64 = need
                .iter()
                .map(|(id, q)| have.get(id).copied().unwrap_or(0).min(*q))
                .sum();
            if got == 0 {
                0
            } else if got >= total {
                2
            } else {
                1
            }
        };
        let fulfilled = level(&self.row_quantities(o, false));
        let shipped = level(&self.row_quantities(o, true));
        let alloc: BTreeMap<i64, i64> = o.rows.iter().map(|r| (r.id, r.allocated)).collect();
        let mut alloc_plus_shipped = self.row_quantities(o, true);
        for (k, v) in alloc {
            *alloc_plus_shipped.entry(k).or_insert(0) += v;
        }
        let allocated = level(&alloc_plus_shipped);
        let (so, sc) = (["SON", "SOP", "SOA"], ["SCN", "SCP", "SCA"]);
        let stock = if o.type_code == "SO" {
            so[fulfilled]
        } else {
            sc[fulfilled]
        };
        (
            stock,
            ["ANA", "APA", "AAA"][allocated],
            ["SNS", "SPS", "ASS"][shipped],
        )
    }

    /// `PUT /order-service/order/{id}/status` **\[doc\]**: the status must exist for the order's
    /// type; the configured "cancelled" status (named `Cancelled` **\[unconfirmed\]**) is refused
    /// when the order has goods-out notes, is invoiced or has payments. Appends an order note.
    pub fn set_status(
        &mut self,
        order_id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, ApiError> {
        let status_id = int_at(body, "/orderStatusId")
            .ok_or_else(|| ApiError::bad(codes::ORDER_INVALID, "orderStatusId is required"))?;
        let o = self.orders.get(&order_id).ok_or_else(|| {
            ApiError::bad(
                codes::ORDER_INVALID,
                format!("Order {order_id} does not exist"),
            )
        })?;
        if !self.order_statuses.is_empty() && !self.status_exists(status_id, o.type_code) {
            return Err(ApiError::bad(
                codes::ORDER_INVALID,
                format!(
                    "Order status {status_id} does not exist for order type {}",
                    o.type_code
                ),
            ));
        }
        let cancelling = self.order_statuses.iter().any(|s| {
            id_of(s, &["statusId", "id"]) == Some(status_id)
                && str_at(s, "/name").is_some_and(|n| n.eq_ignore_ascii_case("cancelled"))
        });
        if cancelling {
            let has_gon = self.gons.values().any(|g| g.order_id == order_id);
            let has_payment = self
                .payments
                .values()
                .any(|p| p.order_id == order_id && !p.amount_paid.is_zero());
            if has_gon || o.invoice_reference.is_some() || has_payment {
                return Err(ApiError::bad(
                    codes::ORDER_INVALID,
                    "The order cannot be cancelled: it has goods-out notes, is invoiced or has payments",
                ));
            }
        }
        let o = self.orders.get_mut(&order_id).expect("checked above");
        o.status_id = status_id;
        o.updated_on = iso(now, self.tz);
        o.version += 1;
        let text = body
            .pointer("/orderNote/text")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("Order status changed to {status_id}"));
        o.notes.push(json!({"text": text, "isPublic": body.pointer("/orderNote/isPublic").and_then(Value::as_bool).unwrap_or(false), "addedOn": iso(now, self.tz)}));
        Ok(vec![Event {
            full: "order.modified.order-status",
            ids: vec![order_id],
            raised_on: now,
            only: None,
        }])
    }

    /// `POST /order-service/order/{id}/note` **\[doc\]**: `text` required; `isPublic` (default
    /// false), `addedOn` (default now) and `fileId` optional. Returns the new note id.
    pub fn add_order_note(
        &mut self,
        order_id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<i64, ApiError> {
        let Some(text) = body
            .get("text")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
        else {
            return Err(ApiError::bad(
                codes::ORDER_INVALID,
                "An order note needs a text",
            ));
        };
        let next = 11_001
            + self
                .orders
                .values()
                .map(|o| o.notes.len() as i64)
                .sum::<i64>();
        let tz = self.tz;
        let Some(o) = self.orders.get_mut(&order_id) else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                format!("Order {order_id} does not exist"),
            ));
        };
        let mut note = json!({
            "noteId": next,
            "contactId": o.customer_id,
            "text": text,
            "isPublic": body.get("isPublic").and_then(Value::as_bool).unwrap_or(false),
            "addedOn": str_at(body, "/addedOn").unwrap_or_else(|| iso(now, tz)),
            "orderStatusId": o.status_id,
        });
        if let Some(file) = body.get("fileId") {
            note["fileId"] = file.clone();
        }
        o.notes.push(note);
        Ok(next)
    }

    /// `GET /order-service/order/{id}/note` **\[doc\]**: every note of the order (status-change
    /// notes too), oldest first; 404 for an unknown order **\[unconfirmed\]**.
    pub fn order_notes(&self, order_id: i64) -> Result<Vec<Value>, ApiError> {
        self.orders
            .get(&order_id)
            .map(|o| o.notes.clone())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    codes::NOT_FOUND,
                    format!("Order {order_id} does not exist"),
                )
            })
    }

    /// `POST /order-service/sales-order/{id}/close` (and `/sales-credit/{id}/close`) **\[doc\]**:
    /// invoices the order. The real API passes through "invoice pending" first; the simulator
    /// invoices at once (`SI-1001…` for orders, `SC-1001…` for credits **\[unconfirmed\]**).
    /// Closing an already-invoiced order is rejected **\[doc\]** (code/text **\[unconfirmed\]**).
    pub fn close(
        &mut self,
        order_id: i64,
        type_code: &str,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let o = self
            .orders
            .get_mut(&order_id)
            .filter(|o| o.type_code == type_code)
            .ok_or_else(|| {
                ApiError::bad(
                    codes::ORDER_INVALID,
                    format!("Order {order_id} does not exist"),
                )
            })?;
        if o.invoice_reference.is_some() {
            return Err(ApiError::bad(
                codes::ORDER_INVALID,
                format!("Order {order_id} has already been invoiced"),
            ));
        }
        let reference = if type_code == "SO" {
            let r = format!("SI-{}", self.next_invoice);
            self.next_invoice += 1;
            r
        } else {
            let r = format!("SC-{}", self.next_credit_note);
            self.next_credit_note += 1;
            r
        };
        o.invoice_reference = Some(reference);
        o.tax_date = str_at(body, "/taxDate")
            .or_else(|| o.tax_date.clone())
            .or_else(|| Some(iso(now, self.tz)));
        o.closed_on = Some(iso(now, self.tz));
        o.updated_on = iso(now, self.tz);
        o.version += 1;
        Ok(())
    }

    // ---------------------------------------------------------------- payments

    /// `POST /accounting-service/customer-payment` **\[doc\]**. Required: `paymentMethodCode`,
    /// `paymentType` (RECEIPT|PAYMENT|AUTH|CAPTURE|VOID), `orderId` (must exist), 3-letter
    /// `currencyIsoCode`, `paymentDate`; `authorizationExpiry` and `amountAuthorized` for AUTH.
    /// (`transactionRef`, `paymentMethodCode`) is unique **\[doc\]** → 400
    /// [`codes::PAYMENT_DUPLICATE_TRANSACTION_REF`] on a repeat (code/text **\[unconfirmed\]**).
    /// A journal id is set when a payment method with that code has a bank account in the
    /// payment currency, for RECEIPT/PAYMENT/CAPTURE **\[doc\]**.
    pub fn create_payment(
        &mut self,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(i64, Vec<Event>), ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad(
                codes::MISSING_BODY,
                "A JSON object body is required",
            ));
        }
        let invalid = |m: String| ApiError::bad(codes::PAYMENT_INVALID, m);
        let method = str_at(body, "/paymentMethodCode")
            .ok_or_else(|| invalid("paymentMethodCode is required".into()))?;
        if method.chars().count() > 36 {
            return Err(invalid(
                "paymentMethodCode must be at most 36 characters".into(),
            ));
        }
        let ptype = str_at(body, "/paymentType")
            .ok_or_else(|| invalid("paymentType is required".into()))?;
        if !["RECEIPT", "PAYMENT", "AUTH", "CAPTURE", "VOID"].contains(&ptype.as_str()) {
            return Err(invalid(format!(
                "paymentType {ptype} is not one of RECEIPT, PAYMENT, AUTH, CAPTURE, VOID"
            )));
        }
        let order_id =
            int_at(body, "/orderId").ok_or_else(|| invalid("orderId is required".into()))?;
        if !self.orders.contains_key(&order_id) {
            return Err(invalid(format!("Order {order_id} does not exist")));
        }
        let currency = str_at(body, "/currencyIsoCode")
            .filter(|c| c.len() == 3)
            .ok_or_else(|| invalid("currencyIsoCode (3 letters) is required".into()))?;
        let payment_date = str_at(body, "/paymentDate")
            .ok_or_else(|| invalid("paymentDate is required".into()))?;
        let amount = |f: &str| -> Result<Option<Decimal>, ApiError> {
            match body.get(f) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match dec(v) {
                    Some(d) if d >= Decimal::ZERO => Ok(Some(d)),
                    _ => Err(invalid(format!("{f} must be a non-negative decimal"))),
                },
            }
        };
        let amount_authorized = amount("amountAuthorized")?;
        let amount_paid = amount("amountPaid")?.unwrap_or(Decimal::ZERO);
        let authorization_expiry = str_at(body, "/authorizationExpiry");
        if ptype == "AUTH" && (authorization_expiry.is_none() || amount_authorized.is_none()) {
            return Err(invalid(
                "AUTH payments need amountAuthorized and authorizationExpiry".into(),
            ));
        }
        let transaction_ref = str_at(body, "/transactionRef");
        if let Some(tr) = &transaction_ref {
            if tr.chars().count() > 64 {
                return Err(invalid(
                    "transactionRef must be at most 64 characters".into(),
                ));
            }
            let dup = self.payments.values().any(|p| {
                p.transaction_ref.as_deref() == Some(tr)
                    && p.payment_method_code.eq_ignore_ascii_case(&method)
            });
            if dup {
                return Err(ApiError::bad(
                    codes::PAYMENT_DUPLICATE_TRANSACTION_REF,
                    format!(
                        "A payment with transactionRef {tr} already exists for payment method {method}"
                    ),
                ));
            }
        }
        let exchange_rate = match body.get("exchangeRate") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                dec(v)
                    .filter(|d| *d > Decimal::ZERO)
                    .ok_or_else(|| invalid("exchangeRate must be > 0".into()))?,
            ),
        };
        let journal_id = if ["RECEIPT", "PAYMENT", "CAPTURE"].contains(&ptype.as_str()) {
            let has_bank = self.payment_methods.iter().any(|m| {
                str_at(m, "/code").is_some_and(|c| c.eq_ignore_ascii_case(&method))
                    && m.get("bankAccounts")
                        .and_then(Value::as_array)
                        .is_some_and(|b| {
                            b.iter().any(|a| {
                                str_at(a, "/currencyIsoCode").as_deref() == Some(currency.as_str())
                            })
                        })
            });
            if has_bank {
                let j = self.next_journal;
                self.next_journal += 1;
                Some(j)
            } else {
                None
            }
        } else {
            None
        };
        let id = self.next_payment;
        self.next_payment += 1;
        self.payments.insert(
            id,
            Payment {
                id,
                transaction_ref,
                transaction_code: str_at(body, "/transactionCode"),
                payment_method_code: method,
                payment_type: ptype,
                order_id,
                currency_code: currency,
                exchange_rate,
                amount_authorized,
                amount_paid,
                authorization_expiry,
                payment_date,
                created_on: iso(now, self.tz),
                journal_id: int_at(body, "/journalId").or(journal_id),
                journal_ref: str_at(body, "/journalRef").map(|s| s.chars().take(255).collect()),
            },
        );
        if let Some(o) = self.orders.get_mut(&order_id) {
            o.updated_on = iso(now, self.tz);
        }
        Ok((id, Vec::new()))
    }

    /// Currency ids are not modelled: GBP 1, USD 2, EUR 3, others 4 **\[unconfirmed\]**.
    pub fn currency_id(code: &str) -> i64 {
        match code {
            "GBP" => 1,
            "USD" => 2,
            "EUR" => 3,
            _ => 4,
        }
    }

    /// A customer payment as a `customer-payment-search` row (columns in
    /// [`super::api::PAYMENT_COLUMNS`] order); money as decimal strings **\[obs\]**.
    pub fn payment_search_row(p: &Payment) -> Vec<Value> {
        vec![
            json!(p.id),
            json!(p.transaction_ref),
            json!(p.transaction_code),
            json!(p.payment_method_code),
            json!(p.payment_type),
            json!(p.order_id),
            json!(Self::currency_id(&p.currency_code)),
            json!(p.currency_code),
            json!(p.amount_authorized.map(|d| money(d, 2))),
            json!(money(p.amount_paid, 2)),
            json!(p.authorization_expiry),
            json!(p.payment_date),
            json!(p.created_on),
            json!(p.journal_id),
        ]
    }

    // ---------------------------------------------------------------- goods-out notes

    /// `POST /warehouse-service/order/{orderId}/goods-note/goods-out` **\[doc\]**: one note per
    /// warehouse entry; each product line names a `salesOrderRowId` of the order and at most the
    /// quantity not yet on a goods-out note. Stock-tracked rows only. Returns the new note ids.
    pub fn create_goods_out_notes(
        &mut self,
        order_id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(Vec<i64>, Vec<Event>), ApiError> {
        let invalid = |m: String| ApiError::bad(codes::GOODS_OUT_INVALID, m);
        let o = self
            .orders
            .get(&order_id)
            .filter(|o| o.type_code == "SO")
            .ok_or_else(|| invalid(format!("Sales order {order_id} does not exist")))?;
        let Some(Value::Array(whs)) = body.get("warehouses") else {
            return Err(invalid("warehouses is required".into()));
        };
        if whs.is_empty() {
            return Err(invalid("warehouses must not be empty".into()));
        }
        let mut on_notes = self.row_quantities(o, false);
        let mut planned: Vec<(i64, Vec<GonRow>, String)> = Vec::new();
        for (wi, w) in whs.iter().enumerate() {
            let warehouse_id = int_at(w, "/warehouseId")
                .ok_or_else(|| invalid(format!("warehouses[{wi}].warehouseId is required")))?;
            if !self.warehouses.is_empty()
                && !self
                    .warehouses
                    .iter()
                    .any(|x| id_of(x, &["id"]) == Some(warehouse_id))
            {
                return Err(invalid(format!("Warehouse {warehouse_id} does not exist")));
            }
            let Some(Value::Array(products)) = w.get("products") else {
                return Err(invalid(format!("warehouses[{wi}].products is required")));
            };
            let mut rows = Vec::new();
            for (pi, p) in products.iter().enumerate() {
                let row_id = int_at(p, "/salesOrderRowId").ok_or_else(|| {
                    invalid(format!("products[{pi}].salesOrderRowId is required"))
                })?;
                let qty = int_at(p, "/quantity").filter(|q| *q > 0).ok_or_else(|| {
                    invalid(format!(
                        "products[{pi}].quantity must be a positive integer"
                    ))
                })?;
                let row =
                    o.rows.iter().find(|r| r.id == row_id).ok_or_else(|| {
                        invalid(format!("Row {row_id} is not on order {order_id}"))
                    })?;
                if !row.stock_tracked {
                    return Err(invalid(format!(
                        "Row {row_id} is not a stock-tracked product row"
                    )));
                }
                let product_id = row.product_id.expect("stock-tracked rows have products");
                if let Some(given) = int_at(p, "/productId")
                    && given != product_id
                {
                    return Err(invalid(format!(
                        "Row {row_id} is for product {product_id}, not {given}"
                    )));
                }
                let ordered: i64 = row.quantity.trunc().try_into().unwrap_or(0);
                let already = on_notes.entry(row_id).or_insert(0);
                if *already + qty > ordered {
                    return Err(invalid(format!(
                        "Row {row_id}: {qty} more would exceed the ordered quantity {ordered} ({already} already on notes)"
                    )));
                }
                *already += qty;
                rows.push(GonRow {
                    order_row_id: row_id,
                    product_id,
                    quantity: qty,
                });
            }
            if rows.is_empty() {
                return Err(invalid(format!(
                    "warehouses[{wi}].products must not be empty"
                )));
            }
            planned.push((
                warehouse_id,
                rows,
                str_at(w, "/releaseDate").unwrap_or_else(|| iso(now, self.tz)),
            ));
        }
        let shipping_method_id = int_at(body, "/shippingMethodId").unwrap_or(o.shipping_method_id);
        let priority = body
            .get("priority")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut ids = Vec::new();
        let seq_base = self
            .gons
            .values()
            .filter(|g| g.order_id == order_id)
            .count() as i64;
        for (n, (warehouse_id, rows, release)) in planned.into_iter().enumerate() {
            let id = self.next_gon;
            self.next_gon += 1;
            self.gons.insert(
                id,
                GoodsOutNote {
                    id,
                    order_id,
                    warehouse_id,
                    priority,
                    shipping_method_id,
                    reference: String::new(),
                    release_date: release,
                    created_on: iso(now, self.tz),
                    shipped_on: None,
                    rows,
                    events: vec![
                        json!({"occured": iso(now, self.tz), "eventOwnerId": 4, "eventCode": "PLA"}),
                    ],
                    last_event_version: 1,
                    sequence: seq_base + n as i64 + 1,
                },
            );
            ids.push(id);
        }
        Ok((
            ids.clone(),
            vec![Event {
                full: "goods-out-note.created",
                ids,
                raised_on: now,
                only: None,
            }],
        ))
    }

    /// `PUT /warehouse-service/goods-note/goods-out/{id}` **\[doc\]**: pre-ship only (a shipped
    /// note is locked **\[doc\]**); sets `priority`, `shipping.shippingMethodId`,
    /// `shipping.reference` (≤64 chars).
    pub fn update_goods_out_note(
        &mut self,
        id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, ApiError> {
        let invalid = |m: String| ApiError::bad(codes::GOODS_OUT_INVALID, m);
        let g = self
            .gons
            .get_mut(&id)
            .ok_or_else(|| invalid(format!("Goods-out note {id} does not exist")))?;
        if g.shipped_on.is_some() {
            return Err(invalid(format!(
                "Goods-out note {id} is shipped and cannot be changed"
            )));
        }
        if let Some(r) = body.pointer("/shipping/reference").and_then(Value::as_str) {
            if r.chars().count() > 64 {
                return Err(invalid(
                    "shipping.reference must be at most 64 characters".into(),
                ));
            }
            g.reference = r.to_string();
        }
        if let Some(m) = int_at(body, "/shipping/shippingMethodId") {
            g.shipping_method_id = m;
        }
        if let Some(p) = body.get("priority").and_then(Value::as_bool) {
            g.priority = p;
        }
        Ok(vec![Event {
            full: "goods-out-note.modified",
            ids: vec![id],
            raised_on: now,
            only: None,
        }])
    }

    /// Marks a note shipped (event `SHW`) **\[doc\]**: irreversible; decrements stock and clears
    /// the allocation; auto-adds missing print/pick/pack events. Raises
    /// `goods-out-note.modified.shipped`, `product.modified.on-hand-modified` and, when every
    /// stock-tracked row is shipped, `order.modified.fully-shipped`.
    pub fn ship_goods_out_note(
        &mut self,
        id: i64,
        shipping_method_id: Option<i64>,
        tracking_reference: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, ApiError> {
        let invalid = |m: String| ApiError::bad(codes::GOODS_OUT_INVALID, m);
        let g = self
            .gons
            .get_mut(&id)
            .ok_or_else(|| invalid(format!("Goods-out note {id} does not exist")))?;
        if g.shipped_on.is_some() {
            return Err(invalid(format!("Goods-out note {id} is already shipped")));
        }
        if let Some(r) = tracking_reference {
            if r.chars().count() > 64 {
                return Err(invalid(
                    "shipping.reference must be at most 64 characters".into(),
                ));
            }
            g.reference = r.to_string();
        }
        if let Some(m) = shipping_method_id {
            g.shipping_method_id = m;
        }
        g.shipped_on = Some(iso(now, self.tz));
        for code in ["PRI", "PIC", "PAC", "SHW"] {
            if !g.events.iter().any(|e| e["eventCode"] == code) {
                g.events.push(
                    json!({"occured": iso(now, self.tz), "eventOwnerId": 4, "eventCode": code}),
                );
            }
        }
        g.last_event_version += 1;
        let (order_id, warehouse_id, rows) = (g.order_id, g.warehouse_id, g.rows.clone());
        let mut products = Vec::new();
        let order = self
            .orders
            .get_mut(&order_id)
            .expect("notes belong to orders");
        for r in &rows {
            let lv = self.stock.entry((r.product_id, warehouse_id)).or_default();
            lv.in_stock -= r.quantity;
            if let Some(row) = order.rows.iter_mut().find(|x| x.id == r.order_row_id) {
                let release = row.allocated.min(r.quantity);
                row.allocated -= release;
                if warehouse_id == order.warehouse_id {
                    lv.allocated -= release;
                } else if let Some(home) = self.stock.get_mut(&(r.product_id, order.warehouse_id)) {
                    home.allocated -= release;
                }
            }
            products.push(r.product_id);
        }
        order.updated_on = iso(now, self.tz);
        let mut events = vec![
            Event {
                full: "goods-out-note.modified.shipped",
                ids: vec![id],
                raised_on: now,
                only: None,
            },
            Event {
                full: "product.modified.on-hand-modified",
                ids: products,
                raised_on: now,
                only: None,
            },
        ];
        let o = &self.orders[&order_id];
        if self.status_codes(o).2 == "ASS" {
            events.push(Event {
                full: "order.modified.fully-shipped",
                ids: vec![order_id],
                raised_on: now,
                only: None,
            });
        }
        Ok(events)
    }

    /// `GET …/goods-note/goods-out` note body **\[obs\]** (map value; the key is the note id).
    pub fn gon_json(g: &GoodsOutNote) -> Value {
        let mut rows = Map::new();
        for r in &g.rows {
            let e = rows
                .entry(r.order_row_id.to_string())
                .or_insert_with(|| json!([]));
            e.as_array_mut()
                .unwrap()
                .push(json!({"productId": r.product_id, "quantity": r.quantity, "locationId": 2}));
        }
        let shipped = g.shipped_on.is_some();
        let stamp = g.shipped_on.clone().map_or(Value::Null, Value::String);
        json!({
            "orderId": g.order_id,
            "warehouseId": g.warehouse_id,
            "transfer": false,
            "priority": g.priority,
            "status": {
                "shipped": shipped, "packed": shipped, "picked": shipped, "printed": shipped,
                "shippedOn": stamp, "packedOn": stamp, "pickedOn": stamp, "printedOn": stamp,
                "shippedById": if shipped { json!(4) } else { Value::Null },
                "packedById": if shipped { json!(4) } else { Value::Null },
                "pickedById": if shipped { json!(4) } else { Value::Null },
                "printedById": if shipped { json!(4) } else { Value::Null }
            },
            "shipping": {"reference": g.reference, "shippingMethodId": g.shipping_method_id},
            "releaseDate": g.release_date,
            "createdOn": g.created_on,
            "createdBy": 4,
            "orderRows": Value::Object(rows),
            "sequence": g.sequence,
            "events": g.events,
            "lastEventVersion": g.last_event_version
        })
    }

    // ---------------------------------------------------------------- webhooks

    /// `POST /integration-service/webhook` **\[doc\]**: `subscribeTo` must be subscribable
    /// (else 400 `INTC-064` **\[obs\]**); `httpMethod` GET/POST/PUT/DELETE; `uriTemplate`
    /// required; `bodyTemplate` and `contentType` required for POST/PUT.
    pub fn register_webhook(&mut self, body: &Value) -> Result<i64, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad(
                codes::MISSING_BODY,
                "A JSON object body is required",
            ));
        }
        let invalid = |m: String| ApiError::bad(codes::WEBHOOK_INVALID, m);
        let subscribe_to = str_at(body, "/subscribeTo")
            .ok_or_else(|| invalid("subscribeTo is required".into()))?;
        if !SUBSCRIBABLE.contains(&subscribe_to.as_str()) {
            return Err(ApiError::bad(
                codes::WEBHOOK_EVENT,
                format!("Event {subscribe_to} is not subscribable"),
            ));
        }
        let http_method = str_at(body, "/httpMethod")
            .unwrap_or_else(|| "POST".into())
            .to_ascii_uppercase();
        if !["GET", "POST", "PUT", "DELETE"].contains(&http_method.as_str()) {
            return Err(invalid(format!(
                "httpMethod {http_method} is not GET, POST, PUT or DELETE"
            )));
        }
        let uri_template = str_at(body, "/uriTemplate")
            .ok_or_else(|| invalid("uriTemplate is required".into()))?;
        let body_template = str_at(body, "/bodyTemplate");
        let content_type = str_at(body, "/contentType");
        if ["POST", "PUT"].contains(&http_method.as_str())
            && (body_template.is_none() || content_type.is_none())
        {
            return Err(invalid(
                "bodyTemplate and contentType are required for POST and PUT".into(),
            ));
        }
        let id = self.next_webhook;
        self.next_webhook += 1;
        self.webhooks.insert(
            id,
            Webhook {
                id,
                subscribe_to,
                http_method,
                uri_template,
                body_template,
                content_type,
                id_set_accepted: body
                    .get("idSetAccepted")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                quality_of_service: int_at(body, "/qualityOfService").unwrap_or(0),
            },
        );
        Ok(id)
    }

    pub fn webhook_json(w: &Webhook) -> Value {
        json!({
            "id": w.id,
            "subscribeTo": w.subscribe_to,
            "httpMethod": w.http_method,
            "uriTemplate": w.uri_template,
            "bodyTemplate": w.body_template,
            "contentType": w.content_type,
            "idSetAccepted": w.id_set_accepted,
            "qualityOfService": w.quality_of_service
        })
    }
}
