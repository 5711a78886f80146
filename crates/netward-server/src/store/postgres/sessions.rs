//! The PostgreSQL side of [`SessionStore`]: console sessions, by the hash of their id (see
//! [`crate::store::sessions`]). No audit entry, so no [`super::begin_audited`]: a sign-in
//! does not move the policy version.

use super::{PgStore, pg, to_i64};
use crate::store::{NewSession, SessionRecord, SessionStore, StoreError};

/// The class of the transaction-scoped advisory lock (two-key form, apart from the one-key
/// locks of `mod.rs`) that serialises opening sessions for one token, keyed by its hash.
const SESSION_LOCK_CLASS: i32 = 0x6e77_5301;

/// Console sessions' part of schema version 1.
pub(super) const SCHEMA: &str = "
CREATE TABLE console_sessions (
    id bigserial PRIMARY KEY,
    id_hash text NOT NULL UNIQUE,
    token_hash text NOT NULL,
    created_at bigint NOT NULL,
    last_used bigint NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions(token_hash, last_used);
CREATE INDEX console_sessions_last_used ON console_sessions(last_used);
";

impl SessionStore for PgStore {
    fn open_session(&self, s: &NewSession<'_>) -> Result<(), StoreError> {
        let mut client = self.conn()?;
        let mut tx = client.transaction().map_err(pg("begin open session"))?;
        // Two replicas opening a session for one token at once take turns, so the cap holds.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&SESSION_LOCK_CLASS, &s.token_hash],
        )
        .map_err(pg("take the session lock"))?;
        tx.execute(
            "DELETE FROM console_sessions WHERE last_used < $1",
            &[&s.idle_before],
        )
        .map_err(pg("delete idle sessions"))?;
        // Keep room for the new one: the token's most recently used, newest first on a tie.
        let keep = to_i64(s.per_token.saturating_sub(1) as u64);
        tx.execute(
            "DELETE FROM console_sessions WHERE id IN (\
                SELECT id FROM console_sessions WHERE token_hash = $1 \
                ORDER BY last_used DESC, id DESC OFFSET $2)",
            &[&s.token_hash, &keep],
        )
        .map_err(pg("evict sessions"))?;
        tx.execute(
            "INSERT INTO console_sessions (id_hash, token_hash, created_at, last_used) \
             VALUES ($1, $2, $3, $3)",
            &[&s.id_hash, &s.token_hash, &s.at],
        )
        .map_err(pg("open session"))?;
        tx.commit().map_err(pg("commit open session"))
    }

    fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT token_hash, created_at, last_used FROM console_sessions \
                 WHERE id_hash = $1",
                &[&id_hash],
            )
            .map_err(pg("read session"))?;
        Ok(row.map(|r| SessionRecord {
            token_hash: r.get(0),
            created_at: r.get(1),
            last_used: r.get(2),
        }))
    }

    fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
        // Never backwards: two replicas may write one session's use out of order.
        self.conn()?
            .execute(
                "UPDATE console_sessions SET last_used = $2 \
                 WHERE id_hash = $1 AND last_used < $2",
                &[&id_hash, &at],
            )
            .map_err(pg("touch session"))?;
        Ok(())
    }

    fn close_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.conn()?
            .execute(
                "DELETE FROM console_sessions WHERE id_hash = $1",
                &[&id_hash],
            )
            .map_err(pg("close session"))?;
        Ok(())
    }
}
