//! What the first bytes of a logged IP packet say: addresses, the transport protocol and its
//! ports. Pure, and careful: the kernel copies at most `SNAPLEN` bytes, so every read is
//! bounds-checked and a header cut short yields no ports rather than a wrong guess.
//!
//! IPv6 extension headers are walked to the transport header: hop-by-hop options (0), routing
//! (43), fragment (44), destination options (60) and the authentication header (51, whose
//! length counts 4-byte units, not 8). A fragment other than the first (IPv4 or IPv6) carries
//! no transport header, so it has no ports.

use std::net::IpAddr;

/// IPv6 extension headers (RFC 8200 §4, RFC 4302).
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTHENTICATION: u8 = 51;
const DESTINATION_OPTIONS: u8 = 60;

/// What the first bytes of an IP packet say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number: the transport's, past any IPv6 extension headers (or the
    /// extension header the copied bytes end in).
    pub protocol: u8,
    /// Source port (TCP, UDP).
    pub sport: Option<u16>,
    /// Destination port (TCP, UDP).
    pub dport: Option<u16>,
    /// The identifier of an ICMP or ICMPv6 echo request: what a ping socket is bound to, in
    /// place of a port.
    pub echo_id: Option<u16>,
}

/// ICMP's echo request, and ICMPv6's.
const ICMP_ECHO_REQUEST: (u8, u8) = (1, 8);
const ICMPV6_ECHO_REQUEST: (u8, u8) = (58, 128);

/// Where the transport header of a packet starts, if it is there at all.
struct Transport<'a> {
    protocol: u8,
    /// `None` for a non-first fragment, or when the copied bytes end before it.
    header: Option<&'a [u8]>,
}

fn ipv4(p: &[u8]) -> Option<(IpAddr, IpAddr, Transport<'_>)> {
    let src: [u8; 4] = p.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = p.get(16..20)?.try_into().ok()?;
    let protocol = *p.get(9)?;
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    let fragment_offset = u16::from_be_bytes([*p.get(6)?, *p.get(7)?]) & 0x1fff;
    let header = (ihl >= 20 && fragment_offset == 0)
        .then(|| p.get(ihl..))
        .flatten();
    Some((
        IpAddr::from(src),
        IpAddr::from(dst),
        Transport { protocol, header },
    ))
}

fn ipv6(p: &[u8]) -> Option<(IpAddr, IpAddr, Transport<'_>)> {
    let src: [u8; 16] = p.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = p.get(24..40)?.try_into().ok()?;
    Some((IpAddr::from(src), IpAddr::from(dst), ipv6_transport(p)?))
}

/// Walks the extension headers after the fixed IPv6 header.
fn ipv6_transport(p: &[u8]) -> Option<Transport<'_>> {
    let mut protocol = *p.get(6)?;
    let mut offset = 40usize;
    loop {
        let len = match protocol {
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS => {
                p.get(offset + 1).map(|l| (usize::from(*l) + 1) * 8)
            }
            AUTHENTICATION => p.get(offset + 1).map(|l| (usize::from(*l) + 2) * 4),
            FRAGMENT => {
                let fragment_offset = p
                    .get(offset + 2..offset + 4)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]) >> 3);
                match (p.get(offset), fragment_offset) {
                    (Some(next), Some(0)) => {
                        protocol = *next;
                        offset += 8;
                        continue;
                    }
                    // A later fragment: the transport header is in the first one.
                    (Some(next), Some(_)) => {
                        return Some(Transport {
                            protocol: *next,
                            header: None,
                        });
                    }
                    _ => None,
                }
            }
            _ => {
                return Some(Transport {
                    protocol,
                    header: p.get(offset..),
                });
            }
        };
        // Every extension header starts with the next header's number.
        match (len, p.get(offset)) {
            (Some(len), Some(next)) => {
                protocol = *next;
                offset += len;
            }
            // Cut short inside the extension headers: the protocol is not known past here.
            _ => {
                return Some(Transport {
                    protocol,
                    header: None,
                });
            }
        }
    }
}

