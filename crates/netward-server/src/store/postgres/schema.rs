//! The PostgreSQL schema and its migrations. The table `netward_schema` holds the versions
//! applied. A replica migrates under a session advisory lock ([`MIGRATE_LOCK`]), in one
//! transaction, so two replicas starting at once apply each migration once, and a failed
//! start leaves the database as it was.
//!
//! Version 1 is the sum of each resource's `SCHEMA`, kept beside the code that uses it.

use postgres::Client;

use super::{MIGRATE_LOCK, pg};
use crate::store::StoreError;

/// The migrations, in order: entry `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&[&str]] = &[&[
    super::audit::SCHEMA,
    super::indicators::SCHEMA,
    super::fleet::SCHEMA,
    super::enrollment::SCHEMA,
    super::tokens::SCHEMA,
    super::detection::SCHEMA,
    super::feeds::SCHEMA,
    super::history::SCHEMA,
]];

/// The version this netward writes.
pub(super) const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the schema to [`SCHEMA_VERSION`]; refuses one written by a newer netward.
pub(super) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
        .map_err(pg("take the migration lock"))?;
    let outcome = migrate_locked(client);
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
        .map_err(pg("release the migration lock"));
    outcome.and(unlocked.map(|_| ()))
}

fn migrate_locked(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS netward_schema (\
                version integer PRIMARY KEY, \
                applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .map_err(pg("create the schema table"))?;
    let found: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM netward_schema", &[])
        .map_err(pg("read the schema version"))?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: i64::from(found),
            ours: i64::from(SCHEMA_VERSION),
        });
    }
    let mut tx = client.transaction().map_err(pg("migrate"))?;
    for (i, parts) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        for part in *parts {
            tx.batch_execute(part).map_err(pg("migrate"))?;
        }
        let version = i as i32 + 1;
        tx.execute(
            "INSERT INTO netward_schema (version) VALUES ($1)",
            &[&version],
        )
        .map_err(pg("migrate"))?;
    }
    tx.commit().map_err(pg("migrate"))
}
