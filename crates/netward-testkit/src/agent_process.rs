//! A `netward agent` process enforcing in a lab's endpoint namespace, killed on drop, and what
//! a test reads of it: its status file and its event spool.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use netward_agent::events::cgroup::ChildCgroup;
use netward_agent::events::spool::{DEFAULT_CAPACITY, Spool};

use crate::netns::Netns;

/// A `netward agent` process; SIGKILLed on drop.
#[derive(Debug)]
pub struct AgentProcess {
    child: Option<Child>,
    bin: PathBuf,
    state: PathBuf,
}

impl AgentProcess {
    /// Starts `bin agent` with its state in `state`, enforcing in the namespace at `netns`
    /// (`--netns`), with process attribution on `cgroup` (or none), enrolling with `enroll`
    /// if given (otherwise it resumes from `state`).
    pub fn start(
        bin: impl AsRef<Path>,
        state: &Path,
        netns: &Path,
        cgroup: Option<&ChildCgroup>,
        enroll: Option<&str>,
    ) -> Self {
        let mut cmd = Command::new(bin.as_ref());
        cmd.args(["agent", "--state-dir"])
            .arg(state)
            .arg("--netns")
            .arg(netns);
        match cgroup {
            Some(cg) => cmd.arg("--cgroup").arg(cg.path()),
            None => cmd.arg("--no-process-attribution"),
        };
        if let Some(t) = enroll {
            cmd.args(["--enroll", t]);
        }
        Self::spawn(cmd, bin.as_ref(), state, None)
    }

    /// Like [`AgentProcess::start`] without process attribution, with the agent's log (level
    /// `warn`) written to `log` instead of the test's standard error, for a test that reads it.
    pub fn start_logged(
        bin: impl AsRef<Path>,
        state: &Path,
        netns: &Path,
        enroll: Option<&str>,
        log: &Path,
    ) -> Self {
        let mut cmd = Command::new(bin.as_ref());
        cmd.args(["agent", "--no-process-attribution", "--state-dir"])
            .arg(state)
            .arg("--netns")
            .arg(netns);
        if let Some(t) = enroll {
            cmd.args(["--enroll", t]);
        }
        let file = std::fs::File::create(log).expect("create the agent's log file");
        Self::spawn(cmd, bin.as_ref(), state, Some(file))
    }

    /// Starts `bin agent` entirely inside `netns` (`ip netns exec`), so that it also reaches
    /// its server through that namespace's network; no process attribution.
    pub fn start_inside(bin: impl AsRef<Path>, netns: &Netns, state: &Path, enroll: &str) -> Self {
        let mut cmd = netns.exec(&bin.as_ref().to_string_lossy());
        cmd.args(["agent", "--no-process-attribution", "--enroll", enroll])
            .arg("--state-dir")
            .arg(state);
        Self::spawn(cmd, bin.as_ref(), state, None)
    }

    /// Spawns `cmd`, its standard error to `log`, or to the test's.
    fn spawn(mut cmd: Command, bin: &Path, state: &Path, log: Option<std::fs::File>) -> Self {
        let stderr = log.map_or_else(Stdio::inherit, Stdio::from);
        let child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the netward agent");
        Self {
            child: Some(child),
            bin: bin.to_owned(),
            state: state.to_owned(),
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL, and wait for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL the agent");
            c.wait().expect("reap the agent");
        }
    }

    /// `netward agent status --json`, answered from the state directory.
    pub fn status(&self) -> serde_json::Value {
        let out = Command::new(&self.bin)
            .args(["agent", "status", "--json", "--state-dir"])
            .arg(&self.state)
            .output()
            .expect("run netward agent status");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the status is JSON")
    }

    /// The hits held in the agent's on-disk event spool (sent but not yet acknowledged, or
    /// not yet sent), or `None` while the spool cannot be read (the agent holds it a moment).
    /// What a test waits on instead of guessing when hits are durable or delivered.
    pub fn spooled_hits(&self) -> Option<u64> {
        let mut spool = Spool::open(&self.state, DEFAULT_CAPACITY).ok()?;
        let events = spool.peek(usize::MAX).ok()?;
        Some(events.iter().map(|e| e.count).sum())
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
