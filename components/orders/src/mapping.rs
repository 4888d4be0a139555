//! The business rules: a BigCommerce order (with its sub-resources) becomes one Brightpearl
//! sales order and its customer payments. Plain functions, no I/O.
//!
//! Every problem of an order is found in one pass ([`map_order`] returns them all); the
//! caller holds the order and raises one exception per problem kind.

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::bigcommerce::{Address, Order, OrderBundle, Transaction};
use pearlbridge_sdk::brightpearl::{
    CustomerPayment, Delivery, OrderCurrency, PaymentType, PostalAddress, SalesOrder,
    SalesOrderCustomer, SalesOrderRow,
};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::money;
use pearlbridge_sdk::types::Team;
use rust_decimal::Decimal;

use crate::config::{DiscountMode, OrdersConfig, PaymentMethodMapping, RoundingMode};

/// Exception kinds raised by this flow (each has a runbook entry).
pub mod kinds {
    pub const UNMAPPED_SKU: &str = "unmapped-sku";
    pub const UNMAPPED_PAYMENT_METHOD: &str = "unmapped-payment-method";
    pub const UNMAPPED_SHIPPING_METHOD: &str = "unmapped-shipping-method";
    pub const UNMAPPED_TAX_CLASS: &str = "unmapped-tax-class";
    pub const UNMAPPED_CUSTOMER_GROUP: &str = "unmapped-customer-group";
    pub const ORDER_TOTAL_VARIANCE: &str = "order-total-variance";
    pub const INVALID_ORDER_DATA: &str = "invalid-order-data";
    pub const PRICE_LIST_MISMATCH: &str = "price-list-mismatch";
    pub const ORDER_REJECTED: &str = "order-rejected";
    pub const ORDER_POST_FAILED: &str = "order-post-failed";
    pub const PAYMENT_REJECTED: &str = "payment-rejected";
    /// Brightpearl refused the order note (4xx); the sales order and payments stand.
    pub const ORDER_NOTE_REJECTED: &str = "order-note-rejected";

    /// The kinds that hold an order when [`super::map_order`] finds them.
    pub const HOLDING: &[&str] = &[
        UNMAPPED_SKU,
        UNMAPPED_PAYMENT_METHOD,
        UNMAPPED_SHIPPING_METHOD,
        UNMAPPED_TAX_CLASS,
        UNMAPPED_CUSTOMER_GROUP,
        ORDER_TOTAL_VARIANCE,
        INVALID_ORDER_DATA,
        ORDER_REJECTED,
    ];
}

/// The entity reference of a BigCommerce order: `bigcommerce:order:<id>`.
pub fn order_entity(id: u64) -> String {
    format!("bigcommerce:order:{id}")
}

/// What [`map_order`] needs from Brightpearl besides the order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookups {
    /// SKU → Brightpearl product id (SKUs without a product are absent).
    pub products: BTreeMap<String, u64>,
    /// Unknown SKU → the indexed SKU it equals but for case or surrounding whitespace, named
    /// in the `unmapped-sku` message ("did you mean `HOOD-051-OLV-M`?").
    pub sku_suggestions: BTreeMap<String, String>,
    /// The Brightpearl contact of the customer (0 while it is not known yet: problems never
    /// depend on it).
    pub contact_id: u64,
}

/// One reason an order cannot be posted. Problems of the same kind are merged into one
/// (exceptions are keyed by kind and entity).
#[derive(Debug, Clone, PartialEq)]
pub struct MappingProblem {
    pub kind: &'static str,
    pub owner: Team,
    /// Names the order and the field or value.
    pub message: String,
    /// Money at stake in the order currency: the order total, or the difference for
    /// `order-total-variance`.
    pub impact: Decimal,
    pub currency: String,
}

/// A mapped order, ready to post.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedOrder {
    /// `POST /order-service/sales-order` body.
    pub sales_order: SalesOrder,
    /// `POST /accounting-service/customer-payment` bodies with `orderId` 0: set the sales
    /// order id before posting ([`MappedOrder::payments_for`]).
    pub payments: Vec<CustomerPayment>,
    /// The charged amount ([`charged_amount`]: `total_inc_tax` rounded to the currency's
    /// precision) = the sum of the rows' net + tax, in the order currency.
    pub total: Decimal,
    /// BigCommerce `total_inc_tax` as sent (up to 4 dp).
    pub total_inc_tax: Decimal,
    /// The rounding row's amount, when one was added.
    pub rounding: Option<Decimal>,
    /// Price list the BigCommerce customer group maps to (B2B), if any.
    pub price_list_id: Option<u64>,
    /// `POST /order-service/order/{id}/note` text for the order's messages ([`order_note`]).
    pub note: Option<String>,
}

