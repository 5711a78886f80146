//! The policy compiler: the indicators in scope for a device group, unexpired at `now`,
//! become disjoint address sets per action and family. Allow beats block and audit on every
//! address it covers, whatever the prefix lengths; block beats audit.

use std::net::IpAddr;

use crate::{Action, Family, Indicator, RangeSet};

/// The effective sets of one address family. No address is in two of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FamilySets {
    /// Addresses no indicator may block or audit.
    pub allow: RangeSet,
    /// Addresses to block.
    pub block: RangeSet,
    /// Addresses to let through and report.
    pub audit: RangeSet,
}

/// What the compiler needs of an indicator: a small, copyable record, so that an agent can
/// keep a million of them ready to recompile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyEntry {
    /// The canonical value.
    pub value: crate::IndicatorValue,
    /// Its action.
    pub action: Action,
    /// When it stops applying.
    pub expires_at: Option<i64>,
}

impl PolicyEntry {
    /// The entry of a stored indicator.
    pub fn of(ind: &Indicator) -> Self {
        Self {
            value: ind.draft.value,
            action: ind.draft.action,
            expires_at: ind.draft.expires_at,
        }
    }
}

/// One device group's effective policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledPolicy {
    /// IPv4 sets.
    pub v4: FamilySets,
    /// IPv6 sets.
    pub v6: FamilySets,
    /// How many indicators went in.
    pub indicator_count: usize,
    /// The earliest expiration among them: the policy changes then.
    pub next_expiry: Option<i64>,
}

impl FamilySets {
    /// Resolves overlaps between raw per-action ranges.
    pub fn resolve(allow: RangeSet, block: RangeSet, audit: RangeSet) -> Self {
        let block = block.difference(&allow);
        let audit = audit.difference(&allow).difference(&block);
        Self {
            allow,
            block,
            audit,
        }
    }

    /// The action for an address of this family, if any indicator covers it.
    pub fn action_for(&self, addr: u128) -> Option<Action> {
        if self.allow.contains(addr) {
            Some(Action::Allow)
        } else if self.block.contains(addr) {
            Some(Action::Block)
        } else if self.audit.contains(addr) {
            Some(Action::Audit)
        } else {
            None
        }
    }
}

