//! The conformance cases of the audit log and the versions derived from it.

use super::super::{AuditQuery, Change, Store};
use super::{actor, draft};

pub(super) fn versions_follow_the_audit_log(store: &dyn Store) {
    let a = actor();
    let before = store.policy_version().unwrap();
    store
        .upsert_indicators(
            &[draft("192.0.2.1", "Block", &[], None)],
            &Change { actor: &a, at: 1 },
        )
        .unwrap();
    let after_first = store.policy_version().unwrap();
    assert!(after_first > before);
    assert_eq!(
        store.indicator_version("192.0.2.1").unwrap(),
        Some(after_first)
    );
    store
        .upsert_indicators(
            &[draft("192.0.2.2", "Block", &[], None)],
            &Change { actor: &a, at: 2 },
        )
        .unwrap();
    let after_second = store.policy_version().unwrap();
    assert!(after_second > after_first);
    assert_eq!(
        store.indicator_version("192.0.2.1").unwrap(),
        Some(after_first),
        "another indicator's change is not this one's"
    );
    assert_eq!(store.indicator_version("192.0.2.99").unwrap(), None);
    let log = store
        .audit_log(&AuditQuery {
            target: Some("192.0.2.2".into()),
            from: None,
            top: 10,
            skip: 0,
        })
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].id, log[0].action.as_str(), log[0].at),
        (i64::try_from(after_second).unwrap(), "indicator.create", 2)
    );
    let since = store
        .audit_log(&AuditQuery {
            target: None,
            from: Some(2),
            top: 10,
            skip: 0,
        })
        .unwrap();
    assert_eq!(
        since.iter().map(|e| e.at).collect::<Vec<_>>(),
        [2],
        "`from` keeps the entries at or after it"
    );
}
