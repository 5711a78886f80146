//! The PostgreSQL side of detection: events, alerts and incidents, and alert triage, in the
//! tables and columns the SQLite store has (`sqlite/detection/`).
//!
//! **Events at scale.** `events` is range-partitioned by day on `last_ms` (partitions
//! `events_d<day>`, day = `last_ms` ÷ 86,400,000), with a default partition as a safety net;
//! `partitions.rs` creates a batch's days before it is stored and drops whole days at
//! retention. A remote address is kept as its family and the same 16-byte big-endian key
//! as on SQLite (`bytea`, which sorts bytewise), so a CIDR hunt is an index range scan.
//!
//! **Stored once per (device, seq).** A unique key on a partitioned table must hold the
//! partition key, and the same (device, seq) re-sent with another `last_ms` would land in
//! another day. So the key lives in `event_seqs (device_id, seq)`, unpartitioned, beside the
//! event's id and `last_ms` (so that retention forgets it with the event, as SQLite does):
//! an ingest claims its seqs there first (`ON CONFLICT DO NOTHING`), and stores only the
//! events it claimed. Two replicas storing the same batch at once: the second waits on the
//! first's keys and then stores nothing.
//!
//! `ingest.rs` stores a batch (binary `COPY`) and, with `alerts.rs`, what the alerting rules
//! decided;
//! `queries.rs` answers the event, hunting, alert and incident queries; `triage.rs` changes
//! an alert's triage.

mod alerts;
mod ingest;
mod partitions;
pub(super) mod queries;
#[cfg(test)]
mod tests;
mod triage;

use netward_model::detection::{AgentEvent, AlertStatus};
use serde_json::json;

use super::{PgStore, audit, begin_audited, pg};
use crate::store::detection::*;
use crate::store::{Change, ContactColumn, IncidentColumn, Sort, StoreError};

