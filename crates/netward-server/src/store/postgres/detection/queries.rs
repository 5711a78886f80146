//! The queries on events, hunting, alerts and incidents, and status changes, as SQLite's
//! `queries.rs` has them, in PostgreSQL's dialect.

use netward_model::Severity;
use netward_model::detection::{
    AgentEvent, AlertStatus, Classification, Determination, Direction, Outcome, ProcessInfo, Reason,
};
use postgres::types::{FromSql, ToSql};
use postgres::{GenericClient, Row, Transaction};

use super::super::{pg, to_i64 as i, to_u64 as u};
use crate::store::sort::{contact_tail, event_order, indicator_join, order_by};
use crate::store::{
    AlertQuery, AlertRecord, AlertTriage, Change, ContactColumn, ContactRecord, EventQuery,
    IncidentColumn, IncidentRecord, Sort, StoreError, StoredEvent,
};

/// The conditions and parameters of a query, numbered as they are added.
#[derive(Default)]
pub(super) struct Filter {
    clauses: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync>>,
}

impl Filter {
    /// The placeholder of a new parameter.
    pub(super) fn param(&mut self, value: impl ToSql + Sync + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    fn clause(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// `WHERE a AND b …`, or nothing when there is no condition.
    fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Column `idx` of `r`.
pub(super) fn get<'a, T: FromSql<'a>>(r: &'a Row, idx: usize) -> Result<T, StoreError> {
    r.try_get(idx).map_err(pg("read a row"))
}

/// Reads column `idx` as a name that `parse` must know; anything else is corruption, reported
/// as such rather than shown as a default.
pub(super) fn named<T>(r: &Row, idx: usize, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let text: String = get(r, idx)?;
    parse(&text).ok_or_else(|| {
        let column = r.columns().get(idx).map_or("?", |c| c.name());
        StoreError::Corrupt(format!("{column}: `{text}` is not a known value"))
    })
}

/// A column that may be NULL, read with `parse` when it is not.
fn named_opt<T>(
    r: &Row,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    match get::<Option<String>>(r, idx)? {
        None => Ok(None),
        Some(_) => named(r, idx, parse).map(Some),
    }
}

fn port(r: &Row, idx: usize) -> Result<Option<u16>, StoreError> {
    Ok(get::<Option<i32>>(r, idx)?.and_then(|p| u16::try_from(p).ok()))
}

const EVENT_COLUMNS: &str = "e.id, e.device_id, coalesce(d.hostname, ''), e.seq, e.first_ms, \
    e.last_ms, e.count, e.direction, e.protocol, e.local_ip, e.local_port, e.remote_ip, \
    e.remote_port, e.outcome, e.reason, e.indicators, e.titles, e.process";

fn read_event(r: &Row) -> Result<StoredEvent, StoreError> {
    let indicators: String = get(r, 15)?;
    let titles: String = get(r, 16)?;
    let process: Option<String> = get(r, 17)?;
    Ok(StoredEvent {
        id: get(r, 0)?,
        device_id: get(r, 1)?,
        device_name: get(r, 2)?,
        event: AgentEvent {
            seq: u(get(r, 3)?),
            first_seen_ms: get(r, 4)?,
            last_seen_ms: get(r, 5)?,
            count: u(get(r, 6)?),
            direction: named(r, 7, Direction::parse)?,
            protocol: get(r, 8)?,
            local_ip: get(r, 9)?,
            local_port: port(r, 10)?,
            remote_ip: get(r, 11)?,
            remote_port: port(r, 12)?,
            outcome: named(r, 13, Outcome::parse)?,
            reason: named(r, 14, Reason::parse)?,
            indicators: serde_json::from_str(&indicators).unwrap_or_default(),
            process: process.and_then(|p| serde_json::from_str::<ProcessInfo>(&p).ok()),
        },
        titles: serde_json::from_str(&titles).unwrap_or_default(),
    })
}

/// The conditions of an event query.
fn event_filter(q: &EventQuery) -> Filter {
    let mut f = Filter::default();
    if let Some(d) = q.device {
        let p = f.param(d);
        f.clause(format!("e.device_id = {p}"));
    }
    if let Some(ind) = q.indicator {
        let p = f.param(ind);
        f.clause(format!(
            "e.id IN (SELECT event_id FROM event_indicators WHERE indicator_id = {p})"
        ));
    }
    if let Some((v6, lo, hi)) = q.remote {
        let (v6, lo, hi) = (
            f.param(v6),
            f.param(lo.to_be_bytes().to_vec()),
            f.param(hi.to_be_bytes().to_vec()),
        );
        f.clause(format!(
            "e.remote_v6 = {v6} AND e.remote_key BETWEEN {lo} AND {hi}"
        ));
    }
    if let Some(o) = &q.outcome {
        let p = f.param(o.as_str().to_owned());
        f.clause(format!("e.outcome = {p}"));
    }
    if let Some(from) = q.from_ms {
        let p = f.param(from);
        f.clause(format!("e.last_ms >= {p}"));
    }
    if let Some(to) = q.to_ms {
        let p = f.param(to);
        f.clause(format!("e.first_ms < {p}"));
    }
    if let Some(after) = q.after_id {
        let p = f.param(after);
        f.clause(format!("e.id > {p}"));
    }
    f
}

/// Events matching `q`.
pub fn events(
    client: &mut impl GenericClient,
    q: &EventQuery,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut f = event_filter(q);
    let (limit, offset) = (f.param(i(q.top as u64)), f.param(i(q.skip as u64)));
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN devices d ON d.id = e.device_id \
         {}{} LIMIT {limit} OFFSET {offset}",
        f.where_clause(),
        event_order(q)
    );
    let rows = client
        .query(&sql, &f.params())
        .map_err(pg("query events"))?;
    rows.iter().map(read_event).collect()
}

/// Contacts (device × process) among the events matching `q`.
pub fn contacts(
    client: &mut impl GenericClient,
    q: &EventQuery,
    order: Option<Sort<ContactColumn>>,
) -> Result<Vec<ContactRecord>, StoreError> {
    let f = event_filter(q);
    let sql = format!(
        "SELECT e.device_id, coalesce(d.hostname, ''), {PROCESS} AS proc, \
         string_agg(DISTINCT e.remote_ip, ','), string_agg(DISTINCT e.outcome, ','), \
         min(e.first_ms), max(e.last_ms), sum(e.count)::bigint \
         FROM events e LEFT JOIN devices d ON d.id = e.device_id {} \
         GROUP BY e.device_id, d.hostname, proc{}",
        f.where_clause(),
        contact_tail(q, order)
    );
    let rows = client.query(&sql, &f.params()).map_err(pg("hunt"))?;
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
    rows.iter()
        .map(|r| {
            Ok(ContactRecord {
                device_id: get(r, 0)?,
                device_name: get(r, 1)?,
                process: get(r, 2)?,
                remote_ips: split(get(r, 3)?),
                outcomes: split(get(r, 4)?),
                first_ms: get(r, 5)?,
                last_ms: get(r, 6)?,
                count: u(get(r, 7)?),
            })
        })
        .collect()
}

const ALERT_COLUMNS: &str = "a.id, a.incident_id, a.device_id, coalesce(d.hostname, ''), \
    a.indicator_id, a.indicator_value, a.title, a.severity, a.recommended_actions, a.status, \
    a.status_by, a.status_at, a.first_ms, a.last_ms, a.hit_count, a.outcomes, a.assigned_to, \
    a.assigned_by, a.assigned_at, a.classification, a.determination, a.classified_by, \
    a.classified_at";

fn read_alert(r: &Row) -> Result<AlertRecord, StoreError> {
    let outcomes: String = get(r, 15)?;
    Ok(AlertRecord {
        id: get(r, 0)?,
        incident_id: get(r, 1)?,
        device_id: get(r, 2)?,
        device_name: get(r, 3)?,
        indicator_id: get(r, 4)?,
        indicator_value: get(r, 5)?,
        title: get(r, 6)?,
        severity: named(r, 7, Severity::parse)?,
        recommended_actions: get(r, 8)?,
        status: named(r, 9, AlertStatus::parse)?,
        status_by: get(r, 10)?,
        status_at: get(r, 11)?,
        first_ms: get(r, 12)?,
        last_ms: get(r, 13)?,
        hit_count: u(get(r, 14)?),
        outcomes: outcomes.split(',').filter_map(Outcome::parse).collect(),
        triage: AlertTriage {
            assigned_to: get(r, 16)?,
            assigned_by: get(r, 17)?,
            assigned_at: get(r, 18)?,
            classification: named_opt(r, 19, Classification::parse)?,
            determination: named_opt(r, 20, Determination::parse)?,
            classified_by: get(r, 21)?,
            classified_at: get(r, 22)?,
        },
    })
}

/// The conditions and parameters of an alert query.
fn alert_filter(q: &AlertQuery) -> Filter {
    let mut f = Filter::default();
    for (column, value) in [
        ("a.id", q.id),
        ("a.device_id", q.device),
        ("a.indicator_id", q.indicator),
        ("a.incident_id", q.incident),
    ] {
        if let Some(v) = value {
            let p = f.param(v);
            f.clause(format!("{column} = {p}"));
        }
    }
    if let Some(s) = &q.status {
        let p = f.param(s.as_str().to_owned());
        f.clause(format!("a.status = {p}"));
    }
    f
}

/// Alerts matching `q`, in its order (newest activity first without one).
pub fn alerts(
    client: &mut impl GenericClient,
    q: &AlertQuery,
) -> Result<Vec<AlertRecord>, StoreError> {
    let mut f = alert_filter(q);
    let (limit, offset) = (f.param(i(q.top as u64)), f.param(i(q.skip as u64)));
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN devices d ON d.id = a.device_id{} {}\
         {} LIMIT {limit} OFFSET {offset}",
        indicator_join("a"),
        f.where_clause(),
        order_by(q.order, "a.last_ms DESC, a.id DESC", "a.id")
    );
    let rows = client
        .query(&sql, &f.params())
        .map_err(pg("query alerts"))?;
    rows.iter().map(read_alert).collect()
}

/// How many alerts match `q`'s filters.
pub fn count_alerts(client: &mut impl GenericClient, q: &AlertQuery) -> Result<u64, StoreError> {
    let f = alert_filter(q);
    let sql = format!("SELECT count(*) FROM alerts a {}", f.where_clause());
    let row = client
        .query_one(&sql, &f.params())
        .map_err(pg("count alerts"))?;
    Ok(u(get(&row, 0)?))
}

/// How many events match `q`'s filters.
pub fn count_events(client: &mut impl GenericClient, q: &EventQuery) -> Result<u64, StoreError> {
    let f = event_filter(q);
    let sql = format!("SELECT count(*) FROM events e {}", f.where_clause());
    let row = client
        .query_one(&sql, &f.params())
        .map_err(pg("count events"))?;
    Ok(u(get(&row, 0)?))
}

/// How many device and process pairs [`contacts`] finds in all.
pub fn count_contacts(client: &mut impl GenericClient, q: &EventQuery) -> Result<u64, StoreError> {
    let f = event_filter(q);
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM events e {} GROUP BY e.device_id, {PROCESS}) AS c",
        f.where_clause()
    );
    let row = client
        .query_one(&sql, &f.params())
        .map_err(pg("count hunt"))?;
    Ok(u(get(&row, 0)?))
}

