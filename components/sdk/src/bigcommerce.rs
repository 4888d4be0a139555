//! BigCommerce models and a typed client for the endpoints the flows read
//! (bigcommerce-api.md §3, §5, §7, §9 [doc]).
//!
//! Money fields are [`Decimal`]s: an amount in the order's currency (the transactional
//! currency, `default_currency_code`; a v3 transaction's in its own `currency`), decoded by
//! [`crate::money::serde_amount`] from the v2 4-decimal strings (`"225.0000"`, scale kept) or
//! the v3 JSON numbers. A value that is not a decimal amount makes the whole response fail to
//! decode with an [`ApiError::Decode`] naming the field and the value (`GET /v2/orders/118:
//! cannot decode the response: total_inc_tax: "12.x4" is not a decimal amount`), never a
//! silent 0. Unknown fields are ignored; missing ones take their default (0 for an amount);
//! text fields accept `null` (as `""`) and numbers (as their text).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::capabilities::{Api, ApiError};
use crate::http::{self, lenient_opt_u64, lenient_u64, money_text, money_text as text};
use crate::money::serde_amount;
use crate::types::{Request, System};
use crate::url::encode;

/// Largest v2 page (`limit`), bigcommerce-api.md §3 [doc] (archived v2 docs).
pub const V2_MAX_LIMIT: u32 = 250;
/// Largest v3 page for customers (`limit`), §3 [doc].
pub const V3_MAX_LIMIT: u32 = 250;

/// A billing or shipping address as it appears on a v2 order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    #[serde(deserialize_with = "text::deserialize")]
    pub first_name: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub last_name: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub company: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub street_1: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub street_2: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub city: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub state: String,
    #[serde(deserialize_with = "money_text::deserialize")]
    pub zip: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub country: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub country_iso2: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub phone: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub email: String,
    /// The checkout's address form fields (`[{name, value}]`), e.g. a purchase-order number.
    #[serde(deserialize_with = "lenient_form_fields")]
    pub form_fields: Vec<FormField>,
}

/// One address form field (`form_fields[]`, orders v2 spec `formFields`): `value` is a
/// string, a number or an array of strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormField {
    #[serde(deserialize_with = "text::deserialize")]
    pub name: String,
    pub value: serde_json::Value,
}

impl FormField {
    /// The value as text: a string trimmed, a number as written, an array's items joined
    /// with ", "; `null` is "".
    pub fn text(&self) -> String {
        fn one(v: &serde_json::Value) -> String {
            match v {
                serde_json::Value::String(s) => s.trim().to_string(),
                serde_json::Value::Null => String::new(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(one)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            }
        }
        one(&self.value)
    }
}

/// `form_fields` as a list; `null` or another shape is an empty list.
fn lenient_form_fields<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<FormField>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// `GET /v2/orders/{id}` (bigcommerce-api.md §5 [doc]). Dates are RFC 2822 UTC strings;
/// amounts are decimals in the order's currency (v2 strings such as `"12.3400"`, see the
/// module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    pub id: u64,
    /// 0 for a guest.
    pub customer_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub date_created: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub date_modified: String,
    pub status_id: u32,
    #[serde(deserialize_with = "text::deserialize")]
    pub status: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub payment_status: String,
    /// Display name, e.g. `Credit Card`, `Manual`, `cash`.
    #[serde(deserialize_with = "text::deserialize")]
    pub payment_method: String,
    pub channel_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub order_source: String,
    pub is_deleted: bool,
    pub billing_address: Address,
    #[serde(with = "serde_amount")]
    pub subtotal_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub subtotal_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub subtotal_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub total_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub total_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub total_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub base_shipping_cost: Decimal,
    #[serde(with = "serde_amount")]
    pub shipping_cost_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub shipping_cost_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub shipping_cost_tax: Decimal,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub shipping_cost_tax_class_id: u64,
    #[serde(with = "serde_amount")]
    pub base_handling_cost: Decimal,
    #[serde(with = "serde_amount")]
    pub handling_cost_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub handling_cost_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub handling_cost_tax: Decimal,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub handling_cost_tax_class_id: u64,
    #[serde(with = "serde_amount")]
    pub base_wrapping_cost: Decimal,
    #[serde(with = "serde_amount")]
    pub wrapping_cost_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub wrapping_cost_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub wrapping_cost_tax: Decimal,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub wrapping_cost_tax_class_id: u64,
    /// Manual discount.
    #[serde(with = "serde_amount")]
    pub discount_amount: Decimal,
    #[serde(with = "serde_amount")]
    pub coupon_discount: Decimal,
    #[serde(with = "serde_amount")]
    pub store_credit_amount: Decimal,
    #[serde(with = "serde_amount")]
    pub gift_certificate_amount: Decimal,
    pub is_tax_inclusive_pricing: bool,
    /// Display currency.
    #[serde(deserialize_with = "text::deserialize")]
    pub currency_code: String,
    #[serde(with = "serde_amount")]
    pub currency_exchange_rate: Decimal,
    /// The transactional currency the shopper paid in (bigcommerce-api.md §5 [doc]).
    #[serde(deserialize_with = "text::deserialize")]
    pub default_currency_code: String,
    pub store_default_currency_code: Option<String>,
    /// Store default → transactional currency rate; `None` when absent, `null` or `""`.
    #[serde(with = "serde_amount::option")]
    pub store_default_to_transactional_exchange_rate: Option<Decimal>,
    pub items_total: u64,
    pub shipping_address_count: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub customer_message: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub staff_notes: String,
    /// With [`ORDER_INCLUDE`]: the consignments object (`{pickups, shipping, downloads,
    /// email: {gift_certificates}}`, each with `line_items`); else a `{url, resource}` link or
    /// absent. Read it with [`Order::consignment_parts`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consignments: Option<serde_json::Value>,
}

