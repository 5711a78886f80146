//! `/enrollment`: enrollment tokens, for admins: the list (each with its group, uses and
//! expiry), a form for a new one, whose secret is shown once, and a revoke button for each
//! live one. The same methods as `api/enroll_tokens.rs`.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, Render, html};
use netward_model::Role;
use netward_model::agent_wire::EnrollTokenCreate;
use serde::Deserialize;

use super::error::{PageError, id_of};
use super::html::{ListView, Notice, TextField, notice, page, select_field};
use super::time::time_at;
use super::user::{CsrfForm, User};
use crate::control::{ControlError, ControlPlane};
use crate::store::EnrollTokenColumn;

/// The sortable columns, as `?sort=` names them.
const ENROLL_ORDERS: [(&str, EnrollTokenColumn); 5] = [
    ("group", EnrollTokenColumn::Group),
    ("created", EnrollTokenColumn::Created),
    ("expires", EnrollTokenColumn::Expires),
    ("uses", EnrollTokenColumn::Uses),
    ("state", EnrollTokenColumn::State),
];

/// `GET /enrollment`.
pub(super) async fn list(
    State(cp): State<ControlPlane>,
    u: User,
    Query(view): Query<ListView>,
) -> Result<Response, PageError> {
    u.require(Role::Admin)?;
    enrollment_page(&cp, &u, StatusCode::OK, None, &view).await
}

async fn enrollment_page(
    cp: &ControlPlane,
    u: &User,
    status: StatusCode,
    msg: Option<Markup>,
    view: &ListView,
) -> Result<Response, PageError> {
    let now = cp.now();
    let at = |t: i64| time_at(t, now);
    let (tokens, total) = cp.enroll_tokens_page(view.store(&ENROLL_ORDERS)).await?;
    let groups = cp.groups().await?;
    let rows: Vec<Vec<Markup>> = tokens
        .iter()
        .map(|t| {
            let live = t.revoked_at.is_none() && t.expires_at > now;
            vec![
                t.id.render(),
                t.group.render(),
                t.created_by.render(),
                at(t.created_at),
                at(t.expires_at),
                match t.max_uses {
                    Some(max) => format!("{} of {max}", t.uses),
                    None => format!("{} (no limit)", t.uses),
                }
                .render(),
                match t.revoked_at {
                    Some(r) => html! { "revoked " (at(r)) },
                    None if !live => html! { "expired" },
                    None => html! {
                        form method="post" action={ "/enrollment/" (t.id) "/revoke" } class="inline" {
                            (u.viewer.csrf_field())
                            button type="submit" class="danger" aria-label={ "Revoke enrollment token " (t.id) } { "Revoke" }
                        }
                    },
                },
            ]
        })
        .collect();
    let group_options: Vec<(&str, &str)> = groups
        .iter()
        .map(|g| (g.name.as_str(), g.name.as_str()))
        .collect();
    let body = html! {
        @if let Some(msg) = msg { (msg) }
        p {
            "A device enrolls once with a token: " code { "netward agent --enroll TOKEN" }
            ". Revoking a token stops it enrolling more devices; those it enrolled stay."
        }
        (view.render(
            "/enrollment?",
            total,
            (
                "Enrollment tokens",
                &[
                    ("Id", None),
                    ("Group", Some("group")),
                    ("Created by", None),
                    ("Created", Some("created")),
                    ("Expires", Some("expires")),
                    ("Uses", Some("uses")),
                    ("State", Some("state")),
                ],
                &rows,
            ),
            "Nothing yet.",
        ))
        form method="post" action="/enrollment" class="card" {
            h2 { "New enrollment token" }
            (u.viewer.csrf_field())
            (select_field("group", "Group new devices join", &group_options, "default", None))
            (TextField::new("validHours", "Valid for (hours, 1 to 8760)").value("168"))
            (TextField::new("maxUses", "Devices it may enroll").value("1"))
            button type="submit" { "Create" }
        }
    };
    Ok((
        status,
        page("Enrollment tokens", "/enrollment", Some(&u.viewer), body),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct EnrollForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    group: String,
    #[serde(rename = "validHours", default)]
    valid_hours: String,
    #[serde(rename = "maxUses", default)]
    max_uses: String,
}

/// A number from the form; a refusal naming the field when it is not one.
fn number(field: &str, raw: &str) -> Result<Option<u32>, ControlError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| {
        netward_model::FieldError::new(field, format!("`{raw}` is not a whole number")).into()
    })
}

/// A refused change: what the user can fix is shown on the page (400).
async fn refused(cp: &ControlPlane, u: &User, e: ControlError) -> Result<Response, PageError> {
    match e {
        ControlError::Invalid(_) | ControlError::Conflict(_) | ControlError::NotFound(_) => {
            let msg = notice(Notice::Error, &e.to_string());
            enrollment_page(
                cp,
                u,
                StatusCode::BAD_REQUEST,
                Some(msg),
                &ListView::default(),
            )
            .await
        }
        other => Err(other.into()),
    }
}

/// `POST /enrollment`: the new token's secret is shown once, in this answer.
pub(super) async fn create(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<EnrollForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    let input = match (
        number("validHours", &f.valid_hours),
        number("maxUses", &f.max_uses),
    ) {
        (Ok(valid_hours), Ok(max_uses)) => EnrollTokenCreate {
            group: Some(f.group).filter(|g| !g.is_empty()),
            valid_hours,
            max_uses,
        },
        (Err(e), _) | (_, Err(e)) => return refused(&cp, &u, e).await,
    };
    match cp.create_enroll_token(input, u.actor()).await {
        Ok(t) => {
            let msg = notice(
                Notice::Ok,
                &format!(
                    "Enrollment token {} created for group `{}`. Copy it now; it is not shown again: `{}`",
                    t.id, t.group, t.token
                ),
            );
            enrollment_page(&cp, &u, StatusCode::OK, Some(msg), &ListView::default()).await
        }
        Err(e) => refused(&cp, &u, e).await,
    }
}

/// `POST /enrollment/{id}/revoke`.
pub(super) async fn revoke(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &form.csrf)?;
    let id = id_of("enrollment token", &id)?;
    match cp.revoke_enroll_token(id, u.actor()).await {
        Ok(_) => Ok(Redirect::to("/enrollment").into_response()),
        Err(e) => refused(&cp, &u, e).await,
    }
}
