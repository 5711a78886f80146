//! Indicators: what the store keeps of them and how they are queried.

use netward_model::odata::{Filter, OrderBy};
use netward_model::{Action, Indicator, IndicatorDraft};

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
}

/// What [`IndicatorStore::delete_indicators`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchDeletion {
    /// Every indicator asked for, deleted, by id.
    Deleted(Vec<Indicator>),
    /// Nothing was deleted: these ids, in increasing order, do not exist.
    Unknown(Vec<i64>),
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
    /// One indicator by id, expired or not.
    fn indicator(&self, id: i64) -> Result<Option<Indicator>, StoreError>;
    /// A filtered page of indicators, in the query's order (by id by default), as of `now`.
    fn list_indicators(
        &self,
        query: &IndicatorQuery,
        now: i64,
    ) -> Result<Vec<Indicator>, StoreError>;
    /// Deletes an indicator; `None` if the id is unknown.
    fn delete_indicator(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<Indicator>, StoreError>;
    /// Deletes the indicators with these ids (a repeated id counts once) in one transaction,
    /// with one audit row each, or, when any id is unknown, deletes nothing and names the
    /// unknown ones.
    fn delete_indicators(
        &self,
        ids: &[i64],
        change: &Change<'_>,
    ) -> Result<BatchDeletion, StoreError>;
    /// Every indicator that is unexpired at `now`.
    fn active_indicators(&self, now: i64) -> Result<Vec<Indicator>, StoreError>;
}
