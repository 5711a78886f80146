//! The console over real HTTP, without a browser: sessions, cookies, CSRF, roles, escaping.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use common::TestServer;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the form: GET it (its CSRF token comes in a cookie and a hidden field),
/// then POST it back.
async fn sign_in(
    s: &TestServer,
    http: &reqwest::Client,
    token: &str,
) -> (StatusCode, Option<String>) {
    let form = http.get(format!("{}/login", s.base)).send().await.unwrap();
    let login_cookie = form.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(login_cookie.starts_with("nw_login=") && login_cookie.contains("HttpOnly"));
    let login_cookie = login_cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&form.text().await.unwrap());
    let resp = http
        .post(format!("{}/login", s.base))
        .header(COOKIE, login_cookie)
        .form(&[("token", token), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    let cookie = resp
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status(), cookie)
}

async fn get(
    s: &TestServer,
    http: &reqwest::Client,
    cookie: &str,
    path: &str,
) -> (StatusCode, String) {
    let resp = http
        .get(format!("{}{path}", s.base))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..at + 64].to_owned()
}

#[tokio::test]
async fn sessions_are_httponly_forms_need_their_csrf_token_and_revocation_ends_a_session() {
    let s = TestServer::start().await;
    let http = no_redirects();
    // Signed out: every page sends you to sign in.
    let resp = http.get(format!("{}/alerts", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/login");
    let (status, cookie) = sign_in(&s, &http, "nwt_nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        !cookie.unwrap().starts_with("nw_session"),
        "no session for a bad token"
    );
    // A sign-in posted from elsewhere (no form cookie) is refused, even with a good token.
    let forged = http
        .post(format!("{}/login", s.base))
        .form(&[("token", s.admin.as_str()), ("csrf", &"a".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        !forged.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("nw_session")
    );
    let (status, cookie) = sign_in(&s, &http, &s.admin).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("nw_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(&s.admin),
        "the token itself never goes into the cookie"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let (status, page) = get(&s, &http, &session, "/indicators/new").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&page);
    let post = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let session = session.clone();
        let url = format!("{}/indicators", s.base);
        async move {
            http.post(url)
                .header(COOKIE, session)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("value", "198.51.100.20".to_owned()),
            ("action", "block".to_owned()),
            ("title", "<script>alert(1)</script>".to_owned()),
        ]
    };
    assert_eq!(post(form("")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post(form(&"0".repeat(64))).await.status(),
        StatusCode::FORBIDDEN
    );
    let ok = post(form(&csrf)).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    // What was typed is shown escaped.
    let (_, list) = get(&s, &http, &session, "/indicators").await;
    assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!list.contains("<script>alert(1)"));
    // A validation error comes back beside its field, with what was typed.
    let bad = post(vec![
        ("csrf", csrf.clone()),
        ("value", "10.1.2.3/24".into()),
        ("action", "block".into()),
        ("title", "t".into()),
    ])
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body = bad.text().await.unwrap();
    assert!(
        body.contains("id=\"value-error\"") && body.contains("10.1.2.0/24"),
        "{body}"
    );

    // Import from a file: one result per row, bad rows fail alone.
    let (_, page) = get(&s, &http, &session, "/indicators/import").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .text("format", "list")
        .text("action", "audit")
        .text("title", "feed")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"198.51.100.30\nnot-an-ip\n# a comment\n".to_vec())
                .file_name("feed.txt"),
        );
    let resp = http
        .post(format!("{}/indicators/import", s.base))
        .header(COOKIE, &session)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("1 of 2 rows applied; 1 failed."), "{body}");
    assert!(
        body.contains("not-an-ip") && body.contains(">failed<"),
        "{body}"
    );
    let (_, listed) = s.get("/api/indicators?value=198.51.100.30").await;
    let id = listed["value"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["value"][0]["action"], "Audit");

    // Delete through the indicator's page.
    let (_, page) = get(&s, &http, &session, &format!("/indicators/{id}")).await;
    assert!(page.contains("Enforced on 0/0 devices in scope."));
    let del = http
        .post(format!("{}/indicators/{id}/delete", s.base))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::SEE_OTHER);
    let (status, _) = s.get(&format!("/api/indicators/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&s, &http, &session, "/indicators/abc").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoking the token ends the session at the next request.
    let (_, t) = s
        .post(
            "/api/tokens",
            serde_json::json!({"name": "temp", "role": "admin"}),
        )
        .await;
    let temp = t["secret"].as_str().unwrap().to_owned();
    let id = t["token"]["id"].as_str().unwrap().to_owned();
    let (_, cookie) = sign_in(&s, &http, &temp).await;
    let temp_session = cookie.unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(
        get(&s, &http, &temp_session, "/settings").await.0,
        StatusCode::OK
    );
    let (status, _) = s
        .send(s.req(
            reqwest::Method::DELETE,
            &format!("/api/tokens/{id}"),
            Some(&s.admin),
        ))
        .await;
    assert!(status.is_success());
    assert_eq!(
        get(&s, &http, &temp_session, "/settings").await.0,
        StatusCode::SEE_OTHER
    );

    // Signing out ends the session.
    let (_, page) = get(&s, &http, &session, "/devices").await;
    let out = http
        .post(format!("{}/logout", s.base))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(&s, &http, &session, "/devices").await.0,
        StatusCode::SEE_OTHER
    );
}

