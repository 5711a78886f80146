//! `/overview`, the landing page after sign-in: hits over time by outcome, new alerts by
//! severity, the top indicators and devices by hits, devices by sync state, indicators by
//! source and feed health, for the last 24 hours or 7 days. Every chart has its numbers as
//! text and links to the list behind it. The page follows the live stream: `console.js`
//! re-reads the `#overview` section when events, alerts or devices change.

use axum::extract::{Query, State};
use maud::{Markup, Render, html};
use netward_model::ActorKind;
use netward_model::timestamp::format_rfc3339;
use serde::Deserialize;

use super::charts::{Column, Series, bar, column_words, stacked_columns};
use super::error::PageError;
use super::html::{page, table, urlencode};
use super::time::time_at;
use super::user::User;
use super::words::{device, severity_badge};
use crate::control::ControlPlane;
use crate::overview::{DeviceState, OUTCOMES, Overview, OverviewRange};
use crate::store::feeds::{FeedRecord, FeedRun, RunStatus};
use crate::store::overview::HitLeader;

const SERIES: [Series; 3] = [
    Series {
        name: "Blocked",
        class: "fill-blocked",
    },
    Series {
        name: "Audited",
        class: "fill-audited",
    },
    Series {
        name: "Allowed",
        class: "fill-allowed",
    },
];

#[derive(Deserialize, Default)]
pub(super) struct RangeFilter {
    #[serde(default)]
    range: String,
}

/// `GET /overview`.
pub(super) async fn show(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<RangeFilter>,
) -> Result<Markup, PageError> {
    let range = OverviewRange::parse(&filter.range);
    let o = cp.overview(range).await?;
    let feeds = cp.feeds().await?;
    let now = cp.now();
    let body = html! {
        nav aria-label="Time range" class="ranges" {
            @for (r, label) in [(OverviewRange::Day, "Last 24 hours"), (OverviewRange::Week, "Last 7 days")] {
                a href={ "/overview?range=" (r.as_str()) } aria-current=[(r == range).then_some("page")] { (label) }
            }
        }
        // Re-read as a whole by console.js when events, alerts or devices change.
        div id="overview" data-refresh="events alert machines" data-from=(format_rfc3339(o.from_ms / 1000)) {
            (hits_section(&o))
            div class="tiles" {
                (alerts_section(&o))
                (devices_section(&o))
            }
            div class="tiles" {
                (leaders_section("Top indicators by hits", "indicators", &o.top_indicators, &o, indicator_link))
                (leaders_section("Top devices by hits", "devices", &o.top_devices, &o, device_link))
            }
            div class="tiles" {
                (sources_section(&o))
                (feeds_section(&feeds, now))
            }
        }
    };
    Ok(page("Overview", "/overview", Some(&u.viewer), body))
}

/// The events list of the window, narrowed by `filter` (`outcome=blocked`).
fn events_link(o: &Overview, filter: &str) -> String {
    let from = urlencode(&format_rfc3339(o.from_ms / 1000));
    if filter.is_empty() {
        format!("/events?from={from}")
    } else {
        format!("/events?{filter}&from={from}")
    }
}

fn hits_section(o: &Overview) -> Markup {
    let (len, _) = o.range.buckets();
    let columns: Vec<Column> = o
        .hits
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let start = (o.from_ms + len * i as i64) / 1000;
            let at = format_rfc3339(start);
            let end = format_rfc3339(start + len / 1000);
            let label = match o.range {
                OverviewRange::Day => at.get(11..16).unwrap_or(&at).to_owned(),
                OverviewRange::Week => at.get(5..10).unwrap_or(&at).to_owned(),
            };
            Column {
                label,
                span: format!("{at} to {end}"),
                values: v.to_vec(),
            }
        })
        .collect();
    let totals: Vec<u64> = (0..3).map(|s| o.hits.iter().map(|c| c[s]).sum()).collect();
    let summary = format!(
        "In all: {}.",
        column_words(
            &SERIES,
            &Column {
                label: String::new(),
                span: String::new(),
                values: totals.clone()
            }
        )
    );
    let (title, every, unit) = match o.range {
        OverviewRange::Day => ("Hits per hour by outcome, last 24 hours (UTC)", 3, "Hour"),
        OverviewRange::Week => ("Hits per day by outcome, last 7 days (UTC)", 1, "Day"),
    };
    let rows: Vec<Vec<Markup>> = columns
        .iter()
        .map(|c| {
            let mut row = vec![c.span.render()];
            row.extend(c.values.iter().map(Render::render));
            row
        })
        .collect();
    html! {
        section aria-labelledby="hits-heading" {
            h2 id="hits-heading" { "Hits over time" }
            ul class="legend" {
                @for ((s, outcome), total) in SERIES.iter().zip(OUTCOMES).zip(&totals) {
                    li {
                        span class={ "swatch " (s.class) } aria-hidden="true" {}
                        a href=(events_link(o, &format!("outcome={}", outcome.as_str()))) {
                            (s.name) ": " span data-total=(outcome.as_str()) { (total) } " hits"
                        }
                    }
                }
            }
            (stacked_columns("hits-chart", title, &summary, &SERIES, &columns, every))
            details {
                summary { "The chart as a table" }
                (table(title, &[unit, "Blocked", "Audited", "Allowed"], &rows, ""))
            }
        }
    }
}

