//! Detection on the endpoint: every hit on an indicator, reported as what the kernel did.
//!
//! ```text
//! nftables rule ──log──▶ NFLOG ──▶ sensor thread ──▶ aggregator ──(1 s)──▶ spool ──▶ server
//!                                   │  which indicators (the held indicators)
//!                                   └─ which process (cgroup BPF hooks)
//! ```
//!
//! - [`nflog`]: reads the kernel's log of hits; the outcome and reason are in each rule's
//!   prefix, so they are the kernel's, not the agent's reconstruction.
//! - the engine's held indicators (`crate::held`) name the indicators behind a hit.
//! - [`source`]: the [`HitSource`] boundary the sensor reads (the NFLOG socket in production).
//! - [`attribution`]: names the initiating process, or says it cannot, behind the
//!   [`attributor::Attributor`] boundary; [`ping_sockets`] does it for ICMP echo requests.
//! - [`fake`]: fakes of both boundaries, for tests without root.
//! - [`aggregate`]: turns storms into counted events.
//! - [`spool`]: keeps events on disk until the server acknowledges them.
//! - [`delivery`]: sends the spool to the server in batches, halving what it refuses.

pub mod aggregate;
pub mod attribution;
pub mod attributor;
pub mod cgroup;
pub mod delivery;
pub mod fake;
pub mod nflog;
pub mod packet;
pub mod ping_sockets;
pub mod source;
pub mod spool;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use netward_model::agent_wire::Exemption;
use netward_model::detection::ProcessInfo;

use self::aggregate::Aggregator;
use self::attribution::{Attribution, Origin};
use self::attributor::Attributor;
use self::nflog::{Direction, Hit, NflogSocket};
use self::source::{Batch, HitSource};
use crate::clock::Clock;
use crate::held::SharedIndicators;

/// The agent's own connections to its server, which are not hits: the server's addresses (and
/// the resolvers', which the same list keeps reachable) at the servers' TCP ports. The kernel
/// logs them as `allowed` (the server is always in the allow sets), once per connection; left
/// in, every reconnect would be an event with no indicator, and a hunt for the server's
/// address would find the agents. They are dropped here and counted in
/// [`OwnTraffic::skipped`]. (In the kernel they would need a rule per server address, rewritten
/// whenever the server's name resolves differently, and counted by the tamper check.)
#[derive(Clone, Debug, Default)]
pub struct OwnTraffic {
    endpoints: Arc<Mutex<(Vec<IpNet>, Vec<u16>)>>,
    skipped: Arc<AtomicU64>,
}

impl OwnTraffic {
    /// The servers' ports (one per replica) and the agent's exemptions (the servers'
    /// addresses among them), set by the runtime and again when they change.
    pub fn set(&self, exempt: &[Exemption], ports: Vec<u16>) {
        if let Ok(mut e) = self.endpoints.lock() {
            *e = (networks(exempt), ports);
        }
    }

    /// New exemptions, with the servers at the same ports.
    pub fn set_addresses(&self, exempt: &[Exemption]) {
        if let Ok(mut e) = self.endpoints.lock() {
            e.0 = networks(exempt);
        }
    }

    /// Hits dropped as the agent's own traffic since the start.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

/// The networks of the exemptions.
fn networks(exempt: &[Exemption]) -> Vec<IpNet> {
    exempt.iter().map(|e| e.range.network()).collect()
}

/// Whether `hit` is a connection of the agent to one of its servers at `endpoints`.
fn is_own(hit: &Hit, endpoints: &(Vec<IpNet>, Vec<u16>)) -> bool {
    let (addresses, ports) = endpoints;
    hit.verdict.direction == Direction::Outbound
        && hit.verdict.outcome == netward_model::detection::Outcome::Allowed
        && hit.protocol == 6
        && hit.remote_port.is_some_and(|p| ports.contains(&p))
        && addresses.iter().any(|n| n.contains(&hit.remote))
}

/// How long after an indicator's expiry a hit read by the sensor still names it: the hit was
/// logged before it was read, and the kernel drops an element up to a few milliseconds after
/// its second (`enforcer::nft::EXPIRY_SLACK_MS`).
pub const EXPIRY_GRACE_MS: i64 = 100;

/// How long a process's `/proc` description is reused before it is read again.
const PROCESS_CACHE: Duration = Duration::from_secs(5);

/// Where the sensor runs.
#[derive(Clone, Debug, Default)]
pub struct SensorConfig {
    /// Read hits in this network namespace (the lab and tests) instead of the agent's own.
    pub netns: Option<PathBuf>,
    /// Attach the attribution programs to this cgroup; `None` disables attribution.
    pub cgroup: Option<PathBuf>,
}

impl SensorConfig {
    /// Binds the kernel's hit log, in the configured namespace.
    pub fn open_hit_log(&self) -> Result<NflogSocket, SensorError> {
        match &self.netns {
            Some(path) => crate::netns::run_in(path, NflogSocket::open).and_then(|r| r),
            None => NflogSocket::open(),
        }
        .map_err(|source| SensorError::Nflog {
            group: nflog::GROUP,
            source,
        })
    }