/// The query that makes `GET /v2/orders` and `GET /v2/orders/{id}` carry each order's
/// products and shipping addresses in its consignments (orders v2 spec `order_includes`,
/// `consignment_structure` [doc]).
pub const ORDER_INCLUDE: &str = "include=consignments.line_items&consignment_structure=object";

/// Most line items BigCommerce puts in one consignment with [`ORDER_INCLUDE`]; a consignment
/// that has this many may be cut short (bigcommerce-api.md §12.7 [obs]).
pub const CONSIGNMENT_LINE_ITEMS_MAX: usize = 50;

impl Order {
    /// The order products and shipping addresses from the included consignments, the same
    /// rows `GET /v2/orders/{id}/products` and `/shipping_addresses` give (a shipping
    /// consignment's `id` is the order address id [unconfirmed]; its money comes as JSON
    /// numbers, read as decimals through their text). `None` when they cannot replace those
    /// two calls: no consignments object, a `__warning__`, line items given as links, a
    /// consignment with [`CONSIGNMENT_LINE_ITEMS_MAX`] items or more (possibly truncated), or
    /// a row that does not decode (e.g. a corrupt amount: the separate call then fails with
    /// an [`ApiError::Decode`] naming the field and the value).
    pub fn consignment_parts(&self) -> Option<(Vec<OrderProduct>, Vec<ShippingAddress>)> {
        let c = self.consignments.as_ref()?.as_object()?;
        if c.contains_key("__warning__") || !c.contains_key("shipping") {
            return None;
        }
        let mut products: Vec<OrderProduct> = Vec::new();
        let mut addresses = Vec::new();
        let mut take = |items: Option<&serde_json::Value>| -> Option<()> {
            let items = match items {
                None | Some(serde_json::Value::Null) => return Some(()),
                Some(serde_json::Value::Array(a)) => a,
                Some(_) => return None,
            };
            if items.len() >= CONSIGNMENT_LINE_ITEMS_MAX {
                return None;
            }
            for item in items {
                item.get("id")?;
                if item.get("sku").is_none() && item.get("product_id").is_none() {
                    return None; // a {url, resource} link, not the order product
                }
                products.push(serde_json::from_value(item.clone()).ok()?);
            }
            Some(())
        };
        for s in c.get("shipping")?.as_array()? {
            if s.as_object()?.contains_key("__warning__") {
                return None;
            }
            take(s.get("line_items"))?;
            addresses.push(serde_json::from_value::<ShippingAddress>(s.clone()).ok()?);
        }
        for kind in ["pickups", "downloads"] {
            for x in c.get(kind).and_then(|v| v.as_array()).into_iter().flatten() {
                take(x.get("line_items"))?;
            }
        }
        for x in c
            .get("email")
            .and_then(|e| e.get("gift_certificates"))
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            take(x.get("line_items"))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        products.retain(|p| seen.insert(p.id));
        products.sort_by_key(|p| p.id);
        Some((products, addresses))
    }
}

