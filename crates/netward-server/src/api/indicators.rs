//! `/api/indicators`: MDE's Indicators API (submit, list, delete, import) plus show by id.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use netward_model::submission::parse_flag;
use netward_model::wire::{
    ErrorBody, ImportBatch, ImportResultList, IndicatorEntity, IndicatorList,
};
use netward_model::{Action, IndicatorSubmission, Role};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::{JsonBody, QueryParams, RawBody};
use crate::control::ControlPlane;
use crate::indicators::ImportFormat;
use crate::store::IndicatorQuery;

/// The largest page, as in MDE.
pub const MAX_TOP: usize = 10_000;

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("indicator {id} does not exist")))
}

/// Submit or update one indicator (keyed by its canonical value).
#[utoipa::path(post, path = "/api/indicators", tag = "indicators",
    params(("force" = Option<bool>, Query, description = "Accept a block the guard rails would refuse")),
    request_body = IndicatorSubmission,
    responses(
        (status = 200, description = "The created or updated indicator", body = IndicatorEntity),
        (status = 400, description = "A field is invalid, or a guard rail refused the block", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn submit(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    query: QueryParams,
    JsonBody(body): JsonBody<IndicatorSubmission>,
) -> Result<Json<IndicatorEntity>, ApiError> {
    who.require(Role::Analyst)?;
    query.only(&["force"])?;
    let force = query.flag("force")?;
    let ind = cp.submit_indicator(body, force, who.actor()).await?;
    Ok(Json(IndicatorEntity::new(&ind, cp.now())))
}

/// List indicators, filtered and paged.
#[utoipa::path(get, path = "/api/indicators", tag = "indicators",
    params(
        ("value" = Option<String>, Query, description = "Exact value, in any textual form"),
        ("action" = Option<String>, Query, description = "Allowed, Audit or Block"),
        ("group" = Option<String>, Query, description = "Indicators whose scope names this group"),
        ("source" = Option<String>, Query, description = "Created by this token, user or feed"),
        ("includeExpired" = Option<bool>, Query, description = "Also list expired indicators"),
        ("$top" = Option<usize>, Query, description = "Page size, at most 10000 (default 10000)"),
        ("$skip" = Option<usize>, Query, description = "Items to skip")),
    responses((status = 200, body = IndicatorList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(cp): State<ControlPlane>,
    query: QueryParams,
) -> Result<Json<IndicatorList>, ApiError> {
    query.only(&[
        "value",
        "action",
        "group",
        "source",
        "includeExpired",
        "$top",
        "$skip",
    ])?;
    let value = query
        .text("value")
        .map(|v| {
            netward_model::IndicatorValue::parse(&v)
                .map(|v| v.to_string())
                .map_err(|e| ApiError::invalid("value", e.to_string()))
        })
        .transpose()?;
    let action = query
        .text("action")
        .map(|a| {
            Action::parse(&a)
                .map(|(a, _)| a)
                .map_err(|e| ApiError::invalid("action", e.to_string()))
        })
        .transpose()?;
    let q = IndicatorQuery {
        value,
        action,
        group: query.text("group"),
        source: query.text("source"),
        text: None,
        include_expired: query.flag("includeExpired")?,
        top: query.count("$top", MAX_TOP, MAX_TOP)?,
        skip: query.count("$skip", 0, usize::MAX)?,
    };
    let now = cp.now();
    let found = cp.list_indicators(q).await?;
    Ok(Json(IndicatorList {
        value: found.iter().map(|i| IndicatorEntity::new(i, now)).collect(),
    }))
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

/// Import many indicators: MDE's JSON batch (`application/json`), MDE's CSV template
/// (`text/csv`) or a plain list (`text/plain`, one value per line, `#` comments, the other
/// fields from query parameters). Each item gets a result; valid items are applied even when
/// others fail.
#[utoipa::path(post, path = "/api/indicators/import", tag = "indicators",
    params(
        ("force" = Option<bool>, Query, description = "Accept blocks the guard rails would refuse"),
        ("action" = Option<String>, Query, description = "Plain lists: the action (required)"),
        ("title" = Option<String>, Query, description = "Plain lists: the title (required)"),
        ("description" = Option<String>, Query, description = "Plain lists"),
        ("severity" = Option<String>, Query, description = "Plain lists"),
        ("expirationTime" = Option<String>, Query, description = "Plain lists"),
        ("generateAlert" = Option<bool>, Query, description = "Plain lists"),
        ("rbacGroupNames" = Option<String>, Query, description = "Plain lists: comma-separated groups"),
        ("recommendedActions" = Option<String>, Query, description = "Plain lists")),
    request_body(description = "The batch", content((ImportBatch = "application/json"), (String = "text/csv"), (String = "text/plain"))),
    responses((status = 200, body = ImportResultList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn import(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    query: QueryParams,
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
            query.only(&["force"])?;
            ImportFormat::Json
        }
        "text/csv" | "application/csv" => {
            query.only(&["force"])?;
            ImportFormat::Csv
        }
        "text/plain" => ImportFormat::List(Box::new(list_defaults(&query)?)),
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "Content-Type `{other}` is not an import format; use application/json, text/csv or text/plain"
            )));
        }
    };
    let force = query.flag("force")?;
    let results = cp
        .import_indicators(body.to_vec(), format, force, who.actor())
        .await?;
    Ok(Json(ImportResultList { value: results }))
}

fn list_defaults(query: &QueryParams) -> Result<IndicatorSubmission, ApiError> {
    query.only(&[
        "force",
        "action",
        "title",
        "description",
        "severity",
        "expirationTime",
        "generateAlert",
        "rbacGroupNames",
        "recommendedActions",
    ])?;
    for required in ["action", "title"] {
        if query.text(required).is_none() {
            return Err(ApiError::invalid(
                required,
                "a plain-list import needs this query parameter: it applies to every line",
            ));
        }
    }
    let generate_alert = parse_flag(&query.text("generateAlert").unwrap_or_default())
        .map_err(|m| ApiError::invalid("generateAlert", m))?;
    Ok(IndicatorSubmission {
        action: query.text("action"),
        title: query.text("title"),
        description: query.text("description"),
        severity: query.text("severity"),
        expiration_time: query.text("expirationTime"),
        generate_alert,
        rbac_group_names: query
            .text("rbacGroupNames")
            .map(|g| netward_model::import::split_list(&g)),
        recommended_actions: query.text("recommendedActions"),
        ..Default::default()
    })
}
