//! Indicator commands: submit (create or update by value), list, show, delete one or many,
//! and a group's effective policy. Bulk import lives in `import.rs`.

use std::collections::HashSet;

use netward_model::wire::PolicyEntity;
use netward_model::{
    Actor, ActorKind, CompiledPolicy, FieldError, Indicator, IndicatorDraft, IndicatorSubmission,
};

use crate::control::{ControlError, ControlPlane};
use crate::policy_log::{LogEntry, LoggedIndicator};
use crate::store::{BatchDeletion, Change, IndicatorQuery};

/// Unknown ids named in a refused batch delete, at most.
const UNKNOWN_IDS_SHOWN: usize = 20;

impl ControlPlane {
    /// Creates or updates the indicator for the submission's value.
    pub async fn submit_indicator(
        &self,
        submission: IndicatorSubmission,
        force: bool,
        actor: Actor,
    ) -> Result<Indicator, ControlError> {
        self.blocking(move |cp| {
            let now = cp.now();
            let draft = submission.validate(now)?;
            let claimed = submission.claimed_id()?;
            cp.check_draft(&draft, force, &cp.group_names()?)
                .map_err(|e| match e {
                    DraftRefusal::Field(f) => ControlError::Invalid(f),
                    DraftRefusal::Guard(g) => ControlError::Guarded(g),
                })?;
            let change = Change {
                actor: &actor,
                at: now,
            };
            cp.policy_change(|| {
                // Under the policy log's lock no other change runs, so the id checked here
                // is still the one the upsert below touches.
                if let Some(id) = claimed
                    && let Err(refused) = cp.check_claimed_id(id, &draft)
                {
                    return Ok((Err(refused), Vec::new()));
                }
                if let Err(refused) = cp.check_not_feed_value(&draft) {
                    return Ok((Err(refused), Vec::new()));
                }
                let ids = cp
                    .store
                    .upsert_indicators(std::slice::from_ref(&draft), &change)?;
                let id = ids
                    .first()
                    .copied()
                    .ok_or_else(|| ControlError::Task("no id".into()))?;
                let entry = LogEntry::Upsert(logged(id, &draft));
                let stored = cp
                    .store
                    .indicator(id)?
                    .ok_or_else(|| ControlError::NotFound(format!("indicator {id}")))?;
                Ok((Ok(stored), vec![entry]))
            })?
        })
        .await
    }

    /// A filtered page of indicators.
    pub async fn list_indicators(
        &self,
        query: IndicatorQuery,
    ) -> Result<Vec<Indicator>, ControlError> {
        self.blocking(move |cp| Ok(cp.store.list_indicators(&query, cp.now())?))
            .await
    }

    /// A filtered page of indicators and, when `counted`, how many match in all (both read
    /// in one blocking task, so that they agree unless a change lands between the two reads).
    pub async fn list_indicators_counted(
        &self,
        query: IndicatorQuery,
        counted: bool,
    ) -> Result<(Vec<Indicator>, Option<u64>), ControlError> {
        self.blocking(move |cp| {
            let now = cp.now();
            let page = cp.store.list_indicators(&query, now)?;
            let total = if counted {
                Some(cp.store.count_indicators(&query, now)?)
            } else {
                None
            };
            Ok((page, total))
        })
        .await
    }

    /// One indicator.
    pub async fn indicator(&self, id: i64) -> Result<Indicator, ControlError> {
        self.blocking(move |cp| {
            cp.store
                .indicator(id)?
                .ok_or_else(|| ControlError::NotFound(format!("indicator {id}")))
        })
        .await
    }

