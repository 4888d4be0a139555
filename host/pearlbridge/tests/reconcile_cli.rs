//! Issue 10 §6 end to end: `pearlbridge reconcile shipments --client X --since DATE [--json]`
//! (the binary) on the sandbox, after the orders flow posted the demo store's orders and the
//! tracking flow turned shipped goods-out notes into shipments. Three gaps are planted — a
//! note shipped without tracking (held, no shipment), a shipment deleted in BigCommerce, an
//! order marked Shipped in BigCommerce with no note — and the command finds exactly those.

use std::path::{Path, PathBuf};
use std::process::Command;

use pearlbridge::bindings::Trigger;
use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_capabilities::clients::load_client;
use serde_json::Value;

const CLIENT: &str = "shipping";

fn components_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/components");
    assert!(
        dir.join("tracking.wasm").exists(),
        "{} has no built components: run `./dev build` first",
        dir.display()
    );
    dir
}

/// Pin the tracking component for [`CLIENT`] in `<data>/clients/shipping/client.toml`.
async fn add_tracking_client(env: &mut DemoEnv, clients: &Path) {
    let stored = env
        .host
        .components
        .add(&env.host.runtime, &components_dir().join("tracking.wasm"))
        .await
        .expect("store tracking.wasm");
    let bc = &env.sandbox.info.bigcommerce;
    let bp = &env.sandbox.info.brightpearl;
    let toml = format!(
        r#"[connections.bigcommerce]
store_hash = "{}"
api_base = "{}"
token_secret = "demo_bc_token"

[connections.brightpearl]
account = "{}"
api_base = "{}"
auth = "system"
app_ref = "{}"
token_secret = "demo_bp_token"

[flows.tracking]
component = "{}"
sha256 = "{}"

[flows.tracking.mapping]
ref_prefix = "BC-"

[flows.tracking.mapping.shipping_methods]
default = {{ shipping_provider = "royalmail" }}
"#,
        bc.store_hash,
        bc.base_url,
        bp.account,
        bp.base_url,
        bp.app_ref,
        stored.id(),
        stored.sha256
    );
    let dir = clients.join(CLIENT);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("client.toml"), toml).unwrap();
    env.host
        .add_client(load_client(&dir).expect("valid client"));
}

/// A posted sales order: (sales order id, BigCommerce order id, warehouse, product rows
/// (row id, quantity)).
type Posted = (i64, i64, i64, Vec<(i64, i64)>);

fn posted_orders(env: &DemoEnv) -> Vec<Posted> {
    let mut out = vec![];
    for so in env.sandbox.brightpearl.sales_orders() {
        let Some(order_id) = so["externalRef"].as_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if so["orderTypeCode"] != "SO" {
            continue;
        }
        let rows: Vec<(i64, i64)> = so["orderRows"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["productId"].as_i64().unwrap_or(0) > 0)
            .filter(|(_, r)| r["externalRef"].as_str().is_some())
            .map(|(id, r)| {
                let q: f64 = r["quantity"]["magnitude"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0.0);
                (id.parse().unwrap(), q as i64)
            })
            .collect();
        if !rows.is_empty() {
            out.push((
                so["id"].as_i64().unwrap(),
                order_id,
                so["warehouseId"].as_i64().unwrap(),
                rows,
            ));
        }
    }
    out
}

