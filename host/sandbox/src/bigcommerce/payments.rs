//! v3 order transactions, refund quotes and refunds (`bigcommerce-api.md` §7).
//!
//! Refund arithmetic is decimal; refund amounts are rounded to 2 dp [doc] and the difference
//! to the unrounded sum is the quote's `rounding`. How the real API prices a PRODUCT refund is
//! not in the reference: the sandbox refunds what the shopper paid per unit,
//! `discounted_total_inc_tax / quantity` (else `price_inc_tax`) [unconfirmed].

use chrono::DateTime;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::Ctx;
use super::http::{ERROR_TYPE, Paging, Req, Resp, Ver, int_list_filter};
use super::json::{self, as_dec, dec, int, iso, number, text};
use super::orders::set_status_fields;
use super::state::{OrderRec, State};

/// `GET /v3/orders/{id}/transactions` [doc]: `{data, meta{pagination}}`; 204 when the order has
/// no transactions [doc]; 404 for an unknown order.
pub(crate) fn transactions(st: &State, id: i64, req: &Req) -> Resp {
    let Some(rec) = st.orders.get(&id) else {
        return Resp::not_found(Ver::V3);
    };
    if rec.transactions.is_empty() {
        return Resp::no_content();
    }
    match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p.v3_list(&rec.transactions),
        Err(r) => r,
    }
}

/// A priced refund request (the business rule behind quotes and refunds).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RefundCalc {
    /// `total_refund_amount`, rounded to 2 dp.
    pub total: Decimal,
    /// `total_refund_tax_amount`, 2 dp.
    pub tax: Decimal,
    /// Sum of ORDER items (tax-exempt [doc]).
    pub order_level: Decimal,
    /// `total - unrounded total`.
    pub rounding: Decimal,
    /// Sum of item `adjustments[].amount` (≤ 0).
    pub adjustment: Decimal,
    /// `(order_product_id, quantity)` of PRODUCT items.
    pub quantities: Vec<(i64, i64)>,
    /// The items as the refund records them.
    pub items: Vec<Value>,
}

/// Already refunded on an order (sum of its refunds' `total_amount`).
pub(crate) fn refunded_so_far(st: &State, order_id: i64) -> Decimal {
    st.refunds
        .iter()
        .filter(|r| int(r, "order_id") == Some(order_id))
        .filter_map(|r| dec(r, "total_amount"))
        .sum()
}