/// A session survives a server restart, with its CSRF token: the server keeps it in its
/// store, and a sign-out after the restart still ends it.
#[tokio::test]
async fn a_console_session_survives_a_server_restart() {
    let mut s = TestServer::start().await;
    let http = no_redirects();
    let (_, cookie) = sign_in(&s, &http, &s.admin).await;
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let (status, page) = get(&s, &http, &session, "/indicators/new").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&page);
    s.restart().await;
    let (status, page) = get(&s, &http, &session, "/indicators/new").await;
    assert_eq!(status, StatusCode::OK, "the restart signed the session out");
    assert_eq!(csrf_of(&page), csrf);
    let saved = http
        .post(format!("{}/indicators", s.base))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("value", "192.0.2.77"),
            ("action", "block"),
            ("title", "after the restart"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, list) = get(&s, &http, &session, "/indicators").await;
    assert!(list.contains("192.0.2.77"));
    let out = http
        .post(format!("{}/logout", s.base))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    s.restart().await;
    assert_eq!(
        get(&s, &http, &session, "/devices").await.0,
        StatusCode::SEE_OTHER,
        "a signed-out session came back"
    );
}

/// The search runs in the store: an indicator beyond the first 10,000 is found by
/// a word of its title, in any case, and by part of its value, and nothing else is shown.
#[tokio::test]
async fn the_indicator_search_finds_by_title_word_and_part_of_the_value_beyond_the_first_10000() {
    let s = TestServer::start().await;
    let http = no_redirects();
    // 10,100 indicators first, so that the ones searched for come after the 1,000 rows an
    // unfiltered list shows, and after the 10,000 the handler once fetched and filtered.
    let bulk: String = (0..10_100u32)
        .map(|i| format!("10.{}.{}.1\n", i / 256, i % 256))
        .collect();
    let (status, _) = s
        .send(
            s.req(
                reqwest::Method::POST,
                "/api/indicators/import?action=block&title=bulk",
                Some(&s.admin),
            )
            .header("content-type", "text/plain")
            .body(bulk),
        )
        .await;
    assert!(status.is_success());
    for (value, title) in [
        ("203.0.113.77", "Botnet Controller"),
        ("198.51.100.0/24", "Scanner range"),
        ("192.0.2.55", "Mail relay"),
    ] {
        let (status, body) = s
            .post(
                "/api/indicators",
                serde_json::json!({"indicatorValue": value, "action": "Block", "title": title}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, cookie) = sign_in(&s, &http, &s.admin).await;
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let shown = |html: &str, value: &str| html.contains(&format!(">{value}</a>"));

    let (status, all) = get(&s, &http, &session, "/indicators").await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown(&all, "10.0.0.1") && !shown(&all, "203.0.113.77"));

    let (status, by_title) = get(&s, &http, &session, "/indicators?q=controller").await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown(&by_title, "203.0.113.77"), "{by_title}");
    assert!(!shown(&by_title, "198.51.100.0/24") && !shown(&by_title, "192.0.2.55"));
    assert!(!shown(&by_title, "10.0.0.1"));
    assert!(
        by_title.contains("value=\"controller\""),
        "the search box keeps what was typed"
    );

    let (_, by_value) = get(&s, &http, &session, "/indicators?q=51.100").await;
    assert!(shown(&by_value, "198.51.100.0/24"), "{by_value}");
    assert!(!shown(&by_value, "203.0.113.77") && !shown(&by_value, "192.0.2.55"));
    assert!(!shown(&by_value, "10.0.0.1"));

    // The search and the action filter combine, in the store too.
    let (_, none) = get(&s, &http, &session, "/indicators?q=relay&action=allow").await;
    assert!(!shown(&none, "192.0.2.55") && none.contains("No indicator matches this search."));
    assert!(none.contains("0 of 0"), "{none}");
}

