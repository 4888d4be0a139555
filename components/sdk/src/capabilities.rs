//! The three capabilities a flow is written against: [`Api`] (WIT `api`), [`State`] (WIT
//! `state`) and [`Report`] (WIT `report`). [`crate::host`] implements them over the host
//! imports; [`crate::testing`] implements them in memory for native tests.

use crate::types::{Exception, Level, Request, Response, SendError, System};

/// Sends one request through the host (WIT `api.send`).
pub trait Api {
    /// Send one request; a response is returned whatever its status (4xx and 5xx included).
    fn send(&self, req: Request) -> Result<Response, SendError>;
}

/// A stored state value and its version (WIT `state.entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    /// Starts at 1, +1 on every write.
    pub version: u64,
}

/// Durable key-value state of this client × flow (WIT `state`).
pub trait State {
    /// Read one key.
    fn get(&self, key: &str) -> Option<Entry>;
    /// Write one key unconditionally; returns the new version.
    fn set(&self, key: &str, value: &str) -> u64;
    /// Write only when the key's version equals `expected_version` (0 = must be absent);
    /// `Err(current_version)` when the swap is lost.
    fn compare_and_swap(&self, key: &str, expected_version: u64, value: &str) -> Result<u64, u64>;
    /// Remove one key (no-op when absent).
    fn delete(&self, key: &str);
    /// Keys starting with `prefix`, sorted, with their values, at most `limit`.
    fn list(&self, prefix: &str, limit: u32) -> Vec<(String, String)>;
}

/// Exceptions, progress and logs of the current run (WIT `report`).
pub trait Report {
    /// Raise (or update) the exception keyed by (kind, entity).
    fn raise(&self, e: Exception);
    /// Resolve the exception (kind, entity) if open.
    fn resolve(&self, kind: &str, entity: &str);
    /// Open exceptions whose entity starts with `entity_prefix`, as (kind, entity).
    fn open(&self, entity_prefix: &str) -> Vec<(String, String)>;
    /// Progress: `done` of `total` entities.
    fn progress(&self, done: u64, total: Option<u64>);
    /// One log line (never credentials or personal data).
    fn log(&self, level: Level, message: &str);
}

/// One Brightpearl error item (`{"code":"ORDC-005","message":"..."}`, reference
/// brightpearl-api.md §3.1 [obs]) or one BigCommerce v2 error (`{"status":400,"message":..}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
}

/// Why a typed client call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The host could not deliver the request (see [`SendError`]).
    #[error("{what}: {error}")]
    Send { what: String, error: SendError },
    /// The server answered with a non-success status.
    #[error("{what}: HTTP {status}: {}", describe_errors(.errors, .body))]
    Status {
        /// The system that answered.
        system: System,
        what: String,
        status: u16,
        errors: Vec<ErrorItem>,
        body: String,
    },
    /// The body could not be decoded into the expected shape.
    #[error("{what}: cannot decode the response: {message}")]
    Decode { what: String, message: String },
}

fn describe_errors(errors: &[ErrorItem], body: &str) -> String {
    if errors.is_empty() {
        if body.trim().is_empty() {
            "(empty body)".into()
        } else {
            body.chars().take(300).collect()
        }
    } else {
        errors
            .iter()
            .map(|e| format!("{} {}", e.code, e.message).trim().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl ApiError {
    /// Worth retrying on a later run: throttling, timeouts, transport errors, 429 and 5xx
    /// (a Brightpearl cap-503 included). 4xx, decode errors and denials are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Send { error, .. } => matches!(
                error,
                SendError::Throttled(_)
                    | SendError::Timeout
                    | SendError::Transport(_)
                    | SendError::OutcomeUnknown
            ),
            ApiError::Status { status, .. } => *status == 429 || *status >= 500,
            ApiError::Decode { .. } => false,
        }
    }

    /// A write was sent and may have been committed (WIT `send-error::outcome-unknown`).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            ApiError::Send {
                error: SendError::OutcomeUnknown,
                ..
            }
        )
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What the server said, for messages: its error items as `CODE message`, joined by
    /// `; ` (a code that only repeats the HTTP status, as in BigCommerce v2 errors, is left
    /// out), else the body's first 300 characters; empty when it said nothing or did not
    /// answer.
    pub fn server_message(&self) -> String {
        let ApiError::Status {
            status,
            errors,
            body,
            ..
        } = self
        else {
            return String::new();
        };
        if errors.is_empty() {
            return body.trim().chars().take(300).collect();
        }
        errors
            .iter()
            .map(|e| {
                let code = if e.code == status.to_string() {
                    ""
                } else {
                    e.code.as_str()
                };
                format!("{code} {}", e.message).trim().to_string()
            })
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A 401 or 403 (bad or missing credentials, or a token without the scope): every
    /// further call to that system would fail the same way. The message names the system,
    /// the status and the server's message, e.g. `brightpearl answered 401 Not
    /// authenticated: check the client's brightpearl connection credentials`. `None` for
    /// any other failure.
    pub fn credentials_problem(&self) -> Option<String> {
        let ApiError::Status { system, status, .. } = self else {
            return None;
        };
        if !matches!(status, 401 | 403) {
            return None;
        }
        let said = self.server_message();
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(" {said}")
        };
        let name = system.name();
        Some(format!(
            "{name} answered {status}{said}: check the client's {name} connection credentials"
        ))
    }
}
