//! The MDE clients people already run, against a real server (issue 16): a `netward server`
//! with TLS on loopback, and `tests/mde_clients/replay.py`, which replays the request shapes of
//! `mde-client`, OpenCTI's Microsoft Defender Intel connector and misp2defender (one case per
//! client and call; see its header for the sources). Python's standard library only: python3
//! is the one thing it needs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use netward_testkit::wait_until;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

/// A `netward server` with TLS (its own CA) on a free loopback port, killed on drop.
struct TlsServer {
    child: Child,
    url: String,
    admin: String,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut child = Command::new(BIN)
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the netward server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut admin = None;
        let url = loop {
            let line = lines
                .next()
                .expect("the server exited before it listened")
                .unwrap();
            if line.starts_with("nwt_") {
                admin = Some(line);
            } else if let Some(url) = line.strip_prefix("netward: listening on ") {
                break url.to_owned();
            }
        };
        assert!(url.starts_with("https://"), "the server serves TLS: {url}");
        let ca = data.join("tls").join("ca.pem");
        wait_until(
            "the server's CA is on disk",
            Duration::from_secs(10),
            || ca.is_file(),
        );
        Self {
            child,
            url,
            admin: admin.expect("the first start of a server prints an admin token"),
            ca,
            _dir: dir,
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_mde_clients_requests_work_unchanged() {
    let server = TlsServer::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mde_clients/replay.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&server.url)
        .arg(&server.ca)
        .arg(&server.admin)
        .output()
        .expect("run python3 (the replay needs its standard library only)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the MDE clients' requests failed against {}:\n{report}",
        server.url
    );
}
