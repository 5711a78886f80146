//! Issue 11, the server's half: an import is one change with one summary audit entry and its
//! id on each indicator; the list searches every indicator (containment, title, a total
//! count); deletes by filter and MDE's BatchDelete are one change each.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use common::{TestServer, error_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A plain list of `n` addresses under 10.`first`.0.0/16.. as one import; the answer and the
/// import's id from its header.
async fn import_list(s: &TestServer, lines: &str, title: &str) -> (Value, String) {
    let resp = s
        .req(
            Method::POST,
            &format!("/api/indicators/import?action=Block&title={title}"),
            Some(&s.admin),
        )
        .header("content-type", "text/plain")
        .body(lines.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let id = resp
        .headers()
        .get("x-netward-import-id")
        .expect("the import names its id")
        .to_str()
        .unwrap()
        .to_owned();
    (resp.json().await.unwrap(), id)
}

fn addresses(prefix: &str, n: u32) -> String {
    (0..n)
        .map(|i| format!("{prefix}.{}.{}\n", i / 250, i % 250 + 1))
        .collect()
}

async fn audit_entries(s: &TestServer) -> Vec<Value> {
    let (status, log) = s.get("/api/audit?$top=1000").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log["value"].as_array().unwrap().clone()
}

async fn enroll(s: &TestServer) -> String {
    let (_, t) = s
        .post("/api/enroll-tokens", json!({"group": "default"}))
        .await;
    let facts = json!({"hostname": "ep1", "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": ["192.0.2.50"]});
    let (status, d) = s
        .send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .json(&json!({"token": t["token"], "facts": facts})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    d["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_import_is_one_audit_entry_one_version_and_its_indicators_name_it() {
    let s = TestServer::start().await;
    let secret = enroll(&s).await;
    let (_, snap) = s
        .send(s.req(Method::GET, "/api/agent/policy", Some(&secret)))
        .await;
    let v0 = snap["version"].as_u64().unwrap();
    let entries_before = audit_entries(&s).await.len();

    let mut lines = addresses("10.20", 1500);
    lines.push_str("not-an-address\n");
    let (answer, import_id) = import_list(&s, &lines, "feed").await;
    let results = answer["value"].as_array().unwrap();
    assert_eq!(results.len(), 1501);
    assert_eq!(results[1500]["isFailed"], true, "a bad row fails alone");
    assert_eq!(results[1500]["line"], 1501);
    assert!(results[..1500].iter().all(|r| r["isFailed"] == false));

    let log = audit_entries(&s).await;
    assert_eq!(
        log.len(),
        entries_before + 1,
        "one entry for 1,500 indicators"
    );
    assert_eq!(log[0]["action"], "indicator.import");
    assert_eq!(log[0]["target"], format!("import {import_id}"));
    let detail: Value = serde_json::from_str(log[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            &detail["created"],
            &detail["failed"],
            &detail["items"],
            &detail["format"]
        ),
        (&json!(1500), &json!(1), &json!(1501), &json!("list"))
    );

    // Each indicator names its import, and the list filters by it.
    let one = results[3]["id"].as_str().unwrap();
    let (_, shown) = s.get(&format!("/api/indicators/{one}")).await;
    assert_eq!(shown["importId"], import_id.as_str());
    let (_, page) = s
        .get(&format!(
            "/api/indicators?importId={import_id}&$top=10&$count=true"
        ))
        .await;
    assert_eq!(page["@odata.count"], 1500);
    let (status, body) = s.get("/api/indicators?importId=first").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).2, Some("importId"));

    // An agent behind the import gets it whole, as one version: the import's id.
    let (_, delta) = s
        .send(s.req(
            Method::GET,
            &format!("/api/agent/policy?since={v0}"),
            Some(&secret),
        ))
        .await;
    assert_eq!(delta["full"], false, "a small import is a delta");
    assert_eq!(delta["upserts"].as_array().unwrap().len(), 1500);
    assert_eq!(delta["version"].to_string(), import_id);

    // A second import of some of the same values updates them and names the newer import.
    let (_, second) = import_list(&s, &addresses("10.20", 10), "feed2").await;
    let (_, again) = s.get(&format!("/api/indicators/{one}")).await;
    assert_eq!(again["importId"], second.as_str());
    assert_eq!(again["title"], "feed2");
}

#[tokio::test]
async fn the_list_searches_every_indicator_and_counts_them() {
    let s = TestServer::start().await;
    import_list(&s, &addresses("10.30", 12_000), "bulk").await;
    for value in [
        "203.0.113.0/24",
        "203.0.113.7",
        "203.0.112.0/23",
        "2001:db8::/48",
    ] {
        s.block(value).await;
    }
    s.post(
        "/api/indicators",
        json!({"indicatorValue": "198.51.100.9", "action": "Audit", "title": "Cobalt Strike beacon"}),
    )
    .await;
    let values = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["indicatorValue"].as_str().unwrap().to_owned())
            .collect();
        out.sort();
        out
    };
    // A page of 10,000 and the count of them all.
    let (_, page) = s.get("/api/indicators?$count=true").await;
    assert_eq!(page["value"].as_array().unwrap().len(), 10_000);
    assert_eq!(page["@odata.count"], 12_005);
    let (_, plain) = s.get("/api/indicators?$top=1").await;
    assert!(
        plain.get("@odata.count").is_none(),
        "counted only when asked"
    );
    // Found beyond the first page, exactly and by containment.
    let (_, exact) = s.get("/api/indicators?value=10.30.47.250").await;
    assert_eq!(values(&exact), ["10.30.47.250"]);
    let (_, inside) = s.get("/api/indicators?within=203.0.113.0/24").await;
    assert_eq!(values(&inside), ["203.0.113.0/24", "203.0.113.7"]);
    let (_, covering) = s
        .get("/api/indicators?containing=203.0.113.7&$count=true")
        .await;
    assert_eq!(
        values(&covering),
        ["203.0.112.0/23", "203.0.113.0/24", "203.0.113.7"]
    );
    assert_eq!(covering["@odata.count"], 3);
    let (_, v6) = s.get("/api/indicators?containing=2001:db8:0:1::1").await;
    assert_eq!(values(&v6), ["2001:db8::/48"]);
    let (_, titled) = s.get("/api/indicators?title=STRIKE").await;
    assert_eq!(values(&titled), ["198.51.100.9"]);
    // The count follows the filters, OData's included.
    let (_, filtered) = s
        .get("/api/indicators?$count=true&$top=5&$filter=startswith(indicatorValue,'10.30.1')")
        .await;
    assert_eq!(filtered["value"].as_array().unwrap().len(), 5);
    assert!(filtered["@odata.count"].as_u64().unwrap() > 5);
    for (query, field) in [
        ("within=10.0.0.0/33", "within"),
        ("containing=nope", "containing"),
        ("$count=maybe", "$count"),
    ] {
        let (status, body) = s.get(&format!("/api/indicators?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(error_of(&body).2, Some(field), "{query}");
    }
}

#[tokio::test]
async fn delete_by_filter_counts_first_then_deletes_in_one_change() {
    let s = TestServer::start().await;
    let secret = enroll(&s).await;
    let feed = s.token("feed", "analyst").await;
    let viewer = s.token("v", "viewer").await;
    // 1,200 indicators created by the feed's token, two by the admin.
    let resp = s
        .req(
            Method::POST,
            "/api/indicators/import?action=Block&title=feed",
            Some(&feed),
        )
        .header("content-type", "text/plain")
        .body(addresses("10.40", 1200))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    s.block("192.0.2.1").await;
    s.post(
        "/api/indicators",
        json!({"indicatorValue": "192.0.2.2", "action": "Audit", "title": "keep"}),
    )
    .await;
    let (_, snap) = s
        .send(s.req(Method::GET, "/api/agent/policy", Some(&secret)))
        .await;
    let v0 = snap["version"].as_u64().unwrap();
    let entries_before = audit_entries(&s).await.len();

    let (status, dry) = s
        .post(
            "/api/indicators/DeleteByFilter",
            json!({"source": "feed", "dryRun": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry, json!({"matched": 1200, "deleted": 0, "dryRun": true}));
    assert_eq!(
        audit_entries(&s).await.len(),
        entries_before,
        "a dry run writes nothing"
    );

    // Viewers may not; an empty filter, a bad value and an unknown parameter are refused.
    let (status, _) = s
        .send(
            s.req(
                Method::POST,
                "/api/indicators/DeleteByFilter",
                Some(&viewer),
            )
            .json(&json!({"source": "feed"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"dryRun": true}), "body"),
        (json!({"values": ["192.0.2.1", "nope"]}), "values[1]"),
        (json!({"action": "Warn"}), "action"),
    ] {
        let (status, answer) = s.post("/api/indicators/DeleteByFilter", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(error_of(&answer).2, Some(field), "{body}");
    }
    let (status, answer) = s
        .post(
            "/api/indicators/DeleteByFilter?dryRun=true",
            json!({"source": "feed"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(error_of(&answer).2, Some("dryRun"));
    assert_eq!(
        s.get("/api/indicators?source=feed&$count=true&$top=1")
            .await
            .1["@odata.count"],
        1200,
        "nothing was deleted by the refusals"
    );

    let (status, done) = s
        .post("/api/indicators/DeleteByFilter", json!({"source": "feed"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        done,
        json!({"matched": 1200, "deleted": 1200, "dryRun": false})
    );
    let log = audit_entries(&s).await;
    assert_eq!(log.len(), entries_before + 1, "one summary entry");
    assert_eq!(log[0]["action"], "indicator.bulk-delete");

    // One version; an agent behind it gets the removals as a delta.
    let (_, delta) = s
        .send(s.req(
            Method::GET,
            &format!("/api/agent/policy?since={v0}"),
            Some(&secret),
        ))
        .await;
    assert_eq!(delta["full"], false);
    assert_eq!(delta["removals"].as_array().unwrap().len(), 1200);
    assert_eq!(delta["version"].to_string(), log[0]["id"].as_str().unwrap());

    // By values, with the action as a second condition.
    let (_, done) = s
        .post(
            "/api/indicators/DeleteByFilter",
            json!({"values": ["192.0.2.1", "192.0.2.2", "192.0.2.99"], "action": "Block"}),
        )
        .await;
    assert_eq!(done["deleted"], 1);
    let (_, left) = s.get("/api/indicators").await;
    let left: Vec<&str> = left["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicatorValue"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["192.0.2.2"]);
}

#[tokio::test]
async fn batch_delete_is_one_change_with_one_audit_entry() {
    let s = TestServer::start().await;
    let (answer, _) = import_list(&s, &addresses("10.50", 300), "t").await;
    let ids: Vec<Value> = answer["value"].as_array().unwrap()[..250]
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    let before = audit_entries(&s).await.len();
    let (status, body) = s
        .post("/api/indicators/BatchDelete", json!({"IndicatorIds": ids}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let log = audit_entries(&s).await;
    assert_eq!(log.len(), before + 1);
    assert_eq!(log[0]["action"], "indicator.batch-delete");
    let detail: Value = serde_json::from_str(log[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["deleted"], 250);
    assert_eq!(
        s.get("/api/indicators?$count=true&$top=1").await.1["@odata.count"],
        50
    );
}