/// Issue 11: the list says how many there are in all and pages through every one with plain
/// links (no script), keeping the search.
#[tokio::test]
async fn the_indicator_list_shows_n_of_m_and_pages_through_every_indicator() {
    let s = TestServer::start().await;
    let http = no_redirects();
    let bulk: String = (0..250u32)
        .map(|i| format!("10.9.{}.{}\n", i / 200, i % 200 + 1))
        .collect();
    let (status, _) = s
        .send(
            s.req(
                reqwest::Method::POST,
                "/api/indicators/import?action=block&title=bulk%20feed",
                Some(&s.admin),
            )
            .header("content-type", "text/plain")
            .body(bulk),
        )
        .await;
    assert!(status.is_success());
    s.block("203.0.113.77").await;
    let (_, cookie) = sign_in(&s, &http, &s.admin).await;
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let shown = |html: &str, value: &str| html.contains(&format!(">{value}</a>"));

    let (_, first) = get(&s, &http, &session, "/indicators").await;
    assert!(first.contains("1–100 of 251"), "{first}");
    assert!(
        first.contains("href=\"/indicators?q=&amp;action=&amp;page=2\""),
        "{first}"
    );
    assert!(!first.contains("rel=\"prev\""), "no page before the first");
    assert!(!shown(&first, "203.0.113.77"));

    let (_, last) = get(&s, &http, &session, "/indicators?page=3").await;
    assert!(last.contains("201–251 of 251"), "{last}");
    assert!(
        shown(&last, "203.0.113.77"),
        "the newest is on the last page"
    );
    assert!(last.contains("rel=\"prev\"") && !last.contains("rel=\"next\""));

    // The pager keeps the search; a search pages too.
    let (_, searched) = get(&s, &http, &session, "/indicators?q=bulk%20feed&page=2").await;
    assert!(searched.contains("101–200 of 250"), "{searched}");
    assert!(
        searched.contains("q=bulk%20feed&amp;action=&amp;page=3"),
        "{searched}"
    );
    // A page past the end, or not a number, is answered, not refused.
    let (status, past) = get(&s, &http, &session, "/indicators?page=99").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        past.contains("0 of 251") || past.contains("of 251"),
        "{past}"
    );
    let (status, _) = get(&s, &http, &session, "/indicators?page=abc").await;
    assert_eq!(status, StatusCode::OK);
    // A page number past any 64-bit offset is answered too, on every paged list.
    for list in [
        "/indicators",
        "/alerts",
        "/incidents",
        "/events",
        "/audit",
        "/enrollment",
        "/feeds",
        "/settings",
    ] {
        let (status, body) = get(
            &s,
            &http,
            &session,
            &format!("{list}?page=18446744073709551615"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}: {body}");
    }
}

