#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use netward_model::{Actor, ActorKind, Role};

use super::*;
use crate::store::{Change, LastAdmin, SessionStore, SqliteStore, TokenStore};

const T0: i64 = 1_700_000_000;

fn tester() -> Actor {
    Actor {
        name: "tester".into(),
        kind: ActorKind::ApiToken,
    }
}

fn store_with_token(secret: &str) -> (SqliteStore, tempfile::TempDir, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let actor = tester();
    let change = Change {
        actor: &actor,
        at: T0,
    };
    let token = store
        .create_token("console", Role::Analyst, &hash_secret(secret), &change)
        .unwrap();
    (store, dir, token.id)
}

fn secret_of(n: u8) -> String {
    format!("{SECRET_PREFIX}{}", format!("{n:02x}").repeat(32))
}

#[test]
fn a_session_is_kept_by_hashes_only_and_its_csrf_token_is_derived() {
    let secret = secret_of(1);
    let (store, dir, _) = store_with_token(&secret);
    let id = random_hex().unwrap();
    assert!(open(&store, &secret, &id, T0).unwrap());
    let stored = store.session(&hash_secret(&id)).unwrap().unwrap();
    assert_eq!(stored.token_hash, hash_secret(&secret));
    assert_eq!((stored.created_at, stored.last_used), (T0, T0));
    assert_eq!(store.session(&id).unwrap(), None, "found by the raw id");
    drop(store);
    // Neither the id nor the secret is anywhere in the database's files.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&id) && !text.contains(&secret));
    }
    let csrf = csrf_token(&id);
    assert_eq!(csrf.len(), 64);
    assert_ne!(csrf, hash_secret(&id));
    assert_eq!(csrf, csrf_token(&id));
    assert_ne!(csrf, csrf_token(&random_hex().unwrap()));
}

#[test]
fn unknown_unprefixed_or_revoked_tokens_open_nothing() {
    let secret = secret_of(2);
    let (store, _dir, token) = store_with_token(&secret);
    assert!(!open(&store, &secret_of(3), "a", T0).unwrap());
    assert!(!open(&store, &hash_secret(&secret), "b", T0).unwrap());
    assert!(open(&store, &secret, "c", T0).unwrap());
    let actor = tester();
    let change = Change {
        actor: &actor,
        at: T0,
    };
    store
        .revoke_token(token, LastAdmin::MayRevoke, &change)
        .unwrap();
    assert!(!open(&store, &secret, "d", T0).unwrap());
    // The revocation ends the open session at its next use, and deletes it.
    assert_eq!(
        resolve(&store, "c", T0 + 1, SessionUse::Watch).unwrap(),
        None
    );
    assert_eq!(store.session(&hash_secret("c")).unwrap(), None);
}

#[test]
fn a_session_ends_after_twelve_idle_hours_and_uses_are_written_at_most_once_a_minute() {
    let secret = secret_of(4);
    let (store, _dir, token) = store_with_token(&secret);
    let used = |id: &str| {
        store
            .session(&hash_secret(id))
            .unwrap()
            .map(|s| s.last_used)
    };
    assert!(open(&store, &secret, "s", T0).unwrap());
    let who = resolve(&store, "s", T0 + 30, SessionUse::Request).unwrap();
    assert_eq!(who.map(|t| t.id), Some(token));
    assert_eq!(used("s"), Some(T0), "a use within the minute was written");
    resolve(&store, "s", T0 + 60, SessionUse::Request).unwrap();
    assert_eq!(used("s"), Some(T0 + 60));
    // Watching a live stream does not keep the session alive.
    resolve(&store, "s", T0 + 3600, SessionUse::Watch).unwrap();
    assert_eq!(used("s"), Some(T0 + 60));
    let last = T0 + 60;
    assert!(
        resolve(&store, "s", last + IDLE_SECS - 1, SessionUse::Watch)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        resolve(&store, "s", last + IDLE_SECS, SessionUse::Request).unwrap(),
        None
    );
    assert_eq!(used("s"), None, "an idle session was kept");
}

#[test]
fn opening_a_session_deletes_the_idle_ones_and_keeps_a_token_to_its_cap() {
    let secret = secret_of(5);
    let (store, _dir, _) = store_with_token(&secret);
    let ids: Vec<String> = (0..MAX_SESSIONS_PER_TOKEN)
        .map(|i| format!("s{i}"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        assert!(open(&store, &secret, id, T0 + i as i64).unwrap());
    }
    // Using the first makes the second the least recently used.
    resolve(&store, &ids[0], T0 + 100, SessionUse::Request).unwrap();
    assert!(open(&store, &secret, "newest", T0 + 101).unwrap());
    let live = |id: &str| store.session(&hash_secret(id)).unwrap().is_some();
    assert!(!live(&ids[1]), "the least recently used session stayed");
    assert!(live(&ids[0]) && live(&ids[2]) && live("newest"));
    // Twelve hours after the newest use, opening one more removes every idle one.
    assert!(open(&store, &secret, "later", T0 + 101 + IDLE_SECS).unwrap());
    assert!(ids.iter().all(|id| !live(id)) && !live("newest") && live("later"));
}
