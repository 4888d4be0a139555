//! The Brightpearl endpoints the simulator serves: routing on the path after
//! `/public-api/{account}`, request validation and response shapes (§3–§12 of
//! `shared/reference/brightpearl-api.md`).

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::model::{
    ApiError, ApiResult, Reply, codes, id_of, int_at, money, ok, parse_id_set,
    parse_id_set_limited, str_at,
};
use super::search::{Column, Kind, col, col_ref, search};
use super::state::{Event, Order, State};

/// ID-set limits per request (§3.5): orders 200, contacts 200, product prices 200,
/// goods-out notes 500 **\[doc\]**; products and product availability 200 **\[unconfirmed\]**
/// (clients chunk at 100); postal addresses, sales credits and reference data 200 **\[unconfirmed\]**.
pub mod limits {
    pub const ORDER: usize = 200;
    pub const CONTACT: usize = 200;
    pub const PRODUCT_PRICE: usize = 200;
    pub const GOODS_OUT_NOTE: usize = 500;
    pub const PRODUCT: usize = 200;
    pub const AVAILABILITY: usize = 200;
    pub const OTHER: usize = 200;
}

pub(crate) const CONTACT_COLUMNS: [Column; 19] = [
    col("contactId", Kind::IdSet),
    col("primaryEmail", Kind::SearchString),
    col("secondaryEmail", Kind::SearchString),
    col("tertiaryEmail", Kind::SearchString),
    col("firstName", Kind::SearchString),
    col("lastName", Kind::SearchString),
    col("isSupplier", Kind::Boolean),
    col("companyName", Kind::SearchString),
    col("isStaff", Kind::Boolean),
    col("isCustomer", Kind::Boolean),
    col("createdOn", Kind::Period),
    col("updatedOn", Kind::Period),
    col("nominalCode", Kind::Integer),
    col("isPrimary", Kind::Boolean),
    col("pri", Kind::SearchString),
    col("sec", Kind::SearchString),
    col("mob", Kind::SearchString),
    col("exactCompanyName", Kind::String),
    col("title", Kind::String),
];

pub(crate) const PRODUCT_COLUMNS: [Column; 18] = [
    col("productId", Kind::IdSet),
    col("productName", Kind::SearchString),
    col("SKU", Kind::String),
    col("barcode", Kind::String),
    col("EAN", Kind::String),
    col("UPC", Kind::String),
    col("ISBN", Kind::String),
    col("MPN", Kind::String),
    col("stockTracked", Kind::Boolean),
    col("salesChannelName", Kind::String),
    col("createdOn", Kind::Period),
    col("updatedOn", Kind::Period),
    col("brightpearlCategoryCode", Kind::String),
    col("productGroupId", Kind::Integer),
    col("brandId", Kind::Integer),
    col("productTypeId", Kind::Integer),
    col("productStatus", Kind::String),
    col("primarySupplierId", Kind::Integer),
];

/// `order-search` columns and types as the API docs list them **\[doc\]**
/// (api-docs.brightpearl.com/order/order/search.html): `orderId`, `orderTypeId`,
/// `parentOrderId` and `warehouseId` are IDSET, the other ids INTEGER.
pub(crate) const ORDER_COLUMNS: [Column; 19] = [
    col("orderId", Kind::IdSet),
    col_ref("orderTypeId", Kind::IdSet, &["orderTypeNames"]),
    col("contactId", Kind::Integer),
    col_ref("orderStatusId", Kind::Integer, &["orderStatusNames"]),
    col_ref(
        "orderStockStatusId",
        Kind::Integer,
        &["orderStockStatusNames"],
    ),
    col("createdOn", Kind::Period),
    col("createdById", Kind::Integer),
    col("customerRef", Kind::String),
    col_ref(
        "orderPaymentStatusId",
        Kind::Integer,
        &["orderPaymentStatusNames"],
    ),
    col("updatedOn", Kind::Period),
    col("parentOrderId", Kind::IdSet),
    col_ref(
        "orderShippingStatusId",
        Kind::Integer,
        &["orderShippingStatusNames"],
    ),
    col("externalRef", Kind::String),
    col("installedIntegrationInstanceId", Kind::Integer),
    col("warehouseId", Kind::IdSet),
    col("staffOwnerContactId", Kind::Integer),
    col("taxDate", Kind::Period),
    col("departmentId", Kind::Integer),
    col("deliveryDate", Kind::Period),
];

/// `sales-order-search` columns **\[doc\]** (api-docs.brightpearl.com/order/sales-order/search.html;
/// `createdById` is left out): `salesOrderId` and `warehouseId` are IDSET.
pub(crate) const SALES_ORDER_COLUMNS: [Column; 16] = [
    col("salesOrderId", Kind::IdSet),
    col("customerId", Kind::Integer),
    col_ref("orderStatusId", Kind::Integer, &["orderStatusNames"]),
    col("orderStockStatus", Kind::String),
    col("createdOn", Kind::Period),
    col("customerRef", Kind::String),
    col("orderPaymentStatus", Kind::String),
    col("updatedOn", Kind::Period),
    col("orderShippingStatus", Kind::String),
    col("externalRef", Kind::String),
    col("installedIntegrationInstanceId", Kind::Integer),
    col("warehouseId", Kind::IdSet),
    col("staffOwnerId", Kind::Integer),
    col("taxDate", Kind::Period),
    col("channelId", Kind::Integer),
    col("deliveryDate", Kind::Period),
];

/// `goods-out-search` columns **\[obs\]**; `warehouseId` as IDSET like the order searches
/// **\[unconfirmed\]**.
pub(crate) const GOODS_OUT_COLUMNS: [Column; 8] = [
    col("goodsOutNoteId", Kind::IdSet),
    col("orderId", Kind::IdSet),
    col("warehouseId", Kind::IdSet),
    col("shipped", Kind::Boolean),
    col("shippedOn", Kind::Period),
    col("transfer", Kind::Boolean),
    col("createdOn", Kind::Period),
    col("channelId", Kind::Integer),
];

