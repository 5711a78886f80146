//! The embedded store: one SQLite file in the data directory, in WAL mode with
//! `synchronous=FULL`, so that a transaction is on disk before its method returns.
//!
//! One connection behind a mutex serves reads and writes. Bulk writes run as one transaction
//! with cached prepared statements, which measured 4.2 s per million rows on our machine kind
//! (`shared/reference/rust-ecosystem.md` §5.2).

//!
//! One file per resource, each implementing that resource's trait of [`crate::store`]:
//! `indicators.rs` (with `indicator_query.rs`, `batch_delete.rs` and `import.rs`), `fleet.rs` (groups, settings, devices), `enrollment.rs`, `tokens.rs`, `feeds.rs` (with `feed_runs.rs`),
//! `audit.rs`, and `detection/` (events, alerts, incidents). `schema.rs` holds the schema
//! and its migrations; `odata.rs` turns an indicators `$filter` and `$orderby` into SQL.
//! The alerting rules themselves live in `crate::detection::alerting`: this backend
//! only stores what they decide.

mod audit;
mod batch_delete;
mod detection;
mod enrollment;
mod feed_runs;
mod feeds;
mod fleet;
mod history;
mod import;
mod indicator_query;
mod indicators;
mod odata;
mod schema;
mod tokens;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, Transaction, params};

use super::{Change, StoreError};

pub use detection::remote_key;

/// SQLite's page cache, in KiB (an import raises it while it runs).
const CACHE_KIB: u32 = 64 * 1024;

/// The database file inside the data directory.
pub const DB_FILE: &str = "netward.db";

/// The SQLite backend of the [`Store`](super::Store) traits.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

/// Maps a database error to [`StoreError::Database`], or to [`StoreError::Unavailable`] when
/// it is one that passes (a lock) or that an operator fixes (a full disk), naming the operation.
fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| match unavailable_reason(&source) {
        Some(reason) => StoreError::Unavailable {
            operation,
            reason,
            source: Box::new(source),
        },
        None => StoreError::database(operation, source),
    }
}

fn unavailable_reason(e: &rusqlite::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code()? {
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            Some("the database is locked by another process")
        }
        ErrorCode::ReadOnly => Some("the database is read-only"),
        ErrorCode::DiskFull => Some("the disk holding the database is full"),
        ErrorCode::SystemIoFailure => Some("the disk holding the database failed to read or write"),
        ErrorCode::CannotOpen => Some("the database file cannot be opened"),
        _ => None,
    }
}

/// A count as SQLite stores it.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored count (never negative; 0 if it was).
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`; see [`private_dir`].
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        private_dir(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let mut conn = Connection::open(data_dir.join(DB_FILE)).map_err(db("open"))?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA busy_timeout = 5000; PRAGMA cache_size = -{CACHE_KIB}; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(db("configure"))?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        // A request that panicked while holding the connection rolled its transaction back
        // as it unwound (rusqlite's `Transaction` does on drop): the connection is sound, and
        // refusing every later request until a restart would turn one bug into an outage.
        Ok(self.conn.lock().unwrap_or_else(|poisoned| {
            tracing::error!(
                "A request panicked while holding the store; its transaction was rolled back."
            );
            self.conn.clear_poison();
            poisoned.into_inner()
        }))
    }
}

/// Makes sure `dir` is the server's own, and private to it. A missing directory is created
/// with mode 0700. An existing one is the server's own when it belongs to this user and is
/// empty or already holds a store; it is then made 0700. Any other directory (`/var/lib`, a
/// home directory) is refused and left exactly as it was: tightening it would break whoever
/// else uses it.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let refuse = |why: String| {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            why,
        ))
    };
    let meta = match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        other => other?,
    };
    if !meta.is_dir() {
        return refuse("it is not a directory".into());
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return refuse(format!(
            "it belongs to uid {}, not to this user (uid {me}); give the server a directory of its own",
            meta.uid()
        ));
    }
    let empty = std::fs::read_dir(dir)?.next().is_none();
    if !empty && !dir.join(DB_FILE).is_file() {
        return refuse(format!(
            "it holds other files and no {DB_FILE}; name a new or empty directory for the server"
        ));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Writes the audit-log entry of a change, inside the change's transaction.
fn audit(
    tx: &Transaction<'_>,
    change: &Change<'_>,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_log (at, actor, actor_kind, action, target, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut st| {
        st.execute(params![
            change.at,
            change.actor.name,
            change.actor.kind.as_str(),
            action,
            target,
            detail.to_string()
        ])
    })
    .map(|_| ())
    .map_err(db("write audit log"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}
