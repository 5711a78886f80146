//! [`Servers`]: the server URLs an agent may talk to (one per replica, from its enrollment token
//! or `--server`), which one it talks to now, and the move to the next when that one goes away
//! (round robin). The replicas share one database and one CA, so the device credential, the
//! CA pin, the policy version and the events' sequence numbers hold on every one of them: the
//! next server is asked for a delta from the version held, and unacknowledged events go to it
//! with the same (device, seq).
//!
//! Also the waits between attempts: the connection loop's backoff ([`next_backoff`]), spread
//! by [`jittered`] so that the agents of a replica that went away do not all reach the next
//! one at the same instant.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::AgentError;
use super::config::MAX_BACKOFF;
use super::server_address::ServerUrl;

/// The servers of one agent and the one in use; clones share the choice, so the connection
/// loop moves every task (event delivery, acknowledgements) to the next server at once.
#[derive(Clone, Debug)]
pub struct Servers {
    urls: Arc<[String]>,
    current: Arc<AtomicUsize>,
    switches: Arc<AtomicU64>,
}

/// A move from one server to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    /// The server that went away.
    pub from: String,
    /// The server tried next.
    pub to: String,
}

impl Servers {
    /// `urls`, each checked like a single server's (`https` with the CA pinned, plain `http`
    /// on loopback only) and without a trailing `/`; a URL given twice is kept once, at its
    /// first place. Starts with the first.
    pub fn new(urls: &[String], pinned: bool) -> Result<Self, AgentError> {
        let mut checked: Vec<String> = Vec::with_capacity(urls.len());
        for url in urls {
            let url = ServerUrl::parse(url)?;
            url.check_transport(pinned)?;
            if !checked.iter().any(|u| u == url.as_str()) {
                checked.push(url.as_str().to_owned());
            }
        }
        if checked.is_empty() {
            return Err(AgentError::Config("no server URL".into()));
        }
        Ok(Self {
            urls: checked.into(),
            current: Arc::default(),
            switches: Arc::default(),
        })
    }

    /// The server in use.
    pub fn current(&self) -> &str {
        let i = self.current.load(Ordering::SeqCst) % self.urls.len();
        self.urls.get(i).map_or("", String::as_str)
    }

    /// Every server, in the order they are tried.
    pub fn all(&self) -> &[String] {
        &self.urls
    }

    /// Moves to the next server, after the last back to the first; `None` with one server,
    /// where there is nowhere else to go.
    pub fn fail_over(&self) -> Option<Switch> {
        if self.urls.len() < 2 {
            return None;
        }
        let from = self.current().to_owned();
        let next = (self.current.load(Ordering::SeqCst) + 1) % self.urls.len();
        self.current.store(next, Ordering::SeqCst);
        self.switches.fetch_add(1, Ordering::Relaxed);
        Some(Switch {
            from,
            to: self.current().to_owned(),
        })
    }

    /// Moves since the start.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }
}

/// The wait after `backoff`: twice as long, at most [`MAX_BACKOFF`].
pub fn next_backoff(backoff: Duration) -> Duration {
    (backoff * 2).min(MAX_BACKOFF)
}

/// `backoff` shortened by up to half, by `fraction` (0 to 1): agents that lost the same server
/// at the same moment spread their attempts on the next one over half the wait.
pub fn jittered(backoff: Duration, fraction: f64) -> Duration {
    backoff.mul_f64(1.0 - 0.5 * fraction.clamp(0.0, 1.0))
}

/// A fraction between 0 and 1 that differs from process to process and call to call (from the
/// standard library's randomly keyed hasher; it needs no more than to differ).
pub fn random_fraction() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    // The top 53 bits, as many as an f64 holds exactly.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn the_servers_are_tried_round_robin_and_clones_share_the_choice() {
        let servers = Servers::new(
            &urls(&[
                "http://127.0.0.1:1/",
                "http://127.0.0.1:2",
                "http://127.0.0.1:1",
                "http://[::1]:3",
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            servers.all(),
            ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://[::1]:3"],
            "trailing `/` dropped, a repeat kept once"
        );
        let loop_view = servers.clone();
        assert_eq!(servers.current(), "http://127.0.0.1:1");
        let seen: Vec<Switch> = (0..3).filter_map(|_| loop_view.fail_over()).collect();
        assert_eq!(
            seen.iter()
                .map(|s| (s.from.as_str(), s.to.as_str()))
                .collect::<Vec<_>>(),
            [
                ("http://127.0.0.1:1", "http://127.0.0.1:2"),
                ("http://127.0.0.1:2", "http://[::1]:3"),
                ("http://[::1]:3", "http://127.0.0.1:1"),
            ]
        );
        assert_eq!(servers.current(), "http://127.0.0.1:1");
        assert_eq!(servers.switches(), 3);

        let one = Servers::new(&urls(&["http://127.0.0.1:1"]), false).unwrap();
        assert_eq!(one.fail_over(), None, "nowhere else to go");
        assert_eq!((one.current(), one.switches()), ("http://127.0.0.1:1", 0));
    }

    #[test]
    fn every_server_must_be_safe_for_the_credential() {
        let refused = |list: &[&str], pinned: bool| Servers::new(&urls(list), pinned).unwrap_err();
        assert!(matches!(
            refused(&["http://127.0.0.1:1", "http://192.0.2.1:8440"], false),
            AgentError::ServerUrl(_)
        ));
        assert!(matches!(
            refused(&["https://a.example", "https://b.example"], false),
            AgentError::ServerUrl(_)
        ));
        assert!(matches!(refused(&[], true), AgentError::Config(_)));
        Servers::new(
            &urls(&["https://a.example", "https://b.example:8440"]),
            true,
        )
        .unwrap();
    }

    #[test]
    fn the_backoff_doubles_to_its_cap_and_is_spread_over_half_of_it() {
        let mut wait = Duration::from_millis(250);
        let mut waits = Vec::new();
        for _ in 0..8 {
            waits.push(wait.as_millis());
            wait = next_backoff(wait);
        }
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        let second = Duration::from_secs(1);
        assert_eq!(jittered(second, 0.0), second);
        assert_eq!(jittered(second, 1.0), Duration::from_millis(500));
        assert_eq!(jittered(second, 7.0), Duration::from_millis(500), "clamped");
        let fractions: Vec<f64> = (0..64).map(|_| random_fraction()).collect();
        assert!(fractions.iter().all(|f| (0.0..1.0).contains(f)));
        let distinct = fractions
            .iter()
            .map(|f| f.to_bits())
            .collect::<std::collections::BTreeSet<_>>();
        assert!(distinct.len() > 32, "{fractions:?}");
    }
}
