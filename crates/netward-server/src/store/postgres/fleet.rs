//! The PostgreSQL side of [`FleetStore`](crate::store::FleetStore): device groups, the tenant
//! settings and devices, in the tables and columns the SQLite store has (`fleet.rs` there).
//! JSON columns stay `text`, as on SQLite.

use netward_model::agent_wire::DeviceFacts;
use netward_model::{DeviceGroup, TenantSettings};
use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use serde_json::json;

use super::{PgStore, audit, begin_audited, is_unique_violation, pg, to_i64, to_json, to_u64};
use crate::store::columns::{self, DEVICE_COLUMNS, DeviceRow, group_detail, parse_device};
use crate::store::fleet::*;
use crate::store::{Change, StoreError};

/// This resource's part of schema version 1 (SQLite's versions 1 to 6 of these tables). The
/// default group is number 1; `next_group_id` only grows, so a number is never given twice.
pub(super) const SCHEMA: &str = "
CREATE TABLE device_groups (
    name text PRIMARY KEY,
    description text NOT NULL,
    mode text NOT NULL,
    coverage text NOT NULL,
    id bigint
);
CREATE UNIQUE INDEX device_groups_id ON device_groups(id);
INSERT INTO device_groups VALUES ('default', 'Devices not placed in another group', 'block', 'all', 1);
CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO settings (key, value) VALUES ('next_group_id', '2');
CREATE TABLE devices (
    id bigserial PRIMARY KEY,
    secret_hash text NOT NULL UNIQUE,
    hostname text NOT NULL,
    os text NOT NULL,
    kernel text NOT NULL,
    agent_version text NOT NULL,
    addresses text NOT NULL,
    group_name text NOT NULL,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    applied_version bigint,
    applied_at bigint,
    entries bigint NOT NULL DEFAULT 0,
    not_enforceable text NOT NULL DEFAULT '[]',
    last_error text,
    last_tamper bigint,
    revoked_at bigint,
    events_dropped bigint NOT NULL DEFAULT 0,
    events_lost bigint NOT NULL DEFAULT 0,
    enroll_token_id bigint,
    exemptions text NOT NULL DEFAULT '[]'
);
";

fn read_group(r: &Row) -> Result<DeviceGroup, StoreError> {
    let read = pg("read group");
    let (name, description, mode, coverage): (String, String, String, String) =
        match (r.try_get(0), r.try_get(1), r.try_get(2), r.try_get(3)) {
            (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
                return Err(read(e));
            }
        };
    columns::parse_group((name, description, mode, coverage))
}

fn read_device(r: &Row) -> Result<DeviceRow, postgres::Error> {
    let applied: Option<i64> = r.try_get(9)?;
    Ok((
        DeviceRecord {
            id: r.try_get(0)?,
            facts: DeviceFacts {
                hostname: r.try_get(1)?,
                os: r.try_get(2)?,
                kernel: r.try_get(3)?,
                agent_version: r.try_get(4)?,
                addresses: Vec::new(),
            },
            group: r.try_get(6)?,
            first_seen: r.try_get(7)?,
            last_seen: r.try_get(8)?,
            applied_version: applied.and_then(|v| u64::try_from(v).ok()),
            applied_at: r.try_get(10)?,
            entries: to_u64(r.try_get(11)?),
            not_enforceable: Vec::new(),
            last_error: r.try_get(13)?,
            last_tamper: r.try_get(14)?,
            revoked_at: r.try_get(15)?,
            events_dropped: to_u64(r.try_get(16)?),
            events_lost: to_u64(r.try_get(17)?),
            exemptions: Vec::new(),
        },
        r.try_get(5)?,
        r.try_get(12)?,
        r.try_get(18)?,
    ))
}

/// The devices `filter` (a `WHERE` clause, or nothing) selects, by id.
pub(super) fn query_devices(
    client: &mut impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<DeviceRecord>, StoreError> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices {filter} ORDER BY id");
    let rows = client.query(&sql, params).map_err(pg("read devices"))?;
    rows.iter()
        .map(|r| parse_device(read_device(r).map_err(pg("read devices"))?))
        .collect()
}

