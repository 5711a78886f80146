//! `/feeds`: threat-intel feeds. The list shows each feed's last run; a feed's page shows its
//! subscription (secrets only as set or not), its last runs and the refusals of the newest;
//! admins add, change, refresh and delete feeds. Every form calls the same methods as
//! `api/feeds.rs`.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, Render, html};
use netward_model::Role;
use netward_model::wire::FeedBody;
use serde::Deserialize;

use super::error::PageError;
use super::html::{
    ListView, Notice, TextField, Viewer, facts, notice, page, select_field, table, urlencode,
};
use super::time::time_at;
use super::user::{CsrfForm, User};
use crate::control::{ControlError, ControlPlane};
use crate::feeds::FeedKind;
use crate::store::FeedColumn;
use crate::store::feeds::{FeedRecord, FeedRun};

/// The sortable columns, as `?sort=` names them.
const FEED_ORDERS: [(&str, FeedColumn); 3] = [
    ("name", FeedColumn::Name),
    ("kind", FeedColumn::Kind),
    ("run", FeedColumn::LastRun),
];

const ACTIONS: [(&str, &str); 3] = [
    ("Block", "Block"),
    ("Audit", "Audit"),
    ("Allowed", "Allowed"),
];
const MODES: [(&str, &str); 2] = [
    ("enforce", "enforce"),
    ("audit-only", "audit-only (dry run)"),
];

fn summary(run: Option<&FeedRun>) -> String {
    run.map_or_else(
        || "not run yet".into(),
        |r| {
            format!(
                "{}: {} added, {} removed, {} unchanged, {} refused",
                r.status.as_str(),
                r.added,
                r.removed,
                r.unchanged,
                r.refused
            )
        },
    )
}

/// `GET /feeds`.
pub(super) async fn list(
    State(cp): State<ControlPlane>,
    u: User,
    Query(view): Query<ListView>,
) -> Result<Markup, PageError> {
    u.require(Role::Viewer)?;
    list_page(&cp, &u, None, &view).await
}

async fn list_page(
    cp: &ControlPlane,
    u: &User,
    msg: Option<Markup>,
    view: &ListView,
) -> Result<Markup, PageError> {
    let (feeds, total) = cp.feeds_page(view.store(&FEED_ORDERS)).await?;
    let now = cp.now();
    let rows: Vec<Vec<Markup>> = feeds
        .iter()
        .map(|(f, runs)| {
            vec![
                html! { a href={ "/feeds/" (urlencode(&f.config.name)) } { (f.config.name) } },
                f.config.kind.as_str().render(),
                f.config.settings.mode.as_str().render(),
                f.indicators.render(),
                runs.first()
                    .map_or_else(|| "never".render(), |r| time_at(r.started_at, now)),
                summary(runs.first()).render(),
            ]
        })
        .collect();
    let body = html! {
        @if let Some(msg) = msg { (msg) }
        (view.render(
            "/feeds?",
            total,
            (
                "Feeds and their last run",
                &[
                    ("Feed", Some("name")),
                    ("Kind", Some("kind")),
                    ("Mode", None),
                    ("Indicators", None),
                    ("Last run", Some("run")),
                    ("Result", None),
                ],
                &rows,
            ),
            "Nothing yet.",
        ))
        @if u.viewer.can(Role::Admin) {
            (feed_form(&u.viewer, None))
        }
    };
    Ok(page("Feeds", "/feeds", Some(&u.viewer), body))
}

