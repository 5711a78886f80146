//! The web console at `/`: server-rendered pages with a small script for live updates.
//!
//! - `session.rs`: sign-in with a token, the session cookie, CSRF tokens.
//! - `html.rs`: escaping, the page frame, form controls.
//! - this file: the routes. Every page calls the same [`ControlPlane`] methods as the REST API,
//!   with the same role checks; the console only renders.
//!
//! Live updates come from `GET /console/live`, a server-sent-event stream of `machines` (every
//! device's sync state, whenever an agent acknowledges, connects or disconnects, or the policy
//! changes) and `alert` (each alert as it is raised or changes). `console.js` applies them to
//! the page in place.

pub mod html;
pub mod session;

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use futures_util::Stream;
use netward_model::agent_wire::MachineEntity;
use netward_model::detection::{AlertEntity, AlertStatus, Outcome};
use netward_model::timestamp::format_rfc3339;
use netward_model::{Actor, ActorKind, FieldError, IndicatorSubmission, Role};
use serde::Deserialize;

use self::html::{Viewer, esc, notice, page, select_field, table, text_field};
use self::session::Sessions;
use crate::control::{ControlError, ControlPlane};
use crate::store::{AlertQuery, EventQuery, IndicatorQuery, TokenRecord};

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

/// Console settings shared by the handlers.
#[derive(Debug)]
struct Console {
    sessions: Sessions,
    /// Whether cookies get `Secure` (the server speaks TLS).
    secure: bool,
}

type Shared = Extension<Arc<Console>>;

/// The console's routes; `secure` when the server is behind TLS.
pub fn router(secure: bool) -> Router<ControlPlane> {
    let console = Arc::new(Console {
        sessions: Sessions::default(),
        secure,
    });
    Router::new()
        .route("/", get(|| async { Redirect::to("/devices") }))
        .route("/console.css", get(css))
        .route("/console.js", get(js))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/devices", get(devices))
        .route("/devices/{id}", get(device))
        .route("/indicators", get(indicators).post(save_indicator))
        .route("/indicators/new", get(new_indicator))
        .route("/indicators/import", get(import_page).post(import))
        .route("/indicators/{id}", get(edit_indicator))
        .route("/indicators/{id}/delete", post(delete_indicator))
        .route("/alerts", get(alerts))
        .route("/alerts/{id}", get(alert))
        .route("/alerts/{id}/status", post(alert_status))
        .route("/incidents", get(incidents))
        .route("/incidents/{id}", get(incident))
        .route("/incidents/{id}/status", post(incident_status))
        .route("/settings", get(settings).post(save_settings))
        .route("/settings/groups", post(create_group))
        .route("/settings/groups/{name}", post(update_group))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
        .route("/console/live", get(live))
        .layer(Extension(console))
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

/// A failure on a console page: a redirect to sign-in, or an HTML error page.
enum Fail {
    SignIn,
    Page(StatusCode, String),
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self {
            Fail::SignIn => Redirect::to("/login").into_response(),
            Fail::Page(status, text) => (
                status,
                Html(page("Error", "", None, &notice("error", &text))),
            )
                .into_response(),
        }
    }
}

impl From<ControlError> for Fail {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::NotFound(what) => {
                Fail::Page(StatusCode::NOT_FOUND, format!("{what} does not exist"))
            }
            ControlError::Invalid(f) => Fail::Page(StatusCode::BAD_REQUEST, f.to_string()),
            ControlError::Guarded(g) => Fail::Page(StatusCode::BAD_REQUEST, g.to_string()),
            ControlError::Conflict(m) => Fail::Page(StatusCode::CONFLICT, m),
            ControlError::Unauthorized(_) => Fail::SignIn,
            other => {
                tracing::error!(error = %other, "Console request failed inside the server.");
                Fail::Page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed; nothing was changed (see the server log)".into(),
                )
            }
        }
    }
}

/// The signed-in user of a request.
struct User {
    token: TokenRecord,
    viewer: Viewer,
    session: String,
}

impl User {
    fn actor(&self) -> Actor {
        Actor {
            name: self.token.name.clone(),
            kind: ActorKind::ApiToken,
        }
    }

    /// Refuses with 403 unless the user's role includes `needed`: the server checks every
    /// write, whatever the page showed.
    fn require(&self, needed: Role) -> Result<(), Fail> {
        if self.token.role.allows(needed) {
            Ok(())
        } else {
            Err(Fail::Page(
                StatusCode::FORBIDDEN,
                format!(
                    "the token `{}` has the role {}; this needs {needed}",
                    self.token.name, self.token.role
                ),
            ))
        }
    }

    /// A write: the role first (403), then the form's CSRF token.
    fn may_write(&self, needed: Role, csrf: &str) -> Result<(), Fail> {
        self.require(needed)?;
        self.check(csrf)
    }

    /// Refuses a form whose CSRF token is not this session's.
    fn check(&self, csrf: &str) -> Result<(), Fail> {
        if !csrf.is_empty() && csrf == self.viewer.csrf {
            Ok(())
        } else {
            Err(Fail::Page(
                StatusCode::FORBIDDEN,
                "the form is stale or did not come from this console; reload the page and try again".into(),
            ))
        }
    }
}

