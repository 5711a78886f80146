//! `netward indicator add|list|show|rm|import`: `list.rs` pages through the list, `remove.rs`
//! deletes one or many, `import.rs` uploads a file.

mod import;
mod list;
mod remove;

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use netward_model::agent_wire::EnforcementSummary;
use netward_model::wire::{IndicatorEntity, IndicatorList};
use netward_model::{IndicatorSubmission, MdeAction, Severity};
use reqwest::Method;

use crate::args::{self, TimeArg};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

/// Indicator commands.
#[derive(Subcommand, Debug)]
pub enum IndicatorCommand {
    /// Submit an indicator, or update the one with the same value.
    Add {
        /// IPv4 or IPv6 address, or CIDR network.
        value: String,
        /// allow, audit or block (MDE's Allowed, Audit, Block, AlertAndBlock also work).
        #[arg(long, value_parser = args::action)]
        action: MdeAction,
        /// Alert title.
        #[arg(long)]
        title: String,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// Informational, Low, Medium or High.
        #[arg(long, value_parser = args::severity)]
        severity: Option<Severity>,
        /// When it stops applying: a duration from now (30m, 12h, 7d, 2w) or an RFC 3339 time
        /// such as 2030-01-31T00:00:00Z.
        #[arg(long, value_parser = args::time, value_name = "WHEN")]
        expires: Option<TimeArg>,
        /// Whether hits raise alerts (true or false).
        #[arg(long)]
        alert: Option<bool>,
        /// Device group in scope; repeat for several. None means every device.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Recommended actions shown with alerts.
        #[arg(long)]
        recommended_actions: Option<String>,
        /// Your own correlation id.
        #[arg(long)]
        external_id: Option<String>,
        /// Accept a block the guard rails would refuse (loopback, link-local, the server, wider than /8 or /32).
        #[arg(long)]
        force: bool,
    },
    /// List indicators: a page (10,000 at most), or every one with --all.
    List(list::ListArgs),
    /// Show one indicator, by id or value.
    Show {
        /// Id or value.
        indicator: String,
    },
    /// Delete an indicator by id or value, or every indicator that matches filters.
    Rm(remove::RemoveArgs),
    /// Import a CSV (MDE's template), JSON ({"Indicators": [...]}) or plain list file.
    Import {
        /// The file.
        file: PathBuf,
        /// The format; by default from the extension (.csv, .json, anything else a list).
        #[arg(long, value_enum)]
        format: Option<ImportFileFormat>,
        /// Lists: the action of every line.
        #[arg(long, value_parser = args::action)]
        action: Option<MdeAction>,
        /// Lists: the title of every line.
        #[arg(long)]
        title: Option<String>,
        /// Lists: the description.
        #[arg(long)]
        description: Option<String>,
        /// Lists: the severity.
        #[arg(long, value_parser = args::severity)]
        severity: Option<Severity>,
        /// Lists: when they stop applying (30m, 12h, 7d, or an RFC 3339 time).
        #[arg(long, value_parser = args::time, value_name = "WHEN")]
        expires: Option<TimeArg>,
        /// Lists: whether hits raise alerts.
        #[arg(long)]
        alert: Option<bool>,
        /// Lists: device groups in scope (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Accept blocks the guard rails would refuse.
        #[arg(long)]
        force: bool,
    },
}

/// Import file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImportFileFormat {
    /// MDE's CSV template.
    Csv,
    /// `{"Indicators": [...]}`.
    Json,
    /// One value per line, `#` comments.
    List,
}

fn rows(list: &[IndicatorEntity]) -> Vec<Vec<String>> {
    list.iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.indicator_value.clone(),
                action_text(i.action),
                i.title.clone(),
                i.severity.clone(),
                if i.rbac_group_names.is_empty() {
                    "(all)".into()
                } else {
                    i.rbac_group_names.join(",")
                },
                match (&i.expiration_time, i.expired) {
                    (Some(t), true) => format!("{t} (expired)"),
                    (Some(t), false) => t.clone(),
                    (None, _) => "never".into(),
                },
            ]
        })
        .collect()
}

const HEADERS: [&str; 7] = [
    "ID", "VALUE", "ACTION", "TITLE", "SEVERITY", "GROUPS", "EXPIRES",
];

fn print_one(i: &IndicatorEntity) {
    table::print_record(&[
        ("id", i.id.clone()),
        ("value", i.indicator_value.clone()),
        ("action", action_text(i.action)),
        ("title", i.title.clone()),
        ("description", i.description.clone()),
        ("severity", i.severity.clone()),
        ("generate alert", i.generate_alert.to_string()),
        (
            "groups",
            if i.rbac_group_names.is_empty() {
                "(all devices)".into()
            } else {
                i.rbac_group_names.join(", ")
            },
        ),
        (
            "expires",
            i.expiration_time.clone().unwrap_or_else(|| "never".into()),
        ),
        ("expired", i.expired.to_string()),
        ("recommended actions", i.recommended_actions.clone()),
        ("external id", i.external_id.clone()),
        ("application", i.application.clone()),
        (
            "category",
            i.category
                .map(|c| c.to_string())
                .unwrap_or_else(|| i.category_name.clone()),
        ),
        ("mitre techniques", i.mitre_techniques.join(", ")),
        ("educate url", i.educate_url.clone()),
        (
            "source",
            format!("{} ({})", i.source, i.source_type.as_str()),
        ),
        (
            "created",
            format!("{} by {}", i.creation_time_date_time_utc, i.created_by),
        ),
        (
            "updated",
            format!("{} by {}", i.last_update_time, i.last_updated_by),
        ),
        ("import", i.import_id.clone().unwrap_or_else(|| "-".into())),
        (
            "enforcement",
            i.enforcement
                .as_ref()
                .map_or_else(|| "-".into(), enforcement_line),
        ),
    ]);
}

