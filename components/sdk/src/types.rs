//! Plain Rust mirrors of the WIT records in `wit/flow.wit` (`pearlbridge:flow/types`).
//!
//! Flows work with these types (they derive `PartialEq`, so tests can compare them); the
//! [`crate::host`] module converts them to and from the generated bindings.

use crate::bindings::pearlbridge::flow::types as wit;

/// The external system a request goes to (WIT `system`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    /// Paths are relative to `/stores/{store_hash}`, e.g. `/v2/orders`.
    Bigcommerce,
    /// Paths are relative to `/public-api/{account}`, e.g. `/order-service/sales-order`.
    Brightpearl,
}

impl System {
    /// The system's name in lower case, as in configuration and messages: `bigcommerce`,
    /// `brightpearl`.
    pub fn name(self) -> &'static str {
        match self {
            System::Bigcommerce => "bigcommerce",
            System::Brightpearl => "brightpearl",
        }
    }
}

/// HTTP method (WIT `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// One API request (WIT `request`). The host adds base URL, credentials and content headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub system: System,
    pub method: Method,
    /// Path below the system's base, with its query string.
    pub path: String,
    /// JSON body for writes.
    pub body: Option<String>,
    /// Extra headers, lower-case names.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A GET without body or headers.
    pub fn get(system: System, path: impl Into<String>) -> Self {
        Request {
            system,
            method: Method::Get,
            path: path.into(),
            body: None,
            headers: vec![],
        }
    }

    /// A POST with a JSON body.
    pub fn post(system: System, path: impl Into<String>, body: String) -> Self {
        Request {
            system,
            method: Method::Post,
            path: path.into(),
            body: Some(body),
            headers: vec![],
        }
    }
}

/// The server's answer whatever its status (WIT `response`).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
    /// Body text; empty for 204.
    pub body: String,
}

impl Response {
    /// A response with a status and body and no headers (handy in tests).
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            headers: vec![],
            body: body.into(),
        }
    }
}

/// Why a request got no response to act on (WIT `send-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Rate limit exhausted; milliseconds until the quota resets.
    Throttled(u64),
    /// No response in time; the request was not sent or is safe to repeat.
    Timeout,
    /// A write was sent but its outcome is unknown: look the entity up before writing again.
    OutcomeUnknown,
    /// The host refused the request; the text says why.
    Denied(String),
    /// The request could not be sent (DNS, connect, TLS).
    Transport(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Throttled(ms) => write!(f, "throttled ({ms} ms until the quota resets)"),
            SendError::Timeout => write!(f, "timeout"),
            SendError::OutcomeUnknown => write!(f, "outcome unknown (write sent, no answer)"),
            SendError::Denied(why) => write!(f, "denied by the host: {why}"),
            SendError::Transport(why) => write!(f, "transport error: {why}"),
        }
    }
}

/// A decimal amount as a string in an ISO 4217 currency (WIT `money`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub amount: String,
    pub currency: String,
}

/// The team that owns an exception (WIT `team`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Team {
    Finance,
    Operations,
    Ecommerce,
    CustomerService,
    Integration,
}

/// A business problem that needs a person, keyed by (kind, entity) (WIT `exception`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    /// Kebab-case kind, e.g. `unmapped-sku`.
    pub kind: String,
    /// e.g. `bigcommerce:order:118`.
    pub entity: String,
    pub message: String,
    pub owner: Team,
    pub impact: Option<Money>,
    /// True when the flow retries by itself once the cause is fixed.
    pub retryable: bool,
}

/// Log level (WIT `level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// A webhook event from the host's inbox (WIT `event`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub source: System,
    /// e.g. `store/order/created`.
    pub scope: String,
    /// The id of the entity the event is about.
    pub entity_id: String,
    /// The body as received (JSON).
    pub payload: String,
}

/// Why a flow runs (WIT `trigger`).
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Scheduled,
    Events(Vec<Event>),
    /// Entity references, e.g. `bigcommerce:order:118`.
    Replay(Vec<String>),
}

/// What a run did (WIT `run-summary`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunSummary {
    pub counts: Vec<(String, u64)>,
    pub notes: Vec<String>,
}

impl RunSummary {
    /// The value of a named counter (0 when absent).
    pub fn count(&self, name: &str) -> u64 {
        self.counts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or(0)
    }
}

/// One problem in a flow's configuration (WIT `config-problem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Path of the offending key, e.g. `tax_codes.Standard`.
    pub path: String,
    pub message: String,
}

/// Why a run failed as a whole (WIT `flow-error`).
#[derive(Debug, Clone, PartialEq)]
pub enum FlowError {
    Config(Vec<ConfigProblem>),
    Upstream(String),
    Internal(String),
}

/// A flow's self-description (WIT `flow-info`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowInfo {
    pub name: String,
    pub version: String,
    pub triggers: Vec<String>,
    pub event_scopes: Vec<String>,
    pub default_schedule: Option<String>,
}

// ---- conversions to and from the generated bindings ----

impl From<System> for wit::System {
    fn from(s: System) -> Self {
        match s {
            System::Bigcommerce => wit::System::Bigcommerce,
            System::Brightpearl => wit::System::Brightpearl,
        }
    }
}

impl From<wit::System> for System {
    fn from(s: wit::System) -> Self {
        match s {
            wit::System::Bigcommerce => System::Bigcommerce,
            wit::System::Brightpearl => System::Brightpearl,
        }
    }
}