impl FromRequestParts<ControlPlane> for User {
    type Rejection = Fail;

    /// The signed-in user, or a redirect to sign in.
    async fn from_request_parts(parts: &mut Parts, cp: &ControlPlane) -> Result<Self, Fail> {
        let console = parts
            .extensions
            .get::<Arc<Console>>()
            .cloned()
            .ok_or(Fail::SignIn)?;
        let cookie = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok());
        let session = session::session_id(cookie, console.secure).ok_or(Fail::SignIn)?;
        let (secret, csrf) = console.sessions.get(&session).ok_or(Fail::SignIn)?;
        let token = cp.authenticate(secret).await?.ok_or_else(|| {
            console.sessions.close(&session);
            Fail::SignIn
        })?;
        Ok(User {
            viewer: Viewer {
                name: token.name.clone(),
                role: token.role,
                csrf,
            },
            token,
            session,
        })
    }
}

/// A numeric id from the path; anything else does not exist.
fn id_of(what: &str, raw: &str) -> Result<i64, Fail> {
    raw.parse().map_err(|_| {
        Fail::Page(
            StatusCode::NOT_FOUND,
            format!("{what} {raw} does not exist"),
        )
    })
}

// ---------------------------------------------------------------- sign-in

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    token: String,
}

/// The sign-in page, with a fresh CSRF token in a hidden field and in its own cookie.
fn login_form(console: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let csrf = session::random_id();
    let body = format!(
        "<form method=\"post\" action=\"/login\" class=\"card narrow\">\
         <p>Sign in with an API token (<code>netward token create</code>, or the admin token the \
         server printed at its first start).</p>\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{}\
         <button type=\"submit\">Sign in</button></form>",
        esc(&csrf),
        text_field(
            "token",
            "Token",
            "",
            error,
            "type=\"password\" autocomplete=\"current-password\" required autofocus"
        )
    );
    let mut resp = (status, Html(page("Sign in", "", None, &body))).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_login_cookie(&csrf, console.secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn login_page(Extension(console): Shared) -> Response {
    login_form(&console, StatusCode::OK, None)
}

async fn login(
    State(cp): State<ControlPlane>,
    Extension(console): Shared,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Fail> {
    // The form's token must match its cookie: another site can post a form, but can neither
    // read nor set this cookie.
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let expected = session::cookie(cookie, session::login_cookie_name(console.secure));
    if form.csrf.is_empty() || expected.as_deref() != Some(form.csrf.as_str()) {
        return Ok(login_form(
            &console,
            StatusCode::FORBIDDEN,
            Some("the sign-in form expired or came from elsewhere; try again"),
        ));
    }
    let secret = form.token.trim().to_owned();
    if cp.authenticate(secret.clone()).await?.is_none() {
        return Ok(login_form(
            &console,
            StatusCode::UNAUTHORIZED,
            Some("this token is unknown or revoked"),
        ));
    }
    let (id, _) = console.sessions.open(secret).ok_or_else(|| {
        Fail::Page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot open a session".into(),
        )
    })?;
    let mut resp = Redirect::to("/devices").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&id, console.secure)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    Extension(console): Shared,
    u: User,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Fail> {
    u.check(&form.csrf)?;
    console.sessions.close(&u.session);
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(console.secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

// ---------------------------------------------------------------- devices

fn sync_text(m: &MachineEntity) -> String {
    if m.revoked {
        "revoked".into()
    } else if m.in_sync {
        format!("in sync (v{})", m.current_version)
    } else if let Some(e) = &m.last_error {
        format!("error: {e}")
    } else {
        format!(
            "behind: v{} of v{}",
            m.applied_version.map_or("-".into(), |v| v.to_string()),
            m.current_version
        )
    }
}

fn online_text(m: &MachineEntity) -> String {
    if m.online {
        "online".into()
    } else {
        format!("offline since {}", m.last_seen)
    }
}

/// A device's live fields, as `console.js` applies them.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LiveMachine {
    id: String,
    online: String,
    sync: String,
    in_sync: bool,
    applied: String,
}

fn live_machine(m: &MachineEntity) -> LiveMachine {
    LiveMachine {
        id: m.id.clone(),
        online: online_text(m),
        sync: sync_text(m),
        in_sync: m.in_sync,
        applied: m.applied_version.map_or("-".into(), |v| format!("v{v}")),
    }
}

async fn devices(State(cp): State<ControlPlane>, u: User) -> Result<Html<String>, Fail> {
    let machines = cp.machines().await?;
    let groups = cp.groups().await?;
    let rows: Vec<Vec<String>> = machines
        .iter()
        .map(|m| {
            let g = groups.iter().find(|g| g.name == m.group);
            vec![
                format!(
                    "<a href=\"/devices/{}\" data-device=\"{}\">{}</a>",
                    esc(&m.id),
                    esc(&m.id),
                    esc(&m.hostname)
                ),
                esc(&m.group),
                g.map_or("-".into(), |g| esc(g.mode.as_str())),
                g.map_or("-".into(), |g| esc(g.coverage.as_str())),
                format!(
                    "<span data-live=\"online\" data-id=\"{}\">{}</span>",
                    esc(&m.id),
                    esc(&online_text(m))
                ),
                format!(
                    "<span data-live=\"applied\" data-id=\"{}\">{}</span>",
                    esc(&m.id),
                    esc(&m.applied_version.map_or("-".into(), |v| format!("v{v}")))
                ),
                format!(
                    "<span data-live=\"sync\" data-id=\"{}\" class=\"{}\">{}</span>",
                    esc(&m.id),
                    if m.in_sync { "good" } else { "warn" },
                    esc(&sync_text(m))
                ),
            ]
        })
        .collect();
    let body = format!(
        "<p>Which policy version each device enforces, updated live as agents acknowledge. \
         Enroll a device with <code>netward enroll-token create</code> and \
         <code>netward agent --enroll</code>.</p>{}",
        table(
            "Devices",
            &[
                "Device", "Group", "Mode", "Coverage", "Online", "Applied", "Sync"
            ],
            &rows,
            "devices-body"
        )
    );
    Ok(Html(page("Devices", "/devices", Some(&u.viewer), &body)))
}

fn event_rows(events: &[netward_model::detection::EventEntity]) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let f = &e.additional_fields;
            vec![
                esc(&e.timestamp),
                format!(
                    "<span class=\"outcome {}\">{}</span>",
                    esc(f.outcome.as_str()),
                    esc(f.outcome.as_str())
                ),
                esc(f.reason.as_str()),
                esc(&e.protocol),
                esc(f.direction.as_str()),
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

const EVENT_HEADERS: [&str; 9] = [
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

async fn device(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Html<String>, Fail> {
    let id = id_of("device", &id)?;
    let m = cp.machine(id).await?;
    let timeline = cp
        .timeline(
            id,
            EventQuery {
                top: 500,
                ..EventQuery::default()
            },
        )
        .await?;
    let facts = [
        ("Host name", m.hostname.clone()),
        ("Operating system", m.os.clone()),
        ("Kernel", m.kernel.clone()),
        ("Agent version", m.agent_version.clone()),
        ("Addresses", m.addresses.join(", ")),
        ("Group", m.group.clone()),
        ("First seen", m.first_seen.clone()),
        ("Last seen", m.last_seen.clone()),
        ("Kernel set entries", m.entries.to_string()),
        (
            "Events dropped / lost",
            format!("{} / {}", m.events_dropped, m.events_lost),
        ),
    ];
    let dl: String = facts
        .iter()
        .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)))
        .collect();
    let body = format!(
        "<dl class=\"facts\">{dl}<dt>Online</dt><dd><span data-live=\"online\" data-id=\"{id}\">{}</span></dd>\
         <dt>Applied</dt><dd><span data-live=\"applied\" data-id=\"{id}\">{}</span></dd>\
         <dt>Sync</dt><dd><span data-live=\"sync\" data-id=\"{id}\">{}</span></dd></dl>\
         <h2>Timeline</h2>{}",
        esc(&online_text(&m)),
        esc(&m.applied_version.map_or("-".into(), |v| format!("v{v}"))),
        esc(&sync_text(&m)),
        table(
            "Events on this device, oldest first",
            &EVENT_HEADERS,
            &event_rows(&timeline),
            ""
        )
    );
    Ok(Html(page(&m.hostname, "/devices", Some(&u.viewer), &body)))
}

// ---------------------------------------------------------------- indicators

#[derive(Deserialize, Default)]
struct IndicatorFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    saved: Option<String>,
}

async fn indicators(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<IndicatorFilter>,
) -> Result<Html<String>, Fail> {
    let action = netward_model::Action::parse(&filter.action)
        .ok()
        .map(|(a, _)| a);
    let list = cp
        .list_indicators(IndicatorQuery {
            action,
            top: 10_000,
            ..IndicatorQuery::default()
        })
        .await?;
    let q = filter.q.trim().to_lowercase();
    let rows: Vec<Vec<String>> = list
        .iter()
        .filter(|i| {
            q.is_empty()
                || i.draft.value.to_string().contains(&q)
                || i.draft.title.to_lowercase().contains(&q)
        })
        .take(1000)
        .map(|i| {
            vec![
                format!(
                    "<a href=\"/indicators/{}\">{}</a>",
                    i.id,
                    esc(&i.draft.value.to_string())
                ),
                esc(i.draft.action.as_str()),
                esc(&i.draft.title),
                esc(i.draft.severity.as_str()),
                if i.draft.generate_alert { "yes" } else { "no" }.into(),
                esc(&if i.draft.groups.is_empty() {
                    "all devices".to_owned()
                } else {
                    i.draft.groups.join(", ")
                }),
                esc(&i.draft.expires_at.map_or("never".into(), format_rfc3339)),
            ]
        })
        .collect();
    let actions = [
        ("", "any action"),
        ("allow", "allow"),
        ("audit", "audit"),
        ("block", "block"),
    ];
    let write = if u.viewer.can(Role::Analyst) {
        "<p class=\"actions\"><a class=\"button\" href=\"/indicators/new\">Add an indicator</a> \
         <a class=\"button secondary\" href=\"/indicators/import\">Import a file</a></p>"
    } else {
        ""
    };
    let saved = filter
        .saved
        .map_or(String::new(), |v| notice("ok", &format!("Saved {v}.")));
    let body = format!(
        "{saved}{write}<form method=\"get\" action=\"/indicators\" class=\"filters\" role=\"search\">{}{}\
         <button type=\"submit\">Search</button></form>{}",
        text_field(
            "q",
            "Value or title contains",
            &filter.q,
            None,
            "type=\"search\""
        ),
        select_field("action", "Action", &actions, &filter.action, None),
        table(
            "Indicators",
            &[
                "Value", "Action", "Title", "Severity", "Alerts", "Scope", "Expires"
            ],
            &rows,
            ""
        )
    );
    Ok(Html(page(
        "Indicators",
        "/indicators",
        Some(&u.viewer),
        &body,
    )))
}

#[derive(Deserialize, Default, Clone)]
struct IndicatorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    recommended: String,
    #[serde(default)]
    force: Option<String>,
}

/// Maps an API field name to the form's.
fn form_field(api: &str) -> &'static str {
    match api {
        "indicatorValue" | "indicatorType" => "value",
        "action" => "action",
        "title" => "title",
        "severity" => "severity",
        "description" => "description",
        "expirationTime" => "expires",
        "rbacGroupNames" => "groups",
        "recommendedActions" => "recommended",
        _ => "form",
    }
}

