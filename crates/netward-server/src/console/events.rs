//! `/events`: the stored events with the filters of `GET /api/events` (remote address or
//! range, device, indicator, outcome, time window), newest first, 100 a page with "1–100 of
//! N" (counted in the store). The first page
//! follows the live stream: `console.js` re-reads the table when events are stored.

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::detection::{EVENT_HEADERS, event_rows};
use super::error::PageError;
use super::html::{
    Notice, TextField, notice, page, page_caption, select_field, table_or, urlencode,
};
use super::user::User;
use super::words::device;
use crate::api::params::EventParams;
use crate::control::ControlPlane;

/// Events on one page.
const PAGE_ROWS: usize = 100;

/// The filters as typed, to show them again (the API's names, so a link from the overview
/// or the API's own query works here).
#[derive(Deserialize, Default)]
pub(super) struct EventFilter {
    #[serde(rename = "remoteIp", default)]
    remote_ip: String,
    #[serde(rename = "deviceId", default)]
    device_id: String,
    #[serde(rename = "indicatorId", default)]
    indicator_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The 1-based page; anything else is the first.
    #[serde(default)]
    page: String,
}

impl EventFilter {
    /// The query string of these filters, without the page.
    fn query_string(&self) -> String {
        [
            ("remoteIp", &self.remote_ip),
            ("deviceId", &self.device_id),
            ("indicatorId", &self.indicator_id),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// `GET /events`.
pub(super) async fn list(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<EventFilter>,
    Query(params): Query<EventParams>,
) -> Result<Markup, PageError> {
    let page_number = filter.page.trim().parse::<usize>().unwrap_or(1).max(1);
    let (found, total, refused) = match params.query(PAGE_ROWS) {
        Ok(mut q) => {
            q.top = PAGE_ROWS;
            q.skip = (page_number - 1).saturating_mul(PAGE_ROWS);
            let total = cp.count_events(q.clone()).await?;
            (cp.events(q).await?, total, None)
        }
        Err(e) => (Vec::new(), 0, Some(e.describe())),
    };
    let now = cp.now();
    let first = (page_number - 1) * PAGE_ROWS + 1;
    let shown = page_caption("Events", first, found.len(), total);
    // The device first: the events of every device are listed here.
    let mut headers = vec!["Device"];
    headers.extend(EVENT_HEADERS);
    let rows: Vec<Vec<Markup>> = found
        .iter()
        .zip(event_rows(&found, now))
        .map(|(e, cells)| {
            let mut row = vec![html! {
                a href={ "/devices/" (e.device_id) } { (device(&e.device_name, &e.device_id)) }
            }];
            row.extend(cells);
            row
        })
        .collect();
    let base = filter.query_string();
    let link = |p: usize| {
        if base.is_empty() {
            format!("/events?page={p}")
        } else {
            format!("/events?{base}&page={p}")
        }
    };
    let outcomes = [
        ("", "any"),
        ("blocked", "blocked"),
        ("audited", "audited"),
        ("allowed", "allowed"),
    ];
    let body = html! {
        p { "Every hit the agents reported, as " code { "GET /api/events" } " lists them. The first page follows new events as they arrive." }
        @if let Some(r) = &refused { (notice(Notice::Error, r)) }
        form method="get" action="/events" class="filters" {
            (TextField::new("remoteIp", "Remote address or range").value(&filter.remote_ip))
            (TextField::new("deviceId", "Device id").value(&filter.device_id))
            (TextField::new("indicatorId", "Indicator id").value(&filter.indicator_id))
            (select_field("outcome", "Outcome", &outcomes, &filter.outcome, None))
            (TextField::new("from", "From (RFC 3339)").value(&filter.from))
            (TextField::new("to", "To (RFC 3339)").value(&filter.to))
            button type="submit" { "Filter" }
        }
        div id="events-list" data-refresh=[(page_number == 1).then_some("events")] {
            (table_or(&shown, &headers, &rows, "", "No event matches."))
        }
        nav aria-label="Pages" class="pager" {
            @if page_number > 1 { a href=(link(page_number - 1)) rel="prev" { "Newer events" } " " }
            @if ((first - 1 + found.len()) as u64) < total { a href=(link(page_number + 1)) rel="next" { "Older events" } }
        }
    };
    Ok(page("Events", "/events", Some(&u.viewer), body))
}
