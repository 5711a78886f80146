//! The policy history (see [`crate::store::history`]) and the lock that orders it across
//! replicas: a session advisory lock on a connection of its own, held by the guard. A replica
//! that dies while holding it loses its session, and with it the lock.

use postgres::Transaction;

use super::{Conn, PgStore, pg, to_i64, to_u64};
use crate::policy_log::LogEntry;
use crate::store::{AuditStore, HistoryItem, HistoryStore, PolicyLock, StoreError};

/// The advisory lock policy changes hold from before their change until their history is
/// written (a session lock: it spans several transactions).
pub(crate) const POLICY_LOCK: i64 = 0x6e65_7477_6172_6403;
/// The channel a policy change is announced on; the payload is its version.
pub(crate) const POLICY_CHANNEL: &str = "netward_policy";

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "
CREATE TABLE policy_history (
    id bigserial PRIMARY KEY,
    version bigint NOT NULL,
    item text NOT NULL
);
CREATE INDEX policy_history_version ON policy_history(version);
CREATE TABLE policy_pending (one integer PRIMARY KEY CHECK (one = 1), since bigint NOT NULL);
";

struct Held(Option<Conn>);

impl PolicyLock for Held {}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(mut conn) = self.0.take()
            && let Err(error) = conn.execute("SELECT pg_advisory_unlock($1)", &[&POLICY_LOCK])
        {
            // The session is gone, and the lock with it.
            tracing::warn!(%error, "Cannot release the policy lock; its connection is dropped.");
        }
    }
}

fn item_json(item: &HistoryItem) -> Result<String, StoreError> {
    super::to_json(item)
}

fn insert(tx: &mut Transaction<'_>, version: u64, item: &HistoryItem) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO policy_history (version, item) VALUES ($1, $2)",
        &[&to_i64(version), &item_json(item)?],
    )
    .map(|_| ())
    .map_err(pg("write policy history"))
}

/// Inserts a reset at `version`, dropping every older row.
fn reset(tx: &mut Transaction<'_>, version: u64) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM policy_history WHERE version <= $1",
        &[&to_i64(version)],
    )
    .map_err(pg("trim policy history"))?;
    insert(tx, version, &HistoryItem::Reset)
}

impl PgStore {
    /// Turns a policy change that ended without its history (its replica died between the
    /// two) into a reset, so that agents behind it get a snapshot. Runs under the policy lock.
    fn repair_pending(&self, conn: &mut Conn) -> Result<(), StoreError> {
        let version = self.policy_version()?;
        let mut tx = conn.transaction().map_err(pg("repair policy history"))?;
        let stale = tx
            .query_opt("SELECT since FROM policy_pending", &[])
            .map_err(pg("read policy history"))?;
        if stale.is_some() {
            tracing::warn!(
                version,
                "A policy change ended without its history; agents behind it get a snapshot."
            );
            reset(&mut tx, version)?;
            tx.execute("DELETE FROM policy_pending", &[])
                .map_err(pg("repair policy history"))?;
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&POLICY_CHANNEL, &self.payload(&version.to_string())],
            )
            .map_err(pg("announce policy version"))?;
        }
        tx.commit().map_err(pg("repair policy history"))
    }
}

impl HistoryStore for PgStore {
    fn lock_policy(&self) -> Result<Box<dyn PolicyLock + '_>, StoreError> {
        let mut conn = self.conn()?;
        conn.execute("SELECT pg_advisory_lock($1)", &[&POLICY_LOCK])
            .map_err(pg("take the policy lock"))?;
        // The repair goes on the connection that holds the lock; if it fails, dropping the
        // guard releases the lock.
        let repaired = self.repair_pending(&mut conn);
        let held = Held(Some(conn));
        repaired?;
        Ok(Box::new(held))
    }

    fn begin_policy_change(&self) -> Result<(), StoreError> {
        let version = self.policy_version()?;
        self.conn()?
            .execute(
                "INSERT INTO policy_pending (one, since) VALUES (1, $1) \
                 ON CONFLICT (one) DO UPDATE SET since = excluded.since",
                &[&to_i64(version)],
            )
            .map(|_| ())
            .map_err(pg("mark policy change"))
    }

    fn end_policy_change(
        &self,
        version: u64,
        entries: Option<&[LogEntry]>,
        keep: usize,
    ) -> Result<(), StoreError> {
        let mut client = self.conn()?;
        let mut tx = client.transaction().map_err(pg("write policy history"))?;
        match entries {
            None => reset(&mut tx, version)?,
            Some([]) => {
                let newest: Option<i64> = tx
                    .query_one("SELECT max(version) FROM policy_history", &[])
                    .map_err(pg("read policy history"))?
                    .get(0);
                if newest.is_none_or(|n| to_u64(n) < version) {
                    insert(&mut tx, version, &HistoryItem::Mark)?;
                }
            }
            Some(entries) => {
                let items = entries
                    .iter()
                    .map(|e| item_json(&HistoryItem::Entry(e.clone())))
                    .collect::<Result<Vec<_>, _>>()?;
                tx.execute(
                    "INSERT INTO policy_history (version, item) SELECT $1, unnest($2::text[])",
                    &[&to_i64(version), &items],
                )
                .map_err(pg("write policy history"))?;
                let cutoff: Option<i64> = tx
                    .query_opt(
                        "SELECT version FROM policy_history ORDER BY version DESC, id DESC \
                         LIMIT 1 OFFSET $1",
                        &[&to_i64(keep as u64)],
                    )
                    .map_err(pg("trim policy history"))?
                    .map(|r| r.get(0));
                if let Some(cutoff) = cutoff {
                    reset(&mut tx, to_u64(cutoff))?;
                }
            }
        }
        tx.execute("DELETE FROM policy_pending", &[])
            .map_err(pg("write policy history"))?;
        // Delivered when the transaction commits, once per policy change.
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&POLICY_CHANNEL, &self.payload(&version.to_string())],
        )
        .map_err(pg("announce policy version"))?;
        tx.commit().map_err(pg("write policy history"))
    }

    fn policy_history(&self, after: u64) -> Result<Vec<(u64, HistoryItem)>, StoreError> {
        let rows = self
            .conn()?
            .query(
                "SELECT version, item FROM policy_history WHERE version > $1 ORDER BY version, id",
                &[&to_i64(after)],
            )
            .map_err(pg("read policy history"))?;
        rows.iter()
            .map(|r| {
                let version = to_u64(r.get(0));
                let item: String = r.get(1);
                serde_json::from_str(&item)
                    .map(|item| (version, item))
                    .map_err(|e| StoreError::Corrupt(format!("policy history {version}: {e}")))
            })
            .collect()
    }
}