    /// Deletes an indicator.
    pub async fn delete_indicator(&self, id: i64, actor: Actor) -> Result<Indicator, ControlError> {
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            cp.policy_change(|| {
                if let Some(found) = cp.store.indicator(id)?
                    && let Some(refused) = feed_made(&found)
                {
                    // Nothing was written: a refusal, not a failed change.
                    return Ok((Err(refused), Vec::new()));
                }
                let gone = cp
                    .store
                    .delete_indicator(id, &change)?
                    .ok_or_else(|| ControlError::NotFound(format!("indicator {id}")))?;
                Ok((Ok(gone), vec![LogEntry::Delete(id)]))
            })?
        })
        .await
    }

    /// Deletes every indicator in `ids` in one transaction, with one audit row each and one
    /// policy change; when any id is unknown, deletes none and names the unknown ones (MDE
    /// answers 404 when any id is not found).
    pub async fn delete_indicators(
        &self,
        ids: Vec<i64>,
        actor: Actor,
    ) -> Result<Vec<Indicator>, ControlError> {
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            cp.policy_change(|| {
                for id in &ids {
                    if let Some(found) = cp.store.indicator(*id)?
                        && let Some(refused) = feed_made(&found)
                    {
                        return Ok((Err(refused), Vec::new()));
                    }
                }
                cp.batch_delete(&ids, &change)
            })?
        })
        .await
    }

    /// Deletes a batch by id; a refusal when an id is unknown. Call inside a policy change.
    fn batch_delete(
        &self,
        ids: &[i64],
        change: &Change<'_>,
    ) -> Result<(Refusable<Vec<Indicator>>, Vec<LogEntry>), ControlError> {
        match self.store.delete_indicators(ids, change)? {
            BatchDeletion::Deleted(gone) => {
                let entries = gone.iter().map(|i| LogEntry::Delete(i.id)).collect();
                Ok((Ok(gone), entries))
            }
            // Nothing was written: a refusal, not a failed change.
            BatchDeletion::Unknown(unknown) => Ok((
                Err(ControlError::NothingDeleted(unknown_ids(&unknown))),
                Vec::new(),
            )),
        }
    }

    /// A submission may not change an indicator a feed made: the feed would undo it.
    fn check_not_feed_value(&self, draft: &IndicatorDraft) -> Result<(), ControlError> {
        let found = self.store.list_indicators(
            &IndicatorQuery {
                value: Some(draft.value.to_string()),
                include_expired: true,
                top: 1,
                ..IndicatorQuery::default()
            },
            self.now(),
        )?;
        match found.first().and_then(feed_made) {
            Some(refused) => Err(refused),
            None => Ok(()),
        }
    }

    /// An `id` sent with a submission must be the id of the indicator with that value, when
    /// one exists, and must not name an indicator with another value: netward keys
    /// indicators by value and cannot move one to a new value.
    fn check_claimed_id(&self, claimed: i64, draft: &IndicatorDraft) -> Result<(), ControlError> {
        let value = draft.value.to_string();
        let by_value = self.store.list_indicators(
            &IndicatorQuery {
                value: Some(value.clone()),
                include_expired: true,
                top: 1,
                ..IndicatorQuery::default()
            },
            self.now(),
        )?;
        let message = match by_value.first() {
            Some(found) if found.id == claimed => return Ok(()),
            Some(found) => format!(
                "indicator {claimed} is not the indicator of {value} (that is indicator {}); send its id, or no id",
                found.id
            ),
            None => match self.store.indicator(claimed)? {
                None => return Ok(()),
                Some(other) => format!(
                    "indicator {claimed} has the value {}; netward keys indicators by value and cannot change one's value: delete it and submit {value} without an id",
                    other.draft.value
                ),
            },
        };
        Err(FieldError::new("id", message).into())
    }

    /// The effective policy a device of `group` enforces now.
    pub async fn group_policy(&self, group: String) -> Result<PolicyEntity, ControlError> {
        self.blocking(move |cp| {
            let g = cp
                .store
                .group(&group)?
                .ok_or_else(|| ControlError::NotFound(format!("group `{group}`")))?;
            let settings = cp.store.settings()?;
            let now = cp.now();
            let policy = if settings.custom_network_indicators {
                CompiledPolicy::compile(&cp.store.active_indicators(now)?, &g.name, now)
            } else {
                CompiledPolicy::default()
            };
            Ok(PolicyEntity::new(&g, settings, &policy))
        })
        .await
    }

    pub(crate) fn group_names(&self) -> Result<HashSet<String>, ControlError> {
        Ok(self.store.groups()?.into_iter().map(|g| g.name).collect())
    }

    pub(crate) fn check_draft(
        &self,
        draft: &IndicatorDraft,
        force: bool,
        groups: &HashSet<String>,
    ) -> Result<(), DraftRefusal> {
        if let Some(unknown) = draft.groups.iter().find(|g| !groups.contains(*g)) {
            return Err(DraftRefusal::Field(FieldError::new(
                "rbacGroupNames",
                format!("there is no device group `{unknown}`"),
            )));
        }
        if !force {
            self.rails
                .check(&draft.value, draft.action)
                .map_err(DraftRefusal::Guard)?;
        }
        Ok(())
    }
}

/// A command's outcome inside a policy change: a refusal decided before anything was written
/// is the inner error.
type Refusable<T> = Result<T, ControlError>;

/// The refusal of a manual change to an indicator a feed made.
pub(crate) fn feed_made(indicator: &Indicator) -> Option<ControlError> {
    (indicator.created_by.kind == ActorKind::Feed).then(|| {
        ControlError::Conflict(format!(
            "indicator {} ({}) comes from feed `{}`: change or remove it through the feed (netward feed update / rm), or add an allow indicator for a narrower range",
            indicator.id, indicator.draft.value, indicator.created_by.name
        ))
    })
}

/// "indicators 3, 9 and 2 more do not exist; …", for a refused batch delete.
fn unknown_ids(unknown: &[i64]) -> String {
    let shown: Vec<String> = unknown
        .iter()
        .take(UNKNOWN_IDS_SHOWN)
        .map(i64::to_string)
        .collect();
    let more = unknown.len().saturating_sub(UNKNOWN_IDS_SHOWN);
    let noun = if unknown.len() == 1 {
        "indicator"
    } else {
        "indicators"
    };
    let verb = if unknown.len() == 1 { "does" } else { "do" };
    let more = if more == 0 {
        String::new()
    } else {
        format!(" and {more} more")
    };
    format!(
        "{noun} {}{more} {verb} not exist; nothing was deleted",
        shown.join(", ")
    )
}

/// The policy log's copy of a stored draft.
pub(crate) fn logged(id: i64, d: &IndicatorDraft) -> LoggedIndicator {
    LoggedIndicator {
        indicator: netward_model::agent_wire::AgentIndicator {
            id,
            value: d.value,
            action: d.action,
            expires_at: d.expires_at,
            title: d.title.clone(),
        },
        groups: d.groups.clone(),
    }
}

/// Why a valid draft is still refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DraftRefusal {
    #[error(transparent)]
    Field(FieldError),
    #[error(transparent)]
    Guard(netward_model::GuardViolation),
}
