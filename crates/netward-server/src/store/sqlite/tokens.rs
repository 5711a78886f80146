//! API tokens, stored by the hash of their secret.

use netward_model::Role;
use rusqlite::{OptionalExtension, Row, params};
use serde_json::json;

use super::{SqliteStore, audit, db, is_unique_violation};
use crate::store::{Change, LastAdmin, ListPage, StoreError, TokenColumn, TokenRecord, TokenStore};

const TOKEN_COLUMNS: &str = "id, name, role, created_at, created_by, revoked_at";

fn read_token(r: &Row<'_>) -> rusqlite::Result<(i64, String, String, i64, String, Option<i64>)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn parse_token(
    (id, name, role, created_at, created_by, revoked_at): (
        i64,
        String,
        String,
        i64,
        String,
        Option<i64>,
    ),
) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("token {id}: role `{role}`")))?,
        name,
        created_at,
        created_by,
        revoked_at,
    })
}

impl TokenStore for SqliteStore {
    fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<TokenRecord, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin create token"))?;
        tx.execute(
            "INSERT INTO tokens (name, role, secret_hash, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                name,
                role.as_str(),
                secret_hash,
                change.at,
                change.actor.name
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::AlreadyExists(format!("token `{name}`"))
            } else {
                db("create token")(e)
            }
        })?;
        let id = tx.last_insert_rowid();
        audit(
            &tx,
            change,
            "token.create",
            name,
            &json!({"role": role.as_str()}),
        )?;
        tx.commit().map_err(db("commit create token"))?;
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
        let conn = self.conn()?;
        let mut st = conn
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?1"
            ))
            .map_err(db("read token"))?;
        st.query_row([secret_hash], read_token)
            .optional()
            .map_err(db("read token"))?
            .map(parse_token)
            .transpose()
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))
            .map_err(db("list tokens"))?;
        let rows = st.query_map([], read_token).map_err(db("list tokens"))?;
        rows.map(|r| parse_token(r.map_err(db("list tokens"))?))
            .collect()
    }

    fn tokens_page(
        &self,
        page: &ListPage<TokenColumn>,
    ) -> Result<(Vec<TokenRecord>, u64), StoreError> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens{}",
            page.tail("id", "id")
        );
        let mut st = conn.prepare(&sql).map_err(db("list tokens"))?;
        let rows = st.query_map([], read_token).map_err(db("list tokens"))?;
        let list = rows
            .map(|r| parse_token(r.map_err(db("list tokens"))?))
            .collect::<Result<_, _>>()?;
        let total: i64 = conn
            .query_row("SELECT count(*) FROM tokens", [], |r| r.get(0))
            .map_err(db("count tokens"))?;
        Ok((list, u64::try_from(total).unwrap_or_default()))
    }

    fn revoke_token(
        &self,
        id: i64,
        last_admin: LastAdmin,
        change: &Change<'_>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin revoke token"))?;
        let found = tx
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
                [id],
                read_token,
            )
            .optional()
            .map_err(db("read token"))?
            .map(parse_token)
            .transpose()?;
        let Some(mut token) = found else {
            return Ok(None);
        };
        if token.revoked_at.is_none() {
            if last_admin == LastAdmin::Keep && token.role == Role::Admin {
                let others: i64 = tx
                    .query_row(
                        "SELECT COUNT(*) FROM tokens
                         WHERE role = ?1 AND revoked_at IS NULL AND id <> ?2",
                        params![Role::Admin.as_str(), id],
                        |r| r.get(0),
                    )
                    .map_err(db("count admin tokens"))?;
                if others == 0 {
                    return Err(StoreError::LastAdmin(token.name));
                }
            }
            tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1",
                params![id, change.at],
            )
            .map_err(db("revoke token"))?;
            audit(&tx, change, "token.revoke", &token.name, &json!({"id": id}))?;
            token.revoked_at = Some(change.at);
        }
        tx.commit().map_err(db("commit revoke token"))?;
        Ok(Some(token))
    }
}
