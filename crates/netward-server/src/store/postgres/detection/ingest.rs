//! Ingest: a batch of a device's events stored once each (binary `COPY`), and the alerts and
//! incidents the alerting rules ([`crate::detection::alerting`]) decide for them, in one
//! transaction that takes no audit lock (ingest writes no audit entry) but the event lock, so
//! that event ids are commit-ordered across replicas.
//!
//! The round trips do not grow with the batch: the batch's days get their partitions, its
//! indicators are read in one query, its (device, seq) keys are claimed in one statement
//! (which also numbers the new events, in the batch's order), the new events go in one
//! `COPY`, their indicator links in one statement; then one round of statements per
//! indicator that alerts. Alerts on one indicator are decided under a transaction advisory
//! lock on it, so two replicas ingesting hits on it at once never open two incidents.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use netward_model::Severity;
use netward_model::detection::{AgentEvent, MatchedIndicator};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Transaction};

use super::super::{pg, to_i64 as i, to_u64 as u};
use super::alerts::{IndicatorInfo, alert_for};
use super::partitions;
use super::queries::{self, get, named};
use crate::detection::alerting::{self, Hits};
use crate::store::sqlite::remote_key;
use crate::store::{AlertQuery, IngestOutcome, StoreError, StoredEvent};

/// The key space of the advisory locks taken per indicator while its alerts are decided.
const ALERT_LOCK_SPACE: i32 = 0x6e77;

const COPY_EVENTS: &str = "COPY events (id, device_id, seq, first_ms, last_ms, count, \
    direction, protocol, local_ip, local_port, remote_ip, remote_v6, remote_key, remote_port, \
    outcome, reason, indicators, titles, process, received_ms) FROM STDIN (FORMAT binary)";

/// The column types of [`COPY_EVENTS`], in its order.
const EVENT_TYPES: [Type; 20] = [
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT4,
    Type::TEXT,
    Type::BOOL,
    Type::BYTEA,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
];

/// What the stored indicators among `ids` say, by id.
fn indicator_infos(
    tx: &mut Transaction<'_>,
    ids: &[i64],
) -> Result<HashMap<i64, Rc<IndicatorInfo>>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .query(
            "SELECT id, value, title, severity, recommended_actions, generate_alert::boolean \
             FROM indicators WHERE id = ANY($1)",
            &[&ids],
        )
        .map_err(pg("read indicators"))?;
    rows.iter()
        .map(|r| {
            let info = IndicatorInfo {
                value: get(r, 1)?,
                title: get(r, 2)?,
                severity: named(r, 3, Severity::parse)?,
                recommended_actions: get(r, 4)?,
                generate_alert: get(r, 5)?,
            };
            Ok((get(r, 0)?, Rc::new(info)))
        })
        .collect()
}

/// An event of the batch, ready to store.
struct Prepared<'a> {
    e: &'a AgentEvent,
    v6: bool,
    key: Vec<u8>,
    titles: Vec<Option<String>>,
    infos: Vec<Option<Rc<IndicatorInfo>>>,
}

