//! Console sessions, by the hash of their id (see [`crate::store::sessions`]).

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db, to_i64};
use crate::store::{NewSession, SessionRecord, SessionStore, StoreError};

impl SessionStore for SqliteStore {
    fn open_session(&self, s: &NewSession<'_>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin open session"))?;
        tx.execute(
            "DELETE FROM console_sessions WHERE last_used < ?1",
            [s.idle_before],
        )
        .map_err(db("delete idle sessions"))?;
        // Keep room for the new one: the token's most recently used, newest first on a tie.
        let keep = to_i64(s.per_token.saturating_sub(1) as u64);
        tx.execute(
            "DELETE FROM console_sessions WHERE id IN (\
                SELECT id FROM console_sessions WHERE token_hash = ?1 \
                ORDER BY last_used DESC, id DESC LIMIT -1 OFFSET ?2)",
            params![s.token_hash, keep],
        )
        .map_err(db("evict sessions"))?;
        tx.execute(
            "INSERT INTO console_sessions (id_hash, token_hash, created_at, last_used) \
             VALUES (?1, ?2, ?3, ?3)",
            params![s.id_hash, s.token_hash, s.at],
        )
        .map_err(db("open session"))?;
        tx.commit().map_err(db("commit open session"))
    }

    fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare_cached(
                "SELECT token_hash, created_at, last_used FROM console_sessions \
                 WHERE id_hash = ?1",
            )
            .map_err(db("read session"))?;
        st.query_row([id_hash], |r| {
            Ok(SessionRecord {
                token_hash: r.get(0)?,
                created_at: r.get(1)?,
                last_used: r.get(2)?,
            })
        })
        .optional()
        .map_err(db("read session"))
    }

    fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.prepare_cached(
            "UPDATE console_sessions SET last_used = ?2 WHERE id_hash = ?1 AND last_used < ?2",
        )
        .and_then(|mut st| st.execute(params![id_hash, at]))
        .map_err(db("touch session"))?;
        Ok(())
    }

    fn close_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.prepare_cached("DELETE FROM console_sessions WHERE id_hash = ?1")
            .and_then(|mut st| st.execute([id_hash]))
            .map_err(db("close session"))?;
        Ok(())
    }
}