impl FleetStore for PgStore {
    fn groups(&self) -> Result<Vec<DeviceGroup>, StoreError> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT name, description, mode, coverage FROM device_groups ORDER BY name",
                &[],
            )
            .map_err(pg("list groups"))?;
        rows.iter().map(read_group).collect()
    }

    fn group(&self, name: &str) -> Result<Option<DeviceGroup>, StoreError> {
        let mut conn = self.conn()?;
        conn.query_opt(
            "SELECT name, description, mode, coverage FROM device_groups WHERE name = $1",
            &[&name],
        )
        .map_err(pg("read group"))?
        .as_ref()
        .map(read_group)
        .transpose()
    }

    fn create_group(&self, g: &DeviceGroup, change: &Change<'_>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        // The group's number: the next of a counter that only grows, in this transaction.
        let id: i64 = tx
            .query_one(
                "UPDATE settings SET value = (value::bigint + 1)::text \
                 WHERE key = 'next_group_id' RETURNING value::bigint - 1",
                &[],
            )
            .map_err(pg("number the group"))?
            .get(0);
        tx.execute(
            "INSERT INTO device_groups (name, description, mode, coverage, id) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &g.name,
                &g.description,
                &g.mode.as_str(),
                &g.coverage.as_str(),
                &id,
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::AlreadyExists(format!("group `{}`", g.name))
            } else {
                pg("create group")(e)
            }
        })?;
        audit(&mut tx, change, "group.create", &g.name, &group_detail(g))?;
        tx.commit().map_err(pg("commit create group"))
    }

    fn update_group(&self, g: &DeviceGroup, change: &Change<'_>) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let n = tx
            .execute(
                "UPDATE device_groups SET description = $2, mode = $3, coverage = $4 WHERE name = $1",
                &[
                    &g.name,
                    &g.description,
                    &g.mode.as_str(),
                    &g.coverage.as_str(),
                ],
            )
            .map_err(pg("update group"))?;
        if n == 0 {
            return Ok(false);
        }
        audit(&mut tx, change, "group.update", &g.name, &group_detail(g))?;
        tx.commit().map_err(pg("commit update group"))?;
        Ok(true)
    }

    fn delete_group(&self, name: &str, change: &Change<'_>) -> Result<GroupDeletion, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        // `groups` holds the indicator's scope as a JSON array of names.
        let users: i64 = tx
            .query_one(
                "SELECT count(*) FROM indicators WHERE groups::jsonb ? $1",
                &[&name],
            )
            .map_err(pg("count group users"))?
            .get(0);
        let devices: i64 = tx
            .query_one(
                "SELECT count(*) FROM devices WHERE group_name = $1 AND revoked_at IS NULL",
                &[&name],
            )
            .map_err(pg("count group devices"))?
            .get(0);
        if users > 0 || devices > 0 {
            return Ok(GroupDeletion::InUse {
                indicators: to_u64(users),
                devices: to_u64(devices),
            });
        }
        let n = tx
            .execute("DELETE FROM device_groups WHERE name = $1", &[&name])
            .map_err(pg("delete group"))?;
        if n == 0 {
            return Ok(GroupDeletion::NotFound);
        }
        audit(&mut tx, change, "group.delete", name, &json!({}))?;
        tx.commit().map_err(pg("commit delete group"))?;
        Ok(GroupDeletion::Deleted)
    }

    fn settings(&self) -> Result<TenantSettings, StoreError> {
        let mut conn = self.conn()?;
        let stored: Option<String> = conn
            .query_opt(
                "SELECT value FROM settings WHERE key = 'custom_network_indicators'",
                &[],
            )
            .map_err(pg("read settings"))?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(pg("read settings"))?;
        let mut settings = TenantSettings::default();
        if let Some(v) = stored {
            settings.custom_network_indicators = match v.as_str() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "setting custom_network_indicators = `{other}`"
                    )));
                }
            };
        }
        Ok(settings)
    }

    fn update_settings(&self, s: &TenantSettings, change: &Change<'_>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let value = if s.custom_network_indicators {
            "true"
        } else {
            "false"
        };
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('custom_network_indicators', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&value],
        )
        .map_err(pg("update settings"))?;
        audit(
            &mut tx,
            change,
            "settings.update",
            "settings",
            &json!({"customNetworkIndicators": s.custom_network_indicators}),
        )?;
        tx.commit().map_err(pg("commit update settings"))
    }

    fn device_by_hash(&self, secret_hash: &str) -> Result<Option<DeviceRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(
            query_devices(&mut **conn, "WHERE secret_hash = $1", &[&secret_hash])?
                .into_iter()
                .next(),
        )
    }

    fn device(&self, id: i64) -> Result<Option<DeviceRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(query_devices(&mut **conn, "WHERE id = $1", &[&id])?
            .into_iter()
            .next())
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        let mut conn = self.conn()?;
        query_devices(&mut **conn, "", &[])
    }

    fn record_ack(&self, id: i64, ack: &AckRecord, at: i64) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.execute(
            "UPDATE devices SET applied_version = $2, \
             applied_at = CASE WHEN $9::text IS NULL THEN $3 ELSE applied_at END, \
             entries = $4, not_enforceable = $5, last_error = $9, \
             last_tamper = CASE WHEN $6 THEN $3 ELSE last_tamper END, last_seen = $3, \
             hostname = $7, addresses = $8, exemptions = $10 \
             WHERE id = $1 AND (applied_version IS NULL OR applied_version <= $2)",
            &[
                &id,
                &to_i64(ack.version),
                &at,
                &to_i64(ack.entries),
                &to_json(&ack.not_enforceable)?,
                &ack.tamper_repaired,
                &ack.facts.hostname,
                &to_json(&ack.facts.addresses)?,
                &ack.error,
                &to_json(&ack.exemptions)?,
            ],
        )
        .map_err(pg("record ack"))?;
        Ok(())
    }

    fn move_device(&self, id: i64, group: &str, change: &Change<'_>) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let n = tx
            .execute(
                "UPDATE devices SET group_name = $2 WHERE id = $1",
                &[&id, &group],
            )
            .map_err(pg("move device"))?;
        if n == 0 {
            return Ok(false);
        }
        audit(
            &mut tx,
            change,
            "device.move",
            &format!("device {id}"),
            &json!({"group": group}),
        )?;
        tx.commit().map_err(pg("commit move device"))?;
        Ok(true)
    }

    fn revoke_device(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = begin_audited(&mut conn)?;
        let n = tx
            .execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                &[&id, &change.at],
            )
            .map_err(pg("revoke device"))?;
        if n == 0 {
            return Ok(None);
        }
        audit(
            &mut tx,
            change,
            "device.revoke",
            &format!("device {id}"),
            &json!({}),
        )?;
        let device = query_devices(&mut tx, "WHERE id = $1", &[&id])?
            .into_iter()
            .next();
        tx.commit().map_err(pg("commit revoke device"))?;
        Ok(device)
    }
}
