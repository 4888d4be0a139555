//! The per-connection rate limiter, driven by the server's own headers (DESIGN.md "The host"
//! → Connections). One limiter is shared by every flow of a client for one system, because the
//! quota is per store (BigCommerce) or per account (Brightpearl).

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::rules::RateHeaders;

/// When `requests-left` is 0 but the server gave no reset time, wait this long.
const RESET_FALLBACK: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct State {
    /// Set after a 429 / throttle-503: nobody sends before this instant.
    blocked_until: Option<Instant>,
    /// Requests left in the server's window (the last header, minus requests sent since).
    left: Option<u64>,
    /// When the server's window resets (from the last header).
    window_reset: Option<Instant>,
}

impl State {
    /// `None`: send now (one request of `left` is reserved). `Some(t)`: wait until `t`.
    fn next_send(&mut self, now: Instant) -> Option<Instant> {
        if let Some(until) = self.blocked_until {
            if until > now {
                return Some(until);
            }
            self.blocked_until = None;
        }
        if self.window_reset.is_some_and(|reset| reset <= now) {
            self.window_reset = None;
            self.left = None;
        }
        match (self.left, self.window_reset) {
            (Some(0), Some(reset)) => Some(reset),
            (Some(n), _) if n > 0 => {
                self.left = Some(n - 1);
                None
            }
            _ => None,
        }
    }
}

/// Why [`Limiter::acquire`] did not let a request go: the wait would pass the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WouldPassDeadline {
    /// Milliseconds until the server's quota resets (rounded up).
    pub reset_ms: u64,
}

/// Shared pacing state of one connection.
#[derive(Debug, Default)]
pub struct Limiter {
    state: Mutex<State>,
    changed: Notify,
}

impl Limiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until a request may be sent, never past `deadline`. Returns how long it waited.
    /// Waiters wake early when a response changes the picture (e.g. a fresh `requests-left`).
    pub async fn acquire(&self, deadline: Instant) -> Result<Duration, WouldPassDeadline> {
        let started = Instant::now();
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = Instant::now();
            let wait_until = self.state.lock().expect("limiter lock").next_send(now);
            let Some(until) = wait_until else {
                return Ok(started.elapsed());
            };
            if until > deadline {
                return Err(WouldPassDeadline {
                    reset_ms: ceil_ms(until - now),
                });
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = &mut notified => {}
            }
        }
    }

    /// Requests left in the server's current window as far as the limiter knows (the last
    /// `requests-left` header minus the requests sent since); `None` before the first answer
    /// and while blocked after a 429 / throttle-503.
    pub fn left(&self) -> Option<u64> {
        self.state.lock().expect("limiter lock").left
    }

    /// Takes in the rate-limit headers of a response that just arrived.
    pub fn observe(&self, rate: RateHeaders) {
        let Some(left) = rate.left else { return };
        let now = Instant::now();
        {
            let mut s = self.state.lock().expect("limiter lock");
            s.left = Some(left);
            s.window_reset = match rate.reset_ms {
                Some(ms) => Some(now + Duration::from_millis(ms)),
                None if left == 0 => Some(now + RESET_FALLBACK),
                None => None,
            };
        }
        self.changed.notify_waiters();
    }

    /// The server refused a request for quota (429 / throttle-503): every caller of this
    /// connection waits `reset` from now (or longer if already blocked longer). Returns the
    /// instant the block ends.
    pub fn block(&self, reset: Duration) -> Instant {
        let until = Instant::now() + reset;
        let until = {
            let mut s = self.state.lock().expect("limiter lock");
            let until = s.blocked_until.map_or(until, |b| b.max(until));
            s.blocked_until = Some(until);
            s.left = None;
            s.window_reset = None;
            until
        };
        self.changed.notify_waiters();
        until
    }
}

/// Milliseconds in `d`, rounded up.
pub fn ceil_ms(d: Duration) -> u64 {
    let ms = d.as_millis() as u64;
    if Duration::from_millis(ms) < d {
        ms + 1
    } else {
        ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn left_zero_waits_for_reset() {
        let l = Limiter::new();
        l.observe(RateHeaders {
            left: Some(0),
            reset_ms: Some(200),
        });
        let waited = l
            .acquire(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap();
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
    }

    #[tokio::test]
    async fn reserves_the_last_request() {
        let l = Limiter::new();
        l.observe(RateHeaders {
            left: Some(1),
            reset_ms: Some(1000),
        });
        assert!(l.acquire(Instant::now()).await.is_ok());
        let refused = l
            .acquire(Instant::now() + Duration::from_millis(10))
            .await
            .unwrap_err();
        assert!((990..=1000).contains(&refused.reset_ms), "{refused:?}");
    }

    #[tokio::test]
    async fn block_refuses_short_deadline_then_waits() {
        let l = Limiter::new();
        l.block(Duration::from_millis(300));
        let refused = l
            .acquire(Instant::now() + Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!((290..=300).contains(&refused.reset_ms), "{refused:?}");
        let waited = l
            .acquire(Instant::now() + Duration::from_secs(1))
            .await
            .unwrap();
        assert!(waited >= Duration::from_millis(280), "{waited:?}");
    }

    #[tokio::test]
    async fn fresh_headers_wake_waiters() {
        let l = std::sync::Arc::new(Limiter::new());
        l.observe(RateHeaders {
            left: Some(0),
            reset_ms: Some(10_000),
        });
        let l2 = l.clone();
        let waiter =
            tokio::spawn(async move { l2.acquire(Instant::now() + Duration::from_secs(20)).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        l.observe(RateHeaders {
            left: Some(40),
            reset_ms: Some(10_000),
        });
        let waited = tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(waited < Duration::from_secs(1), "{waited:?}");
    }
}
