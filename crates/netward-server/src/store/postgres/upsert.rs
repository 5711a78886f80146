//! Upserting a batch of indicators: one `INSERT … SELECT FROM unnest(<one array per
//! column>) … ON CONFLICT (value) DO UPDATE` per chunk of drafts, and their audit entries in
//! one statement per chunk too, never a round trip per row.

use std::collections::HashMap;

use netward_model::IndicatorDraft;
use postgres::Transaction;
use postgres::types::ToSql;

use super::indicator_query::{bound_bytes, family};
use super::{pg, to_json};
use crate::store::indicator_sql::{UpsertLedger, upsert_set};
use crate::store::{Change, StoreError};

/// Drafts per statement: each column travels as one array parameter.
const UPSERT_CHUNK: usize = 10_000;
/// Audit entries per statement.
const AUDIT_CHUNK: usize = 10_000;

/// The columns of `indicators` that a draft fills, one array per column, in this order (that
/// of [`Self::params`], and of [`UPSERT_SQL`]'s arrays): `value text[]`, `family integer[]`,
/// `range_start bytea[]`, `range_end bytea[]`, `action`, `title`, `description`, `severity`
/// (`text[]`), `expires_at bigint[]`, `generate_alert boolean[]`, `recommended_actions`,
/// `groups`, `external_id`, `application`, `category`, `mitre_techniques`, `action_name`,
/// `educate_url` (`text[]`). Other writers of indicators (a feed's run) use it too.
#[derive(Default)]
pub(super) struct DraftColumns {
    value: Vec<String>,
    family: Vec<i32>,
    range_start: Vec<Vec<u8>>,
    range_end: Vec<Vec<u8>>,
    action: Vec<&'static str>,
    title: Vec<String>,
    description: Vec<String>,
    severity: Vec<&'static str>,
    expires_at: Vec<Option<i64>>,
    generate_alert: Vec<bool>,
    recommended_actions: Vec<String>,
    groups: Vec<String>,
    external_id: Vec<String>,
    application: Vec<String>,
    category: Vec<String>,
    mitre_techniques: Vec<String>,
    action_name: Vec<&'static str>,
    educate_url: Vec<String>,
}

impl DraftColumns {
    /// Adds a draft whose canonical value is `value`.
    pub(super) fn push(&mut self, d: &IndicatorDraft, value: &str) -> Result<(), StoreError> {
        let (start, end) = d.value.bounds();
        self.value.push(value.to_owned());
        self.family.push(family(&d.value));
        self.range_start.push(bound_bytes(start));
        self.range_end.push(bound_bytes(end));
        self.action.push(d.mde_action.action().as_str());
        self.title.push(d.title.clone());
        self.description.push(d.description.clone());
        self.severity.push(d.severity.as_str());
        self.expires_at.push(d.expires_at);
        self.generate_alert.push(d.generate_alert);
        self.recommended_actions.push(d.recommended_actions.clone());
        self.groups.push(to_json(&d.groups)?);
        self.external_id.push(d.external_id.clone());
        self.application.push(d.application.clone());
        self.category.push(d.category.clone());
        self.mitre_techniques.push(d.mitre_techniques.join(","));
        self.action_name.push(d.mde_action.as_str());
        self.educate_url.push(d.educate_url.clone());
        Ok(())
    }

    /// The arrays, in the order of the type's doc, as a statement's parameters.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 18] {
        [
            &self.value,
            &self.family,
            &self.range_start,
            &self.range_end,
            &self.action,
            &self.title,
            &self.description,
            &self.severity,
            &self.expires_at,
            &self.generate_alert,
            &self.recommended_actions,
            &self.groups,
            &self.external_id,
            &self.application,
            &self.category,
            &self.mitre_techniques,
            &self.action_name,
            &self.educate_url,
        ]
    }
}

