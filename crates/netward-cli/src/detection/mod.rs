//! `netward alert …`, `netward incident …`, `netward timeline`, `netward events` (with
//! `--follow`) and `netward hunt`: what the agents reported. Triage of alerts is in `alerts.rs`,
//! incidents in `incidents.rs`; events, timelines, hunting and the live tail in `events.rs`.

mod alerts;
mod events;
mod incidents;

pub use alerts::{AlertCommand, run_alert};
pub use events::{
    EventFilters, EventsArgs, HuntArgs, TimelineArgs, run_events, run_hunt, run_timeline,
};
pub use incidents::{IncidentCommand, run_incident};

use crate::error::CliError;

pub(crate) fn id(what: &str, id: &str) -> Result<String, CliError> {
    id.trim()
        .parse::<u64>()
        .map(|n| n.to_string())
        .map_err(|_| CliError::Usage(format!("`{id}` is not a {what} id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_numbers() {
        assert_eq!(id("alert", " 12 ").unwrap(), "12");
        assert!(matches!(id("alert", "12a"), Err(CliError::Usage(_))));
    }
}
