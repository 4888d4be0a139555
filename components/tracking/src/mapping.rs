//! The business rules: a shipped Brightpearl goods-out note becomes BigCommerce shipments
//! (one per order address its rows ship to). Plain functions and the API shapes they read
//! and write, no I/O.
//!
//! - [`bigcommerce_order_id`]: which BigCommerce order a Brightpearl sales order is, from
//!   what the orders flow writes on it (`externalRef` = the BigCommerce order id, `ref` =
//!   `ref_prefix` + id);
//! - [`map_note`]: every row of the note → an order product (through the sales order row's
//!   `externalRef`, which the orders flow sets to the order product id; the SKU as
//!   fallback) with its quantity, grouped by `order_address_id`, with the tracking number and
//!   the carrier of the note's shipping method;
//! - [`same_shipment`] / [`same_items`]: how an existing BigCommerce shipment is recognised
//!   after a lost response (address, tracking number and items).
//!
//! Every problem of a note is found in one pass; the caller holds the note with them.

use std::collections::BTreeMap;

use pearlbridge_sdk::bigcommerce::{Order, OrderProduct};
use pearlbridge_sdk::types::Team;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::TrackingConfig;

/// Exception kinds raised by this flow (each has a runbook entry).
pub mod kinds {
    /// A shipped note has no tracking number and the client holds such notes.
    pub const MISSING_TRACKING: &str = "missing-tracking";
    /// The note's Brightpearl shipping method has no BigCommerce carrier in
    /// `shipping_methods`.
    pub const UNMAPPED_SHIPPING_PROVIDER: &str = "unmapped-shipping-provider";
    /// A note row's sales order row matches no BigCommerce order product (or several).
    pub const UNMATCHED_NOTE_ROW: &str = "unmatched-note-row";
    /// A note value BigCommerce cannot take (quantity not a whole number or more than was
    /// ordered, tracking number over 50 characters).
    pub const INVALID_NOTE_DATA: &str = "invalid-note-data";
    /// The sales order names a BigCommerce order that BigCommerce does not know.
    pub const SHIPMENT_ORDER_MISSING: &str = "shipment-order-missing";
    /// Brightpearl shipped a note of an order that is cancelled, declined or refunded in
    /// BigCommerce: no shipment is posted.
    pub const SHIPPED_CANCELLED_ORDER: &str = "shipped-cancelled-order";
    /// BigCommerce refused the shipment (4xx).
    pub const SHIPMENT_REJECTED: &str = "shipment-rejected";
    /// Reconciliation: a note shipped in the window has no BigCommerce shipment.
    pub const SHIPMENT_MISSING: &str = "shipment-missing";
    /// Reconciliation: a BigCommerce order marked (partially) shipped has no shipped
    /// goods-out note in Brightpearl.
    pub const SHIPPED_WITHOUT_NOTE: &str = "shipped-without-note";
    /// The shipment could not be posted for several runs (5xx, throttling, transport).
    pub const SHIPMENT_POST_FAILED: &str = "shipment-post-failed";
    /// A cancellation cannot be mirrored: the BigCommerce order was cancelled (or refunded in
    /// full) but its sales order has goods-out notes, or the sales order was cancelled in
    /// Brightpearl but the BigCommerce order is already shipped.
    pub const CANCELLATION_BLOCKED: &str = "cancellation-blocked";
    /// Brightpearl refused to cancel the sales order (4xx: invoiced, has payments, ...).
    pub const CANCELLATION_REJECTED: &str = "cancellation-rejected";
    /// BigCommerce refused the order status write (4xx).
    pub const STATUS_REJECTED: &str = "status-rejected";
    /// An order status could not be written for several runs (5xx, throttling, transport).
    pub const STATUS_WRITE_FAILED: &str = "status-write-failed";
}

/// The entity reference of a Brightpearl goods-out note: `brightpearl:note:<id>`.
pub fn note_entity(id: u64) -> String {
    format!("brightpearl:note:{id}")
}

/// An integer given as a JSON number or a string (`5` or `"5"`); `null`/`""`/absent → 0.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::de::Error;
    let v = serde_json::Value::deserialize(d)?;
    match &v {
        serde_json::Value::Null => Ok(0),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(0),
        serde_json::Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| D::Error::custom(format!("not an id: {v}"))),
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("not an id: {v}"))),
        _ => Err(D::Error::custom(format!("not an id: {v}"))),
    }
}

/// A text that may be `null` (→ `""`) or a number (→ its text).
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// `status` of a goods-out note (brightpearl-api.md §9 [obs]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NoteStatus {
    pub shipped: bool,
    /// ISO 8601 with the account's offset, e.g. `2025-11-04T10:41:38.000-06:00`.
    #[serde(deserialize_with = "lenient_text")]
    pub shipped_on: String,
}

