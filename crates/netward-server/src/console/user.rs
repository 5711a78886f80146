//! The signed-in user of a request: resolved from the session cookie and authenticated again
//! on every request, so a revoked token or a closed session ends at once. Every write checks
//! the role first (403, as the REST API) and then the form's CSRF token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use netward_model::{Actor, ActorKind, Role};
use serde::Deserialize;

use super::Console;
use super::error::PageError;
use super::html::Viewer;
use super::session;
use crate::control::ControlPlane;
use crate::sessions::{SessionUse, SessionUser};
use crate::store::TokenRecord;

/// The signed-in user of a request.
pub(super) struct User {
    token: TokenRecord,
    /// Who is looking, for the page frame and forms.
    pub(super) viewer: Viewer,
    /// The session id, to close it or to follow it on the live stream.
    pub(super) session: String,
}

/// A form that carries nothing but its CSRF token (sign-out, delete, revoke).
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

impl User {
    /// The id of the token the user signed in with.
    pub(super) fn token_id(&self) -> i64 {
        self.token.id
    }

    /// Who the audit log names for a change made on this page.
    pub(super) fn actor(&self) -> Actor {
        Actor {
            name: self.token.name.clone(),
            kind: ActorKind::ApiToken,
        }
    }

    /// Refuses with 403 unless the user's role includes `needed`: the server checks every
    /// write, whatever the page showed.
    pub(super) fn require(&self, needed: Role) -> Result<(), PageError> {
        if self.token.role.allows(needed) {
            Ok(())
        } else {
            Err(PageError::Shown(
                StatusCode::FORBIDDEN,
                format!(
                    "the token `{}` has the role {}; this needs {needed}",
                    self.token.name, self.token.role
                ),
            ))
        }
    }

    /// A write: the role first (403), then the form's CSRF token.
    pub(super) fn may_write(&self, needed: Role, csrf: &str) -> Result<(), PageError> {
        self.require(needed)?;
        self.check(csrf)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub(super) fn check(&self, csrf: &str) -> Result<(), PageError> {
        if !csrf.is_empty() && csrf == self.viewer.csrf {
            Ok(())
        } else {
            Err(PageError::Shown(
                StatusCode::FORBIDDEN,
                "the form is stale or did not come from this console; reload the page and try again".into(),
            ))
        }
    }
}

impl FromRequestParts<ControlPlane> for User {
    type Rejection = PageError;

    /// The signed-in user, or a redirect to sign in.
    async fn from_request_parts(parts: &mut Parts, cp: &ControlPlane) -> Result<Self, PageError> {
        let console = parts
            .extensions
            .get::<Arc<Console>>()
            .cloned()
            .ok_or(PageError::SignIn)?;
        let cookie = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok());
        let session = session::session_id(cookie, console.secure).ok_or(PageError::SignIn)?;
        let SessionUser { token, csrf } = cp
            .session_user(session.clone(), SessionUse::Request)
            .await?
            .ok_or(PageError::SignIn)?;
        Ok(User {
            viewer: Viewer {
                name: token.name.clone(),
                role: token.role,
                csrf,
            },
            token,
            session,
        })
    }
}