/// `customer-payment-search` columns and types **\[doc\]**
/// (api-docs.brightpearl.com/accounting/customer-payment/search.html): `paymentId`, `orderId`,
/// `currencyId` and `journalId` are IDSET; sorted by `paymentId` ASC.
pub(crate) const PAYMENT_COLUMNS: [Column; 14] = [
    col("paymentId", Kind::IdSet),
    col("transactionRef", Kind::String),
    col("transactionCode", Kind::String),
    col("paymentMethodCode", Kind::String),
    col("paymentType", Kind::String),
    col("orderId", Kind::IdSet),
    col("currencyId", Kind::IdSet),
    col("currencyCode", Kind::String),
    col("amountAuthorized", Kind::String),
    col("amountPaid", Kind::String),
    col("expires", Kind::Period),
    col("paymentDate", Kind::Period),
    col("createdOn", Kind::Period),
    col("journalId", Kind::IdSet),
];

/// `nominal-code-search` columns **\[unconfirmed\]**; `currencyId` IDSET as in the payment
/// search **\[unconfirmed\]**.
pub(crate) const NOMINAL_CODE_COLUMNS: [Column; 7] = [
    col("id", Kind::IdSet),
    col("code", Kind::String),
    col("name", Kind::SearchString),
    col("type", Kind::Integer),
    col("bank", Kind::Boolean),
    col("currencyId", Kind::IdSet),
    col("active", Kind::Boolean),
];

/// Order type ids: 1 SO, 2 PO, 3 SC, 4 PC **\[doc\]**.
fn order_type_id(code: &str) -> i64 {
    match code {
        "SO" => 1,
        "PO" => 2,
        "SC" => 3,
        _ => 4,
    }
}

/// Shipping status ids 1 NST, 2 SNS, 3 SPS, 4 ASS **\[doc\]**.
fn shipping_status_id(code: &str) -> i64 {
    match code {
        "NST" => 1,
        "SNS" => 2,
        "SPS" => 3,
        _ => 4,
    }
}

/// Stock status ids **\[unconfirmed\]** (the `/order-stock-status` table is not in the reference).
fn stock_status_id(code: &str) -> i64 {
    match code {
        "NON" => 1,
        "SON" => 2,
        "SOP" => 3,
        "SOA" => 4,
        "SCN" => 5,
        "SCP" => 6,
        _ => 7,
    }
}

/// Payment status ids **\[unconfirmed\]**.
fn payment_status_id(code: &str) -> i64 {
    match code {
        "PAID" => 1,
        "PARTIALLY_PAID" => 2,
        _ => 3,
    }
}

/// What one API request did: the reply and the events to deliver to webhooks.
pub(crate) struct Outcome {
    pub reply: Reply,
    pub events: Vec<Event>,
}

fn done(r: ApiResult) -> Outcome {
    Outcome {
        reply: r.unwrap_or_else(|e| e.reply()),
        events: Vec::new(),
    }
}

fn with_events(r: Result<(Reply, Vec<Event>), ApiError>) -> Outcome {
    match r {
        Ok((reply, events)) => Outcome { reply, events },
        Err(e) => Outcome {
            reply: e.reply(),
            events: Vec::new(),
        },
    }
}

fn not_found(path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        format!("No resource at {path}"),
    )
}

/// An ID-set GET's answer: `200 {"response":[…]}` with the resources found, or, when none of
/// the ids exists, `404 {"errors":[{"code":"CMNC-404","message":…}]}` — Brightpearl's "empty
/// list response code" **\[doc\]**, seen for contacts and webhooks **\[obs\]** (the message
/// text is **\[unconfirmed\]**).
fn found_or_404(found: Vec<Value>, message: &str) -> ApiResult {
    if found.is_empty() {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            message,
        ))
    } else {
        Ok(ok(Value::Array(found)))
    }
}

fn path_id(s: &str) -> Result<i64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad(codes::BAD_ID_SET, format!("Invalid id: {s}")))
}

/// A reference-data list: all values, or those whose id is in the optional ID set.
/// Unknown ids are left out; an empty result is `200 []` **\[unconfirmed\]**.
fn ref_list(values: &[Value], keys: &[&str], id_set: Option<&str>) -> ApiResult {
    let out: Vec<Value> = match id_set {
        None => values.to_vec(),
        Some(s) => {
            let ids = parse_id_set_limited(s, limits::OTHER, "resource")?;
            values
                .iter()
                .filter(|v| id_of(v, keys).is_some_and(|i| ids.binary_search(&i).is_ok()))
                .cloned()
                .collect()
        }
    };
    Ok(ok(Value::Array(out)))
}

