//! Ingest on the control plane: a device's batch checked, stored once, its alerts raised by
//! the store through the alerting rules, then exported and announced to live followers.

use netward_model::FieldError;
use netward_model::detection::{AgentEvent, EventAck, EventBatch};
use netward_model::text;

use super::entities::{alert_entity, event_entity};
use crate::control::{ControlError, ControlPlane};
use crate::store::Notice;

/// Events per ingest call, at most.
pub const MAX_BATCH: usize = 5_000;
/// The largest `seq`: the store keeps it as a signed 64-bit integer.
pub const MAX_SEQ: u64 = i64::MAX as u64;
/// Most attempts one aggregated event may count.
pub const MAX_COUNT: u64 = u32::MAX as u64;
/// Longest executable path or command line, in bytes: the agent cuts at 4,096 and appends `…`.
pub const MAX_PROCESS_TEXT: usize = 4_096 + '…'.len_utf8();
/// Most indicators one event may name.
pub const MAX_EVENT_INDICATORS: usize = 64;

/// One event's numbers and sizes within what the store and the pages are made for. Text from
/// the device (a process name, a command line) is kept as it is and shown escaped.
fn check_event(i: usize, e: &AgentEvent) -> Result<(), FieldError> {
    let field = |name: &str| format!("events[{i}].{name}");
    let too_long = |name: &str, max: usize| {
        FieldError::new(&field(name), format!("is longer than {max} bytes"))
    };
    if e.seq == 0 || e.seq > MAX_SEQ {
        return Err(FieldError::new(
            &field("seq"),
            format!("must be from 1 to {MAX_SEQ}"),
        ));
    }
    if e.count == 0 || e.count > MAX_COUNT {
        return Err(FieldError::new(
            &field("count"),
            format!("must be from 1 to {MAX_COUNT}"),
        ));
    }
    if e.first_seen_ms > e.last_seen_ms {
        return Err(FieldError::new(
            &field("firstSeenMs"),
            "is after lastSeenMs",
        ));
    }
    for (name, value) in [("remoteIp", &e.remote_ip), ("localIp", &e.local_ip)] {
        if netward_model::IndicatorValue::parse(value).is_err() {
            return Err(FieldError::new(
                &field(name),
                format!("`{}` is not an IP address", text::printable(value)),
            ));
        }
    }
    if e.protocol.len() > 16 {
        return Err(too_long("protocol", 16));
    }
    if e.indicators.len() > MAX_EVENT_INDICATORS {
        return Err(FieldError::new(
            &field("indicators"),
            format!("names more than {MAX_EVENT_INDICATORS} indicators"),
        ));
    }
    if let Some(p) = &e.process {
        if p.name.len() > 256 {
            return Err(too_long("process.name", 256));
        }
        if p.user.as_ref().is_some_and(|u| u.len() > 256) {
            return Err(too_long("process.user", 256));
        }
        if p.exe.as_ref().is_some_and(|t| t.len() > MAX_PROCESS_TEXT) {
            return Err(too_long("process.exe", MAX_PROCESS_TEXT));
        }
        if p.cmdline
            .as_ref()
            .is_some_and(|t| t.len() > MAX_PROCESS_TEXT)
        {
            return Err(too_long("process.cmdline", MAX_PROCESS_TEXT));
        }
    }
    Ok(())
}

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
            check_event(i, e)?;
        }
        for (name, n) in [("dropped", batch.dropped), ("lost", batch.lost)] {
            if n > MAX_SEQ {
                return Err(FieldError::new(name, format!("must be at most {MAX_SEQ}")).into());
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
                cp.note_event(last.id);
                cp.announce(&Notice::Events(last.id));
            }
            cp.metrics.ingested(out.stored.len(), out.alerts.len());
            if !out.alerts.is_empty() {
                cp.announce(&Notice::Alerts(out.alerts.iter().map(|a| a.id).collect()));
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
