//! Fuzz targets for what the agent reads from the kernel's hit log, whoever wrote it: the
//! netlink messages of a read (`nflog::decode`), the log prefix of each (`log_prefix.rs`)
//! and the packet bytes it carries (`events/packet.rs`).
//!
//! Each asserts that nothing panics or hangs, and, where there is an oracle, agrees with it:
//! packets are built from valid headers with known ports and then cut short or given lying
//! lengths; a prefix is read only if it is exactly one the rules write; well-formed messages
//! give exactly their hits and their sequence gaps. Names start with `fuzz_`, so that
//! `NETWARD_FUZZ_CASES=100000 cargo test --release -p netward-agent --lib fuzz` runs them long.

use std::ffi::CString;
use std::net::IpAddr;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::nflog::{PacketNla, ULogMessage};
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netward_testkit::fuzz::{fuzz, mutate};
use proptest::prelude::*;

use crate::events::nflog::{self, SNAPLEN};
use crate::events::packet::{Packet, parse_packet};
use crate::log_prefix::Verdict;

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4)
}

// ---- packets ----------------------------------------------------------------------------

const TCP: u8 = 6;
const UDP: u8 = 17;

/// An IPv4 or IPv6 packet built from valid headers, with what it must parse to.
#[derive(Clone, Debug)]
struct Built {
    bytes: Vec<u8>,
    /// The transport protocol and where its header starts; `None` when a fragment other than
    /// the first hides it.
    transport: (u8, Option<usize>),
    ports: [u8; 4],
}

/// One IPv6 extension header: (kind, length field).
fn extension() -> impl Strategy<Value = (u8, u8)> {
    (proptest::sample::select(vec![0u8, 43, 44, 51, 60]), 0u8..4)
}

fn built() -> impl Strategy<Value = Built> {
    let v4 = (
        5u8..=15,
        any::<bool>(),
        proptest::sample::select(vec![TCP, UDP, 1, 47]),
        any::<[u8; 4]>(),
        any::<[u8; 8]>(),
    )
        .prop_map(|(ihl, later_fragment, protocol, ports, addrs)| {
            let header = usize::from(ihl) * 4;
            let mut p = vec![0u8; header];
            p[0] = 0x40 | ihl;
            p[9] = protocol;
            if later_fragment {
                p[6..8].copy_from_slice(&0x00b9u16.to_be_bytes());
            }
            p[12..20].copy_from_slice(&addrs);
            p.extend_from_slice(&ports);
            Built {
                bytes: p,
                transport: (protocol, (!later_fragment).then_some(header)),
                ports,
            }
        });
    let v6 = (
        proptest::collection::vec((extension(), any::<bool>()), 0..5),
        proptest::sample::select(vec![TCP, UDP, 58, 59]),
        any::<[u8; 4]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(chain, protocol, ports, addrs)| {
            let mut p = vec![0u8; 40];
            p[0] = 0x60;
            p[8..40].copy_from_slice(&addrs);
            let mut next_at = 6;
            let mut hidden = false;
            for ((kind, len), later) in chain {
                p[next_at] = kind;
                let start = p.len();
                let size = match kind {
                    44 => 8,
                    51 => (usize::from(len) + 2) * 4,
                    _ => (usize::from(len) + 1) * 8,
                };
                p.resize(start + size, 0);
                next_at = start;
                if kind == 44 {
                    if later {
                        p[start + 2..start + 4].copy_from_slice(&(185u16 << 3).to_be_bytes());
                        // Past a later fragment nothing more is read: its next header is the
                        // transport's.
                        hidden = true;
                        break;
                    }
                } else {
                    p[start + 1] = len;
                }
            }
            p[next_at] = protocol;
            let header = p.len();
            p.extend_from_slice(&ports);
            Built {
                bytes: p,
                transport: (protocol, (!hidden).then_some(header)),
                ports,
            }
        });
    prop_oneof![v4, v6]
}

