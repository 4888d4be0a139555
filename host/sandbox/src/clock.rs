//! Simulated time for the simulators, so tests can exercise per-minute throttling in seconds.
//!
//! A [`Clock`] runs at `factor` simulated milliseconds per real millisecond (`factor = 60.0`
//! is one simulated minute per real second). Both simulators read rate-limit windows and
//! timestamps from the clock; response headers that carry durations (Brightpearl
//! `brightpearl-next-throttle-period`, BigCommerce `X-Rate-Limit-Time-Reset-Ms`) are in
//! **simulated** milliseconds, and a client converts them back with [`Clock::real_duration`].
//!
//! A [`Clock::manual`] clock does not move by itself; tests advance it with
//! [`Clock::advance_ms`] so header values can be asserted exactly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Simulated wall-clock and monotonic time. Cheap to clone: clones share the same time line.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Simulated ms per real ms; 1.0 = real time. Ignored by a manual clock.
    factor: f64,
    /// Real instant the clock was created.
    started: Instant,
    /// Simulated wall time at creation (= real wall time at creation).
    started_wall: DateTime<Utc>,
    /// `Some` for a manual clock: simulated ms advanced so far (moves only via `advance_ms`).
    manual: Option<AtomicU64>,
    /// Wakes `sleep_simulated` callers of a manual clock when it is advanced.
    advanced: tokio::sync::Notify,
}

impl Clock {
    /// Real time: one simulated ms per real ms.
    pub fn real() -> Self {
        Self::scaled(1.0)
    }

    /// Scaled time: `factor` simulated ms per real ms (`60.0` = one simulated minute per real
    /// second). A factor that is not finite and positive is treated as `1.0`.
    pub fn scaled(factor: f64) -> Self {
        let factor = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            1.0
        };
        Clock {
            inner: Arc::new(Inner {
                factor,
                started: Instant::now(),
                started_wall: Utc::now(),
                manual: None,
                advanced: tokio::sync::Notify::new(),
            }),
        }
    }

    /// A clock that stands still until [`Clock::advance_ms`] is called (for exact assertions
    /// on time-dependent headers). [`Clock::factor`] reports `1.0` and
    /// [`Clock::real_duration`] maps simulated ms 1:1.
    pub fn manual() -> Self {
        Clock {
            inner: Arc::new(Inner {
                factor: 1.0,
                started: Instant::now(),
                started_wall: Utc::now(),
                manual: Some(AtomicU64::new(0)),
                advanced: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Moves a manual clock forward by `simulated_ms`. No effect on a real or scaled clock.
    pub fn advance_ms(&self, simulated_ms: u64) {
        if let Some(m) = &self.inner.manual {
            m.fetch_add(simulated_ms, Ordering::SeqCst);
            self.inner.advanced.notify_waiters();
        }
    }

    /// True for a clock made with [`Clock::manual`].
    pub fn is_manual(&self) -> bool {
        self.inner.manual.is_some()
    }

    /// Simulated ms per real ms.
    pub fn factor(&self) -> f64 {
        self.inner.factor
    }

    /// Simulated wall time (UTC); starts at the real wall time when the clock was created.
    pub fn now(&self) -> DateTime<Utc> {
        let ms = self.elapsed_ms();
        self.inner.started_wall + chrono::Duration::milliseconds(ms as i64)
    }

    /// Simulated milliseconds since the clock was created; monotonic.
    pub fn elapsed_ms(&self) -> u64 {
        match &self.inner.manual {
            Some(m) => m.load(Ordering::SeqCst),
            None => {
                let real = self.inner.started.elapsed().as_secs_f64() * 1000.0;
                (real * self.inner.factor) as u64
            }
        }
    }

    /// The real duration that `simulated_ms` simulated milliseconds take on this clock.
    pub fn real_duration(&self, simulated_ms: u64) -> Duration {
        Duration::from_secs_f64(simulated_ms as f64 / 1000.0 / self.inner.factor)
    }

    /// Sleeps until `simulated_ms` simulated milliseconds have passed on this clock. On a
    /// manual clock this waits until the clock has been advanced far enough.
    pub async fn sleep_simulated(&self, simulated_ms: u64) {
        match &self.inner.manual {
            None => tokio::time::sleep(self.real_duration(simulated_ms)).await,
            Some(_) => {
                let target = self.elapsed_ms().saturating_add(simulated_ms);
                loop {
                    let notified = self.inner.advanced.notified();
                    if self.elapsed_ms() >= target {
                        return;
                    }
                    notified.await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_maps_durations() {
        let c = Clock::scaled(60.0);
        assert_eq!(c.factor(), 60.0);
        assert_eq!(c.real_duration(60_000), Duration::from_secs(1));
        assert_eq!(Clock::scaled(-3.0).factor(), 1.0);
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = Clock::manual();
        let t0 = c.now();
        assert_eq!(c.elapsed_ms(), 0);
        c.advance_ms(1500);
        assert_eq!(c.elapsed_ms(), 1500);
        assert_eq!((c.now() - t0).num_milliseconds(), 1500);
    }

    #[tokio::test]
    async fn scaled_sleep_is_short() {
        let c = Clock::scaled(1000.0);
        let start = Instant::now();
        c.sleep_simulated(50_000).await; // 50 real ms
        let real = start.elapsed();
        assert!(
            real >= Duration::from_millis(50) && real < Duration::from_secs(2),
            "{real:?}"
        );
        assert!(c.elapsed_ms() >= 50_000);
    }

    #[tokio::test]
    async fn manual_sleep_wakes_on_advance() {
        let c = Clock::manual();
        let c2 = c.clone();
        let h = tokio::spawn(async move { c2.sleep_simulated(1000).await });
        tokio::task::yield_now().await;
        c.advance_ms(400);
        tokio::task::yield_now().await;
        assert!(!h.is_finished());
        c.advance_ms(600);
        tokio::time::timeout(Duration::from_secs(2), h)
            .await
            .unwrap()
            .unwrap();
    }
}