/// Prices `body` (`{items:[...]}` or `{tax_adjustment_amount}`) against the order. Errors are
/// `field → message` pairs for the 422 body.
pub(crate) fn price_refund(
    rec: &OrderRec,
    refunded: Decimal,
    body: &Value,
) -> Result<RefundCalc, Vec<(String, String)>> {
    let order_id = int(&rec.order, "id").unwrap_or(0);
    let err = |f: &str, m: String| Err(vec![(f.to_string(), m)]);
    let mut c = RefundCalc {
        total: Decimal::ZERO,
        tax: Decimal::ZERO,
        order_level: Decimal::ZERO,
        rounding: Decimal::ZERO,
        adjustment: Decimal::ZERO,
        quantities: vec![],
        items: vec![],
    };
    let mut raw = Decimal::ZERO;
    let mut raw_tax = Decimal::ZERO;
    if let Some(t) = body.get("tax_adjustment_amount") {
        let Some(a) = as_dec(t).filter(|a| *a > Decimal::ZERO) else {
            return err("tax_adjustment_amount", "must be a positive amount".into());
        };
        raw = a;
        raw_tax = a;
    } else {
        let Some(items) = body
            .get("items")
            .and_then(Value::as_array)
            .filter(|i| !i.is_empty())
        else {
            return err("items", "items or tax_adjustment_amount is required".into());
        };
        for (i, it) in items.iter().enumerate() {
            let f = |k: &str| format!("items[{i}].{k}");
            let kind = text(it, "item_type");
            let Some(item_id) = int(it, "item_id") else {
                return err(&f("item_id"), "is required".into());
            };
            let reason = text(it, "reason");
            let mut row = json!({"item_type": kind, "item_id": item_id, "reason": reason});
            match kind {
                "PRODUCT" | "GIFT_WRAPPING" => {
                    let Some(p) = rec.products.iter().find(|p| int(p, "id") == Some(item_id))
                    else {
                        return err(
                            &f("item_id"),
                            format!("order product {item_id} is not on order {order_id}"),
                        );
                    };
                    let ordered = int(p, "quantity").unwrap_or(0);
                    let left = ordered - int(p, "quantity_refunded").unwrap_or(0);
                    let Some(q) = int(it, "quantity").filter(|q| *q > 0) else {
                        return err(&f("quantity"), "must be a positive integer".into());
                    };
                    if q > left {
                        return err(&f("quantity"), format!("only {left} left to refund"));
                    }
                    let per_unit = |total_key: &str, unit_key: &str| -> Decimal {
                        match dec(p, total_key) {
                            Some(t) if ordered > 0 => t / Decimal::from(ordered),
                            _ => dec(p, unit_key).unwrap_or_default(),
                        }
                    };
                    let (unit, unit_tax) = if kind == "PRODUCT" {
                        let tax = dec(p, "total_tax")
                            .map(|t| t / Decimal::from(ordered.max(1)))
                            .unwrap_or_default();
                        (per_unit("discounted_total_inc_tax", "price_inc_tax"), tax)
                    } else {
                        let w = dec(p, "wrapping_cost_inc_tax").unwrap_or_default()
                            / Decimal::from(ordered.max(1));
                        let wt = dec(p, "wrapping_cost_tax").unwrap_or_default()
                            / Decimal::from(ordered.max(1));
                        (w, wt)
                    };
                    let mut adj = Decimal::ZERO;
                    for a in it
                        .get("adjustments")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        match dec(a, "amount") {
                            Some(x) if x <= Decimal::ZERO => adj += x,
                            _ => {
                                return err(
                                    &f("adjustments"),
                                    "amount must be zero or negative".into(),
                                );
                            }
                        }
                    }
                    // Line amounts are kept to 4 dp like all BigCommerce money [doc].
                    raw += (unit * Decimal::from(q)).round_dp(4) + adj;
                    raw_tax += (unit_tax * Decimal::from(q)).round_dp(4);
                    c.adjustment += adj;
                    if kind == "PRODUCT" {
                        c.quantities.push((item_id, q));
                    }
                    row["quantity"] = json!(q);
                    if let Some(a) = it.get("adjustments") {
                        row["adjustments"] = a.clone();
                    }
                    row["requested_amount"] = Value::Null;
                }
                "SHIPPING" | "HANDLING" | "TAX" | "FEE" | "ORDER" => {
                    let Some(amount) = dec(it, "amount").filter(|a| *a > Decimal::ZERO) else {
                        return err(&f("amount"), "must be a positive amount".into());
                    };
                    match kind {
                        "SHIPPING" | "HANDLING" => {
                            let Some(a) = rec
                                .shipping_addresses
                                .iter()
                                .find(|a| int(a, "id") == Some(item_id))
                            else {
                                return err(
                                    &f("item_id"),
                                    format!("order address {item_id} is not on order {order_id}"),
                                );
                            };
                            let key = if kind == "SHIPPING" {
                                "cost_inc_tax"
                            } else {
                                "handling_cost_inc_tax"
                            };
                            let max = dec(a, key).unwrap_or_default();
                            if amount > max {
                                return err(
                                    &f("amount"),
                                    format!(
                                        "exceeds the refundable {} of {max}",
                                        kind.to_lowercase()
                                    ),
                                );
                            }
                        }
                        "ORDER" if item_id != order_id => {
                            return err(&f("item_id"), format!("must be the order id {order_id}"));
                        }
                        "ORDER" => c.order_level += amount,
                        "TAX" => raw_tax += amount,
                        _ => {}
                    }
                    raw += amount;
                    row["requested_amount"] = number(amount);
                }
                other => {
                    return err(
                        &f("item_type"),
                        format!("'{other}' is not a refundable item type"),
                    );
                }
            }
            c.items.push(row);
        }
    }
    c.total = raw.round_dp(2);
    c.tax = raw_tax.round_dp(2);
    c.rounding = c.total - raw;
    let order_total = dec(&rec.order, "total_inc_tax").unwrap_or_default();
    let remaining = order_total - refunded;
    if c.total > remaining {
        return err(
            "items",
            format!(
                "the refund of {} exceeds the {} left to refund",
                fmt2(c.total),
                fmt2(remaining)
            ),
        );
    }
    if c.total <= Decimal::ZERO {
        return err("items", "the refund amount must be greater than 0".into());
    }
    Ok(c)
}

