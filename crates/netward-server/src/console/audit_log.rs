//! `/audit`: the audit log, for admins (as `GET /api/audit-log`): every change with who made
//! it, filtered by actor and by action, 100 a page with "1–100 of N", newest first.

use axum::extract::{Query, State};
use maud::{Markup, Render, html};
use netward_model::Role;
use netward_model::text::thousands;
use serde::Deserialize;

use super::error::PageError;
use super::html::{TextField, page, page_caption, select_field, table_or, urlencode};
use super::time::time_at;
use super::user::User;
use crate::control::ControlPlane;
use crate::store::overview::AuditFilter;

/// Entries on one page.
const PAGE_ROWS: usize = 100;

#[derive(Deserialize, Default)]
pub(super) struct AuditForm {
    /// An actor's name; empty for any.
    #[serde(default)]
    actor: String,
    /// An action (`indicator.create`); empty for any.
    #[serde(default)]
    action: String,
    /// The 1-based page; anything else is the first.
    #[serde(default)]
    page: String,
}

/// `GET /audit`.
pub(super) async fn list(
    State(cp): State<ControlPlane>,
    u: User,
    Query(form): Query<AuditForm>,
) -> Result<Markup, PageError> {
    u.require(Role::Admin)?;
    let page_number = form.page.trim().parse::<usize>().unwrap_or(1).max(1);
    let wanted = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let (entries, total, actions) = cp
        .audit_search(AuditFilter {
            actor: wanted(&form.actor),
            action: wanted(&form.action),
            top: PAGE_ROWS,
            skip: (page_number - 1).saturating_mul(PAGE_ROWS),
        })
        .await?;
    let now = cp.now();
    let rows: Vec<Vec<Markup>> = entries
        .iter()
        .map(|e| {
            vec![
                time_at(e.at, now),
                html! { (e.actor.name) " " span class="role" { "(" (e.actor.kind.as_str()) ")" } },
                html! { code { (e.action) } },
                e.target.render(),
                html! { code class="detail" { (e.detail) } },
            ]
        })
        .collect();
    let first = (page_number - 1) * PAGE_ROWS + 1;
    let caption = page_caption("Entries", first, entries.len(), total);
    let mut choices: Vec<(String, String)> = vec![(String::new(), "any".to_owned())];
    choices.extend(
        actions
            .iter()
            .map(|(a, n)| (a.clone(), format!("{a} ({})", thousands(*n)))),
    );
    let choices: Vec<(&str, &str)> = choices
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let link = |p: usize| {
        format!(
            "/audit?actor={}&action={}&page={p}",
            urlencode(form.actor.trim()),
            urlencode(form.action.trim())
        )
    };
    let body = html! {
        p { "Every change, with who made it and when, written in the same transaction as the change." }
        form method="get" action="/audit" class="filters" {
            (TextField::new("actor", "Actor").value(&form.actor))
            (select_field("action", "Action", &choices, form.action.trim(), None))
            button type="submit" { "Filter" }
        }
        (table_or(&caption, &["Time", "Actor", "Action", "Target", "Detail"], &rows, "", "No entry matches."))
        nav aria-label="Pages" class="pager" {
            @if page_number > 1 { a href=(link(page_number - 1)) rel="prev" { "Newer entries" } " " }
            @if (first - 1 + entries.len()) < total as usize { a href=(link(page_number + 1)) rel="next" { "Older entries" } }
        }
    };
    Ok(page("Audit log", "/audit", Some(&u.viewer), body))
}
