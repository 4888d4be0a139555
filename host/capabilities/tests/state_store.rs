//! SqliteStore: namespaces, compare-and-swap, runs, exceptions, audit lines, migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use pearlbridge_capabilities::state::{
    AuditLine, Entry, ExceptionFilter, Money, Namespace, NewException, RunFilter, RunOutcome,
    SCHEMA_VERSION, SqliteStore, Store, StoreError, Team,
};
use rust_decimal::Decimal;

fn ns(client: &str, flow: &str) -> Namespace {
    Namespace::new(client, flow)
}

/// A store whose clock advances one second per reading, from 2026-01-01T00:00:00Z.
fn ticking_store() -> SqliteStore {
    let tick = Arc::new(AtomicI64::new(0));
    SqliteStore::open_in_memory().unwrap().with_clock(move || {
        let n = tick.fetch_add(1, Ordering::SeqCst);
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(n)
    })
}

fn exc(kind: &str, entity: &str, impact: Option<(&str, &str)>) -> NewException {
    NewException {
        kind: kind.into(),
        entity: entity.into(),
        message: format!("{kind} on {entity}"),
        owner: Team::Finance,
        impact: impact.map(|(a, c)| Money::new(Decimal::from_str(a).unwrap(), c)),
        retryable: true,
    }
}

#[test]
fn namespaces_isolate_clients_and_flows() {
    let s = SqliteStore::open_in_memory().unwrap();
    let a = ns("acme", "orders");
    let b = ns("bolt", "orders");
    let a_stock = ns("acme", "stock");
    s.state_set(&a, "cursor", "2026-01-01").unwrap();
    s.state_set(&a, "link:1", "A1").unwrap();
    assert_eq!(s.state_get(&b, "cursor").unwrap(), None);
    assert_eq!(s.state_get(&a_stock, "cursor").unwrap(), None);
    assert_eq!(s.state_list(&b, "", 100).unwrap(), vec![]);
    s.state_set(&b, "cursor", "2025-12-31").unwrap();
    s.state_delete(&b, "link:1").unwrap();
    assert_eq!(
        s.state_get(&a, "cursor").unwrap(),
        Some(Entry {
            value: "2026-01-01".into(),
            version: 1
        })
    );
    assert_eq!(s.state_get(&a, "link:1").unwrap().unwrap().value, "A1");
    assert_eq!(
        s.state_get(&b, "cursor").unwrap().unwrap().value,
        "2025-12-31"
    );
    // A client name containing the separator cannot reach another namespace.
    let tricky = ns("acme/orders", "x");
    assert_eq!(s.state_get(&tricky, "cursor").unwrap(), None);
}

#[test]
fn set_counts_versions_and_delete_restarts_them() {
    let s = SqliteStore::open_in_memory().unwrap();
    let a = ns("acme", "orders");
    assert_eq!(s.state_set(&a, "k", "1").unwrap(), 1);
    assert_eq!(s.state_set(&a, "k", "2").unwrap(), 2);
    assert_eq!(s.state_set(&a, "k", "3").unwrap(), 3);
    assert_eq!(
        s.state_get(&a, "k").unwrap(),
        Some(Entry {
            value: "3".into(),
            version: 3
        })
    );
    s.state_delete(&a, "k").unwrap();
    s.state_delete(&a, "k").unwrap(); // no-op when absent
    assert_eq!(s.state_get(&a, "k").unwrap(), None);
    assert_eq!(s.state_set(&a, "k", "4").unwrap(), 1);
}

#[test]
fn compare_and_swap_semantics() {
    let s = SqliteStore::open_in_memory().unwrap();
    let a = ns("acme", "orders");
    // Absent: only expected 0 succeeds; a wrong guess reports current 0.
    assert_eq!(s.state_cas(&a, "lease", 3, "x").unwrap(), Err(0));
    assert_eq!(s.state_cas(&a, "lease", 0, "first").unwrap(), Ok(1));
    // Present: expecting absent loses with the current version.
    assert_eq!(s.state_cas(&a, "lease", 0, "again").unwrap(), Err(1));
    assert_eq!(s.state_cas(&a, "lease", 1, "second").unwrap(), Ok(2));
    assert_eq!(s.state_cas(&a, "lease", 1, "stale").unwrap(), Err(2));
    assert_eq!(
        s.state_get(&a, "lease").unwrap(),
        Some(Entry {
            value: "second".into(),
            version: 2
        })
    );
    // set and cas share the version counter.
    assert_eq!(s.state_set(&a, "lease", "third").unwrap(), 3);
    assert_eq!(s.state_cas(&a, "lease", 2, "late").unwrap(), Err(3));
    // Another namespace's key of the same name is absent.
    assert_eq!(
        s.state_cas(&ns("bolt", "orders"), "lease", 0, "b").unwrap(),
        Ok(1)
    );
    assert_eq!(s.state_get(&a, "lease").unwrap().unwrap().value, "third");
}

