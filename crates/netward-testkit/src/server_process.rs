//! A `netward server` process with a data directory of its own, killed on drop, and the CLI
//! run against it. The tests pass the binary Cargo built for them
//! (`env!("CARGO_BIN_EXE_netward")`), so the process is the one that ships.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::netns::Netns;

/// A `netward server` process, killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Option<Child>,
    bin: PathBuf,
    /// The namespace it runs in (`None`: the test's own).
    netns: Option<String>,
    /// Whether it serves plain HTTP.
    plain_http: bool,
    /// Its data directory (in `dir`, or in the first replica's).
    data_dir: PathBuf,
    /// The URLs it advertises (`--advertise`), its own first.
    advertise: Vec<String>,
    /// The PostgreSQL database it keeps its data in (`--database`; `None`: SQLite).
    database: Option<String>,
    /// The URL it listens on, as it printed it.
    pub url: String,
    /// The first admin token, printed by the first start.
    pub admin: String,
    /// The CA certificate's file, printed when it serves TLS.
    pub ca: Option<String>,
    /// The SHA-256 fingerprint of the CA certificate, as it printed it.
    pub ca_fingerprint: Option<String>,
    /// The `export NETWARD_SERVER=… NETWARD_TOKEN=…` line the first start printed.
    pub exports: String,
    /// Its data directory lives in here.
    pub dir: tempfile::TempDir,
}

/// What a start printed.
struct Started {
    child: Child,
    url: String,
    admin: Option<String>,
    ca: Option<String>,
    ca_fingerprint: Option<String>,
    exports: Option<String>,
}

impl ServerProcess {
    /// Starts `bin server` with plain HTTP on a free loopback port.
    pub fn start(bin: impl AsRef<Path>) -> Self {
        Self::start_with(bin.as_ref(), None, "127.0.0.1:0", true)
    }

    /// Starts `bin server` with TLS (its own CA) on a free loopback port, in the test's own
    /// namespace.
    pub fn start_tls(bin: impl AsRef<Path>) -> Self {
        Self::start_with(bin.as_ref(), None, "127.0.0.1:0", false)
    }

    /// Starts `bin server` with TLS (its own CA) inside `netns`, listening on `listen`.
    pub fn start_tls_in(bin: impl AsRef<Path>, netns: &Netns, listen: &str) -> Self {
        Self::start_with(bin.as_ref(), Some(netns.name()), listen, false)
    }

    /// Starts `bin server` with plain HTTP on `listen` (loopback), advertising `advertise`
    /// (its own URL first, then the other replicas'), as the first replica of a fleet.
    pub fn start_advertising(bin: impl AsRef<Path>, listen: &str, advertise: &[String]) -> Self {
        Self::start_full(bin.as_ref(), None, listen, true, advertise)
    }

    /// Starts another replica of `first`: the same binary and data directory (so the same CA,
    /// database and admin token), with plain HTTP on `listen`, advertising `advertise`. Two
    /// replicas on one SQLite data directory must not run at once: stop `first` before, and
    /// keep it (its temporary directory holds the data) until this one is dropped.
    pub fn start_replica(first: &ServerProcess, listen: &str, advertise: &[String]) -> Self {
        let mut server = Self {
            child: None,
            bin: first.bin.clone(),
            netns: first.netns.clone(),
            plain_http: first.plain_http,
            data_dir: first.data_dir.clone(),
            advertise: advertise.to_vec(),
            database: first.database.clone(),
            url: String::new(),
            admin: first.admin.clone(),
            ca: first.ca.clone(),
            ca_fingerprint: first.ca_fingerprint.clone(),
            exports: first.exports.clone(),
            dir: tempfile::tempdir().expect("create a temporary directory"),
        };
        let started = server.spawn(listen);
        server.child = Some(started.child);
        server.url = started.url;
        server
    }

