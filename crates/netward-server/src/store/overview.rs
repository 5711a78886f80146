//! What the console's overview counts, aggregated by the database: hits over time by
//! outcome, alerts by severity, the top indicators and devices by hits, and indicators by
//! source; and the console's audit-log page, filtered by actor and action and counted. No
//! method loads rows to count them; each count is one `GROUP BY` or `count(*)`.
//!
//! A hit is one attempt: an event counts `count` hits. An event belongs to a window when its
//! last attempt is at or after the window's start, as `GET /api/events?from=` selects, so the
//! overview's numbers and the API's agree for the same data.
//!
//! The statements are written once, in SQL that SQLite and PostgreSQL both read (numbered
//! parameters, `CAST(sum(..) AS BIGINT)` since PostgreSQL's sum of a bigint is a numeric);
//! each backend runs them in its own `overview.rs`.

use netward_model::detection::{AlertStatus, Outcome};
use netward_model::{ActorKind, Severity};

use netward_model::Actor;

use super::{AlertQuery, AuditColumn, AuditRecord, EventQuery, Sort, StoreError};

/// Hits of one outcome in one bucket of a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitBucket {
    /// The bucket: `(last attempt - start) / bucket length`, from 0.
    pub bucket: i64,
    /// The outcome.
    pub outcome: Outcome,
    /// Attempts.
    pub hits: u64,
}

/// An indicator or a device, with its hits in a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitLeader {
    /// The indicator's or device's id.
    pub id: i64,
    /// Its value or host name; empty when it was deleted since.
    pub name: String,
    /// Its title (indicators); empty for a device.
    pub title: String,
    /// Attempts.
    pub hits: u64,
}

/// Indicators created by one kind of actor (and, for feeds, one feed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceCount {
    /// Who created them: a person, a script, a feed or netward.
    pub kind: ActorKind,
    /// The feed's name for [`ActorKind::Feed`]; empty otherwise.
    pub feed: String,
    /// Indicators stored, expired ones included.
    pub indicators: u64,
}

/// The audit-log page's filters and paging, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries by this actor (its name).
    pub actor: Option<String>,
    /// Only entries of this action (`indicator.create`).
    pub action: Option<String>,
    /// The order; newest first without one.
    pub order: Option<Sort<AuditColumn>>,
    /// Page size.
    pub top: usize,
    /// Entries to skip.
    pub skip: usize,
}

/// The overview's aggregations.
pub trait OverviewStore: Send + Sync {
    /// How many events match `query`'s filters (its paging and order ignored), for a list's
    /// "1–100 of N".
    fn count_events(&self, query: &EventQuery) -> Result<u64, StoreError>;
    /// How many alerts match `query`'s filters (its paging and order ignored).
    fn count_alerts(&self, query: &AlertQuery) -> Result<u64, StoreError>;
    /// How many incidents have `status` (any when `None`).
    fn count_incidents(&self, status: Option<AlertStatus>) -> Result<u64, StoreError>;
    /// One page of the audit log entries that match `filter`, in its order, and how many
    /// match in all.
    fn audit_entries(&self, filter: &AuditFilter) -> Result<(Vec<AuditRecord>, u64), StoreError>;
    /// Every action in the audit log, with its entries, by name.
    fn audit_actions(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Hits of the events whose last attempt is at or after `from_ms`, by bucket of
    /// `bucket_ms` counted from `from_ms`, and by outcome; empty buckets are left out.
    fn hits_over_time(&self, from_ms: i64, bucket_ms: i64) -> Result<Vec<HitBucket>, StoreError>;
    /// Alerts by severity, only those with `status` when given; severities with none are
    /// left out.
    fn alerts_by_severity(
        &self,
        status: Option<AlertStatus>,
    ) -> Result<Vec<(Severity, u64)>, StoreError>;
    /// The `limit` indicators with the most hits since `from_ms`, most first (ties by id).
    fn top_indicators(&self, from_ms: i64, limit: usize) -> Result<Vec<HitLeader>, StoreError>;
    /// The `limit` devices with the most hits since `from_ms`, most first (ties by id).
    fn top_devices(&self, from_ms: i64, limit: usize) -> Result<Vec<HitLeader>, StoreError>;
    /// Stored indicators by who created them, most first.
    fn indicators_by_source(&self) -> Result<Vec<SourceCount>, StoreError>;
}

/// The statements, shared by both backends (`$n` parameters, which SQLite reads too).
pub(crate) mod sql {
    /// `$1` start (ms), `$2` bucket length (ms).
    pub const HITS_OVER_TIME: &str = "SELECT (last_ms - $1) / $2 AS bucket, outcome, \
        CAST(sum(count) AS BIGINT) FROM events WHERE last_ms >= $1 \
        GROUP BY 1, 2 ORDER BY 1, 2";
    /// No parameter.
    pub const ALERTS_BY_SEVERITY: &str =
        "SELECT severity, count(*) FROM alerts GROUP BY severity ORDER BY severity";
    /// `$1` the status.
    pub const ALERTS_BY_SEVERITY_WITH_STATUS: &str = "SELECT severity, count(*) FROM alerts \
        WHERE status = $1 GROUP BY severity ORDER BY severity";
    /// `$1` start (ms), `$2` limit.
    pub const TOP_INDICATORS: &str = "SELECT l.indicator_id, coalesce(i.value, ''), \
        coalesce(i.title, ''), CAST(sum(e.count) AS BIGINT) AS hits \
        FROM event_indicators l JOIN events e ON e.id = l.event_id \
        LEFT JOIN indicators i ON i.id = l.indicator_id \
        WHERE e.last_ms >= $1 GROUP BY l.indicator_id, i.value, i.title \
        ORDER BY hits DESC, l.indicator_id LIMIT $2";
    /// `$1` start (ms), `$2` limit.
    pub const TOP_DEVICES: &str = "SELECT e.device_id, coalesce(d.hostname, ''), '', \
        CAST(sum(e.count) AS BIGINT) AS hits \
        FROM events e LEFT JOIN devices d ON d.id = e.device_id \
        WHERE e.last_ms >= $1 GROUP BY e.device_id, d.hostname \
        ORDER BY hits DESC, e.device_id LIMIT $2";
    use crate::store::sort::{AuditColumn, Sort, order_by};

