//! How detection runs: retention and the SIEM outputs. A leaf: the control plane reads it,
//! and it depends on nothing of the server's.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The default event retention, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// How detection runs.
#[derive(Clone, Debug)]
pub struct DetectionConfig {
    /// Events older than this many days are deleted.
    pub retention_days: u32,
    /// Append every event and alert, as one JSON object per line, to this file.
    pub ndjson: Option<PathBuf>,
    /// Send every event and alert as an RFC 5424 syslog message over UDP to this address.
    pub syslog: Option<SocketAddr>,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        Self {
            retention_days: DEFAULT_RETENTION_DAYS,
            ndjson: None,
            syslog: None,
        }
    }
}
