//! Detection on the endpoint: every hit on an indicator, reported as what the kernel did.
//!
//! ```text
//! nftables rule ──log──▶ NFLOG ──▶ sensor thread ──▶ aggregator ──(1 s)──▶ spool ──▶ server
//!                                   │  which indicators (index)
//!                                   └─ which process (cgroup BPF hooks)
//! ```
//!
//! - [`nflog`]: reads the kernel's log of hits; the outcome and reason are in each rule's
//!   prefix, so they are the kernel's, not the agent's reconstruction.
//! - [`index`]: finds the indicators behind a hit.
//! - [`attribution`]: names the initiating process, or says it cannot.
//! - [`aggregate`]: turns storms into counted events.
//! - [`spool`]: keeps events on disk until the server acknowledges them.
//! - [`delivery`]: sends the spool to the server in batches, halving what it refuses.

pub mod aggregate;
pub mod attribution;
pub mod cgroup;
pub mod delivery;
pub mod index;
pub mod nflog;
pub mod spool;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netward_model::PolicyEntry;
use netward_model::detection::ProcessInfo;

use self::aggregate::Aggregator;
use self::attribution::{Attribution, Origin};
use self::index::IndicatorIndex;
use self::nflog::{Direction, NflogSocket};

/// The engine's indicators, published after each apply for the sensor to index. The sensor
/// takes them out when it rebuilds its index, so the engine rarely has to copy them.
pub type IndexSlot = Arc<Mutex<Option<Arc<BTreeMap<i64, PolicyEntry>>>>>;

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

/// The running sensor: hits are counted into [`Sensor::aggregator`] by a thread of its own.
#[derive(Debug)]
pub struct Sensor {
    /// The hits gathered since the last drain.
    pub aggregator: Arc<Mutex<Aggregator>>,
    /// Kernel log messages lost since the start.
    pub lost: Arc<AtomicU64>,
    /// Whether processes can be named.
    pub attribution: bool,
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

struct Reader {
    socket: NflogSocket,
    attribution: Option<Attribution>,
    slot: IndexSlot,
    index: IndicatorIndex,
    processes: HashMap<(u32, String, u32), (ProcessInfo, Instant)>,
    aggregator: Arc<Mutex<Aggregator>>,
    lost: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Reader {
    fn process(&mut self, origin: Origin) -> ProcessInfo {
        let key = (origin.tgid, origin.comm.clone(), origin.uid);
        if let Some((info, at)) = self.processes.get(&key)
            && at.elapsed() < PROCESS_CACHE
        {
            return info.clone();
        }
        let info = attribution::describe(&origin);
        if self.processes.len() > 4096 {
            self.processes.clear();
        }
        self.processes.insert(key, (info.clone(), Instant::now()));
        info
    }

    fn run(mut self) {
        while !self.stop.load(Ordering::Relaxed) {
            let batch = match self.socket.read() {
                Ok(b) => b,
                Err(error) => {
                    tracing::error!(%error, "Cannot read the kernel's hit log; retrying.");
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
            };
            if batch.lost > 0 {
                tracing::warn!(lost = batch.lost, "The kernel dropped hit log messages.");
                self.lost.fetch_add(batch.lost, Ordering::Relaxed);
            }
            if batch.hits.is_empty() {
                continue;
            }
            let taken = self.slot.lock().ok().and_then(|mut s| s.take());
            if let Some(entries) = taken {
                self.index = IndicatorIndex::build(entries.iter());
            }
            let at = now_ms();
            let mut counted = Vec::with_capacity(batch.hits.len());
            for hit in batch.hits {
                let indicators = self
                    .index
                    .lookup(hit.remote, hit.verdict.set_action, at / 1000);
                let origin = match (&self.attribution, hit.verdict.direction) {
                    (Some(a), Direction::Outbound) => {
                        a.origin_of(hit.protocol, hit.remote, hit.remote_port, hit.uid)
                    }
                    _ => None,
                };
                let process = origin.map(|o| self.process(o));
                counted.push((hit, indicators, process));
            }
            if let Ok(mut agg) = self.aggregator.lock() {
                for (hit, indicators, process) in counted {
                    agg.add(&hit, indicators, process, at);
                }
            }
        }
    }
}

impl Sensor {
    /// Binds the hit log, attaches the attribution programs (a failure there is logged and
    /// leaves processes unknown), and starts reading.
    pub fn start(config: &SensorConfig, slot: IndexSlot) -> Result<Self, SensorError> {
        let socket = match &config.netns {
            Some(path) => crate::netns::run_in(path, NflogSocket::open).and_then(|r| r),
            None => NflogSocket::open(),
        }
        .map_err(|source| SensorError::Nflog {
            group: nflog::GROUP,
            source,
        })?;
        let attribution = config.cgroup.as_ref().and_then(|cg| {
            match Attribution::attach(cg) {
                Ok(a) => {
                    tracing::info!(cgroup = %cg.display(), "Process attribution attached.");
                    Some(a)
                }
                Err(error) => {
                    tracing::error!(%error, "Process attribution is unavailable; hits will name no process.");
                    None
                }
            }
        });
        let aggregator = Arc::new(Mutex::new(Aggregator::default()));
        let lost = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let has_attribution = attribution.is_some();
        let reader = Reader {
            socket,
            attribution,
            slot,
            index: IndicatorIndex::default(),
            processes: HashMap::new(),
            aggregator: aggregator.clone(),
            lost: lost.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("netward-sensor".into())
            .spawn(move || reader.run())
            .ok();
        Ok(Self {
            aggregator,
            lost,
            attribution: has_attribution,
            stop,
            thread,
        })
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
