//! The README's "Using it" section, run as written: every line of its shell blocks, in order,
//! against a real server process, in a shell whose environment is what that server printed at
//! its first start (`export NETWARD_SERVER=… NETWARD_TOKEN=…`). Any non-zero exit fails.
//!
//! The few lines that need an endpoint are skipped, each for the reason in [`SKIPPED`]; in
//! place of `netward agent --enroll`, the test enrolls a device with the token the line
//! before printed and reports the hit its agent would (through the agent API), so that the
//! lines after it have a device, events, an alert and an incident to show.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::path::Path;
use std::process::Command;

use netward_testkit::ServerProcess;
use netward_testkit::in_process::{http_client, post_json};
use serde_json::json;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

/// Lines not run, by their start, and why. Keep this short: a line belongs here only if it
/// needs root, a running agent or another host.
const SKIPPED: &[(&str, &str)] = &[
    (
        "export ",
        "placeholders; the shell gets the lines the test's server printed instead",
    ),
    (
        "netward agent --enroll",
        "needs root and nftables; the test enrolls a device and reports its hit instead",
    ),
    (
        "netward agent status",
        "reads an agent's state directory, on the endpoint",
    ),
    (
        "netward agent uninstall",
        "needs root: removes the agent's nftables table",
    ),
    (
        "netward events --follow",
        "a live tail, which runs until Ctrl-C",
    ),
    ("netward lab", "needs root: builds network namespaces"),
];

/// The command lines of the shell blocks of the section `## Using it`.
fn usage_lines(readme: &str) -> Vec<String> {
    let start = readme
        .find("\n## Using it\n")
        .expect("the README has a section `## Using it`");
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in section[..end].lines() {
        if line.starts_with("```") {
            in_block = !in_block && line.trim_start_matches('`') == "sh";
            continue;
        }
        let line = line.trim();
        if in_block && !line.is_empty() && !line.starts_with('#') {
            lines.push(line.to_owned());
        }
    }
    lines
}

/// Enrolls a device with the token `enroll-token create` printed, and reports one hit on
/// `203.0.113.7` as its agent would: audited, since the README puts it in `servers`, a group
/// in audit mode.
fn enroll_and_report_a_hit(s: &ServerProcess, printed: &str) {
    let token = printed.lines().next().unwrap().trim().to_owned();
    assert!(token.starts_with("nwe_"), "{printed}");
    let shown = s.json(&["indicator", "show", "203.0.113.7"]);
    let indicator_id: i64 = shown["id"].as_str().unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = http_client();
        let enrolled = post_json(
            &http,
            &s.url,
            "",
            "/api/agent/enroll",
            json!({"token": token, "facts": {
                "hostname": "web-1", "os": "Debian GNU/Linux 12", "kernel": "6.1.0",
                "agentVersion": "test", "addresses": ["192.0.2.10"]}}),
        )
        .await;
        let secret = enrolled["secret"].as_str().unwrap();
        let now_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let ack = post_json(
            &http,
            &s.url,
            secret,
            "/api/agent/events",
            json!({"events": [{
                "seq": 1, "firstSeenMs": now_ms, "lastSeenMs": now_ms, "count": 1,
                "direction": "outbound", "protocol": "tcp",
                "localIp": "192.0.2.10", "localPort": 40000,
                "remoteIp": "203.0.113.7", "remotePort": 443,
                "outcome": "audited", "reason": "device_audit_mode",
                "indicators": [{"id": indicator_id, "value": "203.0.113.7"}],
                "process": null}], "dropped": 0, "lost": 0}),
        )
        .await;
        assert_eq!(ack["ackedSeq"], 1, "{ack}");
    });
}

#[test]
fn the_readme_usage_runs_in_order_against_a_real_server() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let lines = usage_lines(&readme);
    assert!(lines.len() > 20, "{lines:?}");
    let s = ServerProcess::start(BIN);
    let work = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    let mut last_stdout = String::new();
    for line in &lines {
        if let Some((_, why)) = SKIPPED.iter().find(|(start, _)| line.starts_with(start)) {
            eprintln!("skipped: {line}\n  ({why})");
            if line.starts_with("netward agent --enroll") {
                enroll_and_report_a_hit(&s, &last_stdout);
            }
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("set -e\n{}\n{line}", s.exports))
            .current_dir(work.path())
            .env("PATH", &path)
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env_remove("NETWARD_CA_CERT")
            .env_remove("NETWARD_CONFIG")
            .env_remove("NETWARD_SERVER")
            .env_remove("NETWARD_TOKEN")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README line `{line}` exited {:?}:\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        last_stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        ran += 1;
    }
    for (start, _) in SKIPPED {
        assert!(
            lines.iter().any(|l| l.starts_with(start)),
            "no README line starts with `{start}`: remove it from SKIPPED"
        );
    }
    assert!(ran >= 25, "only {ran} lines ran");
    // What the lines did, checked once at the end.
    let alert = s.json(&["alert", "show", "1"]);
    assert_eq!(alert["status"], "resolved", "{alert}");
    assert_eq!(
        s.json(&["settings", "show"])["customNetworkIndicators"],
        false
    );
}
