//! The experiment itself: namespaces, server, agent, the indicator, the traffic and what each
//! side saw.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use netward_agent::netns::run_in;

use super::console::{Console, wait_for};
use super::resources::{ip, track};
use super::{LabReport, LabRow};

const PORT: u16 = 55440;
const ENDPOINT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const REMOTE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const CONSOLE: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
const ENDPOINT_TO_CONSOLE: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const TITLE: &str = "lab-test-access";

/// Moves the lab into a cgroup of its own; returns its path.
fn enter_own_cgroup(id: u32) -> anyhow::Result<PathBuf> {
    let mut own = netward_agent::events::cgroup::ChildCgroup::create(&format!("netward-lab-{id}"))
        .context("create the lab's cgroup")?;
    let path = own.path().to_owned();
    let entered = own.enter().context("move into the lab's cgroup");
    track(|r| r.cgroup = Some(own));
    entered?;
    Ok(path)
}

/// What the server recorded for `protocol`: the event's outcome, reason and process, and the
/// alert, as the API returns them.
fn recorded(events: &[serde_json::Value], protocol: &str, alerted: bool) -> String {
    let Some(e) = events.iter().find(|e| e["Protocol"] == protocol) else {
        return "no event".to_owned();
    };
    let f = &e["AdditionalFields"];
    let process = match e["InitiatingProcessId"].as_u64() {
        Some(pid) => format!(
            "{} (pid {pid})",
            e["InitiatingProcessFileName"].as_str().unwrap_or("?")
        ),
        None => "process unknown".to_owned(),
    };
    format!(
        "{} ({}), {}, {} hit(s){}",
        f["Outcome"].as_str().unwrap_or("?"),
        f["Reason"].as_str().unwrap_or("?"),
        process,
        f["Count"].as_u64().unwrap_or(0),
        if alerted { "; alert raised" } else { "" }
    )
}

