//! The OpenAPI document matches the routes the server really serves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use std::collections::BTreeSet;

use common::TestServer;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn every_documented_route_exists_and_every_required_route_is_documented() {
    let s = TestServer::start().await;
    let (status, doc) = s.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let required = [
        ("GET", "/api/indicators"),
        ("POST", "/api/indicators"),
        ("GET", "/api/indicators/{id}"),
        ("DELETE", "/api/indicators/{id}"),
        ("POST", "/api/indicators/import"),
        ("POST", "/api/indicators/BatchDelete"),
        ("POST", "/api/indicators/DeleteByFilter"),
        ("GET", "/api/groups"),
        ("POST", "/api/groups"),
        ("GET", "/api/groups/{name}"),
        ("PATCH", "/api/groups/{name}"),
        ("DELETE", "/api/groups/{name}"),
        ("GET", "/api/feeds"),
        ("POST", "/api/feeds"),
        ("GET", "/api/feeds/{name}"),
        ("PATCH", "/api/feeds/{name}"),
        ("DELETE", "/api/feeds/{name}"),
        ("POST", "/api/feeds/{name}/sync"),
        ("GET", "/api/groups/{name}/policy"),
        ("GET", "/api/settings"),
        ("PATCH", "/api/settings"),
        ("GET", "/api/tokens"),
        ("POST", "/api/tokens"),
        ("DELETE", "/api/tokens/{id}"),
        ("GET", "/api/audit"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/machines"),
        ("GET", "/api/machines/{id}"),
        ("PATCH", "/api/machines/{id}"),
        ("POST", "/api/machines/{id}/revoke"),
        ("POST", "/api/enroll-tokens"),
        ("GET", "/api/enroll-tokens"),
        ("DELETE", "/api/enroll-tokens/{id}"),
        ("POST", "/api/agent/enroll"),
        ("GET", "/api/agent/policy"),
        ("POST", "/api/agent/ack"),
        ("GET", "/api/agent/stream"),
        ("POST", "/api/agent/events"),
        ("GET", "/api/events"),
        ("GET", "/api/events/stream"),
        ("GET", "/api/machines/{id}/timeline"),
        ("GET", "/api/hunting/contacts"),
        ("GET", "/api/alerts"),
        ("GET", "/api/alerts/stream"),
        ("GET", "/api/alerts/{id}"),
        ("PATCH", "/api/alerts/{id}"),
        ("POST", "/api/alerts/{id}/comments"),
        ("GET", "/api/incidents"),
        ("GET", "/api/incidents/{id}"),
        ("PATCH", "/api/incidents/{id}"),
    ];
    let required: BTreeSet<(String, String)> = required
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, required);

    // A feed named like the group, so that its routes find something (its server is a closed
    // port: its refreshes fail, which changes nothing here).
    let (status, body) = s
        .post(
            "/api/feeds",
            serde_json::json!({"name": "default", "kind": "plain", "url": "http://127.0.0.1:9/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A documented route answers 401 without a token (an unknown route answers 404), and
    // with the admin token it never answers 404 or 405. Enrollment takes its token in the
    // body, and the agent routes take a device credential, not an API token.
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "1").replace("{name}", "default");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, _) = s.send(s.req(method.clone(), &concrete, None)).await;
        if concrete == "/api/agent/enroll" {
            assert_eq!(status, StatusCode::BAD_REQUEST, "enrollment without a body");
            continue;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {concrete}");
        if concrete.starts_with("/api/agent/") {
            let (status, _) = s
                .send(s.req(method.clone(), &concrete, Some(&s.admin)))
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "an API token is not a device credential"
            );
            continue;
        }
        // Streams never end; detection_api.rs reads them.
        if method == Method::GET && !concrete.ends_with("/stream") {
            let (status, _) = s
                .send(s.req(method.clone(), &concrete, Some(&s.admin)))
                .await;
            assert!(
                status == StatusCode::OK
                    || status == StatusCode::NOT_FOUND && concrete.contains("/1")
                    || status == StatusCode::BAD_REQUEST && concrete == "/api/hunting/contacts",
                "{method} {concrete}: {status}"
            );
        }
    }
    let (status, body) = s.send(s.req(Method::GET, "/api/nothing-here", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = s
        .send(s.req(Method::PUT, "/api/indicators", Some(&s.admin)))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Each route lists its query parameters once, in a typed struct: what the document shows is
/// exactly what the route takes, and anything else is refused by name.
#[tokio::test]
async fn documented_query_parameters_are_exactly_the_accepted_ones() {
    let s = TestServer::start().await;
    let (_, doc) = s.get("/api/openapi.json").await;
    let params = |path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (path, expected) in [
        (
            "/api/events",
            &[
                "remoteIp",
                "deviceId",
                "indicatorId",
                "outcome",
                "actionType",
                "from",
                "to",
                "$top",
                "$skip",
            ][..],
        ),
        (
            "/api/alerts",
            &["status", "deviceId", "indicatorId", "$top", "$skip"],
        ),
        ("/api/audit", &["target", "from", "$top", "$skip"]),
    ] {
        assert_eq!(params(path), expected, "{path}");
        for name in expected {
            // A documented parameter is never refused as unknown (it may still be refused
            // for its value, naming itself).
            let (status, body) = s.get(&format!("{path}?{name}=")).await;
            assert!(
                status == StatusCode::OK || body["error"]["target"] == *name,
                "{path}?{name}= -> {status} {body}"
            );
        }
        let (status, body) = s.get(&format!("{path}?colour=red")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["target"], "colour");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&expected.join(", ")),
            "the refusal lists what the route takes: {body}"
        );
    }
    let (status, body) = s.get("/api/events?$top=1&$top=2").await;
    assert_eq!(
        (status, body["error"]["target"].as_str()),
        (StatusCode::BAD_REQUEST, Some("query")),
        "a parameter given twice is refused: {body}"
    );
}