impl MappedOrder {
    /// The payments with `orderId` set to the Brightpearl sales order id.
    pub fn payments_for(&self, sales_order_id: u64) -> Vec<CustomerPayment> {
        self.payments
            .iter()
            .cloned()
            .map(|mut p| {
                p.order_id = sales_order_id;
                p
            })
            .collect()
    }
}

/// Sum of a sales order's rows (net + tax), in the order's currency.
pub fn sales_order_total(order: &SalesOrder) -> Decimal {
    order.rows.iter().map(|r| r.net + r.tax).sum()
}

struct Problems {
    list: Vec<MappingProblem>,
    total: Decimal,
    currency: String,
}

impl Problems {
    fn add(&mut self, kind: &'static str, owner: Team, message: String) {
        if let Some(p) = self.list.iter_mut().find(|p| p.kind == kind) {
            if !p.message.contains(&message) {
                p.message.push_str("; ");
                p.message.push_str(&message);
            }
        } else {
            self.list.push(MappingProblem {
                kind,
                owner,
                message,
                impact: self.total,
                currency: self.currency.clone(),
            });
        }
    }
}

/// The currency of the order's amounts (the transactional currency, bigcommerce-api.md §5)
/// and the exchange rate from the store's default currency.
pub fn order_currency(order: &Order) -> (String, String) {
    let code = if order.default_currency_code.trim().is_empty() {
        order.currency_code.clone()
    } else {
        order.default_currency_code.clone()
    };
    let rate = order
        .store_default_to_transactional_exchange_rate
        .filter(|r| !r.is_zero())
        .unwrap_or(Decimal::ONE)
        .normalize();
    (code, rate.to_string())
}

