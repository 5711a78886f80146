//! The scale-out store: PostgreSQL, shared by several server replicas.
//!
//! A pool of blocking connections (the store's methods run on tokio's blocking pool, as the
//! SQLite ones do). One file per resource, each implementing that resource's trait of
//! [`crate::store`], and each holding its part of the schema (`SCHEMA`); `schema.rs` applies
//! the versioned migrations at start, under an advisory lock, so that two replicas starting
//! at once apply them once. Indicators have helpers beside them, as in SQLite:
//! `indicator_query.rs` and `odata.rs` (the `WHERE` and `ORDER BY` of a query),
//! `upsert.rs` (batches through `unnest` arrays), `import.rs` (binary `COPY`) and
//! `batch_delete.rs`. Detection is a folder, `detection/` (events in daily partitions, stored
//! by binary `COPY`); feeds have `feed_runs.rs` and `feed_pending.rs` beside them.
//!
//! **Commit order.** The policy version is the id of the newest audit-log entry. Ids from a
//! sequence are not commit-ordered when several transactions write at once, so every
//! transaction that writes an audit entry starts with [`begin_audited`], which takes one
//! transaction-scoped advisory lock: audited writes are serialised across every replica, and
//! version N+1 can never be visible before N.

mod audit;
mod batch_delete;
mod ca;
mod changes;
mod detection;
mod enrollment;
mod feed_pending;
mod feed_runs;
mod feeds;
mod fleet;
mod history;
mod import;
mod indicator_query;
mod indicators;
mod odata;
mod overview;
mod pool;
mod schema;
mod sessions;
mod tokens;
mod upsert;

use std::time::Duration;

use postgres::{Client, NoTls, Transaction};

use super::{Change, StoreError};

/// The advisory lock every audited write holds until it commits (see the module's doc).
pub(crate) const AUDIT_LOCK: i64 = 0x6e65_7477_6172_6401;
/// The advisory lock an event batch holds until it commits, so event ids are commit-ordered.
pub(crate) const EVENTS_LOCK: i64 = 0x6e65_7477_6172_6404;
/// The advisory lock a replica holds while it migrates the schema.
pub(crate) const MIGRATE_LOCK: i64 = 0x6e65_7477_6172_6402;

/// The most connections one replica opens.
const POOL_SIZE: u32 = 16;
/// How long a request waits for a connection before it gets 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Pool = r2d2::Pool<pool::Manager>;
/// A connection taken from the pool.
pub(crate) type Conn = r2d2::PooledConnection<pool::Manager>;

/// The PostgreSQL backend of the [`Store`](super::Store) traits.
pub struct PgStore {
    /// `Some` until dropped (see the `Drop` impl).
    pool: Option<Pool>,
    /// How to connect, for the connections outside the pool (the listener).
    config: postgres::Config,
    /// This replica's random id, which its notices carry so that it skips its own.
    replica: String,
    /// The database, as errors name it: host (or socket directory), port and database name,
    /// never the password.
    target: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (a `postgres://` URL or a `key=value` string),
    /// applies the schema's migrations, and opens the pool.
    ///
    /// An unreachable database is [`StoreError::Unreachable`], naming the host; a schema
    /// written by a newer netward is refused with both versions named.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::BadDatabaseUrl(first_line(&e.to_string())))?;
        let target = describe(&config);
        let mut first = config
            .clone()
            .connect_timeout(CONNECT_TIMEOUT)
            .connect(NoTls)
            .map_err(|source| StoreError::Unreachable {
                target: target.clone(),
                source: Box::new(source),
            })?;
        schema::migrate(&mut first)?;
        drop(first);
        let mut config = config;
        config.connect_timeout(CONNECT_TIMEOUT);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            .build_unchecked(pool::Manager::new(config.clone()));
        Ok(Self {
            pool: Some(pool),
            config,
            replica: replica_id(),
            target,
        })
    }

    /// The database, as errors and logs name it.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A connection from the pool; [`StoreError::Unavailable`] when the database cannot be
    /// reached now (the request gets 503, and a later one reconnects).
    pub(crate) fn conn(&self) -> Result<Conn, StoreError> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("the store is closed".into()))?;
        pool.get().map_err(|source| StoreError::Unavailable {
            operation: "connect to the database",
            reason: "the database cannot be reached",
            source: Box::new(source),
        })
    }
}

impl Drop for PgStore {
    /// Each pooled client runs a small runtime of its own, which must not be dropped on an
    /// async thread (tokio forbids it): when the last handle goes on one, the pool is dropped
    /// on a thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::Builder::new()
                .name("netward-pg-close".into())
                .spawn(move || drop(pool));
        }
    }
}

