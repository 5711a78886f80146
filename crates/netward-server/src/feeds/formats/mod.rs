//! The list formats the feed core reads itself: `plain` (one IP or CIDR per line, FireHOL and
//! Spamhaus DROP text), `spamhaus-json` (Spamhaus's NDJSON) and `csv` (a value column). Each
//! turns a whole downloaded body into a complete [`Pull`]: items, and a refusal with a reason
//! for every entry that is not one. A bad entry never stops the rest; only a body that cannot
//! be the format at all (no CSV header with the column, Spamhaus JSON without its trailer)
//! fails the pull, and the feed keeps its last good content.

mod csv;
mod plain;
mod spamhaus;
#[cfg(test)]
mod tests;

use super::client::{self, Fetched};
use super::config::CsvMapping;
use super::{Content, FeedItem, FeedKind, Pull, PullError, Refusal, Source, Validators};
use netward_model::IndicatorValue;

/// Longest entry kept in a refusal, in characters.
const ENTRY_SHOWN: usize = 200;

/// Fetches and reads a list feed (`kind` is not an intel kind).
pub async fn pull(
    kind: FeedKind,
    http: &reqwest::Client,
    source: &Source,
    validators: &Validators,
    csv: Option<&CsvMapping>,
) -> Result<Pull, PullError> {
    let (body, next) = match client::get(http, source, validators).await? {
        Fetched::NotModified => {
            return Ok(Pull {
                validators: validators.clone(),
                ..Pull::default()
            });
        }
        Fetched::Body(body, next) => (body, next),
    };
    let url = source.url.clone();
    // Parsing half a million lines takes a moment: off the async threads.
    let kind_csv = csv.cloned();
    let parsed = tokio::task::spawn_blocking(move || parse(kind, &body, kind_csv.as_ref()))
        .await
        .map_err(|e| PullError::Format {
            url: url.clone(),
            reason: format!("the parser failed: {e}"),
        })?;
    let (items, refusals) = parsed.map_err(|reason| PullError::Format { url, reason })?;
    Ok(Pull {
        content: Content::Complete(items),
        refusals,
        validators: next,
        cursor: None,
    })
}

/// Reads a whole body of a list kind; `Err` when the body cannot be that format at all.
pub fn parse(
    kind: FeedKind,
    body: &[u8],
    csv: Option<&CsvMapping>,
) -> Result<(Vec<FeedItem>, Vec<Refusal>), String> {
    match kind {
        FeedKind::Plain => Ok(plain::parse(body)),
        FeedKind::SpamhausJson => spamhaus::parse(body),
        FeedKind::Csv => {
            let default = CsvMapping {
                column: super::config::DEFAULT_CSV_COLUMN.to_owned(),
                comment_prefix: "#".to_owned(),
            };
            csv::parse(body, csv.unwrap_or(&default))
        }
        other => Err(format!("feeds of kind {other} are not a list format")),
    }
}

/// The lines of a body, numbered from 1, each as text (bytes that are not UTF-8 replaced).
fn lines(body: &[u8]) -> impl Iterator<Item = (usize, std::borrow::Cow<'_, str>)> {
    body.split(|b| *b == b'\n').enumerate().map(|(i, line)| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (i + 1, String::from_utf8_lossy(line))
    })
}

/// An entry, shortened for a refusal.
fn shortened(entry: &str) -> String {
    entry.chars().take(ENTRY_SHOWN).collect()
}

/// An item for `text`, or the refusal that says why it is not one.
fn item_at(line: usize, text: &str) -> Result<FeedItem, Refusal> {
    IndicatorValue::parse(text)
        .map(FeedItem::new)
        .map_err(|e| Refusal {
            at: format!("line {line}"),
            entry: shortened(text),
            reason: e.to_string(),
        })
}

/// One line of free text for an item's comment: control characters dropped, at most 200
/// characters.
fn one_line(text: &str) -> Option<String> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(ENTRY_SHOWN)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_owned())
}
