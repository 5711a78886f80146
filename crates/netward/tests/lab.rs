//! `netward lab` end to end (root): the field report's table, checked against what the
//! listeners on the remote host really received, for both coverages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::process::{Command, Stdio};

use serde_json::Value;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

/// Runs the lab; returns its report and the namespaces of that run still present afterwards.
fn lab(coverage: &str) -> (Value, Vec<String>) {
    let child = Command::new(BIN)
        .args(["lab", "--json", "--coverage", coverage])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("nwlab{}", child.id());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "netward lab failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        leftovers(&prefix),
    )
}

fn leftovers(prefix: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

fn row<'a>(report: &'a Value, protocol: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["protocol"] == protocol)
        .unwrap()
}

#[test]
fn coverage_all_blocks_every_protocol_and_says_so() {
    let (report, left) = lab("all");
    for proto in ["TCP", "UDP", "ICMP"] {
        let r = row(&report, proto);
        assert!(
            r["reachedRemote"].as_str().unwrap().starts_with("nothing"),
            "{r}"
        );
        let recorded = r["serverRecorded"].as_str().unwrap();
        assert!(recorded.starts_with("blocked (indicator_block)"), "{r}");
        assert!(recorded.ends_with("; alert raised"), "{r}");
    }
    // TCP and UDP are attributed to the lab process (by the kernel hooks); ping is another
    // program, sending ICMP, which the hooks do not see.
    for proto in ["TCP", "UDP"] {
        let recorded = row(&report, proto)["serverRecorded"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(recorded.contains(", netward (pid "), "{recorded}");
    }
    assert!(
        row(&report, "ICMP")["serverRecorded"]
            .as_str()
            .unwrap()
            .contains("process unknown")
    );
    assert!(
        row(&report, "TCP")["endpointSaw"]
            .as_str()
            .unwrap()
            .starts_with("connection refused")
    );
    assert!(
        row(&report, "UDP")["endpointSaw"]
            .as_str()
            .unwrap()
            .contains("operation not permitted")
    );
    assert!(report["policyVersion"].as_u64().unwrap() > 0);
    assert_eq!(
        report["verdict"],
        "every protocol was blocked (UDP, TCP and ICMP)"
    );
    assert!(left.is_empty(), "the lab left {left:?}");
}

#[test]
fn coverage_tcp_reproduces_mde_and_labels_udp_truthfully() {
    let (report, left) = lab("tcp");
    let udp = row(&report, "UDP");
    assert!(
        udp["reachedRemote"]
            .as_str()
            .unwrap()
            .starts_with("the text arrived"),
        "{udp}"
    );
    assert_eq!(udp["endpointSaw"], "sent, no error");
    assert!(
        udp["serverRecorded"]
            .as_str()
            .unwrap()
            .starts_with("audited (protocol_not_covered), netward (pid "),
        "{udp}"
    );
    let tcp = row(&report, "TCP");
    assert_eq!(tcp["reachedRemote"], "nothing");
    assert!(
        tcp["serverRecorded"]
            .as_str()
            .unwrap()
            .starts_with("blocked (indicator_block), netward (pid "),
        "{tcp}"
    );
    let verdict = report["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("UDP") && verdict.contains("coverage tcp reproduces MDE"),
        "{verdict}"
    );
    assert!(left.is_empty(), "the lab left {left:?}");
}
