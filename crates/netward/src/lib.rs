//! The `netward` command: argument parsing and dispatch to the server (`server_cmd.rs`), the
//! agent (`agent_cmd.rs`), the lab and the CLI. `main.rs` only sets up logging, calls [`run`]
//! and maps its result to an exit code.

use clap::{Args, Parser, Subcommand};

pub mod lab;
pub mod reference;
use netward_cli::audit_log::AuditArgs;
use netward_cli::client::ApiClient;
use netward_cli::enroll_tokens::EnrollTokenCommand;
use netward_cli::error::ExitClass;
use netward_cli::feeds::FeedCommand;
use netward_cli::groups::GroupCommand;
use netward_cli::indicators::IndicatorCommand;
use netward_cli::machines::DeviceCommand;
use netward_cli::settings::SettingsCommand;
use netward_cli::tokens::TokenCommand;
use netward_cli::{CliError, ClientOptions};

mod agent_cmd;
pub mod help;
mod server_cmd;

/// netward: block and detect connections to malicious IP addresses.
#[derive(Parser, Debug)]
#[command(name = "netward", version, about, after_help = help::EXIT_CODES)]
pub struct Cli {
    /// Log as text, or as one JSON object per line (for log collectors).
    #[arg(long, global = true, env = "NETWARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log events are written to stderr.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event (tracing-subscriber's JSON format).
    Json,
}

/// A command of the API client: its own arguments, and how to reach the server (shown under
/// "Connection", on these commands only).
#[derive(Args, Debug)]
struct Api<C: Subcommand> {
    #[command(subcommand)]
    command: C,
    #[command(flatten)]
    client: ClientOptions,
}

/// A command of the API client that has no verbs.
#[derive(Args, Debug)]
struct ApiArgs<A: Args> {
    #[command(flatten)]
    args: A,
    #[command(flatten)]
    client: ClientOptions,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the control plane (REST API and store).
    #[command(after_help = help::SERVER)]
    Server(server_cmd::ServerArgs),
    /// Manage indicators.
    #[command(after_help = help::INDICATOR)]
    Indicator(Api<IndicatorCommand>),
    /// Manage device groups.
    #[command(after_help = help::GROUP)]
    Group(Api<GroupCommand>),
    /// Threat-intel feeds: subscribe, list, show runs, refresh, delete.
    #[command(after_help = help::FEED)]
    Feed(Api<FeedCommand>),
    /// Show or change tenant settings.
    Settings(Api<SettingsCommand>),
    /// Manage API tokens.
    #[command(after_help = help::TOKEN)]
    Token(Api<TokenCommand>),
    /// Read the audit log.
    Audit(ApiArgs<AuditArgs>),
    /// Devices: list, show, move to a group, revoke.
    Device(Api<DeviceCommand>),
    /// Enrollment tokens for agents: create, list, revoke.
    #[command(name = "enroll-token", after_help = help::ENROLL_TOKEN)]
    EnrollToken(Api<EnrollTokenCommand>),
    /// Alerts: list, show, resolve.
    #[command(after_help = help::ALERT)]
    Alert(Api<netward_cli::detection::AlertCommand>),
    /// Incidents (an indicator's alerts across devices): list, show, resolve.
    Incident(Api<netward_cli::detection::IncidentCommand>),
    /// A device's events in time order.
    Timeline(ApiArgs<netward_cli::detection::TimelineArgs>),
    /// Events across devices, filtered; `--follow` keeps printing new ones.
    #[command(after_help = help::EVENTS)]
    Events(ApiArgs<netward_cli::detection::EventsArgs>),
    /// Every device and process that contacted an address or range.
    #[command(after_help = help::HUNT)]
    Hunt(ApiArgs<netward_cli::detection::HuntArgs>),
    /// Run the endpoint agent (as root), or `status` / `uninstall` it.
    #[command(after_help = help::AGENT)]
    Agent(agent_cmd::AgentArgs),
    /// Rebuild the field report's experiment in network namespaces and print what happened.
    #[command(after_help = help::LAB)]
    Lab(LabArgs),
    /// Print the shell completion script for bash, zsh or fish.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `netward man | man -l -`).
    Man,
}

