//! The queries on events, hunting, alerts and incidents, and status changes.

use netward_model::Severity;
use netward_model::detection::{
    AgentEvent, AlertStatus, Classification, Determination, Direction, Outcome, ProcessInfo, Reason,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, Transaction, params, params_from_iter};

use super::super::{db, to_i64 as i, to_u64 as u};
use crate::store::sort::{contact_tail, event_order, indicator_join, order_by};
use crate::store::{
    AlertQuery, AlertRecord, AlertTriage, Change, ContactColumn, ContactRecord, EventQuery,
    IncidentColumn, IncidentRecord, Sort, StoreError, StoredEvent,
};

const EVENT_COLUMNS: &str = "e.id, e.device_id, coalesce(d.hostname, ''), e.seq, e.first_ms, \
    e.last_ms, e.count, e.direction, e.protocol, e.local_ip, e.local_port, e.remote_ip, \
    e.remote_port, e.outcome, e.reason, e.indicators, e.titles, e.process";

fn read_event(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let indicators: String = r.get(15)?;
    let titles: String = r.get(16)?;
    let process: Option<String> = r.get(17)?;
    Ok(StoredEvent {
        id: r.get(0)?,
        device_id: r.get(1)?,
        device_name: r.get(2)?,
        event: AgentEvent {
            seq: u(r.get(3)?),
            first_seen_ms: r.get(4)?,
            last_seen_ms: r.get(5)?,
            count: u(r.get(6)?),
            direction: named(r, 7, Direction::parse)?,
            protocol: r.get(8)?,
            local_ip: r.get(9)?,
            local_port: r.get(10)?,
            remote_ip: r.get(11)?,
            remote_port: r.get(12)?,
            outcome: named(r, 13, Outcome::parse)?,
            reason: named(r, 14, Reason::parse)?,
            indicators: serde_json::from_str(&indicators).unwrap_or_default(),
            process: process.and_then(|p| serde_json::from_str::<ProcessInfo>(&p).ok()),
        },
        titles: serde_json::from_str(&titles).unwrap_or_default(),
    })
}

/// `WHERE a AND b …`, or nothing when there is no condition.
fn where_clause<S: AsRef<str>>(clauses: &[S]) -> String {
    if clauses.is_empty() {
        return String::new();
    }
    let parts: Vec<&str> = clauses.iter().map(AsRef::as_ref).collect();
    format!("WHERE {}", parts.join(" AND "))
}

/// The WHERE clause and parameters of an event query.
pub(crate) fn event_filter(q: &EventQuery) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(d) = q.device {
        clauses.push("e.device_id = ?".to_owned());
        args.push(Value::Integer(d));
    }
    if let Some(ind) = q.indicator {
        clauses.push(
            "e.id IN (SELECT event_id FROM event_indicators WHERE indicator_id = ?)".to_owned(),
        );
        args.push(Value::Integer(ind));
    }
    if let Some((v6, lo, hi)) = q.remote {
        clauses.push("e.remote_v6 = ? AND e.remote_key BETWEEN ? AND ?".to_owned());
        args.push(Value::Integer(i64::from(v6)));
        args.push(Value::Blob(lo.to_be_bytes().to_vec()));
        args.push(Value::Blob(hi.to_be_bytes().to_vec()));
    }
    if let Some(o) = &q.outcome {
        clauses.push("e.outcome = ?".to_owned());
        args.push(Value::Text(o.as_str().to_owned()));
    }
    if let Some(from) = q.from_ms {
        clauses.push("e.last_ms >= ?".to_owned());
        args.push(Value::Integer(from));
    }
    if let Some(to) = q.to_ms {
        clauses.push("e.first_ms < ?".to_owned());
        args.push(Value::Integer(to));
    }
    if let Some(after) = q.after_id {
        clauses.push("e.id > ?".to_owned());
        args.push(Value::Integer(after));
    }
    let filter = where_clause(&clauses);
    (filter, args)
}

