//! Benchmark: propagation from the API to many agents' enforcement, with no root needed.
//!
//! `cargo run --release -p netward --example propagation -- [AGENTS…]` (default 1 100 1000)
//!
//! Starts a server on loopback (plain HTTP, in this process), enrolls AGENTS agents that each
//! run the real sync path (push stream, policy pull, engine, acknowledgement) with a recording
//! enforcer instead of nftables, then adds 20 block indicators one at a time and records, for
//! every agent, the time from the API's answer to the moment its engine applied the version
//! that holds the indicator. Prints p50, p99 and max per fleet size.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use netward_agent::enforcer::fake::RecordingEnforcer;
use netward_agent::runtime::client::{AgentClient, StreamEvent};
use netward_agent::runtime::engine::{Engine, PolicyState};
use netward_model::agent_wire::DeviceFacts;
use netward_testkit::in_process;
use tokio::sync::watch;

const ROUNDS: usize = 20;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One agent: a receiver of (version, applied-at) updates, and its task, which the run ends
/// before it stops the server (so no agent is left pulling from a server that is gone).
async fn agent(
    client: AgentClient,
    secret: String,
) -> (watch::Receiver<(u64, Instant)>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel((0u64, Instant::now()));
    let task = tokio::spawn(async move {
        let mut engine = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        let mut stream = Box::pin(client.stream(&secret).await.unwrap());
        while let Some(Ok(event)) = stream.next().await {
            let StreamEvent::Policy(version) = event else {
                continue;
            };
            if engine.state.version == Some(version) {
                continue;
            }
            // Retry a failed pull, as the agent does by reconnecting.
            let mut tries: u32 = 0;
            let update = loop {
                match client
                    .policy(&secret, engine.state.version, engine.indicators())
                    .await
                {
                    Ok(u) => break u,
                    Err(_) if tries < 20 => {
                        tries += 1;
                        // A growing pause, as the agent's reconnect backoff: pacing, not a
                        // guess at how long something takes.
                        tokio::time::sleep(Duration::from_millis(10 * u64::from(tries))).await;
                    }
                    Err(e) => panic!("pull failed 20 times: {e}"),
                }
            };
            let applied = update.version;
            engine.update(update, 0).unwrap();
            let _ = tx.send((applied, Instant::now()));
            if let Some(ack) = engine.ack(DeviceFacts::default()) {
                let _ = client.ack(&secret, &ack).await;
            }
        }
    });
    (rx, task)
}

async fn run(agents: usize) -> (Duration, Duration, Duration, usize) {
    let dir = tempfile::tempdir().unwrap();
    let server = in_process::start(dir.path(), |_| {}).await;
    let url = server.url.clone();
    let admin = server.bootstrap_token.clone().unwrap();
    let http = in_process::http_client();
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
    let mut fleet = Vec::with_capacity(agents);
    let mut tasks = Vec::with_capacity(agents);
    for _ in 0..agents {
        let enrolled = client.enroll(&token, DeviceFacts::default()).await.unwrap();
        let (rx, task) = agent(client.clone(), enrolled.secret).await;
        fleet.push(rx);
        tasks.push(task);
    }
    // Every agent holds its first snapshot before the clock starts.
    let first = server_version(&http, &url, &admin).await;
    for rx in &mut fleet {
        rx.wait_for(|(v, _)| *v >= first).await.unwrap();
    }
    let mut latencies = Vec::with_capacity(agents * ROUNDS);
    for round in 0..ROUNDS {
        let resp: serde_json::Value = http
            .post(format!("{url}/api/indicators"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"indicatorValue": format!("198.51.100.{}", round + 1), "action": "Block", "title": "bench"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(resp["id"].is_string(), "{resp}");
        let answered = Instant::now();
        let target = server_version(&http, &url, &admin).await;
        for rx in &mut fleet {
            let (_, at) = *rx.wait_for(|(v, _)| *v >= target).await.unwrap();
            latencies.push(at.saturating_duration_since(answered));
        }
    }
    latencies.sort();
    let out = (
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        *latencies.last().unwrap(),
        latencies.len(),
    );
    for task in tasks {
        task.abort();
    }
    server.stop().await.unwrap();
    out
}

async fn server_version(http: &reqwest::Client, url: &str, admin: &str) -> u64 {
    let machines = in_process::get_json(http, url, admin, "/api/machines").await;
    machines["value"][0]["currentVersion"].as_u64().unwrap()
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of agents"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1, 100, 1000]
    } else {
        sizes
    };
    println!("| agents | samples | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for n in sizes {
        let (p50, p99, max, samples) = run(n).await;
        println!(
            "| {n} | {samples} | {:.1} ms | {:.1} ms | {:.1} ms |",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0
        );
    }
}
