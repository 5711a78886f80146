//! The PostgreSQL side of [`DetectionStore`](crate::store::DetectionStore).

#![allow(
    unused_variables,
    unused_imports,
    clippy::todo,
    reason = "a stub until its helper fills it in"
)]

use super::PgStore;
use crate::store::detection::*;
use crate::store::{Change, StoreError};
use netward_model::Severity;
use netward_model::detection::{AgentEvent, AlertStatus, Classification, Determination, Outcome};

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "";

impl DetectionStore for PgStore {
    fn ingest_events(
        &self,
        device: i64,
        events: &[AgentEvent],
        dropped: u64,
        lost: u64,
        at_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        todo!("postgres")
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        todo!("postgres")
    }

    fn newest_event_id(&self) -> Result<i64, StoreError> {
        todo!("postgres")
    }

    fn contacts(&self, query: &EventQuery) -> Result<Vec<ContactRecord>, StoreError> {
        todo!("postgres")
    }

    fn purge_events(&self, before_ms: i64) -> Result<u64, StoreError> {
        todo!("postgres")
    }

    fn alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError> {
        todo!("postgres")
    }

    fn alert_evidence(&self, id: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        todo!("postgres")
    }

    fn triage_alert(
        &self,
        id: i64,
        update: &TriageUpdate,
        change: &Change<'_>,
    ) -> Result<Option<AlertRecord>, StoreError> {
        todo!("postgres")
    }

    fn add_alert_comment(
        &self,
        id: i64,
        comment: &str,
        change: &Change<'_>,
    ) -> Result<bool, StoreError> {
        todo!("postgres")
    }

    fn alert_comments(&self, id: i64) -> Result<Vec<CommentRecord>, StoreError> {
        todo!("postgres")
    }

    fn incidents(
        &self,
        id: Option<i64>,
        status: Option<AlertStatus>,
        top: usize,
        skip: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        todo!("postgres")
    }

    fn set_incident_status(
        &self,
        id: i64,
        status: AlertStatus,
        change: &Change<'_>,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        todo!("postgres")
    }
}
