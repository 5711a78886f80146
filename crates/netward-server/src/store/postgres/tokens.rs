//! The PostgreSQL side of [`TokenStore`](crate::store::TokenStore).

#![allow(
    unused_variables,
    unused_imports,
    clippy::todo,
    reason = "a stub until its helper fills it in"
)]

use super::PgStore;
use crate::store::tokens::*;
use crate::store::{Change, StoreError};
use netward_model::Role;

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "";

impl TokenStore for PgStore {
    fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<TokenRecord, StoreError> {
        todo!("postgres")
    }

    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        todo!("postgres")
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        todo!("postgres")
    }

    fn revoke_token(
        &self,
        id: i64,
        last_admin: LastAdmin,
        change: &Change<'_>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        todo!("postgres")
    }
}
