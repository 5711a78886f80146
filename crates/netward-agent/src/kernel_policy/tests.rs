//! The kernel form's tests: precedence, expiry, and the kernel alone against a compile at every
//! later second.
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

/// The elements of `action` and `family`: its single addresses (`ranges` false), or its
/// ranges, every shard's, in order.
fn set(p: &KernelPolicy, action: Action, family: Family, ranges: bool) -> SetContents {
    SetId::of_family(family)
        .filter(|id| id.action == action && id.is_interval() == ranges)
        .flat_map(|id| p.sets[&id].iter().copied())
        .collect()
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
    assert!(
        block.len() > usize::from(SHARDS),
        "0.0.0.0/0, cut at each shard's edge and around the exemptions"
    );
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
    let audit: Vec<_> = set(&p, Action::Audit, Family::V6, true)
        .into_iter()
        .collect();
    assert_eq!(audit[0], (2, SetId::shard_bounds(Family::V6, 0).1));
    assert!(
        audit.windows(2).all(|w| w[0].1 + 1 == w[1].0),
        "one range, cut at the shards"
    );
    assert_eq!(audit.last().map(|r| r.1), Some(u128::MAX));
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
    assert_eq!(p.sets.len(), SetId::all().len());
    assert_eq!(KernelPolicy::off().entry_count(), 0);
    let shard = SetId::shard(Family::V4, 203 << 24);
    assert_eq!(
        p.sets[&SetId::ranges(Action::Block, Family::V4, shard)].len(),
        1,
        "in its shard"
    );
}

/// The action the kernel's rules give `addr` at second `t` without another apply: the
/// first set, in rule order, holding an element that covers it and has not expired.
fn kernel_action_at(p: &KernelPolicy, addr: u128, t: i64) -> Option<Action> {
    for action in [Action::Allow, Action::Block, Action::Audit] {
        let shard = SetId::shard(Family::V4, addr);
        for id in [
            SetId::addresses(action, Family::V4),
            SetId::ranges(action, Family::V4, shard),
        ] {
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
    let net = SetId::ranges(Action::Block, Family::V4, SetId::shard(Family::V4, base));
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
    for id in SetId::of_family(Family::V4).filter(|id| id.action != Action::Allow) {
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

/// A random IPv4 entry in 10.0.0.0/25 from generated numbers.
fn random_entry(host: u8, len: u8, action: u8, expires: Option<i64>) -> PolicyEntry {
    let mask = if len == 32 {
        u32::MAX
    } else {
        !(u32::MAX >> len)
    };
    let addr = std::net::Ipv4Addr::from((0x0a00_0000 | u32::from(host)) & mask);
    let action = [Action::Allow, Action::Block, Action::Audit][usize::from(action % 3)];
    entry(&format!("{addr}/{len}"), action, expires)
}

proptest::proptest! {
    /// After any sequence of deltas and clock steps, the sets recomputed around what each
    /// delta touched are the sets a full compile gives, and the changes reported are exactly
    /// the difference between the two policies.
    #[test]
    fn recomputing_around_a_delta_gives_the_full_compile(
        first in proptest::collection::vec(
            (0u8..128, 25u8..=32, 0u8..3, proptest::option::of(2i64..9)),
            0..16,
        ),
        steps in proptest::collection::vec(
            (
                proptest::collection::vec(
                    (0i64..24, 0u8..128, 25u8..=32, 0u8..4, proptest::option::of(2i64..9)),
                    0..6,
                ),
                0i64..3,
            ),
            1..6,
        ),
    ) {
        let allowed = always_allowed(&["10.0.0.64/30".parse().unwrap()]);
        let mut held: crate::held::HeldIndicators = first
            .iter()
            .enumerate()
            .map(|(i, &(h, l, a, x))| (i as i64, random_entry(h, l, a, x)))
            .collect();
        let mut now = 1;
        let mut p = KernelPolicy::from_entries(
            ProtectionMode::Block,
            Coverage::All,
            held.iter().map(|(_, e)| *e),
            now,
            &allowed,
        );
        for (delta, advance) in steps {
            let before = p.clone();
            let mut touched = Vec::new();
            let mut touch = |e: &PolicyEntry| {
                let (s, t) = e.value.bounds();
                touched.push((e.value.family(), s, t));
            };
            for (id, h, l, a, x) in delta {
                if a == 3 {
                    if let Some(old) = held.remove(id) {
                        touch(&old);
                    }
                    continue;
                }
                let e = random_entry(h, l, a, x);
                touch(&e);
                if let Some(old) = held.insert(id, e) {
                    touch(&old);
                }
            }
            let later = now + advance;
            for (_, e) in held.expiring_between(now, later) {
                touch(e);
            }
            now = later;
            let changes = p.recompute(&held, touched, now, &allowed);
            let full = KernelPolicy::from_entries(
                ProtectionMode::Block,
                Coverage::All,
                held.iter().map(|(_, e)| *e),
                now,
                &allowed,
            );
            // Elements that expired are kept until something touches them; the kernel drops
            // them by itself. Compare what is live.
            let live = |k: &KernelPolicy| -> Vec<(SetId, (u128, u128), Option<i64>)> {
                k.sets
                    .iter()
                    .flat_map(|(id, set)| set.iter().map(move |r| (*id, *r)))
                    .map(|(id, r)| (id, r, k.expiry(id, r)))
                    .filter(|(_, _, at)| at.is_none_or(|at| at > now))
                    .collect()
            };
            proptest::prop_assert_eq!(live(&p), live(&full));
            proptest::prop_assert_eq!(changes.sorted(), SetChanges::between(&before, &p).sorted());
        }
    }
}
