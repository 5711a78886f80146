//! The PostgreSQL side of [`FeedStore`](crate::store::FeedStore): subscriptions, runs,
//! held-back items, and a run's indicator changes applied in one transaction with one
//! summary audit entry (the new policy version), the way an import is. `feed_runs.rs` holds
//! the parts a run writes, `feed_pending.rs` the items held back. Tables and columns as on SQLite; `feed_pending` has an `id`
//! (SQLite's rowid) that keeps held-back items in the order they came.

use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};
use serde_json::json;

use super::feed_pending::{read_pending, write_pending};
use super::feed_runs::{
    feed_indicators, raise_alert, read_run, write_changes, write_run, write_state,
};
use super::{PgStore, audit, begin_audited, is_unique_violation, pg, to_json, to_u64};
use crate::feeds::config::{FeedConfig, FeedSecrets, FeedSettings};
use crate::feeds::delta::FeedContent;
use crate::feeds::{Refusal, Validators};
use crate::store::columns::feed_detail;
use crate::store::feeds::*;
use crate::store::{Change, FeedColumn, ListPage, StoreError};

/// This resource's part of schema version 1 (SQLite's version 8).
pub(super) const SCHEMA: &str = "
CREATE TABLE feeds (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL,
    url text NOT NULL,
    collection text,
    username text,
    password text,
    api_key text,
    api_key_header text,
    ca_cert text,
    settings text NOT NULL,
    etag text,
    last_modified text,
    cursor text,
    last_run_at bigint,
    retry_at bigint,
    created_at bigint NOT NULL,
    created_by text NOT NULL
);
CREATE TABLE feed_runs (
    id bigserial PRIMARY KEY,
    feed_id bigint NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    started_at bigint NOT NULL,
    finished_at bigint NOT NULL,
    http_status integer,
    status text NOT NULL,
    added bigint NOT NULL,
    updated bigint NOT NULL,
    removed bigint NOT NULL,
    unchanged bigint NOT NULL,
    refused bigint NOT NULL,
    refusals text NOT NULL,
    error text
);
CREATE INDEX feed_runs_feed ON feed_runs(feed_id, id);
CREATE TABLE feed_pending (
    id bigserial PRIMARY KEY,
    feed_id bigint NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    value text NOT NULL,
    external_id text,
    comment text,
    valid_from bigint,
    valid_until bigint,
    confidence integer
);
CREATE INDEX feed_pending_feed ON feed_pending(feed_id);
";

const FEED_COLUMNS: &str = "id, name, kind, url, collection, username, password, api_key, \
    api_key_header, ca_cert, settings, etag, last_modified, cursor, last_run_at, retry_at, \
    created_at, created_by, \
    (SELECT count(*) FROM indicators WHERE created_by_kind = 'Feed' AND created_by = feeds.name)";

/// Audits `action` on the feed `c`, reads it back and commits: what creating or changing a
/// feed ends with.
fn audited_commit(
    mut tx: Transaction<'_>,
    change: &Change<'_>,
    action: &str,
    c: &FeedConfig,
) -> Result<Option<FeedRecord>, StoreError> {
    audit(
        &mut tx,
        change,
        action,
        &format!("feed {}", c.name),
        &feed_detail(c),
    )?;
    let made = select_feeds(&mut tx, "WHERE name = $1", &[&c.name])?
        .into_iter()
        .next();
    tx.commit().map_err(pg("commit a feed's change"))?;
    Ok(made)
}

