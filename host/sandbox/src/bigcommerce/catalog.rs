//! v3 catalog products and variants, inventory locations, items and adjustments (§8).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::InventoryLevel;
use super::http::{Paging, Req, Resp, Ver, int_filter, int_list_filter};
use super::json::{csv, int, text};
use super::state::{State, Stock};

/// Largest inventory level the APIs take (2,147,483,647) [doc].
const MAX_LEVEL: i64 = 2_147_483_647;

fn strs(req: &Req, key: &str) -> Option<Vec<String>> {
    req.q(key).map(csv)
}

fn includes(req: &Req, what: &str) -> bool {
    req.q("include")
        .is_some_and(|i| csv(i).iter().any(|x| x == what))
}

/// `include_fields=` keeps only the listed fields (and `id`); `exclude_fields=` drops the listed
/// ones (never `id`) [doc] (§3).
fn trim_fields(mut v: Value, req: &Req) -> Value {
    if let Some(m) = v.as_object_mut() {
        if let Some(keep) = req.q("include_fields").map(csv) {
            m.retain(|k, _| k == "id" || k == "variants" || keep.iter().any(|f| f == k));
        }
        if let Some(drop) = req.q("exclude_fields").map(csv) {
            m.retain(|k, _| k == "id" || !drop.iter().any(|f| f == k));
        }
    }
    v
}

fn product_view(p: &Value, with_variants: bool) -> Value {
    let mut p = p.clone();
    if !with_variants && let Some(m) = p.as_object_mut() {
        m.remove("variants");
    }
    p
}

