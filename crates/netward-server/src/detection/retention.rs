//! Retention: events older than the configured number of days are deleted, at start and
//! then hourly.

use crate::control::{ControlError, ControlPlane};

impl ControlPlane {
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
            if !self.leads(crate::store::Job::Retention).await {
                // Another replica runs it; look again in an hour, or when this one stops.
            } else {
                match self.apply_retention().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        deleted = n,
                        days = self.retention_days,
                        "Old events deleted."
                    ),
                    Err(error) => tracing::error!(%error, "Cannot apply event retention."),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                _ = closing.wait_for(|c| *c) => return,
            }
        }
    }
}