/// Issue 10, defect 11: every console page refuses to be framed, sniffed or cached (the page
/// that shows a new token's secret included), and allows its own script and stylesheet only.
#[tokio::test]
async fn console_pages_cannot_be_framed_sniffed_or_cached() {
    let s = TestServer::start().await;
    let http = no_redirects();
    let (status, cookie) = sign_in(&s, &http, &s.admin).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.unwrap().split(';').next().unwrap().to_owned();
    for path in ["/login", "/devices", "/settings", "/console.js"] {
        let resp = http
            .get(format!("{}{path}", s.base))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn the_device_page_shows_what_its_agent_never_blocks_and_why() {
    use reqwest::Method;
    use serde_json::json;

    let s = TestServer::start().await;
    let (_, t) = s
        .post("/api/enroll-tokens", json!({"group": "default"}))
        .await;
    let facts = json!({"hostname": "ep1", "os": "Debian", "kernel": "6.18", "agentVersion": "0.1.0", "addresses": []});
    let (_, d) = s
        .send(
            s.req(Method::POST, "/api/agent/enroll", None)
                .json(&json!({"token": t["token"], "facts": facts})),
        )
        .await;
    let (device, secret) = (
        d["deviceId"].as_str().unwrap().to_owned(),
        d["secret"].as_str().unwrap().to_owned(),
    );
    let (_, policy) = s
        .send(s.req(Method::GET, "/api/agent/policy", Some(&secret)))
        .await;
    let ack = json!({"version": policy["version"], "entries": 2, "notEnforceable": [], "error": null,
        "tamperRepaired": false, "facts": facts,
        "exemptions": [{"range": "127.0.0.0/8", "reason": "loopback"},
                       {"range": "192.0.2.53", "reason": "dns-resolver"}]});
    let (status, body) = s
        .send(
            s.req(Method::POST, "/api/agent/ack", Some(&secret))
                .json(&ack),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let http = no_redirects();
    let (_, cookie) = sign_in(&s, &http, &s.admin).await;
    let cookie = cookie.unwrap().split(';').next().unwrap().to_owned();
    let (status, html) = get(&s, &http, &cookie, &format!("/devices/{device}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Never blocked"), "{html}");
    assert!(
        html.contains("127.0.0.0/8 (loopback), 192.0.2.53 (dns-resolver)"),
        "{html}"
    );
}

#[tokio::test]
async fn an_admin_subscribes_to_a_feed_in_the_console_and_sees_its_runs_and_refusals() {
    let s = TestServer::start().await;
    let list = netward_testkit::ListServer::start(
        "level1.netset",
        "# FireHOL\n203.0.113.40\n10.0.0.1/24\n",
    );
    let http = no_redirects();
    let (_, cookie) = sign_in(&s, &http, &s.admin).await;
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let (status, page) = get(&s, &http, &session, "/feeds").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("href=\"/feeds\" aria-current=\"page\""),
        "the nav links the page"
    );
    let csrf = csrf_of(&page);
    let made = http
        .post(format!("{}/feeds", s.base))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "level1"),
            ("kind", "plain"),
            ("url", list.url.as_str()),
            ("action", "Block"),
            ("mode", "enforce"),
            ("password", "hunter2"),
            ("username", "u"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(made.headers()[LOCATION], "/feeds/level1");
    let resync = http
        .post(format!("{}/feeds/level1/sync", s.base))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resync.status(), StatusCode::OK);
    let page = resync.text().await.unwrap();
    assert!(
        page.contains("10.0.0.1/24") && page.contains("host bits"),
        "{page}"
    );
    assert!(!page.contains("hunter2"), "a secret is never shown");
    let (_, listed) = get(&s, &http, &session, "/indicators").await;
    assert!(listed.contains("feed level1"), "the list names the feed");
    let (_, feeds) = get(&s, &http, &session, "/feeds").await;
    assert!(feeds.contains("/feeds/level1"), "{feeds}");
    // A viewer reads the page but gets no forms.
    let viewer = s.token("viewer", "viewer").await;
    let (_, cookie) = sign_in(&s, &http, &viewer).await;
    let viewer_session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let (status, page) = get(&s, &http, &viewer_session, "/feeds/level1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Last runs") && !page.contains("Refresh now"),
        "{page}"
    );
}

