//! The endpoint side of the privileged end-to-end tests, on top of the test kit: a lab
//! endpoint with a real `netward agent` enforcing in it, BPF attribution on a cgroup of the
//! test's own, and Python clients run inside that cgroup and namespace.

#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::process::Command;
use std::time::Duration;

use netward_agent::events::cgroup::ChildCgroup;
use netward_testkit::lab::{self, Lab};
use netward_testkit::{AgentProcess, ServerProcess, test_cgroup, wait_until};

/// The binary under test, as Cargo built it.
pub const BIN: &str = env!("CARGO_BIN_EXE_netward");

/// Runs Python `code` in the test's cgroup and the endpoint's namespace; its standard output.
pub fn python(lab: &Lab, cgroup: &ChildCgroup, code: &str) -> String {
    let procs = cgroup.path().join("cgroup.procs");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}' && exec ip netns exec '{}' python3 -c \"$0\"",
            procs.display(),
            lab.ep.name()
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
/// protocol, then stays alive a moment so that its /proc entry can be read (the sleep keeps
/// the process alive for the agent; nothing waits on it).
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

/// A lab, a cgroup tagged `tag`, and an agent enrolled with `s` and in sync.
pub fn start_lab(
    s: &ServerProcess,
    tag: &str,
) -> (Lab, ChildCgroup, tempfile::TempDir, AgentProcess) {
    let lab = Lab::new();
    let cgroup = test_cgroup(tag);
    let state = tempfile::tempdir().unwrap();
    let token = s.ok(&["enroll-token", "create"]).trim().to_owned();
    let agent = AgentProcess::start(
        BIN,
        state.path(),
        &lab.ep_path(),
        Some(&cgroup),
        Some(&token),
    );
    wait_until("the device is in sync", Duration::from_secs(20), || {
        s.json(&["device", "list"])["value"][0]["inSync"] == true
    });
    (lab, cgroup, state, agent)
}

/// Waits until the one device has applied the server's current version.
pub fn in_sync(s: &ServerProcess) {
    wait_until("the device is in sync", Duration::from_secs(10), || {
        s.json(&["device", "list"])["value"][0]["inSync"] == true
    });
}
