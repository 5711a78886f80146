//! The `netward` binary: logging, then [`netward::run`], then an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use netward::{Cli, Failure, LogFormat, run};
use netward_model::text::printable;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // The one place a failure becomes a number; `netward --help` lists them.
            let (code, e) = match failure {
                Failure::Failed(e) => (1, e),
                Failure::Usage(e) => (2, e),
                Failure::NotFound(e) => (3, e),
                Failure::Partial(e) => (4, e),
            };
            // An error may quote what a server or a device sent: shown escaped.
            eprintln!("error: {}", printable(&format!("{e:#}")));
            ExitCode::from(code)
        }
    }
}
