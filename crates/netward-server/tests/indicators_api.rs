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
    assert_eq!(
        created["action"], "AlertAndBlock",
        "shown back as it was sent"
    );
    assert_eq!(created["generateAlert"], true);
    assert_eq!(created["severity"], "High");
    assert_eq!(created["expirationTime"], "2099-01-01T00:00:00Z");
    assert_eq!(created["externalID"], "case-1");
    assert_eq!(created["createdBy"], "admin");
    assert_eq!(created["sourceType"], "AadApp");
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
            with("rbacGroupNames", json!(5)),
            "rbacGroupNames",
            "comma-separated",
        ),
        (
            with("category", json!([1])),
            "category",
            "a number or a string",
        ),
        (with("id", json!("abc")), "id", "not an indicator id"),
        (
            with("rbacGroupIds", json!(["7"])),
            "rbacGroupIds",
            "read-only",
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
        // MDE's codes: a body serde cannot read is `InvalidRequestBody`, a bad value
        // `InvalidInput`; the target names the field either way.
        let unreadable = [
            "invalid type",
            "unknown field",
            "JSON object",
            "comma-separated",
            "a number or a string",
            "true or false",
        ]
        .iter()
        .any(|f| message.contains(f));
        let expected = if unreadable {
            "InvalidRequestBody"
        } else {
            "InvalidInput"
        };
        assert_eq!(
            (code, target),
            (expected, Some(field)),
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
        ("$expand=x", "$expand"),
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

/// Defect 9: a body that failed the typed read was read again through `serde_json::Value`,
/// where the last of two equal keys won, so `"action":"Allowed","action":"Block"` was stored
/// as a block. A key given twice is now refused with the key named, here and in an import.
#[tokio::test]
async fn a_key_given_twice_is_refused_and_named() {
    let s = TestServer::start().await;
    let post = |body: &'static str| {
        s.req(Method::POST, "/api/indicators", Some(&s.admin))
            .header("content-type", "application/json")
            .body(body)
    };
    for (body, field) in [
        (
            r#"{"indicatorValue":"192.0.2.1","action":"Allowed","action":"Block","title":"t"}"#,
            "action",
        ),
        (
            r#"{"indicatorValue":"192.0.2.1","action":"Block","title":"t","createdBy":{"a":1,"a":2}}"#,
            "createdBy.a",
        ),
    ] {
        let (status, answer) = s.send(post(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        let (code, message, target) = error_of(&answer);
        assert_eq!(
            (code, target),
            ("InvalidRequestBody", Some(field)),
            "{answer}"
        );
        assert!(message.contains("is given twice"), "{message}");
    }
    let (status, answer) = s
        .send(
            s.req(Method::POST, "/api/indicators/import", Some(&s.admin))
                .header("content-type", "application/json")
                .body(
                    r#"{"Indicators":[
                        {"indicatorValue":"192.0.2.2","action":"Allowed","title":"t","action":"Block"},
                        {"indicatorValue":"192.0.2.3","action":"Block","title":"t"}]}"#,
                ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["value"].as_array().unwrap();
    assert_eq!(results[0]["isFailed"], json!(true), "{answer}");
    assert!(
        results[0]["failureReason"]
            .as_str()
            .unwrap()
            .contains("`action` is given twice"),
        "{answer}"
    );
    assert_eq!(results[1]["isFailed"], json!(false), "{answer}");
    // Only the item without a duplicate was stored.
    let stored = s.get("/api/indicators").await.1;
    let values: Vec<&str> = stored["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["indicatorValue"].as_str())
        .collect();
    assert_eq!(values, ["192.0.2.3"]);
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

/// Issue 16, item 2: what OpenCTI's Defender Intel connector sends on create and on update
/// (read-only `lastUpdateTime`, `id` on update), and MDE's `educateUrl`, are accepted; the `id`
/// is checked; a truly unknown field is refused in MDE's error shape.
#[tokio::test]
async fn opencti_create_and_update_bodies_are_accepted() {
    let s = TestServer::start().await;
    let body = json!({
        "indicatorType": "IpAddress", "indicatorValue": "203.0.113.50",
        "application": "OpenCTI Microsoft Defender Intel", "action": "Block",
        "title": "203.0.113.50", "description": "from OpenCTI",
        "externalId": "ipv4-addr--0a1b2c3d", "lastUpdateTime": "2026-11-30T08:15:02.123Z",
        "expirationTime": "2099-06-01T10:00:00.123456+00:00", "severity": "High",
        "generateAlert": true
    });
    let (status, created) = s.post("/api/indicators", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["application"], "OpenCTI Microsoft Defender Intel");
    assert_eq!(created["externalID"], "ipv4-addr--0a1b2c3d");
    assert_ne!(
        created["lastUpdateTime"], "2026-11-30T08:15:02.123Z",
        "read-only: the server's time, not the client's"
    );

    // The update: the same body plus the Defender id, as a string.
    let mut update = body.clone();
    update["id"] = json!(id);
    update["severity"] = json!("Low");
    update["educateUrl"] = json!("https://intranet.example/why-blocked");
    let (status, updated) = s.post("/api/indicators", update.clone()).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["severity"], "Low");
    assert_eq!(
        updated["educateUrl"],
        "https://intranet.example/why-blocked"
    );

    // The restore path sends back what it read, read-only fields included.
    let (_, mut read) = s.get(&format!("/api/indicators/{id}")).await;
    read.as_object_mut().unwrap().remove("enforcement");
    let (status, restored) = s.post("/api/indicators", read.clone()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a whole entity is a valid body: {restored}"
    );
    assert_eq!(restored["id"], id.as_str());

    // An id that is not this value's indicator is refused by name, and nothing changes.
    let other = s.block("203.0.113.51").await;
    update["id"] = json!(other);
    let (status, answer) = s.post("/api/indicators", update.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(error_of(&answer).2, Some("id"));
    update["indicatorValue"] = json!("203.0.113.52");
    update["id"] = json!(id);
    let (status, answer) = s.post("/api/indicators", update.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        error_of(&answer).1.contains("keys indicators by value"),
        "{answer}"
    );
    // An id that no longer exists, for a new value, creates it (a stale id after a delete).
    update["id"] = json!("999999");
    let (status, fresh) = s.post("/api/indicators", update).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_ne!(fresh["id"], "999999");

    let mut bogus = body.clone();
    bogus["colour"] = json!("red");
    let (status, answer) = s.post("/api/indicators", bogus).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message, target) = error_of(&answer);
    assert_eq!((code, target), ("InvalidRequestBody", Some("colour")));
    assert!(message.contains("unknown field"), "{answer}");
}

/// Issue 16, item 3: `POST /api/indicators/BatchDelete` as OpenCTI sends it.
#[tokio::test]
async fn batch_delete_removes_all_or_none() {
    let s = TestServer::start().await;
    let a = s.block("192.0.2.61").await;
    let b = s.block("192.0.2.62").await;
    let c = s.block("192.0.2.63").await;
    let count = |body: &Value| body["value"].as_array().unwrap().len();

    // An unknown id: 404 naming it, and nothing deleted.
    let (status, answer) = s
        .post(
            "/api/indicators/BatchDelete",
            json!({"IndicatorIds": [a, "424242"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(error_of(&answer).1.contains("424242"), "{answer}");
    assert_eq!(count(&s.get("/api/indicators").await.1), 3);

    for (body, target) in [
        (json!({"IndicatorIds": []}), "IndicatorIds"),
        (json!({}), "IndicatorIds"),
        (json!({"IndicatorIds": ["x"]}), "IndicatorIds[0]"),
        (json!({"IndicatorIds": ["1"], "more": 1}), "more"),
    ] {
        let (status, answer) = s.post("/api/indicators/BatchDelete", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert_eq!(error_of(&answer).2, Some(target), "{body} -> {answer}");
    }
    let viewer = s.token("reader", "viewer").await;
    let (status, _) = s
        .send(
            s.req(Method::POST, "/api/indicators/BatchDelete", Some(&viewer))
                .json(&json!({"IndicatorIds": [a]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Strings and numbers, a repeat: 204, and one summary audit entry naming both values.
    let b_number: i64 = b.parse().unwrap();
    let (status, answer) = s
        .post(
            "/api/indicators/BatchDelete",
            json!({"IndicatorIds": [a, b_number, a]}),
        )
        .await;
    assert_eq!((status, answer), (StatusCode::NO_CONTENT, Value::Null));
    let (_, left) = s.get("/api/indicators").await;
    assert_eq!(left["value"][0]["id"], c.as_str());
    assert_eq!(count(&left), 1);
    let (_, audit) = s.get("/api/audit?target=indicators").await;
    assert_eq!(audit["value"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["value"][0]["action"], "indicator.batch-delete");
    let detail: Value =
        serde_json::from_str(audit["value"][0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["values"], json!(["192.0.2.61", "192.0.2.62"]));
    assert_eq!(detail["deleted"], 2);
}

/// Issue 16, item 5: the entity in MDE's types, as `mde-client` reads it into typed columns,
/// and `@odata.context` on lists.
#[tokio::test]
async fn entities_have_mde_types_and_lists_an_odata_context() {
    let s = TestServer::start().await;
    assert_eq!(
        s.post("/api/groups", json!({"name": "servers"})).await.0,
        StatusCode::CREATED
    );
    let (status, plain) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "192.0.2.70", "action": "Block", "title": "t"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(plain["id"].is_string());
    assert_eq!(plain["category"], Value::Null);
    assert_eq!(plain["categoryName"], "");
    assert_eq!(plain["mitreTechniques"], json!([]));
    assert_eq!(plain["rbacGroupIds"], json!([]));
    assert_eq!(plain["createdBySource"], "admin");
    assert_eq!(plain["sourceType"], "AadApp");
    assert_eq!(plain["externalID"], "");
    assert_eq!(plain["educateUrl"], "");
    assert_eq!(plain["expired"], false, "netward's extras stay");

    let (status, full) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "192.0.2.71", "action": "Audit", "title": "t",
                   "category": "6", "mitreTechniques": "T1071, T1571",
                   "rbacGroupNames": ["servers"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!(full["category"], 6);
    assert_eq!(full["mitreTechniques"], json!(["T1071", "T1571"]));
    assert_eq!(
        full["rbacGroupIds"],
        json!([2]),
        "the group's number: the default group is 1, servers came next"
    );
    let (status, listed) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "192.0.2.72", "action": "Audit", "title": "t",
                   "category": 2, "mitreTechniques": ["T1059"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["category"], 2);

    let (status, list) = s.get("/api/indicators").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["@odata.context"],
        format!("{}/api/$metadata#Indicators", s.base)
    );
    assert_eq!(list["value"].as_array().unwrap().len(), 3);
}

/// Issue 16, item 6: MDE's legacy `AlertAndBlock` and `Alert` keep their meaning and come back
/// as they were sent; `Alert` with `generateAlert: false` is no longer refused.
#[tokio::test]
async fn legacy_action_names_come_back_as_they_were_sent() {
    let s = TestServer::start().await;
    for (value, action, enforced) in [
        ("192.0.2.81", "AlertAndBlock", "block"),
        ("192.0.2.82", "Alert", "audit"),
    ] {
        let (status, body) = s
            .post(
                "/api/indicators",
                json!({"indicatorValue": value, "action": action, "title": "t", "generateAlert": false}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["action"], action);
        assert_eq!(body["generateAlert"], true, "the name means: with an alert");
        let (_, policy) = s.get("/api/groups/default/policy").await;
        assert!(
            policy[enforced]
                .as_array()
                .unwrap()
                .contains(&json!(format!("{value}/32"))),
            "{action} is enforced as {enforced}: {policy}"
        );
    }
    let (_, list) = s.get("/api/indicators?action=Block").await;
    assert_eq!(list["value"][0]["action"], "AlertAndBlock");
    let (_, list) = s.get("/api/indicators?action=Audit").await;
    assert_eq!(list["value"][0]["action"], "Alert");
}

/// Issue 16, item 7: `misp2defender` lists with a trailing slash; every route takes one.
#[tokio::test]
async fn every_route_takes_a_trailing_slash() {
    let s = TestServer::start().await;
    let id = s.block("192.0.2.90").await;
    let (status, list) = s.get("/api/indicators/?$skip=0").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"][0]["id"], id.as_str());
    assert_eq!(
        s.get(&format!("/api/indicators/{id}/")).await.0,
        StatusCode::OK
    );
    assert_eq!(s.get("/api/groups/").await.0, StatusCode::OK);
    assert_eq!(s.get("/api/openapi.json/").await.0, StatusCode::OK);
    let (status, _) = s
        .post(
            "/api/indicators/",
            json!({"indicatorValue": "192.0.2.91", "action": "Block", "title": "t"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let health = s
        .http
        .get(format!("{}/healthz/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let login = s
        .http
        .get(format!("{}/login/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK, "the console too");
    assert_eq!(
        s.get("/api/nothing-here/").await.0,
        StatusCode::NOT_FOUND,
        "an unknown route stays unknown"
    );
}

/// Issue 16, item 8: `mde-client` sends `pageSize`; MDE ignores parameters it does not know,
/// so the indicator routes do too. Other routes still refuse them.
#[tokio::test]
async fn unknown_query_parameters_are_ignored_on_the_indicator_routes_only() {
    let s = TestServer::start().await;
    let (status, body) = s
        .post(
            "/api/indicators?pageSize=10000&api-version=1",
            json!({"indicatorValue": "192.0.2.95", "action": "Block", "title": "t"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, list) = s.get("/api/indicators?pageSize=10000&$top=1").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let (status, body) = s
        .post(
            "/api/indicators/import?pageSize=5",
            json!({"Indicators": [{"indicatorValue": "192.0.2.96", "action": "Block", "title": "t"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = s
        .post(
            "/api/indicators/BatchDelete?pageSize=5",
            json!({"IndicatorIds": [body["value"][0]["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // An OData option netward does not know changes the answer's meaning: still refused.
    let (status, body) = s.get("/api/indicators?$expand=all").await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("$expand"))
    );
    let (status, body) = s.get("/api/audit?pageSize=1").await;
    assert_eq!(
        (status, error_of(&body).2),
        (StatusCode::BAD_REQUEST, Some("pageSize"))
    );
}

/// Issue 16, item 9: `rbacGroupNames` as MDE's reference types it, one comma-separated string.
#[tokio::test]
async fn rbac_group_names_may_be_one_comma_separated_string() {
    let s = TestServer::start().await;
    for g in ["servers", "laptops"] {
        assert_eq!(
            s.post("/api/groups", json!({"name": g})).await.0,
            StatusCode::CREATED
        );
    }
    let (status, body) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "192.0.2.99", "action": "Block", "title": "t",
                   "rbacGroupNames": "servers, laptops"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rbacGroupNames"], json!(["laptops", "servers"]));
    let (status, body) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "192.0.2.98", "action": "Block", "title": "t",
                   "rbacGroupNames": ["servers"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rbacGroupNames"], json!(["servers"]));
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
        // The name as submitted and shown: `Block` is not the one sent as `AlertAndBlock`.
        ("$filter=action+eq+'Block'", &["198.51.100.9"]),
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

/// A store another process holds locked answers 503 with the reason and `Retry-After`, not
/// a bare 500, and nothing is half-written: once the lock goes, the same request succeeds.
#[tokio::test]
async fn a_locked_store_answers_503_with_the_reason_and_retry_after() {
    let s = TestServer::start().await;
    let rival = rusqlite::Connection::open(s.dir.path().join("netward.db")).unwrap();
    rival.execute_batch("BEGIN IMMEDIATE").unwrap();
    let submit = || {
        s.req(Method::POST, "/api/indicators", Some(&s.admin))
            .json(&json!({"indicatorValue": "192.0.2.77", "action": "Block", "title": "t"}))
    };
    let resp = submit().send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "5");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_of(&body).0, "StoreUnavailable");
    assert!(error_of(&body).1.contains("locked"), "{body}");

    rival.execute_batch("ROLLBACK").unwrap();
    let (status, body) = s.get("/api/indicators?indicatorValue=192.0.2.77").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().unwrap().len(), 0, "{body}");
    let (status, body) = s.send(submit()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Titles and descriptions are shown on admins' terminals and pages: escape sequences, NUL and
/// bidi overrides are refused by field; a description keeps its newlines.
#[tokio::test]
async fn control_characters_in_indicator_text_are_refused_by_field() {
    let s = TestServer::start().await;
    for (field, value) in [
        ("title", "c2\u{1b}[2J"),
        ("title", "two\nlines"),
        ("description", "nul\u{0}byte"),
        ("recommendedActions", "gpj.\u{202e}exe"),
        ("externalId", "x\ty"),
    ] {
        let mut body = json!({"indicatorValue": "192.0.2.80", "action": "Block", "title": "t"});
        body[field] = json!(value);
        let (status, answer) = s.post("/api/indicators", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        let (_, message, target) = error_of(&answer);
        assert_eq!(target, Some(field), "{answer}");
        assert!(message.contains("control character"), "{answer}");
    }
    let (status, answer) = s
        .post(
            "/api/indicators",
            json!({"indicatorValue": "192.0.2.80", "action": "Block", "title": "t",
                   "description": "line one\nline two"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
