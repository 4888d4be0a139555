//! Connections: the host's HTTP to BigCommerce and Brightpearl for the `api` import of
//! `wit/flow.wit` (`pearlbridge:flow@1.0.0`).
//!
//! One [`Connection`] per client × system, shared by all of that client's flows. It adds the
//! base URL and the credentials (a flow never sees either), refuses unsafe paths and
//! credential headers, paces requests on the server's own rate-limit headers, retries what is
//! safe to retry, and writes one [`AuditLine`] per HTTP attempt. Sources: DESIGN.md "The host"
//! → Connections; bigcommerce-api.md §1, §2, §11 [doc]; brightpearl-api.md §1.2, §2, §3.2 [doc]/[obs].
//!
//! Retry rules:
//! - 429 (both systems) and a Brightpearl 503 whose body says "too many requests": every caller
//!   of the connection waits for the reset, then the request is sent again — reads and writes,
//!   since the server did not process it.
//! - GET: 500/502/503/504 (except a Brightpearl 500 with an `errors` array, e.g. `CMNC-018`
//!   for a bad filter, which fails the same way every time), timeouts and transport errors are retried with exponential backoff
//!   and jitter, up to [`RetryPolicy::max_attempts`]; then the last response (or `Timeout` /
//!   `Transport`) is returned.
//! - POST/PUT/PATCH/DELETE: retried only when the request never left (connect failed). A write
//!   that timed out or lost its connection after sending is `OutcomeUnknown`; a write that got a
//!   5xx is returned as it is.
//! - No wait (rate limit or backoff) goes past the caller's deadline.
//!
//! Every response text (body, header values) and error text is scrubbed of secret values
//! ([`crate::redact`]) before a flow sees it: a server may echo the credential it was sent.

mod limiter;
pub mod rules;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use crate::redact;
use crate::secrets::Secret;
use crate::state::AuditLine;

use limiter::{Limiter, ceil_ms};

/// Largest response body the host reads, in bytes; a bigger one is a transport error.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// `User-Agent` sent on every request (BigCommerce asks for a meaningful one, bigcommerce-api.md §1).
pub const USER_AGENT: &str = concat!("pearlbridge/", env!("CARGO_PKG_VERSION"));

/// The external system a request goes to (WIT `types.system`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    /// BigCommerce store API, below `/stores/{store_hash}`.
    BigCommerce,
    /// Brightpearl account API, below `/public-api/{account}`.
    Brightpearl,
}

impl System {
    /// `bigcommerce` or `brightpearl` (the WIT enum case and the audit line's `system`).
    pub fn as_str(self) -> &'static str {
        match self {
            System::BigCommerce => "bigcommerce",
            System::Brightpearl => "brightpearl",
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HTTP method of an API request (WIT `types.method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Upper-case method name, e.g. `GET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One API request from a flow (WIT `types.request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    pub system: System,
    pub method: Method,
    /// Path below the system's base, with its query string, e.g. `/v2/orders?page=1` or
    /// `/order-service/sales-order`. See [`rules::check_path`].
    pub path: String,
    /// JSON body for writes; `None` for reads (a GET with a body is refused).
    pub body: Option<String>,
    /// Extra headers; credential headers are refused ([`rules::check_headers`]).
    pub headers: Vec<(String, String)>,
}

/// The server's answer, whatever its status (WIT `types.response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    /// Response headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// Body as text (invalid UTF-8 replaced); empty for 204.
    pub body: String,
}

impl ApiResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        rules::header(&self.headers, name)
    }
}

/// Why a request got no response to act on (WIT `types.send-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The rate limit is exhausted and waiting for it would pass the run's deadline;
    /// milliseconds until the server's quota resets.
    #[error("throttled: the API quota resets in {reset_ms} ms, after the run's deadline")]
    Throttled { reset_ms: u64 },
    /// No response in time; the request was not sent or was a read (safe to repeat).
    #[error("timed out")]
    Timeout,
    /// A write was sent but its outcome is unknown (timeout or connection lost after sending).
    #[error(
        "outcome unknown: the write was sent but no answer arrived; look the entity up before writing again"
    )]
    OutcomeUnknown,
    /// The host refused the request; the text says why.
    #[error("denied: {0}")]
    Denied(String),
    /// The request could not be completed (connect, TLS, protocol); safe to retry later.
    #[error("transport: {0}")]
    Transport(String),
}

