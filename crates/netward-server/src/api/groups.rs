//! `/api/groups`: device groups with their mode and coverage, and each group's effective policy.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use netward_model::Role;
use netward_model::wire::{
    ErrorBody, GroupCreate, GroupEntity, GroupList, GroupPatch, PolicyEntity,
};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::JsonBody;
use crate::control::ControlPlane;

/// All device groups.
#[utoipa::path(get, path = "/api/groups", tag = "groups",
    responses((status = 200, body = GroupList), (status = 401, body = ErrorBody)))]
pub async fn list(State(cp): State<ControlPlane>) -> Result<Json<GroupList>, ApiError> {
    let groups = cp.groups().await?;
    Ok(Json(GroupList {
        value: groups.iter().map(GroupEntity::from).collect(),
    }))
}

/// Create a device group.
#[utoipa::path(post, path = "/api/groups", tag = "groups", request_body = GroupCreate,
    responses((status = 201, body = GroupEntity), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<GroupCreate>,
) -> Result<(StatusCode, Json<GroupEntity>), ApiError> {
    who.require(Role::Admin)?;
    let group = cp.create_group(body, who.actor()).await?;
    Ok((StatusCode::CREATED, Json(GroupEntity::from(&group))))
}

/// One device group.
#[utoipa::path(get, path = "/api/groups/{name}", tag = "groups",
    params(("name" = String, Path, description = "Group name")),
    responses((status = 200, body = GroupEntity), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn show(
    State(cp): State<ControlPlane>,
    Path(name): Path<String>,
) -> Result<Json<GroupEntity>, ApiError> {
    Ok(Json(GroupEntity::from(&cp.group(name).await?)))
}

/// Change a group's description, mode or coverage.
#[utoipa::path(patch, path = "/api/groups/{name}", tag = "groups",
    params(("name" = String, Path, description = "Group name")), request_body = GroupPatch,
    responses((status = 200, body = GroupEntity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<GroupPatch>,
) -> Result<Json<GroupEntity>, ApiError> {
    who.require(Role::Admin)?;
    Ok(Json(GroupEntity::from(
        &cp.update_group(name, body, who.actor()).await?,
    )))
}

/// Delete a group that no indicator names.
#[utoipa::path(delete, path = "/api/groups/{name}", tag = "groups",
    params(("name" = String, Path, description = "Group name")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn delete(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.require(Role::Admin)?;
    cp.delete_group(name, who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The effective policy a device of this group enforces now: disjoint sets per action.
#[utoipa::path(get, path = "/api/groups/{name}/policy", tag = "groups",
    params(("name" = String, Path, description = "Group name")),
    responses((status = 200, body = PolicyEntity), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn policy(
    State(cp): State<ControlPlane>,
    Path(name): Path<String>,
) -> Result<Json<PolicyEntity>, ApiError> {
    Ok(Json(cp.group_policy(name).await?))
}
