//! Benchmark: the server's event ingest rate into its embedded store, through the real API.
//!
//! `cargo run --release -p netward --example ingest -- [EVENTS_PER_DEVICE]`
//!
//! One process runs the server on loopback (plain HTTP) and four enrolled devices that deliver
//! events concurrently in batches of 500, the agent's own batch size, through the agent's HTTP
//! client. Two runs per backend: events on indicators that raise alerts (each event also
//! updates an alert and links its evidence), and events on indicators that do not. Each
//! backend in the same run: the embedded store (a fresh data directory, SQLite with
//! `synchronous=FULL`), then PostgreSQL (`--database`, a fresh database on a throwaway cluster
//! on a unix socket, default settings). Prints a table.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::time::{Duration, Instant};

use netward_agent::runtime::client::AgentClient;
use netward_model::agent_wire::DeviceFacts;
use netward_model::detection::{
    AgentEvent, Direction, EventAck, EventBatch, MatchedIndicator, Outcome, ProcessInfo, Reason,
};
use netward_testkit::in_process;

const DEVICES: usize = 4;
const BATCH: usize = 500;

/// An event `i` milliseconds after `base_ms`.
fn event(seq: u64, i: u64, indicator: (i64, &str), alerting: bool, base_ms: i64) -> AgentEvent {
    let remote = format!(
        "10.{}.{}.{}",
        if alerting { 1 } else { 2 },
        (i / 250) % 250,
        i % 250 + 1
    );
    AgentEvent {
        seq,
        first_seen_ms: base_ms + i64::try_from(i).unwrap(),
        last_seen_ms: base_ms + i64::try_from(i).unwrap() + 900,
        count: 1 + i % 7,
        direction: Direction::Outbound,
        protocol: "tcp".into(),
        local_ip: "192.0.2.10".into(),
        local_port: None,
        remote_ip: remote,
        remote_port: Some(443),
        outcome: Outcome::Blocked,
        reason: Reason::IndicatorBlock,
        indicators: vec![MatchedIndicator {
            id: indicator.0,
            value: indicator.1.to_owned(),
        }],
        process: Some(ProcessInfo {
            pid: 4000 + u32::try_from(i % 50).unwrap(),
            name: "beacon".into(),
            exe: Some("/opt/x/beacon".into()),
            cmdline: Some("/opt/x/beacon --interval 0".into()),
            uid: 1000,
            user: Some("alice".into()),
        }),
    }
}

async fn run(per_device: usize, alerting: bool, database: Option<String>) -> (usize, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let server = in_process::start(dir.path(), |c| c.database = database).await;
    let url = server.url.clone();
    let admin = server.bootstrap_token.clone().unwrap();
    let http = in_process::http_client();
    let value = if alerting {
        "10.1.0.0/16"
    } else {
        "10.2.0.0/16"
    };
    let ind = in_process::post_json(
        &http,
        &url,
        &admin,
        "/api/indicators",
        serde_json::json!({"indicatorValue": value, "action": "Block", "title": "bench", "generateAlert": alerting}),
    )
    .await;
    let id: i64 = ind["id"].as_str().unwrap().parse().unwrap();
    let token = in_process::post_json(
        &http,
        &url,
        &admin,
        "/api/enroll-tokens",
        serde_json::json!({"maxUses": 100_000}),
    )
    .await;
    let token = token["token"].as_str().unwrap().to_owned();
    let client = AgentClient::new(&url, None).unwrap();
    // Recent events, as agents send them (PostgreSQL gives each recent day a partition).
    let base_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    // The bodies are serialised before the clock starts, so that the measure is the server's
    // work (parse, validate, store, alert), not the benchmark's.
    let mut batches = Vec::new();
    for _ in 0..DEVICES {
        let secret = client
            .enroll(&token, DeviceFacts::default())
            .await
            .unwrap()
            .secret;
        let list: Vec<(u64, Vec<u8>)> = (0..per_device / BATCH)
            .map(|b| {
                let batch = EventBatch {
                    events: (0..BATCH)
                        .map(|k| {
                            let i = (b * BATCH + k) as u64;
                            event(i + 1, i, (id, value), alerting, base_ms)
                        })
                        .collect(),
                    dropped: 0,
                    lost: 0,
                };
                (
                    batch.events.last().unwrap().seq,
                    serde_json::to_vec(&batch).unwrap(),
                )
            })
            .collect();
        batches.push((secret, list));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (secret, list) in batches {
        let http = http.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            for (last, body) in list {
                let ack: EventAck = http
                    .post(format!("{url}/api/agent/events"))
                    .bearer_auth(&secret)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(ack.acked_seq, last);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let stored: serde_json::Value = http
        .get(format!("{url}/api/events?$top=1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        stored["value"][0]["Id"].as_i64().unwrap() as usize
            >= DEVICES * (per_device / BATCH) * BATCH
    );
    server.stop().await.unwrap();
    (DEVICES * (per_device / BATCH) * BATCH, elapsed)
}

#[tokio::main]
async fn main() {
    let per_device: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("EVENTS_PER_DEVICE is a number"))
        .unwrap_or(50_000);
    let cluster = netward_testkit::postgres::PgCluster::start();
    println!(
        "| Store | Events | Devices × batches of {BATCH} | Indicator raises alerts | Wall time | Events/s |"
    );
    println!("|---|---|---|---|---|---|");
    for (store, postgres) in [("SQLite", false), ("PostgreSQL", true)] {
        for alerting in [true, false] {
            let database = postgres.then(|| {
                cluster.create_database(&format!("ingest_{}", if alerting { "a" } else { "b" }))
            });
            let (n, t) = run(per_device, alerting, database).await;
            println!(
                "| {store} | {n} | {DEVICES} × {} | {} | {:.2} s | {:.0} |",
                per_device / BATCH,
                if alerting { "yes" } else { "no" },
                t.as_secs_f64(),
                n as f64 / t.as_secs_f64()
            );
        }
    }
}
