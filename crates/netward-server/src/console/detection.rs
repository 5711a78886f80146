//! `/alerts` and `/incidents`: the lists (filtered by status), an alert's page with its
//! evidence, an incident's page with its alerts, and their status changes. The same data as
//! `api/detection.rs`; the events table is shared with a device's timeline.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use netward_model::Role;
use netward_model::detection::{AlertEntity, EventEntity};
use serde::Deserialize;

use super::error::{PageError, id_of};
use super::html::{Viewer, esc, page, select_field, table};
use super::user::User;
use crate::control::ControlPlane;
use crate::store::AlertQuery;

/// Alerts, or incidents, shown on a list page.
const LIST_ROWS: usize = 500;

/// Column headers of [`event_rows`].
pub(super) const EVENT_HEADERS: [&str; 9] = [
    "Time",
    "Outcome",
    "Reason",
    "Protocol",
    "Direction",
    "Remote",
    "Count",
    "Process",
    "Indicator",
];

/// Events as table rows (a device's timeline, an alert's evidence).
pub(super) fn event_rows(events: &[EventEntity]) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let f = &e.additional_fields;
            vec![
                esc(&e.timestamp),
                format!(
                    "<span class=\"outcome {}\">{}</span>",
                    esc(&f.outcome),
                    esc(&f.outcome)
                ),
                esc(&f.reason),
                esc(&e.protocol),
                esc(&f.direction),
                esc(&match e.remote_port {
                    Some(p) => format!("{}:{p}", e.remote_ip),
                    None => e.remote_ip.clone(),
                }),
                esc(&f.count.to_string()),
                esc(&match e.initiating_process_id {
                    Some(pid) => format!("{} ({pid})", e.initiating_process_file_name),
                    None => e.initiating_process_file_name.clone(),
                }),
                esc(&f
                    .indicators
                    .iter()
                    .map(|i| i.title.clone().unwrap_or_else(|| i.value.clone()))
                    .collect::<Vec<_>>()
                    .join("; ")),
            ]
        })
        .collect()
}

fn alert_row(a: &AlertEntity) -> Vec<String> {
    vec![
        format!(
            "<a href=\"/alerts/{}\" data-alert-link=\"{}\">{}</a>",
            esc(&a.id),
            esc(&a.id),
            esc(&a.title)
        ),
        format!(
            "<span class=\"sev {}\">{}</span>",
            esc(&a.severity),
            esc(&a.severity)
        ),
        esc(&a.status),
        esc(&a.device_name),
        esc(&a.indicator_value),
        esc(&a.hit_count.to_string()),
        esc(&a.outcomes.join(", ")),
        esc(&a.last_seen),
    ]
}

const ALERT_HEADERS: [&str; 8] = [
    "Alert",
    "Severity",
    "Status",
    "Device",
    "Indicator",
    "Hits",
    "Outcomes",
    "Last seen",
];

#[derive(Deserialize, Default)]
pub(super) struct StatusFilter {
    #[serde(default)]
    status: String,
}

fn status_filter(current: &str, action: &str) -> String {
    format!(
        "<form method=\"get\" action=\"{action}\" class=\"filters\">{}<button type=\"submit\">Filter</button></form>",
        select_field(
            "status",
            "Status",
            &[
                ("", "any"),
                ("new", "new"),
                ("inProgress", "in progress"),
                ("resolved", "resolved")
            ],
            current,
            None
        )
    )
}

/// The buttons that move an alert or incident to another status; analysts and up only.
fn status_form(viewer: &Viewer, action: &str, current: &str) -> String {
    if !viewer.can(Role::Analyst) {
        return String::new();
    }
    let buttons: String = [
        ("new", "Reopen"),
        ("inProgress", "Start investigating"),
        ("resolved", "Resolve"),
    ]
    .iter()
    .filter(|(s, _)| *s != current)
    .map(|(s, label)| {
        format!("<button type=\"submit\" name=\"status\" value=\"{s}\">{label}</button> ")
    })
    .collect();
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"inline status-form\">{}{buttons}</form>",
        viewer.csrf_field()
    )
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    csrf: String,
    status: String,
}

/// `GET /alerts`.
pub(super) async fn alerts(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<StatusFilter>,
) -> Result<Html<String>, PageError> {
    // An unknown status in the query lists every status, as the filter's "any".
    let status = crate::detection::parse_status(&filter.status).ok();
    let list = cp
        .alerts(AlertQuery {
            status,
            top: LIST_ROWS,
            ..AlertQuery::default()
        })
        .await?;
    let rows: Vec<Vec<String>> = list.iter().map(alert_row).collect();
    let body = format!(
        "<p>New alerts appear here as they are raised.</p>{}{}",
        status_filter(&filter.status, "/alerts"),
        table(
            "Alerts, most recent first",
            &ALERT_HEADERS,
            &rows,
            "alerts-body"
        )
    );
    Ok(Html(page("Alerts", "/alerts", Some(&u.viewer), &body)))
}

