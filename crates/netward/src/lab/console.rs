//! The lab's client of its own server's API, and waiting on what it reports.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

pub(super) struct Console {
    /// The console's namespace.
    pub(super) netns: String,
    /// The server's URL.
    pub(super) url: String,
    /// The admin token.
    pub(super) token: String,
    /// The CA certificate's path.
    pub(super) ca: String,
    /// This netward binary.
    pub(super) exe: PathBuf,
}

impl Console {
    pub(super) fn cli(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .arg(&self.exe)
            .args(args)
            .arg("--json")
            .env("NETWARD_SERVER", &self.url)
            .env("NETWARD_TOKEN", &self.token)
            .env("NETWARD_CA_CERT", &self.ca)
            .output()
            .context("run the netward CLI")?;
        if !out.status.success() {
            bail!(
                "netward {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        if out.stdout.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&out.stdout).context("read the CLI's JSON")
    }

    pub(super) fn device(&self) -> anyhow::Result<serde_json::Value> {
        let list = self.cli(&["device", "list"])?;
        list["value"]
            .get(0)
            .cloned()
            .ok_or_else(|| anyhow!("no device enrolled yet"))
    }
}

pub(super) fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if started.elapsed() > limit {
            bail!("timed out after {limit:?} waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
