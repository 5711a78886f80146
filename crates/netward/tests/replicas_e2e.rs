//! Two server replicas on one PostgreSQL database, end to end, as root. Each replica runs in a
//! network namespace of its own, with TLS from the CA they share; a real agent in the
//! endpoint's namespace enforces in its kernel. The agent enrolls through replica A; an
//! indicator added through replica B is enforced while the agent is still on A; A is killed;
//! the agent moves to B by itself and stays in sync from a delta; the hits made during the
//! switch are stored exactly once; and the console on B, in a session opened on A, shows the
//! alert.
//!
//! The database is a throwaway cluster on a unix socket, which both namespaces reach through
//! the file system.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use netward_testkit::lab::{Lab, SideHost};
use netward_testkit::postgres::PgCluster;
use netward_testkit::{AgentProcess, ServerProcess, wait_for, wait_until};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::Value;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

/// The port each replica listens on, on its namespace's address.
const PORT: u16 = 8443;

/// A replica and the namespace it runs in.
struct Replica {
    host: SideHost,
    server: ServerProcess,
}

impl Replica {
    /// The CLI, run in the replica's namespace against it as the admin; its JSON answer.
    fn cli(&self, args: &[&str]) -> Value {
        let s = &self.server;
        let out = self
            .host
            .ns
            .exec(BIN)
            .args(args)
            .args(["--json", "--server", &s.url, "--token", &s.admin])
            .args(["--ca-cert", s.ca.as_deref().unwrap()])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?} on {}: {}",
            s.url,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The one device, as this replica lists it.
    fn device(&self) -> Value {
        self.cli(&["device", "list"])["value"][0].clone()
    }

