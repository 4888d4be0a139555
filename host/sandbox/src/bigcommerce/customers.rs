//! v3 customers, v2 customer groups, v3 price lists, price list records and assignments (§9).

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::Ctx;
use super::http::{Paging, Req, Resp, Ver, int_filter, int_list_filter};
use super::json::{as_dec, csv, int, iso, number, text};
use super::state::State;

/// `GET /v3/customers` [doc]: filters `id:in`, `email:in`, `customer_group_id:in`; `page`,
/// `limit`; `{data, meta{pagination}}`. Objects carry `customer_group_id` [doc].
pub(crate) fn customers(st: &State, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (ids, groups) = match (
        int_list_filter(req, "id:in"),
        int_list_filter(req, "customer_group_id:in"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let emails = req.q("email:in").map(csv);
    let mut rows: Vec<Value> = st
        .customers
        .iter()
        .filter(|c| {
            ids.as_ref()
                .is_none_or(|l| int(c, "id").is_some_and(|i| l.contains(&i)))
        })
        .filter(|c| {
            groups
                .as_ref()
                .is_none_or(|l| int(c, "customer_group_id").is_some_and(|i| l.contains(&i)))
        })
        .filter(|c| {
            emails
                .as_ref()
                .is_none_or(|l| l.iter().any(|e| e.eq_ignore_ascii_case(text(c, "email"))))
        })
        .cloned()
        .collect();
    rows.sort_by_key(|c| int(c, "id"));
    paging.v3_list(&rows)
}

/// `GET /v2/customer_groups` [doc]: a bare array; 204 when the page is empty [obs].
pub(crate) fn groups(st: &State, req: &Req) -> Resp {
    match Paging::parse(req, Ver::V2, 50, 250) {
        Ok(p) => p.v2_list(&st.customer_groups),
        Err(r) => r,
    }
}

/// `GET /v2/customer_groups/count` [doc]: `{"count": n}`.
pub(crate) fn group_count(st: &State) -> Resp {
    Resp::ok(json!({"count": st.customer_groups.len()}))
}

/// `GET /v2/customer_groups/{id}` [doc].
pub(crate) fn group(st: &State, id: i64) -> Resp {
    st.customer_groups
        .iter()
        .find(|g| int(g, "id") == Some(id))
        .map_or_else(|| Resp::not_found(Ver::V2), |g| Resp::ok(g.clone()))
}

/// `GET /v3/pricelists` [doc]: `{data, meta{pagination}}`.
pub(crate) fn price_lists(st: &State, req: &Req) -> Resp {
    match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p.v3_list(&st.price_lists),
        Err(r) => r,
    }
}

/// `GET /v3/pricelists/{id}` [doc]: `{data, meta: {}}`.
pub(crate) fn price_list(st: &State, id: i64) -> Resp {
    st.price_lists
        .iter()
        .find(|p| int(p, "id") == Some(id))
        .map_or_else(
            || Resp::not_found(Ver::V3),
            |p| Resp::ok(json!({"data": p, "meta": {}})),
        )
}

fn has_list(st: &State, id: i64) -> bool {
    st.price_lists.iter().any(|p| int(p, "id") == Some(id))
}

/// `GET /v3/pricelists/{id}/records` [doc]: filters `variant_id:in`, `product_id:in`, `sku`,
/// `sku:in`, `currency`, `currency:in`; `{data, meta{pagination}}`.
pub(crate) fn records(st: &State, id: i64, req: &Req) -> Resp {
    if !has_list(st, id) {
        return Resp::not_found(Ver::V3);
    }
    let paging = match Paging::parse(req, Ver::V3, 50, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (vids, pids) = match (
        int_list_filter(req, "variant_id:in"),
        int_list_filter(req, "product_id:in"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let sku = req.q("sku");
    let skus = req.q("sku:in").map(csv);
    let currency = req.q("currency").map(str::to_lowercase);
    let currencies = req.q("currency:in").map(|c| csv(&c.to_lowercase()));
    let rows: Vec<Value> = st
        .price_list_records
        .iter()
        .filter(|r| int(r, "price_list_id") == Some(id))
        .filter(|r| {
            vids.as_ref()
                .is_none_or(|l| int(r, "variant_id").is_some_and(|i| l.contains(&i)))
        })
        .filter(|r| {
            pids.as_ref()
                .is_none_or(|l| int(r, "product_id").is_some_and(|i| l.contains(&i)))
        })
        .filter(|r| sku.is_none_or(|s| record_sku(st, r) == s))
        .filter(|r| {
            skus.as_ref()
                .is_none_or(|l| l.iter().any(|s| *s == record_sku(st, r)))
        })
        .filter(|r| {
            currency
                .as_ref()
                .is_none_or(|c| text(r, "currency").eq_ignore_ascii_case(c))
        })
        .filter(|r| {
            currencies.as_ref().is_none_or(|l| {
                l.iter()
                    .any(|c| text(r, "currency").eq_ignore_ascii_case(c))
            })
        })
        .cloned()
        .collect();
    paging.v3_list(&rows)
}

fn record_sku(st: &State, r: &Value) -> String {
    if let Some(s) = r.get("sku").and_then(Value::as_str) {
        return s.to_string();
    }
    int(r, "variant_id")
        .and_then(|v| st.variant_pos(v))
        .map(|p| text(st.variant(p), "sku").to_string())
        .unwrap_or_default()
}

const PRICE_FIELDS: [&str; 4] = ["price", "sale_price", "retail_price", "map_price"];

/// `PUT /v3/pricelists/{id}/records` [doc]: batch upsert of `{variant_id | sku, currency, price,
/// sale_price, retail_price, map_price, bulk_pricing_tiers}`, at most 1,000 per call (413
/// beyond, status [unconfirmed]); keyed by (variant, currency); currency stored lower-case.
/// A new record needs `price` [unconfirmed]; prices must be numbers ≥ 0.
///
/// All valid: 200 `{"data": {}, "meta": {}}` [unconfirmed body]. None valid: 422
/// `{batch_errors:[{data{price_list_id, variant_id, sku, currency}, field_errors{}}]}` [doc].
/// Some valid: 207 with the same `batch_errors` (the valid records are written; partial
/// success [doc], status 207 [unconfirmed]).
pub(crate) fn upsert_records(st: &mut State, ctx: &Ctx, id: i64, req: &Req) -> Resp {
    if !has_list(st, id) {
        return Resp::not_found(Ver::V3);
    }
    let body = match req.json(Ver::V3) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            return Resp::v3_error(
                422,
                "The request body must be a JSON array of price records.",
                json!({}),
            );
        }
        Err(r) => return r,
    };
    if body.len() > 1000 {
        return Resp::v3_error(
            413,
            "The request payload is too large. The maximum number of records per request is 1000.",
            json!({}),
        );
    }
    let mut errors = Vec::new();
    let mut written = 0usize;
    for rec in &body {
        let currency = text(rec, "currency").to_lowercase();
        let mut field_errors = serde_json::Map::new();
        let pos = match (
            int(rec, "variant_id"),
            rec.get("sku").and_then(Value::as_str),
        ) {
            (Some(v), _) => st.variant_pos(v).or_else(|| {
                field_errors.insert("variant_id".into(), json!("variant not found"));
                None
            }),
            (None, Some(s)) => st.variant_pos_by_sku(s).or_else(|| {
                field_errors.insert("sku".into(), json!("sku not found"));
                None
            }),
            (None, None) => {
                field_errors.insert("variant_id".into(), json!("variant_id or sku is required"));
                None
            }
        };
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            field_errors.insert(
                "currency".into(),
                json!("must be an ISO 4217 currency code"),
            );
        }
        let mut prices = Vec::new();
        for f in PRICE_FIELDS {
            match rec.get(f) {
                None | Some(Value::Null) => {}
                Some(v) => match as_dec(v).filter(|d| *d >= Decimal::ZERO) {
                    Some(d) => prices.push((f, d)),
                    None => {
                        field_errors.insert(
                            f.into(),
                            json!("must be a number greater than or equal to 0"),
                        );
                    }
                },
            }
        }
        let vid = pos.and_then(|p| int(st.variant(p), "id"));
        let existing = vid.and_then(|v| {
            st.price_list_records.iter().position(|r| {
                int(r, "price_list_id") == Some(id)
                    && int(r, "variant_id") == Some(v)
                    && text(r, "currency").eq_ignore_ascii_case(&currency)
            })
        });
        if existing.is_none()
            && !prices.iter().any(|(f, _)| *f == "price")
            && !field_errors.contains_key("price")
        {
            field_errors.insert("price".into(), json!("is required for a new record"));
        }
        if !field_errors.is_empty() {
            errors.push(json!({
                "data": {"price_list_id": id, "variant_id": int(rec, "variant_id"), "sku": rec.get("sku"), "currency": currency},
                "field_errors": Value::Object(field_errors),
            }));
            continue;
        }
        let pos = pos.expect("checked");
        let v = st.variant(pos).clone();
        let now = iso(ctx.now);
        let mut record = match existing {
            Some(i) => st.price_list_records[i].clone(),
            None => {
                json!({"price_list_id": id, "variant_id": int(&v, "id"), "product_id": int(&v, "product_id"),
                           "sku": text(&v, "sku"), "currency": currency, "date_created": now})
            }
        };
        for (f, d) in &prices {
            record[*f] = number(*d);
        }
        if let Some(t) = rec.get("bulk_pricing_tiers") {
            record["bulk_pricing_tiers"] = t.clone();
        }
        let calculated = as_dec(&record["sale_price"])
            .filter(|s| *s > Decimal::ZERO)
            .or_else(|| as_dec(&record["price"]));
        record["calculated_price"] = calculated.map(number).unwrap_or(Value::Null);
        record["date_modified"] = json!(now);
        match existing {
            Some(i) => st.price_list_records[i] = record,
            None => st.price_list_records.push(record),
        }
        written += 1;
    }
    match (written, errors.is_empty()) {
        (_, true) => Resp::ok(json!({"data": {}, "meta": {}})),
        (0, false) => Resp::with_status(422, json!({"batch_errors": errors})),
        (_, false) => Resp::with_status(
            207,
            json!({"batch_errors": errors, "meta": {"success": written, "failed": errors.len(), "total": body.len()}}),
        ),
    }
}

/// `GET /v3/pricelists/assignments` [doc]: filters `id:in`, `price_list_id`, `price_list_id:in`,
/// `customer_group_id`, `customer_group_id:in`, `channel_id`, `channel_id:in`.
pub(crate) fn assignments(st: &State, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let keep = match assignment_filter(req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let rows: Vec<Value> = st.assignments.iter().filter(|a| keep(a)).cloned().collect();
    paging.v3_list(&rows)
}

type Filter = Box<dyn Fn(&Value) -> bool>;

fn assignment_filter(req: &Req) -> Result<Filter, Resp> {
    let mut conds: Vec<(String, Vec<i64>)> = Vec::new();
    for key in ["id", "price_list_id", "customer_group_id", "channel_id"] {
        if let Some(v) = int_filter(req, Ver::V3, key)? {
            conds.push((key.to_string(), vec![v]));
        }
        if let Some(l) = int_list_filter(req, &format!("{key}:in"))? {
            conds.push((key.to_string(), l));
        }
    }
    Ok(Box::new(move |a: &Value| {
        conds
            .iter()
            .all(|(k, l)| int(a, k).is_some_and(|v| l.contains(&v)))
    }))
}

/// `POST /v3/pricelists/assignments` [doc]: a batch of at most 25 `{price_list_id,
/// customer_group_id?, channel_id?}` (413 beyond, status [unconfirmed]); unknown price list 422.
/// Answers 200 `{data:[assignments with id], meta:{}}` [unconfirmed body].
pub(crate) fn create_assignments(st: &mut State, req: &Req) -> Resp {
    let body = match req.json(Ver::V3) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            return Resp::v3_error(
                422,
                "The request body must be a JSON array of assignments.",
                json!({}),
            );
        }
        Err(r) => return r,
    };
    if body.len() > 25 {
        return Resp::v3_error(
            413,
            "The request payload is too large. The maximum number of assignments per request is 25.",
            json!({}),
        );
    }
    let mut errors = serde_json::Map::new();
    for (i, a) in body.iter().enumerate() {
        if !int(a, "price_list_id").is_some_and(|p| has_list(st, p)) {
            errors.insert(
                format!("[{i}].price_list_id"),
                json!("must be an existing price list id"),
            );
        }
    }
    if !errors.is_empty() {
        return Resp::v3_error(422, "Input is invalid", Value::Object(errors));
    }
    let mut out = Vec::new();
    for a in body {
        out.push(upsert_assignment(
            st,
            int(&a, "price_list_id").unwrap_or(0),
            &a,
        ));
    }
    Resp::ok(json!({"data": out, "meta": {}}))
}

