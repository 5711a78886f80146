//! Indicators: upserts in multi-row statements, listing and search (OData `$filter` and
//! `$orderby` translated by `odata.rs`), deletion (one by one here, in batches in
//! `batch_delete.rs`); imports in `import.rs`.

use netward_model::{
    Actor, ActorKind, Indicator, IndicatorDraft, IndicatorValue, MdeAction, Severity,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use super::{SqliteStore, audit, db, to_json};
use crate::store::indicator_sql::{self, UpsertLedger, draft_detail, upsert_set};
use crate::store::{
    BatchDeletion, BulkDeletion, Change, DeleteFilter, ImportSource, IndicatorQuery,
    IndicatorStore, StoreError, StoredImport,
};

/// Indicators per multi-row upsert (24 parameters each, under SQLite's 32,766).
const UPSERT_CHUNK: usize = 500;
/// Parameters per upserted indicator.
const UPSERT_PARAMS: usize = 24;
/// Audit rows per multi-row insert.
const AUDIT_CHUNK: usize = 1000;

/// `INSERT … VALUES (…), (…) ON CONFLICT(value) DO UPDATE … RETURNING id, value` for `rows`.
fn upsert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; UPSERT_PARAMS].join(", "));
    format!(
        concat!(
            "INSERT INTO indicators (value, family, range_start, range_end, action, title, \
         description, severity, expires_at, generate_alert, recommended_actions, groups, \
         external_id, application, category, mitre_techniques, created_by, created_by_kind, \
         created_at, updated_by, updated_by_kind, updated_at, action_name, educate_url) \
         VALUES {} \
         ON CONFLICT(value) DO UPDATE SET ",
            upsert_set!(),
            " RETURNING id, value"
        ),
        vec![one; rows].join(", ")
    )
}

pub(super) const INDICATOR_COLUMNS: &str = "id, value, action_name, title, description, \
    severity, expires_at, generate_alert, recommended_actions, groups, external_id, application, \
    category, mitre_techniques, created_by, created_by_kind, created_at, updated_by, \
    updated_by_kind, updated_at, educate_url, \
    (SELECT json_group_array(g.id) FROM (SELECT id FROM device_groups \
     WHERE name IN (SELECT value FROM json_each(indicators.groups)) ORDER BY id) AS g), \
    import_id";

/// The [`UPSERT_PARAMS`] parameters of one upserted row, in the order of [`upsert_sql`].
fn push_draft_args(
    args: &mut Vec<Value>,
    d: &IndicatorDraft,
    value: &str,
    change: &Change<'_>,
) -> Result<(), StoreError> {
    let (start, end) = d.value.bounds();
    let family = match d.value.family() {
        netward_model::Family::V4 => 4,
        netward_model::Family::V6 => 6,
    };
    let text = |t: &str| Value::Text(t.to_owned());
    args.extend([
        text(value),
        Value::Integer(family),
        Value::Blob(bound_blob(start)),
        Value::Blob(bound_blob(end)),
        text(d.mde_action.action().as_str()),
        text(&d.title),
        text(&d.description),
        text(d.severity.as_str()),
        d.expires_at.map_or(Value::Null, Value::Integer),
        Value::Integer(i64::from(d.generate_alert)),
        text(&d.recommended_actions),
        Value::Text(to_json(&d.groups)?),
        text(&d.external_id),
        text(&d.application),
        text(&d.category),
        text(&d.mitre_techniques.join(",")),
        text(&change.actor.name),
        text(change.actor.kind.as_str()),
        Value::Integer(change.at),
        text(&change.actor.name),
        text(change.actor.kind.as_str()),
        Value::Integer(change.at),
        text(d.mde_action.as_str()),
        text(&d.educate_url),
    ]);
    Ok(())
}

/// 16 big-endian bytes, so that ranges sort as blobs.
fn bound_blob(bound: u128) -> Vec<u8> {
    bound.to_be_bytes().to_vec()
}

/// The columns of an indicator row, before parsing.
pub(super) struct IndicatorRow {
    id: i64,
    value: String,
    action_name: String,
    title: String,
    description: String,
    severity: String,
    expires_at: Option<i64>,
    generate_alert: bool,
    recommended_actions: String,
    groups: String,
    external_id: String,
    application: String,
    category: String,
    mitre_techniques: String,
    created_by: String,
    created_by_kind: String,
    created_at: i64,
    updated_by: String,
    updated_by_kind: String,
    updated_at: i64,
    educate_url: String,
    group_ids: String,
    import_id: Option<i64>,
}

