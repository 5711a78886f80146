//! `/api/events`, `/api/machines/{id}/timeline`, `/api/hunting/contacts`, `/api/alerts` and
//! `/api/incidents`: what happened on each device, as the agents reported it.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use futures_util::Stream;
use netward_model::Role;
use netward_model::detection::{
    AlertEntity, AlertList, AlertStatus, ContactList, EventList, IncidentEntity, IncidentList,
    Outcome, StatusPatch,
};
use netward_model::timestamp::parse_rfc3339_ms;
use netward_model::wire::ErrorBody;

use super::agents::KEEP_ALIVE;
use super::auth::Principal;
use super::error::ApiError;
use super::extract::{JsonBody, QueryParams};
use crate::control::ControlPlane;
use crate::detection::event_entity;
use crate::detection::follow::{AlertFeed, FOLLOW_PAGE};
use crate::store::{AlertQuery, EventQuery};

/// The largest page.
pub const MAX_TOP: usize = 10_000;

fn parse_id(what: &str, id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("{what} {id} does not exist")))
}

/// A status filter, read case-insensitively.
fn status_param(raw: &str) -> Result<AlertStatus, ApiError> {
    AlertStatus::parse(raw).ok_or_else(|| {
        ApiError::invalid(
            "status",
            format!("`{raw}` is not a status; use one of new, inProgress, resolved"),
        )
    })
}

fn id_param(query: &QueryParams, name: &str) -> Result<Option<i64>, ApiError> {
    query
        .text(name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid(name, format!("`{v}` is not an id")))
        })
        .transpose()
}

fn time_param(query: &QueryParams, name: &str) -> Result<Option<i64>, ApiError> {
    query
        .text(name)
        .map(|v| {
            parse_rfc3339_ms(&v)
                .ok_or_else(|| ApiError::invalid(name, format!("`{v}` is not an RFC 3339 time")))
        })
        .transpose()
}

/// The filters every event route takes.
const EVENT_FILTERS: [&str; 9] = [
    "remoteIp",
    "deviceId",
    "indicatorId",
    "outcome",
    "actionType",
    "from",
    "to",
    "$top",
    "$skip",
];

fn event_query(query: &QueryParams, default_top: usize) -> Result<EventQuery, ApiError> {
    let remote = query
        .text("remoteIp")
        .map(|v| {
            netward_model::IndicatorValue::parse(&v)
                .map(|iv| {
                    let (lo, hi) = iv.bounds();
                    (iv.family() == netward_model::Family::V6, lo, hi)
                })
                .map_err(|e| ApiError::invalid("remoteIp", e.to_string()))
        })
        .transpose()?;
    let mut outcome = query
        .text("outcome")
        .map(|v| {
            Outcome::parse(&v.to_ascii_lowercase()).ok_or_else(|| {
                ApiError::invalid(
                    "outcome",
                    format!("`{v}` is not blocked, audited or allowed"),
                )
            })
        })
        .transpose()?;
    if let Some(t) = query.text("actionType") {
        let o = Outcome::from_action_type(&t).ok_or_else(|| {
            ApiError::invalid(
                "actionType",
                format!("`{t}` is not an action type netward records"),
            )
        })?;
        if outcome.is_some_and(|x| x != o) {
            return Err(ApiError::invalid("actionType", "contradicts `outcome`"));
        }
        outcome = Some(o);
    }
    let from_ms = time_param(query, "from")?;
    let to_ms = time_param(query, "to")?;
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f >= t
    {
        return Err(ApiError::invalid("to", "must be after `from`"));
    }
    Ok(EventQuery {
        device: id_param(query, "deviceId")?,
        indicator: id_param(query, "indicatorId")?,
        remote,
        outcome,
        from_ms,
        to_ms,
        after_id: None,
        ascending: false,
        top: query.count("$top", default_top, MAX_TOP)?,
        skip: query.count("$skip", 0, usize::MAX)?,
    })
}

/// Events, newest first, filtered.
#[utoipa::path(get, path = "/api/events", tag = "detection",
    params(
        ("remoteIp" = Option<String>, Query, description = "A remote address or CIDR range"),
        ("deviceId" = Option<String>, Query, description = "Only this device"),
        ("indicatorId" = Option<String>, Query, description = "Only events that matched this indicator"),
        ("outcome" = Option<String>, Query, description = "blocked, audited or allowed"),
        ("actionType" = Option<String>, Query, description = "MDE's ActionType, e.g. ExploitGuardNetworkProtectionBlocked"),
        ("from" = Option<String>, Query, description = "Events active at or after this RFC 3339 time"),
        ("to" = Option<String>, Query, description = "Events that began before this RFC 3339 time"),
        ("$top" = Option<usize>, Query, description = "Page size, at most 10000 (default 100)"),
        ("$skip" = Option<usize>, Query, description = "Events to skip")),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_events(
    State(cp): State<ControlPlane>,
    query: QueryParams,
) -> Result<Json<EventList>, ApiError> {
    query.only(&EVENT_FILTERS)?;
    let q = event_query(&query, 100)?;
    Ok(Json(EventList {
        value: cp.events(q).await?,
    }))
}

