//! Console sessions, kept so that they survive a restart and reach every replica.
//!
//! A session is stored by the SHA-256 of its id, never the id, and names the API token it was
//! opened with by that token's hash, never its secret: a copy of the database signs nobody in.
//! Which sessions are idle, and when a use is worth writing down, is decided by the caller
//! (`crate::sessions`); the store keeps the times it is given.

use super::StoreError;

/// A console session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The hash of the API token the session was opened with.
    pub token_hash: String,
    /// When it was opened (Unix seconds).
    pub created_at: i64,
    /// When it was last used, as last written (Unix seconds).
    pub last_used: i64,
}

/// A session to open.
#[derive(Clone, Copy, Debug)]
pub struct NewSession<'a> {
    /// The SHA-256 of the session id, hex.
    pub id_hash: &'a str,
    /// The hash of the API token it is opened with.
    pub token_hash: &'a str,
    /// Now (Unix seconds): its creation and first use.
    pub at: i64,
    /// Sessions last used before this time are idle; opening deletes them all.
    pub idle_before: i64,
    /// The most sessions one token may hold: opening one more deletes that token's least
    /// recently used ones (the oldest opened first among equals).
    pub per_token: usize,
}

/// Console sessions.
pub trait SessionStore: Send + Sync {
    /// Stores a new session, in one transaction with the deletion of every idle session and
    /// of the token's sessions beyond [`NewSession::per_token`], so that two replicas opening
    /// sessions for one token at once cannot both leave it over its cap.
    fn open_session(&self, session: &NewSession<'_>) -> Result<(), StoreError>;
    /// The session whose id hashes to `id_hash`, idle or not.
    fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Records a use of the session at `at`; nothing if it is gone.
    fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError>;
    /// Ends a session; nothing if it is gone.
    fn close_session(&self, id_hash: &str) -> Result<(), StoreError>;
}
