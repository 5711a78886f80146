//! The audit log, whose newest id is the policy version.

use netward_model::{Actor, ActorKind};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::{SqliteStore, db};
use crate::store::{AuditQuery, AuditRecord, AuditStore, StoreError};

impl AuditStore for SqliteStore {
    fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.conn()?;
        let mut sql = String::from(
            "SELECT id, at, actor, actor_kind, action, target, detail FROM audit_log WHERE 1 = 1",
        );
        let mut args = Vec::new();
        if let Some(t) = &q.target {
            sql.push_str(" AND target = ?");
            args.push(Value::Text(t.clone()));
        }
        if let Some(from) = q.from {
            sql.push_str(" AND at >= ?");
            args.push(Value::Integer(from));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ? OFFSET ?");
        args.push(Value::Integer(i64::try_from(q.top).unwrap_or(i64::MAX)));
        args.push(Value::Integer(i64::try_from(q.skip).unwrap_or(i64::MAX)));
        let mut st = conn.prepare_cached(&sql).map_err(db("read audit log"))?;
        let rows = st
            .query_map(params_from_iter(args), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(db("read audit log"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, actor, kind, action, target, detail) =
                row.map_err(db("read audit log"))?;
            out.push(AuditRecord {
                id,
                at,
                actor: Actor {
                    name: actor,
                    kind: ActorKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("audit {id}: actor kind")))?,
                },
                action,
                target,
                detail,
            });
        }
        Ok(out)
    }

    fn policy_version(&self) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let v: i64 = conn
            .query_row("SELECT coalesce(max(id), 0) FROM audit_log", [], |r| {
                r.get(0)
            })
            .map_err(db("read policy version"))?;
        Ok(u64::try_from(v).unwrap_or_default())
    }

    fn indicator_version(&self, value: &str) -> Result<Option<u64>, StoreError> {
        let conn = self.conn()?;
        let v: Option<i64> = conn
            .query_row(
                // An import writes one entry for all its indicators and marks each with its id.
                "SELECT max(v) FROM (SELECT max(id) AS v FROM audit_log \
                 WHERE target = ?1 AND action LIKE 'indicator.%' \
                 UNION ALL SELECT import_id FROM indicators WHERE value = ?1)",
                [value],
                |r| r.get(0),
            )
            .map_err(db("read indicator version"))?;
        Ok(v.and_then(|v| u64::try_from(v).ok()))
    }
}
