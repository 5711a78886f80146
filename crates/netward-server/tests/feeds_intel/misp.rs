//! MISP: a static feed directory served by `python3 -m http.server`, and a loopback stand-in
//! for a MISP instance's `POST /attributes/restSearch` (a real MISP cannot be installed
//! here) that filters and pages the way MISP documents it.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use netward_server::feeds::intel::{PullState, pull};
use netward_server::feeds::{Content, FeedKind, Pull, PullError, Source, Validators};
use netward_testkit::in_process::http_client;
use netward_testkit::ports::free_port;
use serde_json::{Value, json};

use crate::complete;
use crate::python::{ServerProcess, python};

const EVENT_A: &str = "5d2d4a6e-1c2b-4b0e-9a1e-2f3c4d5e6f70";
const EVENT_B: &str = "6e3e5b7f-2d3c-4c1f-8b2f-3a4d5e6f7081";
const EVENT_C: &str = "7f4f6c80-3e4d-4d20-9c30-4b5e6f708192";

pub fn uuid(n: u32) -> String {
    format!("{n:08x}-aaaa-4bbb-8ccc-000000000000")
}

/// An attribute as MISP writes it in a feed's event file.
fn attribute(n: u32, kind: &str, value: &str) -> Value {
    json!({"uuid": uuid(n), "type": kind, "category": "Network activity", "value": value,
           "to_ids": true, "deleted": false, "comment": "", "timestamp": "1767225600",
           "distribution": "5", "disable_correlation": false, "object_relation": null,
           "first_seen": null, "last_seen": null})
}

fn event(uuid: &str, info: &str, attributes: Vec<Value>, objects: Vec<Value>) -> Value {
    json!({"Event": {"uuid": uuid, "info": info, "date": "2026-01-01", "timestamp": "1767225600",
                     "published": true, "analysis": "2", "threat_level_id": "1",
                     "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
                     "Tag": [{"name": "tlp:white", "colour": "#ffffff"}],
                     "Attribute": attributes, "Object": objects}})
}

fn manifest_entry(uuid: &str, info: &str) -> (String, Value) {
    let entry = json!({"info": info, "date": "2026-01-01", "analysis": 2, "threat_level_id": 1,
                       "timestamp": 1767225600, "Orgc": {"name": "CIRCL",
                       "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"}, "Tag": []});
    (uuid.to_owned(), entry)
}

fn write_json(path: std::path::PathBuf, value: &Value) {
    std::fs::write(path, value.to_string()).expect("write a feed file");
}

async fn misp_pull(
    kind: FeedKind,
    source: &Source,
    validators: Validators,
) -> Result<Pull, PullError> {
    let state = PullState {
        validators,
        cursor: None,
    };
    pull(kind, &http_client(), source, &state).await
}