fn indicator_form_page(
    viewer: &Viewer,
    f: &IndicatorForm,
    error: Option<(&str, String)>,
    editing: Option<i64>,
) -> String {
    let err = |name: &str| {
        error
            .as_ref()
            .filter(|(field, _)| *field == name)
            .map(|(_, m)| m.as_str())
    };
    let general = error
        .as_ref()
        .filter(|(field, _)| *field == "form")
        .map_or(String::new(), |(_, m)| notice("error", m));
    let actions = [
        ("block", "Block"),
        ("audit", "Audit"),
        ("allow", "Allow"),
        ("AlertAndBlock", "Block and alert"),
    ];
    let severities = [
        ("", "(default: Informational)"),
        ("Informational", "Informational"),
        ("Low", "Low"),
        ("Medium", "Medium"),
        ("High", "High"),
    ];
    let value_extra = if editing.is_some() {
        "required readonly"
    } else {
        "required"
    };
    let checked = |o: &Option<String>| if o.is_some() { " checked" } else { "" };
    let delete = match editing {
        Some(id) if viewer.can(Role::Analyst) => format!(
            "<form method=\"post\" action=\"/indicators/{id}/delete\" class=\"inline\">{}\
             <button type=\"submit\" class=\"danger\">Delete this indicator</button></form>",
            viewer.csrf_field()
        ),
        _ => String::new(),
    };
    format!(
        "{general}<form method=\"post\" action=\"/indicators\" class=\"card\" novalidate>{}{}{}{}{}{}{}\
         <div class=\"field check\"><input type=\"checkbox\" id=\"alert\" name=\"alert\" value=\"on\"{}>\
         <label for=\"alert\">Raise an alert on every hit</label></div>{}{}\
         <div class=\"field check\"><input type=\"checkbox\" id=\"force\" name=\"force\" value=\"on\"{}>\
         <label for=\"force\">Accept a block the guard rails would refuse</label></div>\
         <button type=\"submit\">Save</button></form>{delete}",
        viewer.csrf_field(),
        text_field(
            "value",
            "IP address or CIDR range",
            &f.value,
            err("value"),
            value_extra
        ),
        select_field("action", "Action", &actions, &f.action, err("action")),
        text_field("title", "Title", &f.title, err("title"), "required"),
        select_field(
            "severity",
            "Severity",
            &severities,
            &f.severity,
            err("severity")
        ),
        text_field(
            "description",
            "Description",
            &f.description,
            err("description"),
            ""
        ),
        text_field(
            "expires",
            "Expires (RFC 3339, e.g. 2030-01-31T00:00:00Z; empty: never)",
            &f.expires,
            err("expires"),
            ""
        ),
        checked(&f.alert),
        text_field(
            "groups",
            "Device groups, comma-separated (empty: all devices)",
            &f.groups,
            err("groups"),
            ""
        ),
        text_field(
            "recommended",
            "Recommended actions",
            &f.recommended,
            err("recommended"),
            ""
        ),
        checked(&f.force),
    )
}

