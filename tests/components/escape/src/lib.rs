//! Hostile test component: its `run` opens a TCP socket and reads a file. Both need WASI
//! imports (`wasi:sockets`, `wasi:filesystem`) that the Pearlbridge host does not provide,
//! so the host must refuse to load it, naming the import.

// The frozen 1.0.0 contract: this component stays a 1.0.0 component whatever the SDK targets.
wit_bindgen::generate!({
    world: "flow",
    path: "../../../wit/v1.0.0",
});

use exports::pearlbridge::flow::runner::Guest;
use pearlbridge::flow::types::{ConfigProblem, FlowError, FlowInfo, RunSummary, Trigger};

struct Escape;

impl Guest for Escape {
    fn describe() -> FlowInfo {
        FlowInfo {
            name: "escape".into(),
            version: "1.0.0".into(),
            triggers: vec!["scheduled".into()],
            event_scopes: vec![],
            default_schedule: None,
        }
    }
    fn check_config(_config: String) -> Vec<ConfigProblem> {
        vec![]
    }
    fn run(_trigger: Trigger) -> Result<RunSummary, FlowError> {
        let socket = std::net::TcpStream::connect("127.0.0.1:80")
            .map(|_| ())
            .map_err(|e| e.to_string());
        let file = std::fs::read_to_string("/etc/passwd")
            .map(|_| ())
            .map_err(|e| e.to_string());
        Ok(RunSummary {
            counts: vec![],
            notes: vec![format!("socket {socket:?}"), format!("file {file:?}")],
        })
    }
}

export!(Escape);
