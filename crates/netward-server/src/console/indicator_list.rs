//! `GET /indicators`: the list, searched and filtered in the store (as `GET /api/indicators`),
//! 100 a page with "1–100 of 201,009" and plain previous and next links (no script).

use axum::extract::{Query, State};
use maud::{Markup, Render, html};
use netward_model::odata::{Field, OrderBy};
use netward_model::{Action, Role};
use serde::Deserialize;

use super::error::PageError;
use super::html::{
    Notice, SortOrder, TextField, notice, page, page_number, pager, select_field, sortable_table,
    urlencode,
};
use super::indicators::action_label;
use super::time::time_at;
use super::user::User;
use crate::control::ControlPlane;
use crate::store::IndicatorQuery;

/// Indicators on one page of the list; a search narrows it in the store, never here, and the
/// pager walks every page.
const PAGE_ROWS: usize = 100;

#[derive(Deserialize, Default)]
pub(super) struct IndicatorFilter {
    /// Text the value or title contains (any case).
    #[serde(default)]
    q: String,
    /// An action name; anything else lists every action.
    #[serde(default)]
    action: String,
    /// The 1-based page; anything that is not a page number is the first.
    #[serde(default)]
    page: String,
    /// The value just saved, to confirm it.
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /indicators`.
pub(super) async fn list(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<IndicatorFilter>,
    Query(order): Query<SortOrder>,
) -> Result<Markup, PageError> {
    let action = Action::parse(&filter.action).ok().map(|(a, _)| a);
    let text = Some(filter.q.trim().to_owned()).filter(|q| !q.is_empty());
    let searching = text.is_some() || action.is_some();
    let page_number = page_number(&filter.page);
    let (list, total) = cp
        .list_indicators_counted(
            IndicatorQuery {
                action,
                text,
                top: PAGE_ROWS,
                skip: (page_number - 1).saturating_mul(PAGE_ROWS),
                // Sorted by the store, over every page; values (addresses) as numbers.
                order: store_order(&order),
                ..IndicatorQuery::default()
            },
            true,
        )
        .await?;
    let total = total.unwrap_or_default();
    let now = cp.now();
    let rows: Vec<Vec<Markup>> = list
        .iter()
        .map(|i| {
            vec![
                html! { a href={ "/indicators/" (i.id) } { (i.draft.value) } },
                action_label(i.draft.action, i.draft.mde_action).render(),
                i.draft.title.render(),
                i.draft.severity.as_str().render(),
                if i.draft.generate_alert { "yes" } else { "no" }.render(),
                if i.draft.groups.is_empty() {
                    "all devices".to_owned()
                } else {
                    i.draft.groups.join(", ")
                }
                .render(),
                i.draft
                    .expires_at
                    .map_or_else(|| "never".render(), |t| time_at(t, now)),
                super::indicators::source_cell(i),
            ]
        })
        .collect();
    let actions = [
        ("", "any action"),
        ("allow", "allow"),
        ("audit", "audit"),
        ("block", "block"),
    ];
    let body = html! {
        @if let Some(v) = &filter.saved {
            (notice(Notice::Ok, &format!("Saved {v}.")))
        }
        @if u.viewer.can(Role::Analyst) {
            p class="actions" {
                a class="button" href="/indicators/new" { "Add an indicator" }
                " "
                a class="button secondary" href="/indicators/import" { "Import a file" }
            }
        }
        form method="get" action="/indicators" class="filters" role="search" {
            (TextField::new("q", "Value or title contains")
                .value(&filter.q)
                .kind("search"))
            (select_field("action", "Action", &actions, &filter.action, None))
            button type="submit" { "Search" }
        }
        (pager(page_number, PAGE_ROWS, list.len(), total, |p| format!(
            "/indicators?q={}&action={}{}&page={p}",
            urlencode(&filter.q),
            urlencode(&filter.action),
            order.query()
        )))
        (sortable_table(
            "Indicators",
            &[
                ("Value", Some("value")),
                ("Action", Some("action")),
                ("Title", Some("title")),
                ("Severity", Some("severity")),
                ("Alerts", None),
                ("Scope", None),
                ("Expires", Some("expires")),
                ("Source", None),
            ],
            &order,
            &format!("/indicators?q={}&action={}&", urlencode(&filter.q), urlencode(&filter.action)),
            &rows,
            "",
            if searching { "No indicator matches this search." } else { "Nothing yet." },
        ))
    };
    Ok(page("Indicators", "/indicators", Some(&u.viewer), body))
}

/// The store's order for a column's key; the store's own (by id) for anything else.
fn store_order(order: &SortOrder) -> Vec<OrderBy> {
    let field = match order.sort.as_str() {
        "value" => Field::IndicatorValue,
        "action" => Field::Action,
        "title" => Field::Title,
        "severity" => Field::Severity,
        "expires" => Field::ExpirationTime,
        _ => return Vec::new(),
    };
    vec![OrderBy {
        field,
        descending: order.descending(),
    }]
}
