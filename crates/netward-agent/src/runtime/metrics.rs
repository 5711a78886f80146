//! The agent's local metrics endpoint (`netward agent --metrics-listen 127.0.0.1:PORT`):
//! Prometheus text over plain HTTP, on loopback only and without authentication — it tells what
//! the machine's own agent enforces, nothing a local user cannot read from `netward agent
//! status`. The exposition is hand-written; the HTTP is the least a scraper needs (one `GET`,
//! one answer, the connection closed).
//!
//! What it reports is read when scraped: the engine's counters, the sensor's hit totals and
//! lost messages, the spool's depth.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::AgentError;
use super::engine::ApplyCounters;
use super::shared::{Shared, with_engine};
use crate::clock::Clock;
use crate::enforcer::Enforcer;
use crate::events::aggregate::Aggregator;
use crate::events::spool::Spool;
use netward_model::detection::Outcome;

/// The longest a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What the metrics are read from, besides the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetricSources {
    pub(crate) aggregator: Option<Arc<Mutex<Aggregator>>>,
    pub(crate) lost: Option<Arc<AtomicU64>>,
    pub(crate) spool: Option<Arc<Mutex<Spool>>>,
}

/// One scrape's values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentMetrics {
    /// The policy version held and applied, if any.
    pub version: Option<u64>,
    /// Apply counts, last duration, tamper repairs, set sizes.
    pub counters: ApplyCounters,
    /// Hits since the start by outcome; `None` without hit reporting.
    pub hits: Option<[(Outcome, u64); 3]>,
    /// Kernel hit-log messages lost since the start.
    pub lost_hits: u64,
    /// Events waiting in the spool for the server.
    pub spool_depth: Option<u64>,
    /// The base URL of the server in use.
    pub server: String,
    /// Moves from one server to the next (replicas) since the start.
    pub server_switches: u64,
}

/// `text` as a Prometheus label value: `\`, `"` and line breaks escaped.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl AgentMetrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let plain = |v: String| vec![(String::new(), v)];
        if let Some(v) = self.version {
            family(
                "netward_agent_policy_version",
                "gauge",
                "The policy version the agent holds.",
                &plain(v.to_string()),
            );
        }
        family(
            "netward_agent_applies_total",
            "counter",
            "Policy applies to the kernel, by result.",
            &[
                ("{result=\"ok\"}".into(), self.counters.applied.to_string()),
                (
                    "{result=\"error\"}".into(),
                    self.counters.failed.to_string(),
                ),
            ],
        );
        family(
            "netward_agent_apply_seconds",
            "gauge",
            "Seconds the last apply took (compile and one kernel transaction).",
            &plain(self.counters.last_apply_seconds.to_string()),
        );
        let sets: Vec<(String, String)> = self
            .counters
            .set_sizes
            .iter()
            .map(|(set, n)| (format!("{{set=\"{set}\"}}"), n.to_string()))
            .collect();
        family(
            "netward_agent_set_entries",
            "gauge",
            "Entries in each kernel set after the last apply.",
            &sets,
        );
        family(
            "netward_agent_tamper_repairs_total",
            "counter",
            "Kernel tables restored after being altered or removed.",
            &plain(self.counters.tamper_repairs.to_string()),
        );
        if let Some(hits) = self.hits {
            let samples: Vec<(String, String)> = hits
                .iter()
                .map(|(o, n)| (format!("{{outcome=\"{}\"}}", o.as_str()), n.to_string()))
                .collect();
            family(
                "netward_agent_hits_total",
                "counter",
                "Hits on indicators seen in the kernel's log, by outcome.",
                &samples,
            );
        }
        family(
            "netward_agent_lost_hits_total",
            "counter",
            "Kernel hit-log messages lost (the socket overflowed).",
            &plain(self.lost_hits.to_string()),
        );
        family(
            "netward_agent_server",
            "gauge",
            "The server the agent uses now (1, labelled with its URL).",
            &[(
                format!("{{url=\"{}\"}}", label_value(&self.server)),
                "1".into(),
            )],
        );
        family(
            "netward_agent_server_switches_total",
            "counter",
            "Moves to the next server (replica) after the one in use went away.",
            &plain(self.server_switches.to_string()),
        );
        if let Some(depth) = self.spool_depth {
            family(
                "netward_agent_spool_events",
                "gauge",
                "Events in the on-disk spool, not yet acknowledged by the server.",
                &plain(depth.to_string()),
            );
        }
        out
    }
}