/// `shipping` of a goods-out note: `reference` is the tracking number (≤ 64 chars, may be
/// `""`, sometimes several comma-joined) [doc]/[obs].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NoteShipping {
    #[serde(deserialize_with = "lenient_text")]
    pub reference: String,
    #[serde(deserialize_with = "lenient_u64")]
    pub shipping_method_id: u64,
}

/// One product line of a note row.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NoteRow {
    #[serde(deserialize_with = "lenient_u64")]
    pub product_id: u64,
    /// Units on the note (a whole number; a number or a numeric string).
    pub quantity: serde_json::Value,
}

/// A goods-out note as `GET /warehouse-service/order/{orderIdSet|*}/goods-note/goods-out/{idSet}`
/// returns it (the `response` is a map note id → note, brightpearl-api.md §9 [doc]/[obs]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GoodsOutNote {
    /// The sales order id (0 for a transfer).
    #[serde(deserialize_with = "lenient_u64")]
    pub order_id: u64,
    #[serde(deserialize_with = "lenient_u64")]
    pub warehouse_id: u64,
    pub transfer: bool,
    pub status: NoteStatus,
    pub shipping: NoteShipping,
    /// Sales order row id → the product lines shipped from it.
    pub order_rows: BTreeMap<String, Vec<NoteRow>>,
}

/// `quantity` of a sales order row.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RowQuantity {
    /// A decimal string, e.g. `"3.0000"`.
    pub magnitude: serde_json::Value,
}

/// `composition` of a sales order row.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RowComposition {
    pub bundle_parent: bool,
    pub bundle_child: bool,
    #[serde(deserialize_with = "lenient_u64")]
    pub parent_order_row_id: u64,
}

/// One row of a Brightpearl order as `GET /order-service/order/{id}` returns it (§4.3 [doc]);
/// only what this flow reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderRowView {
    #[serde(deserialize_with = "lenient_u64")]
    pub product_id: u64,
    #[serde(deserialize_with = "lenient_text")]
    pub product_sku: String,
    /// Units ordered (`{"magnitude": "3.0000"}`).
    pub quantity: RowQuantity,
    /// The orders flow writes the BigCommerce order product id here.
    #[serde(deserialize_with = "lenient_text")]
    pub external_ref: String,
    pub composition: RowComposition,
}

/// `assignment.current` of a Brightpearl order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Assignment {
    #[serde(deserialize_with = "lenient_u64")]
    pub channel_id: u64,
}

/// `assignment` of a Brightpearl order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Assignments {
    pub current: Assignment,
}

/// `orderStatus` of a Brightpearl order (§4.3 [doc]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderStatusView {
    #[serde(deserialize_with = "lenient_u64")]
    pub order_status_id: u64,
    #[serde(deserialize_with = "lenient_text")]
    pub name: String,
}

/// A Brightpearl sales order as `GET /order-service/order/{idSet}` returns it (§4.3
/// [doc]); only what this flow reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SalesOrderView {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    #[serde(deserialize_with = "lenient_text")]
    pub order_type_code: String,
    #[serde(deserialize_with = "lenient_text")]
    pub reference: String,
    #[serde(deserialize_with = "lenient_text")]
    pub external_ref: String,
    pub assignment: Assignments,
    /// The order's status (`orderStatus.orderStatusId`, an account's own id).
    pub order_status: OrderStatusView,
    /// Row id → row.
    pub order_rows: BTreeMap<String, OrderRowView>,
}

/// One line of a BigCommerce shipment: an order product and how many of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShipmentItem {
    pub order_product_id: u64,
    pub quantity: u64,
}

/// A `POST /v2/orders/{id}/shipments` body (bigcommerce-api.md §6 [doc]): one order address,
/// its items, the tracking number (left out when there is none) and the carrier fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewShipment {
    pub order_address_id: u64,
    /// ≤ 50 characters; not sent when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tracking_number: String,
    /// `""`, a documented provider or `carrier_<id>`.
    pub shipping_provider: String,
    /// An AfterShip courier slug; not sent when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tracking_carrier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    /// The other tracking numbers when the note has several; not sent when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comments: String,
    /// Sorted by order product id.
    pub items: Vec<ShipmentItem>,
}

