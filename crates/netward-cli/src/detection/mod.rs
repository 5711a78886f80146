//! `netward alert …`, `netward incident …`, `netward timeline`, `netward events` (with
//! `--follow`) and `netward hunt`: what the agents reported. Triage of alerts and incidents is
//! in `alerts.rs`; events, timelines, hunting and the live tail in `events.rs`.

mod alerts;
mod events;

pub use alerts::{AlertCommand, IncidentCommand, run_alert, run_incident};
pub use events::{
    EventFilters, EventsArgs, HuntArgs, TimelineArgs, run_events, run_hunt, run_timeline,
};

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
