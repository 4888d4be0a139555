//! BigCommerce and Brightpearl API simulators and a realistic store generator.
//!
//! Fidelity tags from `shared/reference` are carried into the docs: [doc] documented by the
//! vendor, [obs] seen in recorded real traffic, [client] one public client, [unconfirmed]
//! assumed. A reader can tell what is confirmed and what is assumed.

pub mod bigcommerce;
pub mod brightpearl;
pub mod clock;
pub mod faults;
pub mod generator;
pub mod loader;
pub mod seed;
pub mod server;
