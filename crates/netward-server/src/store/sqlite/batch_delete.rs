//! Deleting many indicators at once (`POST /api/indicators/BatchDelete`): one transaction,
//! one `DELETE … WHERE id IN (…) RETURNING …` per chunk of ids rather than one statement per
//! id, one audit row per indicator, and nothing at all when an id is unknown.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::db;
use super::indicators::{INDICATOR_COLUMNS, IndicatorRow, draft_detail, insert_audit_rows};
use crate::store::{BatchDeletion, Change, StoreError};

/// Ids per statement (one parameter each, under SQLite's 32,766).
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
        let found: std::collections::HashSet<i64> = deleted.iter().map(|i| i.id).collect();
        let unknown = wanted
            .into_iter()
            .filter(|id| !found.contains(id))
            .collect();
        return Ok(BatchDeletion::Unknown(unknown));
    }
    deleted.sort_unstable_by_key(|i| i.id);
    let audit_rows: Vec<(&'static str, String, String)> = deleted
        .iter()
        .map(|i| {
            (
                "indicator.delete",
                i.draft.value.to_string(),
                draft_detail(&i.draft).to_string(),
            )
        })
        .collect();
    insert_audit_rows(&tx, change, &audit_rows)?;
    tx.commit().map_err(db("commit batch delete"))?;
    Ok(BatchDeletion::Deleted(deleted))
}
