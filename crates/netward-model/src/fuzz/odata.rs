//! OData `$filter` and `$orderby`: text made of the grammar's own words in any order, valid
//! queries cut and spliced, and anything at all. Whatever parses prints back to itself.

use netward_testkit::fuzz::fuzz;
use proptest::prelude::*;

use super::{edits, mutate};
use crate::odata::{Field, parse_filter, parse_orderby};

/// The grammar's words, the literals of every field, and the ones that overflow or nest.
fn piece() -> impl Strategy<Value = String> {
    let words = proptest::sample::select(vec![
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "and",
        "or",
        "not",
        "in",
        "(",
        ")",
        ",",
        " ",
        "  ",
        "\t",
        "'x'",
        "''",
        "'",
        "'it''s'",
        "null",
        "true",
        "false",
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.123456789+14:00",
        "9999-12-31T23:59:60Z",
        "'2026-01-01T00:00:00Z'",
        "datetime'2026-01-01T00:00:00Z'",
        "datetime'",
        "startswith",
        "endswith",
        "contains",
        "'Block'",
        "'AlertAndBlock'",
        "'High'",
        "'192.0.2.1'",
        "'10.0.0.0/8'",
        "'2001:db8::/32'",
        "'::ffff:1.2.3.4'",
        "asc",
        "desc",
        "é",
        "☃",
        "$",
        "((((((((((((((((((((((((((((((((((",
        "not not not not not not not not not not ",
    ])
    .prop_map(str::to_owned);
    let field = proptest::sample::select(Field::ALL.to_vec()).prop_map(|f| f.name().to_owned());
    prop_oneof![3 => words, 2 => field, 1 => "[ -~]{0,4}"]
}

fn soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..40).prop_map(|p| p.concat())
}

/// Queries that parse, as clients send them.
const VALID: [&str; 6] = [
    "indicatorValue eq '192.0.2.1' and action eq 'Block'",
    "(severity ge 'Medium' or generateAlert eq true) and not (expirationTime eq null)",
    "startswith(title,'c2') or contains(description,'it''s')",
    "id in (1, 2, 3) and lastUpdateTime gt 2026-01-01T00:00:00Z",
    "creationTimeDateTimeUtc le datetime'2030-01-01T00:00:00Z'",
    "title asc, lastUpdateTime desc",
];

#[test]
fn fuzz_odata_filter_and_orderby() {
    let spliced = (
        proptest::sample::select(VALID.to_vec()),
        edits(),
        proptest::option::of(piece()),
        any::<usize>(),
    )
        .prop_map(|(valid, edits, extra, at)| {
            let mut text =
                String::from_utf8_lossy(&mutate(valid.as_bytes().to_vec(), &edits)).into_owned();
            if let Some(extra) = extra {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.insert_str(at, &extra);
            }
            text
        });
    let input = prop_oneof![soup(), spliced, any::<String>()];
    fuzz("odata", 1000, input, |input| {
        if let Ok(filter) = parse_filter(&input) {
            let printed = filter.to_string();
            prop_assert_eq!(
                parse_filter(&printed),
                Ok(filter),
                "{:?} printed {:?}",
                input,
                printed
            );
        }
        let _ = parse_orderby(&input);
        Ok(())
    });
}
