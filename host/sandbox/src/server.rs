//! Runs both simulators, each on its own `127.0.0.1:0` listener, sharing one simulated clock.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use pearlbridge_sandbox::server::{Sandbox, SandboxConfig};
//! let sb = Sandbox::start(SandboxConfig { time_scale: 60.0, ..Default::default() }).await?;
//! println!("BigCommerce at {}, Brightpearl at {}", sb.info.bigcommerce.base_url, sb.info.brightpearl.base_url);
//! sb.shutdown().await;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::bigcommerce::{BigCommerceConfig, BigCommerceSim};
use crate::brightpearl::{BrightpearlConfig, BrightpearlSim};
use crate::clock::Clock;
use crate::faults::{FaultRule, Faults};
use crate::seed::StoreSeed;

/// What to start.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Data both simulators start with.
    pub seed: StoreSeed,
    /// Simulated ms per real ms; `1.0` = real time, `60.0` = a simulated minute per real second.
    pub time_scale: f64,
    /// Seed of the fault generators (BigCommerce uses `fault_seed`, Brightpearl
    /// `fault_seed + 1`, so the two request streams draw independently).
    pub fault_seed: u64,
    /// Fault rules for BigCommerce (paths after `/stores/{store_hash}`, e.g. `/v2/orders/*`).
    pub bigcommerce_faults: Vec<FaultRule>,
    /// Fault rules for Brightpearl (paths after `/public-api/{account}`).
    pub brightpearl_faults: Vec<FaultRule>,
    /// BigCommerce requests per 30 s window (150 on Standard/Plus **\[doc\]**).
    pub bigcommerce_quota_per_30s: u32,
    /// Brightpearl requests per minute (200 **\[doc\]**).
    pub brightpearl_requests_per_minute: u32,
    /// Where both simulators send webhooks. A `{system}` placeholder is replaced by
    /// `bigcommerce` or `brightpearl`; without it both systems post to the same URL (their
    /// payloads differ). Brightpearl gets webhooks registered for
    /// `goods-out-note.modified.shipped`, `sales-order.created` and
    /// `product.modified.on-hand-modified` (see [`BrightpearlSim::subscribe_callback`]).
    pub webhook_callback: Option<String>,
    /// The Brightpearl account's UTC offset ([`BrightpearlConfig::utc_offset`]; default UTC).
    pub brightpearl_utc_offset: chrono::FixedOffset,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: StoreSeed::default(),
            time_scale: 1.0,
            fault_seed: 0,
            bigcommerce_faults: Vec::new(),
            brightpearl_faults: Vec::new(),
            bigcommerce_quota_per_30s: 150,
            brightpearl_requests_per_minute: 200,
            webhook_callback: None,
            brightpearl_utc_offset: chrono::FixedOffset::east_opt(0).expect("UTC"),
        }
    }
}

/// How a client reaches the simulated BigCommerce store.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BigCommerceInfo {
    /// `http://127.0.0.1:PORT`; API paths are `/stores/{store_hash}/v2|v3/...`.
    pub base_url: String,
    pub store_hash: String,
    /// `X-Auth-Token` value.
    pub token: String,
}

/// How a client reaches the simulated Brightpearl account.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BrightpearlInfo {
    /// `http://127.0.0.1:PORT`; API paths are `/public-api/{account}/...`.
    pub base_url: String,
    pub account: String,
    /// `brightpearl-app-ref` value.
    pub app_ref: String,
    /// `brightpearl-account-token` value (or OAuth bearer token).
    pub token: String,
}

/// Connection details of both simulators.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SandboxInfo {
    pub bigcommerce: BigCommerceInfo,
    pub brightpearl: BrightpearlInfo,
}

/// Both simulators, serving until [`Sandbox::shutdown`] (or drop, which stops accepting).
pub struct Sandbox {
    pub bigcommerce: Arc<BigCommerceSim>,
    pub brightpearl: Arc<BrightpearlSim>,
    pub info: SandboxInfo,
    pub clock: Clock,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

async fn serve(
    router: axum::Router,
) -> anyhow::Result<(String, oneshot::Sender<()>, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "sandbox listener stopped");
        }
    });
    Ok((format!("http://{addr}"), tx, task))
}

impl Sandbox {
    /// Builds both simulators from the seed and serves each on its own `127.0.0.1:0` listener.
    pub async fn start(cfg: SandboxConfig) -> anyhow::Result<Sandbox> {
        let clock = if cfg.time_scale == 1.0 {
            Clock::real()
        } else {
            Clock::scaled(cfg.time_scale)
        };
        let bc_cfg = BigCommerceConfig {
            quota_per_30s: cfg.bigcommerce_quota_per_30s,
            ..BigCommerceConfig::default()
        };
        let bp_cfg = BrightpearlConfig {
            requests_per_minute: cfg.brightpearl_requests_per_minute,
            utc_offset: cfg.brightpearl_utc_offset,
            ..BrightpearlConfig::default()
        };
        let bigcommerce = BigCommerceSim::new(
            bc_cfg.clone(),
            cfg.seed.bigcommerce.clone(),
            clock.clone(),
            Faults::new(cfg.fault_seed, cfg.bigcommerce_faults.clone()),
        );
        let brightpearl = BrightpearlSim::new(
            bp_cfg.clone(),
            cfg.seed.brightpearl.clone(),
            clock.clone(),
            Faults::new(
                cfg.fault_seed.wrapping_add(1),
                cfg.brightpearl_faults.clone(),
            ),
        );
        if let Some(cb) = &cfg.webhook_callback {
            bigcommerce.set_webhook_callback(Some(cb.replace("{system}", "bigcommerce")));
            brightpearl.subscribe_callback(&cb.replace("{system}", "brightpearl"));
        }
        let (bc_url, bc_stop, bc_task) = serve(bigcommerce.router()).await?;
        let (bp_url, bp_stop, bp_task) = serve(brightpearl.router()).await?;
        let info = SandboxInfo {
            bigcommerce: BigCommerceInfo {
                base_url: bc_url,
                store_hash: bc_cfg.store_hash,
                token: bc_cfg.token,
            },
            brightpearl: BrightpearlInfo {
                base_url: bp_url,
                account: bp_cfg.account,
                app_ref: bp_cfg.app_ref,
                token: bp_cfg.account_token,
            },
        };
        Ok(Sandbox {
            bigcommerce,
            brightpearl,
            info,
            clock,
            stops: vec![bc_stop, bp_stop],
            tasks: vec![bc_task, bp_task],
        })
    }

    /// Stops both listeners and waits (up to 5 s each) for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        for s in self.stops.drain(..) {
            let _ = s.send(());
        }
        for t in self.tasks.drain(..) {
            // Graceful shutdown closes idle keep-alive connections; a client holding a request
            // open longer than this is cut off.
            let abort = t.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(5), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}
