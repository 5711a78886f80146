//! `netward settings show|set`.

use clap::{Subcommand, ValueEnum};
use netward_model::wire::{SettingsEntity, SettingsPatch};
use reqwest::Method;

use crate::client::ApiClient;
use crate::error::CliError;
use crate::table;

/// On or off.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// Tenant-settings commands.
#[derive(Subcommand, Debug)]
pub enum SettingsCommand {
    /// Show the tenant settings.
    Show,
    /// Change tenant settings.
    Set {
        /// "Custom network indicators": off stops enforcement on every device.
        #[arg(long, value_enum)]
        custom_network_indicators: Option<Switch>,
    },
}

/// Runs a settings command.
pub async fn run(client: &ApiClient, json: bool, cmd: SettingsCommand) -> Result<(), CliError> {
    let settings: SettingsEntity = match cmd {
        SettingsCommand::Show => client.get("/api/settings", &[]).await?,
        SettingsCommand::Set {
            custom_network_indicators,
        } => {
            let Some(switch) = custom_network_indicators else {
                return Err(CliError::Usage(
                    "nothing to set: pass --custom-network-indicators on|off".into(),
                ));
            };
            let body = SettingsPatch {
                custom_network_indicators: Some(matches!(switch, Switch::On)),
            };
            client.write(Method::PATCH, "/api/settings", &body).await?
        }
    };
    if json {
        return table::print_json(&settings);
    }
    table::print_record(&[(
        "custom network indicators",
        if settings.custom_network_indicators {
            "on".into()
        } else {
            "off".into()
        },
    )]);
    Ok(())
}