/// Creates the rows of the arrays `$1`…`$18` in their order, by `$19` (name), `$20` (kind) at
/// `$21`; an existing value is updated, keeping who created it and when.
const UPSERT_SQL: &str = concat!(
    "INSERT INTO indicators (value, family, range_start, range_end, action, \
    title, description, severity, expires_at, generate_alert, recommended_actions, groups, \
    external_id, application, category, mitre_techniques, action_name, educate_url, \
    created_by, created_by_kind, created_at, updated_by, updated_by_kind, updated_at) \
    SELECT v, f, rs, re, a, t, d, s, x, ga, ra, g, ei, ap, c, m, an, eu, $19::text, $20::text, $21::bigint, $19, $20, $21 \
    FROM unnest($1::text[], $2::integer[], $3::bytea[], $4::bytea[], $5::text[], $6::text[], \
    $7::text[], $8::text[], $9::bigint[], $10::boolean[], $11::text[], $12::text[], $13::text[], \
    $14::text[], $15::text[], $16::text[], $17::text[], $18::text[]) WITH ORDINALITY \
    AS r(v, f, rs, re, a, t, d, s, x, ga, ra, g, ei, ap, c, m, an, eu, n) ORDER BY n \
    ON CONFLICT (value) DO UPDATE SET ",
    upsert_set!(),
    " RETURNING id, value"
);

/// Upserts `drafts` inside `tx` (begun with [`super::begin_audited`]) with one audit entry
/// each (`indicator.create` or `indicator.update`); their ids, in order. A value given twice
/// is written once, as its last draft, and audited twice, as SQLite's upsert does.
pub(super) fn upsert(
    tx: &mut Transaction<'_>,
    drafts: &[IndicatorDraft],
    change: &Change<'_>,
) -> Result<Vec<i64>, StoreError> {
    // In value order, so that every index grows in runs; a stable sort keeps a repeated
    // value's drafts in submission order, so the last one wins.
    let values: Vec<String> = drafts.iter().map(|d| d.value.to_string()).collect();
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by(|a, b| values[*a].cmp(&values[*b]));
    // Ids only grow, so a returned id above the old maximum is a new row.
    let max_before: i64 = tx
        .query_one("SELECT coalesce(max(id), 0) FROM indicators", &[])
        .map_err(pg("prepare upsert"))?
        .get(0);
    let mut ledger = UpsertLedger::new(drafts.len(), max_before);
    let kind = change.actor.kind.as_str();
    for chunk in order.chunks(UPSERT_CHUNK) {
        let mut columns = DraftColumns::default();
        for (n, &i) in chunk.iter().enumerate() {
            // One row per value (a statement may not change a row twice): the last draft.
            let repeated_next = chunk
                .get(n + 1)
                .is_some_and(|&next| values[next] == values[i]);
            if !repeated_next {
                columns.push(&drafts[i], &values[i])?;
            }
        }
        let mut params = columns.params().to_vec();
        params.extend([&change.actor.name as &(dyn ToSql + Sync), &kind, &change.at]);
        let returned: HashMap<String, i64> = tx
            .query(UPSERT_SQL, &params)
            .map_err(pg("upsert indicators"))?
            .iter()
            .map(|r| (r.get::<_, String>(1), r.get::<_, i64>(0)))
            .collect();
        for &i in chunk {
            ledger.record(i, &drafts[i], &values[i], &returned)?;
        }
    }
    insert_audit_rows(tx, change, &ledger.audit_rows)?;
    Ok(ledger.ids)
}

/// Writes one audit row per `(verb, target, detail)`, in their order, in multi-row statements.
pub(super) fn insert_audit_rows(
    tx: &mut Transaction<'_>,
    change: &Change<'_>,
    rows: &[(&'static str, String, String)],
) -> Result<(), StoreError> {
    let kind = change.actor.kind.as_str();
    for chunk in rows.chunks(AUDIT_CHUNK) {
        let verbs: Vec<&str> = chunk.iter().map(|r| r.0).collect();
        let targets: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
        let details: Vec<&str> = chunk.iter().map(|r| r.2.as_str()).collect();
        tx.execute(
            "INSERT INTO audit_log (at, actor, actor_kind, action, target, detail) \
             SELECT $1::bigint, $2::text, $3::text, a, t, d FROM unnest($4::text[], $5::text[], $6::text[]) \
             WITH ORDINALITY AS r(a, t, d, n) ORDER BY n",
            &[
                &change.at,
                &change.actor.name,
                &kind,
                &verbs,
                &targets,
                &details,
            ],
        )
        .map_err(pg("write audit log"))?;
    }
    Ok(())
}