/// One discount on an order product (`applied_discounts[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppliedDiscount {
    /// A coupon id (number) or a rule id such as `"total-coupon"`.
    pub id: serde_json::Value,
    #[serde(with = "serde_amount")]
    pub amount: Decimal,
    #[serde(deserialize_with = "text::deserialize")]
    pub name: String,
    pub code: Option<String>,
    /// `order` or `product`.
    #[serde(deserialize_with = "text::deserialize")]
    pub target: String,
}

/// `GET /v2/orders/{id}/products` (bigcommerce-api.md §5 [doc]).
/// Amounts are decimals in the order's currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderProduct {
    /// The order product id (used by shipments and refunds).
    pub id: u64,
    pub order_id: u64,
    pub product_id: u64,
    pub variant_id: Option<u64>,
    /// The shipping address the line belongs to.
    pub order_address_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub sku: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub name: String,
    /// `physical`, `digital` or `giftcertificate`.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "text::deserialize")]
    pub product_type: String,
    pub quantity: u64,
    #[serde(with = "serde_amount")]
    pub base_price: Decimal,
    #[serde(with = "serde_amount")]
    pub price_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub price_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub price_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub base_total: Decimal,
    #[serde(with = "serde_amount")]
    pub total_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub total_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub total_tax: Decimal,
    /// Line total after every discount, tax included ("what the shopper paid"); `None` when
    /// absent, `null` or `""` (then the line paid its `total_inc_tax`).
    #[serde(with = "serde_amount::option")]
    pub discounted_total_inc_tax: Option<Decimal>,
    pub applied_discounts: Vec<AppliedDiscount>,
    #[serde(deserialize_with = "lenient_opt_u64::deserialize")]
    pub parent_order_product_id: Option<u64>,
    pub is_bundled_product: bool,
    #[serde(deserialize_with = "text::deserialize")]
    pub wrapping_name: String,
    #[serde(with = "serde_amount")]
    pub wrapping_cost_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub wrapping_cost_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub wrapping_cost_tax: Decimal,
}

/// `GET /v2/orders/{id}/shipping_addresses` (bigcommerce-api.md §5 [doc]).
/// Amounts are decimals in the order's currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingAddress {
    /// The order address id.
    pub id: u64,
    pub order_id: u64,
    /// The address fields, the same as a billing address's.
    #[serde(flatten)]
    pub address: Address,
    pub items_total: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub shipping_method: String,
    #[serde(with = "serde_amount")]
    pub base_cost: Decimal,
    #[serde(with = "serde_amount")]
    pub cost_ex_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub cost_inc_tax: Decimal,
    #[serde(with = "serde_amount")]
    pub cost_tax: Decimal,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub cost_tax_class_id: u64,
    pub shipping_zone_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub shipping_zone_name: String,
}

/// `GET /v2/orders/{id}/coupons` (bigcommerce-api.md §5 [doc]).
/// `discount` is a decimal in the order's currency; `amount` is the coupon's value (a
/// percentage for a percentage coupon).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderCoupon {
    pub id: u64,
    pub coupon_id: u64,
    pub order_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub code: String,
    #[serde(with = "serde_amount")]
    pub amount: Decimal,
    #[serde(with = "serde_amount")]
    pub discount: Decimal,
    /// 0 per_item, 1 percentage, 2 per_total, 3 shipping, 4 free_shipping, 5 promotions.
    #[serde(rename = "type")]
    pub coupon_type: u32,
}

