//! The console's one mapping of a failure to a response: a redirect to sign in, or an HTML
//! error page with its status. The REST API has its own (`api/error.rs`), with JSON bodies;
//! both read [`ControlError`] the same way.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::html::{Notice, notice, page};
use crate::control::ControlError;
use crate::store::StoreError;

/// A failure on a console page.
#[derive(Debug)]
pub(super) enum PageError {
    /// Not signed in, or the session or its token has ended: go to the sign-in page.
    SignIn,
    /// An error page with this status and message.
    Shown(StatusCode, String),
}

impl PageError {
    /// 404 for `what`.
    pub(super) fn not_found(what: String) -> Self {
        PageError::Shown(StatusCode::NOT_FOUND, what)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/login").into_response(),
            PageError::Shown(status, text) => (
                status,
                page("Error", "", None, notice(Notice::Error, &text)),
            )
                .into_response(),
        }
    }
}

impl From<ControlError> for PageError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::NotFound(what) => PageError::not_found(format!("{what} does not exist")),
            ControlError::NothingDeleted(message) => PageError::not_found(message),
            ControlError::Invalid(f) => PageError::Shown(StatusCode::BAD_REQUEST, f.to_string()),
            ControlError::Guarded(g) => PageError::Shown(StatusCode::BAD_REQUEST, g.to_string()),
            ControlError::Conflict(m) => PageError::Shown(StatusCode::CONFLICT, m),
            ControlError::Unauthorized(_) => PageError::SignIn,
            ControlError::Store(StoreError::Unavailable { reason, .. }) => PageError::Shown(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the store is unavailable: {reason}; nothing was changed, try again shortly"
                ),
            ),
            other => {
                // The cause goes to the log only: it may name files or SQL the user need not see.
                tracing::error!(error = %other, "Console request failed inside the server.");
                PageError::Shown(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed; nothing was changed (see the server log)".into(),
                )
            }
        }
    }
}

/// A numeric id from the path; anything else does not exist (404, as an unknown id).
pub(super) fn id_of(what: &str, raw: &str) -> Result<i64, PageError> {
    raw.parse()
        .map_err(|_| PageError::not_found(format!("{what} {raw} does not exist")))
}
