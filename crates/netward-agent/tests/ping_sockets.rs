//! ICMP echo attribution from the kernel's ping sockets, in a fresh network namespace (root
//! only): an echo request's identifier names the process whose ping socket sent it, over IPv4
//! and IPv6; an identifier no socket holds names nobody.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::net::{IpAddr, SocketAddr};

use netward_agent::events::ping_sockets::PingSockets;
use netward_agent::netns::run_in;
use netward_testkit::lab::Lab;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrStorage, getsockname,
    sendto, socket,
};

/// Opens a ping socket in the endpoint and sends one echo request to `to` with it; the socket
/// and the identifier the kernel bound it to.
fn ping_from_endpoint(lab: &Lab, to: IpAddr) -> (std::os::fd::OwnedFd, u16) {
    run_in(&lab.ep_path(), move || {
        let (family, protocol, request) = match to {
            IpAddr::V4(_) => (AddressFamily::Inet, SockProtocol::Icmp, 8u8),
            IpAddr::V6(_) => (AddressFamily::Inet6, SockProtocol::IcmpV6, 128u8),
        };
        let fd = socket(family, SockType::Datagram, SockFlag::empty(), protocol)
            .expect("a ping socket (ping_group_range set for root)");
        // The kernel fills in the identifier (the socket's "port") and the checksum.
        let echo = [request, 0, 0, 0, 0, 0, 0, 1, b'n', b'w'];
        let dest = SockaddrStorage::from(SocketAddr::new(to, 0));
        sendto(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &echo,
            &dest,
            MsgFlags::empty(),
        )
        .unwrap();
        let local: SockaddrStorage = getsockname(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap();
        let id = local
            .as_sockaddr_in()
            .map(|a| a.port())
            .or_else(|| local.as_sockaddr_in6().map(|a| a.port()))
            .unwrap();
        (fd, id)
    })
    .unwrap()
}

#[test]
fn an_echo_request_names_the_process_of_its_ping_socket() {
    let lab = Lab::new();
    let ok = lab
        .ep
        .exec("sysctl")
        .args(["-qw", "net.ipv4.ping_group_range=0 2147483647"])
        .status()
        .unwrap();
    assert!(ok.success(), "allow ping sockets in the endpoint");
    let pings = PingSockets::open_in(Some(&lab.ep_path())).expect("read the ping sockets");
    for (which, protocol) in [("v4", 1u8), ("v6", 58u8)] {
        let to = lab.remote(which);
        let (socket, id) = ping_from_endpoint(&lab, to);
        let origin = pings
            .origin_of(protocol, to, id, Some(0), 0)
            .unwrap_or_else(|| panic!("{which}: the echo names its process"));
        assert_eq!(origin.tgid, std::process::id(), "{which}");
        assert_eq!(origin.uid, 0);
        assert_eq!(
            pings.origin_of(protocol, to, id.wrapping_add(1), None, 0),
            None,
            "{which}: no socket holds that identifier"
        );
        assert_eq!(
            pings.origin_of(protocol, to, id, Some(4242), 0),
            None,
            "{which}: another uid's packet"
        );
        drop(socket);
    }
}