async fn new_indicator(u: User) -> Result<Html<String>, Fail> {
    u.require(Role::Analyst)?;
    let f = IndicatorForm {
        action: "block".into(),
        ..IndicatorForm::default()
    };
    Ok(Html(page(
        "Add an indicator",
        "/indicators",
        Some(&u.viewer),
        &indicator_form_page(&u.viewer, &f, None, None),
    )))
}

async fn edit_indicator(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Html<String>, Fail> {
    let id = id_of("indicator", &id)?;
    let i = cp.indicator(id).await?;
    let d = &i.draft;
    let summary = cp.enforcement(i.clone()).await?;
    let enforced = notice(
        "ok",
        &format!(
            "Enforced on {}/{} devices in scope.",
            summary.enforced, summary.in_scope
        ),
    );
    let f = IndicatorForm {
        csrf: String::new(),
        value: d.value.to_string(),
        action: d.action.as_str().into(),
        title: d.title.clone(),
        severity: d.severity.as_str().into(),
        description: d.description.clone(),
        expires: d.expires_at.map_or(String::new(), format_rfc3339),
        alert: d.generate_alert.then(|| "on".into()),
        groups: d.groups.join(", "),
        recommended: d.recommended_actions.clone(),
        force: None,
    };
    let body = if u.viewer.can(Role::Analyst) {
        format!(
            "{enforced}{}",
            indicator_form_page(&u.viewer, &f, None, Some(id))
        )
    } else {
        let facts = [
            ("Value", f.value.clone()),
            ("Action", f.action.clone()),
            ("Title", f.title.clone()),
            ("Severity", f.severity.clone()),
            ("Alerts", if d.generate_alert { "yes" } else { "no" }.into()),
            (
                "Scope",
                if f.groups.is_empty() {
                    "all devices".into()
                } else {
                    f.groups.clone()
                },
            ),
            (
                "Expires",
                if f.expires.is_empty() {
                    "never".into()
                } else {
                    f.expires.clone()
                },
            ),
        ];
        let dl: String = facts
            .iter()
            .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)))
            .collect();
        format!("{enforced}<dl class=\"facts\">{dl}</dl>")
    };
    Ok(Html(page(
        &d.value.to_string(),
        "/indicators",
        Some(&u.viewer),
        &body,
    )))
}

