//! Refunds flow: BigCommerce refunds become Brightpearl sales credits (`parentId` = the sales
//! order the orders flow posted) with one refund payment (customer payment of type PAYMENT)
//! per refund payment, each written once.
//!
//! - [`config`]: `RefundsConfig` (the client's `[flows.refunds.mapping]`) and `check-config`;
//! - [`mapping`]: the business rules as plain functions ([`mapping::map_refund`],
//!   [`mapping::map_payments`]);
//! - [`run`]: the thin shell over the host capabilities on the SDK's flow engine.

pub mod config;
pub mod mapping;
pub mod run;

use pearlbridge_sdk::bindings::exports::pearlbridge::flow::manifest;
use pearlbridge_sdk::bindings::exports::pearlbridge::flow::runner::Guest;
use pearlbridge_sdk::bindings::pearlbridge::flow::types as wit;
use pearlbridge_sdk::host::{HostApi, HostReport, HostState};
use pearlbridge_sdk::types::{FlowError, FlowInfo, Method, Need, System, Trigger};

pub use config::RefundsConfig;
pub use mapping::{MappedCredit, RefundProblem, map_payments, map_refund};

/// The flow's self-description: name `refunds`, this crate's version, every trigger, the
/// `store/order/refund/created` webhook scope and a default schedule of 15 minutes.
pub fn describe() -> FlowInfo {
    FlowInfo {
        name: "refunds".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        triggers: vec!["scheduled".into(), "events".into(), "replay".into()],
        event_scopes: vec![run::REFUND_EVENT.into()],
        default_schedule: Some("15m".into()),
    }
}

/// Every API path the flow calls (WIT `manifest.needs`): the host denies anything else
/// without an HTTP call. `POST /order-service/sales-order` is the narrowest prefix that
/// covers `POST /order-service/sales-order/{id}/close` (a need is a path prefix); the flow
/// posts nothing else there.
pub fn needs() -> Vec<Need> {
    use Method::{Get, Post};
    use System::{Bigcommerce as Bc, Brightpearl as Bp};
    vec![
        // The store clock; refunds (store-wide sweep and by id); an order's currency.
        Need::new(Bc, &[Get], "/v2/time"),
        Need::new(Bc, &[Get], "/v3/orders/payment_actions/refunds"),
        Need::new(Bc, &[Get], "/v2/orders"),
        // The sales order (by externalRef, then by id), its invoicing, the sales credit
        // (found by externalRef with orderTypeId=3).
        Need::new(Bp, &[Get], "/order-service/order-search"),
        Need::new(Bp, &[Get], "/order-service/order"),
        Need::new(Bp, &[Post], "/order-service/sales-order"),
        Need::new(Bp, &[Post], "/order-service/sales-credit"),
        // Refund payments, one by one or in multi-message batches.
        Need::new(Bp, &[Post], "/accounting-service/customer-payment"),
        Need::new(Bp, &[Get], "/accounting-service/customer-payment-search"),
        Need::new(Bp, &[Post], "/multi-message"),
        // restock = true: the products' default locations, the credit's goods-in notes.
        Need::new(Bp, &[Get], "/warehouse-service/warehouse"),
        Need::new(Bp, &[Get, Post], "/warehouse-service/order"),
    ]
}

/// The component.
pub struct RefundsFlow;

impl manifest::Guest for RefundsFlow {
    fn needs() -> Vec<manifest::Need> {
        needs().into_iter().map(Into::into).collect()
    }
}

impl Guest for RefundsFlow {
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
pearlbridge_sdk::export_flow!(RefundsFlow);
