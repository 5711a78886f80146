//! A `netward server` process on loopback with its own data directory, killed on drop, and
//! helpers to run the CLI against it.

#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_netward");

/// A `netward server` process, killed on drop.
pub struct ServerProcess {
    child: Option<Child>,
    pub url: String,
    pub admin: String,
    pub dir: tempfile::TempDir,
}

fn spawn(dir: &std::path::Path, listen: &str) -> (Child, String, Option<String>) {
    let mut child = Command::new(BIN)
        .args(["server", "--plain-http", "--listen", listen, "--data-dir"])
        .arg(dir.join("data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut admin = None;
    let url = loop {
        let line = lines.next().expect("the server exited early").unwrap();
        if line.starts_with("nwt_") {
            admin = Some(line);
        } else if let Some(url) = line.strip_prefix("netward: listening on ") {
            break url.to_owned();
        }
    };
    (child, url, admin)
}

impl ServerProcess {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (child, url, admin) = spawn(dir.path(), "127.0.0.1:0");
        Self {
            child: Some(child),
            url,
            admin: admin.expect("the first start prints an admin token"),
            dir,
        }
    }

    /// Kills the server process.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same data directory and port.
    pub fn restart(&mut self) {
        self.stop();
        let listen = self.url.trim_start_matches("http://").to_owned();
        let (child, url, _) = spawn(self.dir.path(), &listen);
        assert_eq!(url, self.url);
        self.child = Some(child);
    }

    pub fn cli(&self, token: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("NETWARD_SERVER", &self.url)
            .env("NETWARD_TOKEN", token)
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(&self.admin, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
