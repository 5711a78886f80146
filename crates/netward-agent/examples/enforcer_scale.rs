//! Benchmark: the agent's enforcement path at scale, in a throwaway network namespace (root).
//!
//! `cargo run --release -p netward-agent --example enforcer_scale -- [SIZES...]`
//!
//! For each size (default 10,000, 100,000 and 1,000,000 indicators: 70% IPv4 addresses, 20%
//! IPv4 /24s, 10% IPv6 addresses, all block): loads the indicators as a snapshot through the
//! engine the agent runs (parsed as it is read, as the agent reads a policy answer), then
//! applies deltas on top (one new address, /25 range or IPv6 address; 1,000 and, at
//! 1,000,000, 100,000 indicators turned from block to audit), then the same snapshot again,
//! then restarts on the state directory in a process of its own; prints one table with a
//! column per size. No packet is sent. The agent's work runs in a process of its own that
//! reads the snapshot's JSON body from a file, so its memory is the agent's, not the
//! generator's; its peak RSS is read for each phase (snapshot, deltas, snapshot again), the
//! peak reset between them (`/proc/self/clear_refs`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use netward_agent::enforcer::nft::NftEnforcer;
use netward_agent::held::SharedIndicators;
use netward_agent::runtime::engine::{Engine, PolicyState};
use netward_agent::runtime::journal;
use netward_agent::runtime::upserts::{Upserts, read_against};
use netward_model::agent_wire::{AgentIndicator, PolicyIndicator, PolicyUpdate};
use netward_model::{Action, Coverage, IndicatorValue, ProtectionMode};

use netward_testkit::Netns;
use netward_testkit::bench::indicators;

