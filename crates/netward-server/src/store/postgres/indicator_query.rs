//! The `WHERE` clause of an [`IndicatorQuery`], shared by listing, counting and deleting by
//! filter, as PostgreSQL: every value a bound, explicitly typed parameter ([`Args`]).
//! Containment tests compare the stored bounds (family and 16-byte big-endian `range_start`/
//! `range_end`, which sort as the addresses do); the index on `(family, range_start,
//! range_end)` makes them a range scan.

use netward_model::IndicatorValue;
use postgres::types::ToSql;

use super::indicators::INDICATOR_COLUMNS;
use super::odata;
use crate::store::IndicatorQuery;

/// A statement's parameters, numbered as they are pushed.
#[derive(Default)]
pub(super) struct Args(Vec<Box<dyn ToSql + Sync + Send>>);

impl Args {
    /// Adds `value` and returns its placeholder, cast to `sql_type` so that PostgreSQL never
    /// has to guess the type (`$3::bigint`).
    pub(super) fn push<T: ToSql + Sync + Send + 'static>(
        &mut self,
        value: T,
        sql_type: &str,
    ) -> String {
        self.0.push(Box::new(value));
        format!("${}::{sql_type}", self.0.len())
    }

    /// Adds a text value.
    pub(super) fn text(&mut self, value: impl Into<String>) -> String {
        self.push(value.into(), "text")
    }

    /// Adds a whole number.
    pub(super) fn int(&mut self, value: i64) -> String {
        self.push(value, "bigint")
    }

    /// The parameters, as the client takes them.
    pub(super) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// `SELECT <columns> FROM indicators WHERE …` for `q` as of `now`, without order or paging.
pub(super) fn select(q: &IndicatorQuery, now: i64, args: &mut Args) -> String {
    let mut sql = format!("SELECT {INDICATOR_COLUMNS} FROM indicators WHERE 1 = 1");
    push_conditions(q, now, &mut sql, args);
    sql
}

/// `SELECT count(*) FROM indicators WHERE …`: how many `q` matches in all, whatever its page.
pub(super) fn count(q: &IndicatorQuery, now: i64, args: &mut Args) -> String {
    let mut sql = String::from("SELECT count(*) FROM indicators WHERE 1 = 1");
    push_conditions(q, now, &mut sql, args);
    sql
}

/// The family code of a value, as stored.
pub(super) fn family(v: &IndicatorValue) -> i32 {
    match v.family() {
        netward_model::Family::V4 => 4,
        netward_model::Family::V6 => 6,
    }
}

/// The 16-byte big-endian form of a bound, which sorts as the addresses do.
pub(super) fn bound_bytes(bound: u128) -> Vec<u8> {
    bound.to_be_bytes().to_vec()
}

/// Appends ` AND …` for every filter of `q`, binding its values into `args`.
pub(super) fn push_conditions(q: &IndicatorQuery, now: i64, sql: &mut String, args: &mut Args) {
    if let Some(v) = &q.value {
        sql.push_str(&format!(" AND value = {}", args.text(v.as_str())));
    }
    if let Some(a) = q.action {
        sql.push_str(&format!(" AND action = {}", args.text(a.as_str())));
    }
    if let Some(g) = &q.group {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(indicators.groups::jsonb) \
             AS scope(name) WHERE scope.name = {})",
            args.text(g.as_str())
        ));
    }
    if let Some(s) = &q.source {
        sql.push_str(&format!(" AND created_by = {}", args.text(s.as_str())));
    }
    if let Some(i) = q.import_id {
        sql.push_str(&format!(" AND import_id = {}", args.int(i)));
    }
    if let Some(range) = &q.within {
        let (start, end) = range.bounds();
        sql.push_str(&format!(
            " AND family = {} AND range_start >= {} AND range_start <= {e} AND range_end <= {e}",
            args.push(family(range), "integer"),
            args.push(bound_bytes(start), "bytea"),
            e = args.push(bound_bytes(end), "bytea"),
        ));
    }
    if let Some(inner) = &q.containing {
        let (start, end) = inner.bounds();
        sql.push_str(&format!(
            " AND family = {} AND range_start <= {} AND range_end >= {}",
            args.push(family(inner), "integer"),
            args.push(bound_bytes(start), "bytea"),
            args.push(bound_bytes(end), "bytea"),
        ));
    }
    // strpos() on lower-cased text: a substring test with no LIKE wildcards to escape. The
    // columns' "C" collation lower-cases ASCII only, as SQLite's lower() does.
    if let Some(t) = q.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        sql.push_str(&format!(
            " AND strpos(lower(title), {}) > 0",
            args.text(t.to_lowercase())
        ));
    }
    if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let needle = args.text(t.to_lowercase());
        sql.push_str(&format!(
            " AND (strpos(lower(value), {needle}) > 0 OR strpos(lower(title), {needle}) > 0)"
        ));
    }
    if !q.include_expired {
        sql.push_str(&format!(
            " AND (expires_at IS NULL OR expires_at > {})",
            args.int(now)
        ));
    }
    if let Some(filter) = &q.filter {
        sql.push_str(" AND ");
        odata::push_filter(filter, sql, args);
    }
}
