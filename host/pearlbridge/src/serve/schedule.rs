//! The scheduler task of one client × flow: sleeps until its next scheduled run or until the
//! receiver commits an event for it, takes the run lease from the state store, runs the
//! inbox events (`Trigger::Events`, batched) and then the scheduled sweep when it is due,
//! and gives the lease back.
//!
//! Times: the schedule is on the wall clock (UTC), so a sweep missed while the service was
//! down is due at once when it starts again, and runs once: the next one is an interval
//! after that run's start.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pearlbridge_capabilities::state::{Lease, Namespace, Store};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::{Service, Stop};
use crate::bindings::Trigger;

/// When a flow's scheduled runs happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every interval after the last scheduled run's start.
    Every(Duration),
    /// At each matching minute (UTC).
    Cron(pearlbridge_capabilities::cron::Cron),
}

impl Schedule {
    /// The next scheduled run after the last one started at `last` (`None`: never ran), as
    /// of `now`, without jitter: a time in the past becomes `now` (one catch-up run). An
    /// interval flow that never ran is due now; a cron flow waits for its next slot.
    /// `None`: a cron expression with no slot within five years.
    pub fn next(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(iv) => Some(next_due(last, *iv, now)),
            Schedule::Cron(c) => match last {
                None => c.next_after(now),
                Some(t) => c.next_after(t).map(|due| due.max(now)),
            },
        }
    }

    /// The jitter bound: a tenth of the interval (for cron, of ten minutes), at most `max`.
    pub fn jitter(&self, max: Duration) -> Duration {
        match self {
            Schedule::Every(iv) => jitter(*iv, max),
            Schedule::Cron(_) => jitter(Duration::from_secs(600), max),
        }
    }
}

/// The random delay added to a scheduled run: uniform in `[0, min(interval / 10, max)]`.
pub fn jitter(interval: Duration, max: Duration) -> Duration {
    let cap = (interval / 10).min(max);
    if cap.is_zero() {
        return Duration::ZERO;
    }
    cap.mul_f64(rand::random::<f64>())
}

/// When the next scheduled run is due: `interval` after the last scheduled run's start, or
/// now when it never ran; a due time in the past (the service was down) means now, once.
pub fn next_due(
    last: Option<DateTime<Utc>>,
    interval: Duration,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match last {
        None => now,
        Some(t) => {
            let due = chrono::Duration::from_std(interval)
                .ok()
                .and_then(|d| t.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            due.max(now)
        }
    }
}

/// `at` on the tokio clock (now when it is in the past).
fn instant_of(at: DateTime<Utc>) -> Instant {
    let ahead = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    Instant::now() + ahead
}

async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> T + Send + 'static,
) -> Option<T> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!("state store task failed: {e}");
            None
        }
    }
}

/// Renews `lease` every third of the TTL until dropped; logs when it is lost.
fn keep_renewed(store: Arc<dyn Store>, lease: Lease, ttl: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lease = lease;
        loop {
            tokio::time::sleep(ttl / 3).await;
            let (l, store2) = (lease.clone(), store.clone());
            match tokio::task::spawn_blocking(move || store2.lease_renew(&l, ttl)).await {
                Ok(Ok(Some(l))) => lease = l,
                Ok(Ok(None)) => {
                    tracing::error!(ns = %lease.ns, "run lease lost while the run goes on");
                    return;
                }
                Ok(Err(e)) => tracing::warn!(ns = %lease.ns, "run lease not renewed: {e}"),
                Err(e) => tracing::warn!("run lease renewal task failed: {e}"),
            }
        }
    })
}

/// What one events run did.
enum EventsOutcome {
    /// Nothing was waiting.
    Empty,
    /// The run finished OK and its events left the inbox.
    Done,
    /// The run failed or could not start: its events stay.
    Failed,
    /// Asked to abort: the run was dropped and its events released.
    Aborted,
}

