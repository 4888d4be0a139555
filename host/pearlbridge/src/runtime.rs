//! The wasmtime runtime: one `Engine` (pooling allocator, epoch interruption), components
//! compiled once per sha256 and cached on disk as precompiled artifacts, one `InstancePre`
//! per component, and a fresh `Store` per run with a memory cap and a wall-clock deadline.
//!
//! Security assumption: a component is untrusted code. Its only capabilities are the
//! `pearlbridge:flow` imports (bound to one client × flow in [`RunCapabilities`]) and a
//! minimal WASI subset (clocks, random, stdio into a memory pipe, an empty environment).
//! `wasi:filesystem` and `wasi:sockets` are not linked at all, so a component that imports
//! them is refused at load time, naming the import.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasData, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    Trap,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{FlowPre, Need, WitVersion, v1_1};
use crate::context::RunFacts;
use crate::imports::RunCapabilities;
use crate::imports::RunJournal;

/// Interfaces the host provides, without their versions. Everything else a component
/// imports is refused at load time.
pub const PROVIDED_INTERFACES: &[&str] = &[
    "pearlbridge:flow/types",
    "pearlbridge:flow/api",
    "pearlbridge:flow/state",
    "pearlbridge:flow/config",
    "pearlbridge:flow/report",
    "pearlbridge:flow/context",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/exit",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
];

/// The newest flow world this host implements; it also runs components built against every
/// older `pearlbridge:flow@1.x` (see [`WitVersion`]).
pub const FLOW_WORLD: &str = "pearlbridge:flow@1.1.0";

/// Runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Folder for precompiled artifacts (`<sha256>-<engine hash>.cwasm`).
    pub cache_dir: PathBuf,
    /// Linear-memory cap of one run, in bytes (default 128 MiB).
    pub memory_cap_bytes: usize,
    /// Wall-clock deadline of one run (default 15 min: a full stock sync of 50,000 SKUs
    /// spends about 3.5 min waiting on Brightpearl's 200 requests a minute alone).
    pub deadline: Duration,
    /// Runs that may be in flight at once (sizes the pooling allocator; default 32).
    pub max_concurrent_runs: u32,
}

impl RuntimeConfig {
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            memory_cap_bytes: 128 << 20,
            deadline: Duration::from_secs(15 * 60),
            max_concurrent_runs: 32,
        }
    }
}

/// Epoch tick length: the deadline's resolution.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Errors loading a component file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read the file: {detail}")]
    Unreadable { file: String, detail: String },
    #[error(
        "{file}: not a WebAssembly component ({detail}); build flows with `cargo build --target wasm32-wasip2`"
    )]
    NotAComponent { file: String, detail: String },
    #[error("{file}: imports `{import}`, which this host does not provide ({why})")]
    MissingImport {
        file: String,
        import: String,
        why: String,
    },
    #[error(
        "{file}: does not export `pearlbridge:flow/runner` of the {world} world this host runs: {detail}"
    )]
    WrongWorld {
        file: String,
        world: String,
        detail: String,
    },
    #[error("{file}: cannot be compiled: {detail}")]
    Compile { file: String, detail: String },
}

/// Why a run stopped without a flow result.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "client `{client}` flow `{flow}`: component {file} ran past its deadline of {deadline_ms} ms and was stopped"
    )]
    DeadlineExceeded {
        client: String,
        flow: String,
        file: String,
        deadline_ms: u128,
    },
    #[error(
        "client `{client}` flow `{flow}`: component {file} tried to grow its memory to {wanted} bytes, past the cap of {cap} bytes, and was stopped"
    )]
    MemoryCap {
        client: String,
        flow: String,
        file: String,
        wanted: usize,
        cap: usize,
    },
    #[error("client `{client}` flow `{flow}`: component {file} trapped: {message}")]
    Trap {
        client: String,
        flow: String,
        file: String,
        message: String,
    },
    #[error("client `{client}` flow `{flow}`: host error: {message}")]
    Host {
        client: String,
        flow: String,
        message: String,
    },
}

