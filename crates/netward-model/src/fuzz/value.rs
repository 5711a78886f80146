//! Indicator values against the standard library's reading of addresses, and range sets
//! against membership, over the whole address space.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netward_testkit::fuzz::fuzz;
use proptest::prelude::*;

use crate::{Family, IndicatorValue, RangeSet, ValueError};

/// Text that is nearly an address: its characters, in any order.
fn addressish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-fA-F:./% +\\-]{0,48}",
        "[0-9]{1,4}(\\.[0-9]{1,4}){0,4}(/[0-9+\\-]{0,4}){0,2}",
        "(::)?([0-9a-f]{0,5}:){0,9}[0-9a-f.]{0,16}(/[0-9]{0,4})?",
    ]
}

#[test]
fn fuzz_value_parse_never_panics_and_round_trips() {
    fuzz("value_parse", 2000, addressish(), |input| {
        if let Ok(v) = IndicatorValue::parse(&input) {
            let text = v.to_string();
            prop_assert_eq!(IndicatorValue::parse(&text), Ok(v), "{} -> {}", input, text);
            let (first, last) = v.bounds();
            prop_assert!(first <= last);
            // Through serde too, as the wire carries it.
            let json = serde_json::to_string(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(serde_json::from_str::<IndicatorValue>(&json).ok(), Some(v));
        }
        let _ = serde_json::from_str::<IndicatorValue>(&format!("{input:?}"));
        Ok(())
    });
}

/// An address, a prefix (sometimes past the family's width), and how to write them.
#[derive(Debug, Clone)]
struct Written {
    addr: IpAddr,
    prefix: Option<u8>,
    upper: bool,
    padded: bool,
}

fn written() -> impl Strategy<Value = Written> {
    let addr = prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        any::<u32>().prop_map(|a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())),
    ];
    let prefix = prop_oneof![Just(None), (0u8..=140).prop_map(Some)];
    (addr, prefix, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(addr, prefix, mask, upper, padded)| {
            // Half the time, clear the host bits so that the value is valid.
            let addr = match (mask, prefix) {
                (true, Some(p)) => match IpNet::new(addr, p) {
                    Ok(net) => net.network(),
                    Err(_) => addr,
                },
                _ => addr,
            };
            Written {
                addr,
                prefix,
                upper,
                padded,
            }
        },
    )
}

/// What parsing `w` must give: the network, with an IPv4-mapped value as IPv4, or why not.
fn model(w: &Written) -> Result<String, &'static str> {
    let max = if w.addr.is_ipv4() { 32 } else { 128 };
    let prefix = w.prefix.unwrap_or(max);
    if prefix > max {
        return Err("prefix");
    }
    let (addr, prefix) = match w.addr {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), prefix - 96),
            None => (w.addr, prefix),
        },
        other => (other, prefix),
    };
    let net = IpNet::new(addr, prefix).map_err(|_| "prefix")?;
    if net.network() != addr {
        return Err("host bits");
    }
    Ok(if prefix == net.max_prefix_len() {
        addr.to_string()
    } else {
        net.trunc().to_string()
    })
}

#[test]
fn fuzz_value_agrees_with_a_model_of_addresses() {
    fuzz("value_model", 2000, written(), |w| {
        let mut text = w.addr.to_string();
        if let Some(p) = w.prefix {
            text = format!("{text}/{p}");
        }
        if w.upper {
            text = text.to_uppercase();
        }
        if w.padded {
            text = format!(" \t{text} ");
        }
        let got = IndicatorValue::parse(&text);
        match (model(&w), got) {
            (Ok(want), Ok(v)) => prop_assert_eq!(v.to_string(), want),
            (Err("prefix"), Err(ValueError::BadPrefix { .. })) => {}
            (Err("host bits"), Err(ValueError::HostBitsSet { canonical, .. })) => {
                // The network it names is itself valid and has no host bits.
                let named = IndicatorValue::parse(&canonical);
                prop_assert!(named.is_ok(), "{} names {}", text, canonical);
            }
            (want, got) => prop_assert!(false, "{:?}: model {:?}, parser {:?}", text, want, got),
        }
        Ok(())
    });
}

/// Integers at the edges of the address space, and anywhere in it.
fn edge(max: u128) -> impl Strategy<Value = u128> {
    prop_oneof![
        any::<u128>().prop_map(move |n| if max == u128::MAX { n } else { n % (max + 1) }),
        0u128..64,
        (0u32..64).prop_map(move |k| max - u128::from(k).min(max)),
        (0u32..128, 0u8..3).prop_map(move |(bit, d)| {
            (1u128.checked_shl(bit).unwrap_or(0))
                .wrapping_add(u128::from(d))
                .wrapping_sub(1)
                .min(max)
        }),
    ]
}

fn ranges(max: u128) -> impl Strategy<Value = Vec<(u128, u128)>> {
    proptest::collection::vec((edge(max), edge(max)), 0..8)
}

fn naive(ranges: &[(u128, u128)], x: u128) -> bool {
    ranges.iter().any(|(s, e)| s <= e && *s <= x && x <= *e)
}

fn probes(sets: &[&[(u128, u128)]]) -> Vec<u128> {
    let mut out = vec![0, u128::MAX];
    for set in sets {
        for &(s, e) in *set {
            for p in [s, e] {
                out.extend([p.wrapping_sub(1), p, p.wrapping_add(1)]);
            }
        }
    }
    out
}

#[test]
fn fuzz_range_set_agrees_with_membership_at_the_edges() {
    let strategy = prop_oneof![Just(Family::V4), Just(Family::V6)].prop_flat_map(|family| {
        let max = match family {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        };
        (Just(family), ranges(max), ranges(max))
    });
    fuzz("range_set", 500, strategy, |(family, a, b)| {
        let sa = RangeSet::from_ranges(a.clone());
        let sb = RangeSet::from_ranges(b.clone());
        let d = sa.difference(&sb);
        for set in [&sa, &sb, &d] {
            for w in set.ranges().windows(2) {
                prop_assert!(
                    w[0].1 < w[1].0 && w[1].0 - w[0].1 > 1,
                    "not merged: {:?}",
                    set
                );
            }
        }
        for x in probes(&[&a, &b]) {
            prop_assert_eq!(sa.contains(x), naive(&a, x), "x={}", x);
            prop_assert_eq!(d.contains(x), naive(&a, x) && !naive(&b, x), "x={}", x);
        }
        let back = RangeSet::from_ranges(d.to_networks(family).iter().map(|n| match n {
            IpNet::V4(n) => (
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
            ),
            IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
        }));
        prop_assert_eq!(back, d);
        Ok(())
    });
}
