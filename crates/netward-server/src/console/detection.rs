//! `/alerts` and `/incidents`: the lists (filtered by status), an alert's page with its
//! evidence, an incident's page with its alerts, and their status changes. The same data as
//! `api/detection.rs`; the events table is shared with a device's timeline.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, Render, html};
use netward_model::detection::{AlertEntity, AlertStatus, EventEntity, Outcome};
use netward_model::{FieldError, Role};
use serde::Deserialize;

use super::error::{PageError, id_of};
use super::html::{
    SortOrder, Viewer, page, page_number, pager, select_field, sortable_table, table, urlencode,
};
use super::orders::{ALERT_ORDERS, INCIDENT_ORDERS};
use super::time::time_ago;
use super::triage::triage_section;
use super::user::User;
use super::words::{device, hits, severity_badge, status_word, words};
use crate::control::{ControlError, ControlPlane};
use crate::store::AlertQuery;

/// Alerts, or incidents, on one page of a list.
const LIST_ROWS: usize = 100;

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
pub(super) fn event_rows(events: &[EventEntity], now: i64) -> Vec<Vec<Markup>> {
    events
        .iter()
        .map(|e| {
            let f = &e.additional_fields;
            vec![
                time_ago(&e.timestamp, now),
                html! { span class={ "outcome " (f.outcome) } { (words(f.outcome.as_str())) } },
                words(f.reason.as_str()).render(),
                e.protocol.render(),
                words(f.direction.as_str()).render(),
                match e.remote_port {
                    Some(p) => format!("{}:{p}", e.remote_ip),
                    None => e.remote_ip.clone(),
                }
                .render(),
                f.count.render(),
                match e.initiating_process_id {
                    Some(pid) => format!("{} ({pid})", e.initiating_process_file_name),
                    None => e.initiating_process_file_name.clone(),
                }
                .render(),
                html! {
                    @for (n, i) in f.indicators.iter().enumerate() {
                        @if n > 0 { "; " }
                        a href={ "/indicators/" (i.id) } { (i.title.clone().unwrap_or_else(|| i.value.clone())) }
                    }
                },
            ]
        })
        .collect()
}

