//! The dispatch reconciliation (issue 10 §6): over a window, every goods-out note shipped for
//! a BigCommerce order must have its BigCommerce shipment, and every BigCommerce order marked
//! Shipped or Partially Shipped must have a shipped goods-out note. Each gap is an exception
//! with the order's total as impact; a gap found earlier and closed since is resolved.
//!
//! Run as a replay of `reconcile:shipments:<since>` (`<since>` a date `2026-12-01` or an
//! ISO 8601 time, UTC), e.g. `pearlbridge flow run acme tracking --replay
//! reconcile:shipments:2026-12-01`. The summary counts `checked` (notes + shipped orders),
//! `missing` (gaps), and their parts; its notes name every gap, one per line.

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::bigcommerce::{self, Order};
use pearlbridge_sdk::brightpearl;
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{Impact, Key, Mark};
use pearlbridge_sdk::types::{Exception, FlowError, RunSummary, System, Team, Trigger};
use pearlbridge_sdk::{Api, ApiError, Report, State};

use crate::config::TrackingConfig;
use crate::mapping::{self, kinds, note_entity};
use crate::run;

/// The replay reference prefix that runs the reconciliation.
pub const PREFIX: &str = "reconcile:shipments:";

/// The window start of a reconciliation trigger: `Some(Ok(since))` for a replay of exactly
/// one `reconcile:shipments:<since>`; `Some(Err(..))` when `<since>` is not a date (the
/// error names it); `None` for any other trigger.
pub fn since_of(trigger: &Trigger) -> Option<Result<Timestamp, FlowError>> {
    let Trigger::Replay(refs) = trigger else {
        return None;
    };
    let [one] = refs.as_slice() else {
        return None;
    };
    let text = one.strip_prefix(PREFIX)?.trim();
    let iso = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    Some(Timestamp::parse_iso8601(&iso).map_err(|_| {
        FlowError::Internal(format!(
            "replay `{one}`: `{text}` is not a date (2026-12-01) or an ISO 8601 time"
        ))
    }))
}

fn upstream(e: ApiError) -> FlowError {
    FlowError::Upstream(e.credentials_problem().unwrap_or_else(|| e.to_string()))
}

struct Gaps<'a> {
    report: &'a dyn Report,
    lines: Vec<String>,
}

impl Gaps<'_> {
    fn gap(
        &mut self,
        kind: &str,
        entity: String,
        owner: Team,
        message: String,
        impact: Option<Impact>,
    ) {
        self.lines.push(message.clone());
        self.report.raise(Exception {
            kind: kind.into(),
            entity,
            message,
            owner,
            impact: impact.as_ref().and_then(Impact::money),
            retryable: false,
        });
    }
}