/// `GET /v3/catalog/products` [doc]: filters `id`, `id:in`, `sku`, `sku:in` (base SKU only
/// [doc]), `name`; `include=variants`; `include_fields` / `exclude_fields`; `page`, `limit`
/// (≤ 250 [doc]); `date_modified:min` [doc]; `{data, meta{pagination}}`.
pub(crate) fn products(st: &State, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (id, ids) = match (
        int_filter(req, Ver::V3, "id"),
        int_list_filter(req, "id:in"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let sku = req.q("sku");
    let skus = strs(req, "sku:in");
    let name = req.q("name");
    let modified_min = match req.q("date_modified:min").map(parse_catalog_date) {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => {
            return Resp::v3_error(
                422,
                "Input is invalid",
                json!({"date_modified:min": "must be a date (YYYY-MM-DD) or an ISO 8601 date-time"}),
            );
        }
    };
    let with_variants = includes(req, "variants");
    let rows: Vec<&Value> = st
        .products
        .iter()
        .filter(|p| id.is_none_or(|i| int(p, "id") == Some(i)))
        .filter(|p| {
            ids.as_ref()
                .is_none_or(|l| int(p, "id").is_some_and(|i| l.contains(&i)))
        })
        .filter(|p| sku.is_none_or(|s| text(p, "sku") == s))
        .filter(|p| {
            skus.as_ref()
                .is_none_or(|l| l.iter().any(|s| s == text(p, "sku")))
        })
        .filter(|p| name.is_none_or(|n| text(p, "name") == n))
        .filter(|p| {
            modified_min.is_none_or(|min| {
                parse_catalog_date(text(p, "date_modified")).is_some_and(|t| t >= min)
            })
        })
        .collect();
    // Only the page returned is built (large catalogs).
    let data: Vec<Value> = paging
        .slice(&rows)
        .into_iter()
        .map(|p| trim_fields(product_view(p, with_variants), req))
        .collect();
    let meta = paging.meta(rows.len(), data.len());
    Resp::ok(json!({"data": data, "meta": meta}))
}

/// A v3 catalog date filter value: `YYYY-MM-DD` (midnight UTC here; BigCommerce appends the
/// current time of day [doc], bigcommerce-api.md) or an RFC 3339 date-time.
fn parse_catalog_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `GET /v3/catalog/products/{id}[?include=variants]` [doc]: `{data, meta: {}}`.
pub(crate) fn product(st: &State, id: i64, req: &Req) -> Resp {
    st.products
        .iter()
        .find(|p| int(p, "id") == Some(id))
        .map_or_else(
            || Resp::not_found(Ver::V3),
            |p| Resp::ok(json!({"data": product_view(p, includes(req, "variants")), "meta": {}})),
        )
}

/// `GET /v3/catalog/products/{id}/variants` [doc]: `{data, meta{pagination}}`.
pub(crate) fn product_variants(st: &State, id: i64, req: &Req) -> Resp {
    let Some(p) = st.products.iter().find(|p| int(p, "id") == Some(id)) else {
        return Resp::not_found(Ver::V3);
    };
    let variants = p
        .get("variants")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(pg) => pg.v3_list(&variants),
        Err(r) => r,
    }
}

fn all_variants(st: &State) -> impl Iterator<Item = &Value> {
    st.products.iter().flat_map(|p| {
        p.get("variants")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    })
}

/// `GET /v3/catalog/variants` [doc]: filters `id`, `id:in`, `sku`, `sku:in`, `product_id`,
/// `product_id:in`; `include_fields` / `exclude_fields`; `{data, meta{pagination}}`.
pub(crate) fn variants(st: &State, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let parsed = (
        int_filter(req, Ver::V3, "id"),
        int_list_filter(req, "id:in"),
        int_filter(req, Ver::V3, "product_id"),
        int_list_filter(req, "product_id:in"),
    );
    let (id, ids, pid, pids) = match parsed {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (.., Err(r)) => return r,
    };
    let sku = req.q("sku");
    let skus = strs(req, "sku:in");
    let rows: Vec<Value> = all_variants(st)
        .filter(|v| id.is_none_or(|i| int(v, "id") == Some(i)))
        .filter(|v| {
            ids.as_ref()
                .is_none_or(|l| int(v, "id").is_some_and(|i| l.contains(&i)))
        })
        .filter(|v| pid.is_none_or(|i| int(v, "product_id") == Some(i)))
        .filter(|v| {
            pids.as_ref()
                .is_none_or(|l| int(v, "product_id").is_some_and(|i| l.contains(&i)))
        })
        .filter(|v| sku.is_none_or(|s| text(v, "sku") == s))
        .filter(|v| {
            skus.as_ref()
                .is_none_or(|l| l.iter().any(|s| s == text(v, "sku")))
        })
        .map(|v| trim_fields(v.clone(), req))
        .collect();
    paging.v3_list(&rows)
}

fn batch_error(title: &str, errors: Value) -> Value {
    json!({"status": 422, "title": title, "type": super::http::ERROR_TYPE, "errors": errors})
}

/// Variant fields `PUT /v3/catalog/variants` may not change.
const VARIANT_READ_ONLY: [&str; 4] = [
    "product_id",
    "calculated_price",
    "calculated_weight",
    "sku_id",
];

/// `PUT /v3/catalog/variants` [doc]: a bare JSON array of variants with `id`, at most 50
/// (413 beyond [doc]). Writable fields are merged; `inventory_level` is clamped to
/// 0..=2,147,483,647 (the Catalog API clamps [doc]) and sets the stock at the default
/// location (catalog writes go through Inventory [doc]).
///
/// All valid: 200 `{data:[variants], meta:{}}`. None valid: 422 `{batch_errors:[{status, title,
/// type, errors}]}` [doc]. Some valid: 207 `{data, batch_errors, meta:{}}` (the valid ones are
/// written) — the 207 body shape is [unconfirmed].
pub(crate) fn update_variants(st: &mut State, req: &Req, now: DateTime<Utc>) -> Resp {
    let body = match req.json(Ver::V3) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            return Resp::v3_error(
                422,
                "The request body must be a JSON array of variants.",
                json!({}),
            );
        }
        Err(r) => return r,
    };
    if body.len() > 50 {
        return Resp::v3_error(
            413,
            "The request payload is too large. The maximum number of variants per request is 50.",
            json!({}),
        );
    }
    let default_location = st.default_location_id();
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in body.iter().enumerate() {
        let Some(vid) = int(v, "id") else {
            errors.push(batch_error(
                "Variant id is required.",
                json!({ format!("[{i}].id"): "is required" }),
            ));
            continue;
        };
        let Some(pos) = st.variant_pos(vid) else {
            errors.push(batch_error(
                &format!("Variant {vid} was not found."),
                json!({ format!("[{i}].id"): "not found" }),
            ));
            continue;
        };
        if let Some(bad) = v
            .as_object()
            .and_then(|m| m.keys().find(|k| VARIANT_READ_ONLY.contains(&k.as_str())))
        {
            errors.push(batch_error(
                &format!("The field '{bad}' cannot be written."),
                json!({ format!("[{i}].{bad}"): "read-only" }),
            ));
            continue;
        }
        let level = match v.get("inventory_level") {
            None => None,
            Some(l) => match super::json::as_int(l) {
                Some(l) => Some(l.clamp(0, MAX_LEVEL)),
                None => {
                    errors.push(batch_error(
                        "inventory_level must be an integer.",
                        json!({ format!("[{i}].inventory_level"): "must be an integer" }),
                    ));
                    continue;
                }
            },
        };
        let target = st.variant_mut(pos);
        for (k, val) in v.as_object().into_iter().flatten() {
            if k != "id" {
                target[k.as_str()] = val.clone();
            }
        }
        if let Some(l) = level {
            target["inventory_level"] = json!(l);
        }
        let updated = target.clone();
        if let Some(l) = level {
            set_stock(st, pos, default_location, l, "absolute", false, now);
        }
        data.push(updated);
    }
    match (data.is_empty(), errors.is_empty()) {
        (_, true) => Resp::ok(json!({"data": data, "meta": {}})),
        (true, false) => Resp::with_status(422, json!({"batch_errors": errors})),
        (false, false) => Resp::with_status(
            207,
            json!({"data": data, "batch_errors": errors, "meta": {}}),
        ),
    }
}

