//! [`AgentError`]: why the agent stopped, could not start, or could not talk to the server.

use std::path::PathBuf;

use super::server_address::ServerUrlError;
use crate::enforcer::EnforcerError;

/// Why the agent stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The state directory is unusable.
    #[error("cannot use {path}")]
    State {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A state file does not parse.
    #[error("{path} is corrupt: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The server refused the device (unknown, revoked, or a bad enrollment token).
    #[error("the server refused this device: {0}")]
    Refused(String),
    /// An HTTP exchange failed.
    #[error("server exchange failed: {0}")]
    Http(String),
    /// The server's answer cannot be used: it does not read as what was asked (the error names
    /// the field), or it is larger than the agent takes. Asking again gets the same answer, so
    /// the agent keeps what it holds and reports this on its device record.
    #[error("unusable answer from the server: {0}")]
    Unusable(String),
    /// The server refused what was sent (too large, or a value it names as wrong): sending it
    /// again as it is will not help.
    #[error("the server refused the request (HTTP {status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's reason.
        message: String,
    },
    /// The server URL cannot be used.
    #[error(transparent)]
    ServerUrl(#[from] ServerUrlError),
    /// `uninstall` found no table to remove where it looked.
    #[error(
        "no nftables table inet {table} in {}: nothing was removed here (the agent may enforce in another network namespace, see --netns, or under another table name, see --table); the state directory is kept",
        netns.as_ref().map_or_else(|| "this network namespace".to_owned(), |p| format!("the network namespace {}", p.display()))
    )]
    TableNotFound {
        /// The table looked for.
        table: String,
        /// The namespace it was looked for in; `None`: the caller's own.
        netns: Option<PathBuf>,
    },
    /// The kernel could not be brought to the policy.
    #[error(transparent)]
    Enforcer(#[from] EnforcerError),
}
