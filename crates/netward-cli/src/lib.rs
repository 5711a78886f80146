//! `netward <noun> <verb>`: the command-line client of the REST API. It prints tables by
//! default and JSON with `--json`, and exits non-zero with a one-line reason on any failure.
//!
//! `client.rs` is the only HTTP code; `config.rs` resolves the server and token; each noun has
//! its own file; `table.rs` renders output.

pub mod args;
pub mod audit_log;
pub mod client;
pub mod config;
pub mod detection;
pub mod enroll_tokens;
pub mod error;
pub mod feeds;
pub mod flags;
pub mod groups;
pub mod indicators;
pub mod machines;
pub mod settings;
pub mod table;
pub mod tls;
pub mod tokens;

pub use config::ClientOptions;
pub use error::CliError;
