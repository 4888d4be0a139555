//! `/v3/hooks` and webhook delivery (`bigcommerce-api.md` §10).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::http::{Paging, Req, Resp, Ver};
use super::json::{int, sha1_hex, text};
use super::state::{Event, State};
use super::{Ctx, WebhookDelivery};
use crate::clock::Clock;

/// Whether hook scope `hook` covers event `event` (`store/order/*` covers every
/// `store/order/...` event [doc]).
pub(crate) fn scope_matches(hook: &str, event: &str) -> bool {
    match hook.strip_suffix("/*") {
        Some(prefix) => event.starts_with(&format!("{prefix}/")),
        None => hook == event,
    }
}

/// The payload BigCommerce POSTs [doc]: `{scope, store_id (numeric string), data, hash (SHA-1
/// of the serialised data), created_at (Unix s), producer: "stores/{hash}"}`.
pub(crate) fn payload(e: &Event, ctx: &Ctx) -> Value {
    json!({
        "scope": e.scope,
        "store_id": ctx.store_id,
        "data": e.data,
        "hash": sha1_hex(e.data.to_string().as_bytes()),
        "created_at": ctx.now.timestamp(),
        "producer": format!("stores/{}", ctx.store_hash),
    })
}

/// `(hook id, custom headers, payload)` for each active hook matching each event.
pub(crate) fn payloads(
    hooks: &[Value],
    events: &[Event],
    ctx: &Ctx,
) -> Vec<(i64, BTreeMap<String, String>, Value)> {
    let mut out = Vec::new();
    for e in events {
        for h in hooks {
            if h.get("is_active") != Some(&Value::Bool(true))
                || !scope_matches(text(h, "scope"), &e.scope)
            {
                continue;
            }
            let headers = h
                .get("headers")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            out.push((int(h, "id").unwrap_or(0), headers, payload(e, ctx)));
        }
    }
    out
}

/// Retry delays after a failed delivery, in simulated seconds [doc] (§10).
pub const RETRY_SCHEDULE_S: [u64; 11] = [
    60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400, 86400,
];

type Log = Arc<Mutex<Vec<WebhookDelivery>>>;

/// One POST; records the status and attempt count. True when the callback answered 2xx.
async fn attempt(client: &reqwest::Client, log: &Log, index: usize, d: &WebhookDelivery) -> bool {
    let mut rb = client
        .post(&d.url)
        .header("content-type", "application/json")
        .body(d.payload.to_string());
    for (k, v) in &d.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let status = match rb.send().await {
        Ok(resp) => Some(resp.status().as_u16()),
        Err(e) => {
            tracing::warn!(url = %d.url, error = %e, "bigcommerce sandbox: webhook delivery failed");
            None
        }
    };
    if let Some(entry) = log.lock().expect("deliveries lock").get_mut(index) {
        entry.status = status;
        entry.attempts += 1;
    }
    status.is_some_and(|s| (200..300).contains(&s))
}

/// POSTs queued deliveries one at a time, in order; a failed one is retried on the documented
/// schedule (on the simulated clock) in the background, so later events are not held up.
pub(crate) async fn delivery_worker(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(usize, WebhookDelivery)>,
    log: Log,
    clock: Clock,
) {
    let client = reqwest::Client::new();
    while let Some((index, d)) = rx.recv().await {
        if attempt(&client, &log, index, &d).await {
            continue;
        }
        let (client, log, clock) = (client.clone(), log.clone(), clock.clone());
        tokio::spawn(async move {
            for delay in RETRY_SCHEDULE_S {
                clock.sleep_simulated(delay * 1000).await;
                if attempt(&client, &log, index, &d).await {
                    return;
                }
            }
        });
    }
}

