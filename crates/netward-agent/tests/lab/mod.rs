//! Two hosts in network namespaces joined by a veth pair: an endpoint (`ep`) and a remote host
//! (`rh`) with two IPv4 and two IPv6 addresses, listening on TCP and UDP port 55440. Everything
//! is removed on drop, on failure too. Needs root, and fails loudly without it.

#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netward_agent::netns::run_in;

pub const PORT: u16 = 55440;

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a remote host received.
#[derive(Debug, Default)]
pub struct Received {
    pub tcp: Vec<String>,
    pub udp: Vec<String>,
}

pub struct Lab {
    pub ep: String,
    pub rh: String,
    pub n: u32,
    pub received: Arc<Mutex<Received>>,
}

impl Lab {
    /// Builds the two hosts and starts the listeners on the remote one.
    pub fn new() -> Self {
        let n = (std::process::id() % 200) * 50 + NEXT.fetch_add(1, Ordering::SeqCst) % 50;
        let lab = Lab {
            ep: format!("nwt{n}ep"),
            rh: format!("nwt{n}rh"),
            n,
            received: Arc::default(),
        };
        let (o2, o3) = (n / 250 + 100, n % 250);
        ip(&["netns", "add", &lab.ep]);
        ip(&["netns", "add", &lab.rh]);
        let (va, vb) = (format!("nwt{n}a"), format!("nwt{n}b"));
        ip(&[
            "link", "add", &va, "netns", &lab.ep, "type", "veth", "peer", "name", &vb, "netns",
            &lab.rh,
        ]);
        for (ns, dev, addrs) in [
            (
                &lab.ep,
                &va,
                vec![
                    format!("10.{o2}.{o3}.1/24"),
                    format!("fd00:{o2}:{o3}::1/64"),
                ],
            ),
            (
                &lab.rh,
                &vb,
                vec![
                    format!("10.{o2}.{o3}.2/24"),
                    format!("10.{o2}.{o3}.3/24"),
                    format!("fd00:{o2}:{o3}::2/64"),
                    format!("fd00:{o2}:{o3}::3/64"),
                ],
            ),
        ] {
            for a in addrs {
                let mut args = vec![
                    "-n",
                    ns.as_str(),
                    "addr",
                    "add",
                    a.as_str(),
                    "dev",
                    dev.as_str(),
                ];
                if a.contains(':') {
                    args.push("nodad");
                }
                ip(&args);
            }
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        lab.start_listeners();
        lab
    }

    pub fn ep_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.ep))
    }

    pub fn rh_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.rh))
    }

    /// The remote host's addresses: IPv4 .2 and .3, IPv6 ::2 and ::3.
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
        .unwrap()
    }

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
                TcpListener::bind(("::", PORT)).unwrap(),
                UdpSocket::bind(("::", PORT)).unwrap(),
            )
        })
        .unwrap();
        {
            let listener = tcp;
            let received = self.received.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut s) = stream else { return };
                    let received = received.clone();
                    std::thread::spawn(move || {
                        let mut text = String::new();
                        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                        let _ = s.read_to_string(&mut text);
                        received.lock().unwrap().tcp.push(text);
                    });
                }
            });
        }
        {
            let socket = udp;
            let received = self.received.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while let Ok(n) = socket.recv(&mut buf) {
                    received
                        .lock()
                        .unwrap()
                        .udp
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            });
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
        .unwrap()
    }

    /// Sends `text` in one UDP datagram from the endpoint; what the endpoint saw.
    pub fn udp(&self, to: IpAddr, text: &str) -> Outcome {
        let text = text.to_owned();
        run_in(&self.ep_path(), move || {
            let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let s = UdpSocket::bind(bind).unwrap();
            match s.send_to(text.as_bytes(), SocketAddr::new(to, PORT)) {
                Ok(_) => Outcome::Sent,
                Err(e) if e.kind() == ErrorKind::PermissionDenied => Outcome::Refused,
                Err(e) => Outcome::Other(e.to_string()),
            }
        })
        .unwrap()
    }

    /// Pings from the endpoint once; whether a reply came.
    pub fn ping(&self, to: IpAddr) -> bool {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ep,
                "ping",
                "-c",
                "1",
                "-W",
                "1",
                &to.to_string(),
            ])
            .output()
            .expect("run ping (iputils-ping)")
            .status
            .success()
    }

    /// Whether the remote host received `text` over the protocol, waiting briefly for it.
    pub fn arrived(&self, proto: &str, text: &str) -> bool {
        for _ in 0..20 {
            {
                let r = self.received.lock().unwrap();
                let list = if proto == "tcp" { &r.tcp } else { &r.udp };
                if list.iter().any(|t| t == text) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    /// Runs `nft` in the endpoint's namespace.
    pub fn nft(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ep, "nft"])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.ep, &self.rh] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// What the sending side saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Refused,
    TimedOut,
    Other(String),
}
