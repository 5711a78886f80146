//! Indicators: upserts of whole batches in one `INSERT … SELECT FROM unnest(…)` per chunk
//! (`upsert.rs`), listing and search (OData `$filter` and `$orderby` translated by
//! `odata.rs`, the other filters by `indicator_query.rs`), deletion (one by one here, in
//! batches in `batch_delete.rs`); imports, by binary `COPY`, in `import.rs`.

use netward_model::{
    Actor, ActorKind, Indicator, IndicatorDraft, IndicatorValue, MdeAction, Severity,
};
use postgres::GenericClient;
use postgres::types::ToSql;

use super::indicator_query::{self, Args};
use super::{PgStore, audit, begin_audited, pg};
use crate::store::indicator_sql::{self, draft_detail};
use crate::store::{
    BatchDeletion, BulkDeletion, Change, DeleteFilter, ImportSource, IndicatorQuery,
    IndicatorStore, StoreError, StoredImport,
};

/// This resource's part of schema version 1: SQLite's table and column names with
/// PostgreSQL's types. Text sorts and compares by bytes (the "C" collation), as in SQLite;
/// `groups` is the JSON array of group names, as there. The bounds are indexed, so that
/// `within` and `containing` (a CIDR hunt) are index range scans.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE indicators (
    id bigserial PRIMARY KEY,
    value text COLLATE "C" NOT NULL UNIQUE,
    family integer NOT NULL,
    range_start bytea NOT NULL,
    range_end bytea NOT NULL,
    action text COLLATE "C" NOT NULL,
    title text COLLATE "C" NOT NULL,
    description text COLLATE "C" NOT NULL,
    severity text COLLATE "C" NOT NULL,
    expires_at bigint,
    generate_alert boolean NOT NULL,
    recommended_actions text COLLATE "C" NOT NULL,
    groups text COLLATE "C" NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    application text COLLATE "C" NOT NULL,
    category text COLLATE "C" NOT NULL,
    mitre_techniques text COLLATE "C" NOT NULL,
    created_by text COLLATE "C" NOT NULL,
    created_by_kind text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    updated_by text COLLATE "C" NOT NULL,
    updated_by_kind text COLLATE "C" NOT NULL,
    updated_at bigint NOT NULL,
    action_name text COLLATE "C" NOT NULL,
    educate_url text COLLATE "C" NOT NULL,
    import_id bigint
);
CREATE INDEX indicators_created_by ON indicators(created_by);
CREATE INDEX indicators_import ON indicators(import_id) WHERE import_id IS NOT NULL;
CREATE INDEX indicators_range ON indicators(family, range_start, range_end);
"#;

/// The columns [`IndicatorRow::read`] reads, in its order. The group ids are looked up only
/// for indicators scoped to groups.
pub(super) const INDICATOR_COLUMNS: &str = "id, value, action_name, title, description, \
    severity, expires_at, generate_alert, recommended_actions, groups, external_id, application, \
    category, mitre_techniques, created_by, created_by_kind, created_at, updated_by, \
    updated_by_kind, updated_at, educate_url, \
    CASE WHEN indicators.groups = '[]' THEN '{}'::bigint[] ELSE \
    (SELECT coalesce(array_agg(g.id::bigint ORDER BY g.id), '{}'::bigint[]) FROM device_groups \
     AS g WHERE g.name IN (SELECT jsonb_array_elements_text(indicators.groups::jsonb))) END, \
    import_id";

