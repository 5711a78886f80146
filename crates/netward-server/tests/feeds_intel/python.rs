//! The Python side of these tests: the virtual environment `./dev setup` makes, and server
//! processes on loopback that are killed on drop.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use netward_testkit::wait::wait_until;

/// The virtual environment's python: `$NETWARD_TEST_VENV/bin/python`, by default
/// `target/test-venv` under the repository. Fails, naming the fix, when it is missing.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("NETWARD_TEST_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `./dev setup`, which installs medallion and stix2 there \
         (or point NETWARD_TEST_VENV at such a virtual environment)",
        python.display()
    );
    python
}

/// Runs `python -c script args…`; its standard output. Fails with its standard error.
pub fn run_script(script: &str, args: &[&str]) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run the venv's python");
    assert!(
        status.success(),
        "the python script failed: {}",
        String::from_utf8_lossy(&stderr)
    );
    String::from_utf8(stdout).expect("the script prints UTF-8")
}

/// A server process listening on a loopback port, killed on drop.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
}

impl ServerProcess {
    /// Starts `command` with its output in `log`, and waits until something accepts
    /// connections on `port`.
    pub fn start(mut command: Command, port: u16, log: &Path) -> Self {
        let out = std::fs::File::create(log).expect("create the server's log");
        let err = out.try_clone().expect("share the log");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start the server");
        let mut server = Self { child, port };
        wait_until(
            &format!("a server listens on port {port}"),
            Duration::from_secs(30),
            || {
                if let Ok(Some(status)) = server.child.try_wait() {
                    let output = std::fs::read_to_string(log).unwrap_or_default();
                    panic!("the server exited ({status}): {output}");
                }
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            },
        );
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
