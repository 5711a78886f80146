//! Two hosts in network namespaces joined by a veth pair: an endpoint (`ep`), where the
//! enforcer or the agent under test runs, and a remote host (`rh`) with two IPv4 and two IPv6
//! addresses, listening on TCP and UDP port [`PORT`] and recording what arrives. A test checks
//! what the endpoint saw against what the remote host really received. Everything is removed
//! on drop, on failure too. Needs root, and fails loudly without it.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netward_agent::netns::run_in;

use crate::netns::{Netns, veth};
use crate::wait::eventually;

/// The port the remote host listens on, TCP and UDP.
pub const PORT: u16 = 55440;

/// Labs made by this process so far, so that parallel tests get distinct names and networks.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// What the remote host received, one entry per connection or datagram.
#[derive(Debug, Default)]
pub struct Received {
    /// The text of each TCP connection.
    pub tcp: Vec<String>,
    /// The text of each UDP datagram.
    pub udp: Vec<String>,
}

/// The endpoint and the remote host.
#[derive(Debug)]
pub struct Lab {
    /// The endpoint's namespace.
    pub ep: Netns,
    /// The remote host's namespace.
    pub rh: Netns,
    /// This lab's number: it names the namespaces and picks the networks
    /// (`10.(100 + n / 250).(n % 250).0/24`, `fd00:…::/64`), so that a test attaching more
    /// namespaces can pick its own distinct networks from it.
    pub n: u32,
    /// What the remote host received so far.
    pub received: Arc<Mutex<Received>>,
}

impl Lab {
    /// Builds the two hosts and starts the listeners on the remote one.
    pub fn new() -> Self {
        let n = (std::process::id() % 200) * 50 + NEXT.fetch_add(1, Ordering::SeqCst) % 50;
        let (o2, o3) = (n / 250 + 100, n % 250);
        let ep = Netns::add(&format!("nwt{n}ep"));
        let rh = Netns::add(&format!("nwt{n}rh"));
        let (va, vb) = (format!("nwt{n}a"), format!("nwt{n}b"));
        veth(&ep, &va, &rh, &vb);
        ep.add_address(&va, &format!("10.{o2}.{o3}.1/24"));
        ep.add_address(&va, &format!("fd00:{o2}:{o3}::1/64"));
        for host in [2, 3] {
            rh.add_address(&vb, &format!("10.{o2}.{o3}.{host}/24"));
            rh.add_address(&vb, &format!("fd00:{o2}:{o3}::{host}/64"));
        }
        let lab = Lab {
            ep,
            rh,
            n,
            received: Arc::default(),
        };
        lab.start_listeners();
        lab
    }

    /// The endpoint's namespace file.
    pub fn ep_path(&self) -> PathBuf {
        self.ep.path()
    }

    /// The remote host's namespace file.
    pub fn rh_path(&self) -> PathBuf {
        self.rh.path()
    }

    /// The remote host's addresses: `v4` and `v4b` (IPv4 .2 and .3), `v6` and `v6b` (::2 and
    /// ::3).
    pub fn remote(&self, which: &str) -> IpAddr {
        let (o2, o3) = (self.n / 250 + 100, self.n % 250);
        match which {
            "v4" => format!("10.{o2}.{o3}.2"),
            "v4b" => format!("10.{o2}.{o3}.3"),
            "v6" => format!("fd00:{o2}:{o3}::2"),
            "v6b" => format!("fd00:{o2}:{o3}::3"),
            other => panic!("no remote address {other}"),
        }
        .parse()
        .expect("a lab address parses")
    }

    /// The network between the two hosts, `v4` or `v6`, as a CIDR.
    pub fn net(&self, family: &str) -> String {
        let (o2, o3) = (self.n / 250 + 100, self.n % 250);
        match family {
            "v4" => format!("10.{o2}.{o3}.0/24"),
            _ => format!("fd00:{o2}:{o3}::/64"),
        }
    }