/// Parses one row of [`INDICATOR_COLUMNS`].
pub(super) fn parse_row(r: &postgres::Row) -> Result<Indicator, StoreError> {
    let id: i64 = r.try_get(0).map_err(pg("read indicator"))?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("indicator {id}: {what}"));
    let get_text = |i: usize| -> Result<String, StoreError> {
        r.try_get::<_, String>(i).map_err(pg("read indicator"))
    };
    let get_int = |i: usize| -> Result<i64, StoreError> {
        r.try_get::<_, i64>(i).map_err(pg("read indicator"))
    };
    let value = IndicatorValue::parse(&get_text(1)?).map_err(|e| corrupt(&e.to_string()))?;
    let mde_action = MdeAction::parse(&get_text(2)?).map_err(|e| corrupt(&e.to_string()))?;
    let severity = Severity::parse(&get_text(5)?).ok_or_else(|| corrupt("severity"))?;
    let groups: Vec<String> = serde_json::from_str(&get_text(9)?).map_err(|_| corrupt("groups"))?;
    let actor = |name: usize, kind: usize| -> Result<Actor, StoreError> {
        Ok(Actor {
            name: get_text(name)?,
            kind: ActorKind::parse(&get_text(kind)?).ok_or_else(|| corrupt("actor kind"))?,
        })
    };
    Ok(Indicator {
        id,
        group_ids: r.try_get(21).map_err(pg("read indicator"))?,
        created_by: actor(14, 15)?,
        created_at: get_int(16)?,
        updated_by: actor(17, 18)?,
        updated_at: get_int(19)?,
        import_id: r.try_get(22).map_err(pg("read indicator"))?,
        draft: IndicatorDraft {
            value,
            action: mde_action.action(),
            mde_action,
            title: get_text(3)?,
            description: get_text(4)?,
            severity,
            expires_at: r.try_get(6).map_err(pg("read indicator"))?,
            generate_alert: r.try_get(7).map_err(pg("read indicator"))?,
            recommended_actions: get_text(8)?,
            groups,
            external_id: get_text(10)?,
            application: get_text(11)?,
            category: get_text(12)?,
            mitre_techniques: netward_model::import::split_list(&get_text(13)?),
            educate_url: get_text(20)?,
        },
    })
}

/// Runs `sql`, which selects [`INDICATOR_COLUMNS`], and parses its rows.
pub(super) fn query_indicators(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Indicator>, StoreError> {
    client
        .query(sql, params)
        .map_err(pg("list indicators"))?
        .iter()
        .map(parse_row)
        .collect()
}

impl IndicatorStore for PgStore {
    fn upsert_indicators(
        &self,
        drafts: &[IndicatorDraft],
        change: &Change<'_>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let ids = super::upsert::upsert(&mut tx, drafts, change)?;
        tx.commit().map_err(pg("commit upsert"))?;
        Ok(ids)
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
        let mut conn = self.conn()?;
        let sql = format!("SELECT {INDICATOR_COLUMNS} FROM indicators WHERE id = $1");
        Ok(query_indicators(&mut **conn, &sql, &[&id])?
            .into_iter()
            .next())
    }

    fn list_indicators(&self, q: &IndicatorQuery, now: i64) -> Result<Vec<Indicator>, StoreError> {
        let mut args = Args::default();
        let mut sql = indicator_query::select(q, now, &mut args);
        sql.push_str(&indicator_sql::order_by(&q.order));
        let limit = args.int(i64::try_from(q.top).unwrap_or(i64::MAX));
        let offset = args.int(i64::try_from(q.skip).unwrap_or(i64::MAX));
        sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        let mut conn = self.conn()?;
        query_indicators(&mut **conn, &sql, &args.refs())
    }

    fn count_indicators(&self, q: &IndicatorQuery, now: i64) -> Result<u64, StoreError> {
        let mut args = Args::default();
        let sql = indicator_query::count(q, now, &mut args);
        let mut conn = self.conn()?;
        let n: i64 = conn
            .query_one(sql.as_str(), &args.refs())
            .map_err(pg("count indicators"))?
            .get(0);
        Ok(super::to_u64(n))
    }

    fn delete_indicator(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<Indicator>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let sql = format!("DELETE FROM indicators WHERE id = $1 RETURNING {INDICATOR_COLUMNS}");
        let Some(found) = query_indicators(&mut tx, &sql, &[&id])?.into_iter().next() else {
            return Ok(None);
        };
        let value = found.draft.value.to_string();
        audit(
            &mut tx,
            change,
            "indicator.delete",
            &value,
            &draft_detail(&found.draft),
        )?;
        tx.commit().map_err(pg("commit delete"))?;
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
        let mut conn = self.conn()?;
        let sql = format!(
            "SELECT {INDICATOR_COLUMNS} FROM indicators \
             WHERE expires_at IS NULL OR expires_at > $1 ORDER BY id"
        );
        query_indicators(&mut **conn, &sql, &[&now])
    }
}
