//! SqliteStore: the webhook inbox (commit, dedupe window, claim, done, release, crashed
//! claims) and run leases (one holder at a time, expiry, fencing tokens), also across two
//! connections to one file, as two host processes would have.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pearlbridge_capabilities::state::{
    InboxPut, Namespace, NewInboxEvent, RunOutcome, SqliteStore, Store, StoreError,
};

/// A store whose clock stands still until the test moves it (seconds since 2026-01-01).
fn store_at(clock: &Arc<AtomicI64>) -> SqliteStore {
    let c = clock.clone();
    SqliteStore::open_in_memory().unwrap().with_clock(move || {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::seconds(c.load(Ordering::SeqCst))
    })
}

fn ev(id: &str) -> NewInboxEvent {
    NewInboxEvent {
        source: "bigcommerce".into(),
        scope: "store/order/created".into(),
        entity_id: id.into(),
        payload: format!(r#"{{"data":{{"type":"order","id":{id}}}}}"#),
        dedupe_key: format!("store/order/created:{id}"),
    }
}

const WINDOW: Duration = Duration::from_secs(600);
const TTL: Duration = Duration::from_secs(30);

fn orders() -> Namespace {
    Namespace::new("acme", "orders")
}

fn stored(p: InboxPut) -> Vec<i64> {
    match p {
        InboxPut::Stored(ids) => ids,
        InboxPut::Duplicate => panic!("unexpected duplicate"),
    }
}

#[test]
fn put_commits_once_per_flow_and_drops_duplicates_inside_the_window() {
    let clock = Arc::new(AtomicI64::new(0));
    let s = store_at(&clock);
    let flows = [orders(), Namespace::new("acme", "refunds")];
    let ids = stored(s.inbox_put(&flows, &ev("118"), WINDOW).unwrap());
    assert_eq!(ids.len(), 2);
    assert_eq!(s.inbox_len(&orders()).unwrap(), 1);
    assert_eq!(s.inbox_len(&flows[1]).unwrap(), 1);
    let rec = &s.inbox(Some(&orders()), 10).unwrap()[0];
    assert_eq!(
        (rec.id, rec.entity_id.as_str(), rec.scope.as_str()),
        (ids[0], "118", "store/order/created")
    );
    assert_eq!(rec.received_at.timestamp(), 1_767_225_600);
    // Redelivered 9 minutes later: dropped, nothing added.
    clock.store(540, Ordering::SeqCst);
    assert_eq!(
        s.inbox_put(&flows, &ev("118"), WINDOW).unwrap(),
        InboxPut::Duplicate
    );
    assert_eq!(s.inbox(None, 100).unwrap().len(), 2);
    // Another client's event with the same key is its own.
    let bolt = [Namespace::new("bolt", "orders")];
    assert_eq!(
        stored(s.inbox_put(&bolt, &ev("118"), WINDOW).unwrap()).len(),
        1
    );
    // After the window the same key is a new event.
    clock.store(540 + 601, Ordering::SeqCst);
    assert_eq!(
        stored(s.inbox_put(&flows, &ev("118"), WINDOW).unwrap()).len(),
        2
    );
    assert_eq!(s.inbox_len(&orders()).unwrap(), 2);
}

#[test]
fn put_refuses_flows_of_two_clients() {
    let s = SqliteStore::open_in_memory().unwrap();
    let err = s
        .inbox_put(
            &[orders(), Namespace::new("bolt", "orders")],
            &ev("1"),
            WINDOW,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(s.inbox(None, 10).unwrap().is_empty());
}

#[test]
fn claimed_events_leave_only_when_their_run_finished_ok() {
    let clock = Arc::new(AtomicI64::new(0));
    let s = store_at(&clock);
    for id in ["1", "2", "3"] {
        s.inbox_put(&[orders()], &ev(id), WINDOW).unwrap();
    }
    let lease = s.lease_acquire(&orders(), "test", TTL).unwrap().unwrap();
    let claimed = s.inbox_claim(&lease, 2).unwrap();
    let got: Vec<_> = claimed.iter().map(|e| e.entity_id.as_str()).collect();
    assert_eq!(got, ["1", "2"], "oldest first, at most the limit");
    // A second claim under the same lease takes only what is left.
    let rest = s.inbox_claim(&lease, 10).unwrap();
    assert_eq!(rest.len(), 1);
    // An event arriving during the run is not lost when the run's events are deleted.
    s.inbox_put(&[orders()], &ev("4"), WINDOW).unwrap();
    let ids: Vec<i64> = claimed.iter().chain(&rest).map(|e| e.id).collect();
    assert_eq!(s.inbox_done(&lease, &ids).unwrap(), 3);
    let left = s.inbox(Some(&orders()), 10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].entity_id, "4");
    s.lease_release(&lease).unwrap();
}

#[test]
fn a_failed_run_leaves_its_events_for_the_next_run() {
    let clock = Arc::new(AtomicI64::new(0));
    let s = store_at(&clock);
    s.inbox_put(&[orders()], &ev("7"), WINDOW).unwrap();
    let first = s.lease_acquire(&orders(), "test", TTL).unwrap().unwrap();
    let claimed = s.inbox_claim(&first, 10).unwrap();
    assert_eq!(claimed[0].attempts, 0);
    assert_eq!(s.inbox_release(&first).unwrap(), 1);
    s.lease_release(&first).unwrap();
    let second = s.lease_acquire(&orders(), "test", TTL).unwrap().unwrap();
    let again = s.inbox_claim(&second, 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].attempts),
        (claimed[0].id, 1),
        "same inbox id, one failed attempt counted"
    );
    // The first run's done (too late) deletes nothing: the event is the second run's now.
    assert_eq!(s.inbox_done(&first, &[claimed[0].id]).unwrap(), 0);
    assert_eq!(s.inbox_len(&orders()).unwrap(), 1);
}

