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
    /// What the rows show, in one line ([`verdict`]).
    pub verdict: String,
}

/// What the rows show: which protocols reached the remote host and which were blocked, and
/// what that means for the coverage, e.g. "UDP passed, TCP and ICMP were blocked: coverage
/// tcp reproduces MDE, which blocks TCP only".
pub fn verdict(coverage: &str, rows: &[LabRow]) -> String {
    let names = |pick: &dyn Fn(&LabRow) -> bool| -> Vec<&str> {
        rows.iter()
            .filter(|r| pick(r))
            .map(|r| r.protocol.as_str())
            .collect()
    };
    let passed = names(&|r| {
        r.reached_remote.starts_with("the text arrived")
            || r.reached_remote.starts_with("the echo request arrived")
    });
    let blocked = names(&|r| r.reached_remote.starts_with("nothing"));
    let unknown = names(&|r| {
        !r.reached_remote.starts_with("nothing")
            && !r.reached_remote.starts_with("the text arrived")
            && !r.reached_remote.starts_with("the echo request arrived")
    });
    let list = |v: &[&str]| match v {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let tcp_blocked = blocked.contains(&"TCP");
    let mut line = match (passed.is_empty(), coverage) {
        (true, _) if unknown.is_empty() => {
            format!("every protocol was blocked ({})", list(&blocked))
        }
        (true, _) => format!("{} blocked", list(&blocked)),
        (false, "tcp") if tcp_blocked => format!(
            "{} passed, {} blocked: coverage tcp reproduces MDE, which blocks TCP only",
            list(&passed),
            list(&blocked)
        ),
        (false, _) => format!(
            "{} passed although coverage {coverage} should block {}: the block was not enforced there",
            list(&passed),
            if coverage == "tcp" { "TCP" } else { "it" }
        ),
    };
    if !unknown.is_empty() {
        line.push_str(&format!("; unknown for {}", list(&unknown)));
    }
    line
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

#[cfg(test)]
mod tests {
    use super::{LabRow, verdict};

    fn row(protocol: &str, reached: &str) -> LabRow {
        LabRow {
            protocol: protocol.into(),
            reached_remote: reached.into(),
            endpoint_saw: String::new(),
            server_recorded: String::new(),
        }
    }

    #[test]
    fn the_verdict_follows_the_rows() {
        let all = [
            row("UDP", "nothing"),
            row("TCP", "nothing"),
            row("ICMP", "nothing: the request never left the endpoint"),
        ];
        assert_eq!(
            verdict("all", &all),
            "every protocol was blocked (UDP, TCP and ICMP)"
        );
        let mde = [
            row("UDP", "the text arrived: \"x\""),
            row("TCP", "nothing"),
            row("ICMP", "the echo request arrived (it was answered)"),
        ];
        assert_eq!(
            verdict("tcp", &mde),
            "UDP and ICMP passed, TCP blocked: coverage tcp reproduces MDE, which blocks TCP only"
        );
        let broken = [row("UDP", "the text arrived: \"x\""), row("TCP", "nothing")];
        assert!(verdict("all", &broken).starts_with("UDP passed although coverage all"));
        let unsure = [row("TCP", "nothing"), row("ICMP", "unknown: no reply")];
        assert_eq!(verdict("all", &unsure), "TCP blocked; unknown for ICMP");
    }
}
