//! Free TCP ports on loopback, for helper processes (chromedriver) that must be told a port
//! before they start. A server under test binds port 0 itself and reports the port it got.

use std::net::{Ipv4Addr, TcpListener};

/// A TCP port on 127.0.0.1 that was free a moment ago. The listener that found it is closed,
/// so another process could take it first; only use it for a process started right away.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}
