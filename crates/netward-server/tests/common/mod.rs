//! A real server on a loopback port with its own data directory (started by the test kit),
//! and a small HTTP client.

#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]

use netward_server::{RunningServer, ServerConfig};
use netward_testkit::in_process;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with_limit(netward_server::config::DEFAULT_MAX_BODY_BYTES).await
    }

    pub async fn start_with_limit(max_body_bytes: usize) -> Self {
        Self::start_with(|c| c.max_body_bytes = max_body_bytes).await
    }

    /// Starts with the default configuration changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = in_process::start(dir.path(), adjust).await;
        Self::around(server, dir)
    }

    /// Starts with the default configuration, reading the time from `clock` (expiry and
    /// retention then happen when the test moves the clock, not when the wall clock does).
    pub async fn start_with_clock(clock: std::sync::Arc<dyn netward_server::clock::Clock>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = netward_server::start_with_clock(&in_process::config(dir.path()), clock)
            .await
            .expect("start the server");
        Self::around(server, dir)
    }

    /// The test's view of a server just started on `dir`.
    fn around(server: RunningServer, dir: tempfile::TempDir) -> Self {
        // reqwest is built without a default crypto provider; the tests' client uses ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let admin = server
            .bootstrap_token
            .clone()
            .expect("a new store creates an admin token");
        Self {
            base: format!("http://{}", server.addr),
            server: Some(server),
            admin,
            http: reqwest::Client::new(),
            dir,
        }
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(&mut self) -> Option<String> {
        self.server.take().unwrap().stop().await.unwrap();
        let server = in_process::start(self.dir.path(), |_| {}).await;
        self.base = format!("http://{}", server.addr);
        let token = server.bootstrap_token.clone();
        self.server = Some(server);
        token
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends and returns the status and the JSON body (`Null` when empty).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.req(Method::GET, path, Some(&self.admin)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.req(Method::POST, path, Some(&self.admin)).json(&body))
            .await
    }

    /// Submits a block indicator and returns its id.
    pub async fn block(&self, value: &str) -> String {
        let (status, body) = self
            .post(
                "/api/indicators",
                serde_json::json!({"indicatorValue": value, "action": "Block", "title": "t"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn token(&self, name: &str, role: &str) -> String {
        self.token_with(name, role, &self.admin).await
    }

    /// A new token, created with the admin token `by`.
    pub async fn token_with(&self, name: &str, role: &str, by: &str) -> String {
        let (status, body) = self
            .send(
                self.req(Method::POST, "/api/tokens", Some(by))
                    .json(&serde_json::json!({"name": name, "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["secret"].as_str().unwrap().to_owned()
    }
}

/// The `error` object of an error body, checked for shape.
pub fn error_of(body: &Value) -> (&str, &str, Option<&str>) {
    let e = &body["error"];
    (
        e["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {body}")),
        e["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {body}")),
        e["target"].as_str(),
    )
}

/// The next server-sent message of `kind` on `resp`, within 10 s in all (keep-alives and
/// messages of other kinds do not extend the wait).
pub async fn next_message(resp: &mut reqwest::Response, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut buf = String::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("a `{kind}` message within 10 s"))
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if block.lines().any(|l| l == format!("event: {kind}")) {
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                return serde_json::from_str(&data).unwrap();
            }
        }
    }
}

/// Enrolls a device named `hostname`; its secret.
pub async fn enroll(s: &TestServer, hostname: &str) -> String {
    let (_, t) = s.post("/api/enroll-tokens", json!({})).await;
    let facts = json!({"hostname": hostname, "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": []});
    let (status, d) = s
        .send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .json(&json!({"token": t["token"], "facts": facts})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    d["secret"].as_str().unwrap().to_owned()
}

/// Adds an indicator (severity Medium); its id.
pub async fn indicator(s: &TestServer, value: &str, action: &str, alert: bool) -> i64 {
    let (status, body) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": value, "action": action, "title": format!("{action} {value}"),
                   "severity": "Medium", "generateAlert": alert, "recommendedActions": "look"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["id"].as_str().unwrap().parse().unwrap()
}

/// An agent's event: `count` attempts at `remote`, matching the indicators `ids`, at `ms`.
pub fn event(
    seq: u64,
    remote: &str,
    outcome: &str,
    count: u64,
    ids: &[(i64, &str)],
    ms: i64,
) -> Value {
    json!({
        "seq": seq, "firstSeenMs": ms, "lastSeenMs": ms + 500, "count": count,
        "direction": "outbound", "protocol": "tcp", "localIp": "192.0.2.50", "localPort": null,
        "remoteIp": remote, "remotePort": 443, "outcome": outcome,
        "reason": if outcome == "blocked" { "indicator_block" } else { "indicator_audit" },
        "indicators": ids.iter().map(|(id, v)| json!({"id": id, "value": v})).collect::<Vec<_>>(),
        "process": {"pid": 4242, "name": "curl", "exe": "/usr/bin/curl", "cmdline": "curl https://x",
                    "uid": 1000, "user": "alice"}
    })
}

/// Delivers `events` as the device with `secret`.
pub async fn deliver(
    s: &TestServer,
    secret: &str,
    events: Vec<Value>,
    dropped: u64,
) -> (StatusCode, Value) {
    s.send(
        s.req(Method::POST, "/api/agent/events", Some(secret))
            .json(&json!({"events": events, "dropped": dropped, "lost": 0})),
    )
    .await
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}
