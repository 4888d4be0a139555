//! The flow engine: one runner for every flow.
//!
//! A flow implements [`Flow`]: which entity it keeps in step ([`Settings`]), which events
//! are about it, how its scheduled sweep reads candidates, and how one entity is processed
//! (fetch, map, post). [`run`] owns everything else, the same way for every flow:
//!
//! - **candidates**: the trigger's events, a replay's references, or the scheduled sweep
//!   (cursor minus overlap, or the flow's clock minus the initial look-back when there is no
//!   cursor yet), plus every entity held, pending or with open work from earlier runs;
//! - **the cursor** `cursor:<flow>`: the newest modification time the sweep has seen, moved
//!   only when a run finishes (never backwards, never by an empty sweep);
//! - **the idempotent write protocol** ([`Cx::write_once`]): attempt marker, lookup by the
//!   external reference after an outcome-unknown or a crash, link in state;
//! - **holds** ([`Cx::hold`]) with one exception per problem kind, resolved by themselves
//!   when the cause is gone; **pending** entities ([`Cx::pending`]) retried every run, with
//!   an exception after `retry_exception_after` runs;
//! - **stopping the run** on credential errors (401/403): no further entity is touched, the
//!   cursor is not moved, the run fails with `FlowError::Upstream`;
//! - **one typed state-key scheme** ([`Key`], [`Mark`]): `"{mark}:{kind}:{id}"`, e.g.
//!   `link:order:118`, `attempt:payment:bc-txn-9`, `held:order:118`.
//!
//! Money impacts are [`Impact`]s: a `Decimal` in a named currency.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::capabilities::{Api, ApiError, Report, State};
use crate::dates::Timestamp;
use crate::money;
use crate::types::{Event, Exception, FlowError, Level, Money, RunSummary, System, Team, Trigger};

/// Most held, pending or open entities retried in one run.
pub const MAX_RETRIED: u32 = 10_000;

/// Exception kind raised when a stored link is not an id (the state was edited or
/// corrupted): the entity is held rather than posted again.
pub const CORRUPT_LINK: &str = "corrupt-link";

/// What a state key records about an entity; the key is `"{mark}:{kind}:{id}"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `link:` → the id of what was written for the entity in the other system.
    Link,
    /// `attempt:` → a write was sent and its link is not stored yet: look it up by its
    /// external reference before writing again.
    Attempt,
    /// `held:` → `{"kinds":[..]}`: held with these open exceptions, retried every run.
    Held,
    /// `retry:` → `{"attempts":n,"error":"..","impact":..}`: a retryable failure, retried
    /// every run.
    Retry,
    /// `done:` → the entity's version (e.g. its `date_modified`) when it was last clear: the
    /// sweep's overlap sees it again unchanged at no cost.
    Done,
    /// Flow-specific outstanding work, retried every run (e.g. `unpaid:`); the flow lists
    /// these in [`Settings::open_marks`].
    Open(&'static str),
    /// A flow's cache of something it read (e.g. `contact:email:<e-mail>`); never a
    /// candidate.
    Cache(&'static str),
}

impl Mark {
    /// The key prefix word, e.g. `link`.
    pub fn word(self) -> &'static str {
        match self {
            Mark::Link => "link",
            Mark::Attempt => "attempt",
            Mark::Held => "held",
            Mark::Retry => "retry",
            Mark::Done => "done",
            Mark::Open(w) | Mark::Cache(w) => w,
        }
    }
}

/// One entity as the engine names it: the system it comes from, its kind and its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub system: System,
    /// e.g. `order`, `payment`, `note:order`.
    pub kind: &'static str,
    pub id: String,
}

impl Key {
    pub fn new(system: System, kind: &'static str, id: impl Display) -> Key {
        Key {
            system,
            kind,
            id: id.to_string(),
        }
    }

    /// The entity reference of exceptions and replays, e.g. `bigcommerce:order:118`.
    pub fn entity(&self) -> String {
        format!("{}:{}:{}", self.system.name(), self.kind, self.id)
    }

    /// The state key of `mark` for this entity, e.g. `link:order:118`.
    pub fn state(&self, mark: Mark) -> String {
        format!("{}:{}:{}", mark.word(), self.kind, self.id)
    }

