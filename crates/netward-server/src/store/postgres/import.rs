//! Imports: every chunk of an [`ImportSource`] goes by binary `COPY` into a temporary table,
//! then into `indicators` with one `INSERT … SELECT … ON CONFLICT`, all in one transaction
//! that holds the audit lock; each row is marked with the import's id, and one summary audit
//! entry records the whole import instead of one entry per indicator.

use std::collections::HashMap;

use netward_model::IndicatorDraft;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Transaction};

use super::indicator_query::family;
use super::{begin_audited, pg, to_json};
use crate::store::indicator_sql::{IMPORT_ACTION, import_detail, upsert_set};
use crate::store::{Change, ImportSource, StoreError, StoredImport};

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;

/// The table a chunk is copied into; dropped when the import's transaction ends. `ord` is the
/// row's place in its chunk, so that the last of a repeated value wins.
const STAGING: &str = r#"CREATE TEMP TABLE import_rows (
    ord bigint NOT NULL,
    value text COLLATE "C" NOT NULL,
    family integer NOT NULL,
    range_start bytea NOT NULL,
    range_end bytea NOT NULL,
    action text NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    severity text NOT NULL,
    expires_at bigint,
    generate_alert boolean NOT NULL,
    recommended_actions text NOT NULL,
    groups text NOT NULL,
    external_id text NOT NULL,
    application text NOT NULL,
    category text NOT NULL,
    mitre_techniques text NOT NULL,
    action_name text NOT NULL,
    educate_url text NOT NULL
) ON COMMIT DROP"#;

const COPY_SQL: &str = "COPY import_rows (ord, value, family, range_start, range_end, action, \
    title, description, severity, expires_at, generate_alert, recommended_actions, groups, \
    external_id, application, category, mitre_techniques, action_name, educate_url) \
    FROM STDIN (FORMAT binary)";

