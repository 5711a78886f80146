use netward_model::IndicatorValue;
use netward_model::timestamp::parse_rfc3339;
use netward_testkit::fuzz::fuzz;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{IndicatorBatch, IndicatorReader};
use crate::feeds::intel::fuzz_input::{document, spoiled};

const ID: &str = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";

fn indicator(id: &str, modified: &str, pattern: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": id,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": "C2 server",
        "description": "Seen\nin campaign X",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    })
}

fn read(objects: Vec<Value>) -> IndicatorBatch {
    let mut reader = IndicatorReader::default();
    for object in objects {
        reader.add(object);
    }
    reader.finish()
}

fn value(text: &str) -> IndicatorValue {
    IndicatorValue::parse(text).expect("a test value")
}

#[test]
fn an_indicator_becomes_one_item_per_address_with_its_fields() {
    let mut object = indicator(
        ID,
        "2026-01-02T00:00:00.000Z",
        "[ipv4-addr:value = '198.51.100.1'] OR [ipv6-addr:value = '2001:db8::/32']",
    );
    object["valid_until"] = json!("2027-01-01T00:00:00.5Z");
    object["confidence"] = json!(80);
    let batch = read(vec![object]);
    assert!(batch.refusals.is_empty(), "{:?}", batch.refusals);
    assert!(batch.removed.is_empty());
    let values: Vec<_> = batch.items.iter().map(|i| i.value).collect();
    assert_eq!(values, [value("198.51.100.1"), value("2001:db8::/32")]);
    for item in &batch.items {
        assert_eq!(item.external_id.as_deref(), Some(ID));
        assert_eq!(
            item.comment.as_deref(),
            Some("C2 server: Seen in campaign X")
        );
        assert_eq!(item.valid_from, parse_rfc3339("2026-01-01T00:00:00Z"));
        assert_eq!(item.valid_until, parse_rfc3339("2027-01-01T00:00:00Z"));
        assert_eq!(item.confidence, Some(80));
    }
}

#[test]
fn a_stix_2_0_indicator_without_pattern_type_is_read_as_stix() {
    let mut object = indicator(
        ID,
        "2026-01-02T00:00:00Z",
        "[ipv4-addr:value = '198.51.100.1']",
    );
    let map = object.as_object_mut().expect("an object");
    map.remove("pattern_type");
    map.remove("spec_version");
    let batch = read(vec![object]);
    assert_eq!(batch.items.len(), 1, "{:?}", batch.refusals);
}

#[test]
fn other_objects_are_passed_over_silently() {
    let batch = read(vec![
        json!({"type": "identity", "id": "identity--1", "name": "ACME"}),
        json!({"type": "malware", "id": "malware--1", "is_family": true}),
        json!({"type": "relationship", "id": "relationship--1"}),
        json!("not even an object"),
    ]);
    assert_eq!(batch, IndicatorBatch::default());
}

#[test]
fn the_newest_modified_wins_whatever_the_order() {
    let old = indicator(
        ID,
        "2026-01-02T00:00:00.000Z",
        "[ipv4-addr:value = '198.51.100.1']",
    );
    let new = indicator(
        ID,
        "2026-01-03T00:00:00.000Z",
        "[ipv4-addr:value = '198.51.100.2']",
    );
    for objects in [
        vec![old.clone(), new.clone()],
        vec![new.clone(), old.clone(), new.clone()],
    ] {
        let batch = read(objects);
        let values: Vec<_> = batch.items.iter().map(|i| i.value).collect();
        assert_eq!(values, [value("198.51.100.2")]);
        assert!(batch.refusals.is_empty());
    }
}

#[test]
fn revoked_indicators_are_removed() {
    let mut revoked = indicator(
        ID,
        "2026-01-03T00:00:00Z",
        "[ipv4-addr:value = '198.51.100.1']",
    );
    revoked["revoked"] = json!(true);
    let old = indicator(
        ID,
        "2026-01-02T00:00:00Z",
        "[ipv4-addr:value = '198.51.100.1']",
    );
    let batch = read(vec![old, revoked]);
    assert!(batch.items.is_empty());
    assert_eq!(batch.removed, [ID]);
    assert!(batch.refusals.is_empty());
}

