//! Reading the kernel's hit log: the agent's nftables rules send every hit to an NFLOG group
//! with a prefix that names the direction, the set, the outcome and the reason
//! (`netward:out:block:blocked:indicator_block`, whose grammar is [`crate::log_prefix`]). This
//! module reads those messages over netlink and turns each into a [`Hit`]. It decides nothing itself: the outcome is the rule's.
//!
//! Nothing is lost silently: the group is configured with per-instance sequence numbers, so a
//! gap (after a netlink buffer overrun, `ENOBUFS`) is counted exactly as lost hits.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::nflog::{
    ConfigCmd, ConfigFlags, ConfigMode, ConfigNla, PacketNla, Timeout, ULogMessage, config_request,
};
use netlink_packet_netfilter::{NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};
use nix::sys::socket::{setsockopt, sockopt};

pub use super::packet::{Packet, parse_packet};
pub use super::source::Batch;
pub use crate::log_prefix::{Direction, PREFIX, Verdict};

/// The NFLOG group the agent's rules log to.
pub const GROUP: u16 = 4207;
/// Bytes of each packet copied: the IP header and the start of the transport header.
pub const SNAPLEN: u32 = 128;
/// A large receive buffer, so that a storm is read rather than overrun.
const RECV_BUFFER: usize = 32 * 1024 * 1024;

/// One logged packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The rule's verdict.
    pub verdict: Verdict,
    /// IP protocol number.
    pub protocol: u8,
    /// The device's address.
    pub local: IpAddr,
    /// The device's port (TCP, UDP).
    pub local_port: Option<u16>,
    /// The other end.
    pub remote: IpAddr,
    /// Its port (TCP, UDP).
    pub remote_port: Option<u16>,
    /// The sending socket's uid (locally generated packets only).
    pub uid: Option<u32>,
    /// The identifier of an ICMP echo request (a ping socket's "port").
    pub echo_id: Option<u16>,
}

/// A hit, built from a packet's log attributes.
pub fn hit_of(nlas: &[PacketNla]) -> Option<(Hit, Option<u32>)> {
    let mut prefix = None;
    let mut payload = None;
    let mut uid = None;
    let mut seq = None;
    for nla in nlas {
        match nla {
            PacketNla::Prefix(p) => prefix = p.to_str().ok(),
            PacketNla::Payload(p) => payload = Some(p.as_slice()),
            PacketNla::Uid(u) => uid = Some(*u),
            PacketNla::Seq(s) => seq = Some(*s),
            _ => {}
        }
    }
    let verdict = Verdict::parse(prefix?)?;
    let Packet {
        src,
        dst,
        protocol,
        sport,
        dport,
        echo_id,
    } = parse_packet(payload?)?;
    let hit = match verdict.direction {
        Direction::Outbound => Hit {
            verdict,
            protocol,
            local: src,
            local_port: sport,
            remote: dst,
            remote_port: dport,
            uid,
            echo_id,
        },
        Direction::Inbound => Hit {
            verdict,
            protocol,
            local: dst,
            local_port: dport,
            remote: src,
            remote_port: sport,
            uid: None,
            echo_id,
        },
    };
    Some((hit, seq))
}

/// The hits in what one `recv` returned: netlink messages back to back, each padded to four
/// bytes. A gap in the sequence numbers after `next_seq` is counted as lost hits. Pure, so
/// that it can be fuzzed without a socket: the first message that cannot be read ends the
/// batch.
pub fn decode(bytes: &[u8], next_seq: &mut Option<u32>) -> Batch {
    let mut batch = Batch::default();
    let n = bytes.len();
    let mut offset = 0;
    while offset < n {
        let Ok(msg) = NetlinkMessage::<NetfilterMessage>::deserialize(&bytes[offset..n]) else {
            break;
        };
        let len = msg.header.length as usize;
        if let NetlinkPayload::InnerMessage(NetfilterMessage {
            inner: NetfilterMessageInner::ULog(ULogMessage::Packet(nlas)),
            ..
        }) = &msg.payload
            && let Some((hit, seq)) = hit_of(nlas)
        {
            if let Some(seq) = seq {
                if let Some(expected) = *next_seq {
                    batch.lost += u64::from(seq.wrapping_sub(expected));
                }
                *next_seq = Some(seq.wrapping_add(1));
            }
            batch.hits.push(hit);
        }
        if len == 0 {
            break;
        }
        offset += (len + 3) & !3;
    }
    batch
}

/// An NFLOG socket bound to [`GROUP`] in the namespace it was opened in.
#[derive(Debug)]
pub struct NflogSocket {
    socket: Socket,
    buf: Vec<u8>,
    next_seq: Option<u32>,
    /// Whether a message from another socket than the kernel's was seen (and logged once).
    foreign_seen: bool,
}

fn configure(
    socket: &mut Socket,
    family: NetfilterProtoFamily,
    nlas: Vec<ConfigNla>,
    group: u16,
) -> io::Result<()> {
    let mut msg = config_request(family, group, nlas);
    msg.header.sequence_number = 1;
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    socket.send(&buf, 0)?;
    let mut answer = vec![0u8; 8192];
    let n = socket.recv(&mut &mut answer[..], 0)?;
    let reply = NetlinkMessage::<NetfilterMessage>::deserialize(&answer[..n])
        .map_err(|e| io::Error::other(e.to_string()))?;
    if let NetlinkPayload::Error(e) = reply.payload
        && let Some(code) = e.code
    {
        return Err(io::Error::from_raw_os_error(-code.get()));
    }
    Ok(())
}

