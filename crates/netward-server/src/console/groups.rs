//! The device-groups section of `/settings`: each group's protection mode and coverage
//! (editable by admins), and the form for a new group; `POST /settings/groups` and
//! `/settings/groups/{name}` call the same methods as `api/groups.rs`.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use netward_model::Role;
use netward_model::wire::{GroupCreate, GroupPatch};
use serde::Deserialize;

use super::error::PageError;
use super::html::{self, Viewer, esc, select_field, table, urlencode};
use super::settings::refused;
use super::user::User;
use crate::control::ControlPlane;

const MODES: [(&str, &str); 3] = [("block", "block"), ("audit", "audit"), ("off", "off")];
const COVERAGES: [(&str, &str); 2] = [("all", "all protocols"), ("tcp", "TCP only (as MDE)")];

/// The groups table and, for admins, a form per group and one for a new group.
pub(super) async fn section(cp: &ControlPlane, viewer: &Viewer) -> Result<String, PageError> {
    let groups = cp.groups().await?;
    let admin = viewer.can(Role::Admin);
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let controls = if admin {
                // Each row's controls need ids of their own, but post the same field names.
                format!(
                    "<form method=\"post\" action=\"/settings/groups/{}\" class=\"inline\">{}{}{}\
                     <button type=\"submit\">Save</button></form>",
                    urlencode(&g.name),
                    viewer.csrf_field(),
                    select_field(
                        &format!("mode-{}", g.name),
                        "Mode",
                        &MODES,
                        g.mode.as_str(),
                        None
                    )
                    .replace(&format!("name=\"mode-{}\"", g.name), "name=\"mode\""),
                    select_field(
                        &format!("coverage-{}", g.name),
                        "Coverage",
                        &COVERAGES,
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
            viewer.csrf_field(),
            html::text_field_id("group-name", "name", "Name", "", None, "required"),
            select_field("mode", "Mode", &MODES, "block", None),
            select_field("coverage", "Coverage", &COVERAGES, "all", None),
        )
    } else {
        String::new()
    };
    Ok(format!(
        "{}{new_group}",
        table(
            "Groups: protection mode and protocol coverage",
            &["Group", "Description", "Mode and coverage"],
            &rows,
            ""
        )
    ))
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