/// `GET /v3/hooks/admin` [doc]: `emails`, `hooks_list[{..., status: active|inactive}]`,
/// `blocked_domains` (always empty: the sandbox does not blocklist). Wrapped as
/// `{data, meta: {}}` [unconfirmed].
pub(crate) fn admin(st: &State) -> Resp {
    let hooks: Vec<Value> = st
        .hooks
        .iter()
        .map(|h| {
            let mut h = h.clone();
            let active = h.get("is_active") == Some(&Value::Bool(true));
            h["status"] = json!(if active { "active" } else { "inactive" });
            h
        })
        .collect();
    Resp::ok(
        json!({"data": {"emails": st.hook_admin_emails, "hooks_list": hooks, "blocked_domains": []}, "meta": {}}),
    )
}

/// `PUT /v3/hooks/admin {"emails": [...]}` [doc]: sets the deactivation-notice addresses;
/// answers like the GET [unconfirmed].
pub(crate) fn set_admin(st: &mut State, req: &Req) -> Resp {
    let body = match req.json(Ver::V3) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(emails) = body
        .get("emails")
        .and_then(Value::as_array)
        .filter(|e| e.iter().all(Value::is_string))
    else {
        return Resp::v3_error(
            422,
            "Input is invalid",
            json!({"emails": "must be an array of strings"}),
        );
    };
    st.hook_admin_emails = emails
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    admin(st)
}

/// `GET /v3/hooks` [doc]: the calling client's hooks; filters `is_active`, `scope`,
/// `destination`; `{data, meta{pagination}}`.
pub(crate) fn list(st: &State, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let active = req.q("is_active").map(|v| v == "true");
    let rows: Vec<Value> = st
        .hooks
        .iter()
        .filter(|h| active.is_none_or(|a| h.get("is_active") == Some(&Value::Bool(a))))
        .filter(|h| req.q("scope").is_none_or(|s| text(h, "scope") == s))
        .filter(|h| {
            req.q("destination")
                .is_none_or(|d| text(h, "destination") == d)
        })
        .cloned()
        .collect();
    paging.v3_list(&rows)
}

/// `GET /v3/hooks/{id}` [doc]: `{data: hook, meta: {}}`.
pub(crate) fn get(st: &State, id: i64) -> Resp {
    st.hooks
        .iter()
        .find(|h| int(h, "id") == Some(id))
        .map_or_else(
            || Resp::not_found(Ver::V3),
            |h| Resp::ok(json!({"data": h, "meta": {}})),
        )
}

/// https on port 443 only [doc].
fn valid_destination(d: &str) -> bool {
    let Some(rest) = d.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    !host.is_empty() && host.split_once(':').is_none_or(|(_, port)| port == "443")
}

/// Checks `scope`, `destination`, `is_active`, `headers` of a create/update body.
fn check_fields(body: &Value, creating: bool) -> serde_json::Map<String, Value> {
    let mut errors = serde_json::Map::new();
    match body.get("scope") {
        None if !creating => {}
        Some(Value::String(s)) if s.starts_with("store/") => {}
        _ => {
            errors.insert("scope".into(), json!("must be a store/... webhook scope"));
        }
    }
    match body.get("destination") {
        None if !creating => {}
        Some(Value::String(d)) if valid_destination(d) => {}
        _ => {
            errors.insert(
                "destination".into(),
                json!("must be an https URL on port 443"),
            );
        }
    }
    if body.get("is_active").is_some_and(|a| !a.is_boolean()) {
        errors.insert("is_active".into(), json!("must be a boolean"));
    }
    if let Some(h) = body.get("headers") {
        let ok = h.is_null()
            || h.as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
        if !ok {
            errors.insert(
                "headers".into(),
                json!("must be an object of string values"),
            );
        }
    }
    errors
}