/// An event's process, as the hunt groups it.
const PROCESS: &str =
    "coalesce(e.process::jsonb ->> 'exe', e.process::jsonb ->> 'name', 'unknown')";

/// The events linked to an alert, newest first.
pub fn evidence(
    client: &mut impl GenericClient,
    id: i64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM alert_events ae JOIN events e ON e.id = ae.event_id \
         LEFT JOIN devices d ON d.id = e.device_id WHERE ae.alert_id = $1 \
         ORDER BY e.first_ms DESC, e.id DESC LIMIT $2"
    );
    let rows = client
        .query(&sql, &[&id, &i(limit as u64)])
        .map_err(pg("query evidence"))?;
    rows.iter().map(read_event).collect()
}

/// Incidents, with counts.
pub fn incidents(
    client: &mut impl GenericClient,
    id: Option<i64>,
    status: Option<AlertStatus>,
    order: Option<Sort<IncidentColumn>>,
    top: usize,
    skip: usize,
) -> Result<Vec<IncidentRecord>, StoreError> {
    let mut f = Filter::default();
    if let Some(id) = id {
        let p = f.param(id);
        f.clause(format!("i.id = {p}"));
    }
    if let Some(s) = status {
        let p = f.param(s.as_str().to_owned());
        f.clause(format!("i.status = {p}"));
    }
    let (limit, offset) = (f.param(i(top as u64)), f.param(i(skip as u64)));
    let sql = format!(
        "SELECT i.id, i.indicator_id, i.indicator_value, i.title, i.severity, i.status, \
         i.status_by, i.status_at, i.first_ms, i.last_ms, \
         (SELECT count(*) FROM alerts a WHERE a.incident_id = i.id) AS alert_count, \
         (SELECT count(DISTINCT a.device_id) FROM alerts a WHERE a.incident_id = i.id) \
         AS device_count, \
         (SELECT coalesce(sum(a.hit_count), 0)::bigint FROM alerts a WHERE a.incident_id = i.id) \
         AS hit_count FROM incidents i{} {}{} LIMIT {limit} OFFSET {offset}",
        indicator_join("i"),
        f.where_clause(),
        order_by(order, "i.last_ms DESC, i.id DESC", "i.id")
    );
    let rows = client
        .query(&sql, &f.params())
        .map_err(pg("query incidents"))?;
    rows.iter()
        .map(|r| {
            Ok(IncidentRecord {
                id: get(r, 0)?,
                indicator_id: get(r, 1)?,
                indicator_value: get(r, 2)?,
                title: get(r, 3)?,
                severity: named(r, 4, Severity::parse)?,
                status: named(r, 5, AlertStatus::parse)?,
                status_by: get(r, 6)?,
                status_at: get(r, 7)?,
                first_ms: get(r, 8)?,
                last_ms: get(r, 9)?,
                alert_count: u(get(r, 10)?),
                device_count: u(get(r, 11)?),
                hit_count: u(get(r, 12)?),
            })
        })
        .collect()
}

/// Sets an incident's status and its alerts', as [`cascade_status`] decides.
///
/// [`cascade_status`]: crate::detection::alerting::cascade_status
pub fn set_incident_status(
    tx: &mut Transaction<'_>,
    id: i64,
    status: AlertStatus,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE incidents SET status = $2, status_by = $3, status_at = $4 WHERE id = $1",
            &[&id, &status.as_str(), &change.actor.name, &change.at],
        )
        .map_err(pg("set incident status"))?;
    if n > 0 {
        let rows = tx
            .query(
                "SELECT id, status FROM alerts WHERE incident_id = $1",
                &[&id],
            )
            .map_err(pg("read incident alerts"))?;
        let alerts = rows
            .iter()
            .map(|r| Ok((get(r, 0)?, named(r, 1, AlertStatus::parse)?)))
            .collect::<Result<Vec<(i64, AlertStatus)>, StoreError>>()?;
        let ids = crate::detection::alerting::cascade_status(status, &alerts);
        tx.execute(
            "UPDATE alerts SET status = $2, status_by = $3, status_at = $4 WHERE id = ANY($1)",
            &[&ids, &status.as_str(), &change.actor.name, &change.at],
        )
        .map_err(pg("set alert status"))?;
    }
    Ok(n > 0)
}
