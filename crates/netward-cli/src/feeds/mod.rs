//! `netward feed add|list|show|update|sync|rm`: threat-intel feeds. Secrets never go on the
//! command line (where `ps` and shell history see them): the password and the API key are read
//! from a file (`--password-file`, `--api-key-file`) or from the environment
//! (`NETWARD_FEED_PASSWORD`, `NETWARD_FEED_API_KEY`); the server never shows them again.

mod show;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use netward_model::wire::{FeedBody, FeedEntity, FeedList, FeedRunEntity};
use netward_model::{MdeAction, Severity};
use reqwest::Method;

use crate::args;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};
use show::{print_feed, print_feeds, print_runs};

/// Feed commands.
#[derive(Subcommand, Debug)]
pub enum FeedCommand {
    /// Subscribe to a feed; its first refresh follows at once.
    Add {
        /// Unique name, shown as the source of what the feed produces.
        name: String,
        #[command(flatten)]
        options: Box<FeedOptions>,
    },
    /// List feeds with their last run.
    List,
    /// Show a feed and its last runs with their refusals.
    Show {
        /// Feed name.
        name: String,
    },
    /// Change a feed: only the options given.
    Update {
        /// Feed name.
        name: String,
        #[command(flatten)]
        options: Box<FeedOptions>,
    },
    /// Refresh a feed now and print the run.
    Sync {
        /// Feed name.
        name: String,
    },
    /// Delete a feed and every indicator it made.
    Rm {
        /// Feed name.
        name: String,
    },
}

/// A feed's options, for `add` and `update`.
#[derive(Args, Debug)]
pub struct FeedOptions {
    /// plain, spamhaus-json, csv, taxii21, misp-feed or misp-api.
    #[arg(long)]
    kind: Option<String>,
    /// The list's URL, the TAXII server's or the MISP instance's.
    #[arg(long)]
    url: Option<String>,
    /// The TAXII collection id.
    #[arg(long)]
    collection: Option<String>,
    /// HTTP Basic user name.
    #[arg(long)]
    username: Option<String>,
    /// A file holding the HTTP Basic password.
    #[arg(long, conflicts_with = "password_env")]
    password_file: Option<PathBuf>,
    /// The HTTP Basic password.
    #[arg(
        long = "password-from-env",
        env = "NETWARD_FEED_PASSWORD",
        hide_env_values = true,
        hide = true
    )]
    password_env: Option<String>,
    /// A file holding the API key.
    #[arg(long, conflicts_with = "api_key_env")]
    api_key_file: Option<PathBuf>,
    /// The API key.
    #[arg(
        long = "api-key-from-env",
        env = "NETWARD_FEED_API_KEY",
        hide_env_values = true,
        hide = true
    )]
    api_key_env: Option<String>,
    /// The header that carries the API key (default Authorization).
    #[arg(long)]
    api_key_header: Option<String>,
    /// A PEM file of the CA certificate(s) to trust instead of the system's.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// What the feed's indicators do: Block (default), Audit or Allowed.
    #[arg(long, value_parser = args::action)]
    action: Option<MdeAction>,
    /// Alert severity (default Medium).
    #[arg(long, value_parser = args::severity)]
    severity: Option<Severity>,
    /// Whether hits raise alerts (default true).
    #[arg(long)]
    alert: Option<bool>,
    /// A device group in scope (repeatable); none means every device.
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Minutes between refreshes (Spamhaus: at least 60).
    #[arg(long)]
    refresh_minutes: Option<u32>,
    /// enforce (default) or audit-only.
    #[arg(long, value_parser = ["enforce", "audit-only"])]
    mode: Option<String>,
    /// Days an indicator stays after it leaves the feed (0: it goes at the next refresh).
    #[arg(long)]
    remove_after_days: Option<u32>,
    /// The largest share (percent) of the feed one refresh may remove (default 50).
    #[arg(long)]
    max_shrink_percent: Option<u8>,
    /// Take ranges wider than /8 (IPv4) or /32 (IPv6), e.g. Spamhaus DROPv6.
    #[arg(long)]
    allow_wide_ranges: Option<bool>,
    /// The most bytes one download may bring.
    #[arg(long)]
    max_bytes: Option<u64>,
    /// The most entries the feed may hold.
    #[arg(long)]
    max_entries: Option<u64>,
    /// csv: the value column, by header name or 0-based index (default dst_ip).
    #[arg(long)]
    csv_column: Option<String>,
    /// csv: the comment prefix (default #).
    #[arg(long)]
    csv_comment_prefix: Option<String>,
    /// Items with a confidence at or above this block (default 60).
    #[arg(long)]
    confidence_block: Option<u8>,
    /// Items with a confidence at or above this are audited; below, refused (default 30).
    #[arg(long)]
    confidence_audit: Option<u8>,
}

