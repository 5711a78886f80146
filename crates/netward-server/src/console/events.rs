//! `/events`: the stored events with the filters of `GET /api/events` (remote address or
//! range, device, indicator, outcome, time window), newest first or sorted by a column in the
//! store (remote addresses as numbers), 100 a page with "1–100 of N" (counted in the store).
//! The first page follows the live stream: `console.js` re-reads the table when events are
//! stored.

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::detection::{EVENT_HEADERS, event_rows};
use super::error::PageError;
use super::html::{
    Notice, SortOrder, TextField, notice, page, page_number, pager, select_field, sortable_table,
    urlencode,
};
use super::user::User;
use super::words::device;
use crate::api::params::EventParams;
use crate::control::ControlPlane;
use crate::store::EventColumn;

/// Events on one page.
const PAGE_ROWS: usize = 100;

/// The sortable columns, as `?sort=` names them.
const EVENT_ORDERS: [(&str, EventColumn); 7] = [
    ("device", EventColumn::Device),
    ("time", EventColumn::Time),
    ("outcome", EventColumn::Outcome),
    ("reason", EventColumn::Reason),
    ("protocol", EventColumn::Protocol),
    ("remote", EventColumn::Remote),
    ("count", EventColumn::Count),
];

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
    Query(order): Query<SortOrder>,
) -> Result<Markup, PageError> {
    let page_number = page_number(&filter.page);
    let (found, total, refused) = match params.query(PAGE_ROWS) {
        Ok(mut q) => {
            q.order = order.store(&EVENT_ORDERS);
            q.top = PAGE_ROWS;
            q.skip = (page_number - 1).saturating_mul(PAGE_ROWS);
            let total = cp.count_events(q.clone()).await?;
            (cp.events(q).await?, total, None)
        }
        Err(e) => (Vec::new(), 0, Some(e.describe())),
    };
    let now = cp.now();
    // The device first: the events of every device are listed here.
    let keys = [
        "device", "time", "outcome", "reason", "protocol", "", "remote", "count", "", "",
    ];
    let columns: Vec<(&str, Option<&str>)> = ["Device"]
        .iter()
        .chain(EVENT_HEADERS.iter())
        .zip(keys)
        .map(|(h, k)| (*h, Some(k).filter(|k| !k.is_empty())))
        .collect();
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
    let base = match filter.query_string() {
        q if q.is_empty() => "/events?".to_owned(),
        q => format!("/events?{q}&"),
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
        // The pager inside the live section: its count follows new events too.
        div id="events-list" data-refresh=[(page_number == 1).then_some("events")] {
            (pager(page_number, PAGE_ROWS, found.len(), total, |p| {
                format!("{base}page={p}{}", order.query())
            }))
            (sortable_table("Events", &columns, &order, &base, &rows, "", "No event matches."))
        }
    };
    Ok(page("Events", "/events", Some(&u.viewer), body))
}
