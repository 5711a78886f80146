//! TAXII 2.1 against medallion 3.0.0, the OASIS reference server, with two objects a page.

use std::process::Command;

use netward_model::IndicatorValue;
use netward_model::timestamp::parse_rfc3339;
use netward_server::feeds::intel::{PullState, pull};
use netward_server::feeds::{Content, FeedKind, Pull, PullError, Source};
use netward_testkit::in_process::http_client;
use netward_testkit::ports::free_port;
use serde_json::{Value, json};

use crate::python::{ServerProcess, python, run_script};
use crate::{by_value, complete};

pub const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
const LOCKED: &str = "52892447-4d7e-4f70-b94d-d7f22742ff63";
const TAXII: &str = "application/taxii+json;version=2.1";

/// Prints an envelope of STIX 2.1 objects built with `stix2` (which validates every
/// pattern): batch 1 is the collection's first content, batch 2 what changes later.
const OBJECTS: &str = r#"
import json, sys
import stix2

T0 = "2026-01-01T00:00:00.000Z"
T1 = "2026-01-02T00:00:00.000Z"

def indicator(n, pattern, modified=T0, **fields):
    fields.setdefault("valid_from", T0)
    fields.setdefault("pattern_type", "stix")
    return stix2.Indicator(
        id="indicator--%08d-0000-4000-8000-000000000000" % n,
        created=T0, modified=modified, pattern=pattern, **fields)

if sys.argv[1] == "1":
    objects = [
        indicator(1, "[ipv4-addr:value = '198.51.100.1']", name="C2 server",
                  description="Botnet\ncontroller", confidence=80),
        indicator(2, "[ipv4-addr:value = '198.51.100.2'] OR [ipv6-addr:value = '2001:db8:7::/48']"),
        indicator(3, "[network-traffic:dst_ref.type = 'ipv4-addr' AND "
                     "network-traffic:dst_ref.value = '203.0.113.0/24']"),
        indicator(4, "[ipv4-addr:value = '198.51.100.4' AND ipv4-addr:value = '198.51.100.5']"),
        indicator(5, "[domain-name:value = 'evil.example']"),
        indicator(6, "[ipv4-addr:value = '198.51.100.6']", valid_until="2030-01-01T00:00:00Z"),
        indicator(7, "[ipv4-addr:value = '198.51.100.7']"),
        indicator(8, "[network-traffic:dst_ref.value = '198.51.100.8' AND network-traffic:dst_port = 4444]"),
        indicator(9, "[ipv4-addr:value = '198.51.100.9'] WITHIN 300 SECONDS"),
        indicator(10, "[ipv4-addr:value = '198.51.100.10']", valid_from="2099-01-01T00:00:00Z"),
        indicator(11, "title: not stix", pattern_type="sigma"),
        stix2.Malware(name="Botnet", is_family=True),
        stix2.Identity(name="ACME CERT", identity_class="organization"),
    ]
else:
    objects = [
        indicator(1, "[ipv4-addr:value = '198.51.100.101']", modified=T1, name="C2 server", confidence=90),
        indicator(7, "[ipv4-addr:value = '198.51.100.7']", modified=T1, revoked=True),
        indicator(12, "[ipv6-addr:value = '2001:db8::12']"),
    ]
print(json.dumps({"objects": [json.loads(o.serialize()) for o in objects]}))
"#;

pub fn id(n: u32) -> String {
    format!("indicator--{n:08}-0000-4000-8000-000000000000")
}

/// medallion on a free port, with a writable collection and one it may not read.
pub struct Medallion {
    server: ServerProcess,
    _dir: tempfile::TempDir,
}

