//! Feeds: subscriptions, runs, held-back items, and a run's indicator changes applied in one
//! transaction with one summary audit entry (the new policy version), the way an import is.

use netward_model::{ActorKind, IndicatorValue};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, ToSql, Transaction, params};
use serde_json::json;

use super::import::{INSERT_SQL, OwnedParams, UPDATE_SQL, row_params};
use super::indicators::{INDICATOR_COLUMNS, query_indicators};
use super::{SqliteStore, audit, db, to_json, to_u64};
use crate::feeds::config::{FeedConfig, FeedSecrets, FeedSettings};
use crate::feeds::delta::FeedContent;
use crate::feeds::{FeedItem, Refusal, Validators};
use crate::store::feeds::{
    AppliedRun, FeedChanges, FeedRecord, FeedRun, FeedState, FeedStore, REFUSALS_KEPT, RUNS_KEPT,
    RunStatus,
};
use crate::store::{Change, StoreError};

const FEED_COLUMNS: &str = "id, name, kind, url, collection, username, password, api_key, \
    api_key_header, ca_cert, settings, etag, last_modified, cursor, last_run_at, retry_at, \
    created_at, created_by, \
    (SELECT count(*) FROM indicators WHERE created_by_kind = 'Feed' AND created_by = feeds.name)";

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
    filter: &str,
    args: &[&dyn ToSql],
) -> Result<Vec<FeedRecord>, StoreError> {
    let sql = format!("SELECT {FEED_COLUMNS} FROM feeds {filter} ORDER BY name");
    let mut st = conn.prepare_cached(&sql).map_err(db("read feeds"))?;
    let rows = st.query_map(args, read_feed).map_err(db("read feeds"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(db("read feeds"))??);
    }
    Ok(out)
}

/// What the audit log records of a feed: everything but its secrets.
fn feed_detail(c: &FeedConfig) -> serde_json::Value {
    json!({
        "kind": c.kind.as_str(),
        "url": c.url,
        "collection": c.collection,
        "username": c.secrets.username,
        "passwordSet": c.secrets.password.is_some(),
        "apiKeySet": c.secrets.api_key.is_some(),
        "caCertSet": c.ca_cert.is_some(),
        "settings": c.settings,
    })
}

fn write_state(tx: &Transaction<'_>, feed_id: i64, s: &FeedState) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE feeds SET etag = ?1, last_modified = ?2, cursor = ?3, last_run_at = ?4, \
         retry_at = ?5 WHERE id = ?6",
        params![
            s.validators.etag,
            s.validators.last_modified,
            s.cursor,
            s.last_run_at,
            s.retry_at,
            feed_id
        ],
    )
    .map_err(db("write feed state"))?;
    Ok(())
}

fn write_run(tx: &Transaction<'_>, feed_id: i64, run: &FeedRun) -> Result<(), StoreError> {
    let refusals: Vec<serde_json::Value> = run
        .refusals
        .iter()
        .take(REFUSALS_KEPT)
        .map(|r| json!({"at": r.at, "entry": r.entry, "reason": r.reason}))
        .collect();
    tx.execute(
        "INSERT INTO feed_runs (feed_id, started_at, finished_at, http_status, status, added, \
         updated, removed, unchanged, refused, refusals, error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            feed_id,
            run.started_at,
            run.finished_at,
            run.http_status,
            run.status.as_str(),
            super::to_i64(run.added),
            super::to_i64(run.updated),
            super::to_i64(run.removed),
            super::to_i64(run.unchanged),
            super::to_i64(run.refused),
            to_json(&refusals)?,
            run.error
        ],
    )
    .map_err(db("record feed run"))?;
    tx.execute(
        "DELETE FROM feed_runs WHERE feed_id = ?1 AND id NOT IN \
         (SELECT id FROM feed_runs WHERE feed_id = ?1 ORDER BY id DESC LIMIT ?2)",
        params![feed_id, RUNS_KEPT as i64],
    )
    .map_err(db("record feed run"))?;
    Ok(())
}

