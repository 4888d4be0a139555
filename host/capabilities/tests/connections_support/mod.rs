//! A scripted upstream for the connections tests: an axum server on 127.0.0.1:0 that records
//! every request it receives and answers each one from a script.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use pearlbridge_capabilities::connections::{
    ApiRequest, Connection, ConnectionConfig, Credentials, MemoryAudit, Method, RetryPolicy, System,
};
use pearlbridge_capabilities::secrets::Secret;
use tokio::time::Instant;

pub const BC_TOKEN: &str = "bc-token-7f3a9c1e5d";
pub const BP_ACCOUNT_TOKEN: &str = "bp-account-token-2b8e4f";
pub const BP_ACCESS_TOKEN: &str = "bp-access-token-9d1c77";

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, e.g. `/stores/abc123/v2/orders?page=1`.
    pub uri: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Sleep this long before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

type Script = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Script>,
}

/// A running upstream.
pub struct Upstream {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    /// Starts a server on 127.0.0.1:0; `script(n, request)` answers the n-th request (from 0).
    pub async fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, script)
    }

    /// Serves on an already bound listener.
    pub fn serve(
        listener: tokio::net::TcpListener,
        script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static,
    ) -> Upstream {
        let addr = listener.local_addr().unwrap();
        let shared = Shared {
            seen: Arc::default(),
            script: Arc::new(script),
        };
        let seen = shared.seen.clone();
        let app = axum::Router::new().fallback(handle).with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Upstream {
            base: format!("http://{addr}"),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn handle(State(s): State<Shared>, req: Request) -> Response {
    let at = Instant::now();
    let method = req.method().to_string();
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                v.to_str().unwrap_or("<binary>").to_string(),
            )
        })
        .collect();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap();
    let seen = Seen {
        method,
        uri,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
        at,
    };
    let reply = {
        let mut all = s.seen.lock().unwrap();
        let n = all.len();
        all.push(seen.clone());
        (s.script)(n, &seen)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = Response::new(Body::from(reply.body));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in reply.headers {
        resp.headers_mut().append(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    resp
}

/// Test retry policy: 3 attempts, 40 ms doubling backoff.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_throttle_retries: 5,
        base_delay: Duration::from_millis(40),
        max_delay: Duration::from_millis(400),
    }
}

pub fn bc_config(base: &str) -> ConnectionConfig {
    ConnectionConfig {
        client: "acme".into(),
        system: System::BigCommerce,
        api_base: base.into(),
        scope: "abc123".into(),
        credentials: Credentials::BigCommerce {
            token: Secret::new(BC_TOKEN.to_string()),
        },
        retry: quick_retry(),
        request_timeout: Duration::from_secs(5),
    }
}

pub fn bp_config(base: &str) -> ConnectionConfig {
    ConnectionConfig {
        client: "acme".into(),
        system: System::Brightpearl,
        api_base: base.into(),
        scope: "acmeltd".into(),
        credentials: Credentials::BrightpearlSystem {
            app_ref: "acme-sync".into(),
            account_token: Secret::new(BP_ACCOUNT_TOKEN.to_string()),
        },
        retry: quick_retry(),
        request_timeout: Duration::from_secs(5),
    }
}

pub fn connect(cfg: ConnectionConfig) -> (Arc<Connection>, Arc<MemoryAudit>) {
    let audit = Arc::new(MemoryAudit::new());
    let conn = Connection::new(cfg, audit.clone()).unwrap();
    (conn, audit)
}

pub fn get(system: System, path: &str) -> ApiRequest {
    ApiRequest {
        system,
        method: Method::Get,
        path: path.into(),
        body: None,
        headers: vec![],
    }
}

pub fn post(system: System, path: &str, body: &str) -> ApiRequest {
    ApiRequest {
        system,
        method: Method::Post,
        path: path.into(),
        body: Some(body.into()),
        headers: vec![],
    }
}

/// A deadline far enough away not to matter.
pub fn later() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// Waits (at most 5 s) until `cond` holds.
pub async fn until(mut cond: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < give_up, "condition not reached in 5 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
