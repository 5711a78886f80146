//! Waiting for a condition instead of sleeping for a guessed time: a test polls what it
//! waits for, every [`POLL`], and fails with what it waited for when the limit passes. A
//! limit is a bound for a loaded machine, never an expected duration: tests never assert
//! timings.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is checked.
pub const POLL: Duration = Duration::from_millis(50);

/// Polls `condition` until it holds; how long that took. Panics after `limit`, naming `what`.
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    wait_for(what, limit, || condition().then_some(()));
    started.elapsed()
}

/// Polls `check` until it gives a value, and returns it. Panics after `limit`, naming `what`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting until {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Polls `condition` for at most `limit`; whether it held. For a test that also asserts
/// that something did *not* happen: the whole limit passes before it answers `false`.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// [`wait_for`] with an asynchronous check, for code that runs on tokio.
pub async fn wait_for_async<T, F>(what: &str, limit: Duration, mut check: impl FnMut() -> F) -> T
where
    F: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_end_as_soon_as_the_condition_holds() {
        let mut polls = 0;
        let value = wait_for("the third poll", Duration::from_secs(5), || {
            polls += 1;
            (polls == 3).then_some(polls)
        });
        assert_eq!(value, 3);
        assert!(wait_until("at once", Duration::from_secs(5), || true) < Duration::from_secs(1));
    }

    #[test]
    #[should_panic(expected = "waiting until never")]
    fn a_wait_fails_after_its_limit_naming_what_it_waited_for() {
        wait_until("never", Duration::from_millis(120), || false);
    }

    #[test]
    fn eventually_answers_false_only_after_the_whole_limit() {
        let started = Instant::now();
        assert!(!eventually(Duration::from_millis(120), || false));
        assert!(started.elapsed() >= Duration::from_millis(120));
        assert!(eventually(Duration::from_secs(5), || true));
    }
}