/// Routes one authenticated, rate-limited request. `path` is the part after
/// `/public-api/{account}`, `body` the parsed JSON body (`None` when absent).
pub(crate) fn handle(
    st: &mut State,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
    now: DateTime<Utc>,
    credit_requires_invoice: bool,
) -> Outcome {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let needs_body = || -> Result<&Value, ApiError> {
        body.ok_or_else(|| ApiError::bad(codes::MISSING_BODY, "You have not supplied a JSON body"))
    };
    let m = method.as_str();
    match (m, segs.as_slice()) {
        ("POST", ["multi-message"]) => match needs_body() {
            Ok(b) => multi_message(st, b, now, credit_requires_invoice),
            Err(e) => done(Err(e)),
        },
        // ------------------------------------------------------------ contact-service
        ("GET", ["contact-service", "contact-search"]) => {
            let rows = st
                .contacts
                .values()
                .map(State::contact_search_row)
                .collect();
            done(search(&CONTACT_COLUMNS, rows, query, json!({})))
        }
        ("POST", ["contact-service", "contact"]) => done(
            needs_body()
                .and_then(|b| st.create_contact(b, now))
                .map(|id| ok(json!(id))),
        ),
        ("GET", ["contact-service", "contact", set]) => done(
            parse_id_set_limited(set, limits::CONTACT, "contact").and_then(|ids| {
                found_or_404(
                    ids.iter()
                        .filter_map(|i| st.contacts.get(i).cloned())
                        .collect(),
                    "No contacts found",
                )
            }),
        ),
        ("POST", ["contact-service", "postal-address"]) => done(
            needs_body()
                .and_then(|b| st.create_postal_address(b))
                .map(|id| ok(json!(id))),
        ),
        ("GET", ["contact-service", "postal-address", set]) => done(
            parse_id_set_limited(set, limits::OTHER, "postal address").map(|ids| {
                ok(Value::Array(
                    ids.iter()
                        .filter_map(|i| st.addresses.get(i).cloned())
                        .collect(),
                ))
            }),
        ),
        // ------------------------------------------------------------ product-service
        ("GET", ["product-service", "product-search"]) => {
            let rows = st
                .products
                .values()
                .map(State::product_search_row)
                .collect();
            done(search(&PRODUCT_COLUMNS, rows, query, json!({})))
        }
        ("GET", ["product-service", "product", set]) => done(
            parse_id_set_limited(set, limits::PRODUCT, "product").map(|ids| {
                ok(Value::Array(
                    ids.iter()
                        .filter_map(|i| st.products.get(i).cloned())
                        .collect(),
                ))
            }),
        ),
        ("GET", ["product-service", "price-list"]) => {
            done(ref_list(&st.price_lists, &["id"], None))
        }
        ("GET", ["product-service", "price-list", set]) => {
            done(ref_list(&st.price_lists, &["id"], Some(set)))
        }
        ("GET", ["product-service", "product-price", set]) => done(product_prices(st, set, None)),
        ("GET", ["product-service", "product-price", set, "price-list", pls]) => {
            done(product_prices(st, set, Some(pls)))
        }
        ("GET", ["product-service", "channel"]) => done(ref_list(&st.channels, &["id"], None)),
        ("GET", ["product-service", "channel", set]) => {
            done(ref_list(&st.channels, &["id"], Some(set)))
        }
        // ------------------------------------------------------------ warehouse-service
        ("GET", ["warehouse-service", "warehouse"]) => {
            done(ref_list(&st.warehouses, &["id"], None))
        }
        ("GET", ["warehouse-service", "warehouse", set]) => {
            done(ref_list(&st.warehouses, &["id"], Some(set)))
        }
        ("GET", ["warehouse-service", "shipping-method"]) => {
            done(ref_list(&st.shipping_methods, &["id"], None))
        }
        ("GET", ["warehouse-service", "shipping-method", set]) => {
            done(ref_list(&st.shipping_methods, &["id"], Some(set)))
        }
        ("GET", ["warehouse-service", "product-availability", set]) => done(
            parse_id_set_limited(set, limits::AVAILABILITY, "product").map(|ids| {
                let mut m = Map::new();
                for id in ids {
                    if let Some(a) = st.availability(id) {
                        m.insert(id.to_string(), a);
                    }
                }
                ok(Value::Object(m))
            }),
        ),
        ("POST", ["warehouse-service", "warehouse", wid, "stock-correction"]) => {
            with_events((|| {
                let wid = path_id(wid)?;
                let (ids, events) = st.stock_correction(wid, needs_body()?, now)?;
                Ok((ok(json!(ids)), events))
            })())
        }
        (
            "GET",
            [
                "warehouse-service",
                "warehouse",
                wid,
                "stock-correction",
                set,
            ],
        ) => done((|| {
            let wid = path_id(wid)?;
            let ids = parse_id_set_limited(set, limits::OTHER, "stock correction")?;
            Ok(ok(Value::Array(
                ids.iter()
                    .filter_map(|i| st.stock_corrections.get(i))
                    .filter(|c| c["warehouseId"] == wid)
                    .cloned()
                    .collect(),
            )))
        })()),
        ("GET", ["warehouse-service", "goods-note", "goods-out-search"]) => {
            let rows = st
                .gons
                .values()
                .map(|g| {
                    let channel = st.orders.get(&g.order_id).map_or(0, |o| o.channel_id);
                    vec![
                        json!(g.id),
                        json!(g.order_id),
                        json!(g.warehouse_id),
                        json!(g.shipped_on.is_some()),
                        json!(g.shipped_on),
                        json!(false),
                        json!(g.created_on),
                        json!(channel),
                    ]
                })
                .collect();
            done(search(&GOODS_OUT_COLUMNS, rows, query, json!({})))
        }
        (
            "GET",
            [
                "warehouse-service",
                "order",
                orders,
                "goods-note",
                "goods-out",
            ],
        ) => done(goods_out_get(st, orders, None)),
        (
            "GET",
            [
                "warehouse-service",
                "order",
                orders,
                "goods-note",
                "goods-out",
                "",
            ],
        ) => done(goods_out_get(st, orders, None)),
        (
            "GET",
            [
                "warehouse-service",
                "order",
                orders,
                "goods-note",
                "goods-out",
                gons,
            ],
        ) => done(goods_out_get(st, orders, Some(gons))),
        (
            "POST",
            [
                "warehouse-service",
                "order",
                order,
                "goods-note",
                "goods-out",
            ],
        ) => with_events((|| {
            let id = path_id(order)?;
            let (ids, events) = st.create_goods_out_notes(id, needs_body()?, now)?;
            // Response shape is [unconfirmed]: the new note ids as an array.
            Ok((ok(json!(ids)), events))
        })()),
        (
            "GET",
            [
                "warehouse-service",
                "order",
                orders,
                "goods-note",
                "goods-in",
            ],
        ) => done(goods_in_get(st, orders, None)),
        (
            "GET",
            [
                "warehouse-service",
                "order",
                orders,
                "goods-note",
                "goods-in",
                notes,
            ],
        ) => done(goods_in_get(st, orders, Some(notes))),
        (
            "POST",
            [
                "warehouse-service",
                "order",
                order,
                "goods-note",
                "goods-in",
            ],
        ) => with_events((|| {
            let id = path_id(order)?;
            let (note, events) = st.create_goods_in_note(id, needs_body()?, now)?;
            Ok((ok(json!(note)), events))
        })()),
        ("GET", ["warehouse-service", "warehouse", wid, "product", set]) => done((|| {
            let wid = path_id(wid)?;
            let ids = parse_id_set_limited(set, limits::OTHER, "product")?;
            Ok(ok(st.warehouse_defaults(wid, &ids)?))
        })()),
        ("PUT", ["warehouse-service", "goods-note", "goods-out", id]) => with_events((|| {
            let id = path_id(id)?;
            let events = st.update_goods_out_note(id, needs_body()?, now)?;
            Ok((ok(json!({})), events))
        })()),
        ("POST", ["warehouse-service", "goods-note", "goods-out", id, "event"]) => {
            with_events((|| {
                let id = path_id(id)?;
                let b = needs_body()?;
                let evs = b
                    .get("events")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let shipped = evs.iter().any(|e| e["eventCode"] == "SHW");
                if !shipped {
                    return Err(ApiError::bad(
                        codes::GOODS_OUT_INVALID,
                        "Only the SHW (shipped) event is simulated",
                    ));
                }
                let events = st.ship_goods_out_note(id, None, None, now)?;
                Ok((ok(json!({})), events))
            })())
        }
        // ------------------------------------------------------------ order-service
        ("POST", ["order-service", "sales-order"]) => with_events((|| {
            let (id, _created, events) =
                st.create_order("SO", needs_body()?, now, credit_requires_invoice)?;
            Ok((ok(json!(id)), events))
        })()),
        ("POST", ["order-service", "sales-credit"]) => with_events((|| {
            let (id, _created, events) =
                st.create_order("SC", needs_body()?, now, credit_requires_invoice)?;
            Ok((ok(json!(id)), events))
        })()),
        ("GET", ["order-service", "sales-order", set]) => done(flat_orders(st, set, "SO")),
        ("GET", ["order-service", "sales-credit", set]) => done(flat_orders(st, set, "SC")),
        ("POST", ["order-service", "sales-order", id, "close"]) => done(
            path_id(id)
                .and_then(|id| st.close(id, "SO", body.unwrap_or(&json!({})), now))
                .map(|_| ok(json!({}))),
        ),
        ("POST", ["order-service", "sales-credit", id, "close"]) => done(
            path_id(id)
                .and_then(|id| st.close(id, "SC", body.unwrap_or(&json!({})), now))
                .map(|_| ok(json!({}))),
        ),
        // Order notes [doc]: POST → `{"response": noteId}`; GET → `{"response": [note…]}`.
        ("POST", ["order-service", "order", id, "note"]) => done(
            path_id(id)
                .and_then(|id| st.add_order_note(id, needs_body()?, now))
                .map(|n| ok(json!(n))),
        ),
        ("GET", ["order-service", "order", id, "note"]) => done(
            path_id(id)
                .and_then(|id| st.order_notes(id))
                .map(|notes| ok(Value::Array(notes))),
        ),
        ("OPTIONS", ["order-service", "order", set]) => {
            done(options_split(set, "/order", limits::ORDER, |id| {
                st.orders.contains_key(&id)
            }))
        }
        ("OPTIONS", ["contact-service", "contact", set]) => {
            done(options_split(set, "/contact", limits::CONTACT, |id| {
                st.contacts.contains_key(&id)
            }))
        }
        ("OPTIONS", ["product-service", "product-price", set]) => done(options_split(
            set,
            "/product-price",
            limits::PRODUCT_PRICE,
            |id| st.product_prices.contains_key(&id),
        )),
        ("GET", ["order-service", "order", set]) => done(
            parse_id_set_limited(set, limits::ORDER, "order").map(|ids| {
                // A missing order is simply absent: `GET /order/999` → 200 `{"response":[]}` [obs].
                ok(Value::Array(
                    ids.iter()
                        .filter_map(|i| st.orders.get(i))
                        .map(|o| order_json(st, o))
                        .collect(),
                ))
            }),
        ),
        ("PUT", ["order-service", "order", id, "status"]) => with_events((|| {
            let id = path_id(id)?;
            let events = st.set_status(id, needs_body()?, now)?;
            // Status PUT answers a bare `{}`, no `response` member [obs].
            Ok(((StatusCode::OK, json!({})), events))
        })()),
        ("GET", ["order-service", "order-search"]) => {
            let rows = st
                .orders
                .values()
                .map(|o| order_search_row(st, o))
                .collect();
            done(search(&ORDER_COLUMNS, rows, query, order_reference(st)))
        }
        ("GET", ["order-service", "sales-order-search"]) => {
            let rows = st
                .orders
                .values()
                .filter(|o| o.type_code == "SO")
                .map(|o| sales_order_search_row(st, o))
                .collect();
            done(search(&SALES_ORDER_COLUMNS, rows, query, json!({})))
        }
        ("GET", ["order-service", "order-status"]) => {
            done(ref_list(&st.order_statuses, &["statusId", "id"], None))
        }
        ("GET", ["order-service", "order-status", set]) => {
            done(ref_list(&st.order_statuses, &["statusId", "id"], Some(set)))
        }
        // ------------------------------------------------------------ accounting-service
        ("POST", ["accounting-service", "customer-payment"]) => with_events((|| {
            let (id, events) = st.create_payment(needs_body()?, now)?;
            Ok((ok(json!(id)), events))
        })()),
        ("GET", ["accounting-service", "customer-payment-search"]) => {
            let rows = st
                .payments
                .values()
                .map(State::payment_search_row)
                .collect();
            done(search(&PAYMENT_COLUMNS, rows, query, json!({})))
        }
        ("GET", ["accounting-service", "tax-code"]) => done(ref_list(&st.tax_codes, &["id"], None)),
        ("GET", ["accounting-service", "tax-code", set]) => {
            done(ref_list(&st.tax_codes, &["id"], Some(set)))
        }
        ("GET", ["accounting-service", "nominal-code"]) => {
            done(ref_list(&st.nominal_codes, &["id"], None))
        }
        ("GET", ["accounting-service", "nominal-code", set]) => {
            done(ref_list(&st.nominal_codes, &["id"], Some(set)))
        }
        ("GET", ["accounting-service", "nominal-code-search"]) => {
            let rows = st
                .nominal_codes
                .iter()
                .map(|n| {
                    vec![
                        json!(id_of(n, &["id"])),
                        n.get("code").cloned().unwrap_or(Value::Null),
                        n.get("name").cloned().unwrap_or(Value::Null),
                        json!(int_at(n, "/type/id").or_else(|| int_at(n, "/type"))),
                        json!(n.get("bank").and_then(Value::as_bool).unwrap_or(false)),
                        n.get("currencyId").cloned().unwrap_or(Value::Null),
                        json!(n.get("active").and_then(Value::as_bool).unwrap_or(true)),
                    ]
                })
                .collect();
            done(search(&NOMINAL_CODE_COLUMNS, rows, query, json!({})))
        }
        ("GET", ["accounting-service", "payment-method"]) => {
            done(ref_list(&st.payment_methods, &["id"], None))
        }
        ("GET", ["accounting-service", "payment-method", set]) => {
            done(ref_list(&st.payment_methods, &["id"], Some(set)))
        }
        // ------------------------------------------------------------ integration-service
        ("POST", ["integration-service", "webhook"]) => done(
            needs_body()
                .and_then(|b| st.register_webhook(b))
                .map(|id| ok(json!(id))),
        ),
        ("GET", ["integration-service", "webhook"]) => done(Ok(ok(Value::Array(
            st.webhooks.values().map(State::webhook_json).collect(),
        )))),
        ("GET", ["integration-service", "webhook", set]) => {
            done(parse_id_set(set).and_then(|ids| {
                found_or_404(
                    ids.iter()
                        .filter_map(|i| st.webhooks.get(i))
                        .map(State::webhook_json)
                        .collect(),
                    "No webhooks found",
                )
            }))
        }
        ("POST", ["integration-service", "webhook", id, "simulate"]) => with_events((|| {
            // `POST /integration-service/webhook/{id}/simulate {"testData":{"${resource-id}":"1-5"}}`
            // sends the hook for at most 10 ids [doc]; the answer `{}` is [unconfirmed].
            let id = path_id(id)?;
            let w = st.webhooks.get(&id).ok_or_else(|| not_found(path))?;
            let raw = needs_body()?
                .pointer("/testData/${resource-id}")
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|i| i.to_string()))
                })
                .ok_or_else(|| {
                    ApiError::bad(
                        codes::WEBHOOK_INVALID,
                        "testData.${resource-id} is required",
                    )
                })?;
            let ids = parse_id_set(&raw)?;
            if ids.len() > 10 {
                return Err(ApiError::bad(
                    codes::WEBHOOK_INVALID,
                    "At most 10 resource ids can be simulated",
                ));
            }
            let full = super::state::SUBSCRIBABLE
                .iter()
                .find(|e| **e == w.subscribe_to)
                .copied()
                .unwrap_or("product");
            Ok((
                ok(json!({})),
                vec![Event {
                    full,
                    ids,
                    raised_on: now,
                    only: Some(id),
                }],
            ))
        })()),
        // A DELETE answers a bare `{}`, no `response` member [obs].
        ("DELETE", ["integration-service", "webhook", id]) => done(path_id(id).and_then(|id| {
            st.webhooks
                .remove(&id)
                .map(|_| (StatusCode::OK, json!({})))
                .ok_or_else(|| not_found(path))
        })),
        _ => done(Err(not_found(path))),
    }
}