#[tokio::test]
async fn a_static_feed_is_read_whole_then_conditionally() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let feed = dir.path().join("feed");
    std::fs::create_dir(&feed).expect("the feed directory");
    let mut no_ids = attribute(6, "ip-dst", "198.51.100.6");
    no_ids["to_ids"] = json!(false);
    let mut deleted = attribute(7, "ip-dst", "198.51.100.7");
    deleted["deleted"] = json!(true);
    let mut commented = attribute(1, "ip-dst", "198.51.100.1");
    commented["comment"] = json!("loader C2");
    write_json(
        feed.join(format!("{EVENT_A}.json")),
        &event(
            EVENT_A,
            "OSINT - Loader campaign",
            vec![
                commented,
                attribute(2, "ip-src", "203.0.113.0/24"),
                attribute(3, "ip-dst|port", "198.51.100.3|8443"),
                attribute(4, "domain|ip", "evil.example|198.51.100.4"),
                attribute(
                    5,
                    "sha256",
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                ),
                no_ids,
                deleted,
                attribute(8, "ip-dst", "198.51.100.9/24"),
                attribute(9, "ip-src", "not-an-address"),
            ],
            vec![
                json!({"name": "ip-port", "meta-category": "network", "uuid": uuid(100),
                        "Attribute": [attribute(10, "ip-dst", "198.51.100.10")]}),
            ],
        ),
    );
    write_json(
        feed.join(format!("{EVENT_B}.json")),
        &event(
            EVENT_B,
            "Scanner",
            vec![attribute(11, "ip-src|port", "2001:db8::11|22")],
            vec![],
        ),
    );
    let manifest: serde_json::Map<String, Value> = [
        manifest_entry(EVENT_A, "OSINT - Loader campaign"),
        manifest_entry(EVENT_B, "Scanner"),
    ]
    .into_iter()
    .collect();
    write_json(feed.join("manifest.json"), &Value::Object(manifest.clone()));
    std::fs::write(feed.join("hashes.csv"), "").expect("hashes.csv");

    let port = free_port();
    let mut command = Command::new(python());
    command
        .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
        .arg(dir.path())
        .arg(port.to_string());
    let server = ServerProcess::start(command, port, &dir.path().join("http.log"));
    let source = Source {
        url: server.url("/feed/"),
        max_bytes: 1 << 20,
        ..Source::default()
    };

    let first = misp_pull(FeedKind::MispFeed, &source, Validators::default())
        .await
        .expect("the first pull");
    let items = complete(&first);
    assert_eq!(
        items.keys().collect::<Vec<_>>(),
        [
            "198.51.100.1",
            "198.51.100.10",
            "198.51.100.3",
            "198.51.100.4",
            "2001:db8::11",
            "203.0.113.0/24"
        ]
    );
    let c2 = &items["198.51.100.1"];
    assert_eq!(c2.external_id.as_deref(), Some(uuid(1).as_str()));
    assert_eq!(c2.comment.as_deref(), Some("loader C2"));
    assert_eq!(
        items["198.51.100.3"].comment.as_deref(),
        Some("OSINT - Loader campaign")
    );
    assert_eq!(
        items["198.51.100.10"].external_id.as_deref(),
        Some(uuid(10).as_str())
    );
    let refused: Vec<_> = first
        .refusals
        .iter()
        .map(|r| (r.at.clone(), r.reason.clone()))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].0, uuid(8));
    assert!(refused[0].1.contains("host bits set"), "{refused:?}");
    assert_eq!(refused[1].0, uuid(9));
    assert!(refused[1].1.contains("not an IP address"), "{refused:?}");
    let validators = first.validators.clone();
    assert!(
        validators.last_modified.is_some(),
        "http.server sends Last-Modified"
    );

    // The manifest's own URL names the feed too.
    let by_manifest = Source {
        url: server.url("/feed/manifest.json"),
        ..source.clone()
    };
    let again = misp_pull(FeedKind::MispFeed, &by_manifest, Validators::default())
        .await
        .expect("a pull by the manifest's URL");
    assert_eq!(
        complete(&again).keys().collect::<Vec<_>>(),
        items.keys().collect::<Vec<_>>()
    );

    // Unchanged: the manifest answers 304.
    let second = misp_pull(FeedKind::MispFeed, &source, validators.clone())
        .await
        .expect("the second pull");
    assert!(
        matches!(second.content, Content::NotModified),
        "{:?}",
        second.content
    );
    assert_eq!(second.validators, validators);

    // A new event, and event B gone: a newer manifest is read whole.
    write_json(
        feed.join(format!("{EVENT_C}.json")),
        &event(
            EVENT_C,
            "New",
            vec![attribute(12, "ip-dst", "192.0.2.12")],
            vec![],
        ),
    );
    let mut manifest = manifest;
    manifest.remove(EVENT_B);
    manifest.extend([manifest_entry(EVENT_C, "New")]);
    write_json(feed.join("manifest.json"), &Value::Object(manifest.clone()));
    let later = SystemTime::now() + Duration::from_secs(10);
    std::fs::File::options()
        .write(true)
        .open(feed.join("manifest.json"))
        .and_then(|f| f.set_modified(later))
        .expect("date the manifest later");
    let third = misp_pull(FeedKind::MispFeed, &source, validators)
        .await
        .expect("the third pull");
    let items = complete(&third);
    assert!(items.contains_key("192.0.2.12"));
    assert!(!items.contains_key("2001:db8::11"));
    assert_eq!(items.len(), 6);

    // An event the manifest lists but the server lacks fails the pull: without it, the feed
    // would lose that event's indicators.
    std::fs::remove_file(feed.join(format!("{EVENT_C}.json"))).expect("remove an event");
    let failed = misp_pull(FeedKind::MispFeed, &source, Validators::default()).await;
    assert!(
        matches!(failed, Err(PullError::Status { status: 404, .. })),
        "{failed:?}"
    );
    // And the size cap holds across the files of one pull.
    let small = Source {
        max_bytes: 2_000,
        ..source.clone()
    };
    std::fs::remove_file(feed.join("manifest.json")).expect("remove the manifest");
    write_json(
        feed.join("manifest.json"),
        &Value::Object([manifest_entry(EVENT_A, "a")].into_iter().collect()),
    );
    let capped = misp_pull(FeedKind::MispFeed, &small, Validators::default()).await;
    assert!(
        matches!(capped, Err(PullError::TooLarge { limit: 2_000, .. })),
        "{capped:?}"
    );
}

