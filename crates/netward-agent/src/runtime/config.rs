//! [`AgentConfig`]: how the agent runs, the timings of its loops, and what the configuration
//! owns on the machine (the nftables table and the state directory), so that `uninstall`
//! removes exactly that.

use std::path::PathBuf;
use std::time::Duration;

use super::AgentError;
use crate::enforcer::nft::NftEnforcer;
use crate::enforcer::{Enforcer, EnforcerError};

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
    /// An enrollment token (`nwe_…@URL`), needed on the first start only.
    pub enroll: Option<String>,
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

/// Removes the agent's table and its state directory.
pub fn uninstall(config: &AgentConfig) -> Result<(), AgentError> {
    config.open_enforcer()?.remove()?;
    match std::fs::remove_dir_all(&config.state_dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AgentError::State {
            path: config.state_dir.clone(),
            source,
        }),
    }
}
