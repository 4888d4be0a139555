//! The flow engine ([`pearlbridge_sdk::engine`]) with a tiny flow that is not orders-shaped:
//! BigCommerce "widgets" (a made-up resource) become Brightpearl "things", found again by
//! their `ref`. Fakes only (`pearlbridge_sdk::testing`): idempotency after a lost response,
//! replay, hold then resolve, the cursor and its overlap, 401 stopping the run, retries.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pearlbridge_sdk::ApiError;
use pearlbridge_sdk::State;
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{
    self, Cx, Flow, Impact, Outcome, Problem, Settings, Stop, Sweep, SweepSettings, Swept,
    SweptList,
};
use pearlbridge_sdk::engine::{get_json as http_get_json, post_json};
use pearlbridge_sdk::testing::{FakeApi, MemoryReport, MemoryState};
use pearlbridge_sdk::types::{
    Event, FlowError, Method, Request, Response, SendError, System, Team, Trigger,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// 2024-05-01T12:00:00Z.
const NOW: i64 = 1_714_564_800;

#[derive(Clone)]
struct Widget {
    name: String,
    price: &'static str,
    /// Unix seconds.
    modified: i64,
}

#[derive(Default)]
struct World {
    widgets: BTreeMap<u32, Widget>,
    /// Brightpearl things: (id, ref, name).
    things: Vec<(u64, String, String)>,
    next_id: u64,
    /// The next POST commits but its answer is lost.
    lose_post_response: bool,
    /// The thing search answers 503 this many times.
    search_failures: u32,
    /// Brightpearl answers 401 to everything.
    revoked: bool,
}

fn handle(w: &mut World, req: &Request) -> Result<Response, SendError> {
    let ok = |v: Value| Ok(Response::new(200, v.to_string()));
    match (req.system, req.method) {
        (System::Bigcommerce, Method::Get) if req.path.starts_with("/v3/widgets?") => {
            let since = req.path.split("modified_since=").nth(1).unwrap();
            let since = Timestamp::parse_iso8601(since).unwrap().0;
            let mut list: Vec<(u32, &Widget)> = w
                .widgets
                .iter()
                .filter(|(_, x)| x.modified >= since)
                .map(|(id, x)| (*id, x))
                .collect();
            list.sort_by_key(|(_, x)| x.modified);
            ok(json!(
                list.iter()
                    .map(|(id, x)| json!({"id": id, "name": x.name, "price": x.price,
                    "modified": Timestamp(x.modified).to_iso8601()}))
                    .collect::<Vec<_>>()
            ))
        }
        (System::Bigcommerce, Method::Get) if req.path.starts_with("/v3/widgets/") => {
            let id: u32 = req.path["/v3/widgets/".len()..].parse().unwrap();
            match w.widgets.get(&id) {
                Some(x) => ok(
                    json!({"id": id, "name": x.name, "price": x.price, "modified": Timestamp(x.modified).to_iso8601()}),
                ),
                None => Ok(Response::new(404, "{}")),
            }
        }
        (System::Brightpearl, _) if w.revoked => Ok(Response::new(
            401,
            json!({"errors": [{"code": "GWYC-001", "message": "Not authenticated"}]}).to_string(),
        )),
        (System::Brightpearl, Method::Get) if req.path.starts_with("/things?ref=") => {
            if w.search_failures > 0 {
                w.search_failures -= 1;
                return Ok(Response::new(503, "{}"));
            }
            let r = &req.path["/things?ref=".len()..];
            ok(json!(
                w.things
                    .iter()
                    .filter(|t| t.1 == r)
                    .map(|t| t.0)
                    .collect::<Vec<_>>()
            ))
        }
        (System::Brightpearl, Method::Post) if req.path == "/things" => {
            let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
            w.next_id += 1;
            let id = 500 + w.next_id;
            w.things.push((
                id,
                body["ref"].as_str().unwrap().into(),
                body["name"].as_str().unwrap().into(),
            ));
            if std::mem::take(&mut w.lose_post_response) {
                return Err(SendError::OutcomeUnknown);
            }
            ok(json!({"id": id}))
        }
        _ => panic!("unexpected request {req:?}"),
    }
}

/// The tiny flow: a widget is posted as a thing once; one without a name is held.
struct Widgets;

fn widget_of(v: &Value) -> (String, Decimal, Option<Timestamp>) {
    (
        v["name"].as_str().unwrap_or_default().to_string(),
        v["price"].as_str().unwrap().parse().unwrap(),
        v["modified"]
            .as_str()
            .and_then(|m| Timestamp::parse_iso8601(m).ok()),
    )
}

impl Flow for Widgets {
    type Id = u32;
    type Item = Value;

    fn settings(&self) -> Settings {
        Settings {
            name: "widgets",
            system: System::Bigcommerce,
            kind: "widget",
            plural: "widgets",
            open_marks: &[],
            retry_kind: "widget-post-failed",
            retry_owner: Team::Integration,
            retry_exception_after: 2,
            sweep: Some(Sweep::Since(SweepSettings {
                overlap_minutes: 5,
                initial_lookback_hours: 1,
            })),
            counters: &["posted", "already_posted", "held", "pending_retry"],
        }
    }

    fn event_id(&self, e: &Event) -> Option<String> {
        (e.scope == "store/widget/updated").then(|| e.entity_id.clone())
    }

    fn sweep(&mut self, cx: &mut Cx, from: Timestamp) -> Result<SweptList<Self>, ApiError> {
        let list: Vec<Value> = http_get_json(
            cx.api,
            System::Bigcommerce,
            &format!("/v3/widgets?modified_since={}", from.to_iso8601()),
        )?;
        Ok(list
            .into_iter()
            .map(|v| Swept {
                id: v["id"].as_u64().unwrap() as u32,
                modified: widget_of(&v).2,
                item: v,
            })
            .collect())
    }

    fn process(&mut self, cx: &mut Cx, id: &u32, item: Option<Value>) -> Result<Outcome, Stop> {
        let v = match item {
            Some(v) => v,
            None => http_get_json(cx.api, System::Bigcommerce, &format!("/v3/widgets/{id}"))?,
        };
        let (name, price, _) = widget_of(&v);
        let key = cx.key(id);
        cx.at_stake(&key, Impact::new(price, "GBP"));
        if name.is_empty() {
            return Err(Problem {
                kind: "widget-unnamed",
                owner: Team::Ecommerce,
                message: format!("{}: `name` is empty", key.entity()),
                impact: None,
            }
            .into());
        }
        let reference = format!("widget-{id}");
        let api = cx.api;
        let written = cx.write_once(
            &key,
            "thing",
            false,
            || {
                let ids: Vec<u64> = http_get_json(
                    api,
                    System::Brightpearl,
                    &format!("/things?ref={reference}"),
                )?;
                Ok(ids.first().copied())
            },
            || {
                let body = json!({"ref": reference, "name": name});
                let v: Value = post_json(api, System::Brightpearl, "/things", &body)?;
                Ok(v["id"].as_u64().unwrap())
            },
        )?;
        cx.count(if written.by_this_run() {
            "posted"
        } else {
            "already_posted"
        });
        Ok(Outcome::Clear)
    }
}

struct Harness {
    world: Rc<RefCell<World>>,
    api: FakeApi,
    state: MemoryState,
    report: MemoryReport,
}

impl Harness {
    fn new() -> Self {
        let world = Rc::new(RefCell::new(World::default()));
        let w = world.clone();
        Harness {
            world,
            api: FakeApi::new(move |req| handle(&mut w.borrow_mut(), req)),
            state: MemoryState::new(),
            report: MemoryReport::new(),
        }
    }

    fn widget(&self, id: u32, name: &str, price: &'static str, modified: i64) {
        self.world.borrow_mut().widgets.insert(
            id,
            Widget {
                name: name.into(),
                price,
                modified,
            },
        );
    }

    fn run(
        &self,
        trigger: Trigger,
        now: i64,
    ) -> Result<pearlbridge_sdk::types::RunSummary, FlowError> {
        engine::run(
            &mut Widgets,
            &trigger,
            &self.api,
            &self.state,
            &self.report,
            Timestamp(now),
        )
    }

    fn posts(&self) -> usize {
        self.api.count(System::Brightpearl, Method::Post, "/things")
    }
}

#[test]
fn a_lost_response_is_found_by_reference_and_never_posted_twice() {
    let h = Harness::new();
    h.widget(7, "Sprocket", "12.50", NOW - 60);
    h.world.borrow_mut().lose_post_response = true;
    let s = h.run(Trigger::Scheduled, NOW).unwrap();
    assert_eq!(s.count("posted"), 1);
    assert_eq!(h.posts(), 1);
    assert_eq!(h.world.borrow().things.len(), 1);
    assert_eq!(h.state.get("link:widget:7").unwrap().value, "501");
    assert!(h.state.get("attempt:widget:7").is_none());
    // Replayed: linked, nothing sent.
    let s = h
        .run(Trigger::Replay(vec!["bigcommerce:widget:7".into()]), NOW)
        .unwrap();
    assert_eq!((s.count("posted"), s.count("already_posted")), (0, 1));
    assert_eq!(h.posts(), 1);
}

#[test]
fn an_unknown_outcome_not_found_yet_is_searched_first_on_the_next_run() {
    let h = Harness::new();
    h.widget(7, "Sprocket", "12.50", NOW - 60);
    {
        let mut w = h.world.borrow_mut();
        w.lose_post_response = true;
        w.search_failures = 1; // the lookup after the lost answer fails too
    }
    let s = h.run(Trigger::Scheduled, NOW).unwrap();
    assert_eq!(s.count("pending_retry"), 1);
    assert_eq!(h.state.get("attempt:widget:7").unwrap().value, "thing");
    assert!(h.state.get("link:widget:7").is_none());
    // The next run finds the committed thing by its ref instead of posting again.
    let s = h.run(Trigger::Scheduled, NOW + 300).unwrap();
    assert_eq!((s.count("posted"), s.count("already_posted")), (0, 1));
    assert_eq!(h.posts(), 1);
    assert_eq!(h.world.borrow().things.len(), 1);
    assert_eq!(h.state.get("link:widget:7").unwrap().value, "501");
    assert!(h.state.get("retry:widget:7").is_none());
}

#[test]
fn a_replay_reads_the_entity_and_a_bad_reference_fails_before_any_call() {
    let h = Harness::new();
    h.widget(9, "Gear", "3.00", NOW - 7200); // outside any sweep window
    let err = h
        .run(
            Trigger::Replay(vec![
                "bigcommerce:widget:9".into(),
                "bigcommerce:order:9".into(),
            ]),
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FlowError::Internal(
            "replay reference `bigcommerce:order:9` is not of the form bigcommerce:widget:<id>"
                .into()
        )
    );
    assert!(h.api.requests().is_empty());
    let s = h
        .run(Trigger::Replay(vec!["bigcommerce:widget:9".into()]), NOW)
        .unwrap();
    assert_eq!(s.count("posted"), 1);
    assert_eq!(h.world.borrow().things[0].2, "Gear");
}

#[test]
fn a_held_entity_is_retried_every_run_and_its_exception_resolves_itself() {
    let h = Harness::new();
    h.widget(3, "", "19.99", NOW - 60);
    let s = h.run(Trigger::Scheduled, NOW).unwrap();
    assert_eq!(s.count("held"), 1);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "widget-unnamed");
    assert_eq!(open[0].entity, "bigcommerce:widget:3");
    assert_eq!(open[0].owner, Team::Ecommerce);
    assert!(open[0].retryable);
    let impact = open[0].impact.clone().unwrap();
    assert_eq!(
        (impact.amount.as_str(), impact.currency.as_str()),
        ("19.99", "GBP")
    );
    assert_eq!(
        h.state.get("held:widget:3").unwrap().value,
        r#"{"kinds":["widget-unnamed"]}"#
    );
    assert_eq!(h.posts(), 0);
    // Fixed in BigCommerce; an event about another widget still retries the held one.
    h.widget(3, "Flange", "19.99", NOW - 30);
    h.widget(4, "Bolt", "0.10", NOW - 30);
    let event = Event {
        source: System::Bigcommerce,
        scope: "store/widget/updated".into(),
        entity_id: "4".into(),
        payload: "{}".into(),
    };
    let s = h.run(Trigger::Events(vec![event]), NOW + 60).unwrap();
    assert_eq!(s.count("posted"), 2);
    assert!(h.report.open_exceptions().is_empty());
    assert_eq!(
        h.report.resolved(),
        vec![(
            "widget-unnamed".to_string(),
            "bigcommerce:widget:3".to_string()
        )]
    );
    assert!(h.state.get("held:widget:3").is_none());
}

