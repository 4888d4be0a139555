//! The `context` import (since `pearlbridge:flow@1.1.0`): the run's client, flow, run id and
//! start time, and the trigger's events with ids.
//!
//! Events from the durable inbox (`pearlbridge serve`) carry their inbox id and the time the
//! host committed them ([`RunFacts::with_inbox_ids`]). Events handed to a run directly (a
//! test, `Host::run_flow`) get `<run-id>.<index>` (their index in `Trigger::Events`, from 0)
//! and the run's start.

use crate::bindings::{InboxEvent, RunContext, Trigger, context};
use crate::runtime::RunState;

/// The context of one run and its events, fixed at the run's start.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub context: RunContext,
    pub events: Vec<InboxEvent>,
}

impl RunFacts {
    /// Facts of run `run_id` of `client` × `flow` for `trigger`, started at `now` (UTC).
    pub fn new(
        client: &str,
        flow: &str,
        run_id: u64,
        now: chrono::DateTime<chrono::Utc>,
        trigger: &Trigger,
    ) -> RunFacts {
        let now = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let events = match trigger {
            Trigger::Events(events) => events
                .iter()
                .enumerate()
                .map(|(i, e)| InboxEvent {
                    id: format!("{run_id}.{i}"),
                    source: e.source,
                    scope: e.scope.clone(),
                    entity_id: e.entity_id.clone(),
                    received_at: now.clone(),
                    payload: e.payload.clone(),
                    attributes: vec![],
                })
                .collect(),
            Trigger::Scheduled | Trigger::Replay(_) => vec![],
        };
        RunFacts {
            context: RunContext {
                client: client.into(),
                flow: flow.into(),
                run_id,
                now,
                attributes: vec![],
            },
            events,
        }
    }
}

impl RunFacts {
    /// Replace the events' run-scoped ids and times with their inbox ids and received-at
    /// times `(id, RFC 3339 UTC)`, in `Trigger::Events` order; extra pairs are ignored and
    /// events beyond the pairs keep their run-scoped values.
    pub fn with_inbox_ids(mut self, ids: &[(String, String)]) -> RunFacts {
        for (e, (id, at)) in self.events.iter_mut().zip(ids) {
            e.id = id.clone();
            e.received_at = at.clone();
        }
        self
    }
}

fn facts(s: &RunState) -> wasmtime::Result<&RunFacts> {
    s.facts.as_ref().ok_or_else(|| {
        wasmtime::Error::new(crate::imports::HostFailure(
            "host imports are not available during describe(), check-config() and needs()".into(),
        ))
    })
}

impl context::Host for RunState {
    async fn current(&mut self) -> wasmtime::Result<RunContext> {
        Ok(facts(self)?.context.clone())
    }

    async fn events(&mut self) -> wasmtime::Result<Vec<InboxEvent>> {
        Ok(facts(self)?.events.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Event, System};

    #[test]
    fn events_get_run_scoped_ids_and_the_run_start() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:15:00.5Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let ev = |id: &str| Event {
            source: System::Bigcommerce,
            scope: "store/order/created".into(),
            entity_id: id.into(),
            payload: format!(r#"{{"id":{id}}}"#),
        };
        let f = RunFacts::new(
            "acme",
            "orders",
            42,
            now,
            &Trigger::Events(vec![ev("118"), ev("119")]),
        );
        assert_eq!(f.context.now, "2026-12-03T10:15:00.500Z");
        assert_eq!((f.context.client.as_str(), f.context.run_id), ("acme", 42));
        let ids: Vec<_> = f
            .events
            .iter()
            .map(|e| (e.id.as_str(), e.entity_id.as_str()))
            .collect();
        assert_eq!(ids, [("42.0", "118"), ("42.1", "119")]);
        assert_eq!(f.events[1].received_at, "2026-12-03T10:15:00.500Z");
        assert_eq!(f.events[1].payload, r#"{"id":119}"#);
        let inbox = f
            .clone()
            .with_inbox_ids(&[("9001".to_string(), "2026-12-03T10:14:59.000Z".to_string())]);
        assert_eq!(
            (
                inbox.events[0].id.as_str(),
                inbox.events[0].received_at.as_str()
            ),
            ("9001", "2026-12-03T10:14:59.000Z")
        );
        assert_eq!(inbox.events[1].id, "42.1");
        let replay = RunFacts::new(
            "acme",
            "orders",
            43,
            now,
            &Trigger::Replay(vec!["x".into()]),
        );
        assert!(replay.events.is_empty());
    }
}
