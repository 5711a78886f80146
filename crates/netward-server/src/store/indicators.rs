//! Indicators: what the store keeps of them and how they are queried.

use netward_model::odata::{Filter, OrderBy};
use netward_model::{Action, Indicator, IndicatorDraft, IndicatorValue};

use super::{Change, StoreError};

/// Filters and paging for [`Store::list_indicators`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndicatorQuery {
    /// Exact canonical value.
    pub value: Option<String>,
    /// Action.
    pub action: Option<Action>,
    /// Indicators that name this group in their scope.
    pub group: Option<String>,
    /// Creator (token, user or feed name).
    pub source: Option<String>,
    /// Case-insensitive text that the canonical value or the title contains.
    pub text: Option<String>,
    /// Case-insensitive text that the title contains.
    pub title: Option<String>,
    /// Indicators whose whole range lies inside this address or network.
    pub within: Option<IndicatorValue>,
    /// Indicators whose range covers the whole of this address or network.
    pub containing: Option<IndicatorValue>,
    /// An OData `$filter`, evaluated by the store with the filters above.
    pub filter: Option<Filter>,
    /// An OData `$orderby`; the id orders what it leaves tied, and everything when empty.
    pub order: Vec<OrderBy>,
    /// Whether to include expired indicators.
    pub include_expired: bool,
    /// Page size.
    pub top: usize,
    /// Rows to skip.
    pub skip: usize,
    /// Indicators that this import created or changed last (the import's id).
    pub import_id: Option<i64>,
}

/// What an import gives [`IndicatorStore::import_indicators`], chunk by chunk, so that neither
/// side holds the whole import at once.
pub trait ImportSource {
    /// The next drafts to store, or `None` when there are no more.
    fn next_chunk(&mut self) -> Option<Vec<IndicatorDraft>>;
    /// The ids the store gave the last chunk's drafts, in their order.
    fn stored(&mut self, drafts: &[IndicatorDraft], ids: &[i64]);
    /// The import's own counts, for its audit entry; asked once the chunks have run out.
    fn summary(&self) -> ImportSummary;
}

/// What the summary audit entry of an import records besides the store's own counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    /// The body's format (`csv`, `json`, `list`).
    pub format: &'static str,
    /// Items read.
    pub items: u64,
    /// Items refused.
    pub failed: u64,
}

/// What [`IndicatorStore::import_indicators`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredImport {
    /// The import's id: the id of its summary audit entry, so also the policy version it made.
    pub import_id: i64,
    /// Indicators created.
    pub created: u64,
    /// Indicators that existed and were changed.
    pub updated: u64,
}

/// What [`IndicatorStore::delete_indicators`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchDeletion {
    /// Every indicator asked for, deleted, by id.
    Deleted(Vec<Indicator>),
    /// Nothing was deleted: these ids, in increasing order, do not exist.
    Unknown(Vec<i64>),
}

/// Which indicators a delete by filter removes: those that match every filter given. An
/// empty filter matches every indicator; callers refuse it before asking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteFilter {
    /// Created by this token, user or feed.
    pub source: Option<String>,
    /// Scoped to this group.
    pub group: Option<String>,
    /// With this action.
    pub action: Option<Action>,
    /// With exactly this title.
    pub title: Option<String>,
    /// With one of these canonical values.
    pub values: Option<Vec<String>>,
    /// Only indicators made by feeds (to find those a manual delete must not touch); not a
    /// filter of its own for [`Self::is_empty`].
    pub feed_made: bool,
}

impl DeleteFilter {
    /// Whether no filter is given (which would match every indicator).
    pub fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.group.is_none()
            && self.action.is_none()
            && self.title.is_none()
            && self.values.is_none()
    }
}

/// What a delete by filter did, or, for a dry run, would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkDeletion {
    /// Indicators that match the filter (expired ones included).
    pub matched: u64,
    /// The ids deleted, in increasing order; empty for a dry run.
    pub deleted: Vec<i64>,
}

/// Indicators, keyed by canonical value.
pub trait IndicatorStore: Send + Sync {
    /// Creates or updates one indicator per draft (keyed by canonical value), in one
    /// transaction, and returns their ids in order.
    fn upsert_indicators(
        &self,
        drafts: &[IndicatorDraft],
        change: &Change<'_>,
    ) -> Result<Vec<i64>, StoreError>;
    /// Stores an import in one transaction: every chunk `source` gives is upserted (keyed by
    /// canonical value, as [`Self::upsert_indicators`] does), each indicator is marked with
    /// the import's id, and one summary audit entry (`indicator.import`, target
    /// `import <id>`) takes the place of one entry per indicator. Nothing is stored when any
    /// chunk fails.
    fn import_indicators(
        &self,
        source: &mut dyn ImportSource,
        change: &Change<'_>,
    ) -> Result<StoredImport, StoreError>;
    /// One indicator by id, expired or not.
    fn indicator(&self, id: i64) -> Result<Option<Indicator>, StoreError>;
    /// A filtered page of indicators, in the query's order (by id by default), as of `now`.
    fn list_indicators(
        &self,
        query: &IndicatorQuery,
        now: i64,
    ) -> Result<Vec<Indicator>, StoreError>;
    /// How many indicators the query matches as of `now`, ignoring its page (`top`, `skip`).
    fn count_indicators(&self, query: &IndicatorQuery, now: i64) -> Result<u64, StoreError>;
    /// Deletes an indicator; `None` if the id is unknown.
    fn delete_indicator(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<Indicator>, StoreError>;
    /// Deletes the indicators with these ids (a repeated id counts once) in one transaction,
    /// with one summary audit entry (`indicator.batch-delete`), or, when any id is unknown,
    /// deletes nothing and names the unknown ones.
    fn delete_indicators(
        &self,
        ids: &[i64],
        change: &Change<'_>,
    ) -> Result<BatchDeletion, StoreError>;
    /// Deletes every indicator that matches `filter` in one transaction, with one summary
    /// audit entry (`indicator.bulk-delete`; none when nothing matched); with `dry_run`, only
    /// counts them.
    fn delete_matching(
        &self,
        filter: &DeleteFilter,
        dry_run: bool,
        change: &Change<'_>,
    ) -> Result<BulkDeletion, StoreError>;
    /// Every indicator that is unexpired at `now`.
    fn active_indicators(&self, now: i64) -> Result<Vec<Indicator>, StoreError>;
}
