//! The import formats (MDE's JSON batch, MDE's CSV template, plain lists) and the submission
//! every item reads into, with its lenient fields and its validation.

use netward_testkit::fuzz::fuzz;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{edits, mutate, odd_byte, odd_json, odd_text, swap_somewhere};
use crate::IndicatorSubmission;
use crate::import::{CSV_COLUMNS, parse_csv, parse_json, parse_list, submission_from_slice};

const NOW: i64 = 1_800_000_000;

/// Validation never panics either, whatever the submission holds.
fn validate(sub: &IndicatorSubmission) {
    for now in [NOW, i64::MIN, i64::MAX] {
        let _ = sub.validate(now);
    }
    let _ = sub.claimed_id();
}

#[test]
fn fuzz_csv_arbitrary_bytes() {
    let body = prop_oneof![
        proptest::collection::vec(odd_byte(), 0..200),
        // A valid header, then anything.
        proptest::collection::vec(odd_byte(), 0..200).prop_map(|rest| [
            b"IndicatorValue,Action,Title\n".to_vec(),
            rest
        ]
        .concat()),
    ];
    fuzz("csv_bytes", 500, body, |body| {
        if let Ok(rows) = parse_csv(&body) {
            check_lines(&body, &rows)?;
            for row in &rows {
                if let Ok(sub) = &row.parsed {
                    validate(sub);
                }
            }
        }
        Ok(())
    });
}

/// The line ends (CRLF, LF, or CR alone) in `text`.
fn line_ends(text: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(text).replace("\r\n", "\n");
    text.matches(['\r', '\n']).count() as u64
}

/// Line numbers start after the header, never go back, and stay within the body.
fn check_lines(body: &[u8], rows: &[crate::import::ImportRow]) -> Result<(), TestCaseError> {
    let last_line = line_ends(body) + 1;
    let mut previous = 2;
    for row in rows {
        if let Some(line) = row.line {
            prop_assert!(line >= previous, "{:?}", rows);
            prop_assert!(line <= last_line, "line {} of {}", line, last_line);
            previous = line;
        }
    }
    Ok(())
}

/// One generated CSV file: its columns, its records, how it is written.
#[derive(Debug, Clone)]
struct CsvFile {
    columns: Vec<&'static str>,
    header_case: Vec<bool>,
    records: Vec<Vec<String>>,
    crlf: bool,
    bom: bool,
}

fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        odd_text(),
        "[a-z0-9 ,\"\r\n.:/]{0,12}",
        Just("\"quoted\"".to_owned()),
        Just("a,b".to_owned()),
        Just("two\r\nlines".to_owned()),
    ]
}

fn csv_file() -> impl Strategy<Value = CsvFile> {
    // The three required columns, some of the others, in any order.
    let required = ["IndicatorValue", "Action", "Title"];
    let others: Vec<&'static str> = CSV_COLUMNS
        .iter()
        .copied()
        .filter(|c| !required.contains(c))
        .collect();
    let columns = proptest::sample::subsequence(others.clone(), 0..=others.len())
        .prop_map(move |mut c| {
            c.extend(required);
            c
        })
        .prop_shuffle();
    columns.prop_flat_map(|columns| {
        let n = columns.len();
        (
            Just(columns),
            proptest::collection::vec(any::<bool>(), n),
            proptest::collection::vec(proptest::collection::vec(csv_field(), n), 0..6),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(columns, header_case, records, crlf, bom)| CsvFile {
                columns,
                header_case,
                records,
                crlf,
                bom,
            })
    })
}

