//! Detection on the server: ingest agents' events (each stored once), raise alerts and
//! incidents, answer the event, timeline, alert, incident and hunting queries, export to
//! SIEMs, follow live, and apply retention.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Mutex;

use netward_model::detection::{
    AlertEntity, ContactEntity, EventAck, EventBatch, EventEntity, EventFields, EventIndicator,
    IncidentEntity, Outcome, STATUSES,
};
use netward_model::timestamp::{format_rfc3339, format_rfc3339_ms};
use netward_model::{Actor, FieldError};

use crate::control::{ControlError, ControlPlane};
use crate::store::{
    AlertQuery, AlertRecord, Change, ContactRecord, EventQuery, IncidentRecord, StoredEvent,
};

/// The default event retention, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Evidence events shown with an alert.
const EVIDENCE: usize = 100;
/// Events per ingest call, at most.
pub const MAX_BATCH: usize = 5_000;

/// How detection runs.
#[derive(Clone, Debug)]
pub struct DetectionConfig {
    /// Events older than this many days are deleted.
    pub retention_days: u32,
    /// Append every event and alert, as one JSON object per line, to this file.
    pub ndjson: Option<PathBuf>,
    /// Send every event and alert as an RFC 5424 syslog message over UDP to this address.
    pub syslog: Option<SocketAddr>,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        Self {
            retention_days: DEFAULT_RETENTION_DAYS,
            ndjson: None,
            syslog: None,
        }
    }
}

/// The SIEM outputs.
#[derive(Debug, Default)]
pub struct Exporter {
    ndjson: Option<Mutex<std::fs::File>>,
    syslog: Option<(UdpSocket, SocketAddr)>,
    hostname: String,
}

/// Why an export could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The NDJSON file cannot be opened for appending.
    #[error("cannot open {path} for appending: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No UDP socket for syslog.
    #[error("cannot open a UDP socket for syslog: {0}")]
    Syslog(#[source] std::io::Error),
}

/// RFC 5424 severity of an event outcome or alert severity.
fn syslog_severity(kind: &str) -> u8 {
    match kind {
        "blocked" | "High" => 3,   // error
        "audited" | "Medium" => 4, // warning
        "Low" => 5,                // notice
        _ => 6,                    // informational
    }
}

/// Escapes an RFC 5424 structured-data parameter value.
fn sd_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// One RFC 5424 message: facility local0, `netward` as the app, the record type as MSGID,
/// a few fields as structured data (`netward@32473`, the documentation enterprise number)
/// and the whole record as JSON in MSG.
pub fn syslog_message(
    hostname: &str,
    timestamp: &str,
    msgid: &str,
    severity: u8,
    fields: &[(&str, &str)],
    json: &str,
) -> String {
    let pri = 16 * 8 + u16::from(severity);
    let sd: String = fields
        .iter()
        .map(|(k, v)| format!(" {k}=\"{}\"", sd_escape(v)))
        .collect();
    let host = if hostname.is_empty() { "-" } else { hostname };
    format!(
        "<{pri}>1 {timestamp} {host} netward {} {msgid} [netward@32473{sd}] {json}",
        std::process::id()
    )
}

