//! The small, static part of the table: its sets (declared empty) and its chains and rules,
//! as `nft -f` scripts. Set elements never go through `nft`: at a million entries it takes
//! minutes (see `shared/reference/rust-ecosystem.md` §1.3); they go over netlink.
//!
//! Rules, in order, for the output hook (destination) and the input hook (source):
//! 0. loopback traffic is accepted: it never leaves the machine, and it carries the resets
//!    and ICMP errors the output rules generate (sent from the blocked address to us, so a
//!    block that covers the device's own address must not eat them); in the output chain,
//!    TCP resets and ICMP errors are accepted too ([`NOT_NEW_FLOWS`]): they carry the input
//!    rules' refusals back to a blocked peer, and are never a new flow; and IPv6 neighbour
//!    discovery, IPv6's ARP, is accepted in both chains ([`NEIGHBOUR_DISCOVERY`]);
//! 1. allow sets: accept;
//! 2. block sets: depends on mode and coverage (below);
//! 3. audit sets: count and accept.
//!
//! Each set is looked up once per packet: a match jumps to a chain of its action
//! (`out_allow`, `in_block`, ...) that logs the hit and decides. A packet that matches nothing
//! costs the loopback check and one lookup in each of its family's six sets.
//!
//! | mode  | coverage | TCP                 | other protocols                       |
//! |-------|----------|---------------------|---------------------------------------|
//! | block | all      | reject with a reset | reject with ICMP admin-prohibited     |
//! | block | tcp      | reject with a reset | count and accept (audited)            |
//! | audit | any      | count and accept    | count and accept                      |
//!
//! Every rule that decides something logs the hit to the agent's NFLOG group first (see
//! `verdicts`), with the outcome and reason in the prefix (`crate::log_prefix`).
//!
//! ICMP admin-prohibited, rather than a silent drop, makes the application fail at once: for
//! locally generated packets the send itself returns `EPERM`.

use netward_model::{Action, Coverage, Family, ProtectionMode};

use crate::SetId;

/// Hook priority: before the usual `filter` chains (0), so that an allow here cannot be
/// overridden by a block elsewhere in our own table and our verdicts come first.
pub const PRIORITY: i32 = -10;

/// Outgoing packets that never open a flow, accepted before any lookup: a TCP reset and the
/// ICMP errors, when conntrack relates them to a flow it tracks. They are what our own input
/// rules send back to a blocked peer (`reject with tcp reset`, `reject with icmpx
/// admin-prohibited`, both related to the refused packet's flow); judged as new outbound
/// traffic they would be logged as an attempt no process made and dropped, so the peer would
/// wait for a timeout instead of being refused at once. A reset or an error that relates to
/// no tracked flow (one a raw socket made up, say) is judged like any other packet.
pub const NOT_NEW_FLOWS: [&str; 3] = [
    "tcp flags & rst == rst ct state related accept",
    "icmp type { destination-unreachable, time-exceeded, parameter-problem } ct state related accept",
    "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } ct state related accept",
];

/// IPv6 neighbour discovery, accepted in both directions before any lookup: it is IPv6's ARP
/// (which an `inet` table never sees), carries no flow, and without it a blocked peer on the
/// link could not even be told it is refused: the answers to its neighbour solicitations
/// would be judged as traffic to it.
pub const NEIGHBOUR_DISCOVERY: &str = "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept";

/// The chains the agent owns, with the packet field they match.
pub const CHAINS: [(&str, &str); 2] = [("output", "daddr"), ("input", "saddr")];

/// A script that creates the table with its empty sets, chains and rules.
pub fn create_script(table: &str, mode: ProtectionMode, coverage: Coverage) -> String {
    let mut s = format!("table inet {table} {{\n");
    for id in SetId::all() {
        let key = match id.family {
            Family::V4 => "ipv4_addr",
            Family::V6 => "ipv6_addr",
        };
        // `timeout`: an element may carry its expiry, and the kernel stops matching it then.
        // Reclaiming the memory of expired elements walks the whole set: once a minute, not
        // every second (the default), is plenty at a million elements.
        let flags = if id.ranges {
            " flags interval, timeout; gc-interval 1m;"
        } else {
            " flags timeout; gc-interval 1m;"
        };
        s.push_str(&format!("  set {} {{ type {key};{flags} }}\n", id.name()));
    }
    s.push_str("}\n");
    s.push_str(&rules_script(table, mode, coverage));
    s
}

