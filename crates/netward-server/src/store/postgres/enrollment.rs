//! The PostgreSQL side of [`EnrollmentStore`](crate::store::EnrollmentStore): enrollment
//! tokens, and enrollment (a device and its token's use in one transaction). The token's row
//! is locked while a device enrolls with it, so two replicas enrolling at once never exceed
//! its uses.

use netward_model::agent_wire::DeviceFacts;
use postgres::GenericClient;
use postgres::types::ToSql;
use serde_json::json;

use super::fleet::query_devices;
use super::{PgStore, audit, begin_audited, pg, to_json};
use crate::store::enrollment::*;
use crate::store::{Change, DeviceRecord, EnrollTokenColumn, ListPage, StoreError};

/// This resource's part of schema version 1 (SQLite's versions 2 and 5 of this table).
pub(super) const SCHEMA: &str = "
CREATE TABLE enroll_tokens (
    id bigserial PRIMARY KEY,
    secret_hash text NOT NULL UNIQUE,
    group_name text NOT NULL,
    created_at bigint NOT NULL,
    created_by text NOT NULL,
    expires_at bigint NOT NULL,
    max_uses bigint NOT NULL DEFAULT 0,
    uses bigint NOT NULL DEFAULT 0,
    revoked_at bigint
);
";

impl EnrollmentStore for PgStore {
    fn create_enroll_token(
        &self,
        secret_hash: &str,
        group: &str,
        expires_at: i64,
        max_uses: u32,
        change: &Change<'_>,
    ) -> Result<EnrollTokenRecord, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO enroll_tokens (secret_hash, group_name, created_at, created_by, \
                 expires_at, max_uses) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &secret_hash,
                    &group,
                    &change.at,
                    &change.actor.name,
                    &expires_at,
                    &i64::from(max_uses),
                ],
            )
            .map_err(pg("create enroll token"))?
            .get(0);
        audit(
            &mut tx,
            change,
            "enroll-token.create",
            group,
            &json!({"id": id, "expiresAt": netward_model::timestamp::format_rfc3339(expires_at), "maxUses": max_uses}),
        )?;
        let token = query_enroll_tokens(&mut tx, "WHERE id = $1", &[&id])?
            .pop()
            .ok_or_else(|| StoreError::Corrupt(format!("enrollment token {id} vanished")))?;
        tx.commit().map_err(pg("commit create enroll token"))?;
        Ok(token)
    }

    fn enroll_tokens(&self) -> Result<Vec<EnrollTokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        query_enroll_tokens(&mut **conn, "ORDER BY id DESC", &[])
    }

    fn enroll_tokens_page(
        &self,
        page: &ListPage<EnrollTokenColumn>,
    ) -> Result<(Vec<EnrollTokenRecord>, u64), StoreError> {
        let mut conn = self.conn()?;
        let list = query_enroll_tokens(&mut **conn, &page.tail("id DESC", "id"), &[])?;
        let total: i64 = conn
            .query_one("SELECT count(*) FROM enroll_tokens", &[])
            .map_err(pg("count enroll tokens"))?
            .get(0);
        Ok((list, super::to_u64(total)))
    }

    fn revoke_enroll_token(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<EnrollTokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let changed = tx
            .execute(
                "UPDATE enroll_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &change.at],
            )
            .map_err(pg("revoke enroll token"))?;
        let Some(token) = query_enroll_tokens(&mut tx, "WHERE id = $1", &[&id])?.pop() else {
            return Ok(None);
        };
        if changed > 0 {
            audit(
                &mut tx,
                change,
                "enroll-token.revoke",
                &token.group,
                &json!({"id": id}),
            )?;
        }
        tx.commit().map_err(pg("commit revoke enroll token"))?;
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
        let mut tx = begin_audited(&mut conn)?;
        let Some(token) =
            query_enroll_tokens(&mut tx, "WHERE secret_hash = $1 FOR UPDATE", &[&token_hash])?
                .pop()
        else {
            return Ok(Err(EnrollRefusal::Unknown));
        };
        if let Err(refusal) = token.usable_at(change.at) {
            return Ok(Err(refusal));
        }
        tx.execute(
            "UPDATE enroll_tokens SET uses = uses + 1 WHERE id = $1",
            &[&token.id],
        )
        .map_err(pg("count enroll token use"))?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO devices (secret_hash, hostname, os, kernel, agent_version, addresses, \
                 group_name, first_seen, last_seen, enroll_token_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id",
                &[
                    &secret_hash,
                    &facts.hostname,
                    &facts.os,
                    &facts.kernel,
                    &facts.agent_version,
                    &to_json(&facts.addresses)?,
                    &token.group,
                    &change.at,
                    &token.id,
                ],
            )
            .map_err(pg("enroll device"))?
            .get(0);
        audit(
            &mut tx,
            change,
            "device.enroll",
            &format!("device {id}"),
            &json!({"hostname": facts.hostname, "group": token.group, "enrollToken": token.id}),
        )?;
        let device = query_devices(&mut tx, "WHERE id = $1", &[&id])?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Corrupt(format!("device {id} vanished")))?;
        tx.commit().map_err(pg("commit enroll"))?;
        Ok(Ok(device))
    }
}

/// The enrollment tokens `tail` (a `WHERE` or `ORDER BY` clause) selects.
fn query_enroll_tokens(
    client: &mut impl GenericClient,
    tail: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<EnrollTokenRecord>, StoreError> {
    let read = || pg("read enroll tokens");
    let rows = client
        .query(
            &format!(
                "SELECT id, group_name, created_at, created_by, expires_at, max_uses, uses, \
                 revoked_at FROM enroll_tokens {tail}"
            ),
            params,
        )
        .map_err(read())?;
    rows.iter()
        .map(|r| {
            let max_uses: i64 = r.try_get(5)?;
            let uses: i64 = r.try_get(6)?;
            Ok(EnrollTokenRecord {
                id: r.try_get(0)?,
                group: r.try_get(1)?,
                created_at: r.try_get(2)?,
                created_by: r.try_get(3)?,
                expires_at: r.try_get(4)?,
                max_uses: u32::try_from(max_uses).ok().filter(|&n| n > 0),
                uses: u32::try_from(uses).unwrap_or(u32::MAX),
                revoked_at: r.try_get(7)?,
            })
        })
        .collect::<Result<_, postgres::Error>>()
        .map_err(read())
}
