//! Request extractors whose failures are JSON errors that name the field or parameter: the
//! body (with its size limit) and the query string.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use netward_model::strict_json::StrictJson;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The raw body, with the configured size limit turned into a JSON 413.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(
                    "the body is larger than the server's limit (netward server --max-body-bytes)",
                )
            } else if body_stalled(&e) {
                ApiError::request_timeout(
                    "the body stopped arriving before it was complete (the server waits 30 s for more)",
                )
            } else {
                ApiError::invalid("body", e.body_text())
            }
        })
    }
}

/// Whether reading the body failed because it stopped arriving (`ConnectionLimits`'s body
/// read timeout).
fn body_stalled(e: &axum::extract::rejection::BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A JSON object body; a type error, an unknown field or a key given twice is a 400
/// `InvalidRequestBody` on that field.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        // The fast path: straight into the type. Only a body that fails is parsed again, to
        // name the field at fault.
        if bytes.first() == Some(&b'{')
            && let Ok(value) = serde_json::from_slice::<T>(&bytes)
        {
            return Ok(Self(value));
        }
        // Read strictly: an untyped value keeps the last of two equal keys, and the typed
        // read below would then accept a body the fast path refused for its duplicate.
        let json = StrictJson::from_slice(&bytes)
            .map_err(|e| ApiError::bad_body("body", format!("the body is not JSON: {e}")))?
            .into_value()
            .map_err(|d| ApiError::bad_body(&d.path, d.to_string()))?;
        if !json.is_object() {
            return Err(ApiError::bad_body("body", "the body must be a JSON object"));
        }
        let value: T = serde_path_to_error::deserialize(json).map_err(|e| {
            let f = netward_model::import::field_error(&e);
            ApiError::bad_body(&f.field, f.message)
        })?;
        Ok(Self(value))
    }
}

/// The query string as names and values, read with typed getters that name the parameter in
/// their errors.
#[derive(Debug, Default)]
pub struct QueryParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(map)| Self(map))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

impl QueryParams {
    /// Refuses parameters other than `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::invalid(
                k,
                format!(
                    "unknown query parameter; this route takes {}",
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// A text parameter; empty counts as absent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A boolean parameter (`true`/`false`), `false` when absent.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        netward_model::submission::parse_flag(self.0.get(name).map_or("", |v| v.as_str()))
            .map(|f| f.unwrap_or(false))
            .map_err(|m| ApiError::invalid(name, m))
    }

    /// A count between 0 and `max`, `default` when absent.
    pub fn count(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    ApiError::invalid(name, format!("`{v}` is not a whole number from 0 to {max}"))
                }),
        }
    }
}
