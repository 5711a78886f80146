//! `/indicators/…`: an indicator's page (a form for analysts, facts for viewers), the form to
//! add one, save and delete. The list is in `indicator_list.rs`, importing a file in
//! `import.rs`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use netward_model::timestamp::format_rfc3339;
use netward_model::{Action, ActorKind, FieldError, IndicatorSubmission, MdeAction, Role};
use serde::Deserialize;

use super::error::{PageError, id_of};
use super::html::{Notice, TextField, Viewer, facts, notice, page, select_field, urlencode};
use super::time::time_at;
use super::user::{CsrfForm, User};
use crate::control::{ControlError, ControlPlane};

/// The indicator form as posted; every field is optional here, so that a missing one comes
/// back from validation beside its control rather than as a bare 422.
#[derive(Deserialize, Default, Clone)]
pub(super) struct IndicatorForm {
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

impl IndicatorForm {
    /// The form as the REST API's submission, so that both go through the same validation.
    fn submission(&self) -> IndicatorSubmission {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        IndicatorSubmission {
            indicator_value: opt(&self.value),
            action: opt(&self.action),
            title: opt(&self.title),
            severity: opt(&self.severity),
            description: opt(&self.description),
            expiration_time: opt(&self.expires),
            generate_alert: Some(self.alert.is_some()),
            rbac_group_names: Some(
                self.groups
                    .split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            recommended_actions: opt(&self.recommended),
            ..IndicatorSubmission::default()
        }
    }
}

/// The list's action column: what devices do, and MDE's name when it says more
/// (`block (AlertAndBlock)`).
pub(super) fn action_label(action: Action, name: MdeAction) -> String {
    if name == MdeAction::from(action) {
        action.as_str().to_owned()
    } else {
        format!("{action} ({name})")
    }
}

/// The form's words for an action name.
fn mde_action_text(name: MdeAction) -> &'static str {
    match name {
        MdeAction::Block => "Block",
        MdeAction::AlertAndBlock => "Block and alert (AlertAndBlock)",
        MdeAction::Audit => "Audit",
        MdeAction::Alert => "Audit and alert (Alert)",
        MdeAction::Allowed => "Allow",
    }
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

/// The form, filled with `f`, with `error` beside its field; `editing` an existing indicator
/// (its value is then read-only, and it can be deleted).
fn indicator_form(
    viewer: &Viewer,
    f: &IndicatorForm,
    error: Option<(&str, String)>,
    editing: Option<i64>,
) -> Markup {
    let err = |name: &str| {
        error
            .as_ref()
            .filter(|(field, _)| *field == name)
            .map(|(_, m)| m.as_str())
    };
    let actions = MdeAction::ALL.map(|a| (a.as_str(), mde_action_text(a)));
    let severities = [
        ("", "(default: Informational)"),
        ("Informational", "Informational"),
        ("Low", "Low"),
        ("Medium", "Medium"),
        ("High", "High"),
    ];
    html! {
        // The error summary: `console.js` focuses it; the field's own message sits beside it.
        @if let Some((_, message)) = &error {
            (notice(Notice::Error, message))
        }
        form method="post" action="/indicators" class="card" novalidate {
            (viewer.csrf_field())
            (TextField::new("value", "IP address or CIDR range")
                .value(&f.value)
                .error(err("value"))
                .required()
                .readonly(editing.is_some()))
            (select_field("action", "Action", &actions, &f.action, err("action")))
            (TextField::new("title", "Title")
                .value(&f.title)
                .error(err("title"))
                .required())
            (select_field("severity", "Severity", &severities, &f.severity, err("severity")))
            (TextField::new("description", "Description")
                .value(&f.description)
                .error(err("description")))
            (TextField::new("expires", "Expires (RFC 3339, e.g. 2030-01-31T00:00:00Z; empty: never)")
                .value(&f.expires)
                .error(err("expires")))
            div class="field check" {
                input type="checkbox" id="alert" name="alert" value="on" checked[f.alert.is_some()];
                label for="alert" { "Raise an alert on every hit" }
            }
            (TextField::new("groups", "Device groups, comma-separated (empty: all devices)")
                .value(&f.groups)
                .error(err("groups")))
            (TextField::new("recommended", "Recommended actions")
                .value(&f.recommended)
                .error(err("recommended")))
            div class="field check" {
                input type="checkbox" id="force" name="force" value="on" checked[f.force.is_some()];
                label for="force" { "Accept a block the guard rails would refuse" }
            }
            button type="submit" { "Save" }
        }
        @if let Some(id) = editing.filter(|_| viewer.can(Role::Analyst)) {
            form method="post" action={ "/indicators/" (id) "/delete" } class="inline" {
                (viewer.csrf_field())
                button type="submit" class="danger" { "Delete this indicator" }
            }
        }
    }
}

/// `GET /indicators/new`.
pub(super) async fn new(u: User) -> Result<Markup, PageError> {
    u.require(Role::Analyst)?;
    let f = IndicatorForm {
        action: MdeAction::Block.as_str().into(),
        ..IndicatorForm::default()
    };
    Ok(page(
        "Add an indicator",
        "/indicators",
        Some(&u.viewer),
        indicator_form(&u.viewer, &f, None, None),
    ))
}

/// `GET /indicators/{id}`: where it is enforced, then the form (analysts) or its facts.
pub(super) async fn show(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = id_of("indicator", &id)?;
    let i = cp.indicator(id).await?;
    let d = &i.draft;
    let summary = cp.enforcement(i.clone()).await?;
    let exempt = summary
        .not_enforced
        .iter()
        .filter(|d| d.not_enforceable)
        .count();
    let mut text = format!(
        "Enforced on {}/{} devices in scope.",
        summary.enforced, summary.in_scope
    );
    if exempt > 0 {
        text.push_str(&format!(
            " Not enforceable on {exempt}: it covers an address those agents exempt (loopback, their server or a DNS resolver)."
        ));
    }
    // Alert → indicator → its hits → device: the events that matched it, each with its device.
    let enforced = html! {
        (notice(Notice::Ok, &text))
        p class="links" {
            a href={ "/events?indicatorId=" (id) } { "Its hits" }
            " · "
            a href={ "/overview" } { "The overview" }
        }
    };
    let f = IndicatorForm {
        csrf: String::new(),
        value: d.value.to_string(),
        action: d.mde_action.as_str().into(),
        title: d.title.clone(),
        severity: d.severity.as_str().into(),
        description: d.description.clone(),
        expires: d.expires_at.map_or(String::new(), format_rfc3339),
        alert: d.generate_alert.then(|| "on".into()),
        groups: d.groups.join(", "),
        recommended: d.recommended_actions.clone(),
        force: None,
    };
    let from_feed = (i.created_by.kind == ActorKind::Feed).then(|| {
        notice(
            Notice::Ok,
            &format!(
                "From feed {} (external id {}): it changes through the feed, not by hand.",
                i.created_by.name,
                if d.external_id.is_empty() {
                    "none"
                } else {
                    &d.external_id
                }
            ),
        )
    });
    let body = if u.viewer.can(Role::Analyst) && from_feed.is_none() {
        html! { (enforced) (indicator_form(&u.viewer, &f, None, Some(id))) }
    } else {
        let shown = [
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
        ];
        html! {
            @if let Some(from) = from_feed {
                (from)
                p { a href={ "/feeds/" (urlencode(&i.created_by.name)) } { "The feed's page" } }
            }
            (enforced)
            dl class="facts" {
                (facts(&shown))
                dt { "Expires" }
                dd { @match d.expires_at { Some(t) => (time_at(t, cp.now())), None => "never" } }
            }
        }
    };
    Ok(page(
        &d.value.to_string(),
        "/indicators",
        Some(&u.viewer),
        body,
    ))
}

/// The source of an indicator in a list: its creator, linked to the feed's page for a feed's.
pub(super) fn source_cell(i: &netward_model::Indicator) -> Markup {
    if i.created_by.kind == ActorKind::Feed {
        html! { a href={ "/feeds/" (urlencode(&i.created_by.name)) } { "feed " (i.created_by.name) } }
    } else {
        html! { (i.created_by.name) }
    }
}

/// `POST /indicators`: submit or update one indicator, as `POST /api/indicators`; a field
/// the core refuses is shown again beside its control, with what was typed.
pub(super) async fn save(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<IndicatorForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Analyst, &f.csrf)?;
    let shown = |field: &str, message: String| -> Response {
        (
            StatusCode::BAD_REQUEST,
            page(
                "Add an indicator",
                "/indicators",
                Some(&u.viewer),
                indicator_form(&u.viewer, &f, Some((form_field(field), message)), None),
            ),
        )
            .into_response()
    };
    match cp
        .submit_indicator(f.submission(), f.force.is_some(), u.actor())
        .await
    {
        Ok(i) => Ok(Redirect::to(&format!(
            "/indicators?saved={}",
            urlencode(&i.draft.value.to_string())
        ))
        .into_response()),
        Err(ControlError::Invalid(FieldError { field, message })) => Ok(shown(&field, message)),
        Err(ControlError::Guarded(g)) => Ok(shown("indicatorValue", g.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// `POST /indicators/{id}/delete`.
pub(super) async fn delete(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("indicator", &id)?;
    cp.delete_indicator(id, u.actor()).await?;
    Ok(Redirect::to("/indicators").into_response())
}
