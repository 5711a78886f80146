use netward_model::IndicatorValue;
use netward_testkit::fuzz::fuzz;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Attribute, of_event, read};
use crate::feeds::intel::fuzz_input::{document, spoiled};

fn attribute(kind: &str, value: &str) -> Value {
    json!({"uuid": "5f0c1a2b-0000-4000-8000-000000000001", "type": kind, "category": "Network activity",
           "value": value, "to_ids": true, "deleted": false, "comment": ""})
}

fn item_value(attribute: &Value) -> IndicatorValue {
    match read(attribute, Some("Event info")) {
        Attribute::Item(item) => item.value,
        other => panic!("{attribute}: {other:?}"),
    }
}

fn reason(attribute: &Value) -> String {
    match read(attribute, None) {
        Attribute::Refused(r) => r.reason,
        other => panic!("{attribute}: {other:?}"),
    }
}

fn v(text: &str) -> IndicatorValue {
    IndicatorValue::parse(text).expect("a test value")
}

#[test]
fn the_address_types_give_their_ip_part() {
    for (kind, value, address) in [
        ("ip-dst", "198.51.100.1", "198.51.100.1"),
        ("ip-src", "198.51.100.0/24", "198.51.100.0/24"),
        ("ip-dst|port", "198.51.100.3|443", "198.51.100.3"),
        ("ip-src|port", "2001:db8::4|8080", "2001:db8::4"),
        ("domain|ip", "evil.example|198.51.100.5", "198.51.100.5"),
    ] {
        assert_eq!(
            item_value(&attribute(kind, value)),
            v(address),
            "{kind} {value}"
        );
    }
}

#[test]
fn the_uuid_is_the_external_id_and_the_comment_falls_back_to_the_event() {
    let mut a = attribute("ip-dst", "198.51.100.1");
    let Attribute::Item(item) = read(&a, Some("OSINT\nreport")) else {
        panic!("not an item");
    };
    assert_eq!(
        item.external_id.as_deref(),
        Some("5f0c1a2b-0000-4000-8000-000000000001")
    );
    assert_eq!(item.comment.as_deref(), Some("OSINT report"));
    a["comment"] = json!("C2 of\tthe loader");
    let Attribute::Item(item) = read(&a, Some("OSINT report")) else {
        panic!("not an item");
    };
    assert_eq!(item.comment.as_deref(), Some("C2 of the loader"));
    assert_eq!(
        (item.valid_from, item.valid_until, item.confidence),
        (None, None, None)
    );
}

#[test]
fn other_types_attributes_not_for_detection_and_deleted_ones_are_passed_over() {
    assert_eq!(read(&attribute("sha256", "ab12"), None), Attribute::Skipped);
    assert_eq!(
        read(&attribute("domain", "evil.example"), None),
        Attribute::Skipped
    );
    for (field, value) in [
        ("to_ids", json!(false)),
        ("to_ids", json!(0)),
        ("to_ids", json!("0")),
        ("deleted", json!(true)),
        ("deleted", json!("1")),
    ] {
        let mut a = attribute("ip-dst", "198.51.100.1");
        a[field] = value;
        assert_eq!(read(&a, None), Attribute::Skipped, "{a}");
    }
    let mut a = attribute("ip-dst", "198.51.100.1");
    a["to_ids"] = json!("1");
    assert!(matches!(read(&a, None), Attribute::Item(_)));
    a.as_object_mut().map(|o| o.remove("to_ids"));
    assert_eq!(read(&a, None), Attribute::Skipped);
}

#[test]
fn bad_values_are_refused_with_the_reason() {
    assert!(reason(&attribute("ip-dst", "198.51.100.1/24")).contains("host bits set"));
    assert!(reason(&attribute("ip-src", "not-an-ip")).contains("is not an IP address"));
    assert!(reason(&attribute("ip-dst|port", "198.51.100.1")).contains("two parts joined by `|`"));
    assert!(reason(&attribute("domain|ip", "evil.example|")).contains("empty"));
    let mut no_uuid = attribute("ip-dst", "198.51.100.1");
    no_uuid.as_object_mut().map(|o| o.remove("uuid"));
    assert!(reason(&no_uuid).contains("no uuid"));
    let mut no_value = attribute("ip-dst", "198.51.100.1");
    no_value["value"] = json!(5);
    assert!(reason(&no_value).contains("has no value"));
    let Attribute::Refused(r) = read(&attribute("ip-src", "x"), None) else {
        panic!("not refused");
    };
    assert_eq!(r.at, "5f0c1a2b-0000-4000-8000-000000000001");
    assert_eq!(r.entry, "x");
}

#[test]
fn an_event_s_attributes_include_those_of_its_live_objects() {
    let event = json!({"Event": {
        "info": "Campaign",
        "Attribute": [attribute("ip-dst", "198.51.100.1")],
        "Object": [
            {"name": "ip-port", "Attribute": [attribute("ip-dst", "198.51.100.2")]},
            {"name": "ip-port", "deleted": true, "Attribute": [attribute("ip-dst", "198.51.100.3")]},
            {"name": "empty"},
        ],
    }});
    let (info, attributes) = of_event(&event);
    assert_eq!(info, Some("Campaign"));
    let values: Vec<_> = attributes.iter().map(|a| a["value"].clone()).collect();
    assert_eq!(values, [json!("198.51.100.1"), json!("198.51.100.2")]);
    assert_eq!(of_event(&json!({"Event": {}})).1.len(), 0);
    assert_eq!(of_event(&json!("nothing")).1.len(), 0);
}

#[test]
fn fuzz_misp_events_never_panic() {
    let base = json!({"Event": {"info": "x", "Attribute": [attribute("ip-dst", "192.0.2.1")]}});
    let one = spoiled(attribute("ip-src|port", "192.0.2.1|80"));
    let event = prop_oneof![
        document(),
        spoiled(base),
        proptest::collection::vec(one, 0..4)
            .prop_map(|a| json!({"Event": {"Attribute": a.clone(), "Object": [{"Attribute": a}]}})),
    ];
    fuzz("misp_events", 1000, event, |event| {
        let (info, attributes) = of_event(&event);
        for attribute in attributes {
            match read(attribute, info) {
                Attribute::Item(item) => {
                    prop_assert!(item.external_id.is_some());
                    prop_assert!(item.comment.is_none_or(|c| c.chars().count() <= 200));
                }
                Attribute::Refused(r) => prop_assert!(r.entry.chars().count() <= 200),
                Attribute::Skipped => {}
            }
        }
        Ok(())
    });
}