/// Events matching `q`.
pub fn events(conn: &Connection, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
    let (filter, mut args) = event_filter(q);
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN devices d ON d.id = e.device_id \
         {filter}{} LIMIT ? OFFSET ?",
        event_order(q)
    );
    args.push(Value::Integer(i(q.top as u64)));
    args.push(Value::Integer(i(q.skip as u64)));
    let mut st = conn.prepare(&sql).map_err(db("query events"))?;
    let rows = st
        .query_map(params_from_iter(args), read_event)
        .map_err(db("query events"))?;
    rows.collect::<Result<_, _>>().map_err(db("read events"))
}

/// Contacts (device × process) among the events matching `q`.
pub fn contacts(
    conn: &Connection,
    q: &EventQuery,
    order: Option<Sort<ContactColumn>>,
) -> Result<Vec<ContactRecord>, StoreError> {
    let (filter, args) = event_filter(q);
    let sql = format!(
        "SELECT e.device_id, coalesce(d.hostname, ''), {PROCESS} AS proc, \
         group_concat(DISTINCT e.remote_ip), group_concat(DISTINCT e.outcome), \
         min(e.first_ms), max(e.last_ms), sum(e.count) \
         FROM events e LEFT JOIN devices d ON d.id = e.device_id {filter} \
         GROUP BY e.device_id, proc{}",
        contact_tail(q, order)
    );
    let mut st = conn.prepare(&sql).map_err(db("hunt"))?;
    let rows = st
        .query_map(params_from_iter(args), |r| {
            let split = |s: Option<String>| -> Vec<String> {
                let mut v: Vec<String> = s
                    .unwrap_or_default()
                    .split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect();
                // Numeric for addresses (100.64.0.2 before 100.64.0.10); outcomes are words.
                netward_model::address_order::sort_addresses(&mut v);
                v
            };
            Ok(ContactRecord {
                device_id: r.get(0)?,
                device_name: r.get(1)?,
                process: r.get(2)?,
                remote_ips: split(r.get(3)?),
                outcomes: split(r.get(4)?),
                first_ms: r.get(5)?,
                last_ms: r.get(6)?,
                count: u(r.get(7)?),
            })
        })
        .map_err(db("hunt"))?;
    rows.collect::<Result<_, _>>().map_err(db("hunt"))
}

/// How many device and process pairs [`contacts`] finds in all.
pub fn count_contacts(conn: &Connection, q: &EventQuery) -> Result<u64, StoreError> {
    let (filter, args) = event_filter(q);
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM events e {filter} GROUP BY e.device_id, {PROCESS})"
    );
    conn.query_row(&sql, params_from_iter(args), |r| r.get::<_, i64>(0))
        .map(u)
        .map_err(db("count hunt"))
}

/// An event's process, as the hunt groups it.
const PROCESS: &str =
    "coalesce(json_extract(e.process, '$.exe'), json_extract(e.process, '$.name'), 'unknown')";

/// Deletes events older than `before_ms`, with their index and evidence links.
pub fn purge(conn: &mut Connection, before_ms: i64) -> Result<u64, StoreError> {
    let tx = conn.transaction().map_err(db("purge"))?;
    tx.execute(
        "DELETE FROM event_indicators WHERE event_id IN (SELECT id FROM events WHERE last_ms < ?1)",
        params![before_ms],
    )
    .map_err(db("purge"))?;
    tx.execute(
        "DELETE FROM alert_events WHERE event_id IN (SELECT id FROM events WHERE last_ms < ?1)",
        params![before_ms],
    )
    .map_err(db("purge"))?;
    let n = tx
        .execute("DELETE FROM events WHERE last_ms < ?1", params![before_ms])
        .map_err(db("purge"))?;
    tx.commit().map_err(db("purge"))?;
    Ok(n as u64)
}