/// 8 random bytes, hex: a replica's id in its notices.
fn replica_id() -> String {
    let mut bytes = [0u8; 8];
    // A failed generator leaves zeros: notices from another such replica would then be
    // skipped as our own, so say so.
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("The system random generator failed; this replica's id is not unique.");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `host:port/dbname` of a connection configuration, for messages.
fn describe(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let host = if hosts.is_empty() {
        "localhost".to_owned()
    } else {
        hosts.join(",")
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

/// Maps a database error to [`StoreError::Unavailable`] when it passes or an operator fixes it
/// (a lost connection, a shutdown, a full disk, a read-only standby), and to
/// [`StoreError::Database`] otherwise, naming the operation.
pub(crate) fn pg(operation: &'static str) -> impl FnOnce(postgres::Error) -> StoreError {
    move |source| match unavailable_reason(&source) {
        Some(reason) => StoreError::Unavailable {
            operation,
            reason,
            source: Box::new(source),
        },
        None => StoreError::database(operation, source),
    }
}

fn unavailable_reason(e: &postgres::Error) -> Option<&'static str> {
    use postgres::error::SqlState;
    if e.is_closed() {
        return Some("the database connection was lost");
    }
    let Some(code) = e.code() else {
        // No SQLSTATE: the socket failed, not a statement.
        return Some("the database connection was lost");
    };
    let class = code.code().get(..2).unwrap_or_default();
    if class == "08" || class == "57" {
        return Some("the database is shutting down or unreachable");
    }
    if *code == SqlState::DISK_FULL || class == "53" {
        return Some("the database is out of disk, memory or connections");
    }
    if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        return Some("the database is read-only (a standby?)");
    }
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return Some("the database aborted a conflicting transaction; retry");
    }
    None
}

/// Whether `e` is a unique-key violation.
pub(crate) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// Starts a transaction that will write an audit-log entry: it first takes [`AUDIT_LOCK`], so
/// that audit ids, and with them policy versions, are commit-ordered across replicas.
pub(crate) fn begin_audited(client: &mut Client) -> Result<Transaction<'_>, StoreError> {
    let mut tx = client.transaction().map_err(pg("begin"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .map_err(pg("take the audit lock"))?;
    Ok(tx)
}

/// Writes the audit-log entry of a change, inside the change's transaction (begun with
/// [`begin_audited`]); its id.
pub(crate) fn audit(
    tx: &mut Transaction<'_>,
    change: &Change<'_>,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<i64, StoreError> {
    tx.query_one(
        "INSERT INTO audit_log (at, actor, actor_kind, action, target, detail) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            &change.at,
            &change.actor.name,
            &change.actor.kind.as_str(),
            &action,
            &target,
            &detail.to_string(),
        ],
    )
    .map(|row| row.get(0))
    .map_err(pg("write audit log"))
}

/// A count as PostgreSQL stores it.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored count (never negative; 0 if it was).
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use super::*;

    #[test]
    fn an_unreachable_database_is_named_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "host={} port=5432 user=netward password=hunter2 dbname=fleet",
            dir.path().display()
        );
        let error = PgStore::open(&url).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("{}:5432/fleet", dir.path().display())),
            "{message}"
        );
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        assert!(matches!(
            PgStore::open("postgres://a@host:notaport/x"),
            Err(StoreError::BadDatabaseUrl(_))
        ));
    }

    #[test]
    fn a_schema_from_a_newer_netward_is_refused_with_both_versions() {
        let cluster = netward_testkit::postgres::PgCluster::start();
        let url = cluster.create_database("newer");
        drop(PgStore::open(&url).unwrap());
        let mut client = postgres::Client::connect(&url, NoTls).unwrap();
        client
            .execute("INSERT INTO netward_schema (version) VALUES (99)", &[])
            .unwrap();
        let error = PgStore::open(&url).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "the database's schema is version 99, newer than this netward's ({}); run the newer netward, or restore a backup",
                schema::SCHEMA_VERSION
            )
        );
    }

    #[test]
    fn replicas_starting_at_once_migrate_once() {
        let cluster = netward_testkit::postgres::PgCluster::start();
        let url = cluster.create_database("race");
        let opened: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(|| PgStore::open(&url))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(opened.iter().all(Result::is_ok), "{opened:?}");
        let mut client = postgres::Client::connect(&url, NoTls).unwrap();
        let versions: Vec<i32> = client
            .query("SELECT version FROM netward_schema ORDER BY version", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(versions, (1..=schema::SCHEMA_VERSION).collect::<Vec<_>>());
    }
}
