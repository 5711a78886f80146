//! What the kernel must hold for one device: the mode, the coverage, and the contents of each
//! of the twelve sets (allow, block and audit, per family, for single addresses and for
//! ranges). Built from a compiled policy, with loopback and the control plane's own addresses
//! forced into the allow sets: whatever the policy says, the agent never blocks them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::IpNet;
use netward_model::{
    Action, CompiledPolicy, Coverage, Family, FamilySets, ProtectionMode, RangeSet,
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
        }
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
}
