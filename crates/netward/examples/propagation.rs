//! Benchmark: propagation from the API to many agents, and what the server holds for them,
//! on one SQLite server and on two replicas sharing a PostgreSQL database. No root needed.
//!
//! `cargo run --release -p netward --example propagation -- [AGENTS…]` (default 1000 10000)
//!
//! For each fleet size and each store, the servers run in this process (plain HTTP on
//! loopback) and the agents in child processes of this same program (`--child`), at most
//! 2,500 each, so that the server's resident memory is its own. Every agent runs the real sync
//! path (push stream, `since=` pull, engine, acknowledgement) with a recording enforcer
//! instead of nftables. With two replicas, agents are spread over them in turn. The run adds
//! 10 block indicators one at a time, always through the first server, and records per agent
//! the time from the API's answer to its engine applying the version that holds it (wall
//! clock, the same machine's). It prints p50, p99, max, and the servers' peak RSS.
//!
//! It raises its own file-descriptor limit to the hard limit (`prlimit`): a deployment
//! holding N agents needs about 2N descriptors (the server's `--max-connections` and
//! `LimitNOFILE=`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use netward_agent::enforcer::fake::RecordingEnforcer;
use netward_agent::runtime::client::{AgentClient, StreamEvent};
use netward_agent::runtime::engine::{Engine, PolicyState};
use netward_model::agent_wire::DeviceFacts;
use netward_testkit::in_process;
use netward_testkit::postgres::PgCluster;

const ROUNDS: usize = 10;
const AGENTS_PER_CHILD: usize = 2_500;

fn now_us() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// This process's peak resident memory, in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kib / 1024
}

/// Raises this process's soft descriptor limit to its hard limit.
fn raise_fd_limit() {
    let pid = std::process::id().to_string();
    let hard = std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_owned))
        .unwrap();
    let ok = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot raise the descriptor limit with prlimit");
}

