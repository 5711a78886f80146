//! [`Boundary`]: everything the runtime needs from the machine — the enforcer, the hit log,
//! process attribution and the wall clock — opened when the runtime asks, in the order it
//! asks. [`KernelBoundary`] opens the real ones; tests hand in fakes
//! ([`crate::enforcer::fake`], [`crate::events::fake`], [`crate::clock::FakeClock`]).

use crate::clock::{Clock, SystemClock};
use crate::enforcer::nft::NftEnforcer;
use crate::enforcer::{Enforcer, EnforcerError};
use crate::events::attribution::Attribution;
use crate::events::attributor::Attributor;
use crate::events::nflog::NflogSocket;
use crate::events::source::HitSource;
use crate::events::{SensorConfig, SensorError};

use super::AgentConfig;

/// The machine as the runtime sees it.
pub trait Boundary {
    /// The packet filter.
    type Enforcer: Enforcer + 'static;
    /// The log of hits.
    type Hits: HitSource;
    /// Who made a hit.
    type Attributor: Attributor;
    /// The wall clock.
    type Clock: Clock + Clone;

    /// Opens the enforcer.
    fn enforcer(&mut self) -> Result<Self::Enforcer, EnforcerError>;

    /// Opens the hit log. A failure leaves enforcement running without reports.
    fn hits(&mut self) -> Result<Self::Hits, SensorError>;

    /// Starts process attribution; `None` (logged) leaves every process unknown.
    fn attributor(&mut self) -> Option<Self::Attributor>;

    /// The wall clock.
    fn clock(&self) -> Self::Clock;
}

/// The kernel: nftables, NFLOG, cgroup BPF programs and `/proc`, in the configured network
/// namespace and cgroup, and the system clock.
#[derive(Clone, Debug)]
pub struct KernelBoundary {
    config: AgentConfig,
}

impl KernelBoundary {
    /// The kernel as `config` names it.
    pub fn new(config: &AgentConfig) -> Self {
        Self {
            config: config.clone(),
        }
    }

    fn sensor_config(&self) -> SensorConfig {
        SensorConfig {
            netns: self.config.netns.clone(),
            cgroup: self.config.cgroup.clone(),
        }
    }
}

impl Boundary for KernelBoundary {
    type Enforcer = NftEnforcer;
    type Hits = NflogSocket;
    type Attributor = Attribution;
    type Clock = SystemClock;

    fn enforcer(&mut self) -> Result<NftEnforcer, EnforcerError> {
        self.config.open_enforcer()
    }

    fn hits(&mut self) -> Result<NflogSocket, SensorError> {
        self.sensor_config().open_hit_log()
    }

    fn attributor(&mut self) -> Option<Attribution> {
        self.sensor_config().attach_attribution()
    }

    fn clock(&self) -> SystemClock {
        SystemClock
    }
}