/// The types of [`COPY_SQL`]'s columns, in order.
const COPY_TYPES: [Type; 19] = [
    Type::INT8,
    Type::TEXT,
    Type::INT4,
    Type::BYTEA,
    Type::BYTEA,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// Moves the staged chunk into `indicators`, one row per value (its last draft), by `$1`
/// (name), `$2` (kind) at `$3`, marked with the import `$4`; an existing value keeps who
/// created it and when.
const MERGE_SQL: &str = concat!(
    "INSERT INTO indicators (value, family, range_start, range_end, action, \
    title, description, severity, expires_at, generate_alert, recommended_actions, groups, \
    external_id, application, category, mitre_techniques, action_name, educate_url, \
    created_by, created_by_kind, created_at, updated_by, updated_by_kind, updated_at, import_id) \
    SELECT DISTINCT ON (value) value, family, range_start, range_end, action, title, \
    description, severity, expires_at, generate_alert, recommended_actions, groups, \
    external_id, application, category, mitre_techniques, action_name, educate_url, \
    $1::text, $2::text, $3::bigint, $1, $2, $3, $4::bigint \
    FROM import_rows ORDER BY value, ord DESC \
    ON CONFLICT (value) DO UPDATE SET ",
    upsert_set!(),
    ", import_id = excluded.import_id RETURNING id, value"
);

/// Stores every chunk of `source` in one transaction; see
/// [`IndicatorStore::import_indicators`](crate::store::IndicatorStore::import_indicators).
pub(super) fn import_indicators(
    client: &mut Client,
    source: &mut dyn ImportSource,
    change: &Change<'_>,
) -> Result<StoredImport, StoreError> {
    let mut tx = begin_audited(client)?;
    // The summary entry is written first, so that its id can name the import on every row;
    // the audit lock keeps it the newest entry (the policy version) until the commit. Its
    // counts are filled in at the end.
    let import_id: i64 = tx
        .query_one(
            "INSERT INTO audit_log (at, actor, actor_kind, action, target, detail) \
             VALUES ($1, $2, $3, $4, '', '{}') RETURNING id",
            &[
                &change.at,
                &change.actor.name,
                &change.actor.kind.as_str(),
                &IMPORT_ACTION,
            ],
        )
        .map_err(pg("write audit log"))?
        .get(0);
    // Ids only grow, and every writer of indicators holds the audit lock, so rows above the
    // old maximum are the ones this import created.
    let max_before: i64 = tx
        .query_one("SELECT coalesce(max(id), 0) FROM indicators", &[])
        .map_err(pg("prepare import"))?
        .get(0);
    tx.batch_execute(STAGING).map_err(pg("prepare import"))?;
    let kind = change.actor.kind.as_str();
    while let Some(drafts) = source.next_chunk() {
        tx.batch_execute("TRUNCATE import_rows")
            .map_err(pg("import indicators"))?;
        let values = copy_chunk(&mut tx, &drafts)?;
        let stored: HashMap<String, i64> = tx
            .query(
                MERGE_SQL,
                &[&change.actor.name, &kind, &change.at, &import_id],
            )
            .map_err(pg("import indicators"))?
            .iter()
            .map(|r| (r.get::<_, String>(1), r.get::<_, i64>(0)))
            .collect();
        let ids = values
            .iter()
            .map(|v| {
                stored
                    .get(v)
                    .copied()
                    .ok_or_else(|| StoreError::Corrupt(format!("no id returned for {v}")))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        source.stored(&drafts, &ids);
    }
    let count = |tx: &mut Transaction<'_>, sql: &str| -> Result<u64, StoreError> {
        tx.query_one(sql, &[&import_id, &max_before])
            .map(|r| super::to_u64(r.get(0)))
            .map_err(pg("count import"))
    };
    let created = count(
        &mut tx,
        "SELECT count(*) FROM indicators WHERE import_id = $1 AND id > $2",
    )?;
    let updated = count(
        &mut tx,
        "SELECT count(*) FROM indicators WHERE import_id = $1 AND id <= $2",
    )?;
    let summary = source.summary();
    let detail = import_detail(import_id, &summary, created, updated);
    tx.execute(
        "UPDATE audit_log SET target = $1, detail = $2 WHERE id = $3",
        &[
            &format!("import {import_id}"),
            &detail.to_string(),
            &import_id,
        ],
    )
    .map_err(pg("write audit log"))?;
    let committing = std::time::Instant::now();
    tx.commit().map_err(pg("commit import"))?;
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

/// Copies `drafts` into the staging table, in binary; their canonical values, in order.
fn copy_chunk(
    tx: &mut Transaction<'_>,
    drafts: &[IndicatorDraft],
) -> Result<Vec<String>, StoreError> {
    let sink = tx.copy_in(COPY_SQL).map_err(pg("import indicators"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
    let mut values = Vec::with_capacity(drafts.len());
    for (ord, d) in drafts.iter().enumerate() {
        let value = d.value.to_string();
        let (start, end) = d.value.bounds();
        let (start, end) = (start.to_be_bytes(), end.to_be_bytes());
        let groups = if d.groups.is_empty() {
            "[]".to_owned()
        } else {
            to_json(&d.groups)?
        };
        let row: [&(dyn ToSql + Sync); 19] = [
            &super::to_i64(ord as u64),
            &value,
            &family(&d.value),
            &start.as_slice(),
            &end.as_slice(),
            &d.mde_action.action().as_str(),
            &d.title,
            &d.description,
            &d.severity.as_str(),
            &d.expires_at,
            &d.generate_alert,
            &d.recommended_actions,
            &groups,
            &d.external_id,
            &d.application,
            &d.category,
            &d.mitre_techniques.join(","),
            &d.mde_action.as_str(),
            &d.educate_url,
        ];
        writer.write(&row).map_err(pg("import indicators"))?;
        values.push(value);
    }
    writer.finish().map_err(pg("import indicators"))?;
    Ok(values)
}