    /// The state-key prefix of `mark` for every entity of `kind`, e.g. `held:order:`.
    pub fn prefix(mark: Mark, kind: &str) -> String {
        format!("{}:{kind}:", mark.word())
    }

    /// A related entity with the same id, e.g. the order's note `note:order:118`.
    pub fn with_kind(&self, kind: &'static str) -> Key {
        Key {
            system: self.system,
            kind,
            id: self.id.clone(),
        }
    }
}

/// Money at stake: a decimal amount in an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub amount: Decimal,
    pub currency: String,
}

impl Impact {
    pub fn new(amount: Decimal, currency: impl Into<String>) -> Impact {
        Impact {
            amount,
            currency: currency.into(),
        }
    }

    /// The WIT `money` of the impact: the amount with 2 to 4 decimals (`12.30`,
    /// `3.3333`); `None` when it is zero or has no currency (nothing to name).
    pub fn money(&self) -> Option<Money> {
        (!self.amount.is_zero() && !self.currency.is_empty()).then(|| Money {
            amount: amount_text(self.amount),
            currency: self.currency.clone(),
        })
    }
}

/// An amount with 2 to 4 decimals, as the rest of the run's messages show money.
pub fn amount_text(d: Decimal) -> String {
    let scale = d.normalize().scale();
    money::format(d, scale.clamp(2, 4))
}

/// One reason to hold an entity: an exception the flow raises and retries itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Kebab-case kind with a runbook entry, e.g. `unmapped-sku`.
    pub kind: &'static str,
    pub owner: Team,
    /// Names the entity and the field or value.
    pub message: String,
    pub impact: Option<Impact>,
}

/// Why one entity stopped.
#[derive(Debug)]
pub enum Stop {
    /// An API failure: a 401/403 stops the run; any other leaves the entity pending.
    Api(ApiError),
    /// Problems that hold the entity, each raised as an exception.
    Hold(Vec<Problem>),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Api(e)
    }
}

impl From<Problem> for Stop {
    fn from(p: Problem) -> Self {
        Stop::Hold(vec![p])
    }
}

/// How one entity ended in [`Flow::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything it needs is written: what it was held or pending for is resolved.
    Clear,
    /// Nothing to do now (not found, filtered out, unchanged); its state is left as it is.
    Unchanged,
    /// Its last writes are queued; the flow settles it later in the run (e.g. in
    /// [`Flow::finish`]) with [`Cx::clear`], [`Cx::hold`] or [`Cx::pending`].
    Deferred,
}

/// What a scheduled run sweeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// The entities modified since the cursor minus the overlap (incremental).
    Since(SweepSettings),
    /// Every entity, each run (a full sync); no cursor.
    All,
}

/// The incremental sweep's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// Minutes before the cursor the sweep starts (clock skew, late commits).
    pub overlap_minutes: i64,
    /// Hours before the flow's clock the first sweep (no cursor yet) starts.
    pub initial_lookback_hours: i64,
}

/// What the engine needs to know about a flow.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The flow's name: its cursor is `cursor:<name>`.
    pub name: &'static str,
    /// The system its entities come from, e.g. BigCommerce for orders.
    pub system: System,
    /// The entity kind, e.g. `order`: keys `link:order:<id>`, entity
    /// `bigcommerce:order:<id>`.
    pub kind: &'static str,
    /// The entity kind in plural for notes, e.g. `orders`.
    pub plural: &'static str,
    /// Flow-specific marks of outstanding work, retried every run, e.g. `["unpaid"]`.
    pub open_marks: &'static [&'static str],
    /// The exception raised for an entity still pending after `retry_exception_after` runs,
    /// e.g. `order-post-failed`, and its owner.
    pub retry_kind: &'static str,
    pub retry_owner: Team,
    pub retry_exception_after: u32,
    /// `None` when the flow has no scheduled sweep.
    pub sweep: Option<Sweep>,
    /// The run summary's counters, in the order they are reported (all reported, 0 too).
    pub counters: &'static [&'static str],
}

impl Settings {
    /// The key of the entity `id` of this flow's kind.
    pub fn key(&self, id: impl Display) -> Key {
        Key::new(self.system, self.kind, id)
    }
}

