//! The history of policy changes, kept in the database so that an agent reconnecting to any
//! replica, or to a restarted server, gets a delta rather than a snapshot. Each replica serves
//! deltas from a cache of the history's tail ([`crate::policy_log::PolicyLog`]) and fills it
//! from here.
//!
//! **Order.** Policy changes are serialised across replicas by [`HistoryStore::lock_policy`],
//! held from before the change until its history is written, so history versions grow in
//! commit order and a replica that has read the history through version N has every change up
//! to N.
//!
//! **A change that committed without its history** (the process died, or the database went
//! away between the two) leaves its begin mark behind. The next holder of the lock turns that
//! mark into a [`HistoryItem::Reset`] at the then-current version, so agents behind it take a
//! snapshot instead of a delta that would silently skip the change.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::policy_log::LogEntry;

/// One row of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HistoryItem {
    /// A change to an indicator or a device.
    Entry(LogEntry),
    /// A change with no entries of its own (a group's mode, the tenant's settings): agents
    /// still fetch the update, which carries them.
    Mark,
    /// Nothing before this version is known: agents behind it need a snapshot.
    Reset,
}

/// A held policy lock; dropping it releases the lock.
pub trait PolicyLock: Send {}

/// The policy history and the lock that orders it.
pub trait HistoryStore: Send + Sync {
    /// Takes the lock that serialises policy changes across every replica, waiting for it,
    /// and repairs the mark of a change that never ended (see the module's doc).
    fn lock_policy(&self) -> Result<Box<dyn PolicyLock + '_>, StoreError>;
    /// Marks a policy change as begun (under the lock).
    fn begin_policy_change(&self) -> Result<(), StoreError>;
    /// Records the change begun last under `version`: its entries, a [`HistoryItem::Mark`]
    /// when it has none, or a [`HistoryItem::Reset`] when `entries` is `None` (too many to
    /// keep, or unknown). Keeps at most `keep` rows, replacing older ones with a reset. Other
    /// replicas are told of `version` when it commits.
    fn end_policy_change(
        &self,
        version: u64,
        entries: Option<&[LogEntry]>,
        keep: usize,
    ) -> Result<(), StoreError>;
    /// The rows after `after`, in order.
    fn policy_history(&self, after: u64) -> Result<Vec<(u64, HistoryItem)>, StoreError>;
}