/// Outcomes as a page lists them.
fn outcomes_text(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A list's caption: "most recent first" only in that order.
fn caption(what: &str, order: &SortOrder) -> String {
    if order.sort.is_empty() {
        format!("{what}, most recent first")
    } else {
        what.to_owned()
    }
}

/// A status from a form, or the field error the page shows.
fn form_status(raw: &str) -> Result<AlertStatus, PageError> {
    AlertStatus::parse(raw).ok_or_else(|| {
        PageError::from(ControlError::from(FieldError::new(
            "status",
            format!("`{raw}` is not a status; use one of new, inProgress, resolved"),
        )))
    })
}

fn alert_row(a: &AlertEntity, now: i64) -> Vec<Markup> {
    vec![
        html! { a href={ "/alerts/" (a.id) } data-alert-link=(a.id) { (a.title) } },
        severity_badge(a.severity),
        status_word(a.status).render(),
        html! { a href={ "/devices/" (a.device_id) } { (device(&a.device_name, &a.device_id)) } },
        html! { a href={ "/indicators/" (a.indicator_id) } { (a.indicator_value) } },
        a.hit_count.render(),
        outcomes_text(&a.outcomes).render(),
        time_ago(&a.last_seen, now),
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
    /// The 1-based page; anything else is the first.
    #[serde(default)]
    page: String,
}

fn status_filter(current: &str, action: &str) -> Markup {
    html! {
        form method="get" action=(action) class="filters" {
            (select_field(
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
            ))
            button type="submit" { "Filter" }
        }
    }
}

/// The buttons that move an alert or incident to another status; analysts and up only.
fn status_form(viewer: &Viewer, action: &str, current: &str) -> Markup {
    let choices = [
        ("new", "Reopen"),
        ("inProgress", "Start investigating"),
        ("resolved", "Resolve"),
    ];
    html! {
        @if viewer.can(Role::Analyst) {
            form method="post" action=(action) class="inline status-form" {
                (viewer.csrf_field())
                @for (status, label) in choices.iter().filter(|(s, _)| *s != current) {
                    button type="submit" name="status" value=(status) { (label) } " "
                }
            }
        }
    }
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
    Query(order): Query<SortOrder>,
) -> Result<Markup, PageError> {
    // An unknown status in the query lists every status, as the filter's "any".
    let status = AlertStatus::parse(&filter.status);
    let page_number = page_number(&filter.page);
    let query = AlertQuery {
        status,
        order: order.store(&ALERT_ORDERS),
        top: LIST_ROWS,
        skip: (page_number - 1).saturating_mul(LIST_ROWS),
        ..AlertQuery::default()
    };
    let total = cp.count_alerts(query.clone()).await?;
    let list = cp.alerts(query).await?;
    let now = cp.now();
    let rows: Vec<Vec<Markup>> = list.iter().map(|a| alert_row(a, now)).collect();
    let keys = [
        "title",
        "severity",
        "status",
        "device",
        "indicator",
        "hits",
        "",
        "last",
    ];
    let columns: Vec<(&str, Option<&str>)> = ALERT_HEADERS
        .iter()
        .zip(keys)
        .map(|(h, k)| (*h, Some(k).filter(|k| !k.is_empty())))
        .collect();
    let base = format!("/alerts?status={}&", urlencode(&filter.status));
    let body = html! {
        p { "New alerts appear here as they are raised." }
        (status_filter(&filter.status, "/alerts"))
        (pager(page_number, LIST_ROWS, list.len(), total, |p| {
            format!("{base}page={p}{}", order.query())
        }))
        (sortable_table(&caption("Alerts", &order), &columns, &order, &base, &rows, "alerts-body", "Nothing yet."))
    };
    Ok(page("Alerts", "/alerts", Some(&u.viewer), body))
}

/// `GET /alerts/{id}`: facts, status buttons and evidence.
pub(super) async fn alert(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = id_of("alert", &id)?;
    let a = cp.alert(id).await?;
    let now = cp.now();
    let facts = [
        ("Status", status_word(a.status).render()),
        (
            "Status changed",
            match (&a.status_changed_by, &a.status_changed_at) {
                (Some(by), Some(at)) => html! { (time_ago(at, now)) " by " (by) },
                _ => "-".render(),
            },
        ),
        ("Severity", a.severity.as_str().render()),
        ("Device", device(&a.device_name, &a.device_id).render()),
        ("Indicator", a.indicator_value.render()),
        (
            "Recommended actions",
            a.recommended_actions.as_deref().unwrap_or("-").render(),
        ),
        ("First seen", time_ago(&a.first_seen, now)),
        ("Last seen", time_ago(&a.last_seen, now)),
        ("Hits", hits(a.hit_count).render()),
        ("Outcomes", outcomes_text(&a.outcomes).render()),
    ];
    let evidence = a.evidence.clone().unwrap_or_default();
    let body = html! {
        dl class="facts" {
            @for (k, v) in &facts {
                dt { (k) }
                dd data-fact=(k.to_lowercase()) { (v) }
            }
        }
        (status_form(&u.viewer, &format!("/alerts/{id}/status"), a.status.as_str()))
        (triage_section(&u.viewer, &a, cp.now()))
        p {
            a href={ "/devices/" (a.device_id) } { "The device's timeline" }
            " · "
            a href={ "/incidents/" (a.incident_id) } { "The incident" }
        }
        h2 { "Evidence" }
        (table(
            "Events behind this alert, newest first",
            &EVENT_HEADERS,
            &event_rows(&evidence, cp.now()),
            ""
        ))
    };
    Ok(page(&a.title, "/alerts", Some(&u.viewer), body))
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
    cp.set_alert_status(id, form_status(&form.status)?, u.actor())
        .await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

/// `GET /incidents`.
pub(super) async fn incidents(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<StatusFilter>,
    Query(order): Query<SortOrder>,
) -> Result<Markup, PageError> {
    let status = AlertStatus::parse(&filter.status);
    let page_number = page_number(&filter.page);
    let total = cp.count_incidents(status).await?;
    let list = cp
        .incidents(
            status,
            order.store(&INCIDENT_ORDERS),
            LIST_ROWS,
            (page_number - 1).saturating_mul(LIST_ROWS),
        )
        .await?;
    let base = format!("/incidents?status={}&", urlencode(&filter.status));
    let now = cp.now();
    let rows: Vec<Vec<Markup>> = list
        .iter()
        .map(|i| {
            vec![
                html! { a href={ "/incidents/" (i.id) } { (i.title) } },
                severity_badge(i.severity),
                status_word(i.status).render(),
                i.indicator_value.render(),
                i.device_count.render(),
                i.alert_count.render(),
                i.hit_count.render(),
                time_ago(&i.last_seen, now),
            ]
        })
        .collect();
    let body = html! {
        p { "An incident gathers one indicator's alerts across devices." }
        (status_filter(&filter.status, "/incidents"))
        (pager(page_number, LIST_ROWS, list.len(), total, |p| {
            format!("{base}page={p}{}", order.query())
        }))
        (sortable_table(
            &caption("Incidents", &order),
            &[
                ("Incident", Some("title")),
                ("Severity", Some("severity")),
                ("Status", Some("status")),
                ("Indicator", Some("indicator")),
                ("Devices", Some("devices")),
                ("Alerts", Some("alerts")),
                ("Hits", Some("hits")),
                ("Last seen", Some("last")),
            ],
            &order,
            &base,
            &rows,
            "",
            "Nothing yet."
        ))
    };
    Ok(page("Incidents", "/incidents", Some(&u.viewer), body))
}

/// `GET /incidents/{id}`: facts, status buttons and its alerts.
pub(super) async fn incident(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = id_of("incident", &id)?;
    let i = cp.incident(id).await?;
    let now = cp.now();
    let alerts: Vec<Vec<Markup>> = i
        .alerts
        .iter()
        .flatten()
        .map(|a| alert_row(a, now))
        .collect();
    let body = html! {
        dl class="facts" {
            dt { "Status" } dd { (status_word(i.status)) }
            dt { "Severity" } dd { (severity_badge(i.severity)) }
            dt { "Indicator" } dd { (i.indicator_value) }
            dt { "Devices" } dd { (i.device_count) }
            dt { "Hits" } dd { (i.hit_count) }
        }
        (status_form(&u.viewer, &format!("/incidents/{id}/status"), i.status.as_str()))
        h2 { "Alerts" }
        (table("Alerts in this incident", &ALERT_HEADERS, &alerts, ""))
    };
    Ok(page(&i.title, "/incidents", Some(&u.viewer), body))
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
    cp.set_incident_status(id, form_status(&form.status)?, u.actor())
        .await?;
    Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
}
