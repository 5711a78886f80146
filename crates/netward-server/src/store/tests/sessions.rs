//! The conformance cases of console sessions: kept by hashes, touched forwards only, capped
//! per token, idle ones deleted when another opens.

use super::super::{NewSession, SessionRecord, Store};

fn open(store: &dyn Store, id_hash: &str, token_hash: &str, at: i64, idle_before: i64) {
    store
        .open_session(&NewSession {
            id_hash,
            token_hash,
            at,
            idle_before,
            per_token: 3,
        })
        .unwrap();
}

fn used(store: &dyn Store, id_hash: &str) -> Option<i64> {
    store.session(id_hash).unwrap().map(|s| s.last_used)
}

pub(super) fn sessions_open_touch_and_close(store: &dyn Store) {
    assert_eq!(store.session("s1").unwrap(), None);
    open(store, "s1", "t1", 100, 0);
    assert_eq!(
        store.session("s1").unwrap(),
        Some(SessionRecord {
            token_hash: "t1".into(),
            created_at: 100,
            last_used: 100,
        })
    );
    store.touch_session("s1", 160).unwrap();
    assert_eq!(used(store, "s1"), Some(160));
    // A late write of an older use (another replica's) does not move it back.
    store.touch_session("s1", 130).unwrap();
    assert_eq!(used(store, "s1"), Some(160));
    // Gone sessions: nothing happens, nothing is made.
    store.touch_session("nope", 200).unwrap();
    store.close_session("nope").unwrap();
    assert_eq!(store.session("nope").unwrap(), None);
    store.close_session("s1").unwrap();
    assert_eq!(store.session("s1").unwrap(), None);
    // Opening with an id hash already open is an error, never a takeover.
    open(store, "s2", "t1", 200, 0);
    assert!(
        store
            .open_session(&NewSession {
                id_hash: "s2",
                token_hash: "t2",
                at: 201,
                idle_before: 0,
                per_token: 3,
            })
            .is_err()
    );
    assert_eq!(store.session("s2").unwrap().unwrap().token_hash, "t1");
}

pub(super) fn opening_evicts_the_least_recently_used_and_the_idle(store: &dyn Store) {
    open(store, "a1", "ta", 10, 0);
    open(store, "a2", "ta", 10, 0);
    open(store, "a3", "ta", 11, 0);
    open(store, "b1", "tb", 5, 0);
    // a1 and a2 were used last at the same time: the one opened first goes first, unless it
    // has been used since.
    store.touch_session("a1", 12).unwrap();
    open(store, "a4", "ta", 13, 0);
    let live = |id: &str| store.session(id).unwrap().is_some();
    assert!(!live("a2"), "the least recently used stayed");
    assert!(live("a1") && live("a3") && live("a4"));
    assert!(live("b1"), "another token's session was evicted");
    open(store, "a5", "ta", 14, 0);
    assert!(!live("a3") && live("a1") && live("a4") && live("a5"));
    // Opening deletes every session last used before the cut-off, whichever its token.
    open(store, "c1", "tc", 20, 13);
    assert!(!live("b1") && !live("a1"), "idle sessions stayed");
    assert!(live("a4") && live("a5") && live("c1"));
}
