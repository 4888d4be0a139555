//! Alerts: `pearlbridge serve` posts each owning team's *new* open exceptions to that team's
//! chat webhook (the client file's `[alerts]`, one secret name per team: the URL is a
//! credential, so it is resolved through the secret store and never logged).
//!
//! - De-duplicated: one alert per exception (client × flow × kind × entity, as first seen);
//!   the mark is kept in the state store under the client's `_alerts` namespace, so a
//!   restarted service does not alert again. An exception that resolved and is raised again
//!   later is new, and is alerted again.
//! - Bursts: more than [`ServeOptions::alert_digest_over`] new exceptions of one team in one
//!   pass go as a single digest (count, impact per currency, the largest by impact).
//! - Retried: up to three attempts a pass (1 s, 2 s apart); what was not delivered stays
//!   unmarked and goes with the next pass.
//! - Never a secret: exception texts are scrubbed by the store already and again here; the
//!   webhook URL appears in no log and no error.
//!
//! Body (JSON, Slack / Teams incoming-webhook compatible `text`, plus the structured facts):
//! `{"text": "...", "client": "acme", "team": "finance", "digest": false,
//!   "exceptions": [{"flow", "kind", "entity", "message", "impact": {"amount", "currency"}|null,
//!   "first_seen"}]}`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use pearlbridge_capabilities::exceptions::{ExceptionFilter, ExceptionRecord, Team, runbook};
use pearlbridge_capabilities::redact::scrub;
use pearlbridge_capabilities::state::Namespace;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Service, Stop};

/// The state namespace flow name holding a client's alert marks.
pub const ALERTS_NAMESPACE: &str = "_alerts";

/// Largest exceptions a digest lists by name (the rest are counted).
const DIGEST_LISTED: usize = 10;

/// The mark key of one exception: kind × entity × flow as first seen.
fn mark_key(e: &ExceptionRecord) -> String {
    format!(
        "{}/{}/{}@{}",
        e.flow,
        e.kind,
        e.entity,
        e.first_seen.timestamp_millis()
    )
}

fn impact_text(e: &ExceptionRecord) -> String {
    match &e.impact {
        Some(m) => format!("{} {}", m.currency, m.amount.round_dp(2)),
        None => "no money impact".into(),
    }
}

fn one_line(e: &ExceptionRecord) -> String {
    format!(
        "{} on {} ({}), {}: {}",
        e.kind,
        e.entity,
        e.flow,
        impact_text(e),
        e.message
    )
}

fn facts(e: &ExceptionRecord) -> Value {
    json!({
        "flow": e.flow,
        "kind": e.kind,
        "entity": e.entity,
        "message": scrub(&e.message),
        "impact": e.impact.as_ref().map(|m| json!({
            "amount": m.amount.to_string(),
            "currency": m.currency,
        })),
        "first_seen": e.first_seen.to_rfc3339(),
    })
}

/// The messages of one pass for one team: a message per exception, or one digest when
/// there are more than `digest_over`. Each message with the exceptions it covers.
/// `new` is in impact order (as [`pearlbridge_capabilities::state::Store::exceptions`] lists).
pub fn messages(
    client: &str,
    team: Team,
    new: &[ExceptionRecord],
    digest_over: usize,
) -> Vec<(Value, Vec<ExceptionRecord>)> {
    if new.is_empty() {
        return vec![];
    }
    if new.len() <= digest_over {
        return new
            .iter()
            .map(|e| {
                let todo = runbook(&e.kind)
                    .map(|r| format!(" What to do: {}", r.next_step))
                    .unwrap_or_default();
                let text =
                    scrub(&format!("[{client}] {team}: {}.{todo}", one_line(e))).into_owned();
                let body = json!({
                    "text": text,
                    "client": client,
                    "team": team.as_str(),
                    "digest": false,
                    "exceptions": [facts(e)],
                });
                (body, vec![e.clone()])
            })
            .collect();
    }
    let mut by_currency: BTreeMap<&str, Decimal> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for e in new {
        if let Some(m) = &e.impact {
            *by_currency.entry(m.currency.as_str()).or_default() += m.amount;
        }
        *by_kind.entry(e.kind.as_str()).or_default() += 1;
    }
    let impact = if by_currency.is_empty() {
        "no money impact".to_string()
    } else {
        by_currency
            .iter()
            .map(|(c, a)| format!("{c} {}", a.round_dp(2)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kinds = by_kind
        .iter()
        .map(|(k, n)| format!("{k} × {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "[{client}] {team}: {} new exceptions ({kinds}), impact {impact}. Largest:",
        new.len()
    );
    for e in new.iter().take(DIGEST_LISTED) {
        text.push_str(&format!("\n- {}", one_line(e)));
    }
    if new.len() > DIGEST_LISTED {
        text.push_str(&format!(
            "\n… and {} more: `pearlbridge exceptions list --client {client} --owner {team}`",
            new.len() - DIGEST_LISTED
        ));
    }
    let body = json!({
        "text": scrub(&text),
        "client": client,
        "team": team.as_str(),
        "digest": true,
        "exceptions": new.iter().map(facts).collect::<Vec<_>>(),
    });
    vec![(body, new.to_vec())]
}

/// Whether `url` may receive alerts: https, or http to a loopback host. The error never
/// repeats the URL (it is a credential).
fn check_url(url: &str) -> Result<reqwest::Url, &'static str> {
    let u = reqwest::Url::parse(url).map_err(|_| "the alert webhook URL does not parse")?;
    let loopback = u.host_str().is_some_and(|h| {
        h == "localhost"
            || h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err("the alert webhook URL must be https (plain http only to a loopback host)"),
    }
}

/// POST one message, up to three attempts. Errors name the client and team, never the URL.
async fn deliver(http: &reqwest::Client, url: &reqwest::Url, body: &Value) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
        }
        let sent = http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("answered {}", r.status().as_u16()),
            // Without the URL: reqwest's error text includes it.
            Err(e) if e.is_timeout() => last = "timed out".into(),
            Err(_) => last = "could not be reached".into(),
        }
    }
    Err(last)
}

