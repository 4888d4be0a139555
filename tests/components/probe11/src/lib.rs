//! Test component built against `pearlbridge:flow@1.1.0` (`wit/flow.wit`), beside the probe,
//! which stays on the frozen 1.0.0 world.
//!
//! `run` puts in its notes: `context <client> <flow> <run-id> <now>`, one
//! `event <id> <scope> <entity-id> <received-at>` per event of `context.events()`, then for
//! each replay reference `get:<system>:<path>` one `api <path> <status>` or
//! `api <path> denied: <text>` line. Its manifest: BigCommerce GET `/v2/orders`, Brightpearl
//! GET and POST `/order-service/sales-order`.

wit_bindgen::generate!({
    world: "flow",
    path: "../../../wit",
});

use exports::pearlbridge::flow::manifest::{self, Need};
use exports::pearlbridge::flow::runner::{self};
use pearlbridge::flow::types::{
    ConfigProblem, FlowError, FlowInfo, Method, Request, RunSummary, SendError, System, Trigger,
};
use pearlbridge::flow::{api, context};

struct Probe11;

impl runner::Guest for Probe11 {
    fn describe() -> FlowInfo {
        FlowInfo {
            name: "probe11".into(),
            version: "1.1.0".into(),
            triggers: vec!["scheduled".into(), "events".into(), "replay".into()],
            event_scopes: vec!["store/order/*".into()],
            default_schedule: None,
        }
    }

    fn check_config(_config: String) -> Vec<ConfigProblem> {
        vec![]
    }

    fn run(trigger: Trigger) -> Result<RunSummary, FlowError> {
        let c = context::current();
        let mut notes = vec![format!(
            "context {} {} {} {}",
            c.client, c.flow, c.run_id, c.now
        )];
        let events = context::events();
        for e in &events {
            notes.push(format!(
                "event {} {} {} {}",
                e.id, e.scope, e.entity_id, e.received_at
            ));
        }
        let refs = match trigger {
            Trigger::Replay(refs) => refs,
            Trigger::Scheduled | Trigger::Events(_) => vec![],
        };
        for r in refs {
            let Some(rest) = r.strip_prefix("get:") else {
                return Err(FlowError::Internal(format!("unknown reference `{r}`")));
            };
            let (system, path) = match rest.split_once(':') {
                Some(("bigcommerce", p)) => (System::Bigcommerce, p),
                Some(("brightpearl", p)) => (System::Brightpearl, p),
                _ => return Err(FlowError::Internal(format!("unknown reference `{r}`"))),
            };
            let res = api::send(&Request {
                system,
                method: Method::Get,
                path: path.into(),
                body: None,
                headers: vec![],
            });
            notes.push(match res {
                Ok(resp) => format!("api {path} {}", resp.status),
                Err(SendError::Denied(why)) => format!("api {path} denied: {why}"),
                Err(e) => format!("api {path} error {e:?}"),
            });
        }
        Ok(RunSummary {
            counts: vec![("events".into(), events.len() as u64)],
            notes,
        })
    }
}

impl manifest::Guest for Probe11 {
    fn needs() -> Vec<Need> {
        vec![
            Need {
                system: System::Bigcommerce,
                methods: vec![Method::Get],
                path_prefix: "/v2/orders".into(),
            },
            Need {
                system: System::Brightpearl,
                methods: vec![Method::Get, Method::Post],
                path_prefix: "/order-service/sales-order".into(),
            },
        ]
    }
}

export!(Probe11);
