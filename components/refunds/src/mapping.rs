//! The refunds flow's business rules as plain functions: a BigCommerce refund and the
//! Brightpearl sales order it credits → the sales credit body ([`map_refund`]) and its
//! customer payments of type PAYMENT ([`map_payments`]).
//!
//! Rules:
//! - PRODUCT items: one row per item, crediting the sales order row whose `externalRef` is
//!   the order product id (the orders flow writes it there): its product, tax code and
//!   nominal code; quantity from the refund; net and tax = the row's net and tax × refunded
//!   units / row units, each rounded to 2 dp; item `adjustments` (≤ 0) lower the net. The
//!   refund JSON carries no amount for quantity items (bigcommerce-api.md §7 [doc]), so the
//!   values come from what the sales order charged.
//! - SHIPPING / HANDLING items: a row of `requested_amount` (tax included) on the configured
//!   nominal code; its tax at the rate of the sales order's row on that nominal code (tax code
//!   from that row), none when there is no such row.
//! - FEE items: a tax-free row on `nominal_codes.fees`. ORDER items (amount-only, tax-exempt
//!   [doc]) and a refund without items: a row on `nominal_codes.refund` (a refund without
//!   items carries its `total_tax` on the tax code of the sales order's first taxed row).
//!   TAX items: a tax-only row. GIFT_WRAPPING and unknown types hold the refund.
//! - The rows must add up to the refund's `total_amount` exactly: a difference within
//!   `rounding.tolerance` becomes a "Refund difference" row, beyond it the refund is held with
//!   `refund-total-variance` (owner finance).
//! - Money is `Decimal` in the sales order's currency (the BigCommerce order's transactional
//!   currency, as the orders flow posted it), rows at 2 dp.
//! - Restock (`restock = true`, [`goods_in_note`]): the credit's product rows go back into
//!   stock with one goods-in note against the sales credit, each product into its default
//!   location in the credit's warehouse, valued at the sales order row's `itemCost` (the cost
//!   it left stock at); products with no default location there (not stock-tracked) are not
//!   received.

use std::collections::BTreeMap;

use pearlbridge_sdk::bigcommerce::Refund;
use pearlbridge_sdk::brightpearl::{
    CustomerPayment, GoodsInNote, GoodsMoved, OrderCurrency, OrderRecord, OrderRowRecord,
    PaymentType, ProductValue, SalesCredit, SalesOrderCustomer, SalesOrderRow,
};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::money;
use pearlbridge_sdk::types::Team;
use rust_decimal::Decimal;

use crate::config::RefundsConfig;

/// Exception kinds of the refunds flow (each has a runbook entry in the host).
pub mod kinds {
    /// The refund's BigCommerce order has no Brightpearl sales order (held or not in the
    /// orders flow's posted statuses): the refund is held, naming the order.
    pub const REFUND_ORDER_NOT_POSTED: &str = "refund-order-not-posted";
    /// A refund payment's `provider_id` has no entry in `payment_methods`.
    pub const UNMAPPED_REFUND_METHOD: &str = "unmapped-refund-method";
    /// The credit's rows cannot add up to the refund total within the tolerance.
    pub const REFUND_TOTAL_VARIANCE: &str = "refund-total-variance";
    /// The refund names something the credit cannot be built from (an order product with no
    /// sales order row, an unsupported item type, an unreadable date).
    pub const INVALID_REFUND_DATA: &str = "invalid-refund-data";
    /// The sales order is not invoiced and the client holds credits until it is
    /// (`not_invoiced = "hold"`), for longer than `blocked_exception_after_minutes`.
    pub const CREDIT_BLOCKED_NOT_INVOICED: &str = "credit-blocked-not-invoiced";
    /// Brightpearl refused to invoice (close) the sales order before the credit.
    pub const PARENT_INVOICE_REJECTED: &str = "parent-invoice-rejected";
    /// Brightpearl rejected the sales credit (4xx).
    pub const CREDIT_REJECTED: &str = "credit-rejected";
    /// Brightpearl rejected a refund payment (4xx).
    pub const REFUND_PAYMENT_REJECTED: &str = "refund-payment-rejected";
    /// BigCommerce reports a refund payment as declined: no money left, nothing is posted for
    /// it (raised, not holding).
    pub const REFUND_PAYMENT_DECLINED: &str = "refund-payment-declined";
    /// A retryable failure for `retry_exception_after` runs.
    pub const REFUND_POST_FAILED: &str = "refund-post-failed";
    /// `restock = true` and Brightpearl rejected the goods-in note that returns the credited
    /// units to stock (4xx), or the credit cannot be received (raised, not holding: the
    /// refund payments still post).
    pub const RESTOCK_REJECTED: &str = "restock-rejected";
}

