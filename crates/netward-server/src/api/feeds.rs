//! `/api/feeds`: threat-intel feeds (issue 12). Anyone signed in reads them (never their
//! secrets); admins create, change, delete and refresh them.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use netward_model::Role;
use netward_model::timestamp::format_rfc3339;
use netward_model::wire::{
    ErrorBody, FeedBody, FeedEntity, FeedList, FeedRefusalEntity, FeedRunEntity,
};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::JsonBody;
use crate::control::ControlPlane;
use crate::store::feeds::{FeedRecord, FeedRun};

/// A feed as the API shows it: secrets only as whether they are set.
pub fn entity(feed: &FeedRecord, runs: &[FeedRun]) -> FeedEntity {
    let c = &feed.config;
    let s = &c.settings;
    FeedEntity {
        name: c.name.clone(),
        kind: c.kind.as_str().into(),
        url: c.url.clone(),
        collection: c.collection.clone(),
        username: c.secrets.username.clone(),
        password_set: c.secrets.password.is_some(),
        api_key_set: c.secrets.api_key.is_some(),
        api_key_header: c.secrets.api_key_header.clone(),
        ca_cert_set: c.ca_cert.is_some(),
        action: s.action.as_str().into(),
        severity: s.severity.as_str().into(),
        generate_alert: s.generate_alert,
        groups: s.groups.clone(),
        refresh_minutes: s.refresh_minutes,
        mode: s.mode.as_str().into(),
        remove_after_days: s.remove_after_days,
        max_shrink_percent: s.max_shrink_percent,
        allow_wide_ranges: s.allow_wide_ranges,
        max_bytes: s.max_bytes,
        max_entries: s.max_entries,
        csv_column: s.csv.as_ref().map(|m| m.column.clone()),
        csv_comment_prefix: s.csv.as_ref().map(|m| m.comment_prefix.clone()),
        confidence_block: s.confidence_block,
        confidence_audit: s.confidence_audit,
        indicators: feed.indicators,
        created_at: format_rfc3339(feed.created_at),
        created_by: feed.created_by.clone(),
        runs: runs.iter().map(run_entity).collect(),
    }
}

/// A run as the API shows it.
pub fn run_entity(run: &FeedRun) -> FeedRunEntity {
    FeedRunEntity {
        status: run.status.as_str().into(),
        added: run.added,
        updated: run.updated,
        removed: run.removed,
        unchanged: run.unchanged,
        refused: run.refused,
        refusals: run
            .refusals
            .iter()
            .map(|r| FeedRefusalEntity {
                at: r.at.clone(),
                entry: r.entry.clone(),
                reason: r.reason.clone(),
            })
            .collect(),
        error: run.error.clone(),
        http_status: run.http_status,
        started_at: format_rfc3339(run.started_at),
        finished_at: format_rfc3339(run.finished_at),
    }
}

/// Every feed, with its newest run.
#[utoipa::path(get, path = "/api/feeds", tag = "feeds",
    responses((status = 200, body = FeedList), (status = 401, body = ErrorBody)))]
pub async fn list(State(cp): State<ControlPlane>) -> Result<Json<FeedList>, ApiError> {
    let feeds = cp.feeds().await?;
    Ok(Json(FeedList {
        value: feeds.iter().map(|(f, runs)| entity(f, runs)).collect(),
    }))
}

/// Subscribe to a feed. Its first refresh follows at once.
#[utoipa::path(post, path = "/api/feeds", tag = "feeds", request_body = FeedBody,
    responses((status = 201, body = FeedEntity), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<FeedBody>,
) -> Result<(StatusCode, Json<FeedEntity>), ApiError> {
    who.require(Role::Admin)?;
    let feed = cp.create_feed(body, who.actor()).await?;
    Ok((StatusCode::CREATED, Json(entity(&feed, &[]))))
}

/// One feed, with its newest runs (up to 20).
#[utoipa::path(get, path = "/api/feeds/{name}", tag = "feeds",
    params(("name" = String, Path, description = "Feed name")),
    responses((status = 200, body = FeedEntity), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn show(
    State(cp): State<ControlPlane>,
    Path(name): Path<String>,
) -> Result<Json<FeedEntity>, ApiError> {
    let (feed, runs) = cp.feed(name).await?;
    Ok(Json(entity(&feed, &runs)))
}

/// Change a feed: only the fields given.
#[utoipa::path(patch, path = "/api/feeds/{name}", tag = "feeds",
    params(("name" = String, Path, description = "Feed name")), request_body = FeedBody,
    responses((status = 200, body = FeedEntity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<FeedBody>,
) -> Result<Json<FeedEntity>, ApiError> {
    who.require(Role::Admin)?;
    let feed = cp.update_feed(name, body, who.actor()).await?;
    Ok(Json(entity(&feed, &[])))
}

/// Delete a feed and every indicator it made, in one policy version.
#[utoipa::path(delete, path = "/api/feeds/{name}", tag = "feeds",
    params(("name" = String, Path, description = "Feed name")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn delete(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.require(Role::Admin)?;
    cp.delete_feed(name, who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refresh a feed now; answers with the run's record.
#[utoipa::path(post, path = "/api/feeds/{name}/sync", tag = "feeds",
    params(("name" = String, Path, description = "Feed name")),
    responses((status = 200, body = FeedRunEntity), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sync(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<FeedRunEntity>, ApiError> {
    who.require(Role::Admin)?;
    Ok(Json(run_entity(&cp.sync_feed(name, who.actor()).await?)))
}