impl From<Method> for wit::Method {
    fn from(m: Method) -> Self {
        match m {
            Method::Get => wit::Method::Get,
            Method::Post => wit::Method::Post,
            Method::Put => wit::Method::Put,
            Method::Patch => wit::Method::Patch,
            Method::Delete => wit::Method::Delete,
        }
    }
}

impl From<Request> for wit::Request {
    fn from(r: Request) -> Self {
        wit::Request {
            system: r.system.into(),
            method: r.method.into(),
            path: r.path,
            body: r.body,
            headers: r.headers,
        }
    }
}

impl From<wit::Response> for Response {
    fn from(r: wit::Response) -> Self {
        Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<wit::SendError> for SendError {
    fn from(e: wit::SendError) -> Self {
        match e {
            wit::SendError::Throttled(ms) => SendError::Throttled(ms),
            wit::SendError::Timeout => SendError::Timeout,
            wit::SendError::OutcomeUnknown => SendError::OutcomeUnknown,
            wit::SendError::Denied(s) => SendError::Denied(s),
            wit::SendError::Transport(s) => SendError::Transport(s),
        }
    }
}

impl From<Team> for wit::Team {
    fn from(t: Team) -> Self {
        match t {
            Team::Finance => wit::Team::Finance,
            Team::Operations => wit::Team::Operations,
            Team::Ecommerce => wit::Team::Ecommerce,
            Team::CustomerService => wit::Team::CustomerService,
            Team::Integration => wit::Team::Integration,
        }
    }
}

impl From<Exception> for wit::Exception {
    fn from(e: Exception) -> Self {
        wit::Exception {
            kind: e.kind,
            entity: e.entity,
            message: e.message,
            owner: e.owner.into(),
            impact: e.impact.map(|m| wit::Money {
                amount: m.amount,
                currency: m.currency,
            }),
            retryable: e.retryable,
        }
    }
}

impl From<Level> for wit::Level {
    fn from(l: Level) -> Self {
        match l {
            Level::Debug => wit::Level::Debug,
            Level::Info => wit::Level::Info,
            Level::Warn => wit::Level::Warn,
            Level::Error => wit::Level::Error,
        }
    }
}

impl From<wit::Trigger> for Trigger {
    fn from(t: wit::Trigger) -> Self {
        match t {
            wit::Trigger::Scheduled => Trigger::Scheduled,
            wit::Trigger::Replay(refs) => Trigger::Replay(refs),
            wit::Trigger::Events(events) => Trigger::Events(
                events
                    .into_iter()
                    .map(|e| Event {
                        source: e.source.into(),
                        scope: e.scope,
                        entity_id: e.entity_id,
                        payload: e.payload,
                    })
                    .collect(),
            ),
        }
    }
}

impl From<RunSummary> for wit::RunSummary {
    fn from(s: RunSummary) -> Self {
        wit::RunSummary {
            counts: s.counts,
            notes: s.notes,
        }
    }
}

impl From<ConfigProblem> for wit::ConfigProblem {
    fn from(p: ConfigProblem) -> Self {
        wit::ConfigProblem {
            path: p.path,
            message: p.message,
        }
    }
}

impl From<FlowError> for wit::FlowError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Config(ps) => {
                wit::FlowError::Config(ps.into_iter().map(Into::into).collect())
            }
            FlowError::Upstream(s) => wit::FlowError::Upstream(s),
            FlowError::Internal(s) => wit::FlowError::Internal(s),
        }
    }
}

impl From<FlowInfo> for wit::FlowInfo {
    fn from(i: FlowInfo) -> Self {
        wit::FlowInfo {
            name: i.name,
            version: i.version,
            triggers: i.triggers,
            event_scopes: i.event_scopes,
            default_schedule: i.default_schedule,
        }
    }
}

/// One API need of a flow (WIT `manifest.need`, since 1.1.0): the methods it may use below
/// a path prefix on one system. Prefixes match whole path segments without the query
/// string: `/v2/orders` covers `/v2/orders/118/products?page=1`, not `/v2/orders_x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub system: System,
    pub methods: Vec<Method>,
    pub path_prefix: String,
}

impl Need {
    pub fn new(system: System, methods: &[Method], path_prefix: &str) -> Need {
        Need {
            system,
            methods: methods.to_vec(),
            path_prefix: path_prefix.into(),
        }
    }

    /// True when this need allows `method` on `path` (query string ignored).
    pub fn covers(&self, system: System, method: Method, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or(path);
        self.system == system
            && self.methods.contains(&method)
            && path
                .strip_prefix(self.path_prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl From<Need> for crate::bindings::exports::pearlbridge::flow::manifest::Need {
    fn from(n: Need) -> Self {
        crate::bindings::exports::pearlbridge::flow::manifest::Need {
            system: n.system.into(),
            methods: n.methods.into_iter().map(Into::into).collect(),
            path_prefix: n.path_prefix,
        }
    }
}

/// Who and what is running (WIT `context.run-context`, since 1.1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    /// The client's name, e.g. `acme`.
    pub client: String,
    /// The flow's name in the client file, e.g. `orders`.
    pub flow: String,
    /// The host's id of this run.
    pub run_id: u64,
    /// The run's start, RFC 3339 in UTC.
    pub now: String,
}
