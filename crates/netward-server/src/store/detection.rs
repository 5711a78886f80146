//! What the store keeps for detection: events, alerts and incidents, and the queries on them.

use netward_model::Severity;
use netward_model::detection::{AgentEvent, AlertStatus, Classification, Determination, Outcome};

use super::{AlertColumn, Change, ContactColumn, EventColumn, IncidentColumn, Sort, StoreError};

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// The server's id.
    pub id: i64,
    /// The device.
    pub device_id: i64,
    /// Its host name.
    pub device_name: String,
    /// What the agent reported.
    pub event: AgentEvent,
    /// The title of each matched indicator, in order, when it existed at ingest.
    pub titles: Vec<Option<String>>,
}

/// Filters and paging for events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only this device.
    pub device: Option<i64>,
    /// Only events that matched this indicator.
    pub indicator: Option<i64>,
    /// Only remote addresses in this range: (is IPv6, first, last), as `IndicatorValue::bounds`.
    pub remote: Option<(bool, u128, u128)>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Only events whose last attempt is at or after this (Unix ms).
    pub from_ms: Option<i64>,
    /// Only events whose first attempt is before this (Unix ms).
    pub to_ms: Option<i64>,
    /// Only events stored after this id (for following).
    pub after_id: Option<i64>,
    /// Oldest first (a timeline) rather than newest first.
    pub ascending: bool,
    /// A column's order instead (ignored when following by `after_id`).
    pub order: Option<Sort<EventColumn>>,
    /// Page size.
    pub top: usize,
    /// Rows to skip.
    pub skip: usize,
}

/// What an ingest did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// The highest `seq` now stored for the device.
    pub acked_seq: u64,
    /// The events stored by this call (not the duplicates).
    pub stored: Vec<StoredEvent>,
    /// Alerts raised by this call.
    pub raised: Vec<i64>,
    /// Alerts updated by this call (raised ones included).
    pub touched: Vec<i64>,
    /// Those alerts, as stored after this call.
    pub alerts: Vec<AlertRecord>,
}

/// An alert as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRecord {
    /// Id.
    pub id: i64,
    /// Its incident.
    pub incident_id: i64,
    /// The device.
    pub device_id: i64,
    /// Its host name.
    pub device_name: String,
    /// The indicator.
    pub indicator_id: i64,
    /// Its value.
    pub indicator_value: String,
    /// Its title when the alert was raised.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// Its recommended actions.
    pub recommended_actions: String,
    /// Triage status.
    pub status: AlertStatus,
    /// Who set the status.
    pub status_by: Option<String>,
    /// When (Unix seconds).
    pub status_at: Option<i64>,
    /// Who, what and why an analyst decided.
    pub triage: AlertTriage,
    /// First hit (Unix ms).
    pub first_ms: i64,
    /// Last hit (Unix ms).
    pub last_ms: i64,
    /// Attempts.
    pub hit_count: u64,
    /// Outcomes seen.
    pub outcomes: Vec<Outcome>,
}

/// An alert's assignment, classification and determination, each with who set it and when.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertTriage {
    /// Who it is assigned to.
    pub assigned_to: Option<String>,
    /// Who assigned it.
    pub assigned_by: Option<String>,
    /// When (Unix seconds).
    pub assigned_at: Option<i64>,
    /// Its classification.
    pub classification: Option<Classification>,
    /// Its determination (fits the classification).
    pub determination: Option<Determination>,
    /// Who classified it.
    pub classified_by: Option<String>,
    /// When (Unix seconds).
    pub classified_at: Option<i64>,
}

/// What a triage change sets; `None` leaves a part alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TriageUpdate {
    /// A new status.
    pub status: Option<AlertStatus>,
    /// A new assignee (`Some(None)`: unassigned).
    pub assigned_to: Option<Option<String>>,
    /// A new classification and determination.
    pub verdict: Option<(Option<Classification>, Option<Determination>)>,
}

/// A comment on an alert, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentRecord {
    /// The text.
    pub comment: String,
    /// Who wrote it.
    pub created_by: String,
    /// When (Unix seconds).
    pub created_at: i64,
}