/// The number a page shows right after `marker` (an attribute such as `data-total="blocked"`).
fn number_after(html: &str, marker: &str) -> u64 {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} on the page"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let digits: String = rest[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// Attempts the API lists for `query`, added up.
async fn api_hits(s: &TestServer, query: &str) -> u64 {
    let (status, body) = s.get(&format!("/api/events?{query}&$top=10000")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["AdditionalFields"]["Count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn the_overview_counts_what_the_api_lists_and_every_list_page_answers() {
    use common::{deliver, enroll, event, indicator, now_ms};
    let s = TestServer::start().await;
    let http = no_redirects();
    let one = enroll(&s, "ep-one").await;
    let two = enroll(&s, "ep-two").await;
    let block = indicator(&s, "198.51.100.7", "Block", true).await;
    let audit = indicator(&s, "198.51.100.10", "Audit", true).await;
    let (b, a) = ((block, "198.51.100.7"), (audit, "198.51.100.10"));
    let t = now_ms();
    let batches = [
        (
            &one,
            vec![
                event(1, b.1, "blocked", 40, &[b], t - 1_000),
                event(2, a.1, "audited", 3, &[a], t - 2_000),
            ],
        ),
        // Two days ago: in the week, not in the day.
        (
            &two,
            vec![
                event(1, b.1, "blocked", 2, &[b], t - 3_000),
                event(2, b.1, "blocked", 100, &[b], t - 2 * 86_400_000),
            ],
        ),
    ];
    for (secret, events) in batches {
        let (status, body) = deliver(&s, secret, events, 0).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, cookie) = sign_in(&s, &http, &s.admin).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let landing = http
        .get(format!("{}/", s.base))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(landing.headers()[LOCATION], "/overview");

    let (status, day) = get(&s, &http, &session, "/overview").await;
    assert_eq!(status, StatusCode::OK);
    let from_at = day.find("data-from=\"").unwrap() + "data-from=\"".len();
    let from = &day[from_at..from_at + 20];
    for (outcome, expected) in [("blocked", 42), ("audited", 3), ("allowed", 0)] {
        let shown = number_after(&day, &format!("data-total=\"{outcome}\""));
        assert_eq!(shown, expected, "{outcome}");
        assert_eq!(
            shown,
            api_hits(&s, &format!("from={from}&outcome={outcome}")).await
        );
    }
    let top = |kind: &str, id: i64| format!("data-top=\"{kind}\" data-id=\"{id}\"");
    assert_eq!(number_after(&day, &top("indicators", block)), 42);
    assert_eq!(number_after(&day, &top("indicators", audit)), 3);
    assert!(
        day.find(&top("indicators", block)) < day.find(&top("indicators", audit)),
        "most first"
    );
    assert_eq!(
        number_after(&day, &top("indicators", audit)),
        api_hits(&s, &format!("from={from}&indicatorId={audit}")).await
    );
    // One alert per device and indicator, all new, all Medium; neither device is connected.
    assert_eq!(number_after(&day, "data-severity=\"Medium\""), 3);
    assert_eq!(number_after(&day, "data-severity=\"High\""), 0);
    assert_eq!(number_after(&day, "data-devices=\"offline\""), 2);
    assert_eq!(number_after(&day, "data-devices=\"in-sync\""), 0);
    assert!(
        day.contains("role=\"img\"")
            && day.contains(
                "<desc id=\"hits-chart-desc\">In all: 42 blocked, 3 audited, 0 allowed.</desc>"
            ),
        "{day}"
    );
    let (_, week) = get(&s, &http, &session, "/overview?range=7d").await;
    assert_eq!(number_after(&week, "data-total=\"blocked\""), 142);

    // Events, with the API's filters; hunting by range; refusals as the API words them.
    let (_, events) = get(&s, &http, &session, "/events?outcome=audited").await;
    assert!(events.contains("198.51.100.10:443") && !events.contains("198.51.100.7:443"));
    assert!(events.contains("<p>1–1 of 1</p>"), "{events}");
    let (_, all) = get(&s, &http, &session, "/events").await;
    assert!(all.contains("<p>1–4 of 4</p>"), "{all}");
    // Sorted in the store by the remote address, as a number.
    let (_, by_remote) = get(&s, &http, &session, "/events?sort=remote&dir=asc").await;
    assert!(
        by_remote.find("198.51.100.7:443").unwrap() < by_remote.find("198.51.100.10:443").unwrap(),
        "{by_remote}"
    );
    assert!(by_remote.contains("<p>1–4 of 4</p>"), "{by_remote}");
    assert!(
        events.contains(&format!("href=\"/indicators/{audit}\"")),
        "events link to their indicator"
    );
    let (_, hunt) = get(&s, &http, &session, "/hunting?remoteIp=198.51.100.0/24").await;
    assert!(
        hunt.contains("ep-one") && hunt.contains("ep-two") && hunt.contains("/usr/bin/curl"),
        "{hunt}"
    );
    // Sorted and paged in the store: the most hits first, counted.
    let (_, by_hits) = get(
        &s,
        &http,
        &session,
        "/hunting?remoteIp=198.51.100.0/24&sort=hits&dir=desc",
    )
    .await;
    assert!(
        by_hits.contains("aria-sort=\"descending\"") && by_hits.contains("<p>1–"),
        "{by_hits}"
    );
    assert!(
        by_hits.find("ep-two").unwrap() < by_hits.find("ep-one").unwrap(),
        "ep-two has the most hits (102 against 43): {by_hits}"
    );
    let (_, refused) = get(&s, &http, &session, "/hunting?remoteIp=nope").await;
    assert!(
        refused.contains("error-summary") && refused.contains("remoteIp"),
        "{refused}"
    );

    // Sorting: addresses in numeric order, devices by name either way.
    let (_, alerts) = get(&s, &http, &session, "/alerts?sort=indicator&dir=asc").await;
    assert!(alerts.find(">198.51.100.7<").unwrap() < alerts.find(">198.51.100.10<").unwrap());
    assert!(alerts.contains("aria-sort=\"ascending\""));
    assert!(
        alerts.contains("<p>1–3 of 3</p>"),
        "alerts are counted in the store: {alerts}"
    );
    let (_, sorted) = get(&s, &http, &session, "/indicators?sort=value&dir=desc").await;
    assert!(sorted.find(">198.51.100.10<").unwrap() < sorted.find(">198.51.100.7<").unwrap());
    assert!(sorted.contains("aria-sort=\"descending\""));
    let (_, devices) = get(&s, &http, &session, "/devices?sort=device&dir=desc").await;
    assert!(devices.find("ep-two").unwrap() < devices.find("ep-one").unwrap());

    // The audit log, by actor; enrollment tokens made and revoked through the forms.
    let (_, log) = get(&s, &http, &session, "/audit?actor=nobody").await;
    assert!(log.contains("<p>0 of 0</p>"), "{log}");
    let (_, log) = get(&s, &http, &session, "/audit").await;
    assert!(
        log.contains("indicator.create") && log.contains(" of "),
        "{log}"
    );
    let (_, page) = get(&s, &http, &session, "/enrollment").await;
    let csrf = csrf_of(&page);
    let create = |valid_hours: &'static str| {
        http.post(format!("{}/enrollment", s.base))
            .header(COOKIE, &session)
            .form(&[
                ("csrf", csrf.as_str()),
                ("group", "default"),
                ("validHours", valid_hours),
                ("maxUses", "5"),
            ])
            .send()
    };
    let made = create("2").await.unwrap();
    assert_eq!(made.status(), StatusCode::OK);
    let made = made.text().await.unwrap();
    assert!(made.contains("nwe_") && made.contains("0 of 5"), "{made}");
    let (_, tokens) = s.get("/api/enroll-tokens").await;
    assert_eq!(tokens["value"].as_array().unwrap().len(), 3);
    let bad = create("soon").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("validHours"));
    // Enrollment tokens, API tokens and feeds: sorted and counted in the store.
    let (_, sorted) = get(&s, &http, &session, "/enrollment?sort=expires&dir=desc").await;
    assert!(
        sorted.contains("<p>1–3 of 3</p>") && sorted.contains("aria-sort=\"descending\""),
        "{sorted}"
    );
    let (_, settings) = get(&s, &http, &session, "/settings?sort=name&dir=asc").await;
    assert!(
        settings.contains("aria-sort=\"ascending\"") && settings.contains("sort=name&amp;dir=desc"),
        "{settings}"
    );
    let (_, feeds) = get(&s, &http, &session, "/feeds?sort=run").await;
    assert!(feeds.contains("<p>0 of 0</p>"), "{feeds}");

    // A viewer reads the overview, events and hunting, not the audit log nor the tokens.
    let viewer = s.token("vera", "viewer").await;
    let (_, cookie) = sign_in(&s, &http, &viewer).await;
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    for (path, status) in [
        ("/overview", StatusCode::OK),
        ("/events", StatusCode::OK),
        ("/hunting", StatusCode::OK),
        ("/audit", StatusCode::FORBIDDEN),
        ("/enrollment", StatusCode::FORBIDDEN),
    ] {
        assert_eq!(get(&s, &http, &session, path).await.0, status, "{path}");
    }
}
