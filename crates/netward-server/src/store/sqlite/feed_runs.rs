//! A feed's runs: their records, the feed's state between runs, a run's indicator changes
//! (applied under one summary audit entry, the way an import is) and the alert of a refused
//! run. `feeds.rs` calls these inside its transactions.

use netward_model::ActorKind;
use rusqlite::{OptionalExtension, Row, ToSql, Transaction, params};
use serde_json::json;

use super::import::{INSERT_SQL, OwnedParams, UPDATE_SQL, row_params};
use super::{db, to_json, to_u64};
use crate::feeds::Refusal;
use crate::store::feeds::{
    AppliedRun, FeedChanges, FeedRecord, FeedRun, FeedState, REFUSALS_KEPT, RUNS_KEPT, RunStatus,
};
use crate::store::{Change, StoreError};

pub(super) fn write_state(
    tx: &Transaction<'_>,
    feed_id: i64,
    s: &FeedState,
) -> Result<(), StoreError> {
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

pub(super) fn write_run(
    tx: &Transaction<'_>,
    feed_id: i64,
    run: &FeedRun,
) -> Result<(), StoreError> {
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

pub(super) fn read_run(r: &Row<'_>) -> rusqlite::Result<Result<FeedRun, StoreError>> {
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

/// The alert of a refused run; see [`FeedStore::raise_feed_alert`].
pub(super) fn raise_alert(
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
pub(super) fn write_changes(
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