    /// Attaches the attribution programs to the configured cgroup; a failure is logged and
    /// leaves processes unknown.
    pub fn attach_attribution(&self) -> Option<Attribution> {
        self.cgroup
            .as_ref()
            .and_then(|cg| match Attribution::attach(cg) {
                Ok(a) => {
                    tracing::info!(cgroup = %cg.display(), "Process attribution attached.");
                    match ping_sockets::PingSockets::open_in(self.netns.as_deref()) {
                        Ok(pings) => Some(a.with_ping_sockets(pings)),
                        Err(error) => {
                            tracing::warn!(%error, "Cannot read the ping sockets; ICMP hits will name no process.");
                            Some(a)
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "Process attribution is unavailable; hits will name no process.");
                    None
                }
            })
    }
}

/// The running sensor: hits are counted into [`Sensor::aggregator`] by a thread of its own.
#[derive(Debug)]
pub struct Sensor {
    /// The hits gathered since the last drain.
    pub aggregator: Arc<Mutex<Aggregator>>,
    /// Kernel log messages lost since the start.
    pub lost: Arc<AtomicU64>,
    /// Whether processes can be named.
    pub attribution: bool,
    /// The agent's own traffic, not reported.
    pub own_traffic: OwnTraffic,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why the sensor could not start.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// The NFLOG group could not be bound.
    #[error("cannot read the kernel's hit log (NFLOG group {group}): {source}")]
    Nflog {
        /// The group.
        group: u16,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Turns batches of hits into counted events: the indicators behind each hit, and for an
/// outbound one the process. Pure but for its boundaries, so it is tested on fakes.
struct Reader<A, C> {
    attributor: Option<A>,
    clock: C,
    indicators: SharedIndicators,
    processes: HashMap<(u32, String, u32), (ProcessInfo, Instant)>,
    aggregator: Arc<Mutex<Aggregator>>,
    lost: Arc<AtomicU64>,
    own: OwnTraffic,
}

/// The process behind `origin`, described at most once every [`PROCESS_CACHE`].
fn cached_process<A: Attributor>(
    cache: &mut HashMap<(u32, String, u32), (ProcessInfo, Instant)>,
    attributor: &A,
    origin: Origin,
) -> ProcessInfo {
    let key = (origin.tgid, origin.comm.clone(), origin.uid);
    if let Some((info, at)) = cache.get(&key)
        && at.elapsed() < PROCESS_CACHE
    {
        return info.clone();
    }
    let info = attributor.describe(&origin);
    if cache.len() > 4096 {
        cache.clear();
    }
    cache.insert(key, (info.clone(), Instant::now()));
    info
}

impl<A: Attributor, C: Clock> Reader<A, C> {
    /// Counts one batch.
    fn handle(&mut self, batch: Batch) {
        if batch.lost > 0 {
            tracing::warn!(lost = batch.lost, "The kernel dropped hit log messages.");
            self.lost.fetch_add(batch.lost, Ordering::Relaxed);
        }
        if batch.hits.is_empty() {
            return;
        }
        let at = self.clock.now_ms();
        // The kernel matched this hit before we read it, and keeps an element a few
        // milliseconds past its second: an indicator that expired within [`EXPIRY_GRACE_MS`]
        // of the read is still the one the kernel enforced.
        let matched_at = (at - EXPIRY_GRACE_MS).div_euclid(1000);
        let mut counted = Vec::with_capacity(batch.hits.len());
        let own = self
            .own
            .endpoints
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        let held = self
            .indicators
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for hit in batch.hits {
            if is_own(&hit, &own) {
                self.own.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let indicators = held.lookup(hit.remote, hit.verdict.set_action, matched_at);
            // An ICMP echo has no port: its identifier takes the port's place, as the ping
            // socket that sent it is bound to it.
            let port = match hit.protocol {
                attributor::ICMP | attributor::ICMPV6 => hit.echo_id,
                _ => hit.remote_port,
            };
            let process = match (&self.attributor, hit.verdict.direction) {
                (Some(a), Direction::Outbound) => a
                    .origin_of(hit.protocol, hit.remote, port, hit.uid)
                    .map(|o| cached_process(&mut self.processes, a, o)),
                _ => None,
            };
            counted.push((hit, indicators, process));
        }
        drop(held);
        if let Ok(mut agg) = self.aggregator.lock() {
            for (hit, indicators, process) in counted {
                agg.add(&hit, indicators, process, at);
            }
        }
    }
}

/// Reads `source` into `reader` until `stop` is set.
fn read_until_stopped<H: HitSource, A: Attributor, C: Clock>(
    mut source: H,
    mut reader: Reader<A, C>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        match source.read() {
            Ok(batch) => reader.handle(batch),
            Err(error) => {
                tracing::error!(%error, "Cannot read the kernel's hit log; retrying.");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

impl Sensor {
    /// Starts reading `source` on a thread of its own, naming processes with `attributor`
    /// (`None`: every process is unknown) and timing hits with `clock`.
    pub fn start<H: HitSource, A: Attributor, C: Clock>(
        source: H,
        attributor: Option<A>,
        clock: C,
        indicators: SharedIndicators,
    ) -> Self {
        let aggregator = Arc::new(Mutex::new(Aggregator::default()));
        let lost = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let has_attribution = attributor.is_some();
        let own_traffic = OwnTraffic::default();
        let reader = Reader {
            attributor,
            clock,
            indicators,
            processes: HashMap::new(),
            aggregator: aggregator.clone(),
            lost: lost.clone(),
            own: own_traffic.clone(),
        };
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("netward-sensor".into())
            .spawn(move || read_until_stopped(source, reader, &thread_stop))
            .ok();
        Self {
            aggregator,
            lost,
            attribution: has_attribution,
            own_traffic,
            stop,
            thread,
        }
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;
