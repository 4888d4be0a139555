//! Catalog audit: BigCommerce variant SKUs against Brightpearl product SKUs, so SKU drift is
//! found before orders for it are held.
//!
//! - [`config`]: `CatalogConfig` (the client's `[flows.catalog.mapping]`) and `check-config`;
//! - [`audit`]: the rules as plain functions (what is a near-match, a missing SKU, a product
//!   without a Brightpearl master, a duplicate, a tracking mismatch) and the exception kinds;
//! - [`run`]: one audit run (complete reads of both catalogs, raise and resolve, purchasing
//!   on products without a master).
//!
//! `pearlbridge audit catalog --client X [--json]` runs it and prints the report.

pub mod audit;
pub mod config;
pub mod run;

pub use audit::kinds;
pub use config::CatalogConfig;

use pearlbridge_sdk::bindings::exports::pearlbridge::flow::manifest;
use pearlbridge_sdk::bindings::exports::pearlbridge::flow::runner::Guest;
use pearlbridge_sdk::bindings::pearlbridge::flow::types as wit;
use pearlbridge_sdk::host::{HostApi, HostReport, HostState};
use pearlbridge_sdk::types::{FlowError, FlowInfo, Method, Need, System, Trigger};

/// Name `catalog`, this crate's version, scheduled and replay triggers (a replay is an
/// audit now), no events, daily by default.
pub fn describe() -> FlowInfo {
    FlowInfo {
        name: "catalog".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        triggers: vec!["scheduled".into(), "replay".into()],
        event_scopes: vec![],
        default_schedule: Some("24h".into()),
    }
}

/// Every API path the flow calls (WIT `manifest.needs`).
pub fn needs() -> Vec<Need> {
    use Method::{Get, Put};
    use System::{Bigcommerce as Bc, Brightpearl as Bp};
    vec![
        Need::new(Bc, &[Get], "/v3/catalog/products"),
        Need::new(Bc, &[Put], "/v3/catalog/variants"),
        Need::new(Bp, &[Get], "/product-service/product-search"),
    ]
}

/// The component.
pub struct CatalogFlow;

impl manifest::Guest for CatalogFlow {
    fn needs() -> Vec<manifest::Need> {
        needs().into_iter().map(Into::into).collect()
    }
}

impl Guest for CatalogFlow {
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
        run::run(&trigger, &cfg, &HostApi, &HostState, &HostReport)
            .map(Into::into)
            .map_err(Into::into)
    }
}

#[cfg(target_arch = "wasm32")]
pearlbridge_sdk::export_flow!(CatalogFlow);
