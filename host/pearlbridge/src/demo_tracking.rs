//! The demo's tracking part (issue 10 §7): after the orders flow posted the store's orders,
//! part of the posted sales orders are shipped in the Brightpearl simulator — whole, partial
//! (only some units), split (two goods-out notes), one without a tracking number — one is
//! cancelled and one put on hold; then the tracking flow runs until nothing is pending, and
//! the dispatch reconciliation (`reconcile:shipments:<since>`) checks the window.
//!
//! The report's `flows.tracking` and `reconciliation.shipments` come from [`run_tracking`];
//! [`shipments_failure`] fails the demo on any gap, duplicated or lost shipment.

use std::collections::BTreeMap;

use anyhow::anyhow;
use pearlbridge_sandbox::seed::StoreSeed;
use serde_json::{Value, json};

use crate::bindings::Trigger;
use crate::demo::DemoEnv;

/// Most posted orders the demo ships (the rest stay in the warehouse).
pub const MAX_SHIPPED_ORDERS: usize = 40;

fn status_id(seed: &StoreSeed, name: &str) -> Option<i64> {
    seed.brightpearl
        .order_statuses
        .iter()
        .find(|s| {
            s["orderTypeCode"] == "SO"
                && s["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|s| s["statusId"].as_i64().or_else(|| s["id"].as_i64()))
}

/// The tracking flow's mapping for the sandbox: every Brightpearl shipping method → a
/// BigCommerce provider by its carrier (Royal Mail, UPS, FedEx, USPS; others none), shipments
/// without tracking posted at once (`missing_tracking.action = "post"`, no grace), and, when
/// the account has them, its "Cancelled" status for cancellations both ways and "On hold" →
/// BigCommerce Manual Verification Required (12).
pub fn tracking_mapping(seed: &StoreSeed) -> Value {
    let mut methods = serde_json::Map::new();
    for m in &seed.brightpearl.shipping_methods {
        let Some(id) = m["id"].as_i64() else {
            continue;
        };
        let carrier = m["carrier"].as_str().unwrap_or("").to_ascii_lowercase();
        let provider = [
            ("royal mail", "royalmail"),
            ("ups", "ups"),
            ("fedex", "fedex"),
            ("usps", "usps"),
        ]
        .iter()
        .find(|(c, _)| carrier.contains(c))
        .map_or("", |(_, p)| p);
        methods.insert(id.to_string(), json!({"shipping_provider": provider}));
    }
    methods.insert("default".into(), json!({"shipping_provider": ""}));
    let mut mapping = json!({
        "ref_prefix": "BC-",
        "shipping_methods": methods,
        "missing_tracking": {"action": "post", "grace_minutes": 0},
    });
    if let Some(cancelled) = status_id(seed, "Cancelled") {
        let mut statuses = json!({"brightpearl_cancelled": cancelled});
        if let Some(hold) = status_id(seed, "On hold") {
            statuses["to_bigcommerce"] = json!({ hold.to_string(): 12 });
        }
        mapping["statuses"] = statuses;
    }
    mapping
}

/// A posted sales order the demo may ship.
struct Posted {
    id: i64,
    order_id: i64,
    warehouse_id: i64,
    /// (row id, quantity) of its product rows.
    rows: Vec<(i64, i64)>,
    /// Row id → the BigCommerce order product id (the row's `externalRef`).
    order_products: BTreeMap<i64, String>,
}

fn posted_orders(env: &DemoEnv) -> Vec<Posted> {
    let mut out = vec![];
    for so in env.sandbox.brightpearl.sales_orders() {
        let Some(order_id) = so["externalRef"].as_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if so["orderTypeCode"] != "SO" {
            continue;
        }
        let rows = so["orderRows"].as_object().cloned().unwrap_or_default();
        // Bundles ship as their components: left out of the demo's notes.
        if rows.values().any(|r| {
            r["composition"]["bundleParent"] == true || r["composition"]["bundleChild"] == true
        }) {
            continue;
        }
        let order_products: BTreeMap<i64, String> = rows
            .iter()
            .filter_map(|(id, r)| Some((id.parse().ok()?, r["externalRef"].as_str()?.to_string())))
            .collect();
        let rows: Vec<(i64, i64)> = rows
            .iter()
            .filter(|(_, r)| r["productId"].as_i64().unwrap_or(0) > 0)
            .filter(|(_, r)| r["externalRef"].as_str().is_some_and(|s| !s.is_empty()))
            .filter_map(|(id, r)| {
                let q: f64 = r["quantity"]["magnitude"].as_str()?.parse().ok()?;
                Some((id.parse().ok()?, q as i64))
            })
            .filter(|(_, q)| *q > 0)
            .collect();
        if let (false, Some(id), Some(warehouse_id)) = (
            rows.is_empty(),
            so["id"].as_i64(),
            so["warehouseId"].as_i64(),
        ) {
            out.push(Posted {
                id,
                order_id,
                warehouse_id,
                rows,
                order_products,
            });
        }
    }
    out.sort_by_key(|p| p.id);
    out
}

/// The notes of one order as (rows, tracking number) each, by kind: `whole`, `partial`,
/// `split` (two notes).
fn plan(p: &Posted, kind: &str) -> Vec<Vec<(i64, i64)>> {
    match kind {
        "partial" => {
            // One unit less of the largest line, or only the first of several lines.
            if let Some(big) = p.rows.iter().find(|r| r.1 > 1) {
                vec![vec![(big.0, big.1 - 1)]]
            } else if p.rows.len() > 1 {
                vec![vec![p.rows[0]]]
            } else {
                vec![]
            }
        }
        "split" => {
            if p.rows.len() > 1 {
                let (a, b) = p.rows.split_at(1);
                vec![a.to_vec(), b.to_vec()]
            } else if let Some(big) = p.rows.iter().find(|r| r.1 > 1) {
                vec![vec![(big.0, 1)], vec![(big.0, big.1 - 1)]]
            } else {
                vec![]
            }
        }
        _ => vec![p.rows.clone()],
    }
}

/// Ship part of the posted orders, cancel one and put one on hold, run the tracking flow
/// (scheduled) until nothing is pending (at most `max_runs` runs; a failed run is an error),
/// then the dispatch reconciliation. Returns `(flows.tracking, reconciliation.shipments)`.
pub async fn run_tracking(env: &DemoEnv, max_runs: usize) -> anyhow::Result<(Value, Value)> {
    let bp = env.sandbox.brightpearl.clone();
    let bc = env.sandbox.bigcommerce.clone();
    let since = (env.sandbox.clock.now() - chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mapping = tracking_mapping_of(env);
    let cancelled_status = mapping["statuses"]["brightpearl_cancelled"].as_i64();
    let on_hold_status = mapping["statuses"]["to_bigcommerce"]
        .as_object()
        .and_then(|m| m.keys().next())
        .and_then(|k| k.parse::<i64>().ok());
    let posted = posted_orders(env);
    // Sales orders with money received (Brightpearl refuses to cancel those); an
    // authorisation alone (amountPaid 0) does not count.
    let paid: std::collections::BTreeSet<i64> = bp
        .customer_payments()
        .iter()
        .filter(|p| {
            p["amountPaid"]
                .as_str()
                .map(|a| a.parse::<rust_decimal::Decimal>().unwrap_or_default())
                .or_else(|| {
                    p["amountPaid"]
                        .as_f64()
                        .map(|f| rust_decimal::Decimal::try_from(f).unwrap_or_default())
                })
                .is_some_and(|a| !a.is_zero())
        })
        .filter_map(|p| p["orderId"].as_i64())
        .collect();
    // Every other posted order ships (at most MAX_SHIPPED_ORDERS): whole, partial, split,
    // whole in turn; the first whole one without a tracking number.
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    // BigCommerce order → the shipments its shipped notes should make: one per (note, order
    // address of its rows).
    let mut expected: BTreeMap<i64, usize> = BTreeMap::new();
    let mut notes_shipped = 0u64;
    let mut untracked_done = false;
    let mut unshipped = vec![];
    for (i, p) in posted.iter().enumerate() {
        if i % 2 == 1 || expected.len() >= MAX_SHIPPED_ORDERS {
            unshipped.push(p);
            continue;
        }
        let kind = ["whole", "partial", "split", "whole"][(i / 2) % 4];
        let notes = plan(p, kind);
        if notes.is_empty() {
            unshipped.push(p);
            continue;
        }
        let mut made = 0;
        for (n, rows) in notes.iter().enumerate() {
            let tracking = if kind == "whole" && !untracked_done {
                String::new()
            } else {
                format!("DEMO{}{n}GB", p.id)
            };
            let Ok(id) = bp.try_create_goods_out_note(p.id, p.warehouse_id, rows.clone()) else {
                continue;
            };
            if bp.try_ship_goods_out_note(id, None, &tracking).is_ok() {
                made += 1;
                let products = bc.order_products(p.order_id);
                let addresses: std::collections::BTreeSet<i64> = rows
                    .iter()
                    .filter_map(|(row, _)| p.order_products.get(row))
                    .filter_map(|opid| {
                        products
                            .iter()
                            .find(|op| {
                                op["id"].as_u64().map(|id| id.to_string()).as_ref() == Some(opid)
                            })
                            .and_then(|op| op["order_address_id"].as_i64())
                    })
                    .collect();
                *expected.entry(p.order_id).or_default() += addresses.len();
                notes_shipped += 1;
                if tracking.is_empty() {
                    untracked_done = true;
                    *by_kind.entry("without_tracking").or_default() += 1;
                }
            }
        }
        if made > 0 {
            *by_kind.entry(kind).or_default() += 1;
        }
    }
    // Cancellations: an unshipped posted order with no money received is cancelled in
    // Brightpearl (else a paid one by the customer in BigCommerce: Brightpearl refuses, and the
    // flow holds it `cancellation-rejected`); and an order the orders flow holds (not posted)
    // is cancelled in BigCommerce: nothing to cancel in Brightpearl, and it is never posted.
    let mut cancelled = vec![];
    if let Some(status) = cancelled_status {
        if let Some(p) = unshipped.iter().find(|p| !paid.contains(&p.id)) {
            bp.try_set_order_status(p.id, status, Some("Customer cancelled by phone"))
                .map_err(|e| anyhow!("cancelling sales order {}: {e}", p.id))?;
            cancelled.push(json!({"in": "brightpearl", "sales_order": p.id, "order": p.order_id}));
        } else if let Some(p) = unshipped.first() {
            bc.update_order_status(p.order_id, 5);
            cancelled.push(json!({"in": "bigcommerce", "sales_order": p.id, "order": p.order_id}));
        }
    }
    let posted_ids: std::collections::BTreeSet<i64> = posted.iter().map(|p| p.order_id).collect();
    let held_order = env
        .host
        .store
        .exceptions(&pearlbridge_capabilities::state::ExceptionFilter {
            client: Some("demo".into()),
            open_only: true,
            ..Default::default()
        })?
        .into_iter()
        .filter_map(|e| {
            e.entity
                .strip_prefix("bigcommerce:order:")?
                .parse::<i64>()
                .ok()
        })
        .find(|id| {
            !posted_ids.contains(id)
                && bp
                    .sales_orders()
                    .iter()
                    .all(|so| so["externalRef"].as_str() != Some(&id.to_string()))
        });
    if cancelled_status.is_some()
        && let Some(id) = held_order
    {
        bc.update_order_status(id, 5);
        cancelled.push(json!({"in": "bigcommerce", "order": id, "posted": false}));
    }
    let mut on_hold = Value::Null;
    if let Some(status) = on_hold_status
        && let Some(p) = unshipped.iter().find(|p| {
            !cancelled
                .iter()
                .any(|c| c["sales_order"].as_i64() == Some(p.id))
        })
    {
        bp.try_set_order_status(p.id, status, None)
            .map_err(|e| anyhow!("putting sales order {} on hold: {e}", p.id))?;
        on_hold = json!({"sales_order": p.id, "order": p.order_id});
    }
    let mut runs = vec![];
    for _ in 0..max_runs.max(1) {
        let r = env
            .host
            .run_flow("demo", "tracking", Trigger::Scheduled)
            .await?;
        if let Err(e) = &r.outcome {
            return Err(anyhow!("tracking run failed: {e}"));
        }
        let done = r.count("pending_retry") == 0;
        runs.push(r);
        if done {
            break;
        }
    }
    let sum = |name: &str| runs.iter().map(|r| r.count(name)).sum::<u64>();
    let last = runs.last();
    // What BigCommerce has against what the notes should have made.
    let (mut duplicated, mut lost) = (0u64, 0u64);
    for (order_id, notes) in &expected {
        let got = bc.shipments(*order_id).len();
        duplicated += got.saturating_sub(*notes) as u64;
        lost += notes.saturating_sub(got) as u64;
    }
    let want: usize = expected.values().sum();
    // The orders flow runs again (it retries its held orders): the order cancelled before it
    // was posted stays unposted.
    let mut never_posted = Value::Null;
    if let Some(id) = held_order.filter(|_| cancelled_status.is_some()) {
        env.run_orders(1).await?;
        never_posted = json!(
            bp.sales_orders()
                .iter()
                .all(|so| so["externalRef"].as_str() != Some(&id.to_string()))
        );
    }
    let rec = env
        .host
        .run_flow(
            "demo",
            "tracking",
            Trigger::Replay(vec![format!("reconcile:shipments:{since}")]),
        )
        .await?;
    if let Err(e) = &rec.outcome {
        return Err(anyhow!("shipments reconciliation failed: {e}"));
    }
    let flow = json!({
        "runs": runs.len(),
        "orders_shipped": by_kind,
        "notes_shipped": notes_shipped,
        "shipments_created": sum("shipments_created"),
        "posted_without_tracking": sum("posted_without_tracking"),
        "statuses_written": sum("statuses_written"),
        "cancelled_in_bigcommerce": sum("cancelled_in_bigcommerce"),
        "cancelled_in_brightpearl": sum("cancelled_in_brightpearl"),
        "cancelled_before_posting": sum("cancelled_before_posting"),
        "held": last.map(|r| r.count("held")).unwrap_or(0),
        "pending_retry": last.map(|r| r.count("pending_retry")).unwrap_or(0),
        "cancelled": cancelled,
        "cancelled_unposted_never_posted": never_posted,
        "on_hold": on_hold,
    });
    let reconciliation = json!({
        "since": since,
        "checked": rec.count("checked"),
        "missing": rec.count("missing"),
        "checked_notes": rec.count("checked_notes"),
        "checked_orders": rec.count("checked_orders"),
        "expected_shipments": want,
        "duplicated": duplicated,
        "lost": lost,
        "gaps": rec.outcome.as_ref().map(|s| s.notes.iter().skip(1).cloned().collect::<Vec<_>>()).unwrap_or_default(),
    });
    Ok((flow, reconciliation))
}

/// The demo's tracking mapping in use (the client file's when one was given).
fn tracking_mapping_of(env: &DemoEnv) -> Value {
    env.tracking_mapping.clone()
}

/// `Some(problem)` when the shipments reconciliation of the report found a gap, a duplicated
/// or a lost shipment.
pub fn shipments_failure(report: &Value) -> Option<String> {
    let s = &report["reconciliation"]["shipments"];
    if s.is_null() {
        return None;
    }
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    (n("missing") > 0 || n("duplicated") > 0 || n("lost") > 0).then(|| {
        format!(
            "shipments: {} gap(s) ({}), {} duplicated, {} lost",
            n("missing"),
            s["gaps"],
            n("duplicated"),
            n("lost")
        )
    })
}

/// The text line of the tracking part.
pub fn render_text(r: &Value) -> String {
    let t = &r["flows"]["tracking"];
    if t.is_null() {
        return String::new();
    }
    let s = &r["reconciliation"]["shipments"];
    let k = &t["orders_shipped"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    format!(
        "tracking       {} notes shipped for {} whole, {} partial, {} split orders ({} without tracking): {} shipments created ({} runs)\n               statuses: {} written back to BigCommerce; cancellations: {} in BigCommerce, {} in Brightpearl, {} before posting (never posted); {} held\n               reconciliation of the shipments: {} checked, {} missing, {} duplicated, {} lost\n",
        t["notes_shipped"],
        n(&k["whole"]),
        n(&k["partial"]),
        n(&k["split"]),
        n(&k["without_tracking"]),
        t["shipments_created"],
        t["runs"],
        t["statuses_written"],
        t["cancelled_in_bigcommerce"],
        t["cancelled_in_brightpearl"],
        t["cancelled_before_posting"],
        t["held"],
        s["checked"],
        s["missing"],
        s["duplicated"],
        s["lost"]
    )
}