/// A loaded component: its digest, file, interface names, the world version it was built
/// against and a ready `InstancePre` of that world.
pub struct LoadedComponent {
    pub sha256: String,
    pub file: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub wit: WitVersion,
    pre: FlowPre<RunState>,
    /// `manifest.needs()`, called once on first use; `None` for 1.0.0 components.
    needs: tokio::sync::OnceCell<Option<Arc<Vec<Need>>>>,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("sha256", &self.sha256)
            .field("file", &self.file)
            .field("wit", &self.wit)
            .finish()
    }
}

/// Memory cap of one run. Growing past the cap traps the guest with [`MemoryCapExceeded`].
struct RunLimiter {
    cap: usize,
}

/// The error a run traps with when it grows its memory past the cap.
#[derive(Debug, thiserror::Error)]
#[error("memory cap exceeded: wanted {wanted} bytes, cap {cap} bytes")]
pub struct MemoryCapExceeded {
    pub wanted: usize,
    pub cap: usize,
}

impl ResourceLimiter for RunLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            return Err(wasmtime::Error::new(MemoryCapExceeded {
                wanted: desired,
                cap: self.cap,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The data of one `Store`: WASI subset, resources, the memory cap and this run's capabilities.
pub struct RunState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: RunLimiter,
    stderr: MemoryOutputPipe,
    /// `None` while describing or checking config: every flow import then traps.
    pub(crate) caps: Option<RunCapabilities>,
    pub(crate) journal: RunJournal,
    /// The run's context and events (`context` import); `None` outside `run`.
    pub(crate) facts: Option<RunFacts>,
    /// The component's manifest; `None` for 1.0.0 components (system-wide policy only).
    pub(crate) needs: Option<Arc<Vec<Need>>>,
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

struct HasIo;
impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// The runtime: engine, linker and the component cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<RunState>,
    config: RuntimeConfig,
    compat: String,
    loaded: Mutex<HashMap<String, Arc<LoadedComponent>>>,
    stop_ticker: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Runtime {
    /// Build the engine (pooling allocator sized for `max_concurrent_runs`, epoch
    /// interruption with a 10 ms ticker thread) and the linker.
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        let n = config.max_concurrent_runs.max(1);
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 2)
            .total_tables(n * 8)
            .total_stacks(n)
            .max_memory_size(config.memory_cap_bytes.max(16 << 20) * 2);
        let mut wcfg = Config::new();
        wcfg.epoch_interruption(true);
        wcfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wcfg)
            .map_err(|e| anyhow::anyhow!("creating the wasmtime engine: {e:#}"))?;

        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());

        let mut linker: Linker<RunState> = Linker::new(&engine);
        add_wasi_subset(&mut linker)?;
        // The 1.1.0 world's imports (the shared ones are 1.0.0's, see `bindings::v1_1`) also
        // satisfy 1.0.0 components: wasmtime matches imports by semver within a major.
        v1_1::Flow::add_to_linker::<RunState, HasSelf<RunState>>(&mut linker, |s| s)?;

        let stop_ticker = Arc::new(std::sync::atomic::AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("pearlbridge-epoch".into())
                .spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .context("starting the epoch ticker")?;
        }
        std::fs::create_dir_all(&config.cache_dir)
            .with_context(|| format!("creating the cache folder {}", config.cache_dir.display()))?;
        Ok(Self {
            engine,
            linker,
            config,
            compat,
            loaded: Mutex::new(HashMap::new()),
            stop_ticker,
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Load a component file: sha256, cached compile, import check, `InstancePre`.
    pub fn load(&self, path: &Path) -> Result<Arc<LoadedComponent>, LoadError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| LoadError::Unreadable {
            file: file.clone(),
            detail: e.to_string(),
        })?;
        self.load_bytes(&file, &bytes)
    }

    /// Load component bytes (named `file` in errors).
    pub fn load_bytes(&self, file: &str, bytes: &[u8]) -> Result<Arc<LoadedComponent>, LoadError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        if let Some(c) = self.loaded.lock().map_err(|_| poisoned(file))?.get(&sha256) {
            return Ok(c.clone());
        }
        check_component_header(file, bytes)?;
        let cached = self
            .config
            .cache_dir
            .join(format!("{sha256}-{}.cwasm", self.compat));
        let component = match load_precompiled(&self.engine, &cached) {
            Some(c) => c,
            None => {
                let artifact =
                    self.engine
                        .precompile_component(bytes)
                        .map_err(|e| LoadError::Compile {
                            file: file.into(),
                            detail: format!("{e:#}"),
                        })?;
                let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
                if std::fs::write(&tmp, &artifact)
                    .and_then(|_| std::fs::rename(&tmp, &cached))
                    .is_err()
                {
                    let _ = std::fs::remove_file(&tmp);
                }
                // SAFETY: `artifact` was produced just now by this engine.
                unsafe { Component::deserialize(&self.engine, &artifact) }.map_err(|e| {
                    LoadError::Compile {
                        file: file.into(),
                        detail: format!("{e:#}"),
                    }
                })?
            }
        };
        let (imports, exports) = self.interface_names(&component);
        for import in &imports {
            let base = import.split('@').next().unwrap_or(import);
            if !PROVIDED_INTERFACES.contains(&base) {
                let why = if base.starts_with("wasi:sockets") {
                    "flows have no sockets: all HTTP goes through pearlbridge:flow/api".to_string()
                } else if base.starts_with("wasi:filesystem") {
                    "flows have no files: keep data in pearlbridge:flow/state".to_string()
                } else {
                    format!("the host provides only: {}", PROVIDED_INTERFACES.join(", "))
                };
                return Err(LoadError::MissingImport {
                    file: file.into(),
                    import: import.clone(),
                    why,
                });
            }
        }
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| {
            let detail = format!("{e:#}");
            let import = imports
                .iter()
                .find(|i| detail.contains(i.as_str()))
                .cloned()
                .unwrap_or_else(|| {
                    imports
                        .iter()
                        .filter(|i| i.starts_with("pearlbridge:"))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            LoadError::MissingImport {
                file: file.into(),
                import,
                why: format!("this host implements {FLOW_WORLD}: {detail}"),
            }
        })?;
        let wrong_world = |world: &str, detail: String| LoadError::WrongWorld {
            file: file.into(),
            world: world.into(),
            detail: format!("{detail}; the component exports: {}", exports.join(", ")),
        };
        let wit = WitVersion::of_exports(&exports).ok_or_else(|| {
            wrong_world(FLOW_WORLD, "no pearlbridge:flow/runner@1.x export".into())
        })?;
        let pre = FlowPre::new(wit, instance_pre)
            .map_err(|e| wrong_world(wit.package(), format!("{e:#}")))?;
        let loaded = Arc::new(LoadedComponent {
            sha256: sha256.clone(),
            file: file.into(),
            imports,
            exports,
            wit,
            pre,
            needs: tokio::sync::OnceCell::new(),
        });
        self.loaded
            .lock()
            .map_err(|_| poisoned(file))?
            .insert(sha256, loaded.clone());
        Ok(loaded)
    }

    /// The names of a component's imports and exports, e.g. `pearlbridge:flow/api@1.0.0`.
    fn interface_names(&self, component: &Component) -> (Vec<String>, Vec<String>) {
        let ty = component.component_type();
        let imports = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let exports = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        (imports, exports)
    }

    /// A component file's sha256, imports and exports, without linking it (so a component
    /// this host would refuse can still be inspected).
    pub fn interfaces(&self, path: &Path) -> Result<(String, Vec<String>, Vec<String>), LoadError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| LoadError::Unreadable {
            file: file.clone(),
            detail: e.to_string(),
        })?;
        check_component_header(&file, &bytes)?;
        let component = Component::new(&self.engine, &bytes).map_err(|e| LoadError::Compile {
            file: file.clone(),
            detail: format!("{e:#}"),
        })?;
        let (imports, exports) = self.interface_names(&component);
        Ok((hex::encode(Sha256::digest(&bytes)), imports, exports))
    }

    fn new_store(&self, caps: Option<RunCapabilities>) -> Store<RunState> {
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stdout(stderr.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = RunState {
            wasi,
            table: ResourceTable::new(),
            limiter: RunLimiter {
                cap: self.config.memory_cap_bytes,
            },
            stderr,
            caps,
            journal: RunJournal::default(),
            facts: None,
            needs: None,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let ticks = (self.config.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store
    }

    /// Call `describe()` (no capabilities: any import traps).
    pub async fn describe(&self, c: &LoadedComponent) -> anyhow::Result<crate::bindings::FlowInfo> {
        let mut store = self.new_store(None);
        let fut = async {
            let flow = c.pre.instantiate_async(&mut store).await?;
            flow.call_describe(&mut store).await
        };
        let info = tokio::time::timeout(self.config.deadline, fut)
            .await
            .map_err(|_| anyhow::anyhow!("{}: describe() ran past the deadline", c.file))?
            .map_err(|e| {
                anyhow::anyhow!("{}: describe() failed: {}", c.file, trap_text(&e, &store))
            })?;
        Ok(info)
    }

    /// The component's `manifest.needs()` (no capabilities), called on first use and kept for
    /// as long as the component stays loaded; `None` for a 1.0.0 component.
    pub async fn needs(&self, c: &LoadedComponent) -> anyhow::Result<Option<Arc<Vec<Need>>>> {
        c.needs
            .get_or_try_init(|| async {
                let mut store = self.new_store(None);
                let fut = async {
                    let flow = c.pre.instantiate_async(&mut store).await?;
                    flow.call_needs(&mut store).await
                };
                let needs = tokio::time::timeout(self.config.deadline, fut)
                    .await
                    .map_err(|_| anyhow::anyhow!("{}: needs() ran past the deadline", c.file))?
                    .map_err(|e| {
                        anyhow::anyhow!("{}: needs() failed: {}", c.file, trap_text(&e, &store))
                    })?;
                Ok(needs.map(Arc::new))
            })
            .await
            .cloned()
    }

    /// Call `check-config(json)`; returns the problems the flow lists.
    pub async fn check_config(
        &self,
        c: &LoadedComponent,
        config_json: &str,
    ) -> anyhow::Result<Vec<crate::bindings::ConfigProblem>> {
        let mut store = self.new_store(None);
        let fut = async {
            let flow = c.pre.instantiate_async(&mut store).await?;
            flow.call_check_config(&mut store, config_json).await
        };
        tokio::time::timeout(self.config.deadline, fut)
            .await
            .map_err(|_| anyhow::anyhow!("{}: check-config() ran past the deadline", c.file))?
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: check-config() failed: {}",
                    c.file,
                    trap_text(&e, &store)
                )
            })
    }

    /// Run the flow once for `trigger` with a fresh store bound to `caps`.
    pub async fn run(
        &self,
        c: &LoadedComponent,
        caps: RunCapabilities,
        trigger: &crate::bindings::Trigger,
    ) -> Result<RunResult, RunError> {
        self.run_with_inbox(c, caps, trigger, None).await
    }

    /// [`Runtime::run`] for events from the host's inbox: `inbox` gives each event of a
    /// `Trigger::Events`, in order, its inbox id and received-at time (RFC 3339 UTC) as
    /// `context.events()` reports them (`None`: run-scoped ids, see [`RunFacts`]).
    pub async fn run_with_inbox(
        &self,
        c: &LoadedComponent,
        caps: RunCapabilities,
        trigger: &crate::bindings::Trigger,
        inbox: Option<&[(String, String)]>,
    ) -> Result<RunResult, RunError> {
        let client = caps.client.clone();
        let flow_name = caps.flow.clone();
        let needs = self.needs(c).await.map_err(|e| RunError::Host {
            client: client.clone(),
            flow: flow_name.clone(),
            message: format!("{e:#}"),
        })?;
        let facts = RunFacts::new(
            &client,
            &flow_name,
            caps.run_id,
            chrono::Utc::now(),
            trigger,
        );
        let facts = match inbox {
            Some(ids) => facts.with_inbox_ids(ids),
            None => facts,
        };
        let mut store = self.new_store(Some(caps));
        store.data_mut().facts = Some(facts);
        store.data_mut().needs = needs;
        let deadline = self.config.deadline;
        let fut = async {
            let flow = c.pre.instantiate_async(&mut store).await?;
            flow.call_run(&mut store, trigger).await
        };
        // Epochs do not interrupt a guest blocked in a host call: bound the whole run too.
        let outcome = tokio::time::timeout(deadline + Duration::from_millis(500), fut).await;
        let err_ctx = |message: String| RunError::Trap {
            client: client.clone(),
            flow: flow_name.clone(),
            file: c.file.clone(),
            message,
        };
        let result = match outcome {
            Err(_) => {
                return Err(RunError::DeadlineExceeded {
                    client,
                    flow: flow_name,
                    file: c.file.clone(),
                    deadline_ms: deadline.as_millis(),
                });
            }
            Ok(Err(e)) => {
                if let Some(cap) = e.downcast_ref::<MemoryCapExceeded>() {
                    return Err(RunError::MemoryCap {
                        client,
                        flow: flow_name,
                        file: c.file.clone(),
                        wanted: cap.wanted,
                        cap: cap.cap,
                    });
                }
                if let Some(Trap::Interrupt) = e.downcast_ref::<Trap>() {
                    return Err(RunError::DeadlineExceeded {
                        client,
                        flow: flow_name,
                        file: c.file.clone(),
                        deadline_ms: deadline.as_millis(),
                    });
                }
                if let Some(host) = e.downcast_ref::<crate::imports::HostFailure>() {
                    return Err(RunError::Host {
                        client,
                        flow: flow_name,
                        message: host.to_string(),
                    });
                }
                return Err(err_ctx(trap_text(&e, &store)));
            }
            Ok(Ok(r)) => r,
        };
        let journal = std::mem::take(&mut store.data_mut().journal);
        Ok(RunResult { result, journal })
    }
}

