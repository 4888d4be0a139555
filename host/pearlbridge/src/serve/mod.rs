//! `pearlbridge serve`: the host as a service. One listener serves the webhook receiver
//! ([`webhooks`]), `/healthz` and `/metrics` ([`metrics`]); one scheduler task per client × flow
//! ([`schedule`]) runs the flow on its schedule and for the events the receiver committed to
//! the durable inbox; one task sends new exceptions to the teams' chat webhooks ([`alerts`]).
//!
//! What an operations team can rely on:
//! - A webhook is answered 2xx only after its event is committed to the inbox (SQLite, WAL);
//!   an event leaves the inbox only when a run that consumed it finished OK; a failed run
//!   leaves its events for the next one (with a backoff).
//! - One run at a time per client × flow, through a lease in the state store with an expiry
//!   (renewed while the run goes), so a second process, a reloaded configuration or a
//!   restarted process never overlaps a run; a killed process's lease lapses after the TTL.
//! - A schedule missed while the service was down runs once at start, not once per missed
//!   interval (the last scheduled run's start comes from the store).
//! - Schedules are intervals (`5m`) or five-field cron expressions in UTC
//!   ([`pearlbridge_capabilities::cron`]); a cron flow that never ran waits for its next slot.
//! - Client files are reloaded on SIGHUP and when they change; a file with problems
//!   (`pearlbridge check`'s) is refused, its problems logged, and the old configuration keeps
//!   running.
//! - SIGTERM/SIGINT: stop accepting, let in-flight runs finish up to the drain deadline, then
//!   leave the rest in the inbox (claims released) and exit.

pub mod alerts;
pub mod metrics;
pub mod schedule;
pub mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use pearlbridge_capabilities::clients::{ClientConfig, load_clients, parse_interval};
use pearlbridge_capabilities::secrets::Secret;
use pearlbridge_capabilities::state::Namespace;
use sha2::Digest as _;
use tokio::sync::{Notify, watch};

use crate::check::check_client;
use crate::host::Host;

/// How `serve` behaves; [`ServeOptions::new`] gives the production defaults.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Folder of client folders (`<dir>/<client>/client.toml`).
    pub clients_dir: PathBuf,
    /// Address of the one listener (webhooks, `/healthz`), e.g. `127.0.0.1:8080`; port 0
    /// picks a free port (printed at start).
    pub listen: SocketAddr,
    /// How long a run lease lasts unless renewed (renewed every third of it while a run
    /// goes). A killed process's flows are free again after this.
    pub lease_ttl: Duration,
    /// Upper bound of the random delay added to each scheduled run (the delay is at most a
    /// tenth of the flow's interval, and at most this).
    pub max_jitter: Duration,
    /// How long a flow waits after an event arrives for more to batch into the same run.
    pub coalesce: Duration,
    /// How long in-flight runs may take to finish after SIGTERM/SIGINT.
    pub drain: Duration,
    /// Largest webhook body accepted, in bytes (413 above).
    pub max_body: usize,
    /// Deliveries of one client with the same event key within this window are dropped
    /// (BigCommerce retries for about 48 h [doc]).
    pub dedupe_window: Duration,
    /// How often client files are checked for changes.
    pub reload_poll: Duration,
    /// At most this many inbox events in one run.
    pub batch: u32,
    /// First wait before a failed events run is retried (doubles, up to 5 minutes).
    pub retry_backoff: Duration,
    /// How often new exceptions are sent to the teams' alert webhooks ([`alerts`]).
    pub alert_every: Duration,
    /// More new exceptions than this for one team in one alert pass go as one digest.
    pub alert_digest_over: usize,
}

impl ServeOptions {
    pub fn new(clients_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        ServeOptions {
            clients_dir: clients_dir.into(),
            listen,
            lease_ttl: Duration::from_secs(60),
            max_jitter: Duration::from_secs(30),
            coalesce: Duration::from_millis(100),
            drain: Duration::from_secs(30),
            max_body: 256 * 1024,
            dedupe_window: Duration::from_secs(48 * 3600),
            reload_poll: Duration::from_secs(2),
            batch: 250,
            retry_backoff: Duration::from_secs(5),
            alert_every: Duration::from_secs(30),
            alert_digest_over: 5,
        }
    }
}

