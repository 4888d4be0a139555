//! `pearlbridge hooks register --client X`: create or update the webhooks `serve` receives,
//! on both platforms, from the client file's `[webhooks]` and the event scopes its flows
//! subscribe to (`describe().event-scopes`).
//!
//! - BigCommerce (`/v3/hooks` [doc] bigcommerce-api.md §10): one hook per `store/...` scope at
//!   `{public_url}/webhooks/bigcommerce/{client}` with the custom header
//!   [`BIGCOMMERCE_WEBHOOK_HEADER`] set to the client's `webhooks.bigcommerce_secret`. A hook
//!   with the same scope and destination is kept when active with the header, else updated
//!   (`PUT /v3/hooks/{id}` with `is_active: true` and the header): a second call creates
//!   nothing. Health: `GET /v3/hooks/admin` lists deactivated hooks (BigCommerce deactivates a
//!   hook after ~48 h of failed deliveries [doc]); they are reported, and ours reactivated.
//! - Brightpearl (`integration-service/webhook` [doc] brightpearl-api.md §11): one webhook per
//!   other scope with `uriTemplate` `{public_url}/webhooks/brightpearl/{client}/{token}`, a JSON
//!   `bodyTemplate` of the template variables, `idSetAccepted: true`, `qualityOfService: 1`.
//!   Brightpearl has no update: a webhook of ours with another token (rotated) is deleted and
//!   created again; an identical one is kept.
//!
//! Every call goes through the client's connections (credentials, rate limits, audit lines).
//! Answers pass the host's scrubbing, so a header value the host holds as a secret reads
//! `[redacted]`: that counts as ours.

use std::collections::BTreeSet;

use anyhow::{Context as _, anyhow, bail};
use pearlbridge_capabilities::clients::BIGCOMMERCE_WEBHOOK_HEADER;
use pearlbridge_capabilities::connections::{ApiRequest, ApiResponse, Method, System};
use pearlbridge_capabilities::redact::REDACTED;
use serde_json::{Value, json};

use crate::host::Host;

/// Brightpearl's JSON body for our webhooks (brightpearl-api.md §11).
pub const BRIGHTPEARL_BODY_TEMPLATE: &str = r#"{"accountCode":"${account-code}","resourceType":"${resource-type}","id":"${resource-id}","lifecycleEvent":"${lifecycle-event}","fullEvent":"${full-event}","raisedOn":"${raised-on}"}"#;

/// What happened to one hook.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HookChange {
    /// `bigcommerce` or `brightpearl`.
    pub system: &'static str,
    /// The BigCommerce scope or Brightpearl `subscribeTo`.
    pub scope: String,
    /// The platform's hook id.
    pub id: i64,
    /// `created`, `updated`, `reactivated`, `replaced` or `unchanged`.
    pub action: &'static str,
}

/// The outcome of [`register`].
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HooksReport {
    pub changes: Vec<HookChange>,
    /// BigCommerce hooks of this API account that were deactivated (or inactive) before
    /// this call, as `(id, scope, destination)`, ours or not.
    pub deactivated: Vec<(i64, String, String)>,
}

async fn call(
    host: &Host,
    client: &str,
    system: System,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let conn = host
        .api(client, system)?
        .ok_or_else(|| anyhow!("client `{client}` has no {system} connection"))?;
    let req = ApiRequest {
        system,
        method,
        path: path.to_string(),
        body: body.map(|b| b.to_string()),
        headers: vec![("content-type".into(), "application/json".into())],
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let resp: ApiResponse = conn
        .send("hooks", req, deadline)
        .await
        .with_context(|| format!("{system} {} {path}", method.as_str()))?;
    if !(200..300).contains(&resp.status) {
        bail!(
            "{system} {} {path} answered {}: {}",
            method.as_str(),
            resp.status,
            resp.body.chars().take(300).collect::<String>()
        );
    }
    if resp.body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&resp.body).with_context(|| {
        format!(
            "{system} {} {path}: the answer is not JSON",
            method.as_str()
        )
    })
}

