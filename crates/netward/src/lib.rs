//! The `netward` command: argument parsing and dispatch to the server and the CLI. `main.rs`
//! only sets up logging, calls [`run`] and maps its result to an exit code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

pub mod lab;
pub mod reference;
use netward_cli::audit_log::AuditArgs;
use netward_cli::client::ApiClient;
use netward_cli::enroll_tokens::EnrollTokenCommand;
use netward_cli::error::ExitClass;
use netward_cli::groups::GroupCommand;
use netward_cli::indicators::IndicatorCommand;
use netward_cli::machines::DeviceCommand;
use netward_cli::settings::SettingsCommand;
use netward_cli::tokens::TokenCommand;
use netward_cli::{CliError, ClientOptions};
use netward_server::ServerConfig;
use netward_server::config::{DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES};
use netward_server::config_file::ServerConfigFile;

/// Where the server keeps its data unless told otherwise.
const DEFAULT_DATA_DIR: &str = "/var/lib/netward";
/// Connections the server holds open at once unless told otherwise.
const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

pub mod help;

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
    Server(ServerArgs),
    /// Manage indicators.
    #[command(after_help = help::INDICATOR)]
    Indicator(Api<IndicatorCommand>),
    /// Manage device groups.
    #[command(after_help = help::GROUP)]
    Group(Api<GroupCommand>),
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
    Agent(AgentArgs),
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

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct AgentArgs {
    #[command(subcommand)]
    action: Option<AgentAction>,
    #[command(flatten)]
    run: AgentRunArgs,
}

#[derive(clap::Args, Debug, Clone)]
struct AgentRunArgs {
    /// Enrollment token from `netward enroll-token create` (first start only).
    #[arg(long, env = "NETWARD_ENROLL", hide_env_values = true)]
    enroll: Option<String>,
    /// Name the process behind each hit for connections made by processes in this cgroup
    /// (cgroup2 directory). Default: the cgroup2 root, i.e. every process on the machine.
    #[arg(long, conflicts_with = "no_process_attribution")]
    cgroup: Option<PathBuf>,
    /// Do not attach the BPF programs that name processes; hits then name no process.
    #[arg(long)]
    no_process_attribution: bool,
    /// Events the on-disk spool keeps at most while the server is away; beyond that, new
    /// events are dropped and their hits counted.
    #[arg(long, default_value_t = netward_agent::events::spool::DEFAULT_CAPACITY,
        value_parser = clap::value_parser!(u64).range(1..))]
    spool_capacity: u64,
    /// Serve Prometheus metrics over plain HTTP on this loopback address (e.g.
    /// 127.0.0.1:9848); no authentication, so loopback only.
    #[arg(long, env = "NETWARD_AGENT_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    local: AgentLocalArgs,
}

#[derive(clap::Args, Debug, Clone)]
struct AgentLocalArgs {
    /// Identity, policy and status live here (created mode 0700).
    #[arg(
        long,
        env = "NETWARD_AGENT_STATE_DIR",
        default_value = "/var/lib/netward-agent"
    )]
    state_dir: PathBuf,
    /// Enforce in this network namespace (e.g. /run/netns/NAME) instead of the agent's own.
    #[arg(long)]
    netns: Option<PathBuf>,
    /// The nftables table the agent owns.
    #[arg(long, default_value = netward_agent::enforcer::nft::DEFAULT_TABLE)]
    table: String,
}

