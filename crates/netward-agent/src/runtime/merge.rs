//! How a policy update changes the held indicators, and which addresses it touched: what
//! the engine then brings the kernel's sets up to date around.
//!
//! A delta changes what it names. A snapshot is merged as the changes it makes, found by
//! walking it and the held indicators side by side in id order, so that one that repeats
//! the held policy (after a server restart, say) touches nothing. When an update touches
//! more than half of the policy (a first snapshot, always), touching each change costs more
//! than starting over: the held indicators are rebuilt from it in bulk, and the sets compiled
//! from scratch.

use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use netward_model::agent_wire::PolicyIndicator;
use netward_model::{Family, PolicyEntry};

use super::upserts::Upserts;
use crate::held::HeldIndicators;

/// Above this share of the held indicators (in eighths), an update's changes are compiled
/// from scratch rather than around each one. Measured at a million (`enforcer_scale`): a
/// delta of 100,000 changes (200,000 addresses touched) takes as long either way, and around
/// each change needs 110 MB less at its peak, so only past half is a sweep over everything
/// worth its memory.
pub const INCREMENTAL_LIMIT_EIGHTHS: usize = 4;

/// The addresses an entry covers, as (family, first, last).
pub type Touched = (Family, u128, u128);

/// What merging an update did to the held indicators.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// These addresses changed; the rest of the policy did not.
    Touched(Vec<Touched>),
    /// Everything was replaced: compile from scratch.
    Replaced,
}

/// The addresses `e` covers.
pub fn touched(e: &PolicyEntry) -> Touched {
    let (first, last) = e.value.bounds();
    (e.value.family(), first, last)
}

/// How many changes an update to `held` indicators may touch one by one.
pub fn incremental_limit(held: usize) -> usize {
    held * INCREMENTAL_LIMIT_EIGHTHS / 8 + 64
}

/// Writes to the held indicators. A panic while writing cannot leave them half-changed in a
/// way that matters: the next update or a snapshot brings them back, so the lock is taken
/// even if poisoned.
pub fn write(held: &RwLock<HeldIndicators>) -> RwLockWriteGuard<'_, HeldIndicators> {
    held.write().unwrap_or_else(PoisonError::into_inner)
}

/// Applies a delta: `removals` go, then `upserts` are added or replace what their id held.
pub fn merge_delta(
    held: &RwLock<HeldIndicators>,
    upserts: &[PolicyIndicator],
    removals: &[i64],
) -> Merged {
    let mut held = write(held);
    let mut changed = Vec::new();
    for id in removals {
        changed.extend(held.remove(*id).as_ref().map(touched));
    }
    for i in upserts {
        if held.get(i.id) == Some(&i.entry) {
            continue;
        }
        changed.push(touched(&i.entry));
        changed.extend(held.insert(i.id, i.entry).as_ref().map(touched));
    }
    Merged::Touched(changed)
}

/// One difference between the held indicators and a snapshot: the id, and what it becomes
/// (`None`: it goes).
type Difference = (i64, Option<PolicyEntry>);

/// The differences between `held` and a snapshot (`changed`, sorted by id, no id twice, and
/// the `unchanged` ids, sorted) with the addresses they touch, or `None` once they pass
/// `limit`. An id in both is changed.
fn differences(
    held: &HeldIndicators,
    changed: &[PolicyIndicator],
    unchanged: &[i64],
    limit: usize,
) -> Option<(Vec<Difference>, Vec<Touched>)> {
    if held.len().abs_diff(changed.len() + unchanged.len()) > limit {
        return None;
    }
    let (mut diffs, mut touches) = (Vec::new(), Vec::new());
    let mut new = changed.iter().peekable();
    let mut same = unchanged.iter().peekable();
    let add = |i: &PolicyIndicator, diffs: &mut Vec<Difference>, touches: &mut Vec<Touched>| {
        diffs.push((i.id, Some(i.entry)));
        touches.push(touched(&i.entry));
    };
    for (id, was) in held.iter() {
        while let Some(i) = new.next_if(|i| i.id < id) {
            add(i, &mut diffs, &mut touches);
        }
        while same.next_if(|u| **u < id).is_some() {}
        if let Some(i) = new.next_if(|i| i.id == id) {
            if *was != i.entry {
                diffs.push((id, Some(i.entry)));
                touches.extend([touched(was), touched(&i.entry)]);
            }
        } else if same.next_if(|u| **u == id).is_none() {
            diffs.push((id, None));
            touches.push(touched(was));
        }
        if touches.len() > limit {
            return None;
        }
    }
    for i in new {
        add(i, &mut diffs, &mut touches);
        if touches.len() > limit {
            return None;
        }
    }
    Some((diffs, touches))
}

