//! Exceptions: what a flow (or the host) raises when something needs a person — an order
//! held on an unknown SKU, a total variance, a rejected payment, expired credentials — each
//! with its owning team, its money impact, the entity it is about, when it was first and last
//! seen, how often, and whether it is resolved. Stored by [`crate::state::Store`]
//! (`exception_raise`, `exception_resolve`, `exceptions`), listed by impact
//! ([`sort_by_impact`]), and explained by the [`RUNBOOK`]: one entry per kind with its
//! owner and next step (DESIGN.md "Exceptions"; WIT `types.exception`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The team that owns an exception and its next step (WIT `types.team`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Team {
    /// Ledger, payments, variances.
    Finance,
    /// Stock, warehouses, shipping.
    Operations,
    /// Catalogue, SKUs, storefront, price lists.
    Ecommerce,
    /// Customers, tracking emails.
    CustomerService,
    /// Mappings and configuration of the integration itself.
    Integration,
}

impl Team {
    /// Every team, in WIT order.
    pub const ALL: [Team; 5] = [
        Team::Finance,
        Team::Operations,
        Team::Ecommerce,
        Team::CustomerService,
        Team::Integration,
    ];

    /// The kebab-case name used in WIT, storage and the CLI, e.g. `customer-service`.
    pub fn as_str(self) -> &'static str {
        match self {
            Team::Finance => "finance",
            Team::Operations => "operations",
            Team::Ecommerce => "ecommerce",
            Team::CustomerService => "customer-service",
            Team::Integration => "integration",
        }
    }
}

