//! Failover end to end, as root: an agent enrolled with a token that names two server replicas
//! moves to the second by itself when the first goes away, asks it for a delta (the version it
//! holds goes with it), enforces what is added there, and its events arrive exactly once.
//!
//! Two replicas share one database. With the embedded SQLite store two processes cannot hold
//! one data directory at once, so replica A runs first and replica B takes the same data
//! directory (the same database, CA and device credentials) after A is stopped; each listens on
//! an address of its own. With PostgreSQL the two run side by side; the agent's part is the
//! same.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod endpoint;

use std::time::Duration;

use endpoint::BIN;
use netward_testkit::lab::Lab;
use netward_testkit::{AgentProcess, ServerProcess, free_port, wait_for, wait_until};
use serde_json::Value;

/// The one device, as `s` lists it.
fn device(s: &ServerProcess) -> Value {
    s.json(&["device", "list"])["value"][0].clone()
}

/// Waits until the one device has applied the current version of `s` and is connected to it.
fn in_sync(s: &ServerProcess) {
    wait_until(
        &format!("the device is in sync with {}", s.url),
        Duration::from_secs(30),
        || {
            let d = device(s);
            d["inSync"] == true && d["online"] == true
        },
    );
}

/// Blocked hits on `remote` that `s` stored: their total count, and how many events.
fn blocked(s: &ServerProcess, remote: &str) -> (u64, usize) {
    let list = s.json(&[
        "events",
        "--top",
        "10000",
        "--remote-ip",
        remote,
        "--outcome",
        "blocked",
    ])["value"]
        .as_array()
        .unwrap()
        .clone();
    (
        list.iter()
            .map(|e| e["AdditionalFields"]["Count"].as_u64().unwrap())
            .sum(),
        list.len(),
    )
}

#[test]
fn the_agent_moves_to_the_next_replica_by_itself_stays_in_sync_and_reports_each_hit_once() {
    // Two replicas on loopback addresses of their own, at ports of their own.
    let (a_listen, b_listen) = (
        format!("127.0.0.2:{}", free_port()),
        format!("127.0.0.3:{}", free_port()),
    );
    let (a_url, b_url) = (format!("http://{a_listen}"), format!("http://{b_listen}"));
    let mut a = ServerProcess::start_advertising(BIN, &a_listen, &[a_url.clone(), b_url.clone()]);
    assert_eq!(a.url, a_url, "a replica's own URL comes first");
    let token = a.ok(&["enroll-token", "create"]).trim().to_owned();
    assert!(
        token.ends_with(&format!("@{a_url},{b_url}")),
        "the token names both replicas: {token}"
    );

    let lab = Lab::new();
    let state = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("agent.log");
    let agent = AgentProcess::start_logged(BIN, state.path(), &lab.ep_path(), Some(&token), &log);
    in_sync(&a);
    let status = agent.status();
    assert_eq!(status["server"], a_url.as_str());
    assert_eq!(status["servers"], serde_json::json!([a_url, b_url]));

    // A block added through A, and hits on it that A stores and acknowledges.
    let v4 = lab.remote("v4");
    a.ok(&[
        "indicator",
        "add",
        &v4.to_string(),
        "--action",
        "AlertAndBlock",
        "--title",
        "beacon",
    ]);
    in_sync(&a);
    let version_on_a = device(&a)["appliedVersion"].clone();
    lab.assert_refused(v4, 5, "before");
    let before = wait_for("A stores the first hits", Duration::from_secs(20), || {
        let (total, _) = blocked(&a, &v4.to_string());
        (total >= 5 && agent.spooled_hits() == Some(0)).then_some(total)
    });

    // A goes away. Hits go on, into the agent's spool, while neither replica answers.
    a.stop();
    lab.assert_refused(v4, 7, "between");
    let spooled = wait_for("the hits are spooled", Duration::from_secs(10), || {
        agent.spooled_hits().filter(|n| *n >= 7)
    });

    // B takes A's data directory; the agent finds it by itself.
    let b = ServerProcess::start_replica(&a, &b_listen, &[b_url.clone(), a_url.clone()]);
    assert_eq!(b.url, b_url);
    in_sync(&b);
    wait_until("the agent says it uses B", Duration::from_secs(20), || {
        let s = agent.status();
        s["server"] == b_url.as_str() && s["connected"] == true
    });
    assert_eq!(
        device(&b)["appliedVersion"],
        version_on_a,
        "B serves the version A served: nothing to pull"
    );

    // Every hit arrives on B once: A's, and those spooled while no replica answered.
    let expected = before + spooled;
    let (total, _) = wait_for("B stores the spooled hits", Duration::from_secs(30), || {
        let (total, rows) = blocked(&b, &v4.to_string());
        (total >= expected && agent.spooled_hits() == Some(0)).then_some((total, rows))
    });
    assert_eq!(total, expected, "none lost, none doubled");
    let alerts = b.json(&["alert", "list"])["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["hitCount"], expected);

    // A block added through B is enforced, from a delta: the agent's journal gains a line,
    // where a snapshot would have rewritten policy.json and emptied the journal.
    let v4b = lab.remote("v4b");
    let journal = state.path().join("policy.journal");
    let journal_before = std::fs::read_to_string(&journal).unwrap_or_default();
    b.ok(&[
        "indicator",
        "add",
        &v4b.to_string(),
        "--action",
        "Block",
        "--title",
        "added on B",
    ]);
    in_sync(&b);
    lab.assert_refused(v4b, 1, "after");
    let journal_after = std::fs::read_to_string(&journal).unwrap();
    let line = journal_after
        .strip_prefix(journal_before.as_str())
        .expect("the journal was appended to, not rewritten");
    let delta: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(delta["full"], false, "a delta, not a snapshot: {line}");
    assert_eq!(delta["version"], device(&b)["appliedVersion"]);

    // The switch is logged, naming both servers; and nothing more arrives later.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("switching to the next one") && l.contains(&b_url)),
        "{logged}"
    );
    assert_eq!(blocked(&b, &v4.to_string()).0, expected);
    drop(agent);
    drop(b);
    drop(a);
}
