//! Issue 12, the feed core over real HTTP: a real server subscribes to list feeds served by a
//! small HTTP server on loopback that the test controls (body, ETag, status), and every run's
//! record, the indicators it makes and the guards are checked through the API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
use axum::response::{IntoResponse, Response};
use common::{TestServer, error_of};
use netward_testkit::wait::wait_for_async;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// What the feed server answers.
#[derive(Default)]
struct Served {
    body: Vec<u8>,
    etag: Option<String>,
    /// Answer this status instead of the body.
    status: Option<u16>,
    /// `If-None-Match` of each request.
    conditions: Vec<Option<String>>,
}

type Shared = Arc<Mutex<Served>>;

async fn serve(State(served): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = served.lock().unwrap();
    let condition = headers
        .get(header::IF_NONE_MATCH)
        .map(|v| v.to_str().unwrap().to_owned());
    s.conditions.push(condition.clone());
    if let Some(status) = s.status {
        return (
            AxumStatus::from_u16(status).unwrap(),
            [(header::RETRY_AFTER, "120")],
        )
            .into_response();
    }
    if condition.is_some() && condition == s.etag {
        return AxumStatus::NOT_MODIFIED.into_response();
    }
    let mut response = s.body.clone().into_response();
    if let Some(etag) = &s.etag {
        response
            .headers_mut()
            .insert(header::ETAG, etag.parse().unwrap());
    }
    response
}

