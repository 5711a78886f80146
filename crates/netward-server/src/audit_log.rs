//! Reading the audit log. Entries are written by the store, in the transaction of the change
//! they record.

use crate::control::{ControlError, ControlPlane};
use crate::store::overview::AuditFilter;
use crate::store::{AuditQuery, AuditRecord};

impl ControlPlane {
    /// A page of the audit log, newest first.
    pub async fn audit_log(&self, query: AuditQuery) -> Result<Vec<AuditRecord>, ControlError> {
        self.blocking(move |cp| Ok(cp.store.audit_log(&query)?))
            .await
    }

    /// A page of the audit log entries by one actor and of one action (each when given),
    /// newest first, with how many match in all; and every action with its count, for the
    /// filter's choices.
    pub async fn audit_search(
        &self,
        filter: AuditFilter,
    ) -> Result<(Vec<AuditRecord>, u64, Vec<(String, u64)>), ControlError> {
        self.blocking(move |cp| {
            let (entries, total) = cp.store.audit_entries(&filter)?;
            Ok((entries, total, cp.store.audit_actions()?))
        })
        .await
    }
}
