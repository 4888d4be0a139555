//! The webhook receiver and `/healthz`, on the service's one listener.
//!
//! - `POST /webhooks/bigcommerce/{client}`: verified by the custom header
//!   [`BIGCOMMERCE_WEBHOOK_HEADER`] registered with the hook, whose value is the client's
//!   `webhooks.bigcommerce_secret` (compared in constant time). Body: BigCommerce's
//!   `{scope, store_id, data: {type, id | order_id | orderId, ...}, hash, created_at,
//!   producer}` [doc] bigcommerce-api.md §10. Duplicates are told by `hash` and scope.
//! - `POST /webhooks/brightpearl/{client}/{token}`: the token is the client's
//!   `webhooks.brightpearl_secret`. Body: the JSON the registered `bodyTemplate` renders,
//!   `{accountCode, resourceType, id, lifecycleEvent, fullEvent, raisedOn}` (brightpearl-api.md
//!   §11), `id` an id set (`1-3,7`) expanded to one event per id.
//!
//! Answers: 200 once every event is committed to the inbox (or was a duplicate, or no flow
//! of the client subscribes to it), with an empty body; 401 a BigCommerce callback without
//! the right header; 404 an unknown client, a client without webhooks for that platform, a
//! wrong Brightpearl token or another account's callback; 413 a body over the cap; 400 a body
//! that is not the platform's JSON; 500 when the store could not commit (the platform
//! retries). Nothing is stored unless the answer is 200. No response, log line or stored
//! text holds a secret.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pearlbridge_capabilities::clients::BIGCOMMERCE_WEBHOOK_HEADER;
use pearlbridge_capabilities::state::{InboxPut, Namespace, NewInboxEvent};
use serde_json::Value;

use super::{ClientEntry, Service, scope_matches};

/// Most ids one Brightpearl callback may carry after expansion (its simulate call sends at
/// most 10 [doc]; real id sets are batches of changes).
pub const MAX_IDS_PER_CALLBACK: usize = 10_000;

pub(crate) fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/webhooks/bigcommerce/{client}", post(bigcommerce))
        .route("/webhooks/brightpearl/{client}/{token}", post(brightpearl))
        .with_state(service)
}

fn status(code: StatusCode, text: &'static str) -> Response {
    (code, text).into_response()
}

/// `/healthz`: 200 `{"status":"ready", "clients": n, "flows": n, "refused": {...}}` once the
/// store is open and the schedules loaded; 503 `{"status":"starting"|"stopping"}` otherwise.
async fn healthz(State(service): State<Arc<Service>>) -> Response {
    if !service.ready.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "not ready"})),
        )
            .into_response();
    }
    let (clients, flows) = {
        let map = service.clients.read().unwrap_or_else(|p| p.into_inner());
        (
            map.len(),
            map.values().map(|c| c.flows.len()).sum::<usize>(),
        )
    };
    let refused = service
        .refused
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    axum::Json(serde_json::json!({
        "status": "ready",
        "clients": clients,
        "flows": flows,
        "refused": refused,
    }))
    .into_response()
}

/// Constant-time equality of two byte strings (the length is not hidden).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The body, at most `max` bytes: 413 above, 400 when it cannot be read.
async fn read_body(body: Body, max: usize) -> Result<axum::body::Bytes, Response> {
    match axum::body::to_bytes(body, max).await {
        Ok(b) => Ok(b),
        Err(e) => {
            // axum reports http-body's "length limit exceeded" through its own error.
            let mut too_big = false;
            let mut cause: Option<&dyn std::error::Error> = Some(&e);
            while let Some(c) = cause {
                too_big |= c.to_string().contains("length limit");
                cause = c.source();
            }
            Err(if too_big {
                status(StatusCode::PAYLOAD_TOO_LARGE, "body too large")
            } else {
                status(StatusCode::BAD_REQUEST, "body could not be read")
            })
        }
    }
}

/// The flows of `entry` subscribed to `scope`.
fn flows_for(entry: &ClientEntry, scope: &str) -> Vec<(Namespace, Arc<tokio::sync::Notify>)> {
    entry
        .flows
        .iter()
        .filter(|(_, f)| f.scopes.iter().any(|p| scope_matches(p, scope)))
        .map(|(name, f)| {
            (
                Namespace::new(entry.config.name.clone(), name.clone()),
                f.wake.clone(),
            )
        })
        .collect()
}

