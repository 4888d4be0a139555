//! `pearlbridge`: the reference host's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use clap::{Parser, Subcommand};
use pearlbridge::bindings::Trigger;
use pearlbridge::check::check_clients;
use pearlbridge::host::{Host, HostConfig, default_data_dir, summary_json};
use pearlbridge_capabilities::clients::load_clients;
use pearlbridge_capabilities::redact;

/// `println!` for everything the CLI prints: scrubbed of every secret value the host holds
/// (`pearlbridge_capabilities::redact`), whatever it quotes.
macro_rules! out {
    () => { println!() };
    ($($arg:tt)*) => { println!("{}", redact::scrub(&format!($($arg)*))) };
}

#[derive(Parser)]
#[command(
    name = "pearlbridge",
    version,
    about = "BigCommerce ⇄ Brightpearl integration flows as WebAssembly components"
)]
struct Cli {
    /// Data folder (state store, component store, compile cache) [env: PEARLBRIDGE_DATA; default .pearlbridge]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Secrets file (TOML `name = "value"`, readable by its owner only), besides PEARLBRIDGE_SECRET_* variables.
    #[arg(long, global = true)]
    secrets_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate every client: TOML, secrets, pinned components and sha256, flow mappings.
    Check {
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
    },
    /// Manage the component store.
    Components {
        #[command(subcommand)]
        command: ComponentsCommand,
    },
    /// Run every flow against the built-in sandbox with a generated store and report.
    #[cfg(feature = "demo")]
    Demo {
        /// Generated orders.
        #[arg(long, default_value_t = 300)]
        orders: usize,
        /// Generator seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// BigCommerce orders in the API's own JSON, one folder per order.
        #[arg(long)]
        orders_from: Option<PathBuf>,
        /// The Brightpearl account's reference data and products (Brightpearl's own shapes).
        #[arg(long)]
        brightpearl_from: Option<PathBuf>,
        /// A client file whose flow mappings replace the demo's own.
        #[arg(long)]
        client: Option<PathBuf>,
        /// Folder of built components.
        #[arg(long, default_value = "target/components")]
        components: PathBuf,
        /// The sandbox clock (and its rate limits) runs this many times faster than real time.
        #[arg(long, default_value_t = 20.0)]
        time_scale: f64,
        /// Inject faults (5% 5xx, 0.2% 429, 5% lost responses of committed sales-order, payment and shipment POSTs and status PUTs), drawn from this random seed.
        #[arg(long, value_name = "SEED")]
        faults: Option<u64>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        /// Run the orders flow from webhooks through `pearlbridge serve` (in process) instead
        /// of manual runs: orders are placed in the simulator one by one after it starts.
        #[arg(long)]
        serve: bool,
    },
    /// Run the BigCommerce and Brightpearl simulators on loopback until stopped; prints one JSON line first.
    #[cfg(feature = "demo")]
    Sandbox {
        /// Generated orders.
        #[arg(long, default_value_t = 50)]
        orders: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
    },
    /// List exceptions, largest money impact first (open ones unless --all).
    Exceptions {
        /// Only this client's.
        #[arg(long)]
        client: Option<String>,
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What each exception kind means, who owns it and the next step (all kinds, or one).
    Runbook {
        kind: Option<String>,
        /// Print the whole runbook as Markdown (the text of docs/runbook.md).
        #[arg(long, conflicts_with = "kind")]
        markdown: bool,
    },
    /// Run flows.
    Flow {
        #[command(subcommand)]
        command: FlowCommand,
    },
    /// Reconciliations of one client over a window (they write nothing to either system).
    Reconcile {
        #[command(subcommand)]
        command: ReconcileCommand,
    },
    /// Audits of one client's data (they write nothing unless the flow's settings say so).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Webhooks on the platforms.
    Hooks {
        #[command(subcommand)]
        command: HooksCommand,
    },
    /// Run as a service: every client × flow on its schedule, the webhook receiver with its
    /// durable inbox, and /healthz, on one listener. Prints one JSON line once listening.
    Serve {
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
        /// Listener address (port 0: any free port; the JSON line names it).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Run lease lifetime; a killed process's flows run again after it.
        #[arg(long, default_value = "60s", value_parser = duration_arg)]
        lease_ttl: std::time::Duration,
        /// Most random delay added to a scheduled run (at most a tenth of its interval).
        #[arg(long, default_value = "30s", value_parser = duration_arg)]
        max_jitter: std::time::Duration,
        /// Wait after an event for more to batch into the same run.
        #[arg(long, default_value = "100ms", value_parser = duration_arg)]
        coalesce: std::time::Duration,
        /// How long in-flight runs may finish after SIGTERM/SIGINT.
        #[arg(long, default_value = "30s", value_parser = duration_arg)]
        drain: std::time::Duration,
        /// Largest webhook body accepted, in bytes (413 above).
        #[arg(long, default_value_t = 256 * 1024)]
        max_body: usize,
        /// How often client files are checked for changes (SIGHUP reloads at once).
        #[arg(long, default_value = "2s", value_parser = duration_arg)]
        reload_poll: std::time::Duration,
        /// First wait before a failed events run is retried (doubles up to 5m).
        #[arg(long, default_value = "5s", value_parser = duration_arg)]
        retry_backoff: std::time::Duration,
        /// How often new exceptions are posted to the teams' `[alerts]` webhooks.
        #[arg(long, default_value = "30s", value_parser = duration_arg)]
        alert_every: std::time::Duration,
        /// The servers' clocks run this many times faster than real time (the sandbox's
        /// time scale; 1 for real servers).
        #[arg(long, default_value_t = 1.0, hide = true)]
        server_time_scale: f64,
    },
}

/// `250ms`, `0`, or an interval of `parse_interval` (`30s`, `5m`, `1h`, `1d`).
fn duration_arg(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    if t == "0" || t == "0s" || t == "0ms" {
        return Ok(std::time::Duration::ZERO);
    }
    if let Some(ms) = t.strip_suffix("ms") {
        return ms
            .parse::<u64>()
            .map(std::time::Duration::from_millis)
            .map_err(|_| format!("{s:?} is not a duration (e.g. 250ms, 30s, 5m)"));
    }
    pearlbridge_capabilities::clients::parse_interval(t)
}

#[derive(Subcommand)]
enum ComponentsCommand {
    /// Store built components under their name@version (from describe()) and sha256.
    Add {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List stored versions and the clients that pin each.
    List {
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
    },
    /// Show a component file's package, version, imports and exports.
    Inspect { file: PathBuf },
    /// Remove a stored version (refused while a client pins it).
    Remove {
        /// name@version
        id: String,
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
    },
}

#[derive(Subcommand)]
enum HooksCommand {
    /// Create or update the client's BigCommerce hooks and Brightpearl webhooks (idempotent)
    /// and report deactivated BigCommerce hooks.
    Register {
        #[arg(long)]
        client: String,
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// The catalog audit: BigCommerce variant SKUs against Brightpearl product SKUs (missing
    /// on either side, duplicates, near-matches, products without a Brightpearl master,
    /// inventory-tracking mismatches), each an exception with its owner (runs the client's
    /// catalog flow). Exit status 0 when there is no discrepancy, 3 when there are, 1 when
    /// it could not run.
    Catalog {
        /// The client (a folder under --clients).
        #[arg(long)]
        client: String,
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ReconcileCommand {
    /// The dispatch reconciliation: goods-out notes shipped since DATE with no BigCommerce
    /// shipment, and BigCommerce orders marked shipped with no shipped note, each an
    /// exception with the order's total as impact (runs the client's tracking flow). Exit
    /// status 0 when there is no gap, 3 when there are gaps, 1 when it could not run.
    Shipments {
        /// The client (a folder under --clients).
        #[arg(long)]
        client: String,
        /// Window start: a date (2026-12-01, midnight UTC) or an RFC 3339 time.
        #[arg(long)]
        since: String,
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum FlowCommand {
    /// Run one client's flow once.
    Run {
        client: String,
        flow: String,
        #[arg(long, default_value = "clients")]
        clients: PathBuf,
        /// Replay these entity references (e.g. bigcommerce:order:118) instead of a scheduled sweep.
        #[arg(long, conflicts_with = "full")]
        replay: Vec<String>,
        /// A full sync that reads every record again instead of what changed since the last
        /// read (the stock flow re-reads both catalogs; sent to the flow as the replay `full`).
        #[arg(long)]
        full: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn host(cli: &Cli) -> anyhow::Result<Host> {
    let mut cfg = HostConfig::new(cli.data_dir.clone().unwrap_or_else(default_data_dir));
    cfg.secrets_file = cli.secrets_file.clone();
    Host::open(cfg)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Check { clients } => {
            let host = host(&cli)?;
            let (ok, problems) = check_clients(&host, clients).await;
            for p in &problems {
                out!("{p}");
            }
            if problems.is_empty() {
                out!("{} client(s) checked, no problems", ok.len());
                Ok(ExitCode::SUCCESS)
            } else {
                out!("{} problem(s)", problems.len());
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Components { command } => {
            let host = host(&cli)?;
            match command {
                ComponentsCommand::Add { files } => {
                    for f in files {
                        let c = host.components.add(&host.runtime, f).await?;
                        out!("{} sha256 {} ({})", c.id(), c.sha256, c.path.display());
                    }
                }
                ComponentsCommand::List { clients } => {
                    if !clients.is_dir() {
                        out!(
                            "(no clients folder {}: pins are not shown; pass --clients DIR)",
                            clients.display()
                        );
                    }
                    let (parsed, _) = load_clients(clients);
                    for c in host.components.list()? {
                        let pinned: Vec<String> = parsed
                            .iter()
                            .filter(|cl| {
                                cl.flows.values().any(|p| {
                                    p.component_name == c.name && p.component_version == c.version
                                })
                            })
                            .map(|cl| cl.name.clone())
                            .collect();
                        out!(
                            "{:<24} sha256 {}  pinned by: {}",
                            c.id(),
                            c.sha256,
                            if pinned.is_empty() {
                                "-".to_string()
                            } else {
                                pinned.join(", ")
                            }
                        );
                    }
                }
                ComponentsCommand::Inspect { file } => {
                    let (sha256, imports, exports) = host.runtime.interfaces(file)?;
                    out!("file:     {}", file.display());
                    out!("sha256:   {sha256}");
                    out!("host:     implements {}", pearlbridge::runtime::FLOW_WORLD);
                    match pearlbridge::bindings::WitVersion::of_exports(&exports) {
                        Some(wit) => out!("wit:      {wit}"),
                        None => out!("wit:      none (no pearlbridge:flow/runner@1.x export)"),
                    }
                    match host.runtime.load(file) {
                        Ok(loaded) => {
                            let info = host.runtime.describe(&loaded).await?;
                            out!("flow:     {}@{}", info.name, info.version);
                            if let Some(needs) = host.runtime.needs(&loaded).await? {
                                out!("needs:");
                                for n in needs.iter() {
                                    use pearlbridge::manifest::{method_name, system_name};
                                    let methods: Vec<&str> =
                                        n.methods.iter().map(|m| method_name(*m)).collect();
                                    let system = system_name(n.system);
                                    out!("  {system} {} {}", methods.join(","), n.path_prefix);
                                }
                            }
                            out!("triggers: {}", info.triggers.join(", "));
                            if !info.event_scopes.is_empty() {
                                out!("events:   {}", info.event_scopes.join(", "));
                            }
                            if let Some(s) = &info.default_schedule {
                                out!("schedule: every {s}");
                            }
                        }
                        Err(e) => out!("runs here: no — {e}"),
                    }
                    out!("imports:");
                    for i in &imports {
                        out!("  {i}");
                    }
                    out!("exports:");
                    for e in &exports {
                        out!("  {e}");
                    }
                }
                ComponentsCommand::Remove { id, clients } => {
                    let (name, version) = id
                        .split_once('@')
                        .ok_or_else(|| anyhow!("expected name@version, got `{id}`"))?;
                    if !clients.is_dir() {
                        return Err(anyhow!(
                            "cannot tell whether a client pins {id}: no clients folder {} (pass --clients DIR)",
                            clients.display()
                        ));
                    }
                    let (parsed, problems) = load_clients(clients);
                    if !problems.is_empty() {
                        return Err(anyhow!(
                            "cannot tell whether a client pins {id}: {} client problem(s), first: {} (run `pearlbridge check`)",
                            problems.len(),
                            problems[0]
                        ));
                    }
                    let pinned: Vec<String> = parsed
                        .iter()
                        .filter(|cl| {
                            cl.flows
                                .values()
                                .any(|p| p.component_name == name && p.component_version == version)
                        })
                        .map(|cl| cl.name.clone())
                        .collect();
                    host.components.remove(name, version, &pinned)?;
                    out!("removed {id}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            orders,
            seed,
            orders_from,
            brightpearl_from,
            client,
            components,
            time_scale,
            faults,
            json,
            serve,
        } => {
            if !(time_scale.is_finite() && *time_scale >= 1.0) {
                return Err(anyhow!(
                    "--time-scale must be at least 1 (1 = real time), got {time_scale}"
                ));
            }
            if orders_from.is_some() != brightpearl_from.is_some() {
                return Err(anyhow!(
                    "a dry run needs both --orders-from DIR and --brightpearl-from FILE (one side alone would run against the generated other side)"
                ));
            }
            let opts = pearlbridge::demo::DemoOptions {
                orders: *orders,
                seed: *seed,
                orders_from: orders_from.clone(),
                brightpearl_from: brightpearl_from.clone(),
                client_file: client.clone(),
                components_dir: components.clone(),
                time_scale: *time_scale,
                data_dir: cli.data_dir.clone(),
                fault_seed: *faults,
                max_runs: if faults.is_some() { 12 } else { 5 },
                bigcommerce_quota_per_30s: 150,
            };
            let report = if *serve {
                pearlbridge::demo_serve::run_demo_serve(&opts).await?
            } else {
                pearlbridge::demo::run_demo(&opts).await?
            };
            if *json {
                out!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!(
                    "{}{}",
                    redact::scrub(&pearlbridge::demo::render_text(&report)),
                    redact::scrub(&pearlbridge::demo_serve::render_serve(&report))
                );
            }
            // A posted order whose Brightpearl total is not what the customer was charged
            // (or payments that do not cover their sales order) fails the demo.
            if let Some(failure) = pearlbridge::demo::reconciliation_failure(&report) {
                eprintln!("error: {failure}");
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Sandbox {
            orders,
            seed,
            time_scale,
        } => {
            use pearlbridge_sandbox::generator::{GeneratorOptions, generate};
            use pearlbridge_sandbox::server::{Sandbox, SandboxConfig};
            let store = generate(&GeneratorOptions {
                seed: *seed,
                orders: *orders,
                ..GeneratorOptions::default()
            });
            let sandbox = Sandbox::start(SandboxConfig {
                seed: store.seed,
                time_scale: *time_scale,
                ..SandboxConfig::default()
            })
            .await?;
            out!("{}", serde_json::to_string(&sandbox.info)?);
            tokio::signal::ctrl_c().await?;
            sandbox.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Exceptions { client, all, json } => {
            let host = host(&cli)?;
            let list =
                host.store
                    .exceptions(&pearlbridge_capabilities::state::ExceptionFilter {
                        client: client.clone(),
                        open_only: !*all,
                        ..Default::default()
                    })?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for e in &list {
                    let impact = e
                        .impact
                        .as_ref()
                        .map(|m| format!("{} {}", m.amount, m.currency))
                        .unwrap_or_else(|| "-".into());
                    let state = if e.resolved_at.is_some() {
                        "resolved"
                    } else {
                        "open"
                    };
                    out!(
                        "{impact:>14}  {:<26} {:<16} {}/{} {} ({state}, seen {}×, last {})\n                {}",
                        e.kind,
                        e.owner.as_str(),
                        e.client,
                        e.flow,
                        e.entity,
                        e.occurrences,
                        e.last_seen.format("%Y-%m-%d %H:%M UTC"),
                        e.message
                    );
                    if let Some(entry) = pearlbridge_capabilities::exceptions::runbook(&e.kind) {
                        out!("                next: {}", entry.next_step);
                    }
                }
                out!("{} exception(s)", list.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Runbook { markdown: true, .. } => {
            print!(
                "{}",
                pearlbridge_capabilities::exceptions::runbook_markdown()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Runbook { kind, .. } => {
            use pearlbridge_capabilities::exceptions::{RUNBOOK, runbook};
            let entries: Vec<_> = match kind {
                Some(k) => vec![runbook(k).ok_or_else(|| {
                    anyhow!(
                        "no runbook entry for `{k}`; known kinds: {}",
                        RUNBOOK
                            .iter()
                            .map(|e| e.kind)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?],
                None => RUNBOOK.iter().collect(),
            };
            for e in entries {
                out!(
                    "{} (owner {}, raised by {})\n  means:  {}\n  impact: {}\n  next:   {}",
                    e.kind,
                    e.owner,
                    e.raised_by,
                    e.means,
                    e.impact,
                    e.next_step
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Hooks {
            command:
                HooksCommand::Register {
                    client,
                    clients,
                    json,
                },
        } => {
            let host = host(&cli)?;
            let config = pearlbridge_capabilities::clients::load_client(&clients.join(client))
                .map_err(|problems| {
                    anyhow!(
                        "{}",
                        problems
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                })?;
            host.put_client(config);
            let report = pearlbridge::hooks::register(&host, client).await?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for c in &report.changes {
                    out!(
                        "{:<12} {:<40} hook {:<8} {}",
                        c.system,
                        c.scope,
                        c.id,
                        c.action
                    );
                }
                for (id, scope, destination) in &report.deactivated {
                    out!("deactivated: bigcommerce hook {id} {scope} -> {destination}");
                }
                out!(
                    "{} hook(s), {} deactivated before this call",
                    report.changes.len(),
                    report.deactivated.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            clients,
            listen,
            lease_ttl,
            max_jitter,
            coalesce,
            drain,
            max_body,
            reload_poll,
            retry_backoff,
            alert_every,
            server_time_scale,
        } => {
            use tokio::signal::unix::{SignalKind, signal};
            let mut cfg = HostConfig::new(cli.data_dir.clone().unwrap_or_else(default_data_dir));
            cfg.secrets_file = cli.secrets_file.clone();
            if !(server_time_scale.is_finite() && *server_time_scale >= 1.0) {
                return Err(anyhow!("--server-time-scale must be at least 1"));
            }
            cfg.server_time_scale = *server_time_scale;
            let host = Host::open(cfg)?;
            let mut opts = pearlbridge::serve::ServeOptions::new(clients.clone(), *listen);
            opts.lease_ttl = *lease_ttl;
            opts.max_jitter = *max_jitter;
            opts.coalesce = *coalesce;
            opts.drain = *drain;
            opts.max_body = *max_body;
            opts.reload_poll = *reload_poll;
            opts.retry_backoff = *retry_backoff;
            opts.alert_every = *alert_every;
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            let mut hup = signal(SignalKind::hangup())?;
            let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    let _ = reload_tx.try_send(());
                }
            });
            let shutdown = async move {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            };
            pearlbridge::serve::serve(host, opts, shutdown, reload_rx, |started| {
                out!(
                    "{}",
                    serde_json::to_string(started).unwrap_or_else(|_| "{}".into())
                );
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile {
            command:
                ReconcileCommand::Shipments {
                    client,
                    since,
                    clients,
                    json,
                },
        } => {
            let since = pearlbridge::reconcile::check_since(since)?;
            let mut host = host(&cli)?;
            let config = pearlbridge_capabilities::clients::load_client(&clients.join(client))
                .map_err(|problems| {
                    anyhow!(
                        "{}",
                        problems
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                })?;
            host.add_client(config);
            let r = pearlbridge::reconcile::reconcile_shipments(&host, client, &since).await?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!(
                    "{}",
                    redact::scrub(&pearlbridge::reconcile::render_text(&r))
                );
            }
            Ok(if r.missing == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Audit {
            command:
                AuditCommand::Catalog {
                    client,
                    clients,
                    json,
                },
        } => {
            let mut host = host(&cli)?;
            let config = pearlbridge_capabilities::clients::load_client(&clients.join(client))
                .map_err(|problems| {
                    anyhow!(
                        "{}",
                        problems
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                })?;
            host.add_client(config);
            let r = pearlbridge::audit::audit_catalog(&host, client).await?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", redact::scrub(&pearlbridge::audit::render_text(&r)));
            }
            Ok(if r.discrepancy_count == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Flow { command } => match command {
            FlowCommand::Run {
                client,
                flow,
                clients,
                replay,
                full,
                json,
            } => {
                let mut host = host(&cli)?;
                // On a terminal, the run's progress as a bar on stderr.
                let bar = std::io::IsTerminal::is_terminal(&std::io::stderr())
                    .then(|| progress_bar(client, flow));
                if let Some(bar) = &bar {
                    let bar = bar.clone();
                    host.on_progress = Some(std::sync::Arc::new(move |done, total| {
                        if let Some(t) = total {
                            bar.set_length(t);
                        }
                        bar.set_position(done);
                    }));
                }
                let dir = clients.join(client);
                let config =
                    pearlbridge_capabilities::clients::load_client(&dir).map_err(|problems| {
                        anyhow!(
                            "{}",
                            problems
                                .iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join("\n")
                        )
                    })?;
                host.add_client(config);
                let trigger = if *full {
                    Trigger::Replay(vec!["full".into()])
                } else if replay.is_empty() {
                    Trigger::Scheduled
                } else {
                    Trigger::Replay(replay.clone())
                };
                let report = host
                    .run_flow(client, flow, trigger)
                    .await
                    .context("the run could not start")?;
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                if *json {
                    let v = serde_json::json!({
                        "run_id": report.run_id,
                        "client": report.client,
                        "flow": report.flow,
                        "component": report.component,
                        "summary": report.outcome.as_ref().ok().map(summary_json),
                        "error": report.outcome.as_ref().err(),
                        "exceptions_raised": report.journal.raised.len(),
                        "exceptions_resolved": report.journal.resolved.len(),
                    });
                    out!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    out!(
                        "run {} of {}/{} ({})",
                        report.run_id,
                        report.client,
                        report.flow,
                        report.component
                    );
                    match &report.outcome {
                        Ok(s) => {
                            for (k, v) in &s.counts {
                                out!("  {k}: {v}");
                            }
                            for n in &s.notes {
                                out!("  note: {n}");
                            }
                        }
                        Err(e) => out!("  failed: {e}"),
                    }
                    out!(
                        "  exceptions raised or updated: {}, resolved: {} (list them: pearlbridge exceptions --client {})",
                        report.journal.raised.len(),
                        report.journal.resolved.len(),
                        report.client
                    );
                }
                Ok(if report.outcome.is_ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
        },
    }
}

/// The progress bar of `flow run` (stderr, redrawn at most 10 times a second).
fn progress_bar(client: &str, flow: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{client}/{flow}"));
    bar
}

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of stdout goes away
    // (`pearlbridge exceptions | head`) instead of panicking on a broken pipe.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PEARLBRIDGE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(|| redact::ScrubbingWriter(std::io::stderr()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", redact::scrub(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
