//! CLI failures, each with a message a person can act on.

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server could not be reached or the exchange broke.
    #[error("cannot reach the netward server at {server}: {source}")]
    Connect {
        /// The server URL.
        server: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{message}{}", target.as_ref().map(|t| format!(" (field: {t})")).unwrap_or_default())]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
        /// The server's message.
        message: String,
        /// The field at fault.
        target: Option<String>,
    },
    /// The server answered something that is not netward's API.
    #[error("unexpected answer from the server (HTTP {status}): {detail}")]
    Protocol {
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An argument is wrong.
    #[error("{0}")]
    Usage(String),
    /// Part of an import failed; the rest was applied.
    #[error("{failed} of {total} items failed (the other {applied} were applied)")]
    PartialImport {
        /// Failed items.
        failed: usize,
        /// All items.
        total: usize,
        /// Applied items.
        applied: usize,
    },
}
