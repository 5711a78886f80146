//! How the indicators of one family become the contents of its allow, block and audit sets:
//! within an action, the union of its ranges, each address with the latest expiry of the
//! indicators covering it; across actions, an address leaves a lower action only where a
//! higher one covers it for good.

use netward_model::Action;

use super::Segment;

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
    if ranges.iter().all(|r| r.2.is_none()) {
        return union_in_place(ranges);
    }
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

/// The union of `ranges` (sorted by start, none expiring) as disjoint segments, merged where
/// they overlap or touch: the latest expiry of ranges that never expire, computed in the
/// vector itself, since a policy of a million indicators is mostly such ranges.
fn union_in_place(mut ranges: Vec<Segment>) -> Vec<Segment> {
    ranges.dedup_by(|next, kept| {
        let joins = kept.1.checked_add(1).is_none_or(|after| next.0 <= after);
        if joins {
            kept.1 = kept.1.max(next.1);
        }
        joins
    });
    ranges
}

/// `segments` without the addresses that `holes` cover for good (both sorted and disjoint; a
/// hole that expires takes nothing); what is left of a segment keeps its expiry. In place: a
/// segment cut in several pieces keeps its first, and the others are added after, then put in
/// order (they are few: holes are mostly loopback, the server and allow indicators).
fn cut(mut segments: Vec<Segment>, holes: &[Segment]) -> Vec<Segment> {
    let mut pieces = Vec::new();
    let mut first_hole = 0;
    segments.retain_mut(|segment| {
        let (start, end, expiry) = *segment;
        while holes.get(first_hole).is_some_and(|h| h.1 < start) {
            first_hole += 1;
        }
        let before = pieces.len();
        let mut from = Some(start);
        let lasting = holes[first_hole..].iter().filter(|h| h.2.is_none());
        for &(hs, he, _) in lasting.take_while(|h| h.0 <= end) {
            let Some(f) = from else { break };
            if hs > f {
                pieces.push((f, hs - 1, expiry));
            }
            from = if he >= end { None } else { Some(he + 1) };
        }
        if let Some(f) = from {
            pieces.push((f, end, expiry));
        }
        // Untouched by any hole: kept as it is.
        if pieces.len() == before + 1 && pieces[before] == *segment {
            pieces.pop();
            return true;
        }
        match pieces.get(before) {
            Some(&first) => {
                *segment = first;
                pieces.remove(before);
                true
            }
            None => false,
        }
    });
    if !pieces.is_empty() {
        segments.extend(pieces);
        segments.sort_unstable_by_key(|s| s.0);
    }
    segments
}

/// The allow, block and audit elements of one family, from the (range, expiry) of its
/// indicators of each action ([allow, block, audit]). Within an action, an address keeps the
/// latest expiry of the indicators covering it; a lower action loses an address only where a
/// higher one covers it for good.
pub(super) fn resolve([allow, block, audit]: [Vec<Segment>; 3]) -> [(Action, Vec<Segment>); 3] {
    let allow = latest_expiry(allow);
    let block = cut(latest_expiry(block), &allow);
    // Block was cut by allow: what either holds for good is the audit's holes.
    let audit = cut(cut(latest_expiry(audit), &allow), &block);
    [
        (Action::Allow, allow),
        (Action::Block, block),
        (Action::Audit, audit),
    ]
}