#[test]
fn a_refused_newest_version_is_refused_and_removes_the_id() {
    let old = indicator(
        ID,
        "2026-01-02T00:00:00Z",
        "[ipv4-addr:value = '198.51.100.1']",
    );
    let new = indicator(
        ID,
        "2026-01-03T00:00:00Z",
        "[ipv4-addr:value = '198.51.100.1'] WITHIN 60 SECONDS",
    );
    let batch = read(vec![old, new]);
    assert!(batch.items.is_empty());
    assert_eq!(batch.removed, [ID]);
    assert_eq!(batch.refusals.len(), 1);
    assert_eq!(batch.refusals[0].at, ID);
    assert_eq!(
        batch.refusals[0].entry,
        "[ipv4-addr:value = '198.51.100.1'] WITHIN 60 SECONDS"
    );
    assert!(batch.refusals[0].reason.contains("qualifier WITHIN"));
}

#[test]
fn bad_indicators_are_refused_each_with_its_reason_and_the_rest_read() {
    let mut sigma = indicator("indicator--2", "2026-01-02T00:00:00Z", "title: x");
    sigma["pattern_type"] = json!("sigma");
    let mut bad_time = indicator(
        "indicator--3",
        "2026-01-02T00:00:00Z",
        "[ipv4-addr:value = '192.0.2.3']",
    );
    bad_time["valid_until"] = json!("tomorrow");
    let mut bad_confidence = indicator(
        "indicator--4",
        "2026-01-02T00:00:00Z",
        "[ipv4-addr:value = '192.0.2.4']",
    );
    bad_confidence["confidence"] = json!(101);
    let mut no_modified = indicator("indicator--5", "x", "[ipv4-addr:value = '192.0.2.5']");
    no_modified.as_object_mut().map(|o| o.remove("modified"));
    let mut no_pattern = indicator("indicator--6", "2026-01-02T00:00:00Z", "");
    no_pattern.as_object_mut().map(|o| o.remove("pattern"));
    let batch = read(vec![
        sigma,
        bad_time,
        bad_confidence,
        no_modified,
        no_pattern,
        indicator(
            "indicator--7",
            "2026-01-02T00:00:00Z",
            "[domain-name:value = 'example.com']",
        ),
        indicator(
            "indicator--8",
            "2026-01-02T00:00:00Z",
            "[ipv4-addr:value = '192.0.2.8']",
        ),
    ]);
    let reasons: Vec<_> = batch
        .refusals
        .iter()
        .map(|r| (r.at.as_str(), r.reason.as_str()))
        .collect();
    let expect = [
        ("indicator--5", "no RFC 3339 `modified`"),
        ("indicator--2", "pattern_type `sigma` is not read"),
        (
            "indicator--3",
            "`valid_until` is not an RFC 3339 time: `tomorrow`",
        ),
        ("indicator--4", "confidence 101 is outside 0-100"),
        ("indicator--6", "missing field `pattern`"),
        ("indicator--7", "`domain-name:value` names no address"),
    ];
    assert_eq!(reasons.len(), expect.len(), "{reasons:?}");
    for ((at, reason), (want_at, want)) in reasons.iter().zip(expect) {
        assert_eq!(*at, want_at);
        assert!(reason.contains(want), "{at}: {reason}");
    }
    let values: Vec<_> = batch.items.iter().map(|i| i.value).collect();
    assert_eq!(values, [value("192.0.2.8")]);
    assert!(
        batch
            .refusals
            .iter()
            .all(|r| r.entry.chars().count() <= 200)
    );
}

#[test]
fn fuzz_stix_objects_never_panic() {
    let base = indicator(
        ID,
        "2026-01-02T00:00:00Z",
        "[ipv4-addr:value = '198.51.100.1']",
    );
    let object = prop_oneof![document(), spoiled(base)];
    fuzz(
        "stix_objects",
        1000,
        proptest::collection::vec(object, 0..6),
        |objects| {
            let ids: Vec<Value> = objects
                .iter()
                .filter_map(|o| o.get("id").cloned())
                .collect();
            let batch = read(objects);
            for item in &batch.items {
                let id = item.external_id.clone().map(Value::String);
                prop_assert!(id.is_some_and(|id| ids.contains(&id)), "{item:?}");
                prop_assert!(item.confidence.is_none_or(|c| c <= 100));
            }
            for id in &batch.removed {
                prop_assert!(
                    !batch
                        .items
                        .iter()
                        .any(|i| i.external_id.as_ref() == Some(id))
                );
            }
            prop_assert!(
                batch
                    .refusals
                    .iter()
                    .all(|r| r.entry.chars().count() <= 200)
            );
            Ok(())
        },
    );
}
