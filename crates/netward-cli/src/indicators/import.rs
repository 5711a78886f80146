//! `netward indicator import`: the file streamed to `POST /api/indicators/import` with a
//! progress bar on a terminal, then one line of counts and a table of the rows that failed.

use std::path::Path;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use netward_model::wire::ImportResultList;
use reqwest::Method;
use tokio_util::io::ReaderStream;

use super::ImportFileFormat;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

pub(super) fn guess_format(file: &Path) -> ImportFileFormat {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => ImportFileFormat::Csv,
        Some("json") => ImportFileFormat::Json,
        _ => ImportFileFormat::List,
    }
}

/// Uploads the file with a progress bar on the terminal, then waits for the per-item results.
pub(super) async fn import(
    client: &ApiClient,
    file: &Path,
    format: ImportFileFormat,
    query: &[(&str, String)],
) -> Result<(ImportResultList, Option<String>), CliError> {
    let file_err = |cause| CliError::File {
        path: file.to_owned(),
        cause,
    };
    let handle = tokio::fs::File::open(file).await.map_err(file_err)?;
    let size = handle.metadata().await.map_err(file_err)?.len();
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{msg:12} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("uploading");
    let progress = bar.clone();
    let stream = ReaderStream::with_capacity(handle, 256 * 1024).inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            progress.inc(bytes.len() as u64);
        }
        if progress.position() >= size {
            progress.set_message("applying");
        }
    });
    let content_type = match format {
        ImportFileFormat::Csv => "text/csv",
        ImportFileFormat::Json => "application/json",
        ImportFileFormat::List => "text/plain; charset=utf-8",
    };
    let req = client
        .request(Method::POST, "/api/indicators/import")
        .query(query)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(stream));
    let result = client.send_with_header(req, "x-netward-import-id").await;
    bar.finish_and_clear();
    result
}

/// Prints what became of each row (the failed ones in a table) and the import's id; exits 4
/// when some rows failed.
pub(super) fn report_import(
    json: bool,
    results: &ImportResultList,
    import_id: Option<&str>,
) -> Result<(), CliError> {
    let total = results.value.len();
    let failed: Vec<_> = results
        .value
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_failed)
        .collect();
    if json {
        table::print_json(results)?;
    } else {
        crate::say!(
            "{} applied, {} failed, {} in all",
            total - failed.len(),
            failed.len(),
            total
        );
        if let Some(id) = import_id {
            crate::say!(
                "import {id}: `netward indicator list --import {id}` lists what it changed"
            );
        }
        if !failed.is_empty() {
            let rows: Vec<Vec<String>> = failed
                .iter()
                .map(|(i, r)| {
                    vec![
                        r.line
                            .map(|l| l.to_string())
                            .unwrap_or_else(|| format!("item {}", i + 1)),
                        r.indicator.clone(),
                        flags::INDICATOR_IMPORT
                            .rewrite(r.failure_reason.as_deref().unwrap_or_default()),
                    ]
                })
                .collect();
            table::print(&["WHERE", "VALUE", "REASON"], &rows);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::PartialImport {
            failed: failed.len(),
            total,
            applied: total - failed.len(),
        })
    }
}
