//! Benchmark: the agent's CPU during a storm of blocked connection attempts (root).
//!
//! `cargo build --release && cargo run --release -p netward --example storm -- [RATE] [SECONDS]`
//!
//! Builds an endpoint and a remote host in network namespaces (the test kit's lab), runs the
//! server in this process
//! on loopback and the real `netward agent` binary enforcing in the endpoint (with process
//! attribution on a cgroup of this benchmark's own), blocks the remote host, then makes RATE
//! (default 10,000) TCP connection attempts a second to it from the endpoint for SECONDS
//! (default 10). Prints the agent's CPU (from /proc, user + system) idle and during the storm,
//! and checks the server's count of the attempts against the real number. Everything created
//! is removed at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use netward_testkit::lab::{Lab, PORT};
use netward_testkit::{AgentProcess, in_process, test_cgroup, wait_for_async};

/// User + system CPU ticks of `pid`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn hz() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |h| h as f64)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().map_or(10_000, |a| a.parse().unwrap());
    let seconds: u64 = args.next().map_or(10, |a| a.parse().unwrap());
    assert!(nix::unistd::geteuid().is_root(), "run as root");
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("netward");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release"
    );
    // Dropped in reverse order: the agent first, then the server, this process's cgroup
    // (moving it back out) and the namespaces.
    let lab = Lab::new();
    let rh = lab.remote("v4");
    // A cgroup of our own, for the attribution programs and the storm's thread.
    let mut own = test_cgroup("storm");
    own.enter().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = in_process::start(&dir.path().join("server"), |_| {}).await;
    let (url, admin) = (server.url.clone(), server.bootstrap_token.clone().unwrap());
    let http = in_process::http_client();
    let token = in_process::post_json(
        &http,
        &url,
        &admin,
        "/api/enroll-tokens",
        serde_json::json!({"maxUses": 100_000}),
    )
    .await;
    let agent = AgentProcess::start(
        &bin,
        &dir.path().join("agent"),
        &lab.ep_path(),
        Some(&own),
        Some(token["token"].as_str().unwrap()),
    );
    let pid = agent.pid().unwrap();
    in_process::post_json(
        &http,
        &url,
        &admin,
        "/api/indicators",
        serde_json::json!({"indicatorValue": rh.to_string(), "action": "AlertAndBlock", "title": "storm"}),
    )
    .await;
    let (h, u, a) = (&http, &url, &admin);
    wait_for_async(
        "the agent is in sync",
        Duration::from_secs(20),
        move || async move {
            let m = in_process::get_json(h, u, a, "/api/machines").await;
            (m["value"][0]["inSync"] == true && m["value"][0]["entries"].as_u64() > Some(2))
                .then_some(())
        },
    )
    .await;
    let hz = hz();
    // Idle: this sleep is the interval measured.
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    tokio::time::sleep(Duration::from_secs(seconds.min(5))).await;
    let idle = (cpu_ticks(pid) - c0) as f64 / hz / t0.elapsed().as_secs_f64();
    // The storm, paced in 1 ms slices, from a thread in the endpoint's namespace.
    let ep_path = lab.ep_path();
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    let attempts = tokio::task::spawn_blocking(move || {
        netward_agent::netns::run_in(&ep_path, move || {
            let to = SocketAddr::new(rh, PORT);
            let begin = Instant::now();
            let mut made = 0u64;
            while begin.elapsed() < Duration::from_secs(seconds) {
                let due = (begin.elapsed().as_secs_f64() * rate as f64) as u64;
                if made >= due {
                    // Pacing: ahead of the rate, wait for the next slice.
                    std::thread::sleep(Duration::from_micros(200));
                    continue;
                }
                let _ = TcpStream::connect_timeout(&to, Duration::from_secs(1));
                made += 1;
            }
            made
        })
        .unwrap()
    })
    .await
    .unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let storm = (cpu_ticks(pid) - c0) as f64 / hz / wall;
    // What the server counted, once it has counted them all (or after 20 s: the table says
    // "NOT exact" rather than the run failing).
    let settle = Instant::now();
    let (counted, rows) = loop {
        let list = in_process::get_json(
            &http,
            &url,
            &admin,
            &format!("/api/events?remoteIp={rh}&$top=10000"),
        )
        .await;
        let list = list["value"].as_array().unwrap().clone();
        let counted: u64 = list
            .iter()
            .map(|e| e["AdditionalFields"]["Count"].as_u64().unwrap())
            .sum();
        if counted >= attempts || settle.elapsed() > Duration::from_secs(20) {
            break (counted, list.len());
        }
        tokio::time::sleep(netward_testkit::wait::POLL).await;
    };
    let device = in_process::get_json(&http, &url, &admin, "/api/machines").await;
    println!(
        "| Phase | Attempts | Rate achieved | Agent CPU (share of one core) | Events stored | Hits counted | Lost in the kernel log |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!("| idle | 0 | - | {:.1}% | - | - | - |", idle * 100.0);
    println!(
        "| storm, {seconds} s | {attempts} | {:.0}/s | {:.1}% | {rows} | {counted} ({}) | {} |",
        attempts as f64 / wall,
        storm * 100.0,
        if counted == attempts {
            "exact"
        } else {
            "NOT exact"
        },
        device["value"][0]["eventsLost"]
    );
    drop(agent);
    server.stop().await.unwrap();
}