/// A feed server on loopback; its URL and what it serves.
async fn feed_server() -> (String, Shared) {
    let served = Shared::default();
    let app = axum::Router::new()
        .fallback(serve)
        .with_state(served.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/list", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, served)
}

fn set_body(served: &Shared, body: &str, etag: &str) {
    let mut s = served.lock().unwrap();
    s.body = body.as_bytes().to_vec();
    s.etag = Some(etag.to_owned());
    s.status = None;
}

/// Creates a feed and waits for the refresh loop's first run of it; that run.
async fn subscribe(s: &TestServer, body: Value) -> Value {
    let name = body["name"].as_str().unwrap().to_owned();
    let (status, made) = s.post("/api/feeds", body).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    wait_for_async(
        "the feed's first refresh",
        std::time::Duration::from_secs(20),
        || async {
            let (_, feed) = s.get(&format!("/api/feeds/{name}")).await;
            let first = feed["runs"][0].clone();
            (!first.is_null()).then_some(first)
        },
    )
    .await
}

async fn sync(s: &TestServer, name: &str) -> Value {
    let (status, run) = s.post(&format!("/api/feeds/{name}/sync"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

async fn feed_values(s: &TestServer, name: &str) -> Vec<String> {
    let (_, list) = s
        .get(&format!("/api/indicators?source={name}&$top=1000"))
        .await;
    let mut values: Vec<String> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicatorValue"].as_str().unwrap().to_owned())
        .collect();
    values.sort();
    values
}

fn counts(run: &Value) -> (&str, u64, u64, u64, u64) {
    (
        run["status"].as_str().unwrap(),
        run["added"].as_u64().unwrap(),
        run["removed"].as_u64().unwrap(),
        run["unchanged"].as_u64().unwrap(),
        run["refused"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_feed_is_applied_as_a_delta_with_conditional_gets_and_guards() {
    let s = TestServer::start().await;
    let (url, served) = feed_server().await;
    set_body(
        &served,
        "# firehol_level1\n203.0.113.1\n203.0.113.2 # c2\n198.51.100.0/24\n10.0.0.1/24\n127.0.0.1\n",
        "\"v1\"",
    );
    let first = subscribe(&s, json!({"name": "level1", "kind": "plain", "url": url})).await;
    assert_eq!(counts(&first), ("applied", 3, 0, 0, 2), "{first}");
    let reasons: Vec<&str> = first["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("host bits"), "{reasons:?}");
    assert!(reasons[1].contains("loopback"), "{reasons:?}");
    assert_eq!(
        feed_values(&s, "level1").await,
        ["198.51.100.0/24", "203.0.113.1", "203.0.113.2"]
    );
    // The indicators name the feed as their source, and carry its comment.
    let (_, list) = s.get("/api/indicators?source=level1").await;
    let c2 = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicatorValue"] == "203.0.113.2")
        .unwrap();
    assert_eq!(c2["source"], "level1");
    assert_eq!(c2["description"], "c2");
    assert_eq!(c2["title"], "Feed level1: 203.0.113.2");

    // Unchanged at the source: a 304, and nothing changes.
    let version = s.get("/api/audit?$top=1").await.1["value"][0]["id"].clone();
    let run = sync(&s, "level1").await;
    assert_eq!(counts(&run), ("unchanged", 0, 0, 3, 0), "{run}");
    assert_eq!(run["httpStatus"], 304);
    assert_eq!(
        served.lock().unwrap().conditions.last().unwrap().as_deref(),
        Some("\"v1\"")
    );
    assert_eq!(
        s.get("/api/audit?$top=1").await.1["value"][0]["id"],
        version
    );

    // One gone, one new: one delta, one audit entry.
    set_body(
        &served,
        "203.0.113.1\n203.0.113.2 # c2\n192.0.2.77\n",
        "\"v2\"",
    );
    let run = sync(&s, "level1").await;
    assert_eq!(counts(&run), ("applied", 1, 1, 2, 0), "{run}");
    assert_eq!(
        feed_values(&s, "level1").await,
        ["192.0.2.77", "203.0.113.1", "203.0.113.2"]
    );
    let (_, audit) = s.get("/api/audit?$top=1").await;
    assert_eq!(audit["value"][0]["action"], "feed.sync", "{audit}");

    // A failing server: the run fails and the feed keeps what it had.
    served.lock().unwrap().status = Some(503);
    let run = sync(&s, "level1").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["httpStatus"], 503);
    assert_eq!(feed_values(&s, "level1").await.len(), 3);

    // A truncated download: the shrink guard refuses it.
    set_body(&served, "203.0.113.1\n", "\"v3\"");
    let run = sync(&s, "level1").await;
    assert_eq!(run["status"], "refused", "{run}");
    assert!(
        run["error"].as_str().unwrap().contains("maxShrinkPercent"),
        "{run}"
    );
    assert_eq!(feed_values(&s, "level1").await.len(), 3);
    // ... and raises an alert that names the feed; a second refusal is one more hit on it.
    sync(&s, "level1").await;
    let (_, alerts) = s.get("/api/alerts").await;
    let raised: Vec<&Value> = alerts["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Feed level1 refused a run")
        })
        .collect();
    assert_eq!(raised.len(), 1, "{alerts}");
    assert_eq!(raised[0]["hitCount"], 2, "{alerts}");
    assert_eq!(raised[0]["severity"], "High");
    // Raising the share lets it through.
    let (status, _) = s
        .send(
            s.req(Method::PATCH, "/api/feeds/level1", Some(&s.admin))
                .json(&json!({"maxShrinkPercent": 100})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let run = sync(&s, "level1").await;
    assert_eq!(counts(&run), ("applied", 0, 2, 1, 0), "{run}");

    // A feed's indicator cannot be deleted or changed by hand.
    let (_, list) = s.get("/api/indicators?source=level1").await;
    let id = list["value"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = s
        .send(s.req(
            Method::DELETE,
            &format!("/api/indicators/{id}"),
            Some(&s.admin),
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(error_of(&body).1.contains("feed `level1`"), "{body}");
    let (status, body) = s
        .post("/api/indicators/BatchDelete", json!({"IndicatorIds": [id]}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = s
        .post(
            "/api/indicators/DeleteByFilter",
            json!({"source": "level1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "203.0.113.1", "action": "Allowed", "title": "mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Deleting the feed deletes its indicators.
    let (status, _) = s
        .send(s.req(Method::DELETE, "/api/feeds/level1", Some(&s.admin)))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(feed_values(&s, "level1").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_size_cap_csv_and_spamhaus_json_with_wide_ranges() {
    let s = TestServer::start().await;
    // A body larger than maxBytes fails while it is read.
    let (url, served) = feed_server().await;
    set_body(&served, &"192.0.2.1\n".repeat(200), "\"big\"");
    let run = subscribe(
        &s,
        json!({"name": "capped", "kind": "plain", "url": url, "maxBytes": 1000}),
    )
    .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("size cap"), "{run}");

    // abuse.ch Feodo Tracker's CSV, with its header in a comment.
    let (url, served) = feed_server().await;
    set_body(
        &served,
        "# abuse.ch Feodo Tracker\n#\n# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
         \"2021-01-17 07:44:46\",\"51.75.71.205\",\"443\",\"online\",\"2021-01-19\",\"Dridex\"\n\
         \"2021-01-17 07:44:46\",\"203.0.113.50\",\"443\",\"online\",\"2021-01-19\",\"Dridex\"\n# Number of entries: 2\n",
        "\"c1\"",
    );
    let run = subscribe(
        &s,
        json!({"name": "feodo", "kind": "csv", "url": url, "csvColumn": "dst_ip", "mode": "audit-only"}),
    )
    .await;
    assert_eq!(counts(&run), ("applied", 2, 0, 0, 0), "{run}");
    let (_, list) = s.get("/api/indicators?source=feodo").await;
    for i in list["value"].as_array().unwrap() {
        assert_eq!(i["action"], "Audit", "audit-only never blocks: {i}");
    }

    // Spamhaus DROPv6: /29s only with allowWideRanges.
    let drop_v6 = "{\"cidr\":\"2a06:e480::/29\",\"sblid\":\"SBL301771\",\"rir\":\"ripencc\"}\n\
        {\"cidr\":\"2001:db8::/32\",\"sblid\":\"SBL2\",\"rir\":\"arin\"}\n\
        {\"type\":\"metadata\",\"timestamp\":1700000000,\"size\":2,\"records\":2}\n";
    let (url, served) = feed_server().await;
    set_body(&served, drop_v6, "\"s1\"");
    let (status, body) = s
        .post(
            "/api/feeds",
            json!({"name": "drop6", "kind": "spamhaus-json", "url": url, "refreshMinutes": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).2, Some("refreshMinutes"));
    assert!(error_of(&body).1.contains("60 minutes"), "{body}");
    let run = subscribe(
        &s,
        json!({"name": "drop6", "kind": "spamhaus-json", "url": url}),
    )
    .await;
    assert_eq!(counts(&run), ("applied", 1, 0, 0, 1), "{run}");
    assert!(
        run["refusals"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("allowWideRanges"),
        "{run}"
    );
    let (status, _) = s
        .send(
            s.req(Method::PATCH, "/api/feeds/drop6", Some(&s.admin))
                .json(&json!({"allowWideRanges": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The same content (a 304) is read again only when it changes: a new ETag.
    set_body(&served, drop_v6, "\"s2\"");
    let run = sync(&s, "drop6").await;
    assert_eq!(counts(&run), ("applied", 1, 0, 1, 0), "{run}");
    let (_, list) = s.get("/api/indicators?source=drop6").await;
    let wide = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicatorValue"] == "2a06:e480::/29")
        .unwrap();
    assert_eq!(wide["externalID"], "SBL301771");
}

#[tokio::test]
async fn bad_bodies_are_refused_with_the_field_named() {
    let s = TestServer::start().await;
    let (status, body) = s
        .post(
            "/api/feeds",
            json!({"name": "x", "kind": "rss", "url": "http://127.0.0.1/"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, message, target) = error_of(&body);
    assert_eq!(target, Some("kind"));
    assert!(message.contains("plain, spamhaus-json, csv, taxii21, misp-feed, misp-api"));
    let (status, body) = s
        .post(
            "/api/feeds",
            json!({"name": "x", "kind": "plain", "url": "ftp://x/"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("url"))
    );
    let (status, body) = s
        .post(
            "/api/feeds",
            json!({"name": "x", "kind": "plain", "url": "http://127.0.0.1/", "colour": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Secrets are never shown again.
    let (status, made) = s
        .post(
            "/api/feeds",
            json!({"name": "secret", "kind": "misp-api", "url": "http://127.0.0.1:9/", "apiKey": "k-123"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["apiKeySet"], true);
    let (_, listed) = s.get("/api/feeds").await;
    assert!(!listed.to_string().contains("k-123"), "{listed}");
    let viewer = s.token("v", "viewer").await;
    let (status, _) = s
        .send(s.req(Method::POST, "/api/feeds/secret/sync", Some(&viewer)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
