//! Console sessions: an API token is exchanged once for a random session id, which the console
//! keeps in a cookie (`console/session.rs`).
//!
//! The store keeps only the SHA-256 of the id and the hash of the token, never the id or the
//! token's secret (`store/sessions.rs`): sessions survive a restart and reach every replica on
//! one database, while a copy of the database signs nobody in. Every use authenticates the
//! token again by its hash, so a revoked token ends its sessions at once. The CSRF token is
//! derived from the id, so it needs no storage either.
//!
//! The rules live here (when a session is idle, how many one token may hold, when a use is
//! worth writing down); the store keeps what they decide.

use sha2::{Digest, Sha256};

use crate::control::{ControlError, ControlPlane};
use crate::store::{NewSession, Store, StoreError, TokenRecord};
use crate::tokens::{SECRET_PREFIX, hash_secret, random_hex};

/// How long a session lasts without use (12 hours).
pub const IDLE_SECS: i64 = 12 * 3600;
/// Sessions one token may hold at once; signing in once more ends its least recently used.
pub const MAX_SESSIONS_PER_TOKEN: usize = 16;
/// A session's use is written at most this often, so that page loads do not each write; the
/// idle timeout is exact to within this.
pub const TOUCH_EVERY_SECS: i64 = 60;
/// What the CSRF token hashes with the session id, so that it is not the id's stored hash.
const CSRF_LABEL: &[u8] = b"netward console CSRF token\0";

/// How a request uses its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionUse {
    /// A page or a form: counts as use and keeps the session alive.
    Request,
    /// A live stream checking that it may go on: a page left open on its live updates does
    /// not keep its session alive.
    Watch,
}

/// A session just opened.
#[derive(Clone, Debug)]
pub struct OpenedSession {
    /// The id, for the cookie; stored only as its hash.
    pub id: String,
}

/// Who a live session belongs to.
#[derive(Clone, Debug)]
pub struct SessionUser {
    /// The token it was opened with, authenticated again just now.
    pub token: TokenRecord,
    /// The session's CSRF token, which every form must send back.
    pub csrf: String,
}

/// The CSRF token of session `id`: a hash of the id under its own label, so a page that
/// shows it reveals neither the id nor the hash the store keeps.
pub fn csrf_token(id: &str) -> String {
    let mut h = Sha256::new();
    h.update(CSRF_LABEL);
    h.update(id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a session last used at `last_used` has been idle too long at `now`.
pub fn is_idle(last_used: i64, now: i64) -> bool {
    now.saturating_sub(last_used) >= IDLE_SECS
}

/// Whether a use at `now` of a session last written as used at `last_used` is worth writing.
pub fn use_is_news(last_used: i64, now: i64) -> bool {
    now.saturating_sub(last_used) >= TOUCH_EVERY_SECS
}

/// Opens session `id` for `secret` at `now`; false if the token is unknown or revoked.
fn open(store: &dyn Store, secret: &str, id: &str, now: i64) -> Result<bool, StoreError> {
    if !secret.starts_with(SECRET_PREFIX) {
        return Ok(false);
    }
    let token_hash = hash_secret(secret);
    match store.token_by_hash(&token_hash)? {
        Some(t) if t.revoked_at.is_none() => {}
        _ => return Ok(false),
    }
    store.open_session(&NewSession {
        id_hash: &hash_secret(id),
        token_hash: &token_hash,
        at: now,
        idle_before: now.saturating_sub(IDLE_SECS).saturating_add(1),
        per_token: MAX_SESSIONS_PER_TOKEN,
    })?;
    Ok(true)
}

/// The live, unrevoked token of session `id` at `now`. An idle session, or one whose token
/// is revoked or gone, is deleted.
fn resolve(
    store: &dyn Store,
    id: &str,
    now: i64,
    how: SessionUse,
) -> Result<Option<TokenRecord>, StoreError> {
    let id_hash = hash_secret(id);
    let Some(session) = store.session(&id_hash)? else {
        return Ok(None);
    };
    if is_idle(session.last_used, now) {
        store.close_session(&id_hash)?;
        return Ok(None);
    }
    let token = store
        .token_by_hash(&session.token_hash)?
        .filter(|t| t.revoked_at.is_none());
    let Some(token) = token else {
        store.close_session(&id_hash)?;
        return Ok(None);
    };
    if how == SessionUse::Request && use_is_news(session.last_used, now) {
        store.touch_session(&id_hash, now)?;
    }
    Ok(Some(token))
}

impl ControlPlane {
    /// Opens a console session for the API token `secret`; `None` if the token is unknown or
    /// revoked. Idle sessions go, and the token's least recently used beyond
    /// [`MAX_SESSIONS_PER_TOKEN`].
    pub async fn open_session(
        &self,
        secret: String,
    ) -> Result<Option<OpenedSession>, ControlError> {
        let id = random_hex()?;
        self.blocking(move |cp| {
            let opened = open(cp.store.as_ref(), &secret, &id, cp.clock.now())?;
            Ok(opened.then_some(OpenedSession { id }))
        })
        .await
    }

    /// Who session `id` belongs to, authenticated again now; `None` when it is unknown, idle,
    /// or its token revoked (it then ends).
    pub async fn session_user(
        &self,
        id: String,
        how: SessionUse,
    ) -> Result<Option<SessionUser>, ControlError> {
        self.blocking(move |cp| {
            let token = resolve(cp.store.as_ref(), &id, cp.clock.now(), how)?;
            Ok(token.map(|token| SessionUser {
                token,
                csrf: csrf_token(&id),
            }))
        })
        .await
    }

    /// Ends session `id` (signing out).
    pub async fn close_session(&self, id: String) -> Result<(), ControlError> {
        self.blocking(move |cp| Ok(cp.store.close_session(&hash_secret(&id))?))
            .await
    }
}

#[cfg(test)]
mod tests;
