//! The audit log, whose newest id is the policy version; see [`super::begin_audited`] for why
//! that id is commit-ordered.

use netward_model::{Actor, ActorKind};

use super::indicator_query::Args;
use super::{PgStore, pg};
use crate::store::{AuditQuery, AuditRecord, AuditStore, StoreError};

/// The audit log's part of schema version 1.
pub(super) const SCHEMA: &str = "
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at bigint NOT NULL,
    actor text NOT NULL,
    actor_kind text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    detail text NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target);
";

impl AuditStore for PgStore {
    fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut args = Args::default();
        let mut sql = String::from(
            "SELECT id, at, actor, actor_kind, action, target, detail FROM audit_log WHERE 1 = 1",
        );
        if let Some(t) = &q.target {
            sql.push_str(&format!(" AND target = {}", args.text(t.as_str())));
        }
        if let Some(from) = q.from {
            sql.push_str(&format!(" AND at >= {}", args.int(from)));
        }
        let limit = args.int(i64::try_from(q.top).unwrap_or(i64::MAX));
        let offset = args.int(i64::try_from(q.skip).unwrap_or(i64::MAX));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit} OFFSET {offset}"));
        let mut conn = self.conn()?;
        let rows = conn
            .query(sql.as_str(), &args.refs())
            .map_err(pg("read audit log"))?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let kind: String = r.get(3);
                Ok(AuditRecord {
                    id,
                    at: r.get(1),
                    actor: Actor {
                        name: r.get(2),
                        kind: ActorKind::parse(&kind).ok_or_else(|| {
                            StoreError::Corrupt(format!("audit {id}: actor kind"))
                        })?,
                    },
                    action: r.get(4),
                    target: r.get(5),
                    detail: r.get(6),
                })
            })
            .collect()
    }

    fn policy_version(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let v: i64 = conn
            .query_one("SELECT coalesce(max(id), 0) FROM audit_log", &[])
            .map_err(pg("read policy version"))?
            .get(0);
        Ok(super::to_u64(v))
    }

    fn indicator_version(&self, value: &str) -> Result<Option<u64>, StoreError> {
        let mut conn = self.conn()?;
        let v: Option<i64> = conn
            .query_one(
                // An import writes one entry for all its indicators and marks each with its id.
                "SELECT max(v) FROM (SELECT max(id) AS v FROM audit_log \
                 WHERE target = $1 AND action LIKE 'indicator.%' \
                 UNION ALL SELECT import_id FROM indicators WHERE value = $1) AS versions",
                &[&value],
            )
            .map_err(pg("read indicator version"))?
            .get(0);
        Ok(v.and_then(|v| u64::try_from(v).ok()))
    }
}
