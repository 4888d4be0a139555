//! `pearlbridge demo`: start the sandbox with a generated store (or an integration team's
//! own exported data), write a demo client, run every flow that exists in a realistic
//! order, and report per-flow counts, exceptions by money impact, API calls and throttles,
//! and a reconciliation of BigCommerce against Brightpearl order totals.
//!
//! Dry runs on real data: `--orders-from DIR` (BigCommerce orders in the API's own JSON, one
//! folder per order), `--brightpearl-from FILE` (the Brightpearl account's reference data and
//! products), `--client FILE` (a client file whose mappings replace the demo's own).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use pearlbridge_capabilities::clients::load_client;
use pearlbridge_capabilities::connections::System;
use pearlbridge_capabilities::secrets::{MemorySecrets, Secret, Secrets};
use pearlbridge_capabilities::state::ExceptionFilter;
use pearlbridge_sandbox::faults::{FaultKind, FaultRule};
use pearlbridge_sandbox::generator::{GeneratorOptions, StoreFacts, generate};
use pearlbridge_sandbox::seed::StoreSeed;
use pearlbridge_sandbox::server::{Sandbox, SandboxConfig};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::bindings::Trigger;
use crate::host::{Host, HostConfig, RunReport};

/// Flows the demo runs, in order, with the component file each comes from.
pub const DEMO_FLOWS: &[&str] = &[
    "orders", "stock", "tracking", "refunds", "catalog", "pricing",
];

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Generated orders (ignored with `orders_from`).
    pub orders: usize,
    pub seed: u64,
    pub orders_from: Option<PathBuf>,
    pub brightpearl_from: Option<PathBuf>,
    pub client_file: Option<PathBuf>,
    /// Folder with the built components (`<flow>.wasm`).
    pub components_dir: PathBuf,
    /// The sandbox clock runs this many times faster than real time (rate limits included).
    pub time_scale: f64,
    /// Data folder; a temporary one when `None`.
    pub data_dir: Option<PathBuf>,
    /// Inject faults ([`stress_faults`]) with this seed.
    pub fault_seed: Option<u64>,
    /// Most orders runs before the demo stops sweeping.
    pub max_runs: usize,
    /// BigCommerce plan quota per 30 s window (150 Standard/Plus, 450 Pro).
    pub bigcommerce_quota_per_30s: u32,
}

/// The stress preset of `--faults`: 5% 5xx on every endpoint of both systems, 0.2% 429 on
/// BigCommerce, and 5% commit-then-drop (the write happens, the response is lost) on the
/// Brightpearl sales-order, customer-payment and multi-message (payment batch) POSTs and the
/// BigCommerce shipment POSTs and order status PUTs.
pub fn stress_faults() -> (Vec<FaultRule>, Vec<FaultRule>) {
    let rule = |method: Option<&str>, path: &str, probability: f64, kind: FaultKind| FaultRule {
        method: method.map(str::to_string),
        path: path.to_string(),
        probability,
        kind,
    };
    let bigcommerce = vec![
        // The tracking flow's shipment POSTs and status PUTs.
        rule(
            Some("POST"),
            "/v2/orders/*/shipments",
            0.05,
            FaultKind::CommitThenDrop,
        ),
        rule(Some("PUT"), "/v2/orders/*", 0.05, FaultKind::CommitThenDrop),
        rule(None, "*", 0.05, FaultKind::Status { status: 503 }),
        rule(None, "*", 0.002, FaultKind::Status { status: 429 }),
    ];
    let brightpearl = vec![
        rule(
            Some("POST"),
            "/order-service/sales-order",
            0.05,
            FaultKind::CommitThenDrop,
        ),
        rule(
            Some("POST"),
            "/accounting-service/customer-payment",
            0.05,
            FaultKind::CommitThenDrop,
        ),
        rule(
            Some("POST"),
            "/multi-message",
            0.05,
            FaultKind::CommitThenDrop,
        ),
        rule(
            Some("POST"),
            "/order-service/sales-credit",
            0.05,
            FaultKind::CommitThenDrop,
        ),
        rule(None, "*", 0.05, FaultKind::Status { status: 502 }),
    ];
    (bigcommerce, brightpearl)
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            orders: 300,
            seed: 7,
            orders_from: None,
            brightpearl_from: None,
            client_file: None,
            components_dir: PathBuf::from("target/components"),
            time_scale: 20.0,
            data_dir: None,
            fault_seed: None,
            max_runs: 5,
            bigcommerce_quota_per_30s: 150,
        }
    }
}