/// Sets on-hand stock of a variant at a location, mirrors the default location into the catalog
/// `inventory_level`, and fires the inventory webhook for the product's tracking mode [doc]:
/// `store/sku/inventory/updated` (variant tracking) or `store/product/inventory/updated`, or
/// their `.../inventory/order/updated` forms when an order moved the stock (`by_order`).
///
/// A write through the API (not an order, `by_order` false) also moves the product's
/// `date_modified` to `now` [unconfirmed: BigCommerce's own behaviour on inventory writes
/// is not documented], so incremental catalog reads see stock edits.
fn set_stock(
    st: &mut State,
    pos: (usize, usize),
    location: i64,
    level: i64,
    method: &str,
    by_order: bool,
    now: DateTime<Utc>,
) {
    if !by_order {
        st.products[pos.0]["date_modified"] =
            json!(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
    }
    let v = st.variant(pos).clone();
    let vid = int(&v, "id").unwrap_or(0);
    let pid = int(&st.products[pos.0], "id").unwrap_or(0);
    let before = st
        .stock
        .get(&(vid, location))
        .map(|s| s.on_hand)
        .unwrap_or(0);
    let entry = st.stock.entry((vid, location)).or_insert(Stock {
        on_hand: 0,
        safety_stock: 0,
        warning_level: 0,
        bin_picking_number: String::new(),
        initialised: false,
    });
    entry.on_hand = level;
    entry.initialised = true;
    if location == st.default_location_id() {
        st.variant_mut(pos)["inventory_level"] = json!(level);
        let tracking = text(&st.products[pos.0], "inventory_tracking").to_string();
        if tracking == "variant" {
            let sum: i64 = st.products[pos.0]["variants"]
                .as_array()
                .map(|vs| vs.iter().filter_map(|v| int(v, "inventory_level")).sum())
                .unwrap_or(0);
            st.products[pos.0]["inventory_level"] = json!(sum);
        } else if tracking == "product" {
            st.products[pos.0]["inventory_level"] = json!(level);
        }
    }
    let value = if method == "absolute" {
        level
    } else {
        level - before
    };
    let scope = |kind: &str| {
        if by_order {
            format!("store/{kind}/inventory/order/updated")
        } else {
            format!("store/{kind}/inventory/updated")
        }
    };
    if text(&st.products[pos.0], "inventory_tracking") == "product" {
        st.emit(
            &scope("product"),
            json!({"type": "product", "id": pid, "inventory": {"product_id": pid, "method": method, "value": value}}),
        );
    } else {
        st.emit(
            &scope("sku"),
            json!({"type": "sku", "id": vid, "inventory": {"product_id": pid, "variant_id": vid, "method": method, "value": value}}),
        );
    }
}

/// `GET /v3/inventory/locations` [doc]: filters `location_id:in`, `location_code:in`,
/// `is_default`, `is_active` (matches `enabled`); `{data, meta{pagination}}`, ≤ 1000 per page.
pub(crate) fn locations(st: &State, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ids = match int_list_filter(req, "location_id:in") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let codes = strs(req, "location_code:in");
    let default_id = st.default_location_id();
    let is_default = req.q("is_default").map(|v| v == "true");
    let active = req.q("is_active").map(|v| v == "true");
    let rows: Vec<Value> = st
        .locations
        .iter()
        .filter(|l| {
            ids.as_ref()
                .is_none_or(|s| int(l, "id").is_some_and(|i| s.contains(&i)))
        })
        .filter(|l| {
            codes
                .as_ref()
                .is_none_or(|s| s.iter().any(|c| c == text(l, "code")))
        })
        .filter(|l| is_default.is_none_or(|d| (int(l, "id") == Some(default_id)) == d))
        .filter(|l| {
            active.is_none_or(|a| l.get("enabled").and_then(Value::as_bool).unwrap_or(true) == a)
        })
        .cloned()
        .collect();
    paging.v3_list(&rows)
}

fn location_info(st: &State, id: i64) -> Option<&Value> {
    st.locations.iter().find(|l| int(l, "id") == Some(id))
}

fn identity(v: &Value) -> Value {
    json!({"sku": text(v, "sku"), "variant_id": int(v, "id"), "product_id": int(v, "product_id"),
           "sku_id": v.get("sku_id").cloned().unwrap_or(Value::Null)})
}

fn stock_at(st: &State, vid: i64, loc: i64) -> Stock {
    st.stock.get(&(vid, loc)).cloned().unwrap_or(Stock {
        on_hand: 0,
        safety_stock: 0,
        warning_level: 0,
        bin_picking_number: String::new(),
        initialised: false,
    })
}

fn settings(s: &Stock) -> Value {
    json!({"safety_stock": s.safety_stock, "is_in_stock": s.on_hand - s.safety_stock > 0,
           "warning_level": s.warning_level, "bin_picking_number": s.bin_picking_number})
}

/// `GET /v3/inventory/items` [doc]: filters `sku:in`, `variant_id:in`, `product_id:in`,
/// `location_id:in`; ≤ 1000 per page; `data[{identity{sku, variant_id, product_id, sku_id},
/// locations[{location_id, location_code, location_name, available_to_sell,
/// total_inventory_onhand, location_enabled, settings{...}}]}]`; `available_to_sell =
/// on hand − safety stock` [doc]. Every variant is listed with every (filtered) location.
pub(crate) fn inventory_items(st: &State, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V3, 50, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let parsed = (
        int_list_filter(req, "variant_id:in"),
        int_list_filter(req, "product_id:in"),
        int_list_filter(req, "location_id:in"),
    );
    let (vids, pids, lids) = match parsed {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(r), ..) | (_, Err(r), _) | (.., Err(r)) => return r,
    };
    let skus = strs(req, "sku:in");
    let locs: Vec<&Value> = st
        .locations
        .iter()
        .filter(|l| {
            lids.as_ref()
                .is_none_or(|s| int(l, "id").is_some_and(|i| s.contains(&i)))
        })
        .collect();
    let rows: Vec<Value> = all_variants(st)
        .filter(|v| vids.as_ref().is_none_or(|s| int(v, "id").is_some_and(|i| s.contains(&i))))
        .filter(|v| pids.as_ref().is_none_or(|s| int(v, "product_id").is_some_and(|i| s.contains(&i))))
        .filter(|v| skus.as_ref().is_none_or(|s| s.iter().any(|x| x == text(v, "sku"))))
        .map(|v| {
            let vid = int(v, "id").unwrap_or(0);
            let locations: Vec<Value> = locs
                .iter()
                .map(|l| {
                    let lid = int(l, "id").unwrap_or(0);
                    let s = stock_at(st, vid, lid);
                    json!({"location_id": lid, "location_code": text(l, "code"), "location_name": text(l, "label"),
                           "available_to_sell": s.on_hand - s.safety_stock, "total_inventory_onhand": s.on_hand,
                           "location_enabled": l.get("enabled").and_then(Value::as_bool).unwrap_or(true),
                           "settings": settings(&s)})
                })
                .collect();
            json!({"identity": identity(v), "locations": locations})
        })
        .collect();
    paging.v3_list(&rows)
}

