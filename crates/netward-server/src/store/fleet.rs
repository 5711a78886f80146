//! The fleet: device groups, the tenant settings and devices (enrollment is `enrollment.rs`).

use netward_model::{DeviceGroup, TenantSettings};

use super::{Change, StoreError};

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
    /// What its agent never blocks nor audits, and why, as it last reported.
    pub exemptions: Vec<netward_model::agent_wire::Exemption>,
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
    /// What it never blocks nor audits, and why.
    pub exemptions: Vec<netward_model::agent_wire::Exemption>,
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

/// Groups, settings, enrollment tokens and devices.
pub trait FleetStore: Send + Sync {
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
}
