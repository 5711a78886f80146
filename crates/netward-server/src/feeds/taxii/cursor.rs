//! Where a TAXII feed resumes: the newest `date_added` seen in a collection, kept with the
//! URL and collection it belongs to and the versions already read near it, as JSON in the
//! core's opaque cursor.

use std::collections::HashSet;

use netward_model::timestamp::{format_rfc3339_ms, parse_rfc3339_ms};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How far before the cursor a resumed pull starts (see the module doc of `taxii`).
pub(super) const OVERLAP_MS: i64 = 60_000;

/// The most versions a cursor remembers. When more were added within the overlap (a bulk
/// load), the cursor keeps none and the next pull starts exactly at the newest `date_added`
/// instead: re-reading them all at every refresh would cost far more than the overlap saves.
pub(super) const MAX_SEEN: usize = 20_000;

/// A STIX object's `(id, modified)`.
pub(super) type Version = (String, String);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Cursor {
    /// The feed's URL and collection id, as configured when the cursor was made.
    pub source: String,
    /// The newest `X-TAXII-Date-Added-Last` seen, as the server wrote it.
    pub added_last: String,
    /// The same, in Unix milliseconds.
    pub added_last_ms: i64,
    /// `(id, modified)` of the objects read in pages dated within [`OVERLAP_MS`] of
    /// `added_last`: the next pull asks for them again and passes them over. `None`: too many;
    /// the next pull starts at `added_last` itself.
    pub seen: Option<Vec<Version>>,
}

/// The cursor a pull builds as its pages come.
#[derive(Debug, Default)]
pub(super) struct CursorBuilder {
    source: String,
    /// The newest `X-TAXII-Date-Added-Last`: in milliseconds, and as written.
    newest: Option<(i64, String)>,
    /// Per page: its `X-TAXII-Date-Added-Last` and the versions it brought.
    pages: Vec<(Option<i64>, Vec<Version>)>,
}

impl Cursor {
    /// The cursor in `text` when it was made for `source`; `None` starts over.
    pub fn resume(text: Option<&str>, source: &str) -> Option<Self> {
        let cursor: Cursor = serde_json::from_str(text?).ok()?;
        (cursor.source == source).then_some(cursor)
    }

    /// The `added_after` a resumed pull asks for.
    pub fn added_after(&self) -> String {
        match self.seen {
            Some(_) => format_rfc3339_ms(self.added_last_ms.saturating_sub(OVERLAP_MS)),
            None => self.added_last.clone(),
        }
    }

    /// The versions read last time, to pass over.
    pub fn seen(&self) -> HashSet<Version> {
        self.seen.iter().flatten().cloned().collect()
    }
}

/// The `(id, modified)` of a STIX object, when it has both.
pub(super) fn version(object: &Value) -> Option<Version> {
    let field = |name| object.get(name).and_then(Value::as_str).map(str::to_owned);
    Some((field("id")?, field("modified")?))
}

impl CursorBuilder {
    /// Starts from the cursor resumed, if any.
    pub fn new(source: &str, resumed: Option<&Cursor>) -> Self {
        Self {
            source: source.to_owned(),
            newest: resumed.map(|c| (c.added_last_ms, c.added_last.clone())),
            pages: Vec::new(),
        }
    }

    /// A page read: its `X-TAXII-Date-Added-Last` and the versions it brought.
    pub fn page(&mut self, date_added_last: Option<&str>, versions: Vec<Version>) {
        let ms = date_added_last.and_then(parse_rfc3339_ms);
        if let (Some(ms), Some(text)) = (ms, date_added_last)
            && self.newest.as_ref().is_none_or(|(newest, _)| ms > *newest)
        {
            self.newest = Some((ms, text.to_owned()));
        }
        self.pages.push((ms, versions));
    }

    /// The cursor to hand back: `None` while no page was ever dated.
    pub fn finish(self) -> Option<String> {
        let (newest, added_last) = self.newest?;
        let mut seen = Some(Vec::new());
        for (ms, versions) in self.pages.into_iter().rev() {
            if ms.is_some_and(|ms| ms < newest.saturating_sub(OVERLAP_MS)) {
                break;
            }
            let Some(list) = seen.as_mut() else { break };
            if list.len() + versions.len() > MAX_SEEN {
                seen = None;
                break;
            }
            list.extend(versions);
        }
        let cursor = Cursor {
            source: self.source,
            added_last,
            added_last_ms: newest,
            seen,
        };
        serde_json::to_string(&cursor).ok()
    }
}
