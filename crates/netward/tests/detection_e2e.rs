//! Detection end to end, as root: a real server process on loopback, a real agent enforcing
//! in a lab endpoint namespace with its BPF attribution programs attached to a cgroup of this
//! test's own, and Python clients in that cgroup and namespace sending traffic to the lab's
//! remote host. Every outcome an event reports is checked against what the remote host
//! actually received.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod endpoint;

use std::process::{Command, Stdio};
use std::time::Duration;

use endpoint::{BIN, in_sync, python, send_both, start_lab};
use netward_testkit::lab;
use netward_testkit::{AgentProcess, ServerProcess, wait_for};
use serde_json::Value;

fn events(s: &ServerProcess, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["events", "--top", "10000"];
    all.extend_from_slice(args);
    s.json(&all)["value"].as_array().unwrap().clone()
}

/// The one event of `protocol` to `remote`, once it has arrived.
fn event(s: &ServerProcess, remote: &str, protocol: &str, outcome: &str) -> Value {
    wait_for(
        &format!("a {outcome} {protocol} event for {remote}"),
        Duration::from_secs(10),
        || {
            events(s, &["--remote-ip", remote])
                .into_iter()
                .find(|e| e["Protocol"] == protocol && e["AdditionalFields"]["Outcome"] == outcome)
        },
    )
}

