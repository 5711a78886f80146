//! Deleting many indicators at once, in one transaction with one summary audit entry: by id
//! (`POST /api/indicators/BatchDelete`: one `DELETE … WHERE id IN (…) RETURNING …` per chunk
//! of ids, and nothing at all when an id is unknown) and by filter (source, group, action,
//! title, a list of values; the values go through a temporary table).

use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params_from_iter};
use serde_json::json;

use super::indicators::{INDICATOR_COLUMNS, IndicatorRow};
use super::{audit, db, indicator_query};
use crate::store::indicator_sql::{deletion_detail, filter_detail, unknown_ids};
use crate::store::{BatchDeletion, BulkDeletion, Change, DeleteFilter, IndicatorQuery, StoreError};

/// Ids or values per statement (one parameter each, under SQLite's 32,766).
const DELETE_CHUNK: usize = 1000;

/// Deletes the indicators `ids` (repeats count once) in one transaction, or none of them when
/// any is unknown.
pub(super) fn delete_indicators(
    conn: &mut Connection,
    ids: &[i64],
    change: &Change<'_>,
) -> Result<BatchDeletion, StoreError> {
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let tx = conn.transaction().map_err(db("begin batch delete"))?;
    let mut deleted = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(DELETE_CHUNK) {
        let sql = format!(
            "DELETE FROM indicators WHERE id IN ({}) RETURNING {INDICATOR_COLUMNS}",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut st = tx.prepare_cached(&sql).map_err(db("batch delete"))?;
        let rows = st
            .query_map(
                params_from_iter(chunk.iter().map(|id| Value::Integer(*id))),
                IndicatorRow::read,
            )
            .map_err(db("batch delete"))?;
        for row in rows {
            deleted.push(row.map_err(db("batch delete"))?.parse()?);
        }
    }
    if deleted.len() != wanted.len() {
        // Dropping the transaction rolls every chunk back.
        return Ok(BatchDeletion::Unknown(unknown_ids(wanted, &deleted)));
    }
    deleted.sort_unstable_by_key(|i| i.id);
    let values: Vec<String> = deleted.iter().map(|i| i.draft.value.to_string()).collect();
    summary_entry(
        &tx,
        change,
        "indicator.batch-delete",
        json!({ "ids": wanted.len() }),
        &values,
    )?;
    tx.commit().map_err(db("commit batch delete"))?;
    Ok(BatchDeletion::Deleted(deleted))
}

/// Deletes (or with `dry_run` counts) every indicator that matches `filter`.
pub(super) fn delete_matching(
    conn: &mut Connection,
    filter: &DeleteFilter,
    dry_run: bool,
    change: &Change<'_>,
) -> Result<BulkDeletion, StoreError> {
    let tx = conn.transaction().map_err(db("begin bulk delete"))?;
    let query = IndicatorQuery {
        source: filter.source.clone(),
        group: filter.group.clone(),
        action: filter.action,
        include_expired: true,
        ..IndicatorQuery::default()
    };
    let mut conditions = String::from(" WHERE 1 = 1");
    let mut args = indicator_query::push_conditions(&query, 0, &mut conditions);
    if let Some(title) = &filter.title {
        conditions.push_str(" AND title = ?");
        args.push(Value::Text(title.clone()));
    }
    if filter.feed_made {
        conditions.push_str(" AND created_by_kind = 'Feed'");
    }
    if let Some(values) = &filter.values {
        fill_values(&tx, values)?;
        conditions.push_str(" AND value IN (SELECT value FROM temp.delete_values)");
    }
    if dry_run {
        let matched: i64 = tx
            .prepare(&format!("SELECT count(*) FROM indicators{conditions}"))
            .and_then(|mut st| st.query_row(params_from_iter(args), |r| r.get(0)))
            .map_err(db("count bulk delete"))?;
        // Dropping the transaction rolls the temporary values back.
        return Ok(BulkDeletion {
            matched: super::to_u64(matched),
            deleted: Vec::new(),
        });
    }
    let mut gone: Vec<(i64, String)> = tx
        .prepare(&format!(
            "DELETE FROM indicators{conditions} RETURNING id, value"
        ))
        .and_then(|mut st| {
            st.query_map(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(db("bulk delete"))?;
    gone.sort_unstable();
    if filter.values.is_some() {
        tx.execute("DELETE FROM temp.delete_values", [])
            .map_err(db("bulk delete"))?;
    }
    if !gone.is_empty() {
        let values: Vec<String> = gone.iter().map(|(_, v)| v.clone()).collect();
        let described = filter_detail(filter);
        summary_entry(&tx, change, "indicator.bulk-delete", described, &values)?;
    }
    tx.commit().map_err(db("commit bulk delete"))?;
    Ok(BulkDeletion {
        matched: gone.len() as u64,
        deleted: gone.into_iter().map(|(id, _)| id).collect(),
    })
}

/// Puts `values` into the temporary table the filter reads.
fn fill_values(tx: &Transaction<'_>, values: &[String]) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS delete_values (value TEXT PRIMARY KEY) WITHOUT ROWID; \
         DELETE FROM temp.delete_values;",
    )
    .map_err(db("bulk delete"))?;
    for chunk in values.chunks(DELETE_CHUNK) {
        let sql = format!(
            "INSERT OR IGNORE INTO temp.delete_values (value) VALUES {}",
            vec!["(?)"; chunk.len()].join(", ")
        );
        tx.prepare_cached(&sql)
            .and_then(|mut st| st.execute(params_from_iter(chunk)))
            .map_err(db("bulk delete"))?;
    }
    Ok(())
}

/// The one audit entry of a bulk delete (see [`deletion_detail`]).
fn summary_entry(
    tx: &Transaction<'_>,
    change: &Change<'_>,
    action: &str,
    asked: serde_json::Value,
    values: &[String],
) -> Result<(), StoreError> {
    let detail = deletion_detail(asked, values);
    audit(tx, change, action, "indicators", &detail)
}