/// Most messages in one multi-message request **\[doc\]**.
pub const MULTI_MESSAGE_MAX: usize = 10;

/// `POST /multi-message` **\[doc\]/\[client\]** (§3.7): 1–10 POST/PUT/DELETE messages
/// (`label`, `uri` relative to the account, `httpMethod`, `body`), run in order
/// (`PARALLEL` is run sequentially too **\[unconfirmed\]**); with `onFail: STOP` the labels after
/// the first failure (status ≥ 400) are listed in `unprocessedMessages` **\[client\]**. Each
/// processed message's reply is a JSON **string** in `body.content` **\[client\]**. 200 when all
/// succeeded, else 207 **\[client\]**. The whole batch counts as one request against the cap
/// **\[client\]/\[unconfirmed\]**.
fn multi_message(
    st: &mut State,
    b: &Value,
    now: DateTime<Utc>,
    credit_requires_invoice: bool,
) -> Outcome {
    let invalid = |m: &str| done(Err(ApiError::bad(codes::MULTI_MESSAGE_INVALID, m)));
    let Some(messages) = b.get("messages").and_then(Value::as_array) else {
        return invalid("messages is required");
    };
    if messages.is_empty() || messages.len() > MULTI_MESSAGE_MAX {
        return invalid("A multi-message request carries 1 to 10 messages");
    }
    for m in messages {
        let method = str_at(m, "/httpMethod")
            .unwrap_or_default()
            .to_ascii_uppercase();
        if !["POST", "PUT", "DELETE"].contains(&method.as_str()) {
            return invalid(
                "Only POST, PUT and DELETE messages can be sent in a multi-message request",
            );
        }
        if str_at(m, "/uri").is_none() || str_at(m, "/label").is_none() {
            return invalid("Every message needs a label and a uri");
        }
    }
    let stop = str_at(b, "/onFail").is_none_or(|f| f.eq_ignore_ascii_case("STOP"));
    let mut processed = Vec::new();
    let mut unprocessed = Vec::new();
    let mut events = Vec::new();
    let mut failed = false;
    for m in messages {
        let label = str_at(m, "/label").unwrap_or_default();
        if failed && stop {
            unprocessed.push(json!(label));
            continue;
        }
        let method = Method::from_bytes(
            str_at(m, "/httpMethod")
                .unwrap_or_default()
                .to_ascii_uppercase()
                .as_bytes(),
        )
        .unwrap_or(Method::POST);
        let uri = str_at(m, "/uri").unwrap_or_default();
        let (path, query) = uri.split_once('?').unwrap_or((uri.as_str(), ""));
        let query: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        let body = m.get("body").filter(|v| !v.is_null());
        let out = if path.trim_matches('/') == "multi-message" {
            done(Err(ApiError::bad(
                codes::MULTI_MESSAGE_INVALID,
                "A multi-message request cannot contain another",
            )))
        } else {
            handle(
                st,
                &method,
                path,
                &query,
                body,
                now,
                credit_requires_invoice,
            )
        };
        let status = out.reply.0.as_u16();
        failed |= status >= 400;
        events.extend(out.events);
        processed.push(json!({"label": label, "statusCode": status, "body": {"content": out.reply.1.to_string()}}));
    }
    let status = if failed {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Outcome {
        reply: (
            status,
            json!({"response": {"processedMessages": processed, "unprocessedMessages": unprocessed}}),
        ),
        events,
    }
}

/// `OPTIONS …/{idSet}` **\[doc\]/\[obs\]**: keeps the ids that exist and splits them into GET URIs
/// that each fit the resource's limit: `{"response":{"getUris":["/order/1-2,5,8"]}}`. The
/// URIs are relative to the service, as in the documented example.
fn options_split(set: &str, prefix: &str, limit: usize, exists: impl Fn(i64) -> bool) -> ApiResult {
    let ids: Vec<i64> = parse_id_set(set)?
        .into_iter()
        .filter(|i| exists(*i))
        .collect();
    let uris: Vec<String> = ids
        .chunks(limit)
        .map(|c| format!("{prefix}/{}", super::model::compact_id_set(c)))
        .collect();
    Ok(ok(json!({ "getUris": uris })))
}

/// `GET /product-service/product-price/{productIdSet}[/price-list/{priceListIdSet}]` **\[doc\]**:
/// ≤200 products; `priceLists` filtered to the requested lists; no prices at all → 404
/// `CMNC-404` "No Product Prices Found" **\[obs\]**.
fn product_prices(st: &State, set: &str, lists: Option<&str>) -> ApiResult {
    let ids = parse_id_set_limited(set, limits::PRODUCT_PRICE, "product")?;
    let lists = lists.map(parse_id_set).transpose()?;
    let mut out = Vec::new();
    for id in ids {
        let Some(pp) = st.product_prices.get(&id) else {
            continue;
        };
        let mut pp = pp.clone();
        if let (Some(lists), Some(Value::Array(pls))) = (&lists, pp.get_mut("priceLists")) {
            pls.retain(|pl| {
                int_at(pl, "/priceListId").is_some_and(|x| lists.binary_search(&x).is_ok())
            });
        }
        out.push(pp);
    }
    if out.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "No Product Prices Found",
        ));
    }
    Ok(ok(Value::Array(out)))
}

