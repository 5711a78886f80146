//! Naming the process behind a hit. cgroup `connect4`/`connect6`/`sendmsg4`/`sendmsg6` BPF
//! programs (`bpf/attribution.bpf.c`, compiled by clang at build time) run in the calling
//! process's context before any packet leaves, and remember, per protocol and remote endpoint,
//! which process reached it last. When nftables logs a hit, the agent looks the endpoint up.
//!
//! The programs never refuse anything: enforcement stays in nftables, on the packet, so an
//! attribution failure can never open a hole. They are attached while the agent runs and
//! detached when it exits (nothing is pinned).
//!
//! The agent never guesses. It reports the process as unknown when:
//! - no program saw the endpoint (inbound traffic, forwarded traffic, raw sockets); ICMP echo
//!   requests are attributed from the ping sockets instead, see [`super::ping_sockets`];
//! - two processes reached the same endpoint within two seconds of each other;
//! - the uid the packet carries is not the uid the program saw;
//! - the entry is older than [`MAX_AGE`] (a long-lived connected UDP socket, say).
//!
//! Known limit: the map holds the latest caller only, and the kernel's log gives no send time
//! for a packet. If the agent reads a hit more than two seconds late (a badly overloaded
//! machine) and another process reached the same endpoint in between, the hit is attributed
//! to that later process.
//!
//! The executable, command line and user come from `/proc` and need the process to still be
//! running; the pid, short name (`comm`) and uid come from the kernel and are always there.

use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aya::Ebpf;
use aya::maps::{HashMap, MapData};
use aya::programs::{CgroupAttachMode, CgroupSockAddr};
use netward_model::detection::ProcessInfo;

use super::attributor::{ICMP, ICMPV6};
use super::ping_sockets::PingSockets;

/// The compiled programs.
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/attribution.bpf.o"));

/// How old a remembered endpoint may be and still name the process of a hit.
pub const MAX_AGE: Duration = Duration::from_secs(10);

const PROGRAMS: [&str; 4] = [
    "netward_connect4",
    "netward_connect6",
    "netward_sendmsg4",
    "netward_sendmsg6",
];

/// Why attribution could not start.
#[derive(Debug, thiserror::Error)]
pub enum AttributionError {
    /// The object did not load.
    #[error("cannot load the BPF programs: {0}")]
    Load(#[from] aya::EbpfError),
    /// A program was refused or could not be attached.
    #[error("cannot attach the BPF program {name}: {source}")]
    Program {
        /// The program.
        name: &'static str,
        /// The cause.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// The map is missing or of the wrong kind.
    #[error("the BPF map `origins` is unusable: {0}")]
    Map(#[from] aya::maps::MapError),
    /// The cgroup cannot be opened.
    #[error("cannot open the cgroup {path}: {source}")]
    Cgroup {
        /// The cgroup directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The attached programs and their map.
#[derive(Debug)]
pub struct Attribution {
    // Kept for its links: dropping it detaches the programs.
    _bpf: Ebpf,
    origins: HashMap<MapData, [u8; 20], [u8; 40]>,
    /// Where ICMP echo requests are attributed from (the programs see TCP and UDP only).
    pings: Option<PingSockets>,
}

/// What the programs remembered about an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Nanoseconds since boot (`CLOCK_BOOTTIME`) of the last connect or send.
    pub at_ns: u64,
    /// Thread-group id (the process).
    pub tgid: u32,
    /// The calling thread.
    pub tid: u32,
    /// User id.
    pub uid: u32,
    /// Another process reached the endpoint around the same time.
    pub ambiguous: bool,
    /// The kernel's short name for the calling thread.
    pub comm: String,
}

/// The map key of an endpoint: protocol, family, port (host order) and address, as the C
/// `struct endpoint` lays them out.
pub fn endpoint_key(protocol: u8, addr: IpAddr, port: u16) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[0] = protocol;
    key[2..4].copy_from_slice(&port.to_ne_bytes());
    let addr = match addr {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(IpAddr::V6(a), IpAddr::V4),
        v4 => v4,
    };
    match addr {
        IpAddr::V4(a) => {
            key[1] = 4;
            key[4..8].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            key[1] = 6;
            key[4..20].copy_from_slice(&a.octets());
        }
    }
    key
}

/// Reads the C `struct origin`.
pub fn parse_origin(v: &[u8; 40]) -> Origin {
    let u64_at = |i: usize| u64::from_ne_bytes(v[i..i + 8].try_into().unwrap_or_default());
    let u32_at = |i: usize| u32::from_ne_bytes(v[i..i + 4].try_into().unwrap_or_default());
    let comm = &v[24..40];
    let end = comm.iter().position(|b| *b == 0).unwrap_or(comm.len());
    Origin {
        at_ns: u64_at(0),
        tgid: u32_at(8),
        uid: u32_at(12),
        ambiguous: u32_at(16) != 0,
        tid: u32_at(20),
        comm: String::from_utf8_lossy(&comm[..end]).into_owned(),
    }
}

/// The cgroup2 hierarchy's mount point: `/sys/fs/cgroup` on a unified system,
/// `/sys/fs/cgroup/unified` on a hybrid one.
pub fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, path, fstype) = (f.next()?, f.next()?, f.next()?);
            (fstype == "cgroup2").then(|| PathBuf::from(path))
        })
        .min_by_key(|p| p.as_os_str().len())
}

