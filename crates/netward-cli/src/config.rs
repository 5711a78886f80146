//! Where the server is and which token to use: `--server`/`--token`, else `NETWARD_SERVER` /
//! `NETWARD_TOKEN`, else the config file (likewise `--ca-cert` / `NETWARD_CA_CERT` / `ca_cert`) (`--config`, `NETWARD_CONFIG`, or
//! `$XDG_CONFIG_HOME/netward/cli.toml`, falling back to `~/.config/netward/cli.toml`).

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::error::CliError;

/// The server used when nothing else names one.
pub const DEFAULT_SERVER: &str = "https://127.0.0.1:8440";

/// How a command reaches the server: the options of every command that talks to the API,
/// shown under their own heading in `--help`.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Connection")]
pub struct ClientOptions {
    /// Server URL, e.g. https://127.0.0.1:8440.
    #[arg(long, env = "NETWARD_SERVER", global = true, value_name = "URL")]
    pub server: Option<String>,
    /// API token (nwt_…).
    #[arg(long, env = "NETWARD_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// The server's CA certificate (its path is printed when the server starts).
    #[arg(long, env = "NETWARD_CA_CERT", global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Config file with `server`, `token` and `ca_cert`; when given, it must exist.
    #[arg(long, env = "NETWARD_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,
}

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Server URL.
    server: Option<String>,
    /// API token.
    token: Option<String>,
    /// The server's CA certificate.
    ca_cert: Option<PathBuf>,
}

/// Resolved connection settings.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Server URL without a trailing slash.
    pub server: String,
    /// The token.
    pub token: String,
    /// The CA certificate to trust.
    pub ca_cert: Option<PathBuf>,
    /// Where the server URL came from, for a person.
    pub origin: String,
}

fn default_config_path() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
        .map(|base| base.join("netward").join("cli.toml"))
}

impl ClientOptions {
    /// Resolves server and token, reading the config file only if a flag or variable is missing.
    pub fn resolve(&self) -> Result<Resolved, CliError> {
        let mut server = self.server.clone();
        let mut origin = "from --server or NETWARD_SERVER".to_owned();
        let mut token = self.token.clone();
        let mut ca_cert = self.ca_cert.clone();
        // A file named with --config or NETWARD_CONFIG is read even when flags and variables
        // say everything: one that is missing or unreadable is a mistake to report, not skip.
        let explicit = self.config.is_some();
        if explicit || server.is_none() || token.is_none() || ca_cert.is_none() {
            let path = self.config.clone().or_else(default_config_path);
            if let Some(path) = path {
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let file: ConfigFile = toml::from_str(&text)
                            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
                        if server.is_none() && file.server.is_some() {
                            origin = format!("from {}", path.display());
                        }
                        server = server.or(file.server);
                        token = token.or(file.token);
                        ca_cert = ca_cert.or(file.ca_cert);
                    }
                    Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(CliError::Config(format!(
                            "the config file {} (--config or NETWARD_CONFIG) cannot be read: {e}",
                            path.display()
                        )));
                    }
                }
            }
        }
        // An empty NETWARD_TOKEN= is no token, not a token the server will refuse.
        let token = token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            CliError::Config(
                "no API token: pass --token, set NETWARD_TOKEN, or put `token = \"…\"` in the config file".into(),
            )
        })?;
        let server = server.unwrap_or_else(|| {
            origin = "the default; set NETWARD_SERVER or --server".to_owned();
            DEFAULT_SERVER.to_owned()
        });
        if server.starts_with("http://") {
            if !crate::tls::is_loopback_url(&server) {
                return Err(CliError::Config(format!(
                    "refusing plain HTTP to `{server}`: the token would cross the network in clear text; use https://"
                )));
            }
        } else if server.starts_with("https://") {
            if ca_cert.is_none() {
                return Err(CliError::Config(
                    "an https:// server needs --ca-cert (NETWARD_CA_CERT): the CA certificate the server printed at start".into(),
                ));
            }
        } else {
            return Err(CliError::Config(format!(
                "the server `{server}` is not an http:// or https:// URL"
            )));
        }
        Ok(Resolved {
            server: server.trim_end_matches('/').to_owned(),
            token,
            ca_cert,
            origin,
        })
    }
}
