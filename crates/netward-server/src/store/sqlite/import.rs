//! Imports: drafts arrive chunk by chunk from an [`ImportSource`] and are upserted in one
//! transaction, each row marked with the import's id; one summary audit entry records the
//! whole import instead of one entry per indicator (which cost about 12 s per million rows).

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};
use serde_json::json;

use super::db;
use super::indicators::{UPSERT_CHUNK, push_draft_args, upsert_sql};
use crate::store::{Change, ImportSource, StoreError, StoredImport};

/// The page cache while an import runs, in KiB.
const IMPORT_CACHE_KIB: u32 = 192 * 1024;

/// The audit action of an import's summary entry.
pub(crate) const IMPORT_ACTION: &str = "indicator.import";

/// Stores every chunk of `source` in one transaction; see
/// [`IndicatorStore::import_indicators`](crate::store::IndicatorStore::import_indicators).
pub(super) fn import_indicators(
    conn: &mut Connection,
    source: &mut dyn ImportSource,
    change: &Change<'_>,
) -> Result<StoredImport, StoreError> {
    // A larger page cache while the import runs: a million rows in random order touch every
    // page of the value and range indexes in every chunk, and with the usual 64 MiB they no
    // longer fit and are written out and read back again and again. Back to the usual size
    // afterwards, which gives the memory back.
    conn.execute_batch(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
        .map_err(db("prepare import"))?;
    let outcome = import_in_transaction(conn, source, change);
    conn.execute_batch(&format!("PRAGMA cache_size = -{}", super::CACHE_KIB))
        .map_err(db("finish import"))?;
    outcome
}

fn import_in_transaction(
    conn: &mut Connection,
    source: &mut dyn ImportSource,
    change: &Change<'_>,
) -> Result<StoredImport, StoreError> {
    let tx = conn.transaction().map_err(db("begin import"))?;
    // The summary entry is written first, so that its id can name the import on every row;
    // nothing else writes while this transaction runs, so it is still the newest entry (the
    // policy version) when the transaction commits. Its counts are filled in at the end.
    tx.execute(
        "INSERT INTO audit_log (at, actor, actor_kind, action, target, detail) \
         VALUES (?1, ?2, ?3, ?4, '', '{}')",
        params![
            change.at,
            change.actor.name,
            change.actor.kind.as_str(),
            IMPORT_ACTION
        ],
    )
    .map_err(db("write audit log"))?;
    let import_id = tx.last_insert_rowid();
    // Ids only grow (AUTOINCREMENT), so rows above the old maximum are the ones created.
    let max_before: i64 = tx
        .query_row("SELECT coalesce(max(id), 0) FROM indicators", [], |r| {
            r.get(0)
        })
        .map_err(db("prepare import"))?;
    while let Some(drafts) = source.next_chunk() {
        // Each chunk in value order, so that the value index grows in runs rather than at
        // random places. A stable sort keeps a repeated value's rows in submission order, so
        // the last one wins.
        let values: Vec<String> = drafts.iter().map(|d| d.value.to_string()).collect();
        let mut order: Vec<usize> = (0..drafts.len()).collect();
        order.sort_by(|a, b| values[*a].cmp(&values[*b]));
        let mut ids = vec![0i64; drafts.len()];
        for part in order.chunks(UPSERT_CHUNK) {
            let sql = upsert_sql(part.len(), true);
            let mut st = tx.prepare_cached(&sql).map_err(db("prepare import"))?;
            let mut args: Vec<Value> = Vec::with_capacity(part.len() * 25);
            for &i in part {
                push_draft_args(&mut args, &drafts[i], &values[i], change)?;
                args.push(Value::Integer(import_id));
            }
            let returned: HashMap<String, i64> = st
                .query_map(params_from_iter(args), |r| {
                    Ok((r.get::<_, String>(1)?, r.get::<_, i64>(0)?))
                })
                .map_err(db("import indicators"))?
                .collect::<Result<_, _>>()
                .map_err(db("import indicators"))?;
            for &i in part {
                let value = &values[i];
                ids[i] = *returned
                    .get(value)
                    .ok_or_else(|| StoreError::Corrupt(format!("no id returned for {value}")))?;
            }
        }
        source.stored(&drafts, &ids);
    }
    let count = |sql: &str| -> Result<u64, StoreError> {
        tx.query_row(sql, params![import_id, max_before], |r| r.get::<_, i64>(0))
            .map(super::to_u64)
            .map_err(db("count import"))
    };
    let created = count("SELECT count(*) FROM indicators WHERE import_id = ?1 AND id > ?2")?;
    let updated = count("SELECT count(*) FROM indicators WHERE import_id = ?1 AND id <= ?2")?;
    let summary = source.summary();
    let detail = json!({
        "importId": import_id.to_string(),
        "format": summary.format,
        "items": summary.items,
        "failed": summary.failed,
        "created": created,
        "updated": updated,
    });
    tx.execute(
        "UPDATE audit_log SET target = ?1, detail = ?2 WHERE id = ?3",
        params![format!("import {import_id}"), detail.to_string(), import_id],
    )
    .map_err(db("write audit log"))?;
    tx.commit().map_err(db("commit import"))?;
    Ok(StoredImport {
        import_id,
        created,
        updated,
    })
}
