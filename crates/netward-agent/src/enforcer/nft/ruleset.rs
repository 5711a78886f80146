//! The small, static part of the table: its sets (declared empty) and its chains and rules,
//! as `nft -f` scripts. Set elements never go through `nft`: at a million entries it takes
//! minutes (see `shared/reference/rust-ecosystem.md` §1.3); they go over netlink.
//!
//! Rules, in order, for the output hook (destination) and the input hook (source):
//! 0. loopback traffic is accepted: it never leaves the machine, and it carries the resets
//!    and ICMP errors the output rules generate (sent from the blocked address to us, so a
//!    block that covers the device's own address must not eat them); in the output chain,
//!    the refusals the input rules send back to a blocked peer are accepted too
//!    ([`OUTBOUND_REFUSALS`]: a TCP reset no socket sent, an ICMP error), since they never open
//!    a flow; and IPv6 neighbour discovery, IPv6's ARP, is accepted in both chains
//!    ([`NEIGHBOUR_DISCOVERY`]);
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
//! No rule matches on connection tracking: any `ct` expression turns conntrack on for the
//! whole network namespace, which costs every packet of the machine, listed or not. Passing
//! traffic is logged once per flow without it: a TCP connection at its first packet (SYN
//! without ACK), other protocols at the first packet of a flow that the table has not seen
//! in the last 30 s ([`FLOW_SETS`], dynamic sets whose elements time out).
//!
//! ICMP admin-prohibited, rather than a silent drop, makes the application fail at once: for
//! locally generated packets the send itself returns `EPERM`.

use netward_model::{Action, Coverage, Family, ProtectionMode};

use crate::SetId;
use crate::kernel_policy::{SHARDS, family_name};

/// Hook priority: before the usual `filter` chains (0), so that an allow here cannot be
/// overridden by a block elsewhere in our own table and our verdicts come first.
pub const PRIORITY: i32 = -10;

/// Outgoing packets that never open a flow, accepted before any lookup: a TCP reset that no
/// socket sent (one the kernel made: our own input rules' `reject with tcp reset`, sent back
/// to a refused peer; resets from sockets are judged, see [`KERNEL_RESETS`]) and the ICMP
/// errors (`reject with icmpx admin-prohibited` sends one). Judged as new outbound traffic
/// they would be logged as an attempt no process made and dropped, so the peer would wait
/// for a timeout instead of being refused at once. Without connection tracking, an ICMP error
/// cannot be told from one a raw socket made up: it is let out unjudged (it carries no flow,
/// and making one up needs `CAP_NET_RAW`).
pub const OUTBOUND_REFUSALS: [&str; 3] = [
    "tcp flags & rst == rst jump kernel_resets",
    "icmp type { destination-unreachable, time-exceeded, parameter-problem } accept",
    "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept",
];

/// The chain that accepts a reset no socket sent, and sends one from a socket back to be
/// judged: `meta skuid` cannot be read without a socket, so its rule does not match then.
pub const KERNEL_RESETS: (&str, [&str; 2]) =
    ("kernel_resets", ["meta skuid >= 0 return", "accept"]);

/// The dynamic sets that remember the flows whose first packet was logged, per family: for
/// protocols with ports, (remote address, protocol, local port, remote port); for others,
/// (remote address, protocol). An element lives 30 s past the flow's last packet; when a set
/// is full, packets of new flows are logged every time rather than not at all.
pub const FLOW_SETS: [(&str, &str); 4] = [
    (
        "flows_v4",
        "ipv4_addr . inet_proto . inet_service . inet_service",
    ),
    (
        "flows_v6",
        "ipv6_addr . inet_proto . inet_service . inet_service",
    ),
    ("hosts_v4", "ipv4_addr . inet_proto"),
    ("hosts_v6", "ipv6_addr . inet_proto"),
];

/// How long a flow is remembered after its last packet, and how many flows per set.
const FLOW_TIMEOUT: &str = "30s";
const FLOW_SET_SIZE: u32 = 65_536;

/// The protocols whose flows are keyed by ports (at the same offsets in their headers).
const PORT_PROTOCOLS: &str = "{ udp, udplite, sctp, dccp }";

/// IPv6 neighbour discovery, accepted in both directions before any lookup: it is IPv6's ARP
/// (which an `inet` table never sees), carries no flow, and without it a blocked peer on the
/// link could not even be told it is refused: the answers to its neighbour solicitations
/// would be judged as traffic to it.
pub const NEIGHBOUR_DISCOVERY: &str = "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept";

