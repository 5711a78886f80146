//! `/api/audit`: who changed what, and when (admins only).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use netward_model::Role;
use netward_model::timestamp::format_rfc3339;
use netward_model::wire::{AuditEntryEntity, AuditList, ErrorBody};

use super::auth::Principal;
use super::error::ApiError;
use super::params::{AuditParams, Params};
use crate::control::ControlPlane;

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit",
    params(AuditParams),
    responses((status = 200, body = AuditList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Params(params): Params<AuditParams>,
) -> Result<Json<AuditList>, ApiError> {
    who.require(Role::Admin)?;
    let q = params.query()?;
    let entries = cp.audit_log(q).await?;
    Ok(Json(AuditList {
        value: entries
            .into_iter()
            .map(|e| AuditEntryEntity {
                id: e.id.to_string(),
                time: format_rfc3339(e.at),
                actor: e.actor.name,
                actor_type: e.actor.kind.as_str().into(),
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect(),
    }))
}