/// What the MISP stand-in holds and saw.
#[derive(Default)]
pub struct Misp {
    attributes: Vec<Value>,
    /// The body of every restSearch request.
    requests: Vec<Value>,
}

pub const KEY: &str = "kH7sR2xQ9mVb4LpT6yW1nZ8cD3fG5jA0eU2iO7rS";

/// An attribute as restSearch returns it, with its event; `published` and the warning list
/// are the stand-in's own facts, not sent.
pub fn api_attribute(n: u32, kind: &str, value: &str, published: bool) -> Value {
    json!({"id": n.to_string(), "event_id": "7", "object_id": "0", "object_relation": null,
           "category": "Network activity", "type": kind, "to_ids": true, "uuid": uuid(n),
           "timestamp": "1767225600", "distribution": "5", "sharing_group_id": "0",
           "comment": "", "deleted": false, "disable_correlation": false,
           "first_seen": null, "last_seen": null, "value": value,
           "Event": {"org_id": "1", "distribution": "1", "id": "7", "info": "Botnet C2 list",
                     "orgc_id": "1", "uuid": EVENT_A, "published": published}})
}

/// `restSearch` as MISP answers it: the filters of the body, then `page` and `limit`.
async fn rest_search(
    State(misp): State<Arc<Mutex<Misp>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(KEY) {
        let message = "Authentication failed. Please make sure you pass the API key of an API \
                       enabled user along in the Authorization header.";
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"name": message, "message": message, "url": "/attributes/restSearch"})),
        );
    }
    let mut misp = misp.lock().expect("the stand-in's state");
    misp.requests.push(body.clone());
    let types: Vec<&str> = body["type"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let warning_list = ["8.8.8.8", "1.1.1.1"];
    let matching: Vec<Value> = misp
        .attributes
        .iter()
        .filter(|a| types.is_empty() || types.contains(&a["type"].as_str().unwrap_or("")))
        .filter(|a| body["to_ids"] != json!(1) || a["to_ids"] == json!(true))
        .filter(|a| body["published"] != json!(1) || a["Event"]["published"] == json!(true))
        .filter(|a| {
            body["enforceWarninglist"] != json!(1)
                || !warning_list.contains(&a["value"].as_str().unwrap_or(""))
        })
        .filter(|a| a["deleted"] == json!(false))
        .cloned()
        .collect();
    let limit = body["limit"].as_u64().unwrap_or(u64::MAX) as usize;
    let page = body["page"].as_u64().unwrap_or(1).max(1) as usize;
    let slice: Vec<Value> = matching
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .collect();
    (
        StatusCode::OK,
        Json(json!({"response": {"Attribute": slice}})),
    )
}

