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
    token: String,
}

impl ApiClient {
    /// A client for `resolved`.
    pub fn new(resolved: Resolved) -> Result<Self, CliError> {
        let tls = crate::tls::client_config(resolved.ca_cert.as_deref())?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("netward-cli/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|source| CliError::Connect {
                server: resolved.server.clone(),
                source,
            })?;
        Ok(Self {
            http,
            server: resolved.server,
            token: resolved.token,
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
            Ok(body) => CliError::Api {
                status,
                code: body.error.code,
                message: body.error.message,
                target: body.error.target,
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

    fn connect(&self, source: reqwest::Error) -> CliError {
        CliError::Connect {
            server: self.server.clone(),
            source,
        }
    }
}