/// `GET /v3/inventory/locations/{id}/items` [doc]: `data[{identity{...}, available_to_sell,
/// total_inventory_onhand, settings{...}}]` (row shape [unconfirmed]); 404 for an unknown location.
pub(crate) fn location_items(st: &State, id: i64, req: &Req) -> Resp {
    if location_info(st, id).is_none() {
        return Resp::not_found(Ver::V3);
    }
    let paging = match Paging::parse(req, Ver::V3, 50, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rows: Vec<Value> = all_variants(st)
        .map(|v| {
            let s = stock_at(st, int(v, "id").unwrap_or(0), id);
            json!({"identity": identity(v), "available_to_sell": s.on_hand - s.safety_stock,
                   "total_inventory_onhand": s.on_hand, "settings": settings(&s)})
        })
        .collect();
    paging.v3_list(&rows)
}

/// `PUT /v3/inventory/adjustments/absolute` (`absolute = true`) and `POST
/// /v3/inventory/adjustments/relative` [doc]. Body `{reason, items:[{location_id, variant_id |
/// sku | product_id, quantity}]}`; each item needs exactly one identifier [doc]; `product_id`
/// only for a product with a single (base) variant.
///
/// More than 2,000 items: 413 (limit [doc], status [unconfirmed]). Invalid items: 422 with
/// `errors{"items.N.field": msg}` and nothing written (the Inventory API rejects [doc]).
/// Relative: 422 when the item/location never had an absolute set [doc] or when the result
/// would be below safety stock [doc]. Success: 200 `{"transaction_id": "..."}` [doc].
pub(crate) fn adjust(st: &mut State, req: &Req, absolute: bool, now: DateTime<Utc>) -> Resp {
    let body = match req.json(Ver::V3) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(items) = body.get("items").and_then(Value::as_array) else {
        return Resp::v3_error(422, "Input is invalid", json!({"items": "is required"}));
    };
    if items.len() > 2000 {
        return Resp::v3_error(
            413,
            "The request payload is too large. The maximum number of items per request is 2000.",
            json!({}),
        );
    }
    let mut errors = serde_json::Map::new();
    let mut plan = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, it) in items.iter().enumerate() {
        let f = |k: &str| format!("items.{i}.{k}");
        let Some(loc) = int(it, "location_id").filter(|l| location_info(st, *l).is_some()) else {
            errors.insert(f("location_id"), json!("must be an existing location id"));
            continue;
        };
        let ids: Vec<&str> = ["variant_id", "sku", "product_id"]
            .into_iter()
            .filter(|k| it.get(*k).is_some())
            .collect();
        if ids.len() != 1 {
            errors.insert(
                f("variant_id"),
                json!("exactly one of variant_id, sku or product_id is required"),
            );
            continue;
        }
        let pos = match ids[0] {
            "variant_id" => int(it, "variant_id").and_then(|v| st.variant_pos(v)),
            "sku" => st.variant_pos_by_sku(text(it, "sku")),
            _ => int(it, "product_id").and_then(|pid| {
                let pi = st.products.iter().position(|p| int(p, "id") == Some(pid))?;
                let n = st.products[pi]
                    .get("variants")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                (n == 1).then_some((pi, 0))
            }),
        };
        let Some(pos) = pos else {
            errors.insert(f(ids[0]), json!("does not identify an inventory item"));
            continue;
        };
        let Some(q) = int(it, "quantity") else {
            errors.insert(f("quantity"), json!("must be an integer"));
            continue;
        };
        let vid = int(st.variant(pos), "id").unwrap_or(0);
        let current = stock_at(st, vid, loc);
        let target = if absolute { q } else { current.on_hand + q };
        if absolute && !(0..=MAX_LEVEL).contains(&q) {
            errors.insert(f("quantity"), json!("must be between 0 and 2147483647"));
            continue;
        }
        if !absolute && !current.initialised {
            errors.insert(
                f("quantity"),
                json!("requires absolute adjustment before relative"),
            );
            continue;
        }
        if !absolute && target < current.safety_stock {
            errors.insert(f("quantity"), json!("would take stock below safety stock"));
            continue;
        }
        if !seen.insert((vid, loc)) {
            errors.insert(
                f("variant_id"),
                json!("the same item and location appear twice"),
            );
            continue;
        }
        plan.push((pos, loc, target));
    }
    if !errors.is_empty() {
        return Resp::v3_error(422, "Input is invalid", Value::Object(errors));
    }
    let method = if absolute { "absolute" } else { "relative" };
    for (pos, loc, target) in plan {
        set_stock(st, pos, loc, target, method, false, now);
    }
    st.next_inventory_transaction += 1;
    let n = st.next_inventory_transaction;
    Resp::ok(json!({"transaction_id": format!("{:08x}-0000-4000-8000-{:012x}", n, n)}))
}

