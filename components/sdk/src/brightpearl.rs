//! Brightpearl models and a typed client for the endpoints the flows use
//! (brightpearl-api.md §3–§7 [doc]/[obs]). Request bodies serialise with Brightpearl's own
//! field names (camelCase, `ref`); `None` fields are left out.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::capabilities::{Api, ApiError};
use crate::dates::Timestamp;
use crate::http;
use crate::types::{Method, Request, System};
use crate::url::encode;

/// `{"response": ...}`: the success envelope (§3.1 [doc]). Failures are
/// `{"errors":[{"code","message"}]}` and surface as [`ApiError::Status`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub response: T,
}

/// The answer of a call that returns nothing: a bare `{}` (`PUT /order-service/order/{id}/status`
/// and `DELETE` requests answer this, no `response` member [obs]) or an envelope
/// `{"response": …}` whose content is ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
}

/// Decode a 2xx body of a call that returns nothing: `{}`, `{"response": …}` or an empty body
/// are all fine; anything else (not JSON, not an object) is an [`ApiError::Decode`] naming
/// `what`.
pub fn decode_no_content(body: &str, what: &str) -> Result<NoContent, ApiError> {
    if body.trim().is_empty() {
        return Ok(NoContent::default());
    }
    http::decode::<NoContent>(body, what)
}

/// An address on a sales order or a `POST /contact-service/postal-address` body (§4.1, §6
/// [doc]). Lines map street / suburb / city / state. `countryIsoCode` carries BigCommerce's
/// 2-letter code (whether Brightpearl accepts 2 as well as 3 letters is [unconfirmed]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    pub address_line1: String,
    pub address_line2: String,
    pub address_line3: String,
    pub address_line4: String,
    pub postal_code: String,
    pub country_iso_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `customer` of a sales order: the contact id (required) and an address override.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderCustomer {
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
}

/// `currency` of a sales order (§4.1 [doc]/[obs]); `exchangeRate` is a decimal string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCurrency {
    pub code: String,
    pub fixed_exchange_rate: bool,
    pub exchange_rate: String,
}

/// `delivery` of a sales order (§4.1 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_method_id: Option<u64>,
}

/// One order row of a sales order (§4.1 [doc]): `productId` or `name` (free-text row),
/// `quantity` as a string, `net` = row total ex tax, `tax` = row tax, `taxCode`,
/// `nominalCode`, `externalRef`. `net` and `tax` are decimals in the order's currency (≤ 4
/// dp), sent as strings with their scale kept (`"10.00"`, [`crate::money::serde_amount`]):
/// give them the places to send ([`crate::money::fixed`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub quantity: String,
    pub tax_code: String,
    #[serde(with = "crate::money::serde_amount")]
    pub net: Decimal,
    #[serde(with = "crate::money::serde_amount")]
    pub tax: Decimal,
    pub nominal_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
}

/// `POST /order-service/sales-order` body: header and rows in one atomic call (§4.1 [doc]).
/// `externalRef` + `installedIntegrationInstanceId` form a unique key server-side [doc].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrder {
    pub customer: SalesOrderCustomer,
    #[serde(rename = "ref")]
    pub reference: String,
    pub external_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_integration_instance_id: Option<u64>,
    /// ISO 8601.
    pub placed_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_date: Option<String>,
    pub status_id: u64,
    pub channel_id: u64,
    pub warehouse_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_list_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_mode_code: Option<String>,
    pub currency: OrderCurrency,
    pub delivery: Delivery,
    pub rows: Vec<SalesOrderRow>,
}

/// `POST /order-service/order/{id}/note` body (§4.4 [doc]): `isPublic` false keeps it
/// staff-only (not on the customer portal).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNote {
    pub text: String,
    pub is_public: bool,
}

/// One note of `GET /order-service/order/{id}/note` `response[]` [doc].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderNoteRecord {
    pub note_id: u64,
    pub text: String,
    pub is_public: bool,
}

/// `postAddressIds` of a contact: address ids by type `DEF`, `BIL`, `DEL` (§6 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostAddressIds {
    #[serde(rename = "DEF")]
    pub def: u64,
    #[serde(rename = "BIL")]
    pub bil: u64,
    #[serde(rename = "DEL")]
    pub del: u64,
}

/// One e-mail address of a contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactEmail {
    pub email: String,
}

/// `communication` of a contact: e-mails by type (`PRI`), telephones by type (`PRI`, `MOB`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Communication {
    pub emails: BTreeMap<String, ContactEmail>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub telephones: BTreeMap<String, String>,
}

/// `organisation` of a contact (company name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
}

/// `relationshipToAccount` of a contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipToAccount {
    pub is_supplier: bool,
    pub is_staff: bool,
}

/// `marketingDetails` of a contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketingDetails {
    pub is_receive_email_newsletter: bool,
}

/// `financialDetails` of a contact (price list; where it sits on POST is [unconfirmed], GET
/// returns it here [obs]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinancialDetails {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub price_list_id: Option<u64>,
}

/// `POST /contact-service/contact` body (§6 [doc]/[obs]). First and last name ≤ 32 chars.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCreate {
    pub first_name: String,
    pub last_name: String,
    pub post_address_ids: PostAddressIds,
    pub communication: Communication,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<Organisation>,
    pub relationship_to_account: RelationshipToAccount,
    pub marketing_details: MarketingDetails,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub financial_details: Option<FinancialDetails>,
}

/// The part of `GET /contact-service/contact/{id}` the flows read (§6 [obs]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Contact {
    pub contact_id: u64,
    pub first_name: String,
    pub last_name: String,
    pub financial_details: FinancialDetails,
}

/// `paymentType` of a customer payment (§5 [doc]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PaymentType {
    /// Money in, pays a sales order.
    Receipt,
    /// Money out, refunds a sales credit.
    Payment,
    /// An authorisation (needs `amountAuthorized` and `authorizationExpiry`).
    Auth,
    /// Captures an AUTH with the same `transactionCode`.
    Capture,
    Void,
}