/// The value in KiB of `key` in a `/proc` file of `key: value kB` lines.
fn proc_kib(path: &str, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// This process's peak RSS in MB since the last call, which starts the next peak from the
/// present RSS (`/proc/self/clear_refs`).
fn peak_mb() -> u64 {
    let peak = proc_kib("/proc/self/status", "VmHWM:") / 1024;
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    peak
}

fn meminfo_kib(key: &str) -> u64 {
    proc_kib("/proc/meminfo", key)
}

fn update(version: u64, full: bool, upserts: Vec<AgentIndicator>) -> PolicyUpdate {
    PolicyUpdate {
        version,
        full,
        group: "default".into(),
        mode: ProtectionMode::Block,
        coverage: Coverage::All,
        upserts,
        removals: Vec::new(),
        server_time: 0,
    }
}

/// The snapshot in `path`, read as the agent reads a policy answer: parsed as it is read, a
/// chunk at a time, into the compact form, against the held indicators (`held`).
fn read_snapshot(path: &str, held: SharedIndicators) -> PolicyUpdate<Upserts> {
    let file = std::fs::File::open(path).unwrap();
    let reader = std::io::BufReader::with_capacity(64 << 10, file);
    read_against(held, || serde_json::from_reader(reader)).unwrap()
}

/// `update` (without upserts) as the agent reads it, with `upserts`.
fn compact(update: PolicyUpdate, upserts: Vec<PolicyIndicator>) -> PolicyUpdate<Upserts> {
    let update = PolicyUpdate::<Vec<PolicyIndicator>>::from(update);
    PolicyUpdate {
        upserts: upserts.into(),
        version: update.version,
        full: update.full,
        group: update.group,
        mode: update.mode,
        coverage: update.coverage,
        removals: update.removals,
        server_time: update.server_time,
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Applies `delta` as the agent does (its journal line, the update, the line saved) and
/// describes it: the whole in the agent / the enforcer's share (elements added, removed).
fn apply_delta(
    engine: &mut Engine<NftEnforcer>,
    state: &std::path::Path,
    delta: PolicyUpdate<Upserts>,
) -> String {
    let started = Instant::now();
    let line = journal::journal_line(&delta);
    let r = engine.update(delta, 0).unwrap();
    journal::save(state, engine, line.as_deref()).unwrap();
    format!(
        "{} / {} ({}, {})",
        ms(started.elapsed()),
        ms(r.elapsed),
        r.added,
        r.removed
    )
}

/// Writes the snapshot of `n` indicators as the server sends it, and measures the agent's
/// work on it in a process of its own (`--measure`), so that the generator's memory is not
/// counted: prints what that process prints.
fn one(n: usize) {
    let file = tempfile::NamedTempFile::new().unwrap();
    let all = indicators(n);
    serde_json::to_writer(
        std::io::BufWriter::new(file.as_file()),
        &update(1, true, all.into_values().collect()),
    )
    .unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--measure",
            &file.path().display().to_string(),
            &n.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Measures the agent's work on the snapshot body in `path` (`n` indicators) and prints
/// `row<TAB>value` lines.
fn measure(path: &str, n: usize) {
    let ns = Netns::add(&format!("nwbench{}", std::process::id()));
    let enforcer = NftEnforcer::open_in("netward", &ns.path()).unwrap();
    let mut engine = Engine::new(enforcer, PolicyState::default(), &[]);
    let slab_before = meminfo_kib("Slab:") + meminfo_kib("VmallocUsed:");
    // On disk, as the agent's /var/lib/netward is (/tmp may be memory, where a sync is free).
    let state = tempfile::tempdir_in("/var/tmp").unwrap();
    let started = Instant::now();
    // As the agent pulls it: parsed into the compact form as it is read.
    let snapshot = read_snapshot(path, engine.indicators());
    // The indicators the bulk deltas turn to audit (a copy the agent would not hold).
    let bulk: Vec<PolicyIndicator> = snapshot
        .upserts
        .changed
        .iter()
        .take(100_000)
        .copied()
        .collect();
    let report = engine.update(snapshot, 0).unwrap();
    let snapshot = started.elapsed();
    let snapshot_peak = peak_mb();
    let kernel_kib =
        (meminfo_kib("Slab:") + meminfo_kib("VmallocUsed:")).saturating_sub(slab_before);
    let started = Instant::now();
    journal::save(state.path(), &engine, None).unwrap();
    let snapshot_saved = started.elapsed();
    let mut rows: Vec<(String, String)> = vec![
        ("kernel set entries".into(), report.added.to_string()),
        (
            "snapshot, received → kernel".into(),
            format!("{:.2} s", snapshot.as_secs_f64()),
        ),
        (
            "of which the enforcer (nft skeleton, netlink)".into(),
            format!("{:.2} s", report.elapsed.as_secs_f64()),
        ),
        (
            "then saved to the state directory (policy.json)".into(),
            format!("{:.2} s", snapshot_saved.as_secs_f64()),
        ),
    ];
    let mut version = 2;
    let first_id = i64::try_from(n).unwrap() + 10;
    for (id, (label, value)) in (first_id..).zip([
        ("delta: 1 new IPv4 address", "198.51.100.7"),
        ("delta: 1 more IPv4 address", "198.51.100.9"),
        ("delta: 1 new /25 range", "198.51.100.128/25"),
        (
            "delta: 1 new /25 range in the fullest shard (101.0.0.0/6)",
            "102.255.255.128/25",
        ),
        ("delta: 1 new IPv6 address", "2001:db8:ffff::1"),
    ]) {
        let ind = AgentIndicator {
            id,
            value: IndicatorValue::parse(value).unwrap(),
            action: Action::Block,
            expires_at: None,
            title: "delta".into(),
        };
        let took = apply_delta(
            &mut engine,
            state.path(),
            compact(update(version, false, Vec::new()), vec![(&ind).into()]),
        );
        version += 1;
        rows.push((
            format!(
                "{label}, in the agent (saved to its journal) / of which the enforcer (elements added, removed)"
            ),
            took,
        ));
    }
    for count in [1_000, 100_000] {
        let label = format!(
            "delta: {count} indicators block → audit, in the agent (saved) / of which the enforcer (elements added, removed)"
        );
        if count > bulk.len() || (count == 100_000 && n < 1_000_000) {
            rows.push((label, "-".into()));
            continue;
        }
        let changed: Vec<PolicyIndicator> = bulk[..count]
            .iter()
            .map(|i| {
                let mut i = *i;
                i.entry.action = Action::Audit;
                i
            })
            .collect();
        let took = apply_delta(
            &mut engine,
            state.path(),
            compact(update(version, false, Vec::new()), changed),
        );
        version += 1;
        rows.push((label, took));
        // Back to block, so that the next delta starts from the snapshot's sets.
        apply_delta(
            &mut engine,
            state.path(),
            compact(update(version, false, Vec::new()), bulk[..count].to_vec()),
        );
        version += 1;
    }
    drop(bulk);
    let deltas_peak = peak_mb();
    let started = Instant::now();
    let mut again = read_snapshot(path, engine.indicators());
    again.version = version;
    let r = engine.update(again, 0).unwrap();
    rows.push((
        "the same snapshot again (a server restart), in the agent".into(),
        format!(
            "{} ({} elements written)",
            ms(started.elapsed()),
            r.added + r.removed
        ),
    ));
    let again_peak = peak_mb();
    // A restart, in a process of its own: the state directory read, then enforced whole.
    let exe = std::env::current_exe().unwrap();
    let restart = Command::new(exe)
        .args([
            "--restart",
            &state.path().display().to_string(),
            &ns.path().display().to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        restart.status.success(),
        "{}",
        String::from_utf8_lossy(&restart.stderr)
    );
    let restart = String::from_utf8_lossy(&restart.stdout);
    let (restart_took, restart_peak) = restart.trim().split_once('\t').unwrap();
    rows.push((
        "agent restart: policy.json and journal read, then enforced whole".into(),
        restart_took.to_owned(),
    ));
    rows.push((
        "agent peak RSS: the snapshot / the deltas / the snapshot again / a restart".into(),
        format!("{snapshot_peak} / {deltas_peak} / {again_peak} / {restart_peak} MB"),
    ));
    rows.push((
        "kernel memory (Slab + vmalloc delta, approximate)".into(),
        format!("{} MB", kernel_kib / 1024),
    ));
    engine.uninstall().unwrap();
    for (row, value) in rows {
        println!("{row}\t{value}");
    }
}

/// A restart of the agent on the state directory `state`, enforcing in the network namespace
/// at `netns`: prints the time it took and the peak RSS in MB.
fn restart(state: &str, netns: &str) {
    let started = Instant::now();
    let mut policy: PolicyState =
        netward_agent::runtime::state::read(std::path::Path::new(state), "policy.json")
            .unwrap()
            .unwrap();
    journal::replay(std::path::Path::new(state), &mut policy).unwrap();
    let enforcer = NftEnforcer::open_in("netward", std::path::Path::new(netns)).unwrap();
    let mut engine = Engine::new(enforcer, policy, &[]);
    engine.enforce(0).unwrap();
    println!(
        "{:.2} s\t{}",
        started.elapsed().as_secs_f64(),
        proc_kib("/proc/self/status", "VmHWM:") / 1024
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--restart") => return restart(&args[1], &args[2]),
        Some("--one") => return one(args[1].parse().expect("a number")),
        Some("--measure") => return measure(&args[1], args[2].parse().expect("a number")),
        _ => {}
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        args.iter().map(|a| a.parse().expect("a number")).collect()
    };
    let exe = std::env::current_exe().unwrap();
    let mut table: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    for &n in &sizes {
        let out = Command::new(&exe)
            .args(["--one", &n.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        table.insert(n, rows);
    }
    print!("| Indicators |");
    for n in &sizes {
        print!(" {n} |");
    }
    println!();
    println!("|---|{}", "---|".repeat(sizes.len()));
    let first = &table[&sizes[0]];
    for (i, (row, _)) in first.iter().enumerate() {
        print!("| {row} |");
        for n in &sizes {
            print!(" {} |", table[n].get(i).map_or("", |r| r.1.as_str()));
        }
        println!();
    }
}