fn boottime_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
                + u64::try_from(t.tv_nsec()).unwrap_or(0)
        })
        .unwrap_or(0)
}

impl Attribution {
    /// Loads the programs and attaches them to the cgroup at `cgroup`: every process in it and
    /// below it is covered. Production uses the cgroup2 root; tests use a child cgroup that
    /// holds only their own processes.
    pub fn attach(cgroup: &Path) -> Result<Self, AttributionError> {
        // A heap copy: ELF parsing wants the object aligned, which an included byte
        // string is not guaranteed to be.
        #[allow(clippy::unnecessary_to_owned, reason = "the copy is for alignment")]
        let mut bpf = Ebpf::load(&OBJECT.to_vec())?;
        for name in PROGRAMS {
            let file = File::open(cgroup).map_err(|source| AttributionError::Cgroup {
                path: cgroup.to_owned(),
                source,
            })?;
            let program: &mut CgroupSockAddr = bpf
                .program_mut(name)
                .ok_or(aya::programs::ProgramError::UnexpectedProgramType)
                .and_then(|p| p.try_into())
                .map_err(|source| AttributionError::Program { name, source })?;
            program
                .load()
                .map_err(|source| AttributionError::Program { name, source })?;
            // A BPF link (kernel 5.7 and later) always runs beside the cgroup's other programs
            // (systemd's, a container runtime's) and takes no attach flags: `Single` passes
            // none. `AllowMultiple` would make the kernel refuse the link.
            program
                .attach(file, CgroupAttachMode::Single)
                .map_err(|source| AttributionError::Program { name, source })?;
        }
        let map = bpf
            .take_map("origins")
            .ok_or(aya::maps::MapError::InvalidName {
                name: "origins".into(),
            })?;
        let origins = HashMap::try_from(map)?;
        Ok(Self {
            _bpf: bpf,
            origins,
            pings: None,
        })
    }

    /// Attributes ICMP echo requests from `pings` too.
    pub fn with_ping_sockets(mut self, pings: PingSockets) -> Self {
        self.pings = Some(pings);
        self
    }

    /// What the programs remember about an endpoint, if anything.
    pub fn origin(&self, protocol: u8, addr: IpAddr, port: u16) -> Option<Origin> {
        self.origins
            .get(&endpoint_key(protocol, addr, port), 0)
            .ok()
            .map(|v| parse_origin(&v))
    }

    /// What the programs remember about the endpoint of an outbound hit, or `None` when the
    /// process cannot be known for sure (see the module documentation).
    pub fn origin_of(
        &self,
        protocol: u8,
        remote: IpAddr,
        port: Option<u16>,
        packet_uid: Option<u32>,
    ) -> Option<Origin> {
        if protocol == ICMP || protocol == ICMPV6 {
            return self.pings.as_ref()?.origin_of(
                protocol,
                remote,
                port?,
                packet_uid,
                boottime_ns(),
            );
        }
        let origin = self.origin(protocol, remote, port?)?;
        let age = boottime_ns().saturating_sub(origin.at_ns);
        if origin.ambiguous
            || u128::from(age) > MAX_AGE.as_nanos()
            || packet_uid.is_some_and(|u| u != origin.uid)
        {
            return None;
        }
        Some(origin)
    }
}

