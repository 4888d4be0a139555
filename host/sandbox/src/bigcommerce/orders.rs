//! v2 orders, order sub-resources and shipments (`bigcommerce-api.md` §3, §5, §6).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Ctx;
use super::http::{Paging, Req, Resp, Ver, int_filter};
use super::json::{self, as_dec, int, number, parse_any_date, parse_v2_date, rfc2822, text};
use super::state::{OrderRec, State};

/// Order status labels by id (§4 [doc]).
pub(crate) const STATUSES: [&str; 15] = [
    "Incomplete",
    "Pending",
    "Shipped",
    "Partially Shipped",
    "Refunded",
    "Cancelled",
    "Declined",
    "Awaiting Payment",
    "Awaiting Pickup",
    "Awaiting Shipment",
    "Completed",
    "Awaiting Fulfillment",
    "Manual Verification Required",
    "Disputed",
    "Partially Refunded",
];

/// The order as `GET /v2/orders/{id}` returns it: the stored JSON unchanged, plus the
/// `products` / `shipping_addresses` / `coupons` links `{url, resource}` [doc] when the stored
/// JSON has none.
pub(crate) fn with_links(order: &Value, ctx: &Ctx) -> Value {
    let mut o = order.clone();
    let id = int(order, "id").unwrap_or(0);
    if let Some(map) = o.as_object_mut() {
        for sub in ["products", "shipping_addresses", "coupons"] {
            if !map.contains_key(sub) {
                map.insert(
                    sub.to_string(),
                    json!({
                        "url": format!("https://api.bigcommerce.com/stores/{}/v2/orders/{id}/{sub}", ctx.store_hash),
                        "resource": format!("/orders/{id}/{sub}"),
                    }),
                );
            }
        }
    }
    o
}

/// Most line items `include=consignments.line_items` puts in one consignment [obs]
/// (bigcommerce/docs #960; the real API then adds an undocumented `__warning__`).
pub(crate) const CONSIGNMENT_LINE_ITEMS_MAX: usize = 50;

/// The order with what `include=` asks for [doc]: `consignments` (with
/// `consignment_structure=object`, the `/orders/{id}/consignments` object
/// `{pickups, shipping, downloads, email: {gift_certificates}}`) and `consignments.line_items`
/// (each consignment's `line_items` = its `/orders/{id}/products` rows, at most
/// [`CONSIGNMENT_LINE_ITEMS_MAX`], else `{url, resource}` links). A shipping consignment is
/// the shipping address (same `id` [unconfirmed]) with its money as JSON numbers (spec
/// `shippingConsignment_Get`) and the products whose `order_address_id` is its id; products
/// of no shipping address are the download consignment's. Without `consignment_structure=object`
/// the include is ignored (the legacy array form is not simulated).
fn with_includes(st: &State, ctx: &Ctx, req: &Req, order: &Value) -> Value {
    let mut o = with_links(order, ctx);
    let include: Vec<&str> = req
        .q("include")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .collect();
    let consignments =
        include.contains(&"consignments") || include.contains(&"consignments.line_items");
    if !consignments || req.q("consignment_structure") != Some("object") {
        return o;
    }
    let id = int(order, "id").unwrap_or(0);
    let Some(rec) = st.orders.get(&id) else {
        return o;
    };
    let line_items = include.contains(&"consignments.line_items");
    let items = |mut ps: Vec<&Value>| -> Value {
        if line_items {
            ps.truncate(CONSIGNMENT_LINE_ITEMS_MAX);
            Value::Array(ps.into_iter().cloned().collect())
        } else {
            Value::Array(
                ps.iter()
                    .map(|p| {
                        let pid = int(p, "id").unwrap_or(0);
                        json!({"url": format!("https://api.bigcommerce.com/stores/{}/v2/orders/{id}/products/{pid}", ctx.store_hash),
                               "resource": format!("/orders/{id}/products/{pid}")})
                    })
                    .collect(),
            )
        }
    };
    let as_number = |v: &Value| match v {
        Value::String(s) => serde_json::from_str::<Value>(s.trim()).unwrap_or(v.clone()),
        other => other.clone(),
    };
    let mut address_ids = Vec::new();
    let shipping: Vec<Value> = rec
        .shipping_addresses
        .iter()
        .map(|a| {
            let aid = int(a, "id").unwrap_or(0);
            address_ids.push(aid);
            let mut c = a.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove("order_id");
                for k in [
                    "base_cost",
                    "cost_ex_tax",
                    "cost_inc_tax",
                    "cost_tax",
                    "base_handling_cost",
                    "handling_cost_ex_tax",
                    "handling_cost_inc_tax",
                    "handling_cost_tax",
                ] {
                    if let Some(v) = m.get(k).map(as_number) {
                        m.insert(k.into(), v);
                    }
                }
                m.insert(
                    "line_items".into(),
                    items(
                        rec.products
                            .iter()
                            .filter(|p| int(p, "order_address_id") == Some(aid))
                            .collect(),
                    ),
                );
            }
            c
        })
        .collect();
    let elsewhere: Vec<&Value> = rec
        .products
        .iter()
        .filter(|p| !int(p, "order_address_id").is_some_and(|a| address_ids.contains(&a)))
        .collect();
    let downloads = if elsewhere.is_empty() {
        vec![]
    } else {
        vec![
            json!({"recipient_email": text(&order["billing_address"], "email"), "line_items": items(elsewhere)}),
        ]
    };
    if let Some(m) = o.as_object_mut() {
        m.insert(
            "consignments".into(),
            json!({"pickups": [], "shipping": shipping, "downloads": downloads, "email": {"gift_certificates": []}}),
        );
    }
    o
}

