//! The SQLite side of detection: events, alerts and incidents (schema version 3).
//!
//! An event is stored once per (device, seq). A remote address is kept as its family and a
//! 16-byte big-endian key, so that "every event with a remote address in 10.0.0.0/8" is an
//! index range scan.

use netward_model::detection::{AgentEvent, MatchedIndicator, Outcome, ProcessInfo};
use netward_model::{IndicatorValue, Severity};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};

use super::detection::{
    AlertQuery, AlertRecord, ContactRecord, EventQuery, IncidentRecord, IngestOutcome, StoredEvent,
};
use super::{Change, StoreError};

/// Version 3: events, alerts and incidents.
pub const SCHEMA_3: &str = "
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    direction TEXT NOT NULL,
    protocol TEXT NOT NULL,
    local_ip TEXT NOT NULL,
    local_port INTEGER,
    remote_ip TEXT NOT NULL,
    remote_v6 INTEGER NOT NULL,
    remote_key BLOB NOT NULL,
    remote_port INTEGER,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    indicators TEXT NOT NULL,
    titles TEXT NOT NULL,
    process TEXT,
    received_ms INTEGER NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX events_time ON events(last_ms);
CREATE INDEX events_device_time ON events(device_id, first_ms);
CREATE INDEX events_remote ON events(remote_v6, remote_key);
CREATE TABLE event_indicators (
    event_id INTEGER NOT NULL,
    indicator_id INTEGER NOT NULL,
    PRIMARY KEY (indicator_id, event_id)
) WITHOUT ROWID;
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_id INTEGER NOT NULL,
    indicator_value TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    status_by TEXT,
    status_at INTEGER,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL
);
CREATE INDEX incidents_indicator ON incidents(indicator_id, status);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    indicator_id INTEGER NOT NULL,
    indicator_value TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    recommended_actions TEXT NOT NULL,
    status TEXT NOT NULL,
    status_by TEXT,
    status_at INTEGER,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    hit_count INTEGER NOT NULL,
    outcomes TEXT NOT NULL
);
CREATE INDEX alerts_device_indicator ON alerts(device_id, indicator_id, status);
CREATE INDEX alerts_incident ON alerts(incident_id);
CREATE TABLE alert_events (
    alert_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (alert_id, event_id)
) WITHOUT ROWID;
ALTER TABLE devices ADD COLUMN events_dropped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN events_lost INTEGER NOT NULL DEFAULT 0;
";

/// Events per multi-row insert (19 parameters each).
const EVENT_CHUNK: usize = 100;

fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database { operation, source }
}

fn i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The family and sort key of an address.
pub fn remote_key(ip: &str) -> Option<(bool, Vec<u8>)> {
    let v = IndicatorValue::parse(ip).ok()?;
    Some((
        v.family() == netward_model::Family::V6,
        v.bounds().0.to_be_bytes().to_vec(),
    ))
}

struct IndicatorInfo {
    /// The stored value: alerts and incidents name it, never the agent's copy.
    value: String,
    title: String,
    severity: String,
    recommended_actions: String,
    generate_alert: bool,
}

fn indicator_info(tx: &Transaction<'_>, id: i64) -> Result<Option<IndicatorInfo>, StoreError> {
    tx.prepare_cached(
        "SELECT value, title, severity, recommended_actions, generate_alert FROM indicators WHERE id = ?1",
    )
    .and_then(|mut st| {
        st.query_row(params![id], |r| {
            Ok(IndicatorInfo {
                value: r.get(0)?,
                title: r.get(1)?,
                severity: r.get(2)?,
                recommended_actions: r.get(3)?,
                generate_alert: r.get(4)?,
            })
        })
        .optional()
    })
    .map_err(db("read indicator"))
}

fn severity_rank(s: &str) -> u8 {
    match Severity::parse(s) {
        Some(Severity::High) => 3,
        Some(Severity::Medium) => 2,
        Some(Severity::Low) => 1,
        _ => 0,
    }
}

