//! `/api/indicators` over real HTTP: submit, upsert, list, show, delete, bad input.

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
async fn submit_show_update_list_and_delete_round_trip() {
    let s = TestServer::start().await;
    let (status, created) = s
        .post(
            "/api/indicators",
            json!({
                "indicatorValue": "2001:0db8:0:0:0:0:0:1", "indicatorType": "IpAddress", "action": "AlertAndBlock",
                "title": "hirokazu-test-access", "description": "field report", "severity": "High",
                "expirationTime": "2099-01-01T00:00:00.1234567Z", "recommendedActions": "isolate",
                "rbacGroupNames": [], "externalId": "case-1"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["indicatorValue"], "2001:db8::1");
    assert_eq!(created["action"], "Block");
    assert_eq!(created["generateAlert"], true);
    assert_eq!(created["severity"], "High");
    assert_eq!(created["expirationTime"], "2099-01-01T00:00:00Z");
    assert_eq!(created["externalId"], "case-1");
    assert_eq!(created["createdBy"], "admin");
    assert_eq!(created["sourceType"], "ApiToken");
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, mut shown) = s.get(&format!("/api/indicators/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let enforcement = shown
        .as_object_mut()
        .unwrap()
        .remove("enforcement")
        .unwrap();
    assert_eq!(
        enforcement,
        json!({"inScope": 0, "enforced": 0, "notEnforced": []}),
        "no device is enrolled"
    );
    assert_eq!(shown, created);

    // The same address in another textual form updates the same indicator.
    let (status, updated) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "2001:db8:0::1/128", "action": "Audit", "title": "second"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["action"], "Audit");
    assert_eq!(updated["generateAlert"], true, "Audit alerts by default");
    assert_eq!(
        updated["creationTimeDateTimeUtc"],
        created["creationTimeDateTimeUtc"]
    );

    let (_, list) = s.get("/api/indicators").await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);

    let del = s
        .send(s.req(
            Method::DELETE,
            &format!("/api/indicators/{id}"),
            Some(&s.admin),
        ))
        .await;
    assert_eq!(del, (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = s
        .send(s.req(
            Method::DELETE,
            &format!("/api/indicators/{id}"),
            Some(&s.admin),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body).0, "NotFound");
    assert_eq!(
        s.get(&format!("/api/indicators/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.get("/api/indicators/not-a-number").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn list_filters_by_value_action_group_and_source_and_pages() {
    let s = TestServer::start().await;
    assert_eq!(
        s.post("/api/groups", json!({"name": "servers"})).await.0,
        StatusCode::CREATED
    );
    let feed = s.token("feed-bot", "analyst").await;
    for (value, action, groups) in [
        ("192.0.2.1", "Block", json!([])),
        ("192.0.2.2", "Allowed", json!(["servers"])),
        ("198.51.100.0/24", "Audit", json!(["servers"])),
    ] {
        let (status, body) = s
            .post("/api/indicators", json!({"indicatorValue": value, "action": action, "title": value, "rbacGroupNames": groups}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = s
        .send(
            s.req(Method::POST, "/api/indicators", Some(&feed)).json(
                &json!({"indicatorValue": "203.0.113.7", "action": "block", "title": "feed"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let values = |body: Value| -> Vec<String> {
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["indicatorValue"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        values(s.get("/api/indicators?action=Block").await.1),
        ["192.0.2.1", "203.0.113.7"]
    );
    assert_eq!(
        values(s.get("/api/indicators?action=allow").await.1),
        ["192.0.2.2"]
    );
    assert_eq!(
        values(s.get("/api/indicators?group=servers").await.1),
        ["192.0.2.2", "198.51.100.0/24"]
    );
    assert_eq!(
        values(s.get("/api/indicators?source=feed-bot").await.1),
        ["203.0.113.7"]
    );
    assert_eq!(
        values(
            s.get("/api/indicators?value=%3A%3Affff%3A192.0.2.1")
                .await
                .1
        ),
        ["192.0.2.1"]
    );
    assert_eq!(
        values(s.get("/api/indicators?$top=2&$skip=1").await.1),
        ["192.0.2.2", "198.51.100.0/24"]
    );
    assert_eq!(values(s.get("/api/indicators?$top=0").await.1).len(), 0);
}

#[tokio::test]
async fn every_kind_of_bad_input_gets_a_400_naming_the_field() {
    let s = TestServer::start().await;
    let ok = json!({"indicatorValue": "192.0.2.1", "action": "Block", "title": "t"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with("indicatorValue", json!("10.1.2.3/24")),
            "indicatorValue",
            "10.1.2.0/24",
        ),
        (
            with("indicatorValue", json!("example.com")),
            "indicatorValue",
            "not an IP address",
        ),
        (
            with("indicatorValue", json!("1.2.3.4/40")),
            "indicatorValue",
            "prefix",
        ),
        (
            with("indicatorValue", json!("")),
            "indicatorValue",
            "required",
        ),
        (
            with("indicatorValue", json!(12)),
            "indicatorValue",
            "invalid type",
        ),
        (
            with("indicatorType", json!("Url")),
            "indicatorType",
            "not supported",
        ),
        (with("action", json!("Warn")), "action", "prompt"),
        (
            with("action", json!("BlockAndRemediate")),
            "action",
            "remediate",
        ),
        (with("action", json!("Explode")), "action", "not an action"),
        (with("title", json!("  ")), "title", "required"),
        (
            with("title", json!("x".repeat(501))),
            "title",
            "longer than 500",
        ),
        (
            with("severity", json!("Critical")),
            "severity",
            "not a severity",
        ),
        (
            with("expirationTime", json!("tomorrow")),
            "expirationTime",
            "RFC 3339",
        ),
        (
            with("expirationTime", json!("2001-01-01T00:00:00Z")),
            "expirationTime",
            "not in the future",
        ),
        (
            with("generateAlert", json!("maybe")),
            "generateAlert",
            "true or false",
        ),
        (
            with("rbacGroupNames", json!(["no-such-group"])),
            "rbacGroupNames",
            "no device group",
        ),
        (
            with("rbacGroupNames", json!("servers")),
            "rbacGroupNames",
            "invalid type",
        ),
        (with("bogus", json!(1)), "bogus", "unknown field"),
        (
            json!({"action": "Block", "title": "t"}),
            "indicatorValue",
            "required",
        ),
        (json!([1, 2]), "body", "JSON object"),
    ];
    for (body, field, fragment) in cases {
        let (status, answer) = s.post("/api/indicators", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        let (code, message, target) = error_of(&answer);
        assert_eq!(
            (code, target),
            ("InvalidInput", Some(field)),
            "{body} -> {answer}"
        );
        assert!(
            message.contains(fragment),
            "{body}: `{message}` lacks `{fragment}`"
        );
    }
    let (status, answer) = s
        .send(
            s.req(Method::POST, "/api/indicators", Some(&s.admin))
                .header("content-type", "application/json")
                .body("{\"indicatorValue\": "),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&answer).2, Some("body"));
    for (query, field) in [
        ("$top=abc", "$top"),
        ("$top=10001", "$top"),
        ("$skip=-1", "$skip"),
        ("color=red", "color"),
        ("value=nope", "value"),
        ("action=Warn", "action"),
        ("includeExpired=perhaps", "includeExpired"),
    ] {
        let (status, answer) = s.get(&format!("/api/indicators?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query} -> {answer}");
        assert_eq!(error_of(&answer).2, Some(field), "{query}");
    }
    // Nothing above was applied.
    assert_eq!(
        s.get("/api/indicators").await.1["value"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let s = TestServer::start_with_limit(4096).await;
    let big = json!({"indicatorValue": "192.0.2.1", "action": "Block", "title": "t", "description": "x".repeat(8192)});
    let (status, body) = s.post("/api/indicators", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(&body).0, "PayloadTooLarge");
    let list = "192.0.2.1\n".repeat(1000);
    let (status, _) = s
        .send(
            s.req(
                Method::POST,
                "/api/indicators/import?action=block&title=t",
                Some(&s.admin),
            )
            .header("content-type", "text/plain")
            .body(list),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        s.get("/api/indicators").await.1["value"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn an_indicator_survives_a_server_restart() {
    let mut s = TestServer::start().await;
    let id = s.block("203.0.113.9").await;
    let again = s.restart().await;
    assert_eq!(again, None, "no second admin token on an existing store");
    let (status, body) = s.get(&format!("/api/indicators/{id}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the old admin token still works after restart"
    );
    assert_eq!(body["indicatorValue"], "203.0.113.9");
}

#[tokio::test]
async fn odata_filters_are_read_as_mde_clients_send_them() {
    let s = TestServer::start().await;
    assert_eq!(
        s.post("/api/groups", json!({"name": "servers"})).await.0,
        StatusCode::CREATED
    );
    for body in [
        json!({"indicatorValue": "203.0.113.7", "action": "AlertAndBlock", "title": "c2",
               "expirationTime": "2099-06-01T00:00:00Z"}),
        json!({"indicatorValue": "198.51.100.9", "action": "Block", "title": "scanner",
               "generateAlert": false, "expirationTime": "2098-01-01T00:00:00Z"}),
        json!({"indicatorValue": "2001:db8::1", "action": "Audit", "title": "x",
               "generateAlert": true, "rbacGroupNames": ["servers"]}),
        json!({"indicatorValue": "192.0.2.1", "action": "Allowed", "title": "x"}),
    ] {
        let (status, answer) = s.post("/api/indicators", body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let server = &s;
    let found = |query: &'static str| async move {
        let (status, body) = server.get(&format!("/api/indicators?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query} -> {body}");
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["indicatorValue"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    for (query, expected) in [
        (
            "$filter=indicatorValue+eq+'203.0.113.7'",
            &["203.0.113.7"][..],
        ),
        (
            "$filter=indicatorValue%20eq%20%272001%3A0db8%3A%3A1%27",
            &["2001:db8::1"],
        ),
        ("$filter=action+eq+'AlertAndBlock'", &["203.0.113.7"]),
        (
            "$filter=action+eq+'Block'",
            &["203.0.113.7", "198.51.100.9"],
        ),
        (
            "$filter=title+eq+'x'+and+generateAlert+eq+true",
            &["2001:db8::1"],
        ),
        (
            "$filter=creationTimeDateTimeUtc+ge+2026-01-01T00:00:00Z",
            &["203.0.113.7", "198.51.100.9", "2001:db8::1", "192.0.2.1"],
        ),
        (
            "$filter=expirationTime+ge+2098-06-01T00:00:00Z+and+expirationTime+lt+2100-01-01T00:00:00Z",
            &["203.0.113.7"],
        ),
        (
            "$filter=expirationTime+eq+null",
            &["2001:db8::1", "192.0.2.1"],
        ),
        (
            "$filter=(action+eq+'Allowed'+or+action+eq+'audit')+and+title+eq+'x'",
            &["2001:db8::1", "192.0.2.1"],
        ),
        (
            "$filter=startswith(indicatorValue,'19')",
            &["198.51.100.9", "192.0.2.1"],
        ),
        (
            "$filter=startswith(indicatorValue,'19')&$orderby=indicatorValue",
            &["192.0.2.1", "198.51.100.9"],
        ),
        ("$filter=rbacGroupNames+eq+'servers'", &["2001:db8::1"]),
        (
            "action=Block&$filter=generateAlert+eq+false",
            &["198.51.100.9"],
        ),
        (
            "$orderby=creationTimeDateTimeUtc+desc,id+desc&$top=2",
            &["192.0.2.1", "2001:db8::1"],
        ),
    ] {
        assert_eq!(found(query).await, expected, "{query}");
    }
    for (query, target, fragment) in [
        (
            "$filter=title+eq+'x'+and+foo+eq+1",
            "$filter",
            "`foo` at 18 is not a field you can filter on",
        ),
        (
            "$filter=action+eq+AlertAndBlock",
            "$filter",
            "`AlertAndBlock` at 11 is not a value",
        ),
        (
            "$filter=action+gt+'Block'",
            "$filter",
            "`gt` at 8 does not apply to `action`",
        ),
        (
            "$orderby=colour",
            "$orderby",
            "`colour` at 1 is not a field",
        ),
    ] {
        let (status, answer) = s.get(&format!("/api/indicators?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query} -> {answer}");
        let (code, message, at) = error_of(&answer);
        assert_eq!((code, at), ("InvalidInput", Some(target)), "{query}");
        assert!(message.contains(fragment), "{query}: `{message}`");
    }
}