/// A payment gateway the order was paid through, and what can still be refunded to it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GatewayBalance {
    pub gateway: String,
    /// Id of its first purchase/capture transaction (the refund's `reference_transaction_id`).
    pub transaction_id: Option<i64>,
    /// Captured minus already refunded through this provider.
    pub available: Decimal,
}

/// The order's gateways in transaction order: successful `purchase`/`capture` transactions
/// summed per `gateway`, minus the online refund payments already made to it.
pub(crate) fn gateway_balances(st: &State, rec: &OrderRec) -> Vec<GatewayBalance> {
    let order_id = int(&rec.order, "id");
    let mut out: Vec<GatewayBalance> = Vec::new();
    for t in &rec.transactions {
        let g = text(t, "gateway");
        if g.is_empty()
            || !matches!(text(t, "event"), "purchase" | "capture")
            || text(t, "status") == "error"
        {
            continue;
        }
        let amount = dec(t, "amount").unwrap_or_default();
        match out.iter_mut().find(|b| b.gateway == g) {
            Some(b) => b.available += amount,
            None => out.push(GatewayBalance {
                gateway: g.to_string(),
                transaction_id: int(t, "id"),
                available: amount,
            }),
        }
    }
    for r in st.refunds.iter().filter(|r| int(r, "order_id") == order_id) {
        for p in r
            .get("payments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(b) = out.iter_mut().find(|b| b.gateway == text(p, "provider_id")) {
                b.available -= dec(p, "amount").unwrap_or_default();
            }
        }
    }
    out
}

fn method(provider: &str, description: &str, amount: Decimal, offline: bool) -> Value {
    json!({"provider_id": provider, "provider_description": description, "amount": number(amount),
           "offline": offline, "offline_provider": offline, "offline_reason": ""})
}

/// The refund options for `amount` (shapes [doc]; the set offered is [unconfirmed]):
/// 1. back to the order's gateways, split over them in transaction order up to what each can
///    still take (offered only when they cover the amount);
/// 2. store credit, for registered customers (a guest order cannot take it [doc]);
/// 3. a custom offline refund.
fn refund_methods(st: &State, rec: &OrderRec, amount: Decimal) -> Vec<Value> {
    let mut options = Vec::new();
    let balances = gateway_balances(st, rec);
    let total: Decimal = balances
        .iter()
        .map(|b| b.available.max(Decimal::ZERO))
        .sum();
    if !balances.is_empty() && total >= amount {
        let mut left = amount;
        let mut split = Vec::new();
        for b in &balances {
            let take = left.min(b.available.max(Decimal::ZERO));
            if take > Decimal::ZERO {
                split.push(method(&b.gateway, &b.gateway, take, false));
                left -= take;
            }
        }
        options.push(Value::Array(split));
    }
    if int(&rec.order, "customer_id").unwrap_or(0) != 0 {
        options.push(json!([method(
            "storecredit",
            "Store Credit",
            amount,
            false
        )]));
    }
    options.push(json!([method("custom", "Custom", amount, true)]));
    options
}

