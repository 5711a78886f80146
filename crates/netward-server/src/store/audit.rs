//! The audit log, whose newest entry's id is the policy version.

use netward_model::Actor;

use super::StoreError;

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
    /// Only entries at or after this Unix second.
    pub from: Option<i64>,
    /// Page size.
    pub top: usize,
    /// Entries to skip.
    pub skip: usize,
}

/// The audit log and the versions derived from it.
pub trait AuditStore: Send + Sync {
    /// A page of the audit log, newest first.
    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// The policy version: the id of the newest audit-log entry. Every change to what a
    /// device enforces writes one, in its own transaction, so the version only grows.
    fn policy_version(&self) -> Result<u64, StoreError>;
    /// The policy version of the last change to the indicator with `value`: the id of its
    /// newest audit-log entry.
    fn indicator_version(&self, value: &str) -> Result<Option<u64>, StoreError>;
}
