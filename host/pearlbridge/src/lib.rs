//! Pearlbridge reference host: runs flow components with HTTP, state, secrets and reports.
//!
//! - [`runtime`]: wasmtime engine, component cache, a fresh store per run, limits.
//! - [`bindings`]: the `pearlbridge:flow` worlds, one module per version (1.0.0, 1.1.0).
//! - [`context`], [`manifest`]: the 1.1.0 run context import and per-flow API policy.
//! - [`imports`]: the flow imports bound to one client × flow.
//! - [`components`]: the component store (`name@version` + sha256) clients pin.
//! - [`host`]: clients, connections and runs put together.
//! - [`check`]: `pearlbridge check`.
//! - [`hooks`]: `pearlbridge hooks register` (BigCommerce hooks, Brightpearl webhooks).
//! - [`audit`]: `pearlbridge audit catalog` (the catalog audit's report).
//! - [`reconcile`]: `pearlbridge reconcile shipments` (the daily dispatch reconciliation).
//! - [`serve`]: `pearlbridge serve` (schedules, webhook receiver, durable inbox, leases).
//! - `demo`: `pearlbridge demo` (sandbox, demo client, runs, reconciliation); only with the
//!   `demo` cargo feature (on by default), so a production build ships no simulator.
//!
//! Capabilities that need no WASM (secrets, state store, client files, connections) live in
//! the `pearlbridge-capabilities` crate.

pub mod audit;
pub mod bindings;
pub mod check;
pub mod components;
pub mod context;
#[cfg(feature = "demo")]
pub mod demo;
#[cfg(feature = "demo")]
pub mod demo_catalog;
#[cfg(feature = "demo")]
pub mod demo_pricing;
#[cfg(feature = "demo")]
pub mod demo_refunds;
#[cfg(feature = "demo")]
pub mod demo_serve;
#[cfg(feature = "demo")]
pub mod demo_tracking;
pub mod hooks;
pub mod host;
pub mod imports;
pub mod manifest;
pub mod reconcile;
pub mod runtime;
pub mod serve;
