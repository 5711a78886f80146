//! What the kernel must hold for one device: the mode, the coverage, and the contents of its
//! verdict maps ([`SetId`]: per family, a hash map of single addresses, 64 shards of ranges and
//! two tier maps), each element mapping an address or a range to its action. Built from the
//! held indicators, with loopback and the control plane's own addresses forced to allow:
//! whatever the policy says, the agent never blocks them.
//!
//! An element may carry the second its indicator expires ([`KernelPolicy::expiries`]); the
//! kernel drops it then by itself (a map element's timeout), so that enforcement ends at that
//! second, with or without the agent. Because the kernel cannot change an element's action
//! when an indicator expires, an address whose first action expires also has the next one in
//! the tier map below (and that one's next in the third): the rules look the tiers up in
//! order, so the address gets the first tier's verdict, and the next one's when the first
//! element expires.

use std::collections::BTreeMap;

use ipnet::IpNet;
use netward_model::agent_wire::{Exemption, ExemptionReason};
use netward_model::{Action, CompiledPolicy, Coverage, Family, PolicyEntry, ProtectionMode};

mod changes;
mod incremental;
mod segments;
mod set_id;

pub use changes::{Element, SetChanges};
pub use set_id::{SHARDS, SetId, SetKind, family_name, last_address};

use segments::{Segment, place, resolve};

/// The elements of one map: each inclusive range (a single address when its ends are equal)
/// and its action.
pub type SetContents = BTreeMap<(u128, u128), Action>;

/// Everything the kernel must enforce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelPolicy {
    /// `off` means no table at all.
    pub mode: ProtectionMode,
    /// Which protocols a block applies to.
    pub coverage: Coverage,
    /// The contents of every map (all are present, possibly empty).
    pub sets: BTreeMap<SetId, SetContents>,
    /// The Unix second at which an element stops being enforced, by map and element; an
    /// element not named here never expires. The kernel removes it at that second itself.
    pub expiries: BTreeMap<SetId, BTreeMap<(u128, u128), i64>>,
}

/// The slot of `action` in [allow, block, audit].
fn action_slot(action: Action) -> usize {
    match action {
        Action::Allow => 0,
        Action::Block => 1,
        Action::Audit => 2,
    }
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
    /// The kernel form of `compiled` (nothing expires), with `always_allowed` ranges taken
    /// out of every block and audit element.
    pub fn new(
        mode: ProtectionMode,
        coverage: Coverage,
        compiled: &CompiledPolicy,
        always_allowed: &[IpNet],
    ) -> Self {
        let mut policy = Self::empty(mode, coverage);
        if mode == ProtectionMode::Off {
            return policy;
        }
        for (family, fam_sets) in [(Family::V4, &compiled.v4), (Family::V6, &compiled.v6)] {
            let lasting = |r: &(u128, u128)| (r.0, r.1, None);
            let mut raw: [Vec<Segment>; 3] = [
                fam_sets.allow.ranges().iter().map(lasting).collect(),
                fam_sets.block.ranges().iter().map(lasting).collect(),
                fam_sets.audit.ranges().iter().map(lasting).collect(),
            ];
            raw[0].extend(
                always_allowed
                    .iter()
                    .map(bounds)
                    .filter(|(f, _)| *f == family)
                    .map(|(_, b)| lasting(&b)),
            );
            policy.fill(family, raw);
        }
        policy
    }

    /// The kernel form of the indicators `entries` active at `now` (Unix seconds), each
    /// element carrying the second its indicators expire. Within an action, an address keeps
    /// the latest expiry of the indicators that cover it. Across actions, an address loses a
    /// lower action only where a higher one covers it for good (`always_allowed` included);
    /// where the higher one expires, the lower one waits in the tier below.
    pub fn from_entries(
        mode: ProtectionMode,
        coverage: Coverage,
        entries: impl IntoIterator<Item = PolicyEntry>,
        now: i64,
        always_allowed: &[IpNet],
    ) -> Self {
        let mut policy = Self::empty(mode, coverage);
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
            let (start, end) = e.value.bounds();
            raw[slot(e.value.family())][action_slot(e.action)].push((start, end, e.expires_at));
        }
        for net in always_allowed {
            let (family, (start, end)) = bounds(net);
            raw[slot(family)][0].push((start, end, None));
        }
        for (family, raw) in [Family::V4, Family::V6].into_iter().zip(raw) {
            policy.fill(family, raw);
        }
        policy
    }

    /// A policy of `mode` and `coverage` with every map empty.
    fn empty(mode: ProtectionMode, coverage: Coverage) -> Self {
        Self {
            mode,
            coverage,
            sets: SetId::all()
                .into_iter()
                .map(|id| (id, SetContents::new()))
                .collect(),
            expiries: BTreeMap::new(),
        }
    }

    /// Adds the elements of `family` for its raw segments per action.
    fn fill(&mut self, family: Family, raw: [Vec<Segment>; 3]) {
        for (id, range, action, expiry) in place(family, &resolve(raw)) {
            self.insert(id, range, action, expiry);
        }
    }

    /// Adds `element` of `action` to map `id`, expiring at `expiry`.
    pub(crate) fn insert(
        &mut self,
        id: SetId,
        element: (u128, u128),
        action: Action,
        expiry: Option<i64>,
    ) {
        self.sets.entry(id).or_default().insert(element, action);
        if let Some(at) = expiry {
            self.expiries.entry(id).or_default().insert(element, at);
        }
    }

    /// Takes `element` out of map `id`.
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

    /// The Unix second at which `element` of map `id` expires; `None`: never.
    pub fn expiry(&self, id: SetId, element: (u128, u128)) -> Option<i64> {
        self.expiries.get(&id)?.get(&element).copied()
    }

    /// The elements of map `id` with their action and expiry.
    pub fn elements(&self, id: SetId) -> impl Iterator<Item = Element> + '_ {
        self.sets
            .get(&id)
            .into_iter()
            .flatten()
            .map(move |(range, action)| (*range, *action, self.expiry(id, *range)))
    }

    /// The action the kernel gives `address` of `family` at Unix millisecond `now_ms`, with
    /// no apply in between: the first tier whose element covers it and has not expired.
    pub fn action_at(&self, family: Family, address: u128, now_ms: i64) -> Option<Action> {
        let live = |id: SetId| -> Option<Action> {
            let (range, action) = self
                .sets
                .get(&id)?
                .range(..=(address, u128::MAX))
                .next_back()
                .filter(|(r, _)| r.1 >= address)?;
            self.expiry(id, *range)
                .is_none_or(|at| at.saturating_mul(1000) > now_ms)
                .then_some(*action)
        };
        let shard = SetId::shard(family, address);
        [
            SetKind::Addresses,
            SetKind::Ranges(shard),
            SetKind::Tier(1),
            SetKind::Tier(2),
        ]
        .into_iter()
        .find_map(|kind| live(SetId { family, kind }))
    }

    /// A policy that enforces nothing.
    pub fn off() -> Self {
        Self::empty(ProtectionMode::Off, Coverage::All)
    }

    /// How many addresses and ranges the maps hold in all.
    pub fn entry_count(&self) -> usize {
        self.sets.values().map(BTreeMap::len).sum()
    }

    /// Whether the rules (not the maps) differ from `other`'s.
    pub fn same_rules(&self, other: &KernelPolicy) -> bool {
        self.mode == other.mode && self.coverage == other.coverage
    }
}

#[cfg(test)]
mod tests;
