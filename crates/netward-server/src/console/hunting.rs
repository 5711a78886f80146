//! `/hunting`: which devices and processes contacted an address or range, in a time window,
//! from the stored events: the same query as `GET /api/hunting/contacts`, sorted by a column
//! and paged (100 a page, "1–100 of N") in the store.

use axum::extract::{Query, State};
use maud::{Markup, Render, html};
use serde::Deserialize;

use super::error::PageError;
use super::html::{
    Notice, SortOrder, TextField, notice, page, page_number, pager, sortable_table, urlencode,
};
use super::time::time_ago;
use super::user::User;
use super::words::{device, hits};
use crate::api::params::ContactParams;
use crate::control::ControlPlane;
use crate::store::ContactColumn;

/// Device and process pairs on one page.
const PAGE_ROWS: usize = 100;

/// The sortable columns, as `?sort=` names them.
const CONTACT_ORDERS: [(&str, ContactColumn); 5] = [
    ("device", ContactColumn::Device),
    ("process", ContactColumn::Process),
    ("first", ContactColumn::First),
    ("last", ContactColumn::Last),
    ("hits", ContactColumn::Hits),
];

/// The hunt as typed, to show it again.
#[derive(Deserialize, Default)]
pub(super) struct HuntForm {
    #[serde(rename = "remoteIp", default)]
    remote_ip: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The 1-based page; anything else is the first.
    #[serde(default)]
    page: String,
}

/// `GET /hunting`.
pub(super) async fn show(
    State(cp): State<ControlPlane>,
    u: User,
    Query(form): Query<HuntForm>,
    Query(params): Query<ContactParams>,
    Query(order): Query<SortOrder>,
) -> Result<Markup, PageError> {
    let asked = !form.remote_ip.trim().is_empty();
    let page_number = page_number(&form.page);
    let (found, total, refused) = if asked {
        match params.query() {
            Ok(mut q) => {
                q.top = PAGE_ROWS;
                q.skip = (page_number - 1).saturating_mul(PAGE_ROWS);
                let total = cp.count_contacts(q.clone()).await?;
                (
                    cp.contacts(q, order.store(&CONTACT_ORDERS)).await?,
                    total,
                    None,
                )
            }
            Err(e) => (Vec::new(), 0, Some(e.describe())),
        }
    } else {
        (Vec::new(), 0, None)
    };
    let now = cp.now();
    let window: String = [("from", &form.from), ("to", &form.to)]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("&{k}={}", urlencode(v.trim())))
        .collect();
    let rows: Vec<Vec<Markup>> = found
        .iter()
        .map(|c| {
            let mut ips = c.remote_ips.clone();
            netward_model::address_order::sort_addresses(&mut ips);
            vec![
                html! { a href={ "/devices/" (c.device_id) } { (device(&c.device_name, &c.device_id)) } },
                c.process.render(),
                ips.join(", ").render(),
                c.outcomes.join(", ").render(),
                time_ago(&c.first_seen, now),
                time_ago(&c.last_seen, now),
                html! {
                    a href={ "/events?remoteIp=" (urlencode(form.remote_ip.trim())) "&deviceId=" (c.device_id) (window) } { (hits(c.count)) }
                },
            ]
        })
        .collect();
    let base = format!(
        "/hunting?remoteIp={}{window}&",
        urlencode(form.remote_ip.trim())
    );
    let body = html! {
        p { "Which devices and processes contacted an address or range, from the hits the agents reported (netward records no other connections)." }
        @if let Some(r) = &refused { (notice(Notice::Error, r)) }
        form method="get" action="/hunting" class="filters" {
            (TextField::new("remoteIp", "Address or range").value(&form.remote_ip).required())
            (TextField::new("from", "From (RFC 3339)").value(&form.from))
            (TextField::new("to", "To (RFC 3339)").value(&form.to))
            button type="submit" { "Hunt" }
        }
        @if asked && refused.is_none() {
            (pager(page_number, PAGE_ROWS, found.len(), total, |p| {
                format!("{base}page={p}{}", order.query())
            }))
            (sortable_table(
                "Devices and processes that contacted it",
                &[
                    ("Device", Some("device")),
                    ("Process", Some("process")),
                    ("Remote addresses", None),
                    ("Outcomes", None),
                    ("First", Some("first")),
                    ("Last", Some("last")),
                    ("Hits", Some("hits")),
                ],
                &order,
                &base,
                &rows,
                "",
                "No device contacted it in this window."
            ))
        }
    };
    Ok(page("Hunting", "/hunting", Some(&u.viewer), body))
}
