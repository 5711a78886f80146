//! The agent as a systemd service sees it (root): readiness over `$NOTIFY_SOCKET` only once a
//! policy is in the kernel — the first one pulled, then, on a restart with the server away, the
//! held one re-applied — and the local metrics endpoint (`--metrics-listen`). A real server
//! process on loopback; the agent enforces in a namespace of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use netward_testkit::ServerProcess;
use netward_testkit::netns::Netns;
use netward_testkit::ports::free_port;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

/// A bound for a loaded machine, not an expected duration.
const LIMIT: Duration = Duration::from_secs(30);

/// An agent process, killed on drop.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_agent(state: &Path, ns: &Netns, notify: &Path, port: u16, enroll: Option<&str>) -> Agent {
    let mut cmd = Command::new(BIN);
    cmd.args(["agent", "--no-process-attribution", "--state-dir"])
        .arg(state)
        .arg("--netns")
        .arg(ns.path())
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .env("NOTIFY_SOCKET", notify)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    if let Some(token) = enroll {
        cmd.args(["--enroll", token]);
    }
    Agent(cmd.spawn().unwrap())
}

/// The notifications received until one says `READY=1`; fails after [`LIMIT`].
fn until_ready(manager: &UnixDatagram) -> Vec<String> {
    let deadline = Instant::now() + LIMIT;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no READY=1 within {LIMIT:?}; got {seen:?}");
        manager.set_read_timeout(Some(left)).unwrap();
        match manager.recv(&mut buf) {
            Ok(n) => {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                let ready = message.lines().any(|l| l == "READY=1");
                seen.push(message);
                if ready {
                    return seen;
                }
            }
            Err(e) => panic!("no READY=1 within {LIMIT:?} ({e}); got {seen:?}"),
        }
    }
}

fn kernel_table(ns: &Netns) -> String {
    let out = ns
        .exec("nft")
        .args(["list", "table", "inet", "netward"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scrape(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    response
}

#[test]
fn the_agent_is_ready_once_its_policy_is_in_the_kernel_and_serves_metrics() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the agent programs nftables: run this test as root"
    );
    let mut server = ServerProcess::start(BIN);
    server.ok(&[
        "indicator",
        "add",
        "198.51.100.7",
        "--action",
        "block",
        "--title",
        "svc",
    ]);
    let token = server.ok(&["enroll-token", "create"]).trim().to_owned();
    let ns = Netns::add(&format!("nwsvc{}", std::process::id()));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let notify = dir.path().join("notify");
    let manager = UnixDatagram::bind(&notify).unwrap();
    let port = free_port();

    // First start: ready only after the first policy is pulled and applied.
    let agent = start_agent(&state, &ns, &notify, port, Some(&token));
    let seen = until_ready(&manager);
    let ready = seen.last().unwrap();
    assert!(ready.contains("STATUS=enforcing policy v"), "{seen:?}");
    assert!(ready.contains("connected"), "{ready}");
    assert!(
        kernel_table(&ns).contains("198.51.100.7"),
        "READY=1 before the kernel held the block"
    );
    let metrics = scrape(port);
    for line in [
        "netward_agent_applies_total{result=\"ok\"}",
        "netward_agent_set_entries{set=\"block_v4_addr\"} 1",
        "netward_agent_tamper_repairs_total 0",
        "netward_agent_lost_hits_total 0",
    ] {
        assert!(metrics.contains(line), "{line} missing in:\n{metrics}");
    }
    assert!(
        metrics.contains("netward_agent_policy_version "),
        "{metrics}"
    );
    drop(agent);

    // Restart with the server away: ready once the held policy is re-applied.
    server.stop();
    let _agent = start_agent(&state, &ns, &notify, port, None);
    let seen = until_ready(&manager);
    let ready = seen.last().unwrap();
    assert!(ready.contains("STATUS=enforcing policy v"), "{seen:?}");
    assert!(ready.contains("server away"), "{ready}");
}