/// The task of one client × flow; ends when `stop` says so.
pub(crate) async fn flow_task(
    service: Arc<Service>,
    ns: Namespace,
    schedule: Option<Schedule>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<Stop>,
) {
    let store = service.host.store.clone();
    let opts = service.opts.clone();
    // Events may wait from before a restart: look at once.
    let mut events_at: Option<Instant> = Some(Instant::now());
    let mut backoff = opts.retry_backoff;
    let mut failures = 0u32;
    let mut sched_at: Option<Instant> = None;
    let mut not_before = Instant::now();
    loop {
        if *stop.borrow() != Stop::Run {
            return;
        }
        if sched_at.is_none()
            && let Some(sch) = &schedule
        {
            let ns2 = ns.clone();
            let last = blocking(&store, move |s| s.last_run_started(&ns2, "scheduled"))
                .await
                .and_then(|r| r.map_err(|e| tracing::warn!("last run: {e}")).ok())
                .flatten();
            // No slot within five years: look again in a day.
            sched_at = Some(match sch.next(last, Utc::now()) {
                Some(due) => instant_of(due) + sch.jitter(opts.max_jitter),
                None => Instant::now() + Duration::from_secs(86_400),
            });
        }
        let wake_at = [events_at, sched_at]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.max(not_before));
        let sleep = async {
            match wake_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            _ = wake.notified() => {
                let soon = Instant::now() + opts.coalesce;
                if failures == 0 {
                    events_at = Some(events_at.map_or(soon, |t| t.min(soon)));
                } else if events_at.is_none() {
                    events_at = Some(Instant::now() + backoff);
                }
                continue;
            }
            changed = stop.changed() => {
                // The service dropped its end: nothing will tell this task to run again.
                if changed.is_err() {
                    return;
                }
                continue;
            }
        }
        let now = Instant::now();
        let want_events = events_at.is_some_and(|t| t <= now);
        let want_sched = sched_at.is_some_and(|t| t <= now);
        if !want_events && !want_sched {
            continue;
        }
        let (ns2, holder, ttl) = (ns.clone(), service.holder.clone(), opts.lease_ttl);
        let lease = match blocking(&store, move |s| s.lease_acquire(&ns2, &holder, ttl)).await {
            Some(Ok(Some(l))) => l,
            Some(Ok(None)) => {
                // Another run (another process, or a replaced configuration) has it.
                not_before = now
                    + (opts.lease_ttl / 10)
                        .clamp(Duration::from_millis(50), Duration::from_secs(1));
                continue;
            }
            Some(Err(e)) => {
                tracing::error!(%ns, "run lease: {e}");
                not_before = now + Duration::from_secs(1);
                continue;
            }
            None => continue,
        };
        let renewer = keep_renewed(store.clone(), lease.clone(), opts.lease_ttl);
        let mut aborted = false;
        if want_events {
            // Batches until the inbox is empty (events arriving meanwhile join the next).
            loop {
                match events_run(&service, &lease, &mut stop).await {
                    EventsOutcome::Empty => {
                        events_at = None;
                        break;
                    }
                    EventsOutcome::Done => {
                        failures = 0;
                        backoff = opts.retry_backoff;
                        events_at = None;
                        if *stop.borrow() != Stop::Run {
                            break;
                        }
                    }
                    EventsOutcome::Failed => {
                        failures += 1;
                        events_at = Some(Instant::now() + backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(300));
                        break;
                    }
                    EventsOutcome::Aborted => {
                        aborted = true;
                        break;
                    }
                }
            }
        }
        if want_sched && !aborted && *stop.borrow() == Stop::Run {
            let run =
                service
                    .host
                    .run_flow_with(&ns.client, &ns.flow, Trigger::Scheduled, None, |_| {});
            tokio::select! {
                r = run => match r {
                    Ok(rep) => {
                        if let Err(e) = &rep.outcome {
                            tracing::warn!(%ns, run = rep.run_id, "scheduled run failed: {e}");
                        } else {
                            tracing::info!(%ns, run = rep.run_id, "scheduled run finished");
                        }
                    }
                    Err(e) => tracing::error!(%ns, "scheduled run could not start: {e:#}"),
                },
                _ = stop.wait_for(|s| *s == Stop::Abort) => aborted = true,
            }
            sched_at = None;
        }
        renewer.abort();
        let l = lease.clone();
        blocking(&store, move |s| {
            if let Err(e) = s.lease_release(&l) {
                tracing::warn!("run lease not released: {e}");
            }
        })
        .await;
        if aborted {
            return;
        }
    }
}

