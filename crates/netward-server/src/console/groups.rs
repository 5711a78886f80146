//! The device-groups section of `/settings`: each group's protection mode and coverage
//! (editable by admins), and the form for a new group; `POST /settings/groups` and
//! `/settings/groups/{name}` call the same methods as `api/groups.rs`.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, Render, html};
use netward_model::Role;
use netward_model::wire::{GroupCreate, GroupPatch};
use serde::Deserialize;

use super::error::PageError;
use super::html::{TextField, Viewer, select_field, select_field_id, table, urlencode};
use super::settings::refused;
use super::user::User;
use crate::control::ControlPlane;

const MODES: [(&str, &str); 3] = [("block", "block"), ("audit", "audit"), ("off", "off")];
const COVERAGES: [(&str, &str); 2] = [("all", "all protocols"), ("tcp", "TCP only (as MDE)")];

/// The groups table and, for admins, a form per group and one for a new group.
pub(super) async fn section(cp: &ControlPlane, viewer: &Viewer) -> Result<Markup, PageError> {
    let groups = cp.groups().await?;
    let admin = viewer.can(Role::Admin);
    let rows: Vec<Vec<Markup>> = groups
        .iter()
        .map(|g| {
            // Each row's controls need ids of their own, but post the same field names.
            let controls = if admin {
                html! {
                    form method="post" action={ "/settings/groups/" (urlencode(&g.name)) } class="inline" {
                        (viewer.csrf_field())
                        (select_field_id(
                            &format!("mode-{}", g.name),
                            "mode",
                            "Mode",
                            &MODES,
                            g.mode.as_str(),
                            None
                        ))
                        (select_field_id(
                            &format!("coverage-{}", g.name),
                            "coverage",
                            "Coverage",
                            &COVERAGES,
                            g.coverage.as_str(),
                            None
                        ))
                        button type="submit" { "Save" }
                    }
                }
            } else {
                html! { (g.mode.as_str()) " · " (g.coverage.as_str()) }
            };
            vec![g.name.render(), g.description.render(), controls]
        })
        .collect();
    Ok(html! {
        (table(
            "Groups: protection mode and protocol coverage",
            &["Group", "Description", "Mode and coverage"],
            &rows,
            ""
        ))
        @if admin {
            form method="post" action="/settings/groups" class="card" {
                h3 { "New group" }
                (viewer.csrf_field())
                (TextField::new("name", "Name").id("group-name").required())
                (select_field("mode", "Mode", &MODES, "block", None))
                (select_field("coverage", "Coverage", &COVERAGES, "all", None))
                button type="submit" { "Create" }
            }
        }
    })
}

#[derive(Deserialize)]
pub(super) struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    mode: String,
    coverage: String,
}

/// `POST /settings/groups`.
pub(super) async fn create(
    State(cp): State<ControlPlane>,
    u: User,
    Form(f): Form<GroupForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    let create = GroupCreate {
        name: Some(f.name),
        description: None,
        mode: Some(f.mode),
        coverage: Some(f.coverage),
    };
    match cp.create_group(create, u.actor()).await {
        Ok(_) => Ok(Redirect::to("/settings?done=group").into_response()),
        Err(e) => refused(&cp, &u, e).await,
    }
}

/// `POST /settings/groups/{name}`: a group's mode and coverage.
pub(super) async fn update(
    State(cp): State<ControlPlane>,
    u: User,
    Path(name): Path<String>,
    Form(f): Form<GroupForm>,
) -> Result<Response, PageError> {
    u.may_write(Role::Admin, &f.csrf)?;
    let patch = GroupPatch {
        description: None,
        mode: Some(f.mode),
        coverage: Some(f.coverage),
    };
    match cp.update_group(name, patch, u.actor()).await {
        Ok(_) => Ok(Redirect::to("/settings?done=group").into_response()),
        Err(e) => refused(&cp, &u, e).await,
    }
}