/// The chains the agent owns, with the packet field they match.
pub const CHAINS: [(&str, &str); 2] = [("output", "daddr"), ("input", "saddr")];

/// The key type of `family`'s sets.
fn key_type(family: Family) -> &'static str {
    match family {
        Family::V4 => "ipv4_addr",
        Family::V6 => "ipv6_addr",
    }
}

/// `ip` or `ip6`.
fn proto(family: Family) -> &'static str {
    match family {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

/// `out` or `in`, for a base chain.
fn direction(chain: &str) -> &'static str {
    if chain == "input" { "in" } else { "out" }
}

/// The packet field a base chain matches (`daddr` on output, `saddr` on input).
fn field(chain: &str) -> &'static str {
    if chain == "input" { "saddr" } else { "daddr" }
}

/// The chain of `family`'s lookups for base chain `chain` (`out_v4`).
fn family_chain(chain: &str, family: Family) -> String {
    format!("{}_{}", direction(chain), family_name(family))
}

/// The chain of shard `n` of `family` for base chain `chain` (`out_v4_net_17`).
fn shard_chain(chain: &str, family: Family, n: u8) -> String {
    format!("{}_{}_net_{n}", direction(chain), family_name(family))
}

/// The shard index map of `family` for base chain `chain` (`out_v4_shards`).
fn shard_index(chain: &str, family: Family) -> String {
    format!("{}_{}_shards", direction(chain), family_name(family))
}

/// An address of `family` as nft writes it.
fn address(family: Family, a: u128) -> String {
    match family {
        Family::V4 => std::net::Ipv4Addr::from(u32::try_from(a).unwrap_or(u32::MAX)).to_string(),
        Family::V6 => std::net::Ipv6Addr::from(a).to_string(),
    }
}

/// A script that creates the table with its empty sets, the static shard index maps (each
/// shard's range jumps to that shard's chain; they never change, so a change of set elements
/// never makes the kernel validate them), the flow sets, and the chains and rules.
pub fn create_script(table: &str, mode: ProtectionMode, coverage: Coverage) -> String {
    let mut s = format!("table inet {table} {{\n");
    for id in SetId::all() {
        // `timeout`: an element may carry its expiry, and the kernel stops matching it then.
        // Reclaiming the memory of expired elements walks the whole set: once a minute, not
        // every second (the default), is plenty at a million elements.
        let flags = if id.is_interval() {
            " flags interval, timeout; gc-interval 1m;"
        } else {
            " flags timeout; gc-interval 1m;"
        };
        s.push_str(&format!(
            "  set {} {{ type {};{flags} }}\n",
            id.name(),
            key_type(id.family)
        ));
    }
    for (chain, _) in CHAINS {
        for family in [Family::V4, Family::V6] {
            // The chains the index elements jump to must exist first; their rules come with
            // the others.
            for n in 0..SHARDS {
                s.push_str(&format!(
                    "  chain {} {{\n  }}\n",
                    shard_chain(chain, family, n)
                ));
            }
            let elements: Vec<String> = (0..SHARDS)
                .map(|n| {
                    let (first, last) = SetId::shard_bounds(family, n);
                    format!(
                        "{}-{} : jump {}",
                        address(family, first),
                        address(family, last),
                        shard_chain(chain, family, n)
                    )
                })
                .collect();
            s.push_str(&format!(
                "  map {} {{ type {} : verdict; flags interval; elements = {{ {} }} }}\n",
                shard_index(chain, family),
                key_type(family),
                elements.join(", ")
            ));
        }
    }
    for (name, key) in FLOW_SETS {
        s.push_str(&format!(
            "  set {name} {{ type {key}; flags dynamic, timeout; timeout {FLOW_TIMEOUT}; size {FLOW_SET_SIZE}; }}\n"
        ));
    }
    s.push_str("}\n");
    s.push_str(&rules_script(table, mode, coverage));
    s
}

/// The chain that holds what `action` does to traffic of a base chain (`out_block`, ...).
fn action_chain(chain: &str, action: Action) -> String {
    format!("{}_{}", direction(chain), action.as_str())
}

/// The rules that send a packet of `family` found in the address sets (`shard` `None`) or
/// in shard `shard`'s range sets to its action's chain, in precedence order.
fn lookups(chain: &str, family: Family, shard: Option<u8>) -> Vec<String> {
    [Action::Allow, Action::Block, Action::Audit]
        .into_iter()
        .map(|action| {
            let id = SetId {
                action,
                family,
                shard,
            };
            format!(
                "{} {} @{} jump {}",
                proto(family),
                field(chain),
                id.name(),
                action_chain(chain, action)
            )
        })
        .collect()
}

