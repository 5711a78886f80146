//! The agent channel over real HTTP: enrollment, snapshots and deltas, acknowledgements,
//! revocation, the push stream and shutdown with streams open.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use std::time::Duration;

use common::{TestServer, error_of, next_message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn enroll(s: &TestServer, group: &str) -> (String, String) {
    let (status, t) = s.post("/api/enroll-tokens", json!({"group": group})).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let token = t["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("nwe_") && token.contains('@'), "{token}");
    let facts = json!({"hostname": "ep1", "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": ["192.0.2.50"]});
    let (status, d) = s
        .send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .json(&json!({"token": token, "facts": facts})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    (
        d["deviceId"].as_str().unwrap().to_owned(),
        d["secret"].as_str().unwrap().to_owned(),
    )
}

async fn policy(s: &TestServer, secret: &str, since: Option<u64>) -> (StatusCode, Value) {
    let path = match since {
        Some(v) => format!("/api/agent/policy?since={v}"),
        None => "/api/agent/policy".into(),
    };
    s.send(s.req(Method::GET, &path, Some(secret))).await
}

fn ack(version: u64) -> Value {
    json!({"version": version, "entries": 3, "notEnforceable": [], "error": null, "tamperRepaired": false,
           "facts": {"hostname": "ep1", "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": []}})
}

#[tokio::test]
async fn enrollment_is_checked_and_refused_tokens_say_why() {
    let s = TestServer::start().await;
    let facts =
        json!({"hostname": "x", "os": "", "kernel": "", "agentVersion": "", "addresses": []});
    let (status, body) = s
        .send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .json(&json!({"token": "nwe_bogus@http://x", "facts": facts})),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (StatusCode::UNAUTHORIZED, "Unauthorized")
    );
    let (status, body) = s.post("/api/enroll-tokens", json!({"group": "nope"})).await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("group"))
    );
    let (status, body) = s.post("/api/enroll-tokens", json!({"validHours": 0})).await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("validHours"))
    );
    let (_, secret) = enroll(&s, "default").await;
    assert!(secret.starts_with("nwd_"));
    // An API token is not a device credential, and a device credential is not an API token.
    assert_eq!(policy(&s, &s.admin, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.send(s.req(Method::GET, "/api/indicators", Some(&secret)))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn snapshots_then_deltas_scoped_to_the_group() {
    let s = TestServer::start().await;
    s.post("/api/groups", json!({"name": "other"})).await;
    s.block("192.0.2.1").await;
    let (device, secret) = enroll(&s, "default").await;

    let (status, snap) = policy(&s, &secret, None).await;
    assert_eq!(status, StatusCode::OK, "{snap}");
    assert_eq!(snap["full"], true);
    assert_eq!(snap["upserts"].as_array().unwrap().len(), 1);
    assert_eq!(
        (snap["mode"].as_str(), snap["coverage"].as_str()),
        (Some("block"), Some("all"))
    );
    let v1 = snap["version"].as_u64().unwrap();

    // Changes after v1 come as a delta: one in scope, one scoped elsewhere, one deleted.
    let id2 = s.block("192.0.2.2").await;
    s.post("/api/indicators", json!({"indicatorValue": "192.0.2.3", "action": "Block", "title": "t", "rbacGroupNames": ["other"]})).await;
    let first = s.get("/api/indicators?value=192.0.2.1").await.1["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.send(s.req(
        Method::DELETE,
        &format!("/api/indicators/{first}"),
        Some(&s.admin),
    ))
    .await;
    let (_, delta) = policy(&s, &secret, Some(v1)).await;
    assert_eq!(delta["full"], false, "{delta}");
    let upserts: Vec<&str> = delta["upserts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(upserts, ["192.0.2.2"]);
    let removals: Vec<i64> = delta["removals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(removals.contains(&first.parse().unwrap()), "{delta}");
    assert!(!removals.contains(&id2.parse().unwrap()));
    let v2 = delta["version"].as_u64().unwrap();
    assert!(v2 > v1);

    // An empty delta at the current version; a snapshot for a version the server never had.
    let (_, same) = policy(&s, &secret, Some(v2)).await;
    assert_eq!(
        (
            same["full"].as_bool(),
            same["upserts"].as_array().unwrap().len()
        ),
        (Some(false), 0)
    );
    let (_, future) = policy(&s, &secret, Some(v2 + 1000)).await;
    assert_eq!(future["full"], true);

    // Acknowledgements: in sync at v2; an older ack never moves it back; a future one is refused.
    assert_eq!(
        s.send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&ack(v2))
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    s.send(
        s.req(Method::POST, "/api/agent/ack", Some(&secret))
            .json(&ack(v1)),
    )
    .await;
    let (_, m) = s.get(&format!("/api/machines/{device}")).await;
    assert_eq!(
        (m["appliedVersion"].as_u64(), m["inSync"].as_bool()),
        (Some(v2), Some(true)),
        "{m}"
    );
    let (status, body) = s
        .send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&ack(v2 + 1000)),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("version"))
    );

    // A move forces a snapshot of the new group; a revocation refuses the device.
    s.send(
        s.req(
            Method::PATCH,
            &format!("/api/machines/{device}"),
            Some(&s.admin),
        )
        .json(&json!({"group": "other"})),
    )
    .await;
    let (_, moved) = policy(&s, &secret, Some(v2)).await;
    assert_eq!(moved["full"], true);
    assert_eq!(moved["group"], "other");
    let values: Vec<&str> = moved["upserts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["192.0.2.2", "192.0.2.3"]);
    let (_, m) = s.get(&format!("/api/machines/{device}")).await;
    assert_eq!(m["inSync"], false, "behind after the move");
    s.send(s.req(
        Method::POST,
        &format!("/api/machines/{device}/revoke"),
        Some(&s.admin),
    ))
    .await;
    let (status, body) = policy(&s, &secret, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_of(&body).1.contains("revoked"));
}

#[tokio::test]
async fn the_stream_names_the_version_at_once_and_on_change_and_shutdown_ends_it() {
    let mut s = TestServer::start().await;
    let (_, secret) = enroll(&s, "default").await;
    let mut resp = s
        .req(Method::GET, "/api/agent/stream", Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let first = String::from_utf8(resp.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains("event: policy"), "{first}");
    let (_, machines) = s.get("/api/machines").await;
    assert_eq!(machines["value"][0]["online"], true);
    s.block("192.0.2.9").await;
    let next = tokio::time::timeout(Duration::from_secs(5), resp.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let next = String::from_utf8(next.to_vec()).unwrap();
    let v: u64 = next
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let current = s.get("/api/machines").await.1["value"][0]["currentVersion"]
        .as_u64()
        .unwrap();
    assert_eq!(v, current);
    // Stopping the server ends open streams instead of waiting for them forever.
    let server = s.server.take().unwrap();
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("shutdown hung on an open stream")
        .unwrap();
}

/// Pulls share what a policy version fixes (the tenant's switch, each group's mode and
/// coverage) and streams share the revoked devices of a version: each change is still seen by
/// the next pull, and a revocation ends the device's open stream.
#[tokio::test]
async fn pulls_see_each_group_and_settings_change_and_a_revocation_ends_the_stream() {
    let s = TestServer::start().await;
    let (device, secret) = enroll(&s, "default").await;
    let (_, other) = enroll(&s, "default").await;
    let mode = |u: &Value| {
        (
            u["mode"].as_str().map(str::to_owned),
            u["coverage"].as_str().map(str::to_owned),
        )
    };
    let pair = |m: &str, c: &str| (Some(m.to_owned()), Some(c.to_owned()));
    let (_, snap) = policy(&s, &secret, None).await;
    assert_eq!(mode(&snap), pair("block", "all"));

    let (status, _) = s
        .send(
            s.req(Method::PATCH, "/api/groups/default", Some(&s.admin))
                .json(&json!({"mode": "audit", "coverage": "tcp"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = policy(&s, &secret, snap["version"].as_u64()).await;
    assert_eq!(mode(&after), pair("audit", "tcp"), "{after}");

    s.send(
        s.req(Method::PATCH, "/api/settings", Some(&s.admin))
            .json(&json!({"customNetworkIndicators": false})),
    )
    .await;
    let (_, off) = policy(&s, &secret, after["version"].as_u64()).await;
    assert_eq!(mode(&off), pair("off", "tcp"), "{off}");

    // Both devices' streams are open; revoking one ends its stream only.
    let open = |secret: String| {
        let s = &s;
        async move {
            let mut resp = s
                .req(Method::GET, "/api/agent/stream", Some(&secret))
                .send()
                .await
                .unwrap();
            next_message(&mut resp, "policy").await;
            resp
        }
    };
    let (mut revoked, mut kept) = (open(secret.clone()).await, open(other).await);
    s.send(s.req(
        Method::POST,
        &format!("/api/machines/{device}/revoke"),
        Some(&s.admin),
    ))
    .await;
    let ended = async { while revoked.chunk().await.unwrap().is_some() {} };
    tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("the revoked device's stream ends");
    next_message(&mut kept, "policy").await;
}

/// Issue 10, defect 5: the routes anyone can call without a credential (enrollment, the
/// console's sign-in) take small bodies only, whatever the server's general body limit.
#[tokio::test]
async fn unauthenticated_routes_take_small_bodies_only() {
    let s = TestServer::start().await;
    let big = "x".repeat(netward_server::api::UNAUTHENTICATED_BODY_BYTES + 1);
    let (status, body) = s
        .send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .header("content-type", "application/json")
                .body(format!("{{\"token\":\"{big}\"}}")),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let resp = s
        .http
        .post(format!("{}/login", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={big}&csrf=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A small enrollment still gets its real answer (here: the token is unknown).
    let (status, _) = s
        .send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .json(&serde_json::json!({"token": "nwe_nope", "facts": {}})),
        )
        .await;
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// An enrollment token or a device credential is all a hostile endpoint needs: what it says
/// about itself is bounded and free of terminal escapes, or refused with the field named.
#[tokio::test]
async fn device_facts_and_acks_are_bounded_and_free_of_control_characters() {
    let s = TestServer::start().await;
    let (_, t) = s.post("/api/enroll-tokens", json!({})).await;
    for (hostname, code) in [
        ("ep\u{1b}]0;pwned\u{7}", "U+001B"),
        ("ep\nFAKE LOG LINE", "U+000A"),
        ("ep\u{202e}txt", "U+202E"),
    ] {
        let facts = json!({"hostname": hostname, "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": []});
        let (status, body) = s
            .send(
                s.req(Method::POST, "/api/agent/enroll", None)
                    .json(&json!({"token": t["token"], "facts": facts})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{hostname:?}: {body}");
        let (_, message, target) = error_of(&body);
        assert_eq!(target, Some("facts.hostname"), "{body}");
        assert!(message.contains(code), "{body}");
    }
    let (_, secret) = enroll(&s, "default").await;
    let version = policy(&s, &secret, None).await.1["version"]
        .as_u64()
        .unwrap();
    let mut flood = ack(version);
    flood["notEnforceable"] = json!((1..=300_000).collect::<Vec<i64>>());
    let (status, body) = s
        .send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&flood),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body).2, Some("notEnforceable"));
    let (_, machines) = s.get("/api/machines").await;
    assert!(
        machines["value"][0]["notEnforceable"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let (status, body) = s
        .post(
            "/api/groups",
            json!({"name": "kiosks", "description": "x".repeat(1_001)}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body).2, Some("description"));
}

/// A leaked enrollment token enrolls no more devices than it was made for, and an admin can
/// list and revoke tokens.
#[tokio::test]
async fn enrollment_tokens_are_counted_listed_and_revoked() {
    let s = TestServer::start().await;
    let facts = json!({"hostname": "ep", "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": []});
    let try_enroll = |token: Value| {
        s.send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .json(&json!({"token": token, "facts": facts})),
        )
    };

    let (status, single) = s.post("/api/enroll-tokens", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{single}");
    assert_eq!(single["maxUses"], 1);
    assert_eq!(try_enroll(single["token"].clone()).await.0, StatusCode::OK);
    let (status, body) = try_enroll(single["token"].clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        error_of(&body).1.contains("enrolled its 1 device"),
        "{body}"
    );

    let (_, three) = s
        .post(
            "/api/enroll-tokens",
            json!({"maxUses": 3, "group": "default"}),
        )
        .await;
    for _ in 0..3 {
        assert_eq!(try_enroll(three["token"].clone()).await.0, StatusCode::OK);
    }
    assert_eq!(
        try_enroll(three["token"].clone()).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (_, spare) = s.post("/api/enroll-tokens", json!({"maxUses": 50})).await;
    let id = spare["id"].as_str().unwrap();
    let (status, revoked) = s
        .send(s.req(
            Method::DELETE,
            &format!("/api/enroll-tokens/{id}"),
            Some(&s.admin),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revokedAt"].is_string());
    let (status, body) = try_enroll(spare["token"].clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_of(&body).1.contains("revoked"), "{body}");

    let (status, list) = s.get("/api/enroll-tokens").await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<(u64, bool)> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["uses"].as_u64().unwrap(), t["usable"].as_bool().unwrap()))
        .collect();
    assert_eq!(rows, [(0, false), (3, false), (1, false)], "{list}");
    assert!(
        !list.to_string().contains("nwe_"),
        "a secret was listed: {list}"
    );

    let (status, body) = s.post("/api/enroll-tokens", json!({"maxUses": 0})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).2, Some("maxUses"));
    let (_, audit) = s.get("/api/audit").await;
    assert!(audit.to_string().contains("enroll-token.revoke"), "{audit}");
}

/// A device that applied the policy but listed an indicator as not enforceable (it covers an
/// address the agent exempts) does not count as enforcing it.
#[tokio::test]
async fn a_device_that_cannot_enforce_an_indicator_is_not_counted_as_enforcing_it() {
    let s = TestServer::start().await;
    let exempt: i64 = s.block("192.0.2.53").await.parse().unwrap();
    let other = s.block("192.0.2.54").await;
    let (_, secret) = enroll(&s, "default").await;
    let version = policy(&s, &secret, None).await.1["version"]
        .as_u64()
        .unwrap();
    let mut a = ack(version);
    a["notEnforceable"] = json!([exempt]);
    let (status, body) = s
        .send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&a),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (_, shown) = s.get(&format!("/api/indicators/{exempt}")).await;
    let e = &shown["enforcement"];
    assert_eq!(
        (e["enforced"].as_u64(), e["inScope"].as_u64()),
        (Some(0), Some(1)),
        "{shown}"
    );
    assert_eq!(e["notEnforced"][0]["notEnforceable"], true, "{shown}");
    let (_, shown) = s.get(&format!("/api/indicators/{other}")).await;
    assert_eq!(
        shown["enforcement"]["enforced"].as_u64(),
        Some(1),
        "{shown}"
    );
}

#[tokio::test]
async fn the_exemptions_an_agent_acknowledges_show_on_its_device() {
    let s = TestServer::start().await;
    s.block("192.0.2.1").await;
    let (device, secret) = enroll(&s, "default").await;
    let (_, snap) = policy(&s, &secret, None).await;
    let version = snap["version"].as_u64().unwrap();
    let exemptions = json!([
        {"range": "127.0.0.0/8", "reason": "loopback"},
        {"range": "::1", "reason": "loopback"},
        {"range": "192.0.2.10", "reason": "server"},
        {"range": "192.0.2.53", "reason": "dns-resolver"}
    ]);
    let mut body = ack(version);
    body["exemptions"] = exemptions.clone();
    let (status, b) = s
        .send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    let (_, m) = s.get(&format!("/api/machines/{device}")).await;
    assert_eq!(m["exemptions"], exemptions, "{m}");

    // A reason the server does not know is refused, naming the field.
    let mut bad = ack(version);
    bad["exemptions"] = json!([{"range": "192.0.2.53", "reason": "resolver"}]);
    let (status, b) = s
        .send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&bad),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.to_string().contains("exemptions"), "{b}");

    // An agent from before exemptions (no field) is still understood.
    let (status, _) = s
        .send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&ack(version)),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, m) = s.get(&format!("/api/machines/{device}")).await;
    assert_eq!(m["exemptions"], json!([]), "as it last reported: none");
}

#[tokio::test]
async fn the_policy_history_survives_a_restart_so_agents_get_deltas() {
    let mut s = TestServer::start().await;
    s.block("192.0.2.1").await;
    let (_, secret) = enroll(&s, "default").await;
    let (_, snap) = policy(&s, &secret, None).await;
    let v1 = snap["version"].as_u64().unwrap();
    s.block("192.0.2.2").await;
    s.restart().await;

    let (status, delta) = policy(&s, &secret, Some(v1)).await;
    assert_eq!(status, StatusCode::OK, "{delta}");
    assert_eq!(delta["full"], false, "a delta after the restart: {delta}");
    let upserts: Vec<&str> = delta["upserts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(upserts, ["192.0.2.2"]);
    let v2 = delta["version"].as_u64().unwrap();
    assert!(v2 > v1);
    // Changes after the restart follow on.
    s.block("192.0.2.3").await;
    let (_, next) = policy(&s, &secret, Some(v2)).await;
    assert_eq!(
        (next["full"].as_bool(), next["upserts"][0]["value"].as_str()),
        (Some(false), Some("192.0.2.3")),
        "{next}"
    );
}
