//! Detection: what an agent reports for each hit on an indicator, and the events, alerts and
//! incidents the API shows. Shared by the server, the agent and the CLI.
//!
//! Each hit carries an *outcome* (what happened to the traffic) and a *reason* (why), both
//! decided by the kernel rule that matched, never inferred afterwards:
//!
//! | outcome   | reason                  | when                                               |
//! |-----------|-------------------------|----------------------------------------------------|
//! | `blocked` | `indicator_block`       | a block indicator, enforced                        |
//! | `audited` | `indicator_audit`       | an audit indicator                                 |
//! | `audited` | `device_audit_mode`     | a block indicator on a device in audit mode        |
//! | `audited` | `protocol_not_covered`  | a block indicator, coverage `tcp`, not TCP         |
//! | `allowed` | `indicator_allow`       | an allow indicator (counted, never alerted)        |

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

pub use crate::alert_status::AlertStatus;
pub use crate::outcome::{Direction, Outcome, Reason};
pub use crate::triage::{
    AlertComment, AlertPatch, Classification, CommentBody, Determination, MAX_COMMENT_CHARS,
};

/// An indicator an event matched.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchedIndicator {
    /// Indicator id.
    pub id: i64,
    /// Its canonical value.
    pub value: String,
}

/// The process that opened the connection, as the kernel named it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessInfo {
    /// Process id (the thread-group id).
    pub pid: u32,
    /// The kernel's short name for it (`comm`).
    pub name: String,
    /// The executable's path, when the process was still running to be asked.
    pub exe: Option<String>,
    /// The command line, when the process was still running to be asked.
    pub cmdline: Option<String>,
    /// The user id.
    pub uid: u32,
    /// The user name, when the device knows it.
    pub user: Option<String>,
}

/// One aggregated hit, as an agent reports it: every attempt with the same indicators,
/// process, remote endpoint, direction, protocol and outcome within one interval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentEvent {
    /// The agent's sequence number: increasing, never reused. With the device it makes the
    /// event's identity, so a resent event is stored once.
    pub seq: u64,
    /// First attempt, Unix milliseconds.
    pub first_seen_ms: i64,
    /// Last attempt, Unix milliseconds.
    pub last_seen_ms: i64,
    /// Attempts aggregated.
    pub count: u64,
    /// Which way it went.
    pub direction: Direction,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or the protocol number.
    pub protocol: String,
    /// The device's address.
    pub local_ip: String,
    /// The device's port, when every attempt used the same one.
    pub local_port: Option<u16>,
    /// The other end.
    pub remote_ip: String,
    /// The other end's port (TCP and UDP).
    pub remote_port: Option<u16>,
    /// What happened to the traffic.
    pub outcome: Outcome,
    /// Why (see the module documentation).
    pub reason: Reason,
    /// The indicators whose action decided the outcome.
    pub indicators: Vec<MatchedIndicator>,
    /// The initiating process; absent when the kernel could not tell (inbound traffic, or a
    /// process the agent could not name without guessing).
    pub process: Option<ProcessInfo>,
}

/// The body of `POST /api/agent/events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventBatch {
    /// Events in increasing `seq`.
    pub events: Vec<AgentEvent>,
    /// Events the agent had to drop since it was installed because its spool was full.
    pub dropped: u64,
    /// Kernel log messages lost since the agent started (netlink buffer overruns).
    pub lost: u64,
}

/// The answer to an [`EventBatch`]: every event up to `ackedSeq` is stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventAck {
    /// The highest `seq` now stored.
    pub acked_seq: u64,
}

/// An indicator as an event shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct EventIndicator {
    /// Indicator id.
    pub id: i64,
    /// Canonical value.
    pub value: String,
    /// Title, if the indicator still existed when the event arrived.
    pub title: Option<String>,
}

/// `AdditionalFields` of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct EventFields {
    /// Whether the traffic went through (MDE's name).
    pub is_audit: bool,
    /// `CustomBlockList` or `CustomAllowList` (MDE's name).
    pub response_category: String,
    /// The first indicator's title (MDE's name).
    pub display_name: Option<String>,
    /// What happened to the traffic.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// Attempts aggregated into this event.
    pub count: u64,
    /// The last attempt.
    pub last_seen: String,
    /// Which way it went.
    pub direction: Direction,
    /// The indicators matched.
    pub indicators: Vec<EventIndicator>,
}