impl NflogSocket {
    /// Binds [`GROUP`] in the caller's network namespace. Only one process can hold a group:
    /// a second agent in the same namespace fails here with `EBUSY`.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind(&SocketAddr::new(0, 0))?;
        setsockopt(&socket.as_fd(), sockopt::RcvBufForce, &RECV_BUFFER).map_err(io::Error::from)?;
        // Wake up now and then even when nothing is logged, so the reader can stop.
        let timeout = nix::sys::time::TimeVal::new(0, 200_000);
        setsockopt(&socket.as_fd(), sockopt::ReceiveTimeout, &timeout).map_err(io::Error::from)?;
        for family in [NetfilterProtoFamily::IPv4, NetfilterProtoFamily::IPv6] {
            // Binding a family's logger is a no-op on current kernels and required on old ones.
            let _ = configure(&mut socket, family, vec![ConfigCmd::PfBind.into()], 0);
        }
        let timeout: Timeout = Duration::from_millis(20).into();
        configure(
            &mut socket,
            NetfilterProtoFamily::Unspec,
            vec![
                ConfigCmd::Bind.into(),
                ConfigFlags::SEQ.into(),
                ConfigMode::new_packet(SNAPLEN).into(),
                timeout.into(),
                ConfigNla::QThresh(64),
            ],
            GROUP,
        )?;
        Ok(Self {
            socket,
            buf: vec![0; 1 << 20],
            next_seq: None,
            foreign_seen: false,
        })
    }

    /// Reads what the kernel has logged, waiting at most 200 ms.
    pub fn read(&mut self) -> io::Result<Batch> {
        let n = match self.socket.recv_from(&mut &mut self.buf[..], 0) {
            // Only the kernel (port 0) logs hits; a datagram from another socket (which takes
            // CAP_NET_ADMIN in this namespace to send) is not read as one.
            Ok((n, from)) if from.port_number() == 0 => n,
            Ok((_, from)) => {
                if !self.foreign_seen {
                    self.foreign_seen = true;
                    tracing::warn!(
                        sender = from.port_number(),
                        "Ignoring messages on the hit log that do not come from the kernel."
                    );
                }
                return Ok(Batch::default());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Batch::default());
            }
            // The kernel dropped messages; the sequence gap counts them.
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => return Ok(Batch::default()),
            Err(e) => return Err(e),
        };
        Ok(decode(&self.buf[..n], &mut self.next_seq))
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::time::{Duration, Instant};

    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use netlink_packet_netfilter::nflog::{PacketNla, ULogMessage};
    use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
    use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};
    use netward_model::Action;
    use netward_model::detection::{Outcome, Reason};

    use super::*;

    /// An NFLOG message as the kernel would send it for a blocked outbound TCP packet.
    fn blocked_hit_message() -> Vec<u8> {
        let mut packet = vec![0u8; 40];
        packet[0] = 0x45; // IPv4, 20-byte header
        packet[3] = 40; // total length
        packet[8] = 64; // TTL
        packet[9] = 6; // TCP
        packet[12..16].copy_from_slice(&[10, 0, 0, 1]);
        packet[16..20].copy_from_slice(&[192, 0, 2, 7]);
        packet[20..22].copy_from_slice(&40_000u16.to_be_bytes());
        packet[22..24].copy_from_slice(&443u16.to_be_bytes());
        packet[32] = 0x50; // TCP data offset
        let verdict = Verdict {
            direction: Direction::Outbound,
            set_action: Action::Block,
            outcome: Outcome::Blocked,
            reason: Reason::IndicatorBlock,
        };
        let mut msg = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::from(NetfilterMessage::new(
                NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, GROUP),
                ULogMessage::Packet(vec![
                    PacketNla::Prefix(CString::new(verdict.prefix()).unwrap()),
                    PacketNla::Payload(packet),
                ]),
            )),
        );
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        buf
    }

    /// Root: a well-formed hit sent to the agent's hit-log socket by another socket (not the
    /// kernel) is not read as a hit.
    #[test]
    fn a_hit_forged_by_another_socket_is_not_read() {
        let forged = blocked_hit_message();
        assert_eq!(
            decode(&forged, &mut None).hits.len(),
            1,
            "the forged message is one the kernel could have sent"
        );
        let lab = netward_testkit::Lab::new();
        let (mut log, sender) = crate::netns::run_in(&lab.ep_path(), || {
            let log = NflogSocket::open().expect("bind the hit log (needs root)");
            let mut sender = Socket::new(NETLINK_NETFILTER).unwrap();
            sender.bind_auto().unwrap();
            (log, sender)
        })
        .unwrap();
        let mut to = SocketAddr::new(0, 0);
        log.socket.get_address(&mut to).unwrap();
        sender.send_to(&forged, &to, 0).unwrap();
        // Read until the forged message has been seen: it must not come out as a hit.
        let until = Instant::now() + Duration::from_secs(10);
        while !log.foreign_seen && Instant::now() < until {
            let batch = log.read().unwrap();
            assert!(
                batch.hits.is_empty(),
                "a forged hit was read: {:?}",
                batch.hits
            );
        }
        assert!(log.foreign_seen, "the forged message never arrived");
    }
}
