//! The agent end to end, as root: a real server process on loopback, real agent processes
//! enforcing in the endpoint namespaces of the lab, and traffic to a remote host namespace.
//! Checks push, coverage, kill -9, restarts of agent and server without a gap, tamper repair,
//! local expiry, revocation and group scoping; `agent status` after the agent died; damaged
//! state files; updates the agent cannot read (through a proxy that rewrites them); the agent's
//! own connection to its server, never an event.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use netward_testkit::lab::{Lab, Outcome, SideHost};
use netward_testkit::netns::Netns;
use netward_testkit::{AgentProcess, ServerProcess, wait_until};
use serde_json::Value;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

fn machines(s: &ServerProcess) -> Vec<Value> {
    s.json(&["device", "list"])["value"]
        .as_array()
        .unwrap()
        .clone()
}

fn in_sync(s: &ServerProcess, hostname_count: usize) -> bool {
    let m = machines(s);
    m.len() == hostname_count && m.iter().all(|d| d["inSync"] == true && d["online"] == true)
}

/// `netward agent status` as a person reads it.
fn status_text(state: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args(["agent", "status", "--state-dir"])
        .arg(state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn last_error(s: &ServerProcess) -> String {
    machines(s)[0]["lastError"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn block(s: &ServerProcess, addr: std::net::IpAddr, title: &str) {
    s.ok(&[
        "indicator",
        "add",
        &addr.to_string(),
        "--action",
        "block",
        "--title",
        title,
    ]);
}

fn enroll_token(s: &ServerProcess, group: &str) -> String {
    s.ok(&["enroll-token", "create", "--group", group])
        .trim()
        .to_owned()
}

/// Every device reports what its agent never blocks, and why: loopback, the server (here on
/// loopback), and each `nameserver` of the machine's `/etc/resolv.conf` as a DNS resolver.
fn exemptions_are_reported(server: &ServerProcess) {
    let resolvers: Vec<String> = std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|a| a.to_string())
        .collect();
    for m in machines(server) {
        let listed: Vec<(String, String)> = m["exemptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["range"].as_str().unwrap().to_owned(),
                    e["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let has = |range: &str, reason: &str| {
            listed
                .iter()
                .any(|(r, why)| r.as_str() == range && why.as_str() == reason)
        };
        assert!(
            has("127.0.0.0/8", "loopback") && has("::1", "loopback"),
            "{listed:?}"
        );
        assert!(has("127.0.0.1", "server"), "{listed:?}");
        for r in &resolvers {
            assert!(has(r, "dns-resolver"), "resolver {r}: {listed:?}");
        }
    }
    // The CLI shows them too.
    let id = machines(server)[0]["id"].as_str().unwrap().to_owned();
    let shown = server.ok(&["device", "show", &id]);
    assert!(shown.contains("127.0.0.0/8 (loopback)"), "{shown}");
    for r in &resolvers {
        assert!(shown.contains(&format!("{r} (dns-resolver)")), "{shown}");
    }
}

/// A thread sending TCP connects to an address from the endpoint until stopped.
struct Probe {
    stop: Arc<AtomicBool>,
    /// Connects made so far.
    tries: Arc<AtomicUsize>,
    /// Connects that were not refused.
    leaks: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

/// Sends TCP connects to `to` from the endpoint until stopped; counts any that got through.
fn watch_blocked(lab: &Arc<Lab>, to: std::net::IpAddr) -> Probe {
    let stop = Arc::new(AtomicBool::new(false));
    let tries = Arc::new(AtomicUsize::new(0));
    let leaks = Arc::new(AtomicUsize::new(0));
    let (lab, s2, t2, l2) = (lab.clone(), stop.clone(), tries.clone(), leaks.clone());
    let thread = std::thread::spawn(move || {
        while !s2.load(Ordering::SeqCst) {
            if lab.tcp(to, "probe") != Outcome::Refused {
                l2.fetch_add(1, Ordering::SeqCst);
            }
            t2.fetch_add(1, Ordering::SeqCst);
            // Pacing: a probe every 20 ms finds any gap longer than that without flooding
            // the endpoint.
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    Probe {
        stop,
        tries,
        leaks,
        thread,
    }
}

impl Probe {
    /// Waits until the probe has made `n` more connects, whatever they met.
    fn probes(&self, n: usize, what: &str) {
        let from = self.tries.load(Ordering::SeqCst);
        wait_until(what, Duration::from_secs(10), || {
            self.tries.load(Ordering::SeqCst) >= from + n
        });
    }
}

#[test]
fn pushed_policy_is_enforced_and_survives_kill_restarts_and_tampering() {
    let lab = Arc::new(Lab::new());
    let mut server = ServerProcess::start(BIN);
    let state = tempfile::tempdir().unwrap();
    let token = enroll_token(&server, "default");
    let mut agent = AgentProcess::start(BIN, state.path(), &lab.ep_path(), None, Some(&token));
    wait_until(
        "the device is enrolled and in sync",
        Duration::from_secs(15),
        || in_sync(&server, 1),
    );
    // The status file is written just after the acknowledgement that put the device in sync.
    wait_until(
        "the status file says connected",
        Duration::from_secs(5),
        || agent.status()["connected"] == true,
    );
    let status = agent.status();
    assert_eq!(status["running"], true);
    assert_eq!(status["mode"], "block");
    let text = status_text(state.path());
    assert!(text.contains("running, connected"), "{text}");
    assert!(
        text.contains("not enforceable  -") && !text.contains("[]"),
        "lists are for people: {text}"
    );

    // An indicator added through the API reaches the kernel.
    let v4 = lab.remote("v4");
    server.ok(&[
        "indicator",
        "add",
        &v4.to_string(),
        "--action",
        "block",
        "--title",
        "lab-test-access",
    ]);
    let took = wait_until(
        "TCP to the indicator is refused",
        Duration::from_secs(5),
        || lab.tcp(v4, "x") == Outcome::Refused,
    );
    eprintln!("indicator enforced {took:?} after the API answered");
    assert_eq!(lab.udp(v4, "udp-all"), Outcome::Refused);
    assert!(!lab.arrived("udp", "udp-all"));
    assert!(!lab.ping(v4));
    wait_until("the device acknowledges", Duration::from_secs(5), || {
        in_sync(&server, 1)
    });

    // Coverage tcp: UDP goes through, as with MDE; back to all.
    server.ok(&["group", "update", "default", "--coverage", "tcp"]);
    wait_until(
        "UDP is delivered under coverage tcp",
        Duration::from_secs(5),
        || lab.udp(v4, "udp-tcp-only") == Outcome::Sent && lab.arrived("udp", "udp-tcp-only"),
    );
    assert_eq!(lab.tcp(v4, "x"), Outcome::Refused);
    server.ok(&["group", "update", "default", "--coverage", "all"]);
    wait_until("UDP is refused again", Duration::from_secs(5), || {
        lab.udp(v4, "y") == Outcome::Refused
    });

    // kill -9: the kernel keeps enforcing. A change made meanwhile arrives on restart, and
    // the block never lapses while the agent restarts.
    let probe = watch_blocked(&lab, v4);
    agent.kill9();
    // Its status file still says connected; `agent status` knows better.
    let dead = agent.status();
    assert_eq!(
        (dead["running"].as_bool(), dead["connected"].as_bool()),
        (Some(false), Some(false))
    );
    let text = status_text(state.path());
    assert!(text.contains("not running (last status"), "{text}");
    assert!(!text.contains("running, connected"), "{text}");
    probe.probes(
        10,
        "the probe has tried the block 10 times with no agent running",
    );
    let v6 = lab.remote("v6");
    server.ok(&[
        "indicator",
        "add",
        &v6.to_string(),
        "--action",
        "block",
        "--title",
        "while-down",
    ]);
    let agent2 = AgentProcess::start(BIN, state.path(), &lab.ep_path(), None, None);
    wait_until(
        "the missed indicator is enforced after restart",
        Duration::from_secs(10),
        || lab.tcp(v6, "x") == Outcome::Refused,
    );

    // The server restarts: enforcement stays, and the agent reconnects by itself.
    server.stop();
    wait_until(
        "the agent notices that its server is gone",
        Duration::from_secs(10),
        || agent2.status()["connected"] == false,
    );
    assert_eq!(lab.tcp(v4, "x"), Outcome::Refused);
    server.restart();
    let v4b = lab.remote("v4b");
    server.ok(&[
        "indicator",
        "add",
        &v4b.to_string(),
        "--action",
        "block",
        "--title",
        "after-server-restart",
    ]);
    wait_until(
        "an indicator added after the server restart is enforced",
        Duration::from_secs(20),
        || lab.tcp(v4b, "x") == Outcome::Refused,
    );
    probe.stop.store(true, Ordering::SeqCst);
    probe.thread.join().unwrap();
    let tries = probe.tries.load(Ordering::SeqCst);
    assert!(tries > 10, "the probe ran {tries} times");
    assert_eq!(
        probe.leaks.load(Ordering::SeqCst),
        0,
        "a connection got through during the restarts"
    );

    // Someone deletes the table: the agent restores it and reports it.
    assert!(
        lab.nft(&["delete", "table", "inet", "netward"])
            .status
            .success()
    );
    wait_until(
        "the tampered table is restored",
        Duration::from_secs(5),
        || lab.tcp(v4, "x") == Outcome::Refused,
    );
    wait_until(
        "the server records the repair",
        Duration::from_secs(5),
        || machines(&server)[0]["lastTamper"].is_string(),
    );

    // Someone deletes the set elements (the table and its rules stay): the agent's count of
    // the sets sees it within seconds and rewrites them. The two adjacent addresses are one
    // range, in the shard of their first six bits.
    let std::net::IpAddr::V4(first) = v4 else {
        panic!("{v4} is IPv4")
    };
    let shard = format!("block_v4_net_{}", first.octets()[0] >> 2);
    for set in ["block_v4_addr", shard.as_str()] {
        assert!(
            lab.nft(&["flush", "set", "inet", "netward", set])
                .status
                .success()
        );
    }
    assert_eq!(lab.tcp(v4, "x"), Outcome::Sent, "the elements are gone");
    wait_until(
        "the deleted set elements are restored",
        Duration::from_secs(15),
        || lab.tcp(v4, "x") == Outcome::Refused,
    );

    // Uninstall removes everything the agent created.
    drop(agent2);
    let out = Command::new(BIN)
        .args(["agent", "uninstall", "--state-dir"])
        .arg(state.path())
        .arg("--netns")
        .arg(lab.ep_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !lab.nft(&["-t", "list", "table", "inet", "netward"])
            .status
            .success()
    );
    assert!(!state.path().exists());
    assert_eq!(lab.tcp(v4, "x"), Outcome::Sent);
}

#[test]
fn scoping_expiry_and_revocation() {
    let lab1 = Lab::new();
    let lab2 = Lab::new();
    let server = ServerProcess::start(BIN);
    server.ok(&["group", "create", "g2"]);
    let (s1, s2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a1 = AgentProcess::start(
        BIN,
        s1.path(),
        &lab1.ep_path(),
        None,
        Some(&enroll_token(&server, "default")),
    );
    let a2 = AgentProcess::start(
        BIN,
        s2.path(),
        &lab2.ep_path(),
        None,
        Some(&enroll_token(&server, "g2")),
    );
    wait_until("both devices are in sync", Duration::from_secs(15), || {
        in_sync(&server, 2)
    });
    exemptions_are_reported(&server);

    // Each agent gets only the indicators scoped to its group.
    let (r1, r2) = (lab1.remote("v4"), lab2.remote("v4"));
    server.ok(&[
        "indicator",
        "add",
        &r1.to_string(),
        "--action",
        "block",
        "--title",
        "g-default",
        "--group",
        "default",
    ]);
    server.ok(&[
        "indicator",
        "add",
        &r2.to_string(),
        "--action",
        "block",
        "--title",
        "g-2",
        "--group",
        "g2",
    ]);
    wait_until("lab 1 blocks its indicator", Duration::from_secs(5), || {
        lab1.tcp(r1, "x") == Outcome::Refused
    });
    wait_until("lab 2 blocks its indicator", Duration::from_secs(5), || {
        lab2.tcp(r2, "x") == Outcome::Refused
    });
    wait_until("both acknowledge", Duration::from_secs(5), || {
        in_sync(&server, 2)
    });
    assert_eq!(a1.status()["block"], 1);
    assert_eq!(a2.status()["block"], 1);

    // Expiry is enforced by the agent at the expiration second.
    let r1b = lab1.remote("v4b");
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3;
    let at = time::OffsetDateTime::from_unix_timestamp(expires as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    server.ok(&[
        "indicator",
        "add",
        &r1b.to_string(),
        "--action",
        "block",
        "--title",
        "expiring",
        "--expires",
        &at,
    ]);
    wait_until(
        "the expiring indicator is enforced",
        Duration::from_secs(5),
        || lab1.tcp(r1b, "x") == Outcome::Refused,
    );
    wait_until(
        "the indicator lapses after its expiration",
        Duration::from_secs(10),
        || lab1.tcp(r1b, "x") == Outcome::Sent,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now >= expires, "unblocked before the expiration second");

    // Moving a device to another group swaps its policy for that group's.
    let id = machines(&server)
        .iter()
        .find(|m| m["group"] == "default")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.ok(&["device", "move", &id, "--group", "g2"]);
    wait_until(
        "the moved device drops the default group's indicator",
        Duration::from_secs(5),
        || lab1.tcp(r1, "x") == Outcome::Sent,
    );
    wait_until(
        "the moved device holds g2's indicator",
        Duration::from_secs(5),
        || a1.status()["block"] == 1 && a1.status()["group"] == "g2",
    );
    server.ok(&["device", "move", &id, "--group", "default"]);
    wait_until(
        "moved back, it blocks again",
        Duration::from_secs(5),
        || lab1.tcp(r1, "x") == Outcome::Refused,
    );

    // A revoked device is refused; what it enforces stays until uninstall.
    server.ok(&["device", "revoke", &id]);
    wait_until(
        "agent 1 reports the refusal",
        Duration::from_secs(15),
        || {
            a1.status()["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("revoked"))
        },
    );
    assert_eq!(lab1.tcp(r1, "x"), Outcome::Refused);
    let listed = machines(&server);
    let revoked = listed.iter().find(|m| m["id"] == id.as_str()).unwrap();
    assert_eq!(
        (revoked["revoked"].as_bool(), revoked["online"].as_bool()),
        (Some(true), Some(false))
    );
}

#[test]
fn damaged_state_files_are_set_aside_and_the_servers_policy_enforced_again() {
    let lab = Lab::new();
    let mut server = ServerProcess::start(BIN);
    let state = tempfile::tempdir().unwrap();
    let token = enroll_token(&server, "default");
    let mut agent = AgentProcess::start(BIN, state.path(), &lab.ep_path(), None, Some(&token));
    let v4 = lab.remote("v4");
    block(&server, v4, "damaged-state");
    wait_until("the indicator is enforced", Duration::from_secs(15), || {
        lab.tcp(v4, "x") == Outcome::Refused
    });
    wait_until("in sync", Duration::from_secs(5), || in_sync(&server, 1));
    let damaged = |prefix: &str| {
        std::fs::read_dir(state.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
    };

    // The policy file is damaged while the server is away: the agent starts, keeps the table
    // it finds (fail closed) and waits for the server.
    agent.kill9();
    server.stop();
    std::fs::write(state.path().join("policy.json"), b"\0\0{ not json").unwrap();
    let mut agent = AgentProcess::start(BIN, state.path(), &lab.ep_path(), None, None);
    wait_until(
        "the agent starts and sets the damaged policy aside",
        Duration::from_secs(10),
        || damaged("policy.json.damaged-") && agent.status()["running"] == true,
    );
    for _ in 0..5 {
        assert_eq!(
            lab.tcp(v4, "x"),
            Outcome::Refused,
            "the table it found is kept"
        );
    }
    server.restart();
    wait_until(
        "the device record says the policy was damaged and fetched again",
        Duration::from_secs(20),
        || last_error(&server).contains("policy.json was damaged"),
    );
    assert_eq!(lab.tcp(v4, "x"), Outcome::Refused);

    // A reboot with both files damaged: no table at all, and no crash loop.
    agent.kill9();
    std::fs::write(state.path().join("policy.json"), b"garbage").unwrap();
    // The database and its write-ahead log (which SQLite would otherwise read the first page
    // from).
    std::fs::write(state.path().join("events.db"), vec![0x42; 8192]).unwrap();
    std::fs::write(state.path().join("events.db-wal"), vec![0x42; 8192]).unwrap();
    assert!(
        lab.nft(&["delete", "table", "inet", "netward"])
            .status
            .success()
    );
    assert_eq!(lab.tcp(v4, "x"), Outcome::Sent);
    let agent = AgentProcess::start(BIN, state.path(), &lab.ep_path(), None, None);
    wait_until(
        "the server's policy is enforced again",
        Duration::from_secs(15),
        || lab.tcp(v4, "x") == Outcome::Refused,
    );
    wait_until(
        "the device record says what happened to both files",
        Duration::from_secs(10),
        || {
            let e = last_error(&server);
            e.contains("policy.json was damaged") && e.contains("events.db was damaged")
        },
    );
    assert!(damaged("events.db.damaged-"));
    assert!(agent.spooled_hits().is_some(), "a new spool is in use");

    // Reported once: after the next change the device is in sync with no error.
    block(&server, lab.remote("v4b"), "after-recovery");
    wait_until("in sync, error cleared", Duration::from_secs(10), || {
        in_sync(&server, 1)
    });
}

/// A proxy in front of the server that passes everything through (the push stream too) and,
/// when told, rewrites the policy answers as a server this agent cannot read would send them.
mod proxy {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::http::{StatusCode, header};
    use axum::response::Response;
    use serde_json::Value;

    type Rewrite = Arc<dyn Fn(&mut Value) + Send + Sync>;

    #[derive(Clone)]
    struct Upstream {
        url: String,
        http: reqwest::Client,
        rewrite: Arc<Mutex<Option<Rewrite>>>,
        pulls: Arc<AtomicUsize>,
    }

    pub struct PolicyProxy {
        pub url: String,
        rewrite: Arc<Mutex<Option<Rewrite>>>,
        /// Policy pulls answered so far.
        pub pulls: Arc<AtomicUsize>,
        _runtime: tokio::runtime::Runtime,
    }

    impl PolicyProxy {
        pub fn start(upstream: &str) -> Self {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let rewrite = Arc::new(Mutex::new(None));
            let pulls = Arc::new(AtomicUsize::new(0));
            let state = Upstream {
                url: upstream.to_owned(),
                http: reqwest::Client::new(),
                rewrite: rewrite.clone(),
                pulls: pulls.clone(),
            };
            let app = axum::Router::new().fallback(forward).with_state(state);
            runtime.spawn(async move { axum::serve(listener, app).await });
            Self {
                url,
                rewrite,
                pulls,
                _runtime: runtime,
            }
        }

        pub fn rewrite_policy(&self, f: impl Fn(&mut Value) + Send + Sync + 'static) {
            *self.rewrite.lock().unwrap() = Some(Arc::new(f));
        }

        pub fn pass_through(&self) {
            *self.rewrite.lock().unwrap() = None;
        }
    }

    async fn forward(State(up): State<Upstream>, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 64 << 20)
            .await
            .unwrap_or_default();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut out = up
            .http
            .request(parts.method.clone(), format!("{}{path}", up.url))
            .body(body);
        for (name, value) in &parts.headers {
            if name != header::HOST && name != header::CONTENT_LENGTH {
                out = out.header(name, value);
            }
        }
        let Ok(resp) = out.send().await else {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::empty())
                .unwrap();
        };
        let mut answer = Response::builder().status(resp.status());
        for (name, value) in resp.headers() {
            if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
                answer = answer.header(name, value);
            }
        }
        if parts.uri.path() == "/api/agent/policy" {
            up.pulls.fetch_add(1, Ordering::SeqCst);
        }
        let rewrite = up.rewrite.lock().unwrap().clone();
        if let Some(rewrite) = rewrite
            .filter(|_| parts.uri.path() == "/api/agent/policy" && resp.status().is_success())
        {
            let mut policy: Value = resp.json().await.unwrap();
            rewrite(&mut policy);
            return answer
                .body(Body::from(serde_json::to_vec(&policy).unwrap()))
                .unwrap();
        }
        answer.body(Body::from_stream(resp.bytes_stream())).unwrap()
    }
}

#[test]
fn an_update_the_agent_cannot_read_is_refused_and_reported_and_the_kernel_keeps_its_policy() {
    let lab = Lab::new();
    let server = ServerProcess::start(BIN);
    let proxy = proxy::PolicyProxy::start(&server.url);
    let token = enroll_token(&server, "default");
    let token = format!("{}@{}", token.split_once('@').unwrap().0, proxy.url);
    let state = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("agent.log");
    let agent = AgentProcess::start_logged(BIN, state.path(), &lab.ep_path(), Some(&token), &log);
    let refusals_logged = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("Refusing a policy update")
            .count()
    };
    // Changes the policy `n` times (addresses no test traffic goes to) and waits for the
    // agent to have pulled each version.
    let changes = |n: usize, from: u8| {
        for i in 0..n {
            let before = proxy.pulls.load(Ordering::SeqCst);
            let addr: std::net::IpAddr = format!("192.0.2.{}", from as usize + i).parse().unwrap();
            block(&server, addr, "another-version");
            wait_until(
                "the agent pulls the new version",
                Duration::from_secs(10),
                || proxy.pulls.load(Ordering::SeqCst) > before,
            );
        }
    };
    let v4 = lab.remote("v4");
    block(&server, v4, "held");
    wait_until("the indicator is enforced", Duration::from_secs(15), || {
        lab.tcp(v4, "x") == Outcome::Refused
    });
    wait_until("in sync", Duration::from_secs(5), || in_sync(&server, 1));

    // An unknown mode: before, it turned enforcement off.
    proxy.rewrite_policy(|p| p["mode"] = Value::from("blok"));
    let v6 = lab.remote("v6");
    block(&server, v6, "in-the-refused-update");
    wait_until(
        "the device record names the field it cannot read",
        Duration::from_secs(10),
        || {
            let e = last_error(&server);
            e.contains("`mode`") && e.contains("blok")
        },
    );
    assert_eq!(lab.tcp(v4, "x"), Outcome::Refused, "the held policy stays");
    assert_eq!(
        lab.tcp(v6, "x"),
        Outcome::Sent,
        "nothing of the refused update"
    );
    // The status file is written after the acknowledgement: wait for it too.
    wait_until(
        "the status names the refusal",
        Duration::from_secs(10),
        || {
            agent.status()["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("`mode`"))
        },
    );
    assert_eq!(agent.status()["mode"], "block");
    // Every later version meets the same refusal: reported each time, logged once.
    changes(3, 10);
    assert!(last_error(&server).contains("`mode`"));
    assert_eq!(refusals_logged(), 1, "logged once, not on every retry");

    // A value that is not an address: before, it was dropped without a word.
    proxy.rewrite_policy(|p| {
        if let Some(first) = p["upserts"].as_array_mut().and_then(|u| u.first_mut()) {
            first["value"] = Value::from("not-an-address");
        }
    });
    block(&server, lab.remote("v4b"), "also-refused");
    wait_until(
        "the device record names the value it cannot read",
        Duration::from_secs(10),
        || last_error(&server).contains("upserts[0].value"),
    );
    changes(2, 20);
    assert_eq!(refusals_logged(), 2, "a new problem is logged once too");
    assert_eq!(lab.tcp(v4, "x"), Outcome::Refused, "the held policy stays");
    assert_eq!(lab.tcp(v6, "x"), Outcome::Sent);

    // Readable again: the agent catches up at the next version and the error clears.
    proxy.pass_through();
    block(&server, lab.remote("v6b"), "readable");
    wait_until("in sync, error cleared", Duration::from_secs(10), || {
        in_sync(&server, 1)
    });
    assert_eq!(lab.tcp(v6, "x"), Outcome::Refused);
    assert_eq!(lab.tcp(v4, "x"), Outcome::Refused);
}

/// The server's own namespace beside the lab's endpoint, so that the agent's connection to its
/// server crosses the table it enforces; removed on drop.
struct ServerHost(SideHost);

impl std::ops::Deref for ServerHost {
    type Target = SideHost;
    fn deref(&self) -> &SideHost {
        &self.0
    }
}

impl ServerHost {
    fn new(lab: &Lab) -> Self {
        Self(lab.side_host("sv", 170))
    }

    /// The CLI, run in the server's namespace against `server`; its JSON answer.
    fn cli(&self, server: &ServerProcess, args: &[&str]) -> Value {
        let out = self
            .ns
            .exec(BIN)
            .args(args)
            .args(["--json", "--server", &server.url, "--token", &server.admin])
            .args(["--ca-cert", server.ca.as_deref().unwrap()])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn events_from(&self, server: &ServerProcess, remote: &str) -> Vec<Value> {
        self.cli(server, &["events", "--top", "10000", "--remote-ip", remote])["value"]
            .as_array()
            .unwrap()
            .clone()
    }
}

#[test]
fn the_agents_own_connection_to_its_server_is_never_an_event() {
    let lab = Lab::new();
    let host = ServerHost::new(&lab);
    let mut server = ServerProcess::start_tls_in(BIN, &host.ns, &format!("{}:8443", host.ip));
    let token = host.cli(&server, &["enroll-token", "create"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let state = tempfile::tempdir().unwrap();
    let _agent = AgentProcess::start_inside(BIN, &lab.ep, state.path(), &token);
    let online = |server: &ServerProcess| {
        let list = host.cli(server, &["device", "list"]);
        list["value"]
            .get(0)
            .is_some_and(|d| d["inSync"] == true && d["online"] == true)
    };
    wait_until("the agent is in sync", Duration::from_secs(15), || {
        online(&server)
    });

    // A reconnect: the server restarts and the agent connects to it again.
    server.restart();
    wait_until("the agent is back online", Duration::from_secs(30), || {
        online(&server)
    });

    // A blocked hit after the reconnect: events are delivered in the order they were spooled,
    // so once it is stored, anything the connections produced before it is stored too.
    let v4 = lab.remote("v4");
    host.cli(
        &server,
        &[
            "indicator",
            "add",
            &v4.to_string(),
            "--action",
            "block",
            "--title",
            "marker",
        ],
    );
    wait_until("the block is enforced", Duration::from_secs(10), || {
        lab.tcp(v4, "x") == Outcome::Refused
    });
    wait_until("the blocked hit is stored", Duration::from_secs(15), || {
        !host.events_from(&server, &v4.to_string()).is_empty()
    });
    let own = host.events_from(&server, &host.ip);
    assert!(own.is_empty(), "events name the server: {own:?}");
    let _ = lab.nft(&["delete", "table", "inet", "netward"]);
}

/// `agent uninstall` says what it found: run where there is no table (here, the remote
/// host's namespace), it fails, names the table and the namespace, and keeps the state
/// directory; run where the table is, it removes both and says so.
#[test]
fn uninstall_reports_what_it_found_and_fails_without_the_table() {
    let lab = Lab::new();
    assert!(
        lab.nft(&["add", "table", "inet", "netward"])
            .status
            .success()
    );
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("identity.json"), "{}").unwrap();
    let uninstall = |netns: &std::path::Path| {
        Command::new(BIN)
            .args(["agent", "uninstall", "--state-dir"])
            .arg(state.path())
            .arg("--netns")
            .arg(netns)
            .output()
            .unwrap()
    };

    let elsewhere = uninstall(&lab.rh_path());
    let stderr = String::from_utf8_lossy(&elsewhere.stderr);
    assert!(!elsewhere.status.success(), "no table there: a failure");
    assert!(
        stderr.contains("no nftables table inet netward")
            && stderr.contains(&lab.rh_path().display().to_string()),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&elsewhere.stdout).contains("removed"),
        "nothing claimed removed"
    );
    assert!(state.path().exists(), "the state directory is kept");
    assert!(
        lab.nft(&["list", "table", "inet", "netward"])
            .status
            .success(),
        "the real table is untouched"
    );

    let here = uninstall(&lab.ep_path());
    let stdout = String::from_utf8_lossy(&here.stdout);
    assert!(
        here.status.success(),
        "{}",
        String::from_utf8_lossy(&here.stderr)
    );
    assert!(
        stdout.contains("removed the nftables table inet netward")
            && stdout.contains("removed the state directory"),
        "{stdout}"
    );
    assert!(
        !lab.nft(&["list", "table", "inet", "netward"])
            .status
            .success()
    );
    assert!(!state.path().exists());

    // An agent whose last status was mode `off` enforced nothing: no table is expected.
    std::fs::create_dir(state.path()).unwrap();
    std::fs::write(
        state.path().join("status.json"),
        serde_json::json!({
            "server": "http://127.0.0.1:1", "deviceId": "1", "connected": false,
            "group": "default", "mode": "off", "coverage": "all", "version": 3,
            "appliedAt": null, "allow": 0, "block": 0, "audit": 0, "kernelEntries": 0,
            "notEnforceable": [], "lastError": null, "updatedAt": "2026-01-01T00:00:00Z"
        })
        .to_string(),
    )
    .unwrap();
    let off = uninstall(&lab.ep_path());
    let stdout = String::from_utf8_lossy(&off.stdout);
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    assert!(stdout.contains("enforced nothing (mode off)"), "{stdout}");
    assert!(!state.path().exists());
}

/// Started with `ip netns exec`, which remounts /sys without the cgroup2 hierarchy, the agent
/// refuses (exit 2) and says to use `--netns` instead.
#[test]
fn an_agent_under_ip_netns_exec_is_told_to_use_netns() {
    let ns = Netns::add(&format!("nwexec{}", std::process::id()));
    let state = tempfile::tempdir().unwrap();
    let out = ns
        .exec(BIN)
        .args(["agent", "--state-dir"])
        .arg(state.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ip netns exec") && err.contains("--netns /run/netns/NAME"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