fn check_packet(p: &Packet) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.src.is_ipv4(), p.dst.is_ipv4());
    if p.sport.is_some() || p.dport.is_some() {
        prop_assert!(
            matches!(p.protocol, TCP | UDP),
            "ports of protocol {}",
            p.protocol
        );
        prop_assert!(p.sport.is_some() && p.dport.is_some());
    }
    Ok(())
}

#[test]
fn fuzz_packet_arbitrary_bytes() {
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        // Mostly the right version nibble, so that the headers are walked.
        (
            proptest::sample::select(vec![0x45u8, 0x4f, 0x60, 0x6f]),
            proptest::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(first, rest)| [vec![first], rest].concat()),
    ];
    fuzz("packet_bytes", 2000, bytes, |bytes| {
        if let Some(p) = parse_packet(&bytes) {
            check_packet(&p)?;
        }
        Ok(())
    });
}

#[test]
fn fuzz_packet_built_then_cut() {
    let cut = prop_oneof![Just(None), any::<usize>().prop_map(Some)];
    fuzz("packet_built", 2000, (built(), cut), |(built, cut)| {
        let full = built.bytes.len();
        let len = cut.map_or(full, |c| c % (full + 1)).min(SNAPLEN as usize);
        let bytes = &built.bytes[..len];
        let minimum = if built.bytes[0] >> 4 == 4 { 20 } else { 40 };
        let Some(p) = parse_packet(bytes) else {
            prop_assert!(len < minimum, "a {}-byte packet was not read", len);
            return Ok(());
        };
        check_packet(&p)?;
        let (protocol, header) = built.transport;
        let ports = match header {
            Some(at) if matches!(protocol, TCP | UDP) && at + 4 <= len => Some(built.ports),
            _ => None,
        };
        match ports {
            Some(ports) => {
                prop_assert_eq!(p.protocol, protocol);
                prop_assert_eq!(
                    (p.sport, p.dport),
                    (
                        Some(u16::from_be_bytes([ports[0], ports[1]])),
                        Some(u16::from_be_bytes([ports[2], ports[3]]))
                    )
                );
            }
            None => prop_assert_eq!((p.sport, p.dport), (None, None)),
        }
        if len == full && len <= SNAPLEN as usize {
            prop_assert_eq!(p.protocol, protocol);
        }
        Ok(())
    });
}

