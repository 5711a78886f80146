//! [`PolicyIndicator`]: an indicator as an agent holds it, read from the agent channel's JSON.

use serde::{Deserialize, Serialize};

use crate::agent_wire::AgentIndicator;
use crate::{Action, IndicatorValue, PolicyEntry};

/// An indicator as an agent holds it: its id and what enforcement needs of it
/// ([`PolicyEntry`], 40 bytes, no string). It reads an [`AgentIndicator`]'s JSON and skips the
/// title without keeping it, and writes that JSON back with an empty title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyIndicator {
    /// Indicator id.
    pub id: i64,
    /// Its value, action and expiry.
    pub entry: PolicyEntry,
}

impl From<&AgentIndicator> for PolicyIndicator {
    fn from(a: &AgentIndicator) -> Self {
        Self {
            id: a.id,
            entry: PolicyEntry {
                value: a.value,
                action: a.action,
                expires_at: a.expires_at,
            },
        }
    }
}

/// The fields of an [`AgentIndicator`] that a [`PolicyIndicator`] keeps, as they travel.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyIndicatorWire<'a> {
    id: i64,
    value: IndicatorValue,
    action: Action,
    expires_at: Option<i64>,
    /// Always written empty; read past, never kept.
    #[serde(default, skip_deserializing)]
    title: &'a str,
}

impl Serialize for PolicyIndicator {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PolicyIndicatorWire {
            id: self.id,
            value: self.entry.value,
            action: self.entry.action,
            expires_at: self.entry.expires_at,
            title: "",
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PolicyIndicator {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = PolicyIndicatorWire::deserialize(deserializer)?;
        Ok(Self {
            id: wire.id,
            entry: PolicyEntry {
                value: wire.value,
                action: wire.action,
                expires_at: wire.expires_at,
            },
        })
    }
}
