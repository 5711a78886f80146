//! Alert triage in SQLite: status, assignment, classification and comments, each with who and
//! when, and the audit entry for each part that changed.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use netward_model::detection::AlertStatus;

use super::super::{audit, db};
use super::queries::named;
use crate::detection::alerting::incident_status;
use crate::store::{Change, CommentRecord, StoreError, TriageUpdate};

/// Applies `update` to alert `id`; `false` if there is no such alert.
pub fn triage(
    tx: &Transaction<'_>,
    id: i64,
    update: &TriageUpdate,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let exists = tx
        .query_row(
            "SELECT 1 FROM alerts WHERE id = ?1",
            params![id],
            |_| Ok(()),
        )
        .optional()
        .map_err(db("read alert"))?
        .is_some();
    if !exists {
        return Ok(false);
    }
    let target = format!("alert:{id}");
    let (by, at) = (&change.actor.name, change.at);
    if let Some(status) = update.status {
        tx.execute(
            "UPDATE alerts SET status = ?2, status_by = ?3, status_at = ?4 WHERE id = ?1",
            params![id, status.as_str(), by, at],
        )
        .map_err(db("set alert status"))?;
        audit(
            tx,
            change,
            "alert.status",
            &target,
            &json!({ "status": status.as_str() }),
        )?;
        follow_alerts(tx, id, change)?;
    }
    if let Some(to) = &update.assigned_to {
        tx.execute(
            "UPDATE alerts SET assigned_to = ?2, assigned_by = ?3, assigned_at = ?4 WHERE id = ?1",
            params![id, to, by, at],
        )
        .map_err(db("assign alert"))?;
        audit(
            tx,
            change,
            "alert.assign",
            &target,
            &json!({ "assignedTo": to }),
        )?;
    }
    if let Some((classification, determination)) = update.verdict {
        let c = classification.map(|c| c.as_str());
        let d = determination.map(|d| d.as_str());
        tx.execute(
            "UPDATE alerts SET classification = ?2, determination = ?3, classified_by = ?4, \
             classified_at = ?5 WHERE id = ?1",
            params![id, c, d, by, at],
        )
        .map_err(db("classify alert"))?;
        audit(
            tx,
            change,
            "alert.classify",
            &target,
            &json!({ "classification": c, "determination": d }),
        )?;
    }
    Ok(true)
}

/// Brings the status of alert `id`'s incident in line with its alerts, as
/// [`incident_status`] decides; audited when it changes.
fn follow_alerts(tx: &Transaction<'_>, id: i64, change: &Change<'_>) -> Result<(), StoreError> {
    let (incident, current): (i64, String) = tx
        .query_row(
            "SELECT i.id, i.status FROM alerts a JOIN incidents i ON i.id = a.incident_id \
             WHERE a.id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db("read the alert's incident"))?;
    let statuses = tx
        .prepare_cached("SELECT status FROM alerts WHERE incident_id = ?1")
        .and_then(|mut st| {
            st.query_map(params![incident], |r| named(r, 0, AlertStatus::parse))?
                .collect::<rusqlite::Result<Vec<AlertStatus>>>()
        })
        .map_err(db("read incident alerts"))?;
    let status = incident_status(&statuses);
    if status.as_str() != current {
        tx.execute(
            "UPDATE incidents SET status = ?2, status_by = ?3, status_at = ?4 WHERE id = ?1",
            params![incident, status.as_str(), change.actor.name, change.at],
        )
        .map_err(db("set incident status"))?;
        audit(
            tx,
            change,
            "incident.status",
            &format!("incident:{incident}"),
            &json!({ "status": status.as_str(), "followsAlert": id }),
        )?;
    }
    Ok(())
}

/// Adds a comment to alert `id`; `false` if there is no such alert.
pub fn comment(
    tx: &Transaction<'_>,
    id: i64,
    text: &str,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "INSERT INTO alert_comments (alert_id, comment, created_by, created_at) \
             SELECT id, ?2, ?3, ?4 FROM alerts WHERE id = ?1",
            params![id, text, change.actor.name, change.at],
        )
        .map_err(db("comment on alert"))?;
    if n > 0 {
        audit(
            tx,
            change,
            "alert.comment",
            &format!("alert:{id}"),
            &json!({ "comment": text }),
        )?;
    }
    Ok(n > 0)
}

/// Alert `id`'s comments, oldest first.
pub fn comments(conn: &rusqlite::Connection, id: i64) -> Result<Vec<CommentRecord>, StoreError> {
    let mut st = conn
        .prepare_cached(
            "SELECT comment, created_by, created_at FROM alert_comments WHERE alert_id = ?1 \
             ORDER BY id",
        )
        .map_err(db("query comments"))?;
    let rows = st
        .query_map(params![id], |r| {
            Ok(CommentRecord {
                comment: r.get(0)?,
                created_by: r.get(1)?,
                created_at: r.get(2)?,
            })
        })
        .map_err(db("query comments"))?;
    rows.collect::<Result<_, _>>().map_err(db("read comments"))
}