/// The store the demo runs against: seed, and what the generator planted (generated stores).
pub fn build_seed(opts: &DemoOptions) -> anyhow::Result<(StoreSeed, Option<StoreFacts>)> {
    let generated = generate(&GeneratorOptions {
        seed: opts.seed,
        orders: opts.orders,
        ..GeneratorOptions::default()
    });
    let mut seed = generated.seed;
    let mut facts = Some(generated.facts);
    if let Some(dir) = &opts.orders_from {
        let bundles = pearlbridge_sandbox::loader::load_bigcommerce_orders(dir)?;
        seed.bigcommerce.customers = bundles.iter().filter_map(|b| b.customer.clone()).collect();
        seed.bigcommerce.orders = bundles;
        facts = None;
    }
    if let Some(file) = &opts.brightpearl_from {
        seed.brightpearl = pearlbridge_sandbox::loader::load_brightpearl(file)?;
        facts = None;
    }
    Ok((seed, facts))
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

/// A Brightpearl payment method as a mapping entry: its code and the nominal code of its
/// first bank account (`/accounting-service/payment-method`, brightpearl-api.md §5). `None`
/// when it has no bank account: the payments stay unmapped, so the dry run says so.
fn payment_mapping(m: &Value) -> Option<Value> {
    let bank = match m.pointer("/bankAccounts/0/bankAccountNominalCode")? {
        Value::String(code) => code.clone(),
        Value::Number(code) => code.to_string(),
        _ => return None,
    };
    Some(json!({"code": s(m, "code"), "bank_nominal_code": bank}))
}

/// The demo client's `[flows.orders.mapping]`: from what the generator planted, or, for an
/// exported account, matched by name and tax rate (what cannot be matched is left out, so
/// the affected orders are held with exceptions that say what to map).
pub fn orders_mapping(seed: &StoreSeed, facts: Option<&StoreFacts>) -> Value {
    let bp = &seed.brightpearl;
    let nominal = |wanted: &str, fallback: &str| -> String {
        bp.nominal_codes
            .iter()
            .find(|n| s(n, "name").eq_ignore_ascii_case(wanted))
            .map(|n| s(n, "code"))
            .unwrap_or_else(|| fallback.to_string())
    };
    let order_status_id = bp
        .order_statuses
        .iter()
        .filter(|st| s(st, "orderTypeCode") == "SO")
        .find(|st| s(st, "name").to_lowercase().contains("new"))
        .or_else(|| {
            bp.order_statuses
                .iter()
                .find(|st| s(st, "orderTypeCode") == "SO")
        })
        .and_then(|st| st.get("statusId").and_then(Value::as_u64))
        .unwrap_or(1);
    let warehouse = bp
        .warehouses
        .first()
        .and_then(|w| w.get("id").and_then(Value::as_u64))
        .unwrap_or(1);
    let zero_code = bp
        .tax_codes
        .iter()
        .find(|t| dec(t.get("rate").unwrap_or(&Value::Null)).is_none_or(|r| r.is_zero()))
        .map(|t| s(t, "code"))
        .unwrap_or_else(|| "T0".into());

    let mut tax_codes = serde_json::Map::new();
    let mut payment_methods = serde_json::Map::new();
    let mut shipping_methods = serde_json::Map::new();
    let mut customer_groups = serde_json::Map::new();
    let mut retail_groups: Vec<u64> = vec![];
    let mut gift = None;
    let mut credit = None;
    let channel_id;
    match facts {
        Some(f) => {
            channel_id = f.channel_id as u64;
            for (_, name, code) in &f.tax_classes {
                tax_codes.insert(name.clone(), json!(code));
            }
            for (gateway, code, nominal_code) in &f.payment_methods {
                let m = json!({"code": code, "bank_nominal_code": nominal_code});
                match code.as_str() {
                    "GIFTCERT" => gift = Some(m),
                    "STORECREDIT" => credit = Some(m),
                    _ => {
                        payment_methods.insert(gateway.clone(), m);
                    }
                }
            }
            for (name, id) in &f.shipping_methods {
                shipping_methods.insert(name.clone(), json!(id));
            }
            let mapped: BTreeSet<i64> = f.customer_groups.iter().map(|(g, _)| *g).collect();
            for (group, list) in &f.customer_groups {
                customer_groups.insert(group.to_string(), json!(list));
            }
            for g in &seed.bigcommerce.customer_groups {
                if let Some(id) = g.get("id").and_then(Value::as_i64)
                    && !mapped.contains(&id)
                {
                    retail_groups.push(id as u64);
                }
            }
        }
        None => {
            channel_id = bp
                .channels
                .iter()
                .rev()
                .find_map(|c| c.get("id").and_then(Value::as_u64))
                .unwrap_or(1);
            // Tax classes by rate: each class name seen on the orders' tax rows goes to the
            // Brightpearl tax code with the same rate.
            for o in &seed.bigcommerce.orders {
                for t in &o.taxes {
                    let (class, rate) = (s(t, "class"), t.get("rate").and_then(dec));
                    let Some(rate) = rate else { continue };
                    // A tax code without a rate is a zero-rate code.
                    let code_rate =
                        |c: &Value| c.get("rate").and_then(dec).unwrap_or(Decimal::ZERO);
                    if let Some(code) = bp.tax_codes.iter().find(|c| code_rate(c) == rate) {
                        tax_codes.insert(class, json!(s(code, "code")));
                    }
                }
                for tx in &o.transactions {
                    let gateway = s(tx, "gateway");
                    let found = bp.payment_methods.iter().find(|m| {
                        let (n, c) = (s(m, "name").to_lowercase(), s(m, "code").to_lowercase());
                        let g = gateway.to_lowercase();
                        !g.is_empty()
                            && (n.contains(&g) || c == g || (c.len() >= 3 && g.contains(&c)))
                    });
                    if let Some(m) = found.and_then(payment_mapping) {
                        payment_methods.insert(gateway, m);
                    }
                }
                for a in &o.shipping_addresses {
                    let name = s(a, "shipping_method");
                    if let Some(m) = bp
                        .shipping_methods
                        .iter()
                        .find(|m| s(m, "name").eq_ignore_ascii_case(&name))
                    {
                        shipping_methods
                            .insert(name, json!(m.get("id").cloned().unwrap_or(Value::Null)));
                    }
                }
            }
        }
    }
    if facts.is_none() {
        for (word, slot) in [("gift", &mut gift), ("credit", &mut credit)] {
            *slot = bp
                .payment_methods
                .iter()
                .find(|m| {
                    format!("{} {}", s(m, "name"), s(m, "code"))
                        .to_lowercase()
                        .contains(word)
                })
                .and_then(payment_mapping);
        }
    }
    let mut mapping = json!({
        "statuses": [11],
        "channel_id": channel_id,
        "order_status_id": order_status_id,
        "warehouse": {"default": warehouse},
        "nominal_codes": {
            "sales": nominal("Sales", "4000"),
            "shipping": nominal("Carriage on sales", "4040"),
            "handling": nominal("Carriage on sales", "4040"),
            "wrapping": nominal("Sales", "4000"),
            "discount": nominal("Discounts allowed", "4009"),
            "rounding": nominal("Rounding differences", "4900"),
        },
        "tax_codes": tax_codes,
        "no_tax_code": zero_code,
        "payment_methods": payment_methods,
        "shipping_methods": shipping_methods,
        "customer_groups": customer_groups,
        "retail_groups": retail_groups,
        "sweep": {"initial_lookback_hours": 24 * 365 * 5},
    });
    if let Some(g) = gift {
        mapping["gift_certificate"] = g;
    }
    if let Some(c) = credit {
        mapping["store_credit"] = c;
    }
    mapping
}

/// Render `client.toml` for the sandbox connections and the given flow pins + mappings.
fn client_toml(
    sandbox: &Sandbox,
    pins: &[(String, String, String, Value)],
) -> anyhow::Result<String> {
    let bc = &sandbox.info.bigcommerce;
    let bp = &sandbox.info.brightpearl;
    let mut doc = toml::Table::new();
    let conn: toml::Table = toml::from_str(&format!(
        r#"[bigcommerce]
store_hash = "{}"
api_base = "{}"
token_secret = "demo_bc_token"

[brightpearl]
account = "{}"
api_base = "{}"
auth = "system"
app_ref = "{}"
token_secret = "demo_bp_token"
"#,
        bc.store_hash, bc.base_url, bp.account, bp.base_url, bp.app_ref
    ))?;
    doc.insert("connections".into(), toml::Value::Table(conn));
    let mut flows = toml::Table::new();
    for (flow, component, sha256, mapping) in pins {
        let mut t = toml::Table::new();
        t.insert("component".into(), toml::Value::String(component.clone()));
        t.insert("sha256".into(), toml::Value::String(sha256.clone()));
        let m: toml::Value = toml::Value::try_from(mapping).context("mapping to TOML")?;
        t.insert("mapping".into(), m);
        flows.insert(flow.clone(), toml::Value::Table(t));
    }
    doc.insert("flows".into(), toml::Value::Table(flows));
    Ok(format!(
        "# Written by `pearlbridge demo` for its sandbox. Secrets are held in memory by the demo.\n{}",
        toml::to_string(&doc)?
    ))
}

/// The mapping sections of a user-supplied client file (`--client FILE`), by flow.
fn client_file_mappings(file: &Path) -> anyhow::Result<BTreeMap<String, Value>> {
    let dir = tempfile::tempdir()?;
    let client_dir = dir.path().join("supplied");
    std::fs::create_dir_all(&client_dir)?;
    std::fs::copy(file, client_dir.join("client.toml"))
        .with_context(|| format!("reading {}", file.display()))?;
    let c = load_client(&client_dir).map_err(|problems| {
        anyhow!(
            "{}",
            problems
                .iter()
                .map(|p| p.to_string().replace(
                    &client_dir.join("client.toml").display().to_string(),
                    &file.display().to_string()
                ))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    Ok(c.flows.into_iter().map(|(k, v)| (k, v.mapping)).collect())
}

/// A running sandbox with a demo client on a host: what the demo, the end-to-end tests and
/// the orders benchmark drive.
pub struct DemoEnv {
    pub sandbox: Sandbox,
    pub host: Host,
    /// The orders flow's mapping section in use.
    pub mapping: Value,
    /// The tracking flow's mapping section in use.
    pub tracking_mapping: Value,
    /// What the generator planted (generated stores only).
    pub facts: Option<StoreFacts>,
    /// BigCommerce status ids the orders flow posts.
    statuses: BTreeSet<u64>,
    /// Ids of the BigCommerce orders in the store (seeded and added).
    order_ids: std::sync::Mutex<Vec<i64>>,
    _tmp: tempfile::TempDir,
}

impl DemoEnv {
    /// Start the sandbox with `seed`, open a host in the data folder, store the flow
    /// components and write the demo client (`<data>/clients/demo/client.toml`).
    pub async fn start(
        opts: &DemoOptions,
        seed: StoreSeed,
        facts: Option<StoreFacts>,
    ) -> anyhow::Result<Self> {
        let mut from_file = match &opts.client_file {
            Some(f) => client_file_mappings(f)?,
            None => BTreeMap::new(),
        };
        let mapping = match &opts.client_file {
            Some(f) => from_file
                .remove("orders")
                .ok_or_else(|| anyhow!("{}: has no [flows.orders.mapping]", f.display()))?,
            None => orders_mapping(&seed, facts.as_ref()),
        };
        let stock = from_file
            .remove("stock")
            .unwrap_or_else(|| stock_mapping(&seed, &mapping));
        let tracking_mapping = from_file
            .remove("tracking")
            .unwrap_or_else(|| crate::demo_tracking::tracking_mapping(&seed));
        let refunds = from_file
            .remove("refunds")
            .unwrap_or_else(|| crate::demo_refunds::refunds_mapping(&mapping));
        let catalog = from_file
            .remove("catalog")
            .unwrap_or_else(|| crate::demo_catalog::catalog_mapping(&stock));
        let pricing = from_file
            .remove("pricing")
            .or_else(|| crate::demo_pricing::pricing_mapping(&seed, &mapping, &stock));
        let order_ids = std::sync::Mutex::new(
            seed.bigcommerce
                .orders
                .iter()
                .filter_map(|b| b.order.get("id").and_then(Value::as_i64))
                .collect(),
        );
        let statuses = mapping["statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let (bigcommerce_faults, brightpearl_faults) = match opts.fault_seed {
            Some(_) => stress_faults(),
            None => (vec![], vec![]),
        };
        let sandbox = Sandbox::start(SandboxConfig {
            seed,
            time_scale: opts.time_scale,
            fault_seed: opts.fault_seed.unwrap_or(0),
            bigcommerce_faults,
            brightpearl_faults,
            bigcommerce_quota_per_30s: opts.bigcommerce_quota_per_30s,
            ..SandboxConfig::default()
        })
        .await?;

        let tmp = tempfile::tempdir()?;
        let data_dir = opts
            .data_dir
            .clone()
            .unwrap_or_else(|| tmp.path().join("data"));
        let mut cfg = HostConfig::new(&data_dir);
        cfg.server_time_scale = opts.time_scale;
        // Backoff is in real time: scale it with the sandbox clock, like the servers' resets.
        let scale = opts.time_scale.max(1.0);
        cfg.retry.base_delay = cfg
            .retry
            .base_delay
            .div_f64(scale)
            .max(Duration::from_millis(5));
        cfg.retry.max_delay = cfg
            .retry
            .max_delay
            .div_f64(scale)
            .max(Duration::from_millis(50));
        cfg.runtime.deadline = Duration::from_secs(600);
        // Precompiled components are keyed by sha256 and engine: share them across demos.
        cfg.runtime.cache_dir = opts.components_dir.join(".cache");
        let mut host = Host::open(cfg)?;
        let mut secrets = MemorySecrets::new();
        secrets.insert(
            "demo_bc_token",
            Secret::new(sandbox.info.bigcommerce.token.clone()),
        );
        secrets.insert(
            "demo_bp_token",
            Secret::new(sandbox.info.brightpearl.token.clone()),
        );
        host.set_secrets(Secrets::new(vec![Box::new(secrets)]));

        let mut pins = vec![];
        for flow in DEMO_FLOWS {
            // Pricing only where there is a price list to keep (not exported orders).
            if *flow == "pricing" && pricing.is_none() {
                continue;
            }
            let file = opts.components_dir.join(format!("{flow}.wasm"));
            let stored = host
                .components
                .add(&host.runtime, &file)
                .await
                .with_context(|| {
                    format!("storing the {flow} component (build it with `./dev build`)")
                })?;
            pins.push((
                flow.to_string(),
                stored.id(),
                stored.sha256.clone(),
                match *flow {
                    "stock" => stock.clone(),
                    "tracking" => tracking_mapping.clone(),
                    "refunds" => refunds.clone(),
                    "catalog" => catalog.clone(),
                    "pricing" => pricing.clone().unwrap_or_default(),
                    _ => mapping.clone(),
                },
            ));
        }
        // Refuse a mapping the flow rejects, naming where it came from.
        for (flow, _, _, mapping) in &pins {
            let c = host
                .runtime
                .load(&opts.components_dir.join(format!("{flow}.wasm")))?;
            let problems = host.runtime.check_config(&c, &mapping.to_string()).await?;
            if !problems.is_empty() {
                let from = match &opts.client_file {
                    Some(f) => f.display().to_string(),
                    None => "the demo's own mapping".to_string(),
                };
                return Err(anyhow!(
                    "{}",
                    problems
                        .iter()
                        .map(|p| format!("{from}: flows.{flow}.mapping.{}: {}", p.path, p.message))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
        }
        let client_dir = data_dir.join("clients").join("demo");
        std::fs::create_dir_all(&client_dir)?;
        std::fs::write(
            client_dir.join("client.toml"),
            client_toml(&sandbox, &pins)?,
        )?;
        let client = load_client(&client_dir).map_err(|p| anyhow!("demo client: {:?}", p))?;
        host.add_client(client);
        Ok(Self {
            sandbox,
            host,
            mapping,
            tracking_mapping,
            facts,
            statuses,
            order_ids,
            _tmp: tmp,
        })
    }

    /// Run the orders flow (scheduled sweeps) until a run has nothing left to post or
    /// retry, at most `max_runs` times. A failed run is an error.
    pub async fn run_orders(&self, max_runs: usize) -> anyhow::Result<Vec<RunReport>> {
        let mut runs: Vec<RunReport> = vec![];
        for _ in 0..max_runs.max(1) {
            let r = self
                .host
                .run_flow("demo", "orders", Trigger::Scheduled)
                .await?;
            if let Err(e) = &r.outcome {
                return Err(anyhow!("orders run failed: {e}"));
            }
            let done = r.count("posted") == 0
                && r.count("pending_retry") == 0
                && r.count("payments_posted") == 0;
            runs.push(r);
            if done {
                break;
            }
        }
        Ok(runs)
    }

    /// BigCommerce orders as the simulated store holds them now.
    pub fn bigcommerce_orders(&self) -> Vec<Value> {
        let ids = self.order_ids.lock().map(|i| i.clone()).unwrap_or_default();
        ids.into_iter()
            .filter_map(|id| self.sandbox.bigcommerce.order(id))
            .collect()
    }

    /// Place an order in the simulated store (its dates are set to the store's clock).
    pub fn place_order(&self, bundle: pearlbridge_sandbox::seed::BigCommerceOrderBundle) -> i64 {
        let id = self.sandbox.bigcommerce.create_order(bundle);
        if let Ok(mut ids) = self.order_ids.lock() {
            ids.push(id);
        }
        id
    }

    /// Reconcile every BigCommerce order against Brightpearl: each sales order's total (its
    /// rows' net + tax) against the amount the customer was charged (`total_inc_tax` rounded
    /// to the currency's precision, e.g. 21.0999 → 21.10 GBP) to the penny, duplicates,
    /// orders neither posted nor held (missing), and each posted order's customer payments
    /// against the sales order's total. See [`reconciliation_failure`].
    pub fn reconcile(&self) -> anyhow::Result<Value> {
        let bc_orders = self.bigcommerce_orders();
        let bp_orders = self.sandbox.brightpearl.sales_orders();
        let mut by_ref: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for o in &bp_orders {
            by_ref.entry(s(o, "externalRef")).or_default().push(o);
        }
        let open_entities: BTreeSet<String> = self
            .host
            .store
            .exceptions(&ExceptionFilter {
                client: Some("demo".into()),
                open_only: true,
                ..Default::default()
            })?
            .into_iter()
            .map(|e| e.entity)
            .collect();
        let (mut checked, mut mismatched, mut duplicated, mut missing) =
            (0u64, vec![], 0u64, vec![]);
        for o in &bc_orders {
            let id = s(o, "id");
            let in_scope = o
                .get("status_id")
                .and_then(Value::as_u64)
                .is_some_and(|st| self.statuses.contains(&st));
            let Some(found) = by_ref.get(&id) else {
                if in_scope && !open_entities.contains(&format!("bigcommerce:order:{id}")) {
                    missing.push(id);
                }
                continue;
            };
            if found.len() > 1 {
                duplicated += 1;
            }
            checked += 1;
            let bc_total = o.get("total_inc_tax").and_then(dec).unwrap_or_default();
            let currency = match s(o, "default_currency_code") {
                c if c.trim().is_empty() => s(o, "currency_code"),
                c => c,
            };
            let charged = charged_amount(bc_total, &currency);
            let bp_total = sales_order_total(found[0]);
            if bp_total != charged {
                mismatched.push(json!({"order": id, "currency": currency, "total_inc_tax": bc_total.to_string(), "charged": charged.to_string(), "brightpearl": bp_total.to_string()}));
            }
        }

        // Payments: per posted order, receipts plus uncaptured authorisations cover the sales
        // order's total.
        let mut pay_by_order: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for p in self.sandbox.brightpearl.customer_payments() {
            pay_by_order.entry(s(&p, "orderId")).or_default().push(p);
        }
        let on_account: BTreeSet<String> = self.mapping["on_account_methods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let (mut pay_checked, mut pay_mismatched, mut pay_duplicated) = (0u64, vec![], 0u64);
        for o in &bc_orders {
            let id = s(o, "id");
            let Some(found) = by_ref.get(&id) else {
                continue;
            };
            if on_account.contains(&s(o, "payment_method")) {
                continue;
            }
            let payments = pay_by_order
                .get(&s(found[0], "id"))
                .cloned()
                .unwrap_or_default();
            let mut refs = BTreeSet::new();
            let (mut receipts, mut auths, mut captured) =
                (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
            for p in &payments {
                if !refs.insert((s(p, "paymentType"), s(p, "transactionRef"))) {
                    pay_duplicated += 1;
                }
                let paid = p.get("amountPaid").and_then(dec).unwrap_or_default();
                match s(p, "paymentType").as_str() {
                    "RECEIPT" => receipts += paid,
                    "CAPTURE" => {
                        receipts += paid;
                        captured += paid;
                    }
                    "AUTH" => auths += p.get("amountAuthorized").and_then(dec).unwrap_or_default(),
                    _ => {}
                }
            }
            let covered = receipts + (auths - captured).max(Decimal::ZERO);
            pay_checked += 1;
            let so_total = sales_order_total(found[0]);
            if covered != so_total {
                pay_mismatched.push(json!({"order": id, "sales_order": s(found[0], "id"), "sales_order_total": so_total.to_string(), "payments": covered.to_string()}));
            }
        }
        Ok(json!({
            "orders": {
                "checked": checked,
                "mismatched": mismatched.len(),
                "mismatches": mismatched,
                "duplicated": duplicated,
                "missing": missing.len(),
                "missing_orders": missing,
            },
            "payments": {
                "checked": pay_checked,
                "mismatched": pay_mismatched.len(),
                "mismatches": pay_mismatched,
                "duplicated": pay_duplicated,
            }
        }))
    }

    /// Move Brightpearl stock of every `nth` stock-tracked product in the orders flow's
    /// warehouse: a receipt of 5, a correction to 0, a sale elsewhere of 1, in turn. Returns
    /// the product ids moved.
    pub fn move_stock(&self, nth: usize) -> Vec<i64> {
        let first_warehouse = self.mapping["warehouse"]["default"].as_i64().unwrap_or(2);
        let mut moved = vec![];
        let bp = &self.sandbox.brightpearl;
        for (i, (_, (id, _))) in bp
            .on_hand_by_sku()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % nth.max(1) == 0)
        {
            match (i / nth.max(1)) % 3 {
                0 => bp.add_stock(id, first_warehouse, 5),
                1 => bp.set_stock(id, first_warehouse, 0),
                _ => bp.add_stock(id, first_warehouse, -1),
            }
            moved.push(id);
        }
        moved
    }

    /// The `product.modified.on-hand-modified` events of the products moved, as the inbox
    /// would hand them to the stock flow.
    pub fn stock_events(&self, product_ids: &[i64]) -> Vec<crate::bindings::Event> {
        product_ids
            .iter()
            .map(|id| crate::bindings::Event {
                source: crate::bindings::System::Brightpearl,
                scope: "product.modified.on-hand-modified".into(),
                entity_id: id.to_string(),
                payload: json!({"id": id}).to_string(),
            })
            .collect()
    }

    /// The flash sale: `orders` (single-line orders held back from the seed) are placed for
    /// the 3 tracked SKUs with the least stock, a stock sync after every 5 and a
    /// sale elsewhere of 1 in Brightpearl after every 10; then the orders flow posts
    /// them and a last stock sync runs (again while writes are pending, as the next schedule
    /// would). Returns what was placed.
    pub async fn flash_sale(
        &self,
        orders: Vec<pearlbridge_sandbox::seed::BigCommerceOrderBundle>,
        max_runs: usize,
    ) -> anyhow::Result<Value> {
        let bp = self.sandbox.brightpearl.on_hand_by_sku();
        let mut hot: Vec<_> = self
            .sandbox
            .bigcommerce
            .inventory_levels()
            .into_iter()
            .filter(|l| l.location_id == 1 && l.on_hand > 0)
            .filter_map(|l| bp.get(&l.sku).map(|(id, _)| (l, *id)))
            .collect();
        hot.sort_by_key(|(l, _)| (l.on_hand, l.variant_id));
        hot.truncate(3);
        if hot.is_empty() || orders.is_empty() {
            return Ok(json!({"orders": 0}));
        }
        let first_warehouse = self.mapping["warehouse"]["default"].as_i64().unwrap_or(2);
        let placed = orders.len();
        let mut units = 0i64;
        for (i, mut b) in orders.into_iter().enumerate() {
            let (level, bp_id) = &hot[i % hot.len()];
            for p in b.products.iter_mut() {
                p["sku"] = json!(level.sku);
                p["product_id"] = json!(level.product_id);
                p["variant_id"] = json!(level.variant_id);
                units += p.get("quantity").and_then(Value::as_i64).unwrap_or(0);
            }
            self.place_order(b);
            if i % 5 == 4 {
                self.run_stock(Trigger::Scheduled).await?;
            }
            if i % 10 == 9 {
                self.sandbox
                    .brightpearl
                    .add_stock(*bp_id, first_warehouse, -1);
            }
        }
        self.run_orders(max_runs).await?;
        // A last full sync, run again while writes are pending (faults) as a schedule would.
        for _ in 0..max_runs.max(1) {
            let r = self.run_stock(Trigger::Scheduled).await?;
            if r.count("pending_retry") == 0 {
                break;
            }
        }
        Ok(json!({
            "orders": placed,
            "units": units,
            "skus": hot.iter().map(|(l, _)| l.sku.clone()).collect::<Vec<_>>(),
        }))
    }

    /// One run of the stock flow; a failed run is an error.
    pub async fn run_stock(&self, trigger: Trigger) -> anyhow::Result<RunReport> {
        let r = self.host.run_flow("demo", "stock", trigger).await?;
        if let Err(e) = &r.outcome {
            return Err(anyhow!("stock run failed: {e}"));
        }
        Ok(r)
    }

    /// BigCommerce stock at location 1 against what the stock flow should have written, for
    /// every variant whose SKU Brightpearl tracks: Σ `onHand` over the warehouses − the
    /// units of BigCommerce orders in the posted statuses, created in the last 72 hours,
    /// with no Brightpearl sales order (floored at 0). `oversold_units`: units BigCommerce
    /// offers beyond that.
    pub fn reconcile_stock(&self) -> Value {
        let bp = self.sandbox.brightpearl.on_hand_by_sku();
        let posted: BTreeSet<String> = self
            .sandbox
            .brightpearl
            .sales_orders()
            .iter()
            .map(|o| s(o, "externalRef"))
            .collect();
        let since = chrono::Utc::now() - chrono::Duration::hours(72);
        let mut unposted: BTreeMap<String, i64> = BTreeMap::new();
        for o in self.bigcommerce_orders() {
            let recent = chrono::DateTime::parse_from_rfc2822(&s(&o, "date_created"))
                .is_ok_and(|d| d >= since);
            let in_scope = o
                .get("status_id")
                .and_then(Value::as_u64)
                .is_some_and(|st| self.statuses.contains(&st));
            if !recent || !in_scope || posted.contains(&s(&o, "id")) {
                continue;
            }
            let id = o.get("id").and_then(Value::as_i64).unwrap_or(0);
            for p in self.sandbox.bigcommerce.order_products(id) {
                *unposted.entry(s(&p, "sku")).or_default() +=
                    p.get("quantity").and_then(Value::as_i64).unwrap_or(0);
            }
        }
        let (mut checked, mut mismatches, mut oversold) = (0u64, vec![], 0i64);
        for level in self.sandbox.bigcommerce.inventory_levels() {
            if level.location_id != 1 {
                continue;
            }
            let Some((_, on_hand)) = bp.get(&level.sku) else {
                continue;
            };
            checked += 1;
            let expected = (on_hand - unposted.get(&level.sku).copied().unwrap_or(0)).max(0);
            if level.on_hand != expected {
                mismatches.push(json!({"sku": level.sku, "variant_id": level.variant_id, "bigcommerce": level.on_hand, "expected": expected}));
            }
            oversold += (level.on_hand - expected).max(0);
        }
        json!({"checked": checked, "mismatched": mismatches.len(), "mismatches": mismatches.into_iter().take(20).collect::<Vec<_>>(), "oversold_units": oversold})
    }

    /// Open exceptions of the demo client, by money impact.
    pub fn exceptions(&self) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .host
            .store
            .exceptions(&ExceptionFilter { client: Some("demo".into()), open_only: true, ..Default::default() })?
            .into_iter()
            .map(|e| {
                json!({
                    "kind": e.kind,
                    "owner": e.owner.as_str(),
                    "entity": e.entity,
                    "message": e.message,
                    "impact": e.impact.map(|m| json!({"amount": m.amount.to_string(), "currency": m.currency})),
                })
            })
            .collect())
    }

    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

/// The total of a Brightpearl sales order as the simulator holds it: Σ its `orderRows`'
/// `rowValue.rowNet.value` + `rowValue.rowTax.value`.
fn sales_order_total(order: &Value) -> Decimal {
    order
        .get("orderRows")
        .and_then(Value::as_object)
        .map(|rows| {
            rows.values()
                .map(|r| {
                    r.pointer("/rowValue/rowNet/value")
                        .and_then(dec)
                        .unwrap_or_default()
                        + r.pointer("/rowValue/rowTax/value")
                            .and_then(dec)
                            .unwrap_or_default()
                })
                .sum()
        })
        .unwrap_or_default()
}

/// What the customer was charged for a BigCommerce order: `total_inc_tax` rounded half away
/// from zero to the currency's precision (0 dp for JPY/KRW and the like, 3 for BHD/KWD/…,
/// else 2), the same rule as the orders flow's `mapping::charged_amount`.
pub fn charged_amount(total_inc_tax: Decimal, currency: &str) -> Decimal {
    let dp = match currency.trim().to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    };
    total_inc_tax.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// `Some(message)` when the report's reconciliation failed: a posted order whose
/// Brightpearl total differs from the charged amount, customer payments that do not cover
/// their sales order's total, or a duplicated sales order or payment. The CLI prints it and
/// exits non-zero.
pub fn reconciliation_failure(report: &Value) -> Option<String> {
    let o = &report["reconciliation"]["orders"];
    let p = &report["reconciliation"]["payments"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut problems = Vec::new();
    if n(&o["mismatched"]) > 0 {
        let list: Vec<String> = o["mismatches"]
            .as_array()
            .into_iter()
            .flatten()
            .take(10)
            .map(|m| {
                format!(
                    "order {}: Brightpearl {} but charged {} {} (total_inc_tax {})",
                    s(m, "order"),
                    s(m, "brightpearl"),
                    s(m, "charged"),
                    s(m, "currency"),
                    s(m, "total_inc_tax")
                )
            })
            .collect();
        problems.push(format!(
            "{} posted orders' Brightpearl totals differ from the charged amount: {}",
            o["mismatched"],
            list.join("; ")
        ));
    }
    if n(&o["duplicated"]) > 0 {
        problems.push(format!("{} orders posted more than once", o["duplicated"]));
    }
    if n(&p["mismatched"]) > 0 {
        let list: Vec<String> = p["mismatches"]
            .as_array()
            .into_iter()
            .flatten()
            .take(10)
            .map(|m| {
                format!(
                    "order {}: payments {} but sales order {} totals {}",
                    s(m, "order"),
                    s(m, "payments"),
                    s(m, "sales_order"),
                    s(m, "sales_order_total")
                )
            })
            .collect();
        problems.push(format!(
            "{} orders' customer payments differ from their sales order's total: {}",
            p["mismatched"],
            list.join("; ")
        ));
    }
    if n(&p["duplicated"]) > 0 {
        problems.push(format!(
            "{} customer payments posted more than once",
            p["duplicated"]
        ));
    }
    let st = &report["reconciliation"]["stock"];
    if n(&st["mismatched"]) > 0 || n(&st["oversold_units"]) > 0 {
        problems.push(format!(
            "{} BigCommerce stock levels differ from Brightpearl's available to sell ({} units oversold): {}",
            st["mismatched"],
            st["oversold_units"],
            st["mismatches"]
        ));
    }
    problems.extend(crate::demo_tracking::shipments_failure(report));
    problems.extend(crate::demo_refunds::reconciliation_problems(report));
    problems.extend(crate::demo_catalog::reconciliation_problems(report));
    problems.extend(crate::demo_pricing::reconciliation_problems(report));
    (!problems.is_empty()).then(|| format!("reconciliation failed: {}", problems.join("; ")))
}

/// The stock flow's mapping for the sandbox: every Brightpearl warehouse into BigCommerce
/// location 1 (the default), absolute adjustments, no safety stock, orders in the orders
/// flow's statuses deducted until posted, the store's default currency from its orders.
pub fn stock_mapping(seed: &StoreSeed, orders: &Value) -> Value {
    let warehouses: serde_json::Map<String, Value> = seed
        .brightpearl
        .warehouses
        .iter()
        .filter_map(|w| w.get("id").and_then(Value::as_u64))
        .map(|id| (id.to_string(), json!(1)))
        .collect();
    let currency = seed
        .bigcommerce
        .orders
        .iter()
        // The store's default currency (catalog prices); `default_currency_code` is the
        // currency the shopper paid in (bigcommerce-api.md, orders).
        .map(|b| match s(&b.order, "store_default_currency_code") {
            c if c.trim().is_empty() => s(&b.order, "default_currency_code"),
            c => c,
        })
        .find(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "GBP".into());
    json!({
        "mode": "locations",
        "currency": currency,
        "reason": "Brightpearl stock (demo)",
        "warehouses": warehouses,
        "pending_orders": {"statuses": orders["statuses"].clone(), "lookback_hours": 72},
    })
}

/// Run the demo and return its report (see [`render_text`] for the text form).
pub async fn run_demo(opts: &DemoOptions) -> anyhow::Result<Value> {
    let started = Instant::now();
    let (mut seed, facts) = build_seed(opts)?;
    // The flash sale: every 3rd single-line order awaiting fulfilment (at most 40) is held back and
    // placed later, all for a few hot SKUs, while stock moves.
    let mut flash = vec![];
    let mut i = 0;
    let generated = opts.orders_from.is_none();
    seed.bigcommerce.orders.retain(|b| {
        if !generated {
            return true;
        }
        let awaiting = b.order.get("status_id").and_then(Value::as_u64) == Some(11);
        i += 1;
        if awaiting && i % 3 == 0 && flash.len() < 40 && b.products.len() == 1 {
            flash.push(b.clone());
            false
        } else {
            true
        }
    });
    let env = DemoEnv::start(opts, seed, facts).await?;
    let runs = env.run_orders(opts.max_runs).await?;
    // Brightpearl calls of the orders flow alone (the stock flow runs after it).
    let bp_calls_orders = env
        .host
        .connection_stats("demo", System::Brightpearl)
        .unwrap_or_default()
        .calls;
    let sum = |name: &str| runs.iter().map(|r| r.count(name)).sum::<u64>();
    let last = runs.last();
    let orders_summary = json!({
        "runs": runs.len(),
        "posted": sum("posted"),
        "held": last.map(|r| r.count("held")).unwrap_or(0),
        "payments_posted": sum("payments_posted"),
        "rounding_rows": sum("rounding_rows"),
        "pending_retry": last.map(|r| r.count("pending_retry")).unwrap_or(0),
        "notes": runs.iter().flat_map(|r| r.outcome.as_ref().map(|s| s.notes.clone()).unwrap_or_default()).collect::<Vec<_>>(),
    });
    let not_in_scope = env
        .bigcommerce_orders()
        .iter()
        .filter(|o| {
            !o.get("status_id")
                .and_then(Value::as_u64)
                .is_some_and(|st| env.statuses.contains(&st))
        })
        .count();
    let mut orders_summary = orders_summary;
    orders_summary["not_in_posted_statuses"] = json!(not_in_scope);
    // Stock (generated stores only; a dry run on exported orders is about their mapping): a
    // full sync, then stock moves in Brightpearl (a receipt, a correction, a sale elsewhere
    // on every 20th product) reach BigCommerce through their events, then the flash sale.
    let mut reconciliation = env.reconcile()?;
    let stock_summary = if opts.orders_from.is_none() {
        let full = env.run_stock(Trigger::Scheduled).await?;
        let moved = env.move_stock(20);
        let events = env.stock_events(&moved);
        let incremental = env.run_stock(Trigger::Events(events)).await?;
        let flash_sale = env.flash_sale(flash, opts.max_runs).await?;
        // The flash sale's orders are posted too: reconcile them with the others.
        reconciliation = env.reconcile()?;
        reconciliation["stock"] = env.reconcile_stock();
        json!({
            "skus_checked": full.count("skus_checked") + incremental.count("skus_checked"),
            "skus_pushed": full.count("skus_pushed") + incremental.count("skus_pushed"),
            "full_sync": {"skus_checked": full.count("skus_checked"), "skus_pushed": full.count("skus_pushed"), "writes": full.count("writes")},
            "events": {"products_moved": moved.len(), "skus_checked": incremental.count("skus_checked"), "skus_pushed": incremental.count("skus_pushed"), "writes": incremental.count("writes")},
            "flash_sale": flash_sale,
        })
    } else {
        Value::Null
    };
    // Tracking (generated stores only): part of the posted orders ship, one is cancelled.
    let tracking_summary = if opts.orders_from.is_none() {
        let (flow, shipments) = crate::demo_tracking::run_tracking(&env, opts.max_runs).await?;
        reconciliation["shipments"] = shipments;
        flow
    } else {
        Value::Null
    };
    // Refunds (generated stores only): see `demo_refunds`.
    let refunds_summary = if opts.orders_from.is_none() {
        let f = crate::demo_refunds::run(&env, opts.max_runs).await?;
        reconciliation["refunds"] = crate::demo_refunds::reconcile(&env)?;
        f
    } else {
        Value::Null
    };
    // The catalog audit (generated stores only: the planted SKU problems are known).
    let catalog_summary = if opts.orders_from.is_none() {
        let (f, rec) = crate::demo_catalog::run(&env).await?;
        reconciliation["catalog"] = rec;
        f
    } else {
        Value::Null
    };
    // B2B pricing (generated stores only).
    let pricing_summary = if opts.orders_from.is_none() {
        let (f, rec) = crate::demo_pricing::run(&env).await?;
        reconciliation["prices"] = rec;
        f
    } else {
        Value::Null
    };
    // What the faults did, from the audit lines.
    let audit = env.host.store.audit_lines(Some("demo"), u32::MAX)?;
    let faults_seen = json!({
        "server_errors": audit.iter().filter(|l| l.status.is_some_and(|s| s >= 500)).count(),
        "lost_write_responses": audit.iter().filter(|l| l.outcome == "outcome-unknown").count(),
        "throttled": audit.iter().filter(|l| l.status == Some(429) || l.outcome == "throttled").count(),
    });
    let exceptions = env.exceptions()?;
    let stats = |sys| env.host.connection_stats("demo", sys).unwrap_or_default();
    let (bc, bp) = (stats(System::BigCommerce), stats(System::Brightpearl));
    let posted = orders_summary["posted"].as_u64().unwrap_or(0);
    let facts = env.facts.clone();
    let report = json!({
        "store": {
            "orders": env.bigcommerce_orders().len(),
            "seed": if opts.orders_from.is_none() { json!(opts.seed) } else { Value::Null },
            "planted_unknown_skus": facts.as_ref().map(|f| f.unknown_skus.clone()),
            "orders_with_unknown_skus": facts.as_ref().map(|f| f.orders_with_unknown_skus.clone()),
        },
        "flows": { "orders": orders_summary, "stock": stock_summary, "tracking": tracking_summary, "refunds": refunds_summary, "catalog": catalog_summary, "pricing": pricing_summary },
        "exceptions": exceptions,
        "api_calls": { "bigcommerce": bc.calls, "brightpearl": bp.calls },
        "throttled": { "bigcommerce": bc.throttled, "brightpearl": bp.throttled },
        "rate_limit_waits_ms": { "bigcommerce": bc.waits_ms, "brightpearl": bp.waits_ms },
        "brightpearl_calls_per_posted_order": if posted > 0 { json!((bp_calls_orders as f64 / posted as f64 * 100.0).round() / 100.0) } else { Value::Null },
        "reconciliation": reconciliation,
        "faults": { "seed": opts.fault_seed, "seen": faults_seen },
        "time_scale": opts.time_scale,
        "elapsed_ms": started.elapsed().as_millis() as u64,
    });
    env.shutdown().await;
    Ok(report)
}

/// The report as text for a person.
pub fn render_text(r: &Value) -> String {
    let mut out = String::new();
    let o = &r["flows"]["orders"];
    out.push_str(&format!(
        "Pearlbridge demo — {} BigCommerce orders in the sandbox (its clock and rate limits run ×{} real time)\n",
        r["store"]["orders"], r["time_scale"]
    ));
    if let Some(seed) = r["faults"]["seed"].as_u64() {
        let f = &r["faults"]["seen"];
        out.push_str(&format!(
            "faults injected (seed {seed}): {} 5xx answers, {} lost responses of committed writes, {} throttled\n",
            f["server_errors"], f["lost_write_responses"], f["throttled"]
        ));
    }
    out.push_str(&format!(
        "\norders   posted {}  held {}  not in the posted statuses {}  customer payments {}  rounding rows {}  pending retry {}  ({} runs)\n",
        o["posted"], o["held"], o["not_in_posted_statuses"], o["payments_posted"], o["rounding_rows"], o["pending_retry"], o["runs"]
    ));
    let ex = r["exceptions"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!(
        "\nexceptions (open, by money impact): {}\n",
        ex.len()
    ));
    let mut by_kind: BTreeMap<(String, String), (u64, BTreeMap<String, Decimal>)> = BTreeMap::new();
    for e in &ex {
        let k = by_kind.entry((s(e, "kind"), s(e, "owner"))).or_default();
        k.0 += 1;
        if let (Some(a), Some(c)) = (
            e["impact"].get("amount").and_then(dec),
            e["impact"].get("currency").and_then(Value::as_str),
        ) {
            *k.1.entry(c.to_string()).or_default() += a;
        }
    }
    for ((kind, owner), (n, money)) in &by_kind {
        let m: Vec<String> = money.iter().map(|(c, a)| format!("{a} {c}")).collect();
        out.push_str(&format!(
            "  {kind:<36} owner {owner:<16} {n:>4}  impact {}\n",
            m.join(" + ")
        ));
    }
    let mut top = ex.clone();
    top.sort_by(|a, b| {
        let amount = |e: &Value| e["impact"].get("amount").and_then(dec).unwrap_or_default();
        amount(b).cmp(&amount(a))
    });
    if !top.is_empty() {
        out.push_str("  largest (amounts in their own currencies):\n");
    }
    for e in top.iter().take(5) {
        out.push_str(&format!(
            "    {:>10} {:<3}  {}\n",
            e["impact"]["amount"].as_str().unwrap_or("-"),
            e["impact"]["currency"].as_str().unwrap_or(""),
            s(e, "message")
        ));
    }
    if top.len() > 5 {
        out.push_str(&format!("    … and {} more (all of them: --json; or demo with --data-dir DIR, then `pearlbridge --data-dir DIR exceptions`)\n", top.len() - 5));
    }
    let per_order = match r["brightpearl_calls_per_posted_order"].as_f64() {
        Some(v) => format!("{v:.2}"),
        None => "-".into(),
    };
    let sf = &r["flows"]["stock"];
    if !sf.is_null() {
        out.push_str(&format!(
        "\nstock          full sync: {} SKUs checked, {} written in {} call(s); then {} products moved in Brightpearl: {} SKUs written from their events\n",
        sf["full_sync"]["skus_checked"], sf["full_sync"]["skus_pushed"], sf["full_sync"]["writes"], sf["events"]["products_moved"], sf["events"]["skus_pushed"]
    ));
    }
    out.push_str(&crate::demo_tracking::render_text(r));
    out.push_str(&crate::demo_refunds::render_text(r));
    out.push_str(&crate::demo_catalog::render_text(r));
    out.push_str(&crate::demo_pricing::render_text(r));
    out.push_str(&format!(
        "API calls      BigCommerce {}  Brightpearl {}  (Brightpearl calls per posted order {per_order})\n",
        r["api_calls"]["bigcommerce"], r["api_calls"]["brightpearl"]
    ));
    // `demo --serve` has no waits to show: the service's connections are its own.
    if !r["rate_limit_waits_ms"]["bigcommerce"].is_null() {
        out.push_str(&format!(
            "rate limits    waited {} ms for BigCommerce, {} ms for Brightpearl (real time)\n",
            r["rate_limit_waits_ms"]["bigcommerce"], r["rate_limit_waits_ms"]["brightpearl"]
        ));
    }
    out.push_str(&format!(
        "throttled      BigCommerce {}  Brightpearl {}\n",
        r["throttled"]["bigcommerce"], r["throttled"]["brightpearl"]
    ));
    let rec = &r["reconciliation"]["orders"];
    out.push_str(&format!(
        "reconciliation {} posted orders checked against the charged amount, {} totals mismatched, {} duplicated, {} missing\n",
        rec["checked"], rec["mismatched"], rec["duplicated"], rec["missing"]
    ));
    let pay = &r["reconciliation"]["payments"];
    out.push_str(&format!(
        "               {} orders' customer payments checked against their sales orders' totals, {} mismatched, {} duplicated\n",
        pay["checked"], pay["mismatched"], pay["duplicated"]
    ));
    let st = &r["reconciliation"]["stock"];
    if !st.is_null() {
        out.push_str(&format!(
        "               {} BigCommerce stock levels checked against Brightpearl's available to sell, {} mismatched, {} units oversold\n",
        st["checked"], st["mismatched"], st["oversold_units"]
    ));
    }
    out.push_str(&crate::demo_refunds::render_reconciliation_text(r));
    if let Some(failure) = reconciliation_failure(r) {
        out.push_str(&format!("RECONCILIATION FAILED  {failure}\n"));
    }
    out.push_str(&format!("elapsed        {} ms\n", r["elapsed_ms"]));
    out
}