/// Replaces the held indicators with a snapshot's: `upserts.changed`, and the held indicators
/// named by `upserts.unchanged`.
pub fn merge_snapshot(held: &RwLock<HeldIndicators>, upserts: Upserts) -> Merged {
    let Upserts {
        mut changed,
        mut unchanged,
    } = upserts;
    // Stable: of an id sent twice, the last one counts, as in a delta.
    changed.sort_by_key(|i| i.id);
    changed.dedup_by(|later, earlier| {
        let same = later.id == earlier.id;
        if same {
            *earlier = *later;
        }
        same
    });
    unchanged.sort_unstable();
    let found = {
        let held = held.read().unwrap_or_else(PoisonError::into_inner);
        let kept = changed.len() + unchanged.len();
        differences(
            &held,
            &changed,
            &unchanged,
            incremental_limit(held.len().max(kept)),
        )
    };
    let mut held = write(held);
    match found {
        Some((diffs, touches)) => {
            drop((changed, unchanged));
            for (id, entry) in diffs {
                match entry {
                    Some(entry) => held.insert(id, entry),
                    None => held.remove(id),
                };
            }
            Merged::Touched(touches)
        }
        None => {
            // The new indicators: those repeated, then those that change (an id in both is
            // changed: the bulk build keeps the last of an id).
            let mut entries: Vec<(i64, PolicyEntry)> = unchanged
                .iter()
                .filter_map(|id| held.get(*id).map(|e| (*id, *e)))
                .collect();
            drop(unchanged);
            entries.extend(changed.into_iter().map(|i| (i.id, i.entry)));
            // The old indicators go before the new are built, so that both are never held
            // at once; the sensor waits on the lock meanwhile, and never sees a half.
            *held = HeldIndicators::default();
            *held = entries.into_iter().collect();
            Merged::Replaced
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::engine::tests::ind;

    fn held_of(snapshot: &[PolicyIndicator]) -> RwLock<HeldIndicators> {
        RwLock::new(snapshot.iter().map(|i| (i.id, i.entry)).collect())
    }

    fn many(n: i64) -> Vec<PolicyIndicator> {
        (0..n)
            .map(|id| {
                ind(
                    id,
                    &format!("10.0.{}.{}", id / 250, id % 250 + 1),
                    "block",
                    None,
                )
            })
            .collect()
    }

    #[test]
    fn a_snapshot_that_repeats_the_policy_touches_nothing() {
        let held = held_of(&many(1_000));
        let mut again = many(1_000);
        again.reverse();
        assert_eq!(
            merge_snapshot(&held, again.into()),
            Merged::Touched(Vec::new())
        );
        assert_eq!(held.read().unwrap().len(), 1_000);
        // Read against the held indicators, it is ids alone.
        let ids = Upserts {
            changed: Vec::new(),
            unchanged: (0..1_000).rev().collect(),
        };
        assert_eq!(merge_snapshot(&held, ids), Merged::Touched(Vec::new()));
        assert_eq!(
            *held.read().unwrap(),
            *held_of(&many(1_000)).read().unwrap()
        );
    }

    #[test]
    fn ids_sent_unchanged_are_kept_through_a_replacement_and_the_rest_goes() {
        let held = held_of(&many(100));
        let mut next: Vec<PolicyIndicator> = many(2_000).split_off(100);
        next.push(ind(3, "203.0.113.3", "audit", None));
        let upserts = Upserts {
            changed: next.clone(),
            unchanged: vec![3, 4, 5],
        };
        assert_eq!(merge_snapshot(&held, upserts), Merged::Replaced);
        let mut want = next;
        want.push(many(5)[4]);
        want.push(many(6)[5]);
        assert_eq!(
            *held.read().unwrap(),
            *held_of(&want).read().unwrap(),
            "3 is changed, 4 and 5 kept"
        );
    }

    #[test]
    fn a_snapshot_with_a_few_differences_touches_them_alone() {
        let held = held_of(&many(1_000));
        let mut next = many(1_000);
        next.retain(|i| i.id != 5);
        next[10] = ind(next[10].id, "192.0.2.0/24", "audit", None);
        next.push(ind(5_000, "198.51.100.7", "block", None));
        let Merged::Touched(mut touched) = merge_snapshot(&held, next.clone().into()) else {
            panic!("a few changes are merged one by one");
        };
        touched.sort_unstable();
        let v4 = |a: u32, b: u32| (Family::V4, u128::from(a), u128::from(b));
        assert_eq!(
            touched,
            vec![
                v4(0x0a00_0006, 0x0a00_0006),
                v4(0x0a00_000c, 0x0a00_000c),
                v4(0xc000_0200, 0xc000_02ff),
                v4(0xc633_6407, 0xc633_6407),
            ]
        );
        assert_eq!(*held.read().unwrap(), *held_of(&next).read().unwrap());
    }

    #[test]
    fn a_snapshot_that_changes_much_replaces_everything_and_a_repeated_id_keeps_its_last() {
        let held = held_of(&many(100));
        let mut next = many(1_000);
        next.push(ind(7, "203.0.113.9", "allow", None));
        assert_eq!(merge_snapshot(&held, next.into()), Merged::Replaced);
        let held = held.read().unwrap();
        assert_eq!(held.len(), 1_000);
        assert_eq!(
            held.get(7),
            Some(&ind(7, "203.0.113.9", "allow", None).entry)
        );
    }
}
