//! The policy the agent holds, as it is kept on disk: [`PolicyState`] is what `policy.json`
//! holds (read at start straight into the held form, which the engine then takes as it is),
//! [`PolicyHeader`] what the engine keeps besides its indicators, and [`PolicyFile`] writes
//! `policy.json` straight from the held indicators, without a copy of them.

use netward_model::agent_wire::{PolicyIndicator, PolicyUpdate};
use netward_model::{Coverage, ProtectionMode};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use super::upserts::Upserts;
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
    /// The indicators in scope (in the file, a map from id to indicator).
    #[serde(deserialize_with = "held_from_map")]
    pub indicators: HeldIndicators,
}

/// The held indicators of `policy.json`'s map from id to indicator, built in bulk once read.
fn held_from_map<'de, D: serde::Deserializer<'de>>(de: D) -> Result<HeldIndicators, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(i64, netward_model::PolicyEntry)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map from indicator id to indicator")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some((_, i)) = map.next_entry::<serde::de::IgnoredAny, PolicyIndicator>()? {
                out.push((i.id, i.entry));
            }
            Ok(out)
        }
    }
    Ok(de.deserialize_map(Entries)?.into_iter().collect())
}

impl PolicyState {
    /// Applies a delta read from the journal (not against the held indicators: all its
    /// upserts are `changed`).
    pub fn merge_delta(&mut self, update: PolicyUpdate<Upserts>) {
        for id in &update.removals {
            self.indicators.remove(*id);
        }
        for ind in update.upserts.changed {
            self.indicators.insert(ind.id, ind.entry);
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
