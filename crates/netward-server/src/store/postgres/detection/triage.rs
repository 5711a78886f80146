//! Alert triage in PostgreSQL: status, assignment, classification and comments, each with who
//! and when, and the audit entry for each part that changed (the transaction was begun with
//! [`begin_audited`](super::super::begin_audited)).

use postgres::{GenericClient, Transaction};
use serde_json::json;

use netward_model::detection::AlertStatus;

use super::super::{audit, pg};
use super::queries::{get, named};
use crate::detection::alerting::incident_status;
use crate::store::{Change, CommentRecord, StoreError, TriageUpdate};

/// Applies `update` to alert `id`; `false` if there is no such alert.
pub fn triage(
    tx: &mut Transaction<'_>,
    id: i64,
    update: &TriageUpdate,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let exists = tx
        .query_opt("SELECT 1 FROM alerts WHERE id = $1 FOR UPDATE", &[&id])
        .map_err(pg("read alert"))?
        .is_some();
    if !exists {
        return Ok(false);
    }
    let target = format!("alert:{id}");
    let (by, at) = (&change.actor.name, change.at);
    if let Some(status) = update.status {
        tx.execute(
            "UPDATE alerts SET status = $2, status_by = $3, status_at = $4 WHERE id = $1",
            &[&id, &status.as_str(), by, &at],
        )
        .map_err(pg("set alert status"))?;
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
            "UPDATE alerts SET assigned_to = $2, assigned_by = $3, assigned_at = $4 WHERE id = $1",
            &[&id, to, by, &at],
        )
        .map_err(pg("assign alert"))?;
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
            "UPDATE alerts SET classification = $2, determination = $3, classified_by = $4, \
             classified_at = $5 WHERE id = $1",
            &[&id, &c, &d, by, &at],
        )
        .map_err(pg("classify alert"))?;
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
fn follow_alerts(tx: &mut Transaction<'_>, id: i64, change: &Change<'_>) -> Result<(), StoreError> {
    let row = tx
        .query_one(
            "SELECT i.id, i.status FROM alerts a JOIN incidents i ON i.id = a.incident_id \
             WHERE a.id = $1",
            &[&id],
        )
        .map_err(pg("read the alert's incident"))?;
    let (incident, current): (i64, String) = (get(&row, 0)?, get(&row, 1)?);
    let statuses = tx
        .query(
            "SELECT status FROM alerts WHERE incident_id = $1",
            &[&incident],
        )
        .map_err(pg("read incident alerts"))?
        .iter()
        .map(|r| named(r, 0, AlertStatus::parse))
        .collect::<Result<Vec<AlertStatus>, StoreError>>()?;
    let status = incident_status(&statuses);
    if status.as_str() != current {
        tx.execute(
            "UPDATE incidents SET status = $2, status_by = $3, status_at = $4 WHERE id = $1",
            &[&incident, &status.as_str(), &change.actor.name, &change.at],
        )
        .map_err(pg("set incident status"))?;
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
    tx: &mut Transaction<'_>,
    id: i64,
    text: &str,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "INSERT INTO alert_comments (alert_id, comment, created_by, created_at) \
             SELECT id, $2, $3, $4 FROM alerts WHERE id = $1",
            &[&id, &text, &change.actor.name, &change.at],
        )
        .map_err(pg("comment on alert"))?;
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
pub fn comments(
    client: &mut impl GenericClient,
    id: i64,
) -> Result<Vec<CommentRecord>, StoreError> {
    client
        .query(
            "SELECT comment, created_by, created_at FROM alert_comments WHERE alert_id = $1 \
             ORDER BY id",
            &[&id],
        )
        .map_err(pg("query comments"))?
        .iter()
        .map(|r| {
            Ok(CommentRecord {
                comment: get(r, 0)?,
                created_by: get(r, 1)?,
                created_at: get(r, 2)?,
            })
        })
        .collect()
}
