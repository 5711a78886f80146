//! TAXII 2.1 behaviours medallion does not show: a server that pages by `added_after` alone
//! (`more` without `next`), and one that asks the client to come back later. A small
//! loopback server stands in for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use netward_model::timestamp::parse_rfc3339_ms;
use netward_server::feeds::intel::{PullState, pull};
use netward_server::feeds::{FeedKind, PullError, Source};
use netward_testkit::in_process::http_client;
use serde_json::{Value, json};

use crate::complete;

/// The objects, each with its `date_added`, oldest first.
fn objects() -> Vec<(String, Value)> {
    (1..=5)
        .map(|n| {
            let added = format!("2026-03-01T00:00:0{n}.000000Z");
            let object = json!({
                "type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--0000000{n}-0000-4000-8000-000000000000"),
                "created": "2026-03-01T00:00:00Z", "modified": "2026-03-01T00:00:00Z",
                "pattern": format!("[ipv4-addr:value = '192.0.2.{n}']"),
                "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z",
            });
            (added, object)
        })
        .collect()
}

/// Two objects a page, `more` without `next`; records each `added_after` asked for.
async fn page(
    State(asked): State<Arc<Mutex<Vec<Option<String>>>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let after = query.get("added_after").cloned();
    asked
        .lock()
        .expect("the stand-in's state")
        .push(after.clone());
    let after_ms = after
        .as_deref()
        .and_then(parse_rfc3339_ms)
        .unwrap_or(i64::MIN);
    let newer: Vec<_> = objects()
        .into_iter()
        .filter(|(added, _)| parse_rfc3339_ms(added).is_some_and(|ms| ms > after_ms))
        .collect();
    let shown: Vec<_> = newer.iter().take(2).cloned().collect();
    let mut headers = HeaderMap::new();
    if let (Some((first, _)), Some((last, _))) = (shown.first(), shown.last()) {
        let value = |t: &str| HeaderValue::from_str(t).expect("a header value");
        headers.insert("X-TAXII-Date-Added-First", value(first));
        headers.insert("X-TAXII-Date-Added-Last", value(last));
    }
    let body = json!({
        "more": newer.len() > shown.len(),
        "objects": shown.into_iter().map(|(_, o)| o).collect::<Vec<_>>(),
    });
    (headers, Json(body)).into_response()
}

async fn start() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let collection = json!({"id": "c1", "title": "stand-in", "can_read": true, "can_write": false});
    let app = Router::new()
        .route("/c/", get(move || async move { Json(collection) }))
        .route("/c/objects/", get(page))
        .route(
            "/busy/",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("Retry-After", "120")],
                    "slow down",
                )
            }),
        )
        .with_state(asked.clone());
    let url = crate::serve(app).await;
    (url, asked)
}

fn source(url: String) -> Source {
    Source {
        url,
        max_bytes: 1 << 20,
        ..Source::default()
    }
}

#[tokio::test]
async fn without_next_the_pages_follow_the_date_added_header() {
    let (url, asked) = start().await;
    let pulled = pull(
        FeedKind::Taxii21,
        &http_client(),
        &source(format!("{url}/c/")),
        &PullState::default(),
    )
    .await
    .expect("the pull");
    let values: Vec<String> = complete(&pulled).into_keys().collect();
    assert_eq!(
        values,
        [
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.3",
            "192.0.2.4",
            "192.0.2.5"
        ]
    );
    let asked = asked.lock().expect("state").clone();
    assert_eq!(
        asked,
        [
            None,
            Some("2026-03-01T00:00:02.000000Z".to_owned()),
            Some("2026-03-01T00:00:04.000000Z".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_server_asking_to_wait_says_how_long() {
    let (url, _) = start().await;
    let refused = pull(
        FeedKind::Taxii21,
        &http_client(),
        &source(format!("{url}/busy/")),
        &PullState::default(),
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(PullError::Status {
                status: 429,
                retry_after: Some(120),
                ..
            })
        ),
        "{refused:?}"
    );
}