/// `POST /accounting-service/customer-payment` body (§5 [doc]). (`transactionRef`,
/// `paymentMethodCode`) is unique server-side. `amountAuthorized` and `amountPaid` are
/// decimals in `currencyIsoCode`, sent as strings with their scale kept (`"24.00"`,
/// [`crate::money::serde_amount`]); `exchangeRate` is a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPayment {
    pub transaction_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_code: Option<String>,
    pub payment_method_code: String,
    pub payment_type: PaymentType,
    pub order_id: u64,
    pub currency_iso_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::money::serde_amount::option"
    )]
    pub amount_authorized: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::money::serde_amount::option"
    )]
    pub amount_paid: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_expiry: Option<String>,
    /// ISO 8601.
    pub payment_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_ref: Option<String>,
}

/// `POST /order-service/sales-credit` body (brightpearl-api.md §10 [doc]): the sales order
/// field set plus **`parentId`** (the sales order credited); header and rows in one call.
/// Quantities are positive (the sign comes from the order type [client]); `net` and `tax`
/// of each row are the credited amounts in the credit's currency. `externalRef` +
/// `installedIntegrationInstanceId` form a unique key server-side [doc].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesCredit {
    pub customer: SalesOrderCustomer,
    pub parent_id: u64,
    #[serde(rename = "ref")]
    pub reference: String,
    pub external_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_integration_instance_id: Option<u64>,
    /// ISO 8601.
    pub placed_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<u64>,
    pub channel_id: u64,
    pub warehouse_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_list_id: Option<u64>,
    pub currency: OrderCurrency,
    pub rows: Vec<SalesOrderRow>,
}

/// `productValue` of a goods movement: the value of one unit in a currency (§10 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductValue {
    pub currency: String,
    #[serde(with = "crate::money::serde_amount")]
    pub value: Decimal,
}

/// One line of a goods-in note: units of a product received against an order row
/// (`purchaseOrderRowId` names the row of a purchase order *or* a sales credit, §10 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GoodsMoved {
    pub product_id: u64,
    pub purchase_order_row_id: u64,
    pub quantity: u64,
    pub destination_location_id: u64,
    pub product_value: ProductValue,
}

/// `POST /warehouse-service/order/{orderId}/goods-note/goods-in` body (§10 [doc]): stock
/// received into one warehouse. `userBatchReference` is optional but unique across all
/// goods-in notes [doc]: the flows' external reference for them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GoodsInNote {
    pub transfer: bool,
    pub warehouse_id: u64,
    pub goods_moved: Vec<GoodsMoved>,
    /// ISO 8601.
    pub received_on: String,
    pub user_batch_reference: String,
}

/// A goods-in note as `GET /warehouse-service/order/{idSet}/goods-note/goods-in/` returns it
/// (a map of note id → note, §10 [doc]); the part the flows read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GoodsInNoteRecord {
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub goods_note_id: u64,
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub order_id: u64,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub user_batch_reference: String,
    pub goods_moved: Vec<GoodsMoved>,
}

/// One product's defaults in a warehouse (`GET /warehouse-service/warehouse/{id}/product/{idSet}`,
/// §10 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WarehouseDefaults {
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub product_id: u64,
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub default_location_id: u64,
}

/// A money value of an order GET (`{"currencyCode", "value"}`), the value a decimal string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MoneyValue {
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub currency_code: String,
    #[serde(with = "crate::money::serde_amount")]
    pub value: Decimal,
}

/// `rowValue` of an order row (§4.3 [obs]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RowValue {
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub tax_code: String,
    pub row_net: MoneyValue,
    pub row_tax: MoneyValue,
}

/// `quantity` of an order row (`{"magnitude": "3.0000"}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RowMagnitude {
    #[serde(with = "crate::money::serde_amount")]
    pub magnitude: Decimal,
}

/// One row of `GET /order-service/order/{id}` `orderRows` (§4.3 [doc]/[obs]); what the
/// refunds flow reads: the product, units, row net and tax, tax code, nominal code and the
/// `externalRef` the orders flow writes (the BigCommerce order product id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderRowRecord {
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub product_id: u64,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub product_name: String,
    pub quantity: RowMagnitude,
    /// Cost of one unit as the row was sold (`itemCost`, §4.3 [obs]): the value a return
    /// goes back into stock at.
    pub item_cost: MoneyValue,
    pub row_value: RowValue,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub nominal_code: String,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub external_ref: String,
}

/// `invoices[]` of an order: `invoiceReference` is `""` until it is invoiced (§4.6 [obs]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InvoiceRecord {
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub invoice_reference: String,
}

/// `currency` of an order GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderCurrencyRecord {
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub order_currency_code: String,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub exchange_rate: String,
}

/// A party of an order GET (`parties.customer`): its contact id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PartyRecord {
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub contact_id: u64,
}

/// `parties` of an order GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartiesRecord {
    pub customer: PartyRecord,
}

/// `assignment.current` of an order GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignmentRecord {
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub channel_id: u64,
}

/// `assignment` of an order GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssignmentsRecord {
    pub current: AssignmentRecord,
}

/// An order as `GET /order-service/order/{idSet}` returns it (§4.3 [doc]/[obs]); the part
/// the refunds flow reads. Invoiced = `invoices[0].invoiceReference` non-empty (§4.6 [obs]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderRecord {
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub id: u64,
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub parent_order_id: u64,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub order_type_code: String,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub reference: String,
    #[serde(deserialize_with = "crate::http::money_text::deserialize")]
    pub external_ref: String,
    #[serde(deserialize_with = "crate::http::lenient_opt_u64::deserialize")]
    pub price_list_id: Option<u64>,
    #[serde(deserialize_with = "crate::http::lenient_u64::deserialize")]
    pub warehouse_id: u64,
    pub invoices: Vec<InvoiceRecord>,
    pub currency: OrderCurrencyRecord,
    pub assignment: AssignmentsRecord,
    pub parties: PartiesRecord,
    /// Row id → row (a map, row order undefined [obs]).
    pub order_rows: BTreeMap<String, OrderRowRecord>,
}

impl OrderRecord {
    /// True once the order is invoiced (`invoices[0].invoiceReference` non-empty).
    pub fn is_invoiced(&self) -> bool {
        self.invoices
            .first()
            .is_some_and(|i| !i.invoice_reference.trim().is_empty())
    }

