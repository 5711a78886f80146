//! The audit log, whose newest id is the policy version; see [`super::begin_audited`] for why
//! that id is commit-ordered.

#![allow(
    unused_variables,
    unused_imports,
    clippy::todo,
    reason = "a stub until its helper fills it in"
)]

use super::PgStore;
use crate::store::{AuditQuery, AuditRecord, AuditStore, StoreError};

/// The audit log's part of schema version 1.
pub(super) const SCHEMA: &str = "
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at bigint NOT NULL,
    actor text NOT NULL,
    actor_kind text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    detail text NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target);
";

impl AuditStore for PgStore {
    fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        todo!("postgres")
    }

    fn policy_version(&self) -> Result<u64, StoreError> {
        todo!("postgres")
    }

    fn indicator_version(&self, value: &str) -> Result<Option<u64>, StoreError> {
        todo!("postgres")
    }
}
