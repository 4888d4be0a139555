//! Tracking flow: shipped Brightpearl goods-out notes become BigCommerce shipments with their
//! tracking numbers, once each, so the customer gets BigCommerce's shipment email.
//!
//! - [`config`]: `TrackingConfig` (the client's `[flows.tracking.mapping]`) and `check-config`;
//! - [`mapping`]: the business rules as plain functions ([`mapping::map_note`],
//!   [`mapping::bigcommerce_order_id`], [`mapping::same_shipment`]);
//! - [`run`]: the thin shell over the host capabilities on the SDK's flow engine;
//! - [`reconcile`]: the dispatch reconciliation (a replay of `reconcile:shipments:<since>`);
//! - [`status`]: order status write-back and cancellations both ways.

pub mod config;
pub mod mapping;
pub mod reconcile;
pub mod run;
pub mod status;

use pearlbridge_sdk::bindings::exports::pearlbridge::flow::manifest;
use pearlbridge_sdk::bindings::exports::pearlbridge::flow::runner::Guest;
use pearlbridge_sdk::bindings::pearlbridge::flow::types as wit;
use pearlbridge_sdk::host::{HostApi, HostReport, HostState};
use pearlbridge_sdk::types::{FlowError, FlowInfo, Method, Need, System, Trigger};

pub use config::TrackingConfig;
pub use mapping::{MappedNote, NewShipment, NoteProblem, map_note};

/// The flow's self-description: name `tracking`, this crate's version, every trigger, the
/// events it runs on (Brightpearl `goods-out-note.modified.shipped` and
/// `order.modified.order-status`, BigCommerce `store/order/statusUpdated`) and a default
/// schedule of 15 minutes.
pub fn describe() -> FlowInfo {
    FlowInfo {
        name: "tracking".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        triggers: vec!["scheduled".into(), "events".into(), "replay".into()],
        event_scopes: vec![
            run::SHIPPED_EVENT.into(),
            status::BRIGHTPEARL_STATUS_EVENT.into(),
            status::BIGCOMMERCE_STATUS_EVENT.into(),
        ],
        default_schedule: Some("15m".into()),
    }
}

/// Every API path the flow calls (WIT `manifest.needs`): the host denies anything else
/// without an HTTP call. `POST /v2/orders` is the narrowest prefix that covers
/// `POST /v2/orders/{id}/shipments` (a need is a path prefix, with no wildcard segment); the
/// flow posts nothing else there, and `PUT`s only `/v2/orders/{id}` (a status).
pub fn needs() -> Vec<Need> {
    use Method::{Get, Post, Put};
    use System::{Bigcommerce as Bc, Brightpearl as Bp};
    vec![
        // The sweep of shipped notes, and notes by id set.
        Need::new(Bp, &[Get], "/warehouse-service/goods-note/goods-out-search"),
        Need::new(Bp, &[Get], "/warehouse-service/order"),
        // The notes' sales orders (externalRef, ref, rows' externalRef and SKU); the
        // reconciliation finds a BigCommerce order's sales order by externalRef.
        // …and, for cancellations from BigCommerce, `PUT /order-service/order/{id}/status`.
        Need::new(Bp, &[Get, Put], "/order-service/order"),
        Need::new(Bp, &[Get], "/order-service/order-search"),
        // The store's clock; the BigCommerce order, its products and shipments; posting
        // shipments.
        Need::new(Bc, &[Get], "/v2/time"),
        // The status write-back: `PUT /v2/orders/{id}` `{"status_id": N}`.
        Need::new(Bc, &[Get, Post, Put], "/v2/orders"),
    ]
}

/// The component.
pub struct TrackingFlow;

impl manifest::Guest for TrackingFlow {
    fn needs() -> Vec<manifest::Need> {
        needs().into_iter().map(Into::into).collect()
    }
}

impl Guest for TrackingFlow {
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

// The export names only make sense in a component; a native cdylib's linker version script
// cannot carry them.
#[cfg(target_arch = "wasm32")]
pearlbridge_sdk::export_flow!(TrackingFlow);
