//! The policy the agent holds, as it is kept on disk: [`PolicyState`] is what `policy.json`
//! holds (read at start, the indicators with their wire fields), [`PolicyHeader`] what the
//! engine keeps besides its indicators, and [`PolicyFile`] writes `policy.json` straight from
//! the held indicators, without a copy of them.

use std::collections::BTreeMap;

use netward_model::agent_wire::{PolicyIndicator, PolicyUpdate};
use netward_model::{Coverage, ProtectionMode};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::held::HeldIndicators;

/// The policy the agent holds, as persisted in its state directory (`policy.json`) and read
/// at start.
///
/// Every field is typed: an update the agent cannot read is refused whole by the client (and
/// the agent goes on enforcing what it holds), so nothing here is ever a guessed default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyState {
    /// Everything but the indicators.
    #[serde(flatten)]
    pub header: PolicyHeader,
    /// The indicators in scope, by id.
    pub indicators: BTreeMap<i64, PolicyIndicator>,
}

impl PolicyState {
    /// Applies an update: a snapshot replaces everything, a delta changes what it names.
    pub fn merge(&mut self, update: PolicyUpdate<PolicyIndicator>) {
        if update.full {
            self.indicators.clear();
        }
        for id in &update.removals {
            self.indicators.remove(id);
        }
        for ind in update.upserts {
            self.indicators.insert(ind.id, ind);
        }
        self.header = PolicyHeader {
            version: Some(update.version),
            group: update.group,
            mode: update.mode,
            coverage: update.coverage,
        };
    }
}

/// What the agent holds besides its indicators: the version, the group and the rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyHeader {
    /// The version the indicators come from; `None` before the first update.
    pub version: Option<u64>,
    /// The device's group.
    pub group: String,
    /// The device's protection mode.
    pub mode: ProtectionMode,
    /// Which protocols a block applies to.
    pub coverage: Coverage,
}

impl Default for PolicyHeader {
    /// Before the first update: nothing held, nothing enforced.
    fn default() -> Self {
        Self {
            version: None,
            group: String::new(),
            mode: ProtectionMode::Off,
            coverage: Coverage::All,
        }
    }
}

/// The held policy in the form of `policy.json`, written straight from the held indicators
/// (an indicator's title is not kept, and is written empty).
#[derive(Debug)]
pub struct PolicyFile<'a> {
    header: &'a PolicyHeader,
    held: &'a HeldIndicators,
}

impl<'a> PolicyFile<'a> {
    /// The file of `header` and `held`.
    pub fn new(header: &'a PolicyHeader, held: &'a HeldIndicators) -> Self {
        Self { header, held }
    }
}

/// The indicators of a [`PolicyFile`], as a map from id to indicator.
struct IndicatorsAsMap<'a>(&'a HeldIndicators);

impl Serialize for IndicatorsAsMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (id, e) in self.0.iter() {
            map.serialize_entry(&id, &PolicyIndicator { id, entry: *e })?;
        }
        map.end()
    }
}

impl Serialize for PolicyFile<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Shape<'a> {
            #[serde(flatten)]
            header: &'a PolicyHeader,
            indicators: IndicatorsAsMap<'a>,
        }
        Shape {
            header: self.header,
            indicators: IndicatorsAsMap(self.held),
        }
        .serialize(serializer)
    }
}