/// What a run returned, with what it reported along the way.
#[derive(Debug)]
pub struct RunResult {
    pub result: Result<crate::bindings::RunSummary, crate::bindings::FlowError>,
    pub journal: RunJournal,
}

fn poisoned(file: &str) -> LoadError {
    LoadError::Compile {
        file: file.into(),
        detail: "component cache lock poisoned".into(),
    }
}

fn load_precompiled(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: files in the cache folder are written only by this host (`precompile_component`),
    // named by the component's sha256 and the engine's compatibility hash.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

fn check_component_header(file: &str, bytes: &[u8]) -> Result<(), LoadError> {
    let not = |detail: &str| LoadError::NotAComponent {
        file: file.into(),
        detail: detail.into(),
    };
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(not("no WebAssembly magic number"));
    }
    match &bytes[4..8] {
        [0x0d, 0x00, 0x01, 0x00] => Ok(()),
        [0x01, 0x00, 0x00, 0x00] => Err(not("it is a core module, not a component")),
        _ => Err(not("unknown WebAssembly version or layer")),
    }
}

/// Human text for a trap: the trap code, the error chain and what the guest printed.
fn trap_text(e: &wasmtime::Error, store: &Store<RunState>) -> String {
    let mut text = match e.downcast_ref::<Trap>() {
        Some(t) => format!("{t}"),
        None => format!("{e:#}"),
    };
    let printed = store.data().stderr.contents();
    let printed = String::from_utf8_lossy(&printed);
    let printed = printed.trim();
    if !printed.is_empty() {
        let tail: String = printed
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        text.push_str(&format!(" (guest output: {tail})"));
    }
    text
}

