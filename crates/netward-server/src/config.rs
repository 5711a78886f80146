//! `netward server` configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8440";

/// The default request-body limit: 256 MiB, enough for a million-row CSV import.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where the SQLite database and the CA live. Created with mode 0700. Unused with
    /// [`Self::database`].
    pub data_dir: PathBuf,
    /// A PostgreSQL connection string (`postgres://…` or `key=value …`): the store, and the
    /// CA, are then in that database, shared by every replica that names it.
    pub database: Option<String>,
    /// The address to listen on. Plain HTTP is only served on loopback.
    pub listen: SocketAddr,
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Serve plain HTTP instead of TLS. Only allowed on a loopback address.
    pub plain_http: bool,
    /// Extra names (DNS or IP) for the server certificate, beyond the listen address.
    pub tls_names: Vec<String>,
    /// The URL agents reach the server at, when it differs from the listen address.
    pub advertise: Option<String>,
    /// Event retention and SIEM exports.
    pub detection: crate::detection::DetectionConfig,
    /// The connection cap and the client timeouts.
    pub connections: crate::connections::ConnectionLimits,
    /// Serve Prometheus metrics at `/metrics` (to any API token).
    pub metrics: bool,
}
