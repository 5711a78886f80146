//! Deleting indicators by filter (source, group, action, title, a list of values): one
//! transaction, one policy version and one summary audit entry per call, or a dry run that
//! only counts. Deleting by id (MDE's BatchDelete) is `ControlPlane::delete_indicators` in
//! `indicators.rs`.

use netward_model::Actor;

use crate::control::{ControlError, ControlPlane};
use crate::policy_log::{self, History, LogEntry};
use crate::store::{BulkDeletion, Change, DeleteFilter};

impl ControlPlane {
    /// Deletes every indicator that matches `filter` (or, with `dry_run`, counts them). An
    /// empty filter is refused: it would delete every indicator.
    pub async fn delete_matching(
        &self,
        filter: DeleteFilter,
        dry_run: bool,
        actor: Actor,
    ) -> Result<BulkDeletion, ControlError> {
        if filter.is_empty() {
            return Err(netward_model::FieldError::new(
                "body",
                "name at least one of source, group, action, title or values: a delete by filter never deletes every indicator",
            )
            .into());
        }
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            if dry_run {
                return Ok(cp.store.delete_matching(&filter, true, &change)?);
            }
            let done = cp.policy_change_with(|| {
                let by_feeds = DeleteFilter {
                    feed_made: true,
                    ..filter.clone()
                };
                let from_feeds = cp.store.delete_matching(&by_feeds, true, &change)?.matched;
                if from_feeds > 0 {
                    // Nothing was written: a refusal, not a failed change.
                    return Ok((
                        Err(ControlError::Conflict(format!(
                            "{from_feeds} of the indicators this filter matches come from feeds; nothing was deleted: remove them through their feeds (netward feed rm), or narrow the filter"
                        ))),
                        History::Entries(Vec::new()),
                    ));
                }
                let done = cp.store.delete_matching(&filter, false, &change)?;
                let history = if done.deleted.len() > policy_log::CAPACITY {
                    History::TooLarge
                } else {
                    History::Entries(
                        done.deleted
                            .iter()
                            .map(|id| LogEntry::Delete(*id))
                            .collect(),
                    )
                };
                Ok((Ok(done), history))
            })??;
            tracing::info!(
                actor = %actor.name,
                deleted = done.deleted.len(),
                "Indicators deleted by filter."
            );
            Ok(done)
        })
        .await
    }
}
