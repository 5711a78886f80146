//! Imports: drafts arrive chunk by chunk from an [`ImportSource`] and are upserted in one
//! transaction, each row marked with the import's id; one summary audit entry records the
//! whole import instead of one entry per indicator (which cost about 12 s per million rows).

use std::borrow::Cow;

use netward_model::IndicatorDraft;
use rusqlite::{Connection, ToSql, params};

use super::db;
use crate::store::indicator_sql::{IMPORT_ACTION, import_detail};
use crate::store::{Change, ImportSource, StoreError, StoredImport};

/// A new indicator of an import, or nothing when its value is stored: the 25 parameters of
/// [`row_params`].
pub(super) const INSERT_SQL: &str = "INSERT INTO indicators (value, family, range_start, range_end, \
    action, title, description, severity, expires_at, generate_alert, recommended_actions, \
    groups, external_id, application, category, mitre_techniques, created_by, \
    created_by_kind, created_at, updated_by, updated_by_kind, updated_at, action_name, \
    educate_url, import_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
    ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25) \
    ON CONFLICT(value) DO NOTHING";

/// An existing indicator changed by an import: [`row_params`] without the creator's three,
/// then the id.
pub(super) const UPDATE_SQL: &str = "UPDATE indicators SET value = ?1, family = ?2, range_start = ?3, \
    range_end = ?4, action = ?5, title = ?6, description = ?7, severity = ?8, \
    expires_at = ?9, generate_alert = ?10, recommended_actions = ?11, groups = ?12, \
    external_id = ?13, application = ?14, category = ?15, mitre_techniques = ?16, \
    updated_by = ?17, updated_by_kind = ?18, updated_at = ?19, action_name = ?20, \
    educate_url = ?21, import_id = ?22 WHERE id = ?23";

/// What a row's parameters need that the draft does not hold as it is stored.
pub(super) struct OwnedParams {
    action: &'static str,
    action_name: &'static str,
    severity: &'static str,
    family: i64,
    start: [u8; 16],
    end: [u8; 16],
    groups: Cow<'static, str>,
    mitre: Cow<'static, str>,
}

impl OwnedParams {
    pub(super) fn of(d: &IndicatorDraft) -> Result<Self, StoreError> {
        let (start, end) = d.value.bounds();
        Ok(Self {
            action: d.mde_action.action().as_str(),
            action_name: d.mde_action.as_str(),
            severity: d.severity.as_str(),
            family: match d.value.family() {
                netward_model::Family::V4 => 4,
                netward_model::Family::V6 => 6,
            },
            start: start.to_be_bytes(),
            end: end.to_be_bytes(),
            groups: if d.groups.is_empty() {
                Cow::Borrowed("[]")
            } else {
                Cow::Owned(super::to_json(&d.groups)?)
            },
            mitre: if d.mitre_techniques.is_empty() {
                Cow::Borrowed("")
            } else {
                Cow::Owned(d.mitre_techniques.join(","))
            },
        })
    }
}

/// The parameters of [`INSERT_SQL`], borrowed from the draft (no copy per field).
#[expect(
    clippy::ptr_arg,
    reason = "a `&str` cannot become a `&dyn ToSql` (`str` is unsized); the `String` can"
)]
pub(super) fn row_params<'a>(
    d: &'a IndicatorDraft,
    value: &'a String,
    owned: &'a OwnedParams,
    change: &'a Change<'_>,
    kind: &'a &'static str,
    import_id: &'a i64,
) -> [&'a dyn ToSql; 25] {
    [
        value as &dyn ToSql,
        &owned.family,
        &owned.start,
        &owned.end,
        &owned.action,
        &d.title,
        &d.description,
        &owned.severity,
        &d.expires_at,
        &d.generate_alert,
        &d.recommended_actions,
        &owned.groups,
        &d.external_id,
        &d.application,
        &d.category,
        &owned.mitre,
        &change.actor.name,
        kind,
        &change.at,
        &change.actor.name,
        kind,
        &change.at,
        &owned.action_name,
        &d.educate_url,
        import_id,
    ]
}

/// The page cache while an import runs, in KiB.
const IMPORT_CACHE_KIB: u32 = 192 * 1024;

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
    let kind = change.actor.kind.as_str();
    let mut insert = tx.prepare(INSERT_SQL).map_err(db("prepare import"))?;
    let mut update = tx.prepare(UPDATE_SQL).map_err(db("prepare import"))?;
    let mut find = tx
        .prepare("SELECT id FROM indicators WHERE value = ?1")
        .map_err(db("prepare import"))?;
    while let Some(drafts) = source.next_chunk() {
        // Each chunk in value order, so that the value index grows in runs rather than at
        // random places. A stable sort keeps a repeated value's rows in submission order, so
        // the last one wins.
        let values: Vec<String> = drafts.iter().map(|d| d.value.to_string()).collect();
        let mut order: Vec<usize> = (0..drafts.len()).collect();
        order.sort_by(|a, b| values[*a].cmp(&values[*b]));
        let mut ids = vec![0i64; drafts.len()];
        let mut previous: Option<(&str, i64)> = None;
        for &i in &order {
            let (d, value) = (&drafts[i], &values[i]);
            let owned = OwnedParams::of(d)?;
            let params = row_params(d, value, &owned, change, &kind, &import_id);
            // Most rows of a large import are new: try the insert first (one index seek for
            // the value), and look the id up only when the value is already stored. One row
            // per statement and no RETURNING: SQLite then keeps no statement journal, which
            // for multi-row statements copied every index page they touched.
            let known = match previous {
                Some((v, id)) if v == value.as_str() => Some(id),
                _ => {
                    let inserted = insert
                        .execute(&params[..])
                        .map_err(db("import indicators"))?;
                    if inserted == 1 {
                        None
                    } else {
                        Some(
                            find.query_row([value], |r| r.get::<_, i64>(0))
                                .map_err(db("import indicators"))?,
                        )
                    }
                }
            };
            let id = match known {
                Some(id) => {
                    // Everything but the creator's three, then the id.
                    let mut args: Vec<&dyn ToSql> = params[..16].to_vec();
                    args.extend_from_slice(&params[19..]);
                    args.push(&id);
                    update
                        .execute(args.as_slice())
                        .map_err(db("import indicators"))?;
                    id
                }
                None => tx.last_insert_rowid(),
            };
            ids[i] = id;
            previous = Some((value.as_str(), id));
        }
        source.stored(&drafts, &ids);
    }
    drop((insert, update, find));
    let count = |sql: &str| -> Result<u64, StoreError> {
        tx.query_row(sql, params![import_id, max_before], |r| r.get::<_, i64>(0))
            .map(super::to_u64)
            .map_err(db("count import"))
    };
    let created = count("SELECT count(*) FROM indicators WHERE import_id = ?1 AND id > ?2")?;
    let updated = count("SELECT count(*) FROM indicators WHERE import_id = ?1 AND id <= ?2")?;
    let summary = source.summary();
    let detail = import_detail(import_id, &summary, created, updated);
    tx.execute(
        "UPDATE audit_log SET target = ?1, detail = ?2 WHERE id = ?3",
        params![format!("import {import_id}"), detail.to_string(), import_id],
    )
    .map_err(db("write audit log"))?;
    let committing = std::time::Instant::now();
    tx.commit().map_err(db("commit import"))?;
    tracing::debug!(
        import_id,
        commit_ms = committing.elapsed().as_millis(),
        "Import committed."
    );
    Ok(StoredImport {
        import_id,
        created,
        updated,
    })
}