    fn start_listeners(&self) {
        // Dual-stack sockets: one listener each serves IPv4 and IPv6.
        let (tcp, udp) = run_in(&self.rh_path(), || {
            (
                TcpListener::bind(("::", PORT)).expect("listen on TCP in the remote host"),
                UdpSocket::bind(("::", PORT)).expect("bind UDP in the remote host"),
            )
        })
        .expect("enter the remote host's namespace");
        let received = self.received.clone();
        std::thread::spawn(move || {
            for stream in tcp.incoming() {
                let Ok(mut s) = stream else { return };
                let received = received.clone();
                std::thread::spawn(move || {
                    let mut text = String::new();
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = s.read_to_string(&mut text);
                    received.lock().expect("not poisoned").tcp.push(text);
                });
            }
        });
        let received = self.received.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok(n) = udp.recv(&mut buf) {
                received
                    .lock()
                    .expect("not poisoned")
                    .udp
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        });
    }

    /// Makes `n` TCP connection attempts from the endpoint to `to` (texts `tag-0`, `tag-1`, …)
    /// and asserts that each was refused: `n` blocked hits.
    pub fn assert_refused(&self, to: IpAddr, n: usize, tag: &str) {
        for i in 0..n {
            assert_eq!(
                self.tcp(to, &format!("{tag}-{i}")),
                Outcome::Refused,
                "{tag}-{i} to {to}"
            );
        }
    }

    /// Sends `text` over TCP from the endpoint; what the endpoint saw. A block answers at once
    /// (a reset); the generous timeout only keeps a loaded machine from turning a slow
    /// handshake into a false "timed out" (seen once in CI with 2 s).
    pub fn tcp(&self, to: IpAddr, text: &str) -> Outcome {
        let text = text.to_owned();
        run_in(&self.ep_path(), move || {
            match TcpStream::connect_timeout(&SocketAddr::new(to, PORT), Duration::from_secs(10)) {
                Ok(mut s) => {
                    let _ = s.write_all(text.as_bytes());
                    Outcome::Sent
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => Outcome::Refused,
                Err(e) if e.kind() == ErrorKind::TimedOut => Outcome::TimedOut,
                Err(e) => Outcome::Other(e.to_string()),
            }
        })
        .expect("enter the endpoint's namespace")
    }

    /// Sends `text` in one UDP datagram from the endpoint; what the endpoint saw.
    pub fn udp(&self, to: IpAddr, text: &str) -> Outcome {
        let text = text.to_owned();
        run_in(&self.ep_path(), move || {
            let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let s = UdpSocket::bind(bind).expect("bind a UDP socket in the endpoint");
            match s.send_to(text.as_bytes(), SocketAddr::new(to, PORT)) {
                Ok(_) => Outcome::Sent,
                Err(e) if e.kind() == ErrorKind::PermissionDenied => Outcome::Refused,
                Err(e) => Outcome::Other(e.to_string()),
            }
        })
        .expect("enter the endpoint's namespace")
    }

    /// Pings from the endpoint once; whether a reply came.
    pub fn ping(&self, to: IpAddr) -> bool {
        self.ep
            .exec("ping")
            .args(["-c", "1", "-W", "1", &to.to_string()])
            .output()
            .expect("run ping (iputils-ping)")
            .status
            .success()
    }

    /// Whether the remote host received `text` over `proto` (`tcp` or `udp`), waiting up to
    /// half a second for it: a delivered packet lands well within that, so a `false` means it
    /// was not delivered.
    pub fn arrived(&self, proto: &str, text: &str) -> bool {
        eventually(Duration::from_millis(500), || {
            let r = self.received.lock().expect("not poisoned");
            let list = if proto == "tcp" { &r.tcp } else { &r.udp };
            list.iter().any(|t| t == text)
        })
    }

    /// Runs `nft` in the endpoint's namespace.
    pub fn nft(&self, args: &[&str]) -> Output {
        self.ep
            .exec("nft")
            .args(args)
            .output()
            .expect("run nft (nftables)")
    }
}

/// A host in a namespace of its own beside the lab's endpoint, joined to it by a veth pair,
/// so that its traffic with the endpoint crosses the endpoint's table (a server, a console);
/// removed on drop with its namespace.
#[derive(Debug)]
pub struct SideHost {
    /// Its namespace.
    pub ns: Netns,
    /// Its address, as seen from the endpoint.
    pub ip: String,
}

impl Lab {
    /// A [`SideHost`] named after the lab and `tag`, on `10.<octet>.x.0/24`, where `octet` is
    /// `base` plus the lab's number / 250 (each kind of side host takes its own `base`).
    pub fn side_host(&self, tag: &str, base: u32) -> SideHost {
        let name = format!("{}{tag}", self.ep.name().trim_end_matches("ep"));
        let (a, b) = (format!("{name}x"), format!("{name}y"));
        let sub = format!("10.{}.{}", base + self.n / 250, self.n % 250);
        let ns = Netns::add(&name);
        veth(&ns, &a, &self.ep, &b);
        ns.add_address(&a, &format!("{sub}.1/24"));
        self.ep.add_address(&b, &format!("{sub}.2/24"));
        SideHost {
            ns,
            ip: format!("{sub}.1"),
        }
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

/// What the sending side saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Sent without an error (TCP: connected).
    Sent,
    /// Refused at once: a TCP reset, or `EPERM` for UDP.
    Refused,
    /// The TCP handshake timed out.
    TimedOut,
    /// Any other error.
    Other(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namespaces() -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("run ip netns list");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Root: the lab delivers between its hosts, and a test that fails still removes it.
    #[test]
    fn a_lab_delivers_between_its_hosts_and_is_removed_when_a_test_fails() {
        let (tx, rx) = std::sync::mpsc::channel();
        let failed = std::thread::spawn(move || {
            let lab = Lab::new();
            assert_eq!(lab.tcp(lab.remote("v4"), "over-tcp"), Outcome::Sent);
            assert!(lab.arrived("tcp", "over-tcp"));
            assert_eq!(lab.udp(lab.remote("v6b"), "over-udp"), Outcome::Sent);
            assert!(lab.arrived("udp", "over-udp"));
            assert!(!lab.arrived("udp", "never-sent"));
            tx.send((lab.ep.name().to_owned(), lab.rh.name().to_owned()))
                .expect("the test waits for the names");
            panic!("a test failing with its lab still up");
        })
        .join();
        assert!(failed.is_err());
        let (ep, rh) = rx.recv().expect("the lab worked before the failure");
        let left = namespaces();
        assert!(
            !left
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .any(|name| name == ep || name == rh),
            "left behind: {left}"
        );
    }
}