#[derive(Subcommand, Debug)]
enum AgentAction {
    /// What the agent enforces, from its state directory; needs no server.
    Status {
        #[command(flatten)]
        local: AgentLocalArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove the agent's nftables table and its state directory.
    Uninstall {
        #[command(flatten)]
        local: AgentLocalArgs,
        /// Print what was removed as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct ServerArgs {
    #[command(subcommand)]
    action: Option<ServerAction>,
    /// Read settings from this TOML file; flags and `NETWARD_…` variables override it.
    #[arg(long, env = "NETWARD_SERVER_CONFIG")]
    config: Option<PathBuf>,
    /// Parse and check the configuration, print the effective one and exit (0 if usable, 2 if
    /// not).
    #[arg(long)]
    check_config: bool,
    /// Directory for the database and the TLS CA, made mode 0700. A missing one is created; an
    /// existing one must belong to this user and be empty or hold a netward store.
    /// [default: /var/lib/netward]
    #[arg(long, env = "NETWARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on (TLS; plain HTTP only with --plain-http on loopback).
    /// [default: 127.0.0.1:8440]
    #[arg(long, env = "NETWARD_LISTEN")]
    listen: Option<SocketAddr>,
    /// Largest request body accepted, in bytes; larger ones get 413. [default: 268435456]
    #[arg(long, env = "NETWARD_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Serve plain HTTP instead of TLS; only on a loopback address.
    #[arg(long)]
    plain_http: bool,
    /// Connections held open at once; beyond that, new ones wait in the kernel's backlog.
    /// Keep it under the process's file-descriptor limit (`ulimit -n`). [default: 4096]
    #[arg(long, env = "NETWARD_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(16..))]
    max_connections: Option<u32>,
    /// Another name (DNS or IP) for the server certificate; repeatable.
    #[arg(long = "tls-name")]
    tls_names: Vec<String>,
    /// The URL agents reach this server at (needed when listening on 0.0.0.0 or [::]).
    #[arg(long, env = "NETWARD_ADVERTISE")]
    advertise: Option<String>,
    /// Days events are kept before they are deleted. [default: 30]
    #[arg(long, env = "NETWARD_EVENT_RETENTION_DAYS",
        value_parser = clap::value_parser!(u32).range(1..=3650))]
    event_retention_days: Option<u32>,
    /// Append every event and alert to this file, one JSON object per line (for SIEMs).
    #[arg(long, env = "NETWARD_EXPORT_NDJSON")]
    export_ndjson: Option<PathBuf>,
    /// Send every event and alert as an RFC 5424 syslog message over UDP to HOST:PORT.
    #[arg(long, env = "NETWARD_EXPORT_SYSLOG")]
    export_syslog: Option<SocketAddr>,
    /// Serve Prometheus metrics at /metrics, to any API token.
    #[arg(long, env = "NETWARD_METRICS")]
    metrics: bool,
}