/// Decimal places of the credit's rows and payments.
pub const ROW_DP: u32 = 2;

/// The entity reference of a BigCommerce refund: `bigcommerce:refund:<id>`.
pub fn refund_entity(id: u64) -> String {
    format!("bigcommerce:refund:{id}")
}

/// The sales credit's `externalRef`: `bc-refund-<refund id>` (searched by order-search with
/// `orderTypeId=3`).
pub fn credit_external_ref(refund_id: u64) -> String {
    format!("bc-refund-{refund_id}")
}

/// The stable `transactionRef` of one refund payment: `bc-refund-<refund id>-<payment id>`.
pub fn payment_transaction_ref(refund_id: u64, payment_id: u64) -> String {
    format!("bc-refund-{refund_id}-{payment_id}")
}

/// A problem that holds a refund.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundProblem {
    pub kind: &'static str,
    pub owner: Team,
    /// Names the refund and the field or value.
    pub message: String,
    /// Money at stake in `currency`.
    pub impact: Decimal,
    pub currency: String,
}

/// A mapped refund: the sales credit body and what the summary reports.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedCredit {
    pub credit: SalesCredit,
    /// The refund total (`total_amount`, 2 dp) = Σ rows' net + tax.
    pub total: Decimal,
    /// The "Refund difference" row's amount, when one was added.
    pub difference: Option<Decimal>,
}

/// The refund total (`total_amount`) rounded to [`ROW_DP`]: what the credit must add up to.
pub fn money_total(refund: &Refund) -> Decimal {
    money::round(refund.total_amount, ROW_DP)
}

/// The credit's currency: the sales order's order currency.
pub fn credit_currency(parent: &OrderRecord) -> String {
    parent.currency.order_currency_code.trim().to_uppercase()
}

fn exchange_rate(parent: &OrderRecord) -> String {
    match parent.currency.exchange_rate.trim() {
        "" => "1.0".into(),
        r => r.to_string(),
    }
}

fn free_row(
    name: &str,
    tax_code: &str,
    net: Decimal,
    tax: Decimal,
    nominal: &str,
) -> SalesOrderRow {
    SalesOrderRow {
        product_id: None,
        name: Some(name.to_string()),
        quantity: "1".into(),
        tax_code: tax_code.to_string(),
        net: money::fixed(net, ROW_DP),
        tax: money::fixed(tax, ROW_DP),
        nominal_code: nominal.to_string(),
        external_ref: None,
    }
}

