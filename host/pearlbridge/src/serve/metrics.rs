//! `GET /metrics` of `pearlbridge serve`: the service's state in the Prometheus exposition
//! format (OpenMetrics text, `prometheus-client`), built fresh at each scrape from the state
//! store and the connections, so a scrape always agrees with `pearlbridge exceptions` and the
//! runs table. No label carries a secret, an entity or a personal detail: labels are client
//! folder names, flow names, exception kinds, owner teams and system names.
//!
//! Families (counters end in `_total`):
//! - `pearlbridge_runs_total{client,flow,outcome}`: finished runs recorded in the store,
//!   `outcome` = `ok` or `error` (failed runs); `pearlbridge_runs_running{client,flow}`: runs
//!   started and not finished (a gauge: it falls when they finish);
//! - `pearlbridge_exceptions_open{client,flow,kind,owner}`: open exceptions;
//! - `pearlbridge_api_calls_total{client,system}`, `pearlbridge_api_throttled_total` (429 /
//!   throttle-503 answers), `pearlbridge_api_retries_total`,
//!   `pearlbridge_api_rate_limit_wait_milliseconds_total`: this process's connections since it
//!   started;
//! - `pearlbridge_api_requests_left{client,system}`: requests left in the server's current
//!   rate-limit window (absent until the first answer, and while throttled);
//! - `pearlbridge_inbox_depth{client,flow}`: webhook events waiting in the inbox.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pearlbridge_capabilities::connections::System;
use pearlbridge_capabilities::state::{ExceptionFilter, Namespace};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Service;
use crate::host::Host;

/// The OpenMetrics text content type `prometheus-client` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    client: String,
    flow: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExceptionLabels {
    client: String,
    flow: String,
    kind: String,
    owner: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    client: String,
    system: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlowLabels {
    client: String,
    flow: String,
}

pub(crate) fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(service)
}

async fn metrics(State(service): State<Arc<Service>>) -> Response {
    let clients: Vec<(String, Vec<String>)> = service
        .clients
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(name, e)| (name.clone(), e.flows.keys().cloned().collect()))
        .collect();
    let host = service.host.clone();
    match tokio::task::spawn_blocking(move || exposition(&host, &clients)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Ok(Err(e)) => {
            tracing::warn!("metrics: {e:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n").into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n").into_response(),
    }
}

/// The exposition text for `clients` (client name → its flow names) of `host`; see the module
/// docs for the families. Errors: the state store could not be read.
pub fn exposition(host: &Host, clients: &[(String, Vec<String>)]) -> anyhow::Result<String> {
    let mut registry = Registry::default();
    let runs = Family::<RunLabels, Counter>::default();
    registry.register(
        "pearlbridge_runs",
        "Finished runs of each client and flow, by outcome (ok, error)",
        runs.clone(),
    );
    let running = Family::<FlowLabels, Gauge>::default();
    registry.register(
        "pearlbridge_runs_running",
        "Runs of each client and flow started and not finished",
        running.clone(),
    );
    for c in host.store.run_counts()? {
        if c.outcome == "running" {
            running
                .get_or_create(&FlowLabels {
                    client: c.client,
                    flow: c.flow,
                })
                .set(i64::try_from(c.runs).unwrap_or(i64::MAX));
        } else {
            runs.get_or_create(&RunLabels {
                client: c.client,
                flow: c.flow,
                outcome: c.outcome,
            })
            .inc_by(c.runs);
        }
    }

    let open = Family::<ExceptionLabels, Gauge>::default();
    registry.register(
        "pearlbridge_exceptions_open",
        "Open exceptions by client, flow, kind and owning team",
        open.clone(),
    );
    let mut by_labels: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
    for e in host.store.exceptions(&ExceptionFilter {
        open_only: true,
        ..Default::default()
    })? {
        *by_labels
            .entry((e.client, e.flow, e.kind, e.owner.as_str().to_string()))
            .or_default() += 1;
    }
    for ((client, flow, kind, owner), n) in by_labels {
        open.get_or_create(&ExceptionLabels {
            client,
            flow,
            kind,
            owner,
        })
        .set(n);
    }

    let calls = Family::<ApiLabels, Counter>::default();
    let throttled = Family::<ApiLabels, Counter>::default();
    let retries = Family::<ApiLabels, Counter>::default();
    let waits = Family::<ApiLabels, Counter>::default();
    let left = Family::<ApiLabels, Gauge>::default();
    registry.register(
        "pearlbridge_api_calls",
        "HTTP attempts to each system since the process started",
        calls.clone(),
    );
    registry.register(
        "pearlbridge_api_throttled",
        "429 and throttle-503 answers since the process started",
        throttled.clone(),
    );
    registry.register(
        "pearlbridge_api_retries",
        "Attempts that repeated an earlier one (after a throttle or a failure)",
        retries.clone(),
    );
    registry.register(
        "pearlbridge_api_rate_limit_wait_milliseconds",
        "Time callers waited for the rate limit",
        waits.clone(),
    );
    registry.register(
        "pearlbridge_api_requests_left",
        "Requests left in the server's current rate-limit window",
        left.clone(),
    );
    let inbox = Family::<FlowLabels, Gauge>::default();
    registry.register(
        "pearlbridge_inbox_depth",
        "Webhook events waiting in the durable inbox",
        inbox.clone(),
    );
    for (client, flows) in clients {
        for system in [System::BigCommerce, System::Brightpearl] {
            let Some(s) = host.connection_stats(client, system) else {
                continue;
            };
            let l = ApiLabels {
                client: client.clone(),
                system: system.to_string(),
            };
            calls.get_or_create(&l).inc_by(s.calls);
            throttled.get_or_create(&l).inc_by(s.throttled);
            retries.get_or_create(&l).inc_by(s.retries);
            waits.get_or_create(&l).inc_by(s.waits_ms);
            if let Some(n) = s.requests_left {
                left.get_or_create(&l)
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        for flow in flows {
            let depth = host.store.inbox_len(&Namespace::new(client, flow))?;
            inbox
                .get_or_create(&FlowLabels {
                    client: client.clone(),
                    flow: flow.clone(),
                })
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
    }
    let mut text = String::new();
    encode(&mut text, &registry)?;
    Ok(text)
}
