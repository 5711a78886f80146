//! The HTTP client: every request the CLI makes goes through [`ApiClient`], which turns
//! netward's JSON error bodies into [`CliError::Api`].

use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Resolved;
use crate::error::CliError;
use netward_model::wire::ErrorBody;

/// A client bound to one server and token.
#[derive(Clone, Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    server: String,
    /// Where the server URL came from, for the hint when it cannot be reached.
    origin: String,
    token: String,
    /// Why the last TLS handshake refused the server's certificate.
    tls_refusal: crate::tls::RefusalSlot,
}

impl ApiClient {
    /// A client for `resolved`.
    pub fn new(resolved: Resolved) -> Result<Self, CliError> {
        let (tls, tls_refusal) = crate::tls::client_config(resolved.ca_cert.as_deref())?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("netward-cli/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|cause| CliError::Client {
                server: resolved.server.clone(),
                cause,
            })?;
        Ok(Self {
            http,
            server: resolved.server,
            origin: resolved.origin,
            token: resolved.token,
            tls_refusal,
        })
    }

    /// A request to `path` (starting with `/api/`), authenticated.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.server))
            .bearer_auth(&self.token)
    }

    /// Sends `req` and decodes a JSON answer.
    pub async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, CliError> {
        let resp = self.send_raw(req).await?;
        self.decode(resp).await
    }

    /// [`Self::send`], with the answer's `header` too, when it has one.
    pub async fn send_with_header<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        header: &str,
    ) -> Result<(T, Option<String>), CliError> {
        let resp = self.send_raw(req).await?;
        let value = resp
            .headers()
            .get(header)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((self.decode(resp).await?, value))
    }

    /// A successful answer's JSON body.
    async fn decode<T: DeserializeOwned>(&self, resp: Response) -> Result<T, CliError> {
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|source| self.connect(source))?;
        serde_json::from_slice(&bytes).map_err(|e| CliError::Protocol {
            status,
            detail: e.to_string(),
        })
    }

    /// Sends `req`; any non-2xx answer becomes an error.
    pub async fn send_raw(&self, req: RequestBuilder) -> Result<Response, CliError> {
        let resp = req.send().await.map_err(|source| self.connect(source))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|source| self.connect(source))?;
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) if status == 401 => CliError::Unauthenticated {
                message: body.error.message,
            },
            Ok(body) if status == 403 => CliError::Forbidden {
                message: body.error.message,
            },
            Ok(body) => CliError::Api {
                status,
                code: body.error.code,
                message: body.error.message,
                target: body.error.target,
                flag: None,
            },
            Err(_) => CliError::Protocol {
                status,
                detail: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            },
        })
    }

    /// GET a JSON resource.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, CliError> {
        self.send(self.request(Method::GET, path).query(query))
            .await
    }

    /// Send a JSON body and decode the answer.
    pub async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        self.send(self.request(method, path).json(body)).await
    }

    /// A failed exchange in one line: the TLS refusal the verifier explained, or the
    /// innermost cause (reqwest's chain repeats itself at every level).
    fn connect(&self, source: reqwest::Error) -> CliError {
        let refusal = self
            .tls_refusal
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some(refusal) = refusal {
            return CliError::Tls(refusal);
        }
        let hint = if speaks_no_tls(&source) {
            "is it a plain-HTTP server (--plain-http)? then use http://."
        } else if self.server.starts_with("http://") && !source.is_connect() && !source.is_timeout()
        {
            // Connected, but the answer was not HTTP: most likely a TLS server.
            "does the server serve TLS (its default)? then use https:// with --ca-cert."
        } else {
            "is the server running?"
        };
        CliError::Unreachable {
            hint,
            server: self.server.clone(),
            origin: self.origin.clone(),
            cause: innermost_cause(&source),
        }
    }
}

/// Whether the exchange failed because the server answered a TLS handshake with something
/// that is not TLS (a plain-HTTP server).
fn speaks_no_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(rustls::Error::InvalidMessage(_)) = e.downcast_ref::<rustls::Error>() {
            return true;
        }
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    false
}

/// The last error of a chain, in lower case; `connection refused` for a refused connection.
/// `io::Error::source` skips the error it wraps, so the walk looks inside it too.
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = error;
    loop {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::TimedOut => return "timed out".into(),
                _ => {}
            }
            if let Some(inner) = io.get_ref() {
                current = inner;
                continue;
            }
        }
        match current.source() {
            Some(next) => current = next,
            None => return current.to_string(),
        }
    }
}

/// The path of a named resource, `collection` + `/` + `name` with every byte but letters,
/// digits, `-`, `_` and `.` percent-encoded (`/api/groups/my%20group`).
pub fn named(collection: &str, name: &str) -> String {
    let mut url = format!("{collection}/");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}
