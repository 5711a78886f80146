//! Queries on the control plane: events, timelines, hunting, alerts and incidents, and
//! triage status changes.

use netward_model::Actor;
use netward_model::FieldError;
use netward_model::detection::{
    AlertEntity, AlertPatch, AlertStatus, ContactEntity, EventEntity, IncidentEntity,
    MAX_COMMENT_CHARS,
};

use super::entities::{
    alert_entity, comment_entity, contact_entity, event_entity, incident_entity,
};
use super::triage::triage_update;
use crate::control::{ControlError, ControlPlane};
use crate::store::{
    AlertQuery, Change, ContactColumn, EventQuery, IncidentColumn, Sort, StoredEvent,
};

/// Evidence events shown with an alert.
const EVIDENCE: usize = 100;

impl ControlPlane {
    /// Events matching `query`.
    pub async fn events(&self, query: EventQuery) -> Result<Vec<EventEntity>, ControlError> {
        self.blocking(move |cp| Ok(cp.store.events(&query)?.iter().map(event_entity).collect()))
            .await
    }

    /// How many events match `query`'s filters (its paging ignored).
    pub async fn count_events(&self, query: EventQuery) -> Result<u64, ControlError> {
        self.blocking(move |cp| Ok(cp.store.count_events(&query)?))
            .await
    }

    /// How many alerts match `query`'s filters, for a list's "1–100 of N".
    pub async fn count_alerts(&self, query: AlertQuery) -> Result<u64, ControlError> {
        self.blocking(move |cp| Ok(cp.store.count_alerts(&query)?))
            .await
    }

    /// How many incidents have `status` (any when `None`).
    pub async fn count_incidents(&self, status: Option<AlertStatus>) -> Result<u64, ControlError> {
        self.blocking(move |cp| Ok(cp.store.count_incidents(status)?))
            .await
    }

    /// Events matching `query`, as stored (for following).
    pub async fn stored_events(&self, query: EventQuery) -> Result<Vec<StoredEvent>, ControlError> {
        self.blocking(move |cp| Ok(cp.store.events(&query)?)).await
    }

    /// A device's events in time order.
    pub async fn timeline(
        &self,
        device: i64,
        mut query: EventQuery,
    ) -> Result<Vec<EventEntity>, ControlError> {
        self.blocking(move |cp| {
            if cp.store.device(device)?.is_none() {
                return Err(ControlError::NotFound(format!("device {device}")));
            }
            query.device = Some(device);
            query.ascending = true;
            Ok(cp.store.events(&query)?.iter().map(event_entity).collect())
        })
        .await
    }

    /// Devices and processes that contacted the hunted addresses.
    pub async fn contacts(
        &self,
        query: EventQuery,
        order: Option<Sort<ContactColumn>>,
    ) -> Result<Vec<ContactEntity>, ControlError> {
        self.blocking(move |cp| {
            Ok(cp
                .store
                .contacts(&query, order)?
                .into_iter()
                .map(contact_entity)
                .collect())
        })
        .await
    }

    /// How many device and process pairs a hunt finds in all.
    pub async fn count_contacts(&self, query: EventQuery) -> Result<u64, ControlError> {
        self.blocking(move |cp| Ok(cp.store.count_contacts(&query)?))
            .await
    }

    /// Alerts matching `query`.
    pub async fn alerts(&self, query: AlertQuery) -> Result<Vec<AlertEntity>, ControlError> {
        self.blocking(move |cp| {
            Ok(cp
                .store
                .alerts(&query)?
                .into_iter()
                .map(|a| alert_entity(a, None))
                .collect())
        })
        .await
    }

    fn alert_now(&self, id: i64) -> Result<AlertEntity, ControlError> {
        let a = self.alert_record(id)?;
        let evidence = self
            .store
            .alert_evidence(id, EVIDENCE)?
            .iter()
            .map(event_entity)
            .collect();
        let comments = self
            .store
            .alert_comments(id)?
            .into_iter()
            .map(comment_entity)
            .collect();
        let mut entity = alert_entity(a, Some(evidence));
        entity.comments = Some(comments);
        Ok(entity)
    }

