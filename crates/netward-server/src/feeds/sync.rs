//! One refresh of one feed: fetch (conditionally), read, plan the delta against what the feed
//! holds, and apply it in one transaction and one policy version. A failed pull, or a run the
//! shrink guard or the size cap refuses, changes nothing but the run's record: the feed keeps
//! its last good content.

use netward_model::{Actor, ActorKind};

use super::delta::{self, Plan};
use super::intel::{self, PullState};
use super::{Content, Pull, PullError, Source, formats};
use crate::control::{ControlError, ControlPlane};
use crate::indicators::logged;
use crate::policy_log::{self, History, LogEntry};
use crate::store::Change;
use crate::store::feeds::{FeedChanges, FeedRecord, FeedRun, FeedState, RunStatus};

impl ControlPlane {
    /// Refreshes feed `name` now and returns the run's record. Waits for a refresh of the same
    /// feed already running.
    pub async fn sync_feed(&self, name: String, actor: Actor) -> Result<FeedRun, ControlError> {
        let lock = self.feeds.lock(&name);
        let _running = lock.lock().await;
        self.run_sync(name, actor).await
    }

    /// [`Self::sync_feed`] for a caller that holds the feed's lock.
    pub(crate) async fn run_sync(
        &self,
        name: String,
        actor: Actor,
    ) -> Result<FeedRun, ControlError> {
        let lookup = name.clone();
        let feed = self.blocking(move |cp| cp.feed_named(&lookup)).await?;
        let started = self.now();
        let pulled = self.pull(&feed).await;
        self.blocking(move |cp| cp.finish_run(feed, pulled, started, &actor))
            .await
    }

    /// Fetches and reads a feed.
    async fn pull(&self, feed: &FeedRecord) -> Result<Pull, PullError> {
        let config = &feed.config;
        let client = self.feeds.client(config).map_err(|e| PullError::Http {
            url: config.url.clone(),
            reason: e.to_string(),
        })?;
        let source = Source {
            url: config.url.clone(),
            collection: config.collection.clone(),
            username: config.secrets.username.clone(),
            password: config.secrets.password.clone(),
            api_key: config.secrets.api_key.clone(),
            api_key_header: config.secrets.api_key_header.clone(),
            max_bytes: config.settings.max_bytes,
        };
        if config.kind.is_intel() {
            let state = PullState {
                validators: feed.state.validators.clone(),
                cursor: feed.state.cursor.clone(),
            };
            intel::pull(config.kind, &client, &source, &state).await
        } else {
            formats::pull(
                config.kind,
                &client,
                &source,
                &feed.state.validators,
                config.settings.csv.as_ref(),
            )
            .await
        }
    }

