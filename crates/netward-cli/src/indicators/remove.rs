//! `netward indicator rm`: one indicator by id or value, or every indicator that matches
//! filters (`--source`, `--group`, `--action`, `--title`, `--file` of values) through
//! `POST /api/indicators/DeleteByFilter`: the count first (a dry run), then a confirmation on a
//! terminal (`--yes` skips it; without a terminal `--yes` is required), then one change.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use netward_model::MdeAction;
use netward_model::text::thousands;
use netward_model::wire::{DeleteByFilterRequest, DeleteByFilterResult};
use reqwest::Method;

use super::find;
use crate::args;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::table;

/// What `indicator rm` deletes.
#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// Id or value of one indicator.
    #[arg(conflicts_with_all = ["source", "group", "action", "title", "file"])]
    indicator: Option<String>,
    /// Every indicator created by this token, user or feed.
    #[arg(long)]
    source: Option<String>,
    /// Every indicator scoped to this group.
    #[arg(long)]
    group: Option<String>,
    /// Every indicator with this action (allow, audit or block).
    #[arg(long, value_parser = args::action)]
    action: Option<MdeAction>,
    /// Every indicator with exactly this title.
    #[arg(long)]
    title: Option<String>,
    /// Every indicator whose value is listed in FILE (one per line, `#` comments).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Count what the filters match; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Delete without asking.
    #[arg(long, short = 'y')]
    yes: bool,
}

impl RemoveArgs {
    /// Whether one indicator is named (rather than filters).
    pub(super) fn is_single(&self) -> bool {
        self.indicator.is_some()
    }

    /// The request body, read from the flags and the file.
    fn request(&self) -> Result<DeleteByFilterRequest, CliError> {
        let values = match &self.file {
            None => None,
            Some(path) => Some(read_values(path)?),
        };
        let body = DeleteByFilterRequest {
            source: self.source.clone(),
            group: self.group.clone(),
            action: self.action.map(|a| a.action().as_str().to_owned()),
            title: self.title.clone(),
            values,
            dry_run: true,
        };
        if body.source.is_none()
            && body.group.is_none()
            && body.action.is_none()
            && body.title.is_none()
            && body.values.is_none()
        {
            return Err(CliError::Usage(
                "name an indicator (id or value), or filters: --source, --group, --action, --title or --file".into(),
            ));
        }
        Ok(body)
    }
}

/// The values of a file: one a line, blank lines and `#` comments skipped.
fn read_values(path: &PathBuf) -> Result<Vec<String>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|cause| CliError::File {
        path: path.clone(),
        cause,
    })?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Runs `indicator rm`.
pub(super) async fn run(client: &ApiClient, json: bool, rm: RemoveArgs) -> Result<(), CliError> {
    if let Some(key) = &rm.indicator {
        let ind = find(client, key).await?;
        client
            .send_raw(client.request(Method::DELETE, &format!("/api/indicators/{}", ind.id)))
            .await?;
        if !json {
            crate::say!("deleted indicator {} ({})", ind.id, ind.indicator_value);
        }
        return Ok(());
    }
    let mut body = rm.request()?;
    let counted: DeleteByFilterResult = client
        .write(Method::POST, "/api/indicators/DeleteByFilter", &body)
        .await?;
    if rm.dry_run || counted.matched == 0 {
        return report(json, &counted);
    }
    if !rm.yes {
        confirm(counted.matched)?;
    }
    body.dry_run = false;
    let done: DeleteByFilterResult = client
        .write(Method::POST, "/api/indicators/DeleteByFilter", &body)
        .await?;
    report(json, &done)
}

/// Asks on the terminal; refuses without one.
fn confirm(matched: u64) -> Result<(), CliError> {
    let noun = if matched == 1 {
        "indicator"
    } else {
        "indicators"
    };
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "{} {noun} match; standard input is not a terminal, so nothing was deleted: pass --yes to delete them, or --dry-run to count only",
            thousands(matched)
        )));
    }
    eprint!("Delete {} {noun}? [y/N] ", thousands(matched));
    std::io::stderr()
        .flush()
        .map_err(|e| CliError::Failed(format!("cannot ask: {e}")))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Failed("nothing was deleted".into()))
    }
}

fn report(json: bool, result: &DeleteByFilterResult) -> Result<(), CliError> {
    if json {
        return table::print_json(result);
    }
    let noun = |n: u64| if n == 1 { "indicator" } else { "indicators" };
    if result.dry_run {
        crate::say!(
            "{} {} match; nothing was deleted (dry run)",
            thousands(result.matched),
            noun(result.matched)
        );
    } else {
        crate::say!(
            "deleted {} {}",
            thousands(result.deleted),
            noun(result.deleted)
        );
    }
    Ok(())
}
