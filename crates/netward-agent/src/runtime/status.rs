//! The status file that `netward agent status` reads: what the running agent enforces, whether
//! it is connected, and its last error, written after every change.

use std::path::Path;

use netward_model::Action;
use netward_model::timestamp::format_rfc3339;

use super::AgentError;
use super::engine::Engine;
use super::state::{self, Identity, STATUS, Status};
use crate::enforcer::Enforcer;

/// Writes the status of `engine` to `dir`; a failure is logged, never fatal.
pub fn write_status<E: Enforcer>(
    dir: &Path,
    identity: &Identity,
    engine: &Engine<E>,
    connected: bool,
    connection_error: Option<&str>,
    now: i64,
) {
    let count = |a: Action| {
        engine
            .state
            .indicators
            .values()
            .filter(|i| i.action == a)
            .count()
    };
    let status = Status {
        server: identity.server.clone(),
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
            .last_error
            .clone()
            .or_else(|| connection_error.map(str::to_owned)),
        updated_at: format_rfc3339(now),
    };
    if let Err(error) = state::write(dir, STATUS, &status) {
        tracing::warn!(%error, "Cannot write the status file.");
    }
}

/// The status the running agent last wrote, without any server.
pub fn read_status(dir: &Path) -> Result<Option<Status>, AgentError> {
    state::read(dir, STATUS)
}
