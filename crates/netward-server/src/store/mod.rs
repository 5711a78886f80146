//! The one interface to the server's storage. Everything the control plane keeps, it keeps
//! through [`Store`]; the embedded SQLite backend lives in [`sqlite`], and a PostgreSQL backend
//! can follow by passing the same conformance suite (`tests.rs`).
//!
//! Every method that changes something writes its audit-log entry in the same transaction, so a
//! change and its record are durable together or not at all. A method returns only once its
//! transaction is durable on disk.

pub mod detection;
pub mod sqlite;
mod sqlite_detection;
#[cfg(test)]
mod tests;

use netward_model::{Action, Actor, DeviceGroup, Indicator, IndicatorDraft, Role, TenantSettings};

pub use detection::{
    AlertQuery, AlertRecord, ContactRecord, EventQuery, IncidentRecord, IngestOutcome, StoredEvent,
};
pub use sqlite::SqliteStore;
pub use sqlite_detection::remote_key as sqlite_remote_key_bytes;

/// The family and 128-bit key of an address, as event queries compare them.
pub fn sqlite_remote_key(ip: &str) -> Option<(bool, u128)> {
    let v = netward_model::IndicatorValue::parse(ip).ok()?;
    Some((v.family() == netward_model::Family::V6, v.bounds().0))
}

/// Who makes a change, and when (Unix seconds).
#[derive(Clone, Debug)]
pub struct Change<'a> {
    /// The principal.
    pub actor: &'a Actor,
    /// The time of the change.
    pub at: i64,
}

/// Filters and paging for [`Store::list_indicators`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndicatorQuery {
    /// Exact canonical value.
    pub value: Option<String>,
    /// Action.
    pub action: Option<Action>,
    /// Indicators that name this group in their scope.
    pub group: Option<String>,
    /// Creator (token, user or feed name).
    pub source: Option<String>,
    /// Case-insensitive text that the canonical value or the title contains.
    pub text: Option<String>,
    /// Whether to include expired indicators.
    pub include_expired: bool,
    /// Page size.
    pub top: usize,
    /// Rows to skip.
    pub skip: usize,
}

/// An API token as stored: only a hash of its secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

/// One audit-log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Increasing id.
    pub id: i64,
    /// When.
    pub at: i64,
    /// Who.
    pub actor: Actor,
    /// What, e.g. `indicator.create`.
    pub action: String,
    /// On what.
    pub target: String,
    /// The change, as JSON text.
    pub detail: String,
}

/// Paging for the audit log, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries on this target.
    pub target: Option<String>,
    /// Page size.
    pub top: usize,
    /// Entries to skip.
    pub skip: usize,
}

/// An enrollment token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollTokenRecord {
    /// Id.
    pub id: i64,
    /// The group enrolled devices join.
    pub group: String,
    /// When it stops working.
    pub expires_at: i64,
}

/// A device as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Id.
    pub id: i64,
    /// What the device last said about itself.
    pub facts: netward_model::agent_wire::DeviceFacts,
    /// Its group.
    pub group: String,
    /// First contact.
    pub first_seen: i64,
    /// Last contact.
    pub last_seen: i64,
    /// The policy version it enforces.
    pub applied_version: Option<u64>,
    /// When it applied it.
    pub applied_at: Option<i64>,
    /// Entries in its kernel sets.
    pub entries: u64,
    /// Indicators it cannot enforce.
    pub not_enforceable: Vec<i64>,
    /// Its last enforcement error.
    pub last_error: Option<String>,
    /// When it last repaired a tampered table.
    pub last_tamper: Option<i64>,
    /// When its credential was revoked.
    pub revoked_at: Option<i64>,
    /// Hits its agent dropped (spool full), as it last reported.
    pub events_dropped: u64,
    /// Hit log messages its kernel could not deliver, as it last reported.
    pub events_lost: u64,
}

/// What a device reported in an acknowledgement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckRecord {
    /// The version applied.
    pub version: u64,
    /// Entries in the kernel's sets.
    pub entries: u64,
    /// Indicators it cannot enforce.
    pub not_enforceable: Vec<i64>,
    /// The last enforcement error.
    pub error: Option<String>,
    /// Whether it repaired a tampered table.
    pub tamper_repaired: bool,
    /// Its facts, refreshed.
    pub facts: netward_model::agent_wire::DeviceFacts,
}

/// What deleting a group came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupDeletion {
    /// Deleted.
    Deleted,
    /// No such group.
    NotFound,
    /// Indicators still name it in their scope, or devices are in it.
    InUse {
        /// How many indicators.
        indicators: u64,
        /// How many devices.
        devices: u64,
    },
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("storage operation `{operation}` failed")]
    Database {
        /// What we were doing.
        operation: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The data directory could not be prepared.
    #[error("cannot prepare the data directory {path}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored row does not parse: the database was changed behind our back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A unique name is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A thread panicked while holding the database.
    #[error("the store is unusable after an earlier panic")]
    Poisoned,
}

