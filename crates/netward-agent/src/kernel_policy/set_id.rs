//! The kernel's sets and their names: per action and family, a hash set of single addresses
//! (`block_v4_addr`: a change costs well under a millisecond at any size) and 64 interval sets
//! of ranges (`block_v4_net_17`), sharded by address. The kernel rebuilds an interval set's
//! lookup array on every change to it, so a shard keeps a change to a range proportional to
//! its shard, not to every range held. IPv4's shards are the /6s; IPv6's split `2000::/3`,
//! where global unicast lives, in 62, and keep one below it and one above.
//!
//! (Verdict maps, one lookup returning the action, were measured and left: an element that
//! jumps to a chain makes the kernel validate every element of every verdict map on each
//! change, 530 ms for one address at a million; see `BENCHMARKS.md`.)

use std::fmt;

use netward_model::{Action, Family};

/// How many range shards each family has.
pub const SHARDS: u8 = 64;

/// One kernel set: an action, a family, and either the hash set of single addresses
/// (`shard` `None`) or the interval set of one shard of ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetId {
    /// The action of the addresses in the set.
    pub action: Action,
    /// The address family.
    pub family: Family,
    /// `None` for the hash set of addresses; the shard of an interval set of ranges.
    pub shard: Option<u8>,
}

/// The last address of `family`.
pub fn last_address(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// IPv6's global unicast block, `2000::/3`, which the middle shards split.
const V6_UNICAST: (u128, u128) = (0x2000 << 112, (0x4000 << 112) - 1);

impl SetId {
    /// The hash set of single addresses of `action` and `family`.
    pub fn addresses(action: Action, family: Family) -> SetId {
        SetId {
            action,
            family,
            shard: None,
        }
    }

    /// Shard `n` of the ranges of `action` and `family`.
    pub fn ranges(action: Action, family: Family, n: u8) -> SetId {
        SetId {
            action,
            family,
            shard: Some(n),
        }
    }

    /// Every set of `family`, in a fixed order: per action, the addresses, then the shards.
    pub fn of_family(family: Family) -> impl Iterator<Item = SetId> {
        [Action::Allow, Action::Block, Action::Audit]
            .into_iter()
            .flat_map(move |action| {
                std::iter::once(SetId::addresses(action, family))
                    .chain((0..SHARDS).map(move |n| SetId::ranges(action, family, n)))
            })
    }

    /// Every set, in a fixed order.
    pub fn all() -> Vec<SetId> {
        Self::of_family(Family::V4)
            .chain(Self::of_family(Family::V6))
            .collect()
    }

    /// The six sets of `family` that may hold an element covering `address`: the addresses
    /// and the shard of `address`, per action.
    pub fn holding(family: Family, address: u128) -> impl Iterator<Item = SetId> {
        let n = SetId::shard(family, address);
        [Action::Allow, Action::Block, Action::Audit]
            .into_iter()
            .flat_map(move |a| [SetId::addresses(a, family), SetId::ranges(a, family, n)])
    }

    /// The set's name in the kernel, e.g. `block_v4_net_17`.
    pub fn name(&self) -> String {
        let family = family_name(self.family);
        match self.shard {
            None => format!("{}_{family}_addr", self.action.as_str()),
            Some(n) => format!("{}_{family}_net_{n}", self.action.as_str()),
        }
    }

    /// Whether the set holds ranges (an interval set).
    pub fn is_interval(&self) -> bool {
        self.shard.is_some()
    }

    /// The width of an address of this family, in bytes.
    pub fn key_len(&self) -> usize {
        match self.family {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The shard of `family` that holds `address`.
    pub fn shard(family: Family, address: u128) -> u8 {
        let n = match family {
            Family::V4 => address >> 26,
            Family::V6 if address < V6_UNICAST.0 => 0,
            Family::V6 if address > V6_UNICAST.1 => u128::from(SHARDS - 1),
            // 62 equal slices of 2000::/3 (the last one a little longer).
            Family::V6 => 1 + ((address - V6_UNICAST.0) / ((V6_UNICAST.1 - V6_UNICAST.0) / 62 + 1)),
        };
        u8::try_from(n).unwrap_or(SHARDS - 1).min(SHARDS - 1)
    }

    /// The first and last address of shard `n` of `family`.
    pub fn shard_bounds(family: Family, n: u8) -> (u128, u128) {
        let last = last_address(family);
        // The first address of each shard, found from `shard` itself so that both agree.
        let first_of = |n: u8| -> u128 {
            match family {
                Family::V4 => u128::from(n) << 26,
                Family::V6 => match n {
                    0 => 0,
                    n => {
                        let slice = (V6_UNICAST.1 - V6_UNICAST.0) / 62 + 1;
                        (V6_UNICAST.0 + slice * u128::from(n - 1)).min(V6_UNICAST.1 + 1)
                    }
                },
            }
        };
        let first = first_of(n);
        let end = if n + 1 >= SHARDS {
            last
        } else {
            first_of(n + 1) - 1
        };
        (first, end)
    }
}

/// `v4` or `v6`.
pub fn family_name(family: Family) -> &'static str {
    match family {
        Family::V4 => "v4",
        Family::V6 => "v6",
    }
}

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shards_tile_each_family_and_shard_agrees_with_their_bounds() {
        for family in [Family::V4, Family::V6] {
            let mut next = 0u128;
            for n in 0..SHARDS {
                let (first, end) = SetId::shard_bounds(family, n);
                assert_eq!(
                    first, next,
                    "{family:?} shard {n} starts where the last ended"
                );
                assert!(first <= end);
                for a in [first, end, first + (end - first) / 2] {
                    assert_eq!(SetId::shard(family, a), n, "{family:?} {a:x}");
                }
                next = end.wrapping_add(1);
                let _ = next;
            }
            assert_eq!(
                SetId::shard_bounds(family, SHARDS - 1).1,
                last_address(family)
            );
        }
        assert_eq!(SetId::all().len(), 2 * 3 * (1 + 64));
        assert_eq!(
            SetId::ranges(Action::Block, Family::V4, 17).name(),
            "block_v4_net_17"
        );
        assert_eq!(
            SetId::addresses(Action::Allow, Family::V6).name(),
            "allow_v6_addr"
        );
    }
}
