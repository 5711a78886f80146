//! Feed commands: create, list, show, change and delete subscriptions (admins, audited). A
//! feed's groups must exist; deleting a feed deletes its indicators in one policy version.

use netward_model::wire::FeedBody;
use netward_model::{Actor, FieldError};

use super::config::FeedConfig;
use crate::control::{ControlError, ControlPlane};
use crate::policy_log::{self, History, LogEntry};
use crate::store::feeds::{FeedRecord, FeedRun};
use crate::store::{Change, FeedColumn, ListPage};

/// Runs shown for one feed.
pub const RUNS_SHOWN: usize = 20;

impl ControlPlane {
    /// Creates a feed; its first refresh follows at once, in the refresh loop.
    pub async fn create_feed(
        &self,
        body: FeedBody,
        actor: Actor,
    ) -> Result<FeedRecord, ControlError> {
        let config = FeedConfig::create(body)?;
        let made = self
            .blocking(move |cp| {
                cp.check_feed_groups(&config)?;
                let change = Change {
                    actor: &actor,
                    at: cp.now(),
                };
                cp.store.create_feed(&config, &change)?.ok_or_else(|| {
                    ControlError::Conflict(format!("feed `{}` already exists", config.name))
                })
            })
            .await?;
        self.feeds.wake();
        self.announce(&crate::store::Notice::Feeds);
        Ok(made)
    }

    /// Every feed with its newest run.
    pub async fn feeds(&self) -> Result<Vec<(FeedRecord, Vec<FeedRun>)>, ControlError> {
        self.blocking(|cp| {
            let mut out = Vec::new();
            for feed in cp.store.feeds()? {
                let runs = cp.store.feed_runs(feed.id, 1)?;
                out.push((feed, runs));
            }
            Ok(out)
        })
        .await
    }

    /// One page of the feeds, sorted in the store, each with its newest run, and how many
    /// feeds there are.
    pub async fn feeds_page(
        &self,
        page: ListPage<FeedColumn>,
    ) -> Result<(Vec<(FeedRecord, Vec<FeedRun>)>, u64), ControlError> {
        self.blocking(move |cp| {
            let (feeds, total) = cp.store.feeds_page(&page)?;
            let mut out = Vec::new();
            for feed in feeds {
                let runs = cp.store.feed_runs(feed.id, 1)?;
                out.push((feed, runs));
            }
            Ok((out, total))
        })
        .await
    }

    /// One feed with its newest runs.
    pub async fn feed(&self, name: String) -> Result<(FeedRecord, Vec<FeedRun>), ControlError> {
        self.blocking(move |cp| {
            let feed = cp.feed_named(&name)?;
            let runs = cp.store.feed_runs(feed.id, RUNS_SHOWN)?;
            Ok((feed, runs))
        })
        .await
    }

    /// Changes a feed. What it produces follows at its next refresh.
    pub async fn update_feed(
        &self,
        name: String,
        body: FeedBody,
        actor: Actor,
    ) -> Result<FeedRecord, ControlError> {
        let made = self
            .blocking(move |cp| {
                let feed = cp.feed_named(&name)?;
                let config = feed.config.patched(body)?;
                cp.check_feed_groups(&config)?;
                let change = Change {
                    actor: &actor,
                    at: cp.now(),
                };
                cp.store
                    .update_feed(&config, &change)?
                    .ok_or_else(|| ControlError::NotFound(format!("feed `{name}`")))
            })
            .await?;
        self.feeds.forget_client(&made.config.name);
        self.feeds.wake();
        self.announce(&crate::store::Notice::Feeds);
        Ok(made)
    }

    /// Deletes a feed and its indicators, in one policy version.
    pub async fn delete_feed(&self, name: String, actor: Actor) -> Result<u64, ControlError> {
        let forget = name.clone();
        let deleted = self
            .blocking(move |cp| {
                let change = Change {
                    actor: &actor,
                    at: cp.now(),
                };
                cp.policy_change_with(|| {
                    let ids = cp
                        .store
                        .delete_feed(&name, &change)?
                        .ok_or_else(|| ControlError::NotFound(format!("feed `{name}`")))?;
                    let history = if ids.len() > policy_log::CAPACITY {
                        History::TooLarge
                    } else {
                        History::Entries(ids.iter().map(|id| LogEntry::Delete(*id)).collect())
                    };
                    Ok((ids.len() as u64, history))
                })
            })
            .await?;
        self.feeds.forget_client(&forget);
        Ok(deleted)
    }

    pub(crate) fn feed_named(&self, name: &str) -> Result<FeedRecord, ControlError> {
        self.store
            .feed(name)?
            .ok_or_else(|| ControlError::NotFound(format!("feed `{name}`")))
    }

    fn check_feed_groups(&self, config: &FeedConfig) -> Result<(), ControlError> {
        let groups = self.group_names()?;
        if let Some(unknown) = config.settings.groups.iter().find(|g| !groups.contains(*g)) {
            return Err(
                FieldError::new("groups", format!("there is no device group `{unknown}`")).into(),
            );
        }
        Ok(())
    }
}
