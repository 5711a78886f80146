//! Sign-in and sign-out. A token is exchanged once for a session (`session.rs`); the sign-in
//! form carries its own double-submitted CSRF token, so that no other site can sign a browser
//! in with that site's token.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;

use super::error::PageError;
use super::html::{TextField, page};
use super::user::{CsrfForm, User};
use super::{Console, Shared, session};
use crate::control::ControlPlane;

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    csrf: String,
    token: String,
}

/// The sign-in page, with a fresh CSRF token in a hidden field and in its own cookie.
fn login_form(console: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let csrf = session::random_id();
    let body = html! {
        form method="post" action="/login" class="card narrow" {
            p {
                "Sign in with an API token (" code { "netward token create" }
                ", or the admin token the server printed at its first start)."
            }
            input type="hidden" name="csrf" value=(csrf);
            (TextField::new("token", "Token")
                .error(error)
                .kind("password")
                .autocomplete("current-password")
                .required()
                .autofocus())
            button type="submit" { "Sign in" }
        }
    };
    let mut resp = (status, page("Sign in", "", None, body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_login_cookie(&csrf, console.secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /login`.
pub(super) async fn form_page(Extension(console): Shared) -> Response {
    login_form(&console, StatusCode::OK, None)
}

/// `POST /login`: a session for a known, unrevoked token.
pub(super) async fn sign_in(
    State(cp): State<ControlPlane>,
    Extension(console): Shared,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
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
    let Some(opened) = cp.open_session(form.token.trim().to_owned()).await? else {
        return Ok(login_form(
            &console,
            StatusCode::UNAUTHORIZED,
            Some("this token is unknown or revoked"),
        ));
    };
    let mut resp = Redirect::to("/overview").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&opened.id, console.secure)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /logout`: ends the session and clears its cookie.
pub(super) async fn sign_out(
    State(cp): State<ControlPlane>,
    Extension(console): Shared,
    u: User,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    u.check(&form.csrf)?;
    cp.close_session(u.session).await?;
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(console.secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}