fn read_feed(r: &Row) -> Result<FeedRecord, StoreError> {
    let get = |e| pg("read feeds")(e);
    let name: String = r.try_get(1).map_err(get)?;
    let kind: String = r.try_get(2).map_err(get)?;
    let settings: String = r.try_get(10).map_err(get)?;
    let corrupt = |what: String| StoreError::Corrupt(format!("feed {name}: {what}"));
    let kind = kind.parse().map_err(|e| corrupt(format!("{e}")))?;
    let settings: FeedSettings =
        serde_json::from_str(&settings).map_err(|e| corrupt(format!("settings: {e}")))?;
    let read = || -> Result<FeedRecord, postgres::Error> {
        Ok(FeedRecord {
            id: r.try_get(0)?,
            config: FeedConfig {
                name: name.clone(),
                kind,
                url: r.try_get(3)?,
                collection: r.try_get(4)?,
                secrets: FeedSecrets {
                    username: r.try_get(5)?,
                    password: r.try_get(6)?,
                    api_key: r.try_get(7)?,
                    api_key_header: r.try_get(8)?,
                },
                ca_cert: r.try_get(9)?,
                settings: settings.clone(),
            },
            state: FeedState {
                validators: Validators {
                    etag: r.try_get(11)?,
                    last_modified: r.try_get(12)?,
                },
                cursor: r.try_get(13)?,
                last_run_at: r.try_get(14)?,
                retry_at: r.try_get(15)?,
            },
            created_at: r.try_get(16)?,
            created_by: r.try_get(17)?,
            indicators: to_u64(r.try_get(18)?),
        })
    };
    read().map_err(get)
}

fn select_feeds(
    client: &mut impl GenericClient,
    tail: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<FeedRecord>, StoreError> {
    let sql = format!("SELECT {FEED_COLUMNS} FROM feeds {tail}");
    let rows = client.query(&sql, args).map_err(pg("read feeds"))?;
    rows.iter().map(read_feed).collect()
}

/// The ten columns of a subscription, in the order `create_feed` and `update_feed` bind them.
type ConfigParams<'a> = (
    &'a str,
    &'static str,
    &'a str,
    &'a Option<String>,
    &'a Option<String>,
    &'a Option<String>,
    &'a Option<String>,
    &'a Option<String>,
    &'a Option<String>,
    String,
);

fn config_params(c: &FeedConfig) -> Result<ConfigParams<'_>, StoreError> {
    Ok((
        &c.name,
        c.kind.as_str(),
        &c.url,
        &c.collection,
        &c.secrets.username,
        &c.secrets.password,
        &c.secrets.api_key,
        &c.secrets.api_key_header,
        &c.ca_cert,
        to_json(&c.settings)?,
    ))
}

