//! [`SqliteStore`]: the default [`Store`], one SQLite file per host (WAL mode), schema kept by
//! numbered migrations recorded in `schema_version`.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use rust_decimal::Decimal;

use super::{
    AuditLine, Entry, ExceptionFilter, ExceptionRecord, InboxPut, InboxRecord, Lease, Money,
    Namespace, NewException, NewInboxEvent, Result, RunCount, RunFilter, RunOutcome, RunRecord,
    Store, StoreError, Team, sort_by_impact,
};

/// Longest state key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest state value accepted, in bytes (1 MiB).
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Numbered migrations; each is applied once, in order, inside one transaction with the
/// `schema_version` row that records it. Never edit a released migration: append a new one.
const MIGRATIONS: &[(u32, &str)] = &[
    (
        1,
        "CREATE TABLE state (
        client TEXT NOT NULL,
        flow TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (client, flow, key)
    ) WITHOUT ROWID;

    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client TEXT NOT NULL,
        flow TEXT NOT NULL,
        trigger TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT CHECK (outcome IN ('ok', 'error')),
        detail TEXT
    );
    CREATE INDEX runs_by_flow ON runs (client, flow, id);

    CREATE TABLE exceptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client TEXT NOT NULL,
        flow TEXT NOT NULL,
        kind TEXT NOT NULL,
        entity TEXT NOT NULL,
        message TEXT NOT NULL,
        owner TEXT NOT NULL,
        impact_amount TEXT,
        impact_currency TEXT,
        retryable INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        occurrences INTEGER NOT NULL,
        resolved_at TEXT,
        CHECK ((impact_amount IS NULL) = (impact_currency IS NULL))
    );
    CREATE UNIQUE INDEX exceptions_open_key
        ON exceptions (client, flow, kind, entity) WHERE resolved_at IS NULL;

    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        client TEXT NOT NULL,
        flow TEXT NOT NULL,
        system TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER,
        millis INTEGER NOT NULL,
        request_id TEXT,
        outcome TEXT NOT NULL,
        attempt INTEGER NOT NULL
    );
    CREATE INDEX audit_by_client ON audit (client, id);",
    ),
    (
        2,
        "CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client TEXT NOT NULL,
        flow TEXT NOT NULL,
        source TEXT NOT NULL,
        scope TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        dedupe_key TEXT NOT NULL,
        received_at TEXT NOT NULL,
        claimed_by INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX inbox_by_flow ON inbox (client, flow, id);

    CREATE TABLE inbox_seen (
        client TEXT NOT NULL,
        dedupe_key TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (client, dedupe_key)
    ) WITHOUT ROWID;
    CREATE INDEX inbox_seen_by_time ON inbox_seen (seen_at);

    CREATE TABLE leases (
        client TEXT NOT NULL,
        flow TEXT NOT NULL,
        holder TEXT,
        token INTEGER NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (client, flow)
    ) WITHOUT ROWID;",
    ),
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

