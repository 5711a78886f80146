//! The policy history (see [`crate::store::history`]). One server owns the file, and its
//! policy changes are already serialised in process, so the lock holds nothing.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, db, to_i64, to_u64};
use crate::policy_log::LogEntry;
use crate::store::{AuditStore, HistoryItem, HistoryStore, PolicyLock, StoreError};

struct InProcess;
impl PolicyLock for InProcess {}

fn item_json(item: &HistoryItem) -> Result<String, StoreError> {
    super::to_json(item)
}

/// Inserts a reset at `version`, dropping every older row.
fn reset(tx: &Transaction<'_>, version: u64) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM policy_history WHERE version <= ?1",
        params![to_i64(version)],
    )
    .map_err(db("trim policy history"))?;
    tx.execute(
        "INSERT INTO policy_history (version, item) VALUES (?1, ?2)",
        params![to_i64(version), item_json(&HistoryItem::Reset)?],
    )
    .map_err(db("write policy history"))?;
    Ok(())
}

impl HistoryStore for SqliteStore {
    fn lock_policy(&self) -> Result<Box<dyn PolicyLock + '_>, StoreError> {
        let version = self.policy_version()?;
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("repair policy history"))?;
        let stale: Option<i64> = tx
            .query_row("SELECT since FROM policy_pending", [], |r| r.get(0))
            .optional()
            .map_err(db("read policy history"))?;
        if stale.is_some() {
            tracing::warn!(
                version,
                "A policy change ended without its history; agents behind it get a snapshot."
            );
            reset(&tx, version)?;
            tx.execute("DELETE FROM policy_pending", [])
                .map_err(db("repair policy history"))?;
        }
        tx.commit().map_err(db("repair policy history"))?;
        Ok(Box::new(InProcess))
    }

    fn begin_policy_change(&self) -> Result<(), StoreError> {
        let version = self.policy_version()?;
        self.conn()?
            .execute(
                "INSERT OR REPLACE INTO policy_pending (one, since) VALUES (1, ?1)",
                params![to_i64(version)],
            )
            .map(|_| ())
            .map_err(db("mark policy change"))
    }

    fn end_policy_change(
        &self,
        version: u64,
        entries: Option<&[LogEntry]>,
        keep: usize,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("write policy history"))?;
        match entries {
            None => reset(&tx, version)?,
            Some([]) => {
                let newest: Option<i64> = tx
                    .query_row("SELECT max(version) FROM policy_history", [], |r| r.get(0))
                    .map_err(db("read policy history"))?;
                if newest.is_none_or(|n| to_u64(n) < version) {
                    tx.execute(
                        "INSERT INTO policy_history (version, item) VALUES (?1, ?2)",
                        params![to_i64(version), item_json(&HistoryItem::Mark)?],
                    )
                    .map_err(db("write policy history"))?;
                }
            }
            Some(entries) => {
                let mut st = tx
                    .prepare_cached("INSERT INTO policy_history (version, item) VALUES (?1, ?2)")
                    .map_err(db("write policy history"))?;
                for e in entries {
                    let item = item_json(&HistoryItem::Entry(e.clone()))?;
                    st.execute(params![to_i64(version), item])
                        .map_err(db("write policy history"))?;
                }
                drop(st);
                let cutoff: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM policy_history ORDER BY version DESC, id DESC \
                         LIMIT 1 OFFSET ?1",
                        params![to_i64(keep as u64)],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db("trim policy history"))?;
                if let Some(cutoff) = cutoff {
                    reset(&tx, to_u64(cutoff))?;
                }
            }
        }
        tx.execute("DELETE FROM policy_pending", [])
            .map_err(db("write policy history"))?;
        tx.commit().map_err(db("write policy history"))
    }

    fn policy_history(&self, after: u64) -> Result<Vec<(u64, HistoryItem)>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare_cached(
                "SELECT version, item FROM policy_history WHERE version > ?1 ORDER BY version, id",
            )
            .map_err(db("read policy history"))?;
        let rows = st
            .query_map(params![to_i64(after)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db("read policy history"))?;
        let mut out = Vec::new();
        for row in rows {
            let (version, item) = row.map_err(db("read policy history"))?;
            let item = serde_json::from_str(&item)
                .map_err(|e| StoreError::Corrupt(format!("policy history {version}: {e}")))?;
            out.push((to_u64(version), item));
        }
        Ok(out)
    }
}
