//! Issue #4: the dry run on exported data (`--orders-from`, `--brightpearl-from`, `--client`).

use std::path::Path;

use pearlbridge::demo::{DemoOptions, run_demo};
use pearlbridge_tests::components_dir;

fn data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/sandbox/tests/data")
}

fn options() -> DemoOptions {
    DemoOptions {
        orders_from: Some(data().join("orders")),
        brightpearl_from: Some(data().join("brightpearl.json")),
        components_dir: components_dir(),
        time_scale: 100.0,
        ..DemoOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_orders_show_what_is_left_to_map() {
    let r = run_demo(&options()).await.unwrap();
    assert_eq!(r["store"]["orders"], 2);
    let mut got: Vec<(String, String)> = r["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["entity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "unmapped-customer-group".to_string(),
                "bigcommerce:order:1001".to_string()
            ),
            (
                "unmapped-sku".to_string(),
                "bigcommerce:order:1002".to_string()
            ),
        ]
    );
    let group = r["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "unmapped-customer-group")
        .unwrap();
    assert_eq!(group["impact"]["amount"], "60.64");
    assert_eq!(group["impact"]["currency"], "GBP");
    assert_eq!(r["flows"]["orders"]["posted"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_file_supplies_the_missing_mapping_and_the_order_posts() {
    // The demo's own mapping for these files, plus customer group 1 → price list 1 (RETAIL).
    let tmp = tempfile::tempdir().unwrap();
    let first = run_demo(&DemoOptions {
        data_dir: Some(tmp.path().join("first")),
        ..options()
    })
    .await
    .unwrap();
    assert_eq!(first["flows"]["orders"]["posted"], 0);
    let written =
        std::fs::read_to_string(tmp.path().join("first/clients/demo/client.toml")).unwrap();
    let client = written.replace(
        "[flows.orders.mapping.customer_groups]\n",
        "[flows.orders.mapping.customer_groups]\n1 = 1\n",
    );
    assert_ne!(
        client, written,
        "the demo client has no customer_groups table"
    );
    let file = tmp.path().join("client.toml");
    std::fs::write(&file, client).unwrap();
    let r = run_demo(&DemoOptions {
        client_file: Some(file),
        ..options()
    })
    .await
    .unwrap();
    assert_eq!(r["flows"]["orders"]["posted"], 1, "{r:#}");
    assert_eq!(r["reconciliation"]["orders"]["checked"], 1);
    assert_eq!(r["reconciliation"]["orders"]["mismatched"], 0);
    assert_eq!(r["reconciliation"]["payments"]["mismatched"], 0, "{r:#}");
}