/// Reconcile the shipments of the window from `since` to now; see the module docs. Fails
/// with `FlowError::Upstream` when a read fails (401/403 named as such); nothing is raised or
/// resolved then.
pub fn reconcile(
    cfg: &TrackingConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    since: Timestamp,
) -> Result<RunSummary, FlowError> {
    let bc = bigcommerce::Client::new(api);
    // 1. Notes shipped in the window, their sales orders and BigCommerce orders.
    let shipped: Vec<u64> = run::shipped_notes_since(api, since, 100)
        .map_err(upstream)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let notes = run::goods_out_notes(api, &shipped).map_err(upstream)?;
    let mut so_ids: Vec<u64> = notes
        .values()
        .map(|n| n.order_id)
        .filter(|id| *id > 0)
        .collect();
    so_ids.sort_unstable();
    so_ids.dedup();
    let sales_orders = run::sales_orders(api, &so_ids).map_err(upstream)?;
    let mut orders: BTreeMap<u64, Option<Order>> = BTreeMap::new();
    let mut products = BTreeMap::new();
    let mut shipments = BTreeMap::new();
    let mut ok_resolved: Vec<(&str, String)> = vec![];
    let mut gaps = Gaps {
        report,
        lines: vec![],
    };
    let (mut checked_notes, mut missing_shipments) = (0u64, 0u64);
    let mut orders_with_notes: BTreeSet<u64> = BTreeSet::new();
    for (note_id, note) in &notes {
        let Some(so) = sales_orders.get(&note.order_id) else {
            continue;
        };
        let Some(order_id) = mapping::bigcommerce_order_id(so, cfg) else {
            continue;
        };
        if !note.status.shipped {
            continue;
        }
        orders_with_notes.insert(order_id);
        checked_notes += 1;
        if let std::collections::btree_map::Entry::Vacant(slot) = orders.entry(order_id) {
            let order = bc.order(order_id).map_err(upstream)?;
            if order.is_some() {
                products.insert(order_id, bc.order_products(order_id).map_err(upstream)?);
                shipments.insert(
                    order_id,
                    run::order_shipments(api, order_id).map_err(upstream)?,
                );
            }
            slot.insert(order);
        }
        let entity = note_entity(*note_id);
        let Some(Some(order)) = orders.get(&order_id) else {
            missing_shipments += 1;
            gaps.gap(
                kinds::SHIPMENT_MISSING,
                entity.clone(),
                Team::CustomerService,
                format!("{entity} (sales order {}) was shipped on {}, but BigCommerce order {order_id} does not exist", note.order_id, note.status.shipped_on),
                None,
            );
            continue;
        };
        let list = &shipments[&order_id];
        let linked = state
            .get(&Key::new(System::Brightpearl, "note", note_id).state(Mark::Link))
            .and_then(|e| e.value.trim().parse::<u64>().ok());
        let found = match linked {
            Some(id) => list.iter().any(|s| s.id == id),
            // Not posted by this flow: a shipment of the same items (e.g. made by hand).
            None => mapping::map_note(*note_id, note, so, order_id, &products[&order_id], cfg)
                .is_ok_and(|m| {
                    m.shipments
                        .iter()
                        .all(|w| list.iter().any(|s| mapping::same_items(s, w)))
                }),
        };
        if found {
            ok_resolved.push((kinds::SHIPMENT_MISSING, entity));
            continue;
        }
        missing_shipments += 1;
        let (value, currency) = mapping::order_value(order);
        gaps.gap(
            kinds::SHIPMENT_MISSING,
            entity.clone(),
            Team::CustomerService,
            format!(
                "{entity} (sales order {}) was shipped on {}, but BigCommerce order {order_id} has no shipment for it{}: the customer has had no shipment email",
                note.order_id,
                note.status.shipped_on,
                match linked {
                    Some(id) => format!(" (its linked shipment {id} is gone)"),
                    None => String::new(),
                }
            ),
            Some(Impact::new(value, currency)),
        );
    }
    // 2. BigCommerce orders marked Shipped (2) or Partially Shipped (3) in the window.
    let mut marked: BTreeMap<u64, Order> = BTreeMap::new();
    for status in [2, 3] {
        for o in crate::status::orders_with_status(api, status, since, 40).map_err(upstream)? {
            marked.insert(o.id, o);
        }
    }
    let bp = brightpearl::Client::new(api);
    let (mut checked_orders, mut without_note) = (0u64, 0u64);
    for (order_id, order) in &marked {
        checked_orders += 1;
        let entity = format!("bigcommerce:order:{order_id}");
        if orders_with_notes.contains(order_id) {
            ok_resolved.push((kinds::SHIPPED_WITHOUT_NOTE, entity));
            continue;
        }
        let so_ids = bp
            .sales_orders_by_external_ref(&order_id.to_string())
            .map_err(upstream)?;
        let has_note = !so_ids.is_empty()
            && run::goods_out_notes_of_orders(api, &so_ids)
                .map_err(upstream)?
                .values()
                .any(|n| n.status.shipped);
        if has_note {
            ok_resolved.push((kinds::SHIPPED_WITHOUT_NOTE, entity));
            continue;
        }
        without_note += 1;
        let (value, currency) = mapping::order_value(order);
        gaps.gap(
            kinds::SHIPPED_WITHOUT_NOTE,
            entity.clone(),
            Team::Operations,
            format!(
                "{entity} is {} in BigCommerce (status {}), but {}",
                order.status,
                order.status_id,
                if so_ids.is_empty() {
                    "no Brightpearl sales order has it as externalRef".to_string()
                } else {
                    format!(
                        "its Brightpearl sales order {} has no shipped goods-out note",
                        so_ids
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
            Some(Impact::new(value, currency)),
        );
    }
    for (kind, entity) in &ok_resolved {
        report.resolve(kind, entity);
    }
    let missing = missing_shipments + without_note;
    let mut lines = vec![format!(
        "reconciled shipments since {}: {checked_notes} shipped note(s) and {checked_orders} shipped BigCommerce order(s) checked, {missing} gap(s)",
        since.to_iso8601()
    )];
    lines.extend(gaps.lines);
    Ok(RunSummary {
        counts: vec![
            ("checked".into(), checked_notes + checked_orders),
            ("missing".into(), missing),
            ("checked_notes".into(), checked_notes),
            ("checked_orders".into(), checked_orders),
            ("missing_shipments".into(), missing_shipments),
            ("shipped_without_note".into(), without_note),
        ],
        notes: lines,
    })
}