/// The form for a new feed, or for changing `feed`.
fn feed_form(viewer: &Viewer, feed: Option<&FeedRecord>) -> Markup {
    let kinds: Vec<(&str, &str)> = FeedKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.as_str()))
        .collect();
    let (action, target, title) = match feed {
        Some(f) => (
            f.config.settings.action.as_str(),
            format!("/feeds/{}", urlencode(&f.config.name)),
            "Change this feed",
        ),
        None => ("Block", "/feeds".to_owned(), "New feed"),
    };
    let refresh = feed
        .map(|f| f.config.settings.refresh_minutes.to_string())
        .unwrap_or_default();
    let shrink = feed
        .map(|f| f.config.settings.max_shrink_percent.to_string())
        .unwrap_or_default();
    html! {
        form method="post" action=(target) class="card" {
            h2 { (title) }
            (viewer.csrf_field())
            @if feed.is_none() {
                (TextField::new("name", "Name").required())
            }
            (select_field("kind", "Kind", &kinds, feed.map_or("plain", |f| f.config.kind.as_str()), None))
            (TextField::new("url", "URL").value(feed.map_or("", |f| f.config.url.as_str())).required())
            (TextField::new("collection", "TAXII collection id (taxii21 only)")
                .value(feed.and_then(|f| f.config.collection.as_deref()).unwrap_or_default()))
            (select_field("action", "Action", &ACTIONS, action, None))
            (select_field("mode", "Mode", &MODES, feed.map_or("enforce", |f| f.config.settings.mode.as_str()), None))
            (TextField::new("refresh", "Refresh every (minutes; empty: the default)").value(&refresh))
            (TextField::new("shrink", "Largest share one refresh may remove (percent; empty: 50)").value(&shrink))
            div class="field check" {
                input type="checkbox" id="wide" name="wide" value="on"
                    checked[feed.is_some_and(|f| f.config.settings.allow_wide_ranges)];
                label for="wide" { "Take ranges wider than /8 (IPv4) or /32 (IPv6)" }
            }
            (TextField::new("username", "HTTP Basic user name")
                .value(feed.and_then(|f| f.config.secrets.username.as_deref()).unwrap_or_default())
                .autocomplete("off"))
            (TextField::new("password", "HTTP Basic password (empty: unchanged)").kind("password").autocomplete("new-password"))
            (TextField::new("apikey", "API key (empty: unchanged)").kind("password").autocomplete("new-password"))
            button type="submit" { (if feed.is_some() { "Save" } else { "Subscribe" }) }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct FeedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    collection: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    refresh: String,
    #[serde(default)]
    shrink: String,
    wide: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    apikey: String,
}

impl FeedForm {
    /// The API body; a number that is not one is refused with its field named.
    fn body(self, creating: bool) -> Result<FeedBody, ControlError> {
        let number = |field: &str, text: &str| -> Result<Option<u32>, ControlError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(|_| {
                netward_model::FieldError::new(field, format!("`{text}` is not a whole number"))
                    .into()
            })
        };
        let kept = |s: String| Some(s).filter(|s| !s.is_empty());
        Ok(FeedBody {
            name: creating.then_some(self.name),
            kind: kept(self.kind),
            url: Some(self.url),
            collection: Some(self.collection),
            username: Some(self.username),
            password: kept(self.password),
            api_key: kept(self.apikey),
            action: kept(self.action),
            mode: kept(self.mode),
            refresh_minutes: number("refreshMinutes", &self.refresh)?,
            max_shrink_percent: number("maxShrinkPercent", &self.shrink)?
                .map(|n| u8::try_from(n).unwrap_or(u8::MAX)),
            allow_wide_ranges: Some(self.wide.is_some()),
            ..FeedBody::default()
        })
    }
}

