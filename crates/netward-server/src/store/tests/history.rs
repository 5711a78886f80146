//! The policy history: what agents' deltas are served from, across restarts and replicas.

use super::*;
use crate::policy_log::LogEntry;
use crate::store::HistoryItem;

pub fn the_history_keeps_changes_marks_and_resets_in_order(store: &dyn Store) {
    {
        let _lock = store.lock_policy().unwrap();
        store.begin_policy_change().unwrap();
        store
            .end_policy_change(
                5,
                Some(&[LogEntry::Delete(1), LogEntry::DeviceMoved(2)]),
                100,
            )
            .unwrap();
        store.begin_policy_change().unwrap();
        store.end_policy_change(7, Some(&[]), 100).unwrap();
        // A refused request at the same version adds nothing.
        store.begin_policy_change().unwrap();
        store.end_policy_change(7, Some(&[]), 100).unwrap();
    }
    assert_eq!(
        store.policy_history(0).unwrap(),
        vec![
            (5, HistoryItem::Entry(LogEntry::Delete(1))),
            (5, HistoryItem::Entry(LogEntry::DeviceMoved(2))),
            (7, HistoryItem::Mark),
        ]
    );
    assert_eq!(
        store.policy_history(5).unwrap(),
        vec![(7, HistoryItem::Mark)]
    );

    // Too many entries to keep: older rows give way to a reset.
    {
        let _lock = store.lock_policy().unwrap();
        store.begin_policy_change().unwrap();
        let many: Vec<LogEntry> = (10..14).map(LogEntry::Delete).collect();
        store.end_policy_change(9, Some(&many), 3).unwrap();
    }
    let rows = store.policy_history(0).unwrap();
    assert_eq!(rows.first(), Some(&(9, HistoryItem::Reset)), "{rows:?}");
    assert!(rows.iter().all(|(v, _)| *v == 9), "{rows:?}");

    // A change recorded as too large (or unknown) resets.
    {
        let _lock = store.lock_policy().unwrap();
        store.begin_policy_change().unwrap();
        store.end_policy_change(11, None, 100).unwrap();
    }
    assert_eq!(
        store.policy_history(0).unwrap(),
        vec![(11, HistoryItem::Reset)]
    );
}

pub fn a_change_that_never_ended_becomes_a_reset(store: &dyn Store) {
    let a = actor();
    let change = Change { actor: &a, at: 1 };
    {
        let _lock = store.lock_policy().unwrap();
        store.begin_policy_change().unwrap();
        // The change commits, and the process dies before its history is written.
        store
            .upsert_indicators(&[draft("192.0.2.1", "Block", &[], None)], &change)
            .unwrap();
    }
    let version = store.policy_version().unwrap();
    assert!(store.policy_history(0).unwrap().is_empty());
    // The next change to take the lock repairs it.
    drop(store.lock_policy().unwrap());
    assert_eq!(
        store.policy_history(0).unwrap(),
        vec![(version, HistoryItem::Reset)]
    );
}
