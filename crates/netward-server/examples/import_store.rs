//! The store's half of the import benchmark (`BENCHMARKS.md` §5), on both backends: the same
//! N unique indicators (default 1,000,000; 70% IPv4 addresses, 20% IPv4 /24s, 10% IPv6
//! addresses, in random order, as `scripts/bench-import.sh` makes them), validated and stored
//! with `import_indicators` in chunks of 50,000, into embedded SQLite in a temporary directory
//! and into PostgreSQL on a throwaway cluster (`PgCluster`: a unix socket, `fsync=off`). Each
//! backend runs in a process of its own, so that its peak RSS is its own; then one containment
//! search at that size. Prints a table.
//!
//! `cargo run --release -p netward-server --example import_store [ROWS]`

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::collections::HashSet;
use std::process::Command;
use std::time::Instant;

use netward_model::{Actor, ActorKind, IndicatorDraft, IndicatorSubmission, IndicatorValue};
use netward_server::store::{
    Change, ImportSource, ImportSummary, IndicatorQuery, IndicatorStore, PgStore, SqliteStore,
};

/// Rows validated and stored at a time, as the server's import does.
const CHUNK_ROWS: usize = 50_000;

/// Makes the benchmark's rows chunk by chunk, never holding them all.
struct Generated {
    left: usize,
    state: u64,
    seen: HashSet<String>,
}

impl Generated {
    fn new(rows: usize) -> Self {
        Self {
            left: rows,
            state: 0x9e37_79b9_7f4a_7c15,
            seen: HashSet::with_capacity(rows),
        }
    }

    /// xorshift64*: the same values on every run and both backends.
    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn value(&mut self) -> String {
        let r = self.next_u64();
        let b = |shift: u32| (r >> shift) & 0xff;
        match r % 10 {
            0..=6 => format!("{}.{}.{}.{}", 11 + b(8) % 89, b(16), b(24), 1 + b(32) % 254),
            7 | 8 => format!("{}.{}.{}.0/24", 100 + b(8) % 61, b(16), b(24)),
            _ => format!(
                "2001:db8:{:x}:{:x}::{:x}",
                (r >> 8) & 0xffff,
                (r >> 24) & 0xffff,
                1 + (r >> 40) % 0xffff
            ),
        }
    }
}

impl ImportSource for Generated {
    fn next_chunk(&mut self) -> Option<Vec<IndicatorDraft>> {
        let n = self.left.min(CHUNK_ROWS);
        self.left -= n;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let value = self.value();
            if value.starts_with("127.") || !self.seen.insert(value.clone()) {
                continue;
            }
            let draft = IndicatorSubmission {
                indicator_value: Some(value),
                action: Some("Block".into()),
                severity: Some("Medium".into()),
                title: Some("bench feed".into()),
                generate_alert: Some(false),
                ..Default::default()
            }
            .validate(0)
            .expect("a valid row");
            out.push(draft);
        }
        (!out.is_empty()).then_some(out)
    }

    fn stored(&mut self, _drafts: &[IndicatorDraft], _ids: &[i64]) {}

    fn summary(&self) -> ImportSummary {
        ImportSummary {
            format: "csv",
            items: self.seen.len() as u64,
            failed: 0,
        }
    }
}

/// The peak RSS of process `pid`, in MB.
fn peak_rss_mb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The largest peak RSS among a cluster's processes (its postmaster's pid is the first line
/// of the socket's lock file), in MB.
fn postgres_peak_rss_mb(cluster: &netward_testkit::postgres::PgCluster) -> u64 {
    let lock = cluster.socket_dir().join(".s.PGSQL.5432.lock");
    let postmaster = std::fs::read_to_string(lock).unwrap_or_default();
    let postmaster = postmaster
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut pids = vec![postmaster.clone()];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid …`
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1));
        if ppid == Some(postmaster.as_str()) {
            pids.push(pid);
        }
    }
    pids.iter().map(|p| peak_rss_mb(p)).max().unwrap_or(0)
}

/// Imports `rows` into `store` and searches it once; one table row.
fn measure(backend: &str, store: &dyn IndicatorStore, rows: usize) -> (String, String, String) {
    let actor = Actor {
        name: "bench".into(),
        kind: ActorKind::ApiToken,
    };
    let mut source = Generated::new(rows);
    let started = Instant::now();
    let stored = store
        .import_indicators(
            &mut source,
            &Change {
                actor: &actor,
                at: 1,
            },
        )
        .expect("the import");
    let import = started.elapsed();
    let query = IndicatorQuery {
        containing: Some(IndicatorValue::parse("120.1.2.77").expect("an address")),
        include_expired: true,
        top: 100,
        ..IndicatorQuery::default()
    };
    let started = Instant::now();
    let found = store.count_indicators(&query, 0).expect("a search");
    let search = started.elapsed();
    (
        format!(
            "| {backend} | {rows} | {:.1} s (created {}) |",
            import.as_secs_f64(),
            stored.created
        ),
        format!("{:.0} ms ({found} found)", search.as_secs_f64() * 1000.0),
        format!("{} MB", peak_rss_mb("self")),
    )
}

fn run_backend(backend: &str, rows: usize) {
    let (head, search, rss) = match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let store = SqliteStore::open(dir.path()).expect("the SQLite store");
            let (head, search, rss) = measure(backend, &store, rows);
            (head, search, format!("{rss} | -"))
        }
        _ => {
            let cluster = netward_testkit::postgres::PgCluster::start();
            let store = PgStore::open(&cluster.create_database("bench")).expect("the store");
            let (head, search, rss) = measure(backend, &store, rows);
            let pg = postgres_peak_rss_mb(&cluster);
            (head, search, format!("{rss} | {pg} MB"))
        }
    };
    println!("{head} {rss} | {search} |");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, backend, rows] = args.as_slice()
        && flag == "--backend"
    {
        run_backend(backend, rows.parse().expect("a number of rows"));
        return;
    }
    let rows = args
        .get(1)
        .map_or(1_000_000, |r| r.parse().expect("a number of rows"));
    let me = std::env::current_exe().expect("this program's path");
    println!(
        "| backend | rows | import_indicators | this process's peak RSS | PostgreSQL's largest process, peak RSS | containment search (count) |"
    );
    println!("|---|---|---|---|---|---|");
    for backend in ["sqlite", "postgres"] {
        let status = Command::new(&me)
            .args(["--backend", backend, &rows.to_string()])
            .status()
            .expect("a run");
        assert!(status.success(), "the {backend} run failed");
    }
}