#[derive(Subcommand, Debug)]
enum ServerAction {
    /// Mint a new admin token straight in the data directory, on the server host: the way
    /// back in when no admin token is left. Works while the server runs.
    RecoverAdmin {
        /// The server's data directory.
        #[arg(long, env = "NETWARD_DATA_DIR", default_value = "/var/lib/netward")]
        data_dir: PathBuf,
        /// The new token's name (default `admin-recovered-<unix time>`).
        #[arg(long)]
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
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
        Command::Server(args) => match args.action {
            Some(ServerAction::RecoverAdmin {
                data_dir,
                name,
                json,
            }) => recover_admin(&data_dir, name.as_deref(), json),
            None if args.check_config => check_config(&server_config(args)?),
            None => serve(server_config(args)?).await.map_err(Failure::Failed),
        },
        Command::Indicator(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::indicators::run(&c, json, api.command).await?)
        }
        Command::Group(api) => {
            let (c, json) = client(&api.client)?;
            Ok(netward_cli::groups::run(&c, json, api.command).await?)
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
        Command::Agent(args) => agent(args).await,
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

/// `ip netns exec` mounts a fresh `/sys` for the namespace, without the cgroup2 hierarchy:
/// when this process is in another network namespace than init (or that cannot be told), say
/// so and name the option that enforces in a namespace without moving the agent into it.
fn netns_exec_hint() -> &'static str {
    let own = std::fs::read_link("/proc/self/ns/net");
    let init = std::fs::read_link("/proc/1/ns/net");
    match (own, init) {
        (Ok(own), Ok(init)) if own == init => "",
        _ => {
            "; if the agent was started with `ip netns exec`, which remounts /sys without the cgroup2 hierarchy, start it outside the namespace with --netns /run/netns/NAME instead"
        }
    }
}

fn agent_config(local: AgentLocalArgs) -> netward_agent::runtime::AgentConfig {
    netward_agent::runtime::AgentConfig {
        state_dir: local.state_dir,
        enroll: None,
        netns: local.netns,
        table: local.table,
        cgroup: None,
        spool_capacity: netward_agent::events::spool::DEFAULT_CAPACITY,
        metrics_listen: None,
    }
}

/// Whether the agent runs, and if so whether it is connected. The connection state of a stopped
/// agent is only what its last status said.
fn agent_state(status: &netward_agent::runtime::state::Status) -> String {
    match (status.running, status.connected) {
        (true, true) => "running, connected".into(),
        (true, false) => "running, disconnected (still enforcing its policy)".into(),
        (false, _) => format!(
            "not running (last status {}; the kernel keeps what it enforced, nothing keeps it current)",
            status.updated_at
        ),
    }
}

/// Indicator ids for a person: `-` for none, else `#3, #7`.
fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "-".into();
    }
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn agent(args: AgentArgs) -> Result<(), Failure> {
    match args.action {
        None => {
            let run = args.run;
            let cgroup = if run.no_process_attribution {
                None
            } else {
                match run.cgroup {
                    Some(cg) if !cg.join("cgroup.procs").is_file() => {
                        return Err(Failure::Usage(anyhow::anyhow!(
                            "--cgroup {}: not a cgroup2 directory (as this process sees the file system){}",
                            cg.display(),
                            netns_exec_hint()
                        )));
                    }
                    Some(cg) => Some(cg),
                    None => Some(netward_agent::events::attribution::cgroup2_root().ok_or_else(
                        || {
                            Failure::Usage(anyhow::anyhow!(
                                "no cgroup2 hierarchy is mounted; pass --cgroup or --no-process-attribution{}",
                                netns_exec_hint()
                            ))
                        },
                    )?),
                }
            };
            let config = netward_agent::runtime::AgentConfig {
                enroll: run.enroll,
                cgroup,
                spool_capacity: run.spool_capacity,
                metrics_listen: run.metrics_listen,
                ..agent_config(run.local)
            };
            netward_agent::runtime::run(config, wait_for_signal())
                .await
                .map_err(|e| Failure::Failed(e.into()))
        }
        Some(AgentAction::Status { local, json }) => {
            let status = netward_agent::runtime::read_status(&local.state_dir)
                .map_err(|e| Failure::Failed(e.into()))?
                .ok_or_else(|| {
                    Failure::Failed(anyhow::anyhow!(
                        "no agent status in {}: the agent has not run here",
                        local.state_dir.display()
                    ))
                })?;
            if json {
                netward_cli::table::print_json(&status)?;
            } else {
                netward_cli::table::print_record(&[
                    ("server", status.server.clone()),
                    ("device", status.device_id.clone()),
                    ("agent", agent_state(&status)),
                    ("group", status.group.clone()),
                    ("mode", status.mode.as_str().to_owned()),
                    ("coverage", status.coverage.as_str().to_owned()),
                    (
                        "policy version",
                        status.version.map_or("-".into(), |v| v.to_string()),
                    ),
                    (
                        "applied at",
                        status.applied_at.clone().unwrap_or_else(|| "-".into()),
                    ),
                    (
                        "indicators",
                        format!(
                            "{} allow, {} block, {} audit",
                            status.allow, status.block, status.audit
                        ),
                    ),
                    ("kernel entries", status.kernel_entries.to_string()),
                    ("not enforceable", id_list(&status.not_enforceable)),
                    (
                        "last error",
                        status.last_error.clone().unwrap_or_else(|| "-".into()),
                    ),
                    ("status written", status.updated_at.clone()),
                ]);
            }
            Ok(())
        }
        Some(AgentAction::Uninstall { local, json }) => {
            let report = netward_agent::runtime::uninstall(&agent_config(local))
                .map_err(|e| Failure::Failed(e.into()))?;
            if json {
                netward_cli::table::print_json(&report)?;
                return Ok(());
            }
            let netns = report.netns.as_ref().map_or_else(
                || "this network namespace".to_owned(),
                |p| format!("the network namespace {}", p.display()),
            );
            if report.table_removed {
                netward_cli::say!(
                    "removed the nftables table inet {} from {netns}",
                    report.table
                );
            } else {
                netward_cli::say!(
                    "no nftables table inet {} in {netns}: the agent enforced nothing (mode off)",
                    report.table
                );
            }
            if report.state_dir_removed {
                netward_cli::say!("removed the state directory {}", report.state_dir.display());
            } else {
                netward_cli::say!("no state directory {}", report.state_dir.display());
            }
            Ok(())
        }
    }
}

