//! The `pearlbridge:flow` imports, bound to one client × flow for one run.
//!
//! Security assumption: everything a flow can reach goes through [`RunCapabilities`], which
//! holds only this client's connections and this client × flow's state namespace. A flow
//! names neither a client nor a namespace, so it cannot reach another client's data.
//! Internal failures of the host (state store errors) trap the run with [`HostFailure`];
//! business problems are the flow's to report.

use std::str::FromStr;
use std::sync::Arc;

use pearlbridge_capabilities::connections::{self, ApiRequest, Connection};
use pearlbridge_capabilities::state::{
    Money as StoredMoney, Namespace, NewException, Store, Team as StoredTeam,
};
use rust_decimal::Decimal;

use crate::bindings::{Exception, Level, Method, Request, Response, SendError, System, Team};
use crate::bindings::{api, config, report, state, types};
use crate::runtime::RunState;

/// What one run may use: this client's connections, this client × flow's state, its
/// mapping section and the run's deadline.
pub struct RunCapabilities {
    pub client: String,
    pub flow: String,
    /// The host's id of this run (the runs table's key); `context.current().run-id`.
    pub run_id: u64,
    pub bigcommerce: Option<Arc<Connection>>,
    pub brightpearl: Option<Arc<Connection>>,
    pub store: Arc<dyn Store>,
    /// The flow's mapping section as JSON (an object).
    pub config_json: String,
    /// Waits for rate limits never go past this instant.
    pub deadline: tokio::time::Instant,
    /// Called with each `report.progress(done, total)` as the run reports it (the CLI's
    /// progress bar); the journal keeps the last one either way.
    pub on_progress: Option<ProgressFn>,
}

/// A progress observer: `(done, total)` of the run's candidates.
pub type ProgressFn = Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

impl RunCapabilities {
    fn ns(&self) -> Namespace {
        Namespace {
            client: self.client.clone(),
            flow: self.flow.clone(),
        }
    }
}

/// What a run reported besides its summary.
#[derive(Debug, Default, Clone)]
pub struct RunJournal {
    /// Exceptions raised, in order.
    pub raised: Vec<Exception>,
    /// (kind, entity) pairs resolved.
    pub resolved: Vec<(String, String)>,
    /// Log lines.
    pub logs: Vec<(Level, String)>,
    /// Last progress report: done of total.
    pub progress: Option<(u64, Option<u64>)>,
    /// API calls the flow made, per system (bigcommerce, brightpearl).
    pub api_calls: (u64, u64),
    /// Whether this run already settled the credentials exception of (bigcommerce,
    /// brightpearl): raised on a 401/403 or resolved on a 2xx.
    pub credentials_checked: [bool; 2],
}

/// A failure of the host itself during a run (not the flow's fault); traps the run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostFailure(pub String);

fn caps(s: &mut RunState) -> wasmtime::Result<&RunCapabilities> {
    s.caps.as_ref().ok_or_else(|| {
        wasmtime::Error::new(HostFailure(
            "host imports are not available during describe() and check-config()".into(),
        ))
    })
}

/// Runs `f` on the store on tokio's blocking pool: SQLite calls block, and must not hold up
/// the async worker threads that serve every other run's HTTP. `what` names the import for
/// the error.
async fn on_store<T: Send + 'static>(
    store: &Arc<dyn Store>,
    what: &'static str,
    f: impl FnOnce(&dyn Store) -> Result<T, pearlbridge_capabilities::state::StoreError>
    + Send
    + 'static,
) -> wasmtime::Result<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| host_failure(what, e))?
        .map_err(|e| host_failure(what, e))
}

fn host_failure(what: &str, e: impl std::fmt::Display) -> wasmtime::Error {
    wasmtime::Error::new(HostFailure(format!("{what}: {e}")))
}

impl types::Host for RunState {}

