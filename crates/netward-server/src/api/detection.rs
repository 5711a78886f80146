//! `/api/events`, `/api/machines/{id}/timeline`, `/api/hunting/contacts`, `/api/alerts` and
//! `/api/incidents`: what happened on each device, as the agents reported it.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use futures_util::Stream;
use netward_model::Role;
use netward_model::detection::{
    AlertEntity, AlertList, AlertPatch, CommentBody, ContactList, EventList, IncidentEntity,
    IncidentList, StatusPatch,
};
use netward_model::wire::ErrorBody;

use super::agents::KEEP_ALIVE;
use super::auth::Principal;
use super::error::ApiError;
use super::extract::JsonBody;
use super::params::{
    AlertParams, ContactParams, EventParams, EventStreamParams, IncidentParams, Params,
};
use crate::control::ControlPlane;
use crate::detection::event_entity;
use crate::detection::follow::AlertFeed;

fn parse_id(what: &str, id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("{what} {id} does not exist")))
}

/// Events, newest first, filtered.
#[utoipa::path(get, path = "/api/events", tag = "detection",
    params(EventParams),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_events(
    State(cp): State<ControlPlane>,
    Params(params): Params<EventParams>,
) -> Result<Json<EventList>, ApiError> {
    let q = params.query(100)?;
    Ok(Json(EventList {
        value: cp.events(q).await?,
    }))
}