/// One flow of a loaded client as the service runs it.
pub(crate) struct FlowEntry {
    /// Event scopes the component subscribes to (`describe().event-scopes`), e.g.
    /// `store/order/*`, `goods-out-note.modified.shipped`.
    pub scopes: Vec<String>,
    /// When scheduled runs happen (the client file's, else the component's default);
    /// `None`: events only.
    pub schedule: Option<schedule::Schedule>,
    /// Woken when an event for this flow was committed.
    pub wake: Arc<Notify>,
    /// `Run` → `Drain` (finish the current run, start no other) → `Abort`.
    stop: watch::Sender<Stop>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What a scheduler task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    Run,
    Drain,
    Abort,
}

/// A loaded client: its checked configuration, its webhook secrets, its flows.
pub(crate) struct ClientEntry {
    pub config: Arc<ClientConfig>,
    /// sha256 of the client file as loaded.
    fingerprint: String,
    /// The value BigCommerce must send in the custom header.
    pub bigcommerce_secret: Option<Secret>,
    /// The token in the Brightpearl callback URL.
    pub brightpearl_token: Option<Secret>,
    pub flows: BTreeMap<String, FlowEntry>,
}

/// The service's shared state.
pub(crate) struct Service {
    pub host: Arc<Host>,
    pub opts: ServeOptions,
    pub clients: RwLock<BTreeMap<String, Arc<ClientEntry>>>,
    /// Schedules loaded and the store open.
    pub ready: AtomicBool,
    /// Identifies this process in leases: `serve:<pid>:<random>`.
    pub holder: String,
    /// Problems of the last reload, per client (refused files), for `/healthz`.
    pub refused: RwLock<BTreeMap<String, Vec<String>>>,
    /// Scheduler tasks of replaced configurations, still finishing their run.
    retired: std::sync::Mutex<Vec<(watch::Sender<Stop>, tokio::task::JoinHandle<()>)>>,
}

impl Service {
    pub fn client(&self, name: &str) -> Option<Arc<ClientEntry>> {
        self.clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }
}

/// Whether a flow subscribed to `pattern` wants event `scope`: equal; BigCommerce wildcard
/// `store/order/*` for every `store/order/...`; or a Brightpearl prefix at a `.` boundary
/// (`goods-out-note` for `goods-out-note.modified.shipped`).
pub fn scope_matches(pattern: &str, scope: &str) -> bool {
    if pattern == scope {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix("/*") {
        return scope.starts_with(&format!("{prefix}/"));
    }
    scope
        .strip_prefix(pattern)
        .is_some_and(|rest| rest.starts_with('.'))
}

fn fingerprint(file: &Path) -> Option<String> {
    std::fs::read(file)
        .ok()
        .map(|b| hex::encode(sha2::Sha256::digest(b)))
}

/// The fingerprints of every `client.toml` under `dir`, by client folder.
fn fingerprints(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let file = e
                .path()
                .join(pearlbridge_capabilities::clients::CLIENT_FILE);
            if let Some(fp) = fingerprint(&file) {
                out.insert(e.file_name().to_string_lossy().into_owned(), fp);
            }
        }
    }
    out
}