impl Medallion {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let root = format!("http://127.0.0.1:{port}/api1/");
        let collection = |id: &str, title: &str, can_read: bool| {
            json!({"id": id, "title": title, "can_read": can_read, "can_write": true,
                   "media_types": ["application/stix+json;version=2.1"],
                   "objects": [], "manifest": []})
        };
        let data = json!({
            "/discovery": {"title": "netward test", "description": "", "contact": "",
                           "default": root, "api_roots": [root]},
            "api1": {
                "information": {"title": "api1", "description": "",
                                "versions": [TAXII], "max_content_length": 10_000_000},
                "status": [],
                "collections": [collection(COLLECTION, "indicators", true),
                                collection(LOCKED, "write only", false)],
            },
        });
        let data_path = dir.path().join("data.json");
        std::fs::write(&data_path, data.to_string()).expect("write the data file");
        let config = json!({
            "backend": {"module": "medallion.backends.memory_backend",
                        "module_class": "MemoryBackend", "filename": data_path},
            "users": {"netward": "secret"},
            "taxii": {"max_page_size": 2},
        });
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, config.to_string()).expect("write the config");
        let medallion = python().with_file_name("medallion");
        let mut command = Command::new(medallion);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(&config_path)
            .current_dir(dir.path());
        let server = ServerProcess::start(command, port, &dir.path().join("medallion.log"));
        Self { server, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// POSTs the objects of `batch` to the collection, as a TAXII client would.
    pub async fn add(&self, batch: &str) {
        let envelope: Value =
            serde_json::from_str(&run_script(OBJECTS, &[batch])).expect("the script's envelope");
        let response = http_client()
            .post(self.url(&format!("/api1/collections/{COLLECTION}/objects/")))
            .basic_auth("netward", Some("secret"))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(envelope.to_string())
            .send()
            .await
            .expect("POST the objects");
        assert_eq!(response.status(), 202, "{:?}", response.text().await);
    }

    fn source(&self, path: &str, collection: Option<&str>) -> Source {
        Source {
            url: self.url(path),
            collection: collection.map(str::to_owned),
            username: Some("netward".into()),
            password: Some("secret".into()),
            max_bytes: 1 << 20,
            ..Source::default()
        }
    }
}

async fn taxii_pull(source: &Source, cursor: Option<String>) -> Result<Pull, PullError> {
    let state = PullState {
        cursor,
        ..PullState::default()
    };
    pull(FeedKind::Taxii21, &http_client(), source, &state).await
}

fn value(text: &str) -> IndicatorValue {
    IndicatorValue::parse(text).expect("a test value")
}

#[tokio::test]
async fn a_collection_is_read_whole_then_by_changes_through_many_pages() {
    let taxii = Medallion::start();
    taxii.add("1").await;
    let source = taxii.source("/taxii2/", Some(COLLECTION));

    let first = taxii_pull(&source, None).await.expect("the first pull");
    let items = complete(&first);
    let values: Vec<&str> = items.keys().map(String::as_str).collect();
    assert_eq!(
        values,
        [
            "198.51.100.1",
            "198.51.100.10",
            "198.51.100.2",
            "198.51.100.6",
            "198.51.100.7",
            "2001:db8:7::/48",
            "203.0.113.0/24"
        ]
    );
    let c2 = items["198.51.100.1"];
    assert_eq!(c2.external_id.as_deref(), Some(id(1).as_str()));
    assert_eq!(c2.comment.as_deref(), Some("C2 server: Botnet controller"));
    assert_eq!(c2.confidence, Some(80));
    assert_eq!(c2.valid_from, parse_rfc3339("2026-01-01T00:00:00Z"));
    assert_eq!(
        items["2001:db8:7::/48"].external_id.as_deref(),
        Some(id(2).as_str())
    );
    assert_eq!(
        items["198.51.100.6"].valid_until,
        parse_rfc3339("2030-01-01T00:00:00Z")
    );
    assert_eq!(
        items["198.51.100.10"].valid_from,
        parse_rfc3339("2099-01-01T00:00:00Z")
    );
    let refused: Vec<(String, &str)> = first
        .refusals
        .iter()
        .map(|r| (r.at.clone(), r.reason.as_str()))
        .collect();
    let expected = [
        (id(4), "AND is not supported"),
        (id(5), "`domain-name:value` names no address"),
        (id(8), "`network-traffic:dst_port` is a port term"),
        (id(9), "the qualifier WITHIN is not supported"),
        (id(11), "pattern_type `sigma` is not read"),
    ];
    assert_eq!(refused.len(), expected.len(), "{refused:?}");
    for ((at, reason), (want_at, want)) in refused.iter().zip(&expected) {
        assert_eq!(at, want_at);
        assert!(reason.contains(want), "{at}: {reason}");
    }
    let cursor = first.cursor.clone().expect("a cursor after the first pull");

    // Later: a newer version of indicator 1, indicator 7 revoked, indicator 12 new.
    taxii.add("2").await;
    let second = taxii_pull(&source, Some(cursor))
        .await
        .expect("the second pull");
    let Content::Changes { upserts, removed } = &second.content else {
        panic!("the second pull gives no changes: {:?}", second.content);
    };
    let upserts = by_value(upserts);
    assert_eq!(
        upserts.keys().collect::<Vec<_>>(),
        ["198.51.100.101", "2001:db8::12"]
    );
    assert_eq!(
        upserts["198.51.100.101"].external_id.as_deref(),
        Some(id(1).as_str())
    );
    assert_eq!(upserts["198.51.100.101"].confidence, Some(90));
    assert_eq!(removed, &[id(7)]);
    assert!(second.refusals.is_empty(), "{:?}", second.refusals);

    // Nothing new since: the overlap brings the last objects again, and they are passed over.
    let third = taxii_pull(&source, second.cursor.clone())
        .await
        .expect("the third pull");
    assert!(
        matches!(third.content, Content::NotModified),
        "{:?}",
        third.content
    );
    assert!(third.refusals.is_empty());
    assert!(third.cursor.is_some());
}

