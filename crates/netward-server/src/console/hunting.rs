//! `/hunting`: which devices and processes contacted an address or range, in a time window,
//! from the stored events: the same query as `GET /api/hunting/contacts`.

use axum::extract::{Query, State};
use maud::{Markup, Render, html};
use serde::Deserialize;

use super::error::PageError;
use super::html::{Notice, TextField, notice, page, table_or, urlencode};
use super::time::time_ago;
use super::user::User;
use super::words::{device, hits};
use crate::api::params::ContactParams;
use crate::control::ControlPlane;

/// The hunt as typed, to show it again.
#[derive(Deserialize, Default)]
pub(super) struct HuntForm {
    #[serde(rename = "remoteIp", default)]
    remote_ip: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `GET /hunting`.
pub(super) async fn show(
    State(cp): State<ControlPlane>,
    u: User,
    Query(form): Query<HuntForm>,
    Query(params): Query<ContactParams>,
) -> Result<Markup, PageError> {
    let asked = !form.remote_ip.trim().is_empty();
    let (found, refused) = if asked {
        match params.query() {
            Ok(q) => (cp.contacts(q).await?, None),
            Err(e) => (Vec::new(), Some(e.describe())),
        }
    } else {
        (Vec::new(), None)
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
            (table_or(
                "Devices and processes that contacted it, first contact first",
                &["Device", "Process", "Remote addresses", "Outcomes", "First", "Last", "Hits"],
                &rows,
                "",
                "No device contacted it in this window."
            ))
        }
    };
    Ok(page("Hunting", "/hunting", Some(&u.viewer), body))
}
