//! The PostgreSQL side of [`EnrollmentStore`](crate::store::EnrollmentStore).

#![allow(
    unused_variables,
    unused_imports,
    clippy::todo,
    reason = "a stub until its helper fills it in"
)]

use super::PgStore;
use crate::store::enrollment::*;
use crate::store::{Change, DeviceRecord, StoreError};
use netward_model::agent_wire::DeviceFacts;

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "";

impl EnrollmentStore for PgStore {
    fn create_enroll_token(
        &self,
        secret_hash: &str,
        group: &str,
        expires_at: i64,
        max_uses: u32,
        change: &Change<'_>,
    ) -> Result<EnrollTokenRecord, StoreError> {
        todo!("postgres")
    }

    fn enroll_tokens(&self) -> Result<Vec<EnrollTokenRecord>, StoreError> {
        todo!("postgres")
    }

    fn revoke_enroll_token(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<EnrollTokenRecord>, StoreError> {
        todo!("postgres")
    }

    fn enroll_device(
        &self,
        token_hash: &str,
        facts: &DeviceFacts,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<Result<DeviceRecord, EnrollRefusal>, StoreError> {
        todo!("postgres")
    }
}
