//! Incremental compilation: a delta changes the compiled sets around the ranges it touches,
//! and nowhere else, so its cost follows its size, not the policy's.
//!
//! The sets are canonical: each holds the maximal runs of addresses with the same membership
//! and expiry (`from_entries`). So an element can only change where an address inside it
//! changed, or where it may now join a neighbour. For each touched range the window to
//! recompute starts one address before it and ends one after, and grows until no element of
//! any set of the family crosses its edges; the addresses on both sides of each edge are then
//! untouched, so the runs that meet there stay apart, and recomputing the window from the
//! indicators that overlap it, cut to it, gives exactly the elements a full compile would.
//! The property test in `tests.rs` checks that against `from_entries` after random deltas.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use netward_model::{Action, Family, ProtectionMode};

use super::changes::Element;
use super::{KernelPolicy, Segment, SetChanges, SetId, bounds, last_address, place, resolve};
use crate::held::HeldIndicators;

/// The sets of `family` that may hold an element inside `lo..=hi`: the addresses, and the
/// shards the range touches, per action.
fn sets_within(family: Family, lo: u128, hi: u128) -> impl Iterator<Item = SetId> {
    let shards = SetId::shard(family, lo)..=SetId::shard(family, hi);
    [Action::Allow, Action::Block, Action::Audit]
        .into_iter()
        .flat_map(move |action| {
            std::iter::once(SetId::addresses(action, family)).chain(
                shards
                    .clone()
                    .map(move |n| SetId::ranges(action, family, n)),
            )
        })
}

/// Sorts `ranges` and joins those that overlap or touch.
fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

impl KernelPolicy {
    /// The element of set `id` that holds `address`.
    fn element_at(&self, id: SetId, address: u128) -> Option<(u128, u128)> {
        let set = self.sets.get(&id)?;
        set.range(..=(address, u128::MAX))
            .next_back()
            .copied()
            .filter(|&(_, end)| end >= address)
    }

    /// The windows to recompute for `touched` ranges of `family`: each one address wider on
    /// both sides, grown until no element of the family's sets crosses an edge.
    fn windows(&self, family: Family, touched: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
        let last = last_address(family);
        let mut windows = merge(
            touched
                .into_iter()
                .map(|(s, e)| (s.saturating_sub(1), e.saturating_add(1).min(last)))
                .collect(),
        );
        loop {
            let mut grown = false;
            for w in &mut windows {
                for id in SetId::holding(family, w.0) {
                    if w.0 > 0
                        && let Some((start, _)) = self.element_at(id, w.0)
                        && start < w.0
                    {
                        w.0 = start;
                        grown = true;
                    }
                }
                for id in SetId::holding(family, w.1) {
                    if let Some((_, end)) = self.element_at(id, w.1)
                        && end > w.1
                    {
                        w.1 = end;
                        grown = true;
                    }
                }
            }
            if !grown {
                return windows;
            }
            windows = merge(windows);
        }
    }

    /// Brings the sets to what [`KernelPolicy::from_entries`] gives for `held` at `now`,
    /// where only the addresses in `touched` (family, first, last) may have changed since
    /// the sets were last computed, and returns what changed. `always_allowed` must be what
    /// the sets were computed with.
    pub fn recompute(
        &mut self,
        held: &HeldIndicators,
        touched: Vec<(Family, u128, u128)>,
        now: i64,
        always_allowed: &[IpNet],
    ) -> SetChanges {
        let mut changes = SetChanges::default();
        if self.mode == ProtectionMode::Off {
            return changes;
        }
        for family in [Family::V4, Family::V6] {
            let ranges: Vec<(u128, u128)> = touched
                .iter()
                .filter(|t| t.0 == family)
                .map(|t| (t.1, t.2))
                .collect();
            if ranges.is_empty() {
                continue;
            }
            let allowed: Vec<(u128, u128)> = always_allowed
                .iter()
                .map(bounds)
                .filter(|(f, _)| *f == family)
                .map(|(_, b)| b)
                .collect();
            for (lo, hi) in self.windows(family, ranges) {
                let clip = |(s, e): (u128, u128), expiry: Option<i64>| -> Option<Segment> {
                    (s <= hi && e >= lo).then(|| (s.max(lo), e.min(hi), expiry))
                };
                let mut raw: [Vec<Segment>; 3] = Default::default();
                for (_, e) in held.overlapping(family, lo, hi) {
                    if e.expires_at.is_some_and(|at| now >= at) {
                        continue;
                    }
                    let slot = match e.action {
                        Action::Allow => 0,
                        Action::Block => 1,
                        Action::Audit => 2,
                    };
                    raw[slot].extend(clip(e.value.bounds(), e.expires_at));
                }
                raw[0].extend(allowed.iter().filter_map(|r| clip(*r, None)));
                let mut new: BTreeMap<SetId, BTreeSet<Element>> = BTreeMap::new();
                for (action, segments) in resolve(raw) {
                    for segment in segments {
                        for (id, range, expiry) in place(action, family, segment) {
                            new.entry(id).or_default().insert((range, expiry));
                        }
                    }
                }
                for id in sets_within(family, lo, hi) {
                    let old: BTreeSet<Element> = self
                        .sets
                        .get(&id)
                        .into_iter()
                        .flat_map(|set| set.range((lo, 0)..=(hi, u128::MAX)))
                        .map(|r| (*r, self.expiry(id, *r)))
                        .collect();
                    let wanted = new.remove(&id).unwrap_or_default();
                    for (range, _) in old.difference(&wanted) {
                        self.take(id, *range);
                    }
                    for (range, expiry) in wanted.difference(&old) {
                        self.insert(id, *range, *expiry);
                    }
                    changes.record(id, &old, &wanted);
                }
            }
        }
        changes
    }
}
