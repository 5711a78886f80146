//! Feeds: their subscriptions, their state between refreshes (HTTP validators, cursor), the
//! record of their runs, and a run's changes to their indicators.
//!
//! A feed's indicators are the indicators it created: their creator is the feed (actor kind
//! `Feed`, name = the feed's name), which is also what the API shows as their `source`. Items
//! held back until their `valid_from` are kept beside the feed.

use netward_model::IndicatorDraft;

use super::{Change, FeedColumn, ListPage, StoreError};
use crate::feeds::config::FeedConfig;
use crate::feeds::delta::FeedContent;
use crate::feeds::{FeedItem, Refusal, Validators};

/// Runs kept per feed; older ones are dropped.
pub const RUNS_KEPT: usize = 50;
/// Refusals a run's record keeps.
pub const REFUSALS_KEPT: usize = 20;

/// A stored feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedRecord {
    pub id: i64,
    pub config: FeedConfig,
    pub state: FeedState,
    pub created_at: i64,
    pub created_by: String,
    /// Indicators it holds now, expired ones included.
    pub indicators: u64,
}

/// What a feed keeps between refreshes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedState {
    /// From the last good answer, for the next conditional GET.
    pub validators: Validators,
    /// Where an incremental feed resumes.
    pub cursor: Option<String>,
    /// When the last run started (Unix seconds).
    pub last_run_at: Option<i64>,
    /// No refresh before this (the server's `Retry-After`).
    pub retry_at: Option<i64>,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Its changes were applied.
    Applied,
    /// Nothing changed.
    Unchanged,
    /// The pull failed; the feed kept its content.
    Failed,
    /// The shrink guard or the size cap refused it; the feed kept its content.
    Refused,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Applied => "applied",
            RunStatus::Unchanged => "unchanged",
            RunStatus::Failed => "failed",
            RunStatus::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Applied, Self::Unchanged, Self::Failed, Self::Refused]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The record of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedRun {
    pub started_at: i64,
    pub finished_at: i64,
    pub http_status: Option<u16>,
    pub status: RunStatus,
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    pub unchanged: u64,
    /// Entries refused in all.
    pub refused: u64,
    /// The first refusals.
    pub refusals: Vec<Refusal>,
    /// Why a failed or refused run was.
    pub error: Option<String>,
}

/// A run's changes to a feed's indicators, decided by `feeds::delta::plan`.
#[derive(Debug)]
pub struct FeedChanges<'a> {
    pub creates: &'a [IndicatorDraft],
    pub updates: &'a [(i64, IndicatorDraft)],
    pub deletes: &'a [i64],
    /// The held-back items after the run.
    pub pending: &'a [FeedItem],
}

/// What [`FeedStore::apply_feed_run`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AppliedRun {
    /// The id of each created draft, in order; 0 where the value was already another's.
    pub created: Vec<i64>,
    /// Values not created because another indicator has them: the value and its creator.
    pub taken: Vec<(String, String)>,
}

/// Feeds.
pub trait FeedStore: Send + Sync {
    /// Creates a feed (audited, without its secrets); `None` when the name is taken.
    fn create_feed(
        &self,
        config: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError>;
    /// Every feed, by name.
    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError>;
    /// One page of the feeds in its order (by name without one), and how many there are.
    fn feeds_page(&self, page: &ListPage<FeedColumn>)
    -> Result<(Vec<FeedRecord>, u64), StoreError>;
    /// One feed.
    fn feed(&self, name: &str) -> Result<Option<FeedRecord>, StoreError>;
    /// Replaces a feed's subscription (audited); `None` when there is no such feed.
    fn update_feed(
        &self,
        config: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError>;
    /// Deletes a feed, its runs and its indicators in one transaction (audited); the ids of
    /// the indicators deleted, or `None` when there is no such feed.
    fn delete_feed(&self, name: &str, change: &Change<'_>) -> Result<Option<Vec<i64>>, StoreError>;
    /// What a feed holds: its indicators and its held-back items.
    fn feed_content(&self, feed: &FeedRecord) -> Result<FeedContent, StoreError>;
    /// Applies a run in one transaction: the indicator changes (created by the feed, marked
    /// with the id of one summary audit entry `feed.sync`, which is the new policy version),
    /// the held-back items, the feed's new state and the run's record. With no indicator
    /// change, writes no audit entry.
    fn apply_feed_run(
        &self,
        feed: &FeedRecord,
        changes: &FeedChanges<'_>,
        state: &FeedState,
        run: &FeedRun,
        change: &Change<'_>,
    ) -> Result<AppliedRun, StoreError>;
    /// Records a run that changed no indicator, and the feed's new state.
    fn record_feed_run(
        &self,
        feed_id: i64,
        state: &FeedState,
        run: &FeedRun,
    ) -> Result<(), StoreError>;
    /// A feed's newest runs, newest first.
    fn feed_runs(&self, feed_id: i64, limit: usize) -> Result<Vec<FeedRun>, StoreError>;
    /// Raises the alert of a refused run: an alert on no device and no indicator, whose
    /// indicator value names the feed (`feed <name>`), in an incident of its own. While that
    /// alert is open, another refused run counts as one more hit on it. The alert's id.
    fn raise_feed_alert(
        &self,
        feed: &str,
        title: &str,
        severity: netward_model::Severity,
        at_ms: i64,
    ) -> Result<i64, StoreError>;
}
