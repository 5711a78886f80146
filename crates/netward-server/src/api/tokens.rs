//! `/api/tokens`: API tokens (admins only).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use netward_model::Role;
use netward_model::timestamp::format_rfc3339;
use netward_model::wire::{ErrorBody, TokenCreate, TokenCreated, TokenEntity, TokenList};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::JsonBody;
use super::params::{ForceParams, Params};
use crate::control::ControlPlane;
use crate::store::TokenRecord;
use crate::tokens::TokenRevoke;

fn entity(t: &TokenRecord) -> TokenEntity {
    TokenEntity {
        id: t.id.to_string(),
        name: t.name.clone(),
        role: t.role.as_str().into(),
        created_at: format_rfc3339(t.created_at),
        created_by: t.created_by.clone(),
        revoked_at: t.revoked_at.map(format_rfc3339),
    }
}

/// All tokens, without their secrets.
#[utoipa::path(get, path = "/api/tokens", tag = "tokens",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
) -> Result<Json<TokenList>, ApiError> {
    who.require(Role::Admin)?;
    Ok(Json(TokenList {
        value: cp.tokens().await?.iter().map(entity).collect(),
    }))
}

/// Create a token. The answer holds its secret, which is shown only this once.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", request_body = TokenCreate,
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<TokenCreate>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    who.require(Role::Admin)?;
    let (record, secret) = cp.create_token(body, who.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token: entity(&record),
            secret,
        }),
    ))
}

/// Revoke a token; requests with it get 401 from then on. Your own token and the last live
/// admin token are refused with 409 unless `force=true`.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id"), ForceParams),
    responses((status = 200, body = TokenEntity), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Params(params): Params<ForceParams>,
) -> Result<Json<TokenEntity>, ApiError> {
    who.require(Role::Admin)?;
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("token {id} does not exist")))?;
    let revoke = TokenRevoke {
        id,
        caller: Some(who.token.id),
        force: params.force()?,
    };
    Ok(Json(entity(&cp.revoke_token(revoke, who.actor()).await?)))
}