/// How a connection authenticates (brightpearl-api.md §1.2 [doc]; bigcommerce-api.md §1 [doc]).
/// Debug output shows no secret value.
#[derive(Debug)]
pub enum Credentials {
    /// `X-Auth-Token: {token}`.
    BigCommerce { token: Secret },
    /// Private system app: `brightpearl-app-ref` + `brightpearl-account-token`.
    BrightpearlSystem {
        app_ref: String,
        account_token: Secret,
    },
    /// OAuth instance app: `Authorization: Bearer {access_token}` + `brightpearl-dev-ref` +
    /// `brightpearl-app-ref`.
    BrightpearlOAuth {
        app_ref: String,
        dev_ref: String,
        access_token: Secret,
    },
}

impl Credentials {
    fn system(&self) -> System {
        match self {
            Credentials::BigCommerce { .. } => System::BigCommerce,
            Credentials::BrightpearlSystem { .. } | Credentials::BrightpearlOAuth { .. } => {
                System::Brightpearl
            }
        }
    }

    /// The credential headers, values marked sensitive (never printed by `http`'s Debug).
    fn headers(&self) -> anyhow::Result<HeaderMap> {
        fn value(v: &str, what: &str) -> anyhow::Result<HeaderValue> {
            let mut h = HeaderValue::from_str(v)
                .map_err(|_| anyhow::anyhow!("{what} is not a valid HTTP header value"))?;
            h.set_sensitive(true);
            Ok(h)
        }
        let mut map = HeaderMap::new();
        match self {
            Credentials::BigCommerce { token } => {
                map.insert(
                    "x-auth-token",
                    value(token.expose(), "the BigCommerce token")?,
                );
            }
            Credentials::BrightpearlSystem {
                app_ref,
                account_token,
            } => {
                map.insert(
                    "brightpearl-app-ref",
                    value(app_ref, "the Brightpearl app ref")?,
                );
                map.insert(
                    "brightpearl-account-token",
                    value(account_token.expose(), "the Brightpearl account token")?,
                );
            }
            Credentials::BrightpearlOAuth {
                app_ref,
                dev_ref,
                access_token,
            } => {
                map.insert(
                    reqwest::header::AUTHORIZATION,
                    value(
                        &format!("Bearer {}", access_token.expose()),
                        "the Brightpearl access token",
                    )?,
                );
                map.insert(
                    "brightpearl-dev-ref",
                    value(dev_ref, "the Brightpearl dev ref")?,
                );
                map.insert(
                    "brightpearl-app-ref",
                    value(app_ref, "the Brightpearl app ref")?,
                );
            }
        }
        Ok(map)
    }
}

/// Retry and backoff settings of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most HTTP attempts for one request that fails (5xx on GET, timeout, transport);
    /// 1 = no retries. Throttle waits do not count here.
    pub max_attempts: u32,
    /// Most times one request waits out a 429 / throttle-503 and is sent again.
    pub max_throttle_retries: u32,
    /// First backoff; doubles per retry, with jitter in [half, full].
    pub base_delay: Duration,
    /// Longest single backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 10 throttle waits, 500 ms doubling to at most 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            max_throttle_retries: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Everything a [`Connection`] needs. Debug output shows no secret value.
#[derive(Debug)]
pub struct ConnectionConfig {
    /// Client folder name, e.g. `acme`.
    pub client: String,
    pub system: System,
    /// Scheme and host (and port), e.g. `https://api.bigcommerce.com`,
    /// `https://euw1.brightpearlconnect.com` or `http://127.0.0.1:PORT` (sandbox). Plain
    /// `http` is allowed only for loopback hosts.
    pub api_base: String,
    /// BigCommerce store hash or Brightpearl account code (letters, digits, `-`, `_`).
    pub scope: String,
    pub credentials: Credentials,
    pub retry: RetryPolicy,
    /// Whole-request timeout of one HTTP attempt (connect, send, headers and body).
    pub request_timeout: Duration,
}

/// Receives one audit line per HTTP attempt (the state store implements it).
pub trait AuditSink: Send + Sync {
    fn record(&self, line: AuditLine);
}

/// An [`AuditSink`] that keeps lines in memory (tests, dry runs).
#[derive(Debug, Default)]
pub struct MemoryAudit {
    lines: std::sync::Mutex<Vec<AuditLine>>,
}

impl MemoryAudit {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the lines recorded so far, oldest first.
    pub fn lines(&self) -> Vec<AuditLine> {
        self.lines.lock().expect("audit lock").clone()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, line: AuditLine) {
        self.lines.lock().expect("audit lock").push(line);
    }
}

