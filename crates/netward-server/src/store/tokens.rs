//! API tokens, kept as the hash of their secret.

use netward_model::Role;

use super::{Change, ListPage, StoreError, TokenColumn};

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

/// Whether a revocation may remove the last live admin token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastAdmin {
    /// Refuse: nobody could administer the server afterwards.
    Keep,
    /// Allow (`--force`); `netward server recover-admin` mints a new one.
    MayRevoke,
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
    /// One page of the tokens in its order (oldest first without one), and how many there
    /// are.
    fn tokens_page(
        &self,
        page: &ListPage<TokenColumn>,
    ) -> Result<(Vec<TokenRecord>, u64), StoreError>;
    /// Revokes a token; `None` if the id is unknown. With [`LastAdmin::Keep`], refuses with
    /// [`StoreError::LastAdmin`] when the token is the last live admin token, checked in the
    /// same transaction as the revocation, so two concurrent revocations cannot both pass.
    fn revoke_token(
        &self,
        id: i64,
        last_admin: LastAdmin,
        change: &Change<'_>,
    ) -> Result<Option<TokenRecord>, StoreError>;
}
