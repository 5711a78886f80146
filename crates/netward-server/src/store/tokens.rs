//! API tokens, kept as the hash of their secret.

use netward_model::Role;

use super::{Change, StoreError};

/// An API token as stored: only a hash of its secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

/// API tokens.
pub trait TokenStore: Send + Sync {
    /// Stores a token by the hash of its secret; [`StoreError::AlreadyExists`] if the name is taken.
    fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<TokenRecord, StoreError>;
    /// The token whose secret hashes to `secret_hash`, revoked or not.
    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// All tokens.
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Revokes a token; `None` if the id is unknown.
    fn revoke_token(&self, id: i64, change: &Change<'_>)
    -> Result<Option<TokenRecord>, StoreError>;
}
