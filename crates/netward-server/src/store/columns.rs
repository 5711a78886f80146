//! What both backends store alike: the text and JSON forms of columns that SQLite and
//! PostgreSQL keep the same way, and the details of the audit entries they write. Only the
//! SQL differs between `sqlite/` and `postgres/`; these must not.

use std::collections::BTreeSet;

use netward_model::detection::Outcome;
use netward_model::{Coverage, DeviceGroup, ProtectionMode};
use serde_json::json;

use super::{DeviceRecord, StoreError};
use crate::feeds::config::FeedConfig;

/// The columns every device query reads, in the order both backends' readers expect.
pub(crate) const DEVICE_COLUMNS: &str = "id, hostname, os, kernel, agent_version, addresses, \
    group_name, first_seen, last_seen, applied_version, applied_at, entries, not_enforceable, \
    last_error, last_tamper, revoked_at, events_dropped, events_lost, exemptions";

/// A group from its columns: name, description, mode, coverage.
pub(crate) fn parse_group(
    (name, description, mode, coverage): (String, String, String, String),
) -> Result<DeviceGroup, StoreError> {
    Ok(DeviceGroup {
        mode: ProtectionMode::parse(&mode)
            .ok_or_else(|| StoreError::Corrupt(format!("group {name}: mode `{mode}`")))?,
        coverage: Coverage::parse(&coverage)
            .ok_or_else(|| StoreError::Corrupt(format!("group {name}: coverage `{coverage}`")))?,
        name,
        description,
    })
}

/// What the audit log records of a group.
pub(crate) fn group_detail(g: &DeviceGroup) -> serde_json::Value {
    json!({"description": g.description, "mode": g.mode.as_str(), "coverage": g.coverage.as_str()})
}

/// A device row, with its JSON columns still as text: addresses, not enforceable,
/// exemptions.
pub(crate) type DeviceRow = (DeviceRecord, String, String, String);

/// A device with its JSON columns read; an unreadable one is corruption, named.
pub(crate) fn parse_device(
    (mut d, addresses, not_enforceable, exemptions): DeviceRow,
) -> Result<DeviceRecord, StoreError> {
    d.exemptions = serde_json::from_str(&exemptions)
        .map_err(|e| StoreError::Corrupt(format!("device {}: exemptions: {e}", d.id)))?;
    d.facts.addresses = serde_json::from_str(&addresses)
        .map_err(|_| StoreError::Corrupt(format!("device {}: addresses", d.id)))?;
    d.not_enforceable = serde_json::from_str(&not_enforceable)
        .map_err(|_| StoreError::Corrupt(format!("device {}: not_enforceable", d.id)))?;
    Ok(d)
}

/// Outcomes as the `outcomes` column keeps them: names in alphabetical order, comma-separated
/// (the order the API has always listed them in).
pub(crate) fn outcomes_text(outcomes: &BTreeSet<Outcome>) -> String {
    let mut names: Vec<&str> = outcomes.iter().map(|o| o.as_str()).collect();
    names.sort_unstable();
    names.join(",")
}

/// What the audit log records of a feed: everything but its secrets.
pub(crate) fn feed_detail(c: &FeedConfig) -> serde_json::Value {
    json!({
        "kind": c.kind.as_str(),
        "url": c.url,
        "collection": c.collection,
        "username": c.secrets.username,
        "passwordSet": c.secrets.password.is_some(),
        "apiKeySet": c.secrets.api_key.is_some(),
        "caCertSet": c.ca_cert.is_some(),
        "settings": c.settings,
    })
}
