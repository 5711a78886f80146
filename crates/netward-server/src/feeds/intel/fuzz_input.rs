//! Inputs for the fuzz targets of the intel formats: JSON documents shaped like STIX objects
//! and MISP events, with the fields the readers look at, holding any value.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys the readers look up, and a few they do not.
const KEYS: [&str; 24] = [
    "type",
    "id",
    "modified",
    "pattern",
    "pattern_type",
    "valid_from",
    "valid_until",
    "revoked",
    "confidence",
    "name",
    "description",
    "spec_version",
    "Event",
    "info",
    "Attribute",
    "Object",
    "uuid",
    "value",
    "to_ids",
    "deleted",
    "comment",
    "category",
    "objects",
    "x_custom",
];

/// Texts the readers take apart, and odd ones.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "indicator",
            "identity",
            "stix",
            "sigma",
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.123456Z",
            "9999-12-31T23:59:60Z",
            "[ipv4-addr:value = '192.0.2.1']",
            "[ipv6-addr:value = '2001:db8::/32'] OR [ipv4-addr:value = '10.0.0.1/8']",
            "[network-traffic:dst_port = 443]",
            "ip-dst",
            "ip-src|port",
            "domain|ip",
            "192.0.2.1|443",
            "example.com|2001:db8::1",
            "|",
            "1",
            "0",
            "",
            "\u{0}",
            "é",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

/// Any JSON value a few levels deep, with objects keyed by [`KEYS`].
pub(crate) fn document() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        proptest::sample::select(vec![0i64, 1, 100, 101, 255, 256, -1]).prop_map(|n| json!(n)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS.to_vec()), inner), 0..10)
                .prop_map(|pairs| {
                    let map: Map<String, Value> =
                        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    Value::Object(map)
                }),
        ]
    })
}

/// `base` with some of its fields replaced by any value or removed.
pub(crate) fn spoiled(base: Value) -> impl Strategy<Value = Value> {
    let edit = (
        proptest::sample::select(KEYS.to_vec()),
        proptest::option::of(document()),
    );
    proptest::collection::vec(edit, 0..4).prop_map(move |edits| {
        let mut object = base.clone();
        if let Some(map) = object.as_object_mut() {
            for (key, value) in edits {
                match value {
                    Some(v) => map.insert(key.to_owned(), v),
                    None => map.remove(key),
                };
            }
        }
        object
    })
}
