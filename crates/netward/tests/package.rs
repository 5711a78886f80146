//! The Debian package on the real system (root): `dpkg -i` the `.deb` that `./dev test` (or
//! `./dev package`) built and names in `NETWARD_TEST_DEB`, then check what an operator gets —
//! the binary, units that `systemd-analyze verify` accepts, the packaged server configuration
//! starting a server whose `/metrics` answers, an agent of the installed binary enrolled with
//! it (in a network namespace of the test's own) and its metrics, the bash completion — and
//! `dpkg --purge` it.
//!
//! Without `NETWARD_TEST_DEB` the test fails: building a package inside `cargo test` would
//! cost minutes. It touches the system's package database, so it is one test, run alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

const PACKAGE: &str = "netward";

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Purges the package when the test ends, however it ends.
struct Installed;

impl Installed {
    fn install(deb: &Path) -> Self {
        ok("dpkg", &["-i", deb.to_str().unwrap()]);
        Installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run("dpkg", &["--purge", PACKAGE]);
    }
}

/// `program args` with `env` set; its standard output. Fails the test on a non-zero exit.
fn ok_with_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A `netward agent` process, killed on drop.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `netward server` process, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the server printed before it listened: its URL, the first admin token, the CA file.
fn start_server(data_dir: &Path) -> (Server, String, String, PathBuf) {
    let mut child = Command::new("/usr/bin/netward")
        .args([
            "server",
            "--config",
            "/etc/netward/server.toml",
            "--metrics",
        ])
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (mut admin, mut ca) = (None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("nwt_") {
            admin = Some(line);
        } else if let Some(rest) = line.strip_prefix("netward: CA certificate ") {
            ca = rest.split(" (sha256").next().map(PathBuf::from);
        } else if let Some(url) = line.strip_prefix("netward: listening on ") {
            return (
                server,
                url.to_owned(),
                admin.expect("an admin token"),
                ca.expect("the packaged configuration serves TLS: a CA"),
            );
        }
    }
    panic!("the packaged server exited before it listened");
}

/// An HTTPS client that trusts only the server's own CA.
fn client(ca: &Path) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

/// What the installed bash completion offers after `netward <word><TAB>`.
fn bash_completes(word: &str) -> Vec<String> {
    let script = format!(
        r#"source /usr/share/bash-completion/completions/netward
COMP_WORDS=(netward {word}); COMP_CWORD=1; COMP_LINE="netward {word}"; COMP_POINT=${{#COMP_LINE}}
_netward netward {word} netward
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    ok("bash", &["-c", &script])
        .lines()
        .map(|l| l.trim().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_package_installs_runs_and_purges() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test installs a package: run it as root (`./dev test` does)"
    );
    let deb = PathBuf::from(std::env::var_os("NETWARD_TEST_DEB").expect(
        "NETWARD_TEST_DEB must name the .deb to test: run `./dev test`, or `./dev package` and pass its path",
    ));
    assert!(deb.is_file(), "{} is not a file", deb.display());
    let installed = Installed::install(&deb);

    // What the package holds.
    let files = ok("dpkg", &["-L", PACKAGE]);
    for expected in [
        "/usr/bin/netward",
        "/etc/netward/server.toml",
        "/etc/netward/agent.env",
        "/usr/share/man/man1/netward.1.gz",
        "/usr/share/bash-completion/completions/netward",
        "/usr/share/zsh/vendor-completions/_netward",
        "/usr/share/fish/vendor_completions.d/netward.fish",
    ] {
        assert!(
            files.lines().any(|l| l == expected),
            "{expected} not in:\n{files}"
        );
    }
    let conffiles = std::fs::read_to_string("/var/lib/dpkg/info/netward.conffiles").unwrap();
    assert!(
        conffiles.contains("/etc/netward/server.toml"),
        "{conffiles}"
    );
    let help = ok("/usr/bin/netward", &["--help"]);
    assert!(
        help.contains("completions") && help.contains("server"),
        "{help}"
    );

    // The units, as installed.
    let units: Vec<&str> = files
        .lines()
        .filter(|l| l.ends_with("/netward-server.service") || l.ends_with("/netward-agent.service"))
        .collect();
    assert_eq!(units.len(), 2, "both units are installed: {files}");
    let mut verify = vec!["verify"];
    verify.extend(&units);
    ok("systemd-analyze", &verify);

    // The packaged configuration is valid as shipped.
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let checked = ok(
        "/usr/bin/netward",
        &[
            "server",
            "--config",
            "/etc/netward/server.toml",
            "--check-config",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
    );
    assert!(checked.contains("listen = \"127.0.0.1:8440\""), "{checked}");

    // A server from the packaged configuration, and its metrics.
    let (server, url, admin, ca) = start_server(&data_dir);
    let http = client(&ca);
    let ready = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let refused = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401, "metrics need a token");
    let metrics = http
        .get(format!("{url}/metrics"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    for family in [
        "# TYPE netward_http_requests_total counter",
        "netward_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"} 1",
        "netward_devices{state=\"in_sync\"} 0",
        "# TYPE netward_store_call_seconds histogram",
        "netward_events_ingested_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == family),
            "{family} missing in:\n{text}"
        );
    }

    // An agent of the installed binary, enrolled with a token from the installed CLI, enforcing
    // in a namespace of the test's own (the README's "an endpoint" steps), and its metrics.
    let lab = netward_testkit::Lab::new();
    let token = ok_with_env(
        "/usr/bin/netward",
        &["enroll-token", "create"],
        &[
            ("NETWARD_SERVER", url.as_str()),
            ("NETWARD_TOKEN", admin.as_str()),
            ("NETWARD_CA_CERT", ca.to_str().unwrap()),
        ],
    );
    let state = tempfile::tempdir().unwrap();
    let port = netward_testkit::free_port();
    let agent = Agent(
        Command::new("/usr/bin/netward")
            .args(["agent", "--no-process-attribution", "--state-dir"])
            .arg(state.path())
            .arg("--netns")
            .arg(lab.ep_path())
            .args(["--enroll", token.trim()])
            .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap(),
    );
    let agent_metrics = format!("http://127.0.0.1:{port}/metrics");
    let plain = netward_testkit::in_process::http_client();
    let applied = netward_testkit::wait_for_async(
        "the agent applies its first policy and says so on its metrics",
        std::time::Duration::from_secs(60),
        || {
            let (plain, agent_metrics) = (plain.clone(), agent_metrics.clone());
            async move {
                let text = plain
                    .get(&agent_metrics)
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                text.lines()
                    .find_map(|l| l.strip_prefix("netward_agent_policy_version "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .filter(|v| *v > 0)
                    .map(|_| text.clone())
            }
        },
    )
    .await;
    assert!(
        applied.contains("# TYPE netward_agent_apply_seconds"),
        "{applied}"
    );
    netward_testkit::wait_for_async(
        "the server counts the agent's device in sync",
        std::time::Duration::from_secs(30),
        || {
            let (http, url, admin) = (http.clone(), url.clone(), admin.clone());
            async move {
                let text = http
                    .get(format!("{url}/metrics"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                text.lines()
                    .any(|l| l == "netward_devices{state=\"in_sync\"} 1")
                    .then_some(())
            }
        },
    )
    .await;
    drop(agent);
    drop(lab);
    drop(server);

    // The bash completion.
    let offered = bash_completes("ind");
    assert!(offered.iter().any(|w| w == "indicator"), "{offered:?}");

    // Purge removes it all, the configuration included.
    drop(installed);
    assert!(!Path::new("/usr/bin/netward").exists());
    assert!(!Path::new("/etc/netward/server.toml").exists());
}
