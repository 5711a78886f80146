//! A fake enforcer that records what it was asked to apply, for tests and benchmarks of the
//! code above the kernel boundary. It reports what [`super::nft::NftEnforcer`] reports for the
//! same calls; the shared conformance suite (`tests/conformance/`) holds both to that.
//!
//! It models the kernel's element timeouts on its [`Clock`] (the system's unless given
//! another): an element is held until its expiry, and an element the "kernel" already expired
//! is neither deleted nor counted again by a later apply, as with nftables.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use netward_model::ProtectionMode;

use super::{ApplyReport, Enforcer, EnforcerError, expected_held};
use crate::clock::{Clock, SystemClock};
use crate::kernel_policy::{Element, SetChanges};
use crate::{KernelPolicy, SetId};

/// Records every applied policy; never touches the kernel.
pub struct RecordingEnforcer {
    /// Every policy applied, in order.
    pub applied: Vec<KernelPolicy>,
    /// The current state, as a real enforcer would hold it.
    pub current: Option<KernelPolicy>,
    /// Simulated tampering: someone removed the table. `is_intact` answers false until an
    /// apply rewrites it, as the kernel's table stays gone until then.
    pub tampered: bool,
    /// Elements someone deleted from the sets behind the enforcer's back (see
    /// [`RecordingEnforcer::delete_behind_back`]); a full rewrite restores them.
    pub deleted: BTreeSet<(SetId, (u128, u128))>,
    /// The time the modelled kernel expires elements by.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RecordingEnforcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingEnforcer")
            .field("applied", &self.applied.len())
            .field("current", &self.current)
            .field("tampered", &self.tampered)
            .field("deleted", &self.deleted)
            .finish_non_exhaustive()
    }
}

impl Default for RecordingEnforcer {
    fn default() -> Self {
        Self::with_clock(SystemClock)
    }
}

/// The elements of set `id` of `p` not expired at `now_ms`, with their expiry.
fn live(p: &KernelPolicy, id: SetId, now_ms: i64) -> BTreeSet<((u128, u128), Option<i64>)> {
    p.sets
        .get(&id)
        .into_iter()
        .flatten()
        .map(|e| (*e, p.expiry(id, *e)))
        .filter(|(_, at)| at.is_none_or(|at| at.saturating_mul(1000) > now_ms))
        .collect()
}

impl RecordingEnforcer {
    /// A fake whose kernel expires elements by `clock`.
    pub fn with_clock(clock: impl Clock) -> Self {
        Self {
            applied: Vec::new(),
            current: None,
            tampered: false,
            deleted: BTreeSet::new(),
            clock: Arc::new(clock),
        }
    }

    /// Deletes `element` of set `id` behind the enforcer's back, as `nft delete element`
    /// would.
    pub fn delete_behind_back(&mut self, id: SetId, element: (u128, u128)) {
        self.deleted.insert((id, element));
    }

    /// Whether the modelled kernel holds an element of set `id` covering `key` now.
    pub fn enforces(&self, id: SetId, key: u128) -> bool {
        let Some(p) = self.current.as_ref().filter(|_| !self.tampered) else {
            return false;
        };
        live(p, id, self.clock.now_ms())
            .iter()
            .any(|((s, e), _)| (*s..=*e).contains(&key) && !self.deleted.contains(&(id, (*s, *e))))
    }
}

