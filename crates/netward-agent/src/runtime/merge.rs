//! How a policy update changes the held indicators, and which addresses it touched: what
//! the engine then brings the kernel's sets up to date around.
//!
//! A delta changes what it names. A snapshot is merged as the changes it makes, found by
//! walking it and the held indicators side by side in id order, so that one that repeats
//! the held policy (after a server restart, say) touches nothing. When an update touches
//! more than half of the policy (a first snapshot, always), touching each change costs more
//! than starting over: the held indicators are rebuilt from it in bulk, and the sets compiled
//! from scratch.

use std::cmp::Ordering;
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use netward_model::agent_wire::PolicyIndicator;
use netward_model::{Family, PolicyEntry};

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

/// The differences between `held` and `snapshot` (sorted by id, no id twice) with the
/// addresses they touch, or `None` once they pass `limit`.
fn differences(
    held: &HeldIndicators,
    snapshot: &[PolicyIndicator],
    limit: usize,
) -> Option<(Vec<Difference>, Vec<Touched>)> {
    if held.len().abs_diff(snapshot.len()) > limit {
        return None;
    }
    let (mut diffs, mut touches) = (Vec::new(), Vec::new());
    let mut old = held.iter().peekable();
    let mut new = snapshot.iter().peekable();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((id, _)), Some(i)) => id.cmp(&i.id),
        };
        match order {
            Ordering::Less => {
                let (id, was) = old.next()?;
                diffs.push((id, None));
                touches.push(touched(was));
            }
            Ordering::Greater => {
                let i = new.next()?;
                diffs.push((i.id, Some(i.entry)));
                touches.push(touched(&i.entry));
            }
            Ordering::Equal => {
                let ((id, was), i) = (old.next()?, new.next()?);
                if *was != i.entry {
                    diffs.push((id, Some(i.entry)));
                    touches.extend([touched(was), touched(&i.entry)]);
                }
            }
        }
        if touches.len() > limit {
            return None;
        }
    }
    Some((diffs, touches))
}

/// Replaces the held indicators with `snapshot`'s.
pub fn merge_snapshot(held: &RwLock<HeldIndicators>, mut snapshot: Vec<PolicyIndicator>) -> Merged {
    // Stable: of an id sent twice, the last one counts, as in a delta.
    snapshot.sort_by_key(|i| i.id);
    snapshot.dedup_by(|later, earlier| {
        let same = later.id == earlier.id;
        if same {
            *earlier = *later;
        }
        same
    });
    let found = {
        let held = held.read().unwrap_or_else(PoisonError::into_inner);
        differences(
            &held,
            &snapshot,
            incremental_limit(held.len().max(snapshot.len())),
        )
    };
    let mut held = write(held);
    match found {
        Some((diffs, touches)) => {
            drop(snapshot);
            for (id, entry) in diffs {
                match entry {
                    Some(entry) => held.insert(id, entry),
                    None => held.remove(id),
                };
            }
            Merged::Touched(touches)
        }
        None => {
            // The old indicators go before the new are built, so that both are never held
            // at once; the sensor waits on the lock meanwhile, and never sees a half.
            *held = HeldIndicators::default();
            *held = snapshot.into_iter().map(|i| (i.id, i.entry)).collect();
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
        assert_eq!(merge_snapshot(&held, again), Merged::Touched(Vec::new()));
        assert_eq!(held.read().unwrap().len(), 1_000);
    }

    #[test]
    fn a_snapshot_with_a_few_differences_touches_them_alone() {
        let held = held_of(&many(1_000));
        let mut next = many(1_000);
        next.retain(|i| i.id != 5);
        next[10] = ind(next[10].id, "192.0.2.0/24", "audit", None);
        next.push(ind(5_000, "198.51.100.7", "block", None));
        let Merged::Touched(mut touched) = merge_snapshot(&held, next.clone()) else {
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
        assert_eq!(merge_snapshot(&held, next), Merged::Replaced);
        let held = held.read().unwrap();
        assert_eq!(held.len(), 1_000);
        assert_eq!(
            held.get(7),
            Some(&ind(7, "203.0.113.9", "allow", None).entry)
        );
    }
}