impl Exporter {
    /// Opens the configured outputs.
    pub fn open(config: &DetectionConfig) -> Result<Self, ExportError> {
        let ndjson = config
            .ndjson
            .as_ref()
            .map(|path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map(Mutex::new)
                    .map_err(|source| ExportError::File {
                        path: path.clone(),
                        source,
                    })
            })
            .transpose()?;
        let syslog = config
            .syslog
            .map(|to| {
                let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                UdpSocket::bind(bind)
                    .map(|s| (s, to))
                    .map_err(ExportError::Syslog)
            })
            .transpose()?;
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        Ok(Self {
            ndjson,
            syslog,
            hostname,
        })
    }

    fn emit(
        &self,
        record_type: &str,
        value: serde_json::Value,
        severity: u8,
        fields: &[(&str, &str)],
        timestamp: &str,
    ) {
        let mut value = value;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("RecordType".into(), record_type.into());
        }
        let line = value.to_string();
        if let Some(file) = &self.ndjson
            && let Ok(mut f) = file.lock()
            && let Err(error) = writeln!(f, "{line}")
        {
            tracing::error!(%error, "Cannot append to the NDJSON export.");
        }
        if let Some((socket, to)) = &self.syslog {
            let msg = syslog_message(
                &self.hostname,
                timestamp,
                record_type,
                severity,
                fields,
                &line,
            );
            if let Err(error) = socket.send_to(msg.as_bytes(), to) {
                tracing::warn!(%error, %to, "Cannot send a syslog message.");
            }
        }
    }

    fn event(&self, e: &EventEntity) {
        if self.ndjson.is_none() && self.syslog.is_none() {
            return;
        }
        let value = serde_json::to_value(e).unwrap_or_default();
        self.emit(
            "NetworkEvent",
            value,
            syslog_severity(&e.additional_fields.outcome),
            &[
                ("outcome", &e.additional_fields.outcome),
                ("remoteIP", &e.remote_ip),
                ("deviceName", &e.device_name),
                ("process", &e.initiating_process_file_name),
            ],
            &e.timestamp,
        );
    }

    fn alert(&self, a: &AlertEntity) {
        if self.ndjson.is_none() && self.syslog.is_none() {
            return;
        }
        let value = serde_json::to_value(a).unwrap_or_default();
        self.emit(
            "Alert",
            value,
            syslog_severity(&a.severity),
            &[
                ("alertId", &a.id),
                ("title", &a.title),
                ("deviceName", &a.device_name),
                ("status", &a.status),
            ],
            &a.last_seen,
        );
    }
}