/// Every chain of the table with the rules it holds, in order: the two base chains (loopback
/// and the refusals accepted, then one jump to the packet's family: `meta nfproto`), each
/// family's chain (its three address sets, then the shard index), each shard's chain (its
/// three range sets), the six action chains (log, then the verdict; each ends in a verdict,
/// so a jump never falls through), and the chain that tells kernel resets from others.
pub fn chains(mode: ProtectionMode, coverage: Coverage) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (chain, _) in CHAINS {
        // Traffic between local addresses (which includes the resets and ICMP errors our own
        // rules generate, sent from the blocked address to us) runs over loopback and never
        // leaves the machine: it must reach the application.
        let lo = if chain == "input" { "iif" } else { "oif" };
        let mut rules = vec![format!("{lo} lo accept"), NEIGHBOUR_DISCOVERY.to_owned()];
        if chain == "output" {
            rules.extend(OUTBOUND_REFUSALS.iter().map(|r| (*r).to_owned()));
        }
        rules.push(format!(
            "meta nfproto vmap {{ ipv4 : jump {}, ipv6 : jump {} }}",
            family_chain(chain, Family::V4),
            family_chain(chain, Family::V6)
        ));
        out.push((chain.to_owned(), rules));
    }
    for (chain, _) in CHAINS {
        for family in [Family::V4, Family::V6] {
            let mut rules = lookups(chain, family, None);
            rules.push(format!(
                "{} {} vmap @{}",
                proto(family),
                field(chain),
                shard_index(chain, family)
            ));
            out.push((family_chain(chain, family), rules));
            for n in 0..SHARDS {
                out.push((
                    shard_chain(chain, family, n),
                    lookups(chain, family, Some(n)),
                ));
            }
        }
    }
    for (chain, _) in CHAINS {
        for action in [Action::Allow, Action::Block, Action::Audit] {
            out.push((
                action_chain(chain, action),
                verdicts(chain, action, mode, coverage),
            ));
        }
    }
    out.push((
        KERNEL_RESETS.0.to_owned(),
        KERNEL_RESETS.1.iter().map(|r| (*r).to_owned()).collect(),
    ));
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

/// The rules that pass traffic with `verdict`, logging it with `log` once per flow (see
/// [`FLOW_SETS`]): TCP at its first packet; a flow of another protocol when the table has not
/// seen it for 30 s. The key is written from the remote side in both chains, so that the
/// answers to a logged flow are not logged again.
fn pass_rules(chain: &str, log: &str, verdict: &str) -> Vec<String> {
    let outbound = chain == "output";
    let (remote, local_port, remote_port) = if outbound {
        ("daddr", "th sport", "th dport")
    } else {
        ("saddr", "th dport", "th sport")
    };
    let mut rules = vec![
        format!("meta l4proto tcp tcp flags & (syn | ack) == syn {log} {verdict}"),
        format!("meta l4proto tcp {verdict}"),
    ];
    for (proto, family) in [("ip", "v4"), ("ip6", "v6")] {
        let flow = format!("{proto} {remote} . meta l4proto . {local_port} . {remote_port}");
        rules.push(format!(
            "meta l4proto {PORT_PROTOCOLS} {flow} @flows_{family} update @flows_{family} {{ {flow} }} {verdict}"
        ));
        rules.push(format!(
            "meta l4proto {PORT_PROTOCOLS} add @flows_{family} {{ {flow} }} {log} {verdict}"
        ));
    }
    rules.push(format!("meta l4proto {PORT_PROTOCOLS} {log} {verdict}"));
    for (proto, family) in [("ip", "v4"), ("ip6", "v6")] {
        let host = format!("{proto} {remote} . meta l4proto");
        rules.push(format!(
            "{host} @hosts_{family} update @hosts_{family} {{ {host} }} {verdict}"
        ));
        rules.push(format!("add @hosts_{family} {{ {host} }} {log} {verdict}"));
    }
    rules.push(format!("{log} {verdict}"));
    rules
}

