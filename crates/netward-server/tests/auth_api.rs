//! Tokens and roles: 401 without a valid token, 403 for a role that is too low, and the audit
//! log of who changed what.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use common::{TestServer, error_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn missing_wrong_and_revoked_tokens_get_401_with_a_json_body() {
    let s = TestServer::start().await;
    let cases: [(Option<&str>, Option<&str>); 4] = [
        (None, None),
        (
            Some("Bearer nwt_0000000000000000000000000000000000000000000000000000000000000000"),
            None,
        ),
        (Some("Basic YWRtaW46YWRtaW4="), None),
        (Some("Bearer"), None),
    ];
    for (header, _) in cases {
        let mut req = s.req(Method::GET, "/api/indicators", None);
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(error_of(&body).0, "Unauthorized");
    }

    let viewer = s.token("dashboard", "viewer").await;
    assert_eq!(
        s.send(s.req(Method::GET, "/api/indicators", Some(&viewer)))
            .await
            .0,
        StatusCode::OK
    );
    let (_, tokens) = s.get("/api/tokens").await;
    let id = tokens["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "dashboard")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, revoked) = s
        .send(s.req(Method::DELETE, &format!("/api/tokens/{id}"), Some(&s.admin)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revokedAt"].is_string());
    let (status, body) = s
        .send(s.req(Method::GET, "/api/indicators", Some(&viewer)))
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (StatusCode::UNAUTHORIZED, "Unauthorized")
    );
}

#[tokio::test]
async fn each_role_does_what_it_may_and_gets_403_for_the_rest() {
    let s = TestServer::start().await;
    let viewer = s.token("viewer-1", "viewer").await;
    let analyst = s.token("analyst-1", "analyst").await;
    let ind = s.block("192.0.2.77").await;

    type Call = (Method, &'static str, Option<Value>);
    let reads: Vec<Call> = vec![
        (Method::GET, "/api/indicators", None),
        (Method::GET, "/api/groups", None),
        (Method::GET, "/api/groups/default", None),
        (Method::GET, "/api/groups/default/policy", None),
        (Method::GET, "/api/settings", None),
        (Method::GET, "/api/openapi.json", None),
    ];
    let analyst_writes: Vec<Call> = vec![
        (
            Method::POST,
            "/api/indicators",
            Some(json!({"indicatorValue": "192.0.2.78", "action": "Audit", "title": "a"})),
        ),
        (
            Method::POST,
            "/api/indicators/import",
            Some(json!({"Indicators": []})),
        ),
    ];
    let admin_only: Vec<Call> = vec![
        (Method::POST, "/api/groups", Some(json!({"name": "g-new"}))),
        (
            Method::PATCH,
            "/api/groups/default",
            Some(json!({"mode": "audit"})),
        ),
        (
            Method::PATCH,
            "/api/settings",
            Some(json!({"customNetworkIndicators": true})),
        ),
        (Method::GET, "/api/tokens", None),
        (
            Method::POST,
            "/api/tokens",
            Some(json!({"name": "x", "role": "viewer"})),
        ),
        (Method::GET, "/api/audit", None),
    ];
    let call = |token: &str, (method, path, body): &Call| {
        let req = s.req(method.clone(), path, Some(token));
        match body {
            Some(b) => req.json(b),
            None => req,
        }
    };
    for c in &reads {
        assert_eq!(
            s.send(call(&viewer, c)).await.0,
            StatusCode::OK,
            "viewer {} {}",
            c.0,
            c.1
        );
    }
    for c in analyst_writes.iter().chain(&admin_only) {
        let (status, body) = s.send(call(&viewer, c)).await;
        assert_eq!(
            (status, error_of(&body).0),
            (StatusCode::FORBIDDEN, "Forbidden"),
            "viewer {} {}",
            c.0,
            c.1
        );
    }
    let (status, _) = s
        .send(s.req(
            Method::DELETE,
            &format!("/api/indicators/{ind}"),
            Some(&viewer),
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for c in &analyst_writes {
        assert_eq!(
            s.send(call(&analyst, c)).await.0,
            StatusCode::OK,
            "analyst {} {}",
            c.0,
            c.1
        );
    }
    for c in &admin_only {
        let (status, body) = s.send(call(&analyst, c)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "analyst {} {}: {body}",
            c.0,
            c.1
        );
        assert!(error_of(&body).1.contains("needs admin"), "{body}");
    }
    for c in &admin_only {
        assert!(
            s.send(call(&s.admin, c)).await.0.is_success(),
            "admin {} {}",
            c.0,
            c.1
        );
    }
    // Nothing a viewer tried was applied.
    let (_, list) = s.get("/api/indicators").await;
    assert_eq!(list["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn token_creation_validates_and_the_audit_log_records_every_change() {
    let s = TestServer::start().await;
    for (body, field) in [
        (json!({"name": "x", "role": "root"}), "role"),
        (json!({"name": "has space", "role": "viewer"}), "name"),
        (json!({"role": "viewer"}), "name"),
    ] {
        let (status, answer) = s.post("/api/tokens", body).await;
        assert_eq!(
            (status, error_of(&answer).2),
            (StatusCode::BAD_REQUEST, Some(field))
        );
    }
    let analyst = s.token("soc-bot", "analyst").await;
    assert!(analyst.starts_with("nwt_"));
    let (status, body) = s
        .post("/api/tokens", json!({"name": "soc-bot", "role": "viewer"}))
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (StatusCode::CONFLICT, "Conflict")
    );

    let (status, _) = s
        .send(
            s.req(Method::POST, "/api/indicators", Some(&analyst))
                .json(&json!({"indicatorValue": "203.0.113.5", "action": "block", "title": "c2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.post("/api/groups", json!({"name": "kiosks", "mode": "audit"}))
        .await;
    s.send(
        s.req(Method::PATCH, "/api/settings", Some(&s.admin))
            .json(&json!({"customNetworkIndicators": false})),
    )
    .await;

    let (status, log) = s.get("/api/audit").await;
    assert_eq!(status, StatusCode::OK);
    let entries: Vec<(String, String, String)> = log["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["target"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expect = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        entries[..4],
        [
            expect("admin", "settings.update", "settings"),
            expect("admin", "group.create", "kiosks"),
            expect("soc-bot", "indicator.create", "203.0.113.5"),
            expect("admin", "token.create", "soc-bot"),
        ]
    );
    assert!(
        log["value"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("\"customNetworkIndicators\":false")
    );
    let (_, only) = s.get("/api/audit?target=203.0.113.5").await;
    assert_eq!(only["value"].as_array().unwrap().len(), 1);
}

/// The id of the token named `name`.
async fn token_id(s: &TestServer, name: &str) -> String {
    let (_, tokens) = s.get("/api/tokens").await;
    tokens["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Nobody locks the admins out by mistake: your own token and the last live admin token are
/// refused with 409 and a reason, unless `force=true` says it is meant.
#[tokio::test]
async fn the_last_admin_token_and_your_own_are_revoked_only_with_force() {
    let s = TestServer::start().await;
    let admin = token_id(&s, "admin").await;
    let revoke = |token: &str, id: &str, force: bool| {
        let path = if force {
            format!("/api/tokens/{id}?force=true")
        } else {
            format!("/api/tokens/{id}")
        };
        s.req(Method::DELETE, &path, Some(token))
    };

    let (status, body) = s.send(revoke(&s.admin, &admin, false)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        error_of(&body).1.contains("the token you are using"),
        "{body}"
    );

    // Two admins revoking each other at the same moment: each passes the own-token check,
    // and the store's transaction lets only one revocation through, so an admin remains.
    for round in 0..5 {
        let ops_name = format!("ops{round}");
        let ops = s.token_with(&ops_name, "admin", &s.admin).await;
        let ops_id = token_id(&s, &ops_name).await;
        let (a, b) = tokio::join!(
            s.send(revoke(&s.admin, &ops_id, false)),
            s.send(revoke(&ops, &admin, false)),
        );
        let statuses = [a.0, b.0];
        assert!(
            statuses.contains(&StatusCode::OK)
                && statuses.iter().all(|st| [
                    StatusCode::OK,
                    StatusCode::CONFLICT,
                    StatusCode::UNAUTHORIZED
                ]
                .contains(st))
                && statuses != [StatusCode::OK, StatusCode::OK],
            "{a:?} {b:?}"
        );
        if b.0 == StatusCode::OK {
            // `admin` went: carry on with `ops` as the admin of the next round.
            return last_admin_goes_only_with_force(&s, &ops, &ops_id, &revoke).await;
        }
        let (status, _) = s.send(s.req(Method::GET, "/api/tokens", Some(&ops))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    last_admin_goes_only_with_force(&s, &s.admin.clone(), &admin, &revoke).await;
}

async fn last_admin_goes_only_with_force(
    s: &TestServer,
    token: &str,
    id: &str,
    revoke: &impl Fn(&str, &str, bool) -> reqwest::RequestBuilder,
) {
    let (status, body) = s.send(revoke(token, id, false)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = s.send(revoke(token, id, true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = s.send(s.req(Method::GET, "/api/tokens", Some(token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A source that keeps presenting bad credentials is refused with 429 and `Retry-After`
/// before its credentials are looked at, on the API, the agent routes and the sign-in alike.
#[tokio::test]
async fn a_source_that_keeps_failing_to_authenticate_gets_429() {
    let s = TestServer::start().await;
    let bad = "Bearer nwt_0000000000000000000000000000000000000000000000000000000000000000";
    let burst = netward_server::api::throttle::BURST;
    for i in 0..burst {
        let path = if i % 2 == 0 {
            "/api/indicators"
        } else {
            "/api/agent/policy"
        };
        let resp = s
            .req(Method::GET, path, None)
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let resp = s
        .req(Method::GET, "/api/indicators", Some(&s.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_of(&body).0, "TooManyRequests");
    // The budget refills: after the wait, the admin token works again.
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let (status, _) = s.get("/api/indicators").await;
    assert_eq!(status, StatusCode::OK);
}
