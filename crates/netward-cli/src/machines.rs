//! `netward device list|show|move|revoke` and `netward enroll-token create`.

use clap::Subcommand;
use netward_model::agent_wire::{MachineEntity, MachineList, MachinePatch};
use reqwest::Method;

use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

/// Device commands.
#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// List devices: group, online, applied policy version, in sync.
    List,
    /// Show one device.
    Show {
        /// Device id.
        id: String,
    },
    /// Move a device to another group.
    Move {
        /// Device id.
        id: String,
        /// The new group.
        #[arg(long)]
        group: String,
    },
    /// Revoke a device's credential; its agent is refused from then on.
    Revoke {
        /// Device id.
        id: String,
    },
}

fn sync_state(m: &MachineEntity) -> String {
    if m.revoked {
        "revoked".into()
    } else if m.in_sync {
        "in sync".into()
    } else if let Some(e) = &m.last_error {
        format!("error: {e}")
    } else {
        format!(
            "behind ({}/{})",
            m.applied_version.map_or("-".into(), |v| v.to_string()),
            m.current_version
        )
    }
}

fn print_machines(list: &[MachineEntity]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.hostname.clone(),
                m.group.clone(),
                if m.online {
                    "online".into()
                } else {
                    format!("offline since {}", m.last_seen)
                },
                m.applied_version.map_or("-".into(), |v| v.to_string()),
                sync_state(m),
            ]
        })
        .collect();
    table::print_painted(
        &["ID", "HOSTNAME", "GROUP", "STATE", "APPLIED", "SYNC"],
        &rows,
        5,
        table::Paint::sync,
    );
}

fn print_machine(m: &MachineEntity) {
    table::print_record(&[
        ("id", m.id.clone()),
        ("hostname", m.hostname.clone()),
        ("os", m.os.clone()),
        ("kernel", m.kernel.clone()),
        ("agent version", m.agent_version.clone()),
        ("addresses", m.addresses.join(", ")),
        ("group", m.group.clone()),
        ("online", m.online.to_string()),
        ("first seen", m.first_seen.clone()),
        ("last seen", m.last_seen.clone()),
        (
            "applied version",
            m.applied_version.map_or("-".into(), |v| v.to_string()),
        ),
        (
            "applied at",
            m.applied_at.clone().unwrap_or_else(|| "-".into()),
        ),
        ("current version", m.current_version.to_string()),
        ("sync", sync_state(m)),
        ("kernel entries", m.entries.to_string()),
        ("not enforceable", format!("{:?}", m.not_enforceable)),
        ("never blocked", exemptions_text(&m.exemptions)),
        (
            "last tamper repair",
            m.last_tamper.clone().unwrap_or_else(|| "-".into()),
        ),
        ("events dropped", m.events_dropped.to_string()),
        ("events lost", m.events_lost.to_string()),
    ]);
}

/// What a device never blocks, and why: `127.0.0.0/8 (loopback), 192.0.2.53 (dns-resolver)`,
/// or `-` when its agent reported none.
pub fn exemptions_text(exemptions: &[netward_model::agent_wire::Exemption]) -> String {
    if exemptions.is_empty() {
        return "-".into();
    }
    exemptions
        .iter()
        .map(|e| format!("{} ({})", e.range, e.reason.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a device command; an error names the flags, not the API's fields.
pub async fn run(client: &ApiClient, json: bool, cmd: DeviceCommand) -> Result<(), CliError> {
    run_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(&flags::DEVICE))
}

async fn run_command(client: &ApiClient, json: bool, cmd: DeviceCommand) -> Result<(), CliError> {
    let one: MachineEntity = match cmd {
        DeviceCommand::List => {
            let list: MachineList = client.get("/api/machines", &[]).await?;
            if json {
                return table::print_json(&list);
            }
            print_machines(&list.value);
            return Ok(());
        }
        DeviceCommand::Show { id } => {
            client
                .get(&format!("/api/machines/{}", encode(&id)), &[])
                .await?
        }
        DeviceCommand::Move { id, group } => {
            let body = MachinePatch { group: Some(group) };
            client
                .write(
                    Method::PATCH,
                    &format!("/api/machines/{}", encode(&id)),
                    &body,
                )
                .await?
        }
        DeviceCommand::Revoke { id } => {
            client
                .send(client.request(
                    Method::POST,
                    &format!("/api/machines/{}/revoke", encode(&id)),
                ))
                .await?
        }
    };
    if json {
        return table::print_json(&one);
    }
    print_machine(&one);
    Ok(())
}

/// Keeps an id to digits so it cannot change the path.
pub(crate) fn encode(id: &str) -> String {
    id.chars().filter(char::is_ascii_digit).collect::<String>()
}
