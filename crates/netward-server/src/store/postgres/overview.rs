//! The overview's aggregations (`crate::store::overview`), run on PostgreSQL: the same
//! statements as SQLite's.

use netward_model::Severity;
use netward_model::detection::AlertStatus;
use postgres::Row;
use postgres::types::ToSql;

use super::{PgStore, pg, to_i64, to_u64};
use crate::store::overview::{
    AuditFilter, HitBucket, HitLeader, OverviewStore, SourceCount, actor_kind, audit_record,
    outcome, severity, sql,
};
use crate::store::{AlertQuery, AuditRecord, EventQuery, StoreError};

impl PgStore {
    /// The rows of `statement` with `args`.
    fn aggregate(
        &self,
        statement: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        self.conn()?
            .query(statement, args)
            .map_err(pg("aggregate for the overview"))
    }

    fn leaders(
        &self,
        statement: &str,
        from_ms: i64,
        limit: usize,
    ) -> Result<Vec<HitLeader>, StoreError> {
        let limit = to_i64(limit as u64);
        Ok(self
            .aggregate(statement, &[&from_ms, &limit])?
            .iter()
            .map(|r| HitLeader {
                id: r.get(0),
                name: r.get(1),
                title: r.get(2),
                hits: to_u64(r.get(3)),
            })
            .collect())
    }
}

impl OverviewStore for PgStore {
    fn count_events(&self, q: &EventQuery) -> Result<u64, StoreError> {
        super::detection::queries::count_events(&mut **self.conn()?, q)
    }

    fn count_alerts(&self, query: &AlertQuery) -> Result<u64, StoreError> {
        super::detection::queries::count_alerts(&mut **self.conn()?, query)
    }

    fn count_incidents(&self, status: Option<AlertStatus>) -> Result<u64, StoreError> {
        let status = status.map(|s| s.as_str().to_owned()).unwrap_or_default();
        let n: i64 = self
            .aggregate(sql::INCIDENT_COUNT, &[&status])?
            .first()
            .map_or(0, |r| r.get(0));
        Ok(to_u64(n))
    }

    fn audit_entries(&self, f: &AuditFilter) -> Result<(Vec<AuditRecord>, u64), StoreError> {
        let actor = f.actor.clone().unwrap_or_default();
        let action = f.action.clone().unwrap_or_default();
        let (top, skip) = (to_i64(f.top as u64), to_i64(f.skip as u64));
        let entries = self
            .aggregate(
                &sql::audit_entries(f.order),
                &[&actor, &action, &top, &skip],
            )?
            .iter()
            .map(|r| {
                audit_record((
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                ))
            })
            .collect::<Result<_, _>>()?;
        let total: i64 = self
            .aggregate(sql::AUDIT_COUNT, &[&actor, &action])?
            .first()
            .map_or(0, |r| r.get(0));
        Ok((entries, to_u64(total)))
    }

    fn audit_actions(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(self
            .aggregate(sql::AUDIT_ACTIONS, &[])?
            .iter()
            .map(|r| (r.get(0), to_u64(r.get(1))))
            .collect())
    }

    fn hits_over_time(&self, from_ms: i64, bucket_ms: i64) -> Result<Vec<HitBucket>, StoreError> {
        let bucket_ms = bucket_ms.max(1);
        self.aggregate(sql::HITS_OVER_TIME, &[&from_ms, &bucket_ms])?
            .iter()
            .map(|r| {
                Ok(HitBucket {
                    bucket: r.get(0),
                    outcome: outcome(r.get(1))?,
                    hits: to_u64(r.get(2)),
                })
            })
            .collect()
    }

    fn alerts_by_severity(
        &self,
        status: Option<AlertStatus>,
    ) -> Result<Vec<(Severity, u64)>, StoreError> {
        let rows = match status {
            Some(s) => self.aggregate(sql::ALERTS_BY_SEVERITY_WITH_STATUS, &[&s.as_str()])?,
            None => self.aggregate(sql::ALERTS_BY_SEVERITY, &[])?,
        };
        rows.iter()
            .map(|r| Ok((severity(r.get(0))?, to_u64(r.get(1)))))
            .collect()
    }

    fn top_indicators(&self, from_ms: i64, limit: usize) -> Result<Vec<HitLeader>, StoreError> {
        self.leaders(sql::TOP_INDICATORS, from_ms, limit)
    }

    fn top_devices(&self, from_ms: i64, limit: usize) -> Result<Vec<HitLeader>, StoreError> {
        self.leaders(sql::TOP_DEVICES, from_ms, limit)
    }

    fn indicators_by_source(&self) -> Result<Vec<SourceCount>, StoreError> {
        self.aggregate(sql::INDICATORS_BY_SOURCE, &[])?
            .iter()
            .map(|r| {
                Ok(SourceCount {
                    kind: actor_kind(r.get(0))?,
                    feed: r.get(1),
                    indicators: to_u64(r.get(2)),
                })
            })
            .collect()
    }
}
