//! `pearlbridge reconcile shipments --client X --since DATE [--json]`: the daily dispatch
//! reconciliation of one client (issue 10 §6).
//!
//! It runs the client's tracking flow with the replay `reconcile:shipments:<since>` (see
//! `components/tracking/src/reconcile.rs`), which reads, and writes nothing to either system:
//! - Brightpearl `GET /warehouse-service/goods-note/goods-out-search?shipped=true&shippedOn=<since>/`,
//!   the notes and their sales orders, and for each BigCommerce order `GET /v2/orders/{id}`,
//!   its products and `GET /v2/orders/{id}/shipments`;
//! - BigCommerce `GET /v2/orders?status_id=2|3&min_date_modified=<since>` and, for each, the
//!   sales order with that `externalRef` and its goods-out notes.
//!
//! Each gap is an exception (stored and listed by `pearlbridge exceptions`) with the order's
//! total as impact: `shipment-missing` on `brightpearl:note:<id>` (a note shipped in the
//! window with no BigCommerce shipment) and `shipped-without-note` on `bigcommerce:order:<id>`
//! (an order marked Shipped or Partially Shipped with no shipped note). [`ShipmentsReport`]
//! is what the command prints.

use anyhow::{Context as _, anyhow};
use serde::Serialize;

use crate::bindings::{Exception, Team, Trigger};
use crate::host::Host;

/// The exception kinds of the dispatch reconciliation.
pub const GAP_KINDS: &[&str] = &["shipment-missing", "shipped-without-note"];

/// One gap found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// `shipment-missing` or `shipped-without-note`.
    pub kind: String,
    /// `brightpearl:note:<id>` or `bigcommerce:order:<id>`.
    pub entity: String,
    /// `customer-service` or `operations`.
    pub owner: String,
    pub message: String,
    /// The BigCommerce order's total (`total_inc_tax`) as a decimal string, e.g. `"123.45"`,
    /// and its currency; `None` when the order could not be read.
    pub impact: Option<GapImpact>,
}

/// Money at stake: a decimal string and an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapImpact {
    pub amount: String,
    pub currency: String,
}

/// What `reconcile shipments` found (its `--json` form).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShipmentsReport {
    pub client: String,
    /// The window start (UTC, ISO 8601 or a date) as given.
    pub since: String,
    /// The run's id (`pearlbridge` run records).
    pub run_id: i64,
    /// Shipped notes plus shipped BigCommerce orders checked.
    pub checked: u64,
    pub checked_notes: u64,
    pub checked_orders: u64,
    /// Gaps found (`exceptions.len()`).
    pub missing: u64,
    pub missing_shipments: u64,
    pub shipped_without_note: u64,
    pub exceptions: Vec<Gap>,
}

/// `--since`: a date `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time (`2026-12-01T06:00:00Z`);
/// anything else is an error naming the flag and the value.
pub fn check_since(since: &str) -> anyhow::Result<String> {
    let s = since.trim();
    let ok = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
        || chrono::DateTime::parse_from_rfc3339(s).is_ok();
    if !ok {
        return Err(anyhow!(
            "--since {since:?}: expected a date (2026-12-01, midnight UTC) or an RFC 3339 time (2026-12-01T06:00:00Z)"
        ));
    }
    Ok(s.to_string())
}

fn team(t: Team) -> &'static str {
    match t {
        Team::Finance => "finance",
        Team::Operations => "operations",
        Team::Ecommerce => "ecommerce",
        Team::CustomerService => "customer-service",
        Team::Integration => "integration",
    }
}

fn gap(e: &Exception) -> Gap {
    Gap {
        kind: e.kind.clone(),
        entity: e.entity.clone(),
        owner: team(e.owner).to_string(),
        message: e.message.clone(),
        impact: e.impact.as_ref().map(|m| GapImpact {
            amount: m.amount.clone(),
            currency: m.currency.clone(),
        }),
    }
}

/// Run the dispatch reconciliation of `client` (which must pin a `tracking` flow) from
/// `since` to now. Fails when `since` is not a date, the client has no tracking flow, or the
/// run fails (e.g. 401/403, an unreadable search): the error names the cause.
pub async fn reconcile_shipments(
    host: &Host,
    client: &str,
    since: &str,
) -> anyhow::Result<ShipmentsReport> {
    let since = check_since(since)?;
    let report = host
        .run_flow(
            client,
            "tracking",
            Trigger::Replay(vec![format!("reconcile:shipments:{since}")]),
        )
        .await
        .with_context(|| format!("the tracking flow of client `{client}` could not start"))?;
    if let Err(e) = &report.outcome {
        return Err(anyhow!(
            "the dispatch reconciliation of `{client}` failed (run {}): {e}",
            report.run_id
        ));
    }
    let mut exceptions: Vec<Gap> = report
        .journal
        .raised
        .iter()
        .filter(|e| GAP_KINDS.contains(&e.kind.as_str()))
        .map(gap)
        .collect();
    exceptions.sort_by(|a, b| (&a.kind, &a.entity).cmp(&(&b.kind, &b.entity)));
    exceptions.dedup_by(|a, b| a.kind == b.kind && a.entity == b.entity);
    Ok(ShipmentsReport {
        client: client.to_string(),
        since,
        run_id: report.run_id,
        checked: report.count("checked"),
        checked_notes: report.count("checked_notes"),
        checked_orders: report.count("checked_orders"),
        missing: report.count("missing"),
        missing_shipments: report.count("missing_shipments"),
        shipped_without_note: report.count("shipped_without_note"),
        exceptions,
    })
}

/// The report as text: a headline, then one line per gap (kind, entity, impact, message).
pub fn render_text(r: &ShipmentsReport) -> String {
    let mut out = format!(
        "dispatch reconciliation of {} since {} (run {}): {} shipped goods-out note(s) and {} shipped BigCommerce order(s) checked, {} gap(s)\n",
        r.client, r.since, r.run_id, r.checked_notes, r.checked_orders, r.missing
    );
    for g in &r.exceptions {
        let impact = g
            .impact
            .as_ref()
            .map(|m| format!("{} {}", m.amount, m.currency))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "  {:<22} {:<28} {:>14}  owner {}: {}\n",
            g.kind, g.entity, impact, g.owner, g.message
        ));
    }
    if r.missing > 0 {
        out.push_str(&format!(
            "  (next steps: pearlbridge runbook shipment-missing / shipped-without-note; all open: pearlbridge exceptions --client {})\n",
            r.client
        ));
    }
    out
}