/// An event, with column names after MDE's DeviceEvents and DeviceNetworkEvents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct EventEntity {
    /// The server's id for the event.
    pub id: i64,
    /// The first attempt (RFC 3339, milliseconds).
    pub timestamp: String,
    /// Device id.
    pub device_id: String,
    /// Device host name.
    pub device_name: String,
    /// `ExploitGuardNetworkProtectionBlocked`, `ExploitGuardNetworkProtectionAudited` or
    /// `NetworkIndicatorAllowed`.
    pub action_type: String,
    /// The other end.
    #[serde(rename = "RemoteIP")]
    pub remote_ip: String,
    /// Its port.
    pub remote_port: Option<u16>,
    /// The device's address.
    #[serde(rename = "LocalIP")]
    pub local_ip: String,
    /// The device's port.
    pub local_port: Option<u16>,
    /// `Tcp`, `Udp`, `Icmp`, `Icmpv6`, or the protocol number.
    pub protocol: String,
    /// Process id, absent when unknown.
    pub initiating_process_id: Option<u32>,
    /// Executable file name, `unknown` when it cannot be known.
    pub initiating_process_file_name: String,
    /// Executable's folder.
    pub initiating_process_folder_path: Option<String>,
    /// Command line.
    pub initiating_process_command_line: Option<String>,
    /// User name.
    pub initiating_process_account_name: Option<String>,
    /// User id.
    pub initiating_process_account_uid: Option<u32>,
    /// Outcome, reason, count and indicators.
    pub additional_fields: EventFields,
}

/// A page of events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EventList {
    /// The events.
    pub value: Vec<EventEntity>,
}

/// An alert: hits on one alerting indicator on one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AlertEntity {
    /// Alert id.
    pub id: String,
    /// The incident it belongs to.
    pub incident_id: String,
    /// The indicator's title.
    pub title: String,
    /// The indicator's severity.
    pub severity: crate::Severity,
    /// The indicator's recommended actions.
    pub recommended_actions: Option<String>,
    /// Indicator id.
    pub indicator_id: i64,
    /// Indicator value.
    pub indicator_value: String,
    /// Device id.
    pub device_id: String,
    /// Device host name.
    pub device_name: String,
    /// Triage status.
    pub status: AlertStatus,
    /// Who changed the status last.
    pub status_changed_by: Option<String>,
    /// When.
    pub status_changed_at: Option<String>,
    /// Who the alert is assigned to.
    pub assigned_to: Option<String>,
    /// Who assigned it.
    pub assigned_by: Option<String>,
    /// When (RFC 3339).
    pub assigned_at: Option<String>,
    /// What an analyst concluded it was.
    pub classification: Option<Classification>,
    /// Why; it fits the classification.
    pub determination: Option<Determination>,
    /// Who classified it last.
    pub classified_by: Option<String>,
    /// When (RFC 3339).
    pub classified_at: Option<String>,
    /// First hit.
    pub first_seen: String,
    /// Last hit.
    pub last_seen: String,
    /// Attempts seen, exact.
    pub hit_count: u64,
    /// The outcomes seen (`blocked`, `audited`).
    pub outcomes: Vec<Outcome>,
    /// The events behind it, newest first (on `GET /api/alerts/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Vec<EventEntity>>,
    /// Its comments, oldest first (on `GET /api/alerts/{id}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<Vec<AlertComment>>,
}

/// A page of alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AlertList {
    /// The alerts.
    pub value: Vec<AlertEntity>,
}

/// An incident: the alerts of one indicator across devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IncidentEntity {
    /// Incident id.
    pub id: String,
    /// The indicator's title.
    pub title: String,
    /// The highest severity among its alerts.
    pub severity: crate::Severity,
    /// Indicator id.
    pub indicator_id: i64,
    /// Indicator value.
    pub indicator_value: String,
    /// Triage status.
    pub status: AlertStatus,
    /// Who changed the status last.
    pub status_changed_by: Option<String>,
    /// When.
    pub status_changed_at: Option<String>,
    /// First hit.
    pub first_seen: String,
    /// Last hit.
    pub last_seen: String,
    /// Alerts in it.
    pub alert_count: u64,
    /// Devices in it.
    pub device_count: u64,
    /// Attempts seen, exact.
    pub hit_count: u64,
    /// Its alerts (on `GET /api/incidents/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<AlertEntity>>,
}

/// A page of incidents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentList {
    /// The incidents.
    pub value: Vec<IncidentEntity>,
}

/// The body of `PATCH /api/alerts/{id}` and `PATCH /api/incidents/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusPatch {
    /// The new status.
    pub status: AlertStatus,
}

/// One device or process seen talking to a hunted address or range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContactEntity {
    /// Device id.
    pub device_id: String,
    /// Device host name.
    pub device_name: String,
    /// Executable, or `unknown`.
    pub process: String,
    /// The remote addresses contacted.
    pub remote_ips: Vec<String>,
    /// The outcomes seen.
    pub outcomes: Vec<String>,
    /// First contact in the window.
    pub first_seen: String,
    /// Last contact in the window.
    pub last_seen: String,
    /// Attempts.
    pub count: u64,
}

/// The answer of `GET /api/hunting/contacts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ContactList {
    /// One row per device and process.
    pub value: Vec<ContactEntity>,
}

/// A protocol number as events name it.
pub fn protocol_name(proto: u8) -> String {
    match proto {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        other => other.to_string(),
    }
}