/// Run the binary: `reconcile shipments --client shipping --since <since> [--json]`.
fn reconcile(env: &DemoEnv, data: &Path, since: &str, json: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pearlbridge"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(["reconcile", "shipments", "--client", CLIENT, "--clients"])
        .arg(data.join("clients"))
        .args(["--since", since])
        .env(
            "PEARLBRIDGE_SECRET_DEMO_BC_TOKEN",
            &env.sandbox.info.bigcommerce.token,
        )
        .env(
            "PEARLBRIDGE_SECRET_DEMO_BP_TOKEN",
            &env.sandbox.info.brightpearl.token,
        )
        .env("PEARLBRIDGE_LOG", "warn");
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.code().is_some(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains(&env.sandbox.info.bigcommerce.token)
            && !stdout.contains(&env.sandbox.info.brightpearl.token),
        "a token reached the output"
    );
    (out.status.code().unwrap(), stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_shipments_finds_exactly_the_planted_gaps_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let opts = DemoOptions {
        orders: 40,
        seed: 5,
        components_dir: components_dir(),
        time_scale: 200.0,
        data_dir: Some(data.clone()),
        max_runs: 20,
        ..DemoOptions::default()
    };
    let (seed, facts) = build_seed(&opts).unwrap();
    let mut env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    add_tracking_client(&mut env, &data.join("clients")).await;
    let since = (env.sandbox.clock.now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();

    let posted = posted_orders(&env);
    assert!(posted.len() >= 8, "only {} posted orders", posted.len());
    let bp = env.sandbox.brightpearl.clone();
    // Six orders ship whole, the sixth without a tracking number (held: no shipment).
    let mut notes = vec![];
    for (i, (so, _, warehouse, rows)) in posted.iter().take(6).enumerate() {
        let id = bp.create_goods_out_note(*so, *warehouse, rows.clone());
        let tracking = if i == 5 {
            String::new()
        } else {
            format!("TRK-{so}")
        };
        bp.ship_goods_out_note(id, None, &tracking);
        notes.push(id);
    }
    let run = env
        .host
        .run_flow(CLIENT, "tracking", Trigger::Scheduled)
        .await
        .unwrap();
    assert_eq!(run.count("shipments_created"), 5, "{:?}", run.outcome);

    // Planted: the shipment of the second order deleted in BigCommerce (the order stays
    // Shipped there), and the seventh order marked Shipped by hand with no note.
    let bc = &env.sandbox.info.bigcommerce;
    let deleted_order = posted[1].1;
    let shipment = env.sandbox.bigcommerce.shipments(deleted_order)[0]["id"]
        .as_i64()
        .unwrap();
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/stores/{}/v2/orders/{deleted_order}/shipments/{shipment}",
            bc.base_url, bc.store_hash
        ))
        .header("x-auth-token", &bc.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let marked = posted[6].1;
    assert!(env.sandbox.bigcommerce.update_order_status(marked, 2));

    let (code, out) = reconcile(&env, &data, &since, true);
    assert_eq!(code, 3, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let gaps: Vec<(String, String, String)> = v["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["kind"].as_str().unwrap().to_string(),
                g["entity"].as_str().unwrap().to_string(),
                g["owner"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let g = |k: &str, e: String, o: &str| (k.to_string(), e, o.to_string());
    assert_eq!(
        gaps,
        vec![
            g(
                "shipment-missing",
                format!("brightpearl:note:{}", notes[1]),
                "customer-service"
            ),
            g(
                "shipment-missing",
                format!("brightpearl:note:{}", notes[5]),
                "customer-service"
            ),
            g(
                "shipped-without-note",
                format!("bigcommerce:order:{marked}"),
                "operations"
            ),
        ],
        "{out}"
    );
    assert_eq!(v["missing"], 3);
    assert_eq!(v["checked_notes"], 6);
    // The five shipped orders (the deleted shipment's order stays Shipped) and the marked one.
    assert_eq!(v["checked_orders"], 6);
    // Impact = the BigCommerce order's total.
    let total = env.sandbox.bigcommerce.order(marked).unwrap()["total_inc_tax"]
        .as_str()
        .unwrap()
        .parse::<rust_decimal::Decimal>()
        .unwrap();
    let impact = v["exceptions"][2]["impact"]["amount"]
        .as_str()
        .unwrap()
        .parse::<rust_decimal::Decimal>()
        .unwrap();
    assert_eq!(impact, total.round_dp(4));

    // The text form names the same gaps; a window after everything is clean (exit 0).
    let (code, text) = reconcile(&env, &data, &since, false);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("3 gap(s)"), "{text}");
    assert!(
        text.contains(&format!("bigcommerce:order:{marked}")),
        "{text}"
    );
    let later = (env.sandbox.clock.now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (code, text) = reconcile(&env, &data, &later, false);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("0 gap(s)"), "{text}");
    // A bad date is refused before anything runs.
    let (code, _) = reconcile(&env, &data, "yesterday", false);
    assert_eq!(code, 1);
    env.shutdown().await;
}
