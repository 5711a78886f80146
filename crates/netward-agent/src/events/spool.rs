//! The event spool: a bounded SQLite file in the state directory. Events enter it before they
//! are sent and leave only when the server has acknowledged them, so a server outage, an agent
//! restart or a crash loses nothing that reached it. Sequence numbers come from SQLite's
//! `AUTOINCREMENT`, so they only grow, even across restarts, and the server uses them to store
//! each event once; a new spool starts them at the current time in microseconds, so a spool
//! deleted and created again does not reuse them either.
//!
//! When the spool is full, new events are dropped and their hits counted; the count travels
//! with every batch, so the server shows how much a device had to drop. A file that is not a
//! database, or a damaged one, is recognised ([`SpoolError::is_damaged`]) and set aside
//! ([`set_aside`]) by the runtime at start.

use std::path::{Path, PathBuf};

use netward_model::detection::AgentEvent;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

/// The spool's file in the state directory.
pub const FILE: &str = "events.db";
/// Events the spool holds at most, by default.
pub const DEFAULT_CAPACITY: u64 = 100_000;

/// A spool failure.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The database failed.
    #[error("event spool {path}: {source}")]
    Database {
        /// The spool's file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A damaged spool could not be moved out of the way.
    #[error("event spool {path}: cannot set it aside: {source}")]
    SetAside {
        /// The spool's file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl SpoolError {
    /// Whether the file is not a database, or a damaged one: nothing more can be read from it,
    /// and only setting it aside ([`set_aside`], [`Spool::replace_damaged`]) lets the agent
    /// report again.
    pub fn is_damaged(&self) -> bool {
        matches!(
            self,
            Self::Database {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(e.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
        )
    }
}

/// Moves a damaged spool in `dir` (the file and its WAL and shared-memory companions) out of the
/// way, as `events.db.damaged-<time>` and so on; returns the new path of the database file.
pub fn set_aside(dir: &Path, now: i64) -> std::io::Result<PathBuf> {
    // One tag for the three files: the first that is free for the database.
    let db = crate::runtime::state::unused_name(
        dir,
        &format!(
            "{FILE}.damaged-{}",
            netward_model::timestamp::format_rfc3339(now)
        ),
    );
    let name = db
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stamp = name.strip_prefix(&format!("{FILE}.")).unwrap_or("damaged");
    let mut moved = dir.join(format!("{FILE}.{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("{FILE}{suffix}");
        let aside = dir.join(format!("{name}.{stamp}"));
        match std::fs::rename(dir.join(&name), &aside) {
            Ok(()) if suffix.is_empty() => moved = aside,
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// The spool.
#[derive(Debug)]
pub struct Spool {
    conn: Connection,
    path: PathBuf,
    capacity: u64,
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, holding at most `capacity` events.
    pub fn open(dir: &Path, capacity: u64) -> Result<Self, SpoolError> {
        let path = dir.join(FILE);
        let err = |source| SpoolError::Database {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS spool (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 body TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS counters (
                 name TEXT PRIMARY KEY,
                 value INTEGER NOT NULL
             );",
        )
        .map_err(err)?;
        // A new spool starts its numbers at the current time in microseconds, so that a spool
        // deleted and created again (its device identity kept) never reuses a number the server
        // already holds, which it would take for a resend and drop.
        let seeded: Option<i64> = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'spool'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if seeded.is_none() {
            let now_us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2))
                .unwrap_or(0);
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('spool', ?1)",
                params![now_us],
            )
            .map_err(err)?;
        }
        Ok(Self {
            conn,
            path,
            capacity,
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> SpoolError + '_ {
        |source| SpoolError::Database {
            path: self.path.clone(),
            source,
        }
    }

    /// Sets this spool aside as damaged (`events.db.damaged-<time>`) and starts a new, empty
    /// one in its place, with the same capacity; returns where the damaged file went. Its
    /// events and counters go with it (the server keeps the highest counts it was told).
    pub fn replace_damaged(&mut self, now: i64) -> Result<PathBuf, SpoolError> {
        let dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // The damaged file is closed before it is moved.
        self.conn = Connection::open_in_memory().map_err(self.err())?;
        let aside = set_aside(&dir, now).map_err(|source| SpoolError::SetAside {
            path: self.path.clone(),
            source,
        })?;
        *self = Self::open(&dir, self.capacity)?;
        Ok(aside)
    }

    /// Events waiting.
    pub fn len(&self) -> Result<u64, SpoolError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM spool", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(self.err())
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> Result<bool, SpoolError> {
        Ok(self.len()? == 0)
    }

    /// Hits dropped since the spool was created.
    pub fn dropped(&self) -> Result<u64, SpoolError> {
        self.counter("dropped")
    }

    fn counter(&self, name: &str) -> Result<u64, SpoolError> {
        self.conn
            .query_row(
                "SELECT value FROM counters WHERE name = ?1",
                params![name],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| u64::try_from(v.unwrap_or(0)).unwrap_or(0))
            .map_err(self.err())
    }

    fn add(&self, name: &str, n: u64) -> Result<(), SpoolError> {
        self.conn
            .execute(
                "INSERT INTO counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                params![name, i64::try_from(n).unwrap_or(i64::MAX)],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// Hit log messages the kernel could not deliver, since the spool was created.
    pub fn lost(&self) -> Result<u64, SpoolError> {
        self.counter("lost")
    }

    /// Adds to [`Spool::dropped`] the hits of events that never reached the spool.
    pub fn add_dropped(&mut self, n: u64) -> Result<(), SpoolError> {
        self.add("dropped", n)
    }

    /// Adds to [`Spool::lost`].
    pub fn add_lost(&mut self, n: u64) -> Result<(), SpoolError> {
        self.add("lost", n)
    }

    /// Gives up on the event `seq` (the server refuses it), counting its `hits` as dropped.
    pub fn discard(&mut self, seq: u64, hits: u64) -> Result<(), SpoolError> {
        let path = self.path.clone();
        let err = |source| SpoolError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "DELETE FROM spool WHERE seq = ?1",
            params![i64::try_from(seq).unwrap_or(i64::MAX)],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO counters (name, value) VALUES ('dropped', ?1)
             ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            params![i64::try_from(hits).unwrap_or(i64::MAX)],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Stores `events` durably, in one transaction; returns how many fit. The rest are
    /// dropped and their hits counted.
    pub fn push(&mut self, events: &[AgentEvent]) -> Result<usize, SpoolError> {
        if events.is_empty() {
            return Ok(0);
        }
        let room = self.capacity.saturating_sub(self.len()?);
        let fit = events
            .len()
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        let dropped: u64 = events[fit..].iter().map(|e| e.count).sum();
        let path = self.path.clone();
        let err = |source| SpoolError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO spool (body) VALUES (?1)")
                .map_err(err)?;
            for e in &events[..fit] {
                let body = serde_json::to_string(e).unwrap_or_default();
                insert.execute(params![body]).map_err(err)?;
            }
        }
        if dropped > 0 {
            tx.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?1)
                 ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                params![i64::try_from(dropped).unwrap_or(i64::MAX)],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(fit)
    }

    /// The oldest `limit` events, with their sequence numbers. A row that no longer reads as
    /// an event (written by another version, say) is removed and counted as one dropped hit,
    /// so that it can never hold up the rest.
    pub fn peek(&mut self, limit: usize) -> Result<Vec<AgentEvent>, SpoolError> {
        let (events, unreadable) = self.read(limit)?;
        if !unreadable.is_empty() {
            for seq in &unreadable {
                self.conn
                    .execute("DELETE FROM spool WHERE seq = ?1", params![seq])
                    .map_err(self.err())?;
            }
            self.add("dropped", unreadable.len() as u64)?;
        }
        Ok(events)
    }

    fn read(&self, limit: usize) -> Result<(Vec<AgentEvent>, Vec<i64>), SpoolError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, body FROM spool ORDER BY seq LIMIT ?1")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.err())?;
        let mut out = Vec::new();
        let mut unreadable = Vec::new();
        for row in rows {
            let (seq, body) = row.map_err(self.err())?;
            match serde_json::from_str::<AgentEvent>(&body) {
                Ok(mut e) => {
                    e.seq = u64::try_from(seq).unwrap_or(0);
                    out.push(e);
                }
                Err(error) => {
                    tracing::error!(seq, %error, "Discarding an unreadable spooled event.");
                    unreadable.push(seq);
                }
            }
        }
        Ok((out, unreadable))
    }

    /// Removes every event up to `seq`: the server has them.
    pub fn acknowledge(&mut self, seq: u64) -> Result<(), SpoolError> {
        self.conn
            .execute(
                "DELETE FROM spool WHERE seq <= ?1",
                params![i64::try_from(seq).unwrap_or(i64::MAX)],
            )
            .map(|_| ())
            .map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(count: u64) -> AgentEvent {
        AgentEvent {
            seq: 0,
            first_seen_ms: 1,
            last_seen_ms: 2,
            count,
            direction: netward_model::detection::Direction::Outbound,
            protocol: "tcp".into(),
            local_ip: "10.0.0.1".into(),
            local_port: None,
            remote_ip: "192.0.2.1".into(),
            remote_port: Some(443),
            outcome: netward_model::detection::Outcome::Blocked,
            reason: netward_model::detection::Reason::IndicatorBlock,
            indicators: vec![],
            process: None,
        }
    }

    #[test]
    fn events_stay_until_acknowledged_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 10).unwrap();
        assert_eq!(s.push(&[event(1), event(2), event(3)]).unwrap(), 3);
        let first = s.peek(2).unwrap();
        assert_eq!(first.iter().map(|e| e.count).collect::<Vec<_>>(), [1, 2]);
        s.acknowledge(first[1].seq).unwrap();
        drop(s);
        let mut s = Spool::open(dir.path(), 10).unwrap();
        let rest = s.peek(10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].count, 3);
        assert!(rest[0].seq > first[1].seq);
        s.acknowledge(rest[0].seq).unwrap();
        assert!(s.is_empty().unwrap());
        // Sequence numbers are never reused, even once the spool is empty.
        s.push(&[event(4)]).unwrap();
        assert!(s.peek(1).unwrap()[0].seq > rest[0].seq);
    }

    #[test]
    fn a_spool_created_again_never_reuses_a_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 10).unwrap();
        s.push(&[event(1)]).unwrap();
        let first = s.peek(1).unwrap()[0].seq;
        drop(s);
        for f in ["events.db", "events.db-wal", "events.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut s = Spool::open(dir.path(), 10).unwrap();
        s.push(&[event(1)]).unwrap();
        assert!(s.peek(1).unwrap()[0].seq > first);
    }

    #[test]
    fn refused_and_unreadable_events_leave_counted_and_loss_persists() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 10).unwrap();
        s.push(&[event(7), event(1)]).unwrap();
        let seq = s.peek(1).unwrap()[0].seq;
        s.discard(seq, 7).unwrap();
        assert_eq!((s.len().unwrap(), s.dropped().unwrap()), (1, 7));
        s.conn
            .execute("UPDATE spool SET body = 'not json'", [])
            .unwrap();
        assert!(s.peek(10).unwrap().is_empty());
        assert_eq!((s.len().unwrap(), s.dropped().unwrap()), (0, 8));
        s.add_lost(3).unwrap();
        drop(s);
        let s = Spool::open(dir.path(), 10).unwrap();
        assert_eq!(s.lost().unwrap(), 3, "kept across restarts");
    }

    #[test]
    fn a_spool_damaged_while_open_is_recognised_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        drop(Spool::open(dir.path(), 10).unwrap());
        let mut s = Spool::open(dir.path(), 10).unwrap();
        let len = std::fs::metadata(dir.path().join(FILE)).unwrap().len();
        std::fs::write(dir.path().join(FILE), vec![0x42; len as usize]).unwrap();
        let error = s.push(&[event(1)]).unwrap_err();
        assert!(error.is_damaged(), "{error}");
        let aside = s.replace_damaged(1_537_099_866).unwrap();
        assert!(aside.ends_with("events.db.damaged-2018-09-16T12:11:06Z"));
        assert_eq!(s.push(&[event(1)]).unwrap(), 1, "a new spool in its place");
        drop(s);
        assert_eq!(Spool::open(dir.path(), 10).unwrap().len().unwrap(), 1);
    }

    #[test]
    fn a_full_spool_drops_new_events_and_counts_their_hits() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 2).unwrap();
        assert_eq!(
            s.push(&[event(5), event(6), event(7), event(8)]).unwrap(),
            2
        );
        assert_eq!(s.dropped().unwrap(), 15);
        assert_eq!(s.push(&[event(1)]).unwrap(), 0);
        assert_eq!(s.dropped().unwrap(), 16);
        assert_eq!(s.len().unwrap(), 2);
    }
}
