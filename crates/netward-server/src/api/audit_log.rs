//! `/api/audit`: who changed what, and when (admins only).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use netward_model::Role;
use netward_model::timestamp::format_rfc3339;
use netward_model::wire::{AuditEntryEntity, AuditList, ErrorBody};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::QueryParams;
use crate::control::ControlPlane;
use crate::store::AuditQuery;

/// The largest page.
pub const MAX_TOP: usize = 10_000;

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit",
    params(
        ("target" = Option<String>, Query, description = "Only entries on this indicator value, group, token name or `settings`"),
        ("$top" = Option<usize>, Query, description = "Page size, at most 10000 (default 100)"),
        ("$skip" = Option<usize>, Query, description = "Entries to skip")),
    responses((status = 200, body = AuditList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    query: QueryParams,
) -> Result<Json<AuditList>, ApiError> {
    who.require(Role::Admin)?;
    query.only(&["target", "$top", "$skip"])?;
    let q = AuditQuery {
        target: query.text("target"),
        top: query.count("$top", 100, MAX_TOP)?,
        skip: query.count("$skip", 0, usize::MAX)?,
    };
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
