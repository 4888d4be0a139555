//! Webhook delivery the way Brightpearl sends them (§11 of the reference).
//!
//! * A registration matches an event when `subscribeTo` equals the full event name or is a
//!   prefix of it at a `.` boundary (`goods-out-note` matches `goods-out-note.modified.shipped`)
//!   **\[doc\]**.
//! * `idSetAccepted: true` → one call whose `${resource-id}` is an ID set (`1-3,7`); otherwise
//!   one call per id **\[doc\]**.
//! * Template variables **\[doc\]**: `${account-code}`, `${resource-type}`, `${resource-id}`,
//!   `${lifecycle-event}`, `${resource-specifier}`, `${raised-on}`, `${brightpearl-version}`
//!   (`7.0.0` here **\[unconfirmed\]**); `${full-event}` **\[obs\]**. Applied to `uriTemplate` and
//!   `bodyTemplate`. The payload carries ids only **\[doc\]/\[obs\]**; no signature header **\[unconfirmed\]**.
//! * Retries: `qualityOfService 1` retries any failure except a 4xx; `0` retries only a 503
//!   **\[doc\]**. The simulator makes at most [`MAX_ATTEMPTS`] attempts, [`RETRY_DELAY_MS`]
//!   simulated ms apart (schedule **\[unconfirmed\]**).

use std::sync::{Arc, Mutex};

use chrono::FixedOffset;
use serde::Serialize;

use super::model::{compact_id_set, iso};
use super::state::{Event, State, Webhook};
use crate::clock::Clock;

/// At most this many delivery attempts per call.
pub const MAX_ATTEMPTS: u32 = 3;
/// Simulated ms between attempts.
pub const RETRY_DELAY_MS: u64 = 10_000;
/// `${brightpearl-version}` **\[unconfirmed\]**.
pub const BRIGHTPEARL_VERSION: &str = "7.0.0";

/// One webhook call the simulator made (or tried to make), for tests and the admin API.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub webhook_id: i64,
    pub event: String,
    pub http_method: String,
    pub uri: String,
    pub content_type: Option<String>,
    pub body: Option<String>,
    /// HTTP status of the last attempt; `None` when the connection failed.
    pub status: Option<u16>,
    pub attempts: u32,
}

/// A call to make.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub webhook_id: i64,
    pub event: String,
    pub http_method: String,
    pub uri: String,
    pub content_type: Option<String>,
    pub body: Option<String>,
    pub qos: i64,
}

fn matches(subscribe_to: &str, full: &str) -> bool {
    full == subscribe_to
        || full
            .strip_prefix(subscribe_to)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn render(
    template: &str,
    account: &str,
    event: &Event,
    resource_id: &str,
    tz: FixedOffset,
) -> String {
    let mut parts = event.full.splitn(3, '.');
    let resource_type = parts.next().unwrap_or("");
    let lifecycle = parts.next().unwrap_or("");
    let specifier = parts.next().unwrap_or("");
    template
        .replace("${account-code}", account)
        .replace("${resource-type}", resource_type)
        .replace("${resource-id}", resource_id)
        .replace("${lifecycle-event}", lifecycle)
        .replace("${resource-specifier}", specifier)
        .replace("${full-event}", event.full)
        .replace("${raised-on}", &iso(event.raised_on, tz))
        .replace("${brightpearl-version}", BRIGHTPEARL_VERSION)
}

/// The calls the registered webhooks make for these events.
pub(crate) fn calls_for(st: &State, account: &str, events: &[Event]) -> Vec<Call> {
    let mut calls = Vec::new();
    for ev in events {
        for w in st
            .webhooks
            .values()
            .filter(|w| matches(&w.subscribe_to, ev.full) && ev.only.is_none_or(|o| o == w.id))
        {
            let ids: Vec<String> = if w.id_set_accepted {
                vec![compact_id_set(&ev.ids)]
            } else {
                ev.ids.iter().map(|i| i.to_string()).collect()
            };
            for rid in ids {
                calls.push(call(w, account, ev, &rid, st.tz));
            }
        }
    }
    calls
}

fn call(w: &Webhook, account: &str, ev: &Event, rid: &str, tz: FixedOffset) -> Call {
    let with_body = w.http_method == "POST" || w.http_method == "PUT";
    Call {
        webhook_id: w.id,
        event: ev.full.to_string(),
        http_method: w.http_method.clone(),
        uri: render(&w.uri_template, account, ev, rid, tz),
        content_type: w.content_type.clone(),
        body: if with_body {
            w.body_template
                .as_deref()
                .map(|b| render(b, account, ev, rid, tz))
        } else {
            None
        },
        qos: w.quality_of_service,
    }
}

/// Sends the calls in order on a background task (needs a Tokio runtime; without one the
/// calls are recorded as not delivered, `attempts: 0`).
pub(crate) fn dispatch(
    calls: Vec<Call>,
    http: reqwest::Client,
    clock: Clock,
    log: Arc<Mutex<Vec<WebhookDelivery>>>,
) {
    if calls.is_empty() {
        return;
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        let mut l = log.lock().expect("webhook log");
        for c in calls {
            l.push(record(&c, None, 0));
        }
        return;
    };
    handle.spawn(async move {
        for c in calls {
            let (status, attempts) = deliver(&http, &clock, &c).await;
            log.lock()
                .expect("webhook log")
                .push(record(&c, status, attempts));
        }
    });
}

fn record(c: &Call, status: Option<u16>, attempts: u32) -> WebhookDelivery {
    WebhookDelivery {
        webhook_id: c.webhook_id,
        event: c.event.clone(),
        http_method: c.http_method.clone(),
        uri: c.uri.clone(),
        content_type: c.content_type.clone(),
        body: c.body.clone(),
        status,
        attempts,
    }
}

async fn deliver(http: &reqwest::Client, clock: &Clock, c: &Call) -> (Option<u16>, u32) {
    let method =
        reqwest::Method::from_bytes(c.http_method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut last = None;
    for attempt in 1..=MAX_ATTEMPTS {
        let mut req = http
            .request(method.clone(), &c.uri)
            .timeout(std::time::Duration::from_secs(10));
        if let Some(ct) = &c.content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if let Some(b) = &c.body {
            req = req.body(b.clone());
        }
        let status = req.send().await.ok().map(|r| r.status().as_u16());
        last = status;
        let retry = match status {
            Some(s) if (200..300).contains(&s) => false,
            Some(503) => true,
            Some(s) if (400..500).contains(&s) => false,
            _ => c.qos == 1,
        };
        if !retry || attempt == MAX_ATTEMPTS {
            return (last, attempt);
        }
        clock.sleep_simulated(RETRY_DELAY_MS).await;
    }
    (last, MAX_ATTEMPTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_matching() {
        assert!(matches("goods-out-note", "goods-out-note.modified.shipped"));
        assert!(matches(
            "goods-out-note.modified.shipped",
            "goods-out-note.modified.shipped"
        ));
        assert!(!matches(
            "goods-out-note.modified.shipped",
            "goods-out-note.modified"
        ));
        assert!(!matches("product", "products.x"));
    }
}
