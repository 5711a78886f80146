//! Bulk import formats: MDE's JSON batch, MDE's CSV template and plain lists of addresses.
//! Each parser turns a body into one [`ImportRow`] per item; a bad item becomes a failed row,
//! never a failed import. Only a body that cannot be read as the format at all is an
//! [`ImportError`].

use serde::Deserialize;

use crate::strict_json::StrictJson;
use crate::submission::parse_flag;
use crate::{FieldError, IndicatorSubmission};

/// The columns of MDE's CSV template, in its order.
pub const CSV_COLUMNS: [&str; 12] = [
    "IndicatorType",
    "IndicatorValue",
    "ExpirationTime",
    "Action",
    "Severity",
    "Title",
    "Description",
    "RecommendedActions",
    "RbacGroups",
    "Category",
    "MitreTechniques",
    "GenerateAlert",
];

/// One item of an import, parsed but not yet validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// The 1-based line (CSV and lists) of the item; `None` for JSON.
    pub line: Option<u64>,
    /// The value as written, for the per-item result.
    pub raw_value: String,
    /// The submission, or why the item could not even be read.
    pub parsed: Result<IndicatorSubmission, FieldError>,
}

/// A body that is not the format it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The JSON body is not `{"Indicators": [...]}`.
    #[error("the body is not {{\"Indicators\": [...]}}: {0}")]
    JsonShape(String),
    /// The CSV header is not MDE's template.
    #[error("CSV header: {0}")]
    CsvHeader(String),
}

/// Parses `{"Indicators": [ … ]}`; each element is read on its own, and fails alone when it
/// gives a key twice.
pub fn parse_json(body: &[u8]) -> Result<Vec<ImportRow>, ImportError> {
    Ok(json_rows(body)?.collect())
}

/// Reads `{"Indicators": [ … ]}` lazily: the body is checked whole at once, but each element
/// becomes its [`ImportRow`] only when the iterator reaches it, so that a large batch is never
/// held parsed in memory all at once.
pub fn json_rows(body: &[u8]) -> Result<impl Iterator<Item = ImportRow> + '_, ImportError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch<'a> {
        #[serde(rename = "Indicators", alias = "indicators", borrow)]
        indicators: Vec<&'a serde_json::value::RawValue>,
    }
    let batch: Batch<'_> =
        serde_json::from_slice(body).map_err(|e| ImportError::JsonShape(e.to_string()))?;
    Ok(batch.indicators.into_iter().map(json_row))
}

/// One element of a JSON batch, already known to be well-formed JSON.
fn json_row(raw: &serde_json::value::RawValue) -> ImportRow {
    match StrictJson::from_slice(raw.get().as_bytes()) {
        Ok(item) => ImportRow {
            line: None,
            raw_value: item
                .value()
                .get("indicatorValue")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            // A key given twice fails its item: which of the two values was meant is unknown.
            parsed: item
                .into_value()
                .map_err(|d| FieldError::new(&d.path, d.to_string()))
                .and_then(submission_from_json),
        },
        // The body parsed as a whole, so this is a limit of the reader (nesting depth).
        Err(e) => ImportRow {
            line: None,
            raw_value: String::new(),
            parsed: Err(FieldError::new("Indicators", e.to_string())),
        },
    }
}

/// Reads one submission from JSON, naming the field at fault on error.
pub fn submission_from_json(value: serde_json::Value) -> Result<IndicatorSubmission, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| field_error(&e))
}

/// Reads one submission from a JSON body, naming the field at fault on error.
pub fn submission_from_slice(body: &[u8]) -> Result<IndicatorSubmission, FieldError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let sub: IndicatorSubmission =
        serde_path_to_error::deserialize(&mut de).map_err(|e| field_error(&e))?;
    de.end().map_err(|e| {
        FieldError::new("body", format!("trailing data after the JSON object: {e}"))
    })?;
    Ok(sub)
}

