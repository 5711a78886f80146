//! `/api/enroll-tokens`: the tokens `netward agent --enroll` takes (admins only). A token
//! enrolls up to its `maxUses` devices until it expires or is revoked; its secret is shown
//! only when it is created.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use netward_model::Role;
use netward_model::agent_wire::{
    EnrollTokenCreate, EnrollTokenCreated, EnrollTokenEntity, EnrollTokenList,
};
use netward_model::timestamp::format_rfc3339;
use netward_model::wire::ErrorBody;

use super::auth::Principal;
use super::error::ApiError;
use super::extract::JsonBody;
use crate::control::ControlPlane;
use crate::store::EnrollTokenRecord;

fn entity(t: &EnrollTokenRecord, now: i64) -> EnrollTokenEntity {
    EnrollTokenEntity {
        id: t.id.to_string(),
        group: t.group.clone(),
        created_at: format_rfc3339(t.created_at),
        created_by: t.created_by.clone(),
        expires_at: format_rfc3339(t.expires_at),
        max_uses: t.max_uses,
        uses: t.uses,
        revoked_at: t.revoked_at.map(format_rfc3339),
        usable: t.usable_at(now).is_ok(),
    }
}

/// Create an enrollment token; its secret is shown only in this answer.
#[utoipa::path(post, path = "/api/enroll-tokens", tag = "machines", request_body = EnrollTokenCreate,
    responses((status = 201, body = EnrollTokenCreated), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<EnrollTokenCreate>,
) -> Result<(StatusCode, Json<EnrollTokenCreated>), ApiError> {
    who.require(Role::Admin)?;
    Ok((
        StatusCode::CREATED,
        Json(cp.create_enroll_token(body, who.actor()).await?),
    ))
}

/// Every enrollment token, newest first, with its uses; never its secret.
#[utoipa::path(get, path = "/api/enroll-tokens", tag = "machines",
    responses((status = 200, body = EnrollTokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
) -> Result<Json<EnrollTokenList>, ApiError> {
    who.require(Role::Admin)?;
    let now = cp.now();
    Ok(Json(EnrollTokenList {
        value: cp
            .enroll_tokens()
            .await?
            .iter()
            .map(|t| entity(t, now))
            .collect(),
    }))
}

/// Revoke an enrollment token: it enrolls no more devices. Devices it enrolled stay enrolled.
#[utoipa::path(delete, path = "/api/enroll-tokens/{id}", tag = "machines",
    params(("id" = String, Path, description = "Enrollment token id")),
    responses((status = 200, body = EnrollTokenEntity), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<EnrollTokenEntity>, ApiError> {
    who.require(Role::Admin)?;
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("enrollment token {id} does not exist")))?;
    let token = cp.revoke_enroll_token(id, who.actor()).await?;
    Ok(Json(entity(&token, cp.now())))
}