#[test]
fn list_is_sorted_prefixed_and_limited() {
    let s = SqliteStore::open_in_memory().unwrap();
    let a = ns("acme", "orders");
    for (k, v) in [
        ("link:3", "c"),
        ("link:1", "a"),
        ("cursor", "t"),
        ("link:2", "b"),
        ("linkage", "z"),
    ] {
        s.state_set(&a, k, v).unwrap();
    }
    s.state_set(&ns("acme", "stock"), "link:0", "other")
        .unwrap();
    assert_eq!(
        s.state_list(&a, "link:", 10).unwrap(),
        vec![
            ("link:1".into(), "a".into()),
            ("link:2".into(), "b".into()),
            ("link:3".into(), "c".into())
        ]
    );
    assert_eq!(s.state_list(&a, "link:", 2).unwrap().len(), 2);
    assert_eq!(s.state_list(&a, "", 100).unwrap().len(), 5);
    assert_eq!(s.state_list(&a, "link", 100).unwrap().len(), 4);
    // `%` and `_` are not wildcards.
    assert_eq!(s.state_list(&a, "link_", 100).unwrap(), vec![]);
    assert_eq!(s.state_list(&a, "%", 100).unwrap(), vec![]);
}

#[test]
fn oversized_value_is_refused() {
    let s = SqliteStore::open_in_memory().unwrap();
    let big = "x".repeat((1 << 20) + 1);
    let err = s.state_set(&ns("acme", "orders"), "k", &big).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                what: "state value",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("xxxx"));
}

