//! The sortable columns of the lists that hold every row in memory (devices, and the newest
//! alerts and incidents): each key, as `?sort=` names it, with its comparison. Addresses
//! compare as numbers (`100.64.0.2` before `100.64.0.10`).

use netward_model::address_order::compare_addresses;
use netward_model::agent_wire::MachineEntity;
use netward_model::detection::{AlertEntity, IncidentEntity};

use super::html::ColumnOrder;

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

/// The alerts list's sortable columns; indicators (addresses) in numeric order.
pub(super) const ALERT_ORDERS: [ColumnOrder<AlertEntity>; 7] = [
    ("title", |a, b| a.title.cmp(&b.title)),
    ("severity", |a, b| a.severity.cmp(&b.severity)),
    ("status", |a, b| a.status.cmp(&b.status)),
    ("device", |a, b| a.device_name.cmp(&b.device_name)),
    ("indicator", |a, b| {
        compare_addresses(&a.indicator_value, &b.indicator_value)
    }),
    ("hits", |a, b| a.hit_count.cmp(&b.hit_count)),
    ("last", |a, b| a.last_seen.cmp(&b.last_seen)),
];

/// The incidents list's sortable columns; indicators (addresses) in numeric order.
pub(super) const INCIDENT_ORDERS: [ColumnOrder<IncidentEntity>; 8] = [
    ("title", |a, b| a.title.cmp(&b.title)),
    ("severity", |a, b| a.severity.cmp(&b.severity)),
    ("status", |a, b| a.status.cmp(&b.status)),
    ("indicator", |a, b| {
        compare_addresses(&a.indicator_value, &b.indicator_value)
    }),
    ("devices", |a, b| a.device_count.cmp(&b.device_count)),
    ("alerts", |a, b| a.alert_count.cmp(&b.alert_count)),
    ("hits", |a, b| a.hit_count.cmp(&b.hit_count)),
    ("last", |a, b| a.last_seen.cmp(&b.last_seen)),
];
