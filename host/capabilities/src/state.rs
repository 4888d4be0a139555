//! The host's durable store: flow state (key-value per client × flow with compare-and-swap),
//! runs, exceptions, audit lines, the webhook inbox and run leases, behind the [`Store`] trait so a PostgreSQL backend can be
//! added beside [`SqliteStore`].
//!
//! Backs the `state` and `report` imports of `wit/flow.wit` (`pearlbridge:flow@1.0.0`).

use std::fmt;

use chrono::{DateTime, Utc};
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

pub use crate::exceptions::{
    ExceptionFilter, ExceptionRecord, Money, NewException, Team, UnknownTeam, sort_by_impact,
};

mod sqlite;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

/// Whose state a call touches: one client × one flow. The host builds it from the run it is
/// executing; a flow only ever passes keys, so it cannot name another namespace. Client and
/// flow are stored as separate columns (never concatenated with the key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Namespace {
    /// Client folder name, e.g. `acme`.
    pub client: String,
    /// Flow name as pinned in `client.toml`, e.g. `orders`.
    pub flow: String,
}

impl Namespace {
    pub fn new(client: impl Into<String>, flow: impl Into<String>) -> Self {
        Namespace {
            client: client.into(),
            flow: flow.into(),
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.client, self.flow)
    }
}

/// A stored value and its version (WIT `state.entry`): version starts at 1 and grows by 1 on
/// every write; a deleted key starts again at 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub value: String,
    pub version: u64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "kebab-case")]
pub enum RunOutcome {
    /// The flow returned a run summary; the text is its JSON
    /// (e.g. `{"counts":[["posted",3]],"notes":[]}`).
    Ok(String),
    /// The run failed as a whole (flow error, trap, deadline); the text says why and must
    /// not contain a credential.
    Error(String),
}

/// One run of a flow, as recorded by [`Store::run_start`] and [`Store::run_finish`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: i64,
    pub client: String,
    pub flow: String,
    /// What started it, e.g. `scheduled`, `events(3)`, `replay(1)`.
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    /// `None` while the run is still going.
    pub finished_at: Option<DateTime<Utc>>,
    /// `None` while the run is still going.
    pub outcome: Option<RunOutcome>,
}

/// Which runs [`Store::runs`] lists (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub client: Option<String>,
    pub flow: Option<String>,
    /// Only runs that have not finished.
    pub running_only: bool,
    /// At most this many (`None`: 100).
    pub limit: Option<u32>,
}

/// A webhook event to put in a client's inbox ([`Store::inbox_put`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInboxEvent {
    /// `bigcommerce` or `brightpearl`.
    pub source: String,
    /// The platform's event name: a BigCommerce webhook `scope` (`store/order/created`) or a
    /// Brightpearl full event (`goods-out-note.modified.shipped`).
    pub scope: String,
    /// The id of the entity the event is about (one id: Brightpearl id sets are expanded
    /// before they reach the inbox).
    pub entity_id: String,
    /// The event body as received, or as expanded for one id (JSON text).
    pub payload: String,
    /// What makes two deliveries the same event, e.g. the BigCommerce payload `hash` with the
    /// scope, or the Brightpearl full event, id and `raised-on`. Deliveries of one client with
    /// the same key inside the dedupe window are dropped.
    pub dedupe_key: String,
}

/// One event in the inbox of a client × flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRecord {
    /// The inbox id: stable across runs until the event is done (WIT `inbox-event.id`).
    pub id: i64,
    pub client: String,
    pub flow: String,
    pub source: String,
    pub scope: String,
    pub entity_id: String,
    pub payload: String,
    /// When the host committed it (UTC).
    pub received_at: DateTime<Utc>,
    /// Runs that claimed it and did not finish OK (failed, or their process died).
    pub attempts: u32,
}

/// What [`Store::inbox_put`] did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxPut {
    /// Committed: one inbox id per flow it was put for, in the order of the flows given.
    Stored(Vec<i64>),
    /// The client had an event with the same dedupe key inside the window: nothing stored.
    Duplicate,
}

