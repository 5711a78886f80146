//! CLI failures, each with a one-line message a person can act on, and the exit code each
//! kind of failure means ([`CliError::exit_class`]; `main` maps it to a number).

use std::path::PathBuf;

use crate::flags::FlagNames;
use crate::tls::TlsRefusal;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server could not be reached: nothing answered, or the connection broke.
    #[error("cannot reach the netward server: {cause}; {hint} tried {server} ({origin})")]
    Unreachable {
        /// What to check, as a question (`is the server running?`).
        hint: &'static str,
        /// The server URL.
        server: String,
        /// Where the URL came from (`--server or NETWARD_SERVER`, the config file, the default).
        origin: String,
        /// The innermost cause, in one line.
        cause: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client for {server}: {cause}")]
    Client {
        /// The server URL.
        server: String,
        /// The cause (in the message, not a source: errors are printed on one line).
        cause: reqwest::Error,
    },
    /// The CLI refused the server's certificate.
    #[error("{0}")]
    Tls(TlsRefusal),
    /// The server refused the token (401).
    #[error("{}; check NETWARD_TOKEN / --token", token_refusal(message))]
    Unauthenticated {
        /// The server's message.
        message: String,
    },
    /// The token's role does not allow the request (403).
    #[error(
        "{message}; ask an admin for a token with the role {role} (netward token create --role {role})",
        role = needed_role(message)
    )]
    Forbidden {
        /// The server's message, which names the role needed.
        message: String,
    },
    /// The server answered with an error.
    #[error("{}", api_text(message, target.as_deref(), flag.as_deref()))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
        /// The server's message.
        message: String,
        /// The API field at fault.
        target: Option<String>,
        /// The command-line flag or argument that set that field, when the command knows it.
        flag: Option<String>,
    },
    /// What the command names does not exist (and the server was not asked by id).
    #[error("{0}")]
    NotFound(String),
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
    #[error("cannot read {path}: {cause}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause (in the message, not a source: errors are printed on one line).
        cause: std::io::Error,
    },
    /// An argument is wrong.
    #[error("{0}")]
    Usage(String),
    /// Something failed after the server was reached (a stream broke, output failed).
    #[error("{0}")]
    Failed(String),
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

/// A 401's message, saying the token is unknown or revoked once.
fn token_refusal(message: &str) -> String {
    if message.contains("unknown or revoked") {
        message.to_owned()
    } else {
        format!("the server refused the token ({message}): it is unknown or revoked")
    }
}

/// The role a 403 names (`…; this needs analyst`), or `…` when it names none.
fn needed_role(message: &str) -> &str {
    message
        .rsplit_once("needs ")
        .map(|(_, role)| role.trim_end_matches(|c: char| !c.is_ascii_alphabetic()))
        .filter(|role| !role.is_empty() && role.chars().all(|c| c.is_ascii_alphabetic()))
        .unwrap_or("…")
}

fn api_text(message: &str, target: Option<&str>, flag: Option<&str>) -> String {
    match (flag, target) {
        (Some(flag), _) => format!("{flag}: {message}"),
        (None, Some(target)) => format!("{message} (API field {target})"),
        (None, None) => message.to_owned(),
    }
}

/// What kind of failure an error is, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitClass {
    /// The operation failed (the server refused it, or could not be reached): exit 1.
    Failed,
    /// Wrong arguments or configuration: exit 2.
    Usage,
    /// What the command names does not exist: exit 3.
    NotFound,
    /// Part of it was applied: exit 4.
    Partial,
}

impl CliError {
    /// The kind of failure, for the exit code.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            Self::Usage(_) | Self::Config(_) | Self::File { .. } => ExitClass::Usage,
            Self::NotFound(_) | Self::Api { status: 404, .. } => ExitClass::NotFound,
            Self::PartialImport { .. } => ExitClass::Partial,
            _ => ExitClass::Failed,
        }
    }

    /// The error in the command's own terms: the API field at fault named by the flag that
    /// set it, and `force` as `--force`.
    pub fn in_terms_of(self, flags: &FlagNames) -> Self {
        match self {
            Self::Api {
                status,
                code,
                message,
                target,
                flag: None,
            } => {
                let flag = target
                    .as_deref()
                    .and_then(|t| flags.flag(t))
                    .map(str::to_owned);
                Self::Api {
                    status,
                    code,
                    message: flags.rewrite(&message),
                    target,
                    flag,
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CliError;

    #[test]
    fn refused_tokens_and_roles_say_what_to_do_once() {
        let e = CliError::Unauthenticated {
            message: "the token is unknown or revoked".into(),
        };
        assert_eq!(
            e.to_string(),
            "the token is unknown or revoked; check NETWARD_TOKEN / --token"
        );
        let e = CliError::Forbidden {
            message: "the token `v` has the role viewer; this needs analyst".into(),
        };
        assert!(
            e.to_string()
                .ends_with("with the role analyst (netward token create --role analyst)"),
            "{e}"
        );
    }
}
