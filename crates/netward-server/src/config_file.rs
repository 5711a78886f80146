//! The server's configuration file (TOML, `netward server --config FILE`): one optional key per
//! `netward server` flag, so a packaged service is configured in `/etc/netward/server.toml`.
//! A flag or its `NETWARD_…` variable overrides the file; the file overrides the defaults.
//! [`check`] is `netward server --check-config`: everything that can be judged without
//! starting.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ServerConfig;

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file cannot be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema (an unknown key, a wrong type).
    #[error("configuration file {path}: {detail}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and the line.
        detail: String,
    },
}

/// `server.toml`. Every key is optional; a missing key takes the flag's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfigFile {
    /// Directory for the database and the TLS CA (`--data-dir`, `NETWARD_DATA_DIR`; default
    /// `/var/lib/netward`), made mode 0700.
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL connection string (`--database`, `NETWARD_DATABASE`): the store and the CA
    /// live there, shared by every replica. Without it, SQLite in `data_dir`.
    pub database: Option<String>,
    /// Address to listen on (`--listen`, `NETWARD_LISTEN`; default `127.0.0.1:8440`).
    pub listen: Option<SocketAddr>,
    /// Largest request body accepted, in bytes (`--max-body-bytes`, `NETWARD_MAX_BODY_BYTES`).
    pub max_body_bytes: Option<usize>,
    /// Serve plain HTTP instead of TLS, only on loopback (`--plain-http`).
    pub plain_http: Option<bool>,
    /// Connections held open at once (`--max-connections`, `NETWARD_MAX_CONNECTIONS`; at
    /// least 16, default 4096).
    pub max_connections: Option<u32>,
    /// More names (DNS or IP) for the server certificate (`--tls-name`, repeatable).
    pub tls_names: Option<Vec<String>>,
    /// The URL agents reach this server at (`--advertise`, `NETWARD_ADVERTISE`).
    pub advertise: Option<String>,
    /// Days events are kept (`--event-retention-days`, `NETWARD_EVENT_RETENTION_DAYS`; 1 to
    /// 3650, default 30).
    pub event_retention_days: Option<u32>,
    /// Append every event and alert to this NDJSON file (`--export-ndjson`,
    /// `NETWARD_EXPORT_NDJSON`).
    pub export_ndjson: Option<PathBuf>,
    /// Send every event and alert as RFC 5424 syslog over UDP to HOST:PORT
    /// (`--export-syslog`, `NETWARD_EXPORT_SYSLOG`).
    pub export_syslog: Option<SocketAddr>,
    /// Serve Prometheus metrics at `/metrics` to any API token (`--metrics`,
    /// `NETWARD_METRICS`; default off).
    pub metrics: Option<bool>,
}

impl ServerConfigFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|detail| ConfigFileError::Parse {
            path: path.to_owned(),
            detail,
        })
    }

    /// Parses the text of a configuration file; an error is one line that names the line of
    /// the file and the key.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().replace('\n', " ");
            match e.span() {
                Some(span) => {
                    let line = text.get(..span.start).unwrap_or(text).matches('\n').count() + 1;
                    format!("line {line}: {message}")
                }
                None => message,
            }
        })
    }

    /// The file that sets every key of `config`: what `--check-config` prints.
    pub fn effective(config: &ServerConfig) -> Self {
        Self {
            data_dir: Some(config.data_dir.clone()),
            database: config.database.as_deref().map(redact_password),
            listen: Some(config.listen),
            max_body_bytes: Some(config.max_body_bytes),
            plain_http: Some(config.plain_http),
            max_connections: u32::try_from(config.connections.max_connections).ok(),
            tls_names: Some(config.tls_names.clone()),
            advertise: config.advertise.clone(),
            event_retention_days: Some(config.detection.retention_days),
            export_ndjson: config.detection.ndjson.clone(),
            export_syslog: config.detection.syslog,
            metrics: Some(config.metrics),
        }
    }

    /// The file as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }
}