/// One entity read by the sweep.
pub struct Swept<Id, Item> {
    pub id: Id,
    /// When it was last modified (moves the cursor); `None` when unreadable.
    pub modified: Option<Timestamp>,
    pub item: Item,
}

/// What [`Flow::sweep`] returns.
pub type SweptList<F> = Vec<Swept<<F as Flow>::Id, <F as Flow>::Item>>;

/// A flow on the engine: it supplies only its own reading, mapping and writing.
pub trait Flow {
    /// The id of one entity, e.g. a BigCommerce order id.
    type Id: Ord + Clone + Display + FromStr;
    /// What the sweep reads for one entity and hands to [`Flow::process`].
    type Item;

    fn settings(&self) -> Settings;

    /// The entity id an event is about, when the event is for this flow (`None` otherwise).
    fn event_id(&self, event: &Event) -> Option<String>;

    /// The time a first sweep counts its look-back from (default: the run's `now`; e.g. the
    /// store's own clock).
    fn clock(&mut self, cx: &mut Cx) -> Result<Timestamp, ApiError> {
        Ok(cx.now)
    }

    /// The entities modified since `from` (UTC), oldest first; a later copy of the same id
    /// wins ([`Sweep::All`]: every entity, `from` is the unix epoch). Only called when
    /// [`Settings::sweep`] is set.
    fn sweep(&mut self, _cx: &mut Cx, _from: Timestamp) -> Result<SweptList<Self>, ApiError> {
        Ok(vec![])
    }

    /// Read ahead for the swept entities in bulk (e.g. their customers). A credential error
    /// fails the run; any other is logged and each entity reads for itself.
    fn prefetch(&mut self, _cx: &mut Cx, _items: &[&Self::Item]) -> Result<(), ApiError> {
        Ok(())
    }

    /// Process one entity (`item` when the sweep read it). [`Stop::Hold`] holds it,
    /// [`Stop::Api`] leaves it pending or stops the run (401/403).
    fn process(
        &mut self,
        cx: &mut Cx,
        id: &Self::Id,
        item: Option<Self::Item>,
    ) -> Result<Outcome, Stop>;

    /// After the last entity: send what is queued and settle deferred entities.
    fn finish(&mut self, _cx: &mut Cx) {}
}

#[derive(Serialize, Deserialize, Default)]
struct Held {
    kinds: Vec<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct Retry {
    attempts: u32,
    error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    impact: Option<Impact>,
}

/// How one idempotent write ended ([`Cx::write_once`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Linked already: nothing was sent.
    Linked(u64),
    /// Created now.
    Created(u64),
    /// This run's write committed but its answer was lost; found by external reference.
    Recovered(u64),
    /// Written by an earlier run whose link was never stored; found by external reference.
    Found(u64),
}

impl Written {
    /// The id in the other system.
    pub fn id(self) -> u64 {
        match self {
            Written::Linked(id)
            | Written::Created(id)
            | Written::Recovered(id)
            | Written::Found(id) => id,
        }
    }

    /// True when this run's write made it (created, or recovered after a lost answer).
    pub fn by_this_run(self) -> bool {
        matches!(self, Written::Created(_) | Written::Recovered(_))
    }
}

/// Send `req`: a 2xx answer is returned; any other status is an [`ApiError::Status`] with the
/// server's error items, a failure to deliver an [`ApiError::Send`]; `what` (e.g.
/// `PUT /v3/inventory/adjustments/absolute`) names the call in both.
pub fn send(
    api: &dyn Api,
    req: crate::types::Request,
    what: &str,
) -> Result<crate::types::Response, ApiError> {
    crate::http::send(api, req, what)
}

/// `GET path` on `system`, a 2xx body decoded as JSON into `T`; any other status is an
/// [`ApiError::Status`] naming `GET path`, an undecodable body an [`ApiError::Decode`]. For
/// endpoints the typed clients ([`crate::bigcommerce`], [`crate::brightpearl`]) lack.
pub fn get_json<T: serde::de::DeserializeOwned>(
    api: &dyn Api,
    system: System,
    path: &str,
) -> Result<T, ApiError> {
    let what = format!("GET {}", path.split('?').next().unwrap_or(path));
    let resp = crate::http::send(api, crate::types::Request::get(system, path), &what)?;
    crate::http::decode(&resp.body, &what)
}

