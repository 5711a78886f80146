//! `/api/indicators`: MDE's Indicators API (submit, list, delete, batch delete, import) plus
//! show by id and delete by filter. Unknown query parameters are ignored here, as MDE ignores them.

use axum::Extension;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use netward_model::wire::{
    BatchDeleteRequest, DeleteByFilterRequest, DeleteByFilterResult, ErrorBody, ImportBatch,
    ImportResultList, IndicatorEntity, IndicatorList,
};
use netward_model::{Action, IndicatorSubmission, IndicatorValue, Role};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::{JsonBody, RawBody};
use super::params::{
    BatchDeleteParams, DeleteByFilterParams, ForceParams, ImportParams, IndicatorParams,
    LenientParams, Params,
};
use crate::control::ControlPlane;
use crate::import::{ImportFormat, ImportReport};
use crate::store::DeleteFilter;

/// The response header naming an import's id.
pub const IMPORT_ID_HEADER: &str = "x-netward-import-id";

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
    let counted = params.with_count()?;
    let now = cp.now();
    let (found, total) = cp.list_indicators_counted(q, counted).await?;
    let mut list = IndicatorList::new(
        cp.base_url(),
        found.iter().map(|i| IndicatorEntity::new(i, now)).collect(),
    );
    list.odata_count = total;
    Ok(Json(list))
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

/// Delete every indicator that matches a filter (a netward extension): source, group, action,
/// exact title or a list of values, all that are given must match; with `dryRun`, only count
/// them. One change: one policy version and one summary audit entry.
#[utoipa::path(post, path = "/api/indicators/DeleteByFilter", tag = "indicators",
    params(DeleteByFilterParams),
    request_body = DeleteByFilterRequest,
    responses((status = 200, description = "What matched and what was deleted", body = DeleteByFilterResult),
        (status = 400, description = "No filter, or a filter that is not valid", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn delete_by_filter(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Params(_params): Params<DeleteByFilterParams>,
    JsonBody(body): JsonBody<DeleteByFilterRequest>,
) -> Result<Json<DeleteByFilterResult>, ApiError> {
    who.require(Role::Analyst)?;
    let action = text_field(body.action)
        .map(|a| {
            Action::parse(&a)
                .map(|(a, _)| a)
                .map_err(|e| ApiError::invalid("action", e.to_string()))
        })
        .transpose()?;
    let values = body
        .values
        .map(|values| {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    IndicatorValue::parse(v)
                        .map(|v| v.to_string())
                        .map_err(|e| ApiError::invalid(&format!("values[{i}]"), e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let filter = DeleteFilter {
        source: text_field(body.source),
        group: text_field(body.group),
        action,
        title: text_field(body.title),
        values,
        feed_made: false,
    };
    let dry_run = body.dry_run;
    let done = cp.delete_matching(filter, dry_run, who.actor()).await?;
    Ok(Json(DeleteByFilterResult {
        matched: done.matched,
        deleted: done.deleted.len() as u64,
        dry_run,
    }))
}

/// A text filter, `None` when absent or blank.
fn text_field(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Import many indicators: MDE's JSON batch (`application/json`), MDE's CSV template
/// (`text/csv`) or a plain list (`text/plain`, one value per line, `#` comments, the other
/// fields from query parameters). Each item gets a result; valid items are applied even when
/// others fail, all in one change with one summary audit entry (`indicator.import`).
#[utoipa::path(post, path = "/api/indicators/import", tag = "indicators",
    params(ImportParams),
    request_body(description = "The batch", content((ImportBatch = "application/json"), (String = "text/csv"), (String = "text/plain"))),
    responses((status = 200, body = ImportResultList,
            headers(("X-Netward-Import-Id" = String, description = "The import's id: list its indicators with `importId`"))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn import(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    LenientParams(params, ignored): LenientParams<ImportParams>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
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
    let report = cp
        .import_indicators(body, format, force, who.actor())
        .await?;
    Ok(import_body(report))
}

/// Results serialised per item at a time: an import of a million rows answers about 90 MB of
/// JSON, which is never held whole.
const RESULTS_PER_CHUNK: usize = 2_000;

/// `{"value": [...]}` ([`ImportResultList`]) streamed from the report, with the import's id
/// in `X-Netward-Import-Id`.
fn import_body(report: ImportReport) -> Response {
    let import_id = report.import_id.to_string();
    let total = report.len();
    let chunks = (0..total.div_ceil(RESULTS_PER_CHUNK).max(1)).map(move |n| {
        let mut out = Vec::new();
        if n == 0 {
            out.extend_from_slice(b"{\"value\":[");
        }
        let first = n * RESULTS_PER_CHUNK;
        for (i, result) in report
            .results_from(first)
            .enumerate()
            .map(|(i, r)| (first + i, r))
            .take(RESULTS_PER_CHUNK)
        {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, &result)?;
        }
        if (n + 1) * RESULTS_PER_CHUNK >= total {
            out.extend_from_slice(b"]}");
        }
        Ok::<_, serde_json::Error>(Bytes::from(out))
    });
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (HeaderName::from_static(IMPORT_ID_HEADER), import_id),
        ],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response()
}
