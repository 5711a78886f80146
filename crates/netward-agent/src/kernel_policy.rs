//! What the kernel must hold for one device: the mode, the coverage, and the contents of each
//! of the twelve sets (allow, block and audit, per family, for single addresses and for
//! ranges). Built from a compiled policy, with loopback and the control plane's own addresses
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
use std::fmt;

use ipnet::IpNet;
use netward_model::agent_wire::{Exemption, ExemptionReason};
use netward_model::{
    Action, CompiledPolicy, Coverage, Family, FamilySets, PolicyEntry, ProtectionMode, RangeSet,
};

/// One kernel set: an action, a family, and whether it holds ranges (an interval set) or
/// single addresses (a hash set, where a change costs under a millisecond at any size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetId {
    /// The action of the addresses in the set.
    pub action: Action,
    /// The address family.
    pub family: Family,
    /// `true` for the interval set of ranges, `false` for the hash set of addresses.
    pub ranges: bool,
}

impl SetId {
    /// All twelve sets, in a fixed order.
    pub fn all() -> Vec<SetId> {
        let mut out = Vec::with_capacity(12);
        for action in [Action::Allow, Action::Block, Action::Audit] {
            for family in [Family::V4, Family::V6] {
                for ranges in [false, true] {
                    out.push(SetId {
                        action,
                        family,
                        ranges,
                    });
                }
            }
        }
        out
    }

    /// The set's name in the kernel, e.g. `block_v4_net`.
    pub fn name(&self) -> String {
        let family = match self.family {
            Family::V4 => "v4",
            Family::V6 => "v6",
        };
        let kind = if self.ranges { "net" } else { "addr" };
        format!("{}_{family}_{kind}", self.action.as_str())
    }