impl Enforcer for RecordingEnforcer {
    fn apply(
        &mut self,
        desired: &KernelPolicy,
        changes: Option<&SetChanges>,
    ) -> Result<ApplyReport, EnforcerError> {
        let started = Instant::now();
        let now = self.clock.now_ms();
        let is_live = |at: &Option<i64>| at.is_none_or(|at| at.saturating_mul(1000) > now);
        // What a kernel table still holds to change by a delta: nothing once it was removed,
        // under mode `off` (no table) or by someone else.
        let previous = self
            .current
            .as_ref()
            .filter(|p| !self.tampered && p.mode != ProtectionMode::Off);
        let live_count = |p: &KernelPolicy| {
            SetId::all()
                .into_iter()
                .map(|id| live(p, id, now).len())
                .sum::<usize>()
        };
        let full = |deleted: &mut BTreeSet<(SetId, (u128, u128))>, rules_written| {
            deleted.clear();
            ApplyReport {
                full: true,
                rules_written,
                added: live_count(desired),
                removed: 0,
                elapsed: started.elapsed(),
            }
        };
        let report = match (previous, changes) {
            _ if desired.mode == ProtectionMode::Off => ApplyReport {
                full: true,
                rules_written: true,
                added: 0,
                removed: self.current.as_ref().map_or(0, KernelPolicy::entry_count),
                elapsed: started.elapsed(),
            },
            (None, _) => full(&mut self.deleted, true),
            (Some(cur), None) => full(&mut self.deleted, !cur.same_rules(desired)),
            // nftables refuses to delete an unexpiring element that is not there (the
            // deletions of expiring ones tolerate it), and then rewrites everything.
            (Some(cur), Some(changes))
                if changes.removed.iter().any(|(id, elements)| {
                    elements
                        .iter()
                        .any(|(e, at)| at.is_none() && self.deleted.contains(&(*id, *e)))
                }) =>
            {
                full(&mut self.deleted, !cur.same_rules(desired))
            }
            (Some(cur), Some(changes)) => {
                // The changes must lead from what the kernel holds to `desired`: a fake that
                // took whatever it was given would hide a wrong delta from the engine's tests.
                let mut reached = cur.clone();
                changes.apply_to(&mut reached);
                assert!(
                    reached.sets == desired.sets && reached.expiries == desired.expiries,
                    "the changes given to the enforcer do not lead to the policy given"
                );
                let count = |m: &std::collections::BTreeMap<SetId, Vec<Element>>| {
                    m.values().flatten().filter(|(_, at)| is_live(at)).count()
                };
                // A delta re-adds or deletes only what it names; an element deleted behind
                // our back stays deleted otherwise.
                for (id, elements) in changes.removed.iter().chain(&changes.added) {
                    for (e, _) in elements {
                        self.deleted.remove(&(*id, *e));
                    }
                }
                ApplyReport {
                    full: false,
                    rules_written: !cur.same_rules(desired),
                    added: count(&changes.added),
                    removed: count(&changes.removed),
                    elapsed: started.elapsed(),
                }
            }
        };
        self.tampered = false;
        self.current = Some(desired.clone());
        self.applied.push(desired.clone());
        Ok(report)
    }

    fn is_intact(&mut self) -> Result<bool, EnforcerError> {
        Ok(match &self.current {
            None => true,
            // Mode `off` holds no table to alter.
            Some(p) if p.mode == ProtectionMode::Off => true,
            Some(_) => !self.tampered,
        })
    }

    fn held(&mut self, id: SetId) -> Result<Option<usize>, EnforcerError> {
        let Some(p) = self
            .current
            .as_ref()
            .filter(|p| !self.tampered && p.mode != ProtectionMode::Off)
        else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        Ok(Some(
            live(p, id, now)
                .iter()
                .filter(|(e, _)| !self.deleted.contains(&(id, *e)))
                .count(),
        ))
    }

    fn sets_intact(&mut self, applied: &KernelPolicy) -> Result<bool, EnforcerError> {
        let Some(p) = &self.current else {
            return Ok(true);
        };
        if p.mode == ProtectionMode::Off || self.tampered {
            return Ok(!self.tampered);
        }
        let now = self.clock.now_ms();
        for id in SetId::all() {
            let (certain, maybe) = expected_held(applied, id, now);
            let held = self.held(id)?.unwrap_or(0);
            if held < certain || held > certain + maybe {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn invalidate(&mut self) {
        self.current = None;
    }

    fn remove(&mut self) -> Result<(), EnforcerError> {
        self.current = None;
        self.tampered = false;
        self.deleted.clear();
        Ok(())
    }
}