/// A secret from a file (its first line) or the environment.
fn secret(
    file: Option<&PathBuf>,
    env: Option<String>,
    flag: &str,
) -> Result<Option<String>, CliError> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Config(format!("{flag} {}: {e}", path.display())))?;
            Ok(Some(text.lines().next().unwrap_or_default().to_owned()))
        }
        None => Ok(env),
    }
}

impl FeedOptions {
    fn body(self, name: String) -> Result<FeedBody, CliError> {
        let ca_cert = self
            .ca_cert
            .as_ref()
            .map(|p| {
                std::fs::read_to_string(p)
                    .map_err(|e| CliError::Config(format!("--ca-cert {}: {e}", p.display())))
            })
            .transpose()?;
        Ok(FeedBody {
            name: Some(name),
            kind: self.kind,
            url: self.url,
            collection: self.collection,
            username: self.username,
            password: secret(
                self.password_file.as_ref(),
                self.password_env,
                "--password-file",
            )?,
            api_key: secret(
                self.api_key_file.as_ref(),
                self.api_key_env,
                "--api-key-file",
            )?,
            api_key_header: self.api_key_header,
            ca_cert,
            action: self.action.map(|a| a.as_str().to_owned()),
            severity: self.severity.map(|s| s.as_str().to_owned()),
            generate_alert: self.alert,
            groups: (!self.groups.is_empty()).then_some(self.groups),
            refresh_minutes: self.refresh_minutes,
            mode: self.mode,
            remove_after_days: self.remove_after_days,
            max_shrink_percent: self.max_shrink_percent,
            allow_wide_ranges: self.allow_wide_ranges,
            max_bytes: self.max_bytes,
            max_entries: self.max_entries,
            csv_column: self.csv_column,
            csv_comment_prefix: self.csv_comment_prefix,
            confidence_block: self.confidence_block,
            confidence_audit: self.confidence_audit,
        })
    }
}

fn path(name: &str) -> String {
    crate::client::named("/api/feeds", name)
}

/// Runs a feed command; an error names the flags, not the API's fields.
pub async fn run(client: &ApiClient, json: bool, cmd: FeedCommand) -> Result<(), CliError> {
    run_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(&flags::FEED))
}

async fn run_command(client: &ApiClient, json: bool, cmd: FeedCommand) -> Result<(), CliError> {
    match cmd {
        FeedCommand::Add { name, options } => {
            let f: FeedEntity = client
                .write(Method::POST, "/api/feeds", &options.body(name)?)
                .await?;
            if json {
                return table::print_json(&f);
            }
            print_feed(&f);
            Ok(())
        }
        FeedCommand::List => {
            let list: FeedList = client.get("/api/feeds", &[]).await?;
            if json {
                return table::print_json(&list);
            }
            print_feeds(&list.value);
            Ok(())
        }
        FeedCommand::Show { name } => {
            let f: FeedEntity = client.get(&path(&name), &[]).await?;
            if json {
                return table::print_json(&f);
            }
            print_feed(&f);
            Ok(())
        }
        FeedCommand::Update { name, options } => {
            let f: FeedEntity = client
                .write(Method::PATCH, &path(&name), &options.body(name)?)
                .await?;
            if json {
                return table::print_json(&f);
            }
            print_feed(&f);
            Ok(())
        }
        FeedCommand::Sync { name } => {
            let run: FeedRunEntity = client
                .send(client.request(Method::POST, &format!("{}/sync", path(&name))))
                .await?;
            if json {
                return table::print_json(&run);
            }
            print_runs(std::slice::from_ref(&run));
            Ok(())
        }
        FeedCommand::Rm { name } => {
            client
                .send_raw(client.request(Method::DELETE, &path(&name)))
                .await?;
            if !json {
                crate::say!("deleted feed {name} and its indicators");
            }
            Ok(())
        }
    }
}
