//! Detection on the server: ingest agents' events (each stored once), raise alerts and
//! incidents, answer the event, timeline, alert, incident and hunting queries, export to
//! SIEMs, follow live, and apply retention.
//!
//! | file | what |
//! |---|---|
//! | `alerting.rs` | the alerting rules, pure functions with property tests |
//! | `config.rs` | retention and export settings (a leaf: the control plane reads it) |
//! | `export.rs` | NDJSON and RFC 5424 syslog output (a leaf) |
//! | `entities.rs` | stored records → the API's entities; the live-follow filter |
//! | `ingest.rs` | `ControlPlane::ingest_events` |
//! | `queries.rs` | events, timeline, hunting, alerts, incidents, status changes |
//! | `follow.rs` | live followers of events and alerts (the cursors behind the streams) |
//! | `retention.rs` | deleting old events |
//! | `triage.rs` | the triage rules (assignment, classification, determination), pure |
//!
//! `control.rs` depends only on the two leaves; the rest extends `ControlPlane`.

pub mod alerting;
pub mod config;
pub mod entities;
pub mod export;
pub mod follow;
mod ingest;
mod queries;
mod retention;
pub mod triage;

pub use config::{DEFAULT_RETENTION_DAYS, DetectionConfig};
pub use entities::{alert_entity, event_entity, matches};
pub use export::{ExportError, Exporter, syslog_message};
pub use ingest::MAX_BATCH;
