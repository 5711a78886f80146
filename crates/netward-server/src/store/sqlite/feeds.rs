//! Feeds: subscriptions, runs, held-back items, and a run's indicator changes applied in one
//! transaction with one summary audit entry (the new policy version), the way an import is.

use netward_model::IndicatorValue;
use rusqlite::types::Value;
use rusqlite::{Connection, Row, ToSql, params, params_from_iter};
use serde_json::json;

use super::feed_runs::{raise_alert, read_run, write_changes, write_run, write_state};
use super::indicators::{INDICATOR_COLUMNS, query_indicators};
use super::{SqliteStore, audit, db, to_json, to_u64};
use crate::feeds::config::{FeedConfig, FeedSecrets, FeedSettings};
use crate::feeds::delta::FeedContent;
use crate::feeds::{FeedItem, Refusal, Validators};
use crate::store::columns::feed_detail;
use crate::store::feeds::{AppliedRun, FeedChanges, FeedRecord, FeedRun, FeedState, FeedStore};
use crate::store::{Change, FeedColumn, ListPage, StoreError};

const FEED_COLUMNS: &str = "id, name, kind, url, collection, username, password, api_key, \
    api_key_header, ca_cert, settings, etag, last_modified, cursor, last_run_at, retry_at, \
    created_at, created_by, \
    (SELECT count(*) FROM indicators WHERE created_by_kind = 'Feed' AND created_by = feeds.name)";

/// Audits `action` on the feed `c`, reads it back and commits: what creating or changing a
/// feed ends with.
fn audited_commit(
    tx: rusqlite::Transaction<'_>,
    change: &Change<'_>,
    action: &str,
    c: &FeedConfig,
) -> Result<Option<FeedRecord>, StoreError> {
    audit(
        &tx,
        change,
        action,
        &format!("feed {}", c.name),
        &feed_detail(c),
    )?;
    let made = select_feeds(&tx, "WHERE name = ?1", &[&c.name])?
        .into_iter()
        .next();
    tx.commit().map_err(db("commit a feed's change"))?;
    Ok(made)
}

fn read_feed(r: &Row<'_>) -> rusqlite::Result<Result<FeedRecord, StoreError>> {
    let name: String = r.get(1)?;
    let kind: String = r.get(2)?;
    let settings: String = r.get(10)?;
    let corrupt = |what: String| StoreError::Corrupt(format!("feed {name}: {what}"));
    let kind = match kind.parse() {
        Ok(k) => k,
        Err(e) => return Ok(Err(corrupt(format!("{e}")))),
    };
    let settings: FeedSettings = match serde_json::from_str(&settings) {
        Ok(s) => s,
        Err(e) => return Ok(Err(corrupt(format!("settings: {e}")))),
    };
    Ok(Ok(FeedRecord {
        id: r.get(0)?,
        config: FeedConfig {
            name: name.clone(),
            kind,
            url: r.get(3)?,
            collection: r.get(4)?,
            secrets: FeedSecrets {
                username: r.get(5)?,
                password: r.get(6)?,
                api_key: r.get(7)?,
                api_key_header: r.get(8)?,
            },
            ca_cert: r.get(9)?,
            settings,
        },
        state: FeedState {
            validators: Validators {
                etag: r.get(11)?,
                last_modified: r.get(12)?,
            },
            cursor: r.get(13)?,
            last_run_at: r.get(14)?,
            retry_at: r.get(15)?,
        },
        created_at: r.get(16)?,
        created_by: r.get(17)?,
        indicators: to_u64(r.get(18)?),
    }))
}

fn select_feeds(
    conn: &Connection,
    tail: &str,
    args: &[&dyn ToSql],
) -> Result<Vec<FeedRecord>, StoreError> {
    let sql = format!("SELECT {FEED_COLUMNS} FROM feeds {tail}");
    let mut st = conn.prepare_cached(&sql).map_err(db("read feeds"))?;
    let rows = st.query_map(args, read_feed).map_err(db("read feeds"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(db("read feeds"))??);
    }
    Ok(out)
}

/// The ten columns of a subscription, in the order `create_feed` and `update_feed` bind them.
fn config_params(c: &FeedConfig) -> Result<[Value; 10], StoreError> {
    let text = |t: &Option<String>| t.clone().map_or(Value::Null, Value::Text);
    Ok([
        Value::Text(c.name.clone()),
        Value::Text(c.kind.as_str().to_owned()),
        Value::Text(c.url.clone()),
        text(&c.collection),
        text(&c.secrets.username),
        text(&c.secrets.password),
        text(&c.secrets.api_key),
        text(&c.secrets.api_key_header),
        text(&c.ca_cert),
        Value::Text(to_json(&c.settings)?),
    ])
}

