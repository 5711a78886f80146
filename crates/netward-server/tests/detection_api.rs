//! Detection over real HTTP: idempotent ingest, alerts and incidents, filters and their
//! errors, roles, the live stream, and the SIEM exports.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use std::time::Duration;

use common::{TestServer, deliver, enroll, error_of, event, indicator, next_message, now_ms};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn events_are_stored_once_and_raise_one_alert_per_device_and_indicator() {
    let s = TestServer::start().await;
    let ep1 = enroll(&s, "ep1").await;
    let ep2 = enroll(&s, "ep2").await;
    let block = indicator(&s, "198.51.100.7", "Block", true).await;
    let quiet = indicator(&s, "198.51.100.8", "Block", false).await;
    let allow = indicator(&s, "198.51.100.9", "Allowed", true).await;
    let t = now_ms();
    let batch = vec![
        event(
            1,
            "198.51.100.7",
            "blocked",
            10_000,
            &[(block, "198.51.100.7")],
            t,
        ),
        event(
            2,
            "198.51.100.8",
            "blocked",
            5,
            &[(quiet, "198.51.100.8")],
            t + 1,
        ),
        event(
            3,
            "198.51.100.9",
            "allowed",
            2,
            &[(allow, "198.51.100.9")],
            t + 2,
        ),
    ];
    let (status, ack) = deliver(&s, &ep1, batch.clone(), 0).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["ackedSeq"], 3);
    // The same batch again (the answer was lost, say), and one new event: stored once.
    let mut again = batch.clone();
    again.push(event(
        4,
        "198.51.100.7",
        "blocked",
        7,
        &[(block, "198.51.100.7")],
        t + 3,
    ));
    let (status, ack) = deliver(&s, &ep1, again, 3).await;
    assert_eq!(
        (status, ack["ackedSeq"].as_u64()),
        (StatusCode::OK, Some(4))
    );
    let (_, list) = s.get("/api/events").await;
    let list = list["value"].as_array().unwrap();
    assert_eq!(list.len(), 4, "no duplicates");
    assert_eq!(list[0]["AdditionalFields"]["Count"], 7, "newest first");
    let e = list
        .iter()
        .find(|e| e["AdditionalFields"]["Count"] == 10_000)
        .unwrap();
    assert_eq!(e["ActionType"], "ExploitGuardNetworkProtectionBlocked");
    assert_eq!(e["InitiatingProcessFileName"], "curl");
    assert_eq!(e["InitiatingProcessFolderPath"], "/usr/bin");
    assert_eq!(e["InitiatingProcessAccountName"], "alice");
    assert_eq!(e["DeviceName"], "ep1");
    assert_eq!(e["AdditionalFields"]["DisplayName"], "Block 198.51.100.7");

    // One alert, with the exact count; none for the quiet indicator or the allow.
    let (_, alerts) = s.get("/api/alerts").await;
    let alerts = alerts["value"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["hitCount"], 10_007);
    assert_eq!(alerts[0]["indicatorId"], block);
    assert_eq!(alerts[0]["recommendedActions"], "look");
    let id = alerts[0]["id"].as_str().unwrap().to_owned();
    let (_, shown) = s.get(&format!("/api/alerts/{id}")).await;
    assert_eq!(shown["evidence"].as_array().unwrap().len(), 2);

    // A second device: a second alert in the same incident.
    deliver(
        &s,
        &ep2,
        vec![event(
            1,
            "198.51.100.7",
            "audited",
            1,
            &[(block, "198.51.100.7")],
            t,
        )],
        0,
    )
    .await;
    let (_, incidents) = s.get("/api/incidents").await;
    let incidents = incidents["value"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["alertCount"], 2);
    assert_eq!(incidents[0]["deviceCount"], 2);
    assert_eq!(incidents[0]["hitCount"], 10_008);
    let iid = incidents[0]["id"].as_str().unwrap().to_owned();

    // The device's counters are shown.
    let (_, machines) = s.get("/api/machines").await;
    let ep1_row = machines["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["hostname"] == "ep1")
        .unwrap()
        .clone();
    assert_eq!(ep1_row["eventsDropped"], 3);

    // Resolving the incident resolves its alerts; a later hit opens a new alert and incident.
    let (status, r) = s
        .send(
            s.req(
                Method::PATCH,
                &format!("/api/incidents/{iid}"),
                Some(&s.admin),
            )
            .json(&json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(
        r["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "resolved")
    );
    deliver(
        &s,
        &ep1,
        vec![event(
            5,
            "198.51.100.7",
            "blocked",
            1,
            &[(block, "198.51.100.7")],
            t + 9,
        )],
        0,
    )
    .await;
    let (_, open) = s.get("/api/alerts?status=new").await;
    assert_eq!(open["value"].as_array().unwrap().len(), 1);
    assert_ne!(open["value"][0]["id"], id.as_str());
    assert_ne!(open["value"][0]["incidentId"], iid.as_str());
}

#[tokio::test]
async fn filters_narrow_events_and_bad_filters_name_the_parameter() {
    let s = TestServer::start().await;
    let ep1 = enroll(&s, "ep1").await;
    let ep2 = enroll(&s, "ep2").await;
    let a = indicator(&s, "10.20.0.0/16", "Block", false).await;
    let b = indicator(&s, "2001:db8::/32", "Audit", false).await;
    let t = 1_800_000_000_000; // 2027-01-15
    deliver(
        &s,
        &ep1,
        vec![
            event(1, "10.20.1.1", "blocked", 1, &[(a, "10.20.0.0/16")], t),
            event(
                2,
                "10.20.9.9",
                "blocked",
                1,
                &[(a, "10.20.0.0/16")],
                t + 60_000,
            ),
            event(
                3,
                "2001:db8::5",
                "audited",
                1,
                &[(b, "2001:db8::/32")],
                t + 120_000,
            ),
        ],
        0,
    )
    .await;
    deliver(
        &s,
        &ep2,
        vec![event(
            1,
            "10.20.1.1",
            "blocked",
            1,
            &[(a, "10.20.0.0/16")],
            t,
        )],
        0,
    )
    .await;
    let count = |q: &str| {
        let q = q.to_owned();
        let s = &s;
        async move {
            let (status, body) = s.get(&format!("/api/events?{q}")).await;
            assert_eq!(status, StatusCode::OK, "{q}: {body}");
            body["value"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("remoteIp=10.20.1.0/24").await, 2);
    assert_eq!(count("remoteIp=10.20.0.0/16").await, 3);
    assert_eq!(count("remoteIp=2001:db8::/32").await, 1);
    assert_eq!(count("remoteIp=10.20.1.1&deviceId=2").await, 1);
    assert_eq!(count(&format!("indicatorId={b}")).await, 1);
    assert_eq!(count("outcome=audited").await, 1);
    assert_eq!(
        count("actionType=ExploitGuardNetworkProtectionBlocked").await,
        3
    );
    assert_eq!(count("from=2027-01-15T08:01:00Z").await, 2);
    assert_eq!(count("to=2027-01-15T08:00:30Z").await, 2);
    assert_eq!(count("$top=1").await, 1);
    let (_, tl) = s.get("/api/machines/1/timeline").await;
    let tl: Vec<i64> = tl["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Id"].as_i64().unwrap())
        .collect();
    assert_eq!(tl.len(), 3);
    assert!(tl.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let (_, hunt) = s.get("/api/hunting/contacts?remoteIp=10.20.0.0/16").await;
    let hunt = hunt["value"].as_array().unwrap();
    assert_eq!(hunt.len(), 2, "one row per device and process");
    assert_eq!(hunt[0]["process"], "/usr/bin/curl");

    for (q, target) in [
        ("remoteIp=10.20.1.1/16", "remoteIp"),
        ("remoteIp=example.com", "remoteIp"),
        ("outcome=dropped", "outcome"),
        ("actionType=ConnectionSuccess", "actionType"),
        ("from=yesterday", "from"),
        ("from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z", "to"),
        ("deviceId=abc", "deviceId"),
        ("$top=10001", "$top"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = s.get(&format!("/api/events?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(error_of(&body).2, Some(target), "{q}: {body}");
    }
    let (status, body) = s.get("/api/events?remoteIp=10.20.1.1/16").await;
    assert!(
        error_of(&body).1.contains("10.20.0.0/16"),
        "names the network: {status} {body}"
    );
    let (status, _) = s.get("/api/hunting/contacts").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.get("/api/machines/99/timeline").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s.get("/api/alerts?status=open").await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("status"))
    );

    // The agent's batch is checked too.
    let (status, body) = deliver(
        &s,
        &ep1,
        vec![event(9, "not-an-ip", "blocked", 1, &[], t)],
        0,
    )
    .await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("events[0].remoteIp"))
    );
    let (status, body) =
        deliver(&s, &ep1, vec![event(9, "10.20.1.1", "maybe", 1, &[], t)], 0).await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("events[0].outcome"))
    );
    let (status, _) = s
        .send(
            s.req(Method::POST, "/api/agent/events", Some(&s.admin))
                .json(&json!({"events": [], "dropped": 0, "lost": 0})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an API token is not a device"
    );
}

#[tokio::test]
async fn viewers_read_alerts_but_only_analysts_change_them() {
    let s = TestServer::start().await;
    let ep = enroll(&s, "ep").await;
    let id = indicator(&s, "203.0.113.5", "Block", true).await;
    deliver(
        &s,
        &ep,
        vec![event(
            1,
            "203.0.113.5",
            "blocked",
            1,
            &[(id, "203.0.113.5")],
            now_ms(),
        )],
        0,
    )
    .await;
    let viewer = s.token("v", "viewer").await;
    let analyst = s.token("a", "analyst").await;
    let (status, list) = s
        .send(s.req(Method::GET, "/api/alerts", Some(&viewer)))
        .await;
    assert_eq!(status, StatusCode::OK);
    let aid = list["value"][0]["id"].as_str().unwrap().to_owned();
    let patch = |token: &str, status: &str| {
        s.req(Method::PATCH, &format!("/api/alerts/{aid}"), Some(token))
            .json(&json!({"status": status}))
    };
    assert_eq!(
        s.send(patch(&viewer, "resolved")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = s.send(patch(&analyst, "closed")).await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
    let (status, body) = s.send(patch(&analyst, "inProgress")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "inProgress");
    assert_eq!(body["statusChangedBy"], "a");
    let (status, _) = s
        .send(
            s.req(Method::PATCH, "/api/alerts/999", Some(&analyst))
                .json(&json!({"status": "new"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The change is in the audit log.
    let (_, audit) = s.get("/api/audit").await;
    assert!(
        audit["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "alert.status")
    );
}

/// Reads server-sent messages from `resp` until one named `kind` arrives.
#[tokio::test]
async fn followers_see_new_events_and_alerts_live_and_exports_get_them_too() {
    let syslog = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let to = syslog.local_addr().unwrap();
    let out = tempfile::tempdir().unwrap();
    let ndjson = out.path().join("events.ndjson");
    let file = ndjson.clone();
    let s = TestServer::start_with(move |c| {
        c.detection.ndjson = Some(file);
        c.detection.syslog = Some(to);
    })
    .await;
    let ep = enroll(&s, "ep").await;
    let id = indicator(&s, "203.0.113.5", "Block", true).await;
    let mut events = s
        .req(
            Method::GET,
            "/api/events/stream?outcome=blocked",
            Some(&s.admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let mut alerts = s
        .req(Method::GET, "/api/alerts/stream", Some(&s.admin))
        .send()
        .await
        .unwrap();
    let t = now_ms();
    deliver(
        &s,
        &ep,
        vec![
            event(1, "203.0.113.5", "audited", 1, &[(id, "203.0.113.5")], t),
            event(
                2,
                "203.0.113.5",
                "blocked",
                3,
                &[(id, "203.0.113.5")],
                t + 1,
            ),
        ],
        0,
    )
    .await;
    let e = next_message(&mut events, "event").await;
    assert_eq!(
        e["AdditionalFields"]["Outcome"], "blocked",
        "the filter applies"
    );
    assert_eq!(e["AdditionalFields"]["Count"], 3);
    let a = next_message(&mut alerts, "alert").await;
    assert_eq!(a["title"], "Block 203.0.113.5");

    // NDJSON: one JSON object per line, events and the alert.
    let text = std::fs::read_to_string(&ndjson).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["RecordType"] == "NetworkEvent")
            .count(),
        2
    );
    assert!(
        lines
            .iter()
            .any(|l| l["RecordType"] == "Alert" && l["hitCount"] == 4)
    );
    // Syslog: RFC 5424 framing, local0, with the record as JSON.
    let mut buf = [0u8; 8192];
    let n = syslog.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        msg.starts_with("<132>1 "),
        "local0.warning for an audited hit: {msg}"
    );
    assert!(
        msg.contains(" netward ")
            && msg.contains(" NetworkEvent [netward@32473 outcome=\"audited\""),
        "{msg}"
    );
    let json_part = &msg[msg.find("] {").unwrap() + 2..];
    assert_eq!(
        serde_json::from_str::<Value>(json_part).unwrap()["RemoteIP"],
        "203.0.113.5"
    );
}

#[tokio::test]
async fn a_follower_after_a_restart_gets_new_events_only() {
    let mut s = TestServer::start().await;
    let ep = enroll(&s, "ep").await;
    let t = now_ms();
    deliver(
        &s,
        &ep,
        vec![event(1, "203.0.113.9", "blocked", 1, &[], t)],
        0,
    )
    .await;
    s.restart().await;
    let mut events = s
        .req(Method::GET, "/api/events/stream", Some(&s.admin))
        .send()
        .await
        .unwrap();
    deliver(
        &s,
        &ep,
        vec![event(2, "203.0.113.10", "blocked", 1, &[], t + 1)],
        0,
    )
    .await;
    let e = next_message(&mut events, "event").await;
    assert_eq!(
        e["RemoteIP"], "203.0.113.10",
        "stored history is not replayed"
    );
}

/// Reads a stream until the server ends it; everything it sent before the end. Fails when it
/// is still open after 10 s (keep-alives included).
async fn until_closed(resp: &mut reqwest::Response) -> String {
    let mut seen = String::new();
    let read_all = async {
        while let Ok(Some(chunk)) = resp.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), read_all)
        .await
        .is_err()
    {
        panic!("the stream is still open after 10 s: {seen}");
    }
    seen
}

/// Issue 10, defect 1: a revoked token's live streams end, and deliver nothing more.
#[tokio::test]
async fn a_revoked_tokens_live_streams_end_at_once() {
    let s = TestServer::start().await;
    let ep = enroll(&s, "ep").await;
    let id = indicator(&s, "203.0.113.5", "Block", true).await;
    let (status, created) = s
        .post("/api/tokens", json!({"name": "soc-tail", "role": "viewer"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let token_id = created["token"]["id"].as_str().unwrap().to_owned();
    let mut events = s
        .req(Method::GET, "/api/events/stream", Some(&secret))
        .send()
        .await
        .unwrap();
    let mut alerts = s
        .req(Method::GET, "/api/alerts/stream", Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (events.status(), alerts.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let (status, _) = s
        .send(s.req(
            Method::DELETE,
            &format!("/api/tokens/{token_id}"),
            Some(&s.admin),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "revoked");
    // A hit after the revocation: it raises an event and an alert, which must not reach the
    // revoked token.
    deliver(
        &s,
        &ep,
        vec![event(
            1,
            "203.0.113.5",
            "blocked",
            1,
            &[(id, "203.0.113.5")],
            now_ms(),
        )],
        0,
    )
    .await;
    let (seen_events, seen_alerts) = (
        until_closed(&mut events).await,
        until_closed(&mut alerts).await,
    );
    assert!(!seen_events.contains("event: event"), "{seen_events}");
    assert!(!seen_alerts.contains("event: alert"), "{seen_alerts}");
}

/// A device's events are bounded as the store and the pages need: a `seq` or `count` near
/// 2^64, or a command line far beyond the agent's own cut, is refused with the field named,
/// and the server goes on serving (it used to panic in debug builds while holding the store,
/// and wrap in release builds).
#[tokio::test]
async fn event_numbers_and_sizes_beyond_their_bounds_are_refused_by_name() {
    let s = TestServer::start().await;
    let secret = enroll(&s, "ep1").await;
    let ms = now_ms();
    let huge_cmdline = {
        let mut e = event(3, "203.0.113.9", "blocked", 1, &[], ms);
        e["process"]["cmdline"] = json!("A".repeat(2 * 1024 * 1024));
        e
    };
    for (events, field) in [
        (
            vec![event(u64::MAX, "203.0.113.9", "blocked", 1, &[], ms)],
            "events[0].seq",
        ),
        (
            vec![
                event(1, "203.0.113.9", "blocked", 1, &[], ms),
                event(2, "203.0.113.9", "blocked", u64::MAX, &[], ms),
            ],
            "events[1].count",
        ),
        (vec![huge_cmdline], "events[0].process.cmdline"),
    ] {
        let (status, body) = deliver(&s, &secret, events, 0).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_of(&body).2, Some(field), "{body}");
    }
    // Nothing of a refused batch was stored, and the store still takes a good one.
    let (_, listed) = s.get("/api/events").await;
    assert_eq!(listed["value"].as_array().unwrap().len(), 0, "{listed}");
    let max = i64::MAX as u64;
    let (status, body) = deliver(
        &s,
        &secret,
        vec![event(
            max,
            "203.0.113.9",
            "blocked",
            u64::from(u32::MAX),
            &[],
            ms,
        )],
        0,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ackedSeq"].as_u64(), Some(max));
}

/// An alert of its own on a fresh indicator, as `analyst` sees it: its id.
async fn one_alert(s: &TestServer, value: &str) -> String {
    let ep = enroll(s, &format!("ep-{value}")).await;
    let id = indicator(s, value, "Block", true).await;
    deliver(
        s,
        &ep,
        vec![event(1, value, "blocked", 1, &[(id, value)], now_ms())],
        0,
    )
    .await;
    let (_, list) = s.get(&format!("/api/alerts?indicatorId={id}")).await;
    list["value"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn analysts_assign_classify_and_comment_with_who_and_when_and_bad_values_are_named() {
    let s = TestServer::start().await;
    let aid = one_alert(&s, "203.0.113.9").await;
    let analyst = s.token("ana", "analyst").await;
    let viewer = s.token("v", "viewer").await;
    let patch = |token: &str, body: Value| {
        s.req(Method::PATCH, &format!("/api/alerts/{aid}"), Some(token))
            .json(&body)
    };
    let (status, a) = s
        .send(patch(
            &analyst,
            json!({"assignedTo": "ana", "classification": "TruePositive", "determination": "Malware"}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(
        (
            &a["assignedTo"],
            &a["assignedBy"],
            &a["classification"],
            &a["determination"],
            &a["classifiedBy"]
        ),
        (
            &json!("ana"),
            &json!("ana"),
            &json!("TruePositive"),
            &json!("Malware"),
            &json!("ana")
        )
    );
    assert!(a["assignedAt"].as_str().unwrap().ends_with('Z'), "{a}");
    assert_eq!(a["status"], "new", "a patch without status leaves it alone");

    // Bad values are refused by field, and nothing is half-applied.
    for (body, field) in [
        (json!({"classification": "Benign"}), "classification"),
        (json!({"determination": "SecurityTesting"}), "determination"),
        (json!({"assignedTo": ""}), "assignedTo"),
        (json!({"status": "done", "assignedTo": "x"}), "status"),
        (json!({"colour": "red"}), "colour"),
        (json!({}), "body"),
    ] {
        let (status, e) = s.send(patch(&analyst, body.clone())).await;
        assert_eq!(
            (status, error_of(&e).2),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{body}: {e}"
        );
    }
    let (_, now) = s.get(&format!("/api/alerts/{aid}")).await;
    assert_eq!(
        (&now["assignedTo"], &now["determination"]),
        (&json!("ana"), &json!("Malware"))
    );

    // Reclassified as false positive: Malware does not fit and goes; null unassigns.
    let (status, a) = s
        .send(patch(
            &analyst,
            json!({"classification": "FalsePositive", "assignedTo": null, "status": "resolved"}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(
        (
            &a["classification"],
            &a["determination"],
            &a["assignedTo"],
            &a["status"]
        ),
        (
            &json!("FalsePositive"),
            &Value::Null,
            &Value::Null,
            &json!("resolved")
        )
    );

    // Comments: analysts write them, everyone reads them, oldest first.
    let comment = |token: &str, text: &str| {
        s.req(
            Method::POST,
            &format!("/api/alerts/{aid}/comments"),
            Some(token),
        )
        .json(&json!({"comment": text}))
    };
    assert_eq!(
        s.send(comment(&viewer, "hi")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, e) = s.send(comment(&analyst, "   ")).await;
    assert_eq!(
        (status, error_of(&e).2),
        (StatusCode::BAD_REQUEST, Some("comment"))
    );
    s.send(comment(&analyst, "first look: curl from a cron job"))
        .await;
    let (status, a) = s.send(comment(&analyst, "owner confirmed")).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let comments = a["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["comment"], "first look: curl from a cron job");
    assert_eq!(comments[1]["createdBy"], "ana");
    assert!(comments[1]["createdTime"].as_str().is_some());
    let (status, _) = s
        .send(
            s.req(Method::POST, "/api/alerts/999/comments", Some(&analyst))
                .json(&json!({"comment": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Each part is in the audit log.
    let (_, audit) = s.get("/api/audit").await;
    let actions: Vec<&str> = audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == format!("alert:{aid}"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "alert.assign",
        "alert.classify",
        "alert.status",
        "alert.comment",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
}

#[tokio::test]
async fn an_incidents_status_follows_its_alerts() {
    let s = TestServer::start().await;
    let aid = one_alert(&s, "203.0.113.11").await;
    let (_, alert) = s.get(&format!("/api/alerts/{aid}")).await;
    let iid = alert["incidentId"].as_str().unwrap().to_owned();
    let incident_status = || async {
        let (_, i) = s.get(&format!("/api/incidents/{iid}")).await;
        i["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(incident_status().await, "new");
    for (status, want) in [
        ("inProgress", "inProgress"),
        ("resolved", "resolved"),
        ("new", "new"),
    ] {
        let (code, body) = s
            .send(
                s.req(Method::PATCH, &format!("/api/alerts/{aid}"), Some(&s.admin))
                    .json(&json!({"status": status})),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(incident_status().await, want, "its only alert is {status}");
    }
}
