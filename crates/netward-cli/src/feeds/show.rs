//! How `netward feed list` and `show` print feeds and their runs.

use netward_model::wire::{FeedEntity, FeedRunEntity};

use crate::table;

fn run_summary(run: Option<&FeedRunEntity>) -> String {
    run.map_or_else(
        || "never".into(),
        |r| {
            format!(
                "{} +{} -{} ={} !{}",
                r.status, r.added, r.removed, r.unchanged, r.refused
            )
        },
    )
}

pub(super) fn print_feeds(feeds: &[FeedEntity]) {
    let rows: Vec<Vec<String>> = feeds
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.kind.clone(),
                f.mode.clone(),
                f.indicators.to_string(),
                f.runs
                    .first()
                    .map_or_else(|| "-".into(), |r| r.started_at.clone()),
                run_summary(f.runs.first()),
                f.url.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "NAME",
            "KIND",
            "MODE",
            "INDICATORS",
            "LAST RUN",
            "RESULT (+added -removed =unchanged !refused)",
            "URL",
        ],
        &rows,
    );
}

pub(super) fn print_runs(runs: &[FeedRunEntity]) {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.started_at.clone(),
                r.status.clone(),
                r.http_status.map_or_else(|| "-".into(), |s| s.to_string()),
                r.added.to_string(),
                r.updated.to_string(),
                r.removed.to_string(),
                r.unchanged.to_string(),
                r.refused.to_string(),
                r.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::print(
        &[
            "STARTED",
            "STATUS",
            "HTTP",
            "ADDED",
            "UPDATED",
            "REMOVED",
            "UNCHANGED",
            "REFUSED",
            "ERROR",
        ],
        &rows,
    );
    if let Some(last) = runs.first()
        && !last.refusals.is_empty()
    {
        crate::say!("\nrefused in the last run (first {}):", last.refusals.len());
        let rows: Vec<Vec<String>> = last
            .refusals
            .iter()
            .map(|r| vec![r.at.clone(), r.entry.clone(), r.reason.clone()])
            .collect();
        table::print(&["AT", "ENTRY", "REASON"], &rows);
    }
}

pub(super) fn print_feed(f: &FeedEntity) {
    let set = |b: bool| if b { "set" } else { "-" }.to_owned();
    table::print_record(&[
        ("name", f.name.clone()),
        ("kind", f.kind.clone()),
        ("url", f.url.clone()),
        (
            "collection",
            f.collection.clone().unwrap_or_else(|| "-".into()),
        ),
        ("username", f.username.clone().unwrap_or_else(|| "-".into())),
        ("password", set(f.password_set)),
        ("api key", set(f.api_key_set)),
        ("ca cert", set(f.ca_cert_set)),
        ("action", f.action.clone()),
        ("severity", f.severity.clone()),
        ("alert", f.generate_alert.to_string()),
        (
            "groups",
            if f.groups.is_empty() {
                "all devices".into()
            } else {
                f.groups.join(", ")
            },
        ),
        ("mode", f.mode.clone()),
        ("refresh", format!("every {} minutes", f.refresh_minutes)),
        (
            "remove after",
            f.remove_after_days
                .map_or_else(|| "next refresh".into(), |d| format!("{d} days")),
        ),
        ("max shrink", format!("{}%", f.max_shrink_percent)),
        ("wide ranges", f.allow_wide_ranges.to_string()),
        ("indicators", f.indicators.to_string()),
    ]);
    crate::say!();
    print_runs(&f.runs);
}
