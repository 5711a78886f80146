//! What changes in the kernel's sets from one apply to the next: per set, the elements to
//! take out (with the expiry they had, so that the enforcer can tell one the kernel already
//! dropped by itself) and the elements to put in (with theirs). An element whose expiry
//! changes is taken out and put in again.
//!
//! The engine derives them from a delta without looking at the rest of the policy
//! (`incremental.rs`); [`SetChanges::between`] derives them from two whole policies, for the
//! tests that check it and for callers that hold both.

use std::collections::{BTreeMap, BTreeSet};

use super::{KernelPolicy, SetId};

/// A set element: its inclusive range and the Unix second it expires (`None`: never).
pub type Element = ((u128, u128), Option<i64>);

/// The element changes of one apply, by set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetChanges {
    /// Elements to take out, by set, in order.
    pub removed: BTreeMap<SetId, Vec<Element>>,
    /// Elements to put in, by set, in order.
    pub added: BTreeMap<SetId, Vec<Element>>,
}

/// The elements of set `id` of `p`, with their expiries.
pub(super) fn elements(p: &KernelPolicy, id: SetId) -> BTreeSet<Element> {
    p.sets
        .get(&id)
        .into_iter()
        .flatten()
        .map(|r| (*r, p.expiry(id, *r)))
        .collect()
}

impl SetChanges {
    /// The changes that turn `prev`'s sets into `next`'s.
    pub fn between(prev: &KernelPolicy, next: &KernelPolicy) -> Self {
        let mut out = Self::default();
        for id in SetId::all() {
            out.record(id, &elements(prev, id), &elements(next, id));
        }
        out
    }

    /// Records what turns `old` into `new` in set `id`.
    pub(super) fn record(&mut self, id: SetId, old: &BTreeSet<Element>, new: &BTreeSet<Element>) {
        let removed: Vec<Element> = old.difference(new).copied().collect();
        let added: Vec<Element> = new.difference(old).copied().collect();
        if !removed.is_empty() {
            self.removed.entry(id).or_default().extend(removed);
        }
        if !added.is_empty() {
            self.added.entry(id).or_default().extend(added);
        }
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }

    /// How many elements are put in and taken out, in all.
    pub fn counts(&self) -> (usize, usize) {
        let count = |m: &BTreeMap<SetId, Vec<Element>>| m.values().map(Vec::len).sum();
        (count(&self.added), count(&self.removed))
    }

    /// The same changes with each set's elements in order, so that two descriptions of one
    /// change compare equal.
    pub fn sorted(mut self) -> Self {
        for list in self.removed.values_mut().chain(self.added.values_mut()) {
            list.sort_unstable();
        }
        self
    }
}

impl SetChanges {
    /// Makes these changes to `policy`'s sets: what an enforcer does to the kernel's.
    pub fn apply_to(&self, policy: &mut KernelPolicy) {
        for (id, elements) in &self.removed {
            for (range, _) in elements {
                policy.take(*id, *range);
            }
        }
        for (id, elements) in &self.added {
            for (range, expiry) in elements {
                policy.insert(*id, *range, *expiry);
            }
        }
    }
}
