//! Pearlbridge reference host: runs flow components with HTTP, state, secrets and reports.
//!
//! - [`runtime`]: wasmtime engine, component cache, a fresh store per run, limits.
//! - [`bindings`]: the `pearlbridge:flow@1.0.0` world.
//! - [`imports`]: the flow imports bound to one client × flow.
//! - [`components`]: the component store (`name@version` + sha256) clients pin.
//! - [`host`]: clients, connections and runs put together.
//! - [`check`]: `pearlbridge check`.
//! - `demo`: `pearlbridge demo` (sandbox, demo client, runs, reconciliation); only with the
//!   `demo` cargo feature (on by default), so a production build ships no simulator.
//!
//! Capabilities that need no WASM (secrets, state store, client files, connections) live in
//! the `pearlbridge-capabilities` crate.

pub mod bindings;
pub mod check;
pub mod components;
#[cfg(feature = "demo")]
pub mod demo;
pub mod host;
pub mod imports;
pub mod runtime;