    /// Blocked hits on `remote` this replica's database holds: their total count.
    fn blocked(&self, remote: IpAddr) -> u64 {
        let remote = remote.to_string();
        let args = [
            "events",
            "--top",
            "10000",
            "--remote-ip",
            &remote,
            "--outcome",
            "blocked",
        ];
        self.cli(&args)["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["AdditionalFields"]["Count"].as_u64().unwrap())
            .sum()
    }

    /// Runs `work` with an HTTP client inside this replica's namespace, trusting its CA.
    fn http<T: Send>(&self, work: impl AsyncFnOnce(reqwest::Client, &str) -> T + Send) -> T {
        let ca = self.server.ca.clone().unwrap();
        let url = self.server.url.clone();
        netward_agent::netns::run_in(&self.host.ns.path(), move || {
            let (tls, _) = netward_cli::tls::client_config(Some(Path::new(&ca))).unwrap();
            let client = reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(work(client, &url))
        })
        .expect("enter the replica's namespace")
    }

    /// Signs in to the console with the admin token; the session cookie (`name=value`).
    fn sign_in(&self) -> String {
        let token = self.server.admin.clone();
        self.http(async move |http, url| {
            let form = http.get(format!("{url}/login")).send().await.unwrap();
            let login = first_cookie(&form);
            let html = form.text().await.unwrap();
            let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
            let csrf = html[at..].split('"').next().unwrap().to_owned();
            let resp = http
                .post(format!("{url}/login"))
                .header(COOKIE, login)
                .form(&[("token", token.as_str()), ("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER);
            first_cookie(&resp)
        })
    }

    /// A console page, with the session `cookie`: its status and text.
    fn page(&self, cookie: &str, path: &str) -> (u16, String) {
        let (cookie, path) = (cookie.to_owned(), path.to_owned());
        self.http(async move |http, url| {
            let resp = http
                .get(format!("{url}{path}"))
                .header(COOKIE, cookie)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    }
}

/// The first cookie a response sets, as `name=value`.
fn first_cookie(resp: &reqwest::Response) -> String {
    let set = resp.headers()[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[test]
fn two_replicas_on_postgres_the_agent_moves_to_b_when_a_dies_and_each_hit_is_stored_once() {
    let pg = PgCluster::start();
    let database = pg.create_database("netward");
    let lab = Lab::new();
    let (host_a, host_b) = (lab.side_host("ra", 150), lab.side_host("rb", 170));
    let url = |h: &SideHost| format!("https://{}:{PORT}", h.ip);
    let (a_url, b_url) = (url(&host_a), url(&host_b));
    let listen = |h: &SideHost| format!("{}:{PORT}", h.ip);
    let server_a = ServerProcess::start_on_database(
        BIN,
        Some(&host_a.ns),
        &listen(&host_a),
        &[a_url.clone(), b_url.clone()],
        &database,
        None,
    );
    let server_b = ServerProcess::start_on_database(
        BIN,
        Some(&host_b.ns),
        &listen(&host_b),
        &[b_url.clone(), a_url.clone()],
        &database,
        Some(&server_a),
    );
    assert_eq!(
        server_a.ca_fingerprint, server_b.ca_fingerprint,
        "the replicas share one CA"
    );
    let mut a = Replica {
        host: host_a,
        server: server_a,
    };
    let b = Replica {
        host: host_b,
        server: server_b,
    };

    // Enrolled through A, with a token that names both replicas and pins the shared CA.
    let token = a.cli(&["enroll-token", "create"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        token.contains(&format!("@{a_url},{b_url}#sha256:")),
        "{token}"
    );
    let state = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start_inside(BIN, &lab.ep, state.path(), &token);
    wait_until("the agent is in sync on A", Duration::from_secs(30), || {
        let d = a.device();
        d["inSync"] == true && d["online"] == true
    });
    assert_eq!(agent.status()["server"], a_url.as_str());
    // A console session opened on A; it lives in the database.
    let session = a.sign_in();

    // Added through B, enforced by the agent connected to A: B reads the device's applied
    // version from the database, so "in sync" on B means the agent applied B's change.
    let v4 = lab.remote("v4");
    b.cli(&[
        "indicator",
        "add",
        &v4.to_string(),
        "--action",
        "AlertAndBlock",
        "--title",
        "beacon added on B",
    ]);
    wait_until(
        "the agent applies B's change",
        Duration::from_secs(30),
        || b.device()["inSync"] == true,
    );
    lab.assert_refused(v4, 5, "before");
    let before = wait_for("A stores the first hits", Duration::from_secs(30), || {
        let total = a.blocked(v4);
        (total >= 5 && agent.spooled_hits() == Some(0)).then_some(total)
    });
    assert_eq!(before, 5);

    // A is killed. Hits made at once go to B, whether the agent spooled them or not.
    a.server.stop();
    lab.assert_refused(v4, 7, "during");
    wait_until("the agent says it uses B", Duration::from_secs(30), || {
        let s = agent.status();
        s["server"] == b_url.as_str() && s["connected"] == true
    });
    let total = wait_for("B stores every hit", Duration::from_secs(30), || {
        let total = b.blocked(v4);
        (total >= 12 && agent.spooled_hits() == Some(0)).then_some(total)
    });
    assert_eq!(total, 12, "none lost, none doubled");
    let alerts = b.cli(&["alert", "list"])["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["hitCount"], 12);

    // Still in sync, from a delta: a block added through B after the switch is enforced, and
    // the agent's journal gains a line where a snapshot would have rewritten it.
    let journal = state.path().join("policy.journal");
    let journal_before = std::fs::read_to_string(&journal).unwrap_or_default();
    let v4b = lab.remote("v4b");
    b.cli(&[
        "indicator",
        "add",
        &v4b.to_string(),
        "--action",
        "Block",
        "--title",
        "added after the switch",
    ]);
    wait_until("the agent is in sync on B", Duration::from_secs(30), || {
        let d = b.device();
        d["inSync"] == true && d["online"] == true
    });
    lab.assert_refused(v4b, 1, "after");
    let journal_after = std::fs::read_to_string(&journal).unwrap();
    let line = journal_after
        .strip_prefix(journal_before.as_str())
        .expect("the journal was appended to, not rewritten");
    let delta: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(delta["full"], false, "a delta, not a snapshot: {line}");

    // The console on B, in the session opened on A, shows the alert and its hits.
    let (status, html) = b.page(&session, "/alerts");
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("beacon added on B"), "{html}");
    let id = alerts[0]["id"].as_str().unwrap();
    let (status, html) = b.page(&session, &format!("/alerts/{id}"));
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&v4.to_string()), "{html}");
    drop(agent);
}

/// Indicators in each small import, and in the large one.
const SMALL: usize = 500;
const LARGE: usize = 300_000;

/// `netward indicator import FILE --format list --action block --title TITLE` against `url`.
fn import(url: &str, admin: &str, file: &Path, title: &str) -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    c.args([
        "indicator",
        "import",
        "--format",
        "list",
        "--action",
        "block",
    ])
    .args(["--title", title])
    .arg(file)
    .env("NETWARD_SERVER", url)
    .env("NETWARD_TOKEN", admin)
    .env("XDG_CONFIG_HOME", "/nonexistent")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    c
}

/// How many indicators carry `title` (their titles contain it).
fn titled(server: &ServerProcess, title: &str) -> u64 {
    server.json(&["indicator", "list", "--title", title, "--top", "1"])["@odata.count"]
        .as_u64()
        .unwrap()
}

/// `kill -9` of a replica while imports run, one large and small ones one after another: after
/// a restart, every import the replica acknowledged is there in full, and each one it did not
/// is there in full or not at all.
#[test]
fn a_replica_killed_during_imports_loses_no_acknowledged_indicator_and_keeps_no_half_import() {
    let pg = PgCluster::start();
    let database = pg.create_database("netward");
    let mut server =
        ServerProcess::start_on_database(BIN, None, "127.0.0.1:0", &[], &database, None);
    let files = tempfile::tempdir().unwrap();
    let (url, admin) = (server.url.clone(), server.admin.clone());

    // Small imports, one after another, until one fails: the titles acknowledged, and the one
    // that failed.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let small = {
        let (acked, dir) = (acked.clone(), files.path().to_owned());
        std::thread::spawn(move || {
            for i in 0.. {
                let (title, file) = (format!("small-{i:05}"), dir.join(format!("small-{i}")));
                let lines: Vec<String> =
                    (1..=SMALL).map(|j| format!("fd10:{i:x}::{j:x}")).collect();
                std::fs::write(&file, lines.join("\n")).unwrap();
                if !import(&url, &admin, &file, &title)
                    .status()
                    .unwrap()
                    .success()
                {
                    return title;
                }
                acked.lock().unwrap().push(title);
            }
            unreachable!("the imports go on until the replica is killed")
        })
    };
    wait_until(
        "two small imports are acknowledged",
        Duration::from_secs(60),
        || acked.lock().unwrap().len() >= 2,
    );

    // The large import; the replica is killed while its transaction holds the audit lock.
    let large_file = files.path().join("large");
    let lines: Vec<String> = (0..LARGE)
        .map(|k| format!("100.{}.{}.{}", 64 + k / 65_536, (k / 256) % 256, k % 256))
        .collect();
    std::fs::write(&large_file, lines.join("\n")).unwrap();
    let mut large = import(&server.url, &server.admin, &large_file, "large")
        .spawn()
        .unwrap();
    let in_transaction = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
        WHERE l.locktype = 'advisory' AND l.granted AND now() - a.xact_start > interval '300 ms'";
    wait_until(
        "an import holds its transaction open",
        Duration::from_secs(120),
        || {
            assert!(
                large.try_wait().unwrap().is_none(),
                "the large import ended first"
            );
            pg.sql("netward", in_transaction) != "0"
        },
    );
    server.stop();
    assert!(
        !large.wait().unwrap().success(),
        "the large import was cut, so not acknowledged"
    );
    let cut = small.join().unwrap();

    // Back up: what was acknowledged is all there; what was not is there whole or not at all.
    server.restart();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 2);
    for title in &acked {
        assert_eq!(
            titled(&server, title),
            SMALL as u64,
            "{title} was acknowledged"
        );
    }
    let n = titled(&server, &cut);
    assert!(n == 0 || n == SMALL as u64, "{cut}: {n} of {SMALL}");
    let n = titled(&server, "large");
    assert!(n == 0 || n == LARGE as u64, "large: {n} of {LARGE}");
    let audit = server.json(&["audit", "--top", "10000"]);
    let imports = audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "indicator.import")
        .count();
    let expected = acked.len() + usize::from(titled(&server, &cut) > 0) + usize::from(n > 0);
    assert_eq!(
        imports, expected,
        "one audit entry per import applied: {audit}"
    );
}