/// Link only the WASI interfaces a Rust `wasm32-wasip2` flow needs (io, clocks, random,
/// cli with an empty environment). No filesystem, no sockets.
fn add_wasi_subset(l: &mut Linker<RunState>) -> anyhow::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::p2::bindings::{cli, clocks, random};
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<RunState, HasIo>(l, |t| {
        t.ctx().table
    })?;
    wasmtime_wasi_io::bindings::wasi::io::poll::add_to_linker::<RunState, HasIo>(l, |t| {
        t.ctx().table
    })?;
    wasmtime_wasi_io::bindings::wasi::io::streams::add_to_linker::<RunState, HasIo>(l, |t| {
        t.ctx().table
    })?;
    clocks::wall_clock::add_to_linker::<RunState, WasiClocks>(l, RunState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<RunState, WasiClocks>(l, RunState::clocks)?;
    random::random::add_to_linker::<RunState, WasiRandom>(l, RunState::random)?;
    random::insecure::add_to_linker::<RunState, WasiRandom>(l, RunState::random)?;
    random::insecure_seed::add_to_linker::<RunState, WasiRandom>(l, RunState::random)?;
    cli::exit::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::environment::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::stdin::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::stdout::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::stderr::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::terminal_input::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::terminal_output::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::terminal_stdin::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::terminal_stdout::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    cli::terminal_stderr::add_to_linker::<RunState, WasiCli>(l, RunState::cli)?;
    Ok(())
}
