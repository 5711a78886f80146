//! The agent's state directory: its identity, the policy it holds, and its status, each a JSON
//! file replaced atomically (write, fsync, rename), so a crash never leaves half a file. The
//! directory is private to root (0700).

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::AgentError;

/// The device's identity, from enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Identity {
    /// The server's base URL; with replicas, the first of [`Identity::servers`].
    pub server: String,
    /// Every replica's base URL, in the order they are tried; empty when there is only
    /// `server` (so that the file stays readable by agents from before replicas).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// The SHA-256 of the server's CA, pinned at enrollment (`None` for plain HTTP on loopback).
    #[serde(default)]
    pub ca_fingerprint: Option<String>,
    /// The device id.
    pub device_id: String,
    /// The device credential (`nwd_…`).
    pub secret: String,
}

impl Identity {
    /// The servers, in the order they are tried.
    pub fn server_list(&self) -> Vec<String> {
        match self.servers.is_empty() {
            true => vec![self.server.clone()],
            false => self.servers.clone(),
        }
    }

    /// Replaces the servers with `servers` (at least one).
    pub fn set_servers(&mut self, servers: &[String]) {
        if let Some(first) = servers.first() {
            self.server = first.clone();
        }
        self.servers = match servers.len() > 1 {
            true => servers.to_vec(),
            false => Vec::new(),
        };
    }
}

/// What `netward agent status` shows, written by the running agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Whether the agent that wrote this still runs: set by the reader from the agent's lock
    /// (`runtime::status::read_status`), never trusted from the file.
    #[serde(default)]
    pub running: bool,
    /// The base URL of the server in use (or last used).
    pub server: String,
    /// Every server the agent may use, in the order it tries them (replicas); empty in a
    /// status written before replicas.
    #[serde(default)]
    pub servers: Vec<String>,
    /// The device id.
    pub device_id: String,
    /// Whether the push channel is connected.
    pub connected: bool,
    /// The group.
    pub group: String,
    /// The protection mode enforced.
    pub mode: netward_model::ProtectionMode,
    /// Which protocols a block applies to.
    pub coverage: netward_model::Coverage,
    /// The policy version enforced.
    pub version: Option<u64>,
    /// When it was applied, RFC 3339.
    pub applied_at: Option<String>,
    /// Indicators held, per action.
    pub allow: usize,
    /// Block indicators held.
    pub block: usize,
    /// Audit indicators held.
    pub audit: usize,
    /// Entries in the kernel's sets.
    pub kernel_entries: u64,
    /// Indicators cut back because they cover loopback or the server.
    pub not_enforceable: Vec<i64>,
    /// The last error (enforcement or connection).
    pub last_error: Option<String>,
    /// When the status was written, RFC 3339.
    pub updated_at: String,
}

/// File names in the state directory.
pub const IDENTITY: &str = "identity.json";
/// The held policy.
pub const POLICY: &str = "policy.json";
/// The status.
pub const STATUS: &str = "status.json";

/// Creates the state directory, private to its owner.
pub fn prepare(dir: &Path) -> Result<(), AgentError> {
    let err = |source| AgentError::State {
        path: dir.to_owned(),
        source,
    };
    fs::create_dir_all(dir).map_err(err)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(err)
}

/// Reads `name` from `dir`; `None` if it does not exist.
pub fn read<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>, AgentError> {
    let path = dir.join(name);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AgentError::State { path, source }),
    };
    // Parsed as it is read: `policy.json` of a million indicators is never in memory whole.
    let de = &mut serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(
        1 << 16,
        file,
    ));
    let value = T::deserialize(&mut *de).and_then(|v| de.end().map(|()| v));
    match value {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_io() => Err(AgentError::State {
            path,
            source: std::io::Error::other(e),
        }),
        Err(e) => Err(AgentError::Corrupt {
            path,
            detail: e.to_string(),
        }),
    }
}

/// Moves the damaged file `name` in `dir` out of the way, as `<name>.damaged-<time>` (RFC 3339,
/// UTC), and returns the new path. The file is kept for a post-mortem, never read again.
pub fn set_aside(dir: &Path, name: &str, now: i64) -> Result<PathBuf, AgentError> {
    let path = dir.join(name);
    let aside = unused_name(
        dir,
        &format!(
            "{name}.damaged-{}",
            netward_model::timestamp::format_rfc3339(now)
        ),
    );
    fs::rename(&path, &aside).map_err(|source| AgentError::State { path, source })?;
    Ok(aside)
}

/// `dir/name`, or `dir/name.N` with the first N that is free, so that a file set aside never
/// replaces one set aside before (twice in a second, say).
pub fn unused_name(dir: &Path, name: &str) -> PathBuf {
    let mut path = dir.join(name);
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{name}.{n}"));
        n += 1;
    }
    path
}

/// Replaces `name` in `dir` atomically.
pub fn write<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), AgentError> {
    let path = dir.join(name);
    let tmp: PathBuf = dir.join(format!(".{name}.tmp"));
    let err = |source| AgentError::State {
        path: path.clone(),
        source,
    };
    let file = File::create(&tmp).map_err(err)?;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(err)?;
    // Written as it is serialized: a policy of a million indicators is never a second copy
    // in memory.
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    serde_json::to_writer(&mut out, value).map_err(|e| match e.io_error_kind() {
        Some(kind) => err(std::io::Error::new(kind, e)),
        None => AgentError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        },
    })?;
    let file = out.into_inner().map_err(|e| err(e.into_error()))?;
    file.sync_all().map_err(err)?;
    fs::rename(&tmp, &path).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_of_one_server_is_written_as_before_and_one_of_several_lists_them() {
        let before = r#"{"server":"https://a.example","caFingerprint":null,"deviceId":"1","secret":"nwd_x"}"#;
        let mut id: Identity = serde_json::from_str(before).unwrap();
        assert_eq!(id.server_list(), ["https://a.example"]);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            before,
            "readable by older agents"
        );
        let replicas = vec![
            "https://b.example".to_owned(),
            "https://c.example".to_owned(),
        ];
        id.set_servers(&replicas);
        assert_eq!(
            (id.server.as_str(), id.server_list()),
            ("https://b.example", replicas)
        );
        let text = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<Identity>(&text).unwrap(), id);
        id.set_servers(&["https://d.example".to_owned()]);
        assert!(id.servers.is_empty());
        assert_eq!(id.server_list(), ["https://d.example"]);
    }
}
