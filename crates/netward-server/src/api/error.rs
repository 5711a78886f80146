//! The one place where failures become HTTP statuses and JSON error bodies.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use netward_model::wire::{ErrorBody, ErrorDetail};

use crate::control::ControlError;
use crate::store::StoreError;

/// An error response: `{"error": {"code", "message", "target"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    target: Option<String>,
    /// Seconds for `Retry-After`, on a 503.
    retry_after: Option<u32>,
}

/// What a client waits before retrying when the store is unavailable.
pub const STORE_RETRY_AFTER_SECONDS: u32 = 5;

impl ApiError {
    /// The message, after the field it is about (`remoteIp: ...`), as a page shows it.
    pub fn describe(&self) -> String {
        match &self.target {
            Some(t) => format!("`{t}`: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// A 400 on `target`.
    pub fn invalid(target: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidInput", message).on(target)
    }

    /// A 400 on a body that cannot be read as the request's type (not JSON, a wrong type, a
    /// field the route does not take): MDE's `InvalidRequestBody`, with `target` naming the
    /// field where MDE puts a correlation id.
    pub fn bad_body(target: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequestBody", message).on(target)
    }

    /// A 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    /// A 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// A 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "this route does not take that method",
        )
    }

    /// A 408.
    pub fn request_timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "RequestTimeout", message)
    }

    /// A 413.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge", message)
    }

    /// A 429, with `Retry-After`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u32) -> Self {
        Self {
            retry_after: Some(retry_after_seconds),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message)
        }
    }

    /// A 415.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            message,
        )
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            target: None,
            retry_after: None,
        }
    }

    fn on(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Invalid(f) => Self::invalid(&f.field, f.message),
            ControlError::Guarded(g) => {
                Self::new(StatusCode::BAD_REQUEST, "GuardRail", g.to_string()).on("indicatorValue")
            }
            ControlError::NotFound(what) => Self::not_found(format!("{what} does not exist")),
            ControlError::NothingDeleted(message) => Self::not_found(message),
            ControlError::Conflict(message) => Self::new(StatusCode::CONFLICT, "Conflict", message),
            ControlError::Unauthorized(message) => Self::unauthorized(message),
            ControlError::Store(StoreError::Unavailable {
                operation, reason, ..
            }) => {
                tracing::warn!(
                    operation,
                    reason,
                    "The store is unavailable; answering 503."
                );
                Self {
                    retry_after: Some(STORE_RETRY_AFTER_SECONDS),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "StoreUnavailable",
                        format!(
                            "the store is unavailable: {reason}; nothing was changed, retry in {STORE_RETRY_AFTER_SECONDS} s"
                        ),
                    )
                }
            }
            ControlError::Store(_) | ControlError::Task(_) => {
                tracing::error!(error = %e, error.source = ?std::error::Error::source(&e), "Request failed inside the server.");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "the server failed; the change was not applied (see the server log)",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                target: self.target,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