/// The right to run one client × flow, held until `expires_at` unless renewed
/// ([`Store::lease_acquire`]). `token` grows by one on every acquisition of the namespace,
/// so work done under a lapsed lease can be told apart (a fencing token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub ns: Namespace,
    /// Who holds it, e.g. `serve@host:pid`.
    pub holder: String,
    pub token: i64,
    pub expires_at: DateTime<Utc>,
}

/// Why the store failed. Messages never contain stored values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "state store {path} has schema version {found}, newer than this host knows ({known}); \
         upgrade pearlbridge"
    )]
    TooNew {
        path: String,
        found: u32,
        known: u32,
    },
    #[error("state store holds an unreadable {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("run {0} does not exist")]
    UnknownRun(i64),
    #[error("run {0} has already finished")]
    RunFinished(i64),
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("the lease of {0} has lapsed or is held by another run")]
    LeaseLost(Namespace),
}

/// Result of the store's operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The host's durable store. Implemented by [`SqliteStore`]; a PostgreSQL backend implements
/// the same trait. Every method is a single atomic operation.
pub trait Store: Send + Sync {
    /// Read one key of `ns` (WIT `state.get`).
    fn state_get(&self, ns: &Namespace, key: &str) -> Result<Option<Entry>>;
    /// Write one key unconditionally; returns the new version (WIT `state.set`).
    fn state_set(&self, ns: &Namespace, key: &str, value: &str) -> Result<u64>;
    /// Write only when the key's version equals `expected_version` (0 = must be absent).
    /// `Ok(Ok(new_version))` on success, `Ok(Err(current_version))` (0 when absent) when
    /// another writer got there first (WIT `state.compare-and-swap`).
    fn state_cas(
        &self,
        ns: &Namespace,
        key: &str,
        expected_version: u64,
        value: &str,
    ) -> Result<Result<u64, u64>>;
    /// Remove one key; no-op when absent (WIT `state.delete`).
    fn state_delete(&self, ns: &Namespace, key: &str) -> Result<()>;
    /// Keys of `ns` starting with `prefix`, sorted by key (byte order), with values, at most
    /// `limit` (WIT `state.list`).
    fn state_list(&self, ns: &Namespace, prefix: &str, limit: u32)
    -> Result<Vec<(String, String)>>;

    /// Record the start of a run; returns its id.
    fn run_start(&self, ns: &Namespace, trigger: &str) -> Result<i64>;
    /// Record how a run ended. Errors: [`StoreError::UnknownRun`], [`StoreError::RunFinished`].
    fn run_finish(&self, run_id: i64, outcome: &RunOutcome) -> Result<()>;
    /// Runs matching `filter`, newest first.
    fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>>;

    /// Raise or update the open exception (kind, entity) of `ns` (WIT `report.raise`).
    fn exception_raise(&self, ns: &Namespace, e: &NewException) -> Result<()>;
    /// Resolve the open exception (kind, entity) of `ns`; `false` when none was open
    /// (WIT `report.resolve`).
    fn exception_resolve(&self, ns: &Namespace, kind: &str, entity: &str) -> Result<bool>;
    /// Open exceptions of `ns` whose entity starts with `entity_prefix`, as (kind, entity),
    /// sorted by entity then kind (WIT `report.open`).
    fn exceptions_open(&self, ns: &Namespace, entity_prefix: &str)
    -> Result<Vec<(String, String)>>;
    /// Exceptions matching `filter`: those with a money impact first, grouped by currency
    /// (alphabetical), largest amount first within a currency; then the rest; ties newest
    /// (`last_seen`) first.
    fn exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<ExceptionRecord>>;

    /// The start time of the latest run of `ns` whose trigger label is `trigger` (e.g.
    /// `scheduled`), or `None` when it never ran so: the scheduler's catch-up point.
    fn last_run_started(&self, ns: &Namespace, trigger: &str) -> Result<Option<DateTime<Utc>>>;