/// The chain that holds what `action` does to traffic of a base chain (`out_block`, ...).
fn action_chain(chain: &str, action: Action) -> String {
    let dir = if chain == "input" { "in" } else { "out" };
    format!("{dir}_{}", action.as_str())
}

/// Every chain of the table with the rules it holds, in order: the two base chains first
/// (loopback accepted, then one lookup per set that jumps to its action's chain), then the six
/// action chains (log, then the verdict; each ends in a verdict, so a jump never falls
/// through).
pub fn chains(mode: ProtectionMode, coverage: Coverage) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (chain, field) in CHAINS {
        // Traffic between local addresses (which includes the resets and ICMP errors our own
        // rules generate, sent from the blocked address to us) runs over loopback and never
        // leaves the machine: it must reach the application.
        let lo = if chain == "input" { "iif" } else { "oif" };
        let mut rules = vec![format!("{lo} lo accept"), NEIGHBOUR_DISCOVERY.to_owned()];
        if chain == "output" {
            rules.extend(NOT_NEW_FLOWS.iter().map(|r| (*r).to_owned()));
        }
        for action in [Action::Allow, Action::Block, Action::Audit] {
            for id in SetId::all().into_iter().filter(|i| i.action == action) {
                let proto = match id.family {
                    Family::V4 => "ip",
                    Family::V6 => "ip6",
                };
                rules.push(format!(
                    "{proto} {field} @{} jump {}",
                    id.name(),
                    action_chain(chain, action)
                ));
            }
        }
        out.push((chain.to_owned(), rules));
    }
    for (chain, _) in CHAINS {
        for action in [Action::Allow, Action::Block, Action::Audit] {
            out.push((
                action_chain(chain, action),
                verdicts(chain, action, mode, coverage),
            ));
        }
    }
    out
}

/// A script that (re)writes every chain's rules in one transaction, leaving the sets alone.
pub fn rules_script(table: &str, mode: ProtectionMode, coverage: Coverage) -> String {
    let chains = chains(mode, coverage);
    let mut s = String::new();
    for (chain, _) in &chains {
        if CHAINS.iter().any(|(base, _)| base == chain) {
            s.push_str(&format!(
                "add chain inet {table} {chain} {{ type filter hook {chain} priority {PRIORITY}; policy accept; }}\n"
            ));
        } else {
            s.push_str(&format!("add chain inet {table} {chain}\n"));
        }
        s.push_str(&format!("flush chain inet {table} {chain}\n"));
    }
    for (chain, rules) in &chains {
        for rule in rules {
            s.push_str(&format!("add rule inet {table} {chain} {rule}\n"));
        }
    }
    s
}