/// Counters of one connection since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionStats {
    /// HTTP attempts made (including ones whose connect failed).
    pub calls: u64,
    /// 429 / throttle-503 responses seen.
    pub throttled: u64,
    /// Attempts that were repeats of an earlier attempt (after a throttle or a failure).
    pub retries: u64,
    /// Milliseconds callers spent waiting for the rate limit (not backoff).
    pub waits_ms: u64,
    /// Milliseconds spent in retry backoff.
    pub backoff_ms: u64,
    /// Requests left in the server's current rate-limit window (BigCommerce
    /// `X-Rate-Limit-Requests-Left`, Brightpearl `brightpearl-requests-remaining`, less the
    /// requests sent since); `None` before the first answer or while throttled.
    pub requests_left: Option<u64>,
}

#[derive(Debug, Default)]
struct Counters {
    /// `f64` bits of the server's clock scale (see [`Connection::set_server_time_scale`]).
    server_time_scale: AtomicU64,
    calls: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    waits_ms: AtomicU64,
    backoff_ms: AtomicU64,
}

fn bump(c: &AtomicU64, by: u64) {
    c.fetch_add(by, Ordering::Relaxed);
}

/// The host's HTTP connection of one client to one system, shared (`Arc`) by all of that
/// client's flows. Debug output shows no secret value.
pub struct Connection {
    client: String,
    system: System,
    /// `{api_base}/stores/{store_hash}` or `{api_base}/public-api/{account}`.
    base: String,
    credential_headers: HeaderMap,
    retry: RetryPolicy,
    request_timeout: Duration,
    http: reqwest::Client,
    limiter: Limiter,
    audit: Arc<dyn AuditSink>,
    counters: Counters,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("client", &self.client)
            .field("system", &self.system)
            .field("base", &self.base)
            .field("credentials", &"[redacted]")
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What one HTTP attempt came to, before retry decisions.
enum Attempt {
    Answered(ApiResponse),
    /// The request never left (connect/DNS/TLS failed): safe to repeat, even for writes.
    NotSent {
        timeout: bool,
        message: String,
    },
    /// The request may have reached the server (timeout or connection lost after sending).
    MaybeSent {
        timeout: bool,
        message: String,
    },
}

/// What to do after an attempt.
enum Next {
    Return(Result<ApiResponse, SendError>, &'static str),
    /// Wait for the rate limit and send again.
    AfterThrottle,
    /// Back off this long and send again.
    Backoff(Duration),
}

impl Connection {
    /// Builds a connection. Errors: empty client, bad `api_base` (not http(s), has a path,
    /// plain http to a non-loopback host), bad `scope`, credentials for the other system or
    /// not usable as header values, `max_attempts` 0.
    pub fn new(cfg: ConnectionConfig, audit: Arc<dyn AuditSink>) -> anyhow::Result<Arc<Self>> {
        if cfg.client.trim().is_empty() {
            bail!("connection needs a client name");
        }
        if cfg.credentials.system() != cfg.system {
            bail!(
                "credentials of client '{}' are for {}, not {}",
                cfg.client,
                cfg.credentials.system(),
                cfg.system
            );
        }
        if cfg.retry.max_attempts == 0 {
            bail!("retry.max_attempts must be at least 1");
        }
        let scope_ok = !cfg.scope.is_empty()
            && cfg.scope.len() <= 64
            && cfg
                .scope
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !scope_ok {
            bail!(
                "scope of client '{}' must be a store hash or account code (letters, digits, '-', '_')",
                cfg.client
            );
        }
        let api_base = cfg.api_base.trim_end_matches('/');
        let url = reqwest::Url::parse(api_base)
            .with_context(|| format!("api_base '{api_base}' is not a URL"))?;
        let host = url.host_str().unwrap_or("");
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => bail!("api_base '{api_base}': plain http is allowed only to loopback hosts"),
            other => bail!("api_base '{api_base}': scheme '{other}' is not http(s)"),
        }
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
        {
            bail!("api_base '{api_base}' must be scheme://host[:port] only");
        }
        let base = match cfg.system {
            System::BigCommerce => format!("{api_base}/stores/{}", cfg.scope),
            System::Brightpearl => format!("{api_base}/public-api/{}", cfg.scope),
        };
        let credential_headers = cfg.credentials.headers()?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .context("building the HTTP client")?;
        Ok(Arc::new(Connection {
            client: cfg.client,
            system: cfg.system,
            base,
            credential_headers,
            retry: cfg.retry,
            request_timeout: cfg.request_timeout,
            http,
            limiter: Limiter::new(),
            audit,
            counters: Counters::default(),
        }))
    }

