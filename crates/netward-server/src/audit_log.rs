//! Reading the audit log. Entries are written by the store, in the transaction of the change
//! they record.

use crate::control::{ControlError, ControlPlane};
use crate::store::{AuditQuery, AuditRecord};

impl ControlPlane {
    /// A page of the audit log, newest first.
    pub async fn audit_log(&self, query: AuditQuery) -> Result<Vec<AuditRecord>, ControlError> {
        self.blocking(move |cp| Ok(cp.store.audit_log(&query)?))
            .await
    }
}
