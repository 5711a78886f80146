//! `/settings`: the tenant switch, then the device-groups section (`groups.rs`) and, for
//! admins, the API-tokens section (`tokens.rs`). Every form on the page posts elsewhere and
//! comes back here, with a message, or with the error shown on the page.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use netward_model::Role;
use netward_model::wire::SettingsPatch;
use serde::Deserialize;

use super::error::PageError;
use super::html::{ListView, Notice, notice, page};
use super::user::User;
use super::{groups, tokens};
use crate::control::{ControlError, ControlPlane};

/// The settings page with `msg` (a notice) on top, as a response with `status`.
pub(super) async fn settings_page(
    cp: &ControlPlane,
    u: &User,
    status: StatusCode,
    msg: Option<Markup>,
    tokens_view: &ListView,
) -> Result<Response, PageError> {
    let enforced = cp.settings().await?.custom_network_indicators;
    let groups = groups::section(cp, &u.viewer).await?;
    let tokens = tokens::section(cp, u, tokens_view).await?;
    let body = html! {
        @if let Some(msg) = msg {
            (msg)
        }
        h2 { "Tenant" }
        @if u.viewer.can(Role::Admin) {
            form method="post" action="/settings" class="card" {
                (u.viewer.csrf_field())
                div class="field check" {
                    input type="checkbox" id="enforce" name="enforce" value="on" checked[enforced];
                    label for="enforce" { "Enforce custom network indicators on every device" }
                }
                button type="submit" { "Save" }
            }
        } @else {
            p {
                "Custom network indicators are "
                strong { (if enforced { "enforced" } else { "switched off" }) }
                "."
            }
        }
        h2 { "Device groups" }
        (groups)
        (tokens)
    };
    Ok((status, page("Settings", "/settings", Some(&u.viewer), body)).into_response())
}

/// A refused change on the settings page: what the user can fix is shown on the page (400);
/// anything else is an error page.
pub(super) async fn refused(
    cp: &ControlPlane,
    u: &User,
    e: ControlError,
) -> Result<Response, PageError> {
    match e {
        ControlError::Invalid(_) | ControlError::Conflict(_) => {
            let text = e.to_string();
            settings_page(
                cp,
                u,
                StatusCode::BAD_REQUEST,
                Some(notice(Notice::Error, &text)),
                &ListView::default(),
            )
            .await
        }
        other => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct SettingsMessage {
    /// What was just saved, to confirm it.
    #[serde(default)]
    done: Option<String>,
}

/// `GET /settings`.
pub(super) async fn show(
    State(cp): State<ControlPlane>,
    u: User,
    Query(m): Query<SettingsMessage>,
    Query(tokens_view): Query<ListView>,
) -> Result<Response, PageError> {
    let msg = m.done.map(|d| notice(Notice::Ok, &format!("Saved: {d}.")));
    settings_page(&cp, &u, StatusCode::OK, msg, &tokens_view).await
}

#[derive(Deserialize)]
pub(super) struct SwitchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enforce: Option<String>,
}

/// `POST /settings`: the tenant's switch for custom network indicators.
pub(super) async fn save(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<SwitchForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    cp.update_settings(
        SettingsPatch {
            custom_network_indicators: Some(f.enforce.is_some()),
        },
        u.actor(),
    )
    .await?;
    Ok(Redirect::to("/settings?done=tenant").into_response())
}
