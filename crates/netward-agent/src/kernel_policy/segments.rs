//! From segments to the kernel's maps: within an action, an address keeps the latest expiry
//! of the indicators covering it (`latest_expiry`); a lower action loses an address only where a
//! higher one covers it for good (`resolve`); and each address's actions, in precedence order,
//! become its tiers, each tier's runs an element of a map (`place`).

use netward_model::{Action, Family, RangeSet};

use super::set_id::{SetId, SetKind};

/// An inclusive range and the second it expires (`None`: never).
pub(super) type Segment = (u128, u128, Option<i64>);

/// Appends `seg` to `out`, joined to the last segment when they touch and expire together.
fn push_joined(out: &mut Vec<Segment>, seg: Segment) {
    if let Some(last) = out.last_mut()
        && last.2 == seg.2
        && last.1.checked_add(1) == Some(seg.0)
    {
        last.1 = seg.1;
        return;
    }
    out.push(seg);
}

/// The union of `ranges` as disjoint, sorted segments, each address carrying the latest expiry
/// of the ranges that cover it (never, if one of them never expires): the time until which
/// some indicator still asks for it. A sweep over the starts with a heap of the ranges that
/// cover the current address: O(n log n).
fn latest_expiry(mut ranges: Vec<Segment>) -> Vec<Segment> {
    use std::collections::BinaryHeap;
    let forever = |x: Option<i64>| x.unwrap_or(i64::MAX);
    ranges.sort_unstable_by_key(|r| r.0);
    let mut out = Vec::new();
    // (expiry, end) of every range that started at or before `pos`; the top is the latest.
    let mut covering: BinaryHeap<(i64, u128)> = BinaryHeap::new();
    let mut next = 0;
    let Some(first) = ranges.first() else {
        return out;
    };
    let mut pos = first.0;
    loop {
        while let Some(r) = ranges.get(next).filter(|r| r.0 <= pos) {
            covering.push((forever(r.2), r.1));
            next += 1;
        }
        while covering.peek().is_some_and(|&(_, end)| end < pos) {
            covering.pop();
        }
        let Some(&(expiry, end)) = covering.peek() else {
            match ranges.get(next) {
                Some(r) => {
                    pos = r.0;
                    continue;
                }
                None => return out,
            }
        };
        // The segment runs to the end of the latest-expiring range, or to the start of the
        // next range (which may expire later), whichever comes first.
        let seg_end = match ranges.get(next) {
            Some(r) if r.0 <= end => r.0 - 1,
            _ => end,
        };
        let expiry = (expiry != i64::MAX).then_some(expiry);
        push_joined(&mut out, (pos, seg_end, expiry));
        match seg_end.checked_add(1) {
            Some(p) => pos = p,
            None => return out,
        }
    }
}

/// `segments` without the addresses of `holes` (both sorted and disjoint); what is left of a
/// segment keeps its expiry.
fn cut(segments: &[Segment], holes: &[(u128, u128)]) -> Vec<Segment> {
    let mut out = Vec::with_capacity(segments.len());
    let mut first_hole = 0;
    for &(start, end, expiry) in segments {
        while holes.get(first_hole).is_some_and(|h| h.1 < start) {
            first_hole += 1;
        }
        let mut from = Some(start);
        for &(hs, he) in holes[first_hole..].iter().take_while(|h| h.0 <= end) {
            let Some(f) = from else { break };
            if hs > f {
                out.push((f, hs - 1, expiry));
            }
            from = if he >= end { None } else { Some(he + 1) };
        }
        if let Some(f) = from {
            out.push((f, end, expiry));
        }
    }
    out
}

/// The allow, block and audit elements of one family, from the (range, expiry) of its
/// indicators of each action ([allow, block, audit]). Within an action, an address keeps the
/// latest expiry of the indicators covering it; a lower action loses an address only where a
/// higher one covers it for good.
pub(super) fn resolve([allow, block, audit]: [Vec<Segment>; 3]) -> [(Action, Vec<Segment>); 3] {
    let permanent = |segments: &[Segment]| -> Vec<(u128, u128)> {
        segments
            .iter()
            .filter(|s| s.2.is_none())
            .map(|s| (s.0, s.1))
            .collect()
    };
    let allow = latest_expiry(allow);
    let allowed_for_good = permanent(&allow);
    let block = cut(&latest_expiry(block), &allowed_for_good);
    let decided_for_good =
        RangeSet::from_ranges(allowed_for_good.iter().copied().chain(permanent(&block)));
    let audit = cut(&latest_expiry(audit), decided_for_good.ranges());
    [
        (Action::Allow, allow),
        (Action::Block, block),
        (Action::Audit, audit),
    ]
}