/// Turns a serde error into a [`FieldError`] on the field it concerns.
pub fn field_error(err: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path = err.path().to_string();
    let message = err.inner().to_string();
    let named = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let field = match (path.as_str(), named) {
        (".", Some(name)) | ("", Some(name)) => name.to_owned(),
        (".", None) | ("", None) => "body".to_owned(),
        (p, _) => p.to_owned(),
    };
    FieldError::new(&field, message)
}

/// Parses MDE's CSV template. Columns may come in any order; an unknown or missing required
/// column fails the whole import, a bad row fails only itself.
pub fn parse_csv(body: &[u8]) -> Result<Vec<ImportRow>, ImportError> {
    Ok(csv_rows(body)?.collect())
}

/// Reads MDE's CSV template lazily, as [`parse_csv`] does: the header is checked at once, each
/// row is read when the iterator reaches it.
pub fn csv_rows(body: &[u8]) -> Result<impl Iterator<Item = ImportRow> + '_, ImportError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(body);
    let header = reader
        .headers()
        .map_err(|e| ImportError::CsvHeader(e.to_string()))?
        .clone();
    let mut columns = Vec::with_capacity(header.len());
    for name in &header {
        let known = CSV_COLUMNS
            .iter()
            .find(|c| c.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                ImportError::CsvHeader(format!(
                    "unknown column `{name}`; MDE's template has {}",
                    CSV_COLUMNS.join(",")
                ))
            })?;
        columns.push(*known);
    }
    for required in ["IndicatorValue", "Action", "Title"] {
        if !columns.contains(&required) {
            return Err(ImportError::CsvHeader(format!(
                "the column `{required}` is missing"
            )));
        }
    }
    let mut lines = LineCounter::default();
    Ok(reader.into_records().filter_map(move |record| {
        let (line, parsed) = match record {
            Err(e) => {
                let line = e.position().map(|p| lines.line_at(body, p.byte()));
                (line, Err(FieldError::new("row", e.to_string())))
            }
            Ok(rec) => {
                let line = rec.position().map(|p| lines.line_at(body, p.byte()));
                if rec.len() != columns.len() {
                    let msg = format!("has {} fields; the header has {}", rec.len(), columns.len());
                    (line, Err(FieldError::new("row", msg)))
                } else if rec.iter().all(|f| f.trim().is_empty()) {
                    return None;
                } else {
                    (line, csv_submission(&columns, &rec))
                }
            }
        };
        let raw_value = parsed
            .as_ref()
            .ok()
            .and_then(|s| s.indicator_value.clone())
            .unwrap_or_default();
        Some(ImportRow {
            line,
            raw_value,
            parsed,
        })
    }))
}

/// Turns record start offsets (in increasing order) into 1-based line numbers.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    fn line_at(&mut self, body: &[u8], offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(body.len());
        // With CRLF, csv reports a record as starting at the `\n` that ends the previous one.
        while matches!(body.get(target), Some(b'\r' | b'\n')) {
            target += 1;
        }
        if target >= self.offset {
            self.line += line_ends(body, self.offset, target);
            self.offset = target;
        }
        self.line + 1
    }
}

/// The line ends in `body[from..to]` as csv reads them: CRLF, LF, or CR alone (Excel's
/// "CSV (Macintosh)").
fn line_ends(body: &[u8], from: usize, to: usize) -> u64 {
    (from..to)
        .filter(|&i| match body[i] {
            b'\n' => true,
            b'\r' => body.get(i + 1) != Some(&b'\n'),
            _ => false,
        })
        .count() as u64
}

