//! The API-tokens section of `/settings`, for admins only: the tokens, a revoke button for
//! each live one, and the form for a new one; `POST /settings/tokens` and
//! `/settings/tokens/{id}/revoke` call the same methods as `api/tokens.rs`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, Render, html};
use netward_model::Role;
use netward_model::wire::TokenCreate;
use serde::Deserialize;

use super::error::{PageError, id_of};
use super::html::{ListView, Notice, TextField, notice, select_field};
use super::settings::{refused, settings_page};
use super::time::time_at;
use super::user::{CsrfForm, User};
use crate::control::ControlPlane;
use crate::store::TokenColumn;
use crate::tokens::TokenRevoke;

/// The sortable columns, as `?sort=` names them.
const TOKEN_ORDERS: [(&str, TokenColumn); 4] = [
    ("name", TokenColumn::Name),
    ("role", TokenColumn::Role),
    ("created", TokenColumn::Created),
    ("state", TokenColumn::State),
];

/// The section, or nothing for a viewer or analyst (who may not list tokens).
pub(super) async fn section(
    cp: &ControlPlane,
    u: &User,
    view: &ListView,
) -> Result<Markup, PageError> {
    let viewer = &u.viewer;
    if !viewer.can(Role::Admin) {
        return Ok(html! {});
    }
    let (list, total) = cp.tokens_page(view.store(&TOKEN_ORDERS)).await?;
    let now = cp.now();
    let rows: Vec<Vec<Markup>> = list
        .iter()
        .map(|t| {
            vec![
                t.name.render(),
                html! { (t.role) },
                time_at(t.created_at, now),
                match t.revoked_at {
                    Some(at) => html! { "revoked " (time_at(at, now)) },
                    // Revoking it would sign you out for good; the CLI can, with --force.
                    None if t.id == u.token_id() => html! { "signed in with this token" },
                    None => html! {
                        form method="post" action={ "/settings/tokens/" (t.id) "/revoke" } class="inline" {
                            (viewer.csrf_field())
                            button type="submit" class="danger" { "Revoke" }
                        }
                    },
                },
            ]
        })
        .collect();
    Ok(html! {
        h2 { "API tokens" }
        (view.render(
            "/settings?",
            total,
            (
                "Tokens",
                &[
                    ("Name", Some("name")),
                    ("Role", Some("role")),
                    ("Created", Some("created")),
                    ("State", Some("state")),
                ],
                &rows,
            ),
            "Nothing yet.",
        ))
        form method="post" action="/settings/tokens" class="card" {
            h3 { "New token" }
            (viewer.csrf_field())
            (TextField::new("name", "Name").id("token-name").required())
            (select_field(
                "role",
                "Role",
                &[("viewer", "viewer"), ("analyst", "analyst"), ("admin", "admin")],
                "viewer",
                None
            ))
            button type="submit" { "Create" }
        }
    })
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    csrf: String,
    name: String,
    role: String,
}

/// `POST /settings/tokens`.
pub(super) async fn create(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<TokenForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    let create = TokenCreate {
        name: Some(f.name),
        role: Some(f.role),
    };
    match cp.create_token(create, u.actor()).await {
        // The secret is shown once, in this answer: never in a URL, where history and logs
        // would keep it.
        Ok((t, secret)) => {
            let msg = notice(
                Notice::Ok,
                &format!(
                    "Token `{}` created. Copy it now; it is not shown again: {secret}",
                    t.name
                ),
            );
            settings_page(&cp, &u, StatusCode::OK, Some(msg), &ListView::default()).await
        }
        Err(e) => refused(&cp, &u, e).await,
    }
}

/// `POST /settings/tokens/{id}/revoke`.
pub(super) async fn revoke(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &form.csrf)?;
    let revoke = TokenRevoke {
        id: id_of("token", &id)?,
        caller: Some(u.token_id()),
        force: false,
    };
    match cp.revoke_token(revoke, u.actor()).await {
        Ok(_) => Ok(Redirect::to("/settings?done=token").into_response()),
        Err(e) => refused(&cp, &u, e).await,
    }
}