/// Addresses, protocol and ports of an IP packet's first bytes; `None` when even the
/// addresses are not there.
pub fn parse_packet(p: &[u8]) -> Option<Packet> {
    let (src, dst, transport) = match p.first()? >> 4 {
        4 => ipv4(p)?,
        6 => ipv6(p)?,
        _ => return None,
    };
    let ports = match (transport.protocol, transport.header) {
        (6 | 17, Some(l4)) if l4.len() >= 4 => (
            Some(u16::from_be_bytes([l4[0], l4[1]])),
            Some(u16::from_be_bytes([l4[2], l4[3]])),
        ),
        _ => (None, None),
    };
    let echo_id = match transport.header {
        Some(h) if h.len() >= 6 => {
            let kind = (transport.protocol, h[0]);
            (kind == ICMP_ECHO_REQUEST || kind == ICMPV6_ECHO_REQUEST)
                .then(|| u16::from_be_bytes([h[4], h[5]]))
        }
        _ => None,
    };
    Some(Packet {
        src,
        dst,
        protocol: transport.protocol,
        sport: ports.0,
        dport: ports.1,
        echo_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const ICMPV6: u8 = 58;
    const NO_NEXT: u8 = 59;

    /// An IPv6 packet from ::1 to ::2 whose fixed header names `first`, followed by `rest`.
    fn v6(first: u8, rest: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[6] = first;
        p[23] = 1;
        p[39] = 2;
        p.extend_from_slice(rest);
        p
    }

    /// An 8-byte-unit extension header (hop-by-hop, routing, destination options) of
    /// `units` + 1 units.
    fn ext(next: u8, units: u8) -> Vec<u8> {
        let mut h = vec![0u8; (usize::from(units) + 1) * 8];
        h[0] = next;
        h[1] = units;
        h
    }

    fn fragment(next: u8, offset_units: u16, more: bool) -> Vec<u8> {
        let field = (offset_units << 3) | u16::from(more);
        let [a, b] = field.to_be_bytes();
        vec![next, 0, a, b, 0, 0, 0, 7]
    }

    /// An authentication header of `len` + 2 four-byte units (12 bytes at `len` = 1).
    fn auth(next: u8, len: u8) -> Vec<u8> {
        let mut h = vec![0u8; (usize::from(len) + 2) * 4];
        h[0] = next;
        h[1] = len;
        h
    }

    const PORTS: [u8; 4] = [0x30, 0x39, 0x01, 0xbb];

    fn transport(p: &[u8]) -> (u8, Option<u16>, Option<u16>) {
        let p = parse_packet(p).unwrap();
        (p.protocol, p.sport, p.dport)
    }

    #[test]
    fn packets_give_addresses_protocol_and_ports() {
        let mut v4 = vec![0u8; 28];
        v4[0] = 0x45;
        v4[9] = 17;
        v4[12..16].copy_from_slice(&[10, 0, 0, 1]);
        v4[16..20].copy_from_slice(&[10, 0, 0, 2]);
        v4[20..24].copy_from_slice(&[0x30, 0x39, 0x00, 0x35]);
        assert_eq!(
            parse_packet(&v4),
            Some(Packet {
                src: "10.0.0.1".parse().unwrap(),
                dst: "10.0.0.2".parse().unwrap(),
                protocol: 17,
                sport: Some(12345),
                dport: Some(53),
                echo_id: None,
            })
        );
        let p = parse_packet(&v6(ICMPV6, &[])).unwrap();
        assert_eq!(
            (p.src.to_string(), p.dst.to_string()),
            ("::1".into(), "::2".into())
        );
        assert_eq!((p.protocol, p.sport, p.dport), (58, None, None));
        assert_eq!(parse_packet(&[0x45, 0]), None);
        assert_eq!(transport(&v6(TCP, &PORTS)), (TCP, Some(12345), Some(443)));
    }

    #[test]
    fn ipv6_extension_headers_are_walked_to_the_transport() {
        let chain = |headers: &[Vec<u8>]| headers.concat();
        // Hop-by-hop (8 bytes), then TCP.
        let p = v6(HOP_BY_HOP, &chain(&[ext(TCP, 0), PORTS.to_vec()]));
        assert_eq!(transport(&p), (TCP, Some(12345), Some(443)));
        // Routing of 24 bytes, destination options, then UDP.
        let p = v6(
            ROUTING,
            &chain(&[ext(DESTINATION_OPTIONS, 2), ext(UDP, 0), PORTS.to_vec()]),
        );
        assert_eq!(transport(&p), (UDP, Some(12345), Some(443)));
        // The authentication header counts 4-byte units: 12 bytes here, not 24.
        let p = v6(AUTHENTICATION, &chain(&[auth(TCP, 1), PORTS.to_vec()]));
        assert_eq!(transport(&p), (TCP, Some(12345), Some(443)));
        // A first fragment carries the transport header.
        let p = v6(FRAGMENT, &chain(&[fragment(UDP, 0, true), PORTS.to_vec()]));
        assert_eq!(transport(&p), (UDP, Some(12345), Some(443)));
        // No next header.
        assert_eq!(
            transport(&v6(HOP_BY_HOP, &ext(NO_NEXT, 0))),
            (NO_NEXT, None, None)
        );
    }

    #[test]
    fn a_later_fragment_has_no_ports() {
        let p = v6(
            FRAGMENT,
            &[fragment(TCP, 185, false), PORTS.to_vec()].concat(),
        );
        assert_eq!(transport(&p), (TCP, None, None));
        let mut v4 = vec![0u8; 28];
        v4[0] = 0x45;
        v4[9] = UDP;
        v4[6..8].copy_from_slice(&0x00b9u16.to_be_bytes());
        v4[20..24].copy_from_slice(&PORTS);
        assert_eq!(transport(&v4), (UDP, None, None));
        // The first IPv4 fragment (more fragments set, offset 0) has them.
        v4[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
        assert_eq!(transport(&v4), (UDP, Some(12345), Some(443)));
    }

    #[test]
    fn packets_cut_short_are_never_read_past_their_end() {
        let full = v6(
            HOP_BY_HOP,
            &[
                ext(ROUTING, 0),
                ext(AUTHENTICATION, 1),
                auth(FRAGMENT, 1),
                fragment(TCP, 0, false),
                PORTS.to_vec(),
            ]
            .concat(),
        );
        assert_eq!(transport(&full), (TCP, Some(12345), Some(443)));
        for len in 0..full.len() {
            let p = parse_packet(&full[..len]);
            if len < 40 {
                assert_eq!(p, None, "{len}");
            } else {
                let p = p.unwrap();
                assert!(p.sport.is_none() || len >= full.len() - 2, "{len}");
            }
        }
        // A header length that points past the end: the next protocol is known, its ports are
        // not.
        assert_eq!(
            transport(&v6(DESTINATION_OPTIONS, &[TCP, 255])),
            (TCP, None, None)
        );
        // Cut inside an extension header: only the header itself is known.
        assert_eq!(transport(&v6(ROUTING, &[TCP])), (ROUTING, None, None));
        // An IPv4 header length below the minimum is not taken for ports.
        let mut v4 = vec![0u8; 28];
        v4[0] = 0x41;
        v4[9] = TCP;
        assert_eq!(transport(&v4), (TCP, None, None));
    }

    #[test]
    fn an_echo_request_gives_its_identifier_and_nothing_else_does() {
        let mut v4 = vec![0u8; 28];
        v4[0] = 0x45;
        v4[9] = 1;
        v4[12..16].copy_from_slice(&[10, 0, 0, 1]);
        v4[16..20].copy_from_slice(&[10, 0, 0, 2]);
        v4[20] = 8;
        v4[24..26].copy_from_slice(&0x1234u16.to_be_bytes());
        let p = parse_packet(&v4).unwrap();
        assert_eq!((p.protocol, p.echo_id, p.sport), (1, Some(0x1234), None));
        v4[20] = 0;
        assert_eq!(
            parse_packet(&v4).unwrap().echo_id,
            None,
            "a reply is not ours"
        );
        assert_eq!(parse_packet(&v4[..24]).unwrap().echo_id, None, "cut short");
        let mut rest = vec![128u8, 0, 0, 0];
        rest.extend_from_slice(&0xbeefu16.to_be_bytes());
        assert_eq!(
            parse_packet(&v6(ICMPV6, &rest)).unwrap().echo_id,
            Some(0xbeef)
        );
    }
}
