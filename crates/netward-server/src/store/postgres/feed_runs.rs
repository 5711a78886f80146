//! A feed's runs: their records, the feed's state between runs, a run's indicator changes
//! (applied under one summary audit entry, the way an import is) and the alert of a refused
//! run. `feeds.rs` calls these inside its transactions.

use netward_model::{ActorKind, IndicatorDraft};
use postgres::types::ToSql;
use postgres::{Client, Row, Transaction};
use serde_json::json;

use super::indicator_query::{bound_bytes, family};
use super::indicators::{INDICATOR_COLUMNS, query_indicators};
use super::{audit, pg, to_i64, to_json, to_u64};
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
    let sql = format!(
        "SELECT {INDICATOR_COLUMNS} FROM indicators \
         WHERE created_by_kind = 'Feed' AND created_by = $1 ORDER BY id"
    );
    query_indicators(client, &sql, &[&name])
}

/// A new indicator of a feed's run: `$1`…`$16` the draft's columns, `$17`…`$19` the feed, the
/// kind and the time, `$20` the run's audit id. A value another indicator holds stays as it
/// is, and nothing comes back.
const CREATE_SQL: &str = "INSERT INTO indicators (value, family, range_start, range_end, action, \
    title, description, severity, expires_at, generate_alert, recommended_actions, groups, \
    external_id, application, category, mitre_techniques, action_name, educate_url, \
    created_by, created_by_kind, created_at, updated_by, updated_by_kind, updated_at, import_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
    $19, $20, $21, $19, $20, $21, $22) ON CONFLICT (value) DO NOTHING RETURNING id";

/// An indicator of the feed changed by a run: the parameters of [`CREATE_SQL`], then the id.
const UPDATE_SQL: &str = "UPDATE indicators SET value = $1, family = $2, range_start = $3, \
    range_end = $4, action = $5, title = $6, description = $7, severity = $8, expires_at = $9, \
    generate_alert = $10, recommended_actions = $11, groups = $12, external_id = $13, \
    application = $14, category = $15, mitre_techniques = $16, action_name = $17, \
    educate_url = $18, updated_by = $19, updated_by_kind = $20, updated_at = $21, \
    import_id = $22 WHERE id = $23";

/// What a draft's row holds that the draft does not, as stored.
struct DraftRow {
    value: String,
    family: i32,
    start: Vec<u8>,
    end: Vec<u8>,
    groups: String,
    mitre: String,
}

impl DraftRow {
    fn of(d: &IndicatorDraft) -> Result<Self, StoreError> {
        let (start, end) = d.value.bounds();
        Ok(Self {
            value: d.value.to_string(),
            family: family(&d.value),
            start: bound_bytes(start),
            end: bound_bytes(end),
            groups: to_json(&d.groups)?,
            mitre: d.mitre_techniques.join(","),
        })
    }

    /// The parameters `$1`…`$22` of [`CREATE_SQL`] and [`UPDATE_SQL`].
    fn params<'a>(
        &'a self,
        d: &'a IndicatorDraft,
        by: &'a Change<'_>,
        kind: &'a &'static str,
        run_id: &'a i64,
        names: &'a [&'static str; 3],
    ) -> [&'a (dyn ToSql + Sync); 22] {
        [
            &self.value,
            &self.family,
            &self.start,
            &self.end,
            &names[0],
            &d.title,
            &d.description,
            &names[1],
            &d.expires_at,
            &d.generate_alert,
            &d.recommended_actions,
            &self.groups,
            &d.external_id,
            &d.application,
            &d.category,
            &self.mitre,
            &names[2],
            &d.educate_url,
            &by.actor.name,
            kind,
            &by.at,
            run_id,
        ]
    }
}

/// Writes a run's indicator changes under one summary audit entry, whose id marks every row
/// written (as an import's does) and becomes the policy version. The transaction was begun
/// with [`begin_audited`](super::begin_audited).
pub(super) fn write_changes(
    tx: &mut Transaction<'_>,
    feed: &FeedRecord,
    changes: &FeedChanges<'_>,
    change: &Change<'_>,
) -> Result<AppliedRun, StoreError> {
    let run_id = audit(
        tx,
        change,
        "feed.sync",
        &format!("feed {}", feed.config.name),
        &json!({
            "created": changes.creates.len(),
            "updated": changes.updates.len(),
            "deleted": changes.deletes.len(),
        }),
    )?;
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
    if !changes.deletes.is_empty() {
        tx.execute(
            "DELETE FROM indicators WHERE id = ANY($1)",
            &[&changes.deletes],
        )
        .map_err(pg("feed run"))?;
    }
    let names = |d: &IndicatorDraft| {
        [
            d.mde_action.action().as_str(),
            d.severity.as_str(),
            d.mde_action.as_str(),
        ]
    };
    let update = tx.prepare(UPDATE_SQL).map_err(pg("feed run"))?;
    for (id, d) in changes.updates {
        let row = DraftRow::of(d)?;
        let names = names(d);
        let mut params = row.params(d, &by_feed, &kind, &run_id, &names).to_vec();
        params.push(id);
        tx.execute(&update, &params).map_err(pg("feed run"))?;
    }
    let create = tx.prepare(CREATE_SQL).map_err(pg("feed run"))?;
    let mut applied = AppliedRun::default();
    for d in changes.creates {
        let row = DraftRow::of(d)?;
        let names = names(d);
        let params = row.params(d, &by_feed, &kind, &run_id, &names);
        if let Some(made) = tx.query_opt(&create, &params).map_err(pg("feed run"))? {
            applied
                .created
                .push(made.try_get(0).map_err(pg("feed run"))?);
            continue;
        }
        let (by, by_kind): (String, String) = tx
            .query_opt(
                "SELECT created_by, created_by_kind FROM indicators WHERE value = $1",
                &[&row.value],
            )
            .map_err(pg("feed run"))?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
            .map_err(pg("feed run"))?
            .unwrap_or_default();
        let who = if by_kind == ActorKind::Feed.as_str() {
            format!("feed {by}")
        } else {
            by
        };
        applied.created.push(0);
        applied.taken.push((row.value, who));
    }
    Ok(applied)
}