/// The rule bodies for one set of `action` in `chain`. Every rule that decides something is
/// preceded by, or carries, a log statement to the agent's NFLOG group whose prefix names the
/// outcome and the reason (see `events::nflog`), so each hit is reported as what the kernel
/// actually did. Traffic that passes is logged once per flow ([`pass_rules`]); traffic that
/// is refused is logged on every attempt.
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
        let verdict = if outcome == Outcome::Allowed {
            "accept"
        } else {
            "counter accept"
        };
        pass_rules(chain, &log(outcome, reason), verdict)
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
    fn each_family_looks_up_its_addresses_and_one_shard_in_precedence_order() {
        let s = rules_script("t", ProtectionMode::Block, Coverage::All);
        let first = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(
            first("output oif lo accept")
                < first("output meta nfproto vmap { ipv4 : jump out_v4, ipv6 : jump out_v6 }")
        );
        assert!(
            first("out_v4 ip daddr @allow_v4_addr jump out_allow")
                < first("out_v4 ip daddr @block_v4_addr jump out_block")
        );
        assert!(
            first("out_v4 ip daddr @audit_v4_addr jump out_audit")
                < first("out_v4 ip daddr vmap @out_v4_shards")
        );
        assert!(
            first("out_v4_net_17 ip daddr @allow_v4_net_17 jump out_allow")
                < first("out_v4_net_17 ip daddr @block_v4_net_17 jump out_block")
        );
        assert!(
            s.contains("add rule inet t in_v6_net_63 ip6 saddr @audit_v6_net_63 jump in_audit")
        );
        assert!(s.contains(
            "add rule inet t out_block meta l4proto tcp log prefix \"netward:out:block:blocked:indicator_block\" group 4207 snaplen 128 counter reject with tcp reset"
        ));
        // Passes are logged once per flow, keyed from the remote side, without conntrack.
        assert!(s.contains(
            "add rule inet t in_audit meta l4proto tcp tcp flags & (syn | ack) == syn log prefix \"netward:in:audit:audited:indicator_audit\""
        ));
        assert!(s.contains(
            "add rule inet t in_audit meta l4proto { udp, udplite, sctp, dccp } add @flows_v4 { ip saddr . meta l4proto . th dport . th sport } log prefix \"netward:in:audit:audited:indicator_audit\""
        ));
        assert!(s.contains(
            "add rule inet t out_allow ip6 daddr . meta l4proto @hosts_v6 update @hosts_v6 { ip6 daddr . meta l4proto } accept"
        ));
        assert!(!s.contains(" ct "), "no rule turns connection tracking on");
        assert!(s.contains("add chain inet t out_block\nflush chain inet t out_block"));
        for (chain, rules) in chains(ProtectionMode::Block, Coverage::All) {
            assert_eq!(
                s.matches(&format!("add rule inet t {chain} ")).count(),
                rules.len(),
                "{chain}"
            );
            match chain.as_str() {
                "output" => assert_eq!(rules.len(), 2 + OUTBOUND_REFUSALS.len() + 1),
                "input" => assert_eq!(rules.len(), 2 + 1),
                // Three address sets, then the shard index; or a shard's three range sets.
                c if c.ends_with("_v4") || c.ends_with("_v6") => assert_eq!(rules.len(), 4),
                c if c.contains("_net_") => assert_eq!(rules.len(), 3),
                _ => {
                    // An action chain always ends in a verdict: a jump never falls through.
                    let last = rules.last().unwrap();
                    assert!(
                        last.ends_with("accept") || last.contains("reject"),
                        "{chain}: {last}"
                    );
                }
            }
        }
        // The index maps name each shard's chain once, over the shard's addresses.
        let create = create_script("t", ProtectionMode::Block, Coverage::All);
        assert!(create.contains("0.0.0.0-3.255.255.255 : jump out_v4_net_0,"));
        assert!(create.contains("252.0.0.0-255.255.255.255 : jump in_v4_net_63 }"));
        assert!(create.contains("::-1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff : jump out_v6_net_0,"));
        assert!(create.contains(
            "set block_v6_net_5 { type ipv6_addr; flags interval, timeout; gc-interval 1m; }"
        ));
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
            "add @hosts_v4 { ip daddr . meta l4proto } log prefix \"netward:out:block:audited:protocol_not_covered\""
        ));
        let audit = rules_script("t", ProtectionMode::Audit, Coverage::All);
        assert!(!audit.contains("reject"));
        assert!(audit.contains("netward:out:block:audited:device_audit_mode"));
        assert!(
            create_script("t", ProtectionMode::Block, Coverage::All)
                .contains("set block_v4_addr { type ipv4_addr; flags timeout; gc-interval 1m; }")
        );
    }
}
