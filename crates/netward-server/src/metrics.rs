//! [`ServerMetrics`]: what the server counts for Prometheus, and its text exposition
//! (format 0.0.4), written by hand: a few counters and one histogram do not need a crate.
//!
//! Counting is always on and costs an atomic add or a short lock per request; `/metrics` is
//! only served when the operator turns it on (`--metrics`), to API tokens. The fleet gauges
//! (devices in sync, behind, offline; propagation lag) are computed from the store at each
//! scrape, never kept here. `api/metrics.rs` serves them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the store-call latency buckets.
const LATENCY_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Policy versions whose publication time is remembered, for the propagation lag.
const PUBLISHED_KEPT: usize = 4096;

/// The server's counters. One per control plane, shared by its clones.
#[derive(Debug)]
pub struct ServerMetrics {
    /// Whether `/metrics` is served.
    pub enabled: bool,
    /// Requests by (route template, method, status).
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    events_ingested: AtomicU64,
    alerts_raised: AtomicU64,
    /// Store calls per latency bucket (the last one is +Inf), their count and their sum.
    store_buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    store_count: AtomicU64,
    store_sum_micros: AtomicU64,
    /// Unix second each recent policy version was published at.
    published: Mutex<BTreeMap<u64, i64>>,
    /// Unix second the server started. When a device fell behind a version published before
    /// that is not known, so its lag counts from here: the version at the start is recorded as
    /// published then.
    started: i64,
}

/// A device as the fleet gauges see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSync {
    /// Device id.
    pub id: i64,
    /// Whether its push stream is open.
    pub online: bool,
    /// The version it acknowledged.
    pub applied_version: Option<u64>,
    /// Whether its last acknowledgement reported an error.
    pub failing: bool,
}

impl ServerMetrics {
    /// Counters at zero, for a server started at unix second `started` with policy `version`.
    pub fn new(enabled: bool, version: u64, started: i64) -> Self {
        let metrics = Self {
            enabled,
            requests: Mutex::default(),
            events_ingested: AtomicU64::new(0),
            alerts_raised: AtomicU64::new(0),
            store_buckets: Default::default(),
            store_count: AtomicU64::new(0),
            store_sum_micros: AtomicU64::new(0),
            published: Mutex::default(),
            started,
        };
        metrics.published(version, started);
        metrics
    }

    /// Counts one answered request.
    pub fn request(&self, route: &str, method: &str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((route.to_owned(), method.to_owned(), status))
                .or_default() += 1;
        }
    }

    /// Counts events stored and alerts raised by one ingest.
    pub fn ingested(&self, events: usize, alerts: usize) {
        self.events_ingested
            .fetch_add(events as u64, Ordering::Relaxed);
        self.alerts_raised
            .fetch_add(alerts as u64, Ordering::Relaxed);
    }

    /// Records how long one store call took.
    pub fn store_call(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.store_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.store_count.fetch_add(1, Ordering::Relaxed);
        self.store_sum_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Records that policy `version` was published at unix second `at`.
    pub fn published(&self, version: u64, at: i64) {
        if let Ok(mut map) = self.published.lock() {
            map.entry(version).or_insert(at);
            while map.len() > PUBLISHED_KEPT {
                map.pop_first();
            }
        }
    }

    /// Seconds since a device holding `applied` fell behind `current`: since the first version
    /// after `applied` was published (every version published since the start is recorded, and
    /// the one at the start). Zero when it holds `current`.
    pub fn lag(&self, applied: Option<u64>, current: u64, now: i64) -> i64 {
        if applied.is_some_and(|v| v >= current) {
            return 0;
        }
        let first_missing = applied.map_or(0, |v| v + 1);
        let since = self
            .published
            .lock()
            .ok()
            .and_then(|map| map.range(first_missing..).next().map(|(_, &at)| at))
            .unwrap_or(self.started);
        (now - since.max(self.started)).max(0)
    }

    /// The exposition: the counters, then the fleet gauges of `devices` at `current`.
    pub fn render(&self, devices: &[DeviceSync], current: u64, now: i64) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        counter(
            &mut out,
            "netward_events_ingested_total",
            "Events stored from agents.",
            self.events_ingested.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "netward_alerts_raised_total",
            "Alerts raised (one per device and indicator).",
            self.alerts_raised.load(Ordering::Relaxed),
        );
        self.render_store(&mut out);
        render_fleet(&mut out, self, devices, current, now);
        out
    }

    fn render_requests(&self, out: &mut String) {
        out.push_str("# HELP netward_http_requests_total HTTP requests answered, by route template, method and status.\n# TYPE netward_http_requests_total counter\n");
        if let Ok(map) = self.requests.lock() {
            for ((route, method, status), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "netward_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    label(route),
                    label(method)
                );
            }
        }
    }

    fn render_store(&self, out: &mut String) {
        out.push_str("# HELP netward_store_call_seconds Time of each call into the store (SQLite), queueing for the blocking pool included.\n# TYPE netward_store_call_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bucket) in self.store_buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or("+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "netward_store_call_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.store_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "netward_store_call_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "netward_store_call_seconds_count {}",
            self.store_count.load(Ordering::Relaxed)
        );
    }
}

