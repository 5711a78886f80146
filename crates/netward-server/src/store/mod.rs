//! The one interface to the server's storage. Everything the control plane keeps, it keeps
//! through [`Store`], which is the sum of one trait per resource:
//!
//! | trait | file | what |
//! |---|---|---|
//! | [`IndicatorStore`] | `indicators.rs` | indicators, their queries and search |
//! | [`FleetStore`] | `fleet.rs` | device groups, tenant settings, devices |
//! | [`EnrollmentStore`] | `enrollment.rs` | enrollment tokens, and enrolling a device with one |
//! | [`TokenStore`] | `tokens.rs` | API tokens |
//! | [`AuditStore`] | `audit.rs` | the audit log and the policy version |
//! | [`DetectionStore`] | `detection.rs` | events, alerts, incidents |
//! | [`FeedStore`] | `feeds.rs` | threat-intel feeds, their runs and their indicators' changes |
//! | [`SessionStore`] | `sessions.rs` | console sessions, by the hash of their id |
//!
//! Outside [`Store`], [`CaStore`] (`ca.rs`) keeps the server CA in a database that several
//! replicas share; only the PostgreSQL backend implements it (a single server keeps its CA in
//! its data directory).
//! | [`ChangeFeed`] | `changes.rs` | notices between replicas, and which replica runs background jobs |
//! | [`HistoryStore`] | `history.rs` | the policy history agents' deltas are served from, and the lock that orders it |
//! | [`OverviewStore`] | `overview.rs` | the console overview's counts, aggregated in the database |
//!
//! The embedded SQLite backend lives in [`sqlite`], one file per trait; another backend
//! implements the same traits, with the same [`StoreError`], and passes the same conformance
//! suite (`tests.rs`). Decisions (which alert a hit raises, how severities merge) are not made
//! here: they are pure functions in [`crate::detection::alerting`], and a backend stores what they decide.
//!
//! Every method that changes something writes its audit-log entry in the same transaction, so a
//! change and its record are durable together or not at all. Console sessions and the shared
//! CA are the exceptions: they change no policy, so they write no entry and move no version.
//! A method returns only once its transaction is durable on disk.

pub mod audit;
pub mod ca;
pub mod changes;
pub(crate) mod columns;
pub mod detection;
pub mod enrollment;
pub mod error;
pub mod feeds;
pub mod fleet;
pub mod history;
mod indicator_sql;
pub mod indicators;
pub mod overview;
pub mod postgres;
pub mod sessions;
pub mod sort;
pub mod sqlite;
#[cfg(test)]
mod tests;
pub mod tokens;

use netward_model::Actor;

pub use audit::{AuditQuery, AuditRecord, AuditStore};
pub use ca::{CaStore, StoredCa};
pub use changes::{ChangeFeed, Job, Leadership, Listener, Notice};
pub use detection::{
    AlertQuery, AlertRecord, AlertTriage, CommentRecord, ContactRecord, DetectionStore, EventQuery,
    IncidentRecord, IngestOutcome, StoredEvent, TriageUpdate,
};
pub use enrollment::{EnrollRefusal, EnrollTokenRecord, EnrollmentStore};
pub use error::StoreError;
pub use feeds::FeedStore;
pub use fleet::{AckRecord, DeviceRecord, FleetStore, GroupDeletion};
pub use history::{HistoryItem, HistoryStore, PolicyLock};
pub use indicators::{
    BatchDeletion, BulkDeletion, DeleteFilter, ImportSource, ImportSummary, IndicatorQuery,
    IndicatorStore, StoredImport,
};
pub use overview::OverviewStore;
pub use postgres::PgStore;
pub use sessions::{NewSession, SessionRecord, SessionStore};
pub use sort::{
    AlertColumn, AuditColumn, ContactColumn, EnrollTokenColumn, EventColumn, FeedColumn,
    IncidentColumn, ListPage, Sort, SortColumn, TokenColumn,
};
pub use sqlite::SqliteStore;
pub use tokens::{LastAdmin, TokenRecord, TokenStore};

/// Who makes a change, and when (Unix seconds).
#[derive(Clone, Debug)]
pub struct Change<'a> {
    /// The principal.
    pub actor: &'a Actor,
    /// The time of the change.
    pub at: i64,
}
/// Everything the control plane stores. Methods block; callers run them off the async runtime.
pub trait Store:
    IndicatorStore
    + FleetStore
    + EnrollmentStore
    + TokenStore
    + AuditStore
    + DetectionStore
    + FeedStore
    + SessionStore
    + HistoryStore
    + ChangeFeed
    + OverviewStore
    + std::fmt::Debug
    + 'static
{
}

impl<T> Store for T where
    T: IndicatorStore
        + FleetStore
        + EnrollmentStore
        + TokenStore
        + AuditStore
        + DetectionStore
        + FeedStore
        + SessionStore
        + HistoryStore
        + ChangeFeed
        + OverviewStore
        + std::fmt::Debug
        + 'static
{
}
