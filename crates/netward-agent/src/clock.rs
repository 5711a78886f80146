//! The agent's wall clock, passed in rather than read where it is needed, so that expiry at
//! the second and event times are tested with a [`FakeClock`] instead of waiting.
//!
//! Only wall-clock readings go through here (Unix seconds and milliseconds); timers and
//! backoffs use tokio's monotonic time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time, in seconds and milliseconds.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Whole seconds since the Unix epoch (rounded down).
    fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    fn now_secs(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that stands still until told otherwise; clones share the time.
#[derive(Clone, Debug, Default)]
pub struct FakeClock {
    ms: Arc<AtomicI64>,
}

impl FakeClock {
    /// A clock at `secs` Unix seconds.
    pub fn at_secs(secs: i64) -> Self {
        let clock = Self::default();
        clock.set_ms(secs.saturating_mul(1000));
        clock
    }

    /// Sets the time, in Unix milliseconds.
    pub fn set_ms(&self, ms: i64) {
        self.ms.store(ms, Ordering::SeqCst);
    }

    /// Sets the time, in Unix seconds.
    pub fn set_secs(&self, secs: i64) {
        self.set_ms(secs.saturating_mul(1000));
    }

    /// Moves the time on by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_down_and_clones_share_the_time() {
        let clock = FakeClock::at_secs(100);
        let other = clock.clone();
        clock.advance_ms(999);
        assert_eq!((other.now_secs(), other.now_ms()), (100, 100_999));
        clock.advance_ms(1);
        assert_eq!(other.now_secs(), 101);
        clock.set_ms(-1);
        assert_eq!(other.now_secs(), -1, "before the epoch rounds down too");
        assert!(SystemClock.now_secs() > 1_700_000_000);
    }
}
