//! A feed's runs: their records, the feed's state between runs, a run's indicator changes
//! (applied under one summary audit entry, the way an import is) and the alert of a refused
//! run. `feeds.rs` calls these inside its transactions.

#![allow(
    unused_variables,
    clippy::todo,
    reason = "the indicator parts wait for the indicator store's helpers"
)]

use postgres::{Client, Row, Transaction};
use serde_json::json;

use super::{pg, to_i64, to_json, to_u64};
use crate::feeds::Refusal;
use crate::store::feeds::{
    AppliedRun, FeedChanges, FeedRecord, FeedRun, FeedState, REFUSALS_KEPT, RUNS_KEPT, RunStatus,
};
use crate::store::{Change, StoreError};

pub(super) fn write_state(
    tx: &mut Transaction<'_>,
    feed_id: i64,
    s: &FeedState,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE feeds SET etag = $1, last_modified = $2, cursor = $3, last_run_at = $4, \
         retry_at = $5 WHERE id = $6",
        &[
            &s.validators.etag,
            &s.validators.last_modified,
            &s.cursor,
            &s.last_run_at,
            &s.retry_at,
            &feed_id,
        ],
    )
    .map_err(pg("write feed state"))?;
    Ok(())
}

pub(super) fn write_run(
    tx: &mut Transaction<'_>,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &feed_id,
            &run.started_at,
            &run.finished_at,
            &run.http_status.map(i32::from),
            &run.status.as_str(),
            &to_i64(run.added),
            &to_i64(run.updated),
            &to_i64(run.removed),
            &to_i64(run.unchanged),
            &to_i64(run.refused),
            &to_json(&refusals)?,
            &run.error,
        ],
    )
    .map_err(pg("record feed run"))?;
    tx.execute(
        "DELETE FROM feed_runs WHERE feed_id = $1 AND id NOT IN \
         (SELECT id FROM feed_runs WHERE feed_id = $1 ORDER BY id DESC LIMIT $2)",
        &[&feed_id, &(RUNS_KEPT as i64)],
    )
    .map_err(pg("record feed run"))?;
    Ok(())
}

pub(super) fn read_run(r: &Row) -> Result<FeedRun, StoreError> {
    let read = || -> Result<(FeedRun, String, String), postgres::Error> {
        let http_status: Option<i32> = r.try_get(2)?;
        Ok((
            FeedRun {
                started_at: r.try_get(0)?,
                finished_at: r.try_get(1)?,
                http_status: http_status.and_then(|s| u16::try_from(s).ok()),
                error: r.try_get(3)?,
                status: RunStatus::Unchanged,
                added: to_u64(r.try_get(5)?),
                updated: to_u64(r.try_get(6)?),
                removed: to_u64(r.try_get(7)?),
                unchanged: to_u64(r.try_get(8)?),
                refused: to_u64(r.try_get(9)?),
                refusals: Vec::new(),
            },
            r.try_get(4)?,
            r.try_get(10)?,
        ))
    };
    let (mut run, status, refusals) = read().map_err(pg("read feed runs"))?;
    run.status = RunStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("feed run status {status}")))?;
    let refusals: Vec<serde_json::Value> = serde_json::from_str(&refusals).unwrap_or_default();
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    run.refusals = refusals
        .iter()
        .map(|v| Refusal {
            at: text(v, "at"),
            entry: text(v, "entry"),
            reason: text(v, "reason"),
        })
        .collect();
    Ok(run)
}

/// The alert of a refused run; see [`FeedStore::raise_feed_alert`].
///
/// [`FeedStore::raise_feed_alert`]: crate::store::FeedStore::raise_feed_alert
pub(super) fn raise_alert(
    tx: &mut Transaction<'_>,
    feed: &str,
    title: &str,
    severity: netward_model::Severity,
    at_ms: i64,
) -> Result<i64, StoreError> {
    let subject = format!("feed {feed}");
    let open: Option<(i64, i64)> = tx
        .query_opt(
            "SELECT id, incident_id FROM alerts WHERE device_id = 0 AND indicator_id = 0 \
             AND indicator_value = $1 AND status != 'resolved' ORDER BY id DESC LIMIT 1",
            &[&subject],
        )
        .map_err(pg("raise feed alert"))?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
        .map_err(pg("raise feed alert"))?;
    if let Some((alert, incident)) = open {
        tx.execute(
            "UPDATE alerts SET hit_count = hit_count + 1, last_ms = $2, title = $3 WHERE id = $1",
            &[&alert, &at_ms, &title],
        )
        .map_err(pg("raise feed alert"))?;
        tx.execute(
            "UPDATE incidents SET last_ms = $2 WHERE id = $1",
            &[&incident, &at_ms],
        )
        .map_err(pg("raise feed alert"))?;
        return Ok(alert);
    }
    let incident: i64 = tx
        .query_one(
            "INSERT INTO incidents (indicator_id, indicator_value, title, severity, status, \
             first_ms, last_ms) VALUES (0, $1, $2, $3, 'new', $4, $4) RETURNING id",
            &[&subject, &title, &severity.as_str(), &at_ms],
        )
        .and_then(|r| r.try_get(0))
        .map_err(pg("raise feed alert"))?;
    tx.query_one(
        "INSERT INTO alerts (incident_id, device_id, indicator_id, indicator_value, title, \
         severity, recommended_actions, status, first_ms, last_ms, hit_count, outcomes) \
         VALUES ($1, 0, 0, $2, $3, $4, $5, 'new', $6, $6, 1, '[]') RETURNING id",
        &[
            &incident,
            &subject,
            &title,
            &severity.as_str(),
            &"Look at the feed's last runs (netward feed show): if the source really shrank, raise its maxShrinkPercent and sync it; until then it keeps its last good content.",
            &at_ms,
        ],
    )
    .and_then(|r| r.try_get(0))
    .map_err(pg("raise feed alert"))
}

/// The indicators the feed `name` made, by id.
pub(super) fn feed_indicators(
    client: &mut Client,
    name: &str,
) -> Result<Vec<netward_model::Indicator>, StoreError> {
    todo!("postgres: with the indicator store's row reader")
}

/// Writes a run's indicator changes under one summary audit entry, whose id marks every row
/// written (as an import's does) and becomes the policy version.
pub(super) fn write_changes(
    tx: &mut Transaction<'_>,
    feed: &FeedRecord,
    changes: &FeedChanges<'_>,
    change: &Change<'_>,
) -> Result<AppliedRun, StoreError> {
    todo!("postgres: with the indicator store's column arrays")
}