    /// The client this connection belongs to.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The system this connection talks to.
    pub fn system(&self) -> System {
        self.system
    }

    /// Counters since the connection was created.
    /// For a server whose clock runs `scale` times faster than real time (the sandbox's
    /// time-scale option): its reset times (ms on its clock) are divided by `scale` before
    /// waiting. Real servers are 1.0, the default.
    pub fn set_server_time_scale(&self, scale: f64) {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        self.counters
            .server_time_scale
            .store(scale.to_bits(), Ordering::Relaxed);
    }

    /// The rate headers of a response, with reset times in real milliseconds.
    fn rate_headers(&self, headers: &[(String, String)]) -> rules::RateHeaders {
        let mut rate = rules::rate_headers(self.system, headers);
        let bits = self.counters.server_time_scale.load(Ordering::Relaxed);
        let scale = if bits == 0 { 1.0 } else { f64::from_bits(bits) };
        if scale != 1.0 {
            rate.reset_ms = rate.reset_ms.map(|ms| (ms as f64 / scale).ceil() as u64);
        }
        rate
    }

    pub fn stats(&self) -> ConnectionStats {
        let c = &self.counters;
        ConnectionStats {
            calls: c.calls.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            waits_ms: c.waits_ms.load(Ordering::Relaxed),
            backoff_ms: c.backoff_ms.load(Ordering::Relaxed),
            requests_left: self.limiter.left(),
        }
    }

    /// Sends one request for flow `flow`, with the host's credentials, pacing, safe retries
    /// and audit lines (see the module docs for the retry rules). `deadline` is the run's
    /// deadline: no wait goes past it (a rate-limit wait that would is `Throttled`).
    ///
    /// Errors: `Denied` (bad path or header, other system, GET with a body; nothing sent),
    /// `Throttled`, `Timeout`, `OutcomeUnknown` (writes only), `Transport`.
    pub async fn send(
        &self,
        flow: &str,
        req: ApiRequest,
        deadline: Instant,
    ) -> Result<ApiResponse, SendError> {
        let (url, extra) = match self.prepare(&req) {
            Ok(ok) => ok,
            Err(why) => {
                tracing::warn!(client = %self.client, flow, system = %self.system, method = req.method.as_str(), reason = %why, "request denied");
                return Err(SendError::Denied(why));
            }
        };
        let mut attempt: u32 = 0;
        let mut failures: u32 = 0;
        let mut throttles: u32 = 0;
        loop {
            match self.limiter.acquire(deadline).await {
                Ok(waited) => bump(&self.counters.waits_ms, waited.as_millis() as u64),
                Err(refused) => {
                    tracing::info!(client = %self.client, flow, system = %self.system, reset_ms = refused.reset_ms, "rate limit wait would pass the deadline");
                    return Err(SendError::Throttled {
                        reset_ms: refused.reset_ms,
                    });
                }
            }
            attempt += 1;
            if attempt > 1 {
                bump(&self.counters.retries, 1);
            }
            bump(&self.counters.calls, 1);
            let at = Utc::now();
            let started = Instant::now();
            let result = self.attempt(&req, url.clone(), &extra).await;
            let millis = started.elapsed().as_millis() as u64;

            let (status, request_id) = match &result {
                Attempt::Answered(r) => {
                    (Some(r.status), rules::request_id(self.system, &r.headers))
                }
                _ => (None, None),
            };
            let next = self.decide(result, &req, deadline, &mut failures, &mut throttles);
            let outcome = match &next {
                Next::Return(_, word) => *word,
                Next::AfterThrottle => "throttled",
                Next::Backoff(_) => "retry",
            };
            let line = AuditLine {
                at,
                client: self.client.clone(),
                flow: flow.to_string(),
                system: self.system.as_str().to_string(),
                method: req.method.as_str().to_string(),
                // No personal data in the audit log (a contact search by e-mail).
                path: rules::audit_path(&req.path),
                status,
                millis,
                request_id,
                outcome: outcome.to_string(),
                attempt,
            };
            // The sink may block (SQLite): off the async worker threads.
            let audit = self.audit.clone();
            if tokio::task::spawn_blocking(move || audit.record(line))
                .await
                .is_err()
            {
                tracing::warn!(client = %self.client, "audit line task failed");
            }
            match next {
                Next::Return(result, _) => return result,
                Next::AfterThrottle => {}
                Next::Backoff(delay) => {
                    tokio::time::sleep(delay).await;
                    bump(&self.counters.backoff_ms, delay.as_millis() as u64);
                }
            }
        }
    }

