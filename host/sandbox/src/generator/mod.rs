//! Deterministic generator of a realistic store, seeding both simulators.
//!
//! `generate(&GeneratorOptions)` builds a BigCommerce store (catalogue with variants, B2C and
//! B2B customers with customer groups and price lists, inventory locations, orders with all
//! their sub-resources) and the matching Brightpearl account (products with prices per price
//! list, contacts for about half the customers, warehouses with stock, tax codes, nominal
//! codes, payment and shipping methods, channels, order statuses), every resource in the API's
//! own JSON shape (see [`crate::seed`]). The same seed always gives byte-identical output: all
//! randomness comes from one `ChaCha8Rng::seed_from_u64(seed)`, dates count from a fixed epoch
//! (never the wall clock) and JSON objects serialise with sorted keys.
//!
//! [`StoreFacts`] lists what was planted (SKU gaps and near-matches, orders that carry them) and
//! the reference mappings a client configuration needs (tax classes → tax codes, gateways →
//! payment methods and bank nominal codes, shipping methods, customer groups → price lists,
//! warehouses → locations).
//!
//! Money conventions (discounts, tax-inclusive pricing, tenders) are stated in [`orders`].

pub mod catalog;
pub mod money;
pub mod orders;
pub mod people;
pub mod reference;

use crate::seed::{BigCommerceSeed, BrightpearlSeed, StoreSeed};
use chrono::{DateTime, TimeZone, Utc};
use rand::SeedableRng;

/// The generator's random source.
pub type Rng = rand_chacha::ChaCha8Rng;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratorOptions {
    /// Seed for `ChaCha8Rng::seed_from_u64`.
    pub seed: u64,
    /// Number of BigCommerce orders (ids from 100).
    pub orders: usize,
    /// Number of BigCommerce catalog products (at least 1 is generated); each has 1–6 variants.
    pub products: usize,
    /// Number of registered BigCommerce customers (ids from 1).
    pub customers: usize,
}

impl Default for GeneratorOptions {
    /// Seed 1, 300 orders, 60 products, 80 customers.
    fn default() -> Self {
        GeneratorOptions {
            seed: 1,
            orders: 300,
            products: 60,
            customers: 80,
        }
    }
}

/// A generated store and the facts about it.
#[derive(Clone, Debug)]
pub struct GeneratedStore {
    pub seed: StoreSeed,
    pub facts: StoreFacts,
}

/// What the generator planted, so tests and the demo can check outcomes and write a matching
/// client mapping.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoreFacts {
    /// SKUs sold on BigCommerce with no Brightpearl product (planted gaps).
    pub unknown_skus: Vec<String>,
    /// (BigCommerce SKU, Brightpearl SKU) differing only by case or surrounding whitespace.
    pub near_match_skus: Vec<(String, String)>,
    /// Ids of orders with at least one line whose SKU is in `unknown_skus`, ascending.
    pub orders_with_unknown_skus: Vec<i64>,
    /// (BigCommerce `tax_class_id`, BigCommerce class name, Brightpearl tax code).
    pub tax_classes: Vec<(i64, String, String)>,
    /// (v3 transaction `gateway`, Brightpearl payment method code, Brightpearl bank nominal code).
    pub payment_methods: Vec<(String, String, String)>,
    /// (BigCommerce shipping address `shipping_method`, Brightpearl shipping method id).
    pub shipping_methods: Vec<(String, i64)>,
    /// (BigCommerce `customer_group_id`, Brightpearl price list id).
    pub customer_groups: Vec<(i64, i64)>,
    /// ISO 4217 codes orders are placed in; the first is the store default (GBP).
    pub currencies: Vec<String>,
    /// (Brightpearl warehouse id, BigCommerce inventory location id).
    pub warehouses: Vec<(i64, i64)>,
    /// Brightpearl channel for the store.
    pub channel_id: i64,
    /// Brightpearl nominal code for product sales rows.
    pub sales_nominal_code: String,
    /// Brightpearl nominal code for shipping (carriage) rows.
    pub shipping_nominal_code: String,
}

/// The fixed epoch orders count from (first order a few minutes after it).
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0)
        .single()
        .expect("valid epoch")
}

/// Generates a store. Deterministic: equal options give equal (byte-identical when
/// serialised) output.
pub fn generate(opts: &GeneratorOptions) -> GeneratedStore {
    let mut rng = Rng::seed_from_u64(opts.seed);
    let catalog = catalog::build(&mut rng, opts.products);
    let mut people = people::build(&mut rng, opts.customers, epoch());
    let orders = orders::build(&mut rng, opts.orders, &catalog, &mut people, epoch());
    let (bc_price_lists, assignments) = reference::bc_price_lists();

    let bigcommerce = BigCommerceSeed {
        orders: orders.bundles,
        customers: people.customers.iter().map(|c| c.json.clone()).collect(),
        customer_groups: reference::bc_customer_groups(),
        products: catalog.bc_products.clone(),
        locations: reference::bc_locations(),
        price_lists: bc_price_lists,
        price_list_records: catalog.bc_price_list_records.clone(),
        price_list_assignments: assignments,
        refunds: Vec::new(),
    };
    let brightpearl = BrightpearlSeed {
        products: catalog.bp_products.clone(),
        contacts: people.bp_contacts.clone(),
        postal_addresses: people.bp_postal_addresses.clone(),
        price_lists: reference::bp_price_lists(),
        product_prices: catalog.bp_product_prices.clone(),
        warehouses: reference::bp_warehouses(),
        availability: catalog.bp_availability.clone(),
        tax_codes: reference::bp_tax_codes(),
        nominal_codes: reference::bp_nominal_codes(),
        payment_methods: reference::bp_payment_methods(),
        shipping_methods: reference::bp_shipping_methods(),
        channels: reference::bp_channels(),
        order_statuses: reference::bp_order_statuses(),
    };
    let facts = StoreFacts {
        unknown_skus: catalog.unknown_skus.clone(),
        near_match_skus: catalog.near_match_skus.clone(),
        orders_with_unknown_skus: orders.with_unknown_skus,
        tax_classes: reference::TAX_CLASSES
            .iter()
            .map(|c| (c.id, c.name.to_string(), c.bp_code.to_string()))
            .collect(),
        payment_methods: reference::PAYMENT_METHODS
            .iter()
            .map(|m| {
                (
                    m.gateway.to_string(),
                    m.bp_code.to_string(),
                    m.nominal.to_string(),
                )
            })
            .collect(),
        shipping_methods: reference::SHIPPING_METHODS
            .iter()
            .map(|s| (s.name.to_string(), s.bp_id))
            .collect(),
        customer_groups: reference::CUSTOMER_GROUPS
            .iter()
            .map(|g| (g.id, g.bp_price_list_id))
            .collect(),
        currencies: reference::CURRENCIES
            .iter()
            .map(|c| c.code.to_string())
            .collect(),
        warehouses: reference::WAREHOUSES
            .iter()
            .map(|w| (w.bp_id, w.bc_location_id))
            .collect(),
        channel_id: reference::CHANNEL_ID,
        sales_nominal_code: reference::SALES_NOMINAL.to_string(),
        shipping_nominal_code: reference::SHIPPING_NOMINAL.to_string(),
    };
    GeneratedStore {
        seed: StoreSeed {
            bigcommerce,
            brightpearl,
        },
        facts,
    }
}
