//! The web console in a real browser (root): headless Chromium driven over WebDriver by
//! chromedriver, against a real server process, with a real agent enforcing in a lab endpoint.
//! It signs in, adds an indicator through the form, watches the endpoint's sync state turn
//! current and a blocked connection's alert arrive without a reload, resolves the alert, and
//! checks that a viewer cannot write. The overview's numbers are checked against the API's,
//! and the overview, events and hunting pages are checked by axe-core in the light and the
//! dark scheme; an alert is assigned, classified and commented on by keyboard only. A
//! screenshot of each page goes to `target/console-screenshots/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod endpoint;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use endpoint::{BIN, python, send_both, start_lab};
use netward_testkit::{ServerProcess, free_port, wait_for, wait_until};
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// axe-core's script, as `./dev setup` installs it (`npm install --prefix target/axe`).
const AXE_JS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/axe/node_modules/axe-core/axe.min.js"
);

/// chromedriver and one headless Chromium session; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
    shots: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) is installed");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        wait_until("chromedriver is ready", Duration::from_secs(20), || {
            let ready = rt.block_on(async {
                let r = http.get(format!("{base}/status")).send().await.ok()?;
                r.json::<Value>().await.ok()
            });
            ready.is_some_and(|v| v["value"]["ready"] == true)
        });
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
                         "--window-size=1280,900", format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v: Value = rt.block_on(async {
            http.post(format!("{base}/session"))
                .json(&caps)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {v}"))
            .to_owned();
        let shots =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let b = Self {
            driver,
            base,
            session,
            http,
            rt,
            shots,
            _profile: profile,
        };
        // A missing element is reported at once (the tests wait explicitly where they must).
        b.cmd(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"implicit": 0, "pageLoad": 30000, "script": 30000})),
        );
        b
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let v: Value = self.rt.block_on(async {
            let mut r = self.http.request(method, url);
            if let Some(b) = body {
                r = r.json(&b);
            }
            r.send().await.unwrap().json().await.unwrap()
        });
        assert!(v["value"]["error"].is_null(), "{path}: {v}");
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let v: Value = self.rt.block_on(async {
            self.http
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        if v["value"]["error"] == "no such element" {
            return None;
        }
        let id = v["value"][ELEMENT].as_str();
        assert!(id.is_some(), "finding `{css}` failed: {v}");
        id.map(str::to_owned)
    }

    fn el(&self, css: &str) -> String {
        self.find(css)
            .unwrap_or_else(|| panic!("no element `{css}` on {}", self.url()))
    }

    /// Sends `method /element/{id}{action}` to the element at `css`, finding it again if a
    /// live update (or a navigation under way) replaced it meanwhile.
    fn on_element(
        &self,
        css: &str,
        method: reqwest::Method,
        action: &str,
        body: Option<Value>,
    ) -> Value {
        let what = format!("element `{css}` is on the page and takes `{action}`");
        wait_for(&what, Duration::from_secs(5), || {
            let e = self.find(css)?;
            let url = format!("{}/session/{}/element/{e}{action}", self.base, self.session);
            let v: Value = self.rt.block_on(async {
                let mut r = self.http.request(method.clone(), url);
                if let Some(b) = &body {
                    r = r.json(b);
                }
                r.send().await.unwrap().json().await.unwrap()
            });
            if v["value"]["error"].is_null() {
                return Some(v["value"].clone());
            }
            assert_eq!(v["value"]["error"], "stale element reference", "{v}");
            None
        })
    }

    fn click(&self, css: &str) {
        self.on_element(css, reqwest::Method::POST, "/click", Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.el(css);
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        );
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Presses `keys` on the keyboard, one after another (WebDriver key actions: `\u{E004}`
    /// is Tab, `\u{E007}` Enter).
    fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                let k = c.to_string();
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    /// Tabs forward until the focused element matches `css`; fails after 80 presses.
    fn tab_to(&self, css: &str) {
        for _ in 0..80 {
            self.press("\u{E004}");
            let script = format!(
                "return document.activeElement.matches({})",
                serde_json::to_string(css).unwrap()
            );
            if self.js(&script) == json!(true) {
                return;
            }
        }
        panic!("{css} cannot be reached with Tab on {}", self.url());
    }

    fn text(&self, css: &str) -> String {
        self.on_element(css, reqwest::Method::GET, "/text", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn wait(&self, what: &str, limit: Duration, mut check: impl FnMut(&Self) -> bool) {
        wait_until(what, limit, || check(self));
    }

    fn shot(&self, name: &str) {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Emulates the system's dark colour scheme (`dark`) or lifts the emulation (`""`).
    fn color_scheme(&self, scheme: &str) {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setEmulatedMedia",
                        "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}})),
        );
    }

    /// [`Self::check_accessible`] in the light and the dark scheme, with a screenshot of each.
    fn check_both_schemes(&self, shot: &str) {
        self.check_accessible();
        self.shot(shot);
        self.color_scheme("dark");
        self.check_accessible();
        self.shot(&format!("{shot}-dark"));
        self.color_scheme("");
    }

    /// `GET path` on the server's API with `token`.
    fn api(&self, server: &ServerProcess, path: &str) -> Value {
        self.rt.block_on(async {
            let r = self
                .http
                .get(format!("{}{path}", server.url))
                .bearer_auth(&server.admin)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json().await.unwrap()
        })
    }

    fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Every input and select on the page has a label, and the page does not scroll sideways.
    fn check_accessible(&self) {
        let unlabelled = self.js(
            "return [...document.querySelectorAll('input:not([type=hidden]),select')]\
             .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)",
        );
        assert_eq!(
            unlabelled,
            json!([]),
            "unlabelled controls on {}",
            self.url()
        );
        // axe-core (installed by `./dev setup`): no violation of serious or critical impact.
        let axe = std::fs::read_to_string(AXE_JS).unwrap_or_else(|e| {
            panic!("{AXE_JS}: {e}; run ./dev setup, which installs axe-core there")
        });
        self.js(&format!("{axe}\nreturn null"));
        let violations = self.js(
            "return axe.run(document, {resultTypes: ['violations']}).then(r => r.violations\
             .filter(v => v.impact === 'serious' || v.impact === 'critical')\
             .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', ')))",
        );
        assert_eq!(violations, json!([]), "axe-core on {}", self.url());
        // Scrolling regions take focus and have a name; the live region is never display:none;
        // no table has an empty column header.
        let unnamed = self.js(
            "return [...document.querySelectorAll('.scroll')].filter(e => e.tabIndex !== 0 \
             || e.getAttribute('role') !== 'region' || !e.getAttribute('aria-label')).length",
        );
        assert_eq!(
            unnamed,
            json!(0),
            "unnamed scroll regions on {}",
            self.url()
        );
        if self.find("#live").is_some() {
            let display =
                self.js("return getComputedStyle(document.getElementById('live')).display");
            assert_ne!(
                display,
                json!("none"),
                "the live region is hidden from screen readers"
            );
        }
        let empty_headers = self.js(
            "return [...document.querySelectorAll('th')].filter(t => !t.textContent.trim()).length",
        );
        assert_eq!(
            empty_headers,
            json!(0),
            "empty table headers on {}",
            self.url()
        );
        let overflow = self.js(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        );
        assert!(
            overflow.as_i64().unwrap() <= 1,
            "the page scrolls sideways on {}",
            self.url()
        );
        assert!(self.find("a.skip[href='#main']").is_some());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self
            .rt
            .block_on(async { self.http.delete(url).send().await });
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The overview's numbers, read from the page, against the API's for the same window: the
/// first difference, or `None` when every number agrees.
fn overview_differs(b: &Browser, s: &ServerProcess) -> Option<String> {
    b.go(&format!("{}/overview", s.url));
    let from = b.js("return document.getElementById('overview').dataset.from");
    let from = from.as_str().unwrap().to_owned();
    let hits = |filter: &str| -> u64 {
        let v = b.api(s, &format!("/api/events?from={from}&{filter}&$top=10000"));
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["AdditionalFields"]["Count"].as_u64().unwrap())
            .sum()
    };
    let shown = |css: &str| -> u64 { b.text(css).parse().unwrap() };
    let mut differences = Vec::new();
    for o in ["blocked", "audited", "allowed"] {
        let (page, api) = (
            shown(&format!("[data-total={o}]")),
            hits(&format!("outcome={o}")),
        );
        if page != api {
            differences.push(format!("{o} hits: page {page}, API {api}"));
        }
    }
    let tops = b.js("return [...document.querySelectorAll('[data-top]')]\
        .map(a => [a.dataset.top, a.dataset.id, a.textContent])");
    let tops = tops.as_array().unwrap();
    if tops.len() < 2 {
        differences.push(format!("the top lists hold {tops:?}"));
    }
    for t in tops {
        let key = if t[0] == "devices" {
            "deviceId"
        } else {
            "indicatorId"
        };
        let api = hits(&format!("{key}={}", t[1].as_str().unwrap()));
        let page: u64 = t[2].as_str().unwrap().parse().unwrap();
        if page != api {
            differences.push(format!("{key} {}: page {page}, API {api}", t[1]));
        }
    }
    let alerts = b.api(s, "/api/alerts?status=new&$top=1000");
    let alerts = alerts["value"].as_array().unwrap();
    if alerts.is_empty() {
        differences.push("no new alert to count".into());
    }
    for sev in ["High", "Medium", "Low", "Informational"] {
        let api = alerts.iter().filter(|a| a["severity"] == sev).count() as u64;
        let page = shown(&format!("[data-severity={sev}]"));
        if page != api {
            differences.push(format!("new {sev} alerts: page {page}, API {api}"));
        }
    }
    let devices = b.api(s, "/api/machines");
    let devices = devices["value"].as_array().unwrap();
    let state = |d: &Value| match (
        d["revoked"] == true,
        d["online"] == true,
        d["inSync"] == true,
    ) {
        (true, _, _) => "revoked",
        (false, false, _) => "offline",
        (false, true, true) => "in-sync",
        (false, true, false) => "behind",
    };
    for key in ["in-sync", "behind", "offline", "revoked"] {
        let api = devices.iter().filter(|d| state(d) == key).count() as u64;
        let page = shown(&format!("[data-devices={key}]"));
        if page != api {
            differences.push(format!("{key} devices: page {page}, API {api}"));
        }
    }
    (!differences.is_empty()).then(|| differences.join("; "))
}

#[test]
fn an_analyst_works_the_field_report_in_the_browser_and_a_viewer_cannot_write() {
    let s = ServerProcess::start(BIN);
    let (lab, cgroup, _state, _agent) = start_lab(&s, "console");
    let v4 = lab.remote("v4").to_string();
    let b = Browser::start();
    let url = |p: &str| format!("{}{p}", s.url);

    // 1. Sign in.
    b.go(&url("/devices"));
    assert!(
        b.url().ends_with("/login"),
        "signed-out users are sent to sign in"
    );
    b.check_accessible();
    b.type_into("#token", "nwt_wrong");
    b.shot("01-sign-in");
    b.click("form[action='/login'] button[type=submit]");
    assert!(b.text("#token-error").contains("unknown or revoked"));
    b.type_into("#token", &s.admin);
    b.click("form[action='/login'] button[type=submit]");
    b.wait("the overview", Duration::from_secs(10), |b| {
        b.url().ends_with("/overview")
    });
    let cookie = b.js("return document.cookie");
    assert_eq!(cookie, json!(""), "the session cookie is HttpOnly");

    // 2. Add an indicator through the form; a bad value is explained beside the field.
    b.go(&url("/indicators/new"));
    b.check_accessible();
    b.type_into("#value", "10.1.2.3/24");
    b.type_into("#title", "C2 beacon");
    b.click("form[action='/indicators'] button[type=submit]");
    assert!(
        b.text("#value-error").contains("10.1.2.0/24"),
        "the canonical network is named"
    );
    // The refusal is announced: focus on the error summary (role=alert), the title says so,
    // and backticked values are code.
    assert_eq!(
        b.js("const e = document.activeElement; return [e.id, e.getAttribute('role')]"),
        json!(["error-summary", "alert"])
    );
    assert!(
        b.js("return document.title")
            .as_str()
            .unwrap()
            .starts_with("Error: ")
    );
    assert!(
        b.find("#error-summary code").is_some(),
        "{}",
        b.text("#error-summary")
    );
    b.shot("02-indicator-form-error");
    b.type_into("#value", &v4);
    b.click("#action option[value='AlertAndBlock']");
    b.click("#severity option[value='High']");
    b.type_into("#recommended", "Isolate the device");
    b.click("form[action='/indicators'] button[type=submit]");
    b.wait("the indicator list", Duration::from_secs(10), |b| {
        b.url().contains("/indicators?saved=")
    });
    assert!(b.text("main table").contains("C2 beacon"));
    b.shot("03-indicators");

    // 3. The endpoint's sync state turns current, live: a marker set on the page survives,
    // so the page was not reloaded.
    b.go(&url("/devices"));
    b.check_accessible();
    b.js("window.__marker = 42; return null");
    let current = || {
        s.json(&["device", "list"])["value"][0]["currentVersion"]
            .as_u64()
            .unwrap()
    };
    b.wait("the endpoint is in sync", Duration::from_secs(10), |b| {
        b.text("[data-live=sync]") == format!("in sync (v{})", current())
    });
    s.ok(&[
        "indicator",
        "add",
        &lab.net("v6"),
        "--action",
        "block",
        "--title",
        "v6 range",
    ]);
    let target = current();
    b.wait(
        "the page shows the new version as applied",
        Duration::from_secs(10),
        |b| b.text("[data-live=applied]") == format!("v{target}"),
    );
    assert_eq!(b.text("[data-live=sync]"), format!("in sync (v{target})"));
    assert_eq!(b.js("return window.__marker"), json!(42), "no reload");
    b.shot("04-devices-live");
    b.resize(390, 844);
    b.check_accessible();
    b.shot("05-devices-phone");
    b.resize(1280, 900);

    // 4. A blocked TCP connection: the alert appears live on the alerts page.
    b.go(&url("/alerts"));
    b.js("window.__marker = 43; return null");
    let saw = python(&lab, &cgroup, &send_both(&v4, "AF_INET", "console"));
    assert!(saw.starts_with("tcp refused"), "{saw}");
    assert!(!lab.arrived("tcp", "console-tcp"));
    b.wait("the alert appears", Duration::from_secs(15), |b| {
        b.find("#alerts-body a[data-alert-link]").is_some()
    });
    assert_eq!(b.text("#alerts-body a[data-alert-link]"), "C2 beacon");
    assert!(
        b.text("#live").contains("C2 beacon"),
        "announced to screen readers"
    );
    assert_eq!(b.js("return window.__marker"), json!(43), "no reload");
    b.shot("06-alerts-live");

    // 4a. The overview: its numbers equal the API's for the same window, and it counts new
    // hits live (a marker set on the page survives).
    b.wait(
        "the overview agrees with the API",
        Duration::from_secs(20),
        |b| match overview_differs(b, &s) {
            None => true,
            Some(d) => {
                eprintln!("overview differs: {d}");
                false
            }
        },
    );
    assert!(b.find("#hits-chart title").is_some() && b.find("#hits-chart desc").is_some());
    let described = b.js("return document.querySelector('#hits-chart desc').textContent");
    assert!(
        described.as_str().unwrap().contains("blocked"),
        "{described}"
    );
    b.check_both_schemes("06a-overview");
    let blocked = |b: &Browser| -> u64 { b.text("[data-total=blocked]").parse().unwrap() };
    let before = blocked(&b);
    b.js("window.__marker = 44; return null");
    let saw = python(&lab, &cgroup, &send_both(&v4, "AF_INET", "again"));
    assert!(saw.starts_with("tcp refused"), "{saw}");
    b.wait(
        "the overview counts the new hits live",
        Duration::from_secs(15),
        |b| blocked(b) > before,
    );
    assert_eq!(b.js("return window.__marker"), json!(44), "no reload");
    b.go(&url("/overview?range=7d"));
    assert!(blocked(&b) > before, "the week holds the day");
    b.check_accessible();
    b.shot("06b-overview-7d");
    b.resize(390, 844);
    b.go(&url("/overview"));
    b.check_accessible();
    b.shot("06e-overview-phone");
    b.resize(1280, 900);
    // The chart's legend leads to the filtered events; the hunt finds the process.
    b.click("a[href^='/events?outcome=blocked']");
    b.wait("the blocked events", Duration::from_secs(10), |b| {
        b.url().contains("/events?outcome=blocked")
    });
    assert!(b.text("main table").contains("Blocked"));
    assert!(!b.text("main table").contains("Allowed"));
    b.check_both_schemes("06c-events");
    b.go(&url(&format!("/hunting?remoteIp={v4}")));
    assert!(
        b.find("main table a[href^='/events?remoteIp=']").is_some(),
        "{}",
        b.text("main")
    );
    b.check_both_schemes("06d-hunting");
    b.go(&url("/hunting?remoteIp=not-an-address"));
    assert!(b.find("#error-summary").is_some());
    b.check_accessible();
    b.go(&url("/alerts"));

    // 5. Resolve it.
    b.click("#alerts-body a[data-alert-link]");
    b.wait("the alert page", Duration::from_secs(10), |b| {
        b.url().contains("/alerts/")
    });
    b.check_accessible();
    assert!(b.text("main").contains("Isolate the device"));
    assert!(b.text("main table").contains("Blocked"), "the evidence");
    b.shot("07-alert");

    // 5a. Triage as in MDE: assign to me, classify, comment; each shown with who and when.
    // Assigned and classified by keyboard only: Tab to each control, Enter, type to choose.
    b.tab_to("#assign-to-me");
    b.press("\u{E007}");
    b.wait("assigned", Duration::from_secs(10), |b| {
        b.text("dd[data-fact='assigned to']") != "Nobody"
    });
    assert!(
        b.find("dd[data-fact='assigned to'] time[datetime][title]")
            .is_some()
    );
    assert!(b.find("#assign-to-me").is_none(), "already mine");
    b.tab_to("#classification");
    b.press("True");
    b.tab_to("#determination");
    b.press("Malware");
    b.tab_to("form[action$='/classify'] button[type=submit]");
    b.press("\u{E007}");
    b.wait("classified", Duration::from_secs(10), |b| {
        b.text("dd[data-fact=classification]")
            .starts_with("True positive · Malware")
    });
    b.type_into("#comment", "curl from a cron job; owner asked");
    b.click("form[action$='/comments'] button[type=submit]");
    b.wait("the comment is listed", Duration::from_secs(10), |b| {
        b.text("#comments").contains("curl from a cron job")
    });
    assert!(
        b.text("#comments").contains("just now"),
        "{}",
        b.text("#comments")
    );
    b.check_accessible();
    b.shot("07b-alert-triaged");
    // The same by keyboard only: Tab to the comment box, type, Tab to its button, Enter.
    b.go(&b.url());
    b.tab_to("#comment");
    b.press("typed without a mouse");
    b.tab_to("form[action$='/comments'] button[type=submit]");
    b.press("\u{E007}");
    b.wait(
        "the keyboard's comment is listed",
        Duration::from_secs(10),
        |b| b.text("#comments").contains("typed without a mouse"),
    );
    let shown = s.json(&["alert", "list"])["value"][0].clone();
    assert_eq!(
        (&shown["classification"], &shown["determination"]),
        (&json!("TruePositive"), &json!("Malware")),
        "the API shows what the console set"
    );
    b.click("button[name=status][value=resolved]");
    b.wait("the alert is resolved", Duration::from_secs(10), |b| {
        b.text("dd[data-fact=status]") == "Resolved"
    });
    b.shot("08-alert-resolved");
    let device = s.json(&["device", "list"])["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.go(&url(&format!("/devices/{device}")));
    assert!(b.text("main").contains("Timeline"));
    assert!(b.text("main table").contains("Indicator block"));
    b.check_accessible();
    b.shot("09-device");
    b.go(&url("/incidents"));
    assert_eq!(b.text("nav.pager"), "1–1 of 1");
    b.check_accessible();
    b.shot("10-incidents");
    b.go(&url("/settings"));
    b.check_accessible();
    b.shot("11-settings");
    // Enrollment tokens: create one through the form (its secret shown once), revoke it.
    b.go(&url("/enrollment"));
    let listed =
        |b: &Browser| b.js("return document.querySelectorAll('main table tbody tr').length");
    let before = listed(&b);
    b.type_into("#maxUses", "3");
    b.click("form[action='/enrollment'] button[type=submit]");
    b.wait(
        "the new token is shown once",
        Duration::from_secs(10),
        |b| b.find(".notice.ok").is_some(),
    );
    assert!(
        b.text(".notice.ok").contains("nwe_"),
        "{}",
        b.text(".notice.ok")
    );
    assert_eq!(listed(&b), json!(before.as_u64().unwrap() + 1));
    assert!(b.text("main table").contains("0 of 3"));
    b.check_both_schemes("11c-enrollment");
    // Newest first: the token just made.
    b.click("main table tbody tr:first-child button.danger");
    b.wait("the token is revoked", Duration::from_secs(10), |b| {
        b.text("main table").contains("revoked")
    });
    let tokens = b.api(&s, "/api/enroll-tokens");
    assert!(
        tokens["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| !t["revokedAt"].is_null()),
        "the API shows the revocation: {tokens}"
    );
    // The audit log, filtered by action: the revocation, by the signed-in token.
    b.go(&url("/audit"));
    assert!(
        b.text("nav.pager").contains(" of "),
        "{}",
        b.text("nav.pager")
    );
    b.check_both_schemes("11d-audit");
    let action = b.js(
        "return [...document.querySelectorAll('#action option')].map(o => o.value)\
        .find(v => v.includes('enroll') && v.includes('revoke'))",
    );
    let action = action
        .as_str()
        .expect("an enrollment revocation is in the audit log")
        .to_owned();
    b.go(&url(&format!("/audit?action={action}")));
    assert!(
        b.text("nav.pager").starts_with("1–1 of 1"),
        "{}",
        b.text("nav.pager")
    );
    // More entries than a page: 101 indicators added through the form, 100.64.0.1 to .101.
    b.go(&url("/indicators/new"));
    let made = b.js(
        "const csrf = document.querySelector('input[name=csrf]').value; let ok = 0;\
         for (let n = 1; n <= 101; n++) { const x = new XMLHttpRequest();\
           x.open('POST', '/indicators', false);\
           x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');\
           x.send('csrf=' + csrf + '&value=100.64.0.' + n + '&action=Audit&title=paged+' + n);\
           if (x.status === 200 && x.responseURL.includes('saved=')) ok++; }\
         return ok;",
    );
    assert_eq!(made, json!(101));
    // The audit log pages in the store: "1–100 of N", the next page holds the rest.
    b.go(&url("/audit"));
    let pager = b.text("nav.pager");
    let total: u64 = pager
        .strip_prefix("1–100 of ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("the first page of many: {pager}"));
    assert!(total > 101, "{pager}");
    // Sorted by keyboard: Tab to the Time header, Enter; oldest first, over every page.
    b.tab_to("th a[href*='sort=time']");
    b.press("\u{E007}");
    b.wait("sorted by time", Duration::from_secs(10), |b| {
        b.url().contains("sort=time&dir=asc")
    });
    assert_eq!(
        b.js(
            "return [...document.querySelectorAll('main th[aria-sort]')]\
            .map(th => [th.textContent.trim(), th.getAttribute('aria-sort')])"
        ),
        json!([["Time ▲", "ascending"]])
    );
    let times = |b: &Browser| -> Vec<String> {
        serde_json::from_value(b.js(
            "return [...document.querySelectorAll('main tbody tr td:first-child time')]\
             .map(t => t.getAttribute('datetime'))",
        ))
        .unwrap()
    };
    let first_page = times(&b);
    assert_eq!(first_page.len(), 100);
    assert!(first_page.is_sorted(), "{first_page:?}");
    b.click("nav.pager a[rel=next]");
    b.wait("the second page", Duration::from_secs(10), |b| {
        b.url().contains("page=2")
    });
    assert!(b.url().contains("sort=time&dir=asc"), "the order is kept");
    assert_eq!(
        b.text("nav.pager").split_whitespace().next(),
        Some(format!("101–{total}").as_str())
    );
    let second_page = times(&b);
    assert_eq!(second_page.len() as u64, total - 100);
    assert!(
        second_page.is_sorted() && first_page.last() <= second_page.first(),
        "{first_page:?} then {second_page:?}"
    );
    b.check_accessible();
    b.shot("11e-audit-sorted-page-2");
    // Addresses sort as numbers: 100.64.0.2 before 100.64.0.10.
    b.go(&url("/indicators?q=100.64.0.&sort=value&dir=asc"));
    let values = b.js(
        "return [...document.querySelectorAll('main tbody tr td:first-child')]\
         .slice(0, 11).map(td => td.textContent.trim())",
    );
    let expected: Vec<String> = (1..=11).map(|n| format!("100.64.0.{n}")).collect();
    assert_eq!(values, json!(expected));
    assert!(b.text("nav.pager").starts_with("1–100 of 101"));
    // The Feeds page and a feed's page, with its run and a refusal.
    let list = netward_testkit::ListServer::start("level1.netset", "198.51.100.60\n10.0.0.1/24\n");
    s.ok(&[
        "feed", "add", "level1", "--kind", "plain", "--url", &list.url,
    ]);
    s.ok(&["feed", "sync", "level1"]);
    b.go(&url("/feeds"));
    b.check_accessible();
    assert!(b.text("main table").contains("level1"));
    b.shot("11a-feeds");
    b.go(&url("/feeds/level1"));
    b.check_accessible();
    assert!(b.text("main").contains("host bits"));
    b.shot("11b-feed");

    // 6. A viewer sees no write controls, and the server refuses the writes anyway.
    let viewer = s.ok(&["token", "create", "--name", "eve", "--role", "viewer"]);
    let viewer = viewer
        .lines()
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("nwt_")))
        .unwrap()
        .to_owned();
    b.click("form[action='/logout'] button");
    b.wait("signed out", Duration::from_secs(10), |b| {
        b.url().ends_with("/login")
    });
    b.type_into("#token", &viewer);
    b.click("form[action='/login'] button[type=submit]");
    b.wait("signed in as the viewer", Duration::from_secs(10), |b| {
        b.url().ends_with("/overview")
    });
    b.go(&url("/indicators"));
    assert!(b.find("a[href='/indicators/new']").is_none());
    assert!(b.find("a[href='/indicators/import']").is_none());
    b.shot("12-viewer-indicators");
    b.go(&url("/alerts"));
    b.click("#alerts-body a[data-alert-link]");
    b.wait("the alert page", Duration::from_secs(10), |b| {
        b.url().contains("/alerts/")
    });
    assert!(b.find("button[name=status]").is_none());
    b.go(&url("/settings"));
    assert!(b.find("form[action='/settings/tokens']").is_none());
    assert!(b.find("form[action='/settings']").is_none());
    // Writes sent anyway, with the viewer's own valid session and CSRF token: refused.
    let status = b.js(
        "const csrf = document.querySelector('input[name=csrf]').value;\
         const post = (path, body) => { const x = new XMLHttpRequest(); x.open('POST', path, false);\
           x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded'); x.send(body); return x.status; };\
         return [post('/indicators', 'csrf=' + csrf + '&value=198.51.100.99&action=block&title=x'),\
                 post('/settings', 'csrf=' + csrf + '&enforce=on'),\
                 post('/settings/tokens', 'csrf=' + csrf + '&name=evil&role=admin')];",
    );
    assert_eq!(status, json!([403, 403, 403]));
    b.go(&url("/indicators/new"));
    assert!(b.text("main").contains("this needs analyst"));
    let listed = s.json(&["indicator", "list", "--value", "198.51.100.99"]);
    assert_eq!(
        listed["value"].as_array().unwrap().len(),
        0,
        "nothing was written"
    );
}
