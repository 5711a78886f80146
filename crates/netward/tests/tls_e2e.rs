//! TLS by default, across namespaces (root): the server runs in a console namespace, the agent
//! in the endpoint namespace, and the enrollment token pins the server's CA.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;
#[path = "../../netward-agent/tests/lab/mod.rs"]
mod lab;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::BIN;
use lab::{Lab, Outcome};
use serde_json::Value;

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A console namespace joined to the lab's endpoint by its own veth pair.
struct Console {
    name: String,
    ip: String,
}

impl Console {
    fn new(lab: &Lab) -> Self {
        let name = format!("{}cs", lab.ep.trim_end_matches("ep"));
        let (a, b) = (format!("{name}x"), format!("{name}y"));
        let sub = format!("10.{}.{}", 150 + lab.n / 250, lab.n % 250);
        let run = |args: &[&str]| {
            assert!(
                Command::new("ip").args(args).status().unwrap().success(),
                "ip {args:?}"
            )
        };
        run(&["netns", "add", &name]);
        run(&[
            "link", "add", &a, "netns", &name, "type", "veth", "peer", "name", &b, "netns", &lab.ep,
        ]);
        run(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{sub}.1/24"),
            "dev",
            &a,
        ]);
        run(&[
            "-n",
            &lab.ep,
            "addr",
            "add",
            &format!("{sub}.2/24"),
            "dev",
            &b,
        ]);
        for (ns, dev) in [(&name, &a), (&lab.ep, &b)] {
            run(&["-n", ns, "link", "set", dev, "up"]);
            run(&["-n", ns, "link", "set", "lo", "up"]);
        }
        Self {
            name,
            ip: format!("{sub}.1"),
        }
    }

    fn exec(&self) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, BIN]);
        c
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn cli(console: &Console, url: &str, token: &str, ca: Option<&str>, args: &[&str]) -> Output {
    let mut c = console.exec();
    c.args(args)
        .args(["--json", "--server", url, "--token", token]);
    if let Some(ca) = ca {
        c.args(["--ca-cert", ca]);
    }
    c.env("XDG_CONFIG_HOME", "/nonexistent").output().unwrap()
}

fn ok(out: Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn agents_enroll_over_tls_with_a_pinned_ca_and_a_wrong_pin_is_refused() {
    let lab = Lab::new();
    let console = Console::new(&lab);
    let data = tempfile::tempdir().unwrap();
    let mut procs = Killed(Vec::new());

    // Plain HTTP off loopback is refused outright.
    let out = console
        .exec()
        .args([
            "server",
            "--plain-http",
            "--listen",
            &format!("{}:8440", console.ip),
            "--data-dir",
        ])
        .arg(data.path().join("x"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to serve plain HTTP"));

    let mut server = console
        .exec()
        .args([
            "server",
            "--listen",
            &format!("{}:8443", console.ip),
            "--data-dir",
        ])
        .arg(data.path().join("server"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    procs.0.push(server);
    let (mut admin, mut ca, mut url) = (String::new(), String::new(), String::new());
    while url.is_empty() {
        let line = lines.next().expect("the server exited").unwrap();
        if line.starts_with("nwt_") {
            admin = line;
        } else if let Some(rest) = line.strip_prefix("netward: CA certificate ") {
            ca = rest.split(" (sha256").next().unwrap().to_owned();
        } else if let Some(u) = line.strip_prefix("netward: listening on ") {
            url = u.to_owned();
        }
    }
    assert!(url.starts_with("https://"), "{url}");

    // The CLI needs the CA for https, and then works.
    let out = cli(&console, &url, &admin, None, &["group", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca-cert"));
    let token = ok(cli(
        &console,
        &url,
        &admin,
        Some(&ca),
        &["enroll-token", "create"],
    ))["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        token.contains("@https://") && token.contains("#sha256:"),
        "{token}"
    );

    // A token whose pin does not match the server's CA is refused before anything is sent.
    let (head, _) = token.split_once("#sha256:").unwrap();
    let forged = format!("{head}#sha256:{}", "0".repeat(64));
    let bad_state = tempfile::tempdir().unwrap();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ep,
            BIN,
            "agent",
            "--no-process-attribution",
            "--enroll",
            &forged,
            "--state-dir",
        ])
        .arg(bad_state.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fingerprint"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The real token: the agent, in the endpoint's own namespace, enrolls and enforces.
    let state = tempfile::tempdir().unwrap();
    let agent = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ep,
            BIN,
            "agent",
            "--no-process-attribution",
            "--enroll",
            &token,
            "--state-dir",
        ])
        .arg(state.path())
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    procs.0.push(agent);
    let started = Instant::now();
    loop {
        let list = ok(cli(&console, &url, &admin, Some(&ca), &["device", "list"]));
        if list["value"].get(0).is_some_and(|d| d["inSync"] == true) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the agent never synced: {list}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let remote = lab.remote("v4").to_string();
    ok(cli(
        &console,
        &url,
        &admin,
        Some(&ca),
        &[
            "indicator",
            "add",
            &remote,
            "--action",
            "block",
            "--title",
            "lab-test-access",
        ],
    ));
    let started = Instant::now();
    while lab.tcp(lab.remote("v4"), "x") != Outcome::Refused {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the block never arrived over TLS"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lab.udp(lab.remote("v4"), "u"), Outcome::Refused);
    // The agent never blocks its own server.
    ok(cli(
        &console,
        &url,
        &admin,
        Some(&ca),
        &[
            "indicator",
            "add",
            &console.ip,
            "--action",
            "block",
            "--title",
            "the console itself",
            "--force",
        ],
    ));
    std::thread::sleep(Duration::from_millis(500));
    let list = ok(cli(&console, &url, &admin, Some(&ca), &["device", "list"]));
    assert_eq!(
        list["value"][0]["inSync"], true,
        "the agent still reaches its server: {list}"
    );
    assert_eq!(
        list["value"][0]["notEnforceable"].as_array().unwrap().len(),
        1
    );
    let _ = Command::new("ip")
        .args([
            "netns", "exec", &lab.ep, "nft", "delete", "table", "inet", "netward",
        ])
        .output();
}
