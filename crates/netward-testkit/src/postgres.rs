//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` in a temporary
//! directory, served by `pg_ctl` on a unix socket only (no TCP port, so nothing leaves the
//! machine and namespaces reach it through the filesystem), stopped and removed on drop.
//!
//! PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user
//! (Debian's `postgresql` package creates it); otherwise as the current user.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The port number that names the socket file (`.s.PGSQL.<port>`); no TCP port is opened.
const SOCKET_PORT: u16 = 5432;

/// A running cluster. Dropping it stops the server and removes its files.
#[derive(Debug)]
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: String,
    as_root: bool,
    running: bool,
    durable: bool,
}

/// The newest PostgreSQL's `bin` directory under `/usr/lib/postgresql`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("no PostgreSQL under /usr/lib/postgresql: run `./dev setup` (it installs the `postgresql` package)")
    })
}

impl PgCluster {
    /// Creates and starts a cluster for tests (`fsync` off); panics with the tool's output
    /// when that fails.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// [`Self::start`] with `fsync` on, as in production: for benchmarks.
    pub fn start_durable() -> Self {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Self {
        let as_root = nix_is_root();
        let dir = tempfile::Builder::new()
            .prefix("netward-pg-")
            .tempdir()
            .expect("a temporary directory");
        let user = if as_root {
            "postgres".to_owned()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "postgres".into())
        };
        if as_root {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()));
        }
        let mut cluster = Self {
            dir,
            bin: bin_dir(),
            user,
            as_root,
            running: false,
            durable,
        };
        let data = cluster.data_dir();
        run(cluster
            .tool("initdb")
            .args(["-A", "trust", "--no-sync", "-E", "UTF8", "-U"])
            .arg(&cluster.user)
            .arg("-D")
            .arg(&data));
        cluster.resume();
        cluster
    }

    /// Starts the server again after [`Self::stop`], on the same files and socket.
    pub fn resume(&mut self) {
        let durability = if self.durable {
            ""
        } else {
            " -c fsync=off -c full_page_writes=off"
        };
        let options = format!(
            "-c listen_addresses='' -k {} -p {SOCKET_PORT}{durability} -c max_connections=300",
            self.dir.path().display()
        );
        run(self
            .tool("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-o", &options, "start"]));
        self.running = true;
    }

    /// Stops the server at once (`-m immediate`, as a crash would), keeping its files.
    pub fn stop(&mut self) {
        if self.running {
            run(self
                .tool("pg_ctl")
                .args(["-w", "-D"])
                .arg(self.data_dir())
                .args(["-m", "immediate", "stop"]));
            self.running = false;
        }
    }

    /// Creates database `name`; the connection string of it.
    pub fn create_database(&self, name: &str) -> String {
        run(self.tool("createdb").arg("-h").arg(self.dir.path()).args([
            "-p",
            &SOCKET_PORT.to_string(),
            "-U",
            &self.user,
            name,
        ]));
        self.url(name)
    }

    /// The connection string of database `name` (`key=value` form, over the unix socket).
    pub fn url(&self, name: &str) -> String {
        format!(
            "host={} port={SOCKET_PORT} user={} dbname={name}",
            self.dir.path().display(),
            self.user
        )
    }

    /// Runs `sql` in database `name` with `psql`; what it printed, unaligned and without
    /// headers (`-tA`). Panics if it fails.
    pub fn sql(&self, name: &str, sql: &str) -> String {
        let out = self
            .tool("psql")
            .arg("-h")
            .arg(self.dir.path())
            .args([
                "-p",
                &SOCKET_PORT.to_string(),
                "-U",
                &self.user,
                "-tA",
                "-c",
                sql,
                name,
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The directory holding the server's socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A PostgreSQL tool, run as the cluster's user.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .tool("pg_ctl")
                .args(["-w", "-D"])
                .arg(self.data_dir())
                .args(["-m", "immediate", "stop"])
                .output();
        }
    }
}

/// Whether this process runs as root (`/proc/self` belongs to the effective user).
fn nix_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs `command`; panics with its output when it fails.
fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
