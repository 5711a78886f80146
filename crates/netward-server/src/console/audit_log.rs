//! `/audit`: the audit log, for admins (as `GET /api/audit-log`): every change with who made
//! it, filtered by actor and by action, 100 a page with "1–100 of N", newest first or sorted
//! by a column in the store.

use axum::extract::{Query, State};
use maud::{Markup, Render, html};
use netward_model::Role;
use netward_model::text::thousands;
use serde::Deserialize;

use super::error::PageError;
use super::html::{
    SortOrder, TextField, page, page_number, pager, select_field, sortable_table, urlencode,
};
use super::time::time_at;
use super::user::User;
use crate::control::ControlPlane;
use crate::store::AuditColumn;
use crate::store::overview::AuditFilter;

/// Entries on one page.
const PAGE_ROWS: usize = 100;

/// The sortable columns, as `?sort=` names them.
const AUDIT_ORDERS: [(&str, AuditColumn); 3] = [
    ("time", AuditColumn::Time),
    ("actor", AuditColumn::Actor),
    ("action", AuditColumn::Action),
];

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
    Query(order): Query<SortOrder>,
) -> Result<Markup, PageError> {
    u.require(Role::Admin)?;
    let page_number = page_number(&form.page);
    let wanted = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let (entries, total, actions) = cp
        .audit_search(AuditFilter {
            actor: wanted(&form.actor),
            action: wanted(&form.action),
            order: order.store(&AUDIT_ORDERS),
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
    let filtered = format!(
        "/audit?actor={}&action={}&",
        urlencode(form.actor.trim()),
        urlencode(form.action.trim())
    );
    let body = html! {
        p { "Every change, with who made it and when, written in the same transaction as the change." }
        form method="get" action="/audit" class="filters" {
            (TextField::new("actor", "Actor").value(&form.actor))
            (select_field("action", "Action", &choices, form.action.trim(), None))
            button type="submit" { "Filter" }
        }
        (pager(page_number, PAGE_ROWS, entries.len(), total, |p| {
            format!("{filtered}page={p}{}", order.query())
        }))
        (sortable_table(
            "Audit log",
            &[
                ("Time", Some("time")),
                ("Actor", Some("actor")),
                ("Action", Some("action")),
                ("Target", None),
                ("Detail", None),
            ],
            &order,
            &filtered,
            &rows,
            "",
            "No entry matches.",
        ))
    };
    Ok(page("Audit log", "/audit", Some(&u.viewer), body))
}
