//! `/api/indicators`: MDE's Indicators API (submit, list, delete, batch delete, import) plus
//! show by id. Unknown query parameters are ignored here, as MDE ignores them.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use netward_model::wire::{
    BatchDeleteRequest, ErrorBody, ImportBatch, ImportResultList, IndicatorEntity, IndicatorList,
};
use netward_model::{IndicatorSubmission, Role};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::{JsonBody, RawBody};
use super::params::{BatchDeleteParams, ForceParams, ImportParams, IndicatorParams, LenientParams};
use crate::control::ControlPlane;
use crate::indicators::ImportFormat;

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("indicator {id} does not exist")))
}

/// Submit or update one indicator (keyed by its canonical value).
#[utoipa::path(post, path = "/api/indicators", tag = "indicators",
    params(ForceParams),
    request_body = IndicatorSubmission,
    responses(
        (status = 200, description = "The created or updated indicator", body = IndicatorEntity),
        (status = 400, description = "A field is invalid, or a guard rail refused the block", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn submit(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    LenientParams(params, _): LenientParams<ForceParams>,
    JsonBody(body): JsonBody<IndicatorSubmission>,
) -> Result<Json<IndicatorEntity>, ApiError> {
    who.require(Role::Analyst)?;
    let force = params.force()?;
    let ind = cp.submit_indicator(body, force, who.actor()).await?;
    Ok(Json(IndicatorEntity::new(&ind, cp.now())))
}

/// List indicators, filtered and paged.
#[utoipa::path(get, path = "/api/indicators", tag = "indicators",
    params(IndicatorParams),
    responses((status = 200, body = IndicatorList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(cp): State<ControlPlane>,
    LenientParams(params, _): LenientParams<IndicatorParams>,
) -> Result<Json<IndicatorList>, ApiError> {
    let q = params.query()?;
    let now = cp.now();
    let found = cp.list_indicators(q).await?;
    Ok(Json(IndicatorList::new(
        cp.base_url(),
        found.iter().map(|i| IndicatorEntity::new(i, now)).collect(),
    )))
}

/// One indicator by id, with the devices that enforce it.
#[utoipa::path(get, path = "/api/indicators/{id}", tag = "indicators",
    params(("id" = String, Path, description = "Indicator id")),
    responses((status = 200, body = IndicatorEntity), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn show(
    State(cp): State<ControlPlane>,
    Path(id): Path<String>,
) -> Result<Json<IndicatorEntity>, ApiError> {
    let ind = cp.indicator(parse_id(&id)?).await?;
    let mut entity = IndicatorEntity::new(&ind, cp.now());
    if !entity.expired {
        entity.enforcement = Some(cp.enforcement(ind).await?);
    }
    Ok(Json(entity))
}

/// Delete an indicator.
#[utoipa::path(delete, path = "/api/indicators/{id}", tag = "indicators",
    params(("id" = String, Path, description = "Indicator id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn delete(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.require(Role::Analyst)?;
    cp.delete_indicator(parse_id(&id)?, who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete many indicators at once, as MDE's BatchDelete: all of them, in one change, or, when
/// any id does not exist, none (404 naming the unknown ids).
#[utoipa::path(post, path = "/api/indicators/BatchDelete", tag = "indicators",
    params(BatchDeleteParams),
    request_body = BatchDeleteRequest,
    responses((status = 204, description = "All deleted"),
        (status = 400, description = "No ids, or an id that is not a number", body = ErrorBody),
        (status = 404, description = "Some ids do not exist; nothing was deleted", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn batch_delete(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    LenientParams(_params, _): LenientParams<BatchDeleteParams>,
    JsonBody(body): JsonBody<BatchDeleteRequest>,
) -> Result<StatusCode, ApiError> {
    who.require(Role::Analyst)?;
    let raw = body.indicator_ids.unwrap_or_default();
    if raw.is_empty() {
        return Err(ApiError::invalid(
            "IndicatorIds",
            "is required: a list of the ids to delete",
        ));
    }
    let ids = raw
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let text = id.into_text();
            text.parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    &format!("IndicatorIds[{i}]"),
                    format!("`{text}` is not an indicator id"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    cp.delete_indicators(ids, who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Import many indicators: MDE's JSON batch (`application/json`), MDE's CSV template
/// (`text/csv`) or a plain list (`text/plain`, one value per line, `#` comments, the other
/// fields from query parameters). Each item gets a result; valid items are applied even when
/// others fail.
#[utoipa::path(post, path = "/api/indicators/import", tag = "indicators",
    params(ImportParams),
    request_body(description = "The batch", content((ImportBatch = "application/json"), (String = "text/csv"), (String = "text/plain"))),
    responses((status = 200, body = ImportResultList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn import(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    LenientParams(params, ignored): LenientParams<ImportParams>,
    RawBody(body): RawBody,
) -> Result<Json<ImportResultList>, ApiError> {
    who.require(Role::Analyst)?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let format = match media.as_str() {
        "application/json" => {
            params.for_rows()?;
            ImportFormat::Json
        }
        "text/csv" | "application/csv" => {
            params.for_rows()?;
            ImportFormat::Csv
        }
        "text/plain" => {
            // A plain list takes its scope, action and title from the query: a misspelt
            // parameter (`rbacgroupnames`) must not leave every line applying to every device.
            if let Some(name) = ignored.first() {
                return Err(ApiError::invalid(
                    name,
                    "unknown query parameter; a plain-list import takes force, action, title, description, severity, expirationTime, generateAlert, rbacGroupNames and recommendedActions",
                ));
            }
            ImportFormat::List(Box::new(params.list_defaults()?))
        }
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "Content-Type `{other}` is not an import format; use application/json, text/csv or text/plain"
            )));
        }
    };
    let force = params.force()?;
    let results = cp
        .import_indicators(body.to_vec(), format, force, who.actor())
        .await?;
    Ok(Json(ImportResultList { value: results }))
}