/// The sales order's rows, lowest row id first.
fn sorted_rows(parent: &OrderRecord) -> Vec<&OrderRowRecord> {
    let mut rows: Vec<(u64, &OrderRowRecord)> = parent
        .order_rows
        .iter()
        .map(|(id, r)| (id.parse::<u64>().unwrap_or(u64::MAX), r))
        .collect();
    rows.sort_by_key(|(id, _)| *id);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Split `gross` (tax included) at the rate of `row` (its tax / its gross): (net, tax), 2 dp.
fn split_like(gross: Decimal, row: Option<&OrderRowRecord>) -> (Decimal, Decimal) {
    let Some(r) = row else {
        return (money::round(gross, ROW_DP), Decimal::ZERO);
    };
    let row_gross = r.row_value.row_net.value + r.row_value.row_tax.value;
    if row_gross.is_zero() {
        return (money::round(gross, ROW_DP), Decimal::ZERO);
    }
    let tax = money::round(gross * r.row_value.row_tax.value / row_gross, ROW_DP);
    (money::round(gross, ROW_DP) - tax, tax)
}

/// Map one refund against the sales order it credits. `Err` lists every problem found.
pub fn map_refund(
    refund: &Refund,
    parent: &OrderRecord,
    cfg: &RefundsConfig,
) -> Result<MappedCredit, Vec<RefundProblem>> {
    let entity = refund_entity(refund.id);
    let currency = credit_currency(parent);
    let total = money::round(refund.total_amount, ROW_DP);
    let mut problems: Vec<RefundProblem> = vec![];
    let mut problem = |kind: &'static str, owner: Team, message: String| {
        problems.push(RefundProblem {
            kind,
            owner,
            message,
            impact: total,
            currency: currency.clone(),
        })
    };
    let rows_in = sorted_rows(parent);
    let by_ref: BTreeMap<&str, &OrderRowRecord> = rows_in
        .iter()
        .rev() // the lowest row id wins
        .filter(|r| !r.external_ref.trim().is_empty())
        .map(|r| (r.external_ref.trim(), *r))
        .collect();
    let on_nominal = |code: &str| rows_in.iter().copied().find(|r| r.nominal_code == code);
    let first_taxed = rows_in
        .iter()
        .copied()
        .find(|r| !r.row_value.row_tax.value.is_zero() && !r.row_value.tax_code.is_empty());
    let nc = &cfg.nominal_codes;
    let mut rows: Vec<SalesOrderRow> = vec![];
    for (i, item) in refund.items.iter().enumerate() {
        let field = format!("items[{i}]");
        let amount = || item.requested_amount.filter(|a| *a > Decimal::ZERO);
        match item.item_type.as_str() {
            "PRODUCT" => {
                let Some(row) = by_ref.get(item.item_id.to_string().as_str()) else {
                    problem(
                        kinds::INVALID_REFUND_DATA,
                        Team::Integration,
                        format!(
                            "{entity}: {field}: order product {} has no row on Brightpearl sales order {} (no row with externalRef {})",
                            item.item_id, parent.id, item.item_id
                        ),
                    );
                    continue;
                };
                let units = row.quantity.magnitude;
                let q = item.quantity.unwrap_or(0);
                if q == 0 || units <= Decimal::ZERO || Decimal::from(q) > units {
                    problem(
                        kinds::INVALID_REFUND_DATA,
                        Team::Integration,
                        format!(
                            "{entity}: {field}.quantity {q} of order product {} is not between 1 and the {} units of sales order {} row",
                            item.item_id,
                            units.normalize(),
                            parent.id
                        ),
                    );
                    continue;
                }
                let share = Decimal::from(q) / units;
                let adjust: Decimal = item.adjustments.iter().map(|a| a.amount).sum();
                let net = money::round(row.row_value.row_net.value * share, ROW_DP)
                    + money::round(adjust, ROW_DP);
                let tax = money::round(row.row_value.row_tax.value * share, ROW_DP);
                rows.push(SalesOrderRow {
                    product_id: (row.product_id > 0).then_some(row.product_id),
                    name: (row.product_id == 0).then(|| row.product_name.clone()),
                    quantity: q.to_string(),
                    tax_code: row.row_value.tax_code.clone(),
                    net: money::fixed(net, ROW_DP),
                    tax: money::fixed(tax, ROW_DP),
                    nominal_code: row.nominal_code.clone(),
                    external_ref: Some(item.item_id.to_string()),
                });
            }
            kind @ ("SHIPPING" | "HANDLING" | "FEE" | "ORDER" | "TAX") => {
                let Some(gross) = amount() else {
                    problem(
                        kinds::INVALID_REFUND_DATA,
                        Team::Integration,
                        format!(
                            "{entity}: {field}.requested_amount of the {kind} item is not a positive amount: {:?}",
                            item.requested_amount
                        ),
                    );
                    continue;
                };
                rows.push(match kind {
                    "SHIPPING" | "HANDLING" => {
                        let (nominal, name) = if kind == "SHIPPING" {
                            (&nc.shipping, "Shipping refund")
                        } else {
                            (&nc.handling, "Handling refund")
                        };
                        let like = on_nominal(nominal);
                        let (net, tax) = split_like(gross, like);
                        let code = like
                            .filter(|_| !tax.is_zero())
                            .map(|r| r.row_value.tax_code.clone())
                            .unwrap_or_else(|| cfg.no_tax_code.clone());
                        free_row(name, &code, net, tax, nominal)
                    }
                    "FEE" => free_row("Fee refund", &cfg.no_tax_code, gross, Decimal::ZERO, &nc.fees),
                    "ORDER" => free_row("Refund", &cfg.no_tax_code, gross, Decimal::ZERO, &nc.refund),
                    _ => match first_taxed {
                        Some(r) => free_row("Tax refund", &r.row_value.tax_code, Decimal::ZERO, gross, &nc.refund),
                        None => {
                            problem(
                                kinds::INVALID_REFUND_DATA,
                                Team::Integration,
                                format!(
                                    "{entity}: {field} refunds tax but sales order {} has no taxed row to take the tax code from",
                                    parent.id
                                ),
                            );
                            continue;
                        }
                    },
                });
            }
            other => problem(
                kinds::INVALID_REFUND_DATA,
                Team::Integration,
                format!(
                    "{entity}: {field}.item_type {other:?} is not supported by the refunds flow (credit it by hand in Brightpearl)"
                ),
            ),
        }
    }
    if refund.items.is_empty() {
        // A tax adjustment, or a refund of an amount only.
        let tax = money::round(refund.total_tax, ROW_DP);
        let code = match first_taxed {
            Some(r) if !tax.is_zero() => r.row_value.tax_code.clone(),
            _ => cfg.no_tax_code.clone(),
        };
        rows.push(free_row("Refund", &code, total - tax, tax, &nc.refund));
    }
    if total <= Decimal::ZERO {
        problem(
            kinds::INVALID_REFUND_DATA,
            Team::Integration,
            format!(
                "{entity}: field `total_amount` is not a positive amount: {}",
                refund.total_amount
            ),
        );
    }
    let placed_on = Timestamp::parse_iso8601(&refund.created).map(|t| t.to_iso8601());
    if placed_on.is_err() {
        problem(
            kinds::INVALID_REFUND_DATA,
            Team::Integration,
            format!(
                "{entity}: field `created` is not an ISO 8601 date: {:?}",
                refund.created
            ),
        );
    }
    if parent.parties.customer.contact_id == 0 {
        problem(
            kinds::INVALID_REFUND_DATA,
            Team::Integration,
            format!(
                "{entity}: Brightpearl sales order {} has no customer contact (parties.customer.contactId)",
                parent.id
            ),
        );
    }
    let mut difference = None;
    if problems.is_empty() {
        let rows_total: Decimal = rows.iter().map(|r| r.net + r.tax).sum();
        let diff = total - rows_total;
        if !diff.is_zero() {
            if diff.abs() <= cfg.rounding.tolerance {
                rows.push(free_row(
                    "Refund difference",
                    &cfg.no_tax_code,
                    diff,
                    Decimal::ZERO,
                    &nc.rounding,
                ));
                difference = Some(diff);
            } else {
                problems.push(RefundProblem {
                    kind: kinds::REFUND_TOTAL_VARIANCE,
                    owner: Team::Finance,
                    message: format!(
                        "{entity}: the credit rows add up to {} {currency} but BigCommerce refunded {} (total_amount): a difference of {} beyond the tolerance of {}",
                        money::fixed(rows_total, ROW_DP),
                        money::fixed(total, ROW_DP),
                        money::fixed(diff, ROW_DP),
                        cfg.rounding.tolerance
                    ),
                    impact: diff.abs(),
                    currency: currency.clone(),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let credit = SalesCredit {
        customer: SalesOrderCustomer {
            id: parent.parties.customer.contact_id,
            address: None,
        },
        parent_id: parent.id,
        reference: format!("{}{}-R{}", cfg.ref_prefix, refund.order_id, refund.id),
        external_ref: credit_external_ref(refund.id),
        installed_integration_instance_id: cfg.installed_integration_instance_id,
        placed_on: placed_on.unwrap_or_default(),
        status_id: cfg.credit_status_id,
        channel_id: parent.assignment.current.channel_id,
        warehouse_id: parent.warehouse_id,
        price_list_id: parent.price_list_id,
        currency: OrderCurrency {
            code: currency,
            fixed_exchange_rate: true,
            exchange_rate: exchange_rate(parent),
        },
        rows,
    };
    Ok(MappedCredit {
        credit,
        total,
        difference,
    })
}

/// The refund's customer payments of type PAYMENT (money out) against sales credit
/// `credit_id`: one per payment BigCommerce did not decline, its `provider_id` mapped to the
/// payment method and bank nominal code, `amountPaid` = its amount (2 dp) in the credit's
/// currency, `transactionRef` = [`payment_transaction_ref`]. `Err` names every unmapped
/// provider.
pub fn map_payments(
    refund: &Refund,
    parent: &OrderRecord,
    credit_id: u64,
    cfg: &RefundsConfig,
) -> Result<Vec<CustomerPayment>, Vec<String>> {
    let mut out = vec![];
    let mut unmapped = vec![];
    let date = Timestamp::parse_iso8601(&refund.created)
        .map(|t| t.to_iso8601())
        .unwrap_or_else(|_| refund.created.clone());
    for (i, p) in refund.payments.iter().enumerate() {
        if p.is_declined || p.amount <= Decimal::ZERO {
            continue;
        }
        let Some(method) = cfg.payment_methods.get(p.provider_id.trim()) else {
            unmapped.push(format!(
                "payments[{i}].provider_id {:?} (refund payment {}) has no entry in payment_methods",
                p.provider_id, p.id
            ));
            continue;
        };
        out.push(CustomerPayment {
            transaction_ref: payment_transaction_ref(refund.id, p.id),
            transaction_code: None,
            payment_method_code: method.code.clone(),
            payment_type: PaymentType::Payment,
            order_id: credit_id,
            currency_iso_code: credit_currency(parent),
            exchange_rate: Some(exchange_rate(parent)),
            amount_authorized: None,
            amount_paid: Some(money::fixed(p.amount, ROW_DP)),
            authorization_expiry: None,
            payment_date: date.clone(),
            journal_ref: Some(format!(
                "BigCommerce refund {} of order {} (bank {})",
                refund.id, refund.order_id, method.bank_nominal_code
            )),
        });
    }
    if unmapped.is_empty() {
        Ok(out)
    } else {
        Err(unmapped)
    }
}

/// The goods-in note's `userBatchReference` (unique across goods-in notes [doc]), the same as
/// the credit's external reference: `bc-refund-<refund id>`.
pub fn restock_reference(refund_id: u64) -> String {
    credit_external_ref(refund_id)
}

/// The goods-in note returning sales credit `credit`'s product rows to stock
/// (`POST /warehouse-service/order/{creditId}/goods-note/goods-in`, brightpearl-api.md §10
/// [doc]): into `credit.warehouseId`, one line per product row (row id order) whose product
/// has a default location there (`locations`: product id → location id, from
/// `GET /warehouse-service/warehouse/{id}/product/{idSet}`), `purchaseOrderRowId` = the
/// credit row, valued at the `itemCost` of the sales order row it credits (matched by
/// `externalRef`, the BigCommerce order product id). `Ok(None)` when nothing is received;
/// `Err` when a row's quantity is not a whole number or it credits no sales order row.
pub fn goods_in_note(
    refund_id: u64,
    received_on: &str,
    credit: &OrderRecord,
    parent: &OrderRecord,
    locations: &BTreeMap<u64, u64>,
) -> Result<Option<GoodsInNote>, String> {
    let entity = refund_entity(refund_id);
    let mut rows: Vec<(u64, &OrderRowRecord)> = credit
        .order_rows
        .iter()
        .map(|(id, r)| (id.parse::<u64>().unwrap_or(u64::MAX), r))
        .filter(|(_, r)| r.product_id > 0 && r.quantity.magnitude > Decimal::ZERO)
        .collect();
    rows.sort_by_key(|(id, _)| *id);
    let mut moved = vec![];
    for (row_id, row) in rows {
        let Some(&location) = locations.get(&row.product_id) else {
            continue;
        };
        let units = row.quantity.magnitude;
        if units.fract() != Decimal::ZERO {
            return Err(format!(
                "{entity}: sales credit {} row {row_id} has {} units of product {}: only whole units can be received",
                credit.id,
                units.normalize(),
                row.product_id
            ));
        }
        let Some(sold) = parent
            .order_rows
            .values()
            .find(|p| !row.external_ref.is_empty() && p.external_ref == row.external_ref)
        else {
            return Err(format!(
                "{entity}: sales credit {} row {row_id} (externalRef {:?}) credits no row of sales order {}",
                credit.id, row.external_ref, parent.id
            ));
        };
        let currency = if sold.item_cost.currency_code.is_empty() {
            credit_currency(parent)
        } else {
            sold.item_cost.currency_code.clone()
        };
        moved.push(GoodsMoved {
            product_id: row.product_id,
            purchase_order_row_id: row_id,
            quantity: units.trunc().try_into().unwrap_or(0),
            destination_location_id: location,
            product_value: ProductValue {
                currency,
                value: money::fixed(sold.item_cost.value, 4),
            },
        });
    }
    if moved.is_empty() {
        return Ok(None);
    }
    Ok(Some(GoodsInNote {
        transfer: false,
        warehouse_id: credit.warehouse_id,
        goods_moved: moved,
        received_on: received_on.to_string(),
        user_batch_reference: restock_reference(refund_id),
    }))
}
