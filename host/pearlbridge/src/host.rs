//! The host put together: clients (their files), secrets, connections, the component store,
//! the state store and the runtime. [`Host::run_flow`] is one run of one client × flow.
//!
//! Security assumption: a run gets only its own client's connections and its own
//! client × flow state namespace; secrets are resolved here and handed to connections only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use pearlbridge_capabilities::clients::{BrightpearlAuth, ClientConfig, FlowPin};
use pearlbridge_capabilities::connections::{
    AuditSink, Connection, ConnectionConfig, ConnectionStats, Connections, Credentials,
    RetryPolicy, System,
};
use pearlbridge_capabilities::redact;
use pearlbridge_capabilities::secrets::{EnvSecrets, FileSecrets, Secrets};
use pearlbridge_capabilities::state::{
    AuditLine, InboxRecord, Namespace, RunOutcome, Scrubbed, SqliteStore, Store,
};

use crate::bindings::{Event, FlowError, RunSummary, System as BindingSystem, Trigger};
use crate::components::ComponentStore;
use crate::imports::{RunCapabilities, RunJournal};
use crate::runtime::{LoadedComponent, Runtime, RuntimeConfig};

/// Where the host keeps its files and finds its clients.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Data folder: `state.sqlite`, `components/`, `cache/`.
    pub data_dir: PathBuf,
    /// A secrets file (TOML `name = "value"`, mode 600) besides the environment.
    pub secrets_file: Option<PathBuf>,
    pub runtime: RuntimeConfig,
    /// Per-attempt HTTP timeout of connections.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// How many times faster than real time the servers' clocks run: 1.0 for real
    /// servers; the sandbox's time scale in `demo` and tests.
    pub server_time_scale: f64,
}

impl HostConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            runtime: RuntimeConfig::new(data_dir.join("cache")),
            data_dir,
            secrets_file: None,
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            server_time_scale: 1.0,
        }
    }
}

/// Audit lines go to the state store; a failure to write one is logged, never fatal.
struct StoreAudit(Arc<dyn Store>);

impl AuditSink for StoreAudit {
    fn record(&self, line: AuditLine) {
        if let Err(e) = self.0.audit(&line) {
            tracing::warn!("audit line not stored: {e}");
        }
    }
}

/// The result of one run, as stored and shown.
#[derive(Debug)]
pub struct RunReport {
    pub run_id: i64,
    pub client: String,
    pub flow: String,
    /// `name@version` of the component that ran.
    pub component: String,
    pub outcome: Result<RunSummary, String>,
    pub journal: RunJournal,
}

impl RunReport {
    /// A named count of the summary (0 when absent or the run failed).
    pub fn count(&self, name: &str) -> u64 {
        match &self.outcome {
            Ok(s) => s
                .counts
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| *v)
                .sum(),
            Err(_) => 0,
        }
    }
}

/// The reference host.
pub struct Host {
    pub config: HostConfig,
    pub runtime: Arc<Runtime>,
    pub store: Arc<dyn Store>,
    pub secrets: Secrets,
    pub components: ComponentStore,
    pub connections: Connections,
    /// Behind a lock so a running service can swap a client's file while other runs go on.
    clients: std::sync::RwLock<BTreeMap<String, Arc<ClientConfig>>>,
    /// Told of every run's `report.progress` (`flow run`'s progress bar).
    pub on_progress: Option<crate::imports::ProgressFn>,
}