impl crate::control::ControlPlane {
    /// The Prometheus exposition, or `None` when metrics are off.
    pub async fn metrics_text(&self) -> Result<Option<String>, crate::control::ControlError> {
        if !self.metrics.enabled {
            return Ok(None);
        }
        self.blocking(|cp| {
            let current = *cp.versions.borrow();
            let devices: Vec<DeviceSync> = cp
                .store
                .devices()?
                .into_iter()
                .filter(|d| d.revoked_at.is_none())
                .map(|d| DeviceSync {
                    id: d.id,
                    online: cp.is_online(d.id),
                    applied_version: d.applied_version,
                    failing: d.last_error.is_some(),
                })
                .collect();
            Ok(Some(cp.metrics.render(&devices, current, cp.now())))
        })
        .await
    }

    /// Whether the store answers a trivial query (`/readyz`).
    pub async fn ready(&self) -> Result<(), crate::control::ControlError> {
        self.blocking(|cp| {
            cp.store.policy_version()?;
            if !cp.hears_replicas() {
                return Err(crate::control::ControlError::Task(
                    "the connection that hears the other replicas is down".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    /// Counts one answered request (the `/metrics` middleware calls it).
    pub fn count_request(&self, route: &str, method: &str, status: u16) {
        self.metrics.request(route, method, status);
    }
}

fn render_fleet(
    out: &mut String,
    metrics: &ServerMetrics,
    devices: &[DeviceSync],
    current: u64,
    now: i64,
) {
    let (mut in_sync, mut behind, mut offline) = (0, 0, 0);
    for d in devices {
        if !d.online {
            offline += 1;
        } else if d.applied_version == Some(current) && !d.failing {
            in_sync += 1;
        } else {
            behind += 1;
        }
    }
    let _ = writeln!(
        out,
        "# HELP netward_policy_version The newest policy version.\n# TYPE netward_policy_version gauge\nnetward_policy_version {current}"
    );
    out.push_str("# HELP netward_devices Enrolled devices (revoked ones left out): online and enforcing the newest policy (in_sync), online and not (behind), not connected (offline).\n# TYPE netward_devices gauge\n");
    for (state, n) in [
        ("in_sync", in_sync),
        ("behind", behind),
        ("offline", offline),
    ] {
        let _ = writeln!(out, "netward_devices{{state=\"{state}\"}} {n}");
    }
    out.push_str("# HELP netward_device_propagation_lag_seconds Seconds since the device fell behind the newest policy (0 when it enforces it).\n# TYPE netward_device_propagation_lag_seconds gauge\n");
    for d in devices {
        let _ = writeln!(
            out,
            "netward_device_propagation_lag_seconds{{device=\"{}\"}} {}",
            d.id,
            metrics.lag(d.applied_version, current, now)
        );
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

/// A label value escaped as the exposition format asks.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_from_the_first_missing_version() {
        let m = ServerMetrics::new(true, 2, 1_000);
        m.published(5, 1_100);
        m.published(6, 1_200);
        assert_eq!(m.lag(Some(6), 6, 1_300), 0);
        assert_eq!(m.lag(Some(5), 6, 1_300), 100);
        assert_eq!(m.lag(Some(4), 6, 1_300), 200);
        // Behind a version published before the start: counted from the start.
        assert_eq!(m.lag(Some(1), 2, 1_300), 300);
    }

    #[test]
    fn render_has_each_family() {
        let m = ServerMetrics::new(true, 0, 0);
        m.request("/api/indicators", "GET", 200);
        m.request("/api/indicators", "GET", 200);
        m.ingested(3, 1);
        m.store_call(Duration::from_millis(2));
        let devices = [
            DeviceSync {
                id: 1,
                online: true,
                applied_version: Some(2),
                failing: false,
            },
            DeviceSync {
                id: 2,
                online: true,
                applied_version: Some(1),
                failing: false,
            },
            DeviceSync {
                id: 3,
                online: false,
                applied_version: Some(2),
                failing: false,
            },
        ];
        let text = m.render(&devices, 2, 10);
        for line in [
            "netward_http_requests_total{route=\"/api/indicators\",method=\"GET\",status=\"200\"} 2",
            "netward_events_ingested_total 3",
            "netward_alerts_raised_total 1",
            "netward_store_call_seconds_bucket{le=\"0.0025\"} 1",
            "netward_store_call_seconds_bucket{le=\"+Inf\"} 1",
            "netward_store_call_seconds_count 1",
            "netward_devices{state=\"in_sync\"} 1",
            "netward_devices{state=\"behind\"} 1",
            "netward_devices{state=\"offline\"} 1",
            "netward_device_propagation_lag_seconds{device=\"2\"} 10",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