/// Decimal places of a currency's minor unit (ISO 4217): 0 for e.g. JPY and KRW, 3 for
/// e.g. BHD and KWD, else 2.
pub fn currency_decimal_places(code: &str) -> u32 {
    match code.trim().to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// What the customer was charged: `total_inc_tax` (BigCommerce sends 4 dp, e.g. `21.0999`)
/// rounded half away from zero to the currency's precision (`21.10` GBP). It equals the
/// successful purchases and captures plus gift certificate and store credit, and is the
/// amount the sales order's rows must add up to.
pub fn charged_amount(total_inc_tax: Decimal, currency: &str) -> Decimal {
    money::round(total_inc_tax, currency_decimal_places(currency))
}

/// A BigCommerce address as a Brightpearl postal address (street, suburb, city, state).
pub fn postal_address(a: &Address) -> PostalAddress {
    let full = format!("{} {}", a.first_name.trim(), a.last_name.trim())
        .trim()
        .to_string();
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    PostalAddress {
        address_full_name: opt(&full),
        company_name: opt(&a.company),
        address_line1: a.street_1.trim().to_string(),
        address_line2: a.street_2.trim().to_string(),
        address_line3: a.city.trim().to_string(),
        address_line4: a.state.trim().to_string(),
        postal_code: a.zip.trim().to_string(),
        country_iso_code: a.country_iso2.trim().to_string(),
        telephone: opt(&a.phone),
        email: opt(&a.email),
    }
}

/// The price list of the order's customer: `Ok(None)` for guests, group 0 and retail groups
/// (then `default_price_list_id`), `Ok(Some(id))` for a mapped B2B group, `Err(group)` for a
/// group without a price list.
pub fn customer_price_list(bundle: &OrderBundle, cfg: &OrdersConfig) -> Result<Option<u64>, u64> {
    let group = bundle
        .customer
        .as_ref()
        .map(|c| c.customer_group_id)
        .unwrap_or(0);
    if bundle.order.customer_id == 0 || group == 0 || cfg.retail_groups.contains(&group) {
        return Ok(cfg.default_price_list_id);
    }
    cfg.customer_groups
        .get(&group.to_string())
        .copied()
        .map(Some)
        .ok_or(group)
}

/// The customer's purchase-order number: the value of the checkout form field named by
/// `purchase_order_form_field` in the order's `billing_address.form_fields` (name matched
/// ignoring case and surrounding spaces; value trimmed, a number as written). `None` when
/// the key is not set, the field is absent or its value is empty.
pub fn purchase_order_number(order: &Order, cfg: &OrdersConfig) -> Option<String> {
    let name = cfg.purchase_order_form_field.as_deref()?.trim();
    order
        .billing_address
        .form_fields
        .iter()
        .filter(|f| f.name.trim().eq_ignore_ascii_case(name))
        .map(|f| f.text())
        .find(|v| !v.is_empty())
}

/// The text of the staff-only sales order note for the order's messages, or `None` when
/// both `customer_message` and `staff_notes` are empty. One line each, after a header line:
/// ```text
/// BigCommerce order 100250
/// Purchase order: PO-7781
/// Customer message: Deliver to goods-in, door 3
/// Staff notes: Phone order taken by Sam
/// ```
/// (the purchase-order line only with a [`purchase_order_number`]).
pub fn order_note(order: &Order, cfg: &OrdersConfig) -> Option<String> {
    let message = order.customer_message.trim();
    let staff = order.staff_notes.trim();
    if message.is_empty() && staff.is_empty() {
        return None;
    }
    let mut lines = vec![format!("BigCommerce order {}", order.id)];
    if let Some(po) = purchase_order_number(order, cfg) {
        lines.push(format!("Purchase order: {po}"));
    }
    if !message.is_empty() {
        lines.push(format!("Customer message: {message}"));
    }
    if !staff.is_empty() {
        lines.push(format!("Staff notes: {staff}"));
    }
    Some(lines.join("\n"))
}

/// Placed-on date of the order as ISO 8601 UTC (`date_created` is RFC 2822).
pub fn placed_on(order: &Order) -> Option<String> {
    Timestamp::parse_rfc2822(&order.date_created)
        .ok()
        .map(|t| t.to_iso8601())
}

#[derive(Default)]
struct TaxLine {
    amount: Decimal,
    classes: Vec<String>,
    rate: Decimal,
}

/// A free-text row (quantity 1) with its net and tax at `dp` places.
fn text_row(
    name: String,
    tax_code: String,
    (net, tax): (Decimal, Decimal),
    nominal: &str,
    dp: u32,
) -> SalesOrderRow {
    SalesOrderRow {
        product_id: None,
        name: Some(name),
        quantity: "1".into(),
        tax_code,
        net: money::fixed(net, dp),
        tax: money::fixed(tax, dp),
        nominal_code: nominal.to_string(),
        external_ref: None,
    }
}

/// Net and tax of a row from its gross (tax included) and tax: each rounded to `dp`, net =
/// gross − tax, so the row adds up to the rounded gross.
fn net_and_tax(gross: Decimal, tax: Decimal, dp: u32) -> (Decimal, Decimal) {
    (
        money::round(gross, dp) - money::round(tax, dp),
        money::round(tax, dp),
    )
}

/// Map one order. `Err` lists every problem found (at most one per kind, the messages of
/// the same kind joined), so the order can be held with all of them at once.
///
/// Rules (README "Mapping rules"): product rows carry BigCommerce's own line values (tax
/// from `taxes?details=true` `line_amount`, net = `discounted_total_inc_tax` − tax, or full
/// price plus discount rows in `rows` mode), `externalRef` = the order product id; one
/// shipping row per shipping address with a cost; handling and wrapping rows; the rows add
/// up to the charged amount ([`charged_amount`]: `total_inc_tax` rounded to the currency's
/// precision) exactly; only a difference the rows cannot absorb within the tolerance
/// becomes a rounding row.
pub fn map_order(
    bundle: &OrderBundle,
    cfg: &OrdersConfig,
    lookups: &Lookups,
) -> Result<MappedOrder, Vec<MappingProblem>> {
    let order = &bundle.order;
    let entity = order_entity(order.id);
    let (currency, rate) = order_currency(order);
    let dp = cfg.rounding.row_decimal_places;
    let mut p = Problems {
        list: vec![],
        total: Decimal::ZERO,
        currency: currency.clone(),
    };
    let total_inc_tax = order.total_inc_tax;
    let total = charged_amount(total_inc_tax, &currency);
    let handling_inc = order.handling_cost_inc_tax;
    let handling_tax = order.handling_cost_tax;
    let wrapping_inc = order.wrapping_cost_inc_tax;
    let wrapping_tax = order.wrapping_cost_tax;
    p.total = total;

    // Tax rows by what they tax.
    let mut item_tax: BTreeMap<u64, TaxLine> = BTreeMap::new();
    let mut shipping_tax: BTreeMap<u64, TaxLine> = BTreeMap::new();
    let mut handling_tax_rows = TaxLine::default();
    let mut wrapping_tax_rows = TaxLine::default();
    let mut taxes = bundle.taxes.clone();
    taxes.sort_by_key(|t| (t.priority, t.id));
    for t in &taxes {
        let amount = t.line_amount;
        let line = match t.line_item_type.as_str() {
            "item" => item_tax.entry(t.order_product_id.unwrap_or(0)).or_default(),
            "shipping" => shipping_tax.entry(t.order_address_id).or_default(),
            "handling" => &mut handling_tax_rows,
            "gift-wrapping" => &mut wrapping_tax_rows,
            _ => continue,
        };
        line.amount += amount;
        if line.classes.is_empty() {
            line.rate = t.rate;
        }
        if !line.classes.contains(&t.class) {
            line.classes.push(t.class.clone());
        }
    }
    let mut tax_problems: Vec<String> = Vec::new();
    let mut tax_code = |line: Option<&TaxLine>, tax: Decimal, what: &str| -> String {
        match line.and_then(|l| l.classes.first().map(|c| (c, l.rate.normalize()))) {
            Some((class, rate)) => match cfg
                .tax_codes
                .get(&format!("{class}@{rate}"))
                .or_else(|| cfg.tax_codes.get(class))
            {
                Some(code) => code.clone(),
                None => {
                    tax_problems.push(format!(
                        "tax class {class:?} at {rate}% ({what}) has no tax code in tax_codes (key {class:?} or \"{class}@{rate}\")"
                    ));
                    String::new()
                }
            },
            None if tax.is_zero() => cfg.no_tax_code.clone(),
            None => {
                tax_problems.push(format!(
                    "{what} has tax {tax} but no tax row naming its tax class"
                ));
                String::new()
            }
        }
    };

    // Product rows.
    let mut rows = Vec::new();
    let mut unknown_skus = Vec::new();
    let mut discounts: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    let mut discount_names: Vec<String> = bundle
        .coupons
        .iter()
        .map(|c| c.code.clone())
        .filter(|c| !c.is_empty())
        .collect();
    for line in &bundle.products {
        if line.is_bundled_product || line.parent_order_product_id.is_some() {
            continue; // bundle children: the parent row carries the price
        }
        let product_id = lookups.products.get(&line.sku).copied();
        if line.sku.trim().is_empty() || product_id.is_none() {
            let sku = if line.sku.trim().is_empty() {
                format!("(no SKU) {:?}", line.name)
            } else {
                format!("`{}`", line.sku)
            };
            match lookups.sku_suggestions.get(&line.sku) {
                Some(near) => unknown_skus.push(format!(
                    "{sku} (order product {}; did you mean `{near}`?)",
                    line.id
                )),
                None => unknown_skus.push(format!("{sku} (order product {})", line.id)),
            }
        }
        let full_inc = line.total_inc_tax;
        let full_tax = line.total_tax;
        let paid_inc = line.discounted_total_inc_tax.unwrap_or(full_inc);
        let taxed = item_tax.get(&line.id);
        let tax = taxed.map(|t| t.amount).unwrap_or(Decimal::ZERO);
        let what = format!("order product {} (SKU `{}`)", line.id, line.sku);
        let code = tax_code(taxed, if taxed.is_some() { tax } else { full_tax }, &what);
        // Each row is valued from its gross (tax included) rounded to the row precision, so
        // net + tax = the line's gross; the tax is BigCommerce's own amount, rounded.
        let r = |d: Decimal| money::round(d, dp);
        let (net, row_tax) = match cfg.discount_mode {
            DiscountMode::Distributed => net_and_tax(paid_inc, tax, dp),
            DiscountMode::Rows => {
                let disc_gross = r(full_inc) - r(paid_inc);
                let disc_tax = r(full_tax) - r(tax);
                if !disc_gross.is_zero() || !disc_tax.is_zero() {
                    let e = discounts.entry(code.clone()).or_default();
                    e.0 += disc_gross - disc_tax;
                    e.1 += disc_tax;
                    for d in &line.applied_discounts {
                        let label = d
                            .code
                            .clone()
                            .filter(|c| !c.is_empty())
                            .unwrap_or_else(|| d.name.clone());
                        if !label.is_empty() && !discount_names.contains(&label) {
                            discount_names.push(label);
                        }
                    }
                }
                net_and_tax(full_inc, full_tax, dp)
            }
        };
        rows.push(SalesOrderRow {
            product_id,
            name: None,
            quantity: line.quantity.to_string(),
            tax_code: code,
            net: money::fixed(net, dp),
            tax: money::fixed(row_tax, dp),
            nominal_code: cfg.nominal_codes.sales.clone(),
            external_ref: Some(line.id.to_string()),
        });
    }
    if !unknown_skus.is_empty() {
        p.add(
            kinds::UNMAPPED_SKU,
            Team::Ecommerce,
            format!(
                "{entity}: no Brightpearl product with SKU {}",
                unknown_skus.join(", ")
            ),
        );
    }
    for (code, (net, tax)) in &discounts {
        let name = if discount_names.is_empty() {
            "Discount".to_string()
        } else {
            format!("Discount: {}", discount_names.join(", "))
        };
        rows.push(text_row(
            name,
            code.clone(),
            (-*net, -*tax),
            &cfg.nominal_codes.discount,
            dp,
        ));
    }

    // Shipping rows, one per shipping address with a cost.
    let mut addresses = bundle.shipping_addresses.clone();
    addresses.sort_by_key(|a| a.id);
    let mut shipping_method_id = None;
    let mut unmapped_methods = Vec::new();
    for (i, a) in addresses.iter().enumerate() {
        let method = cfg.shipping_methods.get(&a.shipping_method).copied();
        if method.is_none() {
            unmapped_methods.push(format!(
                "{:?} (shipping address {})",
                a.shipping_method, a.id
            ));
        }
        if i == 0 {
            shipping_method_id = method;
        }
        let inc = a.cost_inc_tax;
        let tax = a.cost_tax;
        if inc.is_zero() && tax.is_zero() {
            continue;
        }
        let code = tax_code(
            shipping_tax.get(&a.id),
            tax,
            &format!("shipping to address {}", a.id),
        );
        let name = if addresses.len() > 1 {
            format!(
                "Shipping: {} (address {}, {})",
                a.shipping_method, a.id, a.address.city
            )
        } else {
            format!("Shipping: {}", a.shipping_method)
        };
        rows.push(text_row(
            name,
            code,
            net_and_tax(inc, tax, dp),
            &cfg.nominal_codes.shipping,
            dp,
        ));
    }
    if !unmapped_methods.is_empty() {
        p.add(
            kinds::UNMAPPED_SHIPPING_METHOD,
            Team::Operations,
            format!(
                "{entity}: shipping method {} has no Brightpearl shipping method in shipping_methods",
                unmapped_methods.join(", ")
            ),
        );
    }
    if !handling_inc.is_zero() || !handling_tax.is_zero() {
        let code = tax_code(
            Some(&handling_tax_rows).filter(|t| !t.classes.is_empty()),
            handling_tax,
            "handling",
        );
        rows.push(text_row(
            "Handling".into(),
            code,
            net_and_tax(handling_inc, handling_tax, dp),
            &cfg.nominal_codes.handling,
            dp,
        ));
    }
    if !wrapping_inc.is_zero() || !wrapping_tax.is_zero() {
        let code = tax_code(
            Some(&wrapping_tax_rows).filter(|t| !t.classes.is_empty()),
            wrapping_tax,
            "gift wrapping",
        );
        rows.push(text_row(
            "Gift wrapping".into(),
            code,
            net_and_tax(wrapping_inc, wrapping_tax, dp),
            &cfg.nominal_codes.wrapping,
            dp,
        ));
    }
    for t in tax_problems {
        p.add(
            kinds::UNMAPPED_TAX_CLASS,
            Team::Finance,
            format!("{entity}: {t}"),
        );
    }

    // Customer group → price list.
    let price_list_id = match customer_price_list(bundle, cfg) {
        Ok(id) => id,
        Err(group) => {
            p.add(
                kinds::UNMAPPED_CUSTOMER_GROUP,
                Team::Ecommerce,
                format!(
                    "{entity}: customer {} is in customer group {group}, which has no price list in customer_groups",
                    order.customer_id
                ),
            );
            None
        }
    };

    // Payments.
    let payments = match map_payments(order, &bundle.transactions, cfg) {
        Ok(ps) => ps,
        Err(msgs) => {
            for msg in msgs {
                p.add(
                    kinds::UNMAPPED_PAYMENT_METHOD,
                    Team::Finance,
                    format!("{entity}: {msg}"),
                );
            }
            vec![]
        }
    };

    // Totals: the rows must add up to the charged amount exactly.
    let rows_total: Decimal = rows.iter().map(|r| r.net + r.tax).sum();
    let diff = total - rows_total;
    let mut rounding = None;
    if !diff.is_zero() {
        if cfg.rounding.mode == RoundingMode::RoundingRow && diff.abs() <= cfg.rounding.tolerance {
            let places = diff.normalize().scale().max(dp).min(4);
            rows.push(SalesOrderRow {
                product_id: None,
                name: Some("Rounding".into()),
                quantity: "1".into(),
                tax_code: cfg.no_tax_code.clone(),
                net: money::fixed(diff, places),
                tax: money::fixed(Decimal::ZERO, dp),
                nominal_code: cfg.nominal_codes.rounding.clone(),
                external_ref: None,
            });
            rounding = Some(diff);
        } else if p
            .list
            .iter()
            .all(|x| x.kind != kinds::UNMAPPED_SKU && x.kind != kinds::UNMAPPED_TAX_CLASS)
        {
            // (A variance is only meaningful once every row could be valued.)
            p.list.push(MappingProblem {
                kind: kinds::ORDER_TOTAL_VARIANCE,
                owner: Team::Finance,
                message: format!(
                    "{entity}: the rows add up to {rows_total} {currency} but the charged amount is {total} (total_inc_tax {total_inc_tax}): a difference of {diff} beyond the tolerance of {}",
                    cfg.rounding.tolerance
                ),
                impact: diff.abs(),
                currency: currency.clone(),
            });
        }
    }
    if order.billing_address.email.trim().is_empty() {
        p.add(
            kinds::INVALID_ORDER_DATA,
            Team::Integration,
            format!("{entity}: field `billing_address.email` is empty: the Brightpearl contact is found by e-mail"),
        );
    }
    let placed = placed_on(order);
    if placed.is_none() {
        p.add(
            kinds::INVALID_ORDER_DATA,
            Team::Integration,
            format!(
                "{entity}: field `date_created` is not an RFC 2822 date: {:?}",
                order.date_created
            ),
        );
    }
    if !p.list.is_empty() {
        return Err(p.list);
    }

    let first_address = addresses.first();
    let country = first_address
        .map(|a| a.address.country_iso2.clone())
        .unwrap_or_else(|| order.billing_address.country_iso2.clone());
    let warehouse_id = cfg
        .warehouse
        .by_country
        .get(&country)
        .copied()
        .unwrap_or(cfg.warehouse.default);
    let sales_order = SalesOrder {
        customer: SalesOrderCustomer {
            id: lookups.contact_id,
            address: Some(postal_address(&order.billing_address)),
        },
        reference: purchase_order_number(order, cfg)
            .unwrap_or_else(|| format!("{}{}", cfg.ref_prefix, order.id)),
        external_ref: order.id.to_string(),
        installed_integration_instance_id: cfg.installed_integration_instance_id,
        placed_on: placed.unwrap_or_default(),
        tax_date: None,
        status_id: cfg.order_status_id,
        channel_id: cfg.channel_id,
        warehouse_id,
        price_list_id,
        price_mode_code: None,
        currency: OrderCurrency {
            code: currency,
            fixed_exchange_rate: true,
            exchange_rate: rate,
        },
        delivery: Delivery {
            date: None,
            address: first_address.map(|a| postal_address(&a.address)),
            shipping_method_id,
        },
        rows,
    };
    Ok(MappedOrder {
        sales_order,
        payments,
        total,
        total_inc_tax,
        rounding,
        price_list_id,
        note: order_note(order, cfg),
    })
}

fn lookup_method<'a>(cfg: &'a OrdersConfig, keys: &[&str]) -> Option<&'a PaymentMethodMapping> {
    keys.iter()
        .filter(|k| !k.trim().is_empty())
        .find_map(|k| cfg.payment_methods.get(*k))
}