/// `POST path` on `system` with a JSON `body`, the 2xx answer decoded into `T` (errors as
/// [`get_json`]'s, naming `POST path`). Not idempotent by itself: call it inside
/// [`Cx::write_once`].
pub fn post_json<T: serde::de::DeserializeOwned>(
    api: &dyn Api,
    system: System,
    path: &str,
    body: &impl Serialize,
) -> Result<T, ApiError> {
    let what = format!("POST {}", path.split('?').next().unwrap_or(path));
    let body = serde_json::to_string(body).map_err(|e| ApiError::Decode {
        what: what.clone(),
        message: format!("cannot encode the body: {e}"),
    })?;
    let resp = crate::http::send(api, crate::types::Request::post(system, path, body), &what)?;
    crate::http::decode(&resp.body, &what)
}

/// True for an answered 4xx other than 401/403: the server refused the write and nothing
/// was created.
pub fn is_rejection(e: &ApiError) -> bool {
    e.credentials_problem().is_none() && !e.is_retryable() && e.status().is_some()
}

/// The run: the host capabilities, the clock and what the run has done so far.
pub struct Cx<'a> {
    pub api: &'a dyn Api,
    pub state: &'a dyn State,
    pub report: &'a dyn Report,
    /// The run's time (UTC).
    pub now: Timestamp,
    settings: Settings,
    counts: BTreeMap<&'static str, u64>,
    notes: Vec<String>,
    stop: Option<String>,
    versions: BTreeMap<String, String>,
    impacts: BTreeMap<String, Impact>,
    /// Candidates done and in all, for `report.progress`.
    done: u64,
    total: u64,
}

impl<'a> Cx<'a> {
    /// A context for `settings` over the capabilities (for running flow code outside
    /// [`run`], e.g. in tests).
    pub fn new(
        settings: Settings,
        api: &'a dyn Api,
        state: &'a dyn State,
        report: &'a dyn Report,
        now: Timestamp,
    ) -> Self {
        Cx {
            api,
            state,
            report,
            now,
            settings,
            counts: BTreeMap::new(),
            notes: vec![],
            stop: None,
            versions: BTreeMap::new(),
            impacts: BTreeMap::new(),
            done: 0,
            total: 0,
        }
    }

    /// `n` more candidates are done: reported as `report.progress(done, total)`. The engine
    /// calls it for each candidate `process` settled; a flow calls it for the candidates it
    /// deferred ([`Outcome::Deferred`]) as it finishes them.
    pub fn progress(&mut self, n: u64) {
        self.done += n;
        self.report.progress(self.done, Some(self.total));
    }

    /// The key of the entity `id` of the flow's kind.
    pub fn key(&self, id: impl Display) -> Key {
        self.settings.key(id)
    }

    /// Add 1 to a counter of the run summary.
    pub fn count(&mut self, name: &'static str) {
        *self.counts.entry(name).or_default() += 1;
    }

    /// The value of a counter so far.
    pub fn counted(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// A note for the run summary.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    pub fn log(&self, level: Level, message: &str) {
        self.report.log(level, message);
    }

    /// Stop the run (bad credentials): no further entity is touched and the run fails with
    /// `FlowError::Upstream(message)`. The first message wins.
    pub fn stop(&mut self, message: String) {
        self.stop.get_or_insert(message);
    }

    /// True once the run is stopping.
    pub fn stopping(&self) -> bool {
        self.stop.is_some()
    }

