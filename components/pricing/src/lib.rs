//! Pricing flow: Brightpearl (master of price lists) drives BigCommerce price lists.
//!
//! - [`config`]: `PricingConfig` (the client's `[flows.pricing.mapping]`) and `check-config`;
//! - [`mapping`]: the rules as plain functions (quantity breaks → a record with
//!   `bulk_pricing_tiers`, the exact PUT body, record comparison);
//! - [`run`]: the flow on the SDK's engine (catalog match, batched price reads and record
//!   upserts of changed records only, assignments, reconciliation, the B2B contacts check).

pub mod config;
pub mod mapping;
pub mod run;

use pearlbridge_sdk::bindings::exports::pearlbridge::flow::manifest;
use pearlbridge_sdk::bindings::exports::pearlbridge::flow::runner::Guest;
use pearlbridge_sdk::bindings::pearlbridge::flow::types as wit;
use pearlbridge_sdk::host::{HostApi, HostReport, HostState};
use pearlbridge_sdk::types::{FlowError, FlowInfo, Method, Need, System, Trigger};

pub use config::PricingConfig;

/// Name `pricing`, this crate's version, scheduled and replay triggers (no events), every
/// hour by default.
pub fn describe() -> FlowInfo {
    FlowInfo {
        name: "pricing".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        triggers: vec!["scheduled".into(), "replay".into()],
        event_scopes: vec![],
        default_schedule: Some("1h".into()),
    }
}

/// Every API path the flow calls (WIT `manifest.needs`).
pub fn needs() -> Vec<Need> {
    use Method::{Get, Post, Put};
    use System::{Bigcommerce as Bc, Brightpearl as Bp};
    vec![
        Need::new(Bc, &[Get], "/v3/catalog/variants"),
        // Records (GET, PUT) and assignments (GET, POST) of the mapped lists.
        Need::new(Bc, &[Get, Put, Post], "/v3/pricelists"),
        Need::new(Bc, &[Get], "/v3/customers"),
        Need::new(Bp, &[Get], "/product-service/product-search"),
        Need::new(Bp, &[Get], "/product-service/product-price"),
        Need::new(Bp, &[Get], "/contact-service/contact-search"),
        Need::new(Bp, &[Get], "/contact-service/contact"),
    ]
}

/// The component.
pub struct PricingFlow;

impl manifest::Guest for PricingFlow {
    fn needs() -> Vec<manifest::Need> {
        needs().into_iter().map(Into::into).collect()
    }
}

impl Guest for PricingFlow {
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
pearlbridge_sdk::export_flow!(PricingFlow);