/// Claims the (device, seq) keys of `prepared` (one each, first in the batch wins) and
/// numbers the events it claimed, in the batch's order: seq → id.
fn claim(
    tx: &mut Transaction<'_>,
    device: i64,
    prepared: &[Prepared<'_>],
) -> Result<HashMap<u64, i64>, StoreError> {
    let mut seen = HashSet::new();
    let (seqs, last): (Vec<i64>, Vec<i64>) = prepared
        .iter()
        .filter(|p| seen.insert(p.e.seq))
        .map(|p| (i(p.e.seq), p.e.last_seen_ms))
        .unzip();
    // Volatile expressions are evaluated after the sort, so ids follow the batch's order.
    let rows = tx
        .query(
            "INSERT INTO event_seqs (device_id, seq, event_id, last_ms) \
             SELECT $1, s.seq, nextval('events_id_seq'), s.last_ms \
             FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS s(seq, last_ms, n) \
             ORDER BY s.n ON CONFLICT DO NOTHING RETURNING seq, event_id",
            &[&device, &seqs, &last],
        )
        .map_err(pg("claim event numbers"))?;
    rows.iter()
        .map(|r| Ok((u(get(r, 0)?), get(r, 1)?)))
        .collect()
}

/// Writes the claimed events of `prepared` with one binary `COPY`.
fn copy_events(
    tx: &mut Transaction<'_>,
    device: i64,
    prepared: &[Prepared<'_>],
    ids: &HashMap<u64, i64>,
    at_ms: i64,
) -> Result<(), StoreError> {
    let sink = tx.copy_in(COPY_EVENTS).map_err(pg("store events"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
    let mut written = HashSet::new();
    for p in prepared {
        let e = p.e;
        let Some(id) = ids.get(&e.seq) else { continue };
        if !written.insert(e.seq) {
            continue;
        }
        let process = e.process.as_ref().map(super::super::to_json).transpose()?;
        let row: [&(dyn ToSql + Sync); 20] = [
            id,
            &device,
            &i(e.seq),
            &e.first_seen_ms,
            &e.last_seen_ms,
            &i(e.count),
            &e.direction.as_str(),
            &e.protocol,
            &e.local_ip,
            &e.local_port.map(i32::from),
            &e.remote_ip,
            &p.v6,
            &p.key,
            &e.remote_port.map(i32::from),
            &e.outcome.as_str(),
            &e.reason.as_str(),
            &super::super::to_json(&e.indicators)?,
            &super::super::to_json(&p.titles)?,
            &process,
            &at_ms,
        ];
        writer.write(&row).map_err(pg("store events"))?;
    }
    writer.finish().map_err(pg("store events"))?;
    Ok(())
}

/// Stores the events and raises their alerts, in one transaction.
pub fn ingest(
    client: &mut Client,
    device: i64,
    events: &[AgentEvent],
    dropped: u64,
    lost: u64,
    at_ms: i64,
) -> Result<IngestOutcome, StoreError> {
    partitions::ensure(client, events.iter().map(|e| e.last_seen_ms), at_ms)?;
    let mut tx = client.transaction().map_err(pg("begin ingest"))?;
    // Live followers page by event id ("after N"), so ids must become visible in their order:
    // batches take their ids and commit one at a time, across every replica.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&super::super::EVENTS_LOCK],
    )
    .map_err(pg("take the event lock"))?;
    let device_name: String = tx
        .query_one("SELECT hostname FROM devices WHERE id = $1", &[&device])
        .map_err(pg("read device"))
        .and_then(|r| get(&r, 0))?;
    let mut wanted: Vec<i64> = events
        .iter()
        .flat_map(|e| e.indicators.iter().map(|m| m.id))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let infos = indicator_infos(&mut tx, &wanted)?;
    let mut prepared = Vec::with_capacity(events.len());
    for e in events {
        let Some((v6, key)) = remote_key(&e.remote_ip) else {
            tracing::warn!(device, seq = e.seq, remote = %e.remote_ip, "Skipping an event with an unreadable remote address.");
            continue;
        };
        let found: Vec<Option<Rc<IndicatorInfo>>> = e
            .indicators
            .iter()
            .map(|m| infos.get(&m.id).cloned())
            .collect();
        prepared.push(Prepared {
            e,
            v6,
            key,
            titles: found
                .iter()
                .map(|i| i.as_ref().map(|i| i.title.clone()))
                .collect(),
            infos: found,
        });
    }
    let mut ids = claim(&mut tx, device, &prepared)?;
    if !ids.is_empty() {
        copy_events(&mut tx, device, &prepared, &ids, at_ms)?;
    }
    let mut out = IngestOutcome::default();
    // Alerting hits of this batch per indicator: (aggregate, evidence event ids). One alert
    // update per indicator per batch, however many events.
    let mut alerting: Vec<(MatchedIndicator, Rc<IndicatorInfo>, Hits, Vec<i64>)> = Vec::new();
    let (mut link_events, mut link_indicators) = (Vec::new(), Vec::new());
    for p in prepared {
        let e = p.e;
        // Sent before, or repeated within the batch: stored once.
        let Some(id) = ids.remove(&e.seq) else {
            continue;
        };
        for (m, info) in e.indicators.iter().zip(&p.infos) {
            link_events.push(id);
            link_indicators.push(m.id);
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
    if !link_events.is_empty() {
        tx.execute(
            "INSERT INTO event_indicators (event_id, indicator_id) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&link_events, &link_indicators],
        )
        .map_err(pg("index events"))?;
    }
    if !alerting.is_empty() {
        let mut locked: Vec<i64> = alerting.iter().map(|(m, ..)| m.id).collect();
        locked.sort_unstable();
        // In id order, so that two ingests never wait on each other in a circle.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, (x % 2147483647)::integer) \
             FROM unnest($2::bigint[]) AS x ORDER BY x",
            &[&ALERT_LOCK_SPACE, &locked],
        )
        .map_err(pg("lock the alerting indicators"))?;
    }
    for (m, info, agg, evidence) in &alerting {
        let (alert, raised) = alert_for(&mut tx, device, m, info, agg)?;
        tx.execute(
            "INSERT INTO alert_events (alert_id, event_id) \
             SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
            &[&alert, evidence],
        )
        .map_err(pg("link evidence"))?;
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
        out.alerts.extend(queries::alerts(&mut tx, &query)?);
    }
    tx.execute(
        "UPDATE devices SET events_dropped = greatest(events_dropped, $2), \
         events_lost = greatest(events_lost, $3) WHERE id = $1",
        &[&device, &i(dropped), &i(lost)],
    )
    .map_err(pg("record event counters"))?;
    // Every event of this batch is stored now (or was already): acknowledge through the
    // batch's highest number, and never beyond what the agent sent.
    out.acked_seq = events.iter().map(|e| e.seq).max().unwrap_or(0);
    tx.commit().map_err(pg("commit ingest"))?;
    Ok(out)
}