fn recover_admin(data_dir: &Path, name: Option<&str>, json: bool) -> Result<(), Failure> {
    use netward_server::ControlError;
    let (token, secret) =
        netward_server::tokens::recover_admin(data_dir, name, &netward_server::clock::SystemClock)
            .map_err(|e| match e {
                ControlError::Invalid(_)
                | ControlError::NotFound(_)
                | ControlError::Conflict(_) => Failure::Usage(e.into()),
                other => Failure::Failed(other.into()),
            })?;
    if json {
        netward_cli::table::print_json(&serde_json::json!({"name": token.name, "secret": secret}))?;
        return Ok(());
    }
    netward_cli::say!(
        "netward: created the admin token `{}`. It is shown only this once; store it now:\n{secret}",
        token.name
    );
    Ok(())
}

/// The server's configuration: each flag (or its variable), else the file's key, else the
/// default.
fn server_config(args: ServerArgs) -> Result<ServerConfig, Failure> {
    let file = match &args.config {
        Some(path) => ServerConfigFile::load(path).map_err(|e| Failure::Usage(e.into()))?,
        None => ServerConfigFile::default(),
    };
    let listen = match (args.listen, file.listen) {
        (Some(l), _) | (None, Some(l)) => l,
        (None, None) => DEFAULT_LISTEN
            .parse()
            .map_err(|e| Failure::Failed(anyhow::anyhow!("the default listen address: {e}")))?,
    };
    Ok(ServerConfig {
        data_dir: args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        listen,
        max_body_bytes: args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(DEFAULT_MAX_BODY_BYTES),
        plain_http: args.plain_http || file.plain_http.unwrap_or(false),
        tls_names: if args.tls_names.is_empty() {
            file.tls_names.unwrap_or_default()
        } else {
            args.tls_names
        },
        advertise: args.advertise.or(file.advertise),
        detection: netward_server::detection::DetectionConfig {
            retention_days: args
                .event_retention_days
                .or(file.event_retention_days)
                .unwrap_or(netward_server::detection::DEFAULT_RETENTION_DAYS),
            ndjson: args.export_ndjson.or(file.export_ndjson),
            syslog: args.export_syslog.or(file.export_syslog),
        },
        connections: netward_server::connections::ConnectionLimits {
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS) as usize,
            ..Default::default()
        },
        metrics: args.metrics || file.metrics.unwrap_or(false),
    })
}

/// `netward server --check-config`: prints the effective configuration, then each problem.
fn check_config(config: &ServerConfig) -> Result<(), Failure> {
    print!("{}", ServerConfigFile::effective(config).to_toml());
    let problems = netward_server::config_file::check(config);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Failure::Usage(anyhow::anyhow!(
        "the configuration cannot be used: {}",
        problems.join("; ")
    )))
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let mut server = netward_server::start(&config).await?;
    if let Some(secret) = &server.bootstrap_token {
        netward_cli::say!(
            "netward: created the first admin token. It is shown only this once; store it now:\n{secret}"
        );
    }
    if let Some((path, fingerprint)) = &server.ca {
        netward_cli::say!(
            "netward: CA certificate {} (sha256 {fingerprint})",
            path.display()
        );
    }
    if let Some(secret) = &server.bootstrap_token {
        // Before "listening on": whoever reads the output up to that line sees these too.
        netward_cli::say!(
            "netward: to use the CLI from this shell, run:\n{}",
            export_line(
                &server.url,
                secret,
                server.ca.as_ref().map(|(path, _)| path)
            )
        );
    }
    netward_cli::say!("netward: listening on {}", server.url);
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("Stopping on signal.");
        if let Some(tx) = stop {
            let _ = tx.send(());
        }
    });
    server.wait().await?;
    Ok(())
}

/// `export NETWARD_SERVER=… NETWARD_TOKEN=… [NETWARD_CA_CERT=…]`, each value quoted for a
/// POSIX shell when it needs to be.
fn export_line(url: &str, token: &str, ca: Option<&PathBuf>) -> String {
    let quote = |v: &str| {
        if v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:@%+=,".contains(c))
        {
            v.to_owned()
        } else {
            format!("'{}'", v.replace('\'', "'\\''"))
        }
    };
    let mut line = format!(
        "export NETWARD_SERVER={} NETWARD_TOKEN={}",
        quote(url),
        quote(token)
    );
    if let Some(ca) = ca {
        line.push_str(&format!(
            " NETWARD_CA_CERT={}",
            quote(&ca.display().to_string())
        ));
    }
    line
}

async fn wait_for_signal() {
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
