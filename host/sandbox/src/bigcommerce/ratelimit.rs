//! The store's request quota: a fixed window on the simulated clock (`bigcommerce-api.md` §2).
//!
//! Each request costs 1 unit of a quota that refreshes on a fixed window; every caller of the
//! store shares it [doc]. Window 30 000 ms and quota 150 for the Standard/Plus plans [doc].
//! A request over the quota gets `429` with `X-Retry-After` (seconds) [doc] and is not processed.

/// Window size in simulated milliseconds (`X-Rate-Limit-Time-Window-Ms`) [doc].
pub const WINDOW_MS: u64 = 30_000;

/// Usage of the current window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RateWindow {
    /// Index of the window (`elapsed_ms / WINDOW_MS`).
    pub window: u64,
    /// Requests counted in that window.
    pub used: u32,
}

/// What the limiter said about one request; the values go into the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// False: answer 429 and do not process.
    pub allowed: bool,
    /// `X-Rate-Limit-Requests-Quota`.
    pub quota: u32,
    /// `X-Rate-Limit-Requests-Left` after this request.
    pub left: u32,
    /// `X-Rate-Limit-Time-Reset-Ms`: simulated ms until the window refreshes.
    pub reset_ms: u64,
}

impl RateDecision {
    /// `X-Retry-After` in whole seconds, rounded up [doc: "seconds until the quota refreshes"].
    pub fn retry_after_s(&self) -> u64 {
        self.reset_ms.div_ceil(1000)
    }
}

impl RateWindow {
    /// Counts one request at `elapsed_ms` (simulated) against `quota`.
    pub fn take(&mut self, elapsed_ms: u64, quota: u32) -> RateDecision {
        self.roll(elapsed_ms);
        let reset_ms = WINDOW_MS - elapsed_ms % WINDOW_MS;
        if self.used >= quota {
            return RateDecision {
                allowed: false,
                quota,
                left: 0,
                reset_ms,
            };
        }
        self.used += 1;
        RateDecision {
            allowed: true,
            quota,
            left: quota - self.used,
            reset_ms,
        }
    }

    /// The current values without counting a request (for 401 answers).
    pub fn peek(&mut self, elapsed_ms: u64, quota: u32) -> RateDecision {
        self.roll(elapsed_ms);
        let reset_ms = WINDOW_MS - elapsed_ms % WINDOW_MS;
        RateDecision {
            allowed: true,
            quota,
            left: quota.saturating_sub(self.used),
            reset_ms,
        }
    }

    fn roll(&mut self, elapsed_ms: u64) {
        let w = elapsed_ms / WINDOW_MS;
        if w != self.window {
            self.window = w;
            self.used = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_then_refreshes() {
        let mut w = RateWindow::default();
        assert_eq!(
            w.take(1_000, 2),
            RateDecision {
                allowed: true,
                quota: 2,
                left: 1,
                reset_ms: 29_000
            }
        );
        assert_eq!(
            w.take(2_500, 2),
            RateDecision {
                allowed: true,
                quota: 2,
                left: 0,
                reset_ms: 27_500
            }
        );
        let d = w.take(29_001, 2);
        assert_eq!(
            d,
            RateDecision {
                allowed: false,
                quota: 2,
                left: 0,
                reset_ms: 999
            }
        );
        assert_eq!(d.retry_after_s(), 1);
        assert_eq!(
            w.take(30_000, 2),
            RateDecision {
                allowed: true,
                quota: 2,
                left: 1,
                reset_ms: 30_000
            }
        );
    }
}