/// Build the service entry of a checked client: resolve its webhook secrets, ask each pinned
/// component for its event scopes and default schedule.
async fn client_entry(host: &Host, c: &ClientConfig) -> anyhow::Result<ClientEntry> {
    let resolve = |name: &Option<String>| -> anyhow::Result<Option<Secret>> {
        name.as_ref()
            .map(|n| host.secrets.resolve(n).map_err(anyhow::Error::from))
            .transpose()
    };
    let (bigcommerce_secret, brightpearl_token) = match &c.webhooks {
        Some(w) => (
            resolve(&w.bigcommerce_secret)?,
            resolve(&w.brightpearl_secret)?,
        ),
        None => (None, None),
    };
    let mut flows = BTreeMap::new();
    for (flow, pin) in &c.flows {
        let (loaded, _) = host.pinned_component(c, flow)?;
        let info = host.runtime.describe(&loaded).await?;
        let schedule = match (&pin.schedule, &pin.cron) {
            (Some(d), _) => Some(schedule::Schedule::Every(*d)),
            (None, Some(c)) => Some(schedule::Schedule::Cron(c.clone())),
            (None, None) => info
                .default_schedule
                .as_deref()
                .map(parse_interval)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{}: default schedule: {e}", loaded.file))?
                .map(schedule::Schedule::Every),
        };
        flows.insert(
            flow.clone(),
            FlowEntry {
                scopes: info.event_scopes,
                schedule,
                wake: Arc::new(Notify::new()),
                stop: watch::channel(Stop::Run).0,
                task: std::sync::Mutex::new(None),
            },
        );
    }
    Ok(ClientEntry {
        fingerprint: fingerprint(&c.file).unwrap_or_default(),
        config: Arc::new(c.clone()),
        bigcommerce_secret,
        brightpearl_token,
        flows,
    })
}

impl Service {
    /// Load or reload every client file: check each (as `pearlbridge check` does); a client
    /// with problems keeps its old configuration (or is not started), its problems logged;
    /// changed clients get new scheduler tasks once their old ones finished their run.
    /// `force` (SIGHUP) checks unchanged files again too, so a rotated secret is picked up.
    /// Returns the problems of refused clients.
    pub(crate) async fn reload(self: &Arc<Self>, force: bool) -> BTreeMap<String, Vec<String>> {
        let (parsed, problems) = load_clients(&self.opts.clients_dir);
        let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in problems {
            refused
                .entry(p.client.clone())
                .or_default()
                .push(p.to_string());
        }
        let on_disk = fingerprints(&self.opts.clients_dir);
        let mut fresh: Vec<ClientEntry> = vec![];
        for c in &parsed {
            let current = self.client(&c.name);
            let fp = fingerprint(&c.file).unwrap_or_default();
            if !force && current.as_ref().is_some_and(|e| e.fingerprint == fp) {
                continue;
            }
            let found = check_client(&self.host, c).await;
            if !found.is_empty() {
                refused
                    .entry(c.name.clone())
                    .or_default()
                    .extend(found.iter().map(|p| p.to_string()));
                continue;
            }
            match client_entry(&self.host, c).await {
                Ok(e) => fresh.push(e),
                Err(e) => refused
                    .entry(c.name.clone())
                    .or_default()
                    .push(format!("{}: {e:#}", c.file.display())),
            }
        }
        for (client, ps) in &refused {
            let kept = if self.client(client).is_some() {
                "the running configuration is kept"
            } else {
                "not started"
            };
            tracing::error!(
                client = %client,
                "client file refused ({kept}):\n  {}",
                ps.join("\n  ")
            );
        }
        // Clients whose folder is gone (and not merely refused) stop.
        let gone: Vec<String> = self
            .clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|k| !on_disk.contains_key(*k) && !refused.contains_key(*k))
            .cloned()
            .collect();
        for name in gone {
            let old = self
                .clients
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&name);
            if let Some(old) = old {
                tracing::info!(client = %name, "client folder removed: its flows stop");
                self.retire(&old);
            }
            self.host.remove_client(&name);
        }
        for mut entry in fresh {
            let name = entry.config.name.clone();
            self.host.put_client((*entry.config).clone());
            for (flow, f) in entry.flows.iter_mut() {
                let (tx, rx) = watch::channel(Stop::Run);
                f.stop = tx;
                *f.task.get_mut().unwrap_or_else(|p| p.into_inner()) =
                    Some(tokio::spawn(schedule::flow_task(
                        self.clone(),
                        Namespace::new(name.clone(), flow.clone()),
                        f.schedule.clone(),
                        f.wake.clone(),
                        rx,
                    )));
            }
            let old = self
                .clients
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.clone(), Arc::new(entry));
            match old {
                Some(old) => {
                    tracing::info!(client = %name, "client file reloaded");
                    self.retire(&old);
                }
                None => tracing::info!(client = %name, "client loaded"),
            }
        }
        *self.refused.write().unwrap_or_else(|p| p.into_inner()) = refused.clone();
        refused
    }
}

