//! The recent history of policy changes, kept in memory, so that a reconnecting agent gets only
//! what changed since its version. Each change is stored with the policy version it produced;
//! an agent whose version is older than the history (or newer: the server's store was
//! replaced) gets a full snapshot instead. After a restart the history starts empty.

use std::collections::VecDeque;

use netward_model::agent_wire::AgentIndicator;

use crate::store::HistoryItem;

/// The most entries kept; older versions are dropped whole.
pub const CAPACITY: usize = 200_000;

/// An indicator as the log keeps it: what agents need, plus its scope.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedIndicator {
    /// The agent's view of the indicator.
    pub indicator: AgentIndicator,
    /// Its device groups (empty: every device).
    pub groups: Vec<String>,
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogEntry {
    /// An indicator was created or changed.
    Upsert(LoggedIndicator),
    /// An indicator was deleted.
    Delete(i64),
    /// A device moved to another group: it needs a snapshot.
    DeviceMoved(i64),
}

/// What a change tells the log about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum History {
    /// Every entry it made.
    Entries(Vec<LogEntry>),
    /// Too many to keep (more than [`CAPACITY`]): agents behind it get a snapshot.
    TooLarge,
}

/// The changes after `base`, up to `current`.
#[derive(Debug)]
pub struct PolicyLog {
    base: u64,
    current: u64,
    entries: VecDeque<(u64, LogEntry)>,
    capacity: usize,
}

impl PolicyLog {
    /// An empty history at `current`.
    pub fn new(current: u64) -> Self {
        Self::with_capacity(current, CAPACITY)
    }

    /// An empty history at `current` that keeps at most `capacity` entries.
    pub fn with_capacity(current: u64, capacity: usize) -> Self {
        Self {
            base: current,
            current,
            entries: VecDeque::new(),
            capacity,
        }
    }

    /// The newest version.
    pub fn current(&self) -> u64 {
        self.current
    }

    /// Records the changes that produced `version`.
    pub fn record(&mut self, version: u64, entries: Vec<LogEntry>) {
        if version < self.current {
            // The store's version went backwards: forget everything.
            self.entries.clear();
            self.base = version;
        }
        self.current = version;
        if entries.len() > self.capacity {
            self.entries.clear();
            self.base = version;
            return;
        }
        while self.entries.len() + entries.len() > self.capacity {
            let Some(&(oldest, _)) = self.entries.front() else {
                break;
            };
            while self.entries.front().is_some_and(|(v, _)| *v == oldest) {
                self.entries.pop_front();
            }
            self.base = oldest;
        }
        self.entries
            .extend(entries.into_iter().map(|e| (version, e)));
    }

    /// Forgets the history after a change that may have committed without being recorded:
    /// every agent behind `version` (or, when it is unknown, behind any future version) gets a
    /// snapshot.
    pub fn reset(&mut self, version: Option<u64>) {
        self.entries.clear();
        match version {
            Some(v) => {
                self.current = self.current.max(v);
                self.base = self.current;
            }
            None => self.base = self.current.saturating_add(1),
        }
    }

    /// Applies rows of the database's history (see [`crate::store::HistoryStore`]) newer
    /// than [`Self::current`], in order.
    pub fn apply(&mut self, rows: Vec<(u64, HistoryItem)>) {
        let mut rows = rows.into_iter().peekable();
        while let Some((version, first)) = rows.next() {
            let mut items = vec![first];
            while let Some((_, item)) = rows.next_if(|(v, _)| *v == version) {
                items.push(item);
            }
            if version <= self.current {
                continue;
            }
            if items.contains(&HistoryItem::Reset) {
                self.reset(Some(version));
                continue;
            }
            let entries = items
                .into_iter()
                .filter_map(|item| match item {
                    HistoryItem::Entry(e) => Some(e),
                    HistoryItem::Mark | HistoryItem::Reset => None,
                })
                .collect();
            self.record(version, entries);
        }
    }

    /// The changes after `since`, or `None` when they are not all known.
    pub fn since(&self, since: u64) -> Option<impl Iterator<Item = &LogEntry>> {
        if since < self.base || since > self.current {
            return None;
        }
        Some(
            self.entries
                .iter()
                .filter(move |(v, _)| *v > since)
                .map(|(_, e)| e),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(id: i64) -> LogEntry {
        LogEntry::Upsert(LoggedIndicator {
            indicator: AgentIndicator {
                id,
                value: netward_model::IndicatorValue::parse(&format!("192.0.2.{id}"))
                    .expect("a test address"),
                action: netward_model::Action::Block,
                expires_at: None,
                title: String::new(),
            },
            groups: Vec::new(),
        })
    }

    #[test]
    fn deltas_are_served_only_while_the_history_covers_them() {
        let mut log = PolicyLog::with_capacity(10, 3);
        assert_eq!(log.since(10).map(|i| i.count()), Some(0));
        assert!(log.since(9).is_none(), "older than the history");
        log.record(11, vec![upsert(1)]);
        log.record(12, vec![upsert(2), LogEntry::Delete(1)]);
        assert_eq!(log.since(10).map(|i| i.count()), Some(3));
        assert_eq!(
            log.since(11).map(|i| i.cloned().collect::<Vec<_>>()),
            Some(vec![upsert(2), LogEntry::Delete(1)])
        );
        assert!(log.since(13).is_none(), "newer than the server");
        log.record(13, vec![upsert(3)]);
        assert!(log.since(10).is_none(), "version 11 was dropped whole");
        assert_eq!(log.since(11).map(|i| i.count()), Some(3));
        log.record(14, vec![upsert(4), upsert(5), upsert(6), upsert(7)]);
        assert!(
            log.since(13).is_none(),
            "a change larger than the history clears it"
        );
        assert_eq!(log.since(14).map(|i| i.count()), Some(0));
        log.reset(Some(16));
        assert!(log.since(14).is_none(), "a reset forces snapshots");
        assert_eq!(log.since(16).map(|i| i.count()), Some(0));
        log.reset(None);
        assert!(
            log.since(16).is_none(),
            "an unknown version forces snapshots too"
        );
    }

    #[test]
    fn the_database_history_is_applied_in_order_from_the_current_version() {
        let mut log = PolicyLog::new(10);
        log.apply(vec![
            (9, HistoryItem::Entry(upsert(9))),
            (10, HistoryItem::Entry(upsert(10))),
            (11, HistoryItem::Entry(upsert(1))),
            (11, HistoryItem::Entry(LogEntry::Delete(2))),
            (12, HistoryItem::Mark),
        ]);
        assert_eq!(log.current(), 12);
        assert_eq!(
            log.since(10).map(|i| i.cloned().collect::<Vec<_>>()),
            Some(vec![upsert(1), LogEntry::Delete(2)]),
            "rows at or before the current version are already known"
        );
        assert_eq!(log.since(11).map(|i| i.count()), Some(0));
        log.apply(vec![
            (14, HistoryItem::Reset),
            (15, HistoryItem::Entry(upsert(3))),
        ]);
        assert_eq!(log.current(), 15);
        assert!(log.since(12).is_none(), "a reset forces snapshots");
        assert_eq!(log.since(14).map(|i| i.count()), Some(1));
    }
}