/// Claim a batch of the inbox under `lease`, run the flow for it, and delete the events
/// when the run finished OK (release them otherwise).
async fn events_run(
    service: &Arc<Service>,
    lease: &Lease,
    stop: &mut watch::Receiver<Stop>,
) -> EventsOutcome {
    let store = service.host.store.clone();
    let (l, batch) = (lease.clone(), service.opts.batch);
    let claimed = match blocking(&store, move |s| s.inbox_claim(&l, batch)).await {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            tracing::error!(ns = %lease.ns, "inbox claim: {e}");
            return EventsOutcome::Failed;
        }
        None => return EventsOutcome::Failed,
    };
    if claimed.is_empty() {
        return EventsOutcome::Empty;
    }
    let ns = &lease.ns;
    let started_at = Utc::now();
    let run = service
        .host
        .run_flow_events(&ns.client, &ns.flow, &claimed, |run_id| {
            // accepted → run start, per event (the benchmark reads these at debug level).
            for e in &claimed {
                let waited = (started_at - e.received_at).num_microseconds().unwrap_or(0);
                tracing::debug!(target: "pearlbridge::serve::latency", run = run_id, inbox = e.id, waited_us = waited, "event run started");
            }
        });
    let outcome = tokio::select! {
        r = run => Some(r),
        _ = stop.wait_for(|s| *s == Stop::Abort) => None,
    };
    let ids: Vec<i64> = claimed.iter().map(|e| e.id).collect();
    let ok = match outcome {
        None => {
            let l = lease.clone();
            blocking(&store, move |s| s.inbox_release(&l)).await;
            return EventsOutcome::Aborted;
        }
        Some(Ok(rep)) => match &rep.outcome {
            Ok(_) => {
                tracing::info!(%ns, run = rep.run_id, events = ids.len(), "events run finished");
                true
            }
            Err(e) => {
                tracing::warn!(%ns, run = rep.run_id, events = ids.len(), "events run failed; its events stay in the inbox: {e}");
                false
            }
        },
        Some(Err(e)) => {
            tracing::error!(%ns, "events run could not start; its events stay in the inbox: {e:#}");
            false
        }
    };
    let l = lease.clone();
    let done = blocking(&store, move |s| {
        if ok {
            s.inbox_done(&l, &ids).map(|_| ())
        } else {
            s.inbox_release(&l).map(|_| ())
        }
    })
    .await;
    if let Some(Err(e)) = done {
        tracing::error!(%ns, "inbox update after the run: {e}");
    }
    if ok {
        EventsOutcome::Done
    } else {
        EventsOutcome::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_missed_schedule_is_due_once_now_and_a_kept_one_an_interval_later() {
        let now = t("2026-12-03T12:00:00Z");
        let five = Duration::from_secs(300);
        assert_eq!(next_due(None, five, now), now, "never ran: at once");
        assert_eq!(
            next_due(Some(t("2026-12-03T11:58:00Z")), five, now),
            t("2026-12-03T12:03:00Z")
        );
        // Down for a day: 288 missed sweeps are one sweep now.
        assert_eq!(next_due(Some(t("2026-12-02T12:00:00Z")), five, now), now);
    }

    #[test]
    fn cron_schedules_wait_for_their_slot_and_catch_up_once() {
        let c = Schedule::Cron(pearlbridge_capabilities::cron::Cron::parse("0 * * * *").unwrap());
        let now = t("2026-12-03T12:20:00Z");
        assert_eq!(c.next(None, now), Some(t("2026-12-03T13:00:00Z")));
        assert_eq!(
            c.next(Some(t("2026-12-03T12:00:00Z")), now),
            Some(t("2026-12-03T13:00:00Z"))
        );
        // Down since yesterday: one run now.
        assert_eq!(c.next(Some(t("2026-12-02T09:00:00Z")), now), Some(now));
        assert!(c.jitter(Duration::from_secs(30)) <= Duration::from_secs(30));
        let every = Schedule::Every(Duration::from_secs(300));
        assert_eq!(every.next(None, now), Some(now));
    }

    #[test]
    fn jitter_is_at_most_a_tenth_of_the_interval_and_the_cap() {
        for _ in 0..200 {
            assert!(
                jitter(Duration::from_secs(300), Duration::from_secs(30))
                    <= Duration::from_secs(30)
            );
            assert!(
                jitter(Duration::from_secs(60), Duration::from_secs(30)) <= Duration::from_secs(6)
            );
        }
        assert_eq!(
            jitter(Duration::from_secs(60), Duration::ZERO),
            Duration::ZERO
        );
    }
}
