//! The `WHERE` clause of an [`IndicatorQuery`], shared by listing, counting and deleting by
//! filter. Containment tests compare the stored bounds (family and 16-byte big-endian
//! `range_start`/`range_end`, which sort as the addresses do); they are not indexed (an index
//! slowed imports more than it sped these up, `schema.rs`), so they scan the table.

use netward_model::IndicatorValue;
use rusqlite::types::Value;

use super::indicators::INDICATOR_COLUMNS;
use super::odata;
use crate::store::IndicatorQuery;

/// `SELECT <columns> FROM indicators WHERE …` for `q` as of `now`, without order or paging.
pub(super) fn select(q: &IndicatorQuery, now: i64) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {INDICATOR_COLUMNS} FROM indicators WHERE 1 = 1");
    let args = push_conditions(q, now, &mut sql);
    (sql, args)
}

/// `SELECT count(*) FROM indicators WHERE …`: how many `q` matches in all, whatever its page.
pub(super) fn count(q: &IndicatorQuery, now: i64) -> (String, Vec<Value>) {
    let mut sql = String::from("SELECT count(*) FROM indicators WHERE 1 = 1");
    let args = push_conditions(q, now, &mut sql);
    (sql, args)
}

/// The family code and 16-byte bounds of a value, as stored.
pub(super) fn family_and_bounds(v: &IndicatorValue) -> (i64, Value, Value) {
    let family = match v.family() {
        netward_model::Family::V4 => 4,
        netward_model::Family::V6 => 6,
    };
    let (start, end) = v.bounds();
    (
        family,
        Value::Blob(start.to_be_bytes().to_vec()),
        Value::Blob(end.to_be_bytes().to_vec()),
    )
}

/// Appends ` AND …` for every filter of `q`; returns the arguments.
pub(super) fn push_conditions(q: &IndicatorQuery, now: i64, sql: &mut String) -> Vec<Value> {
    let mut args = Vec::new();
    if let Some(v) = &q.value {
        sql.push_str(" AND value = ?");
        args.push(Value::Text(v.clone()));
    }
    if let Some(a) = q.action {
        sql.push_str(" AND action = ?");
        args.push(Value::Text(a.as_str().into()));
    }
    if let Some(g) = &q.group {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM json_each(indicators.groups) WHERE json_each.value = ?)",
        );
        args.push(Value::Text(g.clone()));
    }
    if let Some(s) = &q.source {
        sql.push_str(" AND created_by = ?");
        args.push(Value::Text(s.clone()));
    }
    if let Some(i) = q.import_id {
        sql.push_str(" AND import_id = ?");
        args.push(Value::Integer(i));
    }
    if let Some(range) = &q.within {
        let (family, start, end) = family_and_bounds(range);
        sql.push_str(
            " AND family = ? AND range_start >= ? AND range_start <= ? AND range_end <= ?",
        );
        args.extend([Value::Integer(family), start, end.clone(), end]);
    }
    if let Some(inner) = &q.containing {
        let (family, start, end) = family_and_bounds(inner);
        sql.push_str(" AND family = ? AND range_start <= ? AND range_end >= ?");
        args.extend([Value::Integer(family), start, end]);
    }
    if let Some(t) = q.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        sql.push_str(" AND instr(lower(title), ?) > 0");
        args.push(Value::Text(t.to_lowercase()));
    }
    if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // instr() on lower-cased text: a substring test with no LIKE wildcards to escape.
        sql.push_str(" AND (instr(lower(value), ?) > 0 OR instr(lower(title), ?) > 0)");
        args.push(Value::Text(t.to_lowercase()));
        args.push(Value::Text(t.to_lowercase()));
    }
    if !q.include_expired {
        sql.push_str(" AND (expires_at IS NULL OR expires_at > ?)");
        args.push(Value::Integer(now));
    }
    if let Some(filter) = &q.filter {
        sql.push_str(" AND ");
        odata::push_filter(filter, sql, &mut args);
    }
    args
}
