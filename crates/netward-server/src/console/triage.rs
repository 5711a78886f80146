//! An alert's triage on its page: "Assign to me", the classification and determination, and
//! the comments with a form to add one. The same rules as `PATCH /api/alerts/{id}` and
//! `POST /api/alerts/{id}/comments` (`detection/triage.rs`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use netward_model::detection::{AlertEntity, AlertPatch, Classification, Determination};
use netward_model::{FieldError, Role};
use serde::Deserialize;

use super::error::{PageError, id_of};
use super::html::Viewer;
use super::time::time_ago;
use super::user::User;
use crate::control::{ControlError, ControlPlane};

/// The triage section of an alert's page.
pub(super) fn triage_section(viewer: &Viewer, a: &AlertEntity, now: i64) -> Markup {
    let base = format!("/alerts/{}", a.id);
    let classification = a.classification.map(|c| c.as_str()).unwrap_or("");
    let determination = a.determination.map(|d| d.as_str()).unwrap_or("");
    let comments = a.comments.as_deref().unwrap_or_default();
    html! {
        section aria-labelledby="triage-heading" {
            h2 id="triage-heading" { "Triage" }
            dl class="facts" {
                dt { "Assigned to" }
                dd data-fact="assigned to" {
                    @match (&a.assigned_to, &a.assigned_at) {
                        (Some(to), Some(at)) => {
                            (to) " · " (time_ago(at, now))
                            @if let Some(by) = &a.assigned_by { " by " (by) }
                        }
                        _ => "Nobody",
                    }
                }
                dt { "Classification" }
                dd data-fact="classification" {
                    @match (a.classification, &a.classified_at) {
                        (Some(c), Some(at)) => {
                            (c.label())
                            @if let Some(d) = a.determination { " · " (d) }
                            " · " (time_ago(at, now))
                            @if let Some(by) = &a.classified_by { " by " (by) }
                        }
                        _ => "Not classified",
                    }
                }
            }
            @if viewer.can(Role::Analyst) {
                @if a.assigned_to.as_deref() != Some(viewer.name.as_str()) {
                    form method="post" action={ (base) "/assign" } class="inline" {
                        (viewer.csrf_field())
                        button type="submit" id="assign-to-me" { "Assign to me" }
                    }
                }
                form method="post" action={ (base) "/classify" } class="triage-form" {
                    (viewer.csrf_field())
                    div class="field" {
                        label for="classification" { "Classification" }
                        select id="classification" name="classification" {
                            option value="" selected[classification.is_empty()] { "Not classified" }
                            @for c in Classification::ALL {
                                option value=(c.as_str()) selected[c.as_str() == classification] { (c.label()) }
                            }
                        }
                    }
                    div class="field" {
                        label for="determination" { "Determination" }
                        select id="determination" name="determination" {
                            option value="" selected[determination.is_empty()] { "None" }
                            @for c in Classification::ALL {
                                optgroup label=(c.label()) {
                                    @for d in c.determinations() {
                                        @let value = format!("{c}:{d}");
                                        option value=(value)
                                            selected[Some(c) == a.classification && d.as_str() == determination] { (d) }
                                    }
                                }
                            }
                        }
                    }
                    button type="submit" { "Save classification" }
                }
            }
            h3 { "Comments" }
            @if comments.is_empty() {
                p { "No comments yet." }
            } @else {
                ol class="comments" id="comments" {
                    @for c in comments {
                        li {
                            p class="comment-meta" { strong { (c.created_by) } " · " (time_ago(&c.created_time, now)) }
                            p { (c.comment) }
                        }
                    }
                }
            }
            @if viewer.can(Role::Analyst) {
                form method="post" action={ (base) "/comments" } class="comment-form" {
                    (viewer.csrf_field())
                    div class="field" {
                        label for="comment" { "Add a comment" }
                        textarea id="comment" name="comment" rows="3" required maxlength="4000" {}
                    }
                    button type="submit" { "Comment" }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /alerts/{id}/assign`: assigns the alert to the signed-in user.
pub(super) async fn assign_to_me(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("alert", &id)?;
    let patch = AlertPatch {
        assigned_to: Some(Some(u.actor().name)),
        ..AlertPatch::default()
    };
    cp.triage_alert(id, patch, u.actor()).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ClassifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    classification: String,
    #[serde(default)]
    determination: String,
}

fn invalid(field: &str, message: String) -> PageError {
    PageError::from(ControlError::from(FieldError::new(field, message)))
}

/// `POST /alerts/{id}/classify`. The determination arrives as `Classification:Determination`
/// (the select groups them), and must belong to the chosen classification.
pub(super) async fn classify(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<ClassifyForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("alert", &id)?;
    let classification = match form.classification.as_str() {
        "" => None,
        raw => Some(Classification::parse(raw).ok_or_else(|| {
            invalid("classification", format!("`{raw}` is not a classification"))
        })?),
    };
    let determination = match form.determination.split_once(':') {
        None if form.determination.is_empty() => None,
        Some((group, raw)) if Classification::parse(group) == classification => {
            Some(Determination::parse(raw).ok_or_else(|| {
                invalid("determination", format!("`{raw}` is not a determination"))
            })?)
        }
        _ => {
            return Err(invalid(
                "determination",
                "choose a determination listed under the chosen classification".to_owned(),
            ));
        }
    };
    let patch = AlertPatch {
        classification: Some(classification),
        determination: Some(determination),
        ..AlertPatch::default()
    };
    cp.triage_alert(id, patch, u.actor()).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: String,
}

/// `POST /alerts/{id}/comments`.
pub(super) async fn comment(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Analyst, &form.csrf)?;
    let id = id_of("alert", &id)?;
    cp.comment_alert(id, form.comment, u.actor()).await?;
    Ok(Redirect::to(&format!("/alerts/{id}#comments")).into_response())
}
