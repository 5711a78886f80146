//! Bearer-token authentication for every `/api` route, and role checks for handlers.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use netward_model::{Actor, ActorKind, Role};

use super::error::ApiError;
use crate::control::ControlPlane;
use crate::store::TokenRecord;

/// The authenticated caller, put in the request's extensions by [`require_token`].
#[derive(Clone, Debug)]
pub struct Principal {
    /// The token used.
    pub token: TokenRecord,
    /// Its secret, so that a long-lived answer (a live stream) can check it again.
    pub secret: crate::detection::follow::Credential,
}

impl Principal {
    /// The caller as the author of a change.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.token.name.clone(),
            kind: ActorKind::ApiToken,
        }
    }

    /// Refuses the request with 403 unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.token.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the token `{}` has the role {}; this needs {needed}",
                self.token.name, self.token.role
            )))
        }
    }
}

/// Authenticates `Authorization: Bearer <secret>`; 401 when it is missing, unknown or revoked.
pub async fn require_token(
    State(cp): State<ControlPlane>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header_value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
    let secret = header_value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        })
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header is not `Bearer <token>`")
        })?;
    let token = cp
        .authenticate(secret.clone())
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token is unknown or revoked"))?;
    req.extensions_mut().insert(Principal {
        token,
        secret: crate::detection::follow::Credential::new(secret),
    });
    Ok(next.run(req).await)
}