fn bad_field(field: &str) -> Resp {
    // Wording from bigcommerce/api #121 [obs].
    Resp::v2_error(
        400,
        &format!("The field '{field}' is not valid for this resource."),
    )
}

/// `GET /v2/orders` [doc] (§3): filters `min_id`, `max_id`, `customer_id`, `email`, `status_id`,
/// `external_order_id`, `channel_id`, `min/max_date_created`, `min/max_date_modified` (RFC 2822
/// or ISO 8601, URL-encoded [doc]; an un-encoded `+` decodes to a space and gives 400 [obs]);
/// `sort=<field>[:asc|:desc]`; `page`, `limit` (default 50, > 250 → 413). Default order: id
/// ascending [doc]. An empty page is `204` with no body [obs]. Incomplete orders (status 0)
/// are left out unless `status_id=0` is asked for [unconfirmed] (§12.11).
pub(crate) fn list(st: &State, ctx: &Ctx, req: &Req) -> Resp {
    let paging = match Paging::parse(req, Ver::V2, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut ints = BTreeMap::new();
    for key in ["min_id", "max_id", "customer_id", "status_id", "channel_id"] {
        match int_filter(req, Ver::V2, key) {
            Ok(Some(v)) => {
                ints.insert(key, v);
            }
            Ok(None) => {}
            Err(r) => return r,
        }
    }
    let mut dates = BTreeMap::new();
    for key in [
        "min_date_created",
        "max_date_created",
        "min_date_modified",
        "max_date_modified",
    ] {
        if let Some(s) = req.q(key) {
            match parse_v2_date(s) {
                Some(d) => {
                    dates.insert(key, d);
                }
                None => return bad_field(key),
            }
        }
    }
    let (sort_field, desc) = match req.q("sort") {
        None => ("id".to_string(), false),
        Some(s) => {
            let (f, dir) = s.split_once(':').unwrap_or((s, "asc"));
            let ok_field = [
                "id",
                "customer_id",
                "date_created",
                "date_modified",
                "status_id",
                "channel_id",
                "external_id",
            ]
            .contains(&f);
            if !ok_field || !(dir == "asc" || dir == "desc") {
                return bad_field("sort");
            }
            (f.to_string(), dir == "desc")
        }
    };
    let email = req.q("email");
    let external = req.q("external_order_id");
    let mut rows: Vec<&Value> = st
        .orders
        .values()
        .map(|r| &r.order)
        .filter(|o| {
            let id = int(o, "id").unwrap_or(0);
            let status = int(o, "status_id").unwrap_or(-1);
            match ints.get("status_id") {
                Some(s) if *s != status => return false,
                None if status == 0 => return false,
                _ => {}
            }
            if ints.get("min_id").is_some_and(|m| id < *m)
                || ints.get("max_id").is_some_and(|m| id > *m)
            {
                return false;
            }
            if ints
                .get("customer_id")
                .is_some_and(|c| int(o, "customer_id") != Some(*c))
            {
                return false;
            }
            if ints
                .get("channel_id")
                .is_some_and(|c| int(o, "channel_id").unwrap_or(1) != *c)
            {
                return false;
            }
            if email.is_some_and(|e| !text(&o["billing_address"], "email").eq_ignore_ascii_case(e))
            {
                return false;
            }
            if external.is_some_and(|e| text(o, "external_order_id") != e) {
                return false;
            }
            let created = parse_any_date(&o["date_created"]);
            let modified = parse_any_date(&o["date_modified"]);
            for (key, bound) in &dates {
                let v = if key.ends_with("created") {
                    created
                } else {
                    modified
                };
                let Some(v) = v else { return false };
                if (key.starts_with("min") && v < *bound) || (key.starts_with("max") && v > *bound)
                {
                    return false;
                }
            }
            true
        })
        .collect();
    rows.sort_by(|a, b| {
        let ord = compare_by(a, b, &sort_field);
        let ord = if desc { ord.reverse() } else { ord };
        ord.then_with(|| int(a, "id").cmp(&int(b, "id")))
    });
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|o| with_includes(st, ctx, req, o))
        .collect();
    paging.v2_list(&rows)
}

