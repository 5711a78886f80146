//! Deleting many indicators at once, in one transaction with one summary audit entry: by id
//! (`POST /api/indicators/BatchDelete`: one `DELETE … WHERE id = ANY(…) RETURNING …`, and
//! nothing at all when an id is unknown) and by filter (source, group, action, title, a list
//! of values, bound as one array).

use postgres::{Client, Transaction};
use serde_json::json;

use super::indicator_query::{self, Args};
use super::indicators::{INDICATOR_COLUMNS, query_indicators};
use super::{audit, begin_audited, pg};
use crate::store::indicator_sql::{deletion_detail, filter_detail, unknown_ids};
use crate::store::{BatchDeletion, BulkDeletion, Change, DeleteFilter, IndicatorQuery, StoreError};

/// Deletes the indicators `ids` (repeats count once) in one transaction, or none of them when
/// any is unknown.
pub(super) fn delete_indicators(
    client: &mut Client,
    ids: &[i64],
    change: &Change<'_>,
) -> Result<BatchDeletion, StoreError> {
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut tx = begin_audited(client)?;
    let sql = format!("DELETE FROM indicators WHERE id = ANY($1) RETURNING {INDICATOR_COLUMNS}");
    let mut deleted = query_indicators(&mut tx, &sql, &[&wanted])?;
    if deleted.len() != wanted.len() {
        // Dropping the transaction rolls the deletion back.
        return Ok(BatchDeletion::Unknown(unknown_ids(wanted, &deleted)));
    }
    deleted.sort_unstable_by_key(|i| i.id);
    let values: Vec<String> = deleted.iter().map(|i| i.draft.value.to_string()).collect();
    summary_entry(
        &mut tx,
        change,
        "indicator.batch-delete",
        json!({ "ids": wanted.len() }),
        &values,
    )?;
    tx.commit().map_err(pg("commit batch delete"))?;
    Ok(BatchDeletion::Deleted(deleted))
}

/// Deletes (or with `dry_run` counts) every indicator that matches `filter`.
pub(super) fn delete_matching(
    client: &mut Client,
    filter: &DeleteFilter,
    dry_run: bool,
    change: &Change<'_>,
) -> Result<BulkDeletion, StoreError> {
    let query = IndicatorQuery {
        source: filter.source.clone(),
        group: filter.group.clone(),
        action: filter.action,
        include_expired: true,
        ..IndicatorQuery::default()
    };
    let mut args = Args::default();
    let mut conditions = String::from(" WHERE 1 = 1");
    indicator_query::push_conditions(&query, 0, &mut conditions, &mut args);
    if let Some(title) = &filter.title {
        conditions.push_str(&format!(" AND title = {}", args.text(title.as_str())));
    }
    if filter.feed_made {
        conditions.push_str(" AND created_by_kind = 'Feed'");
    }
    if let Some(values) = &filter.values {
        // A hashed semi-join on the unnested array, however many values there are.
        conditions.push_str(&format!(
            " AND value IN (SELECT unnest({}))",
            args.push(values.clone(), "text[]")
        ));
    }
    if dry_run {
        let matched: i64 = client
            .query_one(
                format!("SELECT count(*) FROM indicators{conditions}").as_str(),
                &args.refs(),
            )
            .map_err(pg("count bulk delete"))?
            .get(0);
        return Ok(BulkDeletion {
            matched: super::to_u64(matched),
            deleted: Vec::new(),
        });
    }
    let mut tx = begin_audited(client)?;
    let mut gone: Vec<(i64, String)> = tx
        .query(
            format!("DELETE FROM indicators{conditions} RETURNING id, value").as_str(),
            &args.refs(),
        )
        .map_err(pg("bulk delete"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    gone.sort_unstable();
    if !gone.is_empty() {
        let values: Vec<String> = gone.iter().map(|(_, v)| v.clone()).collect();
        let described = filter_detail(filter);
        summary_entry(&mut tx, change, "indicator.bulk-delete", described, &values)?;
    }
    tx.commit().map_err(pg("commit bulk delete"))?;
    Ok(BulkDeletion {
        matched: gone.len() as u64,
        deleted: gone.into_iter().map(|(id, _)| id).collect(),
    })
}

/// The one audit entry of a bulk delete (see [`deletion_detail`]).
fn summary_entry(
    tx: &mut Transaction<'_>,
    change: &Change<'_>,
    action: &str,
    asked: serde_json::Value,
    values: &[String],
) -> Result<(), StoreError> {
    let detail = deletion_detail(asked, values);
    audit(tx, change, action, "indicators", &detail).map(|_| ())
}
