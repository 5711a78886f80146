//! A child cgroup of the cgroup2 hierarchy, for the lab, the benchmarks and the tests: the
//! agent's attribution programs attach to it, never to the root, so that they see only the
//! processes put there. Removed on drop (after moving this process back out, if it went in).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::attribution::cgroup2_root;

/// A cgroup created below the cgroup2 root.
#[derive(Debug)]
pub struct ChildCgroup {
    path: PathBuf,
    /// Where this process was before [`ChildCgroup::enter`].
    came_from: Option<PathBuf>,
}

impl ChildCgroup {
    /// Creates `<cgroup2 root>/<name>`.
    pub fn create(name: &str) -> io::Result<Self> {
        let root =
            cgroup2_root().ok_or_else(|| io::Error::other("no cgroup2 hierarchy is mounted"))?;
        let path = root.join(name);
        std::fs::create_dir(&path)?;
        Ok(Self {
            path,
            came_from: None,
        })
    }

    /// The cgroup's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the whole calling process (every thread) into the cgroup; dropping the cgroup
    /// moves it back.
    pub fn enter(&mut self) -> io::Result<()> {
        let root =
            cgroup2_root().ok_or_else(|| io::Error::other("no cgroup2 hierarchy is mounted"))?;
        let current = std::fs::read_to_string("/proc/self/cgroup")?
            .lines()
            .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
            .ok_or_else(|| io::Error::other("this process has no cgroup2 membership"))?;
        let came_from = root.join(current.trim_start_matches('/'));
        std::fs::write(
            self.path.join("cgroup.procs"),
            std::process::id().to_string(),
        )?;
        self.came_from = Some(came_from);
        Ok(())
    }
}

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        if let Some(back) = self.came_from.take() {
            let _ = std::fs::write(back.join("cgroup.procs"), std::process::id().to_string());
        }
        // Processes that were in it may take a moment to be gone.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.path).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        tracing::warn!(path = %self.path.display(), "Cannot remove the cgroup.");
    }
}