#[test]
fn runs_are_recorded_newest_first() {
    let s = ticking_store();
    let r1 = s.run_start(&ns("acme", "orders"), "scheduled").unwrap();
    let r2 = s.run_start(&ns("acme", "stock"), "events(3)").unwrap();
    let r3 = s.run_start(&ns("bolt", "orders"), "replay(1)").unwrap();
    s.run_finish(
        r1,
        &RunOutcome::Ok(r#"{"counts":[["posted",3]],"notes":[]}"#.into()),
    )
    .unwrap();
    s.run_finish(r3, &RunOutcome::Error("upstream: brightpearl 500".into()))
        .unwrap();

    let all = s.runs(&RunFilter::default()).unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![r3, r2, r1]
    );
    let first = all.iter().find(|r| r.id == r1).unwrap();
    assert_eq!(first.client, "acme");
    assert_eq!(first.flow, "orders");
    assert_eq!(first.trigger, "scheduled");
    assert_eq!(
        first.started_at,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(
        first.finished_at,
        Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 3).unwrap())
    );
    assert_eq!(
        first.outcome,
        Some(RunOutcome::Ok(
            r#"{"counts":[["posted",3]],"notes":[]}"#.into()
        ))
    );

    let acme = s
        .runs(&RunFilter {
            client: Some("acme".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(acme.iter().map(|r| r.id).collect::<Vec<_>>(), vec![r2, r1]);
    let running = s
        .runs(&RunFilter {
            running_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].id, r2);
    assert_eq!(running[0].outcome, None);
    let bolt_orders = s
        .runs(&RunFilter {
            client: Some("bolt".into()),
            flow: Some("orders".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        bolt_orders[0].outcome,
        Some(RunOutcome::Error("upstream: brightpearl 500".into()))
    );
    assert_eq!(
        s.runs(&RunFilter {
            limit: Some(1),
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );

    assert!(
        matches!(s.run_finish(r1, &RunOutcome::Error("x".into())), Err(StoreError::RunFinished(id)) if id == r1)
    );
    assert!(matches!(
        s.run_finish(9999, &RunOutcome::Error("x".into())),
        Err(StoreError::UnknownRun(9999))
    ));
}

#[test]
fn exceptions_raise_update_resolve() {
    let s = ticking_store();
    let a = ns("acme", "orders");
    s.exception_raise(&a, &exc("unmapped-sku", "bigcommerce:order:118", None))
        .unwrap();
    let mut again = exc(
        "unmapped-sku",
        "bigcommerce:order:118",
        Some(("12.3400", "GBP")),
    );
    again.message = "SKU TSHIRT-RED-L of order 118 has no Brightpearl product".into();
    again.owner = Team::Ecommerce;
    again.retryable = false;
    s.exception_raise(&a, &again).unwrap();

    let list = s.exceptions(&ExceptionFilter::default()).unwrap();
    assert_eq!(list.len(), 1);
    let e = &list[0];
    assert_eq!(e.occurrences, 2);
    assert_eq!(
        e.message,
        "SKU TSHIRT-RED-L of order 118 has no Brightpearl product"
    );
    assert_eq!(e.owner, Team::Ecommerce);
    assert!(!e.retryable);
    assert_eq!(
        e.impact,
        Some(Money::new(Decimal::from_str("12.3400").unwrap(), "GBP"))
    );
    assert_eq!(e.impact.as_ref().unwrap().amount.to_string(), "12.3400");
    assert_eq!(
        e.first_seen,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(
        e.last_seen,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap()
    );
    assert_eq!(e.resolved_at, None);

    assert_eq!(
        s.exceptions_open(&a, "bigcommerce:order:").unwrap(),
        vec![(
            "unmapped-sku".to_string(),
            "bigcommerce:order:118".to_string()
        )]
    );
    assert_eq!(s.exceptions_open(&ns("acme", "stock"), "").unwrap(), vec![]);
    assert_eq!(s.exceptions_open(&a, "brightpearl:").unwrap(), vec![]);

    assert!(
        s.exception_resolve(&a, "unmapped-sku", "bigcommerce:order:118")
            .unwrap()
    );
    assert!(
        !s.exception_resolve(&a, "unmapped-sku", "bigcommerce:order:118")
            .unwrap()
    );
    assert_eq!(s.exceptions_open(&a, "").unwrap(), vec![]);
    assert_eq!(
        s.exceptions(&ExceptionFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap(),
        vec![]
    );
    let closed = s.exceptions(&ExceptionFilter::default()).unwrap();
    assert_eq!(
        closed[0].resolved_at,
        Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 2).unwrap())
    );

    // Raised again after resolution: a new open exception, history kept.
    s.exception_raise(&a, &exc("unmapped-sku", "bigcommerce:order:118", None))
        .unwrap();
    let all = s.exceptions(&ExceptionFilter::default()).unwrap();
    assert_eq!(all.len(), 2);
    let open = s
        .exceptions(&ExceptionFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].occurrences, 1);
}

#[test]
fn exceptions_listed_by_impact_then_newest() {
    let s = ticking_store();
    let a = ns("acme", "orders");
    let b = ns("bolt", "refunds");
    s.exception_raise(
        &a,
        &exc(
            "order-total-variance",
            "bigcommerce:order:1",
            Some(("0.0100", "GBP")),
        ),
    )
    .unwrap();
    s.exception_raise(&a, &exc("unmapped-sku", "bigcommerce:order:2", None))
        .unwrap();
    s.exception_raise(
        &a,
        &exc(
            "order-total-variance",
            "bigcommerce:order:3",
            Some(("250.00", "GBP")),
        ),
    )
    .unwrap();
    s.exception_raise(
        &b,
        &exc(
            "refund-unmatched",
            "bigcommerce:refund:4",
            Some(("99.5", "EUR")),
        ),
    )
    .unwrap();
    s.exception_raise(
        &a,
        &exc(
            "order-total-variance",
            "bigcommerce:order:5",
            Some(("9.99", "GBP")),
        ),
    )
    .unwrap();
    s.exception_raise(&a, &exc("unmapped-sku", "bigcommerce:order:6", None))
        .unwrap();
    // 100 > 9.99 numerically although "9.99" > "100" as text.
    s.exception_raise(
        &b,
        &exc(
            "refund-unmatched",
            "bigcommerce:refund:7",
            Some(("100", "EUR")),
        ),
    )
    .unwrap();

    let order: Vec<String> = s
        .exceptions(&ExceptionFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.entity)
        .collect();
    assert_eq!(
        order,
        vec![
            "bigcommerce:refund:7",
            "bigcommerce:refund:4",
            "bigcommerce:order:3",
            "bigcommerce:order:5",
            "bigcommerce:order:1",
            "bigcommerce:order:6",
            "bigcommerce:order:2",
        ]
    );
    let acme: Vec<String> = s
        .exceptions(&ExceptionFilter {
            client: Some("acme".into()),
            limit: Some(2),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.entity)
        .collect();
    assert_eq!(acme, vec!["bigcommerce:order:3", "bigcommerce:order:5"]);
    let finance = s
        .exceptions(&ExceptionFilter {
            owner: Some(Team::Operations),
            ..Default::default()
        })
        .unwrap();
    assert!(finance.is_empty());
}

#[test]
fn audit_lines_round_trip_newest_first() {
    let s = SqliteStore::open_in_memory().unwrap();
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-04T05:06:07.123456Z")
        .unwrap()
        .into();
    let line = |client: &str, attempt: u32| AuditLine {
        at,
        client: client.into(),
        flow: "orders".into(),
        system: "brightpearl".into(),
        method: "POST".into(),
        path: "/order-service/sales-order".into(),
        status: if attempt == 1 { Some(503) } else { None },
        millis: 1234,
        request_id: Some("req-9".into()),
        outcome: "retry".into(),
        attempt,
    };
    s.audit(&line("acme", 1)).unwrap();
    s.audit(&line("bolt", 1)).unwrap();
    s.audit(&line("acme", 2)).unwrap();
    let acme = s.audit_lines(Some("acme"), 10).unwrap();
    assert_eq!(acme, vec![line("acme", 2), line("acme", 1)]);
    assert_eq!(s.audit_lines(None, 10).unwrap().len(), 3);
    assert_eq!(s.audit_lines(None, 1).unwrap(), vec![line("acme", 2)]);
}

#[test]
fn reopening_a_file_keeps_data_and_does_not_migrate_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pearlbridge.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        s.state_set(&ns("acme", "orders"), "cursor", "c1").unwrap();
        s.exception_raise(
            &ns("acme", "orders"),
            &exc("unmapped-sku", "bigcommerce:order:1", None),
        )
        .unwrap();
    }
    for _ in 0..2 {
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(
            s.state_get(&ns("acme", "orders"), "cursor").unwrap(),
            Some(Entry {
                value: "c1".into(),
                version: 1
            })
        );
        assert_eq!(s.exceptions(&ExceptionFilter::default()).unwrap().len(), 1);
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, SCHEMA_VERSION as i64);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // A file from a newer host is refused, not half-migrated.
    conn.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (?1, 'x')",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, known, .. } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err}"
    );
}

#[test]
fn money_is_stored_as_decimal_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let s = SqliteStore::open(&path).unwrap();
    s.exception_raise(
        &ns("acme", "orders"),
        &exc(
            "order-total-variance",
            "bigcommerce:order:1",
            Some(("0.1000", "GBP")),
        ),
    )
    .unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (kind, text, currency): (String, String, String) = conn
        .query_row(
            "SELECT typeof(impact_amount), impact_amount, impact_currency FROM exceptions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), text.as_str(), currency.as_str()),
        ("text", "0.1000", "GBP")
    );
}

#[test]
fn compare_and_swap_is_atomic_across_threads_and_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    // Two handles on one file stand in for two host processes.
    let stores = [
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SqliteStore::open(&path).unwrap()),
    ];
    let a = ns("acme", "orders");
    let mut threads = Vec::new();
    for t in 0..6 {
        let s = Arc::clone(&stores[t % 2]);
        let a = a.clone();
        threads.push(std::thread::spawn(move || {
            let mut conflicts = 0u32;
            for _ in 0..25 {
                loop {
                    let (n, v) = match s.state_get(&a, "counter").unwrap() {
                        Some(e) => (e.value.parse::<u64>().unwrap(), e.version),
                        None => (0, 0),
                    };
                    match s.state_cas(&a, "counter", v, &(n + 1).to_string()).unwrap() {
                        Ok(new_version) => {
                            assert_eq!(new_version, v + 1);
                            break;
                        }
                        Err(current) => {
                            assert!(current > v);
                            conflicts += 1;
                        }
                    }
                }
            }
            conflicts
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        stores[1].state_get(&a, "counter").unwrap(),
        Some(Entry {
            value: "150".into(),
            version: 150
        })
    );
}