/// Events as they arrive, as server-sent `event` messages (same filters as `/api/events`,
/// without paging). Starts with events stored after `afterId` (default: only new ones).
#[utoipa::path(get, path = "/api/events/stream", tag = "detection",
    params(
        ("remoteIp" = Option<String>, Query, description = "A remote address or CIDR range"),
        ("deviceId" = Option<String>, Query, description = "Only this device"),
        ("indicatorId" = Option<String>, Query, description = "Only events that matched this indicator"),
        ("outcome" = Option<String>, Query, description = "blocked, audited or allowed"),
        ("afterId" = Option<String>, Query, description = "Resume after this event id")),
    responses((status = 200, description = "text/event-stream of `event` messages, each an event entity"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn stream_events(
    State(cp): State<ControlPlane>,
    query: QueryParams,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    query.only(&[
        "remoteIp",
        "deviceId",
        "indicatorId",
        "outcome",
        "actionType",
        "afterId",
    ])?;
    let q = event_query(&query, FOLLOW_PAGE)?;
    let follower = cp.follow_events(q, id_param(&query, "afterId")?);
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
    params(("id" = String, Path, description = "Device id"),
        ("remoteIp" = Option<String>, Query, description = "A remote address or CIDR range"),
        ("indicatorId" = Option<String>, Query, description = "Only events that matched this indicator"),
        ("outcome" = Option<String>, Query, description = "blocked, audited or allowed"),
        ("from" = Option<String>, Query, description = "RFC 3339"),
        ("to" = Option<String>, Query, description = "RFC 3339"),
        ("$top" = Option<usize>, Query, description = "Page size, at most 10000 (default 1000)"),
        ("$skip" = Option<usize>, Query, description = "Events to skip")),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn timeline(
    State(cp): State<ControlPlane>,
    Path(id): Path<String>,
    query: QueryParams,
) -> Result<Json<EventList>, ApiError> {
    query.only(&EVENT_FILTERS)?;
    let device = parse_id("device", &id)?;
    let q = event_query(&query, 1000)?;
    Ok(Json(EventList {
        value: cp.timeline(device, q).await?,
    }))
}

/// Every device and process that contacted an address or range in a time window, from the
/// stored events (hits on indicators: netward does not record other connections).
#[utoipa::path(get, path = "/api/hunting/contacts", tag = "detection",
    params(
        ("remoteIp" = String, Query, description = "A remote address or CIDR range (required)"),
        ("from" = Option<String>, Query, description = "RFC 3339"),
        ("to" = Option<String>, Query, description = "RFC 3339"),
        ("$top" = Option<usize>, Query, description = "Rows, at most 10000 (default 1000)")),
    responses((status = 200, body = ContactList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn contacts(
    State(cp): State<ControlPlane>,
    query: QueryParams,
) -> Result<Json<ContactList>, ApiError> {
    query.only(&["remoteIp", "from", "to", "$top"])?;
    if query.text("remoteIp").is_none() {
        return Err(ApiError::invalid(
            "remoteIp",
            "name the address or range to hunt for",
        ));
    }
    let q = event_query(&query, 1000)?;
    Ok(Json(ContactList {
        value: cp.contacts(q).await?,
    }))
}

/// Alerts, most recently active first.
#[utoipa::path(get, path = "/api/alerts", tag = "detection",
    params(
        ("status" = Option<String>, Query, description = "new, inProgress or resolved"),
        ("deviceId" = Option<String>, Query, description = "Only this device"),
        ("indicatorId" = Option<String>, Query, description = "Only this indicator"),
        ("$top" = Option<usize>, Query, description = "Page size, at most 10000 (default 100)"),
        ("$skip" = Option<usize>, Query, description = "Alerts to skip")),
    responses((status = 200, body = AlertList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_alerts(
    State(cp): State<ControlPlane>,
    query: QueryParams,
) -> Result<Json<AlertList>, ApiError> {
    query.only(&["status", "deviceId", "indicatorId", "$top", "$skip"])?;
    let status = query.text("status").map(|s| status_param(&s)).transpose()?;
    let q = AlertQuery {
        id: None,
        status,
        device: id_param(&query, "deviceId")?,
        indicator: id_param(&query, "indicatorId")?,
        incident: None,
        top: query.count("$top", 100, MAX_TOP)?,
        skip: query.count("$skip", 0, usize::MAX)?,
    };
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

/// Set an alert's status (analysts and admins).
#[utoipa::path(patch, path = "/api/alerts/{id}", tag = "detection",
    params(("id" = String, Path, description = "Alert id")), request_body = StatusPatch,
    responses((status = 200, body = AlertEntity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_alert(
    State(cp): State<ControlPlane>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusPatch>,
) -> Result<Json<AlertEntity>, ApiError> {
    who.require(Role::Analyst)?;
    Ok(Json(
        cp.set_alert_status(parse_id("alert", &id)?, body.status, who.actor())
            .await?,
    ))
}

/// Alerts as they are raised or change, as server-sent `alert` messages.
#[utoipa::path(get, path = "/api/alerts/stream", tag = "detection",
    responses((status = 200, description = "text/event-stream of `alert` messages, each an alert entity; `resync` when some were missed"),
        (status = 401, body = ErrorBody)))]
pub async fn stream_alerts(
    State(cp): State<ControlPlane>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = futures_util::stream::unfold(cp.follow_alerts(), |mut follower| async move {
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
    params(
        ("status" = Option<String>, Query, description = "new, inProgress or resolved"),
        ("$top" = Option<usize>, Query, description = "Page size, at most 10000 (default 100)"),
        ("$skip" = Option<usize>, Query, description = "Incidents to skip")),
    responses((status = 200, body = IncidentList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_incidents(
    State(cp): State<ControlPlane>,
    query: QueryParams,
) -> Result<Json<IncidentList>, ApiError> {
    query.only(&["status", "$top", "$skip"])?;
    let status = query.text("status").map(|s| status_param(&s)).transpose()?;
    Ok(Json(IncidentList {
        value: cp
            .incidents(
                status,
                query.count("$top", 100, MAX_TOP)?,
                query.count("$skip", 0, usize::MAX)?,
            )
            .await?,
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
