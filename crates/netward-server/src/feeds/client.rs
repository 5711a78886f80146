//! The HTTP client of feeds: reqwest over rustls (ring), trusting the feed's CA certificate
//! when it has one and the system's roots otherwise, with timeouts; and the conditional GET
//! that the list kinds (plain, spamhaus-json, csv) use, reading the body as a stream and
//! stopping at the feed's size cap.
//!
//! The system roots are read from `SSL_CERT_FILE` or the distribution's bundle
//! (`/etc/ssl/certs/ca-certificates.crt` on Debian and Ubuntu, `/etc/pki/tls/certs/ca-bundle.crt`
//! on Fedora and RHEL, `/etc/ssl/cert.pem` on Alpine and Arch): no crate needed for that.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{
    ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{PullError, Source, Validators};

/// Where the system's CA bundle is, by distribution family, in the order tried.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];
/// Time to connect to a feed's server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Time one request may take, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a feed's client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the CA certificate is not PEM: {0}")]
    BadPem(String),
    #[error("the CA certificate holds no certificate")]
    NoCertificate,
    #[error("no system CA bundle found (tried SSL_CERT_FILE, {})", SYSTEM_BUNDLES.join(", "))]
    NoSystemRoots,
    #[error("the HTTP client cannot be built: {0}")]
    Build(String),
}

/// The certificates of a PEM bundle.
pub fn parse_ca(pem: &str) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| ClientError::BadPem(e.to_string()))?;
    if certs.is_empty() {
        return Err(ClientError::NoCertificate);
    }
    Ok(certs)
}

fn system_roots() -> Result<RootCertStore, ClientError> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let candidates = from_env
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(std::path::PathBuf::from));
    for path in candidates {
        let Ok(pem) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut roots = RootCertStore::empty();
        // A bundle may hold a certificate webpki cannot read; the rest still count.
        let (added, _ignored) = roots.add_parsable_certificates(parse_ca(&pem).unwrap_or_default());
        if added > 0 {
            return Ok(roots);
        }
    }
    Err(ClientError::NoSystemRoots)
}

/// A client for one feed's configuration: built when the feed is read for the first time or
/// changed, and kept for its refreshes.
pub fn build(ca_cert: Option<&str>) -> Result<reqwest::Client, ClientError> {
    let roots = match ca_cert {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in parse_ca(pem)? {
                roots
                    .add(cert)
                    .map_err(|e| ClientError::BadPem(e.to_string()))?;
            }
            roots
        }
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Build(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .user_agent(concat!("netward-feeds/", env!("CARGO_PKG_VERSION")))
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| ClientError::Build(e.to_string()))
}

/// The answer to a conditional GET.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed.
    NotModified,
    /// The body, and the validators to send next time.
    Body(Vec<u8>, Validators),
}

/// `request` with `source`'s credentials: the API key in its header (`Authorization` unless
/// another is named), and HTTP Basic when a user name is set.
pub fn authenticate(
    request: reqwest::RequestBuilder,
    source: &Source,
) -> Result<reqwest::RequestBuilder, PullError> {
    let request = request.headers(auth_headers(source)?);
    Ok(match &source.username {
        Some(user) => request.basic_auth(user, source.password.as_deref()),
        None => request,
    })
}

/// The request headers that carry `source`'s API key.
pub fn auth_headers(source: &Source) -> Result<HeaderMap, PullError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = &source.api_key {
        let name = source.api_key_header.as_deref().unwrap_or("Authorization");
        let bad = |what: &str| PullError::Http {
            url: source.url.clone(),
            reason: format!("the API key {what} is not a valid HTTP header"),
        };
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad("header name"))?;
        let mut value = HeaderValue::from_str(key).map_err(|_| bad("value"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}

/// GETs `source.url`, conditionally on `validators`, reading at most `source.max_bytes`.
pub async fn get(
    client: &reqwest::Client,
    source: &Source,
    validators: &Validators,
) -> Result<Fetched, PullError> {
    let url = source.url.clone();
    let mut request = authenticate(client.get(&url), source)?;
    if let Some(etag) = &validators.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(at) = &validators.last_modified {
        request = request.header(IF_MODIFIED_SINCE, at);
    }
    let response = request.send().await.map_err(|e| http_error(&url, &e))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(PullError::Status {
            url,
            status: status.as_u16(),
            retry_after: retry_after(response.headers()),
        });
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let next = Validators {
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
    };
    let limit = source.max_bytes;
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(PullError::TooLarge { url, limit });
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| http_error(&url, &e))?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(PullError::TooLarge { url, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body(body, next))
}

/// Seconds of a `Retry-After` header given in seconds (an HTTP date counts as none).
pub fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A failed exchange with `url`, named by the innermost cause of the reqwest error.
pub fn http_error(url: &str, e: &reqwest::Error) -> PullError {
    PullError::Http {
        url: url.to_owned(),
        reason: innermost(e),
    }
}

/// The innermost cause of a reqwest error: its chain repeats itself at every level.
fn innermost(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if e.is_timeout() {
        format!("timed out ({cause})")
    } else {
        cause.to_string()
    }
}
