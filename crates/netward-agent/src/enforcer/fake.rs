//! A fake enforcer that records what it was asked to apply, for tests and benchmarks of the
//! code above the kernel boundary. It reports what [`super::nft::NftEnforcer`] reports for the
//! same calls; the shared conformance suite (`tests/conformance/`) holds both to that.

use std::time::Instant;

use netward_model::ProtectionMode;

use super::{ApplyReport, Enforcer, EnforcerError};
use crate::KernelPolicy;

/// Records every applied policy; never touches the kernel.
#[derive(Debug, Default)]
pub struct RecordingEnforcer {
    /// Every policy applied, in order.
    pub applied: Vec<KernelPolicy>,
    /// The current state, as a real enforcer would hold it.
    pub current: Option<KernelPolicy>,
    /// Simulated tampering: someone removed the table. `is_intact` answers false until an
    /// apply rewrites it, as the kernel's table stays gone until then.
    pub tampered: bool,
}

impl Enforcer for RecordingEnforcer {
    fn apply(&mut self, desired: &KernelPolicy) -> Result<ApplyReport, EnforcerError> {
        let started = Instant::now();
        // What a kernel table still holds to change by a delta: nothing once it was removed,
        // under mode `off` (no table) or by someone else.
        let previous = self
            .current
            .as_ref()
            .filter(|p| !self.tampered && p.mode != ProtectionMode::Off);
        let report = match previous {
            _ if desired.mode == ProtectionMode::Off => ApplyReport {
                full: true,
                rules_written: true,
                added: 0,
                removed: self.current.as_ref().map_or(0, KernelPolicy::entry_count),
                elapsed: started.elapsed(),
            },
            Some(cur) => {
                let (added, removed) = desired.sets.iter().fold((0, 0), |(a, r), (id, want)| {
                    let have = cur.sets.get(id).cloned().unwrap_or_default();
                    (
                        a + want.difference(&have).count(),
                        r + have.difference(want).count(),
                    )
                });
                ApplyReport {
                    full: false,
                    rules_written: !cur.same_rules(desired),
                    added,
                    removed,
                    elapsed: started.elapsed(),
                }
            }
            None => ApplyReport {
                full: true,
                rules_written: true,
                added: desired.entry_count(),
                removed: 0,
                elapsed: started.elapsed(),
            },
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

    fn invalidate(&mut self) {
        self.current = None;
    }

    fn remove(&mut self) -> Result<(), EnforcerError> {
        self.current = None;
        self.tampered = false;
        Ok(())
    }
}