    /// Σ rows' net + tax.
    pub fn total(&self) -> Decimal {
        self.order_rows
            .values()
            .map(|r| r.row_value.row_net.value + r.row_value.row_tax.value)
            .sum()
    }
}

/// One column of a search response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchColumn {
    pub name: String,
}

/// `metaData` of a search response (§3.3 [obs]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchMetaData {
    pub more_pages_available: bool,
    pub results_available: u64,
    pub results_returned: u64,
    pub first_result: u64,
    pub last_result: u64,
    pub columns: Vec<SearchColumn>,
}

/// The `response` of a `…-search` call: positional `results` rows to be zipped with
/// `metaData.columns` (§3.3 [obs]; columns differ between accounts, never index by position).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchResponse {
    pub meta_data: SearchMetaData,
    pub results: Vec<Vec<serde_json::Value>>,
}

/// One search result row keyed by column name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchRow(pub BTreeMap<String, serde_json::Value>);

impl SearchRow {
    /// An integer column (number or numeric string).
    pub fn u64(&self, column: &str) -> Option<u64> {
        match self.0.get(column)? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A text column (numbers are given as their text).
    pub fn str(&self, column: &str) -> Option<String> {
        match self.0.get(column)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

impl SearchResponse {
    /// The result rows keyed by column name.
    pub fn rows(&self) -> Vec<SearchRow> {
        self.results
            .iter()
            .map(|r| {
                SearchRow(
                    self.meta_data
                        .columns
                        .iter()
                        .zip(r.iter())
                        .map(|(c, v)| (c.name.clone(), v.clone()))
                        .collect(),
                )
            })
            .collect()
    }
}

/// A contact found by e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactMatch {
    pub contact_id: u64,
    pub primary_email: String,
}

/// A customer payment found by search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMatch {
    pub payment_id: u64,
    pub order_id: u64,
    pub transaction_ref: String,
    pub payment_method_code: String,
    pub payment_type: String,
}

/// Most messages in one `POST /multi-message` request (§3.7 [doc]).
pub const MULTI_MESSAGE_MAX: usize = 10;

/// Most pages [`Client::product_sku_index`] reads (500 rows each: 200 000 products).
pub const PRODUCT_INDEX_MAX_PAGES: u32 = 400;

/// What [`Client::product_skus`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductSkus {
    /// SKU → product id.
    pub index: BTreeMap<String, u64>,
    /// Every product id read (with or without a SKU).
    pub ids: std::collections::BTreeSet<u64>,
    /// The newest `updatedOn` read (UTC).
    pub newest: Option<Timestamp>,
    /// Search pages read.
    pub pages: u32,
}

/// One product of [`Client::product_rows`]: its id, its SKU exactly as Brightpearl holds it
/// (empty when it has none) and whether its stock is tracked (`None` when the account's
/// search has no `stockTracked` column).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductRow {
    pub id: u64,
    pub sku: String,
    pub stock_tracked: Option<bool>,
}

/// One message of a `POST /multi-message` request (§3.7 [doc]): a destructive call
/// (`POST`, `PUT`, `DELETE`) to `uri` (relative to the account, e.g.
/// `/accounting-service/customer-payment`) with a JSON body, named by `label`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub label: String,
    pub uri: String,
    pub http_method: String,
    pub body: serde_json::Value,
}

/// The reply to one processed message: its HTTP status and `body.content`, the reply body as
/// a JSON **string** (§3.7 [client]), e.g. `"{\"response\":935253}"`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageReply {
    pub label: String,
    pub status_code: u16,
    pub content: String,
}

impl MessageReply {
    /// The id a creating message returned (`{"response": <id>}` in a 2xx), or the message's
    /// failure as an [`ApiError::Status`] (errors decoded from the content), named
    /// `POST <uri> (multi-message <label>)` by `what`.
    pub fn created_id(&self, what: &str) -> Result<u64, ApiError> {
        if (200..300).contains(&self.status_code) {
            Ok(http::decode::<Envelope<u64>>(&self.content, what)?.response)
        } else {
            Err(ApiError::Status {
                system: System::Brightpearl,
                what: what.into(),
                status: self.status_code,
                errors: http::error_items(&self.content),
                body: self.content.clone(),
            })
        }
    }
}

