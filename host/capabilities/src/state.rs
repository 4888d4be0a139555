//! The host's durable store: flow state (key-value per client × flow with compare-and-swap),
//! runs, exceptions and audit lines, behind the [`Store`] trait so a PostgreSQL backend can be
//! added beside [`SqliteStore`].
//!
//! Backs the `state` and `report` imports of `wit/flow.wit` (`pearlbridge:flow@1.0.0`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One call to an external API, as recorded by the connections capability: when, for whom,
/// what was asked and how it ended. Never holds a credential, a body or personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    /// When the request was sent (UTC; stored as RFC 3339).
    pub at: DateTime<Utc>,
    /// Client folder name, e.g. `acme`.
    pub client: String,
    /// Flow name, e.g. `orders`.
    pub flow: String,
    /// `bigcommerce` or `brightpearl`.
    pub system: String,
    /// HTTP method in upper case, e.g. `GET`.
    pub method: String,
    /// Path below the system's base with its query string, e.g. `/v2/orders?page=1`.
    pub path: String,
    /// HTTP status of the answer; `None` when none arrived (timeout, transport error).
    pub status: Option<u16>,
    /// Wall-clock duration of this attempt in milliseconds.
    pub millis: u64,
    /// The server's request id header when it sent one.
    pub request_id: Option<String>,
    /// Short outcome word, e.g. `ok`, `retry`, `throttled`, `timeout`, `outcome-unknown`.
    pub outcome: String,
    /// Attempt number, starting at 1.
    pub attempt: u32,
}

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
#[error("unknown team {0:?} (expected finance, operations, ecommerce, customer-service or integration)")]
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