fn alerts_section(o: &Overview) -> Markup {
    let max = o.new_alerts.iter().map(|s| s.1).max().unwrap_or(0);
    let rows: Vec<Vec<Markup>> = o
        .new_alerts
        .iter()
        .map(|(s, n)| {
            vec![
                severity_badge(*s),
                html! { span data-severity=(s.as_str()) { (n) } },
                bar(*n, max, &format!("fill-sev-{}", s.as_str().to_lowercase())),
            ]
        })
        .collect();
    html! {
        section aria-labelledby="alerts-heading" class="tile" {
            h2 id="alerts-heading" { "New alerts by severity" }
            (table("Alerts not yet triaged", &["Severity", "Alerts", "Share"], &rows, ""))
            p { a href="/alerts?status=new" { "The new alerts" } }
        }
    }
}

fn devices_section(o: &Overview) -> Markup {
    let classes = ["fill-allowed", "fill-audited", "fill-blocked", "fill-muted"];
    let max = o.devices.0.iter().copied().max().unwrap_or(0);
    let rows: Vec<Vec<Markup>> = DeviceState::ALL
        .iter()
        .zip(o.devices.0)
        .zip(classes)
        .map(|((s, n), class)| {
            vec![
                html! { a href={ "/devices?state=" (s.key()) } { (s.label()) } },
                html! { span data-devices=(s.key()) { (n) } },
                bar(n, max, class),
            ]
        })
        .collect();
    html! {
        section aria-labelledby="devices-heading" class="tile" {
            h2 id="devices-heading" { "Devices by sync state" }
            (table("Devices by state, now", &["State", "Devices", "Share"], &rows, ""))
        }
    }
}

fn indicator_link(l: &HitLeader) -> Markup {
    let name = if l.name.is_empty() {
        format!("indicator {} (deleted)", l.id)
    } else if l.title.is_empty() {
        l.name.clone()
    } else {
        format!("{} ({})", l.title, l.name)
    };
    html! { a href={ "/indicators/" (l.id) } { (name) } }
}

fn device_link(l: &HitLeader) -> Markup {
    html! { a href={ "/devices/" (l.id) } { (device(&l.name, &l.id.to_string())) } }
}

fn leaders_section(
    title: &str,
    key: &str,
    leaders: &[HitLeader],
    o: &Overview,
    link: fn(&HitLeader) -> Markup,
) -> Markup {
    let max = leaders.first().map_or(0, |l| l.hits);
    let filter = if key == "devices" {
        "deviceId"
    } else {
        "indicatorId"
    };
    let rows: Vec<Vec<Markup>> = leaders
        .iter()
        .map(|l| {
            vec![
                link(l),
                html! {
                    a href=(events_link(o, &format!("{filter}={}", l.id))) data-top=(key) data-id=(l.id) { (l.hits) }
                },
                bar(l.hits, max, "fill-blocked"),
            ]
        })
        .collect();
    let heading = format!("top-{key}-heading");
    html! {
        section aria-labelledby=(heading) class="tile" {
            h2 id=(heading) { (title) }
            (table(title, &[if key == "devices" { "Device" } else { "Indicator" }, "Hits", "Share"], &rows, ""))
        }
    }
}

fn sources_section(o: &Overview) -> Markup {
    let max = o.sources.iter().map(|s| s.indicators).max().unwrap_or(0);
    let rows: Vec<Vec<Markup>> = o
        .sources
        .iter()
        .map(|s| {
            let who = match s.kind {
                ActorKind::Feed => {
                    html! { a href={ "/feeds/" (urlencode(&s.feed)) } { "Feed " (s.feed) } }
                }
                ActorKind::User => html! { a href="/indicators" { "People, in the console" } },
                ActorKind::ApiToken => {
                    html! { a href="/indicators" { "Scripts, with API tokens" } }
                }
                ActorKind::System => html! { a href="/indicators" { "netward itself" } },
            };
            vec![
                who,
                s.indicators.render(),
                bar(s.indicators, max, "fill-accent"),
            ]
        })
        .collect();
    html! {
        section aria-labelledby="sources-heading" class="tile" {
            h2 id="sources-heading" { "Indicators by source" }
            (table("Indicators stored, by who created them", &["Source", "Indicators", "Share"], &rows, ""))
        }
    }
}

/// A feed's health in words: whether its last run worked.
fn health(run: Option<&FeedRun>) -> Markup {
    match run.map(|r| r.status) {
        None => html! { span class="warn" { "Not run yet" } },
        Some(RunStatus::Applied | RunStatus::Unchanged) => {
            html! { span class="good" { "Healthy" } }
        }
        Some(RunStatus::Failed) => html! { span class="bad" { "Failing" } },
        Some(RunStatus::Refused) => html! { span class="bad" { "Refused" } },
    }
}

fn feeds_section(feeds: &[(FeedRecord, Vec<FeedRun>)], now: i64) -> Markup {
    let rows: Vec<Vec<Markup>> = feeds
        .iter()
        .map(|(f, runs)| {
            vec![
                html! { a href={ "/feeds/" (urlencode(&f.config.name)) } { (f.config.name) } },
                health(runs.first()),
                runs.first()
                    .map_or_else(|| "never".render(), |r| time_at(r.started_at, now)),
                f.indicators.render(),
            ]
        })
        .collect();
    html! {
        section aria-labelledby="feeds-heading" class="tile" {
            h2 id="feeds-heading" { "Feed health" }
            (table("Feeds and their last run", &["Feed", "Health", "Last run", "Indicators"], &rows, ""))
            p { a href="/feeds" { "All feeds" } }
        }
    }
}