/// A run of one tier: first and last address, action, expiry.
type Run = (u128, u128, Action, Option<i64>);

/// One element of a map: the map, the range, its action and its expiry.
pub(super) type Placed = (SetId, (u128, u128), Action, Option<i64>);

/// The elements of `family`'s maps for its resolved segments (`resolve`'s output). At each
/// address, the actions whose segments cover it, in precedence order, are its tiers: the first
/// goes to the first tier (single addresses to the hash map, ranges to their shards, split at
/// shard edges), the second and third to the tier maps, where the kernel finds them once the
/// tiers above expire. Each tier's runs of one action and expiry are one element.
pub(super) fn place(family: Family, resolved: &[(Action, Vec<Segment>); 3]) -> Vec<Placed> {
    // The addresses where what covers an address may change.
    let mut cuts: Vec<u128> = Vec::new();
    for (_, segments) in resolved {
        for &(start, end, _) in segments {
            cuts.push(start);
            if let Some(after) = end.checked_add(1) {
                cuts.push(after);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut next = [0usize; 3];
    // The open run of each tier: (start, end, action, expiry).
    let mut runs: [Option<Run>; 3] = [None; 3];
    let mut out = Vec::new();
    let flush = |out: &mut Vec<Placed>, tier: usize, run: Run| {
        emit(out, family, tier, run);
    };
    for (i, &start) in cuts.iter().enumerate() {
        let end = match cuts.get(i + 1) {
            Some(&c) => c - 1,
            None => super::set_id::last_address(family),
        };
        let mut tiers: Vec<(Action, Option<i64>)> = Vec::with_capacity(3);
        for (slot, (action, segments)) in resolved.iter().enumerate() {
            while segments.get(next[slot]).is_some_and(|s| s.1 < start) {
                next[slot] += 1;
            }
            if let Some(&(s, _, expiry)) = segments.get(next[slot])
                && s <= start
            {
                tiers.push((*action, expiry));
            }
        }
        for (tier, run) in runs.iter_mut().enumerate() {
            let here = tiers.get(tier).copied();
            match (run.as_mut(), here) {
                (Some(r), Some((action, expiry)))
                    if r.2 == action && r.3 == expiry && r.1.checked_add(1) == Some(start) =>
                {
                    r.1 = end;
                }
                (_, here) => {
                    if let Some(done) = run.take() {
                        flush(&mut out, tier, done);
                    }
                    *run = here.map(|(action, expiry)| (start, end, action, expiry));
                }
            }
        }
    }
    for (tier, run) in runs.into_iter().enumerate() {
        if let Some(done) = run {
            flush(&mut out, tier, done);
        }
    }
    out
}

/// Adds the elements of one tier's run: the first tier's split at shard edges, each piece of
/// one address in the hash map; the lower tiers whole, in their tier map.
fn emit(
    out: &mut Vec<Placed>,
    family: Family,
    tier: usize,
    (start, end, action, expiry): (u128, u128, Action, Option<i64>),
) {
    if tier > 0 {
        let kind = SetKind::Tier(u8::try_from(tier).unwrap_or(2));
        out.push((SetId { family, kind }, (start, end), action, expiry));
        return;
    }
    let mut from = start;
    loop {
        let shard = SetId::shard(family, from);
        let to = end.min(SetId::shard_bounds(family, shard).1);
        let kind = if from == to {
            SetKind::Addresses
        } else {
            SetKind::Ranges(shard)
        };
        out.push((SetId { family, kind }, (from, to), action, expiry));
        match to.checked_add(1) {
            Some(n) if to < end => from = n,
            _ => return,
        }
    }
}
