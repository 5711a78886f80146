//! What the agent benchmarks share: a deterministic indicator generator.

#![allow(dead_code, reason = "each benchmark uses a different part")]

use std::collections::BTreeMap;

use netward_model::agent_wire::AgentIndicator;

/// A deterministic generator (64-bit LCG), so runs are comparable.
pub struct Lcg(u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 16
    }
}

/// `n` block indicators: 70% IPv4 addresses in 11.0.0.0–99.255.255.255, 20% IPv4 /24s in
/// 101.0.0.0–126.255.255.255, 10% IPv6 addresses in 2001:db8::/32. None covers 198.18.0.0/15.
pub fn indicators(n: usize) -> BTreeMap<i64, AgentIndicator> {
    let mut rng = Lcg(7);
    let mut out = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    while out.len() < n {
        let r = rng.next() % 100;
        let value = if r < 70 {
            let x = rng.next();
            format!(
                "{}.{}.{}.{}",
                11 + x % 89,
                (x >> 8) % 256,
                (x >> 16) % 256,
                1 + (x >> 24) % 254
            )
        } else if r < 90 {
            let x = rng.next();
            format!(
                "{}.{}.{}.0/24",
                101 + x % 26,
                (x >> 8) % 256,
                (x >> 16) % 256
            )
        } else {
            let x = rng.next();
            format!(
                "2001:db8:{:x}:{:x}::{:x}",
                x % 65536,
                (x >> 16) % 65536,
                1 + (x >> 32) % 65535
            )
        };
        if !seen.insert(value.clone()) {
            continue;
        }
        let id = out.len() as i64 + 1;
        out.insert(
            id,
            AgentIndicator {
                id,
                value,
                action: "block".into(),
                expires_at: None,
                title: "bench".into(),
            },
        );
    }
    out
}

/// Runs `ip` with `args`, failing loudly.
pub fn ip(args: &[&str]) {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server on loopback (plain HTTP) with a fresh data directory in `dir`.
pub async fn start_server(dir: &std::path::Path) -> netward_server::RunningServer {
    netward_server::start(&netward_server::ServerConfig {
        data_dir: dir.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body_bytes: 64 << 20,
        plain_http: true,
        tls_names: Vec::new(),
        advertise: None,
        detection: Default::default(),
    })
    .await
    .unwrap()
}

/// An HTTP client for the plain-HTTP server (reqwest is built without a default TLS provider).
pub fn http_client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

/// POSTs `body` as the admin and returns the JSON answer.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    admin: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    http.post(format!("{url}{path}"))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
