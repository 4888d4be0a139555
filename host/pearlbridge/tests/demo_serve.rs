//! `pearlbridge demo --serve`: the orders flow runs from webhooks through `serve`, with no
//! manual run, and the demo's reconciliation holds.

use std::path::Path;
use std::process::Command;

#[test]
fn demo_serve_posts_the_orders_from_webhooks() {
    let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/components");
    let out = Command::new(env!("CARGO_BIN_EXE_pearlbridge"))
        .args(["demo", "--serve", "--json", "--orders", "25", "--seed", "4"])
        .arg("--components")
        .arg(&components)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let s = &r["serve"];
    assert_eq!(s["webhooks_delivered"], 25, "{s}");
    assert_eq!(s["webhooks_accepted"], 25, "{s}");
    assert!(s["runs_on_events"].as_u64().unwrap() >= 1, "{s}");
    // Only the start-up runs: the orders sweep, the stock full sync and the tracking sweep.
    assert_eq!(s["runs_on_schedule"], 3, "only the start-up runs: {s}");
    assert_eq!(s["hooks"]["changes"][0]["action"], "created", "{s}");
    assert!(
        s["hooks"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["system"] == "brightpearl"),
        "{s}"
    );
    let rec = &r["reconciliation"]["orders"];
    assert_eq!(rec["missing"], 0, "{rec}");
    assert_eq!(rec["duplicated"], 0, "{rec}");
    assert_eq!(rec["mismatched"], 0, "{rec}");
    assert!(r["flows"]["orders"]["posted"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["flows"]["orders"]["posted"], rec["checked"], "{r}");
}
