//! The PostgreSQL side of [`FleetStore`](crate::store::FleetStore).

#![allow(
    unused_variables,
    unused_imports,
    clippy::todo,
    reason = "a stub until its helper fills it in"
)]

use super::PgStore;
use crate::store::fleet::*;
use crate::store::{Change, StoreError};
use netward_model::{DeviceGroup, TenantSettings};

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "";

impl FleetStore for PgStore {
    fn groups(&self) -> Result<Vec<DeviceGroup>, StoreError> {
        todo!("postgres")
    }

    fn group(&self, name: &str) -> Result<Option<DeviceGroup>, StoreError> {
        todo!("postgres")
    }

    fn create_group(&self, group: &DeviceGroup, change: &Change<'_>) -> Result<(), StoreError> {
        todo!("postgres")
    }

    fn update_group(&self, group: &DeviceGroup, change: &Change<'_>) -> Result<bool, StoreError> {
        todo!("postgres")
    }

    fn delete_group(&self, name: &str, change: &Change<'_>) -> Result<GroupDeletion, StoreError> {
        todo!("postgres")
    }

    fn settings(&self) -> Result<TenantSettings, StoreError> {
        todo!("postgres")
    }

    fn update_settings(
        &self,
        settings: &TenantSettings,
        change: &Change<'_>,
    ) -> Result<(), StoreError> {
        todo!("postgres")
    }

    fn device_by_hash(&self, secret_hash: &str) -> Result<Option<DeviceRecord>, StoreError> {
        todo!("postgres")
    }

    fn device(&self, id: i64) -> Result<Option<DeviceRecord>, StoreError> {
        todo!("postgres")
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        todo!("postgres")
    }

    fn record_ack(&self, id: i64, ack: &AckRecord, at: i64) -> Result<(), StoreError> {
        todo!("postgres")
    }

    fn move_device(&self, id: i64, group: &str, change: &Change<'_>) -> Result<bool, StoreError> {
        todo!("postgres")
    }

    fn revoke_device(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        todo!("postgres")
    }
}