fn read_run(r: &Row<'_>) -> rusqlite::Result<Result<FeedRun, StoreError>> {
    let status: String = r.get(4)?;
    let refusals: String = r.get(10)?;
    let Some(status) = RunStatus::parse(&status) else {
        return Ok(Err(StoreError::Corrupt(format!(
            "feed run status {status}"
        ))));
    };
    let refusals: Vec<serde_json::Value> = serde_json::from_str(&refusals).unwrap_or_default();
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    Ok(Ok(FeedRun {
        started_at: r.get(0)?,
        finished_at: r.get(1)?,
        http_status: r.get(2)?,
        error: r.get(3)?,
        status,
        added: to_u64(r.get(5)?),
        updated: to_u64(r.get(6)?),
        removed: to_u64(r.get(7)?),
        unchanged: to_u64(r.get(8)?),
        refused: to_u64(r.get(9)?),
        refusals: refusals
            .iter()
            .map(|v| Refusal {
                at: text(v, "at"),
                entry: text(v, "entry"),
                reason: text(v, "reason"),
            })
            .collect(),
    }))
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
            params![
                c.name,
                c.kind.as_str(),
                c.url,
                c.collection,
                c.secrets.username,
                c.secrets.password,
                c.secrets.api_key,
                c.secrets.api_key_header,
                c.ca_cert,
                to_json(&c.settings)?,
                change.at,
                change.actor.name
            ],
        );
        match inserted {
            Err(e) if super::is_unique_violation(&e) => return Ok(None),
            other => other.map_err(db("create feed"))?,
        };
        audit(
            &tx,
            change,
            "feed.create",
            &format!("feed {}", c.name),
            &feed_detail(c),
        )?;
        let made = select_feeds(&tx, "WHERE name = ?1", &[&c.name])?
            .into_iter()
            .next();
        tx.commit().map_err(db("commit create feed"))?;
        Ok(made)
    }

    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError> {
        select_feeds(&*self.conn()?, "", &[])
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
                params![
                    c.name,
                    c.kind.as_str(),
                    c.url,
                    c.collection,
                    c.secrets.username,
                    c.secrets.password,
                    c.secrets.api_key,
                    c.secrets.api_key_header,
                    c.ca_cert,
                    to_json(&c.settings)?
                ],
            )
            .map_err(db("update feed"))?;
        if updated == 0 {
            return Ok(None);
        }
        audit(
            &tx,
            change,
            "feed.update",
            &format!("feed {}", c.name),
            &feed_detail(c),
        )?;
        let made = select_feeds(&tx, "WHERE name = ?1", &[&c.name])?
            .into_iter()
            .next();
        tx.commit().map_err(db("commit update feed"))?;
        Ok(made)
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

/// The alert of a refused run; see [`FeedStore::raise_feed_alert`].
fn raise_alert(
    tx: &Transaction<'_>,
    feed: &str,
    title: &str,
    severity: netward_model::Severity,
    at_ms: i64,
) -> Result<i64, StoreError> {
    let subject = format!("feed {feed}");
    let open: Option<(i64, i64)> = tx
        .query_row(
            "SELECT id, incident_id FROM alerts WHERE device_id = 0 AND indicator_id = 0 \
             AND indicator_value = ?1 AND status != 'resolved' ORDER BY id DESC LIMIT 1",
            [&subject],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db("raise feed alert"))?;
    if let Some((alert, incident)) = open {
        tx.execute(
            "UPDATE alerts SET hit_count = hit_count + 1, last_ms = ?2, title = ?3 WHERE id = ?1",
            params![alert, at_ms, title],
        )
        .map_err(db("raise feed alert"))?;
        tx.execute(
            "UPDATE incidents SET last_ms = ?2 WHERE id = ?1",
            params![incident, at_ms],
        )
        .map_err(db("raise feed alert"))?;
        return Ok(alert);
    }
    tx.execute(
        "INSERT INTO incidents (indicator_id, indicator_value, title, severity, status, first_ms, \
         last_ms) VALUES (0, ?1, ?2, ?3, 'new', ?4, ?4)",
        params![subject, title, severity.as_str(), at_ms],
    )
    .map_err(db("raise feed alert"))?;
    let incident = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO alerts (incident_id, device_id, indicator_id, indicator_value, title, \
         severity, recommended_actions, status, first_ms, last_ms, hit_count, outcomes) \
         VALUES (?1, 0, 0, ?2, ?3, ?4, ?5, 'new', ?6, ?6, 1, '[]')",
        params![
            incident,
            subject,
            title,
            severity.as_str(),
            "Look at the feed's last runs (netward feed show): if the source really shrank, raise its maxShrinkPercent and sync it; until then it keeps its last good content.",
            at_ms
        ],
    )
    .map_err(db("raise feed alert"))?;
    Ok(tx.last_insert_rowid())
}