/// A BigCommerce shipment as `GET/POST /v2/orders/{id}/shipments` returns it (§6 [doc]);
/// only what this flow reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Shipment {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    #[serde(deserialize_with = "lenient_u64")]
    pub order_id: u64,
    #[serde(deserialize_with = "lenient_u64")]
    pub order_address_id: u64,
    #[serde(deserialize_with = "lenient_text")]
    pub tracking_number: String,
    #[serde(deserialize_with = "lenient_text")]
    pub shipping_provider: String,
    pub items: Vec<ShipmentItem>,
}

/// One reason a note cannot become shipments.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteProblem {
    pub kind: &'static str,
    pub owner: Team,
    /// Names the note and the row, field or value.
    pub message: String,
}

/// A mapped note, ready to post.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedNote {
    /// One shipment per order address, by `order_address_id`.
    pub shipments: Vec<NewShipment>,
    /// True when the note has no tracking number (the shipments carry none).
    pub tracking_missing: bool,
}

/// The BigCommerce order a Brightpearl sales order was posted for, as the orders flow writes
/// it: `externalRef` = the BigCommerce order id, else `ref` = `ref_prefix` + the id (when
/// the orders flow used a purchase-order number as `ref`, only `externalRef` tells). `None`
/// when it is not a sales order (`orderTypeCode` other than `SO`), it is of a channel not in
/// `channel_ids`, or neither field names an order.
pub fn bigcommerce_order_id(so: &SalesOrderView, cfg: &TrackingConfig) -> Option<u64> {
    if !so.order_type_code.is_empty() && so.order_type_code != "SO" {
        return None;
    }
    if !cfg.channel_ids.is_empty() && !cfg.channel_ids.contains(&so.assignment.current.channel_id) {
        return None;
    }
    let numeric = |s: &str| s.trim().parse::<u64>().ok().filter(|id| *id > 0);
    numeric(&so.external_ref).or_else(|| {
        if cfg.ref_prefix.is_empty() {
            return None;
        }
        so.reference
            .trim()
            .strip_prefix(cfg.ref_prefix.as_str())
            .and_then(numeric)
    })
}