impl IndicatorRow {
    pub(super) fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            value: r.get(1)?,
            action_name: r.get(2)?,
            title: r.get(3)?,
            description: r.get(4)?,
            severity: r.get(5)?,
            expires_at: r.get(6)?,
            generate_alert: r.get(7)?,
            recommended_actions: r.get(8)?,
            groups: r.get(9)?,
            external_id: r.get(10)?,
            application: r.get(11)?,
            category: r.get(12)?,
            mitre_techniques: r.get(13)?,
            created_by: r.get(14)?,
            created_by_kind: r.get(15)?,
            created_at: r.get(16)?,
            updated_by: r.get(17)?,
            updated_by_kind: r.get(18)?,
            updated_at: r.get(19)?,
            educate_url: r.get(20)?,
            group_ids: r.get(21)?,
            import_id: r.get(22)?,
        })
    }

    pub(super) fn parse(self) -> Result<Indicator, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("indicator {}: {what}", self.id));
        let value = IndicatorValue::parse(&self.value).map_err(|e| corrupt(&e.to_string()))?;
        let mde_action =
            MdeAction::parse(&self.action_name).map_err(|e| corrupt(&e.to_string()))?;
        let severity = Severity::parse(&self.severity).ok_or_else(|| corrupt("severity"))?;
        let groups: Vec<String> =
            serde_json::from_str(&self.groups).map_err(|_| corrupt("groups"))?;
        let group_ids: Vec<i64> =
            serde_json::from_str(&self.group_ids).map_err(|_| corrupt("group ids"))?;
        let actor = |name: &str, kind: &str| -> Result<Actor, StoreError> {
            Ok(Actor {
                name: name.to_owned(),
                kind: ActorKind::parse(kind).ok_or_else(|| corrupt("actor kind"))?,
            })
        };
        Ok(Indicator {
            id: self.id,
            group_ids,
            created_by: actor(&self.created_by, &self.created_by_kind)?,
            created_at: self.created_at,
            updated_by: actor(&self.updated_by, &self.updated_by_kind)?,
            updated_at: self.updated_at,
            import_id: self.import_id,
            draft: IndicatorDraft {
                value,
                action: mde_action.action(),
                mde_action,
                title: self.title,
                description: self.description,
                severity,
                expires_at: self.expires_at,
                generate_alert: self.generate_alert,
                recommended_actions: self.recommended_actions,
                groups,
                external_id: self.external_id,
                application: self.application,
                category: self.category,
                mitre_techniques: netward_model::import::split_list(&self.mitre_techniques),
                educate_url: self.educate_url,
            },
        })
    }
}

pub(super) fn query_indicators(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
) -> Result<Vec<Indicator>, StoreError> {
    let mut st = conn.prepare_cached(sql).map_err(db("list indicators"))?;
    let rows = st
        .query_map(params_from_iter(args), IndicatorRow::read)
        .map_err(db("list indicators"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(db("list indicators"))?.parse()?);
    }
    Ok(out)
}

/// Writes one audit row per `(verb, target, detail)`, in multi-row statements.
pub(super) fn insert_audit_rows(
    tx: &rusqlite::Transaction<'_>,
    change: &Change<'_>,
    rows: &[(&'static str, String, String)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(AUDIT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO audit_log (at, actor, actor_kind, action, target, detail) VALUES ",
        );
        sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", "));
        let mut st = tx.prepare_cached(&sql).map_err(db("write audit log"))?;
        let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
        for (verb, target, detail) in chunk {
            args.extend([
                Value::Integer(change.at),
                Value::Text(change.actor.name.clone()),
                Value::Text(change.actor.kind.as_str().to_owned()),
                Value::Text((*verb).to_owned()),
                Value::Text(target.clone()),
                Value::Text(detail.clone()),
            ]);
        }
        st.execute(params_from_iter(args))
            .map_err(db("write audit log"))?;
    }
    Ok(())
}

