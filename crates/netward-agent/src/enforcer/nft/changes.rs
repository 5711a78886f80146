//! The netlink operations of a policy change: the elements of a full rewrite, handed to the
//! encoder a set at a time, or those of a delta, with the timeouts that make the kernel drop
//! an element at its expiry by itself.

use super::netlink::{Element as NetlinkElement, ElementOp, SetChange};
use crate::kernel_policy::{Element, SetChanges};
use crate::{KernelPolicy, SetId};

/// The elements of set `id` of `p` the kernel still holds at `now_ms`: not expired, with
/// their expiry (Unix seconds).
fn live_elements(p: &KernelPolicy, id: SetId, now_ms: i64) -> impl Iterator<Item = Element> + '_ {
    p.sets
        .get(&id)
        .into_iter()
        .flatten()
        .map(move |r| (*r, p.expiry(id, *r)))
        .filter(move |(_, at)| at.is_none_or(|at| at.saturating_mul(1000) > now_ms))
}

/// Elements per change of a full rewrite: a set's elements are handed to the netlink encoder
/// this many at a time, so that a million never exist as a second list beside the policy.
const ELEMENTS_PER_CHANGE: usize = 65_536;

/// A rewrite of every set of `desired` at `now_ms`: each is flushed, then refilled, in
/// changes made as the encoder asks for them; with the number of elements added.
pub(super) fn full_changes(
    desired: &KernelPolicy,
    now_ms: i64,
) -> (impl Iterator<Item = SetChange> + '_, usize) {
    let added = SetId::all()
        .into_iter()
        .map(|id| live_elements(desired, id, now_ms).count())
        .sum();
    let flushes = SetId::all().into_iter().map(|id| SetChange {
        id,
        op: ElementOp::Flush,
        elements: Vec::new(),
    });
    let fills = SetId::all().into_iter().flat_map(move |id| {
        let mut live = live_elements(desired, id, now_ms).peekable();
        std::iter::from_fn(move || {
            live.peek()?;
            Some(SetChange {
                id,
                op: ElementOp::Add,
                elements: live
                    .by_ref()
                    .take(ELEMENTS_PER_CHANGE)
                    .map(|e| element(e, now_ms))
                    .collect(),
            })
        })
    });
    (flushes.chain(fills), added)
}

/// How much longer than to its expiry an element's timeout runs. The kernel counts a
/// timeout from its tick counter (jiffies), which lags real time by up to a tick (10 ms at
/// 100 Hz): without this, an element could stop a few milliseconds before its second.
pub const EXPIRY_SLACK_MS: i64 = 20;

/// An element to add at `now_ms`: its timeout runs to its expiry, and [`EXPIRY_SLACK_MS`]
/// beyond.
fn element(((start, end), expiry): Element, now_ms: i64) -> NetlinkElement {
    NetlinkElement {
        start,
        end,
        timeout_ms: expiry.map(|at| {
            let ms = at.saturating_mul(1000).saturating_sub(now_ms) + EXPIRY_SLACK_MS;
            u64::try_from(ms).unwrap_or(1).max(1)
        }),
    }
}

/// The netlink operations of `changes` at `now_ms`, with the number of elements added and
/// removed. Elements the kernel already expired are neither deleted nor counted; those that
/// expire are deleted with DESTROY, which tolerates the kernel expiring them first. Deletions
/// come first, so that a range can be replaced by an overlapping one.
pub(super) fn delta(changes: &SetChanges, now_ms: i64) -> (Vec<SetChange>, usize, usize) {
    let live = |at: Option<i64>| at.is_none_or(|at| at.saturating_mul(1000) > now_ms);
    let mut deletions = Vec::new();
    let mut additions = Vec::new();
    let (mut added, mut removed) = (0, 0);
    for (id, elements) in &changes.removed {
        let (mut lasting, mut expiring) = (Vec::new(), Vec::new());
        for &(range, at) in elements {
            match at {
                None => lasting.push(element((range, None), now_ms)),
                // The kernel already dropped it.
                Some(_) if !live(at) => {}
                Some(_) => expiring.push(element((range, None), now_ms)),
            }
        }
        removed += lasting.len() + expiring.len();
        for (op, elements) in [(ElementOp::Delete, lasting), (ElementOp::Destroy, expiring)] {
            if !elements.is_empty() {
                deletions.push(SetChange {
                    id: *id,
                    op,
                    elements,
                });
            }
        }
    }
    for (id, elements) in &changes.added {
        let new: Vec<NetlinkElement> = elements
            .iter()
            .filter(|(_, at)| live(*at))
            .map(|e| element(*e, now_ms))
            .collect();
        added += new.len();
        if !new.is_empty() {
            additions.push(SetChange {
                id: *id,
                op: ElementOp::Add,
                elements: new,
            });
        }
    }
    deletions.extend(additions);
    (deletions, added, removed)
}