pub(super) fn experiment(
    coverage: &str,
    id: u32,
    cs: &str,
    ep: &str,
    rh: &str,
) -> anyhow::Result<LabReport> {
    let temp = tempfile::tempdir()?;
    let dir = temp.path().to_owned();
    track(|r| r.dir = Some(temp));
    let cgroup = enter_own_cgroup(id)?;
    for n in [cs, ep, rh] {
        track(|r| r.names.push(n.to_owned()));
        ip(&["netns", "add", n])?;
    }
    let links = [
        (
            format!("nwl{id}a"),
            ep,
            ENDPOINT,
            format!("nwl{id}b"),
            rh,
            REMOTE,
        ),
        (
            format!("nwl{id}c"),
            cs,
            CONSOLE,
            format!("nwl{id}d"),
            ep,
            ENDPOINT_TO_CONSOLE,
        ),
    ];
    for (va, ns_a, addr_a, vb, ns_b, addr_b) in &links {
        ip(&[
            "link", "add", va, "netns", ns_a, "type", "veth", "peer", "name", vb, "netns", ns_b,
        ])?;
        for (ns, dev, addr) in [(ns_a, va, addr_a), (ns_b, vb, addr_b)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
    }
    let (ep_path, rh_path) = (
        PathBuf::from(format!("/run/netns/{ep}")),
        PathBuf::from(format!("/run/netns/{rh}")),
    );

    // The remote host: nc -l -p 55440, over TCP and UDP.
    let received: Arc<Mutex<(Vec<String>, Vec<String>)>> = Arc::default();
    let (tcp, udp) = run_in(&rh_path, || -> std::io::Result<_> {
        Ok((
            TcpListener::bind((REMOTE, PORT))?,
            UdpSocket::bind((REMOTE, PORT))?,
        ))
    })??;
    {
        let tcp_received = received.clone();
        let udp_received = received.clone();
        std::thread::spawn(move || {
            for mut s in tcp.incoming().flatten() {
                let mut text = String::new();
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let _ = s.read_to_string(&mut text);
                if let Ok(mut r) = tcp_received.lock() {
                    r.0.push(text);
                }
            }
        });
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok(n) = udp.recv(&mut buf) {
                if let Ok(mut r) = udp_received.lock() {
                    r.1.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
    }

    // The console.
    let exe = std::env::current_exe()?;
    let mut server = Command::new("ip")
        .args(["netns", "exec", cs])
        .arg(&exe)
        .args([
            "server",
            "--listen",
            &format!("{CONSOLE}:8443"),
            "--data-dir",
        ])
        .arg(dir.join("server"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start the server")?;
    let stdout = server
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no server output"))?;
    track(|r| r.children.push(server));
    let mut token = None;
    let mut url = None;
    let mut ca = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line.starts_with("nwt_") {
            token = Some(line);
        } else if let Some(rest) = line.strip_prefix("netward: CA certificate ") {
            ca = rest.split(" (sha256").next().map(str::to_owned);
        } else if let Some(u) = line.strip_prefix("netward: listening on ") {
            url = Some(u.to_owned());
            break;
        }
    }
    let console = Console {
        netns: cs.to_owned(),
        url: url.ok_or_else(|| anyhow!("the server did not start"))?,
        token: token.ok_or_else(|| anyhow!("the server printed no admin token"))?,
        ca: ca.ok_or_else(|| anyhow!("the server printed no CA certificate"))?,
        exe: exe.clone(),
    };
    console.cli(&[
        "group",
        "update",
        "default",
        "--mode",
        "block",
        "--coverage",
        coverage,
    ])?;
    let enroll = console.cli(&["enroll-token", "create"])?;
    let enroll = enroll["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no enrollment token"))?
        .to_owned();

    // The endpoint's agent, in the endpoint's own network namespace. nsenter rather than
    // `ip netns exec`, which remounts /sys and would hide the cgroup hierarchy from it.
    let agent = Command::new("nsenter")
        .arg(format!("--net={}", ep_path.display()))
        .arg(&exe)
        .args(["agent", "--enroll", &enroll, "--cgroup"])
        .arg(&cgroup)
        .arg("--state-dir")
        .arg(dir.join("agent"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start the agent")?;
    track(|r| r.children.push(agent));
    wait_for(
        "the endpoint enrolls and syncs",
        Duration::from_secs(20),
        || {
            Ok(console
                .device()
                .ok()
                .filter(|d| d["inSync"] == true)
                .map(|_| ()))
        },
    )?;

    // Register the remote host as a block indicator, and wait for the device to enforce it.
    let added = Instant::now();
    console.cli(&[
        "indicator",
        "add",
        &REMOTE.to_string(),
        "--action",
        "AlertAndBlock",
        "--title",
        TITLE,
    ])?;
    let answered = added.elapsed();
    let device = wait_for(
        "the endpoint acknowledges the indicator",
        Duration::from_secs(20),
        || {
            let d = console.device()?;
            let current = d["currentVersion"].as_u64().unwrap_or(0);
            Ok((d["inSync"] == true
                && d["appliedVersion"].as_u64() == Some(current)
                && d["entries"].as_u64() > Some(2))
            .then_some(d))
        },
    )?;
    let propagation = added.elapsed().saturating_sub(answered);
    let version = device["appliedVersion"].as_u64().unwrap_or(0);

    // The experiment: nc -u, then nc, then a ping.
    let udp_text = format!("hello over udp {id}");
    let tcp_text = format!("hello over tcp {id}");
    let udp_saw = run_in(&ep_path, {
        let t = udp_text.clone();
        move || -> String {
            match UdpSocket::bind((ENDPOINT, 0))
                .and_then(|s| s.send_to(t.as_bytes(), SocketAddr::new(IpAddr::V4(REMOTE), PORT)))
            {
                Ok(_) => "sent, no error".into(),
                Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                    "send failed at once: operation not permitted".into()
                }
                Err(e) => format!("send failed: {e}"),
            }
        }
    })?;
    let tcp_saw = run_in(&ep_path, {
        let t = tcp_text.clone();
        move || -> String {
            let started = Instant::now();
            match TcpStream::connect_timeout(
                &SocketAddr::new(IpAddr::V4(REMOTE), PORT),
                Duration::from_secs(3),
            ) {
                Ok(mut s) => {
                    let _ = s.write_all(t.as_bytes());
                    "connected, text sent".into()
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => format!(
                    "connection refused after {} ms",
                    started.elapsed().as_millis()
                ),
                Err(e) => format!("connect failed: {e}"),
            }
        }
    })?;
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            ep,
            "ping",
            "-c",
            "1",
            "-W",
            "1",
            &REMOTE.to_string(),
        ])
        .output()
        .context("run ping (install iputils-ping)")?;
    let ping_text = format!(
        "{}{}",
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&ping.stderr)
    );
    let ping_refused = ping_text.contains("Operation not permitted");
    let ping_saw = if ping.status.success() {
        "echo reply".to_owned()
    } else if ping_refused {
        "send failed at once: operation not permitted".to_owned()
    } else {
        "no reply within 1 s".to_owned()
    };
    std::thread::sleep(Duration::from_millis(300));
    let (tcp_got, udp_got) = received
        .lock()
        .map(|r| (r.0.clone(), r.1.clone()))
        .map_err(|_| anyhow!("listener poisoned"))?;

    let arrived = |got: &[String], text: &str| {
        if got.iter().any(|t| t == text) {
            format!("the text arrived: {text:?}")
        } else {
            "nothing".to_owned()
        }
    };
    // The events, as the server's API returns them (the agent reports every second).
    let remote = REMOTE.to_string();
    let events = wait_for(
        "the server records the three attempts",
        Duration::from_secs(10),
        || {
            let list = console.cli(&["events", "--remote-ip", &remote])?;
            let list = list["value"].as_array().cloned().unwrap_or_default();
            let all = ["Tcp", "Udp", "Icmp"]
                .iter()
                .all(|p| list.iter().any(|e| e["Protocol"] == *p));
            Ok(all.then_some(list))
        },
    )
    .unwrap_or_default();
    let alerts = console.cli(&["alert", "list"])?;
    let alerted = alerts["value"]
        .as_array()
        .is_some_and(|a| a.iter().any(|a| a["title"] == TITLE));
    let recorded = |proto: &str| -> String {
        let name = match proto {
            "TCP" => "Tcp",
            "UDP" => "Udp",
            _ => "Icmp",
        };
        recorded(&events, name, alerted)
    };
    let rows = vec![
        LabRow {
            protocol: "UDP".into(),
            reached_remote: arrived(&udp_got, &udp_text),
            endpoint_saw: udp_saw,
            server_recorded: recorded("UDP"),
        },
        LabRow {
            protocol: "TCP".into(),
            reached_remote: arrived(&tcp_got, &tcp_text),
            endpoint_saw: tcp_saw,
            server_recorded: recorded("TCP"),
        },
        LabRow {
            protocol: "ICMP".into(),
            reached_remote: if ping.status.success() {
                "the echo request arrived (it was answered)".into()
            } else if ping_refused {
                "nothing: the request never left the endpoint".into()
            } else {
                "unknown: no reply".into()
            },
            endpoint_saw: ping_saw,
            server_recorded: recorded("ICMP"),
        },
    ];
    Ok(LabReport {
        coverage: coverage.into(),
        propagation_ms: propagation.as_millis(),
        policy_version: version,
        verdict: super::verdict(coverage, &rows),
        rows,
    })
}
