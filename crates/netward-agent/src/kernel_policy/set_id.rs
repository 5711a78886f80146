//! The kernel's verdict maps and their names. Each maps an address (or a range of them) to the
//! action its indicators ask for, so that one lookup per family decides a packet:
//!
//! - `v4_addr`: single addresses (a hash map, where a change costs well under a millisecond
//!   at any size);
//! - `v4_net_0` … `v4_net_63`: ranges, sharded by their first address's top six bits (interval
//!   maps; the kernel rebuilds an interval map's lookup array on every change, so a shard keeps
//!   a change to a range proportional to its shard, not to every range held);
//! - `v4_tier_1`, `v4_tier_2`: what an address gets once a higher-precedence element covering
//!   it expires (see the module above); usually empty.
//!
//! The same for IPv6 (`v6_…`), whose shards split `2000::/3`, where global unicast lives, in
//! 62 and keep one below and one above it.

use std::fmt;

use netward_model::Family;

/// How many range shards each family has.
pub const SHARDS: u8 = 64;

/// Which of a family's maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SetKind {
    /// Single addresses whose first tier is theirs alone.
    Addresses,
    /// First-tier ranges within shard `n` ([`SetId::shard_bounds`]).
    Ranges(u8),
    /// The second (1) or third (2) tier: addresses and ranges.
    Tier(u8),
}

/// One kernel map: a family and a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetId {
    /// The address family.
    pub family: Family,
    /// Which map of the family.
    pub kind: SetKind,
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
    /// Every map of `family`, in a fixed order.
    pub fn of_family(family: Family) -> impl Iterator<Item = SetId> {
        std::iter::once(SetKind::Addresses)
            .chain((0..SHARDS).map(SetKind::Ranges))
            .chain([SetKind::Tier(1), SetKind::Tier(2)])
            .map(move |kind| SetId { family, kind })
    }

    /// Every map, in a fixed order.
    pub fn all() -> Vec<SetId> {
        Self::of_family(Family::V4)
            .chain(Self::of_family(Family::V6))
            .collect()
    }

    /// The map's name in the kernel, e.g. `v4_net_17`.
    pub fn name(&self) -> String {
        let family = family_name(self.family);
        match self.kind {
            SetKind::Addresses => format!("{family}_addr"),
            SetKind::Ranges(n) => format!("{family}_net_{n}"),
            SetKind::Tier(n) => format!("{family}_tier_{n}"),
        }
    }

    /// Whether the map holds ranges (an interval map).
    pub fn is_interval(&self) -> bool {
        self.kind != SetKind::Addresses
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
        assert_eq!(SetId::all().len(), 2 * (1 + 64 + 2));
        assert_eq!(
            SetId {
                family: Family::V4,
                kind: SetKind::Ranges(17)
            }
            .name(),
            "v4_net_17"
        );
    }
}