/// `GET /v2/orders/{id}/taxes?details=true` (bigcommerce-api.md §5 [doc]).
/// `priority_amount` and `line_amount` are decimals in the order's currency; `rate` is a
/// percentage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderTax {
    pub id: u64,
    pub order_id: u64,
    pub order_address_id: u64,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub tax_class_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub name: String,
    /// The tax class name, e.g. `Standard`; `Automatic Tax` or `API Tax Override` when a
    /// provider calculated it.
    #[serde(deserialize_with = "text::deserialize")]
    pub class: String,
    #[serde(with = "serde_amount")]
    pub rate: Decimal,
    pub priority: u64,
    #[serde(with = "serde_amount")]
    pub priority_amount: Decimal,
    /// The tax amount of this line.
    #[serde(with = "serde_amount")]
    pub line_amount: Decimal,
    /// With `details=true`: the order product the row taxes (items only).
    #[serde(deserialize_with = "lenient_opt_u64::deserialize")]
    pub order_product_id: Option<u64>,
    /// With `details=true`: `item`, `shipping`, `handling` or `gift-wrapping`.
    #[serde(deserialize_with = "text::deserialize")]
    pub line_item_type: String,
}

/// `GET /v3/orders/{id}/transactions` `data[]` (bigcommerce-api.md §7 [doc]). `amount` is a
/// JSON number, read as a decimal in the transaction's `currency` through its text; dates
/// ISO 8601.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Transaction {
    pub id: u64,
    #[serde(deserialize_with = "money_text::deserialize")]
    pub order_id: String,
    /// `purchase|authorization|capture|refund|void|pending|settled`.
    #[serde(deserialize_with = "text::deserialize")]
    pub event: String,
    /// e.g. `credit_card`, `gift_certificate`, `store_credit`, `offline`, `custom`.
    #[serde(deserialize_with = "text::deserialize")]
    pub method: String,
    #[serde(with = "serde_amount")]
    pub amount: Decimal,
    #[serde(deserialize_with = "text::deserialize")]
    pub currency: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub gateway: String,
    /// `null` for gift certificates, store credit and offline methods.
    pub gateway_transaction_id: Option<String>,
    /// `ok` or `error`.
    #[serde(deserialize_with = "text::deserialize")]
    pub status: String,
    pub test: bool,
    #[serde(deserialize_with = "lenient_opt_u64::deserialize")]
    pub reference_transaction_id: Option<u64>,
    #[serde(deserialize_with = "text::deserialize")]
    pub date_created: String,
    pub payment_method_id: Option<String>,
}

/// `GET /v3/customers` `data[]` (bigcommerce-api.md §9 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub email: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub first_name: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub last_name: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub company: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub phone: String,
    /// 0 when the customer is in no group.
    pub customer_group_id: u64,
}

/// One order with the sub-resources a flow needs; the same layout as the sandbox seed
/// (`order.json`, `products.json`, `shipping_addresses.json`, `coupons.json`, `taxes.json`,
/// `transactions.json`, `customer.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderBundle {
    pub order: Order,
    pub products: Vec<OrderProduct>,
    pub shipping_addresses: Vec<ShippingAddress>,
    pub coupons: Vec<OrderCoupon>,
    pub taxes: Vec<OrderTax>,
    pub transactions: Vec<Transaction>,
    /// The registered customer (v3), `None` for guests.
    pub customer: Option<Customer>,
}

/// One adjustment of a refunded PRODUCT / GIFT_WRAPPING item: `amount` ≤ 0 in the order's
/// currency (bigcommerce-api.md §7 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundAdjustment {
    #[serde(with = "serde_amount")]
    pub amount: Decimal,
    #[serde(deserialize_with = "text::deserialize")]
    pub description: String,
}

