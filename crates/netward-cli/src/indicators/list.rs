//! `netward indicator list`: one page, with the total on standard error when there are more
//! ("10,000 of 201,009 shown"), or `--all`, which walks every page by id (keyset paging: each
//! page asks for the ids after the last one shown, so the walk costs the same at any depth).

use clap::Args;
use netward_model::MdeAction;
use netward_model::text::thousands;
use netward_model::wire::IndicatorList;

use super::{HEADERS, rows};
use crate::args;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::table;

/// The server's largest page.
const MAX_PAGE: usize = 10_000;

/// What `indicator list` filters on, and how it pages.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Exact value (an address or network in any textual form).
    #[arg(long)]
    value: Option<String>,
    /// Indicators inside this address or network (their whole range), e.g. 203.0.113.0/24.
    #[arg(long, value_name = "NETWORK")]
    within: Option<String>,
    /// Indicators whose range covers this address or network, e.g. 203.0.113.7.
    #[arg(long, value_name = "ADDRESS")]
    containing: Option<String>,
    /// Indicators whose title contains this text (any case).
    #[arg(long)]
    title: Option<String>,
    /// allow, audit or block.
    #[arg(long, value_parser = args::action)]
    action: Option<MdeAction>,
    /// Indicators scoped to this group.
    #[arg(long)]
    group: Option<String>,
    /// Created by this token, user or feed.
    #[arg(long)]
    source: Option<String>,
    /// Created or changed last by this import (its id, in the audit log's
    /// `indicator.import` entry).
    #[arg(long = "import", value_name = "IMPORT_ID")]
    import_id: Option<u64>,
    /// Include expired indicators.
    #[arg(long)]
    include_expired: bool,
    /// Page size (at most 10000).
    #[arg(long)]
    top: Option<usize>,
    /// Items to skip.
    #[arg(long, conflicts_with = "all")]
    skip: Option<usize>,
    /// Every matching indicator, page after page (--top sets the page size).
    #[arg(long)]
    all: bool,
}

impl ListArgs {
    /// The query parameters of the filters.
    fn filters(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        for (k, v) in [
            ("value", self.value.clone()),
            ("within", self.within.clone()),
            ("containing", self.containing.clone()),
            ("title", self.title.clone()),
            (
                "action",
                self.action.map(|a| a.action().as_str().to_owned()),
            ),
            ("group", self.group.clone()),
            ("source", self.source.clone()),
            ("importId", self.import_id.map(|i| i.to_string())),
        ] {
            if let Some(v) = v {
                q.push((k, v));
            }
        }
        if self.include_expired {
            q.push(("includeExpired", "true".into()));
        }
        q
    }
}

/// Runs `indicator list`.
pub(super) async fn run(client: &ApiClient, json: bool, list: ListArgs) -> Result<(), CliError> {
    if list.all {
        return run_all(client, json, &list).await;
    }
    let mut q = list.filters();
    q.push(("$count", "true".into()));
    if let Some(t) = list.top {
        q.push(("$top", t.to_string()));
    }
    if let Some(s) = list.skip {
        q.push(("$skip", s.to_string()));
    }
    let page: IndicatorList = client.get("/api/indicators", &q).await?;
    if json {
        table::print_json(&page)?;
    } else {
        table::print_painted(&HEADERS, &rows(&page.value), 2, table::Paint::outcome);
    }
    let shown = page.value.len() as u64;
    if let Some(total) = page.odata_count.filter(|t| *t > shown) {
        // On standard error, so that standard output stays the list alone.
        eprintln!(
            "{} of {} shown; --all lists every one",
            thousands(shown),
            thousands(total)
        );
    }
    Ok(())
}

/// Every page, printed as it arrives: one table (the header once), or with `--json` one
/// JSON document, `{"@odata.count": N, "value": [...]}`, written item by item.
async fn run_all(client: &ApiClient, json: bool, list: &ListArgs) -> Result<(), CliError> {
    let size = list.top.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let mut after: Option<String> = None;
    let mut written = 0u64;
    loop {
        let mut q = list.filters();
        q.push(("$top", size.to_string()));
        q.push(("$orderby", "id asc".into()));
        if let Some(id) = &after {
            q.push(("$filter", format!("id gt {id}")));
        } else {
            q.push(("$count", "true".into()));
        }
        let page: IndicatorList = client.get("/api/indicators", &q).await?;
        if after.is_none() && json {
            let count = page.odata_count.unwrap_or_default();
            table::write_out(&format!("{{\"@odata.count\": {count}, \"value\": [\n"));
        }
        if json {
            for item in &page.value {
                let text = serde_json::to_string(item)
                    .map_err(|e| CliError::Failed(format!("cannot render JSON: {e}")))?;
                let sep = if written == 0 { "" } else { ",\n" };
                table::write_out(&format!("{sep}{text}"));
                written += 1;
            }
        } else {
            let text = table::render(&HEADERS, &rows(&page.value));
            // The header once, on the first page.
            let body = if after.is_none() {
                text.as_str()
            } else {
                text.split_once('\n').map_or("", |(_, rest)| rest)
            };
            table::write_out(body);
            written += page.value.len() as u64;
        }
        match page.value.last() {
            Some(last) if page.value.len() == size => after = Some(last.id.clone()),
            _ => break,
        }
    }
    if json {
        table::write_out("\n]}\n");
    } else if written > 0 {
        eprintln!("{} listed", thousands(written));
    }
    Ok(())
}
