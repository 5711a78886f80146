//! API tokens, stored by the hash of their secret.

use netward_model::Role;
use serde_json::json;

use super::{PgStore, audit, begin_audited, is_unique_violation, pg};
use crate::store::tokens::{LastAdmin, TokenRecord, TokenStore};
use crate::store::{Change, ListPage, StoreError, TokenColumn};

/// This resource's part of schema version 1.
pub(super) const SCHEMA: &str = "
CREATE TABLE tokens (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    role text NOT NULL,
    secret_hash text NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    created_by text NOT NULL,
    revoked_at bigint
);
";

const TOKEN_COLUMNS: &str = "id, name, role, created_at, created_by, revoked_at";

fn parse_token(r: &postgres::Row) -> Result<TokenRecord, StoreError> {
    let id: i64 = r.get(0);
    let role: String = r.get(2);
    Ok(TokenRecord {
        id,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("token {id}: role `{role}`")))?,
        name: r.get(1),
        created_at: r.get(3),
        created_by: r.get(4),
        revoked_at: r.get(5),
    })
}

impl TokenStore for PgStore {
    fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<TokenRecord, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO tokens (name, role, secret_hash, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &name,
                    &role.as_str(),
                    &secret_hash,
                    &change.at,
                    &change.actor.name,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists(format!("token `{name}`"))
                } else {
                    pg("create token")(e)
                }
            })?
            .get(0);
        audit(
            &mut tx,
            change,
            "token.create",
            name,
            &json!({"role": role.as_str()}),
        )?;
        tx.commit().map_err(pg("commit create token"))?;
        Ok(TokenRecord {
            id,
            name: name.to_owned(),
            role,
            created_at: change.at,
            created_by: change.actor.name.clone(),
            revoked_at: None,
        })
    }

    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        conn.query_opt(
            format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = $1").as_str(),
            &[&secret_hash],
        )
        .map_err(pg("read token"))?
        .as_ref()
        .map(parse_token)
        .transpose()
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        conn.query(
            format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id").as_str(),
            &[],
        )
        .map_err(pg("list tokens"))?
        .iter()
        .map(parse_token)
        .collect()
    }

    fn tokens_page(
        &self,
        page: &ListPage<TokenColumn>,
    ) -> Result<(Vec<TokenRecord>, u64), StoreError> {
        let mut conn = self.conn()?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens{}",
            page.tail("id", "id")
        );
        let list = conn
            .query(sql.as_str(), &[])
            .map_err(pg("list tokens"))?
            .iter()
            .map(parse_token)
            .collect::<Result<_, _>>()?;
        let total: i64 = conn
            .query_one("SELECT count(*) FROM tokens", &[])
            .map_err(pg("count tokens"))?
            .get(0);
        Ok((list, super::to_u64(total)))
    }

    fn revoke_token(
        &self,
        id: i64,
        last_admin: LastAdmin,
        change: &Change<'_>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        // The audit lock serialises revocations on every replica, so the last-admin check
        // below sees every revocation committed before it, and two cannot both pass.
        let mut tx = begin_audited(&mut conn)?;
        let found = tx
            .query_opt(
                format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1").as_str(),
                &[&id],
            )
            .map_err(pg("read token"))?
            .as_ref()
            .map(parse_token)
            .transpose()?;
        let Some(mut token) = found else {
            return Ok(None);
        };
        if token.revoked_at.is_none() {
            if last_admin == LastAdmin::Keep && token.role == Role::Admin {
                let others: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM tokens \
                         WHERE role = $1 AND revoked_at IS NULL AND id <> $2",
                        &[&Role::Admin.as_str(), &id],
                    )
                    .map_err(pg("count admin tokens"))?
                    .get(0);
                if others == 0 {
                    return Err(StoreError::LastAdmin(token.name));
                }
            }
            tx.execute(
                "UPDATE tokens SET revoked_at = $2 WHERE id = $1",
                &[&id, &change.at],
            )
            .map_err(pg("revoke token"))?;
            audit(
                &mut tx,
                change,
                "token.revoke",
                &token.name,
                &json!({"id": id}),
            )?;
            token.revoked_at = Some(change.at);
        }
        tx.commit().map_err(pg("commit revoke token"))?;
        Ok(Some(token))
    }
}