    /// Commit `event` to the inbox of each of `flows` (all of one client) in one transaction,
    /// unless that client had an event with the same `dedupe_key` within `dedupe_window`
    /// before now: then nothing is stored ([`InboxPut::Duplicate`]). Keys older than the
    /// window are forgotten. An empty `flows` only records the key.
    fn inbox_put(
        &self,
        flows: &[Namespace],
        event: &NewInboxEvent,
        dedupe_window: std::time::Duration,
    ) -> Result<InboxPut>;
    /// Claim up to `limit` events of `lease.ns`, oldest first, for a run under `lease`: those
    /// not claimed, and those claimed under an older token (a run that died). Errors:
    /// [`StoreError::LeaseLost`] when `lease` is not the namespace's current, unexpired lease.
    fn inbox_claim(&self, lease: &Lease, limit: u32) -> Result<Vec<InboxRecord>>;
    /// Delete events `ids` claimed under `lease` (its run finished OK); events since claimed
    /// under another token are kept. Returns how many were deleted.
    fn inbox_done(&self, lease: &Lease, ids: &[i64]) -> Result<u64>;
    /// Unclaim the events claimed under `lease` (its run failed) and count the attempt, so
    /// the next run takes them. Returns how many.
    fn inbox_release(&self, lease: &Lease) -> Result<u64>;
    /// Events in the inbox, oldest first: of `ns` when given, else of every client × flow.
    fn inbox(&self, ns: Option<&Namespace>, limit: u32) -> Result<Vec<InboxRecord>>;
    /// How many events of `ns` are in the inbox (claimed or not).
    fn inbox_len(&self, ns: &Namespace) -> Result<u64>;

    /// Take the lease of `ns` for `holder` for `ttl` when nobody holds an unexpired one;
    /// `None` when another holder (or another run of the same holder) has it.
    fn lease_acquire(
        &self,
        ns: &Namespace,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>>;
    /// Extend `lease` to now + `ttl`; `None` when it lapsed and was taken by someone else or
    /// released (an expired lease nobody took is renewed).
    fn lease_renew(&self, lease: &Lease, ttl: std::time::Duration) -> Result<Option<Lease>>;
    /// Give `lease` up (no-op when it is no longer the current one).
    fn lease_release(&self, lease: &Lease) -> Result<()>;

    /// Append one audit line.
    fn audit(&self, line: &AuditLine) -> Result<()>;
    /// The latest `limit` audit lines (of `client` when given), newest first.
    fn audit_lines(&self, client: Option<&str>, limit: u32) -> Result<Vec<AuditLine>>;

    /// How many runs each client × flow has had, by outcome (`ok`, `error`, or `running`
    /// while unfinished), ordered by client, flow, outcome.
    fn run_counts(&self) -> Result<Vec<RunCount>>;
}

/// One line of [`Store::run_counts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCount {
    pub client: String,
    pub flow: String,
    /// `ok`, `error` or `running`.
    pub outcome: String,
    pub runs: u64,
}

/// The store as the host uses it: every text written goes through [`crate::redact::scrub`]
/// first (flow state keys and values, run outcomes, exception entities and messages, audit
/// paths and request ids), so no secret value a server echoed can reach the file, whatever
/// the backend. Keys are scrubbed the same way on reads, so reads find what was written.
pub struct Scrubbed(pub std::sync::Arc<dyn Store>);

impl Scrubbed {
    /// Wraps `store` (no double wrapping is needed: scrubbing is idempotent).
    pub fn wrap(store: std::sync::Arc<dyn Store>) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(Scrubbed(store))
    }
}

fn scrubbed(text: &str) -> std::borrow::Cow<'_, str> {
    crate::redact::scrub(text)
}