    /// Starts `bin server` on the PostgreSQL `database` (a connection string), listening on
    /// `listen` and advertising `advertise` (its own URL first): with TLS inside `netns`, or
    /// without one with plain HTTP on loopback, in the test's namespace.
    /// `first`: an earlier replica on the same database. The first start on a database
    /// prints the admin token; a later replica shares it (and the CA, which is in the
    /// database).
    pub fn start_on_database(
        bin: impl AsRef<Path>,
        netns: Option<&Netns>,
        listen: &str,
        advertise: &[String],
        database: &str,
        first: Option<&ServerProcess>,
    ) -> Self {
        let mut server = Self::unstarted(
            bin.as_ref(),
            netns.map(Netns::name),
            netns.is_none(),
            advertise,
        );
        server.database = Some(database.to_owned());
        let started = server.spawn(listen);
        server.child = Some(started.child);
        server.url = started.url;
        server.ca = started.ca;
        server.ca_fingerprint = started.ca_fingerprint;
        match first {
            Some(first) => {
                assert!(
                    started.admin.is_none(),
                    "a replica on a database that has an admin token prints none"
                );
                server.admin = first.admin.clone();
                server.exports = first.exports.clone();
            }
            None => {
                server.admin = started
                    .admin
                    .expect("the first start on a database prints an admin token");
                server.exports = started
                    .exports
                    .expect("the first start prints the lines to export");
            }
        }
        server
    }

    /// A server not started yet, with a data directory of its own.
    fn unstarted(bin: &Path, netns: Option<&str>, plain_http: bool, advertise: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        Self {
            child: None,
            bin: bin.to_owned(),
            netns: netns.map(str::to_owned),
            plain_http,
            data_dir: dir.path().join("data"),
            advertise: advertise.to_vec(),
            database: None,
            url: String::new(),
            admin: String::new(),
            ca: None,
            ca_fingerprint: None,
            exports: String::new(),
            dir,
        }
    }

    fn start_with(bin: &Path, netns: Option<&str>, listen: &str, plain_http: bool) -> Self {
        Self::start_full(bin, netns, listen, plain_http, &[])
    }

    fn start_full(
        bin: &Path,
        netns: Option<&str>,
        listen: &str,
        plain_http: bool,
        advertise: &[String],
    ) -> Self {
        let mut server = Self::unstarted(bin, netns, plain_http, advertise);
        let started = server.spawn(listen);
        server.child = Some(started.child);
        server.url = started.url;
        server.admin = started
            .admin
            .expect("the first start of a server prints an admin token");
        server.ca = started.ca;
        server.ca_fingerprint = started.ca_fingerprint;
        server.exports = started
            .exports
            .expect("the first start of a server prints the lines to export");
        server
    }

    fn spawn(&self, listen: &str) -> Started {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        cmd.arg("server");
        if self.plain_http {
            cmd.arg("--plain-http");
        }
        for url in &self.advertise {
            cmd.args(["--advertise", url]);
        }
        if let Some(database) = &self.database {
            cmd.args(["--database", database]);
        }
        let mut child = cmd
            .args(["--listen", listen, "--data-dir"])
            .arg(&self.data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the netward server");
        let mut lines =
            BufReader::new(child.stdout.take().expect("the server's output is piped")).lines();
        let (mut admin, mut ca, mut ca_fingerprint, mut exports) = (None, None, None, None);
        let url = loop {
            let line = lines
                .next()
                .expect("the server exited before it listened")
                .expect("read the server's output");
            if line.starts_with("nwt_") {
                admin = Some(line);
            } else if line.starts_with("export NETWARD_SERVER=") {
                exports = Some(line);
            } else if let Some(rest) = line.strip_prefix("netward: CA certificate ") {
                ca = rest.split(" (sha256").next().map(str::to_owned);
                ca_fingerprint = rest
                    .split(" (sha256 ")
                    .nth(1)
                    .map(|f| f.trim_end_matches(')').to_owned());
            } else if let Some(url) = line.strip_prefix("netward: listening on ") {
                break url.to_owned();
            }
        };
        Started {
            child,
            url,
            admin,
            ca,
            ca_fingerprint,
            exports,
        }
    }

    /// Kills the server process and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same data directory and address.
    pub fn restart(&mut self) {
        self.stop();
        let listen = self
            .url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        let started = self.spawn(&listen);
        assert_eq!(started.url, self.url, "the server restarts on its address");
        self.child = Some(started.child);
    }

    /// Runs the CLI (in the test's namespace) against the server with `token`.
    pub fn cli(&self, token: &str, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .env("NETWARD_SERVER", &self.url)
            .env("NETWARD_TOKEN", token)
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .expect("run the netward CLI")
    }

    /// Runs the CLI as the admin; its standard output. Panics if it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(&self.admin, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("the CLI prints UTF-8")
    }

    /// Runs the CLI as the admin with `--json`; the answer.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("the CLI prints JSON with --json")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