    /// Checks the request and builds its URL and extra headers, or says why it is refused.
    fn prepare(&self, req: &ApiRequest) -> Result<(reqwest::Url, HeaderMap), String> {
        if req.system != self.system {
            return Err(format!(
                "this is the {} connection; the request is for {}",
                self.system, req.system
            ));
        }
        rules::check_path(self.system, &req.path)?;
        if req.method == Method::Get && req.body.is_some() {
            return Err("a GET request has no body".into());
        }
        let url = reqwest::Url::parse(&format!("{}{}", self.base, req.path))
            .map_err(|e| format!("path does not make a valid URL: {e}"))?;
        // Belt and braces: the URL must still be below this connection's base.
        if !url.as_str().starts_with(&format!("{}/", self.base)) {
            return Err("path leaves the system's base URL".into());
        }
        let mut extra = HeaderMap::new();
        for (name, value) in rules::check_headers(&req.headers)? {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("header name '{name}' is not valid"))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("header '{name}' has an invalid value"))?;
            extra.append(name, value);
        }
        Ok((url, extra))
    }

    /// One HTTP attempt, its body read in full (at most [`MAX_RESPONSE_BYTES`]).
    async fn attempt(&self, req: &ApiRequest, url: reqwest::Url, extra: &HeaderMap) -> Attempt {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if req.body.is_some() {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in extra {
            headers.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.credential_headers {
            headers.insert(name.clone(), value.clone());
        }
        let mut builder = self
            .http
            .request(req.method.to_reqwest(), url)
            .headers(headers)
            .timeout(self.request_timeout);
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut resp = match builder.send().await {
            Ok(resp) => resp,
            Err(e) => return classify(e),
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect::<Vec<_>>();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Attempt::MaybeSent {
                            timeout: false,
                            message: format!(
                                "response body over {MAX_RESPONSE_BYTES} bytes (status {status})"
                            ),
                        };
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Attempt::MaybeSent {
                        timeout: e.is_timeout(),
                        message: format!(
                            "reading the response body (status {status}): {}",
                            error_text(e)
                        ),
                    };
                }
            }
        }
        // The boundary into the component: a server may echo the credential it was sent (in
        // its message, a header, a redirect URL), so every text is scrubbed here.
        Attempt::Answered(ApiResponse {
            status,
            headers: headers
                .into_iter()
                .map(|(n, v)| (n, redact::scrub_string(v)))
                .collect(),
            body: redact::scrub_string(String::from_utf8_lossy(&body).into_owned()),
        })
    }

    /// Applies the rate-limit and retry rules to one attempt's result.
    fn decide(
        &self,
        result: Attempt,
        req: &ApiRequest,
        deadline: Instant,
        failures: &mut u32,
        throttles: &mut u32,
    ) -> Next {
        let write = rules::is_write(req.method);
        match result {
            Attempt::Answered(resp) => {
                self.limiter.observe(self.rate_headers(&resp.headers));
                if rules::is_throttle(resp.status, &resp.body) {
                    bump(&self.counters.throttled, 1);
                    *throttles += 1;
                    let rate = self.rate_headers(&resp.headers);
                    // No reset header: the platform itself is under load (bigcommerce-api.md §2);
                    // wait the backoff for this throttle count, at least a second.
                    let reset = match rate.reset_ms {
                        Some(ms) => Duration::from_millis(ms),
                        None => self.backoff(*throttles).max(Duration::from_secs(1)),
                    };
                    let until = self.limiter.block(reset);
                    if *throttles > self.retry.max_throttle_retries || until > deadline {
                        let reset_ms = ceil_ms(until.saturating_duration_since(Instant::now()));
                        return Next::Return(Err(SendError::Throttled { reset_ms }), "throttled");
                    }
                    return Next::AfterThrottle;
                }
                if !write
                    && rules::is_worth_repeating(self.system, resp.status, &resp.body)
                    && let Some(delay) = self.retry_delay(failures, deadline)
                {
                    return Next::Backoff(delay);
                }
                Next::Return(Ok(resp), "ok")
            }
            Attempt::NotSent { timeout, message } => match self.retry_delay(failures, deadline) {
                Some(delay) => Next::Backoff(delay),
                None if timeout => Next::Return(Err(SendError::Timeout), "timeout"),
                None => Next::Return(Err(SendError::Transport(message)), "transport"),
            },
            Attempt::MaybeSent { .. } if write => {
                Next::Return(Err(SendError::OutcomeUnknown), "outcome-unknown")
            }
            Attempt::MaybeSent { timeout, message } => match self.retry_delay(failures, deadline) {
                Some(delay) => Next::Backoff(delay),
                None if timeout => Next::Return(Err(SendError::Timeout), "timeout"),
                None => Next::Return(Err(SendError::Transport(message)), "transport"),
            },
        }
    }

    /// Counts a failed attempt; the backoff before the next one, or `None` when the attempts
    /// are used up or the backoff would pass the deadline.
    fn retry_delay(&self, failures: &mut u32, deadline: Instant) -> Option<Duration> {
        *failures += 1;
        if *failures >= self.retry.max_attempts {
            return None;
        }
        let delay = self.backoff(*failures);
        (Instant::now() + delay <= deadline).then_some(delay)
    }

    fn backoff(&self, retry: u32) -> Duration {
        rules::backoff(
            self.retry.base_delay,
            self.retry.max_delay,
            retry,
            rand::random::<f64>(),
        )
    }
}