/// One item of a refund (v3 refund `items[]`, bigcommerce-api.md §7 [doc]):
/// - `item_type` `PRODUCT` / `GIFT_WRAPPING`: `item_id` is the order product id, `quantity`
///   the units refunded (the refund carries no amount for them: `requested_amount` is
///   `null`);
/// - `SHIPPING` / `HANDLING` (`item_id` = order address id), `FEE` (fee id), `ORDER` (order
///   id, tax-exempt), `TAX`: `requested_amount` is the amount refunded, tax included, in the
///   order's currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundItem {
    #[serde(deserialize_with = "text::deserialize")]
    pub item_type: String,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub item_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub reason: String,
    #[serde(deserialize_with = "lenient_opt_u64::deserialize")]
    pub quantity: Option<u64>,
    #[serde(with = "serde_amount::option")]
    pub requested_amount: Option<Decimal>,
    pub adjustments: Vec<RefundAdjustment>,
}

/// One payment of a refund (v3 refund `payments[]`, §7 [doc]): the money sent back through
/// `provider_id` (a gateway such as `braintree`, `storecredit`, or `custom` for an offline
/// refund), `amount` in the order's currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundPayment {
    pub id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub provider_id: String,
    #[serde(with = "serde_amount")]
    pub amount: Decimal,
    pub offline: bool,
    pub is_declined: bool,
    #[serde(deserialize_with = "text::deserialize")]
    pub declined_message: String,
    #[serde(deserialize_with = "lenient_opt_u64::deserialize")]
    pub transaction_id: Option<u64>,
}

/// A refund as `GET /v3/orders/payment_actions/refunds[/{id}]` and
/// `GET /v3/orders/{id}/payment_actions/refunds` return it (bigcommerce-api.md §7 [doc]):
/// `total_amount` (tax included, rounded to 2 dp [doc]) and `total_tax` are JSON numbers in
/// the order's currency; `created` is ISO 8601 / RFC 3339.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Refund {
    pub id: u64,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub order_id: u64,
    #[serde(deserialize_with = "lenient_u64::deserialize")]
    pub user_id: u64,
    #[serde(deserialize_with = "text::deserialize")]
    pub created: String,
    #[serde(deserialize_with = "text::deserialize")]
    pub reason: String,
    #[serde(with = "serde_amount")]
    pub total_amount: Decimal,
    #[serde(with = "serde_amount")]
    pub total_tax: Decimal,
    pub uses_merchant_override_values: bool,
    pub items: Vec<RefundItem>,
    pub payments: Vec<RefundPayment>,
}

#[derive(Deserialize)]
struct V3List<T> {
    data: Vec<T>,
    #[serde(default)]
    meta: V3Meta,
}

#[derive(Deserialize, Default)]
struct V3Meta {
    #[serde(default)]
    pagination: Option<V3Pagination>,
}

#[derive(Deserialize, Default)]
struct V3Pagination {
    #[serde(default)]
    current_page: u32,
    #[serde(default)]
    total_pages: u32,
}

#[derive(Deserialize)]
struct V3One<T> {
    data: T,
}

#[derive(Deserialize)]
struct StoreTime {
    time: i64,
}

/// Typed BigCommerce calls over an [`Api`].
pub struct Client<'a> {
    api: &'a dyn Api,
}

impl<'a> Client<'a> {
    pub fn new(api: &'a dyn Api) -> Self {
        Client { api }
    }

    fn get_list<T: serde::de::DeserializeOwned>(&self, path: String) -> Result<Vec<T>, ApiError> {
        let what = format!("GET {path}");
        self.list(path, &what)
    }

