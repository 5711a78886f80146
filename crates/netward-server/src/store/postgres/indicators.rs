//! The PostgreSQL side of [`IndicatorStore`](crate::store::IndicatorStore).

#![allow(
    unused_variables,
    unused_imports,
    clippy::todo,
    reason = "a stub until its helper fills it in"
)]

use super::PgStore;
use crate::store::indicators::*;
use crate::store::{Change, StoreError};
use netward_model::odata::{Filter, OrderBy};
use netward_model::{Action, Indicator, IndicatorDraft, IndicatorValue};

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "";

impl IndicatorStore for PgStore {
    fn upsert_indicators(
        &self,
        drafts: &[IndicatorDraft],
        change: &Change<'_>,
    ) -> Result<Vec<i64>, StoreError> {
        todo!("postgres")
    }

    fn import_indicators(
        &self,
        source: &mut dyn ImportSource,
        change: &Change<'_>,
    ) -> Result<StoredImport, StoreError> {
        todo!("postgres")
    }

    fn indicator(&self, id: i64) -> Result<Option<Indicator>, StoreError> {
        todo!("postgres")
    }

    fn list_indicators(
        &self,
        query: &IndicatorQuery,
        now: i64,
    ) -> Result<Vec<Indicator>, StoreError> {
        todo!("postgres")
    }

    fn count_indicators(&self, query: &IndicatorQuery, now: i64) -> Result<u64, StoreError> {
        todo!("postgres")
    }

    fn delete_indicator(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<Indicator>, StoreError> {
        todo!("postgres")
    }

    fn delete_indicators(
        &self,
        ids: &[i64],
        change: &Change<'_>,
    ) -> Result<BatchDeletion, StoreError> {
        todo!("postgres")
    }

    fn delete_matching(
        &self,
        filter: &DeleteFilter,
        dry_run: bool,
        change: &Change<'_>,
    ) -> Result<BulkDeletion, StoreError> {
        todo!("postgres")
    }

    fn active_indicators(&self, now: i64) -> Result<Vec<Indicator>, StoreError> {
        todo!("postgres")
    }
}
