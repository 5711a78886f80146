//! The overview's aggregations (`crate::store::overview`), run on SQLite.

use netward_model::Severity;
use netward_model::detection::AlertStatus;
use rusqlite::types::Value;
use rusqlite::{Row, params_from_iter};

use super::detection::queries::{count_alerts, event_filter};
use super::{SqliteStore, db, to_i64, to_u64};
use crate::store::overview::{
    AuditFilter, HitBucket, HitLeader, OverviewStore, SourceCount, actor_kind, audit_record,
    outcome, severity, sql,
};
use crate::store::{AlertQuery, AuditRecord, EventQuery, StoreError};

impl SqliteStore {
    /// Rows of `statement` with `args`, each read by `read`.
    fn aggregate<T>(
        &self,
        statement: &str,
        args: Vec<Value>,
        read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare_cached(statement)
            .map_err(db("aggregate for the overview"))?;
        let rows = st
            .query_map(params_from_iter(args), read)
            .map_err(db("aggregate for the overview"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("read the overview's counts"))
    }

    fn leaders(
        &self,
        statement: &str,
        from_ms: i64,
        limit: usize,
    ) -> Result<Vec<HitLeader>, StoreError> {
        let args = vec![
            Value::Integer(from_ms),
            Value::Integer(to_i64(limit as u64)),
        ];
        self.aggregate(statement, args, |r| {
            Ok(HitLeader {
                id: r.get(0)?,
                name: r.get(1)?,
                title: r.get(2)?,
                hits: to_u64(r.get(3)?),
            })
        })
    }
}

impl OverviewStore for SqliteStore {
    fn count_events(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let (filter, args) = event_filter(query);
        let statement = format!("SELECT count(*) FROM events e {filter}");
        let n = self.aggregate(&statement, args, |r| r.get::<_, i64>(0))?;
        Ok(to_u64(n.first().copied().unwrap_or(0)))
    }

    fn count_alerts(&self, query: &AlertQuery) -> Result<u64, StoreError> {
        count_alerts(&*self.conn()?, query)
    }

    fn count_incidents(&self, status: Option<AlertStatus>) -> Result<u64, StoreError> {
        let status = Value::Text(status.map(|s| s.as_str().to_owned()).unwrap_or_default());
        let n = self.aggregate(sql::INCIDENT_COUNT, vec![status], |r| r.get::<_, i64>(0))?;
        Ok(to_u64(n.first().copied().unwrap_or(0)))
    }

    fn audit_entries(&self, f: &AuditFilter) -> Result<(Vec<AuditRecord>, u64), StoreError> {
        let actor = Value::Text(f.actor.clone().unwrap_or_default());
        let action = Value::Text(f.action.clone().unwrap_or_default());
        let rows = self.aggregate(
            &sql::audit_entries(f.order),
            vec![
                actor.clone(),
                action.clone(),
                Value::Integer(to_i64(f.top as u64)),
                Value::Integer(to_i64(f.skip as u64)),
            ],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )?;
        let entries = rows
            .into_iter()
            .map(audit_record)
            .collect::<Result<_, _>>()?;
        let total = self.aggregate(sql::AUDIT_COUNT, vec![actor, action], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok((entries, to_u64(total.first().copied().unwrap_or(0))))
    }

    fn audit_actions(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self.aggregate(sql::AUDIT_ACTIONS, vec![], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        Ok(rows.into_iter().map(|(a, n)| (a, to_u64(n))).collect())
    }

    fn hits_over_time(&self, from_ms: i64, bucket_ms: i64) -> Result<Vec<HitBucket>, StoreError> {
        let args = vec![Value::Integer(from_ms), Value::Integer(bucket_ms.max(1))];
        let rows = self.aggregate(sql::HITS_OVER_TIME, args, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        rows.into_iter()
            .map(|(bucket, o, hits)| {
                Ok(HitBucket {
                    bucket,
                    outcome: outcome(&o)?,
                    hits: to_u64(hits),
                })
            })
            .collect()
    }

    fn alerts_by_severity(
        &self,
        status: Option<AlertStatus>,
    ) -> Result<Vec<(Severity, u64)>, StoreError> {
        let rows = match status {
            Some(s) => self.aggregate(
                sql::ALERTS_BY_SEVERITY_WITH_STATUS,
                vec![Value::Text(s.as_str().to_owned())],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )?,
            None => self.aggregate(sql::ALERTS_BY_SEVERITY, vec![], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?,
        };
        rows.into_iter()
            .map(|(s, n)| Ok((severity(&s)?, to_u64(n))))
            .collect()
    }

    fn top_indicators(&self, from_ms: i64, limit: usize) -> Result<Vec<HitLeader>, StoreError> {
        self.leaders(sql::TOP_INDICATORS, from_ms, limit)
    }

    fn top_devices(&self, from_ms: i64, limit: usize) -> Result<Vec<HitLeader>, StoreError> {
        self.leaders(sql::TOP_DEVICES, from_ms, limit)
    }

    fn indicators_by_source(&self) -> Result<Vec<SourceCount>, StoreError> {
        let rows = self.aggregate(sql::INDICATORS_BY_SOURCE, vec![], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        rows.into_iter()
            .map(|(kind, feed, n)| {
                Ok(SourceCount {
                    kind: actor_kind(&kind)?,
                    feed,
                    indicators: to_u64(n),
                })
            })
            .collect()
    }
}