/// Writes a run's indicator changes under one summary audit entry, whose id marks every row
/// written (as an import's does) and becomes the policy version.
fn write_changes(
    tx: &Transaction<'_>,
    feed: &FeedRecord,
    changes: &FeedChanges<'_>,
    change: &Change<'_>,
) -> Result<AppliedRun, StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, actor_kind, action, target, detail) \
         VALUES (?1, ?2, ?3, 'feed.sync', ?4, ?5)",
        params![
            change.at,
            change.actor.name,
            change.actor.kind.as_str(),
            format!("feed {}", feed.config.name),
            json!({
                "created": changes.creates.len(),
                "updated": changes.updates.len(),
                "deleted": changes.deletes.len(),
            })
            .to_string()
        ],
    )
    .map_err(db("write audit log"))?;
    let run_id = tx.last_insert_rowid();
    // The feed creates its indicators, whoever asked for the run.
    let creator = netward_model::Actor {
        name: feed.config.name.clone(),
        kind: ActorKind::Feed,
    };
    let by_feed = Change {
        actor: &creator,
        at: change.at,
    };
    let kind = ActorKind::Feed.as_str();
    let mut delete = tx
        .prepare_cached("DELETE FROM indicators WHERE id = ?1")
        .map_err(db("feed run"))?;
    for id in changes.deletes {
        delete.execute([id]).map_err(db("feed run"))?;
    }
    let mut update = tx.prepare_cached(UPDATE_SQL).map_err(db("feed run"))?;
    for (id, d) in changes.updates {
        let value = d.value.to_string();
        let owned = OwnedParams::of(d)?;
        let params = row_params(d, &value, &owned, &by_feed, &kind, &run_id);
        let mut args: Vec<&dyn ToSql> = params[..16].to_vec();
        args.extend_from_slice(&params[19..]);
        args.push(id);
        update.execute(args.as_slice()).map_err(db("feed run"))?;
    }
    let mut insert = tx.prepare_cached(INSERT_SQL).map_err(db("feed run"))?;
    let mut owner = tx
        .prepare_cached("SELECT created_by, created_by_kind FROM indicators WHERE value = ?1")
        .map_err(db("feed run"))?;
    let mut applied = AppliedRun::default();
    for d in changes.creates {
        let value = d.value.to_string();
        let owned = OwnedParams::of(d)?;
        let params = row_params(d, &value, &owned, &by_feed, &kind, &run_id);
        if insert.execute(&params[..]).map_err(db("feed run"))? == 1 {
            applied.created.push(tx.last_insert_rowid());
        } else {
            let (by, by_kind): (String, String) = owner
                .query_row([&value], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db("feed run"))?
                .unwrap_or_default();
            let who = if by_kind == ActorKind::Feed.as_str() {
                format!("feed {by}")
            } else {
                by
            };
            applied.created.push(0);
            applied.taken.push((value, who));
        }
    }
    Ok(applied)
}