#[test]
fn the_cursor_moves_to_the_newest_seen_and_the_overlap_never_posts_twice() {
    let h = Harness::new();
    h.widget(1, "A", "1.00", NOW - 1800);
    h.widget(2, "B", "2.00", NOW - 600);
    let s = h.run(Trigger::Scheduled, NOW).unwrap();
    assert_eq!(
        s.notes,
        vec![
            "swept widgets modified since 2024-05-01T10:55:00Z (no cursor yet: initial_lookback_hours = 1): 2 widgets seen; cursor 2024-05-01T11:50:00Z"
        ]
    );
    assert_eq!(
        h.state.get("cursor:widgets").unwrap().value,
        "2024-05-01T11:50:00Z"
    );
    assert_eq!(s.count("posted"), 2);
    // Widget 2 is inside the 5-minute overlap of the next sweep: linked, not posted again.
    h.widget(5, "E", "5.00", NOW - 720); // committed late: before the cursor, inside the overlap
    let s = h.run(Trigger::Scheduled, NOW + 60).unwrap();
    assert_eq!(
        s.notes,
        vec![
            "swept widgets modified since 2024-05-01T11:45:00Z (cursor 2024-05-01T11:50:00Z − overlap_minutes = 5): 2 widgets seen; cursor 2024-05-01T11:50:00Z"
        ]
    );
    assert_eq!((s.count("posted"), s.count("already_posted")), (1, 1));
    assert_eq!(h.posts(), 3);
    // Nothing new: an empty sweep leaves the cursor where it was.
    h.world.borrow_mut().widgets.clear();
    let s = h.run(Trigger::Scheduled, NOW + 120).unwrap();
    assert!(
        s.notes[0].ends_with("0 widgets seen; cursor unchanged"),
        "{:?}",
        s.notes
    );
    assert_eq!(
        h.state.get("cursor:widgets").unwrap().value,
        "2024-05-01T11:50:00Z"
    );
}

