//! Host capabilities, each one module with its own config, policy and tests, testable
//! without any WASM (Spin's factor shape). The runtime in `pearlbridge` binds them to the
//! `pearlbridge:flow` imports.

pub mod clients;
pub mod connections;
pub mod cron;
pub mod exceptions;
pub mod redact;
pub mod secrets;
pub mod state;
