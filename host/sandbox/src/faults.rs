//! Deterministic fault injection per endpoint pattern.
//!
//! Each simulator asks [`Faults::decide`] once per request (after auth, before processing) with
//! the HTTP method and the path after the store/account prefix (for Brightpearl
//! `/order-service/sales-order`, for BigCommerce `/v2/orders/100`; no query string).
//! The rules are tried in order; for every rule whose method and path match, one number is
//! drawn from a ChaCha8 generator seeded with the fault seed, and the first rule whose draw is
//! below its `probability` fires. Same seed and same request sequence ⇒ same decisions.
//!
//! What the simulators do with a decision:
//! * [`FaultKind::Latency`] — wait `ms` simulated ms, then process normally.
//! * [`FaultKind::Status`] — answer `status` with the API's error envelope; nothing is processed.
//! * [`FaultKind::DropBeforeProcessing`] — drop the connection; nothing is processed.
//! * [`FaultKind::CommitThenDrop`] — process the request (a write commits), then drop the
//!   connection so the client never sees the response (an "outcome unknown" write).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What happens to a request a rule fires on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// Delay the response by `ms` simulated milliseconds, then answer normally.
    Latency { ms: u64 },
    /// Answer this HTTP status (e.g. 500, 502, 503) without processing the request.
    Status { status: u16 },
    /// Close the connection without a response; the request is not processed.
    DropBeforeProcessing,
    /// Process the request (writes commit), then close the connection without a response.
    CommitThenDrop,
}

/// One fault rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match (case-insensitive); `None` matches every method.
    pub method: Option<String>,
    /// Glob on the path after the store/account prefix, e.g. `/order-service/sales-order`;
    /// `*` matches any run of characters including `/`. The query string is not part of it.
    pub path: String,
    /// Chance in `[0, 1]` that the rule fires on a matching request (`1.0` = always).
    pub probability: f64,
    /// What the fault does.
    pub kind: FaultKind,
}

/// A seeded fault injector shared by a simulator's handlers. Cheap to clone (shared state).
#[derive(Clone, Debug)]
pub struct Faults {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    rng: ChaCha8Rng,
    rules: Vec<FaultRule>,
}

impl Faults {
    /// No rules: [`Faults::decide`] always returns `None`.
    pub fn none() -> Self {
        Self::new(0, Vec::new())
    }

    /// Rules tried in order, with draws from a ChaCha8 generator seeded by `seed`.
    pub fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        Faults {
            inner: Arc::new(Mutex::new(State {
                rng: ChaCha8Rng::seed_from_u64(seed),
                rules,
            })),
        }
    }

    /// Replaces the rules (the generator keeps its position).
    pub fn set_rules(&self, rules: Vec<FaultRule>) {
        self.inner.lock().expect("faults lock").rules = rules;
    }

    /// The current rules.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.inner.lock().expect("faults lock").rules.clone()
    }

    /// The fault for this request, if any. `path` is the path after the store/account prefix,
    /// without the query string.
    pub fn decide(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut st = self.inner.lock().expect("faults lock");
        let State { rng, rules } = &mut *st;
        for rule in rules.iter() {
            if let Some(m) = &rule.method
                && !m.eq_ignore_ascii_case(method)
            {
                continue;
            }
            if !glob_match(&rule.path, path) {
                continue;
            }
            let draw: f64 = rng.random();
            if draw < rule.probability {
                return Some(rule.kind.clone());
            }
        }
        None
    }
}

/// Glob match where `*` matches any run of characters (including `/` and the empty run);
/// every other character matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// A body whose first poll fails: hyper then closes the connection without finishing the
/// response, so the client sees a transport error instead of a response.
struct FailingBody;

#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by sandbox fault injection")
    }
}

impl std::error::Error for DroppedByFault {}

impl http_body::Body for FailingBody {
    type Data = axum::body::Bytes;
    type Error = DroppedByFault;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(DroppedByFault)))
    }
}

/// A response whose connection is dropped before a complete HTTP response is sent (the client
/// sees an error). The status line is never flushed by hyper because the body fails on its
/// first poll; the client gets "connection closed before message completed" or similar.
pub fn dropped_connection() -> axum::response::Response {
    let mut resp = axum::response::Response::new(axum::body::Body::new(FailingBody));
    // No Content-Length: hyper must poll the body before it can finish the message.
    resp.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("/order-service/*", "/order-service/sales-order"));
        assert!(glob_match("*", "/a/b/c"));
        assert!(glob_match("/a/*/c", "/a/b/x/c"));
        assert!(!glob_match("/a/*/c", "/a/b/x/d"));
        assert!(glob_match("/exact", "/exact"));
        assert!(!glob_match("/exact", "/exact/more"));
        assert!(glob_match(
            "*sales-order*",
            "/order-service/sales-order/5/close"
        ));
    }

    #[test]
    fn method_filter_and_certainty() {
        let f = Faults::new(
            1,
            vec![FaultRule {
                method: Some("post".into()),
                path: "/order-service/*".into(),
                probability: 1.0,
                kind: FaultKind::CommitThenDrop,
            }],
        );
        assert_eq!(
            f.decide("POST", "/order-service/sales-order"),
            Some(FaultKind::CommitThenDrop)
        );
        assert_eq!(f.decide("GET", "/order-service/sales-order"), None);
        assert_eq!(f.decide("POST", "/contact-service/contact"), None);
        assert_eq!(Faults::none().decide("GET", "/x"), None);
    }
}