impl CompiledPolicy {
    /// Compiles the indicators that apply to `group` and are active at `now`.
    pub fn compile<'a>(
        indicators: impl IntoIterator<Item = &'a Indicator>,
        group: &str,
        now: i64,
    ) -> Self {
        Self::compile_entries(
            indicators
                .into_iter()
                .filter(|i| i.applies_to(group))
                .map(PolicyEntry::of),
            now,
        )
    }

    /// Compiles entries already in scope, keeping those active at `now`.
    pub fn compile_entries(entries: impl IntoIterator<Item = PolicyEntry>, now: i64) -> Self {
        let mut raw: [[Vec<(u128, u128)>; 3]; 2] = Default::default();
        let mut count = 0;
        let mut next_expiry: Option<i64> = None;
        for e in entries {
            if e.expires_at.is_some_and(|at| now >= at) {
                continue;
            }
            count += 1;
            if let Some(at) = e.expires_at {
                next_expiry = Some(next_expiry.map_or(at, |n| n.min(at)));
            }
            let family = match e.value.family() {
                Family::V4 => 0,
                Family::V6 => 1,
            };
            let action = match e.action {
                Action::Allow => 0,
                Action::Block => 1,
                Action::Audit => 2,
            };
            raw[family][action].push(e.value.bounds());
        }
        let [v4, v6] = raw.map(|[allow, block, audit]| {
            FamilySets::resolve(
                RangeSet::from_ranges(allow),
                RangeSet::from_ranges(block),
                RangeSet::from_ranges(audit),
            )
        });
        Self {
            v4,
            v6,
            indicator_count: count,
            next_expiry,
        }
    }

    /// The action for `addr`, if any indicator covers it. An IPv4-mapped IPv6 address is looked
    /// up as the IPv4 address it carries.
    pub fn action_for(&self, addr: IpAddr) -> Option<Action> {
        match addr {
            IpAddr::V4(a) => self.v4.action_for(u128::from(u32::from(a))),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.v4.action_for(u128::from(u32::from(v4))),
                None => self.v6.action_for(u128::from(a)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndicatorDraft, IndicatorValue};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn indicator(
        id: i64,
        value: &str,
        action: Action,
        groups: &[&str],
        expires_at: Option<i64>,
    ) -> Indicator {
        let value = IndicatorValue::parse(value).unwrap();
        let mut draft = IndicatorDraft::bare(value, action, &format!("i{id}"), expires_at);
        draft.groups = groups.iter().map(|g| g.to_string()).collect();
        Indicator::system(id, draft)
    }

    /// The naive model: look at every indicator that covers the address.
    fn naive(indicators: &[Indicator], group: &str, now: i64, addr: IpAddr) -> Option<Action> {
        let covering: Vec<Action> = indicators
            .iter()
            .filter(|i| {
                i.is_active(now) && i.applies_to(group) && i.draft.value.network().contains(&addr)
            })
            .map(|i| i.draft.action)
            .collect();
        [Action::Allow, Action::Block, Action::Audit]
            .into_iter()
            .find(|a| covering.contains(a))
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Allow),
            Just(Action::Block),
            Just(Action::Audit)
        ]
    }

    /// Indicators inside 10.0.0.0/26 and 2001:db8::/122, so that they overlap often.
    fn indicators() -> impl Strategy<Value = Vec<Indicator>> {
        let one = (
            any::<bool>(),
            0u32..64,
            26u8..=32,
            action(),
            0usize..3,
            proptest::option::of(1i64..4),
        );
        proptest::collection::vec(one, 0..16).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (v6, host, len, action, scope, exp))| {
                    let (bits, base) = if v6 { (128u8, 122u8) } else { (32, 26) };
                    let plen = len - 26 + base;
                    let keep = u32::from(bits - plen);
                    let host = (host >> keep.min(31)) << keep.min(31);
                    let value = if v6 {
                        format!(
                            "{}/{plen}",
                            Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(host))
                        )
                    } else {
                        format!("{}/{plen}", Ipv4Addr::from(0x0a00_0000 | host))
                    };
                    let groups: &[&str] = match scope {
                        0 => &[],
                        1 => &["g1"],
                        _ => &["g2"],
                    };
                    indicator(i as i64, &value, action, groups, exp)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn compiled_sets_match_the_naive_model(inds in indicators(), now in 0i64..5) {
            for group in ["g1", "g2"] {
                let policy = CompiledPolicy::compile(&inds, group, now);
                for host in 0u32..72 {
                    let v4 = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | host));
                    let v6 = IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(host)));
                    prop_assert_eq!(policy.action_for(v4), naive(&inds, group, now, v4), "{}", v4);
                    prop_assert_eq!(policy.action_for(v6), naive(&inds, group, now, v6), "{}", v6);
                }
                for sets in [&policy.v4, &policy.v6] {
                    for (a, b) in [(&sets.allow, &sets.block), (&sets.allow, &sets.audit), (&sets.block, &sets.audit)] {
                        prop_assert_eq!(a.difference(b), a.clone(), "sets overlap");
                    }
                }
            }
        }
    }

    #[test]
    fn a_narrow_allow_punches_a_hole_in_a_wide_block() {
        let inds = vec![
            indicator(1, "10.0.0.0/8", Action::Block, &[], None),
            indicator(2, "10.1.2.3", Action::Allow, &[], None),
            indicator(3, "10.1.2.0/24", Action::Audit, &[], None),
        ];
        let p = CompiledPolicy::compile(&inds, "default", 0);
        assert_eq!(
            p.action_for("10.1.2.3".parse().unwrap()),
            Some(Action::Allow)
        );
        assert_eq!(
            p.action_for("10.1.2.4".parse().unwrap()),
            Some(Action::Block)
        );
        assert_eq!(
            p.action_for("::ffff:10.1.2.4".parse().unwrap()),
            Some(Action::Block)
        );
        assert!(p.v4.audit.is_empty());
        assert_eq!(p.v4.block.to_networks(Family::V4).len(), 32 - 8);
    }

    #[test]
    fn expiry_and_scope_are_respected() {
        let inds = vec![
            indicator(1, "192.0.2.1", Action::Block, &[], Some(100)),
            indicator(2, "192.0.2.2", Action::Block, &["other"], None),
        ];
        let p = CompiledPolicy::compile(&inds, "default", 99);
        assert_eq!(p.indicator_count, 1);
        assert_eq!(p.next_expiry, Some(100));
        let p = CompiledPolicy::compile(&inds, "default", 100);
        assert_eq!(p.indicator_count, 0);
        assert!(p.v4.block.is_empty());
    }
}