async fn save_indicator(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<IndicatorForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Analyst, &f.csrf)?;
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let submission = IndicatorSubmission {
        indicator_value: opt(&f.value),
        action: opt(&f.action),
        title: opt(&f.title),
        severity: opt(&f.severity),
        description: opt(&f.description),
        expiration_time: opt(&f.expires),
        generate_alert: Some(f.alert.is_some() || f.action == "AlertAndBlock"),
        rbac_group_names: Some(
            f.groups
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        recommended_actions: opt(&f.recommended),
        ..IndicatorSubmission::default()
    };
    let shown = |field: &str, message: String, status: StatusCode| -> Response {
        (
            status,
            Html(page(
                "Add an indicator",
                "/indicators",
                Some(&u.viewer),
                &indicator_form_page(&u.viewer, &f, Some((form_field(field), message)), None),
            )),
        )
            .into_response()
    };
    match cp
        .submit_indicator(submission, f.force.is_some(), u.actor())
        .await
    {
        Ok(i) => Ok(Redirect::to(&format!(
            "/indicators?saved={}",
            urlencode(&i.draft.value.to_string())
        ))
        .into_response()),
        Err(ControlError::Invalid(FieldError { field, message })) => {
            Ok(shown(&field, message, StatusCode::BAD_REQUEST))
        }
        Err(ControlError::Guarded(g)) => Ok(shown(
            "indicatorValue",
            g.to_string(),
            StatusCode::BAD_REQUEST,
        )),
        Err(e) => Err(e.into()),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn delete_indicator(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("indicator", &id)?;
    cp.delete_indicator(id, u.actor()).await?;
    Ok(Redirect::to("/indicators").into_response())
}

async fn import_page(u: User) -> Result<Html<String>, Fail> {
    u.require(Role::Analyst)?;
    Ok(Html(page(
        "Import indicators",
        "/indicators",
        Some(&u.viewer),
        &import_form(&u.viewer, ""),
    )))
}

fn import_form(viewer: &Viewer, result: &str) -> String {
    format!(
        "{result}<form method=\"post\" action=\"/indicators/import\" enctype=\"multipart/form-data\" class=\"card\">{}\
         <div class=\"field\"><label for=\"file\">File: MDE's CSV template, or one address or range per line</label>\
         <input type=\"file\" id=\"file\" name=\"file\" required></div>{}{}{}\
         <button type=\"submit\">Import</button></form>",
        viewer.csrf_field(),
        select_field(
            "format",
            "Format",
            &[
                ("csv", "CSV (MDE's template)"),
                ("list", "List (one value per line)")
            ],
            "csv",
            None
        ),
        select_field(
            "action",
            "Action, for a list",
            &[("block", "Block"), ("audit", "Audit"), ("allow", "Allow")],
            "block",
            None
        ),
        text_field("title", "Title, for a list", "", None, ""),
    )
}

async fn import(
    State(cp): State<ControlPlane>,
    u: User,
    mut multipart: Multipart,
) -> Result<Response, Fail> {
    u.require(Role::Analyst)?;
    let (mut csrf, mut format, mut action, mut title, mut file) = (
        String::new(),
        "csv".to_owned(),
        "block".to_owned(),
        String::new(),
        Vec::new(),
    );
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            Fail::Page(
                StatusCode::BAD_REQUEST,
                format!("cannot read the upload: {e}"),
            )
        })?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "csrf" => csrf = text(),
            "format" => format = text(),
            "action" => action = text(),
            "title" => title = text(),
            "file" => file = bytes.to_vec(),
            _ => {}
        }
    }
    u.check(&csrf)?;
    let kind = match format.as_str() {
        "list" => crate::indicators::ImportFormat::List(Box::new(IndicatorSubmission {
            action: Some(action),
            title: Some(if title.is_empty() {
                "imported".into()
            } else {
                title
            }),
            ..IndicatorSubmission::default()
        })),
        _ => crate::indicators::ImportFormat::Csv,
    };
    let results = match cp.import_indicators(file, kind, false, u.actor()).await {
        Ok(r) => r,
        Err(ControlError::Invalid(f)) => {
            let html = import_form(&u.viewer, &notice("error", &f.to_string()));
            return Ok((
                StatusCode::BAD_REQUEST,
                Html(page(
                    "Import indicators",
                    "/indicators",
                    Some(&u.viewer),
                    &html,
                )),
            )
                .into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let failed = results.iter().filter(|r| r.is_failed).count();
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                esc(&r.line.map_or("-".into(), |l| l.to_string())),
                esc(&r.indicator),
                if r.is_failed {
                    "<span class=\"outcome blocked\">failed</span>".into()
                } else {
                    "<span class=\"outcome allowed\">applied</span>".into()
                },
                esc(r.failure_reason.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let summary = notice(
        if failed == 0 { "ok" } else { "error" },
        &format!(
            "{} of {} rows applied; {failed} failed.",
            results.len() - failed,
            results.len()
        ),
    );
    let html = format!(
        "{summary}{}",
        table(
            "One result per row",
            &["Line", "Value", "Result", "Reason"],
            &rows,
            ""
        )
    );
    Ok(Html(page(
        "Import results",
        "/indicators",
        Some(&u.viewer),
        &html,
    ))
    .into_response())
}

// ---------------------------------------------------------------- alerts and incidents

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
            esc(a.severity.as_str()),
            esc(a.severity.as_str())
        ),
        esc(a.status.as_str()),
        esc(&a.device_name),
        esc(&a.indicator_value),
        esc(&a.hit_count.to_string()),
        esc(&outcomes_text(&a.outcomes)),
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
struct StatusFilter {
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

async fn alerts(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<StatusFilter>,
) -> Result<Html<String>, Fail> {
    let status = AlertStatus::parse(&filter.status);
    let list = cp
        .alerts(AlertQuery {
            status,
            top: 500,
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

async fn alert(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Html<String>, Fail> {
    let id = id_of("alert", &id)?;
    let a = cp.alert(id).await?;
    let facts = [
        ("Status", a.status.as_str().to_owned()),
        (
            "Status changed",
            match (&a.status_changed_by, &a.status_changed_at) {
                (Some(by), Some(at)) => format!("{at} by {by}"),
                _ => "-".into(),
            },
        ),
        ("Severity", a.severity.as_str().to_owned()),
        ("Device", a.device_name.clone()),
        ("Indicator", a.indicator_value.clone()),
        (
            "Recommended actions",
            a.recommended_actions.clone().unwrap_or_else(|| "-".into()),
        ),
        ("First seen", a.first_seen.clone()),
        ("Last seen", a.last_seen.clone()),
        ("Hits", a.hit_count.to_string()),
        ("Outcomes", outcomes_text(&a.outcomes)),
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
        status_form(
            &u.viewer,
            &format!("/alerts/{id}/status"),
            a.status.as_str()
        ),
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

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    status: String,
}

/// A status from a form, or the field error the page shows.
fn form_status(raw: &str) -> Result<AlertStatus, Fail> {
    AlertStatus::parse(raw).ok_or_else(|| {
        Fail::from(ControlError::from(FieldError::new(
            "status",
            format!("`{raw}` is not a status; use one of new, inProgress, resolved"),
        )))
    })
}

/// Outcomes as a page lists them.
fn outcomes_text(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn alert_status(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("alert", &id)?;
    cp.set_alert_status(id, form_status(&form.status)?, u.actor())
        .await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

async fn incidents(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<StatusFilter>,
) -> Result<Html<String>, Fail> {
    let status = AlertStatus::parse(&filter.status);
    let list = cp.incidents(status, 500, 0).await?;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                format!(
                    "<a href=\"/incidents/{}\">{}</a>",
                    esc(&i.id),
                    esc(&i.title)
                ),
                esc(i.severity.as_str()),
                esc(i.status.as_str()),
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

async fn incident(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Html<String>, Fail> {
    let id = id_of("incident", &id)?;
    let i = cp.incident(id).await?;
    let alerts: Vec<Vec<String>> = i.alerts.iter().flatten().map(alert_row).collect();
    let body = format!(
        "<dl class=\"facts\"><dt>Status</dt><dd>{}</dd><dt>Severity</dt><dd>{}</dd>\
         <dt>Indicator</dt><dd>{}</dd><dt>Devices</dt><dd>{}</dd><dt>Hits</dt><dd>{}</dd></dl>{}\
         <h2>Alerts</h2>{}",
        esc(i.status.as_str()),
        esc(i.severity.as_str()),
        esc(&i.indicator_value),
        i.device_count,
        i.hit_count,
        status_form(
            &u.viewer,
            &format!("/incidents/{id}/status"),
            i.status.as_str()
        ),
        table("Alerts in this incident", &ALERT_HEADERS, &alerts, "")
    );
    Ok(Html(page(&i.title, "/incidents", Some(&u.viewer), &body)))
}

async fn incident_status(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("incident", &id)?;
    cp.set_incident_status(id, form_status(&form.status)?, u.actor())
        .await?;
    Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
}

// ---------------------------------------------------------------- settings

#[derive(Deserialize, Default)]
struct SettingsMessage {
    #[serde(default)]
    done: Option<String>,
}

async fn settings_page(cp: &ControlPlane, u: &User, msg: &str) -> Result<String, Fail> {
    let s = cp.settings().await?;
    let groups = cp.groups().await?;
    let admin = u.viewer.can(Role::Admin);
    let switch = if admin {
        format!(
            "<form method=\"post\" action=\"/settings\" class=\"card\">{}\
             <div class=\"field check\"><input type=\"checkbox\" id=\"enforce\" name=\"enforce\" value=\"on\"{}>\
             <label for=\"enforce\">Enforce custom network indicators on every device</label></div>\
             <button type=\"submit\">Save</button></form>",
            u.viewer.csrf_field(),
            if s.custom_network_indicators {
                " checked"
            } else {
                ""
            }
        )
    } else {
        format!(
            "<p>Custom network indicators are <strong>{}</strong>.</p>",
            if s.custom_network_indicators {
                "enforced"
            } else {
                "switched off"
            }
        )
    };
    let modes = [("block", "block"), ("audit", "audit"), ("off", "off")];
    let coverages = [("all", "all protocols"), ("tcp", "TCP only (as MDE)")];
    let group_rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let controls = if admin {
                format!(
                    "<form method=\"post\" action=\"/settings/groups/{}\" class=\"inline\">{}{}{}\
                     <button type=\"submit\">Save</button></form>",
                    urlencode(&g.name),
                    u.viewer.csrf_field(),
                    select_field(
                        &format!("mode-{}", g.name),
                        "Mode",
                        &modes,
                        g.mode.as_str(),
                        None
                    )
                    .replace(&format!("name=\"mode-{}\"", g.name), "name=\"mode\""),
                    select_field(
                        &format!("coverage-{}", g.name),
                        "Coverage",
                        &coverages,
                        g.coverage.as_str(),
                        None
                    )
                    .replace(
                        &format!("name=\"coverage-{}\"", g.name),
                        "name=\"coverage\""
                    ),
                )
            } else {
                format!("{} · {}", esc(g.mode.as_str()), esc(g.coverage.as_str()))
            };
            vec![esc(&g.name), esc(&g.description), controls]
        })
        .collect();
    let new_group = if admin {
        format!(
            "<form method=\"post\" action=\"/settings/groups\" class=\"card\"><h3>New group</h3>{}{}{}{}\
             <button type=\"submit\">Create</button></form>",
            u.viewer.csrf_field(),
            html::text_field_id("group-name", "name", "Name", "", None, "required"),
            select_field("mode", "Mode", &modes, "block", None),
            select_field("coverage", "Coverage", &coverages, "all", None),
        )
    } else {
        String::new()
    };
    let tokens = if admin {
        let list = cp.tokens().await?;
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|t| {
                vec![
                    esc(&t.name),
                    esc(&t.role.to_string()),
                    esc(&format_rfc3339(t.created_at)),
                    match t.revoked_at {
                        Some(at) => format!("revoked {}", esc(&format_rfc3339(at))),
                        None => format!(
                            "<form method=\"post\" action=\"/settings/tokens/{}/revoke\" class=\"inline\">{}\
                             <button type=\"submit\" class=\"danger\">Revoke</button></form>",
                            t.id,
                            u.viewer.csrf_field()
                        ),
                    },
                ]
            })
            .collect();
        format!(
            "<h2>API tokens</h2>{}<form method=\"post\" action=\"/settings/tokens\" class=\"card\">\
             <h3>New token</h3>{}{}{}<button type=\"submit\">Create</button></form>",
            table("Tokens", &["Name", "Role", "Created", ""], &rows, ""),
            u.viewer.csrf_field(),
            html::text_field_id("token-name", "name", "Name", "", None, "required"),
            select_field(
                "role",
                "Role",
                &[
                    ("viewer", "viewer"),
                    ("analyst", "analyst"),
                    ("admin", "admin")
                ],
                "viewer",
                None
            ),
        )
    } else {
        String::new()
    };
    Ok(format!(
        "{msg}<h2>Tenant</h2>{switch}<h2>Device groups</h2>{}{new_group}{tokens}",
        table(
            "Groups: protection mode and protocol coverage",
            &["Group", "Description", "Mode and coverage"],
            &group_rows,
            ""
        )
    ))
}

async fn settings(
    State(cp): State<ControlPlane>,
    u: User,
    Query(m): Query<SettingsMessage>,
) -> Result<Html<String>, Fail> {
    let msg = m
        .done
        .map_or(String::new(), |d| notice("ok", &format!("Saved: {d}.")));
    let body = settings_page(&cp, &u, &msg).await?;
    Ok(Html(page("Settings", "/settings", Some(&u.viewer), &body)))
}

#[derive(Deserialize)]
struct SwitchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enforce: Option<String>,
}

async fn save_settings(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<SwitchForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Admin, &f.csrf)?;
    cp.update_settings(
        netward_model::wire::SettingsPatch {
            custom_network_indicators: Some(f.enforce.is_some()),
        },
        u.actor(),
    )
    .await?;
    Ok(Redirect::to("/settings?done=tenant").into_response())
}

#[derive(Deserialize)]
struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    mode: String,
    coverage: String,
}

async fn settings_error(cp: &ControlPlane, u: &User, e: ControlError) -> Result<Response, Fail> {
    match e {
        ControlError::Invalid(_) | ControlError::Conflict(_) => {
            let text = e.to_string();
            let body = settings_page(cp, u, &notice("error", &text)).await?;
            Ok((
                StatusCode::BAD_REQUEST,
                Html(page("Settings", "/settings", Some(&u.viewer), &body)),
            )
                .into_response())
        }
        other => Err(other.into()),
    }
}

async fn create_group(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<GroupForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Admin, &f.csrf)?;
    let create = netward_model::wire::GroupCreate {
        name: Some(f.name.clone()),
        description: None,
        mode: Some(f.mode),
        coverage: Some(f.coverage),
    };
    match cp.create_group(create, u.actor()).await {
        Ok(_) => Ok(Redirect::to("/settings?done=group").into_response()),
        Err(e) => settings_error(&cp, &u, e).await,
    }
}

async fn update_group(
    State(cp): State<ControlPlane>,
    u: User,
    Path(name): Path<String>,
    Form(f): Form<GroupForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Admin, &f.csrf)?;
    let patch = netward_model::wire::GroupPatch {
        description: None,
        mode: Some(f.mode),
        coverage: Some(f.coverage),
    };
    match cp.update_group(name, patch, u.actor()).await {
        Ok(_) => Ok(Redirect::to("/settings?done=group").into_response()),
        Err(e) => settings_error(&cp, &u, e).await,
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    name: String,
    role: String,
}

async fn create_token(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<TokenForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Admin, &f.csrf)?;
    let create = netward_model::wire::TokenCreate {
        name: Some(f.name),
        role: Some(f.role),
    };
    match cp.create_token(create, u.actor()).await {
        // The secret is shown once, in this answer: never in a URL, where history and logs
        // would keep it.
        Ok((t, secret)) => {
            let msg = notice(
                "ok",
                &format!(
                    "Token `{}` created. Copy it now; it is not shown again: {secret}",
                    t.name
                ),
            );
            let body = settings_page(&cp, &u, &msg).await?;
            Ok(Html(page("Settings", "/settings", Some(&u.viewer), &body)).into_response())
        }
        Err(e) => settings_error(&cp, &u, e).await,
    }
}

async fn revoke_token(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Fail> {
    u.may_write(Role::Admin, &form.csrf)?;
    let id = id_of("token", &id)?;
    cp.revoke_token(id, u.actor()).await?;
    Ok(Redirect::to("/settings?done=token").into_response())
}

// ---------------------------------------------------------------- live updates

/// `machines` (all devices' live fields) whenever one changes, and `alert` for each alert
/// raised or changed; for signed-in users only.
async fn live(
    State(cp): State<ControlPlane>,
    Extension(console): Shared,
    u: User,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Fail> {
    let machines = cp.live_machines.subscribe();
    let versions = cp.versions.subscribe();
    let alerts = cp.live_alerts.subscribe();
    let closing = cp.closing();
    let session = (console, u.session);
    let state = (cp, session, machines, versions, alerts, closing, true);
    let events = futures_util::stream::unfold(
        state,
        |(cp, session, mut machines, mut versions, mut alerts, mut closing, first)| async move {
            let event = if first {
                None
            } else {
                tokio::select! {
                    // Now and then even when nothing happens, so that a sign-out or a
                    // revocation ends a quiet stream too.
                    () = tokio::time::sleep(std::time::Duration::from_secs(15)) => {
                        Some(Event::default().comment("still signed in"))
                    }
                    r = machines.changed() => { r.ok()?; None }
                    r = versions.changed() => { r.ok()?; None }
                    a = alerts.recv() => match a {
                        Ok(alert) => Some(Event::default().event("alert").json_data(&alert).unwrap_or_default()),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Some(Event::default().event("resync").data("")),
                        Err(_) => return None,
                    },
                    _ = closing.wait_for(|c| *c) => return None,
                }
            };
            // The session must still be signed in, and its token unrevoked, for every message:
            // a revocation or a sign-out ends the stream.
            let secret = session.0.sessions.peek(&session.1)?;
            cp.authenticate(secret).await.ok()??;
            let event = match event {
                Some(e) => e,
                None => {
                    // Coalesce a burst of acknowledgements into one update.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    machines.borrow_and_update();
                    versions.borrow_and_update();
                    let list = cp.machines().await.ok()?;
                    let live: Vec<LiveMachine> = list.iter().map(live_machine).collect();
                    Event::default()
                        .event("machines")
                        .json_data(&live)
                        .unwrap_or_default()
                }
            };
            Some((
                Ok(event),
                (cp, session, machines, versions, alerts, closing, false),
            ))
        },
    );
    Ok(Sse::new(events))
}
