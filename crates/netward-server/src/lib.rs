//! `netward server`: the control plane. It keeps indicators, device groups, tenant settings,
//! API tokens and the audit log in an embedded SQLite store, or in PostgreSQL shared by
//! several replicas, and serves them through a REST API shaped like Microsoft Defender for
//! Endpoint's Indicators API.
//!
//! Layout: `api/` turns HTTP into typed calls on [`ControlPlane`] (`control.rs` and one file
//! per resource beside it); `store/` is the only code that touches the database; `server.rs`
//! starts and stops it all. `agents.rs` serves the agent channel and `detection.rs` events,
//! alerts and incidents; `cluster.rs` keeps replicas in step.

pub mod agents;
pub mod api;
pub mod audit_log;
pub mod bulk_delete;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod config_file;
pub mod connections;
pub mod console;
pub mod control;
pub mod detection;
pub mod feeds;
pub mod groups;
pub mod import;
pub mod indicators;
pub mod machines;
pub mod metrics;
pub mod overview;
pub mod policy_log;
pub mod policy_update;
pub mod server;
pub mod sessions;
pub mod settings;
pub mod store;
pub mod tls;
pub mod tokens;

pub use config::ServerConfig;
pub use control::{ControlError, ControlPlane};
pub use server::{RunningServer, ServerError, start, start_with_clock};