/// The `response` of a `POST /multi-message` (200 all succeeded, 207 mixed; §3.7 [client]):
/// the processed messages with their replies and the labels that were not run (after an
/// `onFail: STOP`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiMessageResponse {
    pub processed: Vec<MessageReply>,
    pub unprocessed: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMultiResponse {
    #[serde(default)]
    processed_messages: Vec<RawProcessed>,
    #[serde(default)]
    unprocessed_messages: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProcessed {
    #[serde(default)]
    label: String,
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    body: serde_json::Value,
}

/// A processed message's reply body: `body.content` as a JSON string (§3.7 [client]); also
/// accepted: `content` as a JSON value, `body` itself as a string, or a `body` without
/// `content` (e.g. `{"errors":[..]}` directly), so a server's error is never lost.
fn message_content(body: serde_json::Value) -> String {
    use serde_json::Value;
    match body {
        Value::Null => String::new(),
        Value::String(s) => s,
        Value::Object(mut o) => match o.remove("content") {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None if o.is_empty() => String::new(),
            Some(Value::Null) | None => Value::Object(o).to_string(),
            Some(other) => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// A `POST /accounting-service/customer-payment` message for a multi-message request.
pub fn customer_payment_message(label: &str, payment: &CustomerPayment) -> Message {
    Message {
        label: label.into(),
        uri: "/accounting-service/customer-payment".into(),
        http_method: "POST".into(),
        body: serde_json::to_value(payment).unwrap_or(serde_json::Value::Null),
    }
}

/// Typed Brightpearl calls over an [`Api`].
pub struct Client<'a> {
    api: &'a dyn Api,
}

impl<'a> Client<'a> {
    pub fn new(api: &'a dyn Api) -> Self {
        Client { api }
    }

    fn search(&self, path: String) -> Result<SearchResponse, ApiError> {
        let what = format!("GET {path}");
        let resp = http::send(self.api, Request::get(System::Brightpearl, path), &what)?;
        Ok(http::decode::<Envelope<SearchResponse>>(&resp.body, &what)?.response)
    }

    /// Every page of a search (`pageSize=500`, `firstResult` from 1), at most 20 pages.
    fn search_all(&self, base: &str) -> Result<Vec<SearchRow>, ApiError> {
        let mut rows = Vec::new();
        let mut first = 1u64;
        for _ in 0..20 {
            let sep = if base.contains('?') { '&' } else { '?' };
            let page = self.search(format!(
                "{base}{sep}pageSize={}&firstResult={first}",
                crate::idset::SEARCH_PAGE_SIZE
            ))?;
            let got = page.results.len() as u64;
            rows.extend(page.rows());
            if !page.meta_data.more_pages_available || got == 0 {
                break;
            }
            first = page.meta_data.last_result.max(first + got - 1) + 1;
        }
        Ok(rows)
    }

    fn create<B: Serialize>(&self, path: &str, body: &B) -> Result<u64, ApiError> {
        let what = format!("POST {path}");
        let json = serde_json::to_string(body).map_err(|e| ApiError::Decode {
            what: what.clone(),
            message: e.to_string(),
        })?;
        let resp = http::send(
            self.api,
            Request::post(System::Brightpearl, path, json),
            &what,
        )?;
        Ok(http::decode::<Envelope<u64>>(&resp.body, &what)?.response)
    }

    /// `GET /contact-service/contact-search?primaryEmail=<email>`: contacts whose primary
    /// e-mail equals `email` (case-insensitive; the filter is a text search, §6 [obs]),
    /// lowest contact id first (duplicates exist [obs]).
    pub fn contacts_by_email(&self, email: &str) -> Result<Vec<ContactMatch>, ApiError> {
        let rows = self.search_all(&format!(
            "/contact-service/contact-search?primaryEmail={}",
            encode(email)
        ))?;
        let mut found: Vec<ContactMatch> = rows
            .iter()
            .filter_map(|r| {
                let primary = r.str("primaryEmail")?;
                let contact_id = r.u64("contactId")?;
                primary
                    .trim()
                    .eq_ignore_ascii_case(email.trim())
                    .then_some(ContactMatch {
                        contact_id,
                        primary_email: primary,
                    })
            })
            .collect();
        found.sort_by_key(|c| c.contact_id);
        Ok(found)
    }

    /// `GET /contact-service/contact/{id}`; `None` when absent (200 `[]` or 404).
    pub fn contact(&self, id: u64) -> Result<Option<Contact>, ApiError> {
        let path = format!("/contact-service/contact/{id}");
        let what = format!("GET {path}");
        match http::send(self.api, Request::get(System::Brightpearl, path), &what) {
            Ok(resp) => Ok(http::decode::<Envelope<Vec<Contact>>>(&resp.body, &what)?
                .response
                .into_iter()
                .find(|c| c.contact_id == id)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /contact-service/postal-address` → the new address id.
    pub fn create_postal_address(&self, address: &PostalAddress) -> Result<u64, ApiError> {
        self.create("/contact-service/postal-address", address)
    }

    /// `POST /contact-service/contact` → the new contact id.
    pub fn create_contact(&self, contact: &ContactCreate) -> Result<u64, ApiError> {
        self.create("/contact-service/contact", contact)
    }

    /// `GET /product-service/product-search?SKU=<sku>`: product ids whose `SKU` equals `sku`
    /// exactly (§7 [obs]).
    pub fn products_by_sku(&self, sku: &str) -> Result<Vec<u64>, ApiError> {
        let rows = self.search_all(&format!(
            "/product-service/product-search?SKU={}",
            encode(sku)
        ))?;
        let mut ids: Vec<u64> = rows
            .iter()
            .filter(|r| r.str("SKU").as_deref() == Some(sku))
            .filter_map(|r| r.u64("productId"))
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Product ids for several SKUs. The `SKU` filter is a single STRING value (§3.3 [obs];
    /// no documented list form), so this is one search per SKU; SKUs without a product are
    /// absent from the map; when several products share a SKU the lowest id wins.
    pub fn products_by_skus(&self, skus: &[String]) -> Result<BTreeMap<String, u64>, ApiError> {
        let mut out = BTreeMap::new();
        for sku in skus {
            if out.contains_key(sku) {
                continue;
            }
            if let Some(id) = self.products_by_sku(sku)?.first() {
                out.insert(sku.clone(), *id);
            }
        }
        Ok(out)
    }

    /// SKU → product id of every product: [`Client::product_skus`] without a filter.
    /// Returns the index and the number of pages read.
    pub fn product_sku_index(
        &self,
        max_pages: u32,
    ) -> Result<(BTreeMap<String, u64>, u32), ApiError> {
        let skus = self.product_skus(None, max_pages)?;
        Ok((skus.index, skus.pages))
    }

    /// SKU → product id of the products updated since `updated_since` (UTC; every product
    /// when `None`): `GET /product-service/product-search` with `updatedOn=<since>/` (a
    /// PERIOD filter, §3.3 [doc]), `columns=productId,SKU,updatedOn`, `pageSize=500`,
    /// `firstResult` from 1 while `morePagesAvailable` (§3.3 [doc]/[obs], §7 [obs]), at most
    /// `max_pages` pages. SKUs are kept exactly as Brightpearl holds them; products without
    /// a SKU are left out of the index (but listed in `ids`); when several products share a
    /// SKU the lowest id wins.
    pub fn product_skus(
        &self,
        updated_since: Option<Timestamp>,
        max_pages: u32,
    ) -> Result<ProductSkus, ApiError> {
        let filter = updated_since
            .map(|t| format!("&updatedOn={}/", t.to_iso8601()))
            .unwrap_or_default();
        let mut out = ProductSkus::default();
        let mut first = 1u64;
        while out.pages < max_pages {
            let page = self.search(format!(
                "/product-service/product-search?columns=productId,SKU,updatedOn{filter}&pageSize={}&firstResult={first}",
                crate::idset::SEARCH_PAGE_SIZE
            ))?;
            out.pages += 1;
            let got = page.results.len() as u64;
            for row in page.rows() {
                let Some(id) = row.u64("productId") else {
                    continue;
                };
                out.ids.insert(id);
                if let Some(t) = row
                    .str("updatedOn")
                    .and_then(|t| Timestamp::parse_iso8601(&t).ok())
                {
                    out.newest = Some(out.newest.map_or(t, |n| n.max(t)));
                }
                match row.str("SKU") {
                    Some(sku) if !sku.is_empty() => {
                        let e = out.index.entry(sku).or_insert(id);
                        *e = (*e).min(id);
                    }
                    _ => {}
                }
            }
            if !page.meta_data.more_pages_available || got == 0 {
                break;
            }
            first = page.meta_data.last_result.max(first + got - 1) + 1;
        }
        Ok(out)
    }

    /// Every product, duplicates of a SKU included: `GET /product-service/product-search`
    /// with `columns=productId,SKU,stockTracked`, `pageSize=500`, `firstResult` from 1 while
    /// `morePagesAvailable` (§3.3 [doc]/[obs]; `stockTracked` is a BOOLEAN column, §3.3
    /// [obs]), at most `max_pages` pages. Returns the rows in id order and the pages read.
    pub fn product_rows(&self, max_pages: u32) -> Result<(Vec<ProductRow>, u32), ApiError> {
        let mut rows = BTreeMap::new();
        let mut pages = 0u32;
        let mut first = 1u64;
        while pages < max_pages {
            let page = self.search(format!(
                "/product-service/product-search?columns=productId,SKU,stockTracked&pageSize={}&firstResult={first}",
                crate::idset::SEARCH_PAGE_SIZE
            ))?;
            pages += 1;
            let got = page.results.len() as u64;
            for row in page.rows() {
                let Some(id) = row.u64("productId") else {
                    continue;
                };
                let stock_tracked = match row.0.get("stockTracked") {
                    Some(serde_json::Value::Bool(b)) => Some(*b),
                    Some(serde_json::Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                        "true" => Some(true),
                        "false" => Some(false),
                        _ => None,
                    },
                    _ => None,
                };
                rows.insert(
                    id,
                    ProductRow {
                        id,
                        sku: row.str("SKU").unwrap_or_default(),
                        stock_tracked,
                    },
                );
            }
            if !page.meta_data.more_pages_available || got == 0 {
                break;
            }
            first = page.meta_data.last_result.max(first + got - 1) + 1;
        }
        Ok((rows.into_values().collect(), pages))
    }

    /// `POST /multi-message` with `processingMode: SEQUENTIAL`, `onFail: CONTINUE` and 1 to
    /// [`MULTI_MESSAGE_MAX`] messages (§3.7 [doc]/[client]). A 200 or 207 comes back as the
    /// per-message replies (each `body.content` a JSON string, decoded by
    /// [`MessageReply::created_id`]); a failure of the whole request (404 when the gateway is
    /// missing, 5xx, `outcome-unknown`) is an [`ApiError`].
    pub fn multi_message(&self, messages: &[Message]) -> Result<MultiMessageResponse, ApiError> {
        let what = "POST /multi-message".to_string();
        let body = serde_json::json!({
            "processingMode": "SEQUENTIAL",
            "onFail": "CONTINUE",
            "messages": messages,
        });
        let resp = http::send(
            self.api,
            Request::post(System::Brightpearl, "/multi-message", body.to_string()),
            &what,
        )?;
        let raw = http::decode::<Envelope<RawMultiResponse>>(&resp.body, &what)?.response;
        Ok(MultiMessageResponse {
            processed: raw
                .processed_messages
                .into_iter()
                .map(|p| MessageReply {
                    label: p.label,
                    status_code: p.status_code,
                    content: message_content(p.body),
                })
                .collect(),
            unprocessed: raw
                .unprocessed_messages
                .into_iter()
                .filter_map(|u| match u {
                    serde_json::Value::String(s) => Some(s),
                    other => other
                        .get("label")
                        .and_then(|l| l.as_str())
                        .map(str::to_string),
                })
                .collect(),
        })
    }

    /// `PUT /order-service/order/{order_id}/status` with `{"orderStatusId": status_id}` and,
    /// when given, an `orderNote` `{"text", "isPublic": false}` (§4.4 [doc]). The answer is a
    /// bare `{}` [obs] (an enveloped one is accepted too).
    pub fn set_order_status(
        &self,
        order_id: u64,
        status_id: u64,
        note: Option<&str>,
    ) -> Result<(), ApiError> {
        let path = format!("/order-service/order/{order_id}/status");
        let what = format!("PUT {path}");
        let mut body = serde_json::json!({ "orderStatusId": status_id });
        if let Some(text) = note {
            body["orderNote"] = serde_json::json!({"text": text, "isPublic": false});
        }
        let req = Request {
            system: System::Brightpearl,
            method: Method::Put,
            path,
            body: Some(body.to_string()),
            headers: vec![],
        };
        let resp = http::send(self.api, req, &what)?;
        decode_no_content(&resp.body, &what).map(|_| ())
    }

    /// `DELETE /integration-service/webhook/{id}` (§11 [doc]); answers a bare `{}` [obs].
    pub fn delete_webhook(&self, id: u64) -> Result<(), ApiError> {
        let path = format!("/integration-service/webhook/{id}");
        let what = format!("DELETE {path}");
        let req = Request {
            system: System::Brightpearl,
            method: Method::Delete,
            path,
            body: None,
            headers: vec![],
        };
        let resp = http::send(self.api, req, &what)?;
        decode_no_content(&resp.body, &what).map(|_| ())
    }

    /// `POST /order-service/sales-order` → the new sales order id.
    pub fn create_sales_order(&self, order: &SalesOrder) -> Result<u64, ApiError> {
        self.create("/order-service/sales-order", order)
    }

    /// `GET /order-service/order-search?orderTypeId=1&externalRef=<ref>` → sales order ids
    /// (column `orderId`) carrying that external reference (§3.3 [doc]).
    pub fn sales_orders_by_external_ref(&self, external_ref: &str) -> Result<Vec<u64>, ApiError> {
        self.orders_by_external_ref(1, external_ref)
    }

    /// `GET /order-service/order-search?orderTypeId=<type>&externalRef=<ref>` → the ids
    /// (column `orderId`) of orders of that type carrying that external reference, lowest
    /// first; rows whose `externalRef` differs (a partial match) are left out.
    fn orders_by_external_ref(
        &self,
        order_type_id: u32,
        external_ref: &str,
    ) -> Result<Vec<u64>, ApiError> {
        let rows = self.search_all(&format!(
            "/order-service/order-search?orderTypeId={order_type_id}&externalRef={}",
            encode(external_ref)
        ))?;
        let mut ids: Vec<u64> = rows
            .iter()
            .filter(|r| {
                r.str("externalRef")
                    .map(|e| e == external_ref)
                    .unwrap_or(true)
            })
            .filter_map(|r| r.u64("orderId"))
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// `POST /order-service/order/{order_id}/note` `{"text","isPublic"}` → the new note id
    /// (§4.4 [doc]).
    pub fn add_order_note(&self, order_id: u64, note: &OrderNote) -> Result<u64, ApiError> {
        self.create(&format!("/order-service/order/{order_id}/note"), note)
    }

    /// `GET /order-service/order/{order_id}/note`: every note of the order, oldest first
    /// (api-docs "Order Note GET" [doc]).
    pub fn order_notes(&self, order_id: u64) -> Result<Vec<OrderNoteRecord>, ApiError> {
        let path = format!("/order-service/order/{order_id}/note");
        let what = format!("GET {path}");
        let resp = http::send(self.api, Request::get(System::Brightpearl, path), &what)?;
        Ok(http::decode::<Envelope<Vec<OrderNoteRecord>>>(&resp.body, &what)?.response)
    }

    /// `POST /order-service/sales-credit` → the new sales credit id (§10 [doc]).
    pub fn create_sales_credit(&self, credit: &SalesCredit) -> Result<u64, ApiError> {
        self.create("/order-service/sales-credit", credit)
    }

    /// `GET /order-service/order-search?orderTypeId=3&externalRef=<ref>` → sales credit ids
    /// (order type 3 = SC, §10 [doc]) carrying that external reference, lowest first.
    pub fn sales_credits_by_external_ref(&self, external_ref: &str) -> Result<Vec<u64>, ApiError> {
        self.orders_by_external_ref(3, external_ref)
    }

    /// `GET /order-service/order/{id}` (§4.3 [doc]): the order, `None` when absent (200 `[]`
    /// or 404, §3.2 [obs]).
    pub fn order(&self, id: u64) -> Result<Option<OrderRecord>, ApiError> {
        let path = format!("/order-service/order/{id}");
        let what = format!("GET {path}");
        match http::send(self.api, Request::get(System::Brightpearl, path), &what) {
            Ok(resp) => Ok(
                http::decode::<Envelope<Vec<OrderRecord>>>(&resp.body, &what)?
                    .response
                    .into_iter()
                    .find(|o| o.id == id),
            ),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /warehouse-service/warehouse/{warehouseId}/product/{productIdSet}` (≤ 200 products
    /// a call, §10 [doc]) → product id → its default location in that warehouse. Products
    /// without defaults there are absent.
    pub fn default_locations(
        &self,
        warehouse_id: u64,
        product_ids: &[u64],
    ) -> Result<BTreeMap<u64, u64>, ApiError> {
        let mut out = BTreeMap::new();
        for set in crate::idset::chunks(product_ids, 200) {
            let path = format!("/warehouse-service/warehouse/{warehouse_id}/product/{set}");
            let what = format!("GET {path}");
            let resp = http::send(self.api, Request::get(System::Brightpearl, path), &what)?;
            for d in http::decode::<Envelope<Vec<WarehouseDefaults>>>(&resp.body, &what)?.response {
                out.insert(d.product_id, d.default_location_id);
            }
        }
        Ok(out)
    }

    /// `POST /warehouse-service/order/{orderId}/goods-note/goods-in` → the new goods-in note
    /// id (§10 [doc]; against a sales credit its rows return to stock).
    pub fn create_goods_in_note(&self, order_id: u64, note: &GoodsInNote) -> Result<u64, ApiError> {
        self.create(
            &format!("/warehouse-service/order/{order_id}/goods-note/goods-in"),
            note,
        )
    }

    /// `GET /warehouse-service/order/{orderId}/goods-note/goods-in/` (§10 [doc]): the goods-in
    /// notes of an order, lowest id first.
    pub fn goods_in_notes(&self, order_id: u64) -> Result<Vec<GoodsInNoteRecord>, ApiError> {
        let path = format!("/warehouse-service/order/{order_id}/goods-note/goods-in/");
        let what = format!("GET {path}");
        let resp = http::send(self.api, Request::get(System::Brightpearl, path), &what)?;
        let notes: BTreeMap<String, GoodsInNoteRecord> =
            http::decode::<Envelope<BTreeMap<String, GoodsInNoteRecord>>>(&resp.body, &what)?
                .response;
        let mut notes: Vec<GoodsInNoteRecord> = notes.into_values().collect();
        notes.sort_by_key(|n| n.goods_note_id);
        Ok(notes)
    }

    /// `POST /order-service/sales-order/{id}/close` `{}` (§4.6 [doc]): invoice the sales
    /// order (it passes through "invoice pending"; closing an invoiced order is rejected).
    pub fn close_sales_order(&self, id: u64) -> Result<(), ApiError> {
        let path = format!("/order-service/sales-order/{id}/close");
        let what = format!("POST {path}");
        let resp = http::send(
            self.api,
            Request::post(System::Brightpearl, path, "{}".to_string()),
            &what,
        )?;
        decode_no_content(&resp.body, &what).map(|_| ())
    }

    /// `POST /accounting-service/customer-payment` → the new payment id.
    pub fn create_customer_payment(&self, payment: &CustomerPayment) -> Result<u64, ApiError> {
        self.create("/accounting-service/customer-payment", payment)
    }

    /// `GET /accounting-service/customer-payment-search?transactionRef=<ref>` (§3.3 [doc]).
    pub fn payments_by_transaction_ref(
        &self,
        transaction_ref: &str,
    ) -> Result<Vec<PaymentMatch>, ApiError> {
        let rows = self.search_all(&format!(
            "/accounting-service/customer-payment-search?transactionRef={}",
            encode(transaction_ref)
        ))?;
        Ok(rows
            .iter()
            .filter(|r| r.str("transactionRef").as_deref() == Some(transaction_ref))
            .filter_map(|r| {
                Some(PaymentMatch {
                    payment_id: r.u64("paymentId")?,
                    order_id: r.u64("orderId").unwrap_or(0),
                    transaction_ref: transaction_ref.to_string(),
                    payment_method_code: r.str("paymentMethodCode").unwrap_or_default(),
                    payment_type: r.str("paymentType").unwrap_or_default(),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeApi;
    use crate::types::Response;

    fn payment(reference: &str) -> CustomerPayment {
        CustomerPayment {
            transaction_ref: reference.into(),
            transaction_code: None,
            payment_method_code: "STRIPE".into(),
            payment_type: PaymentType::Receipt,
            order_id: 7,
            currency_iso_code: "GBP".into(),
            exchange_rate: None,
            amount_authorized: None,
            amount_paid: Some("24.00".parse().unwrap()),
            authorization_expiry: None,
            payment_date: "2024-05-01T10:16:00Z".into(),
            journal_ref: None,
        }
    }

    #[test]
    fn multi_message_sends_sequential_continue_and_decodes_each_reply() {
        let api = FakeApi::new(|_| {
            Ok(Response::new(
                207,
                r#"{"response":{"processedMessages":[
                    {"label":"a","statusCode":200,"body":{"content":"{\"response\":935253}"}},
                    {"label":"b","statusCode":400,"body":{"content":"{\"errors\":[{\"code\":\"PYMC-1\",\"message\":\"bad\"}]}"}}],
                  "unprocessedMessages":["c",{"label":"d"}]}}"#,
            ))
        });
        let msgs = vec![
            customer_payment_message("a", &payment("t1")),
            customer_payment_message("b", &payment("t2")),
        ];
        let resp = Client::new(&api).multi_message(&msgs).unwrap();
        let sent = api.bodies(System::Brightpearl, Method::Post, "/multi-message");
        assert_eq!(sent[0]["processingMode"], "SEQUENTIAL");
        assert_eq!(sent[0]["onFail"], "CONTINUE");
        assert_eq!(sent[0]["messages"][1]["label"], "b");
        assert_eq!(
            sent[0]["messages"][1]["uri"],
            "/accounting-service/customer-payment"
        );
        assert_eq!(sent[0]["messages"][1]["httpMethod"], "POST");
        assert_eq!(sent[0]["messages"][1]["body"]["transactionRef"], "t2");
        assert_eq!(resp.unprocessed, vec!["c".to_string(), "d".to_string()]);
        assert_eq!(resp.processed[0].created_id("a"), Ok(935253));
        let err = resp.processed[1].created_id("b").unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.to_string(), "b: HTTP 400: PYMC-1 bad");
    }

    #[test]
    fn the_product_index_pages_the_unfiltered_search_and_keeps_the_lowest_id_per_sku() {
        let api = FakeApi::new(|req| {
            let body = if req.path.ends_with("firstResult=1") {
                r#"{"response":{"metaData":{"morePagesAvailable":true,"resultsAvailable":3,"resultsReturned":2,"firstResult":1,"lastResult":2,
                   "columns":[{"name":"productId"},{"name":"SKU"}]},"results":[[1009,"HOOD-051-OLV-M"],[1001,"HOOD-051-OLV-M"]]}}"#
            } else {
                r#"{"response":{"metaData":{"morePagesAvailable":false,"resultsAvailable":3,"resultsReturned":2,"firstResult":3,"lastResult":4,
                   "columns":[{"name":"SKU"},{"name":"productId"}]},"results":[["CAP",1002],[null,1003]]}}"#
            };
            Ok(Response::new(200, body))
        });
        let (index, pages) = Client::new(&api).product_sku_index(10).unwrap();
        assert_eq!(pages, 2);
        assert_eq!(
            index,
            BTreeMap::from([
                ("CAP".to_string(), 1002),
                ("HOOD-051-OLV-M".to_string(), 1001)
            ])
        );
        let paths: Vec<String> = api.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            vec![
                "/product-service/product-search?columns=productId,SKU,updatedOn&pageSize=500&firstResult=1",
                "/product-service/product-search?columns=productId,SKU,updatedOn&pageSize=500&firstResult=3",
            ]
        );
    }

    #[test]
    fn a_message_error_is_kept_whatever_the_shape_of_its_body() {
        let api = FakeApi::new(|_| {
            Ok(Response::new(
                207,
                r#"{"response":{"processedMessages":[
                    {"label":"string","statusCode":400,"body":{"content":"{\"errors\":[{\"code\":\"ACCC-021\",\"message\":\"dup\"}]}"}},
                    {"label":"object","statusCode":400,"body":{"content":{"errors":[{"code":"ACCC-021","message":"dup"}]}}},
                    {"label":"bare","statusCode":400,"body":{"errors":[{"code":"ACCC-021","message":"dup"}]}},
                    {"label":"text","statusCode":400,"body":"{\"errors\":[{\"code\":\"ACCC-021\",\"message\":\"dup\"}]}"},
                    {"label":"none","statusCode":400}],
                  "unprocessedMessages":[]}}"#,
            ))
        });
        let msgs = vec![
            customer_payment_message("a", &payment("t1")),
            customer_payment_message("b", &payment("t2")),
        ];
        let resp = Client::new(&api).multi_message(&msgs).unwrap();
        for reply in &resp.processed[..4] {
            let err = reply.created_id("m").unwrap_err();
            assert_eq!(err.server_message(), "ACCC-021 dup", "{}", reply.label);
            assert_eq!(
                err.to_string(),
                "m: HTTP 400: ACCC-021 dup",
                "{}",
                reply.label
            );
        }
        let err = resp.processed[4].created_id("m").unwrap_err();
        assert_eq!(err.server_message(), "");
        assert_eq!(err.to_string(), "m: HTTP 400: (empty body)");
    }

    #[test]
    fn status_put_and_delete_accept_a_bare_empty_object() {
        for body in ["{}", r#"{"response":{}}"#, "", " "] {
            let b = body.to_string();
            let api = FakeApi::new(move |_| Ok(Response::new(200, b.clone())));
            let bp = Client::new(&api);
            assert_eq!(
                bp.set_order_status(1001, 4, Some("shipped")),
                Ok(()),
                "{body:?}"
            );
            assert_eq!(bp.delete_webhook(7), Ok(()), "{body:?}");
            let reqs = api.requests();
            assert_eq!(
                (reqs[0].method, reqs[0].path.as_str()),
                (Method::Put, "/order-service/order/1001/status")
            );
            assert_eq!(
                api.bodies(
                    System::Brightpearl,
                    Method::Put,
                    "/order-service/order/1001/status"
                ),
                vec![
                    serde_json::json!({"orderStatusId": 4, "orderNote": {"text": "shipped", "isPublic": false}})
                ]
            );
            assert_eq!(
                (reqs[1].method, reqs[1].path.as_str(), reqs[1].body.clone()),
                (Method::Delete, "/integration-service/webhook/7", None)
            );
        }
        let api = FakeApi::new(|_| Ok(Response::new(200, "not json")));
        let err = Client::new(&api).set_order_status(1, 2, None).unwrap_err();
        assert!(
            matches!(&err, ApiError::Decode { what, .. } if what == "PUT /order-service/order/1/status"),
            "{err:?}"
        );
        let api = FakeApi::new(|_| {
            Ok(Response::new(
                404,
                r#"{"errors":[{"code":"CMNC-404","message":"No webhooks found"}]}"#,
            ))
        });
        let err = Client::new(&api).delete_webhook(7).unwrap_err();
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.server_message(), "CMNC-404 No webhooks found");
        assert_eq!(
            decode_no_content("{}", "x"),
            Ok(NoContent { response: None })
        );
    }

    #[test]
    fn a_missing_contact_is_none_whether_404_or_an_empty_list() {
        let answers = [
            (
                404,
                r#"{"errors":[{"code":"CMNC-404","message":"No contacts found"}]}"#,
            ),
            (200, r#"{"response":[]}"#),
        ];
        for (status, body) in answers {
            let api = FakeApi::new(move |_| Ok(Response::new(status, body)));
            assert_eq!(Client::new(&api).contact(999), Ok(None), "{status}");
        }
        let api = FakeApi::new(|_| {
            Ok(Response::new(
                200,
                r#"{"response":[{"contactId":200,"firstName":"Jane","lastName":"Buyer","financialDetails":{"priceListId":2},
                    "createdOn":"2024-01-05T04:00:00.000-06:00"}]}"#,
            ))
        });
        let c = Client::new(&api).contact(200).unwrap().unwrap();
        assert_eq!(
            (
                c.contact_id,
                c.first_name.as_str(),
                c.financial_details.price_list_id
            ),
            (200, "Jane", Some(2))
        );
        let api = FakeApi::new(|_| {
            Ok(Response::new(
                401,
                r#"{"response":"Invalid instance token: t"}"#,
            ))
        });
        let err = Client::new(&api).contact(200).unwrap_err();
        assert_eq!(err.status(), Some(401));
    }

    #[test]
    fn search_decodes_the_real_metadata_shape() {
        // As the real API answers (brightpearl-api.md §3.3 [obs]): typed columns, sorting,
        // a `reference` sibling of `response`, ids as IDSET.
        let body = r#"{"response":{"metaData":{"morePagesAvailable":false,"resultsAvailable":2,"resultsReturned":2,
            "firstResult":1,"lastResult":2,
            "columns":[
              {"name":"orderId","sortable":true,"filterable":true,"reportDataType":"IDSET","referenceData":[],"isFreeTextSearchable":false,"required":false},
              {"name":"orderTypeId","sortable":true,"filterable":true,"reportDataType":"IDSET","referenceData":["orderTypeNames"],"required":false},
              {"name":"externalRef","sortable":true,"filterable":true,"reportDataType":"STRING","referenceData":[],"required":false},
              {"name":"createdOn","sortable":true,"filterable":true,"reportDataType":"PERIOD","referenceData":[],"required":false}],
            "sorting":[{"filterable":{"name":"orderId","sortable":true,"filterable":true,"reportDataType":"IDSET","referenceData":[],"required":false},"direction":"ASC"}]},
          "results":[[1001,1,"bc:order:1","2024-05-01T04:15:00.000-06:00"],[1002,1,"bc:order:1","2024-05-01T11:15:00.000+01:00"]]},
          "reference":{"orderTypeNames":{"1":"SALES_ORDER"}}}"#;
        let api = FakeApi::new(move |_| Ok(Response::new(200, body)));
        let ids = Client::new(&api)
            .sales_orders_by_external_ref("bc:order:1")
            .unwrap();
        assert_eq!(ids, vec![1001, 1002]);
        let page: Envelope<SearchResponse> = serde_json::from_str(body).unwrap();
        let rows = page.response.rows();
        assert_eq!(rows[1].u64("orderTypeId"), Some(1));
        assert_eq!(
            rows[0].str("createdOn").as_deref(),
            Some("2024-05-01T04:15:00.000-06:00")
        );
        assert_eq!(page.response.meta_data.last_result, 2);
    }

    #[test]
    fn a_401_or_403_is_a_credentials_problem_naming_the_system_and_the_server_message() {
        let answers = [
            (
                System::Brightpearl,
                401,
                r#"{"response":"Not authenticated"}"#,
            ),
            (
                System::Bigcommerce,
                401,
                r#"[{"status":401,"message":"You are not authorized."}]"#,
            ),
            (
                System::Bigcommerce,
                403,
                r#"{"status":403,"title":"You don't have a required scope to access the endpoint","type":"x"}"#,
            ),
            (System::Brightpearl, 403, ""),
            (
                System::Brightpearl,
                400,
                r#"{"errors":[{"code":"ACCC-021","message":"dup"}]}"#,
            ),
        ];
        let got: Vec<Option<String>> = answers
            .iter()
            .map(|(system, status, body)| {
                let (status, body) = (*status, body.to_string());
                let api = FakeApi::new(move |_| Ok(Response::new(status, body.clone())));
                crate::http::send(&api, Request::get(*system, "/x"), "GET /x")
                    .unwrap_err()
                    .credentials_problem()
            })
            .collect();
        assert_eq!(
            got,
            vec![
                Some("brightpearl answered 401 Not authenticated: check the client's brightpearl connection credentials".to_string()),
                Some("bigcommerce answered 401 You are not authorized.: check the client's bigcommerce connection credentials".to_string()),
                Some("bigcommerce answered 403 You don't have a required scope to access the endpoint: check the client's bigcommerce connection credentials".to_string()),
                Some("brightpearl answered 403: check the client's brightpearl connection credentials".to_string()),
                None,
            ]
        );
    }
}