impl api::Host for RunState {
    async fn send(&mut self, req: Request) -> wasmtime::Result<Result<Response, SendError>> {
        // A 1.1.0 flow sends only what its manifest declares; no HTTP call otherwise.
        if let Some(needs) = self.needs.clone()
            && let Some(why) = crate::manifest::denied(&caps(self)?.flow, &needs, &req)
        {
            return Ok(Err(SendError::Denied(why)));
        }
        let c = caps(self)?;
        let (conn, system) = match req.system {
            System::Bigcommerce => (c.bigcommerce.clone(), connections::System::BigCommerce),
            System::Brightpearl => (c.brightpearl.clone(), connections::System::Brightpearl),
        };
        let Some(conn) = conn else {
            let name = match req.system {
                System::Bigcommerce => "bigcommerce",
                System::Brightpearl => "brightpearl",
            };
            return Ok(Err(SendError::Denied(format!(
                "client `{}` has no {name} connection configured",
                c.client
            ))));
        };
        let flow = c.flow.clone();
        let deadline = c.deadline;
        let method = match req.method {
            Method::Get => connections::Method::Get,
            Method::Post => connections::Method::Post,
            Method::Put => connections::Method::Put,
            Method::Patch => connections::Method::Patch,
            Method::Delete => connections::Method::Delete,
        };
        let api_req = ApiRequest {
            system,
            method,
            path: req.path,
            body: req.body,
            headers: req.headers,
        };
        match req.system {
            System::Bigcommerce => self.journal.api_calls.0 += 1,
            System::Brightpearl => self.journal.api_calls.1 += 1,
        }
        let out = conn.send(&flow, api_req, deadline).await;
        if let Ok(r) = &out {
            self.watch_credentials(system, r).await?;
        }
        Ok(match out {
            Ok(r) => Ok(Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => Err(match e {
                connections::SendError::Throttled { reset_ms } => SendError::Throttled(reset_ms),
                connections::SendError::Timeout => SendError::Timeout,
                connections::SendError::OutcomeUnknown => SendError::OutcomeUnknown,
                connections::SendError::Denied(m) => SendError::Denied(m),
                connections::SendError::Transport(m) => SendError::Transport(m),
            }),
        })
    }
}

/// Exception kinds the host raises itself about a connection's credentials (entity
/// `connection:<system>`, owner integration). Resolved by the first 2xx of a later call.
pub const CREDENTIALS_EXPIRED: &str = "credentials-expired";
pub const CREDENTIALS_REJECTED: &str = "credentials-rejected";

/// The exception for a 401/403 answer of `system`: `credentials-expired` when the server says
/// the token expired (Brightpearl OAuth: `401 {"response":"Authorization token expired"}`,
/// brightpearl-api.md §1.2 [obs]), else `credentials-rejected`. The host does not refresh
/// OAuth tokens (no refresh token is configured), so it never retries: the next step is a
/// person's. `body` is already scrubbed of secrets.
pub fn credentials_exception(system: connections::System, status: u16, body: &str) -> NewException {
    let expired = body.to_ascii_lowercase().contains("expired");
    let said: String = body.trim().chars().take(200).collect();
    let next = if expired {
        "the access token has expired and this host does not refresh tokens: issue a new one \
         and update the secret named by `token_secret` in client.toml"
    } else {
        "the token was revoked, is wrong or lacks a scope: check the app's installation and \
         the secret named by `token_secret` in client.toml"
    };
    NewException {
        kind: if expired {
            CREDENTIALS_EXPIRED
        } else {
            CREDENTIALS_REJECTED
        }
        .to_string(),
        entity: format!("connection:{system}"),
        message: format!("{system} answered {status} ({said}): {next}"),
        owner: StoredTeam::Integration,
        impact: None,
        retryable: true,
    }
}

impl RunState {
    /// A 401/403 raises the connection's credentials exception (once per run and system); the
    /// first 2xx of a run resolves the ones left open by earlier runs.
    async fn watch_credentials(
        &mut self,
        system: connections::System,
        r: &connections::ApiResponse,
    ) -> wasmtime::Result<()> {
        let slot = match system {
            connections::System::BigCommerce => 0,
            connections::System::Brightpearl => 1,
        };
        if self.journal.credentials_checked[slot] {
            return Ok(());
        }
        let c = caps(self)?;
        let ns = c.ns();
        let store = c.store.clone();
        let entity = format!("connection:{system}");
        if matches!(r.status, 401 | 403) {
            let e = credentials_exception(system, r.status, &r.body);
            let stored = e.clone();
            on_store(&store, "raising a credentials exception", move |s| {
                s.exception_raise(&ns, &stored)
            })
            .await?;
            self.journal.raised.push(Exception {
                kind: e.kind.clone(),
                entity: e.entity.clone(),
                message: e.message.clone(),
                owner: Team::Integration,
                impact: None,
                retryable: true,
            });
            self.journal.credentials_checked[slot] = true;
        } else if (200..300).contains(&r.status) {
            let e = entity.clone();
            let resolved = on_store(&store, "resolving a credentials exception", move |s| {
                let mut resolved = vec![];
                for kind in [CREDENTIALS_EXPIRED, CREDENTIALS_REJECTED] {
                    if s.exception_resolve(&ns, kind, &e)? {
                        resolved.push(kind);
                    }
                }
                Ok(resolved)
            })
            .await?;
            for kind in resolved {
                self.journal
                    .resolved
                    .push((kind.to_string(), entity.clone()));
            }
            self.journal.credentials_checked[slot] = true;
        }
        Ok(())
    }
}

impl state::Host for RunState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<state::Entry>> {
        let c = caps(self)?;
        let ns = c.ns();
        let e = on_store(&c.store, "state.get", move |s| s.state_get(&ns, &key)).await?;
        Ok(e.map(|e| state::Entry {
            value: e.value,
            version: e.version,
        }))
    }

