use serde_json::json;

use super::cursor::{Cursor, CursorBuilder, MAX_SEEN, OVERLAP_MS, version};
use super::resources::Resource;

fn v(id: &str) -> (String, String) {
    (id.to_owned(), "2026-01-01T00:00:00Z".to_owned())
}

#[test]
fn a_cursor_resumes_only_for_its_own_source_and_a_minute_early() {
    let mut builder = CursorBuilder::new("https://x/taxii2/ c1", None);
    builder.page(Some("2026-01-01T00:00:00Z"), vec![v("a")]);
    builder.page(Some("2026-01-01T00:10:00Z"), vec![v("b")]);
    builder.page(Some("2026-01-01T00:10:30.250Z"), vec![v("c")]);
    let text = builder.finish().expect("a cursor");
    assert_eq!(Cursor::resume(Some(&text), "https://x/taxii2/ c2"), None);
    assert_eq!(
        Cursor::resume(Some("garbage"), "https://x/taxii2/ c1"),
        None
    );
    let cursor = Cursor::resume(Some(&text), "https://x/taxii2/ c1").expect("resumed");
    assert_eq!(cursor.added_after(), "2026-01-01T00:09:30.250Z");
    // Only the pages dated within the overlap are remembered.
    assert_eq!(cursor.seen, Some(vec![v("c"), v("b")]));
    assert_eq!(OVERLAP_MS, 60_000);
}

#[test]
fn a_cursor_never_goes_back_and_needs_a_dated_page() {
    assert_eq!(CursorBuilder::new("s", None).finish(), None);
    let mut empty = CursorBuilder::new("s", None);
    empty.page(None, Vec::new());
    assert_eq!(empty.finish(), None);

    let old = Cursor {
        source: "s".into(),
        added_last: "1970-01-01T00:16:40.000000Z".into(),
        added_last_ms: 1_000_000,
        seen: Some(vec![v("a")]),
    };
    let mut builder = CursorBuilder::new("s", Some(&old));
    builder.page(Some("1970-01-01T00:00:01Z"), vec![v("b")]);
    let cursor = Cursor::resume(builder.finish().as_deref(), "s").expect("resumed");
    assert_eq!(cursor.added_last_ms, 1_000_000);
    assert_eq!(cursor.added_last, "1970-01-01T00:16:40.000000Z");
}

#[test]
fn a_bulk_load_past_the_cap_resumes_exactly_at_its_date() {
    let mut builder = CursorBuilder::new("s", None);
    let at = "2026-01-01T00:00:00.123456Z";
    for page in 0..=(MAX_SEEN / 1000) {
        let versions = (0..1000)
            .map(|n| v(&format!("indicator--{page}-{n}")))
            .collect();
        builder.page(Some(at), versions);
    }
    let cursor = Cursor::resume(builder.finish().as_deref(), "s").expect("resumed");
    assert_eq!(cursor.seen, None);
    assert!(cursor.seen().is_empty());
    // The server's own text, microseconds and all: `added_after` is exclusive.
    assert_eq!(cursor.added_after(), at);
}

#[test]
fn versions_need_an_id_and_a_modified_time() {
    let object = json!({"id": "indicator--1", "modified": "2026-01-01T00:00:00Z"});
    assert_eq!(version(&object), Some(v("indicator--1")));
    assert_eq!(version(&json!({"id": "identity--1"})), None);
}

#[test]
fn resources_are_told_apart_by_their_fields() {
    let discovery = json!({"title": "t", "api_roots": ["https://x/api1/"]});
    assert!(matches!(
        Resource::classify(discovery),
        Some(Resource::Discovery(_))
    ));
    let root = json!({"title": "api1", "versions": ["application/taxii+json;version=2.1"]});
    assert!(matches!(Resource::classify(root), Some(Resource::ApiRoot)));
    let collection = json!({"id": "c1", "title": "c", "can_read": true, "can_write": false});
    assert!(
        matches!(Resource::classify(collection), Some(Resource::Collection(c)) if c.id == "c1")
    );
    assert!(Resource::classify(json!({"objects": []})).is_none());
    assert!(Resource::classify(json!([1, 2])).is_none());
}
