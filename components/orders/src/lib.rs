//! Orders flow: BigCommerce orders become Brightpearl sales orders with their contacts and
//! customer payments, each order posted individually, once.
//!
//! - [`config`]: `OrdersConfig` (the client's `[flows.orders.mapping]`) and `check-config`;
//! - [`mapping`]: the business rules as plain functions ([`mapping::map_order`],
//!   [`mapping::map_payments`]);
//! - [`product_index`]: the SKU → product id index kept in state;
//! - [`run`]: the thin shell over the host capabilities.

pub mod config;
pub mod mapping;
pub mod product_index;
pub mod run;

use pearlbridge_sdk::bindings::exports::pearlbridge::flow::manifest;
use pearlbridge_sdk::bindings::exports::pearlbridge::flow::runner::Guest;
use pearlbridge_sdk::bindings::pearlbridge::flow::types as wit;
use pearlbridge_sdk::host::{HostApi, HostReport, HostState};
use pearlbridge_sdk::types::{FlowError, FlowInfo, Method, Need, System, Trigger};

pub use config::OrdersConfig;
pub use mapping::{Lookups, MappedOrder, MappingProblem, map_order, map_payments};

/// The flow's self-description: name `orders`, this crate's version, every trigger, the
/// `store/order/*` webhook scope and a default schedule of 5 minutes.
pub fn describe() -> FlowInfo {
    FlowInfo {
        name: "orders".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        triggers: vec!["scheduled".into(), "events".into(), "replay".into()],
        event_scopes: vec!["store/order/*".into()],
        default_schedule: Some("5m".into()),
    }
}

/// Every API path the flow calls (WIT `manifest.needs`): the host denies anything else
/// without an HTTP call. Sources: the SDK clients `pearlbridge_sdk::{bigcommerce,
/// brightpearl}` and `pearlbridge_sdk::payments`.
pub fn needs() -> Vec<Need> {
    use Method::{Get, Post};
    use System::{Bigcommerce as Bc, Brightpearl as Bp};
    vec![
        // The store clock, orders with their products, shipping addresses, coupons, taxes.
        Need::new(Bc, &[Get], "/v2/time"),
        Need::new(Bc, &[Get], "/v2/orders"),
        // Transactions (v3) and registered customers.
        Need::new(Bc, &[Get], "/v3/orders"),
        Need::new(Bc, &[Get], "/v3/customers"),
        // The SKU index, contacts and their addresses.
        Need::new(Bp, &[Get], "/product-service/product-search"),
        Need::new(Bp, &[Get], "/contact-service/contact-search"),
        Need::new(Bp, &[Get, Post], "/contact-service/contact"),
        Need::new(Bp, &[Post], "/contact-service/postal-address"),
        // Sales orders (found by externalRef through order-search) and their notes.
        Need::new(Bp, &[Post], "/order-service/sales-order"),
        Need::new(Bp, &[Get], "/order-service/order-search"),
        Need::new(Bp, &[Get, Post], "/order-service/order"),
        // Customer payments, one by one or in multi-message batches.
        Need::new(Bp, &[Post], "/accounting-service/customer-payment"),
        Need::new(Bp, &[Get], "/accounting-service/customer-payment-search"),
        Need::new(Bp, &[Post], "/multi-message"),
    ]
}

/// The component.
pub struct OrdersFlow;

impl manifest::Guest for OrdersFlow {
    fn needs() -> Vec<manifest::Need> {
        needs().into_iter().map(Into::into).collect()
    }
}

impl Guest for OrdersFlow {
    fn describe() -> wit::FlowInfo {
        describe().into()
    }

    fn check_config(config: String) -> Vec<wit::ConfigProblem> {
        config::check(&config).into_iter().map(Into::into).collect()
    }

    fn run(trigger: wit::Trigger) -> Result<wit::RunSummary, wit::FlowError> {
        let cfg = config::parse(&pearlbridge_sdk::host::config_json())
            .map_err(|p| wit::FlowError::from(FlowError::Config(p)))?;
        let trigger: Trigger = trigger.into();
        let now = pearlbridge_sdk::host::run_start().map_err(wit::FlowError::from)?;
        run::run_at(&trigger, &cfg, &HostApi, &HostState, &HostReport, now.0)
            .map(Into::into)
            .map_err(Into::into)
    }
}

// The export names (`pearlbridge:flow/runner@1.0.0#run`) only make sense in a component; a
// native cdylib's linker version script cannot carry them.
#[cfg(target_arch = "wasm32")]
pearlbridge_sdk::export_flow!(OrdersFlow);
