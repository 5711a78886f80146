//! `netward alert …`: list, show and triage (assign, classify, comment, status).

use clap::Subcommand;
use netward_model::detection::{
    AlertEntity, AlertList, AlertPatch, AlertStatus, Classification, CommentBody, Determination,
    Outcome,
};
use reqwest::Method;

use super::events::print_events;
use super::id;
use crate::args;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

/// Alert commands.
#[derive(Subcommand, Debug)]
pub enum AlertCommand {
    /// List alerts, most recently active first.
    List {
        /// Only this status: new, inProgress or resolved.
        #[arg(long, value_parser = args::status)]
        status: Option<AlertStatus>,
        /// Only this device.
        #[arg(long)]
        device: Option<String>,
        /// Only this indicator.
        #[arg(long)]
        indicator: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Show an alert with the events behind it.
    Show {
        /// Alert id.
        id: String,
    },
    /// Mark an alert resolved.
    Resolve {
        /// Alert id.
        id: String,
    },
    /// Set an alert's status: new, inProgress or resolved.
    SetStatus {
        /// Alert id.
        id: String,
        /// The status: new, inProgress or resolved.
        #[arg(value_parser = args::status)]
        status: AlertStatus,
    },
    /// Assign an alert to a user or token name, or unassign it.
    Assign {
        /// Alert id.
        id: String,
        /// Who takes it.
        #[arg(required_unless_present = "unassign")]
        to: Option<String>,
        /// Leave it unassigned.
        #[arg(long, conflicts_with = "to")]
        unassign: bool,
    },
    /// Classify an alert: TruePositive, InformationalExpectedActivity or FalsePositive, with a
    /// determination that fits it (e.g. Malware, SecurityTesting, NotMalicious, Other).
    Classify {
        /// Alert id.
        id: String,
        /// The classification.
        #[arg(value_parser = args::classification)]
        classification: Classification,
        /// Why: a determination that fits the classification.
        #[arg(long, value_parser = args::determination)]
        determination: Option<Determination>,
    },
    /// Comment on an alert.
    Comment {
        /// Alert id.
        id: String,
        /// The comment.
        comment: String,
    },
}

/// Outcomes as a table cell.
fn outcomes_text(outcomes: &[Outcome], sep: &str) -> String {
    outcomes
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(sep)
}

pub(super) fn print_alerts(list: &[AlertEntity]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.status.as_str().to_owned(),
                a.severity.as_str().to_owned(),
                a.title.clone(),
                a.device_name.clone(),
                a.indicator_value.clone(),
                a.hit_count.to_string(),
                outcomes_text(&a.outcomes, ","),
                a.last_seen.clone(),
            ]
        })
        .collect();
    table::print_painted(
        &[
            "ID",
            "STATUS",
            "SEVERITY",
            "TITLE",
            "DEVICE",
            "INDICATOR",
            "HITS",
            "OUTCOMES",
            "LAST SEEN",
        ],
        &rows,
        7,
        table::Paint::outcome,
    );
}