/// Every problem of `config` that shows before starting: the data directory, the listen
/// address, the advertised URL and the certificate names. Empty when it looks usable.
pub fn check(config: &ServerConfig) -> Vec<String> {
    let mut problems = Vec::new();
    match &config.database {
        None => problems.extend(data_dir_problem(&config.data_dir)),
        Some(url) => {
            if let Err(e) = url.parse::<postgres::Config>() {
                problems.push(format!(
                    "database: not a PostgreSQL connection string: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ));
            }
        }
    }
    if config.plain_http && !config.listen.ip().is_loopback() {
        problems.push(format!(
            "listen {}: plain HTTP is only served on a loopback address",
            config.listen
        ));
    }
    match &config.advertise {
        None if config.listen.ip().is_unspecified() => problems.push(format!(
            "listen {}: listening on every address needs advertise (the URL agents use)",
            config.listen
        )),
        Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            problems.push(format!("advertise {url:?}: not an http(s) URL"));
        }
        _ => {}
    }
    if !(1..=3650).contains(&config.detection.retention_days) {
        problems.push(format!(
            "event_retention_days {}: must be 1 to 3650",
            config.detection.retention_days
        ));
    }
    if config.connections.max_connections < 16 {
        problems.push(format!(
            "max_connections {}: must be at least 16",
            config.connections.max_connections
        ));
    }
    for name in &config.tls_names {
        let is_ip = name.parse::<std::net::IpAddr>().is_ok();
        if !is_ip && rustls_pki_types::DnsName::try_from(name.as_str()).is_err() {
            problems.push(format!(
                "tls_names {name:?}: neither a DNS name nor an IP address"
            ));
        }
    }
    problems
}

/// A connection string with its password, if any, replaced by `***`: what `--check-config`
/// and the logs may print.
pub fn redact_password(url: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let scheme = &url[..url.len() - rest.len()];
        // userinfo ends at the last '@' before the host part.
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!("{scheme}{}:***{}", &userinfo[..colon], &rest[at..]);
            }
        }
        return url.to_owned();
    }
    url.split(' ')
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why the server could not use `dir`, if it can be told now: an existing one must be a
/// directory of this user, a missing one must be creatable (its parent exists).
fn data_dir_problem(dir: &Path) -> Option<String> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Some(format!("data_dir {}: not a directory", dir.display())),
        Ok(meta) if meta.uid() != nix::unistd::geteuid().as_raw() => Some(format!(
            "data_dir {}: belongs to uid {}, not to this user (uid {})",
            dir.display(),
            meta.uid(),
            nix::unistd::geteuid()
        )),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
            match parent {
                Some(p) if !p.is_dir() => Some(format!(
                    "data_dir {}: its parent {} does not exist",
                    dir.display(),
                    p.display()
                )),
                _ => None,
            }
        }
        Err(e) => Some(format!("data_dir {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> ServerConfig {
        ServerConfig {
            data_dir: dir.to_owned(),
            database: None,
            listen: "127.0.0.1:8440".parse().unwrap(),
            max_body_bytes: 1024,
            plain_http: false,
            tls_names: vec![],
            advertise: None,
            detection: Default::default(),
            connections: Default::default(),
            metrics: false,
        }
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        let error =
            ServerConfigFile::parse("listen = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap_err();
        assert!(error.starts_with("line 2: "), "{error}");
        assert!(error.contains("listen_port"), "{error}");
    }

    #[test]
    fn the_effective_file_parses_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = ServerConfigFile::effective(&config(dir.path()));
        assert_eq!(ServerConfigFile::parse(&file.to_toml()).unwrap(), file);
    }

    #[test]
    fn check_names_each_problem() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(&config(dir.path())), Vec::<String>::new());
        let mut bad = config(&dir.path().join("missing/deeper"));
        bad.listen = "0.0.0.0:8440".parse().unwrap();
        bad.plain_http = true;
        bad.tls_names = vec!["bad name!".into(), "ok.example".into(), "10.0.0.1".into()];
        let problems = check(&bad);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("data_dir"));
        assert!(problems[3].contains("bad name!"));
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact_password("postgres://netward:s3cr@t@db.example:5432/netward?sslmode=disable"),
            "postgres://netward:***@db.example:5432/netward?sslmode=disable"
        );
        assert_eq!(
            redact_password("postgresql://netward@db.example/netward"),
            "postgresql://netward@db.example/netward"
        );
        assert_eq!(
            redact_password("host=/run/postgresql user=netward password=hunter2 dbname=n"),
            "host=/run/postgresql user=netward password=*** dbname=n"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut bad = config(dir.path());
        bad.database = Some("postgres://a:b@host:notaport/x".into());
        let problems = check(&bad);
        assert!(problems[0].starts_with("database: "), "{problems:?}");
    }
}