#[test]
fn a_401_stops_the_run_at_once_and_leaves_the_cursor() {
    let h = Harness::new();
    for id in 1..=3 {
        h.widget(id, "W", "1.00", NOW - 60);
    }
    h.world.borrow_mut().revoked = true;
    let err = h.run(Trigger::Scheduled, NOW).unwrap_err();
    assert_eq!(
        err,
        FlowError::Upstream(
            "brightpearl answered 401 GWYC-001 Not authenticated: check the client's brightpearl connection credentials".into()
        )
    );
    // One write tried, none after it; nothing pending, no cursor, no marker left.
    assert_eq!(h.posts(), 1);
    assert!(h.state.get("cursor:widgets").is_none());
    assert!(h.state.list("retry:", 10).is_empty());
    assert!(h.state.list("attempt:", 10).is_empty());
    assert!(h.report.open_exceptions().is_empty());
    // Credentials fixed: everything goes through on the next run.
    h.world.borrow_mut().revoked = false;
    let s = h.run(Trigger::Scheduled, NOW + 60).unwrap();
    assert_eq!(s.count("posted"), 3);
}

#[test]
fn a_pending_entity_raises_its_retry_exception_with_the_money_at_stake() {
    let h = Harness::new();
    h.widget(8, "Cog", "42.00", NOW - 60);
    h.world.borrow_mut().search_failures = 10;
    h.world.borrow_mut().lose_post_response = true;
    h.run(Trigger::Scheduled, NOW).unwrap();
    assert!(
        h.report.open_exceptions().is_empty(),
        "one failed run is not yet an exception"
    );
    // The widget is gone from BigCommerce's reads on the next run: the earlier run's stake is
    // kept with the retry.
    let s = h.run(Trigger::Scheduled, NOW + 60).unwrap();
    assert_eq!(s.count("pending_retry"), 1);
    let open = h.report.open_exceptions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "widget-post-failed");
    assert_eq!(open[0].impact.clone().unwrap().amount, "42.00");
    assert!(
        open[0]
            .message
            .starts_with("bigcommerce:widget:8: not posted after 2 runs; last error: "),
        "{}",
        open[0].message
    );
    // The search works again: found, linked, the exception resolved.
    h.world.borrow_mut().search_failures = 0;
    h.run(Trigger::Scheduled, NOW + 120).unwrap();
    assert!(h.report.open_exceptions().is_empty());
    assert_eq!(h.posts(), 1);
}

#[test]
fn a_corrupt_link_holds_the_entity_and_sends_nothing() {
    let h = Harness::new();
    h.widget(6, "Nut", "0.50", NOW - 60);
    h.state.set("link:widget:6", "50l");
    let s = h.run(Trigger::Scheduled, NOW).unwrap();
    assert_eq!(s.count("held"), 1);
    assert_eq!(h.posts(), 0);
    let open = h.report.open_exceptions();
    assert_eq!(open[0].kind, engine::CORRUPT_LINK);
    assert_eq!(
        open[0].message,
        "bigcommerce:widget:6: state key `link:widget:6` holds \"50l\", which is not an id; set it to the id of what was written for it (look it up by its external reference) and do not delete it, or it is written again"
    );
    assert_eq!(open[0].impact.clone().unwrap().amount, "0.50");
}
