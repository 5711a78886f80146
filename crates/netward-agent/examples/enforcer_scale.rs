//! Benchmark: the agent's enforcement path at scale, in a throwaway network namespace (root).
//!
//! `cargo run --release -p netward-agent --example enforcer_scale -- [INDICATORS]`
//!
//! Loads INDICATORS (default 1,000,000: 70% IPv4 addresses, 20% IPv4 /24s, 10% IPv6
//! addresses) as a snapshot, then applies a one-indicator delta on top, through the same
//! engine the agent runs, and prints a table. No packet is sent.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::time::Instant;

use netward_agent::enforcer::nft::NftEnforcer;
use netward_agent::runtime::engine::{Engine, PolicyState};
use netward_model::agent_wire::{AgentIndicator, PolicyUpdate};

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

fn meminfo_kib(key: &str) -> u64 {
    proc_kib("/proc/meminfo", key)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("a number"))
        .unwrap_or(1_000_000);
    let ns = Netns::add(&format!("nwbench{}", std::process::id()));
    let path = ns.path();
    let enforcer = NftEnforcer::open_in("netward", &path).unwrap();
    let mut engine = Engine::new(enforcer, PolicyState::default(), &[]);

    let started = Instant::now();
    let all = indicators(n);
    let generate = started.elapsed();
    let slab_before = meminfo_kib("Slab:") + meminfo_kib("VmallocUsed:");
    let snapshot = PolicyUpdate {
        version: 1,
        full: true,
        group: "default".into(),
        mode: netward_model::ProtectionMode::Block,
        coverage: netward_model::Coverage::All,
        upserts: all.into_values().collect(),
        removals: Vec::new(),
        server_time: 0,
    };
    let started = Instant::now();
    let report = engine.update(snapshot, 0).unwrap();
    let full = started.elapsed();
    let kernel_kib =
        (meminfo_kib("Slab:") + meminfo_kib("VmallocUsed:")).saturating_sub(slab_before);

    let mut deltas = Vec::new();
    for (i, value) in ["198.51.100.7", "198.51.100.0/25", "2001:db8:ffff::1"]
        .iter()
        .enumerate()
    {
        let delta = PolicyUpdate {
            version: 2 + i as u64,
            full: false,
            group: "default".into(),
            mode: netward_model::ProtectionMode::Block,
            coverage: netward_model::Coverage::All,
            upserts: vec![AgentIndicator {
                id: (n + 10 + i) as i64,
                value: netward_model::IndicatorValue::parse(value).unwrap(),
                action: netward_model::Action::Block,
                expires_at: None,
                title: "delta".into(),
            }],
            removals: Vec::new(),
            server_time: 0,
        };
        let started = Instant::now();
        let r = engine.update(delta, 0).unwrap();
        deltas.push((*value, started.elapsed(), r.added, r.removed, r.elapsed));
    }

    println!("| enforcer_scale | {n} indicators |");
    println!("|---|---|");
    println!("| kernel set entries after merging | {} |", report.added);
    println!(
        "| generate indicators (not agent work) | {:.2} s |",
        generate.as_secs_f64()
    );
    println!(
        "| snapshot: merge + compile + one atomic netlink transaction | {:.2} s |",
        full.as_secs_f64()
    );
    println!(
        "| of which the enforcer (nft skeleton, set diff, netlink) | {:.2} s |",
        report.elapsed.as_secs_f64()
    );
    for (value, total, added, removed, kernel) in deltas {
        println!(
            "| delta adding {value}: total (compile + diff + kernel) | {:.0} ms |",
            total.as_secs_f64() * 1000.0
        );
        println!(
            "| delta adding {value}: enforcer apply, set diff + one netlink transaction ({added} added, {removed} removed) | {:.1} ms |",
            kernel.as_secs_f64() * 1000.0
        );
    }
    println!(
        "| agent peak RSS | {} MB |",
        proc_kib("/proc/self/status", "VmHWM:") / 1024
    );
    println!(
        "| kernel memory (Slab + vmalloc delta, approximate) | {} MB |",
        kernel_kib / 1024
    );
}