/// The tracking numbers in a note's `shipping.reference`: split at `,` and `;`, trimmed,
/// empty parts dropped (e.g. `"1Z999, 1Z998"` → `["1Z999", "1Z998"]`).
pub fn tracking_numbers(reference: &str) -> Vec<String> {
    reference
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A note quantity as a whole number of units (`2`, `"2"`, `"2.0000"`); `None` for anything
/// else (fractions, negatives, text).
pub fn whole_quantity(v: &serde_json::Value) -> Option<u64> {
    let d: Decimal = match v {
        serde_json::Value::Number(n) => n.to_string().parse().ok()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    if d.is_sign_negative() || !d.fract().is_zero() {
        return None;
    }
    d.trunc().to_string().parse().ok()
}

/// BigCommerce status ids of an order that must not get a shipment: Refunded (4),
/// Cancelled (5), Declined (6) (bigcommerce-api.md §4; by id, never by label).
pub const CLOSED_STATUSES: &[u32] = &[4, 5, 6];

/// The money at stake for an order: its `total_inc_tax` in its transactional currency
/// (`default_currency_code`, else `currency_code`), bigcommerce-api.md §5.
pub fn order_value(order: &Order) -> (Decimal, String) {
    let currency = if order.default_currency_code.trim().is_empty() {
        order.currency_code.clone()
    } else {
        order.default_currency_code.clone()
    };
    (order.total_inc_tax, currency)
}

/// Map one shipped note of BigCommerce order `order_id` (`products` = its
/// `GET /v2/orders/{id}/products`) to one shipment per order address. `Err` lists every
/// problem (kinds [`kinds::UNMATCHED_NOTE_ROW`], [`kinds::INVALID_NOTE_DATA`],
/// [`kinds::UNMAPPED_SHIPPING_PROVIDER`]), messages of the same kind joined.
///
/// Rules:
/// - a bundle component row (`composition.bundleChild`, added by Brightpearl under the
///   bundle row the orders flow posted) ships as its bundle row: as many bundles as every
///   component's units on the note make whole, else `invalid-note-data`;
/// - a note row's sales order row (`orderRows` key of the note) gives the order product:
///   its `externalRef` when it is the id of one of the order's products, else the one order
///   product with the row's `productSku` (bundle children excluded); none or several is an
///   `unmatched-note-row`;
/// - quantities are whole units, summed per order product over the note's rows, at most the
///   ordered quantity (a partial line ships what the note holds; the rest comes with a later
///   note);
/// - one shipment per `order_address_id`, items sorted by order product id;
/// - the tracking number is the first of [`tracking_numbers`] (≤ 50 chars); the others go
///   into `comments` (`"Tracking numbers: A, B"`); none → `tracking_missing`;
/// - the carrier fields come from `shipping_methods` by the note's `shippingMethodId`.
pub fn map_note(
    note_id: u64,
    note: &GoodsOutNote,
    so: &SalesOrderView,
    order_id: u64,
    products: &[OrderProduct],
    cfg: &TrackingConfig,
) -> Result<MappedNote, Vec<NoteProblem>> {
    let entity = note_entity(note_id);
    let mut problems: Vec<NoteProblem> = vec![];
    let mut add = |kind: &'static str, owner: Team, message: String| {
        if let Some(p) = problems.iter_mut().find(|p| p.kind == kind) {
            p.message.push_str("; ");
            p.message.push_str(&message);
        } else {
            problems.push(NoteProblem {
                kind,
                owner,
                message: format!("{entity} (sales order {}): {message}", note.order_id),
            });
        }
    };
    let shippable: Vec<&OrderProduct> = products
        .iter()
        .filter(|p| !p.is_bundled_product && p.parent_order_product_id.is_none())
        .collect();
    // Units on the note per sales order row.
    let mut units: BTreeMap<&str, u64> = BTreeMap::new();
    for (row_id, lines) in &note.order_rows {
        if !so.order_rows.contains_key(row_id) {
            add(
                kinds::UNMATCHED_NOTE_ROW,
                Team::Integration,
                format!("row {row_id} is not a row of the sales order"),
            );
            continue;
        }
        for line in lines {
            match whole_quantity(&line.quantity) {
                Some(0) | None => add(
                    kinds::INVALID_NOTE_DATA,
                    Team::Operations,
                    format!(
                        "row {row_id}: field `quantity` is {} (a positive whole number is expected)",
                        line.quantity
                    ),
                ),
                Some(q) => *units.entry(row_id.as_str()).or_default() += q,
            }
        }
    }
    // Bundle components (rows Brightpearl added under a bundle row) ship as their bundle's
    // order product: as many bundles as every component's units make whole.
    let mut shipped_rows: BTreeMap<&str, u64> = BTreeMap::new();
    let mut bundles: BTreeMap<String, Vec<(&str, u64)>> = BTreeMap::new();
    for (row_id, q) in &units {
        let row = &so.order_rows[*row_id];
        if row.composition.bundle_child && row.composition.parent_order_row_id > 0 {
            bundles
                .entry(row.composition.parent_order_row_id.to_string())
                .or_default()
                .push((row_id, *q));
        } else {
            *shipped_rows.entry(row_id).or_default() += q;
        }
    }
    for (parent_id, shipped) in &bundles {
        let Some((parent_key, parent)) = so.order_rows.get_key_value(parent_id) else {
            add(
                kinds::UNMATCHED_NOTE_ROW,
                Team::Integration,
                format!(
                    "bundle row {parent_id} (the parent of rows {}) is not a row of the sales order",
                    shipped
                        .iter()
                        .map(|(r, _)| r.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        let parent_qty = whole_quantity(&parent.quantity.magnitude).unwrap_or(0);
        let mut made: Vec<Option<u64>> = vec![];
        for (child_id, child) in so.order_rows.iter().filter(|(_, r)| {
            r.composition.bundle_child
                && r.composition.parent_order_row_id.to_string() == *parent_id
        }) {
            let per_bundle = whole_quantity(&child.quantity.magnitude)
                .filter(|q| parent_qty > 0 && *q > 0 && q % parent_qty == 0)
                .map(|q| q / parent_qty);
            let on_note = shipped
                .iter()
                .find(|(r, _)| *r == child_id.as_str())
                .map_or(0, |(_, q)| *q);
            made.push(
                per_bundle
                    .filter(|per| on_note % per == 0)
                    .map(|per| on_note / per),
            );
        }
        match made.first() {
            Some(Some(n)) if *n > 0 && made.iter().all(|m| *m == Some(*n)) => {
                *shipped_rows.entry(parent_key.as_str()).or_default() += n;
            }
            _ => add(
                kinds::INVALID_NOTE_DATA,
                Team::Operations,
                format!(
                    "the components of bundle row {parent_id} on the note ({}) do not make whole bundles: BigCommerce ships a bundle only as a whole",
                    shipped
                        .iter()
                        .map(|(r, q)| format!("row {r} × {q}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    let mut quantities: BTreeMap<u64, u64> = BTreeMap::new();
    for (row_id, q) in shipped_rows {
        let row = &so.order_rows[row_id];
        let by_ref = row
            .external_ref
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|id| shippable.iter().find(|p| p.id == id));
        let product = match by_ref {
            Some(p) => *p,
            None => {
                let sku = row.product_sku.trim();
                let same: Vec<&&OrderProduct> = shippable
                    .iter()
                    .filter(|p| !sku.is_empty() && p.sku.trim() == sku)
                    .collect();
                match same.as_slice() {
                    [one] => **one,
                    [] => {
                        add(
                            kinds::UNMATCHED_NOTE_ROW,
                            Team::Integration,
                            format!(
                                "row {row_id} (SKU `{sku}`, externalRef {:?}) matches no product of BigCommerce order {order_id}",
                                row.external_ref
                            ),
                        );
                        continue;
                    }
                    many => {
                        add(
                            kinds::UNMATCHED_NOTE_ROW,
                            Team::Integration,
                            format!(
                                "row {row_id} (SKU `{sku}`, externalRef {:?}) matches order products {} of BigCommerce order {order_id}: set the row's externalRef to the order product id",
                                row.external_ref,
                                many.iter()
                                    .map(|p| p.id.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        continue;
                    }
                }
            }
        };
        *quantities.entry(product.id).or_default() += q;
    }
    if note.order_rows.is_empty() {
        add(
            kinds::INVALID_NOTE_DATA,
            Team::Operations,
            "field `orderRows` is empty: nothing to ship".into(),
        );
    }
    for (opid, q) in &quantities {
        if let Some(p) = shippable.iter().find(|p| p.id == *opid)
            && *q > p.quantity
        {
            add(
                kinds::INVALID_NOTE_DATA,
                Team::Operations,
                format!(
                    "{q} units of order product {opid} (SKU `{}`) on the note, but {} were ordered",
                    p.sku, p.quantity
                ),
            );
        }
    }
    let numbers = tracking_numbers(&note.shipping.reference);
    let tracking = numbers.first().cloned().unwrap_or_default();
    if tracking.chars().count() > 50 {
        add(
            kinds::INVALID_NOTE_DATA,
            Team::Operations,
            format!(
                "field `shipping.reference` {tracking:?} is longer than BigCommerce's 50 characters for a tracking number"
            ),
        );
    }
    let comments = if numbers.len() > 1 {
        format!("Tracking numbers: {}", numbers.join(", "))
    } else {
        String::new()
    };
    let method = note.shipping.shipping_method_id;
    let provider = cfg.provider(method);
    if provider.is_none() {
        add(
            kinds::UNMAPPED_SHIPPING_PROVIDER,
            Team::Operations,
            format!(
                "Brightpearl shipping method {method} has no entry in shipping_methods (key \"{method}\" or default)"
            ),
        );
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let provider = provider.expect("checked above");
    let mut by_address: BTreeMap<u64, Vec<ShipmentItem>> = BTreeMap::new();
    for (opid, quantity) in quantities {
        let address = shippable
            .iter()
            .find(|p| p.id == opid)
            .map_or(0, |p| p.order_address_id);
        by_address.entry(address).or_default().push(ShipmentItem {
            order_product_id: opid,
            quantity,
        });
    }
    Ok(MappedNote {
        shipments: by_address
            .into_iter()
            .map(|(order_address_id, items)| NewShipment {
                order_address_id,
                tracking_number: tracking.clone(),
                shipping_provider: provider.shipping_provider.clone(),
                tracking_carrier: provider.tracking_carrier.clone(),
                shipping_method: provider.shipping_method.clone(),
                comments: comments.clone(),
                items,
            })
            .collect(),
        tracking_missing: tracking.is_empty(),
    })
}

/// The items of a shipment merged per order product and sorted.
fn merged(items: &[ShipmentItem]) -> Vec<ShipmentItem> {
    let mut m: BTreeMap<u64, u64> = BTreeMap::new();
    for i in items {
        *m.entry(i.order_product_id).or_default() += i.quantity;
    }
    m.into_iter()
        .map(|(order_product_id, quantity)| ShipmentItem {
            order_product_id,
            quantity,
        })
        .collect()
}

/// True when `existing` ships exactly the items of `wanted` to the same order address
/// (whatever its tracking number): e.g. a shipment created by hand for a held note.
pub fn same_items(existing: &Shipment, wanted: &NewShipment) -> bool {
    existing.order_address_id == wanted.order_address_id
        && merged(&existing.items) == merged(&wanted.items)
}

/// True when `existing` is the shipment `wanted` would create: same order address, same
/// tracking number (both empty counts) and the same items.
pub fn same_shipment(existing: &Shipment, wanted: &NewShipment) -> bool {
    same_items(existing, wanted) && existing.tracking_number.trim() == wanted.tracking_number
}
