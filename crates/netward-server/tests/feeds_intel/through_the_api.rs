//! The intel kinds end to end through the API, as an admin subscribes: a TAXII collection on
//! medallion and a MISP instance's restSearch become indicators whose source is the feed and
//! whose external id is the STIX id or the MISP attribute uuid; later changes at the source
//! arrive as one delta.

use std::collections::BTreeMap;
use std::time::Duration;

use netward_testkit::wait::wait_for_async;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestServer;
use crate::misp::{KEY, api_attribute, start_misp, uuid};
use crate::taxii::{COLLECTION, Medallion, id};

/// Creates a feed and waits for the refresh loop's first run of it; that run.
async fn subscribe(s: &TestServer, body: Value) -> Value {
    let name = body["name"].as_str().unwrap().to_owned();
    let (status, made) = s.post("/api/feeds", body).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    wait_for_async(
        "the feed's first refresh",
        Duration::from_secs(30),
        || async {
            let (_, feed) = s.get(&format!("/api/feeds/{name}")).await;
            let first = feed["runs"][0].clone();
            (!first.is_null()).then_some(first)
        },
    )
    .await
}

/// The feed's indicators: value → (action, external id).
async fn indicators(s: &TestServer, feed: &str) -> BTreeMap<String, (String, String)> {
    let (status, list) = s
        .get(&format!("/api/indicators?source={feed}&$top=1000"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["indicatorValue"].as_str().unwrap().to_owned(),
                (
                    i["action"].as_str().unwrap().to_owned(),
                    i["externalID"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

fn counts(run: &Value) -> (&str, u64, u64, u64) {
    (
        run["status"].as_str().unwrap(),
        run["added"].as_u64().unwrap(),
        run["removed"].as_u64().unwrap(),
        run["refused"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taxii_collection_becomes_indicators_and_its_changes_a_delta() {
    let taxii = Medallion::start();
    taxii.add("1").await;
    let s = TestServer::start().await;
    let first = subscribe(
        &s,
        json!({"name": "cti", "kind": "taxii21", "url": taxii.url("/taxii2/"),
               "collection": COLLECTION, "username": "netward", "password": "secret",
               "action": "Block", "severity": "High", "refreshMinutes": 60}),
    )
    .await;
    // 198.51.100.10 is held back until its valid_from (2099); five objects are refused.
    assert_eq!(counts(&first), ("applied", 6, 0, 5), "{first}");
    let held = indicators(&s, "cti").await;
    assert_eq!(
        held.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.6",
            "198.51.100.7",
            "2001:db8:7::/48",
            "203.0.113.0/24"
        ]
    );
    assert_eq!(
        held["198.51.100.1"],
        ("Block".to_owned(), id(1)),
        "confidence 80 blocks"
    );
    assert_eq!(held["2001:db8:7::/48"].1, id(2));

    // At the source: indicator 1 moves, 7 is revoked, 12 is new.
    taxii.add("2").await;
    let (status, second) = s.post("/api/feeds/cti/sync", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let after = indicators(&s, "cti").await;
    assert!(
        !after.contains_key("198.51.100.1") && !after.contains_key("198.51.100.7"),
        "{after:?}"
    );
    assert_eq!(after["198.51.100.101"].1, id(1));
    assert_eq!(after["2001:db8::12"].1, id(12));
    assert_eq!(after.len(), 6, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misp_instance_becomes_indicators_named_by_attribute_uuid() {
    let (url, _misp) = start_misp(vec![
        api_attribute(1, "ip-dst", "198.51.100.1", true),
        api_attribute(2, "ip-src|port", "198.51.100.2|4444", true),
        api_attribute(3, "ip-dst", "8.8.8.8", true),
        api_attribute(4, "ip-dst", "198.51.100.4", false),
    ])
    .await;
    let s = TestServer::start().await;
    let first = subscribe(
        &s,
        json!({"name": "misp", "kind": "misp-api", "url": url, "apiKey": KEY,
               "action": "Audit", "refreshMinutes": 60}),
    )
    .await;
    assert_eq!(counts(&first), ("applied", 2, 0, 0), "{first}");
    let held = indicators(&s, "misp").await;
    assert_eq!(held["198.51.100.1"], ("Audit".to_owned(), uuid(1)));
    assert_eq!(held["198.51.100.2"], ("Audit".to_owned(), uuid(2)));
    assert_eq!(
        held.len(),
        2,
        "the warning list and an unpublished event stay out: {held:?}"
    );
}