fn upsert_assignment(st: &mut State, list: i64, a: &Value) -> Value {
    let group = a.get("customer_group_id").and_then(super::json::as_int);
    let channel = a.get("channel_id").and_then(super::json::as_int);
    st.assignments.retain(|x| {
        !(x.get("customer_group_id").and_then(super::json::as_int) == group
            && x.get("channel_id").and_then(super::json::as_int) == channel)
    });
    let id = st.next_assignment_id;
    st.next_assignment_id += 1;
    let mut row = json!({"id": id, "price_list_id": list});
    if let Some(g) = group {
        row["customer_group_id"] = json!(g);
    }
    if let Some(c) = channel {
        row["channel_id"] = json!(c);
    }
    st.assignments.push(row.clone());
    row
}

/// `PUT /v3/pricelists/{id}/assignments` [doc]: upserts one `{customer_group_id, channel_id}`
/// (an existing assignment for the same group and channel is replaced). 200 `{data, meta:{}}`.
pub(crate) fn put_assignment(st: &mut State, id: i64, req: &Req) -> Resp {
    if !has_list(st, id) {
        return Resp::not_found(Ver::V3);
    }
    let body = match req.json(Ver::V3) {
        Ok(b) if b.is_object() => b,
        Ok(_) => return Resp::v3_error(422, "The request body must be a JSON object.", json!({})),
        Err(r) => return r,
    };
    let row = upsert_assignment(st, id, &body);
    Resp::ok(json!({"data": row, "meta": {}}))
}

/// `DELETE /v3/pricelists/assignments?...` [doc]: deletes the assignments matching the filters
/// (at least one filter is required, 422 otherwise [unconfirmed]); 204.
pub(crate) fn delete_assignments(st: &mut State, req: &Req) -> Resp {
    if req.query.is_empty() {
        return Resp::v3_error(422, "At least one filter is required.", json!({}));
    }
    let keep = match assignment_filter(req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    st.assignments.retain(|a| !keep(a));
    Resp::no_content()
}