/// `GET /alerts/{id}`: facts, status buttons and evidence.
pub(super) async fn alert(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let id = id_of("alert", &id)?;
    let a = cp.alert(id).await?;
    let facts = [
        ("Status", a.status.clone()),
        (
            "Status changed",
            match (&a.status_changed_by, &a.status_changed_at) {
                (Some(by), Some(at)) => format!("{at} by {by}"),
                _ => "-".into(),
            },
        ),
        ("Severity", a.severity.clone()),
        ("Device", a.device_name.clone()),
        ("Indicator", a.indicator_value.clone()),
        (
            "Recommended actions",
            a.recommended_actions.clone().unwrap_or_else(|| "-".into()),
        ),
        ("First seen", a.first_seen.clone()),
        ("Last seen", a.last_seen.clone()),
        ("Hits", a.hit_count.to_string()),
        ("Outcomes", a.outcomes.join(", ")),
    ];
    let dl: String = facts
        .iter()
        .map(|(k, v)| {
            format!(
                "<dt>{}</dt><dd data-fact=\"{}\">{}</dd>",
                esc(k),
                esc(&k.to_lowercase()),
                esc(v)
            )
        })
        .collect();
    let evidence = a.evidence.clone().unwrap_or_default();
    let body = format!(
        "<dl class=\"facts\">{dl}</dl>{}<p><a href=\"/devices/{}\">The device's timeline</a> · \
         <a href=\"/incidents/{}\">The incident</a></p><h2>Evidence</h2>{}",
        status_form(&u.viewer, &format!("/alerts/{id}/status"), &a.status),
        esc(&a.device_id),
        esc(&a.incident_id),
        table(
            "Events behind this alert, newest first",
            &EVENT_HEADERS,
            &event_rows(&evidence),
            ""
        )
    );
    Ok(Html(page(&a.title, "/alerts", Some(&u.viewer), &body)))
}

/// `POST /alerts/{id}/status`.
pub(super) async fn alert_status(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("alert", &id)?;
    cp.set_alert_status(id, &form.status, u.actor()).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

/// `GET /incidents`.
pub(super) async fn incidents(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<StatusFilter>,
) -> Result<Html<String>, PageError> {
    let status = crate::detection::parse_status(&filter.status).ok();
    let list = cp.incidents(status, LIST_ROWS, 0).await?;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                format!(
                    "<a href=\"/incidents/{}\">{}</a>",
                    esc(&i.id),
                    esc(&i.title)
                ),
                esc(&i.severity),
                esc(&i.status),
                esc(&i.indicator_value),
                esc(&i.device_count.to_string()),
                esc(&i.alert_count.to_string()),
                esc(&i.hit_count.to_string()),
                esc(&i.last_seen),
            ]
        })
        .collect();
    let body = format!(
        "<p>An incident gathers one indicator's alerts across devices.</p>{}{}",
        status_filter(&filter.status, "/incidents"),
        table(
            "Incidents, most recent first",
            &[
                "Incident",
                "Severity",
                "Status",
                "Indicator",
                "Devices",
                "Alerts",
                "Hits",
                "Last seen"
            ],
            &rows,
            ""
        )
    );
    Ok(Html(page(
        "Incidents",
        "/incidents",
        Some(&u.viewer),
        &body,
    )))
}

/// `GET /incidents/{id}`: facts, status buttons and its alerts.
pub(super) async fn incident(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let id = id_of("incident", &id)?;
    let i = cp.incident(id).await?;
    let alerts: Vec<Vec<String>> = i.alerts.iter().flatten().map(alert_row).collect();
    let body = format!(
        "<dl class=\"facts\"><dt>Status</dt><dd>{}</dd><dt>Severity</dt><dd>{}</dd>\
         <dt>Indicator</dt><dd>{}</dd><dt>Devices</dt><dd>{}</dd><dt>Hits</dt><dd>{}</dd></dl>{}\
         <h2>Alerts</h2>{}",
        esc(&i.status),
        esc(&i.severity),
        esc(&i.indicator_value),
        i.device_count,
        i.hit_count,
        status_form(&u.viewer, &format!("/incidents/{id}/status"), &i.status),
        table("Alerts in this incident", &ALERT_HEADERS, &alerts, "")
    );
    Ok(Html(page(&i.title, "/incidents", Some(&u.viewer), &body)))
}

/// `POST /incidents/{id}/status`.
pub(super) async fn incident_status(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("incident", &id)?;
    cp.set_incident_status(id, &form.status, u.actor()).await?;
    Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
}