/// Every stock record (scripting).
pub(crate) fn inventory_levels(st: &State) -> Vec<InventoryLevel> {
    st.stock
        .iter()
        .filter_map(|((vid, loc), s)| {
            let v = st.variant(st.variant_pos(*vid)?);
            Some(InventoryLevel {
                product_id: int(v, "product_id").unwrap_or(0),
                variant_id: *vid,
                sku: text(v, "sku").to_string(),
                location_id: *loc,
                on_hand: s.on_hand,
                safety_stock: s.safety_stock,
            })
        })
        .collect()
}

/// Stock settings the sandbox store runs with (`GET /v3/settings/inventory` [doc] §8):
/// stock moves when an order is placed; cancel and refund restock (default values
/// [unconfirmed]).
pub(crate) fn inventory_settings() -> Resp {
    Resp::ok(json!({"data": {
        "update_stock_behavior": "order_placed",
        "edit_order_stock_adjustment": true,
        "refund_order_stock_adjustment": true,
    }, "meta": {}}))
}

/// A placed order takes its lines' quantities off the default location (`update_stock_behavior
/// = order_placed` [doc]) for tracked products, firing `store/sku/inventory/order/updated` (or
/// the product form) with `method: "relative"` and the negative change as `value` [doc].
/// Lines are matched by `variant_id`, else by `sku`; stock does not go below 0 [unconfirmed].
pub(crate) fn order_placed(st: &mut State, lines: &[Value], now: DateTime<Utc>) {
    let location = st.default_location_id();
    for line in lines {
        let sku = text(line, "sku");
        let pos = int(line, "variant_id")
            .and_then(|v| st.variant_pos(v))
            .or_else(|| {
                if sku.is_empty() {
                    None
                } else {
                    st.variant_pos_by_sku(sku)
                }
            });
        let (Some(pos), Some(q)) = (pos, int(line, "quantity")) else {
            continue;
        };
        if q <= 0 || text(&st.products[pos.0], "inventory_tracking") == "none" {
            continue;
        }
        let vid = int(st.variant(pos), "id").unwrap_or(0);
        let current = stock_at(st, vid, location).on_hand;
        set_stock(
            st,
            pos,
            location,
            (current - q).max(0),
            "relative",
            true,
            now,
        );
    }
}