    /// The width of an address of this family, in bytes.
    pub fn key_len(&self) -> usize {
        match self.family {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The inclusive ranges of one set; a single address is a range whose ends are equal.
pub type SetContents = BTreeSet<(u128, u128)>;

/// Everything the kernel must enforce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelPolicy {
    /// `off` means no table at all.
    pub mode: ProtectionMode,
    /// Which protocols a block applies to.
    pub coverage: Coverage,
    /// The contents of every set (all twelve are present, possibly empty).
    pub sets: BTreeMap<SetId, SetContents>,
    /// The Unix second at which an element stops being enforced, by set and element; an
    /// element not named here never expires. The kernel removes it at that second itself.
    pub expiries: BTreeMap<SetId, BTreeMap<(u128, u128), i64>>,
}

/// An inclusive range and the second it expires (`None`: never).
type Segment = (u128, u128, Option<i64>);

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

fn bounds(net: &IpNet) -> (Family, (u128, u128)) {
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
                    let id = SetId {
                        action,
                        family,
                        ranges: start != end,
                    };
                    sets.entry(id).or_default().insert((start, end));
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
        for (family, [allow, block, audit]) in [Family::V4, Family::V6].into_iter().zip(raw) {
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
            for (action, segments) in [
                (Action::Allow, allow),
                (Action::Block, block),
                (Action::Audit, audit),
            ] {
                for (start, end, expiry) in segments {
                    let id = SetId {
                        action,
                        family,
                        ranges: start != end,
                    };
                    policy.sets.entry(id).or_default().insert((start, end));
                    if let Some(at) = expiry {
                        policy
                            .expiries
                            .entry(id)
                            .or_default()
                            .insert((start, end), at);
                    }
                }
            }
        }
        policy
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
mod tests {
    use super::*;
    use netward_model::{Indicator, IndicatorSubmission};

    fn indicator(id: i64, value: &str, action: &str) -> Indicator {
        Indicator::system(
            id,
            IndicatorSubmission {
                indicator_value: Some(value.into()),
                action: Some(action.into()),
                title: Some("t".into()),
                ..Default::default()
            }
            .validate(0)
            .unwrap(),
        )
    }

    fn set(p: &KernelPolicy, action: Action, family: Family, ranges: bool) -> &SetContents {
        &p.sets[&SetId {
            action,
            family,
            ranges,
        }]
    }

    #[test]
    fn loopback_and_the_server_are_never_blocked() {
        let inds = vec![
            indicator(1, "0.0.0.0/0", "block"),
            indicator(2, "::/0", "audit"),
        ];
        let compiled = CompiledPolicy::compile(&inds, "default", 0);
        let server: IpNet = "192.0.2.10/32".parse().unwrap();
        let p = KernelPolicy::new(
            ProtectionMode::Block,
            Coverage::All,
            &compiled,
            &always_allowed(&[server]),
        );
        let block = set(&p, Action::Block, Family::V4, true);
        let lo = u128::from(u32::from(std::net::Ipv4Addr::new(127, 0, 0, 1)));
        let srv = u128::from(u32::from(std::net::Ipv4Addr::new(192, 0, 2, 10)));
        assert!(
            !block
                .iter()
                .any(|(s, e)| (*s..=*e).contains(&lo) || (*s..=*e).contains(&srv))
        );
        assert_eq!(
            set(&p, Action::Allow, Family::V4, false).len(),
            1,
            "the server, as one address"
        );
        assert_eq!(
            set(&p, Action::Allow, Family::V6, false).iter().next(),
            Some(&(1, 1))
        );
        // ::/0 minus ::1 is the address :: and the range ::2 to the end.
        assert_eq!(
            set(&p, Action::Audit, Family::V6, false).iter().next(),
            Some(&(0, 0))
        );
        assert_eq!(
            set(&p, Action::Audit, Family::V6, true).iter().next(),
            Some(&(2, u128::MAX))
        );
    }

    #[test]
    fn single_addresses_and_ranges_go_to_separate_sets() {
        let inds = vec![
            indicator(1, "198.51.100.7", "block"),
            indicator(2, "203.0.113.0/24", "block"),
        ];
        let compiled = CompiledPolicy::compile(&inds, "default", 0);
        let p = KernelPolicy::new(ProtectionMode::Audit, Coverage::Tcp, &compiled, &[]);
        assert_eq!(set(&p, Action::Block, Family::V4, false).len(), 1);
        assert_eq!(set(&p, Action::Block, Family::V4, true).len(), 1);
        assert_eq!(p.sets.len(), 12);
        assert_eq!(KernelPolicy::off().entry_count(), 0);
        assert_eq!(
            SetId {
                action: Action::Block,
                family: Family::V6,
                ranges: true
            }
            .name(),
            "block_v6_net"
        );
    }

    /// The action the kernel's rules give `addr` at second `t` without another apply: the
    /// first set, in rule order, holding an element that covers it and has not expired.
    fn kernel_action_at(p: &KernelPolicy, addr: u128, t: i64) -> Option<Action> {
        for action in [Action::Allow, Action::Block, Action::Audit] {
            for ranges in [false, true] {
                let id = SetId {
                    action,
                    family: Family::V4,
                    ranges,
                };
                let live = p.sets[&id].iter().any(|&(s, e)| {
                    (s..=e).contains(&addr) && p.expiry(id, (s, e)).is_none_or(|x| t < x)
                });
                if live {
                    return Some(action);
                }
            }
        }
        None
    }

    fn entry(value: &str, action: Action, expires_at: Option<i64>) -> PolicyEntry {
        PolicyEntry {
            value: netward_model::IndicatorValue::parse(value).unwrap(),
            action,
            expires_at,
        }
    }

    #[test]
    fn an_address_keeps_the_latest_expiry_of_its_indicators_and_precedence_survives_expiry() {
        let entries = [
            entry("10.0.0.0/24", Action::Block, Some(100)),
            entry("10.0.0.16/28", Action::Block, Some(200)),
            entry("10.0.0.7", Action::Allow, Some(150)),
            entry("10.0.0.0/24", Action::Audit, None),
            entry("10.0.1.1", Action::Block, Some(10)),
        ];
        let p = KernelPolicy::from_entries(
            ProtectionMode::Block,
            Coverage::All,
            entries,
            10,
            &always_allowed(&[]),
        );
        let base = u128::from(u32::from(std::net::Ipv4Addr::new(10, 0, 0, 0)));
        let net = SetId {
            action: Action::Block,
            family: Family::V4,
            ranges: true,
        };
        let elements: Vec<_> = p.sets[&net]
            .iter()
            .map(|&(s, e)| (s - base, e - base, p.expiry(net, (s, e))))
            .collect();
        assert_eq!(
            elements,
            [
                (0, 15, Some(100)),
                (16, 31, Some(200)),
                (32, 255, Some(100))
            ]
        );
        let seven = base + 7;
        assert_eq!(kernel_action_at(&p, seven, 120), Some(Action::Allow));
        assert_eq!(kernel_action_at(&p, seven, 150), Some(Action::Audit));
        assert_eq!(kernel_action_at(&p, base + 20, 150), Some(Action::Block));
        assert_eq!(kernel_action_at(&p, base + 20, 200), Some(Action::Audit));
        assert_eq!(
            kernel_action_at(&p, base + 257, 10),
            None,
            "expired at `now`: not written"
        );
        // Loopback is allowed for good: never in a lower set.
        let lo = u128::from(u32::from(std::net::Ipv4Addr::LOCALHOST));
        let none = KernelPolicy::from_entries(
            ProtectionMode::Block,
            Coverage::All,
            [entry("0.0.0.0/0", Action::Block, Some(50))],
            0,
            &always_allowed(&[]),
        );
        for ranges in [false, true] {
            let id = SetId {
                action: Action::Block,
                family: Family::V4,
                ranges,
            };
            assert!(!none.sets[&id].iter().any(|&(s, e)| (s..=e).contains(&lo)));
        }
    }

    proptest::proptest! {
        /// Whatever the indicators and their expiries, what the kernel's sets decide at any
        /// later second, with no apply in between, is what compiling the indicators at that
        /// second decides.
        #[test]
        fn the_kernel_alone_matches_a_compile_at_every_later_second(
            raw in proptest::collection::vec(
                (0u8..64, 26u8..=32, 0u8..3, proptest::option::of(1i64..8)),
                0..12,
            ),
        ) {
            let entries: Vec<PolicyEntry> = raw
                .iter()
                .map(|&(host, len, action, expires)| {
                    let mask = if len == 32 { u32::MAX } else { !(u32::MAX >> len) };
                    let addr = std::net::Ipv4Addr::from((0x0a00_0000 | u32::from(host)) & mask);
                    let action = [Action::Allow, Action::Block, Action::Audit][usize::from(action)];
                    entry(&format!("{addr}/{len}"), action, expires)
                })
                .collect();
            let p = KernelPolicy::from_entries(
                ProtectionMode::Block,
                Coverage::All,
                entries.clone(),
                1,
                &[],
            );
            for t in 1..9 {
                let compiled = CompiledPolicy::compile_entries(entries.iter().copied(), t);
                for host in 0u32..72 {
                    let addr = 0x0a00_0000 | host;
                    proptest::prop_assert_eq!(
                        kernel_action_at(&p, u128::from(addr), t),
                        compiled.action_for(std::net::Ipv4Addr::from(addr).into()),
                        "{} at {}", std::net::Ipv4Addr::from(addr), t
                    );
                }
            }
            // Within a set, elements never overlap.
            for (id, set) in &p.sets {
                let v: Vec<_> = set.iter().collect();
                for w in v.windows(2) {
                    proptest::prop_assert!(w[0].1 < w[1].0, "{} overlaps", id);
                }
            }
            // With nothing expiring, the same sets as the compiled policy's.
            let forever: Vec<PolicyEntry> = entries
                .iter()
                .map(|e| PolicyEntry { expires_at: None, ..*e })
                .collect();
            let compiled = CompiledPolicy::compile_entries(forever.iter().copied(), 1);
            proptest::prop_assert_eq!(
                KernelPolicy::from_entries(ProtectionMode::Block, Coverage::All, forever, 1, &[]),
                KernelPolicy::new(ProtectionMode::Block, Coverage::All, &compiled, &[])
            );
        }
    }
}
