//! Two server replicas on one PostgreSQL database, over real HTTP: a change made on one
//! reaches agents and followers of the other, deltas are served from either, an event batch
//! re-sent to the other is stored once, and a lost database makes both answer 503 and recover
//! by themselves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use std::time::Duration;

use common::next_message;
use netward_server::RunningServer;
use netward_testkit::in_process;
use netward_testkit::postgres::PgCluster;
use netward_testkit::wait::wait_for_async;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Replica {
    server: RunningServer,
    base: String,
    _dir: tempfile::TempDir,
}

async fn replica(url: &str) -> Replica {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let url = url.to_owned();
    let server = in_process::start(dir.path(), move |c| c.database = Some(url)).await;
    Replica {
        base: format!("http://{}", server.addr),
        server,
        _dir: dir,
    }
}

struct Client {
    http: reqwest::Client,
    admin: String,
}

impl Client {
    async fn send(
        &self,
        r: &Replica,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", r.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn admin(&self, r: &Replica, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.send(r, method, path, Some(&self.admin), body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }
}

fn event(seq: u64, remote: &str, id: i64) -> Value {
    let ms = 1_700_000_000_000_i64 + i64::try_from(seq).unwrap();
    json!({
        "seq": seq, "firstSeenMs": ms, "lastSeenMs": ms, "count": 1,
        "direction": "outbound", "protocol": "tcp", "localIp": "192.0.2.50", "localPort": null,
        "remoteIp": remote, "remotePort": 443, "outcome": "blocked", "reason": "indicator_block",
        "indicators": [{"id": id, "value": remote}], "process": null
    })
}

fn values(update: &Value) -> Vec<&str> {
    update["upserts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_serve_one_fleet() {
    let mut cluster = PgCluster::start();
    let url = cluster.create_database("fleet");
    let a = replica(&url).await;
    let b = replica(&url).await;
    let c = Client {
        http: reqwest::Client::new(),
        admin: a
            .server
            .bootstrap_token
            .clone()
            .expect("the first replica makes the admin"),
    };
    assert_eq!(
        b.server.bootstrap_token, None,
        "one admin token for the fleet"
    );

    // Enrolled through A; the credential works on B.
    let token = c
        .admin(&a, Method::POST, "/api/enroll-tokens", Some(json!({})))
        .await;
    let facts = json!({"hostname": "ep1", "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": []});
    let (status, enrolled) = c
        .send(
            &a,
            Method::POST,
            "/api/agent/enroll",
            None,
            Some(json!({"token": token["token"], "facts": facts})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    let (_, snap) = c
        .send(&b, Method::GET, "/api/agent/policy", Some(&secret), None)
        .await;
    assert_eq!(snap["full"], true, "{snap}");
    let v1 = snap["version"].as_u64().unwrap();

    // A's agent stream hears of an indicator added through B, and A serves it as a delta.
    let mut stream = c
        .http
        .get(format!("{}/api/agent/stream", a.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let added = c
        .admin(
            &b,
            Method::POST,
            "/api/indicators",
            Some(json!({"indicatorValue": "203.0.113.9", "action": "Block", "title": "t", "generateAlert": true})),
        )
        .await;
    let id: i64 = added["id"].as_str().unwrap().parse().unwrap();
    // Each wait is bounded (next_message gives up after 10 s).
    let announced = loop {
        let message = next_message(&mut stream, "policy").await;
        if let Some(v) = message.as_u64().filter(|v| *v > v1) {
            break v;
        }
    };
    let (_, delta) = c
        .send(
            &a,
            Method::GET,
            &format!("/api/agent/policy?since={v1}"),
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(
        (
            delta["full"].as_bool(),
            values(&delta),
            delta["version"].as_u64()
        ),
        (Some(false), vec!["203.0.113.9"], Some(announced)),
        "{delta}"
    );
    // B serves the same delta from the shared history.
    let (_, from_b) = c
        .send(
            &b,
            Method::GET,
            &format!("/api/agent/policy?since={v1}"),
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(
        (from_b["full"].as_bool(), values(&from_b)),
        (Some(false), vec!["203.0.113.9"])
    );

    // A follower on A sees an alert raised by events posted to B; the batch re-sent to A
    // (the agent failed over before B's answer reached it) is stored once.
    let mut alerts = c
        .http
        .get(format!("{}/api/alerts/stream", a.base))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap();
    let batch = json!({"events": [event(1, "203.0.113.9", id), event(2, "203.0.113.9", id)], "dropped": 0, "lost": 0});
    for r in [&b, &a] {
        let (status, ack) = c
            .send(
                r,
                Method::POST,
                "/api/agent/events",
                Some(&secret),
                Some(batch.clone()),
            )
            .await;
        assert_eq!(
            (status, ack["ackedSeq"].as_u64()),
            (StatusCode::OK, Some(2)),
            "{ack}"
        );
    }
    let alert = next_message(&mut alerts, "alert").await;
    assert_eq!(alert["indicatorValue"], "203.0.113.9", "{alert}");
    let events = c.admin(&a, Method::GET, "/api/events", None).await;
    assert_eq!(events["value"].as_array().unwrap().len(), 2, "{events}");

    // The database goes away: both answer 503, and come back by themselves.
    cluster.stop();
    for r in [&a, &b] {
        let (status, body) = c
            .send(r, Method::GET, "/api/indicators", Some(&c.admin), None)
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        wait_for_async(
            "the replica says it is not ready",
            Duration::from_secs(30),
            || async {
                let (status, _) = c.send(r, Method::GET, "/readyz", None, None).await;
                (status == StatusCode::SERVICE_UNAVAILABLE).then_some(())
            },
        )
        .await;
    }
    cluster.resume();
    for r in [&a, &b] {
        wait_for_async(
            "the replica is ready again",
            Duration::from_secs(30),
            || async {
                let (status, _) = c.send(r, Method::GET, "/readyz", None, None).await;
                (status == StatusCode::OK).then_some(())
            },
        )
        .await;
        let list = c.admin(r, Method::GET, "/api/indicators", None).await;
        assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    }
    a.server.stop().await.unwrap();
    b.server.stop().await.unwrap();
}