type Clock = Box<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// SQLite-backed [`Store`]. One connection behind a mutex; WAL journal so readers (CLI,
/// dashboard) do not block the host.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    clock: Clock,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (or create) the store file at `path`, switch it to WAL and apply pending
    /// migrations. Errors: [`StoreError::Open`], [`StoreError::TooNew`] when the file was
    /// written by a newer host.
    pub fn open(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: shown.clone(),
            source,
        })?;
        Self::setup(conn, &shown)
    }

    /// A private in-memory store (tests, `--dry-run`).
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: ":memory:".into(),
            source,
        })?;
        Self::setup(conn, ":memory:")
    }

    /// Replace the clock used for timestamps (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The highest migration applied to this store.
    pub fn schema_version(&self) -> Result<u32> {
        let conn = self.lock();
        Ok(conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?)
    }

    fn setup(mut conn: Connection, shown: &str) -> Result<Self> {
        let open_err = |source| StoreError::Open {
            path: shown.to_string(),
            source,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        // Returns the resulting mode as a row ("wal", or "memory" for in-memory databases).
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(open_err)?;
        migrate(&mut conn, shown, Utc::now())?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            clock: Box::new(Utc::now),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done work: every write is one
        // statement or a transaction that rolled back on drop.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> String {
        ts(&(self.clock)())
    }

    fn now_time(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// `t + d`, saturating far in the future.
fn plus(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t - d`, saturating far in the past.
fn minus(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

type InboxRaw = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    u32,
);

fn inbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InboxRaw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn inbox_record(raw: InboxRaw) -> Result<InboxRecord> {
    let (id, client, flow, source, scope, entity_id, payload, received, attempts) = raw;
    Ok(InboxRecord {
        id,
        client,
        flow,
        source,
        scope,
        entity_id,
        payload,
        received_at: parse_ts("inbox received time", &received)?,
        attempts,
    })
}

const INBOX_COLUMNS: &str =
    "id, client, flow, source, scope, entity_id, payload, received_at, attempts";

fn migrate(conn: &mut Connection, shown: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL
        )",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: u32 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: shown.to_string(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![version, ts(&now)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// RFC 3339 UTC with microseconds and `Z`: fixed width, so text order is time order.
fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(what: &'static str, s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: format!("{s:?}: {e}"),
        })
}

fn parse_opt_ts(what: &'static str, s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| parse_ts(what, &s)).transpose()
}

fn check_ns(ns: &Namespace) -> Result<()> {
    if ns.client.is_empty() || ns.flow.is_empty() {
        return Err(StoreError::Invalid {
            what: "namespace",
            detail: format!("client and flow must be non-empty (got {ns})"),
        });
    }
    Ok(())
}

fn check_key(key: &str) -> Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::Invalid {
            what: "state key",
            detail: format!("{} bytes, at most {MAX_KEY_BYTES}", key.len()),
        });
    }
    Ok(())
}

fn check_value(value: &str) -> Result<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(StoreError::Invalid {
            what: "state value",
            detail: format!("{} bytes, at most {MAX_VALUE_BYTES}", value.len()),
        });
    }
    Ok(())
}

impl Store for SqliteStore {
    fn state_get(&self, ns: &Namespace, key: &str) -> Result<Option<Entry>> {
        check_ns(ns)?;
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT value, version FROM state WHERE client = ?1 AND flow = ?2 AND key = ?3",
                params![ns.client, ns.flow, key],
                |r| {
                    Ok(Entry {
                        value: r.get(0)?,
                        version: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn state_set(&self, ns: &Namespace, key: &str, value: &str) -> Result<u64> {
        check_ns(ns)?;
        check_key(key)?;
        check_value(value)?;
        let now = self.now();
        let conn = self.lock();
        Ok(conn.query_row(
            "INSERT INTO state (client, flow, key, value, version, updated_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT (client, flow, key) DO UPDATE
               SET value = excluded.value, version = version + 1, updated_at = excluded.updated_at
             RETURNING version",
            params![ns.client, ns.flow, key, value, now],
            |r| r.get(0),
        )?)
    }

    fn state_cas(
        &self,
        ns: &Namespace,
        key: &str,
        expected_version: u64,
        value: &str,
    ) -> Result<Result<u64, u64>> {
        check_ns(ns)?;
        check_key(key)?;
        check_value(value)?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: u64 = tx
            .query_row(
                "SELECT version FROM state WHERE client = ?1 AND flow = ?2 AND key = ?3",
                params![ns.client, ns.flow, key],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if current != expected_version {
            return Ok(Err(current));
        }
        let new_version = current + 1;
        if current == 0 {
            tx.execute(
                "INSERT INTO state (client, flow, key, value, version, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5)",
                params![ns.client, ns.flow, key, value, now],
            )?;
        } else {
            tx.execute(
                "UPDATE state SET value = ?4, version = ?5, updated_at = ?6
                 WHERE client = ?1 AND flow = ?2 AND key = ?3",
                params![ns.client, ns.flow, key, value, new_version, now],
            )?;
        }
        tx.commit()?;
        Ok(Ok(new_version))
    }

    fn state_delete(&self, ns: &Namespace, key: &str) -> Result<()> {
        check_ns(ns)?;
        let conn = self.lock();
        conn.execute(
            "DELETE FROM state WHERE client = ?1 AND flow = ?2 AND key = ?3",
            params![ns.client, ns.flow, key],
        )?;
        Ok(())
    }

    fn state_list(
        &self,
        ns: &Namespace,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        check_ns(ns)?;
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT key, value FROM state
             WHERE client = ?1 AND flow = ?2 AND key >= ?3
               AND substr(CAST(key AS BLOB), 1, length(CAST(?3 AS BLOB))) = CAST(?3 AS BLOB)
             ORDER BY key LIMIT ?4",
        )?;
        let rows = stmt
            .query_map(params![ns.client, ns.flow, prefix, limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn run_start(&self, ns: &Namespace, trigger: &str) -> Result<i64> {
        check_ns(ns)?;
        let now = self.now();
        let conn = self.lock();
        conn.execute(
            "INSERT INTO runs (client, flow, trigger, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![ns.client, ns.flow, trigger, now],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn run_finish(&self, run_id: i64, outcome: &RunOutcome) -> Result<()> {
        let (word, detail) = match outcome {
            RunOutcome::Ok(summary) => ("ok", summary),
            RunOutcome::Error(message) => ("error", message),
        };
        let now = self.now();
        let conn = self.lock();
        let changed = conn.execute(
            "UPDATE runs SET finished_at = ?2, outcome = ?3, detail = ?4
             WHERE id = ?1 AND finished_at IS NULL",
            params![run_id, now, word, detail],
        )?;
        if changed == 1 {
            return Ok(());
        }
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?1)",
            [run_id],
            |r| r.get(0),
        )?;
        Err(if exists {
            StoreError::RunFinished(run_id)
        } else {
            StoreError::UnknownRun(run_id)
        })
    }

    fn run_counts(&self) -> Result<Vec<RunCount>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT client, flow, COALESCE(outcome, 'running'), COUNT(*) FROM runs
             GROUP BY client, flow, COALESCE(outcome, 'running')
             ORDER BY client, flow, COALESCE(outcome, 'running')",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RunCount {
                    client: r.get(0)?,
                    flow: r.get(1)?,
                    outcome: r.get(2)?,
                    runs: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, client, flow, trigger, started_at, finished_at, outcome, detail FROM runs
             WHERE (?1 IS NULL OR client = ?1) AND (?2 IS NULL OR flow = ?2)
               AND (?3 = 0 OR finished_at IS NULL)
             ORDER BY id DESC LIMIT ?4",
        )?;
        type Raw = (
            i64,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let raw = stmt
            .query_map(
                params![
                    filter.client,
                    filter.flow,
                    filter.running_only,
                    filter.limit.unwrap_or(100)
                ],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )?
            .collect::<rusqlite::Result<Vec<Raw>>>()?;
        raw.into_iter()
            .map(
                |(id, client, flow, trigger, started, finished, outcome, detail)| {
                    let outcome = match (outcome.as_deref(), detail) {
                        (None, _) => None,
                        (Some("ok"), d) => Some(RunOutcome::Ok(d.unwrap_or_default())),
                        (Some("error"), d) => Some(RunOutcome::Error(d.unwrap_or_default())),
                        (Some(other), _) => {
                            return Err(StoreError::Corrupt {
                                what: "run outcome",
                                detail: format!("run {id}: {other:?}"),
                            });
                        }
                    };
                    Ok(RunRecord {
                        id,
                        client,
                        flow,
                        trigger,
                        started_at: parse_ts("run start time", &started)?,
                        finished_at: parse_opt_ts("run finish time", finished)?,
                        outcome,
                    })
                },
            )
            .collect()
    }

    fn exception_raise(&self, ns: &Namespace, e: &NewException) -> Result<()> {
        check_ns(ns)?;
        if e.kind.is_empty() || e.entity.is_empty() {
            return Err(StoreError::Invalid {
                what: "exception",
                detail: "kind and entity must be non-empty".into(),
            });
        }
        let now = self.now();
        let (amount, currency) = match &e.impact {
            Some(m) => (Some(m.amount.to_string()), Some(m.currency.as_str())),
            None => (None, None),
        };
        let conn = self.lock();
        conn.execute(
            "INSERT INTO exceptions (client, flow, kind, entity, message, owner, impact_amount,
                                     impact_currency, retryable, first_seen, last_seen, occurrences)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, 1)
             ON CONFLICT (client, flow, kind, entity) WHERE resolved_at IS NULL DO UPDATE SET
               message = excluded.message, owner = excluded.owner,
               impact_amount = excluded.impact_amount, impact_currency = excluded.impact_currency,
               retryable = excluded.retryable, last_seen = excluded.last_seen,
               occurrences = occurrences + 1",
            params![
                ns.client,
                ns.flow,
                e.kind,
                e.entity,
                e.message,
                e.owner.as_str(),
                amount,
                currency,
                e.retryable,
                now
            ],
        )?;
        Ok(())
    }

    fn exception_resolve(&self, ns: &Namespace, kind: &str, entity: &str) -> Result<bool> {
        check_ns(ns)?;
        let now = self.now();
        let conn = self.lock();
        let changed = conn.execute(
            "UPDATE exceptions SET resolved_at = ?5
             WHERE client = ?1 AND flow = ?2 AND kind = ?3 AND entity = ?4 AND resolved_at IS NULL",
            params![ns.client, ns.flow, kind, entity, now],
        )?;
        Ok(changed > 0)
    }

    fn exceptions_open(
        &self,
        ns: &Namespace,
        entity_prefix: &str,
    ) -> Result<Vec<(String, String)>> {
        check_ns(ns)?;
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT kind, entity FROM exceptions
             WHERE client = ?1 AND flow = ?2 AND resolved_at IS NULL
               AND substr(CAST(entity AS BLOB), 1, length(CAST(?3 AS BLOB))) = CAST(?3 AS BLOB)
             ORDER BY entity, kind",
        )?;
        let rows = stmt
            .query_map(params![ns.client, ns.flow, entity_prefix], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<ExceptionRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, client, flow, kind, entity, message, owner, impact_amount, impact_currency,
                    retryable, first_seen, last_seen, occurrences, resolved_at
             FROM exceptions
             WHERE (?1 IS NULL OR client = ?1) AND (?2 IS NULL OR flow = ?2)
               AND (?3 IS NULL OR owner = ?3) AND (?4 = 0 OR resolved_at IS NULL)",
        )?;
        struct Raw {
            id: i64,
            client: String,
            flow: String,
            kind: String,
            entity: String,
            message: String,
            owner: String,
            amount: Option<String>,
            currency: Option<String>,
            retryable: bool,
            first_seen: String,
            last_seen: String,
            occurrences: u64,
            resolved_at: Option<String>,
        }
        let raw = stmt
            .query_map(
                params![
                    filter.client,
                    filter.flow,
                    filter.owner.map(Team::as_str),
                    filter.open_only
                ],
                |r| {
                    Ok(Raw {
                        id: r.get(0)?,
                        client: r.get(1)?,
                        flow: r.get(2)?,
                        kind: r.get(3)?,
                        entity: r.get(4)?,
                        message: r.get(5)?,
                        owner: r.get(6)?,
                        amount: r.get(7)?,
                        currency: r.get(8)?,
                        retryable: r.get(9)?,
                        first_seen: r.get(10)?,
                        last_seen: r.get(11)?,
                        occurrences: r.get(12)?,
                        resolved_at: r.get(13)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<Raw>>>()?;
        let mut list = raw
            .into_iter()
            .map(|r| {
                let owner = Team::from_str(&r.owner).map_err(|e| StoreError::Corrupt {
                    what: "exception owner",
                    detail: format!("exception {}: {e}", r.id),
                })?;
                let impact = match (r.amount, r.currency) {
                    (Some(a), Some(currency)) => {
                        let amount = Decimal::from_str(&a).map_err(|e| StoreError::Corrupt {
                            what: "exception impact",
                            detail: format!("exception {}: {a:?}: {e}", r.id),
                        })?;
                        Some(Money { amount, currency })
                    }
                    _ => None,
                };
                Ok(ExceptionRecord {
                    id: r.id,
                    client: r.client,
                    flow: r.flow,
                    kind: r.kind,
                    entity: r.entity,
                    message: r.message,
                    owner,
                    impact,
                    retryable: r.retryable,
                    first_seen: parse_ts("exception first_seen", &r.first_seen)?,
                    last_seen: parse_ts("exception last_seen", &r.last_seen)?,
                    occurrences: r.occurrences,
                    resolved_at: parse_opt_ts("exception resolved_at", r.resolved_at)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sort_by_impact(&mut list);
        if let Some(limit) = filter.limit {
            list.truncate(limit as usize);
        }
        Ok(list)
    }

    fn last_run_started(&self, ns: &Namespace, trigger: &str) -> Result<Option<DateTime<Utc>>> {
        check_ns(ns)?;
        let conn = self.lock();
        let started: Option<String> = conn.query_row(
            "SELECT MAX(started_at) FROM runs WHERE client = ?1 AND flow = ?2 AND trigger = ?3",
            params![ns.client, ns.flow, trigger],
            |r| r.get(0),
        )?;
        parse_opt_ts("run start time", started)
    }

    fn inbox_put(
        &self,
        flows: &[Namespace],
        event: &NewInboxEvent,
        dedupe_window: std::time::Duration,
    ) -> Result<InboxPut> {
        for ns in flows {
            check_ns(ns)?;
        }
        let Some(client) = flows.first().map(|n| n.client.clone()) else {
            return Ok(InboxPut::Stored(vec![]));
        };
        if flows.iter().any(|n| n.client != client) {
            return Err(StoreError::Invalid {
                what: "inbox event",
                detail: "all flows of one event must be of one client".into(),
            });
        }
        check_value(&event.payload)?;
        check_key(&event.dedupe_key)?;
        let now = self.now_time();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM inbox_seen WHERE seen_at < ?1",
            [ts(&minus(now, dedupe_window))],
        )?;
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO inbox_seen (client, dedupe_key, seen_at) VALUES (?1, ?2, ?3)",
            params![client, event.dedupe_key, ts(&now)],
        )?;
        if fresh == 0 {
            return Ok(InboxPut::Duplicate);
        }
        let mut ids = Vec::with_capacity(flows.len());
        for ns in flows {
            tx.execute(
                "INSERT INTO inbox (client, flow, source, scope, entity_id, payload, dedupe_key,
                 received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    ns.client,
                    ns.flow,
                    event.source,
                    event.scope,
                    event.entity_id,
                    event.payload,
                    event.dedupe_key,
                    ts(&now)
                ],
            )?;
            ids.push(tx.last_insert_rowid());
        }
        tx.commit()?;
        Ok(InboxPut::Stored(ids))
    }

    fn inbox_claim(&self, lease: &Lease, limit: u32) -> Result<Vec<InboxRecord>> {
        check_ns(&lease.ns)?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM leases WHERE client = ?1 AND flow = ?2 AND token = ?3
             AND holder IS NOT NULL AND expires_at > ?4)",
            params![lease.ns.client, lease.ns.flow, lease.token, now],
            |r| r.get(0),
        )?;
        if !current {
            return Err(StoreError::LeaseLost(lease.ns.clone()));
        }
        let raw = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {INBOX_COLUMNS}, claimed_by IS NOT NULL FROM inbox
                 WHERE client = ?1 AND flow = ?2 AND (claimed_by IS NULL OR claimed_by <> ?3)
                 ORDER BY id LIMIT ?4"
            ))?;
            stmt.query_map(
                params![lease.ns.client, lease.ns.flow, lease.token, limit],
                |r| Ok((inbox_row(r)?, r.get::<_, bool>(9)?)),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut out = Vec::with_capacity(raw.len());
        for (mut r, stale) in raw {
            // A claim under an older token is a run that died with it: one attempt more.
            if stale {
                r.8 += 1;
            }
            tx.execute(
                "UPDATE inbox SET claimed_by = ?2, attempts = ?3 WHERE id = ?1",
                params![r.0, lease.token, r.8],
            )?;
            out.push(r);
        }
        tx.commit()?;
        out.into_iter().map(inbox_record).collect()
    }

    fn inbox_done(&self, lease: &Lease, ids: &[i64]) -> Result<u64> {
        check_ns(&lease.ns)?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut n = 0;
        for id in ids {
            n += tx.execute(
                "DELETE FROM inbox WHERE id = ?1 AND client = ?2 AND flow = ?3 AND claimed_by = ?4",
                params![id, lease.ns.client, lease.ns.flow, lease.token],
            )? as u64;
        }
        tx.commit()?;
        Ok(n)
    }

    fn inbox_release(&self, lease: &Lease) -> Result<u64> {
        check_ns(&lease.ns)?;
        let conn = self.lock();
        Ok(conn.execute(
            "UPDATE inbox SET claimed_by = NULL, attempts = attempts + 1
             WHERE client = ?1 AND flow = ?2 AND claimed_by = ?3",
            params![lease.ns.client, lease.ns.flow, lease.token],
        )? as u64)
    }

    fn inbox(&self, ns: Option<&Namespace>, limit: u32) -> Result<Vec<InboxRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {INBOX_COLUMNS} FROM inbox
             WHERE (?1 IS NULL OR client = ?1) AND (?2 IS NULL OR flow = ?2)
             ORDER BY id LIMIT ?3"
        ))?;
        let raw = stmt
            .query_map(
                params![
                    ns.map(|n| n.client.as_str()),
                    ns.map(|n| n.flow.as_str()),
                    limit
                ],
                inbox_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(inbox_record).collect()
    }

    fn inbox_len(&self, ns: &Namespace) -> Result<u64> {
        check_ns(ns)?;
        let conn = self.lock();
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM inbox WHERE client = ?1 AND flow = ?2",
            params![ns.client, ns.flow],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    fn lease_acquire(
        &self,
        ns: &Namespace,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>> {
        check_ns(ns)?;
        if holder.is_empty() {
            return Err(StoreError::Invalid {
                what: "lease holder",
                detail: "must be non-empty".into(),
            });
        }
        let now = self.now_time();
        let expires_at = plus(now, ttl);
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(Option<String>, i64, String)> = tx
            .query_row(
                "SELECT holder, token, expires_at FROM leases WHERE client = ?1 AND flow = ?2",
                params![ns.client, ns.flow],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let token = match row {
            Some((Some(_), _, exp)) if exp > ts(&now) => return Ok(None),
            Some((_, token, _)) => token + 1,
            None => 1,
        };
        tx.execute(
            "INSERT INTO leases (client, flow, holder, token, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (client, flow) DO UPDATE SET holder = ?3, token = ?4, expires_at = ?5",
            params![ns.client, ns.flow, holder, token, ts(&expires_at)],
        )?;
        tx.commit()?;
        Ok(Some(Lease {
            ns: ns.clone(),
            holder: holder.to_string(),
            token,
            expires_at,
        }))
    }

    fn lease_renew(&self, lease: &Lease, ttl: std::time::Duration) -> Result<Option<Lease>> {
        check_ns(&lease.ns)?;
        let expires_at = plus(self.now_time(), ttl);
        let conn = self.lock();
        let changed = conn.execute(
            "UPDATE leases SET expires_at = ?4
             WHERE client = ?1 AND flow = ?2 AND token = ?3 AND holder IS NOT NULL",
            params![lease.ns.client, lease.ns.flow, lease.token, ts(&expires_at)],
        )?;
        Ok((changed == 1).then(|| Lease {
            expires_at,
            ..lease.clone()
        }))
    }

    fn lease_release(&self, lease: &Lease) -> Result<()> {
        check_ns(&lease.ns)?;
        let now = self.now();
        let conn = self.lock();
        conn.execute(
            "UPDATE leases SET holder = NULL, expires_at = ?4
             WHERE client = ?1 AND flow = ?2 AND token = ?3",
            params![lease.ns.client, lease.ns.flow, lease.token, now],
        )?;
        Ok(())
    }

    fn audit(&self, line: &AuditLine) -> Result<()> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO audit (at, client, flow, system, method, path, status, millis,
                                request_id, outcome, attempt)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                ts(&line.at),
                line.client,
                line.flow,
                line.system,
                line.method,
                line.path,
                line.status,
                line.millis,
                line.request_id,
                line.outcome,
                line.attempt
            ],
        )?;
        Ok(())
    }

    fn audit_lines(&self, client: Option<&str>, limit: u32) -> Result<Vec<AuditLine>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT at, client, flow, system, method, path, status, millis, request_id, outcome,
                    attempt
             FROM audit WHERE (?1 IS NULL OR client = ?1) ORDER BY id DESC LIMIT ?2",
        )?;
        let raw = stmt
            .query_map(params![client, limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    AuditLine {
                        at: DateTime::<Utc>::MIN_UTC,
                        client: r.get(1)?,
                        flow: r.get(2)?,
                        system: r.get(3)?,
                        method: r.get(4)?,
                        path: r.get(5)?,
                        status: r.get(6)?,
                        millis: r.get(7)?,
                        request_id: r.get(8)?,
                        outcome: r.get(9)?,
                        attempt: r.get(10)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(at, mut line)| {
                line.at = parse_ts("audit time", &at)?;
                Ok(line)
            })
            .collect()
    }
}