    /// Records a run and, for a good pull, applies it. Call from a blocking task.
    fn finish_run(
        &self,
        feed: FeedRecord,
        pulled: Result<Pull, PullError>,
        started: i64,
        actor: &Actor,
    ) -> Result<FeedRun, ControlError> {
        let mut state = FeedState {
            last_run_at: Some(started),
            retry_at: None,
            ..feed.state.clone()
        };
        let pull = match pulled {
            Ok(pull) => pull,
            Err(e) => {
                let (http_status, retry_after) = match &e {
                    PullError::Status {
                        status,
                        retry_after,
                        ..
                    } => (Some(*status), *retry_after),
                    _ => (None, None),
                };
                state.retry_at =
                    retry_after.map(|s| started + i64::try_from(s).unwrap_or(i64::MAX / 2));
                tracing::warn!(feed = %feed.config.name, error = %e, "Feed refresh failed; it keeps its last good content.");
                let run =
                    self.bare_run(started, http_status, RunStatus::Failed, Some(e.to_string()));
                self.store.record_feed_run(feed.id, &state, &run)?;
                return Ok(run);
            }
        };
        let http_status = Some(if matches!(pull.content, Content::NotModified) {
            304
        } else {
            200
        });
        let change = Change {
            actor,
            at: self.now(),
        };
        self.policy_change_with(|| {
            let content = self.store.feed_content(&feed)?;
            let plan = delta::plan(
                &feed.config,
                &self.rails,
                content,
                pull.content,
                pull.refusals,
                self.now(),
            );
            if let Some(why) = &plan.refused_run {
                // The validators and the cursor stay as they were: the next refresh fetches
                // the whole again.
                tracing::warn!(feed = %feed.config.name, reason = %why, "Feed run refused.");
                let mut run =
                    self.bare_run(started, http_status, RunStatus::Refused, Some(why.clone()));
                run.refused = plan.refusals.len() as u64;
                run.refusals = plan.refusals.iter().take(REFUSALS_SHOWN).cloned().collect();
                self.store.record_feed_run(feed.id, &state, &run)?;
                self.feed_refused_alert(&feed, why);
                return Ok((run, History::Entries(Vec::new())));
            }
            if !matches!(
                pull.validators,
                super::Validators {
                    etag: None,
                    last_modified: None
                }
            ) {
                state.validators = pull.validators;
            }
            state.cursor = pull.cursor.or(state.cursor.take());
            let status = if plan.changes_indicators() {
                RunStatus::Applied
            } else {
                RunStatus::Unchanged
            };
            let mut run = self.bare_run(started, http_status, status, None);
            run.added = plan.creates.len() as u64;
            run.updated = plan.updates.len() as u64;
            run.removed = plan.removed;
            run.unchanged = plan.unchanged;
            run.refused = plan.refusals.len() as u64;
            run.refusals = plan.refusals.iter().take(REFUSALS_SHOWN).cloned().collect();
            let changes = FeedChanges {
                creates: &plan.creates,
                updates: &plan.updates,
                deletes: &plan.deletes,
                pending: &plan.pending,
            };
            let applied = self
                .store
                .apply_feed_run(&feed, &changes, &state, &run, &change)?;
            let recorded = self
                .store
                .feed_runs(feed.id, 1)?
                .into_iter()
                .next()
                .unwrap_or(run);
            tracing::info!(
                feed = %feed.config.name,
                added = recorded.added,
                updated = recorded.updated,
                removed = recorded.removed,
                unchanged = recorded.unchanged,
                refused = recorded.refused,
                "Feed refreshed."
            );
            Ok((recorded, history(&plan, &applied.created)))
        })
    }

    fn bare_run(
        &self,
        started: i64,
        http_status: Option<u16>,
        status: RunStatus,
        error: Option<String>,
    ) -> FeedRun {
        FeedRun {
            started_at: started,
            finished_at: self.now(),
            http_status,
            status,
            added: 0,
            updated: 0,
            removed: 0,
            unchanged: 0,
            refused: 0,
            refusals: Vec::new(),
            error,
        }
    }
}

/// Refusals a run's record keeps.
const REFUSALS_SHOWN: usize = crate::store::feeds::REFUSALS_KEPT;

/// The policy log's entries for an applied plan (`created`: the ids of its creates, 0 where
/// the value was another's).
fn history(plan: &Plan, created: &[i64]) -> History {
    let total = plan.creates.len() + plan.updates.len() + plan.deletes.len();
    if total > policy_log::CAPACITY {
        return History::TooLarge;
    }
    let mut entries = Vec::with_capacity(total);
    entries.extend(plan.deletes.iter().map(|id| LogEntry::Delete(*id)));
    entries.extend(
        plan.updates
            .iter()
            .map(|(id, d)| LogEntry::Upsert(logged(*id, d))),
    );
    entries.extend(
        created
            .iter()
            .zip(&plan.creates)
            .filter(|(id, _)| **id != 0)
            .map(|(id, d)| LogEntry::Upsert(logged(*id, d))),
    );
    History::Entries(entries)
}

/// The principal of the refresh loop's runs.
pub fn refresh_actor() -> Actor {
    Actor {
        name: "feed refresh".into(),
        kind: ActorKind::System,
    }
}