/// One customer payment to build.
struct PaymentSpec {
    payment_type: PaymentType,
    transaction_ref: String,
    transaction_code: Option<String>,
    amount: Decimal,
    currency: String,
    /// ISO 8601.
    date: String,
}

fn payment(
    order: &Order,
    method: &PaymentMethodMapping,
    rate: &str,
    spec: PaymentSpec,
) -> CustomerPayment {
    let amount = money::fixed(spec.amount, 2);
    let (authorized, paid) = if spec.payment_type == PaymentType::Auth {
        (Some(amount), None)
    } else {
        (None, Some(amount))
    };
    CustomerPayment {
        transaction_ref: spec.transaction_ref,
        transaction_code: spec.transaction_code,
        payment_method_code: method.code.clone(),
        payment_type: spec.payment_type,
        order_id: 0,
        currency_iso_code: spec.currency,
        exchange_rate: Some(rate.to_string()),
        amount_authorized: authorized,
        amount_paid: paid,
        authorization_expiry: None,
        payment_date: spec.date,
        journal_ref: Some(format!(
            "BigCommerce order {} (bank {})",
            order.id, method.bank_nominal_code
        )),
    }
}

/// The customer payments of an order (with `orderId` 0), or every unmapped method.
///
/// Source: `GET /v3/orders/{id}/transactions` `data[]`; only `status` `ok` counts.
/// - gift certificate (`method` `gift_certificate`, gateway `giftcertificate`) and store
///   credit (`method` `store_credit`, gateway `storecredit`) transactions, `event` purchase
///   or capture, are RECEIPTs with the `gift_certificate` / `store_credit` payment method:
///   `transactionRef` `bc-txn-<transaction id>`, `paymentDate` the transaction's
///   `date_created`, like card payments, so a second one of the same kind or a replay never
///   collides. Only when the order has `gift_certificate_amount` / `store_credit_amount` but
///   no such transaction (e.g. exported data without them) is one RECEIPT built from the
///   order field (`bc-order-<id>-gift-certificate` / `-store-credit`, dated `date_created`);
/// - other transactions: `purchase` → RECEIPT, `authorization` → AUTH (expiry = date +
///   `authorization_expiry_days`), `capture` → CAPTURE; `transactionRef` =
///   `bc-txn-<transaction id>`, `transactionCode` = `bc-txn-<authorisation id>` for AUTH and
///   CAPTURE (brightpearl-api.md §5 [doc]); refunds and voids belong to the refunds flow;
/// - an order paid (`payment_status` `paid`/`captured`) without card or offline transactions
///   gets one RECEIPT of the rest of the charged amount ([`charged_amount`]) after gift
///   certificate and store credit (`bc-order-<id>-payment`);
/// - orders whose `payment_method` is an on-account method get no card/manual payment.
///
/// Amounts are decimal strings with 2 dp in the transaction's currency. The method is looked
/// up by the transaction `gateway`, then its `method`, then the order's `payment_method`.
pub fn map_payments(
    order: &Order,
    transactions: &[Transaction],
    cfg: &OrdersConfig,
) -> Result<Vec<CustomerPayment>, Vec<String>> {
    let (currency, rate) = order_currency(order);
    let placed = placed_on(order).unwrap_or_default();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let gift = order.gift_certificate_amount;
    let credit = order.store_credit_amount;
    let mut tenders: Vec<&Transaction> = transactions
        .iter()
        .filter(|t| {
            t.status == "ok"
                && matches!(t.method.as_str(), "gift_certificate" | "store_credit")
                && matches!(t.event.as_str(), "purchase" | "capture")
        })
        .collect();
    tenders.sort_by_key(|t| t.id);
    for (amount, mapping, label, method, suffix) in [
        (
            gift,
            &cfg.gift_certificate,
            "gift certificate",
            "gift_certificate",
            "gift-certificate",
        ),
        (
            credit,
            &cfg.store_credit,
            "store credit",
            "store_credit",
            "store-credit",
        ),
    ] {
        let of_kind: Vec<&&Transaction> = tenders.iter().filter(|t| t.method == method).collect();
        if of_kind.is_empty() && amount <= Decimal::ZERO {
            continue;
        }
        let Some(m) = mapping else {
            let shown = if of_kind.is_empty() {
                amount
            } else {
                of_kind.iter().map(|t| t.amount).sum()
            };
            problems.push(format!(
                "the {label} payment of {shown} {currency} has no payment method (set `{method}`)"
            ));
            continue;
        };
        if of_kind.is_empty() {
            out.push(payment(
                order,
                m,
                &rate,
                PaymentSpec {
                    payment_type: PaymentType::Receipt,
                    transaction_ref: format!("bc-order-{}-{suffix}", order.id),
                    transaction_code: None,
                    amount,
                    currency: currency.clone(),
                    date: placed.clone(),
                },
            ));
            continue;
        }
        for t in of_kind {
            out.push(payment(
                order,
                m,
                &rate,
                PaymentSpec {
                    payment_type: PaymentType::Receipt,
                    transaction_ref: format!("bc-txn-{}", t.id),
                    transaction_code: None,
                    amount: t.amount,
                    currency: if t.currency.is_empty() {
                        currency.clone()
                    } else {
                        t.currency.clone()
                    },
                    date: Timestamp::parse_iso8601(&t.date_created)
                        .map(|d| d.to_iso8601())
                        .unwrap_or_else(|_| placed.clone()),
                },
            ));
        }
    }
    if cfg
        .on_account_methods
        .iter()
        .any(|m| m == &order.payment_method)
    {
        return if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        };
    }
    let mut txns: Vec<&Transaction> = transactions
        .iter()
        .filter(|t| {
            t.status == "ok" && !matches!(t.method.as_str(), "gift_certificate" | "store_credit")
        })
        .filter(|t| matches!(t.event.as_str(), "purchase" | "authorization" | "capture"))
        .collect();
    txns.sort_by_key(|t| t.id);
    let auth_ids: Vec<u64> = txns
        .iter()
        .filter(|t| t.event == "authorization")
        .map(|t| t.id)
        .collect();
    for t in &txns {
        let Some(method) = lookup_method(cfg, &[&t.gateway, &t.method, &order.payment_method])
        else {
            problems.push(format!(
                "payment gateway {:?} (transaction {}, order payment method {:?}) has no entry in payment_methods",
                t.gateway, t.id, order.payment_method
            ));
            continue;
        };
        let amount = t.amount;
        let date = Timestamp::parse_iso8601(&t.date_created)
            .map(|d| d.to_iso8601())
            .unwrap_or_else(|_| placed.clone());
        let txn_currency = if t.currency.is_empty() {
            currency.clone()
        } else {
            t.currency.clone()
        };
        let reference = format!("bc-txn-{}", t.id);
        let expiry = Timestamp::parse_iso8601(&date).ok().map(|d| {
            d.plus_seconds(cfg.authorization_expiry_days * 86400)
                .to_iso8601()
        });
        let (payment_type, transaction_code) = match t.event.as_str() {
            "purchase" => (PaymentType::Receipt, None),
            "authorization" => (PaymentType::Auth, Some(reference.clone())),
            _ => {
                let auth = t
                    .reference_transaction_id
                    .or_else(|| (auth_ids.len() == 1).then(|| auth_ids[0]))
                    .unwrap_or(t.id);
                (PaymentType::Capture, Some(format!("bc-txn-{auth}")))
            }
        };
        let mut p = payment(
            order,
            method,
            &rate,
            PaymentSpec {
                payment_type,
                transaction_ref: reference,
                transaction_code,
                amount,
                currency: txn_currency,
                date,
            },
        );
        if payment_type == PaymentType::Auth {
            p.authorization_expiry = expiry;
        }
        out.push(p);
    }
    let paid_status = matches!(order.payment_status.as_str(), "paid" | "captured");
    if txns.is_empty() && paid_status {
        let total = charged_amount(order.total_inc_tax, &currency);
        let rest = total - gift - credit;
        if rest > Decimal::ZERO {
            match lookup_method(cfg, &[&order.payment_method]) {
                Some(m) => out.push(payment(
                    order,
                    m,
                    &rate,
                    PaymentSpec {
                        payment_type: PaymentType::Receipt,
                        transaction_ref: format!("bc-order-{}-payment", order.id),
                        transaction_code: None,
                        amount: rest,
                        currency: currency.clone(),
                        date: placed.clone(),
                    },
                )),
                None => problems.push(format!(
                    "payment method {:?} has no entry in payment_methods",
                    order.payment_method
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The distinct SKUs of an order's product lines (bundle children excluded).
pub fn order_skus(bundle: &OrderBundle) -> Vec<String> {
    let set: BTreeSet<String> = bundle
        .products
        .iter()
        .filter(|l| {
            !l.is_bundled_product && l.parent_order_product_id.is_none() && !l.sku.trim().is_empty()
        })
        .map(|l| l.sku.clone())
        .collect();
    set.into_iter().collect()
}
