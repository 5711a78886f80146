//! `netward incident …`: list, show and set the status of incidents (an incident's status
//! also follows its alerts'; the server keeps that rule).

use clap::Subcommand;
use netward_model::detection::{AlertStatus, IncidentEntity, IncidentList, StatusPatch};
use reqwest::Method;

use super::alerts::print_alerts;
use super::id;
use crate::args;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

/// Incident commands.
#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// List incidents (one per indicator, across devices).
    List {
        /// Only this status: new, inProgress or resolved.
        #[arg(long, value_parser = args::status)]
        status: Option<AlertStatus>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Show an incident with its alerts.
    Show {
        /// Incident id.
        id: String,
    },
    /// Resolve an incident and all its alerts.
    Resolve {
        /// Incident id.
        id: String,
    },
    /// Set an incident's status (and its alerts'): new, inProgress or resolved.
    SetStatus {
        /// Incident id.
        id: String,
        /// The status: new, inProgress or resolved.
        #[arg(value_parser = args::status)]
        status: AlertStatus,
    },
}

fn print_incidents(list: &[IncidentEntity]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.status.as_str().to_owned(),
                i.severity.as_str().to_owned(),
                i.title.clone(),
                i.indicator_value.clone(),
                i.device_count.to_string(),
                i.alert_count.to_string(),
                i.hit_count.to_string(),
                i.last_seen.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "ID",
            "STATUS",
            "SEVERITY",
            "TITLE",
            "INDICATOR",
            "DEVICES",
            "ALERTS",
            "HITS",
            "LAST SEEN",
        ],
        &rows,
    );
}

/// Runs an incident command; an error names the flags, not the API's fields.
pub async fn run_incident(
    client: &ApiClient,
    json: bool,
    cmd: IncidentCommand,
) -> Result<(), CliError> {
    incident_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(&flags::DETECTION))
}

async fn incident_command(
    client: &ApiClient,
    json: bool,
    cmd: IncidentCommand,
) -> Result<(), CliError> {
    let one: IncidentEntity = match cmd {
        IncidentCommand::List { status, top } => {
            let mut q = vec![("$top", top.to_string())];
            if let Some(s) = status {
                q.push(("status", s.as_str().to_owned()));
            }
            let list: IncidentList = client.get("/api/incidents", &q).await?;
            if json {
                return table::print_json(&list);
            }
            print_incidents(&list.value);
            return Ok(());
        }
        IncidentCommand::Show { id: i } => {
            client
                .get(&format!("/api/incidents/{}", id("incident", &i)?), &[])
                .await?
        }
        IncidentCommand::Resolve { id: i } => {
            set_incident(client, &i, AlertStatus::Resolved).await?
        }
        IncidentCommand::SetStatus { id: i, status } => set_incident(client, &i, status).await?,
    };
    if json {
        return table::print_json(&one);
    }
    print_incidents(std::slice::from_ref(&one));
    if let Some(alerts) = &one.alerts {
        crate::say!("\nalerts:");
        print_alerts(alerts);
    }
    Ok(())
}

async fn set_incident(
    client: &ApiClient,
    i: &str,
    status: AlertStatus,
) -> Result<IncidentEntity, CliError> {
    client
        .write(
            Method::PATCH,
            &format!("/api/incidents/{}", id("incident", i)?),
            &StatusPatch { status },
        )
        .await
}