/// Commit `events` (each to its flows), then wake those flows. Err: 500.
async fn commit(
    service: &Arc<Service>,
    entry: &ClientEntry,
    events: Vec<NewInboxEvent>,
) -> Result<(), Response> {
    let mut wake = vec![];
    let mut batch = vec![];
    for e in events {
        let flows = flows_for(entry, &e.scope);
        let ns: Vec<Namespace> = flows.iter().map(|(n, _)| n.clone()).collect();
        wake.extend(flows.into_iter().map(|(_, w)| w));
        batch.push((ns, e));
    }
    let store = service.host.store.clone();
    let window = service.opts.dedupe_window;
    let stored = tokio::task::spawn_blocking(move || {
        let mut stored = 0usize;
        for (ns, e) in batch {
            if ns.is_empty() {
                continue;
            }
            if let InboxPut::Stored(ids) = store.inbox_put(&ns, &e, window)? {
                stored += ids.len();
            }
        }
        Ok::<_, pearlbridge_capabilities::state::StoreError>(stored)
    })
    .await;
    match stored {
        Ok(Ok(n)) => {
            if n > 0 {
                for w in wake {
                    w.notify_one();
                }
            }
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::error!("webhook not committed to the inbox: {e}");
            Err(status(StatusCode::INTERNAL_SERVER_ERROR, "not stored"))
        }
        Err(e) => {
            tracing::error!("webhook store task failed: {e}");
            Err(status(StatusCode::INTERNAL_SERVER_ERROR, "not stored"))
        }
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// One BigCommerce callback as an inbox event; `None` when it is not BigCommerce's shape.
pub fn bigcommerce_event(body: &[u8]) -> Option<NewInboxEvent> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let scope = v.get("scope")?.as_str()?.to_string();
    if !scope.starts_with("store/") {
        return None;
    }
    let data = v.get("data")?;
    // Orders, refunds: `id` is the order; transactions: `order_id`; shipments: `id` (the
    // shipment, with `orderId`); products, SKUs: `id`.
    let entity_id = ["id", "order_id", "orderId"]
        .iter()
        .find_map(|k| data.get(*k).and_then(id_text))?;
    let hash = match v.get("hash").and_then(Value::as_str) {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body)),
    };
    Some(NewInboxEvent {
        source: "bigcommerce".into(),
        dedupe_key: format!("bigcommerce:{scope}:{hash}"),
        scope,
        entity_id,
        payload: String::from_utf8_lossy(body).into_owned(),
    })
}

async fn bigcommerce(
    State(service): State<Arc<Service>>,
    Path(client): Path<String>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    if !service.ready.load(Ordering::SeqCst) {
        return status(StatusCode::SERVICE_UNAVAILABLE, "not ready");
    }
    let Some(entry) = service.client(&client) else {
        return status(StatusCode::NOT_FOUND, "no such client");
    };
    let Some(secret) = &entry.bigcommerce_secret else {
        return status(
            StatusCode::NOT_FOUND,
            "no BigCommerce webhooks for this client",
        );
    };
    let given = headers
        .get(BIGCOMMERCE_WEBHOOK_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !same(given, secret.expose().as_bytes()) {
        return status(StatusCode::UNAUTHORIZED, "unverified webhook");
    }
    let body = match read_body(req.into_body(), service.opts.max_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(event) = bigcommerce_event(&body) else {
        return status(
            StatusCode::BAD_REQUEST,
            "not a BigCommerce webhook body (scope, data.id)",
        );
    };
    match commit(&service, &entry, vec![event]).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(r) => r,
    }
}

/// Expand a Brightpearl id set (`1-3,7,10-11`) to its ids, at most `max`; `None` when it is
/// not an id set or is larger.
pub fn expand_id_set(set: &str, max: usize) -> Option<Vec<u64>> {
    let mut out = vec![];
    for part in set.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?),
            None => {
                let n = part.parse::<u64>().ok()?;
                (n, n)
            }
        };
        if b < a || (b - a) as usize >= max.saturating_sub(out.len()) {
            return None;
        }
        out.extend(a..=b);
    }
    (!out.is_empty()).then_some(out)
}

/// One Brightpearl callback as inbox events, one per id; `Err(400 text)` when it is not the
/// template's shape.
pub fn brightpearl_events(
    body: &[u8],
    account: Option<&str>,
) -> Result<Vec<NewInboxEvent>, StatusCode> {
    let v: Value = serde_json::from_slice(body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim);
    if let (Some(want), Some(got)) = (account, text("accountCode"))
        && want != got
    {
        return Err(StatusCode::NOT_FOUND);
    }
    let full = match text("fullEvent").filter(|s| !s.is_empty()) {
        Some(f) => f.to_string(),
        None => {
            let r = text("resourceType").ok_or(StatusCode::BAD_REQUEST)?;
            let l = text("lifecycleEvent").ok_or(StatusCode::BAD_REQUEST)?;
            format!("{r}.{l}")
        }
    };
    let ids = v
        .get("id")
        .and_then(id_text)
        .ok_or(StatusCode::BAD_REQUEST)?;
    let ids = expand_id_set(&ids, MAX_IDS_PER_CALLBACK).ok_or(StatusCode::BAD_REQUEST)?;
    let raised = text("raisedOn").unwrap_or_default().to_string();
    Ok(ids
        .into_iter()
        .map(|id| {
            let mut one = v.clone();
            one["id"] = Value::String(id.to_string());
            NewInboxEvent {
                source: "brightpearl".into(),
                scope: full.clone(),
                entity_id: id.to_string(),
                payload: one.to_string(),
                dedupe_key: format!("brightpearl:{full}:{id}:{raised}"),
            }
        })
        .collect())
}