fn csv_submission(
    columns: &[&str],
    rec: &csv::StringRecord,
) -> Result<IndicatorSubmission, FieldError> {
    let mut sub = IndicatorSubmission::default();
    for (column, field) in columns.iter().zip(rec.iter()) {
        let text = field.trim();
        let value = (!text.is_empty()).then(|| text.to_owned());
        match *column {
            "IndicatorType" => sub.indicator_type = value,
            "IndicatorValue" => sub.indicator_value = value,
            "ExpirationTime" => sub.expiration_time = value,
            "Action" => sub.action = value,
            "Severity" => sub.severity = value,
            "Title" => sub.title = value,
            "Description" => sub.description = value,
            "RecommendedActions" => sub.recommended_actions = value,
            "RbacGroups" => sub.rbac_group_names = value.map(|v| split_list(&v)),
            "Category" => sub.category = value,
            "MitreTechniques" => sub.mitre_techniques = value.map(|v| split_list(&v)),
            "GenerateAlert" => {
                sub.generate_alert =
                    parse_flag(text).map_err(|m| FieldError::new("GenerateAlert", m))?;
            }
            _ => {}
        }
    }
    Ok(sub)
}

/// Splits a comma-separated list, dropping empty items.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a plain list: one address or CIDR per line, `#` starts a comment. Every row takes the
/// other fields from `defaults`.
pub fn parse_list(body: &[u8], defaults: &IndicatorSubmission) -> Vec<ImportRow> {
    list_rows(body, defaults).collect()
}