/// Events as they arrive, as server-sent `event` messages (same filters as `/api/events`,
/// without paging). Starts with events stored after `afterId` (default: only new ones).
#[utoipa::path(get, path = "/api/events/stream", tag = "detection",
    params(EventStreamParams),
    responses((status = 200, description = "text/event-stream of `event` messages, each an event entity"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn stream_events(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Params(params): Params<EventStreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (q, after) = params.follow()?;
    // The token is checked again for every batch: a revoked token's stream ends.
    let follower = cp.follow_events(q, after, Some(who.secret));
    let events = futures_util::stream::unfold(follower, |mut follower| async move {
        let batch: Vec<Result<Event, Infallible>> = follower
            .next_batch()
            .await?
            .iter()
            .map(|s| {
                Ok(Event::default()
                    .event("event")
                    .id(s.id.to_string())
                    .json_data(event_entity(s))
                    .unwrap_or_default())
            })
            .collect();
        Some((futures_util::stream::iter(batch), follower))
    });
    use futures_util::StreamExt;
    Ok(Sse::new(events.flatten()).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// A device's events in time order, oldest first.
#[utoipa::path(get, path = "/api/machines/{id}/timeline", tag = "detection",
    params(("id" = String, Path, description = "Device id"), EventParams),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn timeline(
    State(cp): State<ControlPlane>,
    Path(id): Path<String>,
    Params(params): Params<EventParams>,
) -> Result<Json<EventList>, ApiError> {
    let device = parse_id("device", &id)?;
    let q = params.query(1000)?;
    Ok(Json(EventList {
        value: cp.timeline(device, q).await?,
    }))
}

/// Every device and process that contacted an address or range in a time window, from the
/// stored events (hits on indicators: netward does not record other connections).
#[utoipa::path(get, path = "/api/hunting/contacts", tag = "detection",
    params(ContactParams),
    responses((status = 200, body = ContactList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn contacts(
    State(cp): State<ControlPlane>,
    Params(params): Params<ContactParams>,
) -> Result<Json<ContactList>, ApiError> {
    let q = params.query()?;
    Ok(Json(ContactList {
        value: cp.contacts(q, None).await?,
    }))
}

/// Alerts, most recently active first.
#[utoipa::path(get, path = "/api/alerts", tag = "detection",
    params(AlertParams),
    responses((status = 200, body = AlertList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_alerts(
    State(cp): State<ControlPlane>,
    Params(params): Params<AlertParams>,
) -> Result<Json<AlertList>, ApiError> {
    let q = params.query()?;
    Ok(Json(AlertList {
        value: cp.alerts(q).await?,
    }))
}

/// One alert, with the events behind it.
#[utoipa::path(get, path = "/api/alerts/{id}", tag = "detection",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertEntity), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn show_alert(
    State(cp): State<ControlPlane>,
    Path(id): Path<String>,
) -> Result<Json<AlertEntity>, ApiError> {
    Ok(Json(cp.alert(parse_id("alert", &id)?).await?))
}

/// Triage an alert (analysts and admins): set its status, who it is assigned to, its
/// classification and determination. Each field given is set; `null` clears the others.
#[utoipa::path(patch, path = "/api/alerts/{id}", tag = "detection",
    params(("id" = String, Path, description = "Alert id")), request_body = AlertPatch,
    responses((status = 200, body = AlertEntity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_alert(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AlertPatch>,
) -> Result<Json<AlertEntity>, ApiError> {
    who.require(Role::Analyst)?;
    Ok(Json(
        cp.triage_alert(parse_id("alert", &id)?, body, who.actor())
            .await?,
    ))
}

/// Comment on an alert (analysts and admins); answers the alert with its comments.
#[utoipa::path(post, path = "/api/alerts/{id}/comments", tag = "detection",
    params(("id" = String, Path, description = "Alert id")), request_body = CommentBody,
    responses((status = 200, body = AlertEntity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn comment_alert(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> Result<Json<AlertEntity>, ApiError> {
    who.require(Role::Analyst)?;
    Ok(Json(
        cp.comment_alert(parse_id("alert", &id)?, body.comment, who.actor())
            .await?,
    ))
}

/// Alerts as they are raised or change, as server-sent `alert` messages.
#[utoipa::path(get, path = "/api/alerts/stream", tag = "detection",
    responses((status = 200, description = "text/event-stream of `alert` messages, each an alert entity; `resync` when some were missed"),
        (status = 401, body = ErrorBody)))]
pub async fn stream_alerts(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The token is checked again for every change: a revoked token's stream ends.
    let follower = cp.follow_alerts(Some(who.secret));
    let events = futures_util::stream::unfold(follower, |mut follower| async move {
        let event = match follower.next().await? {
            AlertFeed::Alert(alert) => Event::default()
                .event("alert")
                .id(alert.id.clone())
                .json_data(&alert)
                .unwrap_or_default(),
            AlertFeed::Missed(n) => Event::default().event("resync").data(n.to_string()),
        };
        Some((Ok(event), follower))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// Incidents: one per indicator, gathering its alerts across devices.
#[utoipa::path(get, path = "/api/incidents", tag = "detection",
    params(IncidentParams),
    responses((status = 200, body = IncidentList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_incidents(
    State(cp): State<ControlPlane>,
    Params(params): Params<IncidentParams>,
) -> Result<Json<IncidentList>, ApiError> {
    let (status, top, skip) = params.query()?;
    Ok(Json(IncidentList {
        value: cp.incidents(status, None, top, skip).await?,
    }))
}

/// One incident, with its alerts.
#[utoipa::path(get, path = "/api/incidents/{id}", tag = "detection",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentEntity), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn show_incident(
    State(cp): State<ControlPlane>,
    Path(id): Path<String>,
) -> Result<Json<IncidentEntity>, ApiError> {
    Ok(Json(cp.incident(parse_id("incident", &id)?).await?))
}

/// Set an incident's status, and that of all its alerts (analysts and admins).
#[utoipa::path(patch, path = "/api/incidents/{id}", tag = "detection",
    params(("id" = String, Path, description = "Incident id")), request_body = StatusPatch,
    responses((status = 200, body = IncidentEntity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_incident(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusPatch>,
) -> Result<Json<IncidentEntity>, ApiError> {
    who.require(Role::Analyst)?;
    Ok(Json(
        cp.set_incident_status(parse_id("incident", &id)?, body.status, who.actor())
            .await?,
    ))
}