#[test]
fn fuzz_packet_lying_lengths() {
    fuzz(
        "packet_lying",
        2000,
        (
            built(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        ),
        |(built, lies)| {
            let mut bytes = built.bytes;
            for (at, byte) in lies {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            if let Some(p) = parse_packet(&bytes) {
                check_packet(&p)?;
            }
            Ok(())
        },
    );
}

// ---- log prefixes -------------------------------------------------------------------------

#[test]
fn fuzz_log_prefix_reads_only_what_the_rules_write() {
    let field = proptest::sample::select(vec![
        "netward",
        "out",
        "in",
        "allow",
        "audit",
        "block",
        "blocked",
        "audited",
        "allowed",
        "indicator_block",
        "indicator_audit",
        "device_audit_mode",
        "protocol_not_covered",
        "indicator_allow",
        "",
        "Block",
        "OUT",
        "netward ",
        "é",
        "\u{0}",
    ]);
    let soup = proptest::collection::vec(field, 0..8).prop_map(|f| f.join(":"));
    let spoiled = (
        proptest::sample::select(crate::log_prefix::every_verdict()),
        edits(),
    )
        .prop_map(|(v, edits)| {
            String::from_utf8_lossy(&mutate(v.prefix().into_bytes(), &edits)).into_owned()
        });
    let text = prop_oneof![soup, spoiled, any::<String>()];
    fuzz("log_prefix", 2000, text, |text| {
        if let Some(v) = Verdict::parse(&text) {
            prop_assert_eq!(v.prefix(), text);
        }
        Ok(())
    });
}

// ---- netlink messages ---------------------------------------------------------------------

/// One logged packet as the kernel sends it.
#[derive(Clone, Debug)]
struct Logged {
    verdict: Verdict,
    packet: Built,
    uid: Option<u32>,
    seq: Option<u32>,
    /// A prefix from another program instead of ours.
    stranger: bool,
}

fn logged() -> impl Strategy<Value = Logged> {
    (
        proptest::sample::select(crate::log_prefix::every_verdict()),
        built(),
        any::<Option<u32>>(),
        any::<Option<u32>>(),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(verdict, packet, uid, seq, stranger)| Logged {
            verdict,
            packet,
            uid,
            seq,
            stranger,
        })
}

fn message(l: &Logged) -> Result<Vec<u8>, TestCaseError> {
    let prefix = if l.stranger {
        "iptables: ".to_owned()
    } else {
        l.verdict.prefix()
    };
    let prefix = CString::new(prefix).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut nlas = vec![
        PacketNla::Prefix(prefix),
        PacketNla::Payload(l.packet.bytes.clone()),
    ];
    nlas.extend(l.uid.map(PacketNla::Uid));
    nlas.extend(l.seq.map(PacketNla::Seq));
    let mut msg = NetlinkMessage::new(
        NetlinkHeader::default(),
        NetlinkPayload::from(NetfilterMessage::new(
            NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, nflog::GROUP),
            ULogMessage::Packet(nlas),
        )),
    );
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    // Messages follow each other on four-byte boundaries.
    buf.resize(buf.len().next_multiple_of(4), 0);
    Ok(buf)
}

/// What decoding well-formed messages must give: the hits of ours whose packet parses, and
/// the sequence gaps between them.
fn expected(logged: &[Logged]) -> (Vec<(Verdict, IpAddr)>, u64) {
    let mut hits = Vec::new();
    let (mut lost, mut next): (u64, Option<u32>) = (0, None);
    for l in logged {
        let Some(p) = (!l.stranger)
            .then(|| parse_packet(&l.packet.bytes))
            .flatten()
        else {
            continue;
        };
        if let Some(seq) = l.seq {
            if let Some(want) = next {
                lost += u64::from(seq.wrapping_sub(want));
            }
            next = Some(seq.wrapping_add(1));
        }
        hits.push((l.verdict, p.src));
    }
    (hits, lost)
}

#[test]
fn fuzz_nflog_messages() {
    let spoil = prop_oneof![2 => Just(Vec::new()), 1 => edits()];
    fuzz(
        "nflog",
        1000,
        (proptest::collection::vec(logged(), 0..4), spoil),
        |(logged, edits)| {
            let mut bytes = Vec::new();
            for l in &logged {
                bytes.extend(message(l)?);
            }
            let untouched = edits.is_empty();
            let bytes = mutate(bytes, &edits);
            let mut next_seq = None;
            let batch = nflog::decode(&bytes, &mut next_seq);
            prop_assert!(batch.hits.len() <= logged.len().max(bytes.len() / 16));
            if untouched {
                let (hits, lost) = expected(&logged);
                let got: Vec<(Verdict, IpAddr)> = batch
                    .hits
                    .iter()
                    .map(|h| {
                        let src = match h.verdict.direction {
                            crate::log_prefix::Direction::Outbound => h.local,
                            crate::log_prefix::Direction::Inbound => h.remote,
                        };
                        (h.verdict, src)
                    })
                    .collect();
                prop_assert_eq!(got, hits);
                prop_assert_eq!(batch.lost, lost);
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_nflog_arbitrary_bytes() {
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        // A netlink header whose length field says anything, then anything.
        (
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 12..300)
        )
            .prop_map(|(len, rest)| { [len.to_ne_bytes().to_vec(), rest].concat() }),
    ];
    fuzz("nflog_bytes", 2000, bytes, |bytes| {
        let mut next_seq = None;
        let _ = nflog::decode(&bytes, &mut next_seq);
        Ok(())
    });
}