/// Binds the endpoint; only a loopback address is accepted.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, AgentError> {
    if !addr.ip().is_loopback() {
        return Err(AgentError::Config(format!(
            "--metrics-listen {addr}: only a loopback address (the endpoint has no authentication)"
        )));
    }
    TcpListener::bind(addr)
        .await
        .map_err(|e| AgentError::Config(format!("--metrics-listen {addr}: {e}")))
}

/// Answers scrapes until the task is dropped.
pub(crate) async fn serve<E: Enforcer + 'static, C: Clock + Clone>(
    listener: TcpListener,
    shared: Shared<E, C>,
    sources: MetricSources,
) {
    loop {
        let mut stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors, say: do not spin on it.
                tracing::warn!(%error, "Cannot accept a metrics connection.");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let metrics = collect(&shared, &sources).await;
        tokio::spawn(async move {
            // Read the request head (its content does not matter: every path gets the metrics).
            let mut head = [0u8; 1024];
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, stream.read(&mut head)).await;
            let body = metrics.render();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

async fn collect<E: Enforcer + 'static, C: Clock + Clone>(
    shared: &Shared<E, C>,
    sources: &MetricSources,
) -> AgentMetrics {
    let engine = with_engine(&shared.engine, |e| {
        (e.applied_at.and(e.state.version), e.counters.clone())
    })
    .await
    .unwrap_or_default();
    let spool = sources.spool.clone();
    let spool_depth = match spool {
        Some(spool) => {
            tokio::task::spawn_blocking(move || spool.lock().ok().and_then(|s| s.len().ok()))
                .await
                .ok()
                .flatten()
        }
        None => None,
    };
    AgentMetrics {
        version: engine.0,
        counters: engine.1,
        hits: sources
            .aggregator
            .as_ref()
            .and_then(|a| a.lock().ok().map(|a| a.hits_by_outcome())),
        lost_hits: sources
            .lost
            .as_ref()
            .map_or(0, |l| l.load(Ordering::Relaxed)),
        spool_depth,
        server: shared.client.servers().current().to_owned(),
        server_switches: shared.client.servers().switches(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_family() {
        let mut counters = ApplyCounters {
            applied: 2,
            tamper_repairs: 1,
            ..Default::default()
        };
        counters.set_sizes.insert("block_v4_addr".into(), 3);
        let text = AgentMetrics {
            version: Some(7),
            counters,
            hits: Some([
                (Outcome::Blocked, 5),
                (Outcome::Audited, 0),
                (Outcome::Allowed, 1),
            ]),
            lost_hits: 4,
            spool_depth: Some(9),
            server: "https://b.example:8440".into(),
            server_switches: 2,
        }
        .render();
        for line in [
            "netward_agent_policy_version 7",
            "netward_agent_applies_total{result=\"ok\"} 2",
            "netward_agent_set_entries{set=\"block_v4_addr\"} 3",
            "netward_agent_tamper_repairs_total 1",
            "netward_agent_hits_total{outcome=\"blocked\"} 5",
            "netward_agent_lost_hits_total 4",
            "netward_agent_spool_events 9",
            "netward_agent_server{url=\"https://b.example:8440\"} 1",
            "netward_agent_server_switches_total 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn a_label_value_is_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[tokio::test]
    async fn only_loopback_is_bound() {
        assert!(bind("0.0.0.0:0".parse().unwrap()).await.is_err());
        assert!(bind("127.0.0.1:0".parse().unwrap()).await.is_ok());
    }
}
