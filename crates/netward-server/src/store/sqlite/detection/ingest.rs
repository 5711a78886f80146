//! Ingest: a batch of a device's events stored once each, the alerts and incidents the
//! alerting rules ([`crate::detection::alerting`]) decide for them, in one transaction.

use std::collections::HashMap;
use std::rc::Rc;

use netward_model::detection::{AgentEvent, MatchedIndicator, Outcome};
use netward_model::{IndicatorValue, Severity};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use super::super::{db, to_i64 as i, to_u64 as u};
use super::queries;
use crate::detection::alerting::{
    self, AlertChange, Hits, IncidentChange, OpenAlert, OpenIncident,
};
use crate::store::columns::outcomes_text;
use crate::store::{AlertQuery, IngestOutcome, StoreError, StoredEvent};

/// Events per multi-row insert (19 parameters each).
const EVENT_CHUNK: usize = 100;

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
    severity: Severity,
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
                severity: queries::named(r, 2, Severity::parse)?,
                recommended_actions: r.get(3)?,
                generate_alert: r.get(4)?,
            })
        })
        .optional()
    })
    .map_err(db("read indicator"))
}

/// Applies what the rules decide for `hits` on (device, indicator `m`): the alert and the
/// incident. Returns the alert id and whether it is new.
fn alert_for(
    tx: &Transaction<'_>,
    device: i64,
    m: &MatchedIndicator,
    info: &IndicatorInfo,
    hits: &Hits,
) -> Result<(i64, bool), StoreError> {
    let open: Option<OpenAlert> = tx
        .prepare_cached(
            "SELECT id, first_ms, last_ms, hit_count, outcomes FROM alerts \
             WHERE device_id = ?1 AND indicator_id = ?2 AND status != 'resolved' \
             ORDER BY id DESC LIMIT 1",
        )
        .and_then(|mut st| {
            st.query_row(params![device, m.id], |r| {
                let outcomes: String = r.get(4)?;
                Ok(OpenAlert {
                    id: r.get(0)?,
                    hits: Hits {
                        first_ms: r.get(1)?,
                        last_ms: r.get(2)?,
                        count: u(r.get(3)?),
                        outcomes: outcomes.split(',').filter_map(Outcome::parse).collect(),
                    },
                })
            })
            .optional()
        })
        .map_err(db("find alert"))?;
    let incident = incident_for(tx, m, info, hits)?;
    match alerting::alert_change(open.as_ref(), hits) {
        AlertChange::Update { id, hits } => {
            tx.execute(
                "UPDATE alerts SET first_ms = ?2, last_ms = ?3, hit_count = ?4, outcomes = ?5 \
                 WHERE id = ?1",
                params![
                    id,
                    hits.first_ms,
                    hits.last_ms,
                    i(hits.count),
                    outcomes_text(&hits.outcomes)
                ],
            )
            .map_err(db("update alert"))?;
            Ok((id, false))
        }
        AlertChange::Raise(hits) => {
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
                    info.severity.as_str(),
                    info.recommended_actions,
                    hits.first_ms,
                    hits.last_ms,
                    i(hits.count),
                    outcomes_text(&hits.outcomes)
                ],
            )
            .map_err(db("raise alert"))?;
            Ok((tx.last_insert_rowid(), true))
        }
    }
}

/// Applies what the rules decide for `hits` to the indicator's incident; returns its id.
fn incident_for(
    tx: &Transaction<'_>,
    m: &MatchedIndicator,
    info: &IndicatorInfo,
    hits: &Hits,
) -> Result<i64, StoreError> {
    let open: Option<OpenIncident> = tx
        .prepare_cached(
            "SELECT id, severity, first_ms, last_ms FROM incidents \
             WHERE indicator_id = ?1 AND status != 'resolved' ORDER BY id DESC LIMIT 1",
        )
        .and_then(|mut st| {
            st.query_row(params![m.id], |r| {
                Ok(OpenIncident {
                    id: r.get(0)?,
                    severity: queries::named(r, 1, Severity::parse)?,
                    first_ms: r.get(2)?,
                    last_ms: r.get(3)?,
                })
            })
            .optional()
        })
        .map_err(db("find incident"))?;
    match alerting::incident_change(open.as_ref(), info.severity, hits) {
        IncidentChange::Update(i) => {
            tx.execute(
                "UPDATE incidents SET first_ms = ?2, last_ms = ?3, severity = ?4 WHERE id = ?1",
                params![i.id, i.first_ms, i.last_ms, i.severity.as_str()],
            )
            .map_err(db("update incident"))?;
            Ok(i.id)
        }
        IncidentChange::Open {
            severity,
            first_ms,
            last_ms,
        } => {
            tx.execute(
                "INSERT INTO incidents (indicator_id, indicator_value, title, severity, status, \
                 first_ms, last_ms) VALUES (?1, ?2, ?3, ?4, 'new', ?5, ?6)",
                params![
                    m.id,
                    info.value,
                    info.title,
                    severity.as_str(),
                    first_ms,
                    last_ms
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
    let mut infos_cache: HashMap<i64, Option<Rc<IndicatorInfo>>> = HashMap::new();
    // Alerting hits of this batch per indicator: (aggregate, evidence event ids). One alert
    // update per indicator per batch, however many events.
    let mut alerting: Vec<(MatchedIndicator, Rc<IndicatorInfo>, Hits, Vec<i64>)> = Vec::new();
    // Phase 1: what each event needs, then the events themselves, many rows per statement.
    struct Prepared<'a> {
        e: &'a AgentEvent,
        v6: bool,
        key: Vec<u8>,
        titles: Vec<Option<String>>,
        infos: Vec<Option<Rc<IndicatorInfo>>>,
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
                    let i = indicator_info(&tx, m.id)?.map(Rc::new);
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
    let mut ids: HashMap<u64, i64> = HashMap::new();
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
                Value::Text(e.direction.as_str().to_owned()),
                Value::Text(e.protocol.clone()),
                Value::Text(e.local_ip.clone()),
                e.local_port
                    .map_or(Value::Null, |p| Value::Integer(i64::from(p))),
                Value::Text(e.remote_ip.clone()),
                Value::Integer(i64::from(p.v6)),
                Value::Blob(p.key.clone()),
                e.remote_port
                    .map_or(Value::Null, |p| Value::Integer(i64::from(p))),
                Value::Text(e.outcome.as_str().to_owned()),
                Value::Text(e.reason.as_str().to_owned()),
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
            if let Some(info) = info
                && alerting::alerts_on(info.generate_alert, e.outcome)
            {
                let hits = Hits::new(e.first_seen_ms, e.last_seen_ms, e.count, e.outcome);
                match alerting.iter_mut().find(|(x, ..)| x.id == m.id) {
                    Some((_, _, agg, ids)) => {
                        agg.merge(&hits);
                        ids.push(id);
                    }
                    None => alerting.push((m.clone(), info.clone(), hits, vec![id])),
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
    // What the rules decided, as stored: the caller exports and announces these without
    // asking again.
    for &id in &out.touched {
        let query = AlertQuery {
            id: Some(id),
            top: 1,
            ..AlertQuery::default()
        };
        out.alerts.extend(queries::alerts(&tx, &query)?);
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
