//! `schedule` in client.toml: an interval or five cron fields (UTC), and the problems of
//! neither.

use std::path::Path;
use std::time::Duration;

use pearlbridge_capabilities::clients::parse_client;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn with_schedule(s: &str) -> Result<pearlbridge_capabilities::clients::FlowPin, Vec<String>> {
    let text = format!(
        "[flows.orders]\ncomponent = \"orders@1.0.0\"\nsha256 = \"{SHA}\"\nschedule = \"{s}\"\n"
    );
    parse_client("acme", Path::new("acme/client.toml"), &text)
        .map(|c| c.flows["orders"].clone())
        .map_err(|ps| ps.iter().map(|p| p.to_string()).collect())
}

#[test]
fn intervals_and_cron_expressions() {
    let every = with_schedule("5m").unwrap();
    assert_eq!(
        (every.schedule, every.cron),
        (Some(Duration::from_secs(300)), None)
    );
    let cron = with_schedule("*/15  6-22 * * 1-5").unwrap();
    assert_eq!(cron.schedule, None);
    assert_eq!(cron.cron.unwrap().to_string(), "*/15 6-22 * * 1-5");
}

#[test]
fn neither_an_interval_nor_cron_is_a_problem_with_its_line() {
    let p = with_schedule("often").unwrap_err();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("acme/client.toml:4: flows.orders.schedule:"),
        "{p:?}"
    );
    assert!(p[0].contains("or five cron fields"), "{p:?}");
    let p = with_schedule("61 * * * *").unwrap_err();
    assert!(p[0].contains("cron minute field"), "{p:?}");
}
