//! Naming the process behind an ICMP echo request. The cgroup BPF programs only see TCP and
//! UDP; an echo has no port, but a *ping socket* (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`,
//! what `ping` uses when `net.ipv4.ping_group_range` lets it) is bound to the echo identifier
//! instead, and the kernel lists it in `/proc/net/icmp` and `/proc/net/icmp6` with the
//! identifier as its local "port", its destination when connected, its uid and its inode. The
//! process is the one holding that inode among its file descriptors.
//!
//! The process is `unknown`, never guessed, when:
//! - the echo came from a *raw* socket (`SOCK_RAW`, what `ping` uses as root when ping sockets
//!   are not allowed, and tools that build their own packets): a raw socket is not bound to an
//!   identifier, so nothing ties the packet to it;
//! - no ping socket, or more than one, is bound to the identifier (and connected to no other
//!   address), or more than one process holds the socket (after a `fork`);
//! - the socket's uid is not the packet's;
//! - the socket was closed before the agent read the hit (a single `ping -c 1` that got its
//!   refusal at once may be gone within milliseconds).
//!
//! A lookup reads the table and may walk `/proc/*/fd`, so its answer (found or not) is kept
//! for [`CACHE`] per (protocol, destination, identifier): a flood of echoes costs one walk a
//! second.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::attribution::Origin;
use super::attributor::ICMPV6;

/// How long the answer of a lookup is reused.
pub const CACHE: Duration = Duration::from_secs(1);

/// One ping socket, as `/proc/net/icmp{,6}` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingSocket {
    /// The echo identifier it is bound to.
    pub id: u16,
    /// Its destination, when connected.
    pub remote: Option<IpAddr>,
    /// Its owner.
    pub uid: u32,
    /// Its inode, as `socket:[inode]` in a holder's `/proc/PID/fd`.
    pub inode: u64,
}

/// The hexadecimal address of `/proc/net/icmp{,6}`: 32-bit words in the kernel's byte order.
fn parse_address(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
            .ok()
            .map(u32::to_ne_bytes)
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut octets = [0u8; 16];
            for i in 0..4 {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

/// The sockets of a `/proc/net/icmp` or `/proc/net/icmp6` text; lines it cannot read are
/// skipped.
pub fn parse_table(text: &str) -> Vec<PingSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (_, id) = f.get(1)?.split_once(':')?;
            let (remote, _) = f.get(2)?.split_once(':')?;
            let remote = parse_address(remote)?;
            Some(PingSocket {
                id: u16::from_str_radix(id, 16).ok()?,
                remote: (!remote.is_unspecified()).then_some(remote),
                uid: f.get(7)?.parse().ok()?,
                inode: f.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// The one socket bound to `id` that may have sent to `remote`, if exactly one.
pub fn the_socket(sockets: &[PingSocket], id: u16, remote: IpAddr) -> Option<PingSocket> {
    let mut found = sockets
        .iter()
        .filter(|s| s.id == id && s.remote.is_none_or(|r| r == remote));
    let one = found.next().copied();
    match found.next() {
        Some(_) => None,
        None => one,
    }
}

/// The only process holding the socket `inode`, with its name.
fn holder(inode: u64) -> Option<(u32, String)> {
    let target = format!("socket:[{inode}]");
    let mut found: Option<u32> = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == target.as_str())
        });
        if holds {
            if found.is_some() {
                return None;
            }
            found = Some(pid);
        }
    }
    let pid = found?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some((pid, comm.trim_end_matches('\n').to_owned()))
}

/// The kernel's tables of ping sockets, opened in one network namespace, with the answers of
/// recent lookups.
#[derive(Debug)]
pub struct PingSockets {
    /// `/proc/net/icmp` and `/proc/net/icmp6`, opened in the namespace: a `/proc/net` file
    /// keeps the namespace it was opened in, and reads it again from the start.
    tables: Mutex<(File, File)>,
    cache: Mutex<HashMap<EchoKey, (Instant, Option<Origin>)>>,
}