/// Filters for alerts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertQuery {
    /// Only this alert.
    pub id: Option<i64>,
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only this device.
    pub device: Option<i64>,
    /// Only this indicator.
    pub indicator: Option<i64>,
    /// Only this incident.
    pub incident: Option<i64>,
    /// The order; newest activity first without one.
    pub order: Option<Sort<AlertColumn>>,
    /// Page size.
    pub top: usize,
    /// Rows to skip.
    pub skip: usize,
}

/// An incident as stored, with its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRecord {
    /// Id.
    pub id: i64,
    /// The indicator.
    pub indicator_id: i64,
    /// Its value.
    pub indicator_value: String,
    /// Its title.
    pub title: String,
    /// The highest severity of its alerts.
    pub severity: Severity,
    /// Triage status.
    pub status: AlertStatus,
    /// Who set the status.
    pub status_by: Option<String>,
    /// When (Unix seconds).
    pub status_at: Option<i64>,
    /// First hit (Unix ms).
    pub first_ms: i64,
    /// Last hit (Unix ms).
    pub last_ms: i64,
    /// Alerts.
    pub alert_count: u64,
    /// Devices.
    pub device_count: u64,
    /// Attempts.
    pub hit_count: u64,
}

/// One device and process that contacted hunted addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    /// The device.
    pub device_id: i64,
    /// Its host name.
    pub device_name: String,
    /// The executable (or short name), `unknown` when not known.
    pub process: String,
    /// Remote addresses contacted.
    pub remote_ips: Vec<String>,
    /// Outcomes seen.
    pub outcomes: Vec<String>,
    /// First attempt (Unix ms).
    pub first_ms: i64,
    /// Last attempt (Unix ms).
    pub last_ms: i64,
    /// Attempts.
    pub count: u64,
}

/// Events, alerts and incidents. Telemetry (ingest) is not in the audit log; status changes are.
pub trait DetectionStore: Send + Sync {
    /// Stores a device's events, each once (by device and `seq`), and raises or updates the
    /// alerts and incidents they call for, in one transaction. `dropped` and `lost` are the
    /// device's running counters. Telemetry: not in the audit log.
    fn ingest_events(
        &self,
        device: i64,
        events: &[AgentEvent],
        dropped: u64,
        lost: u64,
        at_ms: i64,
    ) -> Result<IngestOutcome, StoreError>;
    /// Events matching `query`.
    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError>;
    /// The id of the newest stored event (0 when there is none).
    fn newest_event_id(&self) -> Result<i64, StoreError>;
    /// Devices and processes that contacted the hunted addresses, from the stored events: a
    /// page (`query`'s `top` and `skip`) in `order`, first contact first without one.
    fn contacts(
        &self,
        query: &EventQuery,
        order: Option<Sort<ContactColumn>>,
    ) -> Result<Vec<ContactRecord>, StoreError>;
    /// How many device and process pairs [`Self::contacts`] finds in all.
    fn count_contacts(&self, query: &EventQuery) -> Result<u64, StoreError>;
    /// Deletes events whose last attempt is older than `before_ms`; how many went.
    fn purge_events(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Alerts matching `query`, in its order.
    fn alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError>;
    /// The events behind an alert, newest first.
    fn alert_evidence(&self, id: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Applies a triage change to an alert (each part given, with who and when), audited, and
    /// brings its incident's status in line; `None` if there is no such alert.
    fn triage_alert(
        &self,
        id: i64,
        update: &TriageUpdate,
        change: &Change<'_>,
    ) -> Result<Option<AlertRecord>, StoreError>;
    /// Adds a comment to an alert, audited; `false` if there is no such alert.
    fn add_alert_comment(
        &self,
        id: i64,
        comment: &str,
        change: &Change<'_>,
    ) -> Result<bool, StoreError>;
    /// An alert's comments, oldest first.
    fn alert_comments(&self, id: i64) -> Result<Vec<CommentRecord>, StoreError>;
    /// Incidents in `order` (newest activity first without one); `id` narrows to one.
    fn incidents(
        &self,
        id: Option<i64>,
        status: Option<AlertStatus>,
        order: Option<Sort<IncidentColumn>>,
        top: usize,
        skip: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError>;
    /// Sets an incident's status and that of all its alerts; `None` if there is no such
    /// incident.
    fn set_incident_status(
        &self,
        id: i64,
        status: AlertStatus,
        change: &Change<'_>,
    ) -> Result<Option<IncidentRecord>, StoreError>;
}
