//! A set of addresses as sorted, disjoint, non-adjacent inclusive ranges of integers: the form
//! the kernel's interval sets take, and the algebra (union, difference) the policy compiler
//! needs. IPv4 addresses live in the low 32 bits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::Family;

/// Sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u128, u128)>);

impl RangeSet {
    /// The union of `ranges` (each `start <= end`; others are ignored).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u128, u128)>) -> Self {
        let mut all: Vec<(u128, u128)> = ranges.into_iter().filter(|(s, e)| s <= e).collect();
        all.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(all.len());
        for (start, end) in all {
            match merged.last_mut() {
                Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Self(merged)
    }

    /// The ranges, in order.
    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.0
    }

    /// Whether no address is in the set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `addr` is in the set.
    pub fn contains(&self, addr: u128) -> bool {
        let i = self.0.partition_point(|(_, end)| *end < addr);
        self.0.get(i).is_some_and(|(start, _)| *start <= addr)
    }

    /// The addresses of `self` that are not in `other`.
    pub fn difference(&self, other: &RangeSet) -> RangeSet {
        let mut out = Vec::with_capacity(self.0.len());
        let mut cut = other.0.iter().peekable();
        for &(start, end) in &self.0 {
            let mut from = start;
            let mut done = false;
            // Skip the cuts that end before this range.
            while cut.peek().is_some_and(|(_, ce)| *ce < from) {
                cut.next();
            }
            let mut ahead = cut.clone();
            while let Some(&&(cs, ce)) = ahead.peek() {
                if cs > end {
                    break;
                }
                if cs > from {
                    out.push((from, cs - 1));
                }
                if ce >= end {
                    done = true;
                    break;
                }
                from = ce + 1;
                ahead.next();
            }
            if !done {
                out.push((from, end));
            }
        }
        RangeSet(out)
    }

    /// The set as the fewest CIDR networks of `family` that cover it exactly.
    pub fn to_networks(&self, family: Family) -> Vec<IpNet> {
        let bits: u32 = match family {
            Family::V4 => 32,
            Family::V6 => 128,
        };
        let mut out = Vec::new();
        for &(start, end) in &self.0 {
            let mut at = start;
            loop {
                // The largest aligned block that starts at `at` and stays within `end`.
                let mut size_bits = at.trailing_zeros().min(bits);
                while size_bits > 0 && block_end(at, size_bits) > end {
                    size_bits -= 1;
                }
                out.push(network(family, at, bits - size_bits));
                let last = block_end(at, size_bits);
                if last >= end {
                    break;
                }
                at = last + 1;
            }
        }
        out
    }
}

fn block_end(start: u128, size_bits: u32) -> u128 {
    if size_bits >= 128 {
        u128::MAX
    } else {
        start | ((1u128 << size_bits) - 1)
    }
}

fn network(family: Family, start: u128, prefix: u32) -> IpNet {
    // The prefix is at most the family's width by construction, so `new` cannot fail; fall back
    // to the host route rather than panic.
    match family {
        Family::V4 => {
            let addr = Ipv4Addr::from(start as u32);
            Ipv4Net::new(addr, prefix as u8)
                .map(IpNet::V4)
                .unwrap_or_else(|_| IpNet::from(IpAddr::V4(addr)))
        }
        Family::V6 => {
            let addr = Ipv6Addr::from(start);
            Ipv6Net::new(addr, prefix as u8)
                .map(IpNet::V6)
                .unwrap_or_else(|_| IpNet::from(IpAddr::V6(addr)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(ranges: &[(u128, u128)], x: u128) -> bool {
        ranges.iter().any(|(s, e)| *s <= x && x <= *e)
    }

    fn small_ranges() -> impl Strategy<Value = Vec<(u128, u128)>> {
        proptest::collection::vec((0u128..200, 0u128..20), 0..12)
            .prop_map(|v| v.into_iter().map(|(s, len)| (s, s + len)).collect())
    }

    proptest! {
        #[test]
        fn union_and_difference_match_membership(a in small_ranges(), b in small_ranges()) {
            let sa = RangeSet::from_ranges(a.clone());
            let sb = RangeSet::from_ranges(b.clone());
            let d = sa.difference(&sb);
            for w in sa.ranges().windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0, "not merged: {:?}", sa);
            }
            for x in 0u128..240 {
                prop_assert_eq!(sa.contains(x), naive(&a, x));
                prop_assert_eq!(d.contains(x), naive(&a, x) && !naive(&b, x), "x={}", x);
            }
        }

        #[test]
        fn networks_cover_exactly(a in small_ranges()) {
            let s = RangeSet::from_ranges(a);
            let nets = s.to_networks(Family::V4);
            let back = RangeSet::from_ranges(nets.iter().map(|n| match n {
                IpNet::V4(n) => (u128::from(u32::from(n.network())), u128::from(u32::from(n.broadcast()))),
                IpNet::V6(_) => (1, 0),
            }));
            prop_assert_eq!(back, s);
        }
    }

    #[test]
    fn extremes_do_not_overflow() {
        let all = RangeSet::from_ranges([(0, u128::MAX), (5, 7)]);
        assert_eq!(all.ranges(), &[(0, u128::MAX)]);
        assert_eq!(
            all.to_networks(Family::V6),
            vec!["::/0".parse::<IpNet>().unwrap()]
        );
        let hole = all.difference(&RangeSet::from_ranges([(u128::MAX, u128::MAX)]));
        assert_eq!(hole.ranges(), &[(0, u128::MAX - 1)]);
        let v4 = RangeSet::from_ranges([(0, u128::from(u32::MAX))]);
        assert_eq!(
            v4.to_networks(Family::V4),
            vec!["0.0.0.0/0".parse::<IpNet>().unwrap()]
        );
    }
}
