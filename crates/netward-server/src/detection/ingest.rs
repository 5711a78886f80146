//! Ingest on the control plane: a device's batch checked, stored once, its alerts raised by
//! the store through the alerting rules, then exported and announced to live followers.

use netward_model::FieldError;
use netward_model::detection::{EventAck, EventBatch};

use super::entities::{alert_entity, event_entity};
use crate::control::{ControlError, ControlPlane};

/// Events per ingest call, at most.
pub const MAX_BATCH: usize = 5_000;

impl ControlPlane {
    /// Stores a device's events and raises their alerts; exports and announces what is new.
    pub async fn ingest_events(
        &self,
        device: i64,
        batch: EventBatch,
    ) -> Result<EventAck, ControlError> {
        if batch.events.len() > MAX_BATCH {
            return Err(
                FieldError::new("events", format!("at most {MAX_BATCH} events per batch")).into(),
            );
        }
        for (i, e) in batch.events.iter().enumerate() {
            if netward_model::IndicatorValue::parse(&e.remote_ip).is_err() {
                return Err(FieldError::new(
                    &format!("events[{i}].remoteIp"),
                    format!("`{}` is not an IP address", e.remote_ip),
                )
                .into());
            }
        }
        self.blocking(move |cp| {
            let at_ms = cp.now().saturating_mul(1000);
            let out =
                cp.store
                    .ingest_events(device, &batch.events, batch.dropped, batch.lost, at_ms)?;
            for s in &out.stored {
                cp.exporter.event(&event_entity(s));
            }
            if let Some(last) = out.stored.last() {
                cp.live_events.send_replace(last.id);
            }
            for a in out.alerts {
                let entity = alert_entity(a, None);
                cp.exporter.alert(&entity);
                // Nobody following is not an error.
                let _ = cp.live_alerts.send(entity);
            }
            Ok(EventAck {
                acked_seq: out.acked_seq,
            })
        })
        .await
    }
}