impl Service {
    /// Tell the tasks of a replaced or removed client to finish their run and end.
    fn retire(&self, entry: &ClientEntry) {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        retired.retain(|(_, h)| !h.is_finished());
        for f in entry.flows.values() {
            f.stop.send_replace(Stop::Drain);
            if let Some(h) = f.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
                retired.push((f.stop.clone(), h));
            }
        }
    }
}

/// What [`serve`] reports once it listens.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    /// The bound address, e.g. `127.0.0.1:40123`.
    pub listening: String,
    /// Clients loaded.
    pub clients: Vec<String>,
    /// Problems of client files refused at start, per client.
    pub refused: BTreeMap<String, Vec<String>>,
}

/// Run the service until `shutdown` resolves (SIGTERM/SIGINT in the CLI); `reload` yields
/// each time the client files must be read again (SIGHUP), besides the change poll.
/// `started` is called once, after the listener is bound and the clients loaded.
/// Errors: the listener cannot be bound.
pub async fn serve(
    host: Host,
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    mut reload: tokio::sync::mpsc::Receiver<()>,
    started: impl FnOnce(&Started),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let service = Arc::new(Service {
        host: Arc::new(host),
        opts: opts.clone(),
        clients: RwLock::new(BTreeMap::new()),
        ready: AtomicBool::new(false),
        holder: format!("serve:{}:{:08x}", std::process::id(), rand::random::<u32>()),
        refused: RwLock::new(BTreeMap::new()),
        retired: std::sync::Mutex::new(vec![]),
    });
    let refused = service.reload(true).await;
    service.ready.store(true, Ordering::SeqCst);
    started(&Started {
        listening: addr.to_string(),
        clients: service
            .clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect(),
        refused,
    });

    // Reloads: SIGHUP (the channel) and a poll of the files' contents.
    let watcher = {
        let service = service.clone();
        tokio::spawn(async move {
            let mut known = fingerprints(&service.opts.clients_dir);
            let mut tick = tokio::time::interval(service.opts.reload_poll);
            tick.tick().await;
            let mut hup_open = true;
            loop {
                let force = tokio::select! {
                    got = reload.recv(), if hup_open => {
                        if got.is_none() {
                            // No more SIGHUPs: keep polling.
                            hup_open = false;
                            continue;
                        }
                        tracing::info!("SIGHUP: reloading client files");
                        true
                    }
                    _ = tick.tick() => {
                        let now = fingerprints(&service.opts.clients_dir);
                        if now == known {
                            continue;
                        }
                        tracing::info!("client files changed: reloading");
                        false
                    }
                };
                known = fingerprints(&service.opts.clients_dir);
                service.reload(force).await;
            }
        })
    };

    let (alerts_stop, alerts_rx) = watch::channel(Stop::Run);
    let alerts = tokio::spawn(alerts::task(service.clone(), alerts_rx));
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let app = webhooks::router(service.clone()).merge(metrics::router(service.clone()));
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await
    });
    shutdown.await;
    tracing::info!("stopping: no new webhooks or runs; draining in-flight runs");
    service.ready.store(false, Ordering::SeqCst);
    watcher.abort();
    alerts_stop.send_replace(Stop::Drain);
    stop_tx.send_replace(true);
    let entries: Vec<Arc<ClientEntry>> = service
        .clients
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect();
    for e in &entries {
        service.retire(e);
    }
    let deadline = tokio::time::Instant::now() + opts.drain;
    let handles = std::mem::take(&mut *service.retired.lock().unwrap_or_else(|p| p.into_inner()));
    for (stop, mut h) in handles {
        if tokio::time::timeout_at(deadline, &mut h).await.is_err() {
            // Past the drain deadline: the task releases its claims and lease, then ends.
            stop.send_replace(Stop::Abort);
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), alerts).await;
    Ok(())
}
