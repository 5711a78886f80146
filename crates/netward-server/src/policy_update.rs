//! The policy update a device pulls: a delta from the version it holds when the history has
//! it, a snapshot otherwise.
//!
//! The store is read without holding the policy history: on PostgreSQL each read is a round
//! trip, and a fleet pulling at once would otherwise queue behind one mutex. The version is
//! noted before the reads and checked after them; a policy change committed meanwhile moves
//! it (changes hold the history across their commit), and the reads start again. After a few
//! such tries the history is held across the reads, so that a steady stream of changes cannot
//! starve a pull.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use netward_model::agent_wire::{AgentIndicator, PolicyUpdate};
use netward_model::{Coverage, ProtectionMode};

use crate::control::{ControlError, ControlPlane};
use crate::policy_log::{LogEntry, PolicyLog};
use crate::store::DeviceRecord;

/// What every pull of one policy version shares: the tenant's switch and each group's mode
/// and coverage. Each changes only by a policy change, which moves the version, so they are
/// read once per version instead of once per pull.
#[derive(Debug)]
pub struct PolicyContext {
    version: u64,
    custom_indicators: bool,
    groups: HashMap<String, (ProtectionMode, Coverage)>,
}

impl PolicyContext {
    /// The context of version `at`, read from the store unless already held.
    fn at(cp: &ControlPlane, at: u64) -> Result<Arc<Self>, ControlError> {
        let mut slot = cp
            .policy_context
            .lock()
            .map_err(|_| ControlError::Task("the policy context is poisoned".into()))?;
        if let Some(held) = slot.as_ref().filter(|c| c.version == at) {
            return Ok(held.clone());
        }
        let context = Arc::new(Self {
            version: at,
            custom_indicators: cp.store.settings()?.custom_network_indicators,
            groups: cp
                .store
                .groups()?
                .into_iter()
                .map(|g| (g.name, (g.mode, g.coverage)))
                .collect(),
        });
        *slot = Some(context.clone());
        Ok(context)
    }
}

/// Tries without holding the history before a pull holds it across its reads.
const OPTIMISTIC_TRIES: usize = 3;

/// What a pull reads from the store for one device.
struct DeviceReads {
    device: DeviceRecord,
    mode: ProtectionMode,
    coverage: Coverage,
    now: i64,
}

impl ControlPlane {
    /// The update that brings device `id` from `since` to the current policy.
    pub async fn policy_update(
        &self,
        id: i64,
        since: Option<u64>,
    ) -> Result<PolicyUpdate, ControlError> {
        self.blocking(move |cp| {
            for _ in 0..OPTIMISTIC_TRIES {
                let at = cp.caught_up_version(since)?;
                let reads = DeviceReads::read(cp, id, at)?;
                let log = cp.lock_log()?;
                if log.current() != at {
                    continue;
                }
                if let Some(update) = reads.delta(&log, since) {
                    return Ok(update);
                }
                drop(log);
                let snapshot = reads.snapshot_indicators(cp)?;
                if cp.lock_log()?.current() == at {
                    return Ok(reads.snapshot(at, snapshot));
                }
            }
            let mut log = cp.lock_log()?;
            if since.is_some_and(|v| v > log.current()) {
                cp.catch_up(&mut log)?;
            }
            let reads = DeviceReads::read(cp, id, log.current())?;
            match reads.delta(&log, since) {
                Some(update) => Ok(update),
                None => Ok(reads.snapshot(log.current(), reads.snapshot_indicators(cp)?)),
            }
        })
        .await
    }

    /// The current version, after reading the history of other replicas when `since` (an
    /// agent's, perhaps from a replica ahead of this one) is newer than this one's.
    fn caught_up_version(&self, since: Option<u64>) -> Result<u64, ControlError> {
        let mut log = self.lock_log()?;
        if since.is_some_and(|v| v > log.current()) {
            self.catch_up(&mut log)?;
        }
        Ok(log.current())
    }
}

impl DeviceReads {
    /// The device as the store holds it now, under the context of version `at`.
    fn read(cp: &ControlPlane, id: i64, at: u64) -> Result<Self, ControlError> {
        let device = cp
            .store
            .device(id)?
            .ok_or_else(|| ControlError::Unauthorized("the device is not enrolled".into()))?;
        // Last-seen moves with acknowledgements, not with pulls: a pull must not cost a
        // synchronous disk write, or a fleet pulling at once queues behind the disk.
        let context = PolicyContext::at(cp, at)?;
        let (mode, coverage) = context
            .groups
            .get(&device.group)
            .copied()
            .unwrap_or((ProtectionMode::Block, Coverage::default()));
        Ok(Self {
            device,
            mode: crate::agents::effective_mode(context.custom_indicators, mode),
            coverage,
            now: cp.now(),
        })
    }

    /// An update of `version` without indicators.
    fn update(&self, version: u64, full: bool) -> PolicyUpdate {
        PolicyUpdate {
            version,
            full,
            group: self.device.group.clone(),
            mode: self.mode,
            coverage: self.coverage,
            upserts: Vec::new(),
            removals: Vec::new(),
            server_time: self.now,
        }
    }

    /// The delta from `since` to `log`'s version, when `log` still has it and the device did
    /// not move to another group meanwhile.
    fn delta(&self, log: &PolicyLog, since: Option<u64>) -> Option<PolicyUpdate> {
        let mut upserts: BTreeMap<i64, AgentIndicator> = BTreeMap::new();
        let mut removals = BTreeSet::new();
        for entry in log.since(since?)? {
            match entry {
                LogEntry::Upsert(li) => {
                    let id = li.indicator.id;
                    let live = li.indicator.expires_at.is_none_or(|e| self.now < e);
                    let in_scope = li.groups.is_empty() || li.groups.contains(&self.device.group);
                    if live && in_scope {
                        removals.remove(&id);
                        upserts.insert(id, li.indicator.clone());
                    } else {
                        upserts.remove(&id);
                        removals.insert(id);
                    }
                }
                LogEntry::Delete(id) => {
                    upserts.remove(id);
                    removals.insert(*id);
                }
                LogEntry::DeviceMoved(moved) if *moved == self.device.id => return None,
                LogEntry::DeviceMoved(_) => {}
            }
        }
        let mut update = self.update(log.current(), false);
        update.upserts = upserts.into_values().collect();
        update.removals = removals.into_iter().collect();
        Some(update)
    }

    /// Every live indicator in the device's group, as the store holds them now.
    fn snapshot_indicators(&self, cp: &ControlPlane) -> Result<Vec<AgentIndicator>, ControlError> {
        Ok(cp
            .store
            .active_indicators(self.now)?
            .iter()
            .filter(|i| i.applies_to(&self.device.group))
            .map(|i| crate::indicators::logged(i.id, &i.draft).indicator)
            .collect())
    }

    /// A snapshot of `version` holding `indicators`.
    fn snapshot(&self, version: u64, indicators: Vec<AgentIndicator>) -> PolicyUpdate {
        let mut update = self.update(version, true);
        update.upserts = indicators;
        update
    }
}