/// Raises or updates the alert for (device, indicator) and its incident with `e`, the
/// aggregate of a batch's hits on the indicator (`outcome` may list several, comma-separated);
/// returns the alert id and whether it is new.
fn alert_for(
    tx: &Transaction<'_>,
    device: i64,
    m: &MatchedIndicator,
    info: &IndicatorInfo,
    e: &AgentEvent,
) -> Result<(i64, bool), StoreError> {
    let open: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT id, outcomes FROM alerts WHERE device_id = ?1 AND indicator_id = ?2 \
             AND status != 'resolved' ORDER BY id DESC LIMIT 1",
        )
        .and_then(|mut st| {
            st.query_row(params![device, m.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db("find alert"))?;
    let incident = incident_for(tx, m, info, e)?;
    match open {
        Some((id, outcomes)) => {
            let mut list: Vec<&str> = outcomes.split(',').filter(|o| !o.is_empty()).collect();
            for o in e.outcome.split(',') {
                if !list.contains(&o) {
                    list.push(o);
                }
            }
            list.sort_unstable();
            tx.execute(
                "UPDATE alerts SET first_ms = min(first_ms, ?2), last_ms = max(last_ms, ?3), \
                 hit_count = hit_count + ?4, outcomes = ?5 WHERE id = ?1",
                params![
                    id,
                    e.first_seen_ms,
                    e.last_seen_ms,
                    i(e.count),
                    list.join(",")
                ],
            )
            .map_err(db("update alert"))?;
            Ok((id, false))
        }
        None => {
            tx.execute(
                "INSERT INTO alerts (incident_id, device_id, indicator_id, indicator_value, title, \
                 severity, recommended_actions, status, first_ms, last_ms, hit_count, outcomes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'new', ?8, ?9, ?10, ?11)",
                params![
                    incident,
                    device,
                    m.id,
                    info.value,
                    info.title,
                    info.severity,
                    info.recommended_actions,
                    e.first_seen_ms,
                    e.last_seen_ms,
                    i(e.count),
                    {
                        let mut list: Vec<&str> = e.outcome.split(',').collect();
                        list.sort_unstable();
                        list.dedup();
                        list.join(",")
                    }
                ],
            )
            .map_err(db("raise alert"))?;
            Ok((tx.last_insert_rowid(), true))
        }
    }
}

fn incident_for(
    tx: &Transaction<'_>,
    m: &MatchedIndicator,
    info: &IndicatorInfo,
    e: &AgentEvent,
) -> Result<i64, StoreError> {
    let open: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT id, severity FROM incidents WHERE indicator_id = ?1 AND status != 'resolved' \
             ORDER BY id DESC LIMIT 1",
        )
        .and_then(|mut st| {
            st.query_row(params![m.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db("find incident"))?;
    match open {
        Some((id, severity)) => {
            let severity = if severity_rank(&info.severity) > severity_rank(&severity) {
                info.severity.clone()
            } else {
                severity
            };
            tx.execute(
                "UPDATE incidents SET first_ms = min(first_ms, ?2), last_ms = max(last_ms, ?3), \
                 severity = ?4 WHERE id = ?1",
                params![id, e.first_seen_ms, e.last_seen_ms, severity],
            )
            .map_err(db("update incident"))?;
            Ok(id)
        }
        None => {
            tx.execute(
                "INSERT INTO incidents (indicator_id, indicator_value, title, severity, status, \
                 first_ms, last_ms) VALUES (?1, ?2, ?3, ?4, 'new', ?5, ?6)",
                params![
                    m.id,
                    info.value,
                    info.title,
                    info.severity,
                    e.first_seen_ms,
                    e.last_seen_ms
                ],
            )
            .map_err(db("open incident"))?;
            Ok(tx.last_insert_rowid())
        }
    }
}

/// Stores the events and raises their alerts, in one transaction.
pub fn ingest(
    conn: &mut Connection,
    device: i64,
    events: &[AgentEvent],
    dropped: u64,
    lost: u64,
    at_ms: i64,
) -> Result<IngestOutcome, StoreError> {
    let tx = conn.transaction().map_err(db("begin ingest"))?;
    let device_name: String = tx
        .query_row(
            "SELECT hostname FROM devices WHERE id = ?1",
            params![device],
            |r| r.get(0),
        )
        .map_err(db("read device"))?;
    let mut out = IngestOutcome::default();
    let mut infos_cache: std::collections::HashMap<i64, Option<std::rc::Rc<IndicatorInfo>>> =
        std::collections::HashMap::new();
    // Alerting hits of this batch per indicator: (aggregate, evidence event ids). One alert
    // update per indicator per batch, however many events.
    let mut alerting: Vec<(
        MatchedIndicator,
        std::rc::Rc<IndicatorInfo>,
        AgentEvent,
        Vec<i64>,
    )> = Vec::new();
    // Phase 1: what each event needs, then the events themselves, many rows per statement.
    struct Prepared<'a> {
        e: &'a AgentEvent,
        v6: bool,
        key: Vec<u8>,
        titles: Vec<Option<String>>,
        infos: Vec<Option<std::rc::Rc<IndicatorInfo>>>,
    }
    let mut prepared = Vec::with_capacity(events.len());
    for e in events {
        let Some((v6, key)) = remote_key(&e.remote_ip) else {
            tracing::warn!(device, seq = e.seq, remote = %e.remote_ip, "Skipping an event with an unreadable remote address.");
            continue;
        };
        let mut titles = Vec::with_capacity(e.indicators.len());
        let mut infos = Vec::with_capacity(e.indicators.len());
        for m in &e.indicators {
            let info = match infos_cache.get(&m.id) {
                Some(i) => i.clone(),
                None => {
                    let i = indicator_info(&tx, m.id)?.map(std::rc::Rc::new);
                    infos_cache.insert(m.id, i.clone());
                    i
                }
            };
            titles.push(info.as_ref().map(|i| i.title.clone()));
            infos.push(info);
        }
        prepared.push(Prepared {
            e,
            v6,
            key,
            titles,
            infos,
        });
    }
    // seq → id of the rows this call inserted (a resent event is ignored, so absent).
    let mut ids: std::collections::HashMap<u64, i64> = std::collections::HashMap::new();
    for chunk in prepared.chunks(EVENT_CHUNK) {
        let one = format!("({})", vec!["?"; 19].join(", "));
        let sql = format!(
            "INSERT OR IGNORE INTO events (device_id, seq, first_ms, last_ms, count, direction, \
             protocol, local_ip, local_port, remote_ip, remote_v6, remote_key, remote_port, \
             outcome, reason, indicators, titles, process, received_ms) VALUES {} \
             RETURNING id, seq",
            vec![one; chunk.len()].join(", ")
        );
        let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 19);
        for p in chunk {
            let e = p.e;
            args.extend([
                Value::Integer(device),
                Value::Integer(i(e.seq)),
                Value::Integer(e.first_seen_ms),
                Value::Integer(e.last_seen_ms),
                Value::Integer(i(e.count)),
                Value::Text(e.direction.clone()),
                Value::Text(e.protocol.clone()),
                Value::Text(e.local_ip.clone()),
                e.local_port
                    .map_or(Value::Null, |p| Value::Integer(i64::from(p))),
                Value::Text(e.remote_ip.clone()),
                Value::Integer(i64::from(p.v6)),
                Value::Blob(p.key.clone()),
                e.remote_port
                    .map_or(Value::Null, |p| Value::Integer(i64::from(p))),
                Value::Text(e.outcome.clone()),
                Value::Text(e.reason.clone()),
                Value::Text(serde_json::to_string(&e.indicators).unwrap_or_default()),
                Value::Text(serde_json::to_string(&p.titles).unwrap_or_default()),
                e.process.as_ref().map_or(Value::Null, |p| {
                    Value::Text(serde_json::to_string(p).unwrap_or_default())
                }),
                Value::Integer(at_ms),
            ]);
        }
        let mut st = tx.prepare_cached(&sql).map_err(db("store events"))?;
        let rows = st
            .query_map(params_from_iter(args), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db("store events"))?;
        for row in rows {
            let (id, seq) = row.map_err(db("store events"))?;
            ids.insert(u(seq), id);
        }
    }
    // Phase 2: the indicator index and the alerts, for the rows just inserted.
    for p in prepared {
        let e = p.e;
        let Some(&id) = ids.get(&e.seq) else {
            continue; // Sent before: stored once.
        };
        // A seq repeated within one batch is stored once.
        ids.remove(&e.seq);
        for (m, info) in e.indicators.iter().zip(&p.infos) {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO event_indicators (event_id, indicator_id) VALUES (?1, ?2)",
            )
            .and_then(|mut st| st.execute(params![id, m.id]))
            .map_err(db("index event"))?;
            let alerts = Outcome::parse(&e.outcome).is_some_and(|o| o != Outcome::Allowed);
            if let Some(info) = info
                && info.generate_alert
                && alerts
            {
                match alerting.iter_mut().find(|(x, ..)| x.id == m.id) {
                    Some((_, _, agg, ids)) => {
                        agg.first_seen_ms = agg.first_seen_ms.min(e.first_seen_ms);
                        agg.last_seen_ms = agg.last_seen_ms.max(e.last_seen_ms);
                        agg.count += e.count;
                        if !agg.outcome.split(',').any(|o| o == e.outcome) {
                            agg.outcome = format!("{},{}", agg.outcome, e.outcome);
                        }
                        ids.push(id);
                    }
                    None => alerting.push((m.clone(), info.clone(), e.clone(), vec![id])),
                }
            }
        }
        out.stored.push(StoredEvent {
            id,
            device_id: device,
            device_name: device_name.clone(),
            event: e.clone(),
            titles: p.titles,
        });
    }
    for (m, info, agg, ids) in &alerting {
        let (alert, raised) = alert_for(&tx, device, m, info, agg)?;
        for id in ids {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO alert_events (alert_id, event_id) VALUES (?1, ?2)",
            )
            .and_then(|mut st| st.execute(params![alert, id]))
            .map_err(db("link evidence"))?;
        }
        if raised {
            out.raised.push(alert);
        }
        out.touched.push(alert);
    }
    tx.execute(
        "UPDATE devices SET events_dropped = max(events_dropped, ?2), \
         events_lost = max(events_lost, ?3) WHERE id = ?1",
        params![device, i(dropped), i(lost)],
    )
    .map_err(db("record event counters"))?;
    // Every event of this batch is stored now (or was already): acknowledge through the
    // batch's highest number, and never beyond what the agent sent, so that it can never
    // delete an event the server has not seen.
    out.acked_seq = events.iter().map(|e| e.seq).max().unwrap_or(0);
    tx.commit().map_err(db("commit ingest"))?;
    Ok(out)
}

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
            direction: r.get(7)?,
            protocol: r.get(8)?,
            local_ip: r.get(9)?,
            local_port: r.get(10)?,
            remote_ip: r.get(11)?,
            remote_port: r.get(12)?,
            outcome: r.get(13)?,
            reason: r.get(14)?,
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
fn event_filter(q: &EventQuery) -> (String, Vec<Value>) {
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
        args.push(Value::Text(o.clone()));
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
    let order = if q.ascending {
        "e.first_ms ASC, e.id ASC"
    } else {
        "e.first_ms DESC, e.id DESC"
    };
    // Following is by id, so that nothing stored later is ever skipped.
    let order = if q.after_id.is_some() {
        "e.id ASC"
    } else {
        order
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN devices d ON d.id = e.device_id \
         {filter} ORDER BY {order} LIMIT ? OFFSET ?"
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
pub fn contacts(conn: &Connection, q: &EventQuery) -> Result<Vec<ContactRecord>, StoreError> {
    let (filter, args) = event_filter(q);
    let sql = format!(
        "SELECT e.device_id, coalesce(d.hostname, ''), \
         coalesce(json_extract(e.process, '$.exe'), json_extract(e.process, '$.name'), 'unknown') AS proc, \
         group_concat(DISTINCT e.remote_ip), group_concat(DISTINCT e.outcome), \
         min(e.first_ms), max(e.last_ms), sum(e.count) \
         FROM events e LEFT JOIN devices d ON d.id = e.device_id {filter} \
         GROUP BY e.device_id, proc ORDER BY min(e.first_ms), e.device_id, proc LIMIT {}",
        q.top.max(1)
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
                v.sort();
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

const ALERT_COLUMNS: &str = "a.id, a.incident_id, a.device_id, coalesce(d.hostname, ''), \
    a.indicator_id, a.indicator_value, a.title, a.severity, a.recommended_actions, a.status, \
    a.status_by, a.status_at, a.first_ms, a.last_ms, a.hit_count, a.outcomes";

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
        severity: r.get(7)?,
        recommended_actions: r.get(8)?,
        status: r.get(9)?,
        status_by: r.get(10)?,
        status_at: r.get(11)?,
        first_ms: r.get(12)?,
        last_ms: r.get(13)?,
        hit_count: u(r.get(14)?),
        outcomes: outcomes
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Alerts matching `q`.
pub fn alerts(conn: &Connection, q: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError> {
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
        args.push(Value::Text(s.clone()));
    }
    let filter = where_clause(&clauses);
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN devices d ON d.id = a.device_id {filter} \
         ORDER BY a.last_ms DESC, a.id DESC LIMIT ? OFFSET ?"
    );
    args.push(Value::Integer(i(q.top as u64)));
    args.push(Value::Integer(i(q.skip as u64)));
    let mut st = conn.prepare(&sql).map_err(db("query alerts"))?;
    let rows = st
        .query_map(params_from_iter(args), read_alert)
        .map_err(db("query alerts"))?;
    rows.collect::<Result<_, _>>().map_err(db("read alerts"))
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

/// Sets an alert's status.
pub fn set_alert_status(
    tx: &Transaction<'_>,
    id: i64,
    status: &str,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE alerts SET status = ?2, status_by = ?3, status_at = ?4 WHERE id = ?1",
            params![id, status, change.actor.name, change.at],
        )
        .map_err(db("set alert status"))?;
    Ok(n > 0)
}

/// Incidents, with counts.
pub fn incidents(
    conn: &Connection,
    id: Option<i64>,
    status: Option<&str>,
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
        args.push(Value::Text(s.to_owned()));
    }
    let filter = where_clause(&clauses);
    let sql = format!(
        "SELECT i.id, i.indicator_id, i.indicator_value, i.title, i.severity, i.status, \
         i.status_by, i.status_at, i.first_ms, i.last_ms, \
         (SELECT count(*) FROM alerts a WHERE a.incident_id = i.id), \
         (SELECT count(DISTINCT a.device_id) FROM alerts a WHERE a.incident_id = i.id), \
         (SELECT coalesce(sum(a.hit_count), 0) FROM alerts a WHERE a.incident_id = i.id) \
         FROM incidents i {filter} ORDER BY i.last_ms DESC, i.id DESC LIMIT ? OFFSET ?"
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
                severity: r.get(4)?,
                status: r.get(5)?,
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
    status: &str,
    change: &Change<'_>,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE incidents SET status = ?2, status_by = ?3, status_at = ?4 WHERE id = ?1",
            params![id, status, change.actor.name, change.at],
        )
        .map_err(db("set incident status"))?;
    if n > 0 {
        tx.execute(
            "UPDATE alerts SET status = ?2, status_by = ?3, status_at = ?4 \
             WHERE incident_id = ?1 AND status != ?2",
            params![id, status, change.actor.name, change.at],
        )
        .map_err(db("set alert status"))?;
    }
    Ok(n > 0)
}