    /// The id `key` is linked to. A stored link that is not a positive id is a [`CORRUPT_LINK`]
    /// problem naming the state key and its value (the entity is held, never written
    /// again).
    pub fn linked(&self, key: &Key) -> Result<Option<u64>, Problem> {
        let state_key = key.state(Mark::Link);
        let Some(entry) = self.state.get(&state_key) else {
            return Ok(None);
        };
        match entry.value.trim().parse::<u64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(Problem {
                kind: CORRUPT_LINK,
                owner: Team::Integration,
                message: format!(
                    "{}: state key `{state_key}` holds {:?}, which is not an id; set it to the id of what was written for it (look it up by its external reference) and do not delete it, or it is written again",
                    key.entity(),
                    entry.value
                ),
                impact: self.impacts.get(&key.entity()).cloned(),
            }),
        }
    }

    /// Store the link of `key` and forget its attempt marker.
    pub fn link(&self, key: &Key, id: u64) {
        self.state.set(&key.state(Mark::Link), &id.to_string());
        self.state.delete(&key.state(Mark::Attempt));
    }

    /// Mark that a write for `key` (`what`, e.g. `sales-order`) is about to be sent.
    pub fn mark_attempt(&self, key: &Key, what: &str) {
        self.state.set(&key.state(Mark::Attempt), what);
    }

    /// True when a write for `key` was sent and its link is not stored.
    pub fn has_attempt(&self, key: &Key) -> bool {
        self.state.get(&key.state(Mark::Attempt)).is_some()
    }

    /// Forget the attempt marker of `key` (the server answered: nothing was created).
    pub fn forget_attempt(&self, key: &Key) {
        self.state.delete(&key.state(Mark::Attempt));
    }

    /// Set, read or clear a flow-specific mark of `key` ([`Mark::Open`], [`Mark::Cache`]).
    pub fn set_mark(&self, key: &Key, mark: Mark, value: &str) {
        self.state.set(&key.state(mark), value);
    }

    pub fn mark(&self, key: &Key, mark: Mark) -> Option<String> {
        self.state.get(&key.state(mark)).map(|e| e.value)
    }

    pub fn clear_mark(&self, key: &Key, mark: Mark) {
        self.state.delete(&key.state(mark));
    }

    /// True when `key` is held, pending or has open work ([`Settings::open_marks`]).
    pub fn has_open_work(&self, key: &Key) -> bool {
        [Mark::Held, Mark::Retry]
            .into_iter()
            .chain(self.settings.open_marks.iter().map(|m| Mark::Open(m)))
            .any(|m| self.state.get(&key.state(m)).is_some())
    }

    /// Record the version (e.g. `date_modified`) of `key` seen in this run: stored as its
    /// `done:` mark when it is cleared with no open work left.
    pub fn seen(&mut self, key: &Key, version: &str) {
        self.versions.insert(key.entity(), version.to_string());
    }

    /// True when `key` was cleared at exactly `version` and has no open work since.
    pub fn unchanged_since_done(&self, key: &Key, version: &str) -> bool {
        self.state
            .get(&key.state(Mark::Done))
            .is_some_and(|d| d.value == version)
            && !self.has_open_work(key)
    }

    /// Record the money at stake for `key` (e.g. the order total): pending exceptions of
    /// later runs name it too, even when the entity cannot be read then.
    pub fn at_stake(&mut self, key: &Key, impact: Impact) {
        self.impacts.insert(key.entity(), impact);
    }

    /// The money at stake recorded for `key` in this run.
    pub fn stake(&self, key: &Key) -> Option<Impact> {
        self.impacts.get(&key.entity()).cloned()
    }

    /// Raise (or update) an exception about `entity`.
    pub fn raise(
        &self,
        kind: &str,
        entity: &str,
        owner: Team,
        message: String,
        impact: Option<&Impact>,
        retryable: bool,
    ) {
        self.report.raise(Exception {
            kind: kind.into(),
            entity: entity.into(),
            message,
            owner,
            impact: impact.and_then(Impact::money),
            retryable,
        });
    }

    /// Write once, whatever happened to earlier attempts:
    /// 1. linked already → [`Written::Linked`], nothing sent;
    /// 2. with `search_first`, or when an earlier attempt's marker is left, `find` (lookup
    ///    by external reference) first: found → linked, [`Written::Found`];
    /// 3. the attempt marker is stored, `create` sends the write: its id is linked;
    /// 4. outcome unknown → `find` again: found → [`Written::Recovered`]; not found → the
    ///    error, marker kept (the next run searches first);
    /// 5. answered 4xx (401/403 included) → marker forgotten (nothing was created), the
    ///    error; any other failure keeps the marker.
    ///
    /// A corrupt link holds the entity ([`Stop::Hold`] with [`CORRUPT_LINK`], see
    /// [`Cx::linked`]); nothing is sent.
    pub fn write_once(
        &self,
        key: &Key,
        what: &str,
        search_first: bool,
        mut find: impl FnMut() -> Result<Option<u64>, ApiError>,
        create: impl FnOnce() -> Result<u64, ApiError>,
    ) -> Result<Written, Stop> {
        if let Some(id) = self.linked(key)? {
            return Ok(Written::Linked(id));
        }
        if (search_first || self.has_attempt(key))
            && let Some(found) = find()?
        {
            self.link(key, found);
            return Ok(Written::Found(found));
        }
        self.mark_attempt(key, what);
        match create() {
            Ok(id) => {
                self.link(key, id);
                Ok(Written::Created(id))
            }
            Err(e) if e.is_outcome_unknown() => match find()? {
                Some(found) => {
                    self.link(key, found);
                    Ok(Written::Recovered(found))
                }
                None => Err(Stop::Api(e)),
            },
            Err(e) => {
                if e.status()
                    .is_some_and(|s| (400..500).contains(&s) && s != 429)
                {
                    self.forget_attempt(key);
                }
                Err(Stop::Api(e))
            }
        }
    }

    /// Hold `key`: one exception per problem (retryable); kinds it was held for before that
    /// are gone now are resolved; a pending retry is resolved (the hold says why now).
    pub fn hold(&mut self, key: &Key, problems: Vec<Problem>) {
        let entity = key.entity();
        let held_key = key.state(Mark::Held);
        let before = self
            .state
            .get(&held_key)
            .and_then(|e| serde_json::from_str::<Held>(&e.value).ok())
            .unwrap_or_default();
        let mut now: Vec<String> = vec![];
        for p in problems {
            let impact = p.impact.clone().or_else(|| self.stake(key));
            self.raise(p.kind, &entity, p.owner, p.message, impact.as_ref(), true);
            if !now.iter().any(|k| k == p.kind) {
                now.push(p.kind.to_string());
            }
        }
        for kind in before.kinds.iter().filter(|k| !now.contains(k)) {
            self.report.resolve(kind, &entity);
        }
        self.state.set(
            &held_key,
            &serde_json::to_string(&Held { kinds: now }).unwrap_or_default(),
        );
        self.clear_retry(key);
        self.count("held");
    }

    /// A retryable failure (or one the flow cannot classify): `key` stays pending and is
    /// retried on the next run; after `retry_exception_after` runs the flow's retry
    /// exception (e.g. `order-post-failed`) is raised with the money at stake (this run's
    /// [`Cx::at_stake`], else the one recorded by an earlier run).
    pub fn pending(&mut self, key: &Key, error: &str) {
        let entity = key.entity();
        let retry_key = key.state(Mark::Retry);
        let mut retry = self
            .state
            .get(&retry_key)
            .and_then(|e| serde_json::from_str::<Retry>(&e.value).ok())
            .unwrap_or_default();
        retry.attempts += 1;
        retry.error = error.to_string();
        if let Some(impact) = self.stake(key) {
            retry.impact = Some(impact);
        }
        self.state.set(
            &retry_key,
            &serde_json::to_string(&retry).unwrap_or_default(),
        );
        self.log(
            Level::Warn,
            &format!("{entity}: pending ({} run(s)): {error}", retry.attempts),
        );
        let s = &self.settings;
        if retry.attempts >= s.retry_exception_after {
            self.raise(
                s.retry_kind,
                &entity,
                s.retry_owner,
                format!(
                    "{entity}: not posted after {} runs; last error: {error}",
                    retry.attempts
                ),
                retry.impact.as_ref(),
                true,
            );
        }
        self.count("pending_retry");
    }

    /// `key` is done: resolve what it was held or pending for, and store its `done:` mark
    /// (the version seen in this run) unless open work is left.
    pub fn clear(&mut self, key: &Key) {
        let entity = key.entity();
        if let Some(version) = self.versions.get(&entity)
            && !version.is_empty()
            && !self
                .settings
                .open_marks
                .iter()
                .any(|m| self.state.get(&key.state(Mark::Open(m))).is_some())
        {
            self.state.set(&key.state(Mark::Done), version);
        }
        let held_key = key.state(Mark::Held);
        if let Some(held) = self
            .state
            .get(&held_key)
            .and_then(|e| serde_json::from_str::<Held>(&e.value).ok())
        {
            for kind in held.kinds {
                self.report.resolve(&kind, &entity);
            }
            self.state.delete(&held_key);
        }
        self.clear_retry(key);
    }

    fn clear_retry(&self, key: &Key) {
        let retry_key = key.state(Mark::Retry);
        if self.state.get(&retry_key).is_some() {
            self.report.resolve(self.settings.retry_kind, &key.entity());
            self.state.delete(&retry_key);
        }
    }

    /// Handle a failure of `key`: a credential error stops the run, any other leaves it
    /// pending.
    pub fn failed(&mut self, key: &Key, e: &ApiError) {
        match e.credentials_problem() {
            Some(message) => self.stop(message),
            None => self.pending(key, &e.to_string()),
        }
    }
}