impl fmt::Display for Team {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Team::from_str`]: the text is not one of the five team names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown team {0:?} (expected finance, operations, ecommerce, customer-service or integration)"
)]
pub struct UnknownTeam(pub String);

impl FromStr for Team {
    type Err = UnknownTeam;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Team::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTeam(s.to_string()))
    }
}

/// Money: a decimal amount in an ISO 4217 currency (WIT `types.money`). Stored as decimal
/// text beside its currency, never as a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217 code, e.g. `GBP`.
    pub currency: String,
}

impl Money {
    /// Money of `amount` in `currency` (ISO 4217 code, stored as given).
    pub fn new(amount: Decimal, currency: impl Into<String>) -> Self {
        Money {
            amount,
            currency: currency.into(),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// An exception as a flow raises it (WIT `types.exception`, amount already parsed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewException {
    /// Kebab-case kind with a runbook entry, e.g. `unmapped-sku`.
    pub kind: String,
    /// The entity it is about, e.g. `bigcommerce:order:118`.
    pub entity: String,
    pub message: String,
    pub owner: Team,
    pub impact: Option<Money>,
    pub retryable: bool,
}

/// A stored exception. Open while `resolved_at` is `None`; raising the same
/// (client, flow, kind, entity) while open updates message, owner, impact, retryable and
/// `last_seen` and adds one to `occurrences`; raising it after it was resolved opens a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRecord {
    pub id: i64,
    pub client: String,
    pub flow: String,
    pub kind: String,
    pub entity: String,
    pub message: String,
    pub owner: Team,
    pub impact: Option<Money>,
    pub retryable: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// How many times it was raised while open (1 for a new one).
    pub occurrences: u64,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which exceptions [`Store::exceptions`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExceptionFilter {
    pub client: Option<String>,
    pub flow: Option<String>,
    pub owner: Option<Team>,
    /// Only open (unresolved) exceptions.
    pub open_only: bool,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// Order exceptions for listing: impact first (by currency, then amount descending), then the
/// ones without impact; ties newest `last_seen` first, then highest id.
pub fn sort_by_impact(list: &mut [ExceptionRecord]) {
    list.sort_by(|a, b| {
        let by_impact = match (&a.impact, &b.impact) {
            (Some(x), Some(y)) => x.currency.cmp(&y.currency).then(y.amount.cmp(&x.amount)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_impact
            .then(b.last_seen.cmp(&a.last_seen))
            .then(b.id.cmp(&a.id))
    });
}

/// What to do about one kind of exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunbookEntry {
    /// The kebab-case kind, e.g. `unmapped-sku`.
    pub kind: &'static str,
    /// The team that usually owns it (the flow names the owner of each exception it raises).
    pub owner: Team,
    /// Which flow or part raises it.
    pub raised_by: &'static str,
    /// What it means, for the people running the business.
    pub means: &'static str,
    /// What the money impact measures.
    pub impact: &'static str,
    /// The next step, for the owner.
    pub next_step: &'static str,
}

/// Every exception kind the flows and the host raise, with its next step. A kind that is
/// raised must be here (tested against the orders flow's `kinds` module).
pub const RUNBOOK: &[RunbookEntry] = &[
    RunbookEntry {
        kind: "sku-not-in-brightpearl",
        owner: Team::Ecommerce,
        raised_by: "stock, catalog",
        means: "A BigCommerce variant's SKU (or a variant without a SKU) matches no Brightpearl product, so its stock is not managed from Brightpearl, it can sell stock that does not exist, and orders for it are held.",
        impact: "the variant's price × the units BigCommerce shows (sold without Brightpearl stock behind them); the catalog audit counts its price once when BigCommerce does not track its stock",
        next_step: "create the product in Brightpearl with this SKU, or correct the SKU in BigCommerce; the next full stock sync and catalog audit resolve this",
    },
    RunbookEntry {
        kind: "product-without-brightpearl-master",
        owner: Team::Ecommerce,
        raised_by: "catalog",
        means: "A BigCommerce product none of whose SKUs is a Brightpearl product: it was created in BigCommerce without a Brightpearl master, so every order for it is held and its stock is not managed. With `unmastered = \"disable-purchasing\"` the audit also sets purchasing_disabled on its variants until it has one.",
        impact: "the product's price × the units BigCommerce shows, summed over its variants (a variant with untracked stock counts its price once)",
        next_step: "create the product in Brightpearl with the same SKUs (Brightpearl is the master of products), or delete it from BigCommerce; the next audit resolves this and enables purchasing again on the variants it disabled",
    },
    RunbookEntry {
        kind: "sku-near-match",
        owner: Team::Ecommerce,
        raised_by: "catalog",
        means: "A BigCommerce SKU differs from a Brightpearl SKU only by letter case or surrounding spaces; the flows match SKUs exactly, so orders for it are held and its stock is not set.",
        impact: "the variant's price × the units BigCommerce shows",
        next_step: "correct the SKU in BigCommerce to Brightpearl's spelling (the message names both); the next audit resolves this",
    },
    RunbookEntry {
        kind: "duplicate-sku",
        owner: Team::Ecommerce,
        raised_by: "catalog",
        means: "One SKU is on several BigCommerce variants (entity bigcommerce:sku:<SKU>) or several Brightpearl products (brightpearl:sku:<SKU>, owner operations): orders post to the lowest Brightpearl id and stock is written to every variant with it.",
        impact: "none named: which product is meant is unknown",
        next_step: "give each variant or product its own SKU (the message lists the ids); the next audit resolves this",
    },
    RunbookEntry {
        kind: "inventory-tracking-mismatch",
        owner: Team::Operations,
        raised_by: "catalog",
        means: "One system tracks a SKU's stock and the other does not: BigCommerce not tracking a stock-tracked Brightpearl product sells it without limit (overselling); BigCommerce tracking an untracked Brightpearl product never gets stock from Brightpearl.",
        impact: "none named",
        next_step: "set inventory tracking in BigCommerce (product or variant level) to match Brightpearl's stock tracking for the product; the next audit resolves this",
    },
    RunbookEntry {
        kind: "sku-not-in-bigcommerce",
        owner: Team::Ecommerce,
        raised_by: "catalog, pricing",
        means: "A Brightpearl product whose SKU is on no BigCommerce variant (the catalog audit: not even nearly): it cannot be sold online, and a price it has on a price list mapped to a B2B customer group is not published to BigCommerce.",
        impact: "none named: nothing is sold at a wrong price; the product is not on the storefront",
        next_step: "list it in BigCommerce with exactly this SKU, or correct the SKU in either system; if it is not sold online, add its SKU prefix to the catalog audit's brightpearl_only_prefixes (and remove its price from the mapped list). The next audit and pricing run resolve this",
    },
    RunbookEntry {
        kind: "untracked-product",
        owner: Team::Operations,
        raised_by: "stock",
        means: "The Brightpearl product behind a BigCommerce variant is not stock-tracked, so Brightpearl has no availability to send.",
        impact: "none named: BigCommerce keeps whatever level it has",
        next_step: "make the Brightpearl product stock-tracked (or stop tracking inventory for it in BigCommerce); the product is retried on every stock run",
    },
    RunbookEntry {
        kind: "stock-drift",
        owner: Team::Operations,
        raised_by: "stock",
        means: "BigCommerce showed a different stock level from the one last written from Brightpearl: someone or something edited stock in BigCommerce.",
        impact: "the variant's price × the units BigCommerce held beyond what was last written from Brightpearl",
        next_step: "someone changed stock in BigCommerce; the flow has set it back to Brightpearl's value. Record real stock changes in Brightpearl (a stock correction), and consider marking the inventory location as managed by an external source",
    },
    RunbookEntry {
        kind: "stock-push-failed",
        owner: Team::Operations,
        raised_by: "stock",
        means: "The storefront's stock level could not be updated for several runs, so BigCommerce shows a stale level (overselling or lost sales).",
        impact: "the variant's price × its units (the storefront shows a stale level)",
        next_step: "BigCommerce refused or did not answer the inventory write on several runs; the message names the last error. Check the store's API status and the location ids in flows.stock.mapping.warehouses; the write is retried every run",
    },
    RunbookEntry {
        kind: "corrupt-link",
        owner: Team::Integration,
        raised_by: "every flow (the SDK's flow engine)",
        means: "The integration's record of which Brightpearl entity belongs to a BigCommerce one is unreadable, so the entity is held rather than risk posting it twice.",
        impact: "the entity's value, when the flow read it (the entity is held, never written again)",
        next_step: "a `link:` state key holds something that is not an id (edited by hand or corrupted): look the entity up in the other system by its external reference and set the key to that id (never delete it: the entity would be written a second time); the held entity goes on at the next run",
    },
    RunbookEntry {
        kind: "unmapped-sku",
        owner: Team::Ecommerce,
        raised_by: "orders",
        means: "An order contains a SKU that Brightpearl does not have, so the order cannot become a sales order and is held.",
        impact: "the order's charged total (the order is held)",
        next_step: "create the product in Brightpearl with this SKU, or correct the SKU in BigCommerce (the message names the nearest Brightpearl SKU); the held order posts on the next run",
    },
    RunbookEntry {
        kind: "unmapped-payment-method",
        owner: Team::Integration,
        raised_by: "orders",
        means: "An order was paid with a BigCommerce payment method that has no Brightpearl payment method or bank nominal code in the mapping; the order is held.",
        impact: "the order's charged total (the order is held)",
        next_step: "add the BigCommerce payment method to flows.orders.mapping.payment_methods (bank nominal code, payment method code) in client.toml; the held order posts on the next run",
    },
    RunbookEntry {
        kind: "unmapped-shipping-method",
        owner: Team::Integration,
        raised_by: "orders",
        means: "An order's BigCommerce shipping method has no Brightpearl shipping method in the mapping; the order is held.",
        impact: "the order's charged total (the order is held)",
        next_step: "map the BigCommerce shipping method to a Brightpearl shipping method in flows.orders.mapping.shipping_methods; the held order posts on the next run",
    },
    RunbookEntry {
        kind: "unmapped-tax-class",
        owner: Team::Finance,
        raised_by: "orders",
        means: "An order line's BigCommerce tax class has no Brightpearl tax code in the mapping, so its tax cannot be posted; the order is held.",
        impact: "the order's charged total (the order is held)",
        next_step: "map the BigCommerce tax class to a Brightpearl tax code in flows.orders.mapping.tax_codes; the held order posts on the next run",
    },
    RunbookEntry {
        kind: "unmapped-customer-group",
        owner: Team::Integration,
        raised_by: "orders",
        means: "The customer's BigCommerce customer group has no Brightpearl price list in the mapping; the order is held.",
        impact: "the order's charged total (the order is held)",
        next_step: "map the BigCommerce customer group to a Brightpearl price list in flows.orders.mapping.customer_groups; the held order posts on the next run",
    },
    RunbookEntry {
        kind: "order-total-variance",
        owner: Team::Finance,
        raised_by: "orders",
        means: "The order's rows do not add up to what BigCommerce charged beyond the allowed rounding, so posting it would put a wrong total in the ledger; it is held.",
        impact: "the difference between the rows and the charged amount",
        next_step: "compare the BigCommerce order's rows with the charged amount; fix the order data or allow a rounding row (flows.orders.mapping.rounding), then replay the order",
    },
    RunbookEntry {
        kind: "invalid-order-data",
        owner: Team::Integration,
        raised_by: "orders",
        means: "BigCommerce sent an order with a field that cannot be posted as it is (a bad date, a missing address, an impossible quantity); it is held.",
        impact: "the order's charged total (the order is held)",
        next_step: "the message names the field BigCommerce sent in a shape that cannot be posted; correct the order in BigCommerce and replay it",
    },
    RunbookEntry {
        kind: "price-list-mismatch",
        owner: Team::Ecommerce,
        raised_by: "orders (entity brightpearl:contact:<id>), pricing (entity bigcommerce:customer:<id>)",
        means: "A B2B customer's Brightpearl contact is on a different price list from the one their customer group maps to, so Brightpearl prices, reports and later edits follow the wrong list.",
        impact: "the order's charged total (orders); none named (pricing's contacts check, no order involved)",
        next_step: "set the Brightpearl contact's price list to the customer group's list (flows.pricing.mapping.groups / flows.orders.mapping.customer_groups), or move the customer to the right BigCommerce group; the pricing run resolves it once they agree. An order already posted was posted at BigCommerce's prices: check the SKUs named",
    },
    RunbookEntry {
        kind: "order-rejected",
        owner: Team::Integration,
        raised_by: "orders",
        means: "Brightpearl refused to create the sales order; the order is held until the cause is fixed.",
        impact: "the order's charged total (the order is held)",
        next_step: "Brightpearl refused the sales order (4xx; its message is quoted): fix the mapping or reference data it names, then replay the order",
    },
    RunbookEntry {
        kind: "order-post-failed",
        owner: Team::Integration,
        raised_by: "orders",
        means: "Brightpearl could not be reached or kept failing for several runs; the order is not posted yet (it will be, once, when Brightpearl answers).",
        impact: "the order's charged total (retried on each run)",
        next_step: "Brightpearl kept failing (5xx, throttling, transport) past the retry limit; check Brightpearl's status; the order is retried on the next run",
    },
    RunbookEntry {
        kind: "payment-rejected",
        owner: Team::Finance,
        raised_by: "orders",
        means: "Brightpearl refused the customer payment of a posted sales order, so the order shows unpaid in Brightpearl although the customer paid.",
        impact: "the customer payment's amount",
        next_step: "Brightpearl refused the customer payment (its message is quoted): check the bank nominal code and payment method mapping; the sales order stands unpaid until the payment posts",
    },
    RunbookEntry {
        kind: "order-note-rejected",
        owner: Team::CustomerService,
        raised_by: "orders",
        means: "Brightpearl refused the note carrying the customer's message or staff notes; the sales order is posted without it.",
        impact: "the order's charged total (the sales order and payments stand; the note with the customer's message is missing)",
        next_step: "Brightpearl refused the order note (customer message / staff notes); add it by hand from the BigCommerce order",
    },
    RunbookEntry {
        kind: "missing-tracking",
        owner: Team::CustomerService,
        raised_by: "tracking",
        means: "A goods-out note was shipped in Brightpearl without a tracking number, so the customer's shipment email is held back.",
        impact: "the BigCommerce order's total (no shipment is created, so the customer has no shipment email)",
        next_step: "the goods-out note was shipped in Brightpearl without a tracking number (shipping.reference) and the client holds such notes (flows.tracking.mapping.missing_tracking.action = \"hold\"); get the tracking number from the carrier and create the shipment with it in BigCommerce by hand (the flow then finds it by its items and links it), or switch the client to action = \"post\" to send shipments without tracking after grace_minutes",
    },
    RunbookEntry {
        kind: "unmapped-shipping-provider",
        owner: Team::Operations,
        raised_by: "tracking",
        means: "The goods-out note's Brightpearl shipping method has no BigCommerce carrier in the mapping, so the shipment cannot be created.",
        impact: "the BigCommerce order's total (the note is held, no shipment yet)",
        next_step: "the note's Brightpearl shipping method id has no carrier in flows.tracking.mapping.shipping_methods; add it (shipping_provider, optional tracking_carrier) or a default entry in client.toml; the held note is posted on the next run",
    },
    RunbookEntry {
        kind: "unmatched-note-row",
        owner: Team::Integration,
        raised_by: "tracking",
        means: "A shipped goods-out note row cannot be matched to a line of the BigCommerce order, so that part of the shipment cannot be sent.",
        impact: "the BigCommerce order's total (the note is held, no shipment yet)",
        next_step: "a goods-out note row's sales order row matches no BigCommerce order product (its externalRef is not an order product id and its SKU matches none or several): set the sales order row's externalRef to the order product id, or ship the items by hand in BigCommerce; the held note is retried on each run",
    },
    RunbookEntry {
        kind: "invalid-note-data",
        owner: Team::Operations,
        raised_by: "tracking",
        means: "A shipped goods-out note carries a value BigCommerce cannot take (a quantity or a tracking number), so its shipment is held.",
        impact: "the BigCommerce order's total (the note is held, no shipment yet)",
        next_step: "the message names the note field BigCommerce cannot take (a quantity that is not a whole number or exceeds the ordered quantity, a tracking number over 50 characters); correct the note in Brightpearl if it is not shipped yet, else create the shipment by hand in BigCommerce",
    },
    RunbookEntry {
        kind: "shipment-order-missing",
        owner: Team::Integration,
        raised_by: "tracking",
        means: "A shipped sales order points at a BigCommerce order that BigCommerce does not have, so no shipment can be created.",
        impact: "none named (the BigCommerce order could not be read)",
        next_step: "the sales order's externalRef / ref names a BigCommerce order that BigCommerce does not have (deleted, or another store's); check the sales order's externalRef and ref against BigCommerce; the note is retried on each run",
    },
    RunbookEntry {
        kind: "shipped-cancelled-order",
        owner: Team::CustomerService,
        raised_by: "tracking",
        means: "Brightpearl shipped goods for an order that is cancelled, declined or refunded in BigCommerce: goods may be leaving for an order nobody will pay for.",
        impact: "the BigCommerce order's total (goods left the warehouse for an order the customer will not pay for)",
        next_step: "Brightpearl shipped a goods-out note of an order that is cancelled, declined or refunded in BigCommerce; contact the customer and the carrier (recall, or re-bill), then either reopen the BigCommerce order (the shipment is posted on the next run) or leave it closed and resolve the exception",
    },
    RunbookEntry {
        kind: "shipment-rejected",
        owner: Team::Integration,
        raised_by: "tracking",
        means: "BigCommerce refused the shipment for a shipped goods-out note, so the customer had no shipment email.",
        impact: "the BigCommerce order's total (the note is held, no shipment yet)",
        next_step: "BigCommerce refused the shipment (4xx; its message is quoted), e.g. more units than are left to ship or an unknown order address; compare the note with the order's shipments in BigCommerce, fix the cause, and the held note is retried on the next run",
    },
    RunbookEntry {
        kind: "shipment-missing",
        owner: Team::CustomerService,
        raised_by: "tracking (dispatch reconciliation)",
        means: "The dispatch reconciliation found a goods-out note shipped in the window with no BigCommerce shipment: the customer had no shipment email.",
        impact: "the BigCommerce order's total",
        next_step: "a goods-out note shipped in the window has no BigCommerce shipment, so the customer had no shipment email; look for the note's own exception (missing-tracking, unmapped-shipping-provider, ...) and fix that, or replay brightpearl:note:<id>; a shipment deleted in BigCommerce is not posted again by itself (its link stands): create it by hand. The next reconciliation resolves it",
    },
    RunbookEntry {
        kind: "shipped-without-note",
        owner: Team::Operations,
        raised_by: "tracking (dispatch reconciliation)",
        means: "The dispatch reconciliation found a BigCommerce order marked shipped with no shipped goods-out note in Brightpearl: stock and the ledger may not show the goods as gone.",
        impact: "the BigCommerce order's total",
        next_step: "a BigCommerce order is marked Shipped or Partially Shipped but Brightpearl has no shipped goods-out note for it (shipped outside Brightpearl, or set by hand): check with the warehouse whether the goods left; ship the note in Brightpearl (stock and invoicing follow it) or correct the BigCommerce status. The next reconciliation resolves it",
    },
    RunbookEntry {
        kind: "shipment-post-failed",
        owner: Team::Integration,
        raised_by: "tracking",
        means: "BigCommerce or Brightpearl kept failing for several runs, so a shipped note's shipment is not created yet (it will be, once).",
        impact: "the BigCommerce order's total (retried on each run)",
        next_step: "BigCommerce or Brightpearl kept failing (5xx, throttling, transport) past the retry limit; check their status; the note is retried on the next run and never posted twice (a lost answer is looked up in the order's shipments first)",
    },
    RunbookEntry {
        kind: "refund-order-not-posted",
        owner: Team::Integration,
        raised_by: "refunds",
        means: "A BigCommerce refund belongs to an order that was never posted to Brightpearl, so there is no sales order to credit; the refund is held.",
        impact: "the refund total (no sales credit yet)",
        next_step: "the refund's BigCommerce order (named in the message) has no Brightpearl sales order: the orders flow holds it (fix that exception first) or its status is not in flows.orders.mapping.statuses; once the order is posted the refund is credited on the next run by itself",
    },
    RunbookEntry {
        kind: "unmapped-refund-method",
        owner: Team::Finance,
        raised_by: "refunds",
        means: "A refund went back through a BigCommerce payment provider that has no Brightpearl payment method in the mapping; the refund is held.",
        impact: "the refund total (nothing is written until it is mapped)",
        next_step: "a refund payment's BigCommerce provider_id (named in the message) has no entry in flows.refunds.mapping.payment_methods; add it with the Brightpearl payment method code and bank nominal code; the held refund is credited on the next run",
    },
    RunbookEntry {
        kind: "refund-total-variance",
        owner: Team::Finance,
        raised_by: "refunds",
        means: "The sales credit's rows would not add up to what BigCommerce refunded beyond the allowed rounding; the refund is held.",
        impact: "the difference between the credit rows and the refund total",
        next_step: "the credit rows (valued from the sales order's rows) do not add up to BigCommerce's refund total beyond flows.refunds.mapping.rounding.tolerance (e.g. a merchant override or an edited sales order); credit it by hand in Brightpearl with the refund's externalRef bc-refund-<id> (the flow then links it), or raise the tolerance if the difference is rounding",
    },
    RunbookEntry {
        kind: "invalid-refund-data",
        owner: Team::Integration,
        raised_by: "refunds",
        means: "A refund names something a sales credit cannot be built from (an item with no sales order row, an unsupported item type such as gift wrapping, a bad date); it is held.",
        impact: "the refund total (no sales credit yet)",
        next_step: "the message names the refund field the credit cannot be built from (an order product with no sales order row carrying its id in externalRef, a gift-wrapping item, an unreadable date); credit it by hand in Brightpearl with externalRef bc-refund-<id>, or correct the sales order row's externalRef; the refund is retried on each run",
    },
    RunbookEntry {
        kind: "credit-blocked-not-invoiced",
        owner: Team::Finance,
        raised_by: "refunds",
        means: "The refund's sales order is not invoiced yet and the client's setting holds credits until it is; the customer's money went back but the ledger does not show it yet.",
        impact: "the refund total (the customer has been refunded in BigCommerce, Brightpearl has no credit yet)",
        next_step: "the sales order being credited is not invoiced and the client holds credits until it is (flows.refunds.mapping.not_invoiced = \"hold\"); invoice the sales order in Brightpearl (or switch to not_invoiced = \"invoice-parent\"); the credit and its refund payments post on the next run by themselves",
    },
    RunbookEntry {
        kind: "parent-invoice-rejected",
        owner: Team::Finance,
        raised_by: "refunds",
        means: "Brightpearl refused to invoice the sales order that a refund credits, so the credit cannot be posted.",
        impact: "the refund total (no sales credit yet)",
        next_step: "Brightpearl refused to invoice (close) the sales order before its credit (the message quotes it); invoice it in Brightpearl by hand; the credit posts on the next run",
    },
    RunbookEntry {
        kind: "credit-rejected",
        owner: Team::Integration,
        raised_by: "refunds",
        means: "Brightpearl refused the sales credit for a refund; the refund is held.",
        impact: "the refund total (no sales credit yet)",
        next_step: "Brightpearl refused the sales credit (4xx; its message is quoted), e.g. an unknown tax code or a sales order that cannot be credited; fix the cause (or credit it by hand with externalRef bc-refund-<id>, which the flow then links); the refund is retried on each run",
    },
    RunbookEntry {
        kind: "refund-payment-rejected",
        owner: Team::Finance,
        raised_by: "refunds",
        means: "Brightpearl refused the refund payment against a sales credit, so the credit shows unpaid although the customer was refunded.",
        impact: "the rejected refund payments' amounts",
        next_step: "Brightpearl refused a customer payment of type PAYMENT against the sales credit (the message names its transactionRef and the server's error), e.g. an unknown payment method code; fix the payment method in Brightpearl or in flows.refunds.mapping.payment_methods; it is retried on each run and posted once by its transactionRef",
    },
    RunbookEntry {
        kind: "refund-payment-declined",
        owner: Team::Finance,
        raised_by: "refunds",
        means: "BigCommerce reports that the gateway declined a refund payment: the customer did not get that money back.",
        impact: "the declined payment's amount",
        next_step: "BigCommerce reports the refund payment as declined by the gateway, so no money went back and no customer payment is posted for it; refund the customer another way (a new refund in BigCommerce is credited by itself) and resolve the exception",
    },
    RunbookEntry {
        kind: "restock-rejected",
        owner: Team::Operations,
        raised_by: "refunds",
        means: "The credited units of a refund could not be returned to stock in Brightpearl, so available stock is understated.",
        impact: "the credited units at the cost they were sold at (itemCost)",
        next_step: "restock = true and Brightpearl refused the goods-in note that returns the credited units to stock (the message quotes it), or the credit could not be received (a fractional quantity, a row with no sales order row); the credit and its refund payments are posted; receive the units by hand on the sales credit in Brightpearl (userBatchReference bc-refund-<id>), then resolve the exception, or replay the refund after fixing the cause",
    },
    RunbookEntry {
        kind: "refund-post-failed",
        owner: Team::Integration,
        raised_by: "refunds",
        means: "BigCommerce or Brightpearl kept failing for several runs, so a refund's sales credit or payment is not posted yet (it will be, once).",
        impact: "the refund total (retried on each run)",
        next_step: "BigCommerce or Brightpearl kept failing (5xx, throttling, transport) past the retry limit; check their status; the refund is retried on the next run and never credited twice (a lost answer is looked up by the credit's externalRef and the payments' transactionRef first)",
    },
    RunbookEntry {
        kind: "cancellation-blocked",
        owner: Team::CustomerService,
        raised_by: "tracking (statuses)",
        means: "An order cancelled in BigCommerce cannot be cancelled in Brightpearl because goods are already picked, packed or shipped.",
        impact: "the BigCommerce order's total",
        next_step: "a cancellation could not be mirrored: the BigCommerce order was cancelled or refunded in full but its Brightpearl sales order has goods-out notes (Brightpearl does not cancel once dispatch started), or the sales order was cancelled in Brightpearl but BigCommerce already shows the order shipped; stop or recall the shipment with the warehouse, then cancel the other side by hand (or reopen the cancelled side); the hold resolves when the order is reopened, and the entity is retried on each run",
    },
    RunbookEntry {
        kind: "cancellation-rejected",
        owner: Team::CustomerService,
        raised_by: "tracking (statuses)",
        means: "Brightpearl refused to cancel the sales order of an order cancelled or fully refunded in BigCommerce, so it may still be fulfilled.",
        impact: "the BigCommerce order's total",
        next_step: "Brightpearl refused the cancelled status for the sales order of a BigCommerce order cancelled or refunded in full (its message is quoted: invoiced, has payments, ...); reverse the payments or credit the invoice in Brightpearl (the refunds flow posts a sales credit for a refund), then cancel the sales order by hand or let the next run retry",
    },
    RunbookEntry {
        kind: "status-rejected",
        owner: Team::Integration,
        raised_by: "tracking (statuses)",
        means: "BigCommerce refused an order status written back from Brightpearl, so the customer sees an out-of-date status.",
        impact: "the BigCommerce order's total",
        next_step: "BigCommerce refused the order status written back from Brightpearl (4xx; its message is quoted); check flows.tracking.mapping.statuses.to_bigcommerce against the store's order statuses; the sales order is retried on each run",
    },
    RunbookEntry {
        kind: "status-write-failed",
        owner: Team::Integration,
        raised_by: "tracking (statuses)",
        means: "An order status or cancellation could not be written for several runs; the other system shows an out-of-date status.",
        impact: "the BigCommerce order's total (retried on each run)",
        next_step: "an order status or cancellation could not be written for several runs (5xx, throttling, transport); check both systems' status; it is retried on the next run, and the current status is read first so nothing is written twice",
    },
    RunbookEntry {
        kind: "credentials-rejected",
        owner: Team::Integration,
        raised_by: "host (any flow's connection)",
        means: "BigCommerce or Brightpearl refused the integration's credentials, so every flow of the client has stopped calling that system.",
        impact: "none named: every run of the client stops until fixed",
        next_step: "the server answered 401/403: the token was revoked, is wrong or lacks a scope; reinstall the app or issue a new token and update the secret named by token_secret in client.toml",
    },
    RunbookEntry {
        kind: "credentials-expired",
        owner: Team::Integration,
        raised_by: "host (any flow's connection)",
        means: "The access token for BigCommerce or Brightpearl has expired, so every flow of the client has stopped calling that system.",
        impact: "none named: every run of the client stops until fixed",
        next_step: "the OAuth access token expired and this host does not refresh tokens; issue a new one and update the secret named by token_secret in client.toml",
    },
    RunbookEntry {
        kind: "price-missing",
        owner: Team::Ecommerce,
        raised_by: "pricing",
        means: "A Brightpearl product that is sold in BigCommerce has no usable price on a Brightpearl price list mapped to a B2B customer group (no price, a price in another currency, or an unreadable one), so the group's BigCommerce price list has no record for it and those customers see the catalog price.",
        impact: "none named: the group's customers pay the catalog price for the SKU",
        next_step: "add the product's price to the Brightpearl price list named in the message (in the currency of flows.pricing.mapping.currency), or correct the list mapping in flows.pricing.mapping.groups; the next pricing run writes the record and resolves this",
    },
    RunbookEntry {
        kind: "price-record-rejected",
        owner: Team::Ecommerce,
        raised_by: "pricing",
        means: "BigCommerce refused some records (or the customer-group assignment) of a B2B price list, so those variants keep their old price, or the group does not see the list at all.",
        impact: "none named: the variants named keep the price BigCommerce had",
        next_step: "the message quotes BigCommerce's field errors for the first variants refused (an unknown variant, a negative price) or the assignment error (a group with customer-group discounts cannot take a price list); fix the variant, price or group, and the price list is retried on every pricing run",
    },
    RunbookEntry {
        kind: "price-push-failed",
        owner: Team::Ecommerce,
        raised_by: "pricing",
        means: "Writing a B2B price list to BigCommerce failed on several runs in a row (no answer, 5xx, throttled), so BigCommerce shows stale B2B prices.",
        impact: "none named: BigCommerce keeps the prices last written",
        next_step: "BigCommerce did not answer or kept failing the price list writes; the message names the last error. Check the store's API status and the list id in flows.pricing.mapping.groups; the list is retried on every pricing run and only changed records are sent",
    },
];

