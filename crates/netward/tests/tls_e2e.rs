//! TLS by default, across namespaces (root): the server runs in a console namespace, the agent
//! in the endpoint namespace, and the enrollment token pins the server's CA.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::process::Output;
use std::time::Duration;

use netward_testkit::lab::{Lab, Outcome, SideHost};
use netward_testkit::{AgentProcess, ServerProcess, wait_for, wait_until};
use serde_json::Value;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

fn cli(console: &SideHost, url: &str, token: &str, ca: Option<&str>, args: &[&str]) -> Output {
    let mut c = console.ns.exec(BIN);
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
    let console = lab.side_host("cs", 150);
    let data = tempfile::tempdir().unwrap();

    // Plain HTTP off loopback is refused outright.
    let out = console
        .ns
        .exec(BIN)
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

    let server = ServerProcess::start_tls_in(BIN, &console.ns, &format!("{}:8443", console.ip));
    let (url, admin) = (server.url.clone(), server.admin.clone());
    let ca = server.ca.clone().expect("a TLS server names its CA");
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
    let out = lab
        .ep
        .exec(BIN)
        .args([
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
    let _agent = AgentProcess::start_inside(BIN, &lab.ep, state.path(), &token);
    wait_for("the agent is in sync", Duration::from_secs(15), || {
        let list = ok(cli(&console, &url, &admin, Some(&ca), &["device", "list"]));
        list["value"]
            .get(0)
            .is_some_and(|d| d["inSync"] == true)
            .then_some(())
    });
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
    wait_until("the block arrives over TLS", Duration::from_secs(5), || {
        lab.tcp(lab.remote("v4"), "x") == Outcome::Refused
    });
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
    // In sync again means the agent applied the block of its own server and still
    // reached the server to say so.
    let list = wait_for(
        "the agent still reaches its server",
        Duration::from_secs(10),
        || {
            let list = ok(cli(&console, &url, &admin, Some(&ca), &["device", "list"]));
            (list["value"][0]["inSync"] == true).then_some(list)
        },
    );
    assert_eq!(
        list["value"][0]["notEnforceable"].as_array().unwrap().len(),
        1
    );
    let _ = lab.nft(&["delete", "table", "inet", "netward"]);
}
