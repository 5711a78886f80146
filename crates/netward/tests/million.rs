//! A million indicators, end to end (root): imported through the CLI, pushed to a real agent
//! enforcing in a lab namespace, then one more added on top. What a user would check: the
//! indicator added last is enforced, an address on no list passes, and an indicator among the
//! million is found by the CLI's `--value` and by the console's search.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod endpoint;

use std::io::Write;
use std::time::Duration;

use endpoint::{BIN, start_lab};
use netward_testkit::lab::Outcome;
use netward_testkit::{ServerProcess, wait_until};

const MILLION: usize = 1_000_000;

#[test]
fn a_million_indicators_are_enforced_searched_and_one_more_lands_on_top() {
    let server = ServerProcess::start(BIN);
    let (lab, _cgroup, _state, _agent) = start_lab(&server, "million");

    // The benchmarks' generator: addresses in 11–99.x, /24s in 101–126.x, IPv6 in 2001:db8::/32,
    // none in the lab's 10.100.0.0/16 or fd00::/8.
    let indicators = netward_testkit::bench::indicators(MILLION);
    let file = tempfile::NamedTempFile::new().unwrap();
    {
        let mut out = std::io::BufWriter::new(file.as_file());
        for ind in indicators.values() {
            writeln!(out, "{}", ind.value).unwrap();
        }
    }
    let sample = indicators[&(MILLION as i64 / 2)].value.to_string();
    drop(indicators);
    let imported = server.ok(&[
        "indicator",
        "import",
        &file.path().display().to_string(),
        "--format",
        "list",
        "--action",
        "block",
        "--title",
        "a million",
    ]);
    assert!(imported.contains("1000000 applied, 0 failed"), "{imported}");
    wait_until(
        "the device holds the million",
        Duration::from_secs(600),
        || {
            let device = &server.json(&["device", "list"])["value"][0];
            device["inSync"] == true && device["entries"].as_u64() > Some(900_000)
        },
    );

    // The indicator added last is enforced; an address on no list passes.
    let last = lab.remote("v4");
    server.ok(&[
        "indicator",
        "add",
        &last.to_string(),
        "--action",
        "block",
        "--title",
        "the last one",
    ]);
    wait_until(
        "the indicator added last is enforced",
        Duration::from_secs(30),
        || lab.tcp(last, "after a million") == Outcome::Refused,
    );
    assert_eq!(lab.tcp(lab.remote("v4b"), "unlisted"), Outcome::Sent);
    assert!(lab.arrived("tcp", "unlisted"));

    // Found among the million by the CLI's `--value` and by the console's search.
    let found = server.json(&["indicator", "list", "--value", &sample]);
    assert_eq!(
        found["value"][0]["indicatorValue"],
        sample.as_str(),
        "{found}"
    );
    let page = console_search(&server, &sample);
    assert!(
        page.contains(&sample),
        "the console's search finds {sample}"
    );
    assert!(!page.contains("No indicator matches"), "{page}");
}

/// The console's indicators page searched for `text`, signed in with the admin token over
/// plain HTTP (the server listens on loopback).
fn console_search(server: &ServerProcess, text: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = netward_testkit::in_process::http_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = &server.url;
        let form = http.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = cookie(&form);
        let html = form.text().await.unwrap();
        let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
        let csrf = html[at..at + 64].to_owned();
        let signed_in = http
            .post(format!("{base}/login"))
            .header(reqwest::header::COOKIE, login_cookie)
            .form(&[("token", server.admin.as_str()), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        let session = cookie(&signed_in);
        http.get(format!("{base}/indicators"))
            .query(&[("q", text)])
            .header(reqwest::header::COOKIE, session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
}

/// The `name=value` of the cookie an answer sets.
fn cookie(resp: &reqwest::Response) -> String {
    resp.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}
