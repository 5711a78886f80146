//! The fleet: device groups, the tenant settings, enrollment tokens and devices.

use netward_model::{DeviceGroup, TenantSettings};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde_json::json;

use super::{SqliteStore, audit, db, is_unique_violation, to_json};
use crate::store::columns::{DEVICE_COLUMNS, DeviceRow, group_detail, parse_device, parse_group};
use crate::store::{AckRecord, Change, DeviceRecord, FleetStore, GroupDeletion, StoreError};
use netward_model::agent_wire::DeviceFacts;

fn read_group(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn read_device(r: &Row<'_>) -> rusqlite::Result<DeviceRow> {
    let applied: Option<i64> = r.get(9)?;
    let entries: i64 = r.get(11)?;
    let (dropped, lost): (i64, i64) = (r.get(16)?, r.get(17)?);
    Ok((
        DeviceRecord {
            id: r.get(0)?,
            facts: DeviceFacts {
                hostname: r.get(1)?,
                os: r.get(2)?,
                kernel: r.get(3)?,
                agent_version: r.get(4)?,
                addresses: Vec::new(),
            },
            group: r.get(6)?,
            first_seen: r.get(7)?,
            last_seen: r.get(8)?,
            applied_version: applied.and_then(|v| u64::try_from(v).ok()),
            applied_at: r.get(10)?,
            entries: u64::try_from(entries).unwrap_or_default(),
            not_enforceable: Vec::new(),
            last_error: r.get(13)?,
            last_tamper: r.get(14)?,
            revoked_at: r.get(15)?,
            events_dropped: u64::try_from(dropped).unwrap_or_default(),
            events_lost: u64::try_from(lost).unwrap_or_default(),
            exemptions: Vec::new(),
        },
        r.get(5)?,
        r.get(12)?,
        r.get(18)?,
    ))
}

pub(super) fn query_devices(
    conn: &Connection,
    filter: &str,
    args: Vec<Value>,
) -> Result<Vec<DeviceRecord>, StoreError> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices {filter} ORDER BY id");
    let mut st = conn.prepare_cached(&sql).map_err(db("read devices"))?;
    let rows = st
        .query_map(params_from_iter(args), read_device)
        .map_err(db("read devices"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(parse_device(row.map_err(db("read devices"))?)?);
    }
    Ok(out)
}

impl FleetStore for SqliteStore {
    fn groups(&self) -> Result<Vec<DeviceGroup>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare_cached(
                "SELECT name, description, mode, coverage FROM device_groups ORDER BY name",
            )
            .map_err(db("list groups"))?;
        let rows = st.query_map([], read_group).map_err(db("list groups"))?;
        rows.map(|r| parse_group(r.map_err(db("list groups"))?))
            .collect()
    }

    fn group(&self, name: &str) -> Result<Option<DeviceGroup>, StoreError> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT name, description, mode, coverage FROM device_groups WHERE name = ?1",
            [name],
            read_group,
        )
        .optional()
        .map_err(db("read group"))?
        .map(parse_group)
        .transpose()
    }

    fn create_group(&self, g: &DeviceGroup, change: &Change<'_>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin create group"))?;
        // The group's number: the next of a counter that only grows, in this transaction.
        let id: i64 = tx
            .query_row(
                "UPDATE settings SET value = CAST(value AS INTEGER) + 1 \
                 WHERE key = 'next_group_id' RETURNING CAST(value AS INTEGER) - 1",
                [],
                |r| r.get(0),
            )
            .map_err(db("number the group"))?;
        tx.execute(
            "INSERT INTO device_groups (name, description, mode, coverage, id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                g.name,
                g.description,
                g.mode.as_str(),
                g.coverage.as_str(),
                id
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::AlreadyExists(format!("group `{}`", g.name))
            } else {
                db("create group")(e)
            }
        })?;
        audit(&tx, change, "group.create", &g.name, &group_detail(g))?;
        tx.commit().map_err(db("commit create group"))
    }

    fn update_group(&self, g: &DeviceGroup, change: &Change<'_>) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin update group"))?;
        let n = tx
            .execute(
                "UPDATE device_groups SET description = ?2, mode = ?3, coverage = ?4 WHERE name = ?1",
                params![g.name, g.description, g.mode.as_str(), g.coverage.as_str()],
            )
            .map_err(db("update group"))?;
        if n == 0 {
            return Ok(false);
        }
        audit(&tx, change, "group.update", &g.name, &group_detail(g))?;
        tx.commit().map_err(db("commit update group"))?;
        Ok(true)
    }

    fn delete_group(&self, name: &str, change: &Change<'_>) -> Result<GroupDeletion, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin delete group"))?;
        let users: i64 = tx
            .query_row(
                "SELECT count(*) FROM indicators WHERE EXISTS \
                 (SELECT 1 FROM json_each(indicators.groups) WHERE json_each.value = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(db("count group users"))?;
        let devices: i64 = tx
            .query_row(
                "SELECT count(*) FROM devices WHERE group_name = ?1 AND revoked_at IS NULL",
                [name],
                |r| r.get(0),
            )
            .map_err(db("count group devices"))?;
        if users > 0 || devices > 0 {
            return Ok(GroupDeletion::InUse {
                indicators: u64::try_from(users).unwrap_or_default(),
                devices: u64::try_from(devices).unwrap_or_default(),
            });
        }
        let n = tx
            .execute("DELETE FROM device_groups WHERE name = ?1", [name])
            .map_err(db("delete group"))?;
        if n == 0 {
            return Ok(GroupDeletion::NotFound);
        }
        audit(&tx, change, "group.delete", name, &json!({}))?;
        tx.commit().map_err(db("commit delete group"))?;
        Ok(GroupDeletion::Deleted)
    }

    fn settings(&self) -> Result<TenantSettings, StoreError> {
        let conn = self.conn()?;
        let stored: Option<String> = conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'custom_network_indicators'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(db("read settings"))?;
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
        let tx = conn.transaction().map_err(db("begin update settings"))?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('custom_network_indicators', ?1) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [if s.custom_network_indicators {
                "true"
            } else {
                "false"
            }],
        )
        .map_err(db("update settings"))?;
        audit(
            &tx,
            change,
            "settings.update",
            "settings",
            &json!({"customNetworkIndicators": s.custom_network_indicators}),
        )?;
        tx.commit().map_err(db("commit update settings"))
    }

    fn device_by_hash(&self, secret_hash: &str) -> Result<Option<DeviceRecord>, StoreError> {
        let conn = self.conn()?;
        Ok(query_devices(
            &conn,
            "WHERE secret_hash = ?1",
            vec![Value::Text(secret_hash.to_owned())],
        )?
        .into_iter()
        .next())
    }

    fn device(&self, id: i64) -> Result<Option<DeviceRecord>, StoreError> {
        let conn = self.conn()?;
        Ok(
            query_devices(&conn, "WHERE id = ?1", vec![Value::Integer(id)])?
                .into_iter()
                .next(),
        )
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        let conn = self.conn()?;
        query_devices(&conn, "", Vec::new())
    }

    fn record_ack(&self, id: i64, ack: &AckRecord, at: i64) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.execute(
            "UPDATE devices SET applied_version = ?2, applied_at = CASE WHEN ?9 IS NULL THEN ?3 ELSE applied_at END, \
             entries = ?4, not_enforceable = ?5, last_error = ?9, \
             last_tamper = CASE WHEN ?6 THEN ?3 ELSE last_tamper END, last_seen = ?3, \
             hostname = ?7, addresses = ?8, exemptions = ?10 \
             WHERE id = ?1 AND (applied_version IS NULL OR applied_version <= ?2)",
            params![
                id,
                i64::try_from(ack.version).unwrap_or(i64::MAX),
                at,
                i64::try_from(ack.entries).unwrap_or(i64::MAX),
                to_json(&ack.not_enforceable)?,
                ack.tamper_repaired,
                ack.facts.hostname,
                to_json(&ack.facts.addresses)?,
                ack.error,
                to_json(&ack.exemptions)?,
            ],
        )
        .map_err(db("record ack"))?;
        Ok(())
    }

    fn move_device(&self, id: i64, group: &str, change: &Change<'_>) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin move device"))?;
        let n = tx
            .execute(
                "UPDATE devices SET group_name = ?2 WHERE id = ?1",
                params![id, group],
            )
            .map_err(db("move device"))?;
        if n == 0 {
            return Ok(false);
        }
        audit(
            &tx,
            change,
            "device.move",
            &format!("device {id}"),
            &json!({"group": group}),
        )?;
        tx.commit().map_err(db("commit move device"))?;
        Ok(true)
    }

    fn revoke_device(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db("begin revoke device"))?;
        let n = tx
            .execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![id, change.at],
            )
            .map_err(db("revoke device"))?;
        if n == 0 {
            return Ok(None);
        }
        audit(
            &tx,
            change,
            "device.revoke",
            &format!("device {id}"),
            &json!({}),
        )?;
        let device = query_devices(&tx, "WHERE id = ?1", vec![Value::Integer(id)])?
            .into_iter()
            .next();
        tx.commit().map_err(db("commit revoke device"))?;
        Ok(device)
    }
}