/// Everything the control plane stores. Methods block; callers run them off the async runtime.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates or updates one indicator per draft (keyed by canonical value), in one
    /// transaction, and returns their ids in order.
    fn upsert_indicators(
        &self,
        drafts: &[IndicatorDraft],
        change: &Change<'_>,
    ) -> Result<Vec<i64>, StoreError>;
    /// One indicator by id, expired or not.
    fn indicator(&self, id: i64) -> Result<Option<Indicator>, StoreError>;
    /// A filtered page of indicators, by id, as of `now`.
    fn list_indicators(
        &self,
        query: &IndicatorQuery,
        now: i64,
    ) -> Result<Vec<Indicator>, StoreError>;
    /// Deletes an indicator; `None` if the id is unknown.
    fn delete_indicator(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<Indicator>, StoreError>;
    /// Every indicator that is unexpired at `now`.
    fn active_indicators(&self, now: i64) -> Result<Vec<Indicator>, StoreError>;

    /// All groups, by name.
    fn groups(&self) -> Result<Vec<DeviceGroup>, StoreError>;
    /// One group.
    fn group(&self, name: &str) -> Result<Option<DeviceGroup>, StoreError>;
    /// Creates a group; [`StoreError::AlreadyExists`] if the name is taken.
    fn create_group(&self, group: &DeviceGroup, change: &Change<'_>) -> Result<(), StoreError>;
    /// Replaces a group's settings; `false` if there is no such group.
    fn update_group(&self, group: &DeviceGroup, change: &Change<'_>) -> Result<bool, StoreError>;
    /// Deletes a group that no indicator names.
    fn delete_group(&self, name: &str, change: &Change<'_>) -> Result<GroupDeletion, StoreError>;

    /// The tenant settings.
    fn settings(&self) -> Result<TenantSettings, StoreError>;
    /// Replaces the tenant settings.
    fn update_settings(
        &self,
        settings: &TenantSettings,
        change: &Change<'_>,
    ) -> Result<(), StoreError>;

    /// Stores a token by the hash of its secret; [`StoreError::AlreadyExists`] if the name is taken.
    fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<TokenRecord, StoreError>;
    /// The token whose secret hashes to `secret_hash`, revoked or not.
    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// All tokens.
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Revokes a token; `None` if the id is unknown.
    fn revoke_token(&self, id: i64, change: &Change<'_>)
    -> Result<Option<TokenRecord>, StoreError>;

    /// A page of the audit log, newest first.
    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;

    /// The policy version: the id of the newest audit-log entry. Every change to what a
    /// device enforces writes one, in its own transaction, so the version only grows.
    fn policy_version(&self) -> Result<u64, StoreError>;

    /// The policy version of the last change to the indicator with `value`: the id of its
    /// newest audit-log entry.
    fn indicator_version(&self, value: &str) -> Result<Option<u64>, StoreError>;

    /// Stores an enrollment token by the hash of its secret.
    fn create_enroll_token(
        &self,
        secret_hash: &str,
        group: &str,
        expires_at: i64,
        change: &Change<'_>,
    ) -> Result<EnrollTokenRecord, StoreError>;
    /// The enrollment token whose secret hashes to `secret_hash`.
    fn enroll_token(&self, secret_hash: &str) -> Result<Option<EnrollTokenRecord>, StoreError>;
    /// Creates a device with its credential's hash.
    fn create_device(
        &self,
        facts: &netward_model::agent_wire::DeviceFacts,
        group: &str,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<DeviceRecord, StoreError>;
    /// The device whose credential hashes to `secret_hash`, revoked or not.
    fn device_by_hash(&self, secret_hash: &str) -> Result<Option<DeviceRecord>, StoreError>;
    /// One device.
    fn device(&self, id: i64) -> Result<Option<DeviceRecord>, StoreError>;
    /// All devices.
    fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError>;
    /// Records an acknowledgement (telemetry: not in the audit log).
    fn record_ack(&self, id: i64, ack: &AckRecord, at: i64) -> Result<(), StoreError>;
    /// Moves a device to another group; `false` if there is no such device.
    fn move_device(&self, id: i64, group: &str, change: &Change<'_>) -> Result<bool, StoreError>;
    /// Revokes a device's credential; `None` if there is no such device.
    fn revoke_device(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<DeviceRecord>, StoreError>;

    /// Stores a device's events, each once (by device and `seq`), and raises or updates the
    /// alerts and incidents they call for, in one transaction. `dropped` and `lost` are the
    /// device's running counters. Telemetry: not in the audit log.
    fn ingest_events(
        &self,
        device: i64,
        events: &[netward_model::detection::AgentEvent],
        dropped: u64,
        lost: u64,
        at_ms: i64,
    ) -> Result<IngestOutcome, StoreError>;
    /// Events matching `query`.
    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError>;
    /// The id of the newest stored event (0 when there is none).
    fn newest_event_id(&self) -> Result<i64, StoreError>;
    /// Devices and processes that contacted the hunted addresses, from the stored events.
    fn contacts(&self, query: &EventQuery) -> Result<Vec<ContactRecord>, StoreError>;
    /// Deletes events whose last attempt is older than `before_ms`; how many went.
    fn purge_events(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Alerts matching `query`, newest activity first.
    fn alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError>;
    /// The events behind an alert, newest first.
    fn alert_evidence(&self, id: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Sets an alert's status; `None` if there is no such alert.
    fn set_alert_status(
        &self,
        id: i64,
        status: &str,
        change: &Change<'_>,
    ) -> Result<Option<AlertRecord>, StoreError>;
    /// Incidents, newest activity first; `id` narrows to one.
    fn incidents(
        &self,
        id: Option<i64>,
        status: Option<&str>,
        top: usize,
        skip: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError>;
    /// Sets an incident's status and that of all its alerts; `None` if there is no such
    /// incident.
    fn set_incident_status(
        &self,
        id: i64,
        status: &str,
        change: &Change<'_>,
    ) -> Result<Option<IncidentRecord>, StoreError>;
}
