//! The SQLite side of detection: events, alerts and incidents (schema version 3), and alert
//! triage (version 9, `triage.rs`).
//!
//! An event is stored once per (device, seq). A remote address is kept as its family and a
//! 16-byte big-endian key, so that "every event with a remote address in 10.0.0.0/8" is an
//! index range scan. `ingest.rs` stores a batch and what the alerting rules decided;
//! `queries.rs` answers the event, hunting, alert and incident queries.

mod ingest;
pub(super) mod queries;
mod triage;

use netward_model::detection::{AgentEvent, AlertStatus};
use serde_json::json;

use super::{SqliteStore, audit, db};
use crate::store::{
    AlertQuery, AlertRecord, Change, CommentRecord, ContactRecord, DetectionStore, EventQuery,
    IncidentRecord, IngestOutcome, StoreError, StoredEvent, TriageUpdate,
};
use crate::store::{ContactColumn, IncidentColumn, Sort};

pub use ingest::remote_key;

impl DetectionStore for SqliteStore {
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
        let conn = self.conn()?;
        queries::events(&conn, query)
    }

    fn newest_event_id(&self) -> Result<i64, StoreError> {
        let conn = self.conn()?;
        conn.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))
            .map_err(db("read newest event"))
    }

    fn contacts(
        &self,
        query: &EventQuery,
        order: Option<Sort<ContactColumn>>,
    ) -> Result<Vec<ContactRecord>, StoreError> {
        let conn = self.conn()?;
        queries::contacts(&conn, query, order)
    }

    fn count_contacts(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        queries::count_contacts(&conn, query)
    }

    fn purge_events(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        queries::purge(&mut conn, before_ms)
    }

    fn alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError> {
        let conn = self.conn()?;
        queries::alerts(&conn, query)
    }

    fn alert_evidence(&self, id: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn()?;
        queries::evidence(&conn, id, limit)
    }

    fn triage_alert(
        &self,
        id: i64,
        update: &TriageUpdate,
        change: &Change<'_>,
    ) -> Result<Option<AlertRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("triage alert"))?;
        if !triage::triage(&tx, id, update, change)? {
            return Ok(None);
        }
        tx.commit().map_err(db("triage alert"))?;
        let query = AlertQuery {
            id: Some(id),
            top: 1,
            ..Default::default()
        };
        Ok(queries::alerts(&conn, &query)?.into_iter().next())
    }

    fn add_alert_comment(
        &self,
        id: i64,
        comment: &str,
        change: &Change<'_>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("comment on alert"))?;
        let added = triage::comment(&tx, id, comment, change)?;
        tx.commit().map_err(db("comment on alert"))?;
        Ok(added)
    }

    fn alert_comments(&self, id: i64) -> Result<Vec<CommentRecord>, StoreError> {
        let conn = self.conn()?;
        triage::comments(&conn, id)
    }

    fn incidents(
        &self,
        id: Option<i64>,
        status: Option<AlertStatus>,
        order: Option<Sort<IncidentColumn>>,
        top: usize,
        skip: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let conn = self.conn()?;
        queries::incidents(&conn, id, status, order, top, skip)
    }

    fn set_incident_status(
        &self,
        id: i64,
        status: AlertStatus,
        change: &Change<'_>,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("set incident status"))?;
        if !queries::set_incident_status(&tx, id, status, change)? {
            return Ok(None);
        }
        audit(
            &tx,
            change,
            "incident.status",
            &format!("incident:{id}"),
            &json!({ "status": status.as_str() }),
        )?;
        tx.commit().map_err(db("set incident status"))?;
        Ok(queries::incidents(&conn, Some(id), None, None, 1, 0)?
            .into_iter()
            .next())
    }
}
