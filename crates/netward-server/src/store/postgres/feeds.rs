//! The PostgreSQL side of [`FeedStore`](crate::store::FeedStore).

#![allow(
    unused_variables,
    unused_imports,
    clippy::todo,
    reason = "a stub until its helper fills it in"
)]

use super::PgStore;
use crate::feeds::config::FeedConfig;
use crate::feeds::delta::FeedContent;
use crate::feeds::{FeedItem, Refusal, Validators};
use crate::store::feeds::*;
use crate::store::{Change, StoreError};
use netward_model::IndicatorDraft;

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "";

impl FeedStore for PgStore {
    fn create_feed(
        &self,
        config: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError> {
        todo!("postgres")
    }

    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError> {
        todo!("postgres")
    }

    fn feed(&self, name: &str) -> Result<Option<FeedRecord>, StoreError> {
        todo!("postgres")
    }

    fn update_feed(
        &self,
        config: &FeedConfig,
        change: &Change<'_>,
    ) -> Result<Option<FeedRecord>, StoreError> {
        todo!("postgres")
    }

    fn delete_feed(&self, name: &str, change: &Change<'_>) -> Result<Option<Vec<i64>>, StoreError> {
        todo!("postgres")
    }

    fn feed_content(&self, feed: &FeedRecord) -> Result<FeedContent, StoreError> {
        todo!("postgres")
    }

    fn apply_feed_run(
        &self,
        feed: &FeedRecord,
        changes: &FeedChanges<'_>,
        state: &FeedState,
        run: &FeedRun,
        change: &Change<'_>,
    ) -> Result<AppliedRun, StoreError> {
        todo!("postgres")
    }

    fn record_feed_run(
        &self,
        feed_id: i64,
        state: &FeedState,
        run: &FeedRun,
    ) -> Result<(), StoreError> {
        todo!("postgres")
    }

    fn feed_runs(&self, feed_id: i64, limit: usize) -> Result<Vec<FeedRun>, StoreError> {
        todo!("postgres")
    }

    fn raise_feed_alert(
        &self,
        feed: &str,
        title: &str,
        severity: netward_model::Severity,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        todo!("postgres")
    }
}
