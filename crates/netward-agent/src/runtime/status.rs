//! The status file that `netward agent status` reads: what the running agent enforces, whether
//! it is connected, and its last error, written after every change.
//!
//! A status file outlives the agent that wrote it (`kill -9`, a crash), so whether the agent
//! runs is never taken from it: the running agent holds an exclusive lock on `agent.lock` in
//! its state directory for as long as it lives ([`RunningLock`]), the kernel releases it when
//! the process dies however it dies, and [`read_status`] tries the lock. The same lock keeps a
//! second agent off the same state directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use netward_model::Action;
use netward_model::timestamp::format_rfc3339;

use super::AgentError;
use super::engine::Engine;
use super::servers::Servers;
use super::state::{self, Identity, STATUS, Status};
use crate::enforcer::Enforcer;

/// Writes the status of `engine` to `dir`, with the server in use of `servers`; a failure is
/// logged, never fatal.
pub fn write_status<E: Enforcer>(
    dir: &Path,
    identity: &Identity,
    servers: &Servers,
    engine: &Engine<E>,
    connected: bool,
    connection_error: Option<&str>,
    now: i64,
) {
    let count = |a: Action| engine.count(a);
    let status = Status {
        running: true,
        server: servers.current().to_owned(),
        servers: servers.all().to_vec(),
        device_id: identity.device_id.clone(),
        connected,
        group: engine.state.group.clone(),
        mode: engine.state.mode,
        coverage: engine.state.coverage,
        version: engine.state.version,
        applied_at: engine.applied_at.map(format_rfc3339),
        allow: count(Action::Allow),
        block: count(Action::Block),
        audit: count(Action::Audit),
        kernel_entries: engine.entries,
        not_enforceable: engine.not_enforceable.clone(),
        last_error: engine
            .problems()
            .or_else(|| connection_error.map(str::to_owned)),
        updated_at: format_rfc3339(now),
    };
    if let Err(error) = state::write(dir, STATUS, &status) {
        tracing::warn!(%error, "Cannot write the status file.");
    }
}

/// The lock file the running agent holds.
pub const LOCK: &str = "agent.lock";

/// The exclusive lock on [`LOCK`] that the running agent holds for its lifetime.
#[derive(Debug)]
pub struct RunningLock {
    _file: File,
}

/// Takes [`LOCK`] in `dir` for this process; fails if another agent holds it.
pub fn hold_running_lock(dir: &Path) -> Result<RunningLock, AgentError> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| AgentError::State {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(RunningLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(AgentError::Config(format!(
            "another netward agent is running with the state directory {}",
            dir.display()
        ))),
        Err(TryLockError::Error(source)) => Err(AgentError::State { path, source }),
    }
}

/// Whether an agent holds [`LOCK`] in `dir` now.
pub fn agent_running(dir: &Path) -> Result<bool, AgentError> {
    let path = dir.join(LOCK);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(AgentError::State { path, source }),
    };
    match file.try_lock_shared() {
        // Released when `file` is dropped.
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(source)) => Err(AgentError::State { path, source }),
    }
}

/// The status the agent last wrote, without any server; `running` says whether that agent
/// still runs, and an agent that does not is not connected, whatever its file says.
pub fn read_status(dir: &Path) -> Result<Option<Status>, AgentError> {
    let Some(mut status) = state::read::<Status>(dir, STATUS)? else {
        return Ok(None);
    };
    status.running = agent_running(dir)?;
    status.connected &= status.running;
    Ok(Some(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_says_running_only_while_the_lock_is_held() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_status(dir.path()).unwrap().is_none());
        let written = Status {
            running: true,
            connected: true,
            ..Status::default()
        };
        state::write(dir.path(), STATUS, &written).unwrap();
        assert!(!agent_running(dir.path()).unwrap());
        let lock = hold_running_lock(dir.path()).unwrap();
        let status = read_status(dir.path()).unwrap().unwrap();
        assert!(status.running && status.connected);
        assert!(
            hold_running_lock(dir.path()).is_err(),
            "a second agent on the same state directory"
        );
        drop(lock);
        let status = read_status(dir.path()).unwrap().unwrap();
        assert!(!status.running, "a dead agent is not running");
        assert!(!status.connected, "nor connected, whatever its file said");
    }
}
