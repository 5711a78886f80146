//! Benchmark: a plain feed of 500,000 entries through the real server to an agent's kernel:
//! the first sync (fetch, parse, plan, store, one policy version, then the agent's pull and
//! its nftables sets) and a refresh with 1% churn (root).
//!
//! `cargo run --release -p netward --example feed_scale -- [ENTRIES]`
//!
//! One process runs the server on loopback (plain HTTP, a fresh data directory, SQLite with
//! `synchronous=FULL`), a list server on loopback (`netward_testkit::ListServer`) and one
//! agent enrolled with the server: the agent's own client, engine and nftables enforcer, in a
//! throwaway network namespace. The first sync is the refresh loop's, started by
//! `POST /api/feeds`, and is timed until the feed's first run is recorded, then until the
//! agent has applied the policy version that holds it; the churn refresh is
//! `POST /api/feeds/{name}/sync`, timed to its answer and to the agent's apply. Prints a
//! table.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use netward_agent::enforcer::nft::NftEnforcer;
use netward_agent::runtime::client::{AgentClient, StreamEvent};
use netward_agent::runtime::engine::{Engine, PolicyState};
use netward_model::agent_wire::DeviceFacts;
use netward_testkit::{ListServer, Netns, in_process};
use serde_json::{Value, json};
use tokio::sync::watch;

/// `n` distinct /32s under 10.0.0.0/8 starting at `first`, one per line.
fn list(first: u32, n: u32) -> String {
    let mut out = String::with_capacity(n as usize * 14);
    for i in first..first + n {
        let a = std::net::Ipv4Addr::from(0x0a00_0000 + i);
        writeln!(out, "{a}").unwrap();
    }
    out
}

/// One agent enforcing in `netns`, following the push stream: a receiver of the version it
/// last applied and when, and its task.
async fn agent(
    base: &str,
    admin: &str,
    http: &reqwest::Client,
    netns: &Netns,
) -> (watch::Receiver<(u64, Instant)>, tokio::task::JoinHandle<()>) {
    let token = in_process::post_json(http, base, admin, "/api/enroll-tokens", json!({})).await;
    let client = AgentClient::new(base, None).unwrap();
    let token = token["token"].as_str().unwrap();
    let secret = client
        .enroll(token, DeviceFacts::default())
        .await
        .unwrap()
        .secret;
    let enforcer = NftEnforcer::open_in("netward", &netns.path()).unwrap();
    let (tx, rx) = watch::channel((0u64, Instant::now()));
    let task = tokio::spawn(async move {
        let mut engine = Engine::new(enforcer, PolicyState::default(), &[]);
        let mut stream = Box::pin(client.stream(&secret).await.unwrap());
        while let Some(Ok(event)) = stream.next().await {
            let StreamEvent::Policy(version) = event else {
                continue;
            };
            if engine.state.version >= Some(version) {
                continue;
            }
            let update = client
                .policy(&secret, engine.state.version, engine.indicators())
                .await
                .unwrap();
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

/// The policy version the server holds now (the agent's device record names it).
async fn server_version(http: &reqwest::Client, base: &str, admin: &str) -> u64 {
    let machines = in_process::get_json(http, base, admin, "/api/machines").await;
    machines["value"][0]["currentVersion"].as_u64().unwrap()
}

fn row(what: &str, took: Duration, kernel: Option<Duration>, run: &Value) {
    let kernel = kernel.map_or("no new version".to_owned(), |k| {
        format!("{:.2} s", k.as_secs_f64())
    });
    println!(
        "| {what} | {:.2} s | {kernel} | {} | {} | {} | {} |",
        took.as_secs_f64(),
        run["added"],
        run["removed"],
        run["unchanged"],
        run["status"]
    );
}

#[tokio::main]
async fn main() {
    let entries: u32 = std::env::args()
        .nth(1)
        .map_or(500_000, |n| n.parse().expect("ENTRIES is a number"));
    let dir = tempfile::tempdir().unwrap();
    let server = in_process::start(dir.path(), |c| c.metrics = false).await;
    let base = format!("http://{}", server.addr);
    let admin = server.bootstrap_token.clone().unwrap();
    let http = in_process::http_client();
    let body = list(0, entries);
    let bytes = body.len();
    let feed = ListServer::start("big.netset", &body);
    let netns = Netns::add(&format!("nwfeed{}", std::process::id()));
    let (mut applied, agent_task) = agent(&base, &admin, &http, &netns).await;
    let before = server_version(&http, &base, &admin).await;
    applied.wait_for(|(v, _)| *v >= before).await.unwrap();

    let started = Instant::now();
    let made = in_process::post_json(
        &http,
        &base,
        &admin,
        "/api/feeds",
        json!({"name": "big", "kind": "plain", "url": feed.url, "maxEntries": 2_000_000}),
    )
    .await;
    assert_eq!(made["name"], "big", "{made}");
    let first = loop {
        let shown = in_process::get_json(&http, &base, &admin, "/api/feeds/big").await;
        if !shown["runs"][0].is_null() {
            break shown["runs"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let first_took = started.elapsed();
    // The run is recorded in its transaction, and its version announced just after.
    let target = loop {
        let now = server_version(&http, &base, &admin).await;
        if now > before {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let first_kernel = applied.wait_for(|(v, _)| *v >= target).await.unwrap().1 - started;
    let mut last = target;

    // 1% churn: the first 1% leave, as many new ones arrive.
    let churn = entries / 100;
    feed.set(&list(churn, entries));
    let started = Instant::now();
    let churned =
        in_process::post_json(&http, &base, &admin, "/api/feeds/big/sync", json!({})).await;
    let churn_took = started.elapsed();
    let target = server_version(&http, &base, &admin).await;
    let churn_kernel = if target > last {
        Some(applied.wait_for(|(v, _)| *v >= target).await.unwrap().1 - started)
    } else {
        None
    };
    last = target;

    let started = Instant::now();
    let same = in_process::post_json(&http, &base, &admin, "/api/feeds/big/sync", json!({})).await;
    let same_took = started.elapsed();
    let target = server_version(&http, &base, &admin).await;
    let same_kernel = if target > last {
        Some(applied.wait_for(|(v, _)| *v >= target).await.unwrap().1 - started)
    } else {
        None
    };

    println!(
        "plain feed of {entries} entries ({:.1} MB), release build",
        bytes as f64 / 1e6
    );
    println!();
    println!(
        "| run | fetch → stored, one policy version | fetch → in the agent's kernel | added | removed | unchanged | status |"
    );
    println!("|---|---|---|---|---|---|---|");
    row("first sync", first_took, Some(first_kernel), &first);
    row("refresh, 1% churn", churn_took, churn_kernel, &churned);
    row(
        "refresh, nothing changed (no validators: fetched and compared)",
        same_took,
        same_kernel,
        &same,
    );
    agent_task.abort();
    server.stop().await.unwrap();
    // The namespace goes with its table.
    drop(netns);
}
