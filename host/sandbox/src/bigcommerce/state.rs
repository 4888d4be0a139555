//! The simulated store's data, loaded from a [`BigCommerceSeed`] and changed by the endpoints.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::json::{int, text};
use super::ratelimit::RateWindow;
use crate::seed::{BigCommerceOrderBundle, BigCommerceSeed};

/// One order and its sub-resources, each stored as the API returns it.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderRec {
    pub order: Value,
    pub products: Vec<Value>,
    pub shipping_addresses: Vec<Value>,
    pub coupons: Vec<Value>,
    pub taxes: Vec<Value>,
    pub transactions: Vec<Value>,
    pub shipments: Vec<Value>,
}

/// Stock of one variant at one inventory location (Inventory v3 model, §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stock {
    pub on_hand: i64,
    pub safety_stock: i64,
    pub warning_level: i64,
    pub bin_picking_number: String,
    /// False until an absolute adjustment set it; relative adjustments need it [doc]
    /// (bigcommerce/dev-docs #2126). Seeded stock counts as set.
    pub initialised: bool,
}

/// A webhook event waiting to be delivered: scope and the payload `data` member (§10).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub scope: String,
    pub data: Value,
}

/// Everything the simulator knows. Guarded by one mutex; endpoint functions are plain
/// functions over `&mut State`.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub orders: BTreeMap<i64, OrderRec>,
    pub customers: Vec<Value>,
    pub customer_groups: Vec<Value>,
    /// Catalog products, each with its full `variants` array.
    pub products: Vec<Value>,
    pub locations: Vec<Value>,
    /// `(variant_id, location_id)` → stock.
    pub stock: BTreeMap<(i64, i64), Stock>,
    pub price_lists: Vec<Value>,
    pub price_list_records: Vec<Value>,
    pub assignments: Vec<Value>,
    pub refunds: Vec<Value>,
    pub hooks: Vec<Value>,
    /// `PUT /v3/hooks/admin` emails.
    pub hook_admin_emails: Vec<String>,
    /// `(order_id, shipment_id)` for every shipment whose customer email went out.
    pub shipment_emails: Vec<(i64, i64)>,
    /// Events produced by the current request, drained after it.
    pub events: Vec<Event>,
    pub rate: RateWindow,
    pub next_order_id: i64,
    pub next_order_product_id: i64,
    pub next_order_address_id: i64,
    pub next_shipment_id: i64,
    pub next_refund_id: i64,
    pub next_refund_payment_id: i64,
    pub next_transaction_id: i64,
    pub next_hook_id: i64,
    pub next_assignment_id: i64,
    pub next_inventory_transaction: u64,
}

fn max_id(items: &[Value]) -> i64 {
    items.iter().filter_map(|v| int(v, "id")).max().unwrap_or(0)
}

impl State {
    /// Loads the seed. Stock starts from each variant's `inventory_level` at the default location.
    pub fn from_seed(seed: BigCommerceSeed) -> State {
        let mut st = State {
            customers: seed.customers,
            customer_groups: seed.customer_groups,
            products: seed.products,
            locations: seed.locations,
            price_lists: seed.price_lists,
            price_list_records: seed.price_list_records,
            assignments: seed.price_list_assignments,
            refunds: seed.refunds,
            ..State::default()
        };
        st.next_refund_id = max_id(&st.refunds) + 1;
        st.next_refund_payment_id = st
            .refunds
            .iter()
            .flat_map(|r| {
                r.get("payments")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| int(&p, "id"))
            .max()
            .unwrap_or(0)
            + 1;
        st.next_assignment_id = max_id(&st.assignments) + 1;
        st.next_hook_id = 1;
        st.next_order_id = 100;
        st.next_order_product_id = 1;
        st.next_order_address_id = 1;
        st.next_shipment_id = 1;
        st.next_transaction_id = 1;
        let default_location = st.default_location_id();
        for p in &st.products {
            for v in p
                .get("variants")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(vid) = int(v, "id") {
                    let level = int(v, "inventory_level").unwrap_or(0);
                    let warning = int(v, "inventory_warning_level").unwrap_or(0);
                    st.stock.insert(
                        (vid, default_location),
                        Stock {
                            on_hand: level,
                            safety_stock: 0,
                            warning_level: warning,
                            bin_picking_number: text(v, "bin_picking_number").to_string(),
                            initialised: true,
                        },
                    );
                }
            }
        }
        for bundle in seed.orders {
            st.insert_bundle(bundle, None);
        }
        st
    }

