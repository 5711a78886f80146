//! `netward agent`: run the endpoint agent, or read its status and uninstall it, from its state
//! directory.

use std::path::PathBuf;

use clap::Subcommand;

use crate::{Failure, wait_for_signal};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AgentArgs {
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
    /// A server URL, replacing those of the enrollment token and of the enrollment kept in
    /// the state directory (and kept there in their place). Repeatable, one per replica: the
    /// agent uses the first and moves to the next when the one it uses goes away.
    #[arg(long = "server", env = "NETWARD_AGENT_SERVER", value_delimiter = ',')]
    servers: Vec<String>,
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
        servers: Vec::new(),
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

/// Runs `netward agent` or one of its actions.
pub(crate) async fn run(args: AgentArgs) -> Result<(), Failure> {
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
                servers: run.servers,
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
                    (
                        "servers",
                        match status.servers.len() > 1 {
                            true => status.servers.join(", "),
                            false => "-".into(),
                        },
                    ),
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
