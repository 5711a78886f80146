//! What the kernel must hold for one device: the mode, the coverage, and the contents of each
//! of its sets (allow, block and audit, per family: single addresses, and ranges in 64 shards;
//! [`SetId`]). Built from a compiled policy, with loopback and the control plane's own addresses
//! forced into the allow sets: whatever the policy says, the agent never blocks them.
//!
//! An element may carry the second its indicator expires ([`KernelPolicy::expiries`]); the
//! kernel drops it then by itself (a set element's timeout), so that enforcement ends at
//! that second, with or without the agent. Because the kernel cannot move an address from
//! one set to another when an indicator expires, the sets of different actions may overlap
//! where a higher-precedence indicator expires: the rules look the sets up in precedence
//! order (allow, block, audit), so an address in two sets gets the first one's verdict, and
//! the next one's when the first element expires.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use netward_model::agent_wire::{Exemption, ExemptionReason};
use netward_model::{
    Action, CompiledPolicy, Coverage, Family, FamilySets, PolicyEntry, ProtectionMode, RangeSet,
};

mod changes;
mod incremental;
mod resolve;
mod set_id;

pub use changes::{Element, SetChanges};
pub use set_id::{SHARDS, SetId, family_name, last_address};

use resolve::resolve;

/// The inclusive ranges of one set; a single address is a range whose ends are equal.
pub type SetContents = BTreeSet<(u128, u128)>;

/// Everything the kernel must enforce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelPolicy {
    /// `off` means no table at all.
    pub mode: ProtectionMode,
    /// Which protocols a block applies to.
    pub coverage: Coverage,
    /// The contents of every set (all are present, possibly empty).
    pub sets: BTreeMap<SetId, SetContents>,
    /// The Unix second at which an element stops being enforced, by set and element; an
    /// element not named here never expires. The kernel removes it at that second itself.
    pub expiries: BTreeMap<SetId, BTreeMap<(u128, u128), i64>>,
}

/// A set element and the second it expires.
type ExpiringElement = ((u128, u128), i64);

/// An inclusive range and the second it expires (`None`: never).
pub(crate) type Segment = (u128, u128, Option<i64>);

/// The elements of an `action` segment of `family`: a single address in the hash set, a
/// range in its shard's interval set, cut at the shards' edges (a piece of one address goes to
/// the hash set, so that where an element goes depends on the element alone).
fn place(
    action: Action,
    family: Family,
    (start, end, expiry): Segment,
) -> impl Iterator<Item = (SetId, (u128, u128), Option<i64>)> {
    let mut from = Some(start);
    std::iter::from_fn(move || {
        let first = from?;
        let shard = SetId::shard(family, first);
        let last = end.min(SetId::shard_bounds(family, shard).1);
        from = last.checked_add(1).filter(|_| last < end);
        let id = if first == last {
            SetId::addresses(action, family)
        } else {
            SetId::ranges(action, family, shard)
        };
        Some((id, (first, last), expiry))
    })
}

/// Ranges the agent never blocks: loopback, plus the server's addresses given to
/// [`KernelPolicy::new`].
pub fn always_allowed(server_addresses: &[IpNet]) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect();
    out.extend_from_slice(server_addresses);
    out
}

