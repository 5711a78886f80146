//! The API-tokens section of `/settings`, for admins only: the tokens, a revoke button for
//! each live one, and the form for a new one; `POST /settings/tokens` and
//! `/settings/tokens/{id}/revoke` call the same methods as `api/tokens.rs`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use netward_model::Role;
use netward_model::timestamp::format_rfc3339;
use netward_model::wire::TokenCreate;
use serde::Deserialize;

use super::error::{PageError, id_of};
use super::html::{self, Viewer, esc, notice, select_field, table};
use super::settings::{refused, settings_page};
use super::user::{CsrfForm, User};
use crate::control::ControlPlane;

/// The section, or nothing for a viewer or analyst (who may not list tokens).
pub(super) async fn section(cp: &ControlPlane, viewer: &Viewer) -> Result<String, PageError> {
    if !viewer.can(Role::Admin) {
        return Ok(String::new());
    }
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
                        viewer.csrf_field()
                    ),
                },
            ]
        })
        .collect();
    Ok(format!(
        "<h2>API tokens</h2>{}<form method=\"post\" action=\"/settings/tokens\" class=\"card\">\
         <h3>New token</h3>{}{}{}<button type=\"submit\">Create</button></form>",
        table("Tokens", &["Name", "Role", "Created", ""], &rows, ""),
        viewer.csrf_field(),
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
    ))
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
                "ok",
                &format!(
                    "Token `{}` created. Copy it now; it is not shown again: {secret}",
                    t.name
                ),
            );
            settings_page(&cp, &u, StatusCode::OK, &msg).await
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
    let id = id_of("token", &id)?;
    cp.revoke_token(id, u.actor()).await?;
    Ok(Redirect::to("/settings?done=token").into_response())
}
