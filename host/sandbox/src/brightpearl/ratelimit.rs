//! Brightpearl's per-account request cap on the simulated clock.
//!
//! **\[doc\]** 200 requests per minute per account; over the cap the request gets **503** and is
//! not processed (not executed: JAVA docs, **\[unconfirmed\]**). Every response carries
//! `brightpearl-requests-remaining` (calls left in the current window **\[doc\]**) and
//! `brightpearl-next-throttle-period` (ms until the window resets **\[obs\]**).
//!
//! Model **\[unconfirmed\]**: a 60 000 ms window opens at the first request after the previous
//! window has ended; the n-th accepted request of a window sees `remaining = limit − n`;
//! `next-throttle-period = window end − now` in simulated ms. Refused (503) requests do not
//! count. Outside any window `remaining = limit` and `next-throttle-period = 60000`.

/// Window length in simulated ms.
pub const WINDOW_MS: u64 = 60_000;

/// The header values for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    /// `brightpearl-requests-remaining`.
    pub remaining: u32,
    /// `brightpearl-next-throttle-period`, simulated ms.
    pub next_throttle_period_ms: u64,
}

/// A fixed window per account.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window_start: Option<u64>,
    used: u32,
}

impl RateLimiter {
    pub fn new(limit: u32) -> Self {
        RateLimiter {
            limit,
            window_start: None,
            used: 0,
        }
    }

    fn roll(&mut self, now_ms: u64) {
        if let Some(start) = self.window_start
            && now_ms >= start + WINDOW_MS
        {
            self.window_start = None;
            self.used = 0;
        }
    }

    /// Counts a request at `now_ms`. `Ok` = allowed, `Err` = throttled (503); both carry the
    /// header values to send.
    pub fn acquire(&mut self, now_ms: u64) -> Result<RateHeaders, RateHeaders> {
        self.roll(now_ms);
        let start = *self.window_start.get_or_insert(now_ms);
        let next = start + WINDOW_MS - now_ms;
        if self.used < self.limit {
            self.used += 1;
            Ok(RateHeaders {
                remaining: self.limit - self.used,
                next_throttle_period_ms: next,
            })
        } else {
            Err(RateHeaders {
                remaining: 0,
                next_throttle_period_ms: next,
            })
        }
    }

    /// Header values without counting a request (for answers that are not counted, e.g. 401).
    pub fn peek(&mut self, now_ms: u64) -> RateHeaders {
        self.roll(now_ms);
        match self.window_start {
            Some(start) => RateHeaders {
                remaining: self.limit - self.used,
                next_throttle_period_ms: start + WINDOW_MS - now_ms,
            },
            None => RateHeaders {
                remaining: self.limit,
                next_throttle_period_ms: WINDOW_MS,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window() {
        let mut r = RateLimiter::new(3);
        assert_eq!(
            r.peek(0),
            RateHeaders {
                remaining: 3,
                next_throttle_period_ms: 60_000
            }
        );
        assert_eq!(
            r.acquire(1000),
            Ok(RateHeaders {
                remaining: 2,
                next_throttle_period_ms: 60_000
            })
        );
        assert_eq!(
            r.acquire(2000),
            Ok(RateHeaders {
                remaining: 1,
                next_throttle_period_ms: 59_000
            })
        );
        assert_eq!(
            r.acquire(3000),
            Ok(RateHeaders {
                remaining: 0,
                next_throttle_period_ms: 58_000
            })
        );
        assert_eq!(
            r.acquire(4000),
            Err(RateHeaders {
                remaining: 0,
                next_throttle_period_ms: 57_000
            })
        );
        assert_eq!(
            r.acquire(61_000),
            Ok(RateHeaders {
                remaining: 2,
                next_throttle_period_ms: 60_000
            })
        );
    }
}
