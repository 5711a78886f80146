//! The nftables enforcer against the real kernel, in fresh network namespaces (root only):
//! what reaches the remote host, for TCP, UDP and ICMP, over IPv4 and IPv6, in every mode and
//! coverage.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod conformance;

use conformance::policy;
use netward_agent::Enforcer;
use netward_agent::enforcer::nft::NftEnforcer;
use netward_agent::events::nflog::{Hit, NflogSocket};
use netward_agent::netns::run_in;
use netward_model::{Coverage, ProtectionMode};
use netward_testkit::lab::{Lab, Outcome};

fn enforcer(lab: &Lab) -> NftEnforcer {
    NftEnforcer::open_in("netward", &lab.ep_path()).expect("open the enforcer (needs root)")
}

/// Asserts the full outcome for one remote address: what the endpoint saw, what arrived.
fn assert_outcomes(lab: &Lab, to: &str, tcp_blocked: bool, udp_blocked: bool, icmp_blocked: bool) {
    let addr = lab.remote(to);
    static SENT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let tag = format!(
        "{to}-{}",
        SENT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let tcp = lab.tcp(addr, &format!("tcp {tag}"));
    assert_eq!(
        tcp,
        if tcp_blocked {
            Outcome::Refused
        } else {
            Outcome::Sent
        },
        "TCP to {addr}"
    );
    assert_eq!(
        lab.arrived("tcp", &format!("tcp {tag}")),
        !tcp_blocked,
        "TCP text at {addr}"
    );
    let udp = lab.udp(addr, &format!("udp {tag}"));
    assert_eq!(
        udp,
        if udp_blocked {
            Outcome::Refused
        } else {
            Outcome::Sent
        },
        "UDP to {addr}"
    );
    assert_eq!(
        lab.arrived("udp", &format!("udp {tag}")),
        !udp_blocked,
        "UDP text at {addr}"
    );
    assert_eq!(lab.ping(addr), !icmp_blocked, "ICMP echo to {addr}");
}

#[test]
fn the_nftables_enforcer_passes_the_enforcer_conformance_suite() {
    let lab = Lab::new();
    let mut e = enforcer(&lab);
    conformance::run(
        &mut e,
        |_| {
            assert!(
                lab.nft(&["delete", "table", "inet", "netward"])
                    .status
                    .success()
            );
        },
        |_, id, value| {
            let element = format!("{{ {value} }}");
            let out = lab.nft(&["delete", "element", "inet", "netward", &id.name(), &element]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        },
    );
}

#[test]
fn block_with_coverage_all_stops_tcp_udp_and_icmp_on_both_families() {
    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let p = policy(
        ProtectionMode::Block,
        Coverage::All,
        &[
            (lab.remote("v4").to_string(), "block"),
            (lab.remote("v6").to_string(), "block"),
        ],
    );
    let report = conformance::apply_policy(&mut e, &p);
    assert!(report.full && report.rules_written);
    assert_outcomes(&lab, "v4", true, true, true);
    assert_outcomes(&lab, "v6", true, true, true);
    assert_outcomes(&lab, "v4b", false, false, false);
    assert_outcomes(&lab, "v6b", false, false, false);
}

#[test]
fn coverage_tcp_blocks_tcp_only_as_mde_does() {
    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let p = policy(
        ProtectionMode::Block,
        Coverage::Tcp,
        &[
            (lab.remote("v4").to_string(), "block"),
            (lab.remote("v6").to_string(), "block"),
        ],
    );
    conformance::apply_policy(&mut e, &p);
    assert_outcomes(&lab, "v4", true, false, false);
    assert_outcomes(&lab, "v6", true, false, false);
}

#[test]
fn audit_mode_and_audit_indicators_let_traffic_through_and_off_removes_the_table() {
    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let inds = [
        (lab.remote("v4").to_string(), "block"),
        (lab.remote("v6").to_string(), "audit"),
    ];
    let audit = policy(ProtectionMode::Audit, Coverage::All, &inds);
    conformance::apply_policy(&mut e, &audit);
    assert!(
        lab.nft(&["-t", "list", "table", "inet", "netward"])
            .status
            .success()
    );
    assert_outcomes(&lab, "v4", false, false, false);
    assert_outcomes(&lab, "v6", false, false, false);

    let report =
        conformance::apply_policy(&mut e, &policy(ProtectionMode::Off, Coverage::All, &inds));
    assert_eq!(report.removed, audit.entry_count());
    assert!(
        !lab.nft(&["-t", "list", "table", "inet", "netward"])
            .status
            .success(),
        "off removes the table"
    );
    assert_outcomes(&lab, "v4", false, false, false);
    assert!(e.is_intact().unwrap());
}

#[test]
fn allow_beats_block_on_overlapping_ranges_in_both_families() {
    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let p = policy(
        ProtectionMode::Block,
        Coverage::All,
        &[
            (lab.net("v4"), "block"),
            (lab.net("v6"), "block"),
            (lab.remote("v4b").to_string(), "allow"),
            (lab.remote("v6b").to_string(), "allow"),
        ],
    );
    conformance::apply_policy(&mut e, &p);
    assert_outcomes(&lab, "v4", true, true, true);
    assert_outcomes(&lab, "v6", true, true, true);
    assert_outcomes(&lab, "v4b", false, false, false);
    assert_outcomes(&lab, "v6b", false, false, false);
}

#[test]
fn deltas_change_only_what_differs_and_tampering_is_seen_and_repaired() {
    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let v4 = lab.remote("v4").to_string();
    let v4b = lab.remote("v4b").to_string();
    let first = conformance::apply_policy(
        &mut e,
        &policy(
            ProtectionMode::Block,
            Coverage::All,
            &[(v4.clone(), "block")],
        ),
    );
    assert!(first.full);
    let second = conformance::apply_policy(
        &mut e,
        &policy(
            ProtectionMode::Block,
            Coverage::All,
            &[
                (v4.clone(), "block"),
                (v4b.clone(), "block"),
                (lab.net("v6"), "block"),
            ],
        ),
    );
    assert!(
        !second.full && !second.rules_written,
        "a delta, not a rewrite"
    );
    // .2 and .3 are adjacent: the single address becomes one range, and the /64 is added.
    assert_eq!((second.added, second.removed), (2, 1));
    assert_eq!(lab.tcp(lab.remote("v4b"), "x"), Outcome::Refused);
    assert_eq!(lab.tcp(lab.remote("v6b"), "x"), Outcome::Refused);
    let third = conformance::apply_policy(
        &mut e,
        &policy(
            ProtectionMode::Block,
            Coverage::All,
            &[(v4b.clone(), "block")],
        ),
    );
    assert!(!third.full);
    assert_eq!((third.added, third.removed), (1, 2));
    assert_eq!(lab.tcp(lab.remote("v4"), "x"), Outcome::Sent);
    assert_eq!(lab.tcp(lab.remote("v6b"), "x"), Outcome::Sent);
    assert_eq!(lab.tcp(lab.remote("v4b"), "x"), Outcome::Refused);
    assert!(e.is_intact().unwrap());

    // Someone deletes our table: the enforcer sees it, and a rewrite restores enforcement.
    assert!(
        lab.nft(&["delete", "table", "inet", "netward"])
            .status
            .success()
    );
    assert!(!e.is_intact().unwrap());
    assert_eq!(lab.tcp(lab.remote("v4b"), "x"), Outcome::Sent);
    let repaired = conformance::apply_policy(
        &mut e,
        &policy(
            ProtectionMode::Block,
            Coverage::All,
            &[(v4b.clone(), "block")],
        ),
    );
    assert!(repaired.full);
    assert!(e.is_intact().unwrap());
    assert_eq!(lab.tcp(lab.remote("v4b"), "x"), Outcome::Refused);

    // Someone flushes a chain: seen too.
    assert!(
        lab.nft(&["flush", "chain", "inet", "netward", "output"])
            .status
            .success()
    );
    assert!(!e.is_intact().unwrap());
    e.invalidate();
    conformance::apply_policy(
        &mut e,
        &policy(ProtectionMode::Block, Coverage::All, &[(v4b, "block")]),
    );
    assert!(e.is_intact().unwrap());

    e.remove().unwrap();
    assert!(
        !lab.nft(&["-t", "list", "table", "inet", "netward"])
            .status
            .success()
    );
}

/// Every hit the endpoint's log holds: read until a quiet read.
fn drain_hits(log: &mut netward_agent::events::nflog::NflogSocket) -> Vec<Hit> {
    let mut hits = Vec::new();
    loop {
        let batch = log.read().expect("read the hit log");
        if batch.hits.is_empty() {
            return hits;
        }
        hits.extend(batch.hits);
    }
}

#[test]
fn an_inbound_connection_from_a_blocked_address_gets_a_reset_and_one_inbound_hit() {
    use std::net::{SocketAddr, TcpListener};
    use std::time::{Duration, Instant};

    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let mut log = run_in(&lab.ep_path(), NflogSocket::open)
        .unwrap()
        .expect("bind the hit log (needs root)");
    let p = policy(
        ProtectionMode::Block,
        Coverage::All,
        &[
            (lab.remote("v4").to_string(), "block"),
            (lab.remote("v6").to_string(), "block"),
        ],
    );
    conformance::apply_policy(&mut e, &p);
    let listener = run_in(&lab.ep_path(), || TcpListener::bind(("::", 0)))
        .unwrap()
        .expect("listen in the endpoint");
    let port = listener.local_addr().unwrap().port();
    drain_hits(&mut log);
    for (from, to) in [("v4", lab_ep(&lab, "v4")), ("v6", lab_ep(&lab, "v6"))] {
        let source = SocketAddr::new(lab.remote(from), 0);
        let started = Instant::now();
        let result = run_in(&lab.rh_path(), move || {
            connect_from(source, SocketAddr::new(to, port))
        })
        .unwrap();
        let kind = result.expect_err("a blocked peer must not connect").kind();
        assert_eq!(
            kind,
            std::io::ErrorKind::ConnectionRefused,
            "{from}: the peer gets the reset the README promises, not a timeout"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{from}: refused at once"
        );
        let hits = drain_hits(&mut log);
        let summary: Vec<_> = hits
            .iter()
            .map(|h| (h.verdict.direction, h.remote, h.protocol))
            .collect();
        assert_eq!(
            summary,
            [(
                netward_model::detection::Direction::Inbound,
                lab.remote(from),
                6
            )],
            "{from}: exactly one hit, inbound; the agent's own reset is not traffic"
        );
    }
    // A blocked peer's UDP is refused with an ICMP error that reaches it, and counted once.
    let udp = run_in(&lab.ep_path(), || std::net::UdpSocket::bind(("::", 0)))
        .unwrap()
        .unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    // ICMP's admin-prohibited reads as "no route to host", ICMPv6's as "permission denied".
    for (family, error) in [
        ("v4", std::io::ErrorKind::HostUnreachable),
        ("v6", std::io::ErrorKind::PermissionDenied),
    ] {
        let to = lab_ep(&lab, family);
        let from = lab.remote(family);
        let refused = run_in(&lab.rh_path(), move || {
            let s = std::net::UdpSocket::bind(SocketAddr::new(from, 0)).unwrap();
            s.connect(SocketAddr::new(to, udp_port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            s.send(b"x").unwrap();
            let mut buf = [0u8; 8];
            s.recv(&mut buf).map(|_| ()).map_err(|e| e.kind())
        })
        .unwrap();
        assert_eq!(
            refused,
            Err(error),
            "{family}: the peer's UDP gets the ICMP error (admin-prohibited), not silence"
        );
        let hits = drain_hits(&mut log);
        assert_eq!(
            hits.iter()
                .map(|h| (h.verdict.direction, h.protocol))
                .collect::<Vec<_>>(),
            [(netward_model::detection::Direction::Inbound, 17)],
            "{family}: exactly one hit, inbound"
        );
    }
    drop(udp);
    drop(listener);
}

/// The endpoint's own address in the lab, `v4` or `v6`.
fn lab_ep(lab: &Lab, family: &str) -> std::net::IpAddr {
    let (o2, o3) = (lab.n / 250 + 100, lab.n % 250);
    match family {
        "v4" => format!("10.{o2}.{o3}.1"),
        _ => format!("fd00:{o2}:{o3}::1"),
    }
    .parse()
    .unwrap()
}

/// Connects from `source` to `to`, with a limit well above a reset's answer.
fn connect_from(
    source: std::net::SocketAddr,
    to: std::net::SocketAddr,
) -> std::io::Result<std::net::TcpStream> {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrStorage, bind, connect, socket,
    };
    let family = if source.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(family, SockType::Stream, SockFlag::empty(), None)?;
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(source),
    )?;
    let timeout = nix::sys::time::TimeVal::new(5, 0);
    nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::SendTimeout, &timeout)?;
    connect(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(to),
    )
    .map_err(|e| match e {
        nix::errno::Errno::EINPROGRESS | nix::errno::Errno::EAGAIN => {
            std::io::Error::from(std::io::ErrorKind::TimedOut)
        }
        e => std::io::Error::from(e),
    })?;
    Ok(std::net::TcpStream::from(fd))
}

/// An expiring block stops at its second in the kernel itself, with no apply after it (as when
/// the agent is down), while a lasting one stays.
#[test]
fn an_expiring_block_ends_at_its_second_without_the_agent() {
    use netward_agent::clock::{Clock, SystemClock};
    use netward_model::{Action, IndicatorValue, PolicyEntry};

    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let now = SystemClock.now_secs();
    let at = now + 2;
    let entry = |value: String, expires_at| PolicyEntry {
        value: IndicatorValue::parse(&value).unwrap(),
        action: Action::Block,
        expires_at,
    };
    let p = netward_agent::KernelPolicy::from_entries(
        ProtectionMode::Block,
        Coverage::All,
        [
            entry(lab.remote("v4").to_string(), Some(at)),
            entry(lab.net("v6"), Some(at)),
            entry(lab.remote("v4b").to_string(), None),
        ],
        now,
        &netward_agent::kernel_policy::always_allowed(&[]),
    );
    conformance::apply_policy(&mut e, &p);
    assert_eq!(lab.tcp(lab.remote("v4"), "x"), Outcome::Refused);
    assert_eq!(lab.tcp(lab.remote("v6"), "x"), Outcome::Refused);
    drop(e);
    let wait_until_ms = |ms: i64| {
        while SystemClock.now_ms() < ms {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    // Still enforced in the last part of the second before, never before it...
    wait_until_ms(at * 1000 - 300);
    assert_eq!(lab.tcp(lab.remote("v4"), "x"), Outcome::Refused);
    // ... and gone just after it (the kernel's tick adds at most a few milliseconds).
    wait_until_ms(at * 1000 + 100);
    assert_outcomes(&lab, "v4", false, false, false);
    assert_outcomes(&lab, "v6", false, false, false);
    assert_eq!(lab.tcp(lab.remote("v4b"), "x"), Outcome::Refused, "lasting");
    lab.nft(&["delete", "table", "inet", "netward"]);
}

/// A table left by an agent from before element timeouts (sets without the `timeout` flag)
/// is created anew on the first apply, so that expiring elements can be written.
#[test]
fn a_table_without_timeouts_is_recreated_on_the_first_apply() {
    use netward_agent::clock::{Clock, SystemClock};
    use netward_model::{Action, IndicatorValue, PolicyEntry};

    let lab = Lab::new();
    assert!(
        lab.nft(&["add", "table", "inet", "netward"])
            .status
            .success()
    );
    for set in ["allow_v4_addr", "block_v4_addr"] {
        let out = lab.nft(&["add", "set", "inet", "netward", set, "{ type ipv4_addr; }"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut e = enforcer(&lab);
    let now = SystemClock.now_secs();
    let p = netward_agent::KernelPolicy::from_entries(
        ProtectionMode::Block,
        Coverage::All,
        [PolicyEntry {
            value: IndicatorValue::parse(&lab.remote("v4").to_string()).unwrap(),
            action: Action::Block,
            expires_at: Some(now + 600),
        }],
        now,
        &netward_agent::kernel_policy::always_allowed(&[]),
    );
    let report = conformance::apply_policy(&mut e, &p);
    assert!(report.full && report.rules_written);
    assert_eq!(lab.tcp(lab.remote("v4"), "x"), Outcome::Refused);
    let listed = lab.nft(&["list", "set", "inet", "netward", "block_v4_addr"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("expires"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    assert!(e.is_intact().unwrap() && conformance::sets_intact(&mut e));
}

/// Connection tracking stays off: no rule of the table needs it, so the namespace's
/// conntrack table stays empty however much traffic passes; and traffic that passes is still
/// logged once per flow, its answers never.
#[test]
fn passing_traffic_is_logged_once_per_flow_without_connection_tracking() {
    use netward_model::detection::Direction;
    let lab = Lab::new();
    let mut e = enforcer(&lab);
    let mut log = run_in(&lab.ep_path(), NflogSocket::open)
        .unwrap()
        .expect("bind the hit log (needs root)");
    let p = policy(
        ProtectionMode::Block,
        Coverage::All,
        &[(lab.net("v4"), "audit"), (lab.net("v6"), "audit")],
    );
    conformance::apply_policy(&mut e, &p);
    drain_hits(&mut log);
    for family in ["v4", "v6"] {
        let to = lab.remote(family);
        assert_eq!(lab.tcp(to, &format!("once {family}")), Outcome::Sent);
        assert!(lab.arrived("tcp", &format!("once {family}")));
        assert_eq!(lab.udp(to, &format!("once {family}")), Outcome::Sent);
        assert!(lab.ping(to), "ICMP echo to {to}");
        let mut seen: Vec<(Direction, u8)> = drain_hits(&mut log)
            .iter()
            .map(|h| (h.verdict.direction, h.protocol))
            .collect();
        seen.sort_unstable_by_key(|(d, p)| (*d == Direction::Inbound, *p));
        let icmp = if family == "v4" { 1 } else { 58 };
        let mut want = vec![
            (Direction::Outbound, 6),
            (Direction::Outbound, 17),
            (Direction::Outbound, icmp),
        ];
        want.sort_unstable_by_key(|(d, p)| (*d == Direction::Inbound, *p));
        assert_eq!(
            seen, want,
            "{family}: one hit per flow, none for the answers"
        );
    }
    // The kernel counts tracked connections per namespace; with no `ct` rule the table is
    // never filled (the file is absent when conntrack was never loaded at all).
    let count = run_in(&lab.ep_path(), || {
        std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_count")
    })
    .unwrap()
    .map_or(0, |s| s.trim().parse::<u64>().unwrap());
    assert_eq!(count, 0, "connection tracking was turned on");
    e.remove().unwrap();
}
