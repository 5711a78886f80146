//! A fake enforcer that records what it was asked to apply, for tests and benchmarks of the
//! code above the kernel boundary.

use std::time::Instant;

use super::{ApplyReport, Enforcer, EnforcerError};
use crate::KernelPolicy;

/// Records every applied policy; never touches the kernel.
#[derive(Debug, Default)]
pub struct RecordingEnforcer {
    /// Every policy applied, in order.
    pub applied: Vec<KernelPolicy>,
    /// The current state, as a real enforcer would hold it.
    pub current: Option<KernelPolicy>,
    /// When set, `is_intact` answers false once (simulated tampering).
    pub tampered: bool,
}

impl Enforcer for RecordingEnforcer {
    fn apply(&mut self, desired: &KernelPolicy) -> Result<ApplyReport, EnforcerError> {
        let started = Instant::now();
        let (added, removed) = match &self.current {
            Some(cur) => desired.sets.iter().fold((0, 0), |(a, r), (id, want)| {
                let have = cur.sets.get(id).cloned().unwrap_or_default();
                (
                    a + want.difference(&have).count(),
                    r + have.difference(want).count(),
                )
            }),
            None => (desired.entry_count(), 0),
        };
        let report = ApplyReport {
            full: self.current.is_none(),
            rules_written: self.current.as_ref().is_none_or(|c| !c.same_rules(desired)),
            added,
            removed,
            elapsed: started.elapsed(),
        };
        self.current = Some(desired.clone());
        self.applied.push(desired.clone());
        Ok(report)
    }

    fn is_intact(&mut self) -> Result<bool, EnforcerError> {
        Ok(!std::mem::take(&mut self.tampered))
    }

    fn invalidate(&mut self) {
        self.current = None;
    }

    fn remove(&mut self) -> Result<(), EnforcerError> {
        self.current = None;
        Ok(())
    }
}