fn print_alert(a: &AlertEntity) {
    table::print_record(&[
        ("id", a.id.clone()),
        ("incident", a.incident_id.clone()),
        ("title", a.title.clone()),
        ("severity", a.severity.as_str().to_owned()),
        ("status", a.status.as_str().to_owned()),
        (
            "status changed",
            match (&a.status_changed_by, &a.status_changed_at) {
                (Some(by), Some(at)) => format!("{at} by {by}"),
                _ => "-".into(),
            },
        ),
        (
            "assigned to",
            match (&a.assigned_to, &a.assigned_by, &a.assigned_at) {
                (Some(to), Some(by), Some(at)) => format!("{to} (by {by}, {at})"),
                _ => "-".into(),
            },
        ),
        (
            "classification",
            match (&a.classification, &a.classified_by, &a.classified_at) {
                (Some(c), Some(by), Some(at)) => format!(
                    "{c}{} (by {by}, {at})",
                    a.determination
                        .map(|d| format!(", {d}"))
                        .unwrap_or_default()
                ),
                _ => "-".into(),
            },
        ),
        ("device", format!("{} ({})", a.device_name, a.device_id)),
        (
            "indicator",
            format!("{} ({})", a.indicator_value, a.indicator_id),
        ),
        (
            "recommended actions",
            a.recommended_actions.clone().unwrap_or_else(|| "-".into()),
        ),
        ("first seen", a.first_seen.clone()),
        ("last seen", a.last_seen.clone()),
        ("hits", a.hit_count.to_string()),
        ("outcomes", outcomes_text(&a.outcomes, ", ")),
    ]);
    if let Some(evidence) = &a.evidence {
        crate::say!("\nevidence:");
        print_events(evidence);
    }
    if let Some(comments) = a.comments.as_ref().filter(|c| !c.is_empty()) {
        crate::say!("\ncomments:");
        for c in comments {
            crate::say!("{} {}: {}", c.created_time, c.created_by, c.comment);
        }
    }
}

/// Runs an alert command; an error names the flags, not the API's fields.
pub async fn run_alert(client: &ApiClient, json: bool, cmd: AlertCommand) -> Result<(), CliError> {
    alert_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(&flags::DETECTION))
}

async fn alert_command(client: &ApiClient, json: bool, cmd: AlertCommand) -> Result<(), CliError> {
    let one: AlertEntity = match cmd {
        AlertCommand::List {
            status,
            device,
            indicator,
            top,
        } => {
            let mut q = vec![("$top", top.to_string())];
            if let Some(s) = status {
                q.push(("status", s.as_str().to_owned()));
            }
            if let Some(d) = device {
                q.push(("deviceId", id("device", &d)?));
            }
            if let Some(i) = indicator {
                q.push(("indicatorId", id("indicator", &i)?));
            }
            let list: AlertList = client.get("/api/alerts", &q).await?;
            if json {
                return table::print_json(&list);
            }
            print_alerts(&list.value);
            return Ok(());
        }
        AlertCommand::Show { id: a } => {
            client
                .get(&format!("/api/alerts/{}", id("alert", &a)?), &[])
                .await?
        }
        AlertCommand::Resolve { id: a } => set_alert(client, &a, AlertStatus::Resolved).await?,
        AlertCommand::SetStatus { id: a, status } => set_alert(client, &a, status).await?,
        AlertCommand::Assign { id: a, to, .. } => {
            let patch = AlertPatch {
                assigned_to: Some(to),
                ..AlertPatch::default()
            };
            patch_alert(client, &a, &patch).await?
        }
        AlertCommand::Classify {
            id: a,
            classification,
            determination,
        } => {
            let patch = AlertPatch {
                classification: Some(Some(classification)),
                determination: determination.map(Some),
                ..AlertPatch::default()
            };
            patch_alert(client, &a, &patch).await?
        }
        AlertCommand::Comment { id: a, comment } => {
            client
                .write(
                    Method::POST,
                    &format!("/api/alerts/{}/comments", id("alert", &a)?),
                    &CommentBody { comment },
                )
                .await?
        }
    };
    if json {
        return table::print_json(&one);
    }
    print_alert(&one);
    Ok(())
}

async fn set_alert(
    client: &ApiClient,
    a: &str,
    status: AlertStatus,
) -> Result<AlertEntity, CliError> {
    let patch = AlertPatch {
        status: Some(status),
        ..AlertPatch::default()
    };
    patch_alert(client, a, &patch).await
}

async fn patch_alert(
    client: &ApiClient,
    a: &str,
    patch: &AlertPatch,
) -> Result<AlertEntity, CliError> {
    client
        .write(
            Method::PATCH,
            &format!("/api/alerts/{}", id("alert", a)?),
            patch,
        )
        .await
}
