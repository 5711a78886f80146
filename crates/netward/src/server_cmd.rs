//! `netward server`: the control plane's settings (flags, variables, the TOML file), starting
//! it, and `recover-admin`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use netward_server::ServerConfig;
use netward_server::config::{DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES};
use netward_server::config_file::ServerConfigFile;

use crate::{Failure, wait_for_signal};

/// Where the server keeps its data unless told otherwise.
const DEFAULT_DATA_DIR: &str = "/var/lib/netward";
/// Connections the server holds open at once unless told otherwise.
const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

/// Runs `netward server` or one of its actions.
pub(crate) async fn run(args: ServerArgs) -> Result<(), Failure> {
    match args.action {
        Some(ServerAction::RecoverAdmin {
            data_dir,
            name,
            json,
        }) => recover_admin(&data_dir, name.as_deref(), json),
        None if args.check_config => check_config(&server_config(args)?),
        None => serve(server_config(args)?).await.map_err(Failure::Failed),
    }
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ServerArgs {
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
    /// Keep the store (and the TLS CA) in PostgreSQL instead of SQLite in --data-dir:
    /// `postgres://user:password@host:5432/netward`, or `host=/run/postgresql dbname=netward`.
    /// Every replica given the same database serves the same fleet.
    #[arg(long, env = "NETWARD_DATABASE", hide_env_values = true)]
    database: Option<String>,
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
        database: args.database.or(file.database),
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