/// Writes the file as a CSV writer would; returns it and the 1-based line of each record.
fn write_csv(file: &CsvFile) -> Result<(Vec<u8>, Vec<u64>), TestCaseError> {
    let fail = |e: csv::Error| TestCaseError::fail(e.to_string());
    let mut body = if file.bom {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    let terminator = if file.crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let header: Vec<String> = file
        .columns
        .iter()
        .zip(&file.header_case)
        .map(|(c, lower)| {
            if *lower {
                c.to_ascii_lowercase()
            } else {
                (*c).to_owned()
            }
        })
        .collect();
    let mut lines = Vec::new();
    for (i, record) in std::iter::once(&header).chain(&file.records).enumerate() {
        let mut writer = csv::WriterBuilder::new()
            .terminator(terminator)
            .from_writer(Vec::new());
        writer.write_record(record).map_err(fail)?;
        let bytes = writer
            .into_inner()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if i > 0 {
            lines.push(line_ends(&body) + 1);
        }
        body.extend(bytes);
    }
    Ok((body, lines))
}

#[test]
fn fuzz_csv_reads_back_what_a_writer_wrote() {
    fuzz("csv_round_trip", 256, csv_file(), |file| {
        let (body, lines) = write_csv(&file)?;
        let rows = parse_csv(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Records whose fields are all blank are skipped; every other one is a row, in order.
        let kept: Vec<(usize, &Vec<String>)> = file
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.iter().all(|f| f.trim().is_empty()))
            .collect();
        prop_assert_eq!(
            rows.len(),
            kept.len(),
            "{:?}",
            String::from_utf8_lossy(&body)
        );
        let value_column = file.columns.iter().position(|c| *c == "IndicatorValue");
        for (row, (i, record)) in rows.iter().zip(kept) {
            prop_assert_eq!(
                row.line,
                Some(lines[i]),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
            if let (Ok(sub), Some(col)) = (&row.parsed, value_column) {
                let want = record[col].trim();
                prop_assert_eq!(sub.indicator_value.as_deref().unwrap_or(""), want);
                validate(sub);
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_csv_mutated() {
    fuzz(
        "csv_mutated",
        256,
        (csv_file(), edits()),
        |(file, edits)| {
            let (body, _) = write_csv(&file)?;
            let body = mutate(body, &edits);
            if let Ok(rows) = parse_csv(&body) {
                check_lines(&body, &rows)?;
            }
            Ok(())
        },
    );
}

/// What a plain list must give: one row per line that holds a value before any `#`.
fn list_model(body: &[u8]) -> Vec<(u64, Option<String>)> {
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(i, line)| match std::str::from_utf8(line) {
            Err(_) => Some((i as u64 + 1, None)),
            Ok(text) => {
                let value = text.split('#').next().unwrap_or_default().trim();
                (!value.is_empty()).then(|| (i as u64 + 1, Some(value.to_owned())))
            }
        })
        .collect()
}

#[test]
fn fuzz_list_agrees_with_a_model() {
    let line = prop_oneof![
        odd_text(),
        Just("# comment".to_owned()),
        Just("192.0.2.1 # c2".to_owned()),
        Just("\r".to_owned()),
    ];
    let body = prop_oneof![
        proptest::collection::vec(odd_byte(), 0..200),
        proptest::collection::vec(line, 0..8).prop_map(|l| l.join("\n").into_bytes()),
    ];
    let defaults = IndicatorSubmission {
        action: Some("Block".into()),
        title: Some("t".into()),
        ..Default::default()
    };
    fuzz("list", 500, (body, edits()), |(body, edits)| {
        let body = mutate(body, &edits);
        let rows = parse_list(&body, &defaults);
        let got: Vec<(u64, Option<String>)> = rows
            .iter()
            .map(|r| {
                let line = r.line.unwrap_or(0);
                (line, r.parsed.as_ref().ok().map(|_| r.raw_value.clone()))
            })
            .collect();
        prop_assert_eq!(got, list_model(&body));
        for row in &rows {
            if let Ok(sub) = &row.parsed {
                prop_assert_eq!(sub.indicator_value.as_deref(), Some(row.raw_value.as_str()));
                validate(sub);
            }
        }
        Ok(())
    });
}

/// A valid submission as MDE's clients send it, every field present.
fn valid_item() -> Value {
    json!({
        "id": "17",
        "indicatorValue": "192.0.2.1",
        "indicatorType": "IpAddress",
        "action": "AlertAndBlock",
        "title": "t",
        "description": "d",
        "severity": "High",
        "expirationTime": "2030-01-31T00:00:00Z",
        "generateAlert": "True",
        "rbacGroupNames": ["a", "b"],
        "rbacGroupIds": [1, "2"],
        "recommendedActions": "r",
        "externalID": "e",
        "application": "app",
        "category": 7,
        "mitreTechniques": "T1059, T1071",
        "educateUrl": "https://help.example/",
        "lastUpdateTime": "2026-01-01T00:00:00Z",
        "createdBy": {"x": [1]},
        "categoryName": "c",
        "expired": false,
        "enforcement": null
    })
}

/// A valid item with values swapped for odd ones, keys dropped or unknown keys added.
fn odd_item() -> impl Strategy<Value = Value> {
    let keys: Vec<String> = valid_item()
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    (
        proptest::collection::vec((any::<usize>(), odd_json()), 0..4),
        proptest::collection::vec(proptest::sample::select(keys), 0..3),
        proptest::option::of(("[a-zA-Z]{1,8}", odd_json())),
    )
        .prop_map(|(swaps, dropped, extra)| {
            let mut item = valid_item();
            for (at, with) in swaps {
                swap_somewhere(&mut item, at, with);
            }
            if let Value::Object(map) = &mut item {
                for key in dropped {
                    map.remove(&key);
                }
                if let Some((key, value)) = extra {
                    map.insert(key, value);
                }
            }
            item
        })
}

#[test]
fn fuzz_json_submission() {
    let body = prop_oneof![
        proptest::collection::vec(odd_byte(), 0..200),
        (odd_item(), edits())
            .prop_map(|(item, edits)| mutate(item.to_string().into_bytes(), &edits)),
    ];
    fuzz("json_submission", 500, body, |body| {
        if let Ok(sub) = submission_from_slice(&body) {
            validate(&sub);
        }
        Ok(())
    });
}

#[test]
fn fuzz_json_import() {
    let batch = proptest::collection::vec(prop_oneof![odd_item(), odd_json()], 0..4)
        .prop_map(|items| json!({ "Indicators": items }).to_string().into_bytes());
    let body = prop_oneof![
        proptest::collection::vec(odd_byte(), 0..200),
        batch.clone(),
        (batch, edits()).prop_map(|(b, e)| mutate(b, &e)),
    ];
    fuzz("json_import", 500, body, |body| {
        let shape: Option<Value> = serde_json::from_slice(&body).ok();
        if let Ok(rows) = parse_json(&body) {
            let items = shape
                .as_ref()
                .and_then(|v| v.get("Indicators").or_else(|| v.get("indicators")))
                .and_then(Value::as_array)
                .map(Vec::len);
            prop_assert_eq!(Some(rows.len()), items);
            for row in &rows {
                if let Ok(sub) = &row.parsed {
                    validate(sub);
                }
            }
        }
        Ok(())
    });
}