impl Host {
    /// Open the data folder (creating it), the state store and the runtime.
    pub fn open(config: HostConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&config.data_dir.join("state.sqlite"))?);
        let runtime = Arc::new(Runtime::new(config.runtime.clone())?);
        Self::with_parts(config, runtime, store)
    }

    /// Build a host around an existing runtime and store (tests share one runtime). The
    /// store is wrapped in [`Scrubbed`], so nothing it persists holds a secret value.
    pub fn with_parts(
        config: HostConfig,
        runtime: Arc<Runtime>,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<Self> {
        let mut secrets = Secrets::new(vec![Box::new(EnvSecrets)]);
        if let Some(f) = &config.secrets_file {
            secrets.push(FileSecrets::open(f)?);
        }
        Ok(Self {
            components: ComponentStore::open(&config.data_dir),
            config,
            runtime,
            // Every text the host persists is scrubbed of secret values (crate::redact).
            store: Scrubbed::wrap(store),
            secrets,
            connections: Connections::new(),
            clients: Default::default(),
            on_progress: None,
        })
    }

    /// Replace the secret providers (tests, the demo).
    pub fn set_secrets(&mut self, secrets: Secrets) {
        self.secrets = secrets;
    }

    /// Add or replace a client; its connections are rebuilt on its next run.
    pub fn add_client(&mut self, client: ClientConfig) {
        self.put_client(client);
    }

    /// [`Host::add_client`] on a shared host (`pearlbridge serve` reloading a client file):
    /// runs already going keep the configuration they started with.
    pub fn put_client(&self, client: ClientConfig) {
        self.connections.remove(&client.name, System::BigCommerce);
        self.connections.remove(&client.name, System::Brightpearl);
        self.clients
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(client.name.clone(), Arc::new(client));
    }

    /// Forget a client (its folder was removed); runs already going finish.
    pub fn remove_client(&self, name: &str) {
        self.clients
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.connections.remove(name, System::BigCommerce);
        self.connections.remove(name, System::Brightpearl);
    }

    /// Every client, by name.
    pub fn clients(&self) -> Vec<Arc<ClientConfig>> {
        self.clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn client(&self, name: &str) -> Option<Arc<ClientConfig>> {
        self.clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// The connection of `client` to `system` (built on first use, with its secret resolved),
    /// for host-side calls such as `pearlbridge hooks register`; `None` when the client file
    /// has no such connection. Errors: unknown client, missing secret.
    pub fn api(&self, client: &str, system: System) -> anyhow::Result<Option<Arc<Connection>>> {
        let c = self
            .client(client)
            .ok_or_else(|| anyhow!("no client `{client}`"))?;
        self.connection(&c, system)
    }

    /// Request counts of a client's connection (calls, throttles, retries).
    pub fn connection_stats(&self, client: &str, system: System) -> Option<ConnectionStats> {
        self.connections.get(client, system).map(|c| c.stats())
    }

    fn connection(
        &self,
        client: &ClientConfig,
        system: System,
    ) -> anyhow::Result<Option<Arc<Connection>>> {
        if let Some(c) = self.connections.get(&client.name, system) {
            return Ok(Some(c));
        }
        let (api_base, scope, credentials) = match system {
            System::BigCommerce => {
                let Some(bc) = &client.bigcommerce else {
                    return Ok(None);
                };
                let token = self.secrets.resolve(&bc.token_secret)?;
                (
                    bc.api_base.clone(),
                    bc.store_hash.clone(),
                    Credentials::BigCommerce { token },
                )
            }
            System::Brightpearl => {
                let Some(bp) = &client.brightpearl else {
                    return Ok(None);
                };
                let token = self.secrets.resolve(&bp.token_secret)?;
                let creds = match &bp.auth {
                    BrightpearlAuth::System => Credentials::BrightpearlSystem {
                        app_ref: bp.app_ref.clone(),
                        account_token: token,
                    },
                    BrightpearlAuth::OAuth { dev_ref } => Credentials::BrightpearlOAuth {
                        app_ref: bp.app_ref.clone(),
                        dev_ref: dev_ref.clone(),
                        access_token: token,
                    },
                };
                (bp.api_base.clone(), bp.account.clone(), creds)
            }
        };
        let conn = Connection::new(
            ConnectionConfig {
                client: client.name.clone(),
                system,
                api_base,
                scope,
                credentials,
                retry: self.config.retry.clone(),
                request_timeout: self.config.request_timeout,
            },
            Arc::new(StoreAudit(self.store.clone())),
        )?;
        conn.set_server_time_scale(self.config.server_time_scale);
        self.connections.insert(conn.clone());
        Ok(Some(conn))
    }

    /// The pinned component of `client`'s `flow`, loaded, with its sha256 checked.
    pub fn pinned_component(
        &self,
        client: &ClientConfig,
        flow: &str,
    ) -> anyhow::Result<(Arc<LoadedComponent>, FlowPin)> {
        let pin = client
            .flows
            .get(flow)
            .ok_or_else(|| {
                anyhow!(
                    "client `{}` has no flow `{flow}` in {}",
                    client.name,
                    client.file.display()
                )
            })?
            .clone();
        let stored = self
            .components
            .find(&pin.component_name, &pin.component_version)?
            .ok_or_else(|| {
                anyhow!(
                    "client `{}` flow `{flow}` pins {}@{}, which is not in the component store ({}); add it with `pearlbridge components add <file.wasm>`",
                    client.name,
                    pin.component_name,
                    pin.component_version,
                    self.config.data_dir.join("components").display()
                )
            })?;
        if !stored.sha256.eq_ignore_ascii_case(&pin.sha256) {
            bail!(
                "client `{}` flow `{flow}` pins {}@{} with sha256 {}, but the stored component has sha256 {}",
                client.name,
                pin.component_name,
                pin.component_version,
                pin.sha256,
                stored.sha256
            );
        }
        let loaded = self.runtime.load(&stored.path)?;
        Ok((loaded, pin))
    }

    /// One run of `client`'s `flow` for `trigger`: recorded in the store with its outcome.
    /// Errors only when the run could not start (unknown client or flow, missing secret,
    /// component not stored); a failed run is an `Err` outcome in the report.
    pub async fn run_flow(
        &self,
        client: &str,
        flow: &str,
        trigger: Trigger,
    ) -> anyhow::Result<RunReport> {
        self.run_flow_with(client, flow, trigger, None, |_| {})
            .await
    }

    /// A run of `client`'s `flow` for the inbox events `events` (`Trigger::Events`, one
    /// event per record, in order); the run's `context.events()` gives each its inbox id and
    /// received-at time. `started` is called with the run id once the run is recorded.
    pub async fn run_flow_events(
        &self,
        client: &str,
        flow: &str,
        events: &[InboxRecord],
        started: impl FnOnce(i64),
    ) -> anyhow::Result<RunReport> {
        let trigger = Trigger::Events(
            events
                .iter()
                .map(|e| Event {
                    source: if e.source == "brightpearl" {
                        BindingSystem::Brightpearl
                    } else {
                        BindingSystem::Bigcommerce
                    },
                    scope: e.scope.clone(),
                    entity_id: e.entity_id.clone(),
                    payload: e.payload.clone(),
                })
                .collect(),
        );
        let ids = events
            .iter()
            .map(|e| {
                (
                    e.id.to_string(),
                    e.received_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                )
            })
            .collect();
        self.run_flow_with(client, flow, trigger, Some(ids), started)
            .await
    }

    /// [`Host::run_flow`], with the inbox ids and received-at times of a `Trigger::Events`
    /// (`None`: run-scoped ids) and a callback with the run id once it is recorded.
    pub async fn run_flow_with(
        &self,
        client: &str,
        flow: &str,
        trigger: Trigger,
        inbox: Option<Vec<(String, String)>>,
        started: impl FnOnce(i64),
    ) -> anyhow::Result<RunReport> {
        let c = self
            .client(client)
            .ok_or_else(|| anyhow!("no client `{client}`"))?;
        let c = c.as_ref();
        let (component, pin) = self.pinned_component(c, flow)?;
        let mut caps = RunCapabilities {
            client: c.name.clone(),
            flow: flow.to_string(),
            run_id: 0,
            bigcommerce: self.connection(c, System::BigCommerce)?,
            brightpearl: self.connection(c, System::Brightpearl)?,
            store: self.store.clone(),
            config_json: serde_json::to_string(&pin.mapping)?,
            deadline: tokio::time::Instant::now() + self.config.runtime.deadline,
            on_progress: self.on_progress.clone(),
        };
        let ns = Namespace {
            client: c.name.clone(),
            flow: flow.to_string(),
        };
        let (store, label) = (self.store.clone(), trigger_label(&trigger));
        // SQLite blocks: off the async worker threads.
        let run_id = tokio::task::spawn_blocking(move || store.run_start(&ns, &label)).await??;
        caps.run_id = run_id as u64;
        started(run_id);
        let result = self
            .runtime
            .run_with_inbox(&component, caps, &trigger, inbox.as_deref())
            .await;
        let (outcome, journal) = match result {
            Ok(r) => {
                let outcome = r.result.map_err(|e| flow_error_text(&e));
                (outcome, r.journal)
            }
            Err(e) => (Err(e.to_string()), RunJournal::default()),
        };
        // The run's error leaves the host (CLI, callers, the runs table): no secret in it.
        let outcome = outcome.map_err(redact::scrub_string);
        let stored = match &outcome {
            Ok(summary) => RunOutcome::Ok(summary_json(summary).to_string()),
            Err(e) => RunOutcome::Error(e.clone()),
        };
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.run_finish(run_id, &stored)).await??;
        Ok(RunReport {
            run_id,
            client: c.name.clone(),
            flow: flow.to_string(),
            component: format!("{}@{}", pin.component_name, pin.component_version),
            outcome,
            journal,
        })
    }
}

/// Short text of a trigger for the run record, e.g. `scheduled`, `events(3)`.
pub fn trigger_label(t: &Trigger) -> String {
    match t {
        Trigger::Scheduled => "scheduled".into(),
        Trigger::Events(e) => format!("events({})", e.len()),
        Trigger::Replay(r) => format!("replay({})", r.len()),
    }
}

/// A run summary as JSON: `{"counts": {name: n}, "notes": [..]}`.
pub fn summary_json(s: &RunSummary) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = s
        .counts
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
        .collect();
    serde_json::json!({ "counts": counts, "notes": s.notes })
}

/// Human text of a flow error.
pub fn flow_error_text(e: &FlowError) -> String {
    match e {
        FlowError::Config(problems) => format!(
            "configuration: {}",
            problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        FlowError::Upstream(m) => format!("upstream: {m}"),
        FlowError::Internal(m) => format!("internal: {m}"),
    }
}

/// Default data folder: `$PEARLBRIDGE_DATA` or `./.pearlbridge`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("PEARLBRIDGE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(".pearlbridge").to_path_buf())
}
