//! `/api/machines`: the devices, and whether each enforces the current policy.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use netward_model::Role;
use netward_model::agent_wire::{MachineEntity, MachineList, MachinePatch};
use netward_model::wire::ErrorBody;

use super::auth::Principal;
use super::error::ApiError;
use super::extract::JsonBody;
use crate::control::ControlPlane;

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("device {id} does not exist")))
}

/// All devices, with the policy version each enforces and whether it is current.
#[utoipa::path(get, path = "/api/machines", tag = "machines",
    responses((status = 200, body = MachineList), (status = 401, body = ErrorBody)))]
pub async fn list(State(cp): State<ControlPlane>) -> Result<Json<MachineList>, ApiError> {
    Ok(Json(MachineList {
        value: cp.machines().await?,
    }))
}

/// One device.
#[utoipa::path(get, path = "/api/machines/{id}", tag = "machines",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = MachineEntity), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn show(
    State(cp): State<ControlPlane>,
    Path(id): Path<String>,
) -> Result<Json<MachineEntity>, ApiError> {
    Ok(Json(cp.machine(parse_id(&id)?).await?))
}

/// Move a device to another group.
#[utoipa::path(patch, path = "/api/machines/{id}", tag = "machines",
    params(("id" = String, Path, description = "Device id")), request_body = MachinePatch,
    responses((status = 200, body = MachineEntity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MachinePatch>,
) -> Result<Json<MachineEntity>, ApiError> {
    who.require(Role::Admin)?;
    Ok(Json(
        cp.update_machine(parse_id(&id)?, body, who.actor()).await?,
    ))
}

/// Revoke a device's credential; the agent is refused from then on.
#[utoipa::path(post, path = "/api/machines/{id}/revoke", tag = "machines",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = MachineEntity), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<MachineEntity>, ApiError> {
    who.require(Role::Admin)?;
    Ok(Json(cp.revoke_machine(parse_id(&id)?, who.actor()).await?))
}