#[derive(clap::Args, Debug)]
struct LabArgs {
    /// `all` blocks every protocol; `tcp` reproduces MDE, which blocks TCP only.
    #[arg(long, default_value = "all", value_parser = ["all", "tcp"])]
    coverage: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// How `run` failed, for the exit code (`main` maps each to its number, documented in
/// [`help::EXIT_CODES`]).
#[derive(Debug)]
pub enum Failure {
    /// The operation failed: exit 1.
    Failed(anyhow::Error),
    /// Wrong arguments or configuration: exit 2.
    Usage(anyhow::Error),
    /// What the command names does not exist: exit 3.
    NotFound(anyhow::Error),
    /// Part of it was applied (an import with failed rows): exit 4.
    Partial(anyhow::Error),
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        match e.exit_class() {
            ExitClass::Failed => Failure::Failed(e.into()),
            ExitClass::Usage => Failure::Usage(e.into()),
            ExitClass::NotFound => Failure::NotFound(e.into()),
            ExitClass::Partial => Failure::Partial(e.into()),
        }
    }
}

/// Runs one `netward` command.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let client = |options: &ClientOptions| -> Result<(ApiClient, bool), CliError> {
        Ok((ApiClient::new(options.resolve()?)?, options.json))
    };
    match cli.command {
        Command::Server(args) => server_cmd::run(args).await,
        Command::Indicator(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::indicators::run(&c, json, api.command).await?)
        }
        Command::Group(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::groups::run(&c, json, api.command).await?)
        }
        Command::Feed(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::feeds::run(&c, json, api.command).await?)
        }
        Command::Settings(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::settings::run(&c, json, api.command).await?)
        }
        Command::Token(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::tokens::run(&c, json, api.command).await?)
        }
        Command::Audit(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::audit_log::run(&c, json, api.args).await?)
        }
        Command::Device(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::machines::run(&c, json, api.command).await?)
        }
        Command::Alert(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::detection::run_alert(&c, json, api.command).await?)
        }
        Command::Incident(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::detection::run_incident(&c, json, api.command).await?)
        }
        Command::Timeline(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::detection::run_timeline(&c, json, api.args).await?)
        }
        Command::Events(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::detection::run_events(&c, json, api.args).await?)
        }
        Command::Hunt(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::detection::run_hunt(&c, json, api.args).await?)
        }
        Command::EnrollToken(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::enroll_tokens::run(&c, json, api.command).await?)
        }
        Command::Agent(args) => agent_cmd::run(args).await,
        Command::Lab(args) => lab_command(args).await,
        Command::Completions { shell } => {
            reference::write_completions(shell, &mut std::io::stdout().lock()).map_err(|e| {
                Failure::Failed(anyhow::anyhow!("cannot write the completion script: {e}"))
            })
        }
        Command::Man => reference::write_man_page(&mut std::io::stdout().lock())
            .map_err(|e| Failure::Failed(anyhow::anyhow!("cannot write the manual page: {e}"))),
    }
}

async fn lab_command(args: LabArgs) -> Result<(), Failure> {
    let json = args.json;
    let coverage = args.coverage.clone();
    let work = tokio::task::spawn_blocking(move || lab::run(&coverage));
    let report = tokio::select! {
        r = work => r.map_err(|e| Failure::Failed(e.into()))?.map_err(Failure::Failed)?,
        () = wait_for_signal() => {
            lab::cleanup();
            return Err(Failure::Failed(anyhow::anyhow!("interrupted; everything the lab created was removed")));
        }
    };
    if json {
        netward_cli::table::print_json(&report)?;
        return Ok(());
    }
    netward_cli::say!(
        "coverage {}: the endpoint acknowledged the block {} ms after the API answered (policy v{})",
        report.coverage,
        report.propagation_ms,
        report.policy_version
    );
    netward_cli::say!("verdict: {}\n", report.verdict);
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.protocol.clone(),
                r.reached_remote.clone(),
                r.endpoint_saw.clone(),
                r.server_recorded.clone(),
            ]
        })
        .collect();
    netward_cli::table::print_painted(
        &[
            "PROTOCOL",
            "REACHED THE REMOTE HOST",
            "THE ENDPOINT SAW",
            "THE SERVER RECORDED",
        ],
        &rows,
        3,
        netward_cli::table::Paint::outcome,
    );
    Ok(())
}

pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