/// This resource's part of schema version 1 (SQLite's versions 3 and 9 of these tables).
pub(super) const SCHEMA: &str = "
CREATE TABLE events (
    id bigserial NOT NULL,
    device_id bigint NOT NULL,
    seq bigint NOT NULL,
    first_ms bigint NOT NULL,
    last_ms bigint NOT NULL,
    count bigint NOT NULL,
    direction text NOT NULL,
    protocol text NOT NULL,
    local_ip text NOT NULL,
    local_port integer,
    remote_ip text NOT NULL,
    remote_v6 boolean NOT NULL,
    remote_key bytea NOT NULL,
    remote_port integer,
    outcome text NOT NULL,
    reason text NOT NULL,
    indicators text NOT NULL,
    titles text NOT NULL,
    process text,
    received_ms bigint NOT NULL
) PARTITION BY RANGE (last_ms);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_id ON events(id);
CREATE INDEX events_time ON events(last_ms);
CREATE INDEX events_device_time ON events(device_id, first_ms);
CREATE INDEX events_remote ON events(remote_v6, remote_key);
CREATE TABLE event_seqs (
    device_id bigint NOT NULL,
    seq bigint NOT NULL,
    event_id bigint NOT NULL,
    last_ms bigint NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX event_seqs_time ON event_seqs(last_ms);
CREATE TABLE event_indicators (
    event_id bigint NOT NULL,
    indicator_id bigint NOT NULL,
    PRIMARY KEY (indicator_id, event_id)
);
CREATE TABLE incidents (
    id bigserial PRIMARY KEY,
    indicator_id bigint NOT NULL,
    indicator_value text NOT NULL,
    title text NOT NULL,
    severity text NOT NULL,
    status text NOT NULL,
    status_by text,
    status_at bigint,
    first_ms bigint NOT NULL,
    last_ms bigint NOT NULL
);
CREATE INDEX incidents_indicator ON incidents(indicator_id, status);
CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    incident_id bigint NOT NULL,
    device_id bigint NOT NULL,
    indicator_id bigint NOT NULL,
    indicator_value text NOT NULL,
    title text NOT NULL,
    severity text NOT NULL,
    recommended_actions text NOT NULL,
    status text NOT NULL,
    status_by text,
    status_at bigint,
    first_ms bigint NOT NULL,
    last_ms bigint NOT NULL,
    hit_count bigint NOT NULL,
    outcomes text NOT NULL,
    assigned_to text,
    assigned_by text,
    assigned_at bigint,
    classification text,
    determination text,
    classified_by text,
    classified_at bigint
);
CREATE INDEX alerts_device_indicator ON alerts(device_id, indicator_id, status);
CREATE INDEX alerts_incident ON alerts(incident_id);
CREATE TABLE alert_events (
    alert_id bigint NOT NULL,
    event_id bigint NOT NULL,
    PRIMARY KEY (alert_id, event_id)
);
CREATE TABLE alert_comments (
    id bigserial PRIMARY KEY,
    alert_id bigint NOT NULL REFERENCES alerts(id),
    comment text NOT NULL,
    created_by text NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments(alert_id, id);
";

impl DetectionStore for PgStore {
    fn ingest_events(
        &self,
        device: i64,
        events: &[AgentEvent],
        dropped: u64,
        lost: u64,
        at_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        let mut conn = self.conn()?;
        ingest::ingest(&mut conn, device, events, dropped, lost, at_ms)
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let mut conn = self.conn()?;
        queries::events(&mut **conn, query)
    }

    fn newest_event_id(&self) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        conn.query_one("SELECT coalesce(max(id), 0) FROM events", &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg("read newest event"))
    }

    fn contacts(
        &self,
        query: &EventQuery,
        order: Option<Sort<ContactColumn>>,
    ) -> Result<Vec<ContactRecord>, StoreError> {
        let mut conn = self.conn()?;
        queries::contacts(&mut **conn, query, order)
    }

    fn count_contacts(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        queries::count_contacts(&mut **conn, query)
    }

    fn purge_events(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        partitions::purge(&mut conn, before_ms)
    }

    fn alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError> {
        let mut conn = self.conn()?;
        queries::alerts(&mut **conn, query)
    }

    fn alert_evidence(&self, id: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut conn = self.conn()?;
        queries::evidence(&mut **conn, id, limit)
    }

    fn triage_alert(
        &self,
        id: i64,
        update: &TriageUpdate,
        change: &Change<'_>,
    ) -> Result<Option<AlertRecord>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        if !triage::triage(&mut tx, id, update, change)? {
            return Ok(None);
        }
        tx.commit().map_err(pg("triage alert"))?;
        let query = AlertQuery {
            id: Some(id),
            top: 1,
            ..Default::default()
        };
        Ok(queries::alerts(&mut **conn, &query)?.into_iter().next())
    }

    fn add_alert_comment(
        &self,
        id: i64,
        comment: &str,
        change: &Change<'_>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let added = triage::comment(&mut tx, id, comment, change)?;
        tx.commit().map_err(pg("comment on alert"))?;
        Ok(added)
    }

    fn alert_comments(&self, id: i64) -> Result<Vec<CommentRecord>, StoreError> {
        let mut conn = self.conn()?;
        triage::comments(&mut **conn, id)
    }

    fn incidents(
        &self,
        id: Option<i64>,
        status: Option<AlertStatus>,
        order: Option<Sort<IncidentColumn>>,
        top: usize,
        skip: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let mut conn = self.conn()?;
        queries::incidents(&mut **conn, id, status, order, top, skip)
    }

    fn set_incident_status(
        &self,
        id: i64,
        status: AlertStatus,
        change: &Change<'_>,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        if !queries::set_incident_status(&mut tx, id, status, change)? {
            return Ok(None);
        }
        audit(
            &mut tx,
            change,
            "incident.status",
            &format!("incident:{id}"),
            &json!({ "status": status.as_str() }),
        )?;
        tx.commit().map_err(pg("set incident status"))?;
        Ok(queries::incidents(&mut **conn, Some(id), None, None, 1, 0)?
            .into_iter()
            .next())
    }
}