/// `12.5` → `"12.50"` for messages.
fn fmt2(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

fn errors_obj(errs: &[(String, String)]) -> Value {
    Value::Object(errs.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// `POST /v3/orders/{id}/payment_actions/refund_quotes` [doc]: 201 `{data:{order_id,
/// total_refund_amount, total_refund_tax_amount, order_level_refund_amount, rounding,
/// adjustment, tax_inclusive, refund_methods:[[{provider_id, provider_description, amount,
/// offline, offline_provider, offline_reason}]]}}`; 422 v3 error on invalid items.
pub(crate) fn refund_quote(st: &State, id: i64, req: &Req) -> Resp {
    let Some(rec) = st.orders.get(&id) else {
        return Resp::not_found(Ver::V3);
    };
    let body = match req.json(Ver::V3) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match price_refund(rec, refunded_so_far(st, id), &body) {
        Err(e) => Resp::v3_error(422, "The refund quote request is invalid.", errors_obj(&e)),
        Ok(c) => Resp::created(json!({"data": {
            "order_id": id,
            "total_refund_amount": number(c.total),
            "total_refund_tax_amount": number(c.tax),
            "order_level_refund_amount": number(c.order_level),
            "rounding": number(c.rounding),
            "adjustment": number(c.adjustment),
            "tax_inclusive": rec.order.get("is_tax_inclusive_pricing").cloned().unwrap_or(json!(false)),
            "refund_methods": refund_methods(st, rec, c.total),
        }})),
    }
}

/// The create-refund 422 body `{"data":[{status, title, type}]}` [doc].
fn refund_422(title: &str) -> Resp {
    Resp::with_status(
        422,
        json!({"data": [{"status": 422, "title": title, "type": ERROR_TYPE}]}),
    )
}

/// `POST /v3/orders/{id}/payment_actions/refunds` [doc] (§7). Body `{items, payments:[{provider_id,
/// amount, offline}], merchant_calculated_override?{total_amount, total_tax}}` or
/// `{tax_adjustment_amount, payments}`. The payments must add up to what the quote for the same
/// items gives (or the override total), else 422 [doc]; store credit on a guest order is 422
/// [doc]; an unknown provider is 422 [unconfirmed].
///
/// Effects: the refund is stored (201 `{data: refund, meta: {}}`); PRODUCT lines get
/// `quantity_refunded`/`is_refunded`; the order moves to Refunded (4) when fully refunded,
/// else Partially Refunded (14) [doc], with `payment_status` `refunded` / `partially refunded`;
/// each online payment adds a `refund` transaction; webhooks `store/order/refund/created`
/// (`data.refund.refund_id`), `store/order/updated`, `store/order/statusUpdated`.
pub(crate) fn create_refund(st: &mut State, ctx: &Ctx, id: i64, req: &Req) -> Resp {
    let Some(rec) = st.orders.get(&id) else {
        return Resp::not_found(Ver::V3);
    };
    let body = match req.json(Ver::V3) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let calc = match price_refund(rec, refunded_so_far(st, id), &body) {
        Ok(c) => c,
        Err(e) => return refund_422(&format!("{}: {}", e[0].0, e[0].1)),
    };
    let override_ = body.get("merchant_calculated_override");
    let (expected, total_tax) = match override_ {
        Some(o) => match (dec(o, "total_amount"), dec(o, "total_tax")) {
            (Some(t), tax) => (t.round_dp(2), tax.unwrap_or_default().round_dp(2)),
            _ => return refund_422("merchant_calculated_override.total_amount is required"),
        },
        None => (calc.total, calc.tax),
    };
    let Some(payments) = body
        .get("payments")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
    else {
        return refund_422("payments is required");
    };
    let mut balances = gateway_balances(st, rec);
    let guest = int(&rec.order, "customer_id").unwrap_or(0) == 0;
    let mut paid = Decimal::ZERO;
    for p in payments {
        let provider = text(p, "provider_id");
        let gateway = balances.iter_mut().find(|b| b.gateway == provider);
        let known = provider == "custom" || provider == "storecredit" || gateway.is_some();
        if let Some(b) = gateway {
            let a = dec(p, "amount").unwrap_or_default();
            if a > b.available {
                return refund_422(&format!(
                    "The payment amount {} exceeds the {} left to refund to '{provider}'",
                    fmt2(a),
                    fmt2(b.available)
                ));
            }
            b.available -= a;
        }
        if !known {
            return refund_422(&format!(
                "Payment provider '{provider}' is not available for this order"
            ));
        }
        if provider == "storecredit" && guest {
            return refund_422("A guest order cannot be refunded to store credit");
        }
        match dec(p, "amount") {
            Some(a) if a > Decimal::ZERO => paid += a,
            _ => return refund_422("Each payment needs a positive amount"),
        }
    }
    if paid.round_dp(2) != expected {
        return refund_422(&format!(
            "The payment amount {} does not match the refund amount {}",
            fmt2(paid),
            fmt2(expected)
        ));
    }

    let refund_id = st.next_refund_id;
    st.next_refund_id += 1;
    let mut payment_rows = Vec::new();
    let mut new_transactions = Vec::new();
    let balances = gateway_balances(st, &st.orders[&id]);
    let currency = text(&st.orders[&id].order, "currency_code").to_string();
    for p in payments {
        let pid = st.next_refund_payment_id;
        st.next_refund_payment_id += 1;
        let provider = text(p, "provider_id").to_string();
        let amount = dec(p, "amount").unwrap_or_default();
        let offline = provider == "custom" || p.get("offline") == Some(&Value::Bool(true));
        let mut row = json!({"id": pid, "provider_id": provider, "amount": number(amount), "offline": offline,
            "is_declined": false, "declined_message": ""});
        if !offline && provider != "storecredit" {
            let tid = st.next_transaction_id;
            st.next_transaction_id += 1;
            row["transaction_id"] = json!(tid);
            new_transactions.push(json!({
                "id": tid, "order_id": id.to_string(), "event": "refund", "method": "credit_card",
                "amount": number(amount), "currency": currency, "gateway": provider,
                "gateway_transaction_id": format!("sandbox-refund-{tid}"), "status": "ok", "test": true,
                "fraud_review": false, "reference_transaction_id": balances.iter().find(|b| b.gateway == provider).and_then(|b| b.transaction_id), "date_created": iso(ctx.now),
            }));
        }
        payment_rows.push(row);
    }
    let refund = json!({
        "id": refund_id,
        "order_id": id,
        "user_id": 0,
        "created": iso(ctx.now),
        "reason": text(&body, "reason"),
        "total_amount": number(expected),
        "total_tax": number(total_tax),
        "uses_merchant_override_values": override_.is_some(),
        "items": calc.items,
        "payments": payment_rows,
    });
    st.refunds.push(refund.clone());
    st.orders
        .get_mut(&id)
        .expect("checked")
        .transactions
        .extend(new_transactions);
    apply_refund_effects(st, ctx, id, refund_id, &calc.quantities);
    Resp::created(json!({"data": refund, "meta": {}}))
}

/// Quantities, refund status and webhooks after a refund was stored.
fn apply_refund_effects(
    st: &mut State,
    ctx: &Ctx,
    id: i64,
    refund_id: i64,
    quantities: &[(i64, i64)],
) {
    let refunded = refunded_so_far(st, id);
    let rec = st.orders.get_mut(&id).expect("order exists");
    for (opid, q) in quantities {
        if let Some(p) = rec
            .products
            .iter_mut()
            .find(|p| int(p, "id") == Some(*opid))
        {
            let done = int(p, "quantity_refunded").unwrap_or(0) + q;
            p["quantity_refunded"] = json!(done);
            p["is_refunded"] = json!(done >= int(p, "quantity").unwrap_or(0));
        }
    }
    let full = refunded >= dec(&rec.order, "total_inc_tax").unwrap_or_default();
    let status = if full { 4 } else { 14 };
    rec.order["payment_status"] = json!(if full {
        "refunded"
    } else {
        "partially refunded"
    });
    let previous = set_status_fields(rec, ctx, status);
    st.emit(
        "store/order/refund/created",
        json!({"type": "order", "id": id, "refund": {"refund_id": refund_id}}),
    );
    st.emit("store/order/updated", json!({"type": "order", "id": id}));
    if previous != status {
        st.emit(
            "store/order/statusUpdated",
            json!({"type": "order", "id": id, "status": {"previous_status_id": previous, "new_status_id": status}}),
        );
    }
}

/// A refund made in the control panel (scripting): stores `refund` (v3 refund shape) with `id`,
/// `order_id`, `created` filled in when absent, then applies the same effects as the API.
pub(crate) fn scripted_refund(
    st: &mut State,
    ctx: &Ctx,
    order_id: i64,
    mut refund: Value,
) -> Option<i64> {
    if !st.orders.contains_key(&order_id) || !refund.is_object() {
        return None;
    }
    let id = match int(&refund, "id").filter(|i| *i > 0) {
        Some(i) => i,
        None => st.next_refund_id,
    };
    st.next_refund_id = st.next_refund_id.max(id + 1);
    refund["id"] = json!(id);
    refund["order_id"] = json!(order_id);
    if refund.get("created").is_none() {
        refund["created"] = json!(iso(ctx.now));
    }
    let quantities: Vec<(i64, i64)> = refund
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| text(i, "item_type") == "PRODUCT")
        .filter_map(|i| Some((int(i, "item_id")?, int(i, "quantity")?)))
        .collect();
    st.refunds.push(refund);
    apply_refund_effects(st, ctx, order_id, id, &quantities);
    Some(id)
}

fn refund_list(st: &State, req: &Req, order: Option<i64>) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut bounds = Vec::new();
    for key in ["created:min", "created:max"] {
        if let Some(s) = req.q(key) {
            // RFC 3339, URL-encoded [doc]; a bad value answers 422 [unconfirmed].
            match DateTime::parse_from_rfc3339(s.trim()) {
                Ok(d) => bounds.push((key, d.with_timezone(&chrono::Utc))),
                Err(_) => {
                    return Resp::v3_error(
                        422,
                        "Input is invalid",
                        json!({ key: "must be an RFC 3339 date-time" }),
                    );
                }
            }
        }
    }
    let order_ids = match int_list_filter(req, "order_id:in") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ids = match int_list_filter(req, "id:in") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut rows: Vec<Value> = st
        .refunds
        .iter()
        .filter(|r| order.is_none_or(|o| int(r, "order_id") == Some(o)))
        .filter(|r| {
            order_ids
                .as_ref()
                .is_none_or(|l| int(r, "order_id").is_some_and(|o| l.contains(&o)))
        })
        .filter(|r| {
            ids.as_ref()
                .is_none_or(|l| int(r, "id").is_some_and(|o| l.contains(&o)))
        })
        .filter(|r| {
            let created = json::parse_any_date(&r["created"]);
            bounds.iter().all(|(k, b)| match created {
                None => false,
                Some(c) => {
                    if k.ends_with("min") {
                        c >= *b
                    } else {
                        c <= *b
                    }
                }
            })
        })
        .cloned()
        .collect();
    rows.sort_by_key(|r| int(r, "id"));
    paging.v3_list(&rows)
}

/// `GET /v3/orders/payment_actions/refunds` [doc]: store-wide, ascending by id; filters
/// `created:min`, `created:max` (RFC 3339), `order_id:in`, `id:in`; `{data, meta{pagination}}`.
pub(crate) fn list_refunds(st: &State, req: &Req) -> Resp {
    refund_list(st, req, None)
}

/// `GET /v3/orders/{id}/payment_actions/refunds` [doc]: one order's refunds, ascending by id.
pub(crate) fn order_refunds(st: &State, id: i64, req: &Req) -> Resp {
    if !st.orders.contains_key(&id) {
        return Resp::not_found(Ver::V3);
    }
    refund_list(st, req, Some(id))
}

/// `GET /v3/orders/payment_actions/refunds/{refund_id}` [doc]: `{data: refund, meta: {}}`.
pub(crate) fn get_refund(st: &State, rid: i64) -> Resp {
    st.refunds
        .iter()
        .find(|r| int(r, "id") == Some(rid))
        .map_or_else(
            || Resp::not_found(Ver::V3),
            |r| Resp::ok(json!({"data": r, "meta": {}})),
        )
}