#[test]
fn every_outcome_is_reported_as_it_happened_with_the_process_and_an_alert() {
    let s = ServerProcess::start(BIN);
    let (lab, cgroup, _state, _agent) = start_lab(&s, "outcomes");
    let v4 = lab.remote("v4").to_string();
    let v4b = lab.remote("v4b").to_string();
    let v6b = lab.remote("v6b").to_string();
    s.ok(&[
        "indicator",
        "add",
        &v4,
        "--action",
        "AlertAndBlock",
        "--title",
        "C2 beacon",
        "--severity",
        "High",
        "--recommended-actions",
        "Isolate the device",
    ]);
    s.ok(&[
        "group",
        "update",
        "default",
        "--mode",
        "block",
        "--coverage",
        "tcp",
    ]);
    in_sync(&s);
    // A live tail, started before anything happens.
    let mut follow = Command::new(BIN)
        .args(["events", "--follow", "--json", "--outcome", "blocked"])
        .env("NETWARD_SERVER", &s.url)
        .env("NETWARD_TOKEN", &s.admin)
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let tail = {
        use std::io::BufRead;
        let out = std::io::BufReader::new(follow.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel::<Value>();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { return };
                if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                    return;
                }
            }
        });
        rx
    };

    // The field report, with coverage tcp: TCP is refused; UDP goes through and is reported
    // as audited, never as blocked.
    let saw = python(&lab, &cgroup, &send_both(&v4, "AF_INET", "cov-tcp"));
    assert_eq!(saw, "tcp refused\nudp sent\n");
    assert!(lab.arrived("udp", "cov-tcp-udp"));
    assert!(!lab.arrived("tcp", "cov-tcp-tcp"));
    let tcp = event(&s, &v4, "Tcp", "blocked");
    assert_eq!(tcp["ActionType"], "ExploitGuardNetworkProtectionBlocked");
    assert_eq!(tcp["AdditionalFields"]["Reason"], "indicator_block");
    assert_eq!(tcp["AdditionalFields"]["IsAudit"], false);
    assert_eq!(tcp["AdditionalFields"]["Direction"], "outbound");
    assert_eq!(tcp["AdditionalFields"]["DisplayName"], "C2 beacon");
    assert_eq!(tcp["RemotePort"], lab::PORT);
    assert_eq!(
        tcp["AdditionalFields"]["Indicators"][0]["Value"],
        v4.as_str()
    );
    // The process, named by the kernel hooks.
    assert!(
        tcp["InitiatingProcessFileName"]
            .as_str()
            .unwrap()
            .starts_with("python3"),
        "{tcp}"
    );
    assert!(tcp["InitiatingProcessId"].as_u64().unwrap() > 1);
    assert!(
        tcp["InitiatingProcessCommandLine"]
            .as_str()
            .unwrap()
            .contains("cov-tcp"),
        "{tcp}"
    );
    assert_eq!(tcp["InitiatingProcessAccountName"], "root");
    let udp = event(&s, &v4, "Udp", "audited");
    assert_eq!(udp["ActionType"], "ExploitGuardNetworkProtectionAudited");
    assert_eq!(udp["AdditionalFields"]["Reason"], "protocol_not_covered");
    assert_eq!(udp["AdditionalFields"]["IsAudit"], true);
    assert_eq!(udp["InitiatingProcessId"], tcp["InitiatingProcessId"]);
    // The live tail printed the blocked attempt, and only that (the filter holds).
    let tailed = tail.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(tailed["Id"], tcp["Id"]);
    assert_eq!(tailed["AdditionalFields"]["Outcome"], "blocked");
    assert!(
        tail.recv_timeout(Duration::from_millis(500)).is_err(),
        "nothing else yet"
    );
    follow.kill().unwrap();
    follow.wait().unwrap();

    // The alert carries the indicator's title, severity and recommended actions.
    let alerts = s.json(&["alert", "list"])["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        alerts.len(),
        1,
        "one alert per device and indicator: {alerts:?}"
    );
    let alert = &alerts[0];
    assert_eq!(alert["title"], "C2 beacon");
    assert_eq!(alert["severity"], "High");
    assert_eq!(alert["recommendedActions"], "Isolate the device");
    assert_eq!(alert["status"], "new");
    assert_eq!(alert["hitCount"], 2);
    assert_eq!(alert["outcomes"], serde_json::json!(["audited", "blocked"]));
    let id = alert["id"].as_str().unwrap().to_owned();
    let shown = s.json(&["alert", "show", &id]);
    assert_eq!(shown["evidence"].as_array().unwrap().len(), 2);

    // Coverage all: both are blocked, and nothing arrives.
    s.ok(&["group", "update", "default", "--coverage", "all"]);
    in_sync(&s);
    let saw = python(&lab, &cgroup, &send_both(&v4, "AF_INET", "cov-all"));
    assert_eq!(saw, "tcp refused\nudp refused\n");
    // Once the refused datagram is reported, it has met its rule: had it passed, it would
    // have reached the remote host by then.
    let udp = event(&s, &v4, "Udp", "blocked");
    assert_eq!(udp["AdditionalFields"]["Reason"], "indicator_block");
    assert!(!lab.arrived("udp", "cov-all-udp"));
    assert!(!lab.arrived("tcp", "cov-all-tcp"));

    // A dual-stack socket to the IPv4-mapped address goes through the IPv6 hooks: still
    // blocked (nftables sees IPv4) and still attributed.
    let saw = python(
        &lab,
        &cgroup,
        &send_both(&format!("::ffff:{v4}"), "AF_INET6", "mapped"),
    );
    assert_eq!(saw, "tcp refused\nudp refused\n");
    let mapped = wait_for(
        "the mapped attempts are reported",
        Duration::from_secs(10),
        || {
            events(&s, &["--remote-ip", &v4, "--outcome", "blocked"])
                .into_iter()
                .find(|e| {
                    e["Protocol"] == "Tcp"
                        && e["InitiatingProcessCommandLine"]
                            .as_str()
                            .is_some_and(|c| c.contains("mapped"))
                })
        },
    );
    assert_eq!(mapped["RemoteIP"], v4.as_str());

    // Audit indicators and allow indicators: the traffic arrives, and is labelled so.
    s.ok(&[
        "indicator",
        "add",
        &v4b,
        "--action",
        "Audit",
        "--title",
        "watch this",
    ]);
    s.ok(&[
        "indicator",
        "add",
        &lab.net("v6"),
        "--action",
        "block",
        "--title",
        "v6 net",
    ]);
    s.ok(&[
        "indicator",
        "add",
        &v6b,
        "--action",
        "Allowed",
        "--title",
        "trusted v6",
    ]);
    in_sync(&s);
    let saw = python(&lab, &cgroup, &send_both(&v4b, "AF_INET", "audit"));
    assert_eq!(saw, "tcp sent\nudp sent\n");
    assert!(lab.arrived("tcp", "audit-tcp"));
    assert!(lab.arrived("udp", "audit-udp"));
    let audited = event(&s, &v4b, "Tcp", "audited");
    assert_eq!(audited["AdditionalFields"]["Reason"], "indicator_audit");
    let saw = python(&lab, &cgroup, &send_both(&v6b, "AF_INET6", "allow"));
    assert_eq!(saw, "tcp sent\nudp sent\n");
    assert!(lab.arrived("tcp", "allow-tcp"));
    let allowed = event(&s, &v6b, "Tcp", "allowed");
    assert_eq!(allowed["ActionType"], "NetworkIndicatorAllowed");
    assert_eq!(allowed["AdditionalFields"]["Reason"], "indicator_allow");
    assert_eq!(
        allowed["AdditionalFields"]["ResponseCategory"],
        "CustomAllowList"
    );

    // Alerts: the audit indicator alerts by default (MDE's Audit), allows never do.
    let alerts = s.json(&["alert", "list"])["value"]
        .as_array()
        .unwrap()
        .clone();
    let titles: Vec<&str> = alerts
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"watch this"), "{titles:?}");
    assert!(!titles.contains(&"trusted v6"), "{titles:?}");

    // The device's timeline holds everything, oldest first.
    let device = s.json(&["device", "list"])["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let timeline = s.json(&["timeline", &device])["value"]
        .as_array()
        .unwrap()
        .clone();
    assert!(timeline.len() >= 8, "{}", timeline.len());
    let times: Vec<&str> = timeline
        .iter()
        .map(|e| e["Timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "in time order");
    assert_eq!(timeline[0]["AdditionalFields"]["Reason"], "indicator_block");

    // Hunting: who contacted the remote /24, and with what.
    let contacts = s.json(&["hunt", &lab.net("v4")])["value"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!contacts.is_empty());
    assert!(contacts.iter().all(|c| c["deviceId"] == device.as_str()));
    assert!(
        contacts
            .iter()
            .any(|c| c["process"].as_str().unwrap().contains("python3")),
        "{contacts:?}"
    );
    let remotes: Vec<String> = contacts
        .iter()
        .flat_map(|c| c["remoteIps"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(
        remotes.contains(&v4) && remotes.contains(&v4b),
        "{remotes:?}"
    );

    // Resolving: the alert says who resolved it, and the incident follows on request.
    let resolved = s.json(&["alert", "resolve", &id]);
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["statusChangedBy"].is_string());
    let incidents = s.json(&["incident", "list"])["value"]
        .as_array()
        .unwrap()
        .clone();
    let incident = incidents
        .iter()
        .find(|i| i["title"] == "C2 beacon")
        .unwrap();
    assert_eq!(incident["alertCount"], 1);
    assert_eq!(incident["deviceCount"], 1);
    let iid = incident["id"].as_str().unwrap();
    let closed = s.json(&["incident", "resolve", iid]);
    assert_eq!(closed["status"], "resolved");
}

/// Python that makes `n` TCP connection attempts to `host` as fast as it can and prints how
/// many were refused, then stays alive a moment so that its /proc entry can be read.
fn storm(host: &str, n: u32) -> String {
    format!(
        r#"
import socket, time
refused = 0
for i in range({n}):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect(("{host}", {port}))
    except ConnectionRefusedError:
        refused += 1
    finally:
        s.close()
print(refused)
time.sleep(1)
"#,
        port = lab::PORT
    )
}

/// Waits until the agent's spool holds exactly `hits` hits.
fn spooled(agent: &AgentProcess, hits: u64) {
    netward_testkit::wait_until(
        &format!("the agent's spool holds {hits} hits"),
        Duration::from_secs(10),
        || agent.spooled_hits() == Some(hits),
    );
}

fn blocked_total(s: &ServerProcess, remote: &str) -> (u64, usize) {
    let list = events(s, &["--remote-ip", remote, "--outcome", "blocked"]);
    (
        list.iter()
            .map(|e| e["AdditionalFields"]["Count"].as_u64().unwrap())
            .sum(),
        list.len(),
    )
}

#[test]
fn storms_are_counted_exactly_and_nothing_is_lost_or_doubled_across_outages_and_restarts() {
    let mut s = ServerProcess::start(BIN);
    let (lab, cgroup, state, mut agent) = start_lab(&s, "storm");
    let v4 = lab.remote("v4").to_string();
    s.ok(&[
        "indicator",
        "add",
        &v4,
        "--action",
        "AlertAndBlock",
        "--title",
        "beacon",
    ]);
    in_sync(&s);

    // A storm of 10,000 refused connections: exact counts, in a handful of events.
    let refused: u64 = python(&lab, &cgroup, &storm(&v4, 10_000))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(refused, 10_000);
    let (total, rows) = wait_for("the storm is reported", Duration::from_secs(20), || {
        let (total, rows) = blocked_total(&s, &v4);
        (total >= refused).then_some((total, rows))
    });
    assert_eq!(total, refused, "exact, never more");
    assert!(rows <= 30, "aggregated: {rows} events for 10,000 attempts");
    let alerts = s.json(&["alert", "list"])["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["hitCount"], 10_000);
    let device = &s.json(&["device", "list"])["value"][0];
    assert_eq!(device["eventsDropped"], 0);
    assert_eq!(device["eventsLost"], 0);

    // Everything so far is acknowledged, so the spool counts below are of new hits only.
    spooled(&agent, 0);

    // The server goes away; hits keep happening and are spooled. Then the agent is killed
    // and restarted while the server is still away; finally the server returns.
    s.stop();
    let more: u64 = python(&lab, &cgroup, &storm(&v4, 500))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(more, 500);
    // Hits reach the spool within a second; only the spool survives a kill -9.
    spooled(&agent, more);
    agent.kill9();
    let agent = AgentProcess::start(BIN, state.path(), &lab.ep_path(), Some(&cgroup), None);
    let after: u64 = python(&lab, &cgroup, &storm(&v4, 300))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(after, 300);
    spooled(&agent, more + after);
    s.restart();
    let expected = refused + more + after;
    let (total, _) = wait_for("the spooled events arrive", Duration::from_secs(30), || {
        let (total, rows) = blocked_total(&s, &v4);
        (total >= expected).then_some((total, rows))
    });
    assert_eq!(total, expected, "none lost, none doubled");
    // And nothing more arrives later (a resend would show as a surplus): once the server has
    // acknowledged everything, the spool is empty and there is nothing left to resend.
    spooled(&agent, 0);
    assert_eq!(blocked_total(&s, &v4).0, expected);
    let alerts = s.json(&["alert", "list"])["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(alerts[0]["hitCount"], expected);
}