/// An echo request's protocol, destination and identifier.
type EchoKey = (u8, IpAddr, u16);

impl PingSockets {
    /// Opens the tables of the caller's network namespace.
    pub fn open() -> std::io::Result<Self> {
        Ok(Self {
            tables: Mutex::new((
                File::open("/proc/thread-self/net/icmp")?,
                File::open("/proc/thread-self/net/icmp6")?,
            )),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Opens the tables of the network namespace at `netns`, or of the caller's.
    pub fn open_in(netns: Option<&Path>) -> std::io::Result<Self> {
        match netns {
            Some(path) => crate::netns::run_in(path, Self::open)?,
            None => Self::open(),
        }
    }

    /// The sockets of `protocol`'s table, read now.
    fn sockets(&self, protocol: u8) -> Option<Vec<PingSocket>> {
        let mut tables = self.tables.lock().ok()?;
        let file = if protocol == ICMPV6 {
            &mut tables.1
        } else {
            &mut tables.0
        };
        file.seek(SeekFrom::Start(0)).ok()?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        Some(parse_table(&text))
    }

    /// The process whose ping socket sent an echo request with identifier `id` to `remote`,
    /// or `None` when that cannot be known for sure (see the module documentation).
    pub fn origin_of(
        &self,
        protocol: u8,
        remote: IpAddr,
        id: u16,
        packet_uid: Option<u32>,
        now_ns: u64,
    ) -> Option<Origin> {
        let key = (protocol, remote, id);
        if let Ok(cache) = self.cache.lock()
            && let Some((at, answer)) = cache.get(&key)
            && at.elapsed() < CACHE
        {
            return answer
                .clone()
                .filter(|o| packet_uid.is_none_or(|u| u == o.uid));
        }
        let answer = self
            .sockets(protocol)
            .and_then(|sockets| the_socket(&sockets, id, remote))
            .and_then(|socket| {
                let (pid, comm) = holder(socket.inode)?;
                Some(Origin {
                    at_ns: now_ns,
                    tgid: pid,
                    tid: pid,
                    uid: socket.uid,
                    ambiguous: false,
                    comm,
                })
            });
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 4096 {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), answer.clone()));
        }
        answer.filter(|o| packet_uid.is_none_or(|u| u == o.uid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_identifier_destination_uid_and_inode() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
   1: 0100000A:1F90 0200000A:0000 07 00000000:00000000 00:00000000 00000000  1000        0 424242 2 0000000000000000 0
   2: 00000000:0BB8 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 17 2 0000000000000000 0
";
        let sockets = parse_table(v4);
        let remote = if cfg!(target_endian = "little") {
            "10.0.0.2"
        } else {
            "2.0.0.10"
        };
        assert_eq!(
            sockets,
            [
                PingSocket {
                    id: 0x1f90,
                    remote: Some(remote.parse().unwrap()),
                    uid: 1000,
                    inode: 424242
                },
                PingSocket {
                    id: 3000,
                    remote: None,
                    uid: 0,
                    inode: 17
                },
            ]
        );
        let to: IpAddr = remote.parse().unwrap();
        assert_eq!(
            the_socket(&sockets, 0x1f90, to).map(|s| s.inode),
            Some(424242)
        );
        assert_eq!(
            the_socket(&sockets, 0x1f90, "10.9.9.9".parse().unwrap()),
            None,
            "connected elsewhere"
        );
        assert_eq!(
            the_socket(&sockets, 3000, to).map(|s| s.inode),
            Some(17),
            "unconnected"
        );
        let twice = [
            sockets[1],
            PingSocket {
                inode: 18,
                ..sockets[1]
            },
        ];
        assert_eq!(the_socket(&twice, 3000, to), None, "two sockets: unknown");
        assert_eq!(
            parse_address("00000000000000000000000001000000"),
            Some(
                if cfg!(target_endian = "little") {
                    "::1"
                } else {
                    "::100:0"
                }
                .parse()
                .unwrap()
            )
        );
    }
}