impl FeedStore for PgStore {
    fn create_feed(
        &self,
        c: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let p = config_params(c)?;
        let inserted = tx.execute(
            "INSERT INTO feeds (name, kind, url, collection, username, password, api_key, \
             api_key_header, ca_cert, settings, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &p.0,
                &p.1,
                &p.2,
                p.3,
                p.4,
                p.5,
                p.6,
                p.7,
                p.8,
                &p.9,
                &change.at,
                &change.actor.name,
            ],
        );
        match inserted {
            Err(e) if is_unique_violation(&e) => return Ok(None),
            other => other.map_err(pg("create feed"))?,
        };
        audited_commit(tx, change, "feed.create", c)
    }

    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError> {
        select_feeds(&mut **self.conn()?, "ORDER BY name", &[])
    }

    fn feeds_page(
        &self,
        page: &ListPage<FeedColumn>,
    ) -> Result<(Vec<FeedRecord>, u64), StoreError> {
        let mut conn = self.conn()?;
        let list = select_feeds(&mut **conn, &page.tail("name", "name"), &[])?;
        let total: i64 = conn
            .query_one("SELECT count(*) FROM feeds", &[])
            .map_err(pg("count feeds"))?
            .get(0);
        Ok((list, to_u64(total)))
    }

    fn feed(&self, name: &str) -> Result<Option<FeedRecord>, StoreError> {
        Ok(
            select_feeds(&mut **self.conn()?, "WHERE name = $1", &[&name])?
                .into_iter()
                .next(),
        )
    }

    fn update_feed(
        &self,
        c: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let p = config_params(c)?;
        // A new URL or kind is another source: its validators and cursor no longer apply.
        let updated = tx
            .execute(
                "UPDATE feeds SET \
                 etag = CASE WHEN kind = $2 AND url = $3 THEN etag END, \
                 last_modified = CASE WHEN kind = $2 AND url = $3 THEN last_modified END, \
                 cursor = CASE WHEN kind = $2 AND url = $3 THEN cursor END, \
                 kind = $2, url = $3, collection = $4, username = $5, password = $6, \
                 api_key = $7, api_key_header = $8, ca_cert = $9, settings = $10 WHERE name = $1",
                &[&p.0, &p.1, &p.2, p.3, p.4, p.5, p.6, p.7, p.8, &p.9],
            )
            .map_err(pg("update feed"))?;
        if updated == 0 {
            return Ok(None);
        }
        audited_commit(tx, change, "feed.update", c)
    }

    fn delete_feed(&self, name: &str, change: &Change<'_>) -> Result<Option<Vec<i64>>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let gone = tx
            .execute("DELETE FROM feeds WHERE name = $1", &[&name])
            .map_err(pg("delete feed"))?;
        if gone == 0 {
            return Ok(None);
        }
        let ids: Vec<i64> = tx
            .query(
                "DELETE FROM indicators WHERE created_by_kind = 'Feed' AND created_by = $1 \
                 RETURNING id",
                &[&name],
            )
            .map_err(pg("delete feed"))?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(pg("delete feed"))?;
        audit(
            &mut tx,
            change,
            "feed.delete",
            &format!("feed {name}"),
            &json!({ "indicatorsDeleted": ids.len() }),
        )?;
        tx.commit().map_err(pg("commit delete feed"))?;
        Ok(Some(ids))
    }

    fn feed_content(&self, feed: &FeedRecord) -> Result<FeedContent, StoreError> {
        let mut conn = self.conn()?;
        let indicators = feed_indicators(&mut conn, &feed.config.name)?;
        let pending = read_pending(&mut conn, feed.id)?;
        Ok(FeedContent {
            indicators,
            pending,
        })
    }

    fn apply_feed_run(
        &self,
        feed: &FeedRecord,
        changes: &FeedChanges<'_>,
        state: &FeedState,
        run: &FeedRun,
        change: &Change<'_>,
    ) -> Result<AppliedRun, StoreError> {
        let mut conn = self.conn()?;
        let changes_indicators = !(changes.creates.is_empty()
            && changes.updates.is_empty()
            && changes.deletes.is_empty());
        // Only a run that changes indicators writes an audit entry (a new version).
        let mut tx = if changes_indicators {
            begin_audited(&mut conn)?
        } else {
            conn.transaction().map_err(pg("begin feed run"))?
        };
        let mut applied = AppliedRun::default();
        if changes_indicators {
            applied = write_changes(&mut tx, feed, changes, change)?;
        }
        write_pending(&mut tx, feed.id, changes.pending)?;
        // Values another indicator holds were not created: the run says so, per value.
        let mut run = run.clone();
        let taken = applied.taken.len() as u64;
        run.added = run.added.saturating_sub(taken);
        run.refused += taken;
        run.refusals
            .extend(applied.taken.iter().map(|(value, owner)| Refusal {
                at: value.clone(),
                entry: value.clone(),
                reason: format!(
                    "{value} is already an indicator made by {owner}; it stays as it is"
                ),
            }));
        write_state(&mut tx, feed.id, state)?;
        write_run(&mut tx, feed.id, &run)?;
        tx.commit().map_err(pg("commit feed run"))?;
        Ok(applied)
    }

    fn record_feed_run(
        &self,
        feed_id: i64,
        state: &FeedState,
        run: &FeedRun,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(pg("begin feed run"))?;
        write_state(&mut tx, feed_id, state)?;
        write_run(&mut tx, feed_id, run)?;
        tx.commit().map_err(pg("commit feed run"))
    }

    fn raise_feed_alert(
        &self,
        feed: &str,
        title: &str,
        severity: netward_model::Severity,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(pg("begin feed alert"))?;
        let id = raise_alert(&mut tx, feed, title, severity, at_ms)?;
        tx.commit().map_err(pg("commit feed alert"))?;
        Ok(id)
    }

    fn feed_runs(&self, feed_id: i64, limit: usize) -> Result<Vec<FeedRun>, StoreError> {
        let mut conn = self.conn()?;
        conn.query(
            "SELECT started_at, finished_at, http_status, error, status, added, updated, \
             removed, unchanged, refused, refusals FROM feed_runs WHERE feed_id = $1 \
             ORDER BY id DESC LIMIT $2",
            &[&feed_id, &(limit as i64)],
        )
        .map_err(pg("read feed runs"))?
        .iter()
        .map(read_run)
        .collect()
    }
}