    async fn set(&mut self, key: String, value: String) -> wasmtime::Result<u64> {
        let c = caps(self)?;
        let ns = c.ns();
        on_store(&c.store, "state.set", move |s| {
            s.state_set(&ns, &key, &value)
        })
        .await
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected_version: u64,
        value: String,
    ) -> wasmtime::Result<Result<u64, state::Conflict>> {
        let c = caps(self)?;
        let ns = c.ns();
        let r = on_store(&c.store, "state.compare-and-swap", move |s| {
            s.state_cas(&ns, &key, expected_version, &value)
        })
        .await?;
        Ok(r.map_err(|current_version| state::Conflict { current_version }))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        let c = caps(self)?;
        let ns = c.ns();
        on_store(&c.store, "state.delete", move |s| s.state_delete(&ns, &key)).await
    }

    async fn entries(
        &mut self,
        prefix: String,
        limit: u32,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        let c = caps(self)?;
        let ns = c.ns();
        on_store(&c.store, "state.entries", move |s| {
            s.state_list(&ns, &prefix, limit)
        })
        .await
    }
}

impl config::Host for RunState {
    async fn get(&mut self) -> wasmtime::Result<String> {
        Ok(caps(self)?.config_json.clone())
    }
}

/// Check an exception from a flow: kebab-case kind, an entity, a decimal impact.
fn to_stored(e: &Exception) -> Result<NewException, String> {
    let kebab = !e.kind.is_empty()
        && e.kind
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
    if !kebab {
        return Err(format!(
            "report.raise: exception kind `{}` must be kebab-case",
            e.kind
        ));
    }
    if e.entity.trim().is_empty() {
        return Err(format!(
            "report.raise: exception `{}` has no entity",
            e.kind
        ));
    }
    let impact = match &e.impact {
        None => None,
        Some(m) => {
            let amount = Decimal::from_str(m.amount.trim()).map_err(|_| {
                format!(
                    "report.raise: exception `{}` on `{}`: impact amount `{}` is not a decimal",
                    e.kind, e.entity, m.amount
                )
            })?;
            if m.currency.len() != 3 || !m.currency.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(format!(
                    "report.raise: exception `{}` on `{}`: impact currency `{}` is not an ISO 4217 code",
                    e.kind, e.entity, m.currency
                ));
            }
            Some(StoredMoney {
                amount,
                currency: m.currency.clone(),
            })
        }
    };
    let owner = match e.owner {
        Team::Finance => StoredTeam::Finance,
        Team::Operations => StoredTeam::Operations,
        Team::Ecommerce => StoredTeam::Ecommerce,
        Team::CustomerService => StoredTeam::CustomerService,
        Team::Integration => StoredTeam::Integration,
    };
    Ok(NewException {
        kind: e.kind.clone(),
        entity: e.entity.clone(),
        message: e.message.clone(),
        owner,
        impact,
        retryable: e.retryable,
    })
}

impl report::Host for RunState {
    async fn raise(&mut self, e: Exception) -> wasmtime::Result<()> {
        let c = caps(self)?;
        let stored = to_stored(&e).map_err(wasmtime::Error::msg)?;
        let ns = c.ns();
        on_store(&c.store, "report.raise", move |s| {
            s.exception_raise(&ns, &stored)
        })
        .await?;
        self.journal.raised.push(e);
        Ok(())
    }

    async fn resolve(&mut self, kind: String, entity: String) -> wasmtime::Result<()> {
        let c = caps(self)?;
        let ns = c.ns();
        let (k, e) = (kind.clone(), entity.clone());
        let was_open = on_store(&c.store, "report.resolve", move |s| {
            s.exception_resolve(&ns, &k, &e)
        })
        .await?;
        if was_open {
            self.journal.resolved.push((kind, entity));
        }
        Ok(())
    }

    async fn open(&mut self, entity_prefix: String) -> wasmtime::Result<Vec<(String, String)>> {
        let c = caps(self)?;
        let ns = c.ns();
        on_store(&c.store, "report.open", move |s| {
            s.exceptions_open(&ns, &entity_prefix)
        })
        .await
    }

    async fn progress(&mut self, done: u64, total: Option<u64>) -> wasmtime::Result<()> {
        if let Some(f) = &caps(self)?.on_progress {
            f(done, total);
        }
        self.journal.progress = Some((done, total));
        Ok(())
    }

    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let c = caps(self)?;
        let (client, flow) = (c.client.clone(), c.flow.clone());
        match level {
            Level::Debug => tracing::debug!(client, flow, "{message}"),
            Level::Info => tracing::info!(client, flow, "{message}"),
            Level::Warn => tracing::warn!(client, flow, "{message}"),
            Level::Error => tracing::error!(client, flow, "{message}"),
        }
        if self.journal.logs.len() < 10_000 {
            self.journal.logs.push((level, message));
        }
        Ok(())
    }
}
