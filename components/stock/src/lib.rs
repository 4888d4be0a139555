//! Stock flow: Brightpearl (master of stock) availability drives BigCommerce inventory.
//!
//! - [`config`]: `StockConfig` (the client's `[flows.stock.mapping]`) and `check-config`;
//! - [`mapping`]: the rules as plain functions (safety stock, available to sell per
//!   location, the BigCommerce bodies);
//! - [`run`]: the flow on the SDK's engine (full sync, events, batched reads and writes).

pub mod catalog;
pub mod config;
pub mod mapping;
pub mod run;

use pearlbridge_sdk::bindings::exports::pearlbridge::flow::manifest;
use pearlbridge_sdk::bindings::exports::pearlbridge::flow::runner::Guest;
use pearlbridge_sdk::bindings::pearlbridge::flow::types as wit;
use pearlbridge_sdk::host::{HostApi, HostReport, HostState};
use pearlbridge_sdk::types::{FlowError, FlowInfo, Method, Need, System, Trigger};

pub use config::StockConfig;

/// Name `stock`, this crate's version, every trigger, Brightpearl `product.modified.*`
/// events, a nightly full sync by default.
pub fn describe() -> FlowInfo {
    FlowInfo {
        name: "stock".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        triggers: vec!["scheduled".into(), "events".into(), "replay".into()],
        event_scopes: vec!["product.modified.on-hand-modified".into()],
        default_schedule: Some("24h".into()),
    }
}

/// Every API path the flow calls (WIT `manifest.needs`).
pub fn needs() -> Vec<Need> {
    use Method::{Get, Put};
    use System::{Bigcommerce as Bc, Brightpearl as Bp};
    vec![
        Need::new(Bc, &[Get], "/v2/time"),
        Need::new(Bc, &[Get], "/v3/catalog/products"),
        Need::new(Bc, &[Put], "/v3/catalog/variants"),
        Need::new(Bc, &[Put], "/v3/inventory/adjustments/absolute"),
        // Accepted orders not yet in Brightpearl, and their products.
        Need::new(Bc, &[Get], "/v2/orders"),
        Need::new(Bp, &[Get], "/product-service/product-search"),
        Need::new(Bp, &[Get], "/warehouse-service/product-availability"),
        Need::new(Bp, &[Get], "/order-service/order-search"),
    ]
}

/// The component.
pub struct StockFlow;

impl manifest::Guest for StockFlow {
    fn needs() -> Vec<manifest::Need> {
        needs().into_iter().map(Into::into).collect()
    }
}

impl Guest for StockFlow {
    fn describe() -> wit::FlowInfo {
        describe().into()
    }

    fn check_config(config: String) -> Vec<wit::ConfigProblem> {
        config::check(&config).into_iter().map(Into::into).collect()
    }

    fn run(trigger: wit::Trigger) -> Result<wit::RunSummary, wit::FlowError> {
        let cfg = config::parse(&pearlbridge_sdk::host::config_json())
            .map_err(|p| wit::FlowError::from(FlowError::Config(p)))?;
        let now = pearlbridge_sdk::host::run_start().map_err(wit::FlowError::from)?;
        let trigger: Trigger = trigger.into();
        run::run_at(&trigger, &cfg, &HostApi, &HostState, &HostReport, now.0)
            .map(Into::into)
            .map_err(Into::into)
    }
}

#[cfg(target_arch = "wasm32")]
pearlbridge_sdk::export_flow!(StockFlow);