/// Reads a plain list lazily, as [`parse_list`] does.
pub fn list_rows<'a>(
    body: &'a [u8],
    defaults: &'a IndicatorSubmission,
) -> impl Iterator<Item = ImportRow> + 'a {
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter_map(move |(i, raw_line)| {
            let line = Some(i as u64 + 1);
            let Ok(text) = std::str::from_utf8(raw_line) else {
                return Some(ImportRow {
                    line,
                    raw_value: String::from_utf8_lossy(raw_line).into_owned(),
                    parsed: Err(FieldError::new("line", "is not UTF-8 text")),
                });
            };
            let value = text.split('#').next().unwrap_or_default().trim();
            if value.is_empty() {
                return None;
            }
            Some(ImportRow {
                line,
                raw_value: value.to_owned(),
                parsed: Ok(IndicatorSubmission {
                    indicator_value: Some(value.to_owned()),
                    ..defaults.clone()
                }),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mde_sample_csv_parses() {
        let body = "\u{feff}IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description,RecommendedActions,RbacGroups,Category,MitreTechniques,GenerateAlert\n\
            IpAddress,10.10.10.10,2018-09-16T12:11:06.2446367Z,Allowed,Informational,\"Ip Address custom TI example\",\"malware downloader\",\"Recommended actions should be here\",\"a, b\",\"\",\"\",false\n\
            IpAddress,10.10.10.11,,Block,High,t2,,,,,,TRUE\n\
            IpAddress,short,row\n";
        let rows = parse_csv(body.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows[0].parsed.as_ref().unwrap();
        assert_eq!(first.title.as_deref(), Some("Ip Address custom TI example"));
        assert_eq!(
            first.rbac_group_names,
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(first.generate_alert, Some(false));
        assert_eq!(rows[0].line, Some(2));
        assert_eq!(rows[1].parsed.as_ref().unwrap().generate_alert, Some(true));
        assert_eq!(rows[2].parsed.as_ref().unwrap_err().field, "row");
        assert_eq!(rows[2].line, Some(4));
    }

    #[test]
    fn crlf_line_numbers_count_from_the_header() {
        let rows = parse_csv(b"IndicatorValue,Action,Title\r\n1.2.3.4,Block,t\r\n\"1.2.3.5\",Block,\"two\r\nlines\"\r\n1.2.3.6,Block,t\r\n").unwrap();
        let lines: Vec<_> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(5)]);
    }

    /// Found by `fuzz_csv_mutated`: with CR alone ending lines (Excel's "CSV (Macintosh)"),
    /// every row claimed line 1, the header's.
    #[test]
    fn cr_line_ends_count_as_lines() {
        let rows =
            parse_csv(b"IndicatorValue,Action,Title\r1.2.3.4,Block,t\r\r1.2.3.5,Block,t\n\xff,x\r")
                .unwrap();
        let lines: Vec<_> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(5)]);
    }

    #[test]
    fn csv_header_must_be_mde_columns() {
        assert!(
            matches!(parse_csv(b"Value,Action\n1.2.3.4,Block\n"), Err(ImportError::CsvHeader(m)) if m.contains("Value"))
        );
        assert!(
            matches!(parse_csv(b"IndicatorValue,Action\n"), Err(ImportError::CsvHeader(m)) if m.contains("Title"))
        );
    }

    #[test]
    fn lists_skip_comments_and_keep_line_numbers() {
        let defaults = IndicatorSubmission {
            action: Some("block".into()),
            ..Default::default()
        };
        let rows = parse_list(
            b"# feed\n192.0.2.1  # c2\n\n198.51.100.0/24\n\xff\n",
            &defaults,
        );
        let values: Vec<_> = rows
            .iter()
            .map(|r| (r.line, r.raw_value.as_str()))
            .collect();
        assert_eq!(
            values[..2],
            [(Some(2), "192.0.2.1"), (Some(4), "198.51.100.0/24")]
        );
        assert_eq!(
            rows[0].parsed.as_ref().unwrap().action.as_deref(),
            Some("block")
        );
        assert!(rows[2].parsed.is_err());
    }

    /// Defect 9: through `serde_json::Value`, the last of two equal keys won, so an item
    /// that said `Allowed` and then `Block` was stored as a block. The item now fails alone,
    /// naming the key; the typed reads refuse it too, naming it.
    #[test]
    fn a_duplicated_key_fails_its_item_and_is_named() {
        let rows = parse_json(
            br#"{"Indicators":[
            {"indicatorValue":"192.0.2.1","action":"Allowed","action":"Block","title":"t"},
            {"indicatorValue":"192.0.2.2","action":"Block","title":"t","rbacGroupNames":["a"],
             "createdBy":{"x":1,"x":2}},
            {"indicatorValue":"192.0.2.3","action":"Block","title":"t"}]}"#,
        )
        .unwrap();
        let err = rows[0].parsed.as_ref().unwrap_err();
        assert_eq!(err.field, "action");
        assert!(err.message.contains("`action` is given twice"), "{err}");
        assert_eq!(rows[0].raw_value, "192.0.2.1");
        assert_eq!(rows[1].parsed.as_ref().unwrap_err().field, "createdBy.x");
        assert!(rows[2].parsed.is_ok());
        // The batch itself.
        let err = parse_json(br#"{"Indicators":[],"indicators":[]}"#).unwrap_err();
        assert!(
            err.to_string().contains("duplicate field `Indicators`"),
            "{err}"
        );
        // One submission, read typed: refused with the field named.
        let err = submission_from_slice(
            br#"{"indicatorValue":"192.0.2.1","action":"Allowed","action":"Block","title":"t"}"#,
        )
        .unwrap_err();
        assert_eq!(err.field, "action");
        assert!(err.message.contains("duplicate field `action`"), "{err}");
        let err = submission_from_slice(br#"{"externalId":"a","externalID":"b"}"#).unwrap_err();
        assert_eq!(err.field, "externalId");
    }

    #[test]
    fn json_items_fail_alone_and_name_the_field() {
        let rows = parse_json(br#"{"Indicators":[{"indicatorValue":"192.0.2.1","action":"Block","title":"a"},{"indicatorValue":"192.0.2.2","bogus":1},{"indicatorValue":5}]}"#).unwrap();
        assert!(rows[0].parsed.is_ok());
        assert_eq!(rows[1].parsed.as_ref().unwrap_err().field, "bogus");
        assert_eq!(rows[2].parsed.as_ref().unwrap_err().field, "indicatorValue");
        assert!(parse_json(b"[1,2]").is_err());
        assert_eq!(
            submission_from_slice(b"{\"title\": 3}").unwrap_err().field,
            "title"
        );
        assert_eq!(
            submission_from_slice(b"not json").unwrap_err().field,
            "body"
        );
    }
}