/// Sorts a reqwest error into "never left" and "may have reached the server".
fn classify(e: reqwest::Error) -> Attempt {
    let timeout = e.is_timeout();
    if e.is_connect() || e.is_builder() {
        Attempt::NotSent {
            timeout,
            message: error_text(e),
        }
    } else {
        Attempt::MaybeSent {
            timeout,
            message: error_text(e),
        }
    }
}

/// The error and its causes, without the URL (a flow never sees a hostname).
fn error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    redact::scrub_string(text)
}

/// All connections of the host, keyed by (client, system). A flow reaches them only through
/// [`Connections::for_client`], which holds its own client's connections and nothing else.
#[derive(Debug, Default)]
pub struct Connections {
    map: RwLock<HashMap<(String, System), Arc<Connection>>>,
}

impl Connections {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the connection for its own client and system; returns the one it
    /// replaced.
    pub fn insert(&self, conn: Arc<Connection>) -> Option<Arc<Connection>> {
        let key = (conn.client().to_string(), conn.system());
        self.map
            .write()
            .expect("connections lock")
            .insert(key, conn)
    }

    /// The connection of `client` to `system`, if configured.
    pub fn get(&self, client: &str, system: System) -> Option<Arc<Connection>> {
        self.map
            .read()
            .expect("connections lock")
            .get(&(client.to_string(), system))
            .cloned()
    }

    /// Removes the connection of `client` to `system`; returns it.
    pub fn remove(&self, client: &str, system: System) -> Option<Arc<Connection>> {
        self.map
            .write()
            .expect("connections lock")
            .remove(&(client.to_string(), system))
    }

    /// The view one run of `client` gets: its own BigCommerce and Brightpearl connections.
    pub fn for_client(&self, client: &str) -> ClientConnections {
        ClientConnections {
            client: client.to_string(),
            bigcommerce: self.get(client, System::BigCommerce),
            brightpearl: self.get(client, System::Brightpearl),
        }
    }
}

/// One client's connections, as handed to a run; routes a request by its `system`.
#[derive(Debug, Clone)]
pub struct ClientConnections {
    client: String,
    bigcommerce: Option<Arc<Connection>>,
    brightpearl: Option<Arc<Connection>>,
}

impl ClientConnections {
    /// The client these connections belong to.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// This client's connection to `system`, if configured.
    pub fn get(&self, system: System) -> Option<&Arc<Connection>> {
        match system {
            System::BigCommerce => self.bigcommerce.as_ref(),
            System::Brightpearl => self.brightpearl.as_ref(),
        }
    }

    /// Sends through this client's connection to `req.system`
    /// ([`Connection::send`]); `Denied` when that system is not configured for the client.
    pub async fn send(
        &self,
        flow: &str,
        req: ApiRequest,
        deadline: Instant,
    ) -> Result<ApiResponse, SendError> {
        match self.get(req.system) {
            Some(conn) => conn.send(flow, req, deadline).await,
            None => Err(SendError::Denied(format!(
                "no {} connection is configured for this client",
                req.system
            ))),
        }
    }
}