/// Reads column `idx` as a name that `parse` must know; anything else is corruption, reported
/// as such rather than shown as a default.
pub(super) fn named<T>(
    r: &Row<'_>,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = r.get(idx)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("`{text}` is not a known value").into(),
        )
    })
}

const ALERT_COLUMNS: &str = "a.id, a.incident_id, a.device_id, coalesce(d.hostname, ''), \
    a.indicator_id, a.indicator_value, a.title, a.severity, a.recommended_actions, a.status, \
    a.status_by, a.status_at, a.first_ms, a.last_ms, a.hit_count, a.outcomes, a.assigned_to, \
    a.assigned_by, a.assigned_at, a.classification, a.determination, a.classified_by, \
    a.classified_at";

/// A column that may be NULL, read with `parse` when it is not.
fn named_opt<T>(
    r: &Row<'_>,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<Option<T>> {
    match r.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(_) => named(r, idx, parse).map(Some),
    }
}

fn read_alert(r: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    let outcomes: String = r.get(15)?;
    Ok(AlertRecord {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        device_id: r.get(2)?,
        device_name: r.get(3)?,
        indicator_id: r.get(4)?,
        indicator_value: r.get(5)?,
        title: r.get(6)?,
        severity: named(r, 7, Severity::parse)?,
        recommended_actions: r.get(8)?,
        status: named(r, 9, AlertStatus::parse)?,
        status_by: r.get(10)?,
        status_at: r.get(11)?,
        first_ms: r.get(12)?,
        last_ms: r.get(13)?,
        hit_count: u(r.get(14)?),
        outcomes: outcomes.split(',').filter_map(Outcome::parse).collect(),
        triage: AlertTriage {
            assigned_to: r.get(16)?,
            assigned_by: r.get(17)?,
            assigned_at: r.get(18)?,
            classification: named_opt(r, 19, Classification::parse)?,
            determination: named_opt(r, 20, Determination::parse)?,
            classified_by: r.get(21)?,
            classified_at: r.get(22)?,
        },
    })
}

/// The WHERE clause and parameters of an alert query.
fn alert_filter(q: &AlertQuery) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    for (column, value) in [
        ("a.id", q.id),
        ("a.device_id", q.device),
        ("a.indicator_id", q.indicator),
        ("a.incident_id", q.incident),
    ] {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            args.push(Value::Integer(v));
        }
    }
    if let Some(s) = &q.status {
        clauses.push("a.status = ?".to_owned());
        args.push(Value::Text(s.as_str().to_owned()));
    }
    (where_clause(&clauses), args)
}

/// Alerts matching `q`, in its order (newest activity first without one).
pub fn alerts(conn: &Connection, q: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError> {
    let (filter, mut args) = alert_filter(q);
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN devices d ON d.id = a.device_id{} \
         {filter}{} LIMIT ? OFFSET ?",
        indicator_join("a"),
        order_by(q.order, "a.last_ms DESC, a.id DESC", "a.id")
    );
    args.push(Value::Integer(i(q.top as u64)));
    args.push(Value::Integer(i(q.skip as u64)));
    let mut st = conn.prepare(&sql).map_err(db("query alerts"))?;
    let rows = st
        .query_map(params_from_iter(args), read_alert)
        .map_err(db("query alerts"))?;
    rows.collect::<Result<_, _>>().map_err(db("read alerts"))
}

/// How many alerts match `q`'s filters.
pub fn count_alerts(conn: &Connection, q: &AlertQuery) -> Result<u64, StoreError> {
    let (filter, args) = alert_filter(q);
    conn.query_row(
        &format!("SELECT count(*) FROM alerts a {filter}"),
        params_from_iter(args),
        |r| r.get::<_, i64>(0),
    )
    .map(u)
    .map_err(db("count alerts"))
}

