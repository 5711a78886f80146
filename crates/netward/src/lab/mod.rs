//! `netward lab`: the field report's experiment, rebuilt on this machine.
//!
//! It creates three network namespaces: a console (198.18.1.1) running `netward server` over
//! TLS, an endpoint (198.18.1.2 towards the console, 198.18.0.1 towards the remote host)
//! running `netward agent`, enrolled with a token that pins the console's CA, and a remote host
//! (198.18.0.2) listening on TCP and UDP port 55440. It registers the remote address as a block
//! indicator titled `lab-test-access`, waits for the device to acknowledge it, sends text over
//! UDP and TCP (and a ping), and prints what reached the remote host, what the endpoint saw,
//! and the event the server recorded for each (outcome, reason, process, alert).
//!
//! The lab moves itself into a cgroup of its own and attaches the agent's attribution programs
//! there, so the events name the lab as the process, and no other process on the machine is
//! touched. Everything it created (namespaces, processes, the cgroup, files) is removed on
//! exit, on failure and on Ctrl-C. Addresses are from 198.18.0.0/15, the range reserved for
//! benchmarking, and never leave the three namespaces.
//!
//! `resources.rs` tracks and removes what the lab creates; `console.rs` is its client of the
//! lab server's API; `experiment.rs` runs the steps.

mod console;
mod experiment;
mod resources;

use anyhow::bail;
use serde::Serialize;

pub use resources::cleanup;

/// One row of the result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabRow {
    /// TCP, UDP or ICMP.
    pub protocol: String,
    /// What arrived at the remote host.
    pub reached_remote: String,
    /// What the sending application saw.
    pub endpoint_saw: String,
    /// What the server records for this traffic.
    pub server_recorded: String,
}

/// The result of one run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabReport {
    /// `all` or `tcp`.
    pub coverage: String,
    /// Milliseconds from the API's answer to the device's acknowledgement.
    pub propagation_ms: u128,
    /// The policy version the device acknowledged.
    pub policy_version: u64,
    /// One row per protocol.
    pub rows: Vec<LabRow>,
}

/// Everything the lab created, removed on drop.
/// Runs the experiment with `coverage` (`all` or `tcp`).
pub fn run(coverage: &str) -> anyhow::Result<LabReport> {
    if !nix::unistd::geteuid().is_root() {
        bail!("netward lab needs root: it creates network namespaces and nftables rules");
    }
    if coverage != "all" && coverage != "tcp" {
        bail!("--coverage takes all or tcp");
    }
    let id = std::process::id();
    let (cs, ep, rh) = (
        format!("nwlab{id}cs"),
        format!("nwlab{id}ep"),
        format!("nwlab{id}rh"),
    );
    let report = experiment::experiment(coverage, id, &cs, &ep, &rh);
    cleanup();
    report
}