/// Everything the agent never blocks, with the reason: loopback, then `extra` (the server's
/// addresses and the DNS resolvers), sorted, each (range, reason) once.
pub fn exemptions(extra: &[Exemption]) -> Vec<Exemption> {
    let mut out: Vec<Exemption> = ["127.0.0.0/8", "::1"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .map(|range| Exemption {
            range,
            reason: ExemptionReason::Loopback,
        })
        .chain(extra.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// An exemption of `reason` for the address or network `net`.
pub fn exemption(net: IpNet, reason: ExemptionReason) -> Option<Exemption> {
    let range = netward_model::IndicatorValue::parse(&net.trunc().to_string()).ok()?;
    Some(Exemption { range, reason })
}

pub(crate) fn bounds(net: &IpNet) -> (Family, (u128, u128)) {
    match net {
        IpNet::V4(n) => (
            Family::V4,
            (
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
            ),
        ),
        IpNet::V6(n) => (
            Family::V6,
            (u128::from(n.network()), u128::from(n.broadcast())),
        ),
    }
}

impl KernelPolicy {
    /// The kernel form of `compiled`, with `always_allowed` ranges taken out of every block and
    /// audit set.
    pub fn new(
        mode: ProtectionMode,
        coverage: Coverage,
        compiled: &CompiledPolicy,
        always_allowed: &[IpNet],
    ) -> Self {
        let mut sets: BTreeMap<SetId, SetContents> = SetId::all()
            .into_iter()
            .map(|id| (id, SetContents::new()))
            .collect();
        if mode == ProtectionMode::Off {
            return Self {
                mode,
                coverage,
                sets,
                expiries: BTreeMap::new(),
            };
        }
        for (family, fam_sets) in [(Family::V4, &compiled.v4), (Family::V6, &compiled.v6)] {
            let extra: Vec<(u128, u128)> = always_allowed
                .iter()
                .map(bounds)
                .filter(|(f, _)| *f == family)
                .map(|(_, b)| b)
                .collect();
            let allow = RangeSet::from_ranges(fam_sets.allow.ranges().iter().copied().chain(extra));
            let resolved =
                FamilySets::resolve(allow, fam_sets.block.clone(), fam_sets.audit.clone());
            for (action, ranges) in [
                (Action::Allow, &resolved.allow),
                (Action::Block, &resolved.block),
                (Action::Audit, &resolved.audit),
            ] {
                for &(start, end) in ranges.ranges() {
                    for (id, element, _) in place(action, family, (start, end, None)) {
                        sets.entry(id).or_default().insert(element);
                    }
                }
            }
        }
        Self {
            mode,
            coverage,
            sets,
            expiries: BTreeMap::new(),
        }
    }

    /// The kernel form of the indicators `entries` active at `now` (Unix seconds), each
    /// element carrying the second its indicators expire. Within an action, an address keeps
    /// the latest expiry of the indicators that cover it. Across actions, an address is taken
    /// out of a lower-precedence set only where a higher one covers it for good
    /// (`always_allowed` included); where the higher one expires, both sets hold it, and the
    /// rules' order decides until the kernel drops the first.
    pub fn from_entries(
        mode: ProtectionMode,
        coverage: Coverage,
        entries: impl IntoIterator<Item = PolicyEntry>,
        now: i64,
        always_allowed: &[IpNet],
    ) -> Self {
        let mut policy = Self::off();
        policy.mode = mode;
        policy.coverage = coverage;
        if mode == ProtectionMode::Off {
            return policy;
        }
        // [family][allow, block, audit]
        let mut raw: [[Vec<Segment>; 3]; 2] = Default::default();
        let slot = |family: Family| match family {
            Family::V4 => 0,
            Family::V6 => 1,
        };
        for e in entries {
            if e.expires_at.is_some_and(|at| now >= at) {
                continue;
            }
            let action = match e.action {
                Action::Allow => 0,
                Action::Block => 1,
                Action::Audit => 2,
            };
            let (start, end) = e.value.bounds();
            raw[slot(e.value.family())][action].push((start, end, e.expires_at));
        }
        for net in always_allowed {
            let (family, (start, end)) = bounds(net);
            raw[slot(family)][0].push((start, end, None));
        }
        // Each set is built from its sorted elements in bulk, so that its tree's nodes are
        // full (inserted one by one in order, they end about half full), an action at a time,
        // so that only one action's lists exist beside the sets.
        for (family, raw) in [Family::V4, Family::V6].into_iter().zip(raw) {
            for (action, segments) in resolve(raw) {
                let mut elements: BTreeMap<SetId, Vec<(u128, u128)>> = BTreeMap::new();
                let mut expiries: BTreeMap<SetId, Vec<ExpiringElement>> = BTreeMap::new();
                for segment in segments {
                    for (id, element, expiry) in place(action, family, segment) {
                        elements.entry(id).or_default().push(element);
                        if let Some(at) = expiry {
                            expiries.entry(id).or_default().push((element, at));
                        }
                    }
                }
                for (id, list) in elements {
                    policy.sets.insert(id, list.into_iter().collect());
                }
                for (id, list) in expiries {
                    policy.expiries.insert(id, list.into_iter().collect());
                }
            }
        }
        policy
    }

    /// Adds `element` to set `id`, expiring at `expiry`.
    pub(crate) fn insert(&mut self, id: SetId, element: (u128, u128), expiry: Option<i64>) {
        self.sets.entry(id).or_default().insert(element);
        if let Some(at) = expiry {
            self.expiries.entry(id).or_default().insert(element, at);
        }
    }

    /// Takes `element` out of set `id`.
    pub(crate) fn take(&mut self, id: SetId, element: (u128, u128)) {
        if let Some(set) = self.sets.get_mut(&id) {
            set.remove(&element);
        }
        if let Some(expiries) = self.expiries.get_mut(&id) {
            expiries.remove(&element);
            if expiries.is_empty() {
                self.expiries.remove(&id);
            }
        }
    }

    /// The Unix second at which `element` of set `id` expires; `None`: never.
    pub fn expiry(&self, id: SetId, element: (u128, u128)) -> Option<i64> {
        self.expiries.get(&id)?.get(&element).copied()
    }

    /// A policy that enforces nothing.
    pub fn off() -> Self {
        Self::new(
            ProtectionMode::Off,
            Coverage::All,
            &CompiledPolicy::default(),
            &[],
        )
    }

    /// How many addresses and ranges the sets hold in all.
    pub fn entry_count(&self) -> usize {
        self.sets.values().map(|s| s.len()).sum()
    }

    /// Whether the rules (not the sets) differ from `other`'s.
    pub fn same_rules(&self, other: &KernelPolicy) -> bool {
        self.mode == other.mode && self.coverage == other.coverage
    }
}

#[cfg(test)]
mod tests;