/// The longest executable path or command line an event carries, in bytes; longer ones are
/// cut (at a character boundary) and end with `…`, so that one process cannot make its events
/// too large to deliver.
pub const MAX_TEXT: usize = 4096;

fn cap(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// When the process `dir` (`/proc/PID`) started, in nanoseconds since boot, and the length of
/// a clock tick (the precision of that time).
fn started_ns(dir: &Path) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // Field 22, counted after the command name, which may itself hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 2..];
    let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|h| u64::try_from(h).ok())
        .filter(|h| *h > 0)?;
    let tick = 1_000_000_000 / hz;
    Some((ticks.saturating_mul(tick), tick))
}

/// The process as `/proc` describes it, when it is certainly the one that made the hit: the
/// calling thread still runs under the same name, or the process at that pid started before
/// the hit (a pid is never held by two processes at once). Otherwise what the kernel told the
/// BPF program: pid, uid and the thread's name.
pub fn describe(origin: &Origin) -> ProcessInfo {
    let dir = PathBuf::from(format!("/proc/{}", origin.tgid));
    let read_comm = |p: PathBuf| {
        std::fs::read_to_string(p)
            .ok()
            .map(|c| c.trim_end_matches('\n').to_owned())
    };
    let thread = read_comm(dir.join(format!("task/{}/comm", origin.tid)));
    let same = thread.as_deref() == Some(origin.comm.as_str())
        || started_ns(&dir).is_some_and(|(start, tick)| start + tick <= origin.at_ns);
    let name = same
        .then(|| read_comm(dir.join("comm")))
        .flatten()
        .unwrap_or_else(|| origin.comm.clone());
    let (exe, cmdline) = if same {
        let exe = std::fs::read_link(dir.join("exe"))
            .ok()
            .map(|p| cap(p.to_string_lossy().into_owned()));
        let cmdline = std::fs::read(dir.join("cmdline")).ok().map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        });
        (exe, cmdline.filter(|c| !c.is_empty()).map(cap))
    } else {
        (None, None)
    };
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(origin.uid))
        .ok()
        .flatten()
        .map(|u| u.name);
    ProcessInfo {
        pid: origin.tgid,
        name,
        exe,
        cmdline,
        uid: origin.uid,
        user,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_c_layout_and_map_v4_mapped_addresses_to_ipv4() {
        let k = endpoint_key(6, "10.1.2.3".parse().unwrap(), 443);
        assert_eq!(k[0], 6);
        assert_eq!(k[1], 4);
        assert_eq!(u16::from_ne_bytes([k[2], k[3]]), 443);
        assert_eq!(&k[4..8], &[10, 1, 2, 3]);
        assert_eq!(k, endpoint_key(6, "::ffff:10.1.2.3".parse().unwrap(), 443));
        let k6 = endpoint_key(17, "2001:db8::1".parse().unwrap(), 53);
        assert_eq!((k6[0], k6[1]), (17, 6));
        assert_eq!(k6[19], 1);
    }

    #[test]
    fn long_texts_are_cut_at_a_character_boundary() {
        assert_eq!(cap("short".into()), "short");
        let long = "é".repeat(MAX_TEXT);
        let cut = cap(long);
        assert!(cut.len() <= MAX_TEXT + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn origins_parse_from_the_c_layout() {
        let mut v = [0u8; 40];
        v[0..8].copy_from_slice(&7u64.to_ne_bytes());
        v[8..12].copy_from_slice(&4242u32.to_ne_bytes());
        v[12..16].copy_from_slice(&1000u32.to_ne_bytes());
        v[16..20].copy_from_slice(&1u32.to_ne_bytes());
        v[20..24].copy_from_slice(&4243u32.to_ne_bytes());
        v[24..30].copy_from_slice(b"curl\0x");
        assert_eq!(
            parse_origin(&v),
            Origin {
                at_ns: 7,
                tgid: 4242,
                tid: 4243,
                uid: 1000,
                ambiguous: true,
                comm: "curl".into()
            }
        );
    }
}
