//! Fuzz targets on stable Rust: [`fuzz`] drives a parser with many inputs from a proptest
//! strategy and fails on the first that panics (proptest then shrinks it to a small one and
//! names it) or that runs for longer than [`HANG_LIMIT`] (the process aborts, naming the
//! input, because a hung parser cannot be interrupted from inside).
//!
//! `cargo test` runs each target with its own small number of cases; setting
//! [`CASES_VAR`] (`NETWARD_FUZZ_CASES=100000`, what `./dev fuzz` does) raises every target to
//! at least that many. Every target's name starts with `fuzz_`, so that `cargo test fuzz`
//! selects them all. A failure is not persisted to a file: each bug found gets a plain unit
//! test beside the code it fixes.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// The variable that raises the number of cases of every target.
pub const CASES_VAR: &str = "NETWARD_FUZZ_CASES";

/// How long one case may run before it counts as a hang: a bound for a loaded machine and a
/// debug build, far above what any case takes.
pub const HANG_LIMIT: Duration = Duration::from_secs(20);

/// The number of cases a target with `default` cases runs: `default`, or [`CASES_VAR`] when
/// that is larger.
pub fn cases(default: u32) -> u32 {
    std::env::var(CASES_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map_or(default, |n| n.max(default))
}

/// Runs `test` on [`cases`]`(default_cases)` inputs drawn from `strategy`; panics with the
/// smallest failing input found. Prints the number of cases and the time taken (shown with
/// `--nocapture`).
pub fn fuzz<S>(
    target: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let cases = cases(default_cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let watchdog = Watchdog::start(target);
    let started = Instant::now();
    let result = runner.run(&strategy, |input| {
        watchdog.enter(&input);
        let outcome = test(input);
        watchdog.leave();
        outcome
    });
    watchdog.stop();
    if let Err(e) = result {
        panic!("fuzz target {target} failed: {e}");
    }
    eprintln!(
        "fuzz {target}: {cases} cases in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// The case being run, watched by a thread that aborts the process when one runs too long.
struct Watchdog {
    current: Arc<Mutex<Option<(Instant, String)>>>,
    done: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(target: &str) -> Self {
        let current: Arc<Mutex<Option<(Instant, String)>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (watched, finished, target) = (current.clone(), done.clone(), target.to_owned());
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let guard = watched.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((since, input)) = guard.as_ref()
                    && since.elapsed() > HANG_LIMIT
                {
                    eprintln!(
                        "fuzz target {target}: one case has run for more than {HANG_LIMIT:?}; \
                         it hangs on {input}"
                    );
                    std::process::abort();
                }
            }
        });
        Self { current, done }
    }

    fn enter(&self, input: &dyn Debug) {
        let text = format!("{input:?}");
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), text));
    }

    fn leave(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn stop(&self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Applies `edits` to `bytes`: each `(at, kind, byte)` inserts, deletes, replaces or
/// truncates at a position taken modulo the length.
pub fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(at, kind, byte) in edits {
        let at = at % (bytes.len() + 1);
        match kind % 4 {
            0 => bytes.insert(at, byte),
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 if at < bytes.len() => bytes[at] = byte,
            3 => bytes.truncate(at),
            _ => {}
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_only_raises_the_count() {
        // The variable is read, not set, here: other tests run in parallel.
        let from_env = std::env::var(CASES_VAR)
            .ok()
            .and_then(|v| v.parse::<u32>().ok());
        assert_eq!(cases(7), from_env.map_or(7, |n| n.max(7)));
    }

    #[test]
    #[should_panic(expected = "fuzz target panicky failed")]
    fn a_panic_fails_the_target() {
        fuzz("panicky", 50, 0u8..=255, |b| {
            assert!(b < 200, "too big");
            Ok(())
        });
    }
}
