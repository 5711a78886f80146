//! Enrollment tokens and enrollment: a device and its token's use in one transaction.

use netward_model::agent_wire::DeviceFacts;
use rusqlite::types::Value;
use rusqlite::{Connection, params};
use serde_json::json;

use super::fleet::query_devices;
use super::{SqliteStore, audit, db, to_json};
use crate::store::{
    Change, DeviceRecord, EnrollRefusal, EnrollTokenColumn, EnrollTokenRecord, EnrollmentStore,
    ListPage, StoreError,
};

impl EnrollmentStore for SqliteStore {
    fn create_enroll_token(
        &self,
        secret_hash: &str,
        group: &str,
        expires_at: i64,
        max_uses: u32,
        change: &Change<'_>,
    ) -> Result<EnrollTokenRecord, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction()
            .map_err(db("begin create enroll token"))?;
        tx.execute(
            "INSERT INTO enroll_tokens (secret_hash, group_name, created_at, created_by, expires_at, \
             max_uses) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                secret_hash,
                group,
                change.at,
                change.actor.name,
                expires_at,
                max_uses
            ],
        )
        .map_err(db("create enroll token"))?;
        let id = tx.last_insert_rowid();
        audit(
            &tx,
            change,
            "enroll-token.create",
            group,
            &json!({"id": id, "expiresAt": netward_model::timestamp::format_rfc3339(expires_at), "maxUses": max_uses}),
        )?;
        let token = query_enroll_tokens(&tx, "WHERE id = ?1", [id])?
            .pop()
            .ok_or_else(|| StoreError::Corrupt(format!("enrollment token {id} vanished")))?;
        tx.commit().map_err(db("commit create enroll token"))?;
        Ok(token)
    }

    fn enroll_tokens(&self) -> Result<Vec<EnrollTokenRecord>, StoreError> {
        let conn = self.conn()?;
        query_enroll_tokens(&conn, "ORDER BY id DESC", [])
    }

    fn enroll_tokens_page(
        &self,
        page: &ListPage<EnrollTokenColumn>,
    ) -> Result<(Vec<EnrollTokenRecord>, u64), StoreError> {
        let conn = self.conn()?;
        let list = query_enroll_tokens(&conn, &page.tail("id DESC", "id"), [])?;
        let total: i64 = conn
            .query_row("SELECT count(*) FROM enroll_tokens", [], |r| r.get(0))
            .map_err(db("count enroll tokens"))?;
        Ok((list, u64::try_from(total).unwrap_or_default()))
    }

    fn revoke_enroll_token(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<EnrollTokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction()
            .map_err(db("begin revoke enroll token"))?;
        let changed = tx
            .execute(
                "UPDATE enroll_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, change.at],
            )
            .map_err(db("revoke enroll token"))?;
        let Some(token) = query_enroll_tokens(&tx, "WHERE id = ?1", [id])?.pop() else {
            return Ok(None);
        };
        if changed > 0 {
            audit(
                &tx,
                change,
                "enroll-token.revoke",
                &token.group,
                &json!({"id": id}),
            )?;
        }
        tx.commit().map_err(db("commit revoke enroll token"))?;
        Ok(Some(token))
    }

    fn enroll_device(
        &self,
        token_hash: &str,
        facts: &DeviceFacts,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<Result<DeviceRecord, EnrollRefusal>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin enroll"))?;
        let Some(token) = query_enroll_tokens(&tx, "WHERE secret_hash = ?1", [token_hash])?.pop()
        else {
            return Ok(Err(EnrollRefusal::Unknown));
        };
        if let Err(refusal) = token.usable_at(change.at) {
            return Ok(Err(refusal));
        }
        tx.execute(
            "UPDATE enroll_tokens SET uses = uses + 1 WHERE id = ?1",
            [token.id],
        )
        .map_err(db("count enroll token use"))?;
        tx.execute(
            "INSERT INTO devices (secret_hash, hostname, os, kernel, agent_version, addresses, \
             group_name, first_seen, last_seen, enroll_token_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
            params![
                secret_hash,
                facts.hostname,
                facts.os,
                facts.kernel,
                facts.agent_version,
                to_json(&facts.addresses)?,
                token.group,
                change.at,
                token.id
            ],
        )
        .map_err(db("enroll device"))?;
        let id = tx.last_insert_rowid();
        audit(
            &tx,
            change,
            "device.enroll",
            &format!("device {id}"),
            &json!({"hostname": facts.hostname, "group": token.group, "enrollToken": token.id}),
        )?;
        let device = query_devices(&tx, "WHERE id = ?1", vec![Value::Integer(id)])?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Corrupt(format!("device {id} vanished")))?;
        tx.commit().map_err(db("commit enroll"))?;
        Ok(Ok(device))
    }
}

/// The enrollment tokens `tail` (a `WHERE` or `ORDER BY` clause) selects.
fn query_enroll_tokens(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<EnrollTokenRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT id, group_name, created_at, created_by, expires_at, max_uses, uses, revoked_at \
             FROM enroll_tokens {tail}"
        ))
        .map_err(db("read enroll tokens"))?;
    let rows = stmt
        .query_map(params, |r| {
            let max_uses: i64 = r.get(5)?;
            let uses: i64 = r.get(6)?;
            Ok(EnrollTokenRecord {
                id: r.get(0)?,
                group: r.get(1)?,
                created_at: r.get(2)?,
                created_by: r.get(3)?,
                expires_at: r.get(4)?,
                max_uses: u32::try_from(max_uses).ok().filter(|&n| n > 0),
                uses: u32::try_from(uses).unwrap_or(u32::MAX),
                revoked_at: r.get(7)?,
            })
        })
        .map_err(db("read enroll tokens"))?;
    rows.collect::<Result<_, _>>()
        .map_err(db("read enroll tokens"))
}