/// `POST /v3/hooks` [doc]: `{scope, destination, is_active, headers}` → 200 `{data:{id,
/// client_id, store_hash, scope, destination, headers, is_active, created_at, updated_at}}`.
/// 422 on invalid fields, on a second hook for the same scope + destination, or an 11th hook for
/// a scope [doc limits; status [unconfirmed]]. `is_active` defaults to true [unconfirmed].
pub(crate) fn create(st: &mut State, ctx: &Ctx, req: &Req) -> Resp {
    let body = match req.json(Ver::V3) {
        Ok(b) if b.is_object() => b,
        Ok(_) => return Resp::v3_error(422, "The request body must be a JSON object.", json!({})),
        Err(r) => return r,
    };
    let errors = check_fields(&body, true);
    if !errors.is_empty() {
        return Resp::v3_error(422, "Input is invalid", Value::Object(errors));
    }
    let scope = text(&body, "scope");
    let destination = text(&body, "destination");
    if st
        .hooks
        .iter()
        .any(|h| text(h, "scope") == scope && text(h, "destination") == destination)
    {
        return Resp::v3_error(
            422,
            "A hook with this scope and destination already exists.",
            json!({}),
        );
    }
    if st
        .hooks
        .iter()
        .filter(|h| text(h, "scope") == scope)
        .count()
        >= 10
    {
        return Resp::v3_error(422, "At most 10 hooks per scope are allowed.", json!({}));
    }
    let id = st.next_hook_id;
    st.next_hook_id += 1;
    let now = ctx.now.timestamp();
    let hook = json!({
        "id": id,
        "client_id": ctx.client_id,
        "store_hash": ctx.store_hash,
        "scope": scope,
        "destination": destination,
        "headers": body.get("headers").cloned().filter(|h| !h.is_null()).unwrap_or(json!({})),
        "is_active": body.get("is_active").cloned().unwrap_or(json!(true)),
        "created_at": now,
        "updated_at": now,
    });
    st.hooks.push(hook.clone());
    Resp::ok(json!({"data": hook, "meta": {}}))
}

/// `PUT /v3/hooks/{id}` [doc]: changes `scope`, `destination`, `is_active`, `headers`
/// (e.g. reactivation with `{"is_active": true}` [doc]); 200 `{data, meta}`.
pub(crate) fn update(st: &mut State, ctx: &Ctx, id: i64, req: &Req) -> Resp {
    let Some(i) = st.hooks.iter().position(|h| int(h, "id") == Some(id)) else {
        return Resp::not_found(Ver::V3);
    };
    let body = match req.json(Ver::V3) {
        Ok(b) if b.is_object() => b,
        Ok(_) => return Resp::v3_error(422, "The request body must be a JSON object.", json!({})),
        Err(r) => return r,
    };
    let errors = check_fields(&body, false);
    if !errors.is_empty() {
        return Resp::v3_error(422, "Input is invalid", Value::Object(errors));
    }
    let hook = &mut st.hooks[i];
    for k in ["scope", "destination", "is_active", "headers"] {
        if let Some(v) = body.get(k) {
            hook[k] = if k == "headers" && v.is_null() {
                json!({})
            } else {
                v.clone()
            };
        }
    }
    hook["updated_at"] = json!(ctx.now.timestamp());
    Resp::ok(json!({"data": hook.clone(), "meta": {}}))
}

/// `DELETE /v3/hooks/{id}` [doc]: 200 with the deleted hook `{data, meta}` [unconfirmed body].
pub(crate) fn delete(st: &mut State, id: i64) -> Resp {
    let Some(i) = st.hooks.iter().position(|h| int(h, "id") == Some(id)) else {
        return Resp::not_found(Ver::V3);
    };
    let hook = st.hooks.remove(i);
    Resp::ok(json!({"data": hook, "meta": {}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_destinations() {
        assert!(scope_matches("store/order/*", "store/order/refund/created"));
        assert!(scope_matches("store/order/created", "store/order/created"));
        assert!(!scope_matches("store/order/created", "store/order/updated"));
        assert!(!scope_matches("store/order/*", "store/orders"));
        assert!(valid_destination("https://hooks.example.com/bc"));
        assert!(valid_destination("https://hooks.example.com:443/bc"));
        assert!(!valid_destination("https://hooks.example.com:8443/bc"));
        assert!(!valid_destination("http://hooks.example.com/bc"));
    }
}