fn compare_by(a: &Value, b: &Value, field: &str) -> Ordering {
    match field {
        "date_created" | "date_modified" => {
            parse_any_date(&a[field]).cmp(&parse_any_date(&b[field]))
        }
        "external_id" => text(a, field).cmp(text(b, field)),
        _ => int(a, field).cmp(&int(b, field)),
    }
}

/// `GET /v2/orders/count` [doc]: `{count, statuses:[{id, name, system_label, custom_label,
/// system_description, count, sort_order}]}` (the description texts are [unconfirmed]).
pub(crate) fn count(st: &State) -> Resp {
    let statuses: Vec<Value> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let n = st
                .orders
                .values()
                .filter(|r| int(&r.order, "status_id") == Some(i as i64))
                .count();
            json!({"id": i, "name": name, "system_label": name, "custom_label": name,
                   "system_description": name, "count": n, "sort_order": i})
        })
        .collect();
    Resp::ok(json!({"count": st.orders.len(), "statuses": statuses}))
}

/// `GET /v2/orders/{id}` [doc]: the stored order JSON unchanged (links added if absent, and
/// the `include=consignments.line_items&consignment_structure=object` consignments); 404
/// `[{"status":404,"message":...}]` when unknown (message [unconfirmed]).
pub(crate) fn get(st: &State, ctx: &Ctx, id: i64, req: &Req) -> Resp {
    match st.orders.get(&id) {
        Some(r) => Resp::ok(with_includes(st, ctx, req, &r.order)),
        None => Resp::not_found(Ver::V2),
    }
}

/// Fields `PUT /v2/orders/{id}` accepts in the sandbox. Writing read-only fields answers 400
/// "cannot be written to" [doc]; other writable fields of the real API are not simulated.
const WRITABLE: [&str; 6] = [
    "status_id",
    "staff_notes",
    "customer_message",
    "external_order_id",
    "payment_method",
    "payment_provider_id",
];
const READ_ONLY: [&str; 12] = [
    "id",
    "status",
    "date_created",
    "date_modified",
    "date_shipped",
    "items_total",
    "items_shipped",
    "coupon_discount",
    "refunded_amount",
    "tax_provider_id",
    "external_id",
    "item_total",
];