    /// `$1` actor (empty: any), `$2` action (empty: any), `$3` limit, `$4` offset; in
    /// `order`, newest first without one.
    pub fn audit_entries(order: Option<Sort<AuditColumn>>) -> String {
        format!(
            "SELECT id, at, actor, actor_kind, action, target, detail \
             FROM audit_log WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2)\
             {} LIMIT $3 OFFSET $4",
            order_by(order, "id DESC", "id")
        )
    }
    /// `$1` the status (empty: any).
    pub const INCIDENT_COUNT: &str =
        "SELECT count(*) FROM incidents WHERE ($1 = '' OR status = $1)";
    /// `$1` actor (empty: any), `$2` action (empty: any).
    pub const AUDIT_COUNT: &str = "SELECT count(*) FROM audit_log \
        WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2)";
    /// No parameter.
    pub const AUDIT_ACTIONS: &str =
        "SELECT action, count(*) FROM audit_log GROUP BY action ORDER BY action";
    /// No parameter.
    pub const INDICATORS_BY_SOURCE: &str = "SELECT created_by_kind, \
        CASE WHEN created_by_kind = 'Feed' THEN created_by ELSE '' END, count(*) AS n \
        FROM indicators GROUP BY 1, 2 ORDER BY n DESC, 1, 2";
}

/// A stored outcome, or [`StoreError::Corrupt`] naming it.
pub(crate) fn outcome(raw: &str) -> Result<Outcome, StoreError> {
    Outcome::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("event outcome `{raw}`")))
}

/// A stored severity, or [`StoreError::Corrupt`] naming it.
pub(crate) fn severity(raw: &str) -> Result<Severity, StoreError> {
    Severity::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("alert severity `{raw}`")))
}

/// An audit entry from its stored columns (`id, at, actor, actor_kind, action, target,
/// detail`).
pub(crate) fn audit_record(
    (id, at, name, kind, action, target, detail): (
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
    ),
) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id,
        at,
        actor: Actor {
            name,
            kind: ActorKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("audit {id}: actor kind `{kind}`")))?,
        },
        action,
        target,
        detail,
    })
}

/// A stored actor kind, or [`StoreError::Corrupt`] naming it.
pub(crate) fn actor_kind(raw: &str) -> Result<ActorKind, StoreError> {
    ActorKind::parse(raw)
        .ok_or_else(|| StoreError::Corrupt(format!("indicator creator kind `{raw}`")))
}