#[test]
fn a_crashed_runs_claims_are_taken_by_the_next_lease() {
    let clock = Arc::new(AtomicI64::new(0));
    let s = store_at(&clock);
    s.inbox_put(&[orders()], &ev("9"), WINDOW).unwrap();
    let dead = s
        .lease_acquire(&orders(), "old-process", TTL)
        .unwrap()
        .unwrap();
    assert_eq!(s.inbox_claim(&dead, 10).unwrap().len(), 1);
    // The process dies: no done, no release. Until the lease lapses nobody may run.
    clock.store(29, Ordering::SeqCst);
    assert!(
        s.lease_acquire(&orders(), "new-process", TTL)
            .unwrap()
            .is_none()
    );
    clock.store(31, Ordering::SeqCst);
    let next = s
        .lease_acquire(&orders(), "new-process", TTL)
        .unwrap()
        .unwrap();
    assert!(next.token > dead.token);
    let claimed = s.inbox_claim(&next, 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    // The dead holder's lease cannot claim any more.
    assert!(matches!(
        s.inbox_claim(&dead, 10).unwrap_err(),
        StoreError::LeaseLost(_)
    ));
    assert_eq!(s.inbox_done(&next, &[claimed[0].id]).unwrap(), 1);
    assert_eq!(s.inbox_len(&orders()).unwrap(), 0);
}

#[test]
fn one_lease_per_client_and_flow_with_expiry_renewal_and_release() {
    let clock = Arc::new(AtomicI64::new(0));
    let s = store_at(&clock);
    let a = s.lease_acquire(&orders(), "host-a", TTL).unwrap().unwrap();
    assert_eq!(a.token, 1);
    assert!(
        s.lease_acquire(&orders(), "host-a", TTL).unwrap().is_none(),
        "not even the same holder twice"
    );
    assert!(s.lease_acquire(&orders(), "host-b", TTL).unwrap().is_none());
    // Other namespaces are free.
    assert!(
        s.lease_acquire(&Namespace::new("acme", "stock"), "host-b", TTL)
            .unwrap()
            .is_some()
    );
    assert!(
        s.lease_acquire(&Namespace::new("bolt", "orders"), "host-b", TTL)
            .unwrap()
            .is_some()
    );
    // Renewed at 20 s, it holds past the first expiry.
    clock.store(20, Ordering::SeqCst);
    let a = s.lease_renew(&a, TTL).unwrap().unwrap();
    clock.store(45, Ordering::SeqCst);
    assert!(s.lease_acquire(&orders(), "host-b", TTL).unwrap().is_none());
    assert!(matches!(s.inbox_claim(&a, 1), Ok(v) if v.is_empty()));
    // Lapsed at 50 s: host-b takes it and host-a can no longer renew or claim.
    clock.store(51, Ordering::SeqCst);
    let b = s.lease_acquire(&orders(), "host-b", TTL).unwrap().unwrap();
    assert_eq!(b.token, 2);
    assert!(s.lease_renew(&a, TTL).unwrap().is_none());
    assert!(matches!(
        s.inbox_claim(&a, 1).unwrap_err(),
        StoreError::LeaseLost(_)
    ));
    // a's release is a no-op; b's frees it at once.
    s.lease_release(&a).unwrap();
    assert!(s.lease_acquire(&orders(), "host-c", TTL).unwrap().is_none());
    s.lease_release(&b).unwrap();
    assert!(s.lease_renew(&b, TTL).unwrap().is_none(), "released");
    let c = s.lease_acquire(&orders(), "host-c", TTL).unwrap().unwrap();
    assert_eq!(c.token, 3);
}

#[test]
fn two_connections_to_one_file_share_leases_and_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let one = SqliteStore::open(&path).unwrap();
    let two = SqliteStore::open(&path).unwrap();
    let lease = one.lease_acquire(&orders(), "p1", TTL).unwrap().unwrap();
    assert!(two.lease_acquire(&orders(), "p2", TTL).unwrap().is_none());
    assert!(matches!(
        two.inbox_put(&[orders()], &ev("5"), WINDOW).unwrap(),
        InboxPut::Stored(_)
    ));
    assert_eq!(
        one.inbox_put(&[orders()], &ev("5"), WINDOW).unwrap(),
        InboxPut::Duplicate
    );
    assert_eq!(one.inbox_claim(&lease, 10).unwrap().len(), 1);
    drop(one);
    // Reopened (a restart): the event is still there, claimed by a lease still running.
    let three = SqliteStore::open(&path).unwrap();
    assert_eq!(three.inbox_len(&orders()).unwrap(), 1);
    assert!(three.lease_acquire(&orders(), "p3", TTL).unwrap().is_none());
}

#[test]
fn last_run_started_is_per_namespace_and_trigger() {
    let clock = Arc::new(AtomicI64::new(0));
    let s = store_at(&clock);
    assert_eq!(s.last_run_started(&orders(), "scheduled").unwrap(), None);
    let r = s.run_start(&orders(), "scheduled").unwrap();
    s.run_finish(r, &RunOutcome::Ok("{}".into())).unwrap();
    clock.store(100, Ordering::SeqCst);
    s.run_start(&orders(), "events(2)").unwrap();
    s.run_start(&Namespace::new("acme", "stock"), "scheduled")
        .unwrap();
    assert_eq!(
        s.last_run_started(&orders(), "scheduled")
            .unwrap()
            .map(|t| t.timestamp()),
        Some(1_767_225_600)
    );
}