/// Create or update `client`'s hooks on both platforms; see the module docs. Errors: the
/// client is unknown or has no `[webhooks] public_url`, a secret is missing, a platform
/// refused a call.
pub async fn register(host: &Host, client: &str) -> anyhow::Result<HooksReport> {
    let c = host
        .client(client)
        .ok_or_else(|| anyhow!("no client `{client}`"))?;
    let w = c.webhooks.as_ref().ok_or_else(|| {
        anyhow!(
            "{}: no [webhooks] section; add public_url and the secret names",
            c.file.display()
        )
    })?;
    let public = w.public_url.as_ref().ok_or_else(|| {
        anyhow!(
            "{}: webhooks.public_url is needed to register hooks",
            c.file.display()
        )
    })?;
    let mut scopes = BTreeSet::new();
    for flow in c.flows.keys() {
        let (loaded, _) = host.pinned_component(&c, flow)?;
        scopes.extend(host.runtime.describe(&loaded).await?.event_scopes);
    }
    // A scope another flow's wildcard covers (`store/order/*` covers the refunds flow's
    // `store/order/refund/created`) is not registered again: the platform would deliver its
    // events twice. The receiver routes each event to every flow whose scope matches.
    let all: Vec<String> = scopes.iter().cloned().collect();
    scopes.retain(|s| {
        !all.iter()
            .any(|p| p != s && crate::serve::scope_matches(p, s))
    });
    let (bc_scopes, bp_scopes): (Vec<String>, Vec<String>) =
        scopes.into_iter().partition(|s| s.starts_with("store/"));
    let mut report = HooksReport::default();

    if !bc_scopes.is_empty() {
        let name = w.bigcommerce_secret.as_ref().ok_or_else(|| {
            anyhow!(
                "{}: webhooks.bigcommerce_secret is needed for the BigCommerce hooks of {}",
                c.file.display(),
                bc_scopes.join(", ")
            )
        })?;
        let secret = host.secrets.resolve(name)?;
        let destination = format!("{public}/webhooks/bigcommerce/{client}");
        let admin = call(
            host,
            client,
            System::BigCommerce,
            Method::Get,
            "/v3/hooks/admin",
            None,
        )
        .await?;
        for h in admin["data"]["hooks_list"].as_array().into_iter().flatten() {
            let status = h["status"].as_str().unwrap_or("");
            if status == "deactivated" || status == "inactive" || h["is_active"] == false {
                report.deactivated.push((
                    h["id"].as_i64().unwrap_or(0),
                    h["scope"].as_str().unwrap_or("").to_string(),
                    h["destination"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
        let mut existing: Vec<Value> = vec![];
        for page in 1.. {
            let v = call(
                host,
                client,
                System::BigCommerce,
                Method::Get,
                &format!("/v3/hooks?limit=250&page={page}"),
                None,
            )
            .await?;
            let rows = v["data"].as_array().cloned().unwrap_or_default();
            let n = rows.len();
            existing.extend(rows);
            let total_pages = v["meta"]["pagination"]["total_pages"].as_u64().unwrap_or(1);
            if n < 250 || page >= total_pages {
                break;
            }
        }
        for scope in &bc_scopes {
            let found = existing
                .iter()
                .find(|h| h["scope"] == scope.as_str() && h["destination"] == destination.as_str());
            let header_ok = |h: &Value| {
                let v = h["headers"][BIGCOMMERCE_WEBHOOK_HEADER]
                    .as_str()
                    .unwrap_or("");
                v == secret.expose() || v == REDACTED
            };
            let headers = json!({ BIGCOMMERCE_WEBHOOK_HEADER: secret.expose() });
            let (id, action) = match found {
                Some(h) if h["is_active"] == true && header_ok(h) => {
                    (h["id"].as_i64().unwrap_or(0), "unchanged")
                }
                Some(h) => {
                    let id = h["id"].as_i64().unwrap_or(0);
                    let action = if h["is_active"] == true {
                        "updated"
                    } else {
                        "reactivated"
                    };
                    call(
                        host,
                        client,
                        System::BigCommerce,
                        Method::Put,
                        &format!("/v3/hooks/{id}"),
                        Some(json!({"is_active": true, "headers": headers})),
                    )
                    .await?;
                    (id, action)
                }
                None => {
                    let v = call(
                        host,
                        client,
                        System::BigCommerce,
                        Method::Post,
                        "/v3/hooks",
                        Some(json!({"scope": scope, "destination": destination, "is_active": true, "headers": headers})),
                    )
                    .await?;
                    (v["data"]["id"].as_i64().unwrap_or(0), "created")
                }
            };
            report.changes.push(HookChange {
                system: "bigcommerce",
                scope: scope.clone(),
                id,
                action,
            });
        }
    }

    if !bp_scopes.is_empty() {
        let name = w.brightpearl_secret.as_ref().ok_or_else(|| {
            anyhow!(
                "{}: webhooks.brightpearl_secret is needed for the Brightpearl webhooks of {}",
                c.file.display(),
                bp_scopes.join(", ")
            )
        })?;
        let token = host.secrets.resolve(name)?;
        let prefix = format!("{public}/webhooks/brightpearl/{client}/");
        let uri = format!("{prefix}{}", token.expose());
        let listed = call(
            host,
            client,
            System::Brightpearl,
            Method::Get,
            "/integration-service/webhook",
            None,
        )
        .await?;
        let existing: Vec<Value> = listed["response"].as_array().cloned().unwrap_or_default();
        for scope in &bp_scopes {
            let ours: Vec<&Value> = existing
                .iter()
                .filter(|h| h["subscribeTo"] == scope.as_str())
                .filter(|h| {
                    h["uriTemplate"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(&prefix))
                })
                .collect();
            let same = |h: &&&Value| {
                let u = h["uriTemplate"].as_str().unwrap_or("");
                u == uri || u == format!("{prefix}{REDACTED}")
            };
            if let Some(h) = ours.iter().find(same) {
                report.changes.push(HookChange {
                    system: "brightpearl",
                    scope: scope.clone(),
                    id: h["id"].as_i64().unwrap_or(0),
                    action: "unchanged",
                });
                continue;
            }
            for old in &ours {
                let id = old["id"].as_i64().unwrap_or(0);
                call(
                    host,
                    client,
                    System::Brightpearl,
                    Method::Delete,
                    &format!("/integration-service/webhook/{id}"),
                    None,
                )
                .await?;
            }
            let v = call(
                host,
                client,
                System::Brightpearl,
                Method::Post,
                "/integration-service/webhook",
                Some(json!({
                    "subscribeTo": scope,
                    "httpMethod": "POST",
                    "uriTemplate": uri,
                    "bodyTemplate": BRIGHTPEARL_BODY_TEMPLATE,
                    "contentType": "application/json",
                    "idSetAccepted": true,
                    "qualityOfService": 1,
                })),
            )
            .await?;
            report.changes.push(HookChange {
                system: "brightpearl",
                scope: scope.clone(),
                id: v["response"].as_i64().unwrap_or(0),
                action: if ours.is_empty() {
                    "created"
                } else {
                    "replaced"
                },
            });
        }
    }
    Ok(report)
}