/// `GET /warehouse-service/order/{orderIdSet|*}/goods-note/goods-out[/{gonIdSet}]` **\[doc\]**:
/// a map note id → note; each ID set ≤500.
/// `GET /warehouse-service/order/{orderIdSet|*}/goods-note/goods-in/[{noteIdSet}]` **\[doc\]**.
fn goods_in_get(st: &State, orders: &str, notes: Option<&str>) -> ApiResult {
    let order_ids = (orders != "*")
        .then(|| parse_id_set_limited(orders, limits::OTHER, "order"))
        .transpose()?;
    let note_ids = notes
        .filter(|n| !n.is_empty())
        .map(|n| parse_id_set_limited(n, limits::OTHER, "goods-in note"))
        .transpose()?;
    Ok(ok(
        st.goods_in_get(order_ids.as_deref(), note_ids.as_deref())
    ))
}

fn goods_out_get(st: &State, orders: &str, gons: Option<&str>) -> ApiResult {
    let order_ids = if orders == "*" {
        None
    } else {
        Some(parse_id_set_limited(
            orders,
            limits::GOODS_OUT_NOTE,
            "order",
        )?)
    };
    let gon_ids = gons
        .filter(|g| !g.is_empty())
        .map(|g| parse_id_set_limited(g, limits::GOODS_OUT_NOTE, "goods-out note"))
        .transpose()?;
    let mut m = Map::new();
    for g in st.gons.values() {
        if order_ids
            .as_ref()
            .is_some_and(|o| o.binary_search(&g.order_id).is_err())
        {
            continue;
        }
        if gon_ids
            .as_ref()
            .is_some_and(|s| s.binary_search(&g.id).is_err())
        {
            continue;
        }
        m.insert(g.id.to_string(), State::gon_json(g));
    }
    Ok(ok(Value::Object(m)))
}