    fn alert_record(&self, id: i64) -> Result<crate::store::AlertRecord, ControlError> {
        let query = AlertQuery {
            id: Some(id),
            top: 1,
            ..AlertQuery::default()
        };
        self.store
            .alerts(&query)?
            .into_iter()
            .next()
            .ok_or_else(|| ControlError::NotFound(format!("alert {id}")))
    }

    /// One alert with its evidence.
    pub async fn alert(&self, id: i64) -> Result<AlertEntity, ControlError> {
        self.blocking(move |cp| cp.alert_now(id)).await
    }

    /// Sets an alert's status.
    pub async fn set_alert_status(
        &self,
        id: i64,
        status: AlertStatus,
        actor: Actor,
    ) -> Result<AlertEntity, ControlError> {
        let patch = AlertPatch {
            status: Some(status),
            ..AlertPatch::default()
        };
        self.triage_alert(id, patch, actor).await
    }

    /// Applies a triage patch to an alert: status, assignment, classification and
    /// determination, as [`triage_update`] decides.
    pub async fn triage_alert(
        &self,
        id: i64,
        patch: AlertPatch,
        actor: Actor,
    ) -> Result<AlertEntity, ControlError> {
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            let current = cp.alert_record(id)?;
            let update = triage_update(&current.triage, &patch)?;
            let a = cp
                .store
                .triage_alert(id, &update, &change)?
                .ok_or_else(|| ControlError::NotFound(format!("alert {id}")))?;
            let entity = alert_entity(a, None);
            cp.exporter.alert(&entity);
            let _ = cp.live_alerts.send(entity);
            cp.announce(&crate::store::Notice::Alerts(vec![id]));
            cp.alert_now(id)
        })
        .await
    }

    /// Adds a comment to an alert.
    pub async fn comment_alert(
        &self,
        id: i64,
        comment: String,
        actor: Actor,
    ) -> Result<AlertEntity, ControlError> {
        self.blocking(move |cp| {
            let text = comment.trim();
            if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
                return Err(FieldError::new(
                    "comment",
                    format!("write 1 to {MAX_COMMENT_CHARS} characters"),
                )
                .into());
            }
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            if !cp.store.add_alert_comment(id, text, &change)? {
                return Err(ControlError::NotFound(format!("alert {id}")));
            }
            cp.alert_now(id)
        })
        .await
    }

    /// Incidents.
    pub async fn incidents(
        &self,
        status: Option<AlertStatus>,
        order: Option<Sort<IncidentColumn>>,
        top: usize,
        skip: usize,
    ) -> Result<Vec<IncidentEntity>, ControlError> {
        self.blocking(move |cp| {
            Ok(cp
                .store
                .incidents(None, status, order, top, skip)?
                .into_iter()
                .map(|i| incident_entity(i, None))
                .collect())
        })
        .await
    }

    fn incident_now(&self, id: i64) -> Result<IncidentEntity, ControlError> {
        let i = self
            .store
            .incidents(Some(id), None, None, 1, 0)?
            .into_iter()
            .next()
            .ok_or_else(|| ControlError::NotFound(format!("incident {id}")))?;
        let alerts = self
            .store
            .alerts(&AlertQuery {
                incident: Some(id),
                top: 10_000,
                ..AlertQuery::default()
            })?
            .into_iter()
            .map(|a| alert_entity(a, None))
            .collect();
        Ok(incident_entity(i, Some(alerts)))
    }

    /// One incident with its alerts.
    pub async fn incident(&self, id: i64) -> Result<IncidentEntity, ControlError> {
        self.blocking(move |cp| cp.incident_now(id)).await
    }

    /// Sets an incident's status, and its alerts'.
    pub async fn set_incident_status(
        &self,
        id: i64,
        status: AlertStatus,
        actor: Actor,
    ) -> Result<IncidentEntity, ControlError> {
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            cp.store
                .set_incident_status(id, status, &change)?
                .ok_or_else(|| ControlError::NotFound(format!("incident {id}")))?;
            let entity = cp.incident_now(id)?;
            let mut changed = Vec::new();
            for a in entity.alerts.iter().flatten() {
                cp.exporter.alert(a);
                let _ = cp.live_alerts.send(a.clone());
                changed.extend(a.id.parse::<i64>().ok());
            }
            cp.announce(&crate::store::Notice::Alerts(changed));
            Ok(entity)
        })
        .await
    }
}
