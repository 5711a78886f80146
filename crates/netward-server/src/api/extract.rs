//! Request body extractors whose failures are JSON errors that name the field (query strings
//! are read by `params/`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
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
