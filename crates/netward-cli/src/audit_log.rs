//! `netward audit`: read the audit log (admins only).

use clap::Args;
use netward_model::wire::AuditList;

use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

/// Audit-log filters.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only entries on this indicator value, group, token name or `settings`.
    #[arg(long)]
    pub target: Option<String>,
    /// Only entries at or after this time: a duration ago (30m, 12h, 7d) or RFC 3339.
    #[arg(long, visible_alias = "since", value_parser = crate::args::time, value_name = "WHEN")]
    pub from: Option<crate::args::TimeArg>,
    /// Entries to show (default 100, at most 10000).
    #[arg(long)]
    pub top: Option<usize>,
    /// Entries to skip.
    #[arg(long)]
    pub skip: Option<usize>,
}

/// Prints the audit log, newest first; an error names the flags, not the API's fields.
pub async fn run(client: &ApiClient, json: bool, args: AuditArgs) -> Result<(), CliError> {
    run_command(client, json, args)
        .await
        .map_err(|e| e.in_terms_of(&flags::AUDIT))
}

async fn run_command(client: &ApiClient, json: bool, args: AuditArgs) -> Result<(), CliError> {
    let mut q = Vec::new();
    if let Some(t) = args.target {
        q.push(("target", t));
    }
    if let Some(f) = args.from {
        q.push(("from", f.before(crate::args::now())));
    }
    if let Some(t) = args.top {
        q.push(("$top", t.to_string()));
    }
    if let Some(s) = args.skip {
        q.push(("$skip", s.to_string()));
    }
    let list: AuditList = client.get("/api/audit", &q).await?;
    if json {
        return table::print_json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .value
        .iter()
        .map(|e| {
            vec![
                e.time.clone(),
                e.actor.clone(),
                e.action.clone(),
                e.target.clone(),
                e.detail.clone(),
            ]
        })
        .collect();
    table::print(&["TIME", "ACTOR", "ACTION", "TARGET", "DETAIL"], &rows);
    Ok(())
}