pub async fn start_misp(attributes: Vec<Value>) -> (String, Arc<Mutex<Misp>>) {
    let misp = Arc::new(Mutex::new(Misp {
        attributes,
        requests: Vec::new(),
    }));
    let app = Router::new()
        .route("/attributes/restSearch", post(rest_search))
        .with_state(misp.clone());
    let url = crate::serve(app).await;
    (url, misp)
}

#[tokio::test]
async fn the_misp_api_is_searched_page_after_page_with_its_filters() {
    let mut attributes: Vec<Value> = (0..10_000u32)
        .map(|n| {
            let value = format!("10.{}.{}.1", n / 256, n % 256);
            api_attribute(1000 + n, "ip-dst", &value, true)
        })
        .collect();
    let mut not_for_ids = api_attribute(1, "ip-dst", "198.51.100.1", true);
    not_for_ids["to_ids"] = json!(false);
    let mut deleted = api_attribute(2, "ip-dst", "198.51.100.2", true);
    deleted["deleted"] = json!(true);
    let mut commented = api_attribute(5, "ip-dst|port", "198.51.100.5|4444", true);
    commented["comment"] = json!("Cobalt Strike team server");
    attributes.extend([
        not_for_ids,
        deleted,
        api_attribute(3, "ip-dst", "198.51.100.3", false),
        api_attribute(4, "ip-dst", "8.8.8.8", true),
        commented,
        api_attribute(6, "domain|ip", "evil.example|2001:db8::6", true),
        api_attribute(7, "ip-src", "203.0.113.7/24", true),
        api_attribute(8, "sha256", "ab", true),
    ]);
    let (url, misp) = start_misp(attributes).await;
    let source = Source {
        url: format!("{url}/"),
        api_key: Some(KEY.into()),
        max_bytes: 64 << 20,
        ..Source::default()
    };
    let result = misp_pull(FeedKind::MispApi, &source, Validators::default())
        .await
        .expect("the pull");
    let items = complete(&result);
    assert_eq!(items.len(), 10_002);
    assert!(items.contains_key("10.39.15.1"));
    let c2 = &items["198.51.100.5"];
    assert_eq!(c2.external_id.as_deref(), Some(uuid(5).as_str()));
    assert_eq!(c2.comment.as_deref(), Some("Cobalt Strike team server"));
    assert_eq!(
        items["2001:db8::6"].comment.as_deref(),
        Some("Botnet C2 list")
    );
    for absent in ["198.51.100.1", "198.51.100.2", "198.51.100.3", "8.8.8.8"] {
        assert!(!items.contains_key(absent), "{absent} was taken");
    }
    assert_eq!(result.refusals.len(), 1, "{:?}", result.refusals);
    assert_eq!(result.refusals[0].at, uuid(7));
    assert!(result.refusals[0].reason.contains("host bits set"));

    let requests = misp.lock().expect("state").requests.clone();
    let pages: Vec<_> = requests.iter().map(|r| r["page"].clone()).collect();
    assert_eq!(pages, [json!(1), json!(2), json!(3)]);
    for request in &requests {
        assert_eq!(request["returnFormat"], "json");
        assert_eq!(request["to_ids"], 1);
        assert_eq!(request["published"], 1);
        assert_eq!(request["enforceWarninglist"], 1);
        assert_eq!(request["limit"], 5000);
        assert_eq!(
            request["type"],
            json!([
                "ip-dst",
                "ip-src",
                "ip-dst|port",
                "ip-src|port",
                "domain|ip"
            ])
        );
    }

    let wrong = Source {
        api_key: Some("not the key".into()),
        ..source.clone()
    };
    let denied = misp_pull(FeedKind::MispApi, &wrong, Validators::default()).await;
    assert!(
        matches!(denied, Err(PullError::Status { status: 403, .. })),
        "{denied:?}"
    );
    let bad_header = Source {
        api_key_header: Some("not a header".into()),
        ..source.clone()
    };
    let unsent = misp_pull(FeedKind::MispApi, &bad_header, Validators::default()).await;
    assert!(matches!(unsent, Err(PullError::Http { .. })), "{unsent:?}");
}