/// The id of a replay reference `<system>:<kind>:<id>`; any other reference is an
/// `Internal` error naming it.
fn replay_id<Id: FromStr>(s: &Settings, reference: &str) -> Result<Id, FlowError> {
    let prefix = format!("{}:{}:", s.system.name(), s.kind);
    reference
        .strip_prefix(&prefix)
        .and_then(|id| id.parse::<Id>().ok())
        .ok_or_else(|| {
            FlowError::Internal(format!(
                "replay reference `{reference}` is not of the form {prefix}<id>"
            ))
        })
}

fn upstream(e: &ApiError) -> FlowError {
    FlowError::Upstream(e.credentials_problem().unwrap_or_else(|| e.to_string()))
}

/// What a scheduled sweep read.
struct Window<Id, Item> {
    swept: Vec<(Id, Item)>,
    cursor: Option<Timestamp>,
    note: String,
}

fn sweep<F: Flow>(
    flow: &mut F,
    cx: &mut Cx,
    s: &Settings,
    sw: Sweep,
) -> Result<Window<F::Id, F::Item>, ApiError> {
    let sw = match sw {
        Sweep::Since(sw) => sw,
        Sweep::All => {
            let mut by_id: BTreeMap<F::Id, F::Item> = BTreeMap::new();
            for one in flow.sweep(cx, Timestamp(0))? {
                by_id.insert(one.id, one.item);
            }
            let n = by_id.len();
            return Ok(Window {
                swept: by_id.into_iter().collect(),
                cursor: None,
                note: format!("swept all {}: {n} seen", s.plural),
            });
        }
    };
    let cursor_key = format!("cursor:{}", s.name);
    let stored = cx
        .state
        .get(&cursor_key)
        .and_then(|e| Timestamp::parse_iso8601(&e.value).ok());
    let overlap = sw.overlap_minutes;
    let lookback = sw.initial_lookback_hours;
    let (start, why) = match stored {
        Some(t) => (
            t,
            format!("cursor {} − overlap_minutes = {overlap}", t.to_iso8601()),
        ),
        None => (
            flow.clock(cx)?.plus_seconds(-lookback * 3600),
            format!("no cursor yet: initial_lookback_hours = {lookback}"),
        ),
    };
    let from = start.plus_seconds(-overlap * 60);
    let mut newest: Option<Timestamp> = None;
    let mut by_id: BTreeMap<F::Id, F::Item> = BTreeMap::new();
    for one in flow.sweep(cx, from)? {
        if let Some(t) = one.modified {
            newest = Some(newest.map_or(t, |n| n.max(t)));
        }
        by_id.insert(one.id, one.item); // oldest first: the last copy is the newest
    }
    let cursor = newest.map(|n| stored.map_or(n, |c| c.max(n)));
    let (one, many) = (s.plural.strip_suffix('s').unwrap_or(s.plural), s.plural);
    let seen = match by_id.len() {
        1 => format!("1 {one} seen"),
        n => format!("{n} {many} seen"),
    };
    let after = match (cursor, stored) {
        (Some(c), _) => format!("cursor {}", c.to_iso8601()),
        (None, Some(_)) => "cursor unchanged".to_string(),
        (None, None) => "no cursor saved".to_string(),
    };
    Ok(Window {
        swept: by_id.into_iter().collect(),
        cursor,
        note: format!(
            "swept {many} modified since {} ({why}): {seen}; {after}",
            from.to_iso8601()
        ),
    })
}

