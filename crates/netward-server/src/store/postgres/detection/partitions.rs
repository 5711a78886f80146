//! The daily partitions of `events`: created ahead of the rows that need them, dropped whole
//! at retention.
//!
//! A batch's days are created before the batch is stored, each in a short transaction of its
//! own under [`PARTITION_LOCK`], re-checked under the lock: two replicas creating the same
//! day at once create it once, and the loser finds it made. Only days near the server's clock
//! get a partition (from [`PAST_DAYS`] before the batch arrived to [`FUTURE_DAYS`] after), so
//! that an agent with a wrong clock, or a hostile one, cannot make a table per day of the
//! calendar: its events go to the default partition. When such a day later gets its partition,
//! its rows move out of the default one in the same transaction (PostgreSQL refuses a new
//! partition whose rows sit in the default one).

use std::collections::BTreeSet;

use postgres::Client;

use super::super::{pg, to_u64};
use crate::store::StoreError;

/// The advisory lock held while a partition is created.
const PARTITION_LOCK: i64 = 0x6e65_7477_6172_6403;

/// A day, in milliseconds: the width of a partition.
pub(super) const DAY_MS: i64 = 86_400_000;
/// How many days before the batch's arrival still get a partition of their own.
const PAST_DAYS: i64 = 400;
/// How many days after it.
const FUTURE_DAYS: i64 = 2;

/// The day `ms` falls in.
pub(super) fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The partition of day `day` (never negative).
fn partition(day: i64) -> String {
    format!("events_d{day}")
}

/// The days of the partitions that exist, each with its table's name.
fn existing(client: &mut Client) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'events'::regclass",
            &[],
        )
        .map_err(pg("list event partitions"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.try_get(0).map_err(pg("list event partitions"))?;
        if let Some(day) = name
            .strip_prefix("events_d")
            .and_then(|d| d.parse::<i64>().ok())
        {
            out.push((day, name));
        }
    }
    Ok(out)
}

/// Makes sure each day of `last_ms` within the window around `at_ms` has its partition.
pub(super) fn ensure(
    client: &mut Client,
    last_ms: impl Iterator<Item = i64>,
    at_ms: i64,
) -> Result<(), StoreError> {
    let now = day_of(at_ms);
    let wanted: BTreeSet<i64> = last_ms
        .map(day_of)
        .filter(|d| *d >= 0 && (now - PAST_DAYS..=now + FUTURE_DAYS).contains(d))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = wanted.iter().map(|d| partition(*d)).collect();
    let found: Vec<String> = client
        .query(
            "SELECT relname::text FROM pg_class WHERE relname = ANY($1) AND relkind = 'r'",
            &[&names],
        )
        .map_err(pg("find event partitions"))?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg("find event partitions"))?;
    for day in wanted {
        if !found.contains(&partition(day)) {
            create(client, day)?;
        }
    }
    Ok(())
}

/// Creates day `day`'s partition unless another connection just did, moving its rows out of
/// the default partition.
fn create(client: &mut Client, day: i64) -> Result<(), StoreError> {
    let name = partition(day);
    let (lo, hi) = (day * DAY_MS, (day + 1) * DAY_MS);
    let mut tx = client.transaction().map_err(pg("create event partition"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
        .map_err(pg("take the partition lock"))?;
    let made: bool = tx
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .and_then(|r| r.try_get(0))
        .map_err(pg("find event partition"))?;
    if made {
        return tx.commit().map_err(pg("create event partition"));
    }
    let strays: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM events_default WHERE last_ms >= $1 AND last_ms < $2)",
            &[&lo, &hi],
        )
        .and_then(|r| r.try_get(0))
        .map_err(pg("read the default event partition"))?;
    let create =
        format!("CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ({lo}) TO ({hi})");
    let sql = if strays {
        format!(
            "CREATE TEMP TABLE netward_moving ON COMMIT DROP AS \
                SELECT * FROM events_default WHERE last_ms >= {lo} AND last_ms < {hi}; \
             DELETE FROM events_default WHERE last_ms >= {lo} AND last_ms < {hi}; \
             {create}; \
             INSERT INTO events SELECT * FROM netward_moving;"
        )
    } else {
        create
    };
    tx.batch_execute(&sql)
        .map_err(pg("create event partition"))?;
    tx.commit().map_err(pg("create event partition"))?;
    tracing::info!(partition = %name, moved = strays, "Created an event partition.");
    Ok(())
}

/// Deletes the events older than `before_ms`, with their index and evidence links and their
/// (device, seq) keys: whole days are dropped, and rows are deleted only in the day the cutoff
/// falls in (and in the default partition). How many events went.
pub(super) fn purge(client: &mut Client, before_ms: i64) -> Result<u64, StoreError> {
    let doomed: Vec<String> = existing(client)?
        .into_iter()
        .filter(|(day, _)| (day + 1) * DAY_MS <= before_ms)
        .map(|(_, name)| name)
        .collect();
    let mut tx = client.transaction().map_err(pg("purge"))?;
    for links in ["event_indicators", "alert_events"] {
        tx.execute(
            &format!(
                "DELETE FROM {links} WHERE event_id IN (SELECT id FROM events WHERE last_ms < $1)"
            ),
            &[&before_ms],
        )
        .map_err(pg("purge"))?;
    }
    tx.execute("DELETE FROM event_seqs WHERE last_ms < $1", &[&before_ms])
        .map_err(pg("purge"))?;
    let mut purged = 0;
    for name in &doomed {
        let rows: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {name}"), &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg("purge"))?;
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {name}"))
            .map_err(pg("purge"))?;
        purged += to_u64(rows);
    }
    purged += tx
        .execute("DELETE FROM events WHERE last_ms < $1", &[&before_ms])
        .map_err(pg("purge"))?;
    tx.commit().map_err(pg("purge"))?;
    if !doomed.is_empty() {
        tracing::info!(
            partitions = doomed.len(),
            purged,
            "Dropped old event partitions."
        );
    }
    Ok(purged)
}
