//! Groups, the tenant switch, the guard rails and the effective policy, over real HTTP:
//! allow beats block and audit whatever the prefix lengths, scope and expiry are honoured.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{TestServer, error_of};
use ipnet::IpNet;
use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn nets(policy: &Value, action: &str) -> Vec<String> {
    policy[action]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn covered(policy: &Value, action: &str, addr: IpAddr) -> bool {
    nets(policy, action)
        .iter()
        .any(|n| n.parse::<IpNet>().unwrap().contains(&addr))
}

#[tokio::test]
async fn groups_crud_with_mode_and_coverage() {
    let s = TestServer::start().await;
    let (status, g) = s
        .post(
            "/api/groups",
            json!({"name": "lab", "description": "the lab", "mode": "audit", "coverage": "tcp"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        g,
        json!({"name": "lab", "description": "the lab", "mode": "audit", "coverage": "tcp"})
    );
    let (_, g) = s.post("/api/groups", json!({"name": "defaults"})).await;
    assert_eq!(
        (g["mode"].as_str(), g["coverage"].as_str()),
        (Some("block"), Some("all")),
        "safe defaults"
    );
    for (body, field) in [
        (json!({"name": "x", "mode": "2fast"}), "mode"),
        (json!({"name": "x", "coverage": "udp"}), "coverage"),
        (json!({"name": "a/b"}), "name"),
        (json!({}), "name"),
    ] {
        let (status, answer) = s.post("/api/groups", body).await;
        assert_eq!(
            (status, error_of(&answer).2),
            (StatusCode::BAD_REQUEST, Some(field))
        );
    }
    assert_eq!(
        s.post("/api/groups", json!({"name": "lab"})).await.0,
        StatusCode::CONFLICT
    );

    let (status, g) = s
        .send(
            s.req(Method::PATCH, "/api/groups/lab", Some(&s.admin))
                .json(&json!({"mode": "1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (g["mode"].as_str(), g["coverage"].as_str()),
        (Some("block"), Some("tcp"))
    );
    assert_eq!(s.get("/api/groups/lab").await.1, g);
    assert_eq!(
        s.send(
            s.req(Method::PATCH, "/api/groups/nope", Some(&s.admin))
                .json(&json!({}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    let (_, ind) = s.post("/api/indicators", json!({"indicatorValue": "192.0.2.1", "action": "Block", "title": "t", "rbacGroupNames": ["lab"]})).await;
    let (status, body) = s
        .send(s.req(Method::DELETE, "/api/groups/lab", Some(&s.admin)))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).1.contains("1 indicator"));
    s.send(s.req(
        Method::DELETE,
        &format!("/api/indicators/{}", ind["id"].as_str().unwrap()),
        Some(&s.admin),
    ))
    .await;
    assert_eq!(
        s.send(s.req(Method::DELETE, "/api/groups/lab", Some(&s.admin)))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(s.get("/api/groups/lab").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        s.send(s.req(Method::DELETE, "/api/groups/default", Some(&s.admin)))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (_, list) = s.get("/api/groups").await;
    let names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "defaults"]);
}

#[tokio::test]
async fn allow_beats_block_and_audit_whatever_the_prefix_lengths() {
    let s = TestServer::start().await;
    for (value, action) in [
        ("10.0.0.0/8", "Block"),
        ("10.1.2.3", "Allowed"),
        ("10.1.2.0/24", "Audit"),
        ("203.0.113.0/24", "Allowed"),
        ("203.0.113.9", "Block"),
        ("2001:db8::/32", "Audit"),
        ("2001:db8:1::/48", "Block"),
    ] {
        let (status, body) = s
            .post(
                "/api/indicators",
                json!({"indicatorValue": value, "action": action, "title": value}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, p) = s.get("/api/groups/default/policy").await;
    assert_eq!(p["indicatorCount"], 7);
    let action_of = |a: &str| {
        let addr: IpAddr = a.parse().unwrap();
        let hits: Vec<&str> = ["allow", "block", "audit"]
            .into_iter()
            .filter(|act| covered(&p, act, addr))
            .collect();
        assert!(hits.len() <= 1, "{a} is in {hits:?}");
        hits.first().copied()
    };
    assert_eq!(action_of("10.1.2.3"), Some("allow"));
    assert_eq!(action_of("10.1.2.4"), Some("block"), "block beats audit");
    assert_eq!(action_of("10.200.0.1"), Some("block"));
    assert_eq!(
        action_of("203.0.113.9"),
        Some("allow"),
        "a wide allow beats a narrow block"
    );
    assert_eq!(action_of("2001:db8:1::5"), Some("block"));
    assert_eq!(action_of("2001:db8:2::5"), Some("audit"));
    assert_eq!(action_of("192.0.2.1"), None);
}

#[tokio::test]
async fn scope_mode_coverage_and_the_tenant_switch_shape_the_policy() {
    let s = TestServer::start().await;
    s.post(
        "/api/groups",
        json!({"name": "servers", "mode": "audit", "coverage": "tcp"}),
    )
    .await;
    s.post(
        "/api/indicators",
        json!({"indicatorValue": "192.0.2.10", "action": "Block", "title": "all"}),
    )
    .await;
    s.post("/api/indicators", json!({"indicatorValue": "192.0.2.20", "action": "Block", "title": "servers", "rbacGroupNames": ["servers"]})).await;
    let (_, d) = s.get("/api/groups/default/policy").await;
    let (_, sv) = s.get("/api/groups/servers/policy").await;
    assert_eq!(nets(&d, "block"), ["192.0.2.10/32"]);
    assert_eq!(nets(&sv, "block"), ["192.0.2.10/32", "192.0.2.20/32"]);
    assert_eq!(
        (sv["mode"].as_str(), sv["coverage"].as_str()),
        (Some("audit"), Some("tcp"))
    );
    assert_eq!(
        s.get("/api/groups/nope/policy").await.0,
        StatusCode::NOT_FOUND
    );

    let (status, settings) = s
        .send(
            s.req(Method::PATCH, "/api/settings", Some(&s.admin))
                .json(&json!({"customNetworkIndicators": false})),
        )
        .await;
    assert_eq!(
        (status, settings),
        (StatusCode::OK, json!({"customNetworkIndicators": false}))
    );
    let (_, off) = s.get("/api/groups/servers/policy").await;
    assert_eq!(off["mode"], "off");
    assert_eq!(off["customNetworkIndicators"], false);
    assert!(
        nets(&off, "block").is_empty(),
        "the emergency brake empties every policy"
    );
    let (status, body) = s
        .send(
            s.req(Method::PATCH, "/api/settings", Some(&s.admin))
                .json(&json!({"customNetworkIndicators": "no"})),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("customNetworkIndicators"))
    );
}

#[tokio::test]
async fn guard_rails_refuse_dangerous_blocks_unless_forced() {
    let s = TestServer::start().await;
    let own = s.server.as_ref().unwrap().addr.ip().to_string();
    for (value, fragment) in [
        ("127.0.0.53", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::/64", "link-local"),
        ("0.0.0.0/0", "loopback"),
        ("12.0.0.0/7", "more than a /8"),
        ("2001:db8::/31", "more than a /32"),
        (own.as_str(), "loopback"),
    ] {
        let body = json!({"indicatorValue": value, "action": "Block", "title": "t"});
        let (status, answer) = s.post("/api/indicators", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{value}: {answer}");
        let (code, message, target) = error_of(&answer);
        assert_eq!((code, target), ("GuardRail", Some("indicatorValue")));
        assert!(
            message.contains(fragment) && message.contains("force"),
            "{value}: {message}"
        );
        let (status, answer) = s
            .send(
                s.req(Method::POST, "/api/indicators?force=true", Some(&s.admin))
                    .json(&body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value} with force: {answer}");
    }
    for action in ["Allowed", "Audit"] {
        let (status, _) = s
            .post(
                "/api/indicators",
                json!({"indicatorValue": "127.0.0.0/8", "action": action, "title": "t"}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{action} on loopback is not a block"
        );
    }
    assert_eq!(
        s.post(
            "/api/indicators",
            json!({"indicatorValue": "11.0.0.0/8", "action": "Block", "title": "t"})
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_expired_indicator_leaves_the_policy_at_its_expiration_second() {
    // The server's clock is the test's: the second of expiry is checked exactly, without
    // waiting for the wall clock.
    let start: i64 = 1_900_000_000;
    let clock = std::sync::Arc::new(netward_server::clock::ManualClock::at(start));
    let s = TestServer::start_with_clock(clock.clone()).await;
    let expires = start + 60;
    let at = time::OffsetDateTime::from_unix_timestamp(expires)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, body) = s.post("/api/indicators", json!({"indicatorValue": "198.51.100.99", "action": "Block", "title": "t", "expirationTime": at})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, before) = s.get("/api/groups/default/policy").await;
    assert_eq!(nets(&before, "block"), ["198.51.100.99/32"]);
    assert_eq!(before["nextChange"], at.as_str());
    clock.advance(59);
    let (_, last_second) = s.get("/api/groups/default/policy").await;
    assert_eq!(
        nets(&last_second, "block"),
        ["198.51.100.99/32"],
        "still in force one second before"
    );
    clock.advance(1);
    let (_, after) = s.get("/api/groups/default/policy").await;
    assert!(
        nets(&after, "block").is_empty(),
        "gone at its second: {after}"
    );
    assert_eq!(
        s.get("/api/indicators").await.1["value"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (_, all) = s.get("/api/indicators?includeExpired=true").await;
    assert_eq!(all["value"][0]["expired"], true);
}

/// Indicators in 10.9.0.0/26, so that they overlap often.
fn random_indicators() -> impl Strategy<Value = Vec<(String, &'static str)>> {
    let one = (
        0u32..64,
        26u8..=32,
        prop_oneof![Just("Allowed"), Just("Block"), Just("Audit")],
    );
    proptest::collection::vec(one, 1..10).prop_map(|v| {
        v.into_iter()
            .map(|(host, len, action)| {
                let keep = 32 - u32::from(len);
                let host = (host >> keep) << keep;
                (
                    format!("{}/{len}", Ipv4Addr::from(0x0a09_0000 | host)),
                    action,
                )
            })
            .collect()
    })
}

#[test]
fn the_served_policy_matches_a_naive_model() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s = runtime.block_on(TestServer::start());
    let case = std::cell::Cell::new(0u32);
    let config = ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    };
    proptest!(config, |(inds in random_indicators())| {
        case.set(case.get() + 1);
        let group = format!("case-{}", case.get());
        runtime.block_on(async {
            s.post("/api/groups", json!({"name": group})).await;
            for (value, action) in &inds {
                let (status, body) = s.post("/api/indicators", json!({"indicatorValue": value, "action": action, "title": "p", "rbacGroupNames": [group]})).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
            let (_, policy) = s.get(&format!("/api/groups/{group}/policy")).await;
            // The store keeps one indicator per value: the last submission wins.
            let mut latest: Vec<(IpNet, &str)> = Vec::new();
            for (value, action) in &inds {
                let net: IpNet = value.parse().unwrap();
                latest.retain(|(n, _)| *n != net);
                latest.push((net, action));
            }
            for host in 0u32..72 {
                let addr = IpAddr::V4(Ipv4Addr::from(0x0a09_0000 | host));
                let covering: Vec<&str> = latest.iter().filter(|(n, _)| n.contains(&addr)).map(|(_, a)| *a).collect();
                let expected = ["Allowed", "Block", "Audit"].into_iter().find(|a| covering.contains(a)).map(|a| match a {
                    "Allowed" => "allow",
                    "Block" => "block",
                    _ => "audit",
                });
                let served: Vec<&str> = ["allow", "block", "audit"].into_iter().filter(|a| covered(&policy, a, addr)).collect();
                assert_eq!(served.first().copied(), expected, "{addr} in {inds:?}");
                assert!(served.len() <= 1, "{addr} is in {served:?}");
            }
            // Clean the scoped indicators so that the next case starts from nothing.
            let (_, list) = s.get(&format!("/api/indicators?group={group}")).await;
            for ind in list["value"].as_array().unwrap() {
                s.send(s.req(Method::DELETE, &format!("/api/indicators/{}", ind["id"].as_str().unwrap()), Some(&s.admin))).await;
            }
        });
    });
}

/// Issue 10, defect 10: the address agents are told to reach the server at (`--advertise`) is
/// guarded like the listen address: blocking it would cut the fleet off from its server. With
/// replicas (`--advertise` given again), every one is guarded, and enrollment tokens name them
/// all, in order.
#[tokio::test]
async fn the_advertised_address_is_guarded_like_the_listen_address() {
    let s = TestServer::start_with(|c| {
        c.advertise = vec![
            "https://198.51.100.20:8440/".into(),
            "https://203.0.113.21:8440".into(),
        ]
    })
    .await;
    let (status, created) = s.post("/api/enroll-tokens", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap();
    let parsed = netward_model::enroll_token::EnrollToken::parse(token).unwrap();
    assert_eq!(
        parsed.target.servers,
        ["https://198.51.100.20:8440", "https://203.0.113.21:8440"]
    );
    assert_eq!(
        parsed.target.ca_fingerprint, None,
        "plain HTTP: nothing to pin"
    );
    let other = json!({"indicatorValue": "203.0.113.21", "action": "Block", "title": "t"});
    let (status, answer) = s.post("/api/indicators", other).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the second replica: {answer}"
    );
    let body = json!({"indicatorValue": "198.51.100.0/24", "action": "Block", "title": "t"});
    let (status, answer) = s.post("/api/indicators", body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (code, message, target) = error_of(&answer);
    assert_eq!(
        (code, target),
        ("GuardRail", Some("indicatorValue")),
        "{message}"
    );
    assert!(message.contains("force"), "{message}");
    let (status, answer) = s
        .send(
            s.req(Method::POST, "/api/indicators?force=true", Some(&s.admin))
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "forced: {answer}");
}
