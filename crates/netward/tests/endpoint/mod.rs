//! The endpoint side of the privileged end-to-end tests: a lab endpoint with a real
//! `netward agent` enforcing in it, BPF attribution on a cgroup of the test's own, and Python
//! clients run inside that cgroup and namespace.

#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BIN, ServerProcess};
use netward_agent::events::cgroup::ChildCgroup;

use crate::lab::{self, Lab};

/// A child cgroup holding only this test's client processes; removed on drop. The agent's
/// BPF programs attach here, never to the root.
pub fn test_cgroup(tag: &str) -> ChildCgroup {
    ChildCgroup::create(&format!("netward-test-{}-{tag}", std::process::id()))
        .expect("a cgroup2 hierarchy is mounted and writable")
}

/// A `netward agent` process enforcing in a lab's endpoint namespace, with process
/// attribution on the test's cgroup (or none); killed on drop.
pub struct Agent {
    child: Option<Child>,
    state: PathBuf,
}

impl Agent {
    pub fn start(
        state: &Path,
        netns: PathBuf,
        cgroup: Option<&ChildCgroup>,
        enroll: Option<&str>,
    ) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args(["agent", "--state-dir"])
            .arg(state)
            .arg("--netns")
            .arg(&netns);
        match cgroup {
            Some(cg) => cmd.arg("--cgroup").arg(cg.path()),
            None => cmd.arg("--no-process-attribution"),
        };
        if let Some(t) = enroll {
            cmd.args(["--enroll", t]);
        }
        let child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Self {
            child: Some(child),
            state: state.to_owned(),
        }
    }

    /// SIGKILL, and wait for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// `netward agent status --json`, answered locally.
    pub fn status(&self) -> serde_json::Value {
        let out = Command::new(BIN)
            .args(["agent", "status", "--json", "--state-dir"])
            .arg(&self.state)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs Python `code` in the test's cgroup and the endpoint's namespace; its standard output.
pub fn python(lab: &Lab, cgroup: &ChildCgroup, code: &str) -> String {
    let procs = cgroup.path().join("cgroup.procs");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}' && exec ip netns exec '{}' python3 -c \"$0\"",
            procs.display(),
            lab.ep
        ))
        .arg(code)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Python that sends `text` over TCP and UDP to `host` and prints what it saw, one line per
/// protocol, then stays alive a moment so that its /proc entry can be read.
pub fn send_both(host: &str, family: &str, text: &str) -> String {
    format!(
        r#"
import socket, time
fam = socket.{family}
try:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(("{host}", {port}))
    s.sendall(b"{text}-tcp")
    s.close()
    print("tcp sent")
except ConnectionRefusedError:
    print("tcp refused")
try:
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.sendto(b"{text}-udp", ("{host}", {port}))
    print("udp sent")
except PermissionError:
    print("udp refused")
time.sleep(1.5)
"#,
        port = lab::PORT
    )
}

pub fn wait_until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn start_lab(s: &ServerProcess, tag: &str) -> (Lab, ChildCgroup, tempfile::TempDir, Agent) {
    let lab = Lab::new();
    let cgroup = test_cgroup(tag);
    let state = tempfile::tempdir().unwrap();
    let token = s.ok(&["enroll-token", "create"]).trim().to_owned();
    let agent = Agent::start(state.path(), lab.ep_path(), Some(&cgroup), Some(&token));
    wait_until("the device is in sync", Duration::from_secs(20), || {
        let m = s.json(&["device", "list"]);
        (m["value"][0]["inSync"] == true).then_some(())
    });
    (lab, cgroup, state, agent)
}

pub fn in_sync(s: &ServerProcess) {
    wait_until("the device is in sync", Duration::from_secs(10), || {
        let m = s.json(&["device", "list"]);
        (m["value"][0]["inSync"] == true).then_some(())
    });
}