/// Run `flow` for one trigger at `now` (UTC). Per-entity problems become exceptions and
/// counters. The run fails when:
/// - a replay reference is not `<system>:<kind>:<id>` (`FlowError::Internal`, before any
///   call);
/// - the sweep cannot read its candidates (`FlowError::Upstream`);
/// - either system answers 401 or 403 (`FlowError::Upstream` with
///   [`ApiError::credentials_problem`]'s message): the run stops at once, no further
///   entity is touched and the cursor is not moved.
pub fn run<F: Flow>(
    flow: &mut F,
    trigger: &Trigger,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    now: Timestamp,
) -> Result<RunSummary, FlowError> {
    let s = flow.settings();
    let mut cx = Cx::new(s.clone(), api, state, report, now);
    let mut candidates: BTreeMap<F::Id, Option<F::Item>> = BTreeMap::new();
    let mut cursor = None;
    match trigger {
        Trigger::Events(events) => {
            for e in events {
                let Some(raw) = flow.event_id(e) else {
                    continue;
                };
                match raw.trim().parse::<F::Id>() {
                    Ok(id) => {
                        candidates.insert(id, None);
                    }
                    Err(_) => cx.log(
                        Level::Warn,
                        &format!(
                            "event {} has an entity id {raw:?} that is not a {} id",
                            e.scope, s.kind
                        ),
                    ),
                }
            }
        }
        Trigger::Replay(refs) => {
            // Every reference is checked before anything is done.
            for reference in refs {
                candidates.insert(replay_id(&s, reference)?, None);
            }
        }
        Trigger::Scheduled => {
            if let Some(sw) = s.sweep {
                let window = sweep(flow, &mut cx, &s, sw).map_err(|e| upstream(&e))?;
                let items: Vec<&F::Item> = window.swept.iter().map(|(_, i)| i).collect();
                if let Err(e) = flow.prefetch(&mut cx, &items) {
                    if e.credentials_problem().is_some() {
                        return Err(upstream(&e));
                    }
                    cx.log(Level::Warn, &format!("read-ahead skipped: {e}"));
                }
                for (id, item) in window.swept {
                    candidates.insert(id, Some(item));
                }
                cursor = window.cursor;
                cx.note(window.note);
            }
        }
    }
    // Entities held, pending or with open work from earlier runs are retried every run.
    let marks = [Mark::Held, Mark::Retry]
        .into_iter()
        .chain(s.open_marks.iter().map(|m| Mark::Open(m)));
    for mark in marks {
        let prefix = Key::prefix(mark, s.kind);
        for (key, _) in state.list(&prefix, MAX_RETRIED) {
            if let Ok(id) = key[prefix.len()..].parse::<F::Id>() {
                candidates.entry(id).or_insert(None);
            }
        }
    }
    cx.total = candidates.len() as u64;
    for (id, item) in candidates {
        let key = s.key(&id);
        let outcome = flow.process(&mut cx, &id, item);
        let deferred = matches!(outcome, Ok(Outcome::Deferred));
        match outcome {
            Ok(Outcome::Clear) => cx.clear(&key),
            Ok(Outcome::Unchanged | Outcome::Deferred) => {}
            Err(Stop::Hold(problems)) => cx.hold(&key, problems),
            Err(Stop::Api(e)) => cx.failed(&key, &e),
        }
        if let Some(message) = cx.stop.take() {
            report.log(Level::Error, &format!("run stopped: {message}"));
            return Err(FlowError::Upstream(message));
        }
        if !deferred {
            cx.progress(1);
        }
    }
    flow.finish(&mut cx);
    if let Some(message) = cx.stop.take() {
        report.log(Level::Error, &format!("run stopped: {message}"));
        return Err(FlowError::Upstream(message));
    }
    if let Some(c) = cursor {
        state.set(&format!("cursor:{}", s.name), &c.to_iso8601());
    }
    let mut counts: Vec<(String, u64)> = s
        .counters
        .iter()
        .map(|c| (c.to_string(), cx.counted(c)))
        .collect();
    for (name, n) in &cx.counts {
        if !s.counters.contains(name) {
            counts.push((name.to_string(), *n));
        }
    }
    Ok(RunSummary {
        counts,
        notes: cx.notes,
    })
}