/// The action as every command shows it: `block`, with MDE's name when it says more
/// (`block (AlertAndBlock)`).
pub fn action_text(action: MdeAction) -> String {
    let plain = action.action();
    if MdeAction::from(plain) == action {
        plain.as_str().to_owned()
    } else {
        format!("{} ({})", plain.as_str(), action.as_str())
    }
}

/// "enforced on 37/40 devices; not yet: web-3 (offline since …), …".
fn enforcement_line(e: &EnforcementSummary) -> String {
    let mut line = format!("enforced on {}/{} devices", e.enforced, e.in_scope);
    if e.not_enforced.is_empty() {
        return line;
    }
    let lagging: Vec<String> = e
        .not_enforced
        .iter()
        .map(|d| {
            let why = if d.not_enforceable {
                "not enforceable there: it covers an address the agent exempts".to_owned()
            } else if let Some(error) = &d.error {
                format!("error: {error}")
            } else if d.online {
                "online, not yet applied".to_owned()
            } else {
                format!("offline since {}", d.last_seen)
            };
            format!("{} #{} ({why})", d.hostname, d.id)
        })
        .collect();
    line.push_str("; not yet: ");
    line.push_str(&lagging.join(", "));
    line
}

/// Finds an indicator by id, or else by value (expired ones included).
pub(super) async fn find(client: &ApiClient, key: &str) -> Result<IndicatorEntity, CliError> {
    if key.bytes().all(|b| b.is_ascii_digit()) {
        return client.get(&format!("/api/indicators/{key}"), &[]).await;
    }
    let list: IndicatorList = client
        .get(
            "/api/indicators",
            &[("value", key.to_owned()), ("includeExpired", "true".into())],
        )
        .await?;
    let found = list
        .value
        .into_iter()
        .next()
        .ok_or_else(|| CliError::NotFound(format!("no indicator has the value {key}")))?;
    // The single-indicator route adds on how many devices it is enforced.
    client
        .get(&format!("/api/indicators/{}", found.id), &[])
        .await
}

/// Runs an indicator command; an error names the flags, not the API's fields.
pub async fn run(client: &ApiClient, json: bool, cmd: IndicatorCommand) -> Result<(), CliError> {
    let flags = match &cmd {
        IndicatorCommand::Add { .. } => &flags::INDICATOR_ADD,
        IndicatorCommand::List(_) => &flags::INDICATOR_LIST,
        IndicatorCommand::Show { .. } => &flags::INDICATOR_ONE,
        IndicatorCommand::Rm(r) if !r.is_single() => &flags::INDICATOR_RM,
        IndicatorCommand::Rm(_) => &flags::INDICATOR_ONE,
        IndicatorCommand::Import { .. } => &flags::INDICATOR_IMPORT,
    };
    run_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(flags))
}

async fn run_command(
    client: &ApiClient,
    json: bool,
    cmd: IndicatorCommand,
) -> Result<(), CliError> {
    match cmd {
        IndicatorCommand::Add {
            value,
            action,
            title,
            description,
            severity,
            expires,
            alert,
            groups,
            recommended_actions,
            external_id,
            force,
        } => {
            let body = IndicatorSubmission {
                indicator_value: Some(value),
                indicator_type: Some("IpAddress".into()),
                action: Some(action.as_str().to_owned()),
                title: Some(title),
                description,
                severity: severity.map(|s| s.as_str().to_owned()),
                expiration_time: expires.map(|t| t.ahead_of(args::now())),
                generate_alert: alert,
                rbac_group_names: Some(groups),
                recommended_actions,
                external_id,
                ..Default::default()
            };
            let req = client
                .request(Method::POST, "/api/indicators")
                .query(&[("force", force.to_string())])
                .json(&body);
            let ind: IndicatorEntity = client.send(req).await?;
            if json {
                table::print_json(&ind)
            } else {
                print_one(&ind);
                Ok(())
            }
        }
        IndicatorCommand::List(list) => list::run(client, json, list).await,
        IndicatorCommand::Show { indicator } => {
            let ind = find(client, &indicator).await?;
            if json {
                table::print_json(&ind)
            } else {
                print_one(&ind);
                Ok(())
            }
        }
        IndicatorCommand::Rm(rm) => remove::run(client, json, rm).await,
        IndicatorCommand::Import {
            file,
            format,
            action,
            title,
            description,
            severity,
            expires,
            alert,
            groups,
            force,
        } => {
            let format = format.unwrap_or_else(|| import::guess_format(&file));
            let mut query = vec![("force", force.to_string())];
            if format == ImportFileFormat::List {
                for (k, v) in [
                    ("action", action.map(|a| a.as_str().to_owned())),
                    ("title", title),
                    ("description", description),
                    ("severity", severity.map(|s| s.as_str().to_owned())),
                    ("expirationTime", expires.map(|t| t.ahead_of(args::now()))),
                    ("generateAlert", alert.map(|a| a.to_string())),
                ] {
                    if let Some(v) = v {
                        query.push((k, v));
                    }
                }
                if !groups.is_empty() {
                    query.push(("rbacGroupNames", groups.join(",")));
                }
            } else if action.is_some() || title.is_some() || !groups.is_empty() {
                return Err(CliError::Usage(
                    "--action, --title and the other defaults apply to plain lists only; CSV and JSON rows carry their own".into(),
                ));
            }
            let (results, import_id) = import::import(client, &file, format, &query).await?;
            import::report_import(json, &results, import_id.as_deref())
        }
    }
}