/// The events linked to an alert, newest first.
pub fn evidence(conn: &Connection, id: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM alert_events ae JOIN events e ON e.id = ae.event_id \
         LEFT JOIN devices d ON d.id = e.device_id WHERE ae.alert_id = ?1 \
         ORDER BY e.first_ms DESC, e.id DESC LIMIT ?2"
    );
    let mut st = conn.prepare(&sql).map_err(db("query evidence"))?;
    let rows = st
        .query_map(params![id, i(limit as u64)], read_event)
        .map_err(db("query evidence"))?;
    rows.collect::<Result<_, _>>().map_err(db("read evidence"))
}

/// Incidents, with counts.
pub fn incidents(
    conn: &Connection,
    id: Option<i64>,
    status: Option<AlertStatus>,
    order: Option<Sort<IncidentColumn>>,
    top: usize,
    skip: usize,
) -> Result<Vec<IncidentRecord>, StoreError> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(id) = id {
        clauses.push("i.id = ?");
        args.push(Value::Integer(id));
    }
    if let Some(s) = status {
        clauses.push("i.status = ?");
        args.push(Value::Text(s.as_str().to_owned()));
    }
    let filter = where_clause(&clauses);
    let sql = format!(
        "SELECT i.id, i.indicator_id, i.indicator_value, i.title, i.severity, i.status, \
         i.status_by, i.status_at, i.first_ms, i.last_ms, \
         (SELECT count(*) FROM alerts a WHERE a.incident_id = i.id) AS alert_count, \
         (SELECT count(DISTINCT a.device_id) FROM alerts a WHERE a.incident_id = i.id) \
         AS device_count, \
         (SELECT coalesce(sum(a.hit_count), 0) FROM alerts a WHERE a.incident_id = i.id) \
         AS hit_count FROM incidents i{} {filter}{} LIMIT ? OFFSET ?",
        indicator_join("i"),
        order_by(order, "i.last_ms DESC, i.id DESC", "i.id")
    );
    args.push(Value::Integer(i(top as u64)));
    args.push(Value::Integer(i(skip as u64)));
    let mut st = conn.prepare(&sql).map_err(db("query incidents"))?;
    let rows = st
        .query_map(params_from_iter(args), |r| {
            Ok(IncidentRecord {
                id: r.get(0)?,
                indicator_id: r.get(1)?,
                indicator_value: r.get(2)?,
                title: r.get(3)?,
                severity: named(r, 4, Severity::parse)?,
                status: named(r, 5, AlertStatus::parse)?,
                status_by: r.get(6)?,
                status_at: r.get(7)?,
                first_ms: r.get(8)?,
                last_ms: r.get(9)?,
                alert_count: u(r.get(10)?),
                device_count: u(r.get(11)?),
                hit_count: u(r.get(12)?),
            })
        })
        .map_err(db("query incidents"))?;
    rows.collect::<Result<_, _>>().map_err(db("read incidents"))
}

/// Sets an incident's status and its alerts'.
pub fn set_incident_status(
    tx: &Transaction<'_>,
    id: i64,
    status: AlertStatus,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE incidents SET status = ?2, status_by = ?3, status_at = ?4 WHERE id = ?1",
            params![id, status.as_str(), change.actor.name, change.at],
        )
        .map_err(db("set incident status"))?;
    if n > 0 {
        let alerts = tx
            .prepare_cached("SELECT id, status FROM alerts WHERE incident_id = ?1")
            .and_then(|mut st| {
                st.query_map(params![id], |r| {
                    Ok((r.get(0)?, named(r, 1, AlertStatus::parse)?))
                })?
                .collect::<rusqlite::Result<Vec<(i64, AlertStatus)>>>()
            })
            .map_err(db("read incident alerts"))?;
        for alert in crate::detection::alerting::cascade_status(status, &alerts) {
            tx.prepare_cached(
                "UPDATE alerts SET status = ?2, status_by = ?3, status_at = ?4 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    alert,
                    status.as_str(),
                    change.actor.name,
                    change.at
                ])
            })
            .map_err(db("set alert status"))?;
        }
    }
    Ok(n > 0)
}