impl FeedStore for SqliteStore {
    fn create_feed(
        &self,
        c: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin create feed"))?;
        let inserted = tx.execute(
            "INSERT INTO feeds (name, kind, url, collection, username, password, api_key, \
             api_key_header, ca_cert, settings, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params_from_iter(config_params(c)?.into_iter().chain([
                Value::Integer(change.at),
                Value::Text(change.actor.name.clone()),
            ])),
        );
        match inserted {
            Err(e) if super::is_unique_violation(&e) => return Ok(None),
            other => other.map_err(db("create feed"))?,
        };
        audited_commit(tx, change, "feed.create", c)
    }

    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError> {
        select_feeds(&*self.conn()?, "ORDER BY name", &[])
    }

    fn feeds_page(
        &self,
        page: &ListPage<FeedColumn>,
    ) -> Result<(Vec<FeedRecord>, u64), StoreError> {
        let conn = self.conn()?;
        let list = select_feeds(&conn, &page.tail("name", "name"), &[])?;
        let total: i64 = conn
            .query_row("SELECT count(*) FROM feeds", [], |r| r.get(0))
            .map_err(db("count feeds"))?;
        Ok((list, to_u64(total)))
    }

    fn feed(&self, name: &str) -> Result<Option<FeedRecord>, StoreError> {
        Ok(select_feeds(&*self.conn()?, "WHERE name = ?1", &[&name])?
            .into_iter()
            .next())
    }

    fn update_feed(
        &self,
        c: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin update feed"))?;
        // A new URL or kind is another source: its validators and cursor no longer apply.
        let updated = tx
            .execute(
                "UPDATE feeds SET \
                 etag = CASE WHEN kind = ?2 AND url = ?3 THEN etag END, \
                 last_modified = CASE WHEN kind = ?2 AND url = ?3 THEN last_modified END, \
                 cursor = CASE WHEN kind = ?2 AND url = ?3 THEN cursor END, \
                 kind = ?2, url = ?3, collection = ?4, username = ?5, password = ?6, \
                 api_key = ?7, api_key_header = ?8, ca_cert = ?9, settings = ?10 WHERE name = ?1",
                params_from_iter(config_params(c)?),
            )
            .map_err(db("update feed"))?;
        if updated == 0 {
            return Ok(None);
        }
        audited_commit(tx, change, "feed.update", c)
    }

    fn delete_feed(&self, name: &str, change: &Change<'_>) -> Result<Option<Vec<i64>>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin delete feed"))?;
        let gone = tx
            .execute("DELETE FROM feeds WHERE name = ?1", [name])
            .map_err(db("delete feed"))?;
        if gone == 0 {
            return Ok(None);
        }
        let ids: Vec<i64> = tx
            .prepare(
                "DELETE FROM indicators WHERE created_by_kind = 'Feed' AND created_by = ?1 \
                 RETURNING id",
            )
            .and_then(|mut st| st.query_map([name], |r| r.get(0))?.collect())
            .map_err(db("delete feed"))?;
        audit(
            &tx,
            change,
            "feed.delete",
            &format!("feed {name}"),
            &json!({ "indicatorsDeleted": ids.len() }),
        )?;
        tx.commit().map_err(db("commit delete feed"))?;
        Ok(Some(ids))
    }

    fn feed_content(&self, feed: &FeedRecord) -> Result<FeedContent, StoreError> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT {INDICATOR_COLUMNS} FROM indicators \
             WHERE created_by_kind = 'Feed' AND created_by = ?1 ORDER BY id"
        );
        let indicators =
            query_indicators(&conn, &sql, vec![Value::Text(feed.config.name.clone())])?;
        let mut st = conn
            .prepare_cached(
                "SELECT value, external_id, comment, valid_from, valid_until, confidence \
                 FROM feed_pending WHERE feed_id = ?1 ORDER BY rowid",
            )
            .map_err(db("read feed"))?;
        let rows = st
            .query_map([feed.id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    FeedItem {
                        value: IndicatorValue::from(std::net::Ipv4Addr::UNSPECIFIED),
                        external_id: r.get(1)?,
                        comment: r.get(2)?,
                        valid_from: r.get(3)?,
                        valid_until: r.get(4)?,
                        confidence: r.get(5)?,
                    },
                ))
            })
            .map_err(db("read feed"))?;
        let mut pending = Vec::new();
        for row in rows {
            let (value, mut item) = row.map_err(db("read feed"))?;
            item.value = IndicatorValue::parse(&value)
                .map_err(|e| StoreError::Corrupt(format!("held-back item {value}: {e}")))?;
            pending.push(item);
        }
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
        let tx = conn.transaction().map_err(db("begin feed run"))?;
        let mut applied = AppliedRun::default();
        let changes_indicators = !(changes.creates.is_empty()
            && changes.updates.is_empty()
            && changes.deletes.is_empty());
        if changes_indicators {
            applied = write_changes(&tx, feed, changes, change)?;
        }
        tx.execute("DELETE FROM feed_pending WHERE feed_id = ?1", [feed.id])
            .map_err(db("write held-back items"))?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO feed_pending (feed_id, value, external_id, comment, valid_from, \
                     valid_until, confidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db("write held-back items"))?;
            for i in changes.pending {
                st.execute(params![
                    feed.id,
                    i.value.to_string(),
                    i.external_id,
                    i.comment,
                    i.valid_from,
                    i.valid_until,
                    i.confidence
                ])
                .map_err(db("write held-back items"))?;
            }
        }
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
        write_state(&tx, feed.id, state)?;
        write_run(&tx, feed.id, &run)?;
        tx.commit().map_err(db("commit feed run"))?;
        Ok(applied)
    }

    fn record_feed_run(
        &self,
        feed_id: i64,
        state: &FeedState,
        run: &FeedRun,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin feed run"))?;
        write_state(&tx, feed_id, state)?;
        write_run(&tx, feed_id, run)?;
        tx.commit().map_err(db("commit feed run"))
    }

    fn raise_feed_alert(
        &self,
        feed: &str,
        title: &str,
        severity: netward_model::Severity,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin feed alert"))?;
        let id = raise_alert(&tx, feed, title, severity, at_ms)?;
        tx.commit().map_err(db("commit feed alert"))?;
        Ok(id)
    }

    fn feed_runs(&self, feed_id: i64, limit: usize) -> Result<Vec<FeedRun>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare_cached(
                "SELECT started_at, finished_at, http_status, error, status, added, updated, \
                 removed, unchanged, refused, refusals FROM feed_runs WHERE feed_id = ?1 \
                 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(db("read feed runs"))?;
        let rows = st
            .query_map(params![feed_id, limit as i64], read_run)
            .map_err(db("read feed runs"))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(db("read feed runs"))??);
        }
        Ok(out)
    }
}