#[tokio::test]
async fn an_api_root_or_a_collection_url_reads_the_same_collection() {
    let taxii = Medallion::start();
    taxii.add("1").await;
    let whole = |pull: Pull| match pull.content {
        Content::Complete(items) => {
            let mut values: Vec<_> = items.into_iter().map(|i| i.value).collect();
            values.sort();
            values
        }
        other => panic!("not complete: {other:?}"),
    };
    let discovery = whole(
        taxii_pull(&taxii.source("/taxii2/", Some(COLLECTION)), None)
            .await
            .expect("through discovery"),
    );
    let root = whole(
        taxii_pull(&taxii.source("/api1/", Some(COLLECTION)), None)
            .await
            .expect("through the API root"),
    );
    let collection_path = format!("/api1/collections/{COLLECTION}/");
    let direct = whole(
        taxii_pull(&taxii.source(&collection_path, None), None)
            .await
            .expect("the collection itself"),
    );
    let objects = whole(
        taxii_pull(
            &taxii.source(&format!("{collection_path}objects/"), None),
            None,
        )
        .await
        .expect("the collection's objects URL"),
    );
    assert_eq!(objects, discovery);
    assert_eq!(discovery.len(), 7);
    assert!(discovery.contains(&value("203.0.113.0/24")));
    assert_eq!(root, discovery);
    assert_eq!(direct, discovery);

    // A cursor made for another URL is not resumed: that pull reads the whole again.
    let cursor = taxii_pull(&taxii.source("/api1/", Some(COLLECTION)), None)
        .await
        .expect("a pull")
        .cursor;
    let again = taxii_pull(&taxii.source(&collection_path, None), cursor)
        .await
        .expect("a pull with another URL's cursor");
    assert!(matches!(again.content, Content::Complete(_)));
}

#[tokio::test]
async fn wrong_collections_credentials_and_sizes_fail_the_pull_with_the_reason() {
    let taxii = Medallion::start();
    taxii.add("1").await;
    let reason = |result: Result<Pull, PullError>| match result {
        Ok(pull) => panic!("the pull succeeded: {:?}", pull.content),
        Err(e) => e,
    };

    let missing = reason(taxii_pull(&taxii.source("/taxii2/", Some("nope")), None).await);
    assert!(
        missing
            .to_string()
            .contains("no API root of this server holds the collection"),
        "{missing}"
    );
    let unnamed = reason(taxii_pull(&taxii.source("/api1/", None), None).await);
    assert!(
        unnamed
            .to_string()
            .contains(&format!("readable ones here: {COLLECTION}")),
        "{unnamed}"
    );
    let locked = reason(taxii_pull(&taxii.source("/api1/", Some(LOCKED)), None).await);
    assert!(locked.to_string().contains("may not be read"), "{locked}");
    let other = reason(
        taxii_pull(
            &taxii.source(&format!("/api1/collections/{COLLECTION}/"), Some(LOCKED)),
            None,
        )
        .await,
    );
    assert!(other.to_string().contains("but the feed names"), "{other}");

    let mut wrong = taxii.source("/taxii2/", Some(COLLECTION));
    wrong.password = Some("guess".into());
    let denied = reason(taxii_pull(&wrong, None).await);
    assert!(
        matches!(denied, PullError::Status { status: 401, .. }),
        "{denied:?}"
    );

    // The cap counts every page of the pull: enough for discovery, not for every page.
    let mut small = taxii.source("/taxii2/", Some(COLLECTION));
    small.max_bytes = 3_000;
    let capped = reason(taxii_pull(&small, None).await);
    assert!(
        matches!(capped, PullError::TooLarge { limit: 3_000, .. }),
        "{capped:?}"
    );

    let not_taxii = reason(taxii_pull(&taxii.source("/api1/status/x/", None), None).await);
    assert!(
        matches!(not_taxii, PullError::Status { status: 404, .. }),
        "{not_taxii:?}"
    );
}
