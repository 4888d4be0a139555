//! Seed data for the simulators, in the APIs' own JSON shapes.
//!
//! This is the contract between the store generator (`generator`), the file loader
//! (`pearlbridge demo --orders-from DIR --brightpearl-from FILE`) and the two simulators:
//! every resource is a `serde_json::Value` exactly as the real API returns it, so an object
//! copied from a real store's API can be dropped in as it is and reads back unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One BigCommerce order with its sub-resources, each as the API returns it.
/// Matches the `--orders-from DIR/<order>/` folder layout file for file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BigCommerceOrderBundle {
    /// `GET /v2/orders/{id}` (`order.json`).
    pub order: Value,
    /// `GET /v2/orders/{id}/products` (`products.json`).
    #[serde(default)]
    pub products: Vec<Value>,
    /// `GET /v2/orders/{id}/shipping_addresses` (`shipping_addresses.json`).
    #[serde(default)]
    pub shipping_addresses: Vec<Value>,
    /// `GET /v2/orders/{id}/coupons` (`coupons.json`); empty means the API answers 204.
    #[serde(default)]
    pub coupons: Vec<Value>,
    /// `GET /v2/orders/{id}/taxes?details=true` (`taxes.json`).
    #[serde(default)]
    pub taxes: Vec<Value>,
    /// `GET /v3/orders/{id}/transactions` `data` array (`transactions.json`).
    #[serde(default)]
    pub transactions: Vec<Value>,
    /// `GET /v3/customers?id:in={customer_id}` `data[0]` (`customer.json`), when registered.
    #[serde(default)]
    pub customer: Option<Value>,
}

/// A BigCommerce store's data in the API's own shapes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BigCommerceSeed {
    /// Orders with their sub-resources.
    #[serde(default)]
    pub orders: Vec<BigCommerceOrderBundle>,
    /// `GET /v3/customers` objects (with `customer_group_id`).
    #[serde(default)]
    pub customers: Vec<Value>,
    /// `GET /v2/customer_groups` objects.
    #[serde(default)]
    pub customer_groups: Vec<Value>,
    /// `GET /v3/catalog/products` objects, each with its `variants` array (include=variants).
    #[serde(default)]
    pub products: Vec<Value>,
    /// `GET /v3/inventory/locations` objects.
    #[serde(default)]
    pub locations: Vec<Value>,
    /// `GET /v3/pricelists` objects.
    #[serde(default)]
    pub price_lists: Vec<Value>,
    /// `GET /v3/pricelists/{id}/records` objects (each carries `price_list_id`).
    #[serde(default)]
    pub price_list_records: Vec<Value>,
    /// `GET /v3/pricelists/assignments` objects.
    #[serde(default)]
    pub price_list_assignments: Vec<Value>,
    /// `GET /v3/orders/{id}/payment_actions/refunds` objects (store-wide list `GET /v3/orders/payment_actions/refunds`).
    #[serde(default)]
    pub refunds: Vec<Value>,
}

/// A Brightpearl account's reference data, products and stock in Brightpearl's own response
/// shapes (the `response` member of each GET). This is the `--brightpearl-from FILE` format.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BrightpearlSeed {
    /// `GET /product-service/product/{idSet}` objects (with `identity.sku`).
    #[serde(default)]
    pub products: Vec<Value>,
    /// `GET /contact-service/contact/{idSet}` objects.
    #[serde(default)]
    pub contacts: Vec<Value>,
    /// `GET /contact-service/postal-address/{idSet}` objects.
    #[serde(default)]
    pub postal_addresses: Vec<Value>,
    /// `GET /product-service/price-list` objects.
    #[serde(default)]
    pub price_lists: Vec<Value>,
    /// `GET /product-service/product-price/{idSet}` objects (`productId`, `priceLists[]`).
    #[serde(default)]
    pub product_prices: Vec<Value>,
    /// `GET /warehouse-service/warehouse` objects.
    #[serde(default)]
    pub warehouses: Vec<Value>,
    /// `GET /warehouse-service/product-availability/{idSet}` as one object keyed by product id.
    #[serde(default)]
    pub availability: serde_json::Map<String, Value>,
    /// `GET /accounting-service/tax-code` objects.
    #[serde(default)]
    pub tax_codes: Vec<Value>,
    /// `GET /accounting-service/nominal-code` objects.
    #[serde(default)]
    pub nominal_codes: Vec<Value>,
    /// `GET /accounting-service/payment-method` objects.
    #[serde(default)]
    pub payment_methods: Vec<Value>,
    /// `GET /warehouse-service/shipping-method` objects.
    #[serde(default)]
    pub shipping_methods: Vec<Value>,
    /// `GET /product-service/channel` objects.
    #[serde(default)]
    pub channels: Vec<Value>,
    /// `GET /order-service/order-status` objects.
    #[serde(default)]
    pub order_statuses: Vec<Value>,
}

/// Everything a sandbox starts with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoreSeed {
    pub bigcommerce: BigCommerceSeed,
    pub brightpearl: BrightpearlSeed,
}