impl Store for Scrubbed {
    fn state_get(&self, ns: &Namespace, key: &str) -> Result<Option<Entry>> {
        self.0.state_get(ns, &scrubbed(key))
    }
    fn state_set(&self, ns: &Namespace, key: &str, value: &str) -> Result<u64> {
        self.0.state_set(ns, &scrubbed(key), &scrubbed(value))
    }
    fn state_cas(
        &self,
        ns: &Namespace,
        key: &str,
        expected_version: u64,
        value: &str,
    ) -> Result<Result<u64, u64>> {
        self.0
            .state_cas(ns, &scrubbed(key), expected_version, &scrubbed(value))
    }
    fn state_delete(&self, ns: &Namespace, key: &str) -> Result<()> {
        self.0.state_delete(ns, &scrubbed(key))
    }
    fn state_list(
        &self,
        ns: &Namespace,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        self.0.state_list(ns, &scrubbed(prefix), limit)
    }
    fn run_start(&self, ns: &Namespace, trigger: &str) -> Result<i64> {
        self.0.run_start(ns, &scrubbed(trigger))
    }
    fn run_finish(&self, run_id: i64, outcome: &RunOutcome) -> Result<()> {
        let outcome = match outcome {
            RunOutcome::Ok(s) => RunOutcome::Ok(scrubbed(s).into_owned()),
            RunOutcome::Error(s) => RunOutcome::Error(scrubbed(s).into_owned()),
        };
        self.0.run_finish(run_id, &outcome)
    }
    fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        self.0.runs(filter)
    }
    fn run_counts(&self) -> Result<Vec<RunCount>> {
        self.0.run_counts()
    }
    fn exception_raise(&self, ns: &Namespace, e: &NewException) -> Result<()> {
        let e = NewException {
            kind: scrubbed(&e.kind).into_owned(),
            entity: scrubbed(&e.entity).into_owned(),
            message: scrubbed(&e.message).into_owned(),
            ..e.clone()
        };
        self.0.exception_raise(ns, &e)
    }
    fn exception_resolve(&self, ns: &Namespace, kind: &str, entity: &str) -> Result<bool> {
        self.0
            .exception_resolve(ns, &scrubbed(kind), &scrubbed(entity))
    }
    fn exceptions_open(
        &self,
        ns: &Namespace,
        entity_prefix: &str,
    ) -> Result<Vec<(String, String)>> {
        self.0.exceptions_open(ns, &scrubbed(entity_prefix))
    }
    fn exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<ExceptionRecord>> {
        self.0.exceptions(filter)
    }
    fn last_run_started(&self, ns: &Namespace, trigger: &str) -> Result<Option<DateTime<Utc>>> {
        self.0.last_run_started(ns, &scrubbed(trigger))
    }
    fn inbox_put(
        &self,
        flows: &[Namespace],
        event: &NewInboxEvent,
        dedupe_window: std::time::Duration,
    ) -> Result<InboxPut> {
        let event = NewInboxEvent {
            source: scrubbed(&event.source).into_owned(),
            scope: scrubbed(&event.scope).into_owned(),
            entity_id: scrubbed(&event.entity_id).into_owned(),
            payload: scrubbed(&event.payload).into_owned(),
            dedupe_key: scrubbed(&event.dedupe_key).into_owned(),
        };
        self.0.inbox_put(flows, &event, dedupe_window)
    }
    fn inbox_claim(&self, lease: &Lease, limit: u32) -> Result<Vec<InboxRecord>> {
        self.0.inbox_claim(lease, limit)
    }
    fn inbox_done(&self, lease: &Lease, ids: &[i64]) -> Result<u64> {
        self.0.inbox_done(lease, ids)
    }
    fn inbox_release(&self, lease: &Lease) -> Result<u64> {
        self.0.inbox_release(lease)
    }
    fn inbox(&self, ns: Option<&Namespace>, limit: u32) -> Result<Vec<InboxRecord>> {
        self.0.inbox(ns, limit)
    }
    fn inbox_len(&self, ns: &Namespace) -> Result<u64> {
        self.0.inbox_len(ns)
    }
    fn lease_acquire(
        &self,
        ns: &Namespace,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>> {
        self.0.lease_acquire(ns, holder, ttl)
    }
    fn lease_renew(&self, lease: &Lease, ttl: std::time::Duration) -> Result<Option<Lease>> {
        self.0.lease_renew(lease, ttl)
    }
    fn lease_release(&self, lease: &Lease) -> Result<()> {
        self.0.lease_release(lease)
    }
    fn audit(&self, line: &AuditLine) -> Result<()> {
        let line = AuditLine {
            path: scrubbed(&line.path).into_owned(),
            request_id: line.request_id.as_deref().map(|r| scrubbed(r).into_owned()),
            ..line.clone()
        };
        self.0.audit(&line)
    }
    fn audit_lines(&self, client: Option<&str>, limit: u32) -> Result<Vec<AuditLine>> {
        self.0.audit_lines(client, limit)
    }
}