/// The rule bodies for one set of `action` in `chain`. Every rule that decides something is
/// preceded by, or carries, a log statement to the agent's NFLOG group whose prefix names the
/// outcome and the reason (see `events::nflog`), so each hit is reported as what the kernel
/// actually did. Traffic that passes is logged once per connection (`ct state new`); traffic
/// that is refused is logged on every attempt.
fn verdicts(chain: &str, action: Action, mode: ProtectionMode, coverage: Coverage) -> Vec<String> {
    use crate::events::nflog::{GROUP, SNAPLEN};
    use crate::log_prefix::{Direction, Verdict};
    use netward_model::detection::{Outcome, Reason};
    let direction = if chain == "input" {
        Direction::Inbound
    } else {
        Direction::Outbound
    };
    let log = |outcome: Outcome, reason: Reason| {
        let prefix = Verdict {
            direction,
            set_action: action,
            outcome,
            reason,
        }
        .prefix();
        format!("log prefix \"{prefix}\" group {GROUP} snaplen {SNAPLEN}")
    };
    let passes = |outcome: Outcome, reason: Reason| {
        vec![
            format!("ct state new {}", log(outcome, reason)),
            if outcome == Outcome::Allowed {
                "accept".to_owned()
            } else {
                "counter accept".to_owned()
            },
        ]
    };
    let blocked = log(Outcome::Blocked, Reason::IndicatorBlock);
    match (action, mode, coverage) {
        (Action::Allow, _, _) => passes(Outcome::Allowed, Reason::IndicatorAllow),
        (Action::Block, ProtectionMode::Block, Coverage::All) => vec![
            format!("meta l4proto tcp {blocked} counter reject with tcp reset"),
            format!("{blocked} counter reject with icmpx admin-prohibited"),
        ],
        (Action::Block, ProtectionMode::Block, Coverage::Tcp) => {
            let mut v = vec![format!(
                "meta l4proto tcp {blocked} counter reject with tcp reset"
            )];
            v.extend(passes(Outcome::Audited, Reason::ProtocolNotCovered));
            v
        }
        (Action::Block, _, _) => passes(Outcome::Audited, Reason::DeviceAuditMode),
        (Action::Audit, _, _) => passes(Outcome::Audited, Reason::IndicatorAudit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_is_looked_up_once_and_jumps_to_its_action() {
        let s = rules_script("t", ProtectionMode::Block, Coverage::All);
        let first = |needle: &str| s.find(needle).unwrap();
        assert!(
            first("output oif lo accept") < first("output ip daddr @allow_v4_addr jump out_allow")
        );
        assert!(
            first("ip daddr @allow_v4_net jump out_allow")
                < first("ip daddr @block_v4_addr jump out_block")
        );
        assert!(
            first("ip6 daddr @block_v6_net jump out_block")
                < first("ip daddr @audit_v4_addr jump out_audit")
        );
        assert!(s.contains("add rule inet t input ip saddr @block_v4_net jump in_block"));
        assert!(s.contains(
            "add rule inet t out_block meta l4proto tcp log prefix \"netward:out:block:blocked:indicator_block\" group 4207 snaplen 128 counter reject with tcp reset"
        ));
        assert!(s.contains(
            "add rule inet t in_audit ct state new log prefix \"netward:in:audit:audited:indicator_audit\""
        ));
        assert!(s.contains("add chain inet t out_block\nflush chain inet t out_block"));
        // Every set has its one lookup in each base chain.
        for (chain, rules) in chains(ProtectionMode::Block, Coverage::All) {
            assert_eq!(
                s.matches(&format!("add rule inet t {chain} ")).count(),
                rules.len(),
                "{chain}"
            );
            if chain == "output" {
                assert_eq!(rules.len(), 2 + NOT_NEW_FLOWS.len() + SetId::all().len());
            } else if chain == "input" {
                assert_eq!(rules.len(), 2 + SetId::all().len());
            } else {
                // An action chain always ends in a verdict: a jump never falls through.
                let last = rules.last().unwrap();
                assert!(
                    last.ends_with("accept") || last.contains("reject"),
                    "{chain}: {last}"
                );
            }
        }
    }

    #[test]
    fn every_prefix_the_rules_write_is_read_back_as_that_rule_decides() {
        use crate::log_prefix::Verdict;
        use netward_model::detection::Outcome;
        for mode in [ProtectionMode::Block, ProtectionMode::Audit] {
            for coverage in [Coverage::All, Coverage::Tcp] {
                for (chain, rules) in chains(mode, coverage) {
                    for rule in rules.iter().filter(|r| r.contains("log prefix")) {
                        let prefix = rule.split('"').nth(1).unwrap_or_else(|| panic!("{rule}"));
                        let v = Verdict::parse(prefix).unwrap_or_else(|| panic!("{prefix}"));
                        assert!(chain.ends_with(v.set_action.as_str()), "{chain}: {prefix}");
                        let dir = match v.direction {
                            netward_model::detection::Direction::Outbound => "out_",
                            netward_model::detection::Direction::Inbound => "in_",
                        };
                        assert!(chain.starts_with(dir), "{chain}: {prefix}");
                        let rejects = rule.contains("reject");
                        assert_eq!(v.outcome == Outcome::Blocked, rejects, "{rule}");
                    }
                }
            }
        }
    }

    #[test]
    fn coverage_tcp_and_audit_mode_never_reject_other_protocols() {
        let tcp = rules_script("t", ProtectionMode::Block, Coverage::Tcp);
        assert!(!tcp.contains("icmpx"));
        assert!(tcp.contains("reject with tcp reset"));
        assert!(tcp.contains(
            "ct state new log prefix \"netward:out:block:audited:protocol_not_covered\""
        ));
        let audit = rules_script("t", ProtectionMode::Audit, Coverage::All);
        assert!(!audit.contains("reject"));
        assert!(audit.contains("netward:out:block:audited:device_audit_mode"));
        assert!(
            create_script("t", ProtectionMode::Block, Coverage::All).contains(
                "set block_v6_net { type ipv6_addr; flags interval, timeout; gc-interval 1m; }"
            )
        );
    }
}
