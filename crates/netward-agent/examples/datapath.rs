//! Benchmark: what enforcement costs traffic that is not on the list (root).
//!
//! `cargo run --release -p netward-agent --example datapath -- [SECONDS]`
//!
//! A client and a server namespace joined by a veth pair. The client makes TCP connections
//! (connect, then close with a reset, one thread) and sends 64-byte UDP datagrams (one
//! thread) to the server for SECONDS each (default 3); the server counts what arrives. The
//! same run measures, side by side:
//! - no rules at all;
//! - netward's table with 1,000,000 block indicators loaded (the agent's own engine and
//!   enforcer; none covers the server);
//! - one iptables rule per blocked IP, as Wazuh's active response and fail2ban's default
//!   action add them (`-s IP -j DROP` in INPUT, `-d IP -j DROP` in OUTPUT), 1,000 and 10,000
//!   of them, with both iptables back ends (nft and legacy).
//!
//! - conntrack alone, and netward's table with no indicators, to split the cost.
//!
//! Prints a table with each rate and its share of the no-rules rate.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netward_agent::enforcer::nft::NftEnforcer;
use netward_agent::netns::run_in;
use netward_agent::runtime::engine::{Engine, PolicyState};
use netward_model::agent_wire::{PolicyIndicator, PolicyUpdate};

use netward_testkit::netns::{Netns, ip, veth};

const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 19, 8, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 19, 8, 2);
const PORT: u16 = 55442;

/// The next client source port, across all measurements (see `measure`).
static NEXT_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

/// Connections a second and datagrams a second (as received), over `secs`.
fn measure(client: &Path, secs: u64, received: &Arc<AtomicU64>) -> (f64, f64) {
    let tcp = run_in(client, move || {
        use nix::sys::socket::{
            AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket,
        };
        let to = SockaddrIn::from(std::net::SocketAddrV4::new(SERVER, PORT));
        let begin = Instant::now();
        let mut n = 0u64;
        // Each connection from the next source port in turn, across measurements: a port
        // reused while the server still holds the previous connection's state costs a
        // one-second SYN retry, which would measure the benchmark, not the rules.
        while begin.elapsed() < Duration::from_secs(secs) {
            let port = 20_000 + NEXT_PORT.fetch_add(1, Ordering::Relaxed) % 40_000;
            let fd = socket(
                AddressFamily::Inet,
                SockType::Stream,
                SockFlag::empty(),
                None,
            )
            .unwrap();
            let _ = nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::ReuseAddr, &true);
            if bind(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                &SockaddrIn::from(std::net::SocketAddrV4::new(CLIENT, port)),
            )
            .is_err()
            {
                continue;
            }
            let ok = connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &to);
            if ok.is_ok() {
                n += 1;
            }
        }
        n as f64 / begin.elapsed().as_secs_f64()
    })
    .unwrap();
    let before = received.load(Ordering::SeqCst);
    let udp = run_in(client, move || {
        let s = UdpSocket::bind((CLIENT, 0)).unwrap();
        let to = SocketAddr::from((SERVER, PORT));
        let payload = [7u8; 64];
        let begin = Instant::now();
        while begin.elapsed() < Duration::from_secs(secs) {
            for _ in 0..64 {
                let _ = s.send_to(&payload, to);
            }
        }
        begin.elapsed().as_secs_f64()
    })
    .unwrap();
    // Datagrams still queued for the server are counted once the count stops moving (no
    // change over one poll), so that the rate is of what arrived, not of what was read.
    let mut last = u64::MAX;
    netward_testkit::wait_until(
        "the queued datagrams are read",
        Duration::from_secs(10),
        || {
            let now = received.load(Ordering::SeqCst);
            std::mem::replace(&mut last, now) == now
        },
    );
    let got = received.load(Ordering::SeqCst) - before;
    (tcp, got as f64 / udp)
}

/// Loads one DROP rule per address, in INPUT and OUTPUT, with `restore` (iptables-restore or
/// iptables-legacy-restore) in the client namespace.
fn iptables(client_ns: &str, restore: &str, rules: usize) {
    let mut script =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n");
    for i in 0..rules {
        let a = Ipv4Addr::from(0x0b00_0000u32 + (i as u32) * 7 + 1);
        script.push_str(&format!(
            "-A INPUT -s {a}/32 -j DROP\n-A OUTPUT -d {a}/32 -j DROP\n"
        ));
    }
    script.push_str("COMMIT\n");
    let mut child = Command::new("ip")
        .args(["netns", "exec", client_ns, restore])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "{restore} failed");
}

fn flush_iptables(client_ns: &str, tool: &str) {
    for chain in ["INPUT", "OUTPUT"] {
        let _ = Command::new("ip")
            .args(["netns", "exec", client_ns, tool, "-F", chain])
            .output();
    }
    if tool == "iptables-nft" {
        let _ = Command::new("ip")
            .args(["netns", "exec", client_ns, "nft", "flush", "ruleset"])
            .output();
    }
}

