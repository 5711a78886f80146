//! Benchmark: the agent's CPU during a storm of blocked connection attempts (root).
//!
//! `cargo build --release && cargo run --release -p netward --example storm -- [RATE] [SECONDS]`
//!
//! Builds an endpoint and a remote host in network namespaces, runs the server in this process
//! on loopback and the real `netward agent` binary enforcing in the endpoint (with process
//! attribution on a cgroup of this benchmark's own), blocks the remote host, then makes RATE
//! (default 10,000) TCP connection attempts a second to it from the endpoint for SECONDS
//! (default 10). Prints the agent's CPU (from /proc, user + system) idle and during the storm,
//! and checks the server's count of the attempts against the real number. Everything created
//! is removed at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EP: Ipv4Addr = Ipv4Addr::new(198, 19, 7, 1);
const RH: Ipv4Addr = Ipv4Addr::new(198, 19, 7, 2);
const PORT: u16 = 55441;

#[path = "../../netward-agent/examples/common/mod.rs"]
mod common;
use common::ip;

struct Cleanup {
    netns: Vec<String>,
    agent: Option<Child>,
    cgroup: Option<netward_agent::events::cgroup::ChildCgroup>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut a) = self.agent.take() {
            let _ = a.kill();
            let _ = a.wait();
        }
        for n in &self.netns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
        // Moves this process back out of the cgroup and removes it.
        self.cgroup.take();
    }
}

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

async fn api(http: &reqwest::Client, url: &str, token: &str, path: &str) -> serde_json::Value {
    http.get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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
    let id = std::process::id();
    let (ep, rh) = (format!("nwstorm{id}ep"), format!("nwstorm{id}rh"));
    let mut cleanup = Cleanup {
        netns: vec![],
        agent: None,
        cgroup: None,
    };
    for n in [&ep, &rh] {
        ip(&["netns", "add", n]);
        cleanup.netns.push(n.clone());
    }
    let (va, vb) = (format!("nws{id}a"), format!("nws{id}b"));
    ip(&[
        "link", "add", &va, "netns", &ep, "type", "veth", "peer", "name", &vb, "netns", &rh,
    ]);
    ip(&["-n", &ep, "addr", "add", &format!("{EP}/24"), "dev", &va]);
    ip(&["-n", &rh, "addr", "add", &format!("{RH}/24"), "dev", &vb]);
    for (n, d) in [(&ep, &va), (&rh, &vb)] {
        ip(&["-n", n, "link", "set", d, "up"]);
        ip(&["-n", n, "link", "set", "lo", "up"]);
    }
    // A cgroup of our own, for the attribution programs and the storm's thread.
    let mut own =
        netward_agent::events::cgroup::ChildCgroup::create(&format!("netward-storm-{id}")).unwrap();
    own.enter().unwrap();
    let own_path = own.path().to_owned();
    cleanup.cgroup = Some(own);

    let dir = tempfile::tempdir().unwrap();
    let server = common::start_server(&dir.path().join("server")).await;
    let (url, admin) = (server.url.clone(), server.bootstrap_token.clone().unwrap());
    let http = common::http_client();
    let token = common::post_json(
        &http,
        &url,
        &admin,
        "/api/enroll-tokens",
        serde_json::json!({}),
    )
    .await;
    let agent = Command::new(&bin)
        .args([
            "agent",
            "--enroll",
            token["token"].as_str().unwrap(),
            "--state-dir",
        ])
        .arg(dir.path().join("agent"))
        .arg("--netns")
        .arg(format!("/run/netns/{ep}"))
        .arg("--cgroup")
        .arg(&own_path)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = agent.id();
    cleanup.agent = Some(agent);
    common::post_json(
        &http,
        &url,
        &admin,
        "/api/indicators",
        serde_json::json!({"indicatorValue": RH.to_string(), "action": "AlertAndBlock", "title": "storm"}),
    )
    .await;
    let started = Instant::now();
    loop {
        let m = api(&http, &url, &admin, "/api/machines").await;
        if m["value"][0]["inSync"] == true && m["value"][0]["entries"].as_u64() > Some(2) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the agent did not sync"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hz = hz();
    // Idle.
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    tokio::time::sleep(Duration::from_secs(seconds.min(5))).await;
    let idle = (cpu_ticks(pid) - c0) as f64 / hz / t0.elapsed().as_secs_f64();
    // The storm, paced in 1 ms slices, from a thread in the endpoint's namespace.
    let ep_path = PathBuf::from(format!("/run/netns/{ep}"));
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    let attempts = tokio::task::spawn_blocking(move || {
        netward_agent::netns::run_in(&ep_path, move || {
            let to = SocketAddr::from((RH, PORT));
            let begin = Instant::now();
            let mut made = 0u64;
            while begin.elapsed() < Duration::from_secs(seconds) {
                let due = (begin.elapsed().as_secs_f64() * rate as f64) as u64;
                if made >= due {
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
    // What the server counted.
    let settle = Instant::now();
    let (counted, rows) = loop {
        let list = api(
            &http,
            &url,
            &admin,
            &format!("/api/events?remoteIp={RH}&$top=10000"),
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let device = api(&http, &url, &admin, "/api/machines").await;
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
    server.stop().await.unwrap();
}