/// `POST /feeds`: subscribe.
pub(super) async fn create(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<FeedForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    let made = match f.body(true) {
        Ok(body) => cp.create_feed(body, u.actor()).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(feed) => {
            Ok(Redirect::to(&format!("/feeds/{}", urlencode(&feed.config.name))).into_response())
        }
        Err(e @ (ControlError::Invalid(_) | ControlError::Conflict(_))) => {
            let msg = notice(Notice::Error, &e.to_string());
            Ok((
                StatusCode::BAD_REQUEST,
                list_page(&cp, &u, Some(msg), &ListView::default()).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /feeds/{name}`.
pub(super) async fn show(
    State(cp): State<ControlPlane>,
    u: User,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    u.require(Role::Viewer)?;
    feed_page(&cp, &u, name, None).await
}

async fn feed_page(
    cp: &ControlPlane,
    u: &User,
    name: String,
    msg: Option<Markup>,
) -> Result<Markup, PageError> {
    let (feed, runs) = cp.feed(name).await?;
    let now = cp.now();
    let c = &feed.config;
    let s = &c.settings;
    let set = |b: bool| if b { "set" } else { "not set" }.to_owned();
    let shown = [
        ("Kind", c.kind.as_str().to_owned()),
        ("URL", c.url.clone()),
        ("Action", s.action.as_str().to_owned()),
        ("Mode", s.mode.as_str().to_owned()),
        ("Severity", s.severity.as_str().to_owned()),
        (
            "Scope",
            if s.groups.is_empty() {
                "all devices".into()
            } else {
                s.groups.join(", ")
            },
        ),
        ("Refresh", format!("every {} minutes", s.refresh_minutes)),
        ("Largest shrink", format!("{}%", s.max_shrink_percent)),
        (
            "Wide ranges",
            if s.allow_wide_ranges {
                "taken"
            } else {
                "refused"
            }
            .to_owned(),
        ),
        ("Password", set(c.secrets.password.is_some())),
        ("API key", set(c.secrets.api_key.is_some())),
        ("Indicators", feed.indicators.to_string()),
    ];
    let rows: Vec<Vec<Markup>> = runs
        .iter()
        .map(|r| {
            vec![
                time_at(r.started_at, now),
                r.status.as_str().render(),
                r.http_status.map_or("-".into(), |h| h.to_string()).render(),
                r.added.render(),
                r.updated.render(),
                r.removed.render(),
                r.unchanged.render(),
                r.refused.render(),
                r.error.clone().unwrap_or_default().render(),
            ]
        })
        .collect();
    let refusals: Vec<Vec<Markup>> = runs
        .first()
        .map(|r| {
            r.refusals
                .iter()
                .map(|x| vec![x.at.render(), x.entry.render(), x.reason.render()])
                .collect()
        })
        .unwrap_or_default();
    let path = format!("/feeds/{}", urlencode(&c.name));
    let body = html! {
        @if let Some(msg) = msg { (msg) }
        dl class="facts" { (facts(&shown)) }
        @if u.viewer.can(Role::Admin) {
            p class="actions" {
                form method="post" action={ (path) "/sync" } class="inline" {
                    (u.viewer.csrf_field())
                    button type="submit" { "Refresh now" }
                }
                " "
                form method="post" action={ (path) "/delete" } class="inline" {
                    (u.viewer.csrf_field())
                    button type="submit" class="danger" { "Delete the feed and its indicators" }
                }
            }
        }
        h2 { "Last runs" }
        (table("The feed's last runs, newest first",
            &["Started", "Status", "HTTP", "Added", "Updated", "Removed", "Unchanged", "Refused", "Why"],
            &rows, ""))
        h2 { "Refused in the last run" }
        (table("The first entries the last run refused, and why", &["Where", "Entry", "Reason"], &refusals, ""))
        @if u.viewer.can(Role::Admin) {
            (feed_form(&u.viewer, Some(&feed)))
        }
    };
    Ok(page(
        &format!("Feed {}", c.name),
        "/feeds",
        Some(&u.viewer),
        body,
    ))
}

/// `POST /feeds/{name}`: change a feed.
pub(super) async fn update(
    State(cp): State<ControlPlane>,
    u: User,
    Path(name): Path<String>,
    Form(f): Form<FeedForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    let changed = match f.body(false) {
        Ok(body) => cp.update_feed(name.clone(), body, u.actor()).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => Ok(Redirect::to(&format!("/feeds/{}", urlencode(&name))).into_response()),
        Err(e @ (ControlError::Invalid(_) | ControlError::Conflict(_))) => {
            let msg = notice(Notice::Error, &e.to_string());
            Ok((
                StatusCode::BAD_REQUEST,
                feed_page(&cp, &u, name, Some(msg)).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /feeds/{name}/sync`: refresh now, and show the feed with the run's result.
pub(super) async fn sync(
    State(cp): State<ControlPlane>,
    u: User,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Markup, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    let run = cp.sync_feed(name.clone(), u.actor()).await?;
    let kind = match run.status {
        crate::store::feeds::RunStatus::Failed | crate::store::feeds::RunStatus::Refused => {
            Notice::Error
        }
        _ => Notice::Ok,
    };
    let text = format!("Refreshed: {}.", summary(Some(&run)));
    feed_page(&cp, &u, name, Some(notice(kind, &text))).await
}

/// `POST /feeds/{name}/delete`.
pub(super) async fn delete(
    State(cp): State<ControlPlane>,
    u: User,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    cp.delete_feed(name, u.actor()).await?;
    Ok(Redirect::to("/feeds").into_response())
}
