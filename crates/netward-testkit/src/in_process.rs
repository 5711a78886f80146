//! A server started inside the test's or benchmark's own process, on a loopback port with
//! plain HTTP and a fresh data directory, and a plain-HTTP client for it. Behind the `server`
//! feature.

use std::path::Path;
use std::sync::Arc;

use netward_server::{RunningServer, ServerConfig};

/// The configuration of a test server: plain HTTP on a free loopback port, data in
/// `data_dir`, everything else the default.
pub fn config(data_dir: &Path) -> ServerConfig {
    ServerConfig {
        data_dir: data_dir.to_owned(),
        database: None,
        listen: (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        max_body_bytes: netward_server::config::DEFAULT_MAX_BODY_BYTES,
        plain_http: true,
        tls_names: Vec::new(),
        advertise: None,
        detection: Default::default(),
        connections: Default::default(),
        metrics: true,
    }
}

/// Starts a server with [`config`] for `data_dir`, changed by `adjust`.
pub async fn start(data_dir: &Path, adjust: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut c = config(data_dir);
    adjust(&mut c);
    netward_server::start(&c).await.expect("start the server")
}

/// An HTTP client for a plain-HTTP server. reqwest is built without a default TLS provider,
/// so the client is given one (ring) that it will never use.
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("build an HTTP client")
}

/// The builder of [`http_client`], for a client that needs more (no redirects, say).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(tls)
}

/// POSTs `body` to `url` + `path` with `token`; the JSON answer.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    http.post(format!("{url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send the request")
        .json()
        .await
        .expect("the answer is JSON")
}

/// GETs `url` + `path` with `token`; the JSON answer.
pub async fn get_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    path: &str,
) -> serde_json::Value {
    http.get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send the request")
        .json()
        .await
        .expect("the answer is JSON")
}
