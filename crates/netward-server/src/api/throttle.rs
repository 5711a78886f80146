//! The per-source limit on failed authentications, for every route that takes a credential:
//! the REST API, the agent routes, enrollment and the console's sign-in.
//!
//! Each source address (an IPv6 address by its /64, since one host holds a whole /64) has a
//! budget of [`BURST`] failures, refilled by one every [`REFILL`]. A request that presented a
//! credential (an `Authorization` header, a sign-in, an enrollment) and ends in 401 spends
//! one. A source with an empty budget gets 429 with `Retry-After`, before any credential
//! is looked at: a client behind the same address as a guesser waits with it. Secrets have
//! 256 random bits, so the limit is not what stops guessing; it keeps a flood of bad
//! credentials from costing the store a lookup and the log a line each.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Failed authentications a source may make at once.
pub const BURST: u32 = 30;
/// The time that gives a source one more failure.
pub const REFILL: Duration = Duration::from_secs(2);
/// Sources remembered at most; beyond that, those whose budget is full again are forgotten.
const MAX_SOURCES: usize = 100_000;

/// The failure budgets of the sources seen.
#[derive(Debug, Default)]
pub struct AuthThrottle {
    budgets: Mutex<HashMap<IpAddr, Budget>>,
}

#[derive(Clone, Copy, Debug)]
struct Budget {
    /// Failures left, as of `at`.
    left: f64,
    at: Instant,
}

impl Budget {
    fn at(self, now: Instant) -> f64 {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64() / REFILL.as_secs_f64();
        (self.left + refilled).min(f64::from(BURST))
    }
}

/// The key a source is counted under: an IPv4 address, or the /64 of an IPv6 one.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 @ IpAddr::V4(_) => v4,
    }
}

impl AuthThrottle {
    /// `Err(wait)` when `source` has no failure left at `now`.
    pub fn check(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(map) = self.budgets.lock() else {
            return Ok(());
        };
        match map.get(&source_key(source)) {
            Some(b) if b.at(now) < 1.0 => {
                Err(REFILL.mul_f64(1.0 - b.at(now)).max(Duration::from_secs(1)))
            }
            _ => Ok(()),
        }
    }

    /// Spends one failure of `source` at `now`.
    pub fn failed(&self, source: IpAddr, now: Instant) {
        let Ok(mut map) = self.budgets.lock() else {
            return;
        };
        if map.len() >= MAX_SOURCES {
            map.retain(|_, b| b.at(now) < f64::from(BURST));
        }
        let b = map.entry(source_key(source)).or_insert(Budget {
            left: f64::from(BURST),
            at: now,
        });
        *b = Budget {
            left: (b.at(now) - 1.0).max(0.0),
            at: now,
        };
    }
}

/// The middleware: refuses a source out of budget with 429, and spends its budget on each 401.
pub async fn limit_failed_auth(
    State(throttle): State<Arc<AuthThrottle>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(source) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    if let Err(wait) = throttle.check(source, Instant::now()) {
        let seconds = u32::try_from(wait.as_secs_f64().ceil() as u64).unwrap_or(u32::MAX);
        return ApiError::too_many_requests(
            format!("too many failed authentications from {source}; retry in {seconds} s"),
            seconds,
        )
        .into_response();
    }
    // Only a credential that was presented and refused counts: a request with none (a probe,
    // a browser before sign-in) is not a guess.
    let presented = req.headers().contains_key(header::AUTHORIZATION)
        || (req.method() == Method::POST
            && matches!(req.uri().path(), "/login" | "/api/agent/enroll"));
    let response = next.run(req).await;
    if presented && response.status() == StatusCode::UNAUTHORIZED {
        throttle.failed(source, Instant::now());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_one_more_per_refill() {
        let t = AuthThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..BURST {
            assert!(t.check(ip, t0).is_ok());
            t.failed(ip, t0);
        }
        let wait = t.check(ip, t0).unwrap_err();
        assert!(wait <= REFILL && wait >= Duration::from_secs(1), "{wait:?}");
        // Another source is not affected.
        assert!(t.check("192.0.2.2".parse().unwrap(), t0).is_ok());
        // One refill later, one more attempt.
        let t1 = t0 + REFILL;
        assert!(t.check(ip, t1).is_ok());
        t.failed(ip, t1);
        assert!(t.check(ip, t1).is_err());
        // A quiet source gets its whole budget back.
        let later = t1 + REFILL * BURST;
        for _ in 0..BURST {
            assert!(t.check(ip, later).is_ok());
            t.failed(ip, later);
        }
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        for i in 0..BURST {
            t.failed(format!("2001:db8:1:2::{i:x}").parse().unwrap(), now);
        }
        assert!(
            t.check("2001:db8:1:2:ffff::1".parse().unwrap(), now)
                .is_err()
        );
        assert!(t.check("2001:db8:1:3::1".parse().unwrap(), now).is_ok());
        assert_eq!(
            source_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }
}
