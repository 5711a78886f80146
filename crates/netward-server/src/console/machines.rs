//! `/devices`: the devices list, with each device's sync state updated live, and a device's
//! page (its facts and its timeline). The same data as `api/machines.rs`.

use axum::extract::{Path, Query, State};
use maud::{Markup, Render, html};
use netward_model::agent_wire::MachineEntity;
use netward_model::timestamp::parse_rfc3339;
use serde::Deserialize;

use super::detection::{EVENT_HEADERS, event_rows};
use super::error::{PageError, id_of};
use super::html::{SortOrder, facts, page, sortable_table, table};
use super::orders::DEVICE_ORDERS;
use super::time::{ago_text, time_ago};
use super::user::User;
use crate::control::ControlPlane;
use crate::overview::DeviceState;
use crate::store::EventQuery;

/// Events shown on a device's page.
const TIMELINE_ROWS: usize = 500;

/// A device's sync state in words.
pub(super) fn sync_text(m: &MachineEntity) -> String {
    if m.revoked {
        "revoked".into()
    } else if m.in_sync {
        format!("in sync (v{})", m.current_version)
    } else if let Some(e) = &m.last_error {
        format!("error: {e}")
    } else {
        format!(
            "behind: v{} of v{}",
            m.applied_version.map_or("-".into(), |v| v.to_string()),
            m.current_version
        )
    }
}

/// Whether a device is connected, in words, with how long ago it was last seen (`now` in
/// Unix seconds).
pub(super) fn online_text(m: &MachineEntity, now: i64) -> String {
    if m.online {
        "online".into()
    } else {
        match parse_rfc3339(&m.last_seen) {
            Some(t) => format!("offline, last seen {}", ago_text(t, now)),
            None => format!("offline since {}", m.last_seen),
        }
    }
}

/// The policy version a device enforces, as shown.
pub(super) fn applied_text(m: &MachineEntity) -> String {
    m.applied_version.map_or("-".into(), |v| format!("v{v}"))
}

#[derive(Deserialize, Default)]
pub(super) struct StateFilter {
    /// `in-sync`, `behind`, `offline` or `revoked`; anything else lists every device.
    #[serde(default)]
    state: String,
}

/// `GET /devices`, every device or those in one state (`?state=behind`).
pub(super) async fn list(
    State(cp): State<ControlPlane>,
    u: User,
    Query(filter): Query<StateFilter>,
    Query(order): Query<SortOrder>,
) -> Result<Markup, PageError> {
    let mut machines = cp.machines().await?;
    let now = cp.now();
    order.apply(&mut machines, &DEVICE_ORDERS);
    let state = DeviceState::ALL
        .into_iter()
        .find(|s| s.key() == filter.state);
    if let Some(state) = state {
        machines.retain(|m| DeviceState::of(m) == state);
    }
    let groups = cp.groups().await?;
    let rows: Vec<Vec<Markup>> = machines
        .iter()
        .map(|m| {
            let g = groups.iter().find(|g| g.name == m.group);
            vec![
                // The id beside the name: two devices may share a host name.
                html! { a href={ "/devices/" (m.id) } data-device=(m.id) { (m.hostname) } " " span class="role" { "(" (m.id) ")" } },
                m.group.render(),
                g.map_or("-", |g| g.mode.as_str()).render(),
                g.map_or("-", |g| g.coverage.as_str()).render(),
                html! { span data-live="online" data-id=(m.id) { (online_text(m, now)) } },
                html! { span data-live="applied" data-id=(m.id) { (applied_text(m)) } },
                html! {
                    span data-live="sync" data-id=(m.id) class=(if m.in_sync { "good" } else { "warn" }) {
                        (sync_text(m))
                    }
                },
            ]
        })
        .collect();
    let body = html! {
        @if let Some(state) = state {
            p class="notice ok" { (state.label()) " devices only. " a href="/devices" { "Every device" } }
        }
        p {
            "Which policy version each device enforces, updated live as agents acknowledge. \
             Enroll a device with " code { "netward enroll-token create" } " and "
            code { "netward agent --enroll" } "."
        }
        (sortable_table(
            "Devices",
            &[
                ("Device", Some("device")),
                ("Group", Some("group")),
                ("Mode", None),
                ("Coverage", None),
                ("Online", Some("online")),
                ("Applied", Some("applied")),
                ("Sync", Some("sync")),
            ],
            &order,
            &match state {
                Some(s) => format!("/devices?state={}&", s.key()),
                None => "/devices?".to_owned(),
            },
            &rows,
            "devices-body",
            "Nothing yet."
        ))
    };
    Ok(page("Devices", "/devices", Some(&u.viewer), body))
}

/// What the device's agent never blocks nor audits, and why (loopback, the server, the DNS
/// resolvers), as it last reported; `-` when it reported none.
fn exemptions_text(m: &MachineEntity) -> String {
    if m.exemptions.is_empty() {
        return "-".into();
    }
    m.exemptions
        .iter()
        .map(|e| format!("{} ({})", e.range, e.reason.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /devices/{id}`: facts, live state and timeline.
pub(super) async fn show(
    State(cp): State<ControlPlane>,
    u: User,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = id_of("device", &id)?;
    let m = cp.machine(id).await?;
    let timeline = cp
        .timeline(
            id,
            EventQuery {
                top: TIMELINE_ROWS,
                ..EventQuery::default()
            },
        )
        .await?;
    let now = cp.now();
    let known = [
        ("Host name", m.hostname.clone()),
        ("Id", m.id.clone()),
        ("Operating system", m.os.clone()),
        ("Kernel", m.kernel.clone()),
        ("Agent version", m.agent_version.clone()),
        ("Addresses", {
            let mut a = m.addresses.clone();
            netward_model::address_order::sort_addresses(&mut a);
            a.join(", ")
        }),
        ("Group", m.group.clone()),
    ];
    let counts = [
        ("Kernel set entries", m.entries.to_string()),
        (
            "Events dropped / lost",
            format!("{} / {}", m.events_dropped, m.events_lost),
        ),
        ("Never blocked", exemptions_text(&m)),
    ];
    let body = html! {
        dl class="facts" {
            (facts(&known))
            dt { "First seen" }
            dd { (time_ago(&m.first_seen, now)) }
            dt { "Last seen" }
            dd { (time_ago(&m.last_seen, now)) }
            (facts(&counts))
            dt { "Online" }
            dd { span data-live="online" data-id=(id) { (online_text(&m, now)) } }
            dt { "Applied" }
            dd { span data-live="applied" data-id=(id) { (applied_text(&m)) } }
            dt { "Sync" }
            dd { span data-live="sync" data-id=(id) { (sync_text(&m)) } }
        }
        h2 { "Timeline" }
        (table(
            "Events on this device, oldest first",
            &EVENT_HEADERS,
            &event_rows(&timeline, now),
            ""
        ))
    };
    Ok(page(&m.hostname, "/devices", Some(&u.viewer), body))
}