fn status_name(st: &State, id: i64) -> Value {
    st.order_statuses
        .iter()
        .find(|s| id_of(s, &["statusId", "id"]) == Some(id))
        .and_then(|s| s.get("name").cloned())
        .unwrap_or(Value::Null)
}

/// Base-currency amount: `value ÷ exchangeRate` **\[unconfirmed\]**.
fn base(o: &Order, d: Decimal) -> Decimal {
    let rate: Decimal = o.exchange_rate.parse().unwrap_or(Decimal::ONE);
    if rate.is_zero() { d } else { d / rate }
}

fn merged(contact_id: i64, address: &Value) -> Value {
    let mut m = Map::new();
    m.insert("contactId".into(), json!(contact_id));
    if let Value::Object(a) = address {
        for (k, v) in a {
            if k != "addressId" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(m)
}

/// `GET /order-service/order/{idSet}` shape **\[doc\]/\[obs\]** (§4.3): `orderRows` is a map keyed
/// by row id; row money at 4 dp, totals at 2 dp (as recorded **\[obs\]**); `externalRef` and
/// `installedIntegrationInstanceId` on the header **\[unconfirmed\]**; before invoicing
/// `invoices[0].invoiceReference` is `""` **\[unconfirmed\]**.
pub(crate) fn order_json(st: &State, o: &Order) -> Value {
    let (stock, alloc, ship) = st.status_codes(o);
    let (net, tax) = State::order_totals(o);
    let mut rows = Map::new();
    for r in &o.rows {
        let unit = if r.quantity.is_zero() {
            Decimal::ZERO
        } else {
            r.net / r.quantity
        };
        let (cost, cost_currency) = st.item_cost(r.product_id);
        rows.insert(
            r.id.to_string(),
            json!({
                "orderRowSequence": r.sequence.to_string(),
                "productId": r.product_id.unwrap_or(0),
                "productName": r.name,
                "productSku": r.sku.clone().unwrap_or_default(),
                "quantity": {"magnitude": money(r.quantity, 4)},
                "itemCost": {"currencyCode": cost_currency, "value": money(cost, 4)},
                "productPrice": {"currencyCode": o.currency_code, "value": money(unit, 4)},
                "discountPercentage": "0.00",
                "rowValue": {
                    "taxRate": money(r.tax_rate.unwrap_or(Decimal::ZERO), 4),
                    "taxCode": r.tax_code.clone().unwrap_or_default(),
                    "taxCalculator": "brightpearl",
                    "rowNet": {"currencyCode": o.currency_code, "value": money(r.net, 4)},
                    "rowTax": {"currencyCode": o.currency_code, "value": money(r.tax, 4)}
                },
                "nominalCode": r.nominal_code.clone().unwrap_or_else(|| "4000".into()),
                "externalRef": r.external_ref,
                "composition": {"bundleParent": false, "bundleChild": false, "parentOrderRowId": 0},
                "clonedFromId": 0
            }),
        );
    }
    let customer_email = st
        .contacts
        .get(&o.customer_id)
        .and_then(|c| c.pointer("/communication/emails/PRI/email").cloned());
    let mut customer = merged(o.customer_id, &o.customer_address);
    if let (Some(e), Value::Object(m)) = (customer_email, &mut customer) {
        m.entry("email").or_insert(e);
    }
    json!({
        "id": o.id,
        "parentOrderId": o.parent_id.unwrap_or(0),
        "orderTypeCode": o.type_code,
        "reference": o.reference,
        "externalRef": o.external_ref,
        "installedIntegrationInstanceId": o.installed_integration_instance_id,
        "version": o.version,
        "state": {"tax": if o.invoice_reference.is_some() { "INVOICED" } else { "READY" }},
        "orderStatus": {"orderStatusId": o.status_id, "name": status_name(st, o.status_id)},
        "orderPaymentStatus": st.payment_status(o),
        "stockStatusCode": stock,
        "allocationStatusCode": alloc,
        "shippingStatusCode": ship,
        "placedOn": o.placed_on,
        "createdOn": o.created_on,
        "updatedOn": o.updated_on,
        "closedOn": o.closed_on,
        "priceListId": o.price_list_id,
        "priceModeCode": o.price_mode_code,
        "delivery": {"shippingMethodId": o.shipping_method_id, "deliveryDate": o.delivery_date},
        "invoices": [{"invoiceReference": o.invoice_reference.clone().unwrap_or_default(), "taxDate": o.tax_date, "dueDate": o.tax_date}],
        "currency": {"accountingCurrencyCode": o.currency_code, "orderCurrencyCode": o.currency_code,
                     "exchangeRate": o.exchange_rate, "fixedExchangeRate": o.fixed_exchange_rate},
        "totalValue": {"net": money(net, 2), "taxAmount": money(tax, 2),
                       "baseNet": money(base(o, net), 2), "baseTaxAmount": money(base(o, tax), 2),
                       "baseTotal": money(base(o, net + tax), 2), "total": money(net + tax, 2)},
        "assignment": {"current": {"staffOwnerContactId": o.staff_owner_id, "projectId": 0, "channelId": o.channel_id,
                                   "leadSourceId": 0, "teamId": 0}},
        "parties": {"customer": customer,
                    "delivery": merged(o.customer_id, &o.delivery_address),
                    "billing": merged(o.billing_contact_id, &o.billing_address)},
        "orderRows": Value::Object(rows),
        "warehouseId": o.warehouse_id,
        "acknowledged": 0,
        "costPriceListId": 1,
        "historicalOrder": false
    })
}

/// `GET /order-service/sales-order/{id}` / `sales-credit/{idSet}` flat model **\[obs\]/\[doc\]**
/// (§4.1, §10): `rows[]` array, `total{net,tax,gross,baseNet,baseTax,baseGross}`.
pub(crate) fn flat_order_json(st: &State, o: &Order) -> Value {
    let (stock, alloc, ship) = st.status_codes(o);
    let (net, tax) = State::order_totals(o);
    let rows: Vec<Value> = o
        .rows
        .iter()
        .map(|r| {
            let unit = if r.quantity.is_zero() { Decimal::ZERO } else { r.net / r.quantity };
            json!({
                "id": r.id, "productId": r.product_id, "name": r.name, "sku": r.sku,
                "quantity": money(r.quantity, 4), "taxCode": r.tax_code,
                "net": money(r.net, 4), "tax": money(r.tax, 4),
                "nominalCode": r.nominal_code, "externalRef": r.external_ref,
                "productPrice": money(unit, 4), "discountPercentage": "0.00", "sequence": r.sequence,
                "bundleParent": false, "bundleChild": false, "parentRowId": 0
            })
        })
        .collect();
    json!({
        "id": o.id,
        "customer": {"id": o.customer_id, "address": o.customer_address},
        "billing": {"contactId": o.billing_contact_id, "address": o.billing_address},
        "ref": o.reference,
        "externalRef": o.external_ref,
        "installedIntegrationInstanceId": o.installed_integration_instance_id,
        "placedOn": o.placed_on,
        "taxDate": o.tax_date,
        "parentId": o.parent_id,
        "statusId": o.status_id,
        "warehouseId": o.warehouse_id,
        "channelId": o.channel_id,
        "priceListId": o.price_list_id,
        "priceModeCode": o.price_mode_code,
        "currency": {"code": o.currency_code, "fixedExchangeRate": o.fixed_exchange_rate, "exchangeRate": o.exchange_rate},
        "delivery": {"date": o.delivery_date, "address": o.delivery_address, "shippingMethodId": o.shipping_method_id},
        "rows": rows,
        "total": {"net": money(net, 2), "tax": money(tax, 2), "gross": money(net + tax, 2),
                  "baseNet": money(base(o, net), 2), "baseTax": money(base(o, tax), 2), "baseGross": money(base(o, net + tax), 2)},
        "orderPaymentStatus": st.payment_status(o),
        "allocationStatusCode": alloc,
        "stockStatusCode": stock,
        "shippingStatusCode": ship,
        "createdOn": o.created_on,
        "updatedOn": o.updated_on,
        "isCanceled": false,
        "customFields": {}
    })
}

/// Sales order / credit GET by ID set: sales credits answer **207** when only some ids were
/// found **\[doc\]**; sales orders list the found ones **\[unconfirmed\]**.
fn flat_orders(st: &State, set: &str, type_code: &str) -> ApiResult {
    let ids = parse_id_set_limited(set, limits::ORDER, "order")?;
    let found: Vec<Value> = ids
        .iter()
        .filter_map(|i| st.orders.get(i).filter(|o| o.type_code == type_code))
        .map(|o| flat_order_json(st, o))
        .collect();
    let status = if type_code == "SC" && !found.is_empty() && found.len() < ids.len() {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Ok((status, json!({"response": found})))
}

fn order_search_row(st: &State, o: &Order) -> Vec<Value> {
    let (stock, _, ship) = st.status_codes(o);
    vec![
        json!(o.id),
        json!(order_type_id(o.type_code)),
        json!(o.customer_id),
        json!(o.status_id),
        json!(stock_status_id(stock)),
        json!(o.created_on),
        json!(4),
        json!(o.reference),
        json!(payment_status_id(st.payment_status(o))),
        json!(o.updated_on),
        json!(o.parent_id.unwrap_or(0)),
        json!(shipping_status_id(ship)),
        json!(o.external_ref),
        json!(o.installed_integration_instance_id),
        json!(o.warehouse_id),
        json!(o.staff_owner_id),
        json!(o.tax_date),
        json!(0),
        json!(o.delivery_date),
    ]
}

fn sales_order_search_row(st: &State, o: &Order) -> Vec<Value> {
    let (stock, _, ship) = st.status_codes(o);
    vec![
        json!(o.id),
        json!(o.customer_id),
        json!(o.status_id),
        json!(stock),
        json!(o.created_on),
        json!(o.reference),
        json!(st.payment_status(o)),
        json!(o.updated_on),
        json!(ship),
        json!(o.external_ref),
        json!(o.installed_integration_instance_id),
        json!(o.warehouse_id),
        json!(o.staff_owner_id),
        json!(o.tax_date),
        json!(o.channel_id),
        json!(o.delivery_date),
    ]
}

/// The `reference` sibling of an order search **\[obs\]**: `orderTypeNames`, `orderStatusNames`,
/// `orderShippingStatusNames`; `orderStockStatusNames` and `orderPaymentStatusNames` (the
/// lookups the columns name **\[doc\]**) with the simulator's ids **\[unconfirmed\]**.
fn order_reference(st: &State) -> Value {
    let mut statuses = Map::new();
    for s in &st.order_statuses {
        if let (Some(id), Some(name)) = (id_of(s, &["statusId", "id"]), str_at(s, "/name")) {
            statuses.insert(id.to_string(), json!(name));
        }
    }
    json!({
        "orderTypeNames": {"1": "SALES_ORDER", "2": "PURCHASE_ORDER", "3": "SALES_CREDIT", "4": "PURCHASE_CREDIT"},
        "orderStatusNames": Value::Object(statuses),
        "orderShippingStatusNames": {"1": "NST", "2": "SNS", "3": "SPS", "4": "ASS"},
        "orderStockStatusNames": {"1": "NON", "2": "SON", "3": "SOP", "4": "SOA", "5": "SCN", "6": "SCP", "7": "SCA"},
        "orderPaymentStatusNames": {"1": "PAID", "2": "PARTIALLY_PAID", "3": "UNPAID"}
    })
}