impl IndicatorStore for SqliteStore {
    fn upsert_indicators(
        &self,
        drafts: &[IndicatorDraft],
        change: &Change<'_>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin upsert"))?;
        // Insert in value order: every index then grows at its end instead of at random
        // places, which is what a million-row import spends its time on. A stable sort keeps
        // repeated values in submission order, so the last one still wins.
        let values: Vec<String> = drafts.iter().map(|d| d.value.to_string()).collect();
        let mut order: Vec<usize> = (0..drafts.len()).collect();
        order.sort_by(|a, b| values[*a].cmp(&values[*b]));
        // Ids only grow (AUTOINCREMENT), so a returned id above the old maximum is a new row.
        let max_before: i64 = tx
            .query_row("SELECT coalesce(max(id), 0) FROM indicators", [], |r| {
                r.get(0)
            })
            .map_err(db("prepare upsert"))?;
        let mut ledger = UpsertLedger::new(drafts.len(), max_before);
        // Multi-row statements: one statement per chunk costs far less than one per row.
        for chunk in order.chunks(UPSERT_CHUNK) {
            let sql = upsert_sql(chunk.len());
            let mut st = tx.prepare_cached(&sql).map_err(db("prepare upsert"))?;
            let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * UPSERT_PARAMS);
            for &i in chunk {
                push_draft_args(&mut args, &drafts[i], &values[i], change)?;
            }
            let returned: std::collections::HashMap<String, i64> = st
                .query_map(params_from_iter(args), |r| {
                    Ok((r.get::<_, String>(1)?, r.get::<_, i64>(0)?))
                })
                .map_err(db("upsert indicators"))?
                .collect::<Result<_, _>>()
                .map_err(db("upsert indicators"))?;
            for &i in chunk {
                ledger.record(i, &drafts[i], &values[i], &returned)?;
            }
        }
        insert_audit_rows(&tx, change, &ledger.audit_rows)?;
        tx.commit().map_err(db("commit upsert"))?;
        Ok(ledger.ids)
    }

    fn import_indicators(
        &self,
        source: &mut dyn ImportSource,
        change: &Change<'_>,
    ) -> Result<StoredImport, StoreError> {
        let mut conn = self.conn()?;
        super::import::import_indicators(&mut conn, source, change)
    }

    fn indicator(&self, id: i64) -> Result<Option<Indicator>, StoreError> {
        let conn = self.conn()?;
        let sql = format!("SELECT {INDICATOR_COLUMNS} FROM indicators WHERE id = ?1");
        Ok(query_indicators(&conn, &sql, vec![Value::Integer(id)])?
            .into_iter()
            .next())
    }

    fn list_indicators(&self, q: &IndicatorQuery, now: i64) -> Result<Vec<Indicator>, StoreError> {
        let (mut sql, mut args) = super::indicator_query::select(q, now);
        sql.push_str(&indicator_sql::order_by(&q.order));
        sql.push_str(" LIMIT ? OFFSET ?");
        args.push(Value::Integer(i64::try_from(q.top).unwrap_or(i64::MAX)));
        args.push(Value::Integer(i64::try_from(q.skip).unwrap_or(i64::MAX)));
        let conn = self.conn()?;
        query_indicators(&conn, &sql, args)
    }

    fn count_indicators(&self, q: &IndicatorQuery, now: i64) -> Result<u64, StoreError> {
        let (sql, args) = super::indicator_query::count(q, now);
        let conn = self.conn()?;
        let n: i64 = conn
            .prepare_cached(&sql)
            .and_then(|mut st| st.query_row(params_from_iter(args), |r| r.get(0)))
            .map_err(db("count indicators"))?;
        Ok(super::to_u64(n))
    }

    fn delete_indicator(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<Indicator>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin delete"))?;
        let sql = format!("SELECT {INDICATOR_COLUMNS} FROM indicators WHERE id = ?1");
        let Some(found) = query_indicators(&tx, &sql, vec![Value::Integer(id)])?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        tx.execute("DELETE FROM indicators WHERE id = ?1", [id])
            .map_err(db("delete indicator"))?;
        let value = found.draft.value.to_string();
        audit(
            &tx,
            change,
            "indicator.delete",
            &value,
            &draft_detail(&found.draft),
        )?;
        tx.commit().map_err(db("commit delete"))?;
        Ok(Some(found))
    }

    fn delete_indicators(
        &self,
        ids: &[i64],
        change: &Change<'_>,
    ) -> Result<BatchDeletion, StoreError> {
        let mut conn = self.conn()?;
        super::batch_delete::delete_indicators(&mut conn, ids, change)
    }

    fn delete_matching(
        &self,
        filter: &DeleteFilter,
        dry_run: bool,
        change: &Change<'_>,
    ) -> Result<BulkDeletion, StoreError> {
        let mut conn = self.conn()?;
        super::batch_delete::delete_matching(&mut conn, filter, dry_run, change)
    }

    fn active_indicators(&self, now: i64) -> Result<Vec<Indicator>, StoreError> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT {INDICATOR_COLUMNS} FROM indicators \
             WHERE expires_at IS NULL OR expires_at > ?1 ORDER BY id"
        );
        query_indicators(&conn, &sql, vec![Value::Integer(now)])
    }
}
