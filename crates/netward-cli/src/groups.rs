//! `netward group list|show|create|update|rm|policy`.

use clap::Subcommand;
use netward_model::wire::{GroupCreate, GroupEntity, GroupList, GroupPatch, PolicyEntity};
use netward_model::{Coverage, ProtectionMode};
use reqwest::Method;

use crate::args;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

/// Device-group commands.
#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List groups.
    List,
    /// Show one group.
    Show {
        /// Group name.
        name: String,
    },
    /// Create a group.
    Create {
        /// Group name.
        name: String,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// off, audit or block (default block).
        #[arg(long, value_parser = args::mode)]
        mode: Option<ProtectionMode>,
        /// all (default) or tcp.
        #[arg(long, value_parser = args::coverage)]
        coverage: Option<Coverage>,
    },
    /// Change a group's description, mode or coverage.
    Update {
        /// Group name.
        name: String,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// off, audit or block.
        #[arg(long, value_parser = args::mode)]
        mode: Option<ProtectionMode>,
        /// all or tcp.
        #[arg(long, value_parser = args::coverage)]
        coverage: Option<Coverage>,
    },
    /// Delete a group no indicator names.
    Rm {
        /// Group name.
        name: String,
    },
    /// Show the effective policy a device of the group enforces now.
    Policy {
        /// Group name.
        name: String,
    },
}

fn path(name: &str) -> String {
    crate::client::named("/api/groups", name)
}

fn print_groups(json: bool, groups: &[GroupEntity]) -> Result<(), CliError> {
    if json {
        return table::print_json(&groups);
    }
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.name.clone(),
                g.mode.as_str().to_owned(),
                g.coverage.as_str().to_owned(),
                g.description.clone(),
            ]
        })
        .collect();
    table::print(&["NAME", "MODE", "COVERAGE", "DESCRIPTION"], &rows);
    Ok(())
}

/// Runs a group command; an error names the flags, not the API's fields.
pub async fn run(client: &ApiClient, json: bool, cmd: GroupCommand) -> Result<(), CliError> {
    run_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(&flags::GROUP))
}

async fn run_command(client: &ApiClient, json: bool, cmd: GroupCommand) -> Result<(), CliError> {
    match cmd {
        GroupCommand::List => {
            let list: GroupList = client.get("/api/groups", &[]).await?;
            print_groups(json, &list.value)
        }
        GroupCommand::Show { name } => {
            let g: GroupEntity = client.get(&path(&name), &[]).await?;
            print_groups(json, &[g])
        }
        GroupCommand::Create {
            name,
            description,
            mode,
            coverage,
        } => {
            let body = GroupCreate {
                name: Some(name),
                description,
                mode: mode.map(|m| m.as_str().to_owned()),
                coverage: coverage.map(|c| c.as_str().to_owned()),
            };
            let g: GroupEntity = client.write(Method::POST, "/api/groups", &body).await?;
            print_groups(json, &[g])
        }
        GroupCommand::Update {
            name,
            description,
            mode,
            coverage,
        } => {
            let body = GroupPatch {
                description,
                mode: mode.map(|m| m.as_str().to_owned()),
                coverage: coverage.map(|c| c.as_str().to_owned()),
            };
            let g: GroupEntity = client.write(Method::PATCH, &path(&name), &body).await?;
            print_groups(json, &[g])
        }
        GroupCommand::Rm { name } => {
            client
                .send_raw(client.request(Method::DELETE, &path(&name)))
                .await?;
            if !json {
                crate::say!("deleted group {name}");
            }
            Ok(())
        }
        GroupCommand::Policy { name } => {
            let p: PolicyEntity = client.get(&format!("{}/policy", path(&name)), &[]).await?;
            if json {
                return table::print_json(&p);
            }
            table::print_record(&[
                ("group", p.group.clone()),
                ("mode", p.mode.as_str().to_owned()),
                ("coverage", p.coverage.as_str().to_owned()),
                (
                    "custom network indicators",
                    if p.custom_network_indicators {
                        "on".into()
                    } else {
                        "off".into()
                    },
                ),
                ("indicators", p.indicator_count.to_string()),
                (
                    "next change",
                    p.next_change.clone().unwrap_or_else(|| "none".into()),
                ),
            ]);
            let mut rows = Vec::new();
            for (action, nets) in [
                ("allow", &p.allow),
                ("block", &p.block),
                ("audit", &p.audit),
            ] {
                rows.extend(nets.iter().map(|n| vec![action.to_owned(), n.clone()]));
            }
            crate::say!();
            table::print(&["ACTION", "NETWORK"], &rows);
            Ok(())
        }
    }
}
