//! Fuzz targets for every parser of hostile input in the model: indicator values and range
//! sets (`value.rs`), the three import formats and the submission they read into
//! (`import.rs`), server-sent events (`sse.rs`), the agent channel's JSON (`wire.rs`),
//! OData `$filter` and `$orderby` (`odata.rs`), and the strict JSON reader behind every
//! untyped read of a body (`strict_json.rs`).
//!
//! Each target asserts that its parser never panics or hangs, and, where there is an oracle,
//! that what it reads round-trips or agrees with a simple model. Inputs reach deep: arbitrary
//! bytes, and valid inputs built from the format's own pieces, then mutated. The harness is
//! `netward_testkit::fuzz`; every target's name starts with `fuzz_`, so that
//! `NETWARD_FUZZ_CASES=100000 cargo test --release -p netward-model fuzz` runs them all long.

mod import;
mod odata;
mod sse;
mod strict_json;
mod value;
mod wire;

use proptest::prelude::*;

/// Bytes that break parsers: quotes, separators, line ends, a byte-order mark, NUL,
/// invalid UTF-8, multi-byte characters.
pub(crate) fn odd_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        proptest::sample::select(b"\"',;:#\r\n\t \\/{}[]\x00\xEF\xBB\xBF\xC3\xA9\xFF".to_vec()),
    ]
}

pub(crate) use netward_testkit::fuzz::mutate;

/// A few edits for [`mutate`].
pub(crate) fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    proptest::collection::vec((any::<usize>(), any::<u8>(), odd_byte()), 0..4)
}

/// Text that looks like what a client might send in a string field, odd or not.
pub(crate) fn odd_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "",
            " ",
            "192.0.2.1",
            "10.0.0.0/8",
            "2001:db8::/32",
            "::ffff:192.0.2.1",
            "Block",
            "Allowed",
            "AlertAndBlock",
            "High",
            "True",
            "false",
            "2030-01-31T00:00:00Z",
            "9999-12-31T23:59:60+23:59",
            "-0001-01-01T00:00:00Z",
            "a,b,,c",
            "\u{feff}",
            "\u{0}",
            "日本語",
            "é",
            "9223372036854775808",
            "-9223372036854775809",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
        "[ -~]{0,20}",
    ]
}

/// Any JSON value, a few levels deep, with the numbers and strings that trip readers.
pub(crate) fn odd_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        proptest::sample::select(vec![0i64, -1, 1, i64::MIN, i64::MAX, 65_535, 65_536])
            .prop_map(|n| json!(n)),
        odd_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-zA-Z]{0,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a random place in `value` (any depth) with `with`; `pick` chooses
/// the place.
pub(crate) fn swap_somewhere(value: &mut serde_json::Value, pick: usize, with: serde_json::Value) {
    use serde_json::Value;
    let mut places = 0usize;
    count_places(value, &mut places);
    let mut target = pick % places.max(1);
    fn walk(v: &mut Value, target: &mut usize, with: &mut Option<Value>) {
        if *target == 0 {
            if let Some(w) = with.take() {
                *v = w;
            }
            return;
        }
        *target -= 1;
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, target, with)),
            Value::Object(map) => map.values_mut().for_each(|i| walk(i, target, with)),
            _ => {}
        }
    }
    fn count_places(v: &Value, n: &mut usize) {
        *n += 1;
        match v {
            Value::Array(items) => items.iter().for_each(|i| count_places(i, n)),
            Value::Object(map) => map.values().for_each(|i| count_places(i, n)),
            _ => {}
        }
    }
    walk(value, &mut target, &mut Some(with));
}