    /// Adds an order bundle. With `now`, an id of 0/absent is assigned and `date_created` /
    /// `date_modified` are set (scripted orders); without it (seed) the JSON is kept as it is,
    /// ids included. Returns the order id.
    pub fn insert_bundle(&mut self, b: BigCommerceOrderBundle, now: Option<DateTime<Utc>>) -> i64 {
        let mut order = b.order;
        if !order.is_object() {
            order = json!({});
        }
        let id = match int(&order, "id").filter(|i| *i > 0) {
            Some(i) => i,
            None => {
                let i = self.next_order_id;
                order["id"] = json!(i);
                i
            }
        };
        self.next_order_id = self.next_order_id.max(id + 1);
        if let Some(now) = now {
            let d = Value::String(super::json::rfc2822(now));
            order["date_created"] = d.clone();
            order["date_modified"] = d;
        }
        let mut rec = OrderRec {
            order,
            products: b.products,
            shipping_addresses: b.shipping_addresses,
            coupons: b.coupons,
            taxes: b.taxes,
            transactions: b.transactions,
            shipments: Vec::new(),
        };
        if now.is_some() {
            for a in rec.shipping_addresses.iter_mut() {
                if int(a, "id").unwrap_or(0) <= 0 {
                    a["id"] = json!(self.next_order_address_id);
                    self.next_order_address_id += 1;
                }
                a["order_id"] = json!(id);
            }
            let first_address = rec.shipping_addresses.first().and_then(|a| int(a, "id"));
            for p in rec.products.iter_mut() {
                if int(p, "id").unwrap_or(0) <= 0 {
                    p["id"] = json!(self.next_order_product_id);
                    self.next_order_product_id += 1;
                }
                p["order_id"] = json!(id);
                if p.get("order_address_id").is_none()
                    && let Some(a) = first_address
                {
                    p["order_address_id"] = json!(a);
                }
            }
            for c in rec.coupons.iter_mut().chain(rec.taxes.iter_mut()) {
                c["order_id"] = json!(id);
            }
        }
        self.next_order_product_id = self.next_order_product_id.max(max_id(&rec.products) + 1);
        self.next_order_address_id = self
            .next_order_address_id
            .max(max_id(&rec.shipping_addresses) + 1);
        self.next_transaction_id = self.next_transaction_id.max(max_id(&rec.transactions) + 1);
        if let Some(c) = b.customer
            && let Some(cid) = int(&c, "id")
            && !self.customers.iter().any(|x| int(x, "id") == Some(cid))
        {
            self.customers.push(c);
        }
        self.orders.insert(id, rec);
        id
    }

    /// The default inventory location: the one with `is_default: true`, else id 1 when it
    /// exists, else the first; 1 when there are none ("normally id 1" [doc] §8).
    pub fn default_location_id(&self) -> i64 {
        if let Some(l) = self
            .locations
            .iter()
            .find(|l| l.get("is_default") == Some(&Value::Bool(true)))
        {
            return int(l, "id").unwrap_or(1);
        }
        if self.locations.iter().any(|l| int(l, "id") == Some(1)) {
            return 1;
        }
        self.locations
            .first()
            .and_then(|l| int(l, "id"))
            .unwrap_or(1)
    }

    /// `(product index, variant index)` of variant `id`.
    pub fn variant_pos(&self, id: i64) -> Option<(usize, usize)> {
        self.products.iter().enumerate().find_map(|(pi, p)| {
            p.get("variants")?
                .as_array()?
                .iter()
                .position(|v| int(v, "id") == Some(id))
                .map(|vi| (pi, vi))
        })
    }

    /// `(product index, variant index)` of the variant whose `sku` is `sku`.
    pub fn variant_pos_by_sku(&self, sku: &str) -> Option<(usize, usize)> {
        self.products.iter().enumerate().find_map(|(pi, p)| {
            p.get("variants")?
                .as_array()?
                .iter()
                .position(|v| text(v, "sku") == sku)
                .map(|vi| (pi, vi))
        })
    }

    /// The variant at a position.
    pub fn variant(&self, pos: (usize, usize)) -> &Value {
        &self.products[pos.0]["variants"][pos.1]
    }

    /// The variant at a position, mutably.
    pub fn variant_mut(&mut self, pos: (usize, usize)) -> &mut Value {
        &mut self.products[pos.0]["variants"][pos.1]
    }

    /// Queues a webhook event (delivered after the request to every matching hook).
    pub fn emit(&mut self, scope: &str, data: Value) {
        self.events.push(Event {
            scope: scope.to_string(),
            data,
        });
    }
}
