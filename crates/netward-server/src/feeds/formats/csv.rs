//! `csv`: one record per line, the value in one column named by header or by 0-based index;
//! lines starting with the comment prefix are comments. abuse.ch's Feodo Tracker puts its
//! header inside a comment (`# "first_seen_utc","dst_ip",…`): a comment line whose fields
//! include the column's name is taken as the header too.

use super::{CsvMapping, FeedItem, Refusal, item_at, lines, shortened};

/// The fields of one CSV line.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(line.as_bytes());
    let record = reader.records().next()?.ok()?;
    Some(record.iter().map(str::to_owned).collect())
}

pub fn parse(body: &[u8], mapping: &CsvMapping) -> Result<(Vec<FeedItem>, Vec<Refusal>), String> {
    let by_index: Option<usize> = mapping.column.parse().ok();
    let mut column = by_index;
    let mut items = Vec::new();
    let mut refusals = Vec::new();
    let prefix = mapping.comment_prefix.as_str();
    for (n, line) in lines(body) {
        if line.trim().is_empty() {
            continue;
        }
        let header_at = |fields: &[String]| fields.iter().position(|f| *f == mapping.column);
        if !prefix.is_empty()
            && let Some(comment) = line.trim_start().strip_prefix(prefix)
        {
            if column.is_none()
                && let Some(found) = fields(comment).as_deref().and_then(header_at)
            {
                column = Some(found);
            }
            continue;
        }
        let Some(record) = fields(&line) else {
            refusals.push(Refusal {
                at: format!("line {n}"),
                entry: shortened(&line),
                reason: "not a CSV record".into(),
            });
            continue;
        };
        let Some(at) = column else {
            // The first record is the header.
            column = Some(header_at(&record).ok_or_else(|| {
                format!(
                    "the header ({}) has no column `{}`",
                    shortened(&line),
                    mapping.column
                )
            })?);
            continue;
        };
        match record.get(at) {
            Some(value) => match item_at(n, value) {
                Ok(item) => items.push(item),
                Err(refusal) => refusals.push(refusal),
            },
            None => refusals.push(Refusal {
                at: format!("line {n}"),
                entry: shortened(&line),
                reason: format!("no column {} on this line", at + 1),
            }),
        }
    }
    Ok((items, refusals))
}
