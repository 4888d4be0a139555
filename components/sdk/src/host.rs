//! [`Api`], [`State`] and [`Report`] over the host imports of the `flow` world. Only usable
//! inside a component (natively the imports are unreachable stubs).

use crate::bindings::pearlbridge::flow::{api, config, report, state};
use crate::capabilities::{Api, Entry, Report, State};
use crate::types::{Exception, Level, Request, Response, SendError};

/// The host's `api` import.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostApi;

impl Api for HostApi {
    fn send(&self, req: Request) -> Result<Response, SendError> {
        api::send(&req.into()).map(Into::into).map_err(Into::into)
    }
}

/// The host's `state` import.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostState;

impl State for HostState {
    fn get(&self, key: &str) -> Option<Entry> {
        state::get(key).map(|e| Entry {
            value: e.value,
            version: e.version,
        })
    }
    fn set(&self, key: &str, value: &str) -> u64 {
        state::set(key, value)
    }
    fn compare_and_swap(&self, key: &str, expected_version: u64, value: &str) -> Result<u64, u64> {
        state::compare_and_swap(key, expected_version, value).map_err(|c| c.current_version)
    }
    fn delete(&self, key: &str) {
        state::delete(key)
    }
    fn list(&self, prefix: &str, limit: u32) -> Vec<(String, String)> {
        state::entries(prefix, limit)
    }
}

/// The host's `report` import.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostReport;

impl Report for HostReport {
    fn raise(&self, e: Exception) {
        report::raise(&e.into())
    }
    fn resolve(&self, kind: &str, entity: &str) {
        report::resolve(kind, entity)
    }
    fn open(&self, entity_prefix: &str) -> Vec<(String, String)> {
        report::open(entity_prefix)
    }
    fn progress(&self, done: u64, total: Option<u64>) {
        report::progress(done, total)
    }
    fn log(&self, level: Level, message: &str) {
        report::log(level.into(), message)
    }
}

/// The flow's mapping section (JSON object) from the host's `config` import.
pub fn config_json() -> String {
    config::get()
}

/// This run's context from the host's `context` import (since 1.1.0).
pub fn run_context() -> crate::types::RunContext {
    let c = crate::bindings::pearlbridge::flow::context::current();
    crate::types::RunContext {
        client: c.client,
        flow: c.flow,
        run_id: c.run_id,
        now: c.now,
    }
}

/// The run's start (WIT `context.current().now`, RFC 3339 UTC) as a [`Timestamp`]; an
/// unreadable one is a `FlowError::Internal` naming the value.
///
/// [`Timestamp`]: crate::dates::Timestamp
pub fn run_start() -> Result<crate::dates::Timestamp, crate::types::FlowError> {
    crate::dates::Timestamp::parse_iso8601(&run_context().now)
        .map_err(|e| crate::types::FlowError::Internal(format!("run context `now`: {e}")))
}