async fn brightpearl(
    State(service): State<Arc<Service>>,
    Path((client, token)): Path<(String, String)>,
    req: Request,
) -> Response {
    if !service.ready.load(Ordering::SeqCst) {
        return status(StatusCode::SERVICE_UNAVAILABLE, "not ready");
    }
    let Some(entry) = service.client(&client) else {
        return status(StatusCode::NOT_FOUND, "no such client");
    };
    let Some(secret) = &entry.brightpearl_token else {
        return status(
            StatusCode::NOT_FOUND,
            "no Brightpearl webhooks for this client",
        );
    };
    if !same(token.as_bytes(), secret.expose().as_bytes()) {
        return status(StatusCode::NOT_FOUND, "no such webhook");
    }
    let body = match read_body(req.into_body(), service.opts.max_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let account = entry
        .config
        .brightpearl
        .as_ref()
        .map(|b| b.account.as_str());
    let events = match brightpearl_events(&body, account) {
        Ok(e) => e,
        Err(StatusCode::NOT_FOUND) => {
            return status(StatusCode::NOT_FOUND, "another account's webhook");
        }
        Err(code) => {
            return (
                code,
                "not a Brightpearl webhook body (fullEvent or resourceType + lifecycleEvent, id set)",
            )
                .into_response();
        }
    };
    match commit(&service, &entry, events).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_sets_expand_within_the_cap() {
        assert_eq!(expand_id_set("1-3,7", 100), Some(vec![1, 2, 3, 7]));
        assert_eq!(expand_id_set("12", 100), Some(vec![12]));
        assert_eq!(expand_id_set("3-1", 100), None);
        assert_eq!(expand_id_set("a-b", 100), None);
        assert_eq!(expand_id_set("", 100), None);
        assert_eq!(expand_id_set("1-10", 10), Some((1..=10).collect()));
        assert_eq!(expand_id_set("1-10,11", 10), None);
    }

    #[test]
    fn bigcommerce_bodies_give_the_order_and_a_dedupe_key() {
        let b = br#"{"scope":"store/order/created","store_id":"1","data":{"type":"order","id":118},"hash":"ab12","created_at":1,"producer":"stores/x"}"#;
        let e = bigcommerce_event(b).unwrap();
        assert_eq!(
            (
                e.scope.as_str(),
                e.entity_id.as_str(),
                e.dedupe_key.as_str()
            ),
            (
                "store/order/created",
                "118",
                "bigcommerce:store/order/created:ab12"
            )
        );
        let t = br#"{"scope":"store/order/transaction/created","data":{"type":"transaction","order_id":7,"transaction_id":3},"hash":"h"}"#;
        assert_eq!(bigcommerce_event(t).unwrap().entity_id, "7");
        assert!(bigcommerce_event(br#"{"scope":"store/order/created","data":{}}"#).is_none());
        assert!(bigcommerce_event(b"[1,2]").is_none());
        assert!(bigcommerce_event(b"{not json").is_none());
    }

    #[test]
    fn brightpearl_bodies_expand_and_other_accounts_are_refused() {
        let b = br#"{"accountCode":"acme","resourceType":"goods-out-note","id":"5-6","lifecycleEvent":"modified","fullEvent":"goods-out-note.modified.shipped","raisedOn":"2026-12-03T10:00:00Z"}"#;
        let es = brightpearl_events(b, Some("acme")).unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(es[1].entity_id, "6");
        assert_eq!(es[1].scope, "goods-out-note.modified.shipped");
        assert!(es[1].payload.contains(r#""id":"6""#));
        assert_ne!(es[0].dedupe_key, es[1].dedupe_key);
        assert_eq!(
            brightpearl_events(b, Some("bolt")).unwrap_err(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            brightpearl_events(br#"{"id":"1"}"#, None).unwrap_err(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(same(b"abcdefgh", b"abcdefgh"));
        assert!(!same(b"abcdefgh", b"abcdefgi"));
        assert!(!same(b"abc", b"abcdefgh"));
    }
}
