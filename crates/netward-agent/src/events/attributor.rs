//! [`Attributor`]: how the sensor names the process behind a hit. In production the cgroup BPF
//! programs remember who reached an endpoint and `/proc` describes that process
//! ([`super::attribution::Attribution`]); in tests a [`super::fake::FakeAttributor`] answers
//! from a table.

use std::net::IpAddr;

use netward_model::detection::ProcessInfo;

use super::attribution::{self, Attribution, Origin};

/// IP protocol numbers of ICMP and ICMPv6, whose echo requests are attributed by their
/// identifier rather than a port.
pub const ICMP: u8 = 1;
/// See [`ICMP`].
pub const ICMPV6: u8 = 58;

/// Names the process behind an outbound hit, or says it cannot.
pub trait Attributor: Send + 'static {
    /// Who last reached `remote` on `port` over `protocol` (for an ICMP echo, `port` is its
    /// identifier), or `None` when that cannot be known for sure (nobody seen, two processes
    /// at once, another uid, too old).
    fn origin_of(
        &self,
        protocol: u8,
        remote: IpAddr,
        port: Option<u16>,
        packet_uid: Option<u32>,
    ) -> Option<Origin>;

    /// The process behind `origin`, as fully as can be told for certain.
    fn describe(&self, origin: &Origin) -> ProcessInfo;
}

impl Attributor for Attribution {
    fn origin_of(
        &self,
        protocol: u8,
        remote: IpAddr,
        port: Option<u16>,
        packet_uid: Option<u32>,
    ) -> Option<Origin> {
        Attribution::origin_of(self, protocol, remote, port, packet_uid)
    }

    fn describe(&self, origin: &Origin) -> ProcessInfo {
        attribution::describe(origin)
    }
}
