//! `/api/settings`: tenant-wide settings.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use netward_model::Role;
use netward_model::wire::{ErrorBody, SettingsEntity, SettingsPatch};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::JsonBody;
use crate::control::ControlPlane;

/// The tenant settings.
#[utoipa::path(get, path = "/api/settings", tag = "settings",
    responses((status = 200, body = SettingsEntity), (status = 401, body = ErrorBody)))]
pub async fn show(State(cp): State<ControlPlane>) -> Result<Json<SettingsEntity>, ApiError> {
    Ok(Json(cp.settings().await?.into()))
}

/// Change tenant settings; `customNetworkIndicators: false` stops enforcement everywhere.
#[utoipa::path(patch, path = "/api/settings", tag = "settings", request_body = SettingsPatch,
    responses((status = 200, body = SettingsEntity), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<SettingsPatch>,
) -> Result<Json<SettingsEntity>, ApiError> {
    who.require(Role::Admin)?;
    Ok(Json(cp.update_settings(body, who.actor()).await?.into()))
}
