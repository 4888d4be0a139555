//! The refunds part of `pearlbridge demo`: refund some posted orders in the simulated
//! BigCommerce store through its own refund API (a full refund, a partial one, a second
//! refund on the same order, a shipping-only refund, one to store credit, and one whose
//! Brightpearl sales order is not invoiced), invoice the other sales orders as accounting
//! would, run the refunds flow, then invoice the last one and run again: the held credit
//! posts by itself. Then reconcile every BigCommerce refund against Brightpearl: one sales
//! credit per refund (`externalRef` `bc-refund-<id>`) whose total equals the refund total,
//! and refund payments (customer payments of type PAYMENT) on it equal to the refund's
//! payments.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::anyhow;
use pearlbridge_capabilities::state::ExceptionFilter;
use pearlbridge_sandbox::bigcommerce::RefundTo;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::bindings::Trigger;
use crate::demo::DemoEnv;
use crate::host::RunReport;

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn dec(v: Option<&Value>) -> Decimal {
    match v {
        Some(Value::String(t)) => t.trim().parse().unwrap_or_default(),
        Some(Value::Number(n)) => n.to_string().parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// The demo client's `[flows.refunds.mapping]`, from the orders flow's mapping: the same
/// nominal and zero-rate tax codes, the same payment methods by gateway (refund payments go
/// back through the gateway that took them), store credit, and the first payment method for
/// offline (`custom`) refunds. Credits wait for their sales order's invoice
/// (`not_invoiced = "hold"`) and finance is told at once (`blocked_exception_after_minutes =
/// 0`), so the demo shows the hold.
pub fn refunds_mapping(orders: &Value) -> Value {
    let nc = &orders["nominal_codes"];
    let mut methods = orders["payment_methods"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let first = methods.values().next().cloned();
    if let Some(c) = orders.get("store_credit").or(first.as_ref()) {
        methods.insert("storecredit".into(), c.clone());
    }
    if let Some(f) = first {
        methods.entry("custom").or_insert(f);
    }
    json!({
        "no_tax_code": orders["no_tax_code"],
        "nominal_codes": {
            "shipping": nc["shipping"], "handling": nc["handling"], "fees": nc["sales"],
            "refund": nc["sales"], "rounding": nc["rounding"],
        },
        "payment_methods": methods,
        "not_invoiced": "hold",
        "blocked_exception_after_minutes": 0,
        "sweep": {"initial_lookback_hours": 24 * 365 * 5},
    })
}

/// One planned refund.
struct Case {
    name: &'static str,
    order: i64,
    items: Value,
    to: RefundTo,
}

/// Posted BigCommerce orders (with a sales order), paid through a gateway, with products:
/// `(order, sales order id)`.
fn candidates(env: &DemoEnv) -> Vec<(Value, i64)> {
    let so_by_ref: BTreeMap<String, i64> = env
        .sandbox
        .brightpearl
        .sales_orders()
        .iter()
        .filter(|o| s(o, "orderTypeCode") == "SO")
        .filter_map(|o| Some((s(o, "externalRef"), o.get("id")?.as_i64()?)))
        .collect();
    env.bigcommerce_orders()
        .into_iter()
        .filter(|o| dec(o.get("store_credit_amount")).is_zero())
        .filter(|o| dec(o.get("gift_certificate_amount")).is_zero())
        .filter(|o| {
            // Paid through a gateway, so the refund can go back to it.
            let id = o.get("id").and_then(Value::as_i64).unwrap_or(0);
            env.sandbox.bigcommerce.transactions(id).iter().any(|t| {
                !s(t, "gateway").is_empty()
                    && matches!(s(t, "event").as_str(), "purchase" | "capture")
                    && s(t, "status") != "error"
            })
        })
        .filter_map(|o| {
            let so = *so_by_ref.get(&s(&o, "id"))?;
            Some((o, so))
        })
        .collect()
}

fn products(env: &DemoEnv, order: i64) -> Vec<Value> {
    env.sandbox.bigcommerce.order_products(order)
}

/// The refunds the demo makes, on distinct orders (the partial one gets a second refund).
fn plan(env: &DemoEnv) -> Vec<(Case, i64)> {
    let mut out = vec![];
    let mut used = BTreeSet::new();
    let cands = candidates(env);
    let mut pick = |want: &dyn Fn(&Value) -> bool| -> Option<(Value, i64)> {
        let found = cands
            .iter()
            .find(|(o, _)| !used.contains(&s(o, "id")) && want(o))?
            .clone();
        used.insert(s(&found.0, "id"));
        Some(found)
    };
    let shipped_cost = |o: &Value| dec(o.get("shipping_cost_inc_tax")) > Decimal::ONE;
    let product_item =
        |p: &Value, q: i64| json!({"item_type": "PRODUCT", "item_id": p["id"], "quantity": q});
    let id = |o: &Value| o.get("id").and_then(Value::as_i64).unwrap_or(0);
    // Full: every product, every unit, and the shipping.
    if let Some((o, so)) = pick(&|o| shipped_cost(o)) {
        let mut items: Vec<Value> = products(env, id(&o))
            .iter()
            .map(|p| product_item(p, p["quantity"].as_i64().unwrap_or(1)))
            .collect();
        for a in env.sandbox.bigcommerce.shipping_addresses(id(&o)) {
            let cost = dec(a.get("cost_inc_tax"));
            if cost > Decimal::ZERO {
                items.push(json!({"item_type": "SHIPPING", "item_id": a["id"], "amount": cost.to_string()}));
            }
        }
        out.push((
            Case {
                name: "full",
                order: id(&o),
                items: json!(items),
                to: RefundTo::Gateway,
            },
            so,
        ));
    }
    // Partial: one unit of the first product; then a second refund of another unit or line.
    if let Some((o, so)) = pick(&|o| {
        products(env, id(o))
            .iter()
            .map(|p| p["quantity"].as_i64().unwrap_or(0))
            .sum::<i64>()
            >= 2
    }) {
        let ps = products(env, id(&o));
        out.push((
            Case {
                name: "partial",
                order: id(&o),
                items: json!([product_item(&ps[0], 1)]),
                to: RefundTo::Gateway,
            },
            so,
        ));
        let second = if ps[0]["quantity"].as_i64().unwrap_or(0) >= 2 {
            &ps[0]
        } else {
            &ps[1]
        };
        out.push((
            Case {
                name: "partial (second refund, same order)",
                order: id(&o),
                items: json!([product_item(second, 1)]),
                to: RefundTo::Gateway,
            },
            so,
        ));
    }
    // Shipping only: half the shipping.
    if let Some((o, so)) = pick(&|o| shipped_cost(o))
        && let Some(a) = env
            .sandbox
            .bigcommerce
            .shipping_addresses(id(&o))
            .into_iter()
            .find(|a| dec(a.get("cost_inc_tax")) > Decimal::ONE)
    {
        let half = (dec(a.get("cost_inc_tax")) / Decimal::TWO).round_dp(2);
        out.push((
            Case {
                name: "shipping only",
                order: id(&o),
                items: json!([{"item_type": "SHIPPING", "item_id": a["id"], "amount": half.to_string()}]),
                to: RefundTo::Gateway,
            },
            so,
        ));
    }
    // Store credit: a registered customer's first product, one unit.
    if let Some((o, so)) = pick(&|o| o.get("customer_id").and_then(Value::as_i64).unwrap_or(0) > 0)
    {
        let ps = products(env, id(&o));
        out.push((
            Case {
                name: "store credit",
                order: id(&o),
                items: json!([product_item(&ps[0], 1)]),
                to: RefundTo::StoreCredit,
            },
            so,
        ));
    }
    // Not invoiced in Brightpearl: one unit, its sales order left uninvoiced.
    if let Some((o, so)) = pick(&|_| true) {
        let ps = products(env, id(&o));
        out.push((
            Case {
                name: "sales order not invoiced",
                order: id(&o),
                items: json!([product_item(&ps[0], 1)]),
                to: RefundTo::Gateway,
            },
            so,
        ));
    }
    out
}

/// Run the refunds flow (scheduled sweeps) until a run has nothing left to post or retry,
/// at most `max_runs` times.
async fn run_refunds(env: &DemoEnv, max_runs: usize) -> anyhow::Result<Vec<RunReport>> {
    let mut runs = vec![];
    for _ in 0..max_runs.max(1) {
        let r = env
            .host
            .run_flow("demo", "refunds", Trigger::Scheduled)
            .await?;
        if let Err(e) = &r.outcome {
            return Err(anyhow!("refunds run failed: {e}"));
        }
        let done = r.count("credits_created") == 0
            && r.count("pending_retry") == 0
            && r.count("payments_posted") == 0;
        runs.push(r);
        if done {
            break;
        }
    }
    Ok(runs)
}

/// Make the refunds, run the flow, invoice the held one's sales order, run again. Returns
/// `flows.refunds` of the report.
pub async fn run(env: &DemoEnv, max_runs: usize) -> anyhow::Result<Value> {
    let planned = plan(env);
    let mut cases = vec![];
    let mut held_back = None;
    let mut invoiced = BTreeSet::new();
    for (case, so) in &planned {
        match env
            .sandbox
            .bigcommerce
            .refund_items(case.order, case.items.clone(), case.to)
        {
            Ok(r) => {
                cases.push(
                    json!({"case": case.name, "order": case.order, "refund": r["id"],
                    "total": r["total_amount"], "sales_order": so}),
                );
                if case.name == "sales order not invoiced" {
                    held_back = Some(*so);
                } else if invoiced.insert(*so) {
                    // Accounting invoices the sales order (an already invoiced one is left).
                    let _ = env.sandbox.brightpearl.try_invoice_order(*so);
                }
            }
            Err((status, body)) => {
                cases.push(json!({"case": case.name, "order": case.order, "refused": {"status": status, "body": body}}));
            }
        }
    }
    let first = run_refunds(env, max_runs).await?;
    let sum = |runs: &[RunReport], name: &str| runs.iter().map(|r| r.count(name)).sum::<u64>();
    let blocked = sum(&first, "blocked_not_invoiced").min(1);
    let held_before_invoice = first.last().map(|r| r.count("held")).unwrap_or(0);
    // Accounting invoices the last sales order: the held credit posts by itself.
    if let Some(so) = held_back {
        let _ = env.sandbox.brightpearl.try_invoice_order(so);
    }
    let second = run_refunds(env, max_runs).await?;
    let all: Vec<RunReport> = first.into_iter().chain(second).collect();
    Ok(json!({
        "refunds": cases.iter().filter(|c| c.get("refund").is_some()).count(),
        "cases": cases,
        "runs": all.len(),
        "credits_created": sum(&all, "credits_created"),
        "refund_payments_posted": sum(&all, "payments_posted"),
        "difference_rows": sum(&all, "difference_rows"),
        "blocked_not_invoiced": blocked,
        "held_before_invoice": held_before_invoice,
        "held": all.last().map(|r| r.count("held")).unwrap_or(0),
        "pending_retry": all.last().map(|r| r.count("pending_retry")).unwrap_or(0),
    }))
}

/// The total of a Brightpearl order as the simulator holds it: Σ its rows' net + tax.
fn order_total(order: &Value) -> Decimal {
    order
        .get("orderRows")
        .and_then(Value::as_object)
        .map(|rows| {
            rows.values()
                .map(|r| {
                    dec(r.pointer("/rowValue/rowNet/value"))
                        + dec(r.pointer("/rowValue/rowTax/value"))
                })
                .sum()
        })
        .unwrap_or_default()
}

/// `reconciliation.refunds`: every BigCommerce refund against Brightpearl. `checked`: refunds
/// with a sales credit; `mismatched`: those whose credit total differs from the refund total,
/// or whose refund payments on the credit differ from the refund's (not declined) payments;
/// `duplicated`: refunds with more than one credit, and refund payments posted twice;
/// `missing`: refunds with no credit and no open exception.
pub fn reconcile(env: &DemoEnv) -> anyhow::Result<Value> {
    let open: BTreeSet<String> = env
        .host
        .store
        .exceptions(&ExceptionFilter {
            client: Some("demo".into()),
            open_only: true,
            ..Default::default()
        })?
        .into_iter()
        .map(|e| e.entity)
        .collect();
    let mut credits: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for o in env.sandbox.brightpearl.sales_orders() {
        if s(&o, "orderTypeCode") == "SC" {
            credits.entry(s(&o, "externalRef")).or_default().push(o);
        }
    }
    let mut payments: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in env.sandbox.brightpearl.customer_payments() {
        if s(&p, "paymentType") == "PAYMENT" {
            payments.entry(s(&p, "orderId")).or_default().push(p);
        }
    }
    let (mut checked, mut mismatches, mut duplicated, mut missing, mut held) =
        (0u64, vec![], 0u64, vec![], 0u64);
    for r in env.sandbox.bigcommerce.all_refunds() {
        let id = s(&r, "id");
        let Some(found) = credits.get(&format!("bc-refund-{id}")) else {
            if open.contains(&format!("bigcommerce:refund:{id}")) {
                held += 1;
            } else {
                missing.push(id);
            }
            continue;
        };
        checked += 1;
        if found.len() > 1 {
            duplicated += 1;
        }
        let credit = &found[0];
        let refund_total = dec(r.get("total_amount")).round_dp(2);
        let credit_total = order_total(credit);
        let paid_back: Decimal = r["payments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["is_declined"] != true)
            .map(|p| dec(p.get("amount")))
            .sum();
        let on_credit = payments.get(&s(credit, "id")).cloned().unwrap_or_default();
        let mut refs = BTreeSet::new();
        for p in &on_credit {
            if !refs.insert(s(p, "transactionRef")) {
                duplicated += 1;
            }
        }
        let posted: Decimal = on_credit.iter().map(|p| dec(p.get("amountPaid"))).sum();
        if credit_total != refund_total || posted != paid_back.round_dp(2) {
            mismatches.push(
                json!({"refund": id, "order": r["order_id"], "sales_credit": credit["id"],
                "refund_total": refund_total.to_string(), "credit_total": credit_total.to_string(),
                "refund_payments": paid_back.to_string(), "posted_payments": posted.to_string()}),
            );
        }
    }
    Ok(json!({
        "checked": checked,
        "mismatched": mismatches.len(),
        "mismatches": mismatches,
        "duplicated": duplicated,
        "missing": missing.len(),
        "missing_refunds": missing,
        "held": held,
    }))
}

/// The refunds part of [`crate::demo::reconciliation_failure`]: credits that differ from
/// their refund, duplicates, and refunds neither credited nor held.
pub fn reconciliation_problems(report: &Value) -> Vec<String> {
    let r = &report["reconciliation"]["refunds"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = vec![];
    if n(&r["mismatched"]) > 0 {
        out.push(format!(
            "{} refunds' sales credits or refund payments differ from BigCommerce: {}",
            r["mismatched"], r["mismatches"]
        ));
    }
    if n(&r["duplicated"]) > 0 {
        out.push(format!(
            "{} refund credits or refund payments posted more than once",
            r["duplicated"]
        ));
    }
    if n(&r["missing"]) > 0 {
        out.push(format!(
            "{} refunds have no sales credit and no exception: {}",
            r["missing"], r["missing_refunds"]
        ));
    }
    out
}

/// The text line of the refunds flow (empty when the demo made no refunds).
pub fn render_text(report: &Value) -> String {
    let f = &report["flows"]["refunds"];
    if f.is_null() {
        return String::new();
    }
    format!(
        "refunds        {} BigCommerce refunds: {} sales credits, {} refund payments, {} difference rows; {} held until its sales order was invoiced, then posted ({} runs)\n",
        f["refunds"],
        f["credits_created"],
        f["refund_payments_posted"],
        f["difference_rows"],
        f["blocked_not_invoiced"],
        f["runs"]
    )
}

/// The text line of the refunds reconciliation (empty when the demo made no refunds).
pub fn render_reconciliation_text(report: &Value) -> String {
    let r = &report["reconciliation"]["refunds"];
    if r.is_null() {
        return String::new();
    }
    format!(
        "               {} refunds checked against their sales credits and refund payments, {} mismatched, {} duplicated, {} missing\n",
        r["checked"], r["mismatched"], r["duplicated"], r["missing"]
    )
}