    /// `GET path` on BigCommerce as a JSON list (a v2 list page, or any endpoint the typed
    /// calls lack); `what` names the call in errors. An empty v2 page (and an order without
    /// transactions) is 204 with an empty body: an empty list. A non-2xx is an
    /// [`ApiError::Status`] with the server's error items.
    pub fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: String,
        what: &str,
    ) -> Result<Vec<T>, ApiError> {
        let resp = http::send(self.api, Request::get(System::Bigcommerce, path), what)?;
        if resp.status == 204 || resp.body.trim().is_empty() {
            return Ok(vec![]);
        }
        http::decode(&resp.body, what)
    }

    /// `GET /v2/time`: the store's clock in Unix seconds (a cheap credentials check).
    pub fn time(&self) -> Result<i64, ApiError> {
        let what = "GET /v2/time";
        let resp = http::send(
            self.api,
            Request::get(System::Bigcommerce, "/v2/time"),
            what,
        )?;
        Ok(http::decode::<StoreTime>(&resp.body, what)?.time)
    }

    /// One page of `GET /v2/orders?min_date_modified=<date>&sort=date_modified:asc&limit=&page=`.
    /// `min_date_modified` is RFC 2822 or ISO 8601 (URL-encoded here). 204 → empty page.
    pub fn orders_modified_since_page(
        &self,
        min_date_modified: &str,
        page: u32,
        limit: u32,
    ) -> Result<Vec<Order>, ApiError> {
        self.get_list(format!(
            "/v2/orders?min_date_modified={}&sort=date_modified:asc&limit={}&page={}",
            encode(min_date_modified),
            limit.min(V2_MAX_LIMIT),
            page
        ))
    }

    /// Every order modified since `min_date_modified`, paging with `limit` until a short or
    /// 204 page; at most `max_pages` pages.
    pub fn orders_modified_since(
        &self,
        min_date_modified: &str,
        limit: u32,
        max_pages: u32,
    ) -> Result<Vec<Order>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=max_pages.max(1) {
            let rows = self.orders_modified_since_page(min_date_modified, page, limit)?;
            let short = (rows.len() as u32) < limit.min(V2_MAX_LIMIT);
            all.extend(rows);
            if short {
                break;
            }
        }
        Ok(all)
    }

    /// Every order modified since `min_date_modified` like [`Self::orders_modified_since`],
    /// each with its consignments ([`ORDER_INCLUDE`]).
    pub fn orders_with_consignments_modified_since(
        &self,
        min_date_modified: &str,
        limit: u32,
        max_pages: u32,
    ) -> Result<Vec<Order>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=max_pages.max(1) {
            let rows: Vec<Order> = self.get_list(format!(
                "/v2/orders?min_date_modified={}&sort=date_modified:asc&limit={}&page={page}&{ORDER_INCLUDE}",
                encode(min_date_modified),
                limit.min(V2_MAX_LIMIT),
            ))?;
            let short = (rows.len() as u32) < limit.min(V2_MAX_LIMIT);
            all.extend(rows);
            if short {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /v2/orders/{id}?` [`ORDER_INCLUDE`]: the order with its consignments; `None` on
    /// 404.
    pub fn order_with_consignments(&self, id: u64) -> Result<Option<Order>, ApiError> {
        self.order_at(format!("/v2/orders/{id}?{ORDER_INCLUDE}"))
    }

    /// `GET /v2/orders/{id}`; `None` on 404.
    pub fn order(&self, id: u64) -> Result<Option<Order>, ApiError> {
        self.order_at(format!("/v2/orders/{id}"))
    }

    fn order_at(&self, path: String) -> Result<Option<Order>, ApiError> {
        let what = format!("GET {path}");
        match http::send(self.api, Request::get(System::Bigcommerce, path), &what) {
            Ok(resp) => Ok(Some(http::decode(&resp.body, &what)?)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v2/orders/{id}/products?limit=250&page=N`, all pages.
    pub fn order_products(&self, id: u64) -> Result<Vec<OrderProduct>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=100 {
            let rows: Vec<OrderProduct> = self.get_list(format!(
                "/v2/orders/{id}/products?limit={V2_MAX_LIMIT}&page={page}"
            ))?;
            let short = rows.len() < V2_MAX_LIMIT as usize;
            all.extend(rows);
            if short {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /v2/orders/{id}/shipping_addresses?limit=250`.
    pub fn order_shipping_addresses(&self, id: u64) -> Result<Vec<ShippingAddress>, ApiError> {
        self.get_list(format!(
            "/v2/orders/{id}/shipping_addresses?limit={V2_MAX_LIMIT}"
        ))
    }

    /// `GET /v2/orders/{id}/coupons?limit=250` (204 when none).
    pub fn order_coupons(&self, id: u64) -> Result<Vec<OrderCoupon>, ApiError> {
        self.get_list(format!("/v2/orders/{id}/coupons?limit={V2_MAX_LIMIT}"))
    }

    /// `GET /v2/orders/{id}/taxes?details=true&limit=250`.
    pub fn order_taxes(&self, id: u64) -> Result<Vec<OrderTax>, ApiError> {
        self.get_list(format!(
            "/v2/orders/{id}/taxes?details=true&limit={V2_MAX_LIMIT}"
        ))
    }

    /// Refunds created at or after `created_min` (RFC 3339, URL-encoded here), ascending by
    /// id: `GET /v3/orders/payment_actions/refunds?created:min=&limit=250&page=N`
    /// (bigcommerce-api.md §7 [doc]), pages while `meta.pagination` says more follow, at most
    /// `max_pages`. A 204 or an empty page ends the list.
    pub fn refunds_created_since(
        &self,
        created_min: &str,
        max_pages: u32,
    ) -> Result<Vec<Refund>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=max_pages.max(1) {
            let path = format!(
                "/v3/orders/payment_actions/refunds?created:min={}&limit={V3_MAX_LIMIT}&page={page}",
                encode(created_min)
            );
            let what = "GET /v3/orders/payment_actions/refunds".to_string();
            let resp = http::send(self.api, Request::get(System::Bigcommerce, path), &what)?;
            if resp.status == 204 || resp.body.trim().is_empty() {
                break;
            }
            let list = http::decode::<V3List<Refund>>(&resp.body, &what)?;
            let n = list.data.len();
            all.extend(list.data);
            let more = list
                .meta
                .pagination
                .as_ref()
                .is_some_and(|p| p.current_page < p.total_pages);
            if n == 0 || !more {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /v3/orders/payment_actions/refunds/{id}` (§7 [doc]); `None` on 404.
    pub fn refund(&self, id: u64) -> Result<Option<Refund>, ApiError> {
        let path = format!("/v3/orders/payment_actions/refunds/{id}");
        let what = format!("GET {path}");
        match http::send(self.api, Request::get(System::Bigcommerce, path), &what) {
            Ok(resp) => Ok(Some(http::decode::<V3One<Refund>>(&resp.body, &what)?.data)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v3/orders/{id}/transactions` `data` (204 when none).
    pub fn order_transactions(&self, id: u64) -> Result<Vec<Transaction>, ApiError> {
        let path = format!("/v3/orders/{id}/transactions");
        let what = format!("GET {path}");
        let resp = http::send(self.api, Request::get(System::Bigcommerce, path), &what)?;
        if resp.status == 204 || resp.body.trim().is_empty() {
            return Ok(vec![]);
        }
        Ok(http::decode::<V3List<Transaction>>(&resp.body, &what)?.data)
    }

    /// `GET /v3/customers?id:in=<ids>&limit=250`, in chunks of 250 ids.
    pub fn customers_by_ids(&self, ids: &[u64]) -> Result<Vec<Customer>, ApiError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut all = Vec::new();
        for chunk in ids.chunks(V3_MAX_LIMIT as usize) {
            let csv = chunk
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let path = format!("/v3/customers?id:in={csv}&limit={V3_MAX_LIMIT}");
            let what = format!("GET {path}");
            let resp = http::send(self.api, Request::get(System::Bigcommerce, path), &what)?;
            if resp.status == 204 || resp.body.trim().is_empty() {
                continue;
            }
            all.extend(http::decode::<V3List<Customer>>(&resp.body, &what)?.data);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeApi;
    use crate::types::Response;

    fn answering(body: &'static str) -> FakeApi {
        FakeApi::new(move |_| Ok(Response::new(200, body)))
    }

    #[test]
    fn amounts_decode_from_strings_and_numbers_with_their_scale() {
        let api = answering(
            r#"{"id":118,"total_inc_tax":"12.3400","coupon_discount":" 0.0000 ","gift_certificate_amount":5,
                "store_credit_amount":2.5,"store_default_to_transactional_exchange_rate":"1.2500000000"}"#,
        );
        let o = Client::new(&api).order(118).unwrap().unwrap();
        assert_eq!(o.total_inc_tax.to_string(), "12.3400");
        assert!(o.coupon_discount.is_zero());
        assert_eq!(o.gift_certificate_amount, Decimal::from(5));
        assert_eq!(o.store_credit_amount, Decimal::new(25, 1));
        assert_eq!(
            o.store_default_to_transactional_exchange_rate,
            Some(Decimal::new(125, 2))
        );
        let api = answering(
            r#"{"data":[{"id":7,"amount":24.99,"currency":"GBP"},{"id":8,"amount":"10.5","currency":"GBP"}]}"#,
        );
        let t = Client::new(&api).order_transactions(118).unwrap();
        assert_eq!(
            t.iter().map(|t| t.amount.to_string()).collect::<Vec<_>>(),
            vec!["24.99", "10.5"]
        );
    }

    #[test]
    fn a_corrupt_amount_string_fails_the_decode_naming_the_field_and_the_value() {
        let api = answering(r#"{"id":118,"subtotal_ex_tax":"10.0000","total_inc_tax":"12.x4"}"#);
        let err = Client::new(&api).order(118).unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            r#"GET /v2/orders/118: cannot decode the response: total_inc_tax: "12.x4" is not a decimal amount"#
        );
        // In a list, the row's path and id.
        let api = answering(
            r#"[{"id":5501,"order_id":118,"total_tax":"1.5000"},{"id":5502,"order_id":118,"total_tax":"1,50"}]"#,
        );
        let err = Client::new(&api).order_products(118).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"GET /v2/orders/118/products?limit=250&page=1: cannot decode the response: [1].total_tax: "1,50" is not a decimal amount (row id 5502)"#
        );
        // An empty string or null is no amount either (BigCommerce sends "0.0000" for zero).
        for (body, shown) in [
            (
                r#"{"id":118,"coupon_discount":""}"#,
                r#"coupon_discount: """#,
            ),
            (
                r#"{"id":118,"coupon_discount":null}"#,
                "coupon_discount: null",
            ),
            (
                r#"{"id":118,"store_default_to_transactional_exchange_rate":"x"}"#,
                r#"store_default_to_transactional_exchange_rate: "x""#,
            ),
        ] {
            let api = FakeApi::new(move |_| Ok(Response::new(200, body)));
            let err = Client::new(&api).order(118).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "GET /v2/orders/118: cannot decode the response: {shown} is not a decimal amount"
                )
            );
        }
    }

    #[test]
    fn a_corrupt_amount_number_or_type_fails_the_decode_naming_the_field_and_the_value() {
        // 1e30 is a JSON number (shown as serde_json writes it) but out of a decimal amount's
        // range; true is no amount.
        let api = answering(r#"{"data":[{"id":7,"amount":24.99},{"id":9,"amount":1e30}]}"#);
        let err = Client::new(&api).order_transactions(118).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET /v3/orders/118/transactions: cannot decode the response: data[1].amount: 1e+30 is not a decimal amount (row id 9)"
        );
        let api = answering(r#"{"id":118,"shipping_cost_inc_tax":true}"#);
        let err = Client::new(&api).order(118).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET /v2/orders/118: cannot decode the response: shipping_cost_inc_tax: true is not a decimal amount"
        );
        // Not JSON at all: serde's own message, with its position.
        let api = answering("<html>");
        let err = Client::new(&api).order(118).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET /v2/orders/118: cannot decode the response: expected value at line 1 column 1"
        );
    }

    #[test]
    fn a_corrupt_amount_in_a_consignment_line_item_gives_no_parts() {
        let good: Order = serde_json::from_str(
            r#"{"id":118,"consignments":{"shipping":[{"id":9,"line_items":[{"id":1,"sku":"A","total_inc_tax":"2.0000"}]}]}}"#,
        )
        .unwrap();
        let (products, _) = good.consignment_parts().unwrap();
        assert_eq!(products[0].total_inc_tax.to_string(), "2.0000");
        let bad: Order = serde_json::from_str(
            r#"{"id":118,"consignments":{"shipping":[{"id":9,"line_items":[{"id":1,"sku":"A","total_inc_tax":"2.x"}]}]}}"#,
        )
        .unwrap();
        assert_eq!(bad.consignment_parts(), None);
    }
}
