//! The web console at `/`: server-rendered pages with a small script for live updates.
//!
//! Every page calls the same [`ControlPlane`] methods as the REST API, with the same role
//! checks; the console only renders. Each page lives in the file its `api/` sibling has:
//!
//! - `overview.rs`: the landing page, counts and charts over the last 24 hours or 7 days;
//!   `charts.rs`: the SVG charts, each with its numbers as text; `orders.rs`: the sortable
//!   columns of the devices, alerts and incidents lists; `lists.rs`: sorting and paging, the
//!   same on every list.
//! - `machines.rs`: the devices list and a device's page (facts and timeline).
//! - `indicators.rs`: the indicators list (searched in the store), the form, save, delete;
//!   `import.rs`: importing a file.
//! - `detection.rs`: alerts and incidents, and their status changes; `triage.rs`: an alert's
//!   assignment, classification, determination and comments; `time.rs`: relative times;
//!   `words.rs`: statuses, reasons, severities and counts as words.
//! - `events.rs`: the events, with the API's filters, following live; `hunting.rs`: who
//!   contacted an address or range.
//! - `feeds.rs`: threat-intel feeds, a feed's runs and refusals, and their forms.
//! - `settings.rs`: the settings page and the tenant switch; `groups.rs` and `tokens.rs`: the
//!   page's sections for device groups and API tokens, and their forms.
//! - `enrollment.rs`: enrollment tokens (admins): list, create, revoke; `audit_log.rs`: the
//!   audit log (admins), by actor and action.
//! - `login.rs`: sign-in and sign-out.
//! - `live.rs`: `GET /console/live`, a server-sent-event stream of `machines` (every device's
//!   sync state, whenever an agent acknowledges, connects or disconnects, or the policy
//!   changes), `alert` (each alert as it is raised or changes) and `events` (new events were
//!   stored). `console.js` applies them
//!   to the page in place.
//! - `user.rs`: the signed-in user of a request and the role-then-CSRF check of every write;
//!   `error.rs`: the one mapping of a failure to a redirect or an error page.
//! - `session.rs`: the session and sign-in cookies (sessions themselves are kept by the core,
//!   `crate::sessions`, in the store); `html.rs`: the page frame, tables and
//!   form controls.
//!
//! Pages are typed `maud` templates: whatever a template splices in is escaped unless it is
//! already markup, so no page escapes by hand. This file only declares the parts and builds
//! the router.

mod audit_log;
mod charts;
mod detection;
mod enrollment;
mod error;
mod events;
mod feeds;
mod groups;
pub mod html;
mod hunting;
mod import;
mod indicator_list;
mod indicators;
pub mod lists;
mod live;
mod login;
mod machines;
mod orders;
mod overview;
pub mod session;
mod settings;
mod time;
mod tokens;
mod triage;
mod user;
mod words;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::control::ControlPlane;

/// The only assets, embedded in the binary.
const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

/// Console settings shared by the handlers (an [`Extension`] on every route).
#[derive(Debug)]
struct Console {
    /// Whether cookies get `Secure` (the server speaks TLS).
    secure: bool,
}

/// How a handler receives the [`Console`].
type Shared = Extension<Arc<Console>>;

/// The console's routes; `secure` when the server is behind TLS.
pub fn router(secure: bool) -> Router<ControlPlane> {
    let console = Arc::new(Console { secure });
    Router::new()
        .route("/", get(|| async { Redirect::to("/overview") }))
        .route("/overview", get(overview::show))
        .route(
            "/console.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }),
        )
        .route(
            "/console.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    JS,
                )
            }),
        )
        .route(
            "/login",
            get(login::form_page)
                .post(login::sign_in)
                .layer(DefaultBodyLimit::max(
                    crate::api::UNAUTHENTICATED_BODY_BYTES,
                )),
        )
        .route("/logout", post(login::sign_out))
        .route("/devices", get(machines::list))
        .route("/devices/{id}", get(machines::show))
        .route(
            "/indicators",
            get(indicator_list::list).post(indicators::save),
        )
        .route("/indicators/new", get(indicators::new))
        .route(
            "/indicators/import",
            get(import::form_page).post(import::upload),
        )
        .route("/indicators/{id}", get(indicators::show))
        .route("/indicators/{id}/delete", post(indicators::delete))
        .route("/alerts", get(detection::alerts))
        .route("/alerts/{id}", get(detection::alert))
        .route("/alerts/{id}/status", post(detection::alert_status))
        .route("/alerts/{id}/assign", post(triage::assign_to_me))
        .route("/alerts/{id}/classify", post(triage::classify))
        .route("/alerts/{id}/comments", post(triage::comment))
        .route("/events", get(events::list))
        .route("/hunting", get(hunting::show))
        .route("/incidents", get(detection::incidents))
        .route("/incidents/{id}", get(detection::incident))
        .route("/incidents/{id}/status", post(detection::incident_status))
        .route("/feeds", get(feeds::list).post(feeds::create))
        .route("/feeds/{name}", get(feeds::show).post(feeds::update))
        .route("/feeds/{name}/sync", post(feeds::sync))
        .route("/feeds/{name}/delete", post(feeds::delete))
        .route("/audit", get(audit_log::list))
        .route(
            "/enrollment",
            get(enrollment::list).post(enrollment::create),
        )
        .route("/enrollment/{id}/revoke", post(enrollment::revoke))
        .route("/settings", get(settings::show).post(settings::save))
        .route("/settings/groups", post(groups::create))
        .route("/settings/groups/{name}", post(groups::update))
        .route("/settings/tokens", post(tokens::create))
        .route("/settings/tokens/{id}/revoke", post(tokens::revoke))
        .route("/console/live", get(live::stream))
        .layer(Extension(console))
        .layer(axum::middleware::map_response(protective_headers))
}

/// The content security policy of every console response: its own script and stylesheet
/// only, no framing (clickjacking), no plugins, forms that post back to the console only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'; object-src 'none'";

/// Headers on every console response: a page cannot be framed, sniffed as another type, or
/// kept in a cache (a new token's secret is shown once, on a page like any other).
async fn protective_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}