/// `PUT /v2/orders/{id}` [doc] with e.g. `{"status_id": 11}`: updates the fields and
/// `date_modified`; fires `store/order/updated` and, on a status change,
/// `store/order/statusUpdated` [doc]. Answers 200 with the order.
pub(crate) fn update(st: &mut State, ctx: &Ctx, id: i64, req: &Req) -> Resp {
    if !st.orders.contains_key(&id) {
        return Resp::not_found(Ver::V2);
    }
    let body = match req.json(Ver::V2) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Resp::v2_error(400, "The request body must be a JSON object."),
        Err(r) => return r,
    };
    for key in body.keys() {
        if READ_ONLY.contains(&key.as_str()) {
            return Resp::v2_error(
                400,
                &format!(
                    "The field '{key}' cannot be written to. Please remove it from your request before trying again."
                ),
            );
        }
        if !WRITABLE.contains(&key.as_str()) {
            return Resp::v2_error(
                400,
                &format!("The field '{key}' is not supported by the sandbox."),
            );
        }
    }
    let new_status = match body.get("status_id") {
        None => None,
        Some(v) => match json::as_int(v).filter(|s| (0..=14).contains(s)) {
            Some(s) => Some(s),
            None => return bad_field("status_id"),
        },
    };
    let rec = st.orders.get_mut(&id).expect("checked");
    for (k, v) in &body {
        if k != "status_id" {
            rec.order[k.as_str()] = v.clone();
        }
    }
    rec.order["date_modified"] = json!(rfc2822(ctx.now));
    let previous = int(&rec.order, "status_id").unwrap_or(0);
    if let Some(s) = new_status {
        rec.order["status_id"] = json!(s);
        rec.order["status"] = json!(STATUSES[s as usize]);
    }
    st.emit("store/order/updated", json!({"type": "order", "id": id}));
    if let Some(s) = new_status.filter(|s| *s != previous) {
        st.emit(
            "store/order/statusUpdated",
            json!({"type": "order", "id": id, "status": {"previous_status_id": previous, "new_status_id": s}}),
        );
    }
    get(st, ctx, id, req)
}

/// Sets an order's status (scripting and shipments). False if unknown order or status.
pub(crate) fn set_status(st: &mut State, ctx: &Ctx, id: i64, status_id: i64) -> bool {
    if !(0..=14).contains(&status_id) {
        return false;
    }
    let Some(rec) = st.orders.get_mut(&id) else {
        return false;
    };
    let previous = set_status_fields(rec, ctx, status_id);
    st.emit("store/order/updated", json!({"type": "order", "id": id}));
    if previous != status_id {
        st.emit(
            "store/order/statusUpdated",
            json!({"type": "order", "id": id, "status": {"previous_status_id": previous, "new_status_id": status_id}}),
        );
    }
    true
}

/// Writes `status_id`, `status` and `date_modified`; returns the previous status id.
pub(crate) fn set_status_fields(rec: &mut OrderRec, ctx: &Ctx, status_id: i64) -> i64 {
    let previous = int(&rec.order, "status_id").unwrap_or(0);
    rec.order["status_id"] = json!(status_id);
    rec.order["status"] = json!(STATUSES[status_id as usize]);
    rec.order["date_modified"] = json!(rfc2822(ctx.now));
    previous
}

fn sub_list(st: &State, id: i64, req: &Req, pick: impl Fn(&OrderRec) -> &Vec<Value>) -> Resp {
    let Some(rec) = st.orders.get(&id) else {
        return Resp::not_found(Ver::V2);
    };
    match Paging::parse(req, Ver::V2, 50, 250) {
        Ok(p) => p.v2_list(pick(rec)),
        Err(r) => r,
    }
}

/// `GET /v2/orders/{id}/products` [doc]: default 50 rows, `limit` up to 250, `page`; 204 when
/// the page is empty [obs].
pub(crate) fn products(st: &State, id: i64, req: &Req) -> Resp {
    sub_list(st, id, req, |r| &r.products)
}

/// `GET /v2/orders/{id}/shipping_addresses` [doc]; 204 when empty [obs].
pub(crate) fn shipping_addresses(st: &State, id: i64, req: &Req) -> Resp {
    sub_list(st, id, req, |r| &r.shipping_addresses)
}

/// `GET /v2/orders/{id}/coupons` [doc]; 204 when the order has none [doc]. `discount` is a
/// JSON number (`orderCoupons_Base.discount: number` in the official `orders.v2.oas2.yml`
/// [doc]) whatever form the seed stored it in; `amount` is sent as stored (the spec allows a
/// string or a number).
pub(crate) fn coupons(st: &State, id: i64, req: &Req) -> Resp {
    let Some(rec) = st.orders.get(&id) else {
        return Resp::not_found(Ver::V2);
    };
    let paging = match Paging::parse(req, Ver::V2, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rows: Vec<Value> = rec
        .coupons
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if let Some(m) = c.as_object_mut()
                && let Some(d) = m.get("discount").and_then(as_dec)
            {
                m.insert("discount".into(), number(d));
            }
            c
        })
        .collect();
    paging.v2_list(&rows)
}

