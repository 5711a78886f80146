//! [`AgentConfig`]: how the agent runs, the timings of its loops, and what the configuration
//! owns on the machine (the nftables table and the state directory), so that `uninstall`
//! removes exactly that.

use std::path::PathBuf;
use std::time::Duration;

use super::AgentError;
use crate::enforcer::EnforcerError;
use crate::enforcer::nft::NftEnforcer;

/// How often expiry and the kernel table are checked.
pub const TICK: Duration = Duration::from_millis(500);
/// Silence on the push stream after which the connection is taken for dead (the server sends
/// a keep-alive every 5 s).
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest wait between reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Identity, policy and status live here (mode 0700).
    pub state_dir: PathBuf,
    /// An enrollment token (`nwe_…@URL[,URL…]`), needed on the first start only.
    pub enroll: Option<String>,
    /// Server URLs (`--server`, one per replica) that replace those of the enrollment token
    /// and of the identity kept in the state directory; empty: keep those.
    pub servers: Vec<String>,
    /// Enforce in this network namespace instead of the agent's own (the lab and tests).
    pub netns: Option<PathBuf>,
    /// The nftables table the agent owns.
    pub table: String,
    /// The cgroup whose processes' connections are attributed (the cgroup2 root in
    /// production); `None` turns process attribution off.
    pub cgroup: Option<PathBuf>,
    /// Events the on-disk spool holds at most while the server is away.
    pub spool_capacity: u64,
    /// Serve Prometheus metrics on this loopback address.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl AgentConfig {
    /// The nftables enforcer of this configuration's table, in its namespace.
    pub fn open_enforcer(&self) -> Result<NftEnforcer, EnforcerError> {
        match &self.netns {
            Some(path) => NftEnforcer::open_in(&self.table, path),
            None => NftEnforcer::open(&self.table),
        }
    }
}

/// What `uninstall` found and removed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UninstallReport {
    /// The nftables table (family `inet`).
    pub table: String,
    /// The network namespace it was looked for in; `None`: the caller's own.
    pub netns: Option<PathBuf>,
    /// Whether the table was there, and is now removed.
    pub table_removed: bool,
    /// The state directory.
    pub state_dir: PathBuf,
    /// Whether the state directory was there, and is now removed.
    pub state_dir_removed: bool,
}

/// Removes the agent's table and its state directory, and says what it found.
///
/// A table that is not there is an error ([`AgentError::TableNotFound`]), unless the agent's
/// last status says it enforced nothing (mode `off`): most likely the command runs in another
/// network namespace than the agent, or names another table, and the real table still
/// enforces. The state directory is then kept, so that the agent's identity is not lost
/// before its table is found.
pub fn uninstall(config: &AgentConfig) -> Result<UninstallReport, AgentError> {
    let mut enforcer = config.open_enforcer()?;
    let table_removed = enforcer.remove_table()?;
    if !table_removed {
        let status = super::read_status(&config.state_dir).ok().flatten();
        let expected = status.is_none_or(|s| s.mode != netward_model::ProtectionMode::Off);
        if expected {
            return Err(AgentError::TableNotFound {
                table: config.table.clone(),
                netns: config.netns.clone(),
            });
        }
    }
    let state_dir_removed = match std::fs::remove_dir_all(&config.state_dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(AgentError::State {
                path: config.state_dir.clone(),
                source,
            });
        }
    };
    Ok(UninstallReport {
        table: config.table.clone(),
        netns: config.netns.clone(),
        table_removed,
        state_dir: config.state_dir.clone(),
        state_dir_removed,
    })
}
