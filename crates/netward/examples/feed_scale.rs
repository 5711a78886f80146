//! Benchmark: a plain feed of 500,000 entries through the real server: the first sync (fetch,
//! parse, plan, store, one policy version) and a refresh with 1% churn.
//!
//! `cargo run --release -p netward --example feed_scale -- [ENTRIES]`
//!
//! One process runs the server on loopback (plain HTTP, a fresh data directory, SQLite with
//! `synchronous=FULL`) and a list server on loopback (`netward_testkit::ListServer`). The
//! first sync is the refresh loop's, started by `POST /api/feeds`, and is timed until the
//! feed's first run is recorded; the churn refresh is `POST /api/feeds/{name}/sync`, timed to
//! its answer (sent once the run is applied and its policy version announced). Prints a table.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use netward_testkit::{ListServer, in_process};
use serde_json::{Value, json};

/// `n` distinct /32s under 10.0.0.0/8 starting at `first`, one per line.
fn list(first: u32, n: u32) -> String {
    let mut out = String::with_capacity(n as usize * 14);
    for i in first..first + n {
        let a = std::net::Ipv4Addr::from(0x0a00_0000 + i);
        writeln!(out, "{a}").unwrap();
    }
    out
}

fn row(what: &str, took: Duration, run: &Value) {
    println!(
        "| {what} | {:.2} s | {} | {} | {} | {} |",
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

    // 1% churn: the first 1% leave, as many new ones arrive.
    let churn = entries / 100;
    feed.set(&list(churn, entries));
    let started = Instant::now();
    let churned =
        in_process::post_json(&http, &base, &admin, "/api/feeds/big/sync", json!({})).await;
    let churn_took = started.elapsed();

    let started = Instant::now();
    let same = in_process::post_json(&http, &base, &admin, "/api/feeds/big/sync", json!({})).await;
    let same_took = started.elapsed();

    println!(
        "plain feed of {entries} entries ({:.1} MB), release build",
        bytes as f64 / 1e6
    );
    println!();
    println!("| run | time | added | removed | unchanged | status |");
    println!("|---|---|---|---|---|---|");
    row(
        "first sync (fetch → stored → policy version)",
        first_took,
        &first,
    );
    row("refresh, 1% churn", churn_took, &churned);
    row(
        "refresh, nothing changed (no validators: fetched and compared)",
        same_took,
        &same,
    );
    server.stop().await.unwrap();
}
