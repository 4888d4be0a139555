//! Test component for the host: `run(replay(["mode:<name>", ...]))` selects what it does.
//!
//! - `everything`: uses every host import once and reports what it saw in the run notes.
//! - `loop`: never returns (the host's deadline must stop it).
//! - `alloc`: allocates 1 GiB (the host's memory cap must stop it).
//! - `env`: counts the environment variables it can see (the host gives none).
//! - `panic`: panics (a trap).
//! - `get:<key>`: reads a state key and reports it.

// The frozen 1.0.0 contract: this component stays a 1.0.0 component whatever the SDK targets.
wit_bindgen::generate!({
    world: "flow",
    path: "../../../wit/v1.0.0",
});

use exports::pearlbridge::flow::runner::Guest;
use pearlbridge::flow::types::{
    ConfigProblem, Exception, FlowError, FlowInfo, Level, Method, Money, Request, RunSummary,
    System, Team, Trigger,
};
use pearlbridge::flow::{api, config, report, state};

struct Probe;

const VERSION: &str = if cfg!(feature = "v2") {
    "1.1.0"
} else {
    "1.0.0"
};

impl Guest for Probe {
    fn describe() -> FlowInfo {
        FlowInfo {
            name: "probe".into(),
            version: VERSION.into(),
            triggers: vec!["scheduled".into(), "replay".into()],
            event_scopes: vec![],
            default_schedule: Some("1m".into()),
        }
    }

    fn check_config(config: String) -> Vec<ConfigProblem> {
        // The probe's mapping must be an object whose optional `label` is a string.
        match serde_json_value_kind(&config) {
            Some(problem) => vec![ConfigProblem {
                path: "label".into(),
                message: problem,
            }],
            None => vec![],
        }
    }

    fn run(trigger: Trigger) -> Result<RunSummary, FlowError> {
        let modes = match trigger {
            Trigger::Replay(refs) => refs,
            Trigger::Scheduled => vec!["mode:everything".into()],
            Trigger::Events(events) => events.into_iter().map(|e| e.entity_id).collect(),
        };
        let mut notes = vec![format!("probe {VERSION}")];
        let mut counts = vec![];
        for mode in modes {
            match mode.as_str() {
                "mode:everything" => everything(&mut notes, &mut counts)?,
                "mode:loop" => {
                    let mut i: u64 = 0;
                    loop {
                        i = core::hint::black_box(i.wrapping_add(1));
                    }
                }
                "mode:alloc" => {
                    let v = core::hint::black_box(vec![1u8; 1 << 30]);
                    notes.push(format!("allocated {}", v.len()));
                }
                "mode:env" => {
                    let vars: Vec<(String, String)> = std::env::vars().collect();
                    notes.push(format!("env vars visible: {}", vars.len()));
                    notes.push(format!("args visible: {}", std::env::args().count()));
                }
                "mode:panic" => panic!("probe asked to panic"),
                other if other.starts_with("get:") => {
                    let key = &other[4..];
                    match state::get(key) {
                        Some(e) => notes.push(format!("state {key} = {}", e.value)),
                        None => notes.push(format!("state {key} absent")),
                    }
                }
                other => return Err(FlowError::Internal(format!("unknown probe mode `{other}`"))),
            }
        }
        Ok(RunSummary { counts, notes })
    }
}

fn everything(notes: &mut Vec<String>, counts: &mut Vec<(String, u64)>) -> Result<(), FlowError> {
    // config
    notes.push(format!("config {}", config::get()));
    // api: one call to each system
    for (system, path) in [
        (System::Bigcommerce, "/v2/time"),
        (System::Brightpearl, "/order-service/order-status"),
    ] {
        let res = api::send(&Request {
            system,
            method: Method::Get,
            path: path.into(),
            body: None,
            headers: vec![],
        });
        match res {
            Ok(r) => notes.push(format!("api {path} {} {}", r.status, r.body)),
            Err(e) => notes.push(format!("api {path} error {e:?}")),
        }
    }
    // state
    let v1 = state::set("cursor", "2026-11-29T00:00:00Z");
    let cas_ok = state::compare_and_swap("cursor", v1, "2026-11-29T01:00:00Z");
    let cas_conflict = state::compare_and_swap("cursor", v1, "stale");
    let fresh = state::compare_and_swap("link:1", 0, "100");
    state::set("link:2", "200");
    state::set("tmp", "x");
    state::delete("tmp");
    let listed = state::entries("link:", 10);
    let cursor = state::get("cursor").map(|e| (e.value, e.version));
    notes.push(format!(
        "state v1={v1} cas_ok={cas_ok:?} cas_conflict={:?} fresh={fresh:?} listed={listed:?} cursor={cursor:?} tmp={:?}",
        cas_conflict.map_err(|c| c.current_version),
        state::get("tmp").map(|e| e.value)
    ));
    // report
    report::raise(&Exception {
        kind: "unmapped-sku".into(),
        entity: "bigcommerce:order:1".into(),
        message: "order 1: order product 7 has SKU `X-1` with no Brightpearl product".into(),
        owner: Team::Ecommerce,
        impact: Some(Money {
            amount: "12.3400".into(),
            currency: "GBP".into(),
        }),
        retryable: true,
    });
    report::raise(&Exception {
        kind: "order-total-variance".into(),
        entity: "bigcommerce:order:2".into(),
        message: "order 2: total differs by 0.05 GBP".into(),
        owner: Team::Finance,
        impact: Some(Money {
            amount: "0.05".into(),
            currency: "GBP".into(),
        }),
        retryable: false,
    });
    report::resolve("order-total-variance", "bigcommerce:order:2");
    let open = report::open("bigcommerce:order:");
    notes.push(format!("open {open:?}"));
    report::progress(1, Some(2));
    report::log(Level::Info, "probe everything done");
    counts.push(("api_calls".into(), 2));
    Ok(())
}

/// Returns a problem text when `config` is not a JSON object with an optional string `label`.
/// (No JSON crate, to keep the probe tiny: a crude check is enough for a test component.)
fn serde_json_value_kind(config: &str) -> Option<String> {
    let t = config.trim();
    if !t.starts_with('{') {
        return Some("the mapping must be a table".into());
    }
    if let Some(i) = t.find("\"label\":") {
        let rest = t[i + 8..].trim_start();
        if !rest.starts_with('"') {
            return Some("must be a string".into());
        }
    }
    None
}

export!(Probe);