/// The runbook entry of `kind`, if it has one.
pub fn runbook(kind: &str) -> Option<&'static RunbookEntry> {
    RUNBOOK.iter().find(|e| e.kind == kind)
}

/// The whole [`RUNBOOK`] as the Markdown of `docs/runbook.md` (`pearlbridge runbook
/// --markdown` prints it; a test keeps the file equal to it): kinds grouped by owning team in
/// [`Team::ALL`] order, each with what it means, who raises it, what its money impact measures
/// and what to check and do.
pub fn runbook_markdown() -> String {
    let mut md = String::from(
        "# Pearlbridge runbook\n\n\
         Every exception kind a flow or the host raises, grouped by the team that owns it: what \
         it means, what its money impact measures, and what to check and do. An exception \
         resolves by itself on the next run once its cause is fixed; `pearlbridge exceptions \
         list --owner <team>` lists the open ones by impact.\n\n\
         Generated from `host/capabilities/src/exceptions.rs` (`RUNBOOK`) by \
         `pearlbridge runbook --markdown > docs/runbook.md`; a test fails when a kind has no \
         entry or this file is out of date.\n",
    );
    for team in Team::ALL {
        let entries: Vec<&RunbookEntry> = RUNBOOK.iter().filter(|e| e.owner == team).collect();
        if entries.is_empty() {
            continue;
        }
        md.push_str(&format!("\n## Owner: {team}\n"));
        for e in entries {
            md.push_str(&format!(
                "\n### `{}`\n\n{}\n\n- **Raised by:** {}\n- **Money impact:** {}\n- **Check and fix:** {}\n",
                e.kind, e.means, e.raised_by, e.impact, e.next_step
            ));
        }
    }
    md
}
