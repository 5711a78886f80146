//! Feeds end to end, as root: a real server process subscribes to a plain list served on
//! loopback that names one lab remote host, and nothing else names it; the agent in the lab's
//! endpoint namespace blocks it, and the hit raises an alert whose title names the feed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod endpoint;

use std::time::Duration;

use endpoint::{BIN, in_sync, python, send_both, start_lab};
use netward_testkit::{ListServer, ServerProcess, wait_for};

#[test]
fn an_address_only_a_feed_names_is_blocked_and_its_alert_names_the_feed() {
    let s = ServerProcess::start(BIN);
    let (lab, cgroup, _state, _agent) = start_lab(&s, "feeds");
    let bad = lab.remote("v4").to_string();
    let good = lab.remote("v4b").to_string();
    let list = ListServer::start(
        "level1.netset",
        &format!("# FireHOL level 1 (test)\n{bad}\n"),
    );
    s.ok(&[
        "feed", "add", "level1", "--kind", "plain", "--url", &list.url,
    ]);
    wait_for("the feed's first run", Duration::from_secs(20), || {
        s.json(&["feed", "show", "level1"])["runs"][0]["status"]
            .as_str()
            .filter(|status| *status == "applied")
            .map(str::to_owned)
    });
    assert_eq!(
        s.json(&["indicator", "list", "--value", &bad])["value"][0]["source"],
        "level1"
    );
    in_sync(&s);

    let saw = python(&lab, &cgroup, &send_both(&bad, "AF_INET", "feed-bad"));
    assert_eq!(saw, "tcp refused\nudp refused\n");
    assert!(!lab.arrived("tcp", "feed-bad-tcp"));
    assert!(!lab.arrived("udp", "feed-bad-udp"));
    let saw = python(&lab, &cgroup, &send_both(&good, "AF_INET", "feed-good"));
    assert_eq!(
        saw, "tcp sent\nudp sent\n",
        "only what the feed names is blocked"
    );

    let alert = wait_for("the feed's alert", Duration::from_secs(10), || {
        s.json(&["alert", "list"])["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["indicatorValue"] == bad.as_str())
            .cloned()
    });
    assert_eq!(alert["title"], format!("Feed level1: {bad}"));
    assert_eq!(alert["severity"], "Medium");
}