/// An `order_product_id` of a tax row as the spec types it: a string (`orderTaxes_Base.
/// order_product_id: string`, null for shipping and gift-wrapping rows, `orders.v2.oas2.yml`
/// [doc]).
fn order_product_id_text(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// `GET /v2/orders/{id}/taxes[?details=true]` [doc]. With `details=true` the rows are as
/// stored (with `order_product_id` as a string, [`order_product_id_text`], and
/// `line_item_type`); without it those two fields are left out [doc]. (The real API may also
/// merge rows without details [unconfirmed].) 204 when none.
pub(crate) fn taxes(st: &State, id: i64, req: &Req) -> Resp {
    let Some(rec) = st.orders.get(&id) else {
        return Resp::not_found(Ver::V2);
    };
    let paging = match Paging::parse(req, Ver::V2, 50, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let details = req.q("details") == Some("true");
    let rows: Vec<Value> = rec
        .taxes
        .iter()
        .map(|t| {
            let mut t = t.clone();
            if let Some(m) = t.as_object_mut() {
                if details {
                    if let Some(v) = m.get("order_product_id").map(order_product_id_text) {
                        m.insert("order_product_id".into(), v);
                    }
                } else {
                    m.remove("order_product_id");
                    m.remove("line_item_type");
                }
            }
            t
        })
        .collect();
    paging.v2_list(&rows)
}

/// `GET /v2/orders/{id}/shipments` [doc]; 204 when none [doc].
pub(crate) fn shipments(st: &State, id: i64, req: &Req) -> Resp {
    sub_list(st, id, req, |r| &r.shipments)
}

/// `GET /v2/orders/{id}/shipments/count` [doc]: `{"count": n}`.
pub(crate) fn shipment_count(st: &State, id: i64) -> Resp {
    match st.orders.get(&id) {
        Some(r) => Resp::ok(json!({"count": r.shipments.len()})),
        None => Resp::not_found(Ver::V2),
    }
}

/// `GET /v2/orders/{id}/shipments/{shipment_id}` [doc].
pub(crate) fn shipment(st: &State, id: i64, sid: i64) -> Resp {
    st.orders
        .get(&id)
        .and_then(|r| r.shipments.iter().find(|s| int(s, "id") == Some(sid)))
        .map_or_else(|| Resp::not_found(Ver::V2), |s| Resp::ok(s.clone()))
}

const PROVIDERS: [(&str, &str); 10] = [
    ("", ""),
    ("auspost", "Australia Post"),
    ("canadapost", "Canada Post"),
    ("endicia", "Endicia"),
    ("usps", "USPS"),
    ("fedex", "FedEx"),
    ("royalmail", "Royal Mail"),
    ("ups", "UPS"),
    ("upsready", "UPS Ready"),
    ("shipperhq", "ShipperHQ"),
];

/// `shipping_provider_display_name` for a documented provider, or `carrier_{id}` as is.
fn provider_display_name(provider: &str) -> Option<String> {
    match PROVIDERS.iter().find(|(k, _)| *k == provider) {
        Some((_, name)) => Some(name.to_string()),
        None if provider.starts_with("carrier_") => Some(provider.to_string()),
        None => None,
    }
}

/// `generated_tracking_link` (§6 [doc]: provider + number or carrier + number make a link, a
/// custom `tracking_link` leaves it empty). The link URLs themselves are [unconfirmed].
fn generated_link(provider: &str, carrier: &str, number: &str, custom: &str) -> String {
    if !custom.is_empty() || number.is_empty() {
        return String::new();
    }
    match provider {
        "ups" | "upsready" => return format!("https://www.ups.com/track?tracknum={number}"),
        "usps" | "endicia" => {
            return format!("https://tools.usps.com/go/TrackConfirmAction?tLabels={number}");
        }
        "fedex" => return format!("https://www.fedex.com/fedextrack/?trknbr={number}"),
        "royalmail" => {
            return format!("https://www.royalmail.com/track-your-item#/tracking-results/{number}");
        }
        "auspost" => return format!("https://auspost.com.au/mypost/track/#/details/{number}"),
        "canadapost" => {
            return format!(
                "https://www.canadapost-postescanada.ca/track-reperez/en#/search?searchFor={number}"
            );
        }
        _ => {}
    }
    if !carrier.is_empty() {
        return format!("https://track.aftership.com/{carrier}/{number}");
    }
    String::new()
}

/// `POST /v2/orders/{id}/shipments` [doc] (§6). Body: `order_address_id` and
/// `items[{order_product_id, quantity}]` (required), `tracking_number` (≤ 50),
/// `shipping_provider` (documented list or `carrier_{id}`), `tracking_carrier`, `tracking_link`
/// (≤ 500), `shipping_method`, `comments`.
///
/// Validation answers 400 `[{"status","message"}]` (messages [unconfirmed]): missing fields,
/// unknown address or order product, a line of another address (§12.5 [obs]), a quantity of
/// 0 or more than is left to ship (`quantity - quantity_shipped`).
///
/// Effects [doc]: `quantity_shipped`, the address and order `items_shipped`, `date_shipped`
/// and `date_modified` move; the status becomes Shipped (2) when every line is fully shipped,
/// else Partially Shipped (3); the customer shipment email is recorded as sent; webhooks
/// `store/shipment/created`, `store/order/updated` (+ `statusUpdated` on a change).
/// Answers 201 with the shipment.
pub(crate) fn create_shipment(st: &mut State, ctx: &Ctx, id: i64, req: &Req) -> Resp {
    if !st.orders.contains_key(&id) {
        return Resp::not_found(Ver::V2);
    }
    let body = match req.json(Ver::V2) {
        Ok(b) if b.is_object() => b,
        Ok(_) => return Resp::v2_error(400, "The request body must be a JSON object."),
        Err(r) => return r,
    };
    let Some(address_id) = int(&body, "order_address_id") else {
        return Resp::v2_error(
            400,
            "The required field 'order_address_id' was not supplied.",
        );
    };
    let items = match body.get("items").and_then(Value::as_array) {
        Some(i) if !i.is_empty() => i.clone(),
        _ => return Resp::v2_error(400, "The required field 'items' was not supplied."),
    };
    let tracking_number = text(&body, "tracking_number").to_string();
    if tracking_number.chars().count() > 50 {
        return Resp::v2_error(
            400,
            "The field 'tracking_number' must be 50 characters or fewer.",
        );
    }
    let tracking_link = text(&body, "tracking_link").to_string();
    if tracking_link.chars().count() > 500 {
        return Resp::v2_error(
            400,
            "The field 'tracking_link' must be 500 characters or fewer.",
        );
    }
    let provider = text(&body, "shipping_provider").to_string();
    let Some(provider_name) = provider_display_name(&provider) else {
        return bad_field("shipping_provider");
    };
    let carrier = text(&body, "tracking_carrier").to_string();

    let rec = st.orders.get(&id).expect("checked");
    let Some(address) = rec
        .shipping_addresses
        .iter()
        .find(|a| int(a, "id") == Some(address_id))
        .cloned()
    else {
        return Resp::v2_error(
            400,
            &format!("The order address {address_id} does not belong to order {id}."),
        );
    };
    // Quantities per order product, summed over repeated lines.
    let mut wanted: BTreeMap<i64, i64> = BTreeMap::new();
    let mut order_of_lines = Vec::new();
    for it in &items {
        let (Some(opid), Some(q)) = (int(it, "order_product_id"), int(it, "quantity")) else {
            return Resp::v2_error(
                400,
                "Each item needs an integer 'order_product_id' and 'quantity'.",
            );
        };
        if q <= 0 {
            return Resp::v2_error(
                400,
                &format!("The quantity for order product {opid} must be greater than 0."),
            );
        }
        if !wanted.contains_key(&opid) {
            order_of_lines.push(opid);
        }
        *wanted.entry(opid).or_default() += q;
    }
    let mut shipped_items = Vec::new();
    for opid in &order_of_lines {
        let q = wanted[opid];
        let Some(p) = rec.products.iter().find(|p| int(p, "id") == Some(*opid)) else {
            return Resp::v2_error(
                400,
                &format!("The order product {opid} does not belong to order {id}."),
            );
        };
        if let Some(a) = int(p, "order_address_id")
            && a != address_id
        {
            return Resp::v2_error(
                400,
                &format!("The order product {opid} does not belong to order address {address_id}."),
            );
        }
        let left = int(p, "quantity").unwrap_or(0) - int(p, "quantity_shipped").unwrap_or(0);
        if q > left {
            return Resp::v2_error(
                400,
                &format!(
                    "The quantity specified for order product {opid} is greater than the quantity left to ship ({left})."
                ),
            );
        }
        shipped_items.push(json!({"order_product_id": opid, "product_id": int(p, "product_id").unwrap_or(0), "quantity": q}));
    }

    let sid = st.next_shipment_id;
    st.next_shipment_id += 1;
    let rec = st.orders.get_mut(&id).expect("checked");
    let total: i64 = wanted.values().sum();
    for p in rec.products.iter_mut() {
        if let Some(q) = int(p, "id").and_then(|opid| wanted.get(&opid)) {
            p["quantity_shipped"] = json!(int(p, "quantity_shipped").unwrap_or(0) + q);
        }
    }
    for a in rec.shipping_addresses.iter_mut() {
        if int(a, "id") == Some(address_id) {
            a["items_shipped"] = json!(int(a, "items_shipped").unwrap_or(0) + total);
        }
    }
    rec.order["items_shipped"] = json!(int(&rec.order, "items_shipped").unwrap_or(0) + total);
    rec.order["date_shipped"] = json!(rfc2822(ctx.now));
    let all_shipped = rec
        .products
        .iter()
        .all(|p| int(p, "quantity_shipped").unwrap_or(0) >= int(p, "quantity").unwrap_or(0));
    let new_status = if all_shipped { 2 } else { 3 };
    let previous = set_status_fields(rec, ctx, new_status);
    let mut shipping_address = serde_json::Map::new();
    for k in [
        "first_name",
        "last_name",
        "company",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip",
        "country",
        "country_iso2",
        "phone",
        "email",
    ] {
        shipping_address.insert(k.to_string(), address.get(k).cloned().unwrap_or(json!("")));
    }
    let shipment = json!({
        "id": sid,
        "order_id": id,
        "customer_id": int(&rec.order, "customer_id").unwrap_or(0),
        "order_address_id": address_id,
        "date_created": rfc2822(ctx.now),
        "tracking_number": tracking_number,
        "merchant_shipping_cost": json::money4(json::dec(&body, "merchant_shipping_cost").unwrap_or_default()),
        "shipping_method": text(&body, "shipping_method"),
        "comments": text(&body, "comments"),
        "shipping_provider": provider,
        "tracking_carrier": carrier,
        "tracking_link": tracking_link,
        "shipping_provider_display_name": provider_name,
        "generated_tracking_link": generated_link(&provider, &carrier, &tracking_number, &tracking_link),
        "billing_address": rec.order.get("billing_address").cloned().unwrap_or(json!({})),
        "shipping_address": Value::Object(shipping_address),
        "items": shipped_items,
    });
    rec.shipments.push(shipment.clone());
    st.shipment_emails.push((id, sid));
    st.emit(
        "store/shipment/created",
        json!({"type": "shipment", "id": sid, "orderId": id}),
    );
    st.emit("store/order/updated", json!({"type": "order", "id": id}));
    if previous != new_status {
        st.emit(
            "store/order/statusUpdated",
            json!({"type": "order", "id": id, "status": {"previous_status_id": previous, "new_status_id": new_status}}),
        );
    }
    Resp::created(shipment)
}

/// Shipment fields `PUT /v2/orders/{id}/shipments/{shipment_id}` may change [doc] (§6).
const SHIPMENT_WRITABLE: [&str; 7] = [
    "tracking_number",
    "shipping_provider",
    "tracking_carrier",
    "tracking_link",
    "shipping_method",
    "comments",
    "order_address_id",
];

/// `PUT /v2/orders/{id}/shipments/{shipment_id}` [doc]: changes tracking, provider, carrier,
/// link, method, comments and `order_address_id`, **not items** (400 [doc]; delete and
/// recreate instead). Recomputes the provider display name and generated link; fires
/// `store/shipment/updated`. 200 with the shipment.
pub(crate) fn update_shipment(st: &mut State, id: i64, sid: i64, req: &Req) -> Resp {
    let Some(rec) = st.orders.get(&id) else {
        return Resp::not_found(Ver::V2);
    };
    let Some(pos) = rec.shipments.iter().position(|s| int(s, "id") == Some(sid)) else {
        return Resp::not_found(Ver::V2);
    };
    let body = match req.json(Ver::V2) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Resp::v2_error(400, "The request body must be a JSON object."),
        Err(r) => return r,
    };
    for key in body.keys() {
        if !SHIPMENT_WRITABLE.contains(&key.as_str()) {
            return Resp::v2_error(
                400,
                &format!(
                    "The field '{key}' cannot be written to. Please remove it from your request before trying again."
                ),
            );
        }
    }
    if let Some(a) = body.get("order_address_id") {
        let ok = json::as_int(a).is_some_and(|a| {
            rec.shipping_addresses
                .iter()
                .any(|x| int(x, "id") == Some(a))
        });
        if !ok {
            return bad_field("order_address_id");
        }
    }
    let mut shipment = rec.shipments[pos].clone();
    for (k, v) in &body {
        shipment[k.as_str()] = v.clone();
    }
    let provider = text(&shipment, "shipping_provider").to_string();
    let Some(provider_name) = provider_display_name(&provider) else {
        return bad_field("shipping_provider");
    };
    if text(&shipment, "tracking_number").chars().count() > 50 {
        return Resp::v2_error(
            400,
            "The field 'tracking_number' must be 50 characters or fewer.",
        );
    }
    shipment["shipping_provider_display_name"] = json!(provider_name);
    shipment["generated_tracking_link"] = json!(generated_link(
        &provider,
        text(&shipment, "tracking_carrier"),
        text(&shipment, "tracking_number"),
        text(&shipment, "tracking_link"),
    ));
    st.orders.get_mut(&id).expect("checked").shipments[pos] = shipment.clone();
    st.emit(
        "store/shipment/updated",
        json!({"type": "shipment", "id": sid, "orderId": id}),
    );
    Resp::ok(shipment)
}

/// `DELETE /v2/orders/{id}/shipments/{shipment_id}` [doc]: 204. The order keeps its shipped
/// status [doc]; the quantities become shippable again so the shipment can be recreated
/// [unconfirmed]. Fires `store/shipment/deleted`.
pub(crate) fn delete_shipment(st: &mut State, ctx: &Ctx, id: i64, sid: i64) -> Resp {
    let Some(rec) = st.orders.get_mut(&id) else {
        return Resp::not_found(Ver::V2);
    };
    let Some(pos) = rec.shipments.iter().position(|s| int(s, "id") == Some(sid)) else {
        return Resp::not_found(Ver::V2);
    };
    let shipment = rec.shipments.remove(pos);
    let address_id = int(&shipment, "order_address_id");
    let mut total = 0;
    for it in shipment["items"].as_array().into_iter().flatten() {
        let (Some(opid), Some(q)) = (int(it, "order_product_id"), int(it, "quantity")) else {
            continue;
        };
        total += q;
        if let Some(p) = rec.products.iter_mut().find(|p| int(p, "id") == Some(opid)) {
            p["quantity_shipped"] = json!((int(p, "quantity_shipped").unwrap_or(0) - q).max(0));
        }
    }
    for a in rec
        .shipping_addresses
        .iter_mut()
        .filter(|a| int(a, "id") == address_id)
    {
        a["items_shipped"] = json!((int(a, "items_shipped").unwrap_or(0) - total).max(0));
    }
    rec.order["items_shipped"] =
        json!((int(&rec.order, "items_shipped").unwrap_or(0) - total).max(0));
    rec.order["date_modified"] = json!(rfc2822(ctx.now));
    st.emit(
        "store/shipment/deleted",
        json!({"type": "shipment", "id": sid, "orderId": id}),
    );
    Resp::no_content()
}

fn status_json(id: usize) -> Value {
    let name = STATUSES[id];
    json!({"id": id, "name": name, "system_label": name, "custom_label": name, "system_description": name, "order": id})
}

/// `GET /v2/order_statuses` [doc] (§4): `[{id, name, system_label, custom_label,
/// system_description, order}]`; the descriptions are the labels here [unconfirmed].
pub(crate) fn statuses() -> Resp {
    Resp::ok(Value::Array((0..STATUSES.len()).map(status_json).collect()))
}

/// `GET /v2/order_statuses/{status_id}` [doc].
pub(crate) fn status(id: i64) -> Resp {
    match usize::try_from(id).ok().filter(|i| *i < STATUSES.len()) {
        Some(i) => Resp::ok(status_json(i)),
        None => Resp::not_found(Ver::V2),
    }
}
