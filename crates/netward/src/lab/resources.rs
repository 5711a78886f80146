//! What the lab created, tracked so that it is removed on exit, on failure and on Ctrl-C.

use std::process::{Child, Command};
use std::sync::Mutex;

use anyhow::{Context, bail};

#[derive(Default)]
pub(super) struct LabResources {
    /// Network namespaces, by name.
    pub(super) names: Vec<String>,
    /// The server and agent processes.
    pub(super) children: Vec<Child>,
    /// Their data and state directories.
    pub(super) dir: Option<tempfile::TempDir>,
    /// The lab's cgroup, which this process moved into.
    pub(super) cgroup: Option<netward_agent::events::cgroup::ChildCgroup>,
}

/// The running lab's resources, reachable from the Ctrl-C path.
static ACTIVE: Mutex<Option<LabResources>> = Mutex::new(None);

pub(super) fn track(add: impl FnOnce(&mut LabResources)) {
    if let Ok(mut active) = ACTIVE.lock() {
        add(active.get_or_insert_with(LabResources::default));
    }
}

/// Removes whatever the running lab created: namespaces, processes, files. Safe to call twice.
pub fn cleanup() {
    let taken = ACTIVE.lock().ok().and_then(|mut a| a.take());
    drop(taken);
}

impl Drop for LabResources {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
        // After the children are gone: moves this process back out and removes it.
        self.cgroup.take();
        self.dir.take();
    }
}

pub(super) fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("run `ip` (install iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