/// An event as the API shows it.
pub fn event_entity(s: &StoredEvent) -> EventEntity {
    let e = &s.event;
    let outcome = Outcome::parse(&e.outcome);
    let indicators: Vec<EventIndicator> = e
        .indicators
        .iter()
        .enumerate()
        .map(|(i, m)| EventIndicator {
            id: m.id,
            value: m.value.clone(),
            title: s.titles.get(i).cloned().flatten(),
        })
        .collect();
    let (file, folder) = match e.process.as_ref().and_then(|p| p.exe.as_deref()) {
        Some(exe) => match exe.rsplit_once('/') {
            Some((dir, name)) => (
                name.to_owned(),
                Some(if dir.is_empty() {
                    "/".into()
                } else {
                    dir.to_owned()
                }),
            ),
            None => (exe.to_owned(), None),
        },
        None => (
            e.process
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |p| p.name.clone()),
            None,
        ),
    };
    EventEntity {
        id: s.id,
        timestamp: format_rfc3339_ms(e.first_seen_ms),
        device_id: s.device_id.to_string(),
        device_name: s.device_name.clone(),
        action_type: outcome.map_or("Unknown", |o| o.action_type()).to_owned(),
        remote_ip: e.remote_ip.clone(),
        remote_port: e.remote_port,
        local_ip: e.local_ip.clone(),
        local_port: e.local_port,
        protocol: capitalise(&e.protocol),
        initiating_process_id: e.process.as_ref().map(|p| p.pid),
        initiating_process_file_name: file,
        initiating_process_folder_path: folder,
        initiating_process_command_line: e.process.as_ref().and_then(|p| p.cmdline.clone()),
        initiating_process_account_name: e.process.as_ref().and_then(|p| p.user.clone()),
        initiating_process_account_uid: e.process.as_ref().map(|p| p.uid),
        additional_fields: EventFields {
            is_audit: outcome != Some(Outcome::Blocked),
            response_category: if outcome == Some(Outcome::Allowed) {
                "CustomAllowList".into()
            } else {
                "CustomBlockList".into()
            },
            display_name: indicators.first().and_then(|i| i.title.clone()),
            outcome: e.outcome.clone(),
            reason: e.reason.clone(),
            count: e.count,
            last_seen: format_rfc3339_ms(e.last_seen_ms),
            direction: e.direction.clone(),
            indicators,
        },
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An alert as the API shows it.
pub fn alert_entity(a: AlertRecord, evidence: Option<Vec<EventEntity>>) -> AlertEntity {
    AlertEntity {
        id: a.id.to_string(),
        incident_id: a.incident_id.to_string(),
        title: a.title,
        severity: a.severity,
        recommended_actions: Some(a.recommended_actions).filter(|r| !r.is_empty()),
        indicator_id: a.indicator_id,
        indicator_value: a.indicator_value,
        device_id: a.device_id.to_string(),
        device_name: a.device_name,
        status: a.status,
        status_changed_by: a.status_by,
        status_changed_at: a.status_at.map(format_rfc3339),
        first_seen: format_rfc3339_ms(a.first_ms),
        last_seen: format_rfc3339_ms(a.last_ms),
        hit_count: a.hit_count,
        outcomes: a.outcomes,
        evidence,
    }
}

fn incident_entity(i: IncidentRecord, alerts: Option<Vec<AlertEntity>>) -> IncidentEntity {
    IncidentEntity {
        id: i.id.to_string(),
        title: i.title,
        severity: i.severity,
        indicator_id: i.indicator_id,
        indicator_value: i.indicator_value,
        status: i.status,
        status_changed_by: i.status_by,
        status_changed_at: i.status_at.map(format_rfc3339),
        first_seen: format_rfc3339_ms(i.first_ms),
        last_seen: format_rfc3339_ms(i.last_ms),
        alert_count: i.alert_count,
        device_count: i.device_count,
        hit_count: i.hit_count,
        alerts,
    }
}

fn contact_entity(c: ContactRecord) -> ContactEntity {
    ContactEntity {
        device_id: c.device_id.to_string(),
        device_name: c.device_name,
        process: c.process,
        remote_ips: c.remote_ips,
        outcomes: c.outcomes,
        first_seen: format_rfc3339_ms(c.first_ms),
        last_seen: format_rfc3339_ms(c.last_ms),
        count: c.count,
    }
}

/// Checks a status name.
pub fn parse_status(s: &str) -> Result<String, FieldError> {
    STATUSES
        .iter()
        .find(|k| k.eq_ignore_ascii_case(s.trim()))
        .map(|k| (*k).to_owned())
        .ok_or_else(|| {
            FieldError::new(
                "status",
                format!("`{s}` is not a status; use one of {}", STATUSES.join(", ")),
            )
        })
}

/// Whether `e` passes the filters of `q` (for live following; the store applies the same
/// filters to queries).
pub fn matches(q: &EventQuery, s: &StoredEvent) -> bool {
    let e = &s.event;
    q.device.is_none_or(|d| d == s.device_id)
        && q.indicator
            .is_none_or(|i| e.indicators.iter().any(|m| m.id == i))
        && q.outcome.as_ref().is_none_or(|o| *o == e.outcome)
        && q.remote.is_none_or(|(v6, lo, hi)| {
            crate::store::sqlite_remote_key(&e.remote_ip)
                .is_some_and(|(is_v6, key)| is_v6 == v6 && (lo..=hi).contains(&key))
        })
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
            if Outcome::parse(&e.outcome).is_none() {
                return Err(FieldError::new(
                    &format!("events[{i}].outcome"),
                    format!("`{}` is not blocked, audited or allowed", e.outcome),
                )
                .into());
            }
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
            for id in &out.touched {
                let query = AlertQuery {
                    id: Some(*id),
                    top: 1,
                    ..AlertQuery::default()
                };
                if let Some(a) = cp.store.alerts(&query)?.into_iter().next() {
                    let entity = alert_entity(a, None);
                    cp.exporter.alert(&entity);
                    let _ = cp.live_alerts.send(entity);
                }
            }
            Ok(EventAck {
                acked_seq: out.acked_seq,
            })
        })
        .await
    }

    /// Events matching `query`.
    pub async fn events(&self, query: EventQuery) -> Result<Vec<EventEntity>, ControlError> {
        self.blocking(move |cp| Ok(cp.store.events(&query)?.iter().map(event_entity).collect()))
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
    pub async fn contacts(&self, query: EventQuery) -> Result<Vec<ContactEntity>, ControlError> {
        self.blocking(move |cp| {
            Ok(cp
                .store
                .contacts(&query)?
                .into_iter()
                .map(contact_entity)
                .collect())
        })
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
        let query = AlertQuery {
            id: Some(id),
            top: 1,
            ..AlertQuery::default()
        };
        let a = self
            .store
            .alerts(&query)?
            .into_iter()
            .next()
            .ok_or_else(|| ControlError::NotFound(format!("alert {id}")))?;
        let evidence = self
            .store
            .alert_evidence(id, EVIDENCE)?
            .iter()
            .map(event_entity)
            .collect();
        Ok(alert_entity(a, Some(evidence)))
    }

    /// One alert with its evidence.
    pub async fn alert(&self, id: i64) -> Result<AlertEntity, ControlError> {
        self.blocking(move |cp| cp.alert_now(id)).await
    }

    /// Sets an alert's status.
    pub async fn set_alert_status(
        &self,
        id: i64,
        status: &str,
        actor: Actor,
    ) -> Result<AlertEntity, ControlError> {
        let status = parse_status(status)?;
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            let a = cp
                .store
                .set_alert_status(id, &status, &change)?
                .ok_or_else(|| ControlError::NotFound(format!("alert {id}")))?;
            let entity = alert_entity(a, None);
            cp.exporter.alert(&entity);
            let _ = cp.live_alerts.send(entity);
            cp.alert_now(id)
        })
        .await
    }

    /// Incidents.
    pub async fn incidents(
        &self,
        status: Option<String>,
        top: usize,
        skip: usize,
    ) -> Result<Vec<IncidentEntity>, ControlError> {
        self.blocking(move |cp| {
            Ok(cp
                .store
                .incidents(None, status.as_deref(), top, skip)?
                .into_iter()
                .map(|i| incident_entity(i, None))
                .collect())
        })
        .await
    }

    fn incident_now(&self, id: i64) -> Result<IncidentEntity, ControlError> {
        let i = self
            .store
            .incidents(Some(id), None, 1, 0)?
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
        status: &str,
        actor: Actor,
    ) -> Result<IncidentEntity, ControlError> {
        let status = parse_status(status)?;
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            cp.store
                .set_incident_status(id, &status, &change)?
                .ok_or_else(|| ControlError::NotFound(format!("incident {id}")))?;
            let entity = cp.incident_now(id)?;
            for a in entity.alerts.iter().flatten() {
                cp.exporter.alert(a);
                let _ = cp.live_alerts.send(a.clone());
            }
            Ok(entity)
        })
        .await
    }

    /// Deletes events older than the retention period; how many went.
    pub async fn apply_retention(&self) -> Result<u64, ControlError> {
        self.blocking(|cp| {
            let cutoff = cp
                .now()
                .saturating_sub(i64::from(cp.retention_days) * 86_400)
                .saturating_mul(1000);
            Ok(cp.store.purge_events(cutoff)?)
        })
        .await
    }

    /// Runs retention at start and then hourly, until the server stops.
    pub async fn retention_loop(self) {
        let mut closing = self.closing();
        loop {
            match self.apply_retention().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    deleted = n,
                    days = self.retention_days,
                    "Old events deleted."
                ),
                Err(error) => tracing::error!(%error, "Cannot apply event retention."),
            }
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                _ = closing.wait_for(|c| *c) => return,
            }
        }
    }
}