/// One pass over every client with `[alerts]`: send what is new, mark what was delivered.
/// Returns how many messages were delivered.
pub(crate) async fn pass(service: &Service, http: &reqwest::Client) -> usize {
    let clients: Vec<_> = service
        .clients
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .filter(|c| !c.config.alerts.is_empty())
        .cloned()
        .collect();
    let mut delivered = 0;
    for c in clients {
        let name = &c.config.name;
        let ns = Namespace::new(name.clone(), ALERTS_NAMESPACE);
        for (team, secret) in &c.config.alerts {
            let url = match service.host.secrets.resolve(secret) {
                Ok(s) => match check_url(s.expose()) {
                    Ok(u) => u,
                    Err(e) => {
                        tracing::warn!(client = %name, team = %team, "alerts: {e}");
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(client = %name, team = %team, "alerts: {e}");
                    continue;
                }
            };
            let open = match service.host.store.exceptions(&ExceptionFilter {
                client: Some(name.clone()),
                owner: Some(*team),
                open_only: true,
                ..Default::default()
            }) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(client = %name, "alerts: reading exceptions: {e:#}");
                    continue;
                }
            };
            let new: Vec<ExceptionRecord> = open
                .into_iter()
                .filter(|e| matches!(service.host.store.state_get(&ns, &mark_key(e)), Ok(None)))
                .collect();
            for (body, covered) in messages(name, *team, &new, service.opts.alert_digest_over) {
                match deliver(http, &url, &body).await {
                    Ok(()) => {
                        delivered += 1;
                        for e in &covered {
                            if let Err(err) =
                                service.host.store.state_set(&ns, &mark_key(e), "sent")
                            {
                                tracing::warn!(client = %name, "alerts: marking: {err:#}");
                            }
                        }
                    }
                    Err(why) => tracing::warn!(
                        client = %name,
                        team = %team,
                        exceptions = covered.len(),
                        "alerts: the team's webhook {why}; retried next pass"
                    ),
                }
            }
        }
    }
    delivered
}

/// The alerts task: a pass at start, then every [`ServeOptions::alert_every`], until stopped.
pub(crate) async fn task(service: Arc<Service>, mut stop: tokio::sync::watch::Receiver<Stop>) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("alerts: no HTTP client: {e}");
            return;
        }
    };
    loop {
        pass(&service, &http).await;
        tokio::select! {
            _ = tokio::time::sleep(service.opts.alert_every) => {}
            _ = stop.wait_for(|s| *s != Stop::Run) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pearlbridge_capabilities::exceptions::Money;

    fn exc(kind: &str, entity: &str, pence: i64) -> ExceptionRecord {
        ExceptionRecord {
            id: 1,
            client: "acme".into(),
            flow: "orders".into(),
            kind: kind.into(),
            entity: entity.into(),
            message: format!("{entity}: token=abc123secret"),
            owner: Team::Ecommerce,
            impact: Some(Money::new(Decimal::new(pence, 2), "GBP")),
            retryable: true,
            first_seen: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            last_seen: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            occurrences: 1,
            resolved_at: None,
        }
    }

    #[test]
    fn webhook_urls_must_be_https_or_loopback_and_errors_never_repeat_them() {
        assert!(check_url("https://hooks.example.com/T0/B0/xyz").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        assert!(check_url("http://[::1]:9/x").is_ok());
        assert!(check_url("http://localhost/x").is_ok());
        for bad in [
            "http://hooks.example.com/T0/B0/xyz",
            "ftp://x/y",
            "not a url",
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(!e.contains("xyz") && !e.contains("hooks"), "{e}");
        }
    }

    #[test]
    fn a_few_go_one_by_one_a_burst_goes_as_one_digest_with_totals_per_currency() {
        pearlbridge_capabilities::redact::register("abc123secret");
        let few: Vec<_> = (0..3)
            .map(|i| exc("unmapped-sku", &format!("bigcommerce:order:{i}"), 1000 + i))
            .collect();
        let m = messages("acme", Team::Ecommerce, &few, 5);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].1.len(), 1);
        assert_eq!(m[0].0["digest"], false);
        assert_eq!(m[0].0["exceptions"][0]["impact"]["amount"], "10.00");
        let text = m[0].0["text"].as_str().unwrap();
        assert!(
            text.starts_with(
                "[acme] ecommerce: unmapped-sku on bigcommerce:order:0 (orders), GBP 10.00"
            ),
            "{text}"
        );
        assert!(!m[0].0.to_string().contains("abc123secret"), "{}", m[0].0);

        let burst: Vec<_> = (0..12)
            .map(|i| exc("unmapped-sku", &format!("bigcommerce:order:{i}"), 100))
            .collect();
        let m = messages("acme", Team::Ecommerce, &burst, 5);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].1.len(), 12);
        let text = m[0].0["text"].as_str().unwrap();
        assert!(
            text.starts_with("[acme] ecommerce: 12 new exceptions (unmapped-sku × 12), impact GBP 12.00. Largest:"),
            "{text}"
        );
        assert_eq!(text.matches("\n- ").count(), 10);
        assert!(
            text.ends_with(
                "… and 2 more: `pearlbridge exceptions list --client acme --owner ecommerce`"
            ),
            "{text}"
        );
        assert!(messages("acme", Team::Ecommerce, &[], 5).is_empty());
    }
}
