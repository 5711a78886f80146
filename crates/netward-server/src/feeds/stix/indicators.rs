//! STIX 2.1 objects → feed items. Only `indicator` objects with `pattern_type: stix` name
//! addresses; other objects (identities, malware, relationships, markings) are passed over
//! without a word, as they were never meant to be indicators.
//!
//! Per indicator: the STIX `id` is the external id of every item its pattern names;
//! `valid_from` and `valid_until` pass through (the core holds an item back until the one and
//! expires it at the other); `confidence` passes through for the feed's action thresholds;
//! `name` and `description` make the comment. `revoked: true` removes the id. Of several
//! versions of one id, the newest `modified` wins; a repeat of the same `(id, modified)` is
//! read once. A newest version that cannot be read (a refused pattern) both is refused and
//! removes the id, so that an older readable version does not stay in force unseen.

use std::collections::HashMap;

use netward_model::timestamp::parse_rfc3339_ms;
use serde::Deserialize;
use serde_json::Value;

use super::addresses;
use crate::feeds::intel::{one_line, shorten};
use crate::feeds::{FeedItem, Refusal};

/// Indicators read from any number of envelopes, newest version per id.
#[derive(Debug, Default)]
pub struct IndicatorReader {
    /// id → (modified in ms, the object), the newest version met so far.
    latest: HashMap<String, (i64, Value)>,
    /// The ids in the order first met, so that the result is stable.
    order: Vec<String>,
    refusals: Vec<Refusal>,
}

/// What the indicators of a pull come to.
#[derive(Debug, Default, PartialEq)]
pub struct IndicatorBatch {
    /// One item per address of every readable, unrevoked indicator.
    pub items: Vec<FeedItem>,
    /// The ids of revoked indicators, and of those whose newest version was refused.
    pub removed: Vec<String>,
    pub refusals: Vec<Refusal>,
}

/// The fields of an indicator that netward reads.
#[derive(Debug, Deserialize)]
struct Indicator {
    id: String,
    pattern: String,
    /// Required in STIX 2.1; a STIX 2.0 indicator has none, and its pattern is STIX.
    #[serde(default = "stix")]
    pattern_type: String,
    name: Option<String>,
    description: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    #[serde(default)]
    revoked: bool,
    confidence: Option<u8>,
}

fn stix() -> String {
    "stix".to_owned()
}

impl IndicatorReader {
    /// Takes one STIX object of an envelope.
    pub fn add(&mut self, object: Value) {
        if object.get("type").and_then(Value::as_str) != Some("indicator") {
            return;
        }
        let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_owned) else {
            self.refuse(
                "(no id)",
                &object.to_string(),
                "the indicator has no `id`".into(),
            );
            return;
        };
        let modified = object
            .get("modified")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339_ms);
        let Some(modified) = modified else {
            let reason = "the indicator has no RFC 3339 `modified` time".to_owned();
            self.refuse(&id, &object.to_string(), reason);
            return;
        };
        match self.latest.get(&id) {
            Some((seen, _)) if *seen >= modified => {}
            Some(_) => {
                self.latest.insert(id, (modified, object));
            }
            None => {
                self.order.push(id.clone());
                self.latest.insert(id, (modified, object));
            }
        }
    }

    /// The items, removals and refusals of every object taken.
    pub fn finish(mut self) -> IndicatorBatch {
        let mut batch = IndicatorBatch::default();
        for id in std::mem::take(&mut self.order) {
            let Some((_, object)) = self.latest.remove(&id) else {
                continue;
            };
            match read(object) {
                Ok(Read::Items(items)) => batch.items.extend(items),
                Ok(Read::Revoked) => batch.removed.push(id),
                Err((entry, reason)) => {
                    self.refuse(&id, &entry, reason);
                    batch.removed.push(id);
                }
            }
        }
        batch.refusals = self.refusals;
        batch
    }

    fn refuse(&mut self, at: &str, entry: &str, reason: String) {
        self.refusals.push(Refusal {
            at: at.to_owned(),
            entry: shorten(entry),
            reason,
        });
    }
}

enum Read {
    Items(Vec<FeedItem>),
    Revoked,
}

/// One indicator's items, or the entry to quote and why it is refused.
fn read(object: Value) -> Result<Read, (String, String)> {
    let whole = object.to_string();
    let indicator: Indicator = serde_json::from_value(object)
        .map_err(|e| (whole.clone(), format!("not a STIX 2.1 indicator: {e}")))?;
    if indicator.revoked {
        return Ok(Read::Revoked);
    }
    let entry = indicator.pattern.clone();
    if indicator.pattern_type != "stix" {
        let reason = format!(
            "pattern_type `{}` is not read: only STIX patterns name addresses",
            indicator.pattern_type
        );
        return Err((entry, reason));
    }
    let time = |field: &str, text: &Option<String>| match text {
        None => Ok(None),
        Some(t) => parse_rfc3339_ms(t)
            .map(|ms| Some(ms.div_euclid(1000)))
            .ok_or_else(|| {
                (
                    whole.clone(),
                    format!("`{field}` is not an RFC 3339 time: `{t}`"),
                )
            }),
    };
    let valid_from = time("valid_from", &indicator.valid_from)?;
    let valid_until = time("valid_until", &indicator.valid_until)?;
    if let Some(c) = indicator.confidence.filter(|c| *c > 100) {
        return Err((whole, format!("confidence {c} is outside 0-100")));
    }
    let values = addresses(&indicator.pattern).map_err(|e| (entry, e.to_string()))?;
    let comment = match (&indicator.name, &indicator.description) {
        (Some(n), Some(d)) => Some(format!("{n}: {d}")),
        (Some(t), None) | (None, Some(t)) => Some(t.clone()),
        (None, None) => None,
    };
    let items = values
        .into_iter()
        .map(|value| FeedItem {
            external_id: Some(indicator.id.clone()),
            comment: comment.as_deref().map(one_line),
            valid_from,
            valid_until,
            confidence: indicator.confidence,
            ..FeedItem::new(value)
        })
        .collect();
    Ok(Read::Items(items))
}

#[cfg(test)]
mod tests;