/// A child: runs the agents listed on stdin (`url secret` per line), printing
/// `<index> <version> <unix µs>` each time one applies a version.
async fn child() {
    raise_fd_limit();
    let lines: Vec<(String, String)> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| {
            let l = l.unwrap();
            let (url, secret) = l.split_once(' ').unwrap();
            (url.to_owned(), secret.to_owned())
        })
        .collect();
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let mut clients = std::collections::HashMap::new();
    let mut tasks = Vec::new();
    for (index, (url, secret)) in lines.into_iter().enumerate() {
        let client = clients
            .entry(url.clone())
            .or_insert_with(|| AgentClient::new(&url, None).unwrap())
            .clone();
        let out = out.clone();
        tasks.push(tokio::spawn(async move {
            let mut engine = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
            // Like the agent: a stream that cannot connect (a burst of thousands at once
            // overflows the listen queue) or that ends is opened again after a backoff.
            let mut backoff = Duration::from_millis(100);
            loop {
                let mut stream = match client.stream(&secret).await {
                    Ok(s) => Box::pin(s),
                    Err(_) => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                };
                backoff = Duration::from_millis(100);
                while let Some(Ok(event)) = stream.next().await {
                    let StreamEvent::Policy(version) = event else {
                        continue;
                    };
                    if engine.state.version == Some(version) {
                        continue;
                    }
                    let mut tries: u32 = 0;
                    let update = loop {
                        match client
                            .policy(&secret, engine.state.version, engine.indicators())
                            .await
                        {
                            Ok(u) => break u,
                            Err(_) if tries < 20 => {
                                tries += 1;
                                // The agent's reconnect backoff: pacing, not a guess.
                                tokio::time::sleep(Duration::from_millis(10 * u64::from(tries)))
                                    .await;
                            }
                            Err(e) => panic!("pull failed 20 times: {e}"),
                        }
                    };
                    let applied = update.version;
                    engine.update(update, 0).unwrap();
                    let line = format!("{index} {applied} {}\n", now_us());
                    out.lock().unwrap().write_all(line.as_bytes()).unwrap();
                    if let Some(ack) = engine.ack(DeviceFacts::default()) {
                        let _ = client.ack(&secret, &ack).await;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// What every agent last applied: (version, when in µs), and a bell rung on each change.
type Applied = Arc<(Mutex<Vec<(u64, u64)>>, Condvar)>;

fn wait_all(applied: &Applied, version: u64) -> Vec<u64> {
    let (lock, bell) = &**applied;
    let mut seen = lock.lock().unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen.iter().any(|(v, _)| *v < version) {
        assert!(
            Instant::now() < deadline,
            "agents did not all apply {version}"
        );
        seen = bell.wait_timeout(seen, Duration::from_secs(1)).unwrap().0;
    }
    seen.iter().map(|(_, at)| *at).collect()
}

struct Row {
    samples: usize,
    p50: u64,
    p99: u64,
    max: u64,
    rss: u64,
}

async fn run(agents: usize, database: Option<&str>, replicas: usize) -> Row {
    raise_fd_limit();
    let dirs: Vec<_> = (0..replicas)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let mut servers = Vec::new();
    for dir in &dirs {
        let db = database.map(str::to_owned);
        servers.push(
            in_process::start(dir.path(), move |c| {
                c.database = db;
                c.connections.max_connections = 19_000;
            })
            .await,
        );
    }
    let url = servers[0].url.clone();
    let admin = servers[0].bootstrap_token.clone().unwrap();
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
    for i in 0..agents {
        let enrolled = client.enroll(&token, DeviceFacts::default()).await.unwrap();
        fleet.push((servers[i % replicas].url.clone(), enrolled.secret));
    }
    let applied: Applied = Arc::new((Mutex::new(vec![(0, 0); agents]), Condvar::new()));
    let exe = std::env::current_exe().unwrap();
    let mut children = Vec::new();
    for (c, chunk) in fleet.chunks(AGENTS_PER_CHILD).enumerate() {
        let mut child = Command::new(&exe)
            .arg("--child")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for (u, s) in chunk {
            writeln!(stdin, "{u} {s}").unwrap();
        }
        drop(stdin);
        let stdout = child.stdout.take().unwrap();
        let applied = applied.clone();
        let offset = c * AGENTS_PER_CHILD;
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let mut parts = line.split(' ').map(|p| p.parse::<u64>().unwrap());
                let (i, v, at) = (
                    parts.next().unwrap() as usize,
                    parts.next().unwrap(),
                    parts.next().unwrap(),
                );
                let (lock, bell) = &*applied;
                let mut seen = lock.lock().unwrap();
                if v > seen[offset + i].0 {
                    seen[offset + i] = (v, at);
                }
                bell.notify_all();
            }
        });
        children.push(child);
    }
    let first = server_version(&http, &url, &admin).await;
    let wait = applied.clone();
    tokio::task::spawn_blocking(move || wait_all(&wait, first))
        .await
        .unwrap();
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
        let answered = now_us();
        assert!(resp["id"].is_string(), "{resp}");
        let target = server_version(&http, &url, &admin).await;
        let wait = applied.clone();
        let ats = tokio::task::spawn_blocking(move || wait_all(&wait, target))
            .await
            .unwrap();
        latencies.extend(ats.into_iter().map(|at| at.saturating_sub(answered)));
    }
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    for s in servers {
        s.stop().await.unwrap();
    }
    latencies.sort_unstable();
    Row {
        samples: latencies.len(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        max: *latencies.last().unwrap(),
        rss: peak_rss_mib(),
    }
}

async fn server_version(http: &reqwest::Client, url: &str, admin: &str) -> u64 {
    let machines = in_process::get_json(http, url, admin, "/api/machines?$top=1").await;
    machines["value"][0]["currentVersion"].as_u64().unwrap()
}

/// One store's row, run in a process of its own (peak RSS only grows).
async fn setup(store: &str, agents: usize) {
    let ms = |us: u64| us as f64 / 1000.0;
    let (label, row) = match store {
        "sqlite" => ("SQLite, 1 server", run(agents, None, 1).await),
        _ => {
            // fsync on, as in production.
            let cluster = PgCluster::start_durable();
            let url = cluster.create_database("bench");
            ("PostgreSQL, 2 replicas", run(agents, Some(&url), 2).await)
        }
    };
    println!(
        "| {label} | {agents} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} MiB |",
        row.samples,
        ms(row.p50),
        ms(row.p99),
        ms(row.max),
        row.rss
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => return child().await,
        Some("--setup") => return setup(&args[1], args[2].parse().unwrap()).await,
        _ => {}
    }
    let sizes: Vec<usize> = args
        .iter()
        .map(|a| a.parse().expect("a number of agents"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    println!("| store | agents | samples | p50 | p99 | max | servers' peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        for store in ["sqlite", "postgres"] {
            let out = Command::new(std::env::current_exe().unwrap())
                .args(["--setup", store, &n.to_string()])
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            assert!(out.status.success(), "the {store} run failed");
            print!("{}", String::from_utf8_lossy(&out.stdout));
        }
    }
}
