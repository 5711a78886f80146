//! API tokens: creation, authentication, revocation, and the first admin token.
//!
//! A secret is `nwt_` followed by 64 hex digits (32 random bytes). Only its SHA-256 is stored:
//! the secret has full entropy, so a slow password hash would add nothing but latency.

use std::path::Path;

use netward_model::wire::TokenCreate;
use netward_model::{Actor, ActorKind, FieldError, Role};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::control::{ControlError, ControlPlane};
use crate::store::sqlite::DB_FILE;
use crate::store::{
    Change, LastAdmin, ListPage, SqliteStore, StoreError, TokenColumn, TokenRecord, TokenStore,
};

/// The prefix of every secret, so that scanners can spot leaked ones.
pub const SECRET_PREFIX: &str = "nwt_";

/// The hex SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 32 random bytes as 64 hex digits.
pub(crate) fn random_hex() -> Result<String, ControlError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ControlError::Task(format!("no randomness for a secret: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn new_secret() -> Result<String, ControlError> {
    Ok(format!("{SECRET_PREFIX}{}", random_hex()?))
}

fn validate_token_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(FieldError::new("name", "must have 1 to 64 characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@')))
    {
        return Err(FieldError::new(
            "name",
            format!("may hold letters, digits, '-', '_', '.' and '@', not {c:?}"),
        ));
    }
    Ok(name.to_owned())
}

/// A revocation, as the API and the console ask for it.
#[derive(Clone, Copy, Debug)]
pub struct TokenRevoke {
    /// The token to revoke.
    pub id: i64,
    /// The id of the token the request was made with, if any.
    pub caller: Option<i64>,
    /// Revoke even the caller's own token or the last admin token.
    pub force: bool,
}

impl ControlPlane {
    /// Creates a token and returns it with its secret, which is not kept.
    pub async fn create_token(
        &self,
        input: TokenCreate,
        actor: Actor,
    ) -> Result<(TokenRecord, String), ControlError> {
        let name = validate_token_name(input.name.as_deref().unwrap_or_default())?;
        let role_text = input.role.unwrap_or_default();
        let role = Role::parse(&role_text).ok_or_else(|| {
            FieldError::new(
                "role",
                format!("`{role_text}` is not a role; use viewer, analyst or admin"),
            )
        })?;
        self.blocking(move |cp| cp.insert_token(&name, role, &actor))
            .await
    }

    fn insert_token(
        &self,
        name: &str,
        role: Role,
        actor: &Actor,
    ) -> Result<(TokenRecord, String), ControlError> {
        let secret = new_secret()?;
        let change = Change {
            actor,
            at: self.now(),
        };
        match self
            .store
            .create_token(name, role, &hash_secret(&secret), &change)
        {
            Ok(record) => Ok((record, secret)),
            Err(StoreError::AlreadyExists(what)) => {
                Err(ControlError::Conflict(format!("{what} already exists")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// On a store with no token at all, creates the admin token `admin` and returns its secret.
    pub async fn bootstrap_admin(&self) -> Result<Option<String>, ControlError> {
        self.blocking(|cp| {
            if !cp.store.tokens()?.is_empty() {
                return Ok(None);
            }
            let system = Actor {
                name: "netward".into(),
                kind: ActorKind::System,
            };
            cp.insert_token("admin", Role::Admin, &system)
                .map(|(_, secret)| Some(secret))
        })
        .await
    }

    /// The live token whose secret is `secret`, if any.
    pub async fn authenticate(&self, secret: String) -> Result<Option<TokenRecord>, ControlError> {
        if !secret.starts_with(SECRET_PREFIX) {
            return Ok(None);
        }
        self.blocking(move |cp| {
            Ok(cp
                .store
                .token_by_hash(&hash_secret(&secret))?
                .filter(|t| t.revoked_at.is_none()))
        })
        .await
    }

    /// All tokens, revoked ones included.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, ControlError> {
        self.blocking(|cp| Ok(cp.store.tokens()?)).await
    }

    /// One page of the tokens, sorted in the store, and how many there are.
    pub async fn tokens_page(
        &self,
        page: ListPage<TokenColumn>,
    ) -> Result<(Vec<TokenRecord>, u64), ControlError> {
        self.blocking(move |cp| Ok(cp.store.tokens_page(&page)?))
            .await
    }

    /// Revokes a token; later requests with it get 401. Without `force`, refuses (409) to
    /// revoke the caller's own token or the last live admin token.
    pub async fn revoke_token(
        &self,
        revoke: TokenRevoke,
        actor: Actor,
    ) -> Result<TokenRecord, ControlError> {
        if !revoke.force && Some(revoke.id) == revoke.caller {
            return Err(ControlError::Conflict(
                "this is the token you are using; revoking it ends your access at once \
                 (pass --force to revoke it anyway)"
                    .into(),
            ));
        }
        let last_admin = if revoke.force {
            LastAdmin::MayRevoke
        } else {
            LastAdmin::Keep
        };
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            match cp.store.revoke_token(revoke.id, last_admin, &change) {
                Ok(Some(token)) => Ok(token),
                Ok(None) => Err(ControlError::NotFound(format!("token {}", revoke.id))),
                Err(e @ StoreError::LastAdmin(_)) => Err(ControlError::Conflict(format!(
                    "{e} (create another admin token first, or pass --force; \
                     `netward server recover-admin` mints a new one on the server host)"
                ))),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }
}

/// Mints a new admin token directly in the store of `data_dir`, for whoever can read the
/// server's data on its host (`netward server recover-admin`): the way back in after the last
/// admin token was revoked or lost. It works while the server runs. The name defaults to
/// `admin-recovered-<unix time>`; the audit log records the recovery.
pub fn recover_admin(
    data_dir: &Path,
    name: Option<&str>,
    clock: &dyn Clock,
) -> Result<(TokenRecord, String), ControlError> {
    if !data_dir.join(DB_FILE).is_file() {
        return Err(ControlError::NotFound(format!(
            "a netward store in {} (no {DB_FILE}); name the server's --data-dir",
            data_dir.display()
        )));
    }
    let store = SqliteStore::open(data_dir)?;
    let now = clock.now();
    let name =
        validate_token_name(&name.map_or_else(|| format!("admin-recovered-{now}"), str::to_owned))?;
    let secret = new_secret()?;
    let actor = Actor {
        name: "recover-admin".into(),
        kind: ActorKind::System,
    };
    let change = Change {
        actor: &actor,
        at: now,
    };
    match store.create_token(&name, Role::Admin, &hash_secret(&secret), &change) {
        Ok(record) => Ok((record, secret)),
        Err(StoreError::AlreadyExists(what)) => Err(ControlError::Conflict(format!(
            "{what} already exists; pass another --name"
        ))),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == 68);
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