fn main() {
    let secs: u64 = std::env::args().nth(1).map_or(3, |a| a.parse().unwrap());
    assert!(nix::unistd::geteuid().is_root(), "run as root");
    let id = std::process::id();
    let (cl_ns, sv_ns) = (
        Netns::add(&format!("nwdp{id}cl")),
        Netns::add(&format!("nwdp{id}sv")),
    );
    let (cl, sv) = (cl_ns.name().to_owned(), sv_ns.name().to_owned());
    let (va, vb) = (format!("nwdp{id}a"), format!("nwdp{id}b"));
    veth(&cl_ns, &va, &sv_ns, &vb);
    cl_ns.add_address(&va, &format!("{CLIENT}/24"));
    sv_ns.add_address(&vb, &format!("{SERVER}/24"));
    let (client, server) = (cl_ns.path(), sv_ns.path());
    // The server: accept and drop; count datagrams.
    ip(&[
        "netns",
        "exec",
        &sv,
        "sysctl",
        "-qw",
        "net.core.somaxconn=65535",
    ]);
    let (listener, udp) = run_in(&server, || {
        use nix::sys::socket::{
            AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, bind, listen, socket,
        };
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )
        .unwrap();
        nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::ReuseAddr, &true).unwrap();
        bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &SockaddrIn::from(std::net::SocketAddrV4::new(SERVER, PORT)),
        )
        .unwrap();
        listen(&fd, Backlog::new(4096).unwrap()).unwrap();
        (
            TcpListener::from(fd),
            UdpSocket::bind((SERVER, PORT)).unwrap(),
        )
    })
    .unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Two accepting threads, each closing with a reset (no TIME_WAIT on either side), so that
    // the accept queue never overflows into one-second SYN retries.
    for _ in 0..2 {
        let listener = listener.try_clone().unwrap();
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let _ = nix::sys::socket::setsockopt(
                    &s,
                    nix::sys::socket::sockopt::Linger,
                    &nix::libc::linger {
                        l_onoff: 1,
                        l_linger: 0,
                    },
                );
            }
        });
    }
    {
        let received = received.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if udp.recv(&mut buf).is_ok() {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }

    let mut rows: Vec<(String, f64, f64)> = Vec::new();
    // A warm-up (neighbour entries, caches), not reported.
    let _ = measure(&client, 1, &received);
    let baseline = measure(&client, secs, &received);
    rows.push(("no rules".into(), baseline.0, baseline.1));

    // Conntrack alone: the cost any `ct` match brings to every packet of the namespace.
    {
        let out = Command::new("ip")
            .args(["netns", "exec", &cl, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(
                    b"table inet ctonly {\n chain output {\n type filter hook output priority 0;\n ct state new counter\n }\n}\n",
                )?;
                c.wait()
            })
            .unwrap();
        assert!(out.success());
        let r = measure(&client, secs, &received);
        rows.push(("conntrack alone (one `ct state new` rule)".into(), r.0, r.1));
        let _ = Command::new("ip")
            .args([
                "netns", "exec", &cl, "nft", "delete", "table", "inet", "ctonly",
            ])
            .output();
    }
    for n in [0usize, 1_000_000] {
        let enforcer = NftEnforcer::open_in("netward", &client).unwrap();
        let mut engine = Engine::new(enforcer, PolicyState::default(), &[]);
        let started = Instant::now();
        let report = engine
            .update(
                PolicyUpdate {
                    version: 1,
                    full: true,
                    group: "default".into(),
                    mode: netward_model::ProtectionMode::Block,
                    coverage: netward_model::Coverage::All,
                    upserts: netward_testkit::bench::indicators(n)
                        .values()
                        .map(PolicyIndicator::from)
                        .collect::<Vec<_>>()
                        .into(),
                    removals: Vec::new(),
                    server_time: 0,
                },
                0,
            )
            .unwrap();
        eprintln!(
            "netward: {} set entries loaded in {:.1} s",
            report.added,
            started.elapsed().as_secs_f64()
        );
        let r = measure(&client, secs, &received);
        let name = if n == 0 {
            "netward, its table with no indicators".to_owned()
        } else {
            format!("netward, {n} indicators (nftables sets)")
        };
        rows.push((name, r.0, r.1));
        engine.uninstall().unwrap();
    }
    for (tool, restore) in [
        ("iptables-nft", "iptables-nft-restore"),
        ("iptables-legacy", "iptables-legacy-restore"),
    ] {
        for n in [1_000, 10_000] {
            iptables(&cl, restore, n);
            let r = measure(&client, secs, &received);
            rows.push((format!("{tool}, {n} rules per direction"), r.0, r.1));
            flush_iptables(&cl, tool);
        }
    }
    stop.store(true, Ordering::Relaxed);

    println!(
        "| Rules in the client namespace | TCP connections/s | % of no rules | UDP datagrams/s received | % of no rules |"
    );
    println!("|---|---|---|---|---|");
    for (name, tcp, udp) in rows {
        println!(
            "| {name} | {tcp:.0} | {:.0}% | {udp:.0} | {:.0}% |",
            100.0 * tcp / baseline.0,
            100.0 * udp / baseline.1
        );
    }
}
