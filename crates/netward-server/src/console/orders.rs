//! The sortable columns of the lists: each key, as `?sort=` names it, with its comparison
//! for the devices (held in memory), or with the store's column for alerts and incidents
//! (sorted and paged in the store). Addresses compare as numbers (`100.64.0.2` before
//! `100.64.0.10`).

use netward_model::agent_wire::MachineEntity;

use super::html::ColumnOrder;
use crate::store::{AlertColumn, IncidentColumn};

/// The devices list's sortable columns: host name then id (as a number), group, online
/// first, applied version, in sync first.
pub(super) const DEVICE_ORDERS: [ColumnOrder<MachineEntity>; 5] = [
    ("device", |a, b| {
        (&a.hostname, a.id.parse::<i64>().ok()).cmp(&(&b.hostname, b.id.parse::<i64>().ok()))
    }),
    ("group", |a, b| a.group.cmp(&b.group)),
    ("online", |a, b| b.online.cmp(&a.online)),
    ("applied", |a, b| a.applied_version.cmp(&b.applied_version)),
    ("sync", |a, b| b.in_sync.cmp(&a.in_sync)),
];

/// The alerts list's sortable columns, sorted by the store over every page; indicators
/// (addresses) in numeric order.
pub(super) const ALERT_ORDERS: [(&str, AlertColumn); 7] = [
    ("title", AlertColumn::Title),
    ("severity", AlertColumn::Severity),
    ("status", AlertColumn::Status),
    ("device", AlertColumn::Device),
    ("indicator", AlertColumn::Indicator),
    ("hits", AlertColumn::Hits),
    ("last", AlertColumn::LastHit),
];

/// The incidents list's sortable columns, sorted by the store over every page; indicators
/// (addresses) in numeric order.
pub(super) const INCIDENT_ORDERS: [(&str, IncidentColumn); 8] = [
    ("title", IncidentColumn::Title),
    ("severity", IncidentColumn::Severity),
    ("status", IncidentColumn::Status),
    ("indicator", IncidentColumn::Indicator),
    ("devices", IncidentColumn::Devices),
    ("alerts", IncidentColumn::Alerts),
    ("hits", IncidentColumn::Hits),
    ("last", IncidentColumn::LastHit),
];
