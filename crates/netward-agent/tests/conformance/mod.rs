//! The enforcer conformance suite: what every [`Enforcer`] must report for the same calls.
//! `tests/fake_enforcer.rs` runs it on the recording fake (no root), `tests/nft_enforcer.rs`
//! on nftables in a fresh network namespace, so the fake the engine's tests rely on cannot
//! drift from the kernel.
//!
//! Each case starts from a removed table (`Enforcer::remove`) and checks the apply reports,
//! `is_intact`, `sets_intact`, `held` and `invalidate`, and that elements expire at their
//! second without an apply (on the system clock: the kernel's timers run on real time, so
//! that case waits about two seconds); what reaches the network is checked in
//! `nft_enforcer.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    dead_code,
    reason = "a test should fail loudly; each test file uses part of the suite"
)]

use netward_agent::clock::{Clock, SystemClock};
use netward_agent::kernel_policy::SetChanges;
use netward_agent::kernel_policy::always_allowed;
use netward_agent::{ApplyReport, Enforcer, KernelPolicy, SetId};
use netward_model::{
    Action, CompiledPolicy, Coverage, Family, Indicator, IndicatorSubmission, IndicatorValue,
    PolicyEntry, ProtectionMode,
};

/// The kernel form of `indicators` (value, action) under `mode` and `coverage`.
pub fn policy(
    mode: ProtectionMode,
    coverage: Coverage,
    indicators: &[(String, &str)],
) -> KernelPolicy {
    let inds: Vec<Indicator> = indicators
        .iter()
        .enumerate()
        .map(|(i, (value, action))| {
            Indicator::system(
                i as i64 + 1,
                IndicatorSubmission {
                    indicator_value: Some(value.clone()),
                    action: Some((*action).into()),
                    title: Some("lab-test-access".into()),
                    ..Default::default()
                }
                .validate(0)
                .unwrap(),
            )
        })
        .collect();
    let compiled = CompiledPolicy::compile(&inds, "default", 1);
    KernelPolicy::new(mode, coverage, &compiled, &always_allowed(&[]))
}

fn block(values: &[&str]) -> KernelPolicy {
    let inds: Vec<(String, &str)> = values.iter().map(|v| ((*v).to_owned(), "block")).collect();
    policy(ProtectionMode::Block, Coverage::All, &inds)
}

/// Set entries added and removed between two policies.
fn difference(from: &KernelPolicy, to: &KernelPolicy) -> (usize, usize) {
    to.sets.iter().fold((0, 0), |(a, r), (id, want)| {
        let have = from.sets.get(id).cloned().unwrap_or_default();
        (
            a + want.difference(&have).count(),
            r + have.difference(want).count(),
        )
    })
}

thread_local! {
    /// The policy last given to an enforcer on this thread, as the engine remembers it.
    static LAST: std::cell::RefCell<Option<KernelPolicy>> = const { std::cell::RefCell::new(None) };
}

/// Applies `p` as the engine does: with the changes from the policy given before (whatever
/// the enforcer did with it since: after `invalidate`, `remove` or tampering, it must rewrite
/// everything all the same).
pub fn apply_policy(e: &mut impl Enforcer, p: &KernelPolicy) -> ApplyReport {
    let changes = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|l| l.mode != ProtectionMode::Off)
            .map(|l| SetChanges::between(l, p))
    });
    let report = e.apply(p, changes.as_ref()).unwrap();
    LAST.with(|last| *last.borrow_mut() = Some(p.clone()));
    report
}

/// Whether the sets hold what the policy last given has in them.
pub fn sets_intact(e: &mut impl Enforcer) -> bool {
    let last = LAST.with(|last| last.borrow().clone());
    match last {
        Some(p) => e.sets_intact(&p).unwrap(),
        None => e.sets_intact(&KernelPolicy::off()).unwrap(),
    }
}

/// (full, rules written, added, removed) of an apply.
fn apply(e: &mut impl Enforcer, p: &KernelPolicy) -> (bool, bool, usize, usize) {
    let r = apply_policy(e, p);
    (r.full, r.rules_written, r.added, r.removed)
}

/// The first apply writes the rules and every entry.
pub fn the_first_apply_writes_everything(e: &mut impl Enforcer) {
    let p = block(&["192.0.2.1", "198.51.100.0/24", "2001:db8::/64"]);
    // Loopback is always allowed, in both families.
    assert_eq!(p.entry_count(), 3 + 2);
    assert_eq!(apply(e, &p), (true, true, p.entry_count(), 0));
    assert!(e.is_intact().unwrap());
}

/// The same policy again changes nothing.
pub fn the_same_policy_again_changes_nothing(e: &mut impl Enforcer) {
    let p = block(&["192.0.2.1", "2001:db8::1"]);
    apply(e, &p);
    assert_eq!(apply(e, &p), (false, false, 0, 0));
}

/// A delta adds and removes exactly the entries that differ, and leaves the rules alone.
pub fn a_delta_changes_exactly_what_differs(e: &mut impl Enforcer) {
    let first = block(&["192.0.2.1"]);
    // .2 and .3 are adjacent: the single address becomes one range; the /64 is added.
    let second = block(&["192.0.2.1", "192.0.2.2", "2001:db8::/64"]);
    let third = block(&["192.0.2.2"]);
    apply(e, &first);
    assert_eq!(difference(&first, &second), (2, 1));
    assert_eq!(apply(e, &second), (false, false, 2, 1));
    let (added, removed) = difference(&second, &third);
    assert_eq!(apply(e, &third), (false, false, added, removed));
    assert!(e.is_intact().unwrap());
}

/// A new mode or coverage rewrites the rules, not the sets.
pub fn a_new_mode_rewrites_the_rules_only(e: &mut impl Enforcer) {
    let inds = [("192.0.2.1".to_owned(), "block")];
    apply(e, &policy(ProtectionMode::Block, Coverage::All, &inds));
    let tcp = policy(ProtectionMode::Block, Coverage::Tcp, &inds);
    assert_eq!(apply(e, &tcp), (false, true, 0, 0));
    let audit = policy(ProtectionMode::Audit, Coverage::Tcp, &inds);
    assert_eq!(apply(e, &audit), (false, true, 0, 0));
    assert!(e.is_intact().unwrap());
}

/// Mode `off` removes every entry, and the next policy is written in full.
pub fn off_removes_everything_and_the_next_apply_is_full(e: &mut impl Enforcer) {
    let inds = [
        ("192.0.2.1".to_owned(), "block"),
        ("2001:db8::1".to_owned(), "audit"),
    ];
    let audit = policy(ProtectionMode::Audit, Coverage::All, &inds);
    apply(e, &audit);
    let off = policy(ProtectionMode::Off, Coverage::All, &inds);
    assert_eq!(apply(e, &off), (true, true, 0, audit.entry_count()));
    assert!(e.is_intact().unwrap(), "no table is what off means");
    assert_eq!(apply(e, &off), (true, true, 0, 0));
    assert_eq!(apply(e, &audit), (true, true, audit.entry_count(), 0));
    assert!(e.is_intact().unwrap());
}

/// After `invalidate`, the next apply rewrites everything.
pub fn invalidate_forces_a_full_rewrite(e: &mut impl Enforcer) {
    let p = block(&["192.0.2.1", "2001:db8::1"]);
    apply(e, &p);
    e.invalidate();
    assert_eq!(apply(e, &p), (true, true, p.entry_count(), 0));
    assert_eq!(apply(e, &p), (false, false, 0, 0));
}

/// A table someone else removed is seen, and stays seen, until a rewrite restores it.
pub fn tampering_is_seen_until_a_rewrite<E: Enforcer>(e: &mut E, remove_table: impl Fn(&mut E)) {
    let p = block(&["192.0.2.1"]);
    apply(e, &p);
    remove_table(e);
    assert!(!e.is_intact().unwrap());
    assert!(!e.is_intact().unwrap(), "until it is repaired");
    e.invalidate();
    assert_eq!(apply(e, &p), (true, true, p.entry_count(), 0));
    assert!(e.is_intact().unwrap());
}

/// Removing twice is not an error, and leaves nothing to check.
pub fn remove_is_idempotent(e: &mut impl Enforcer) {
    let p = block(&["192.0.2.1"]);
    apply(e, &p);
    e.remove().unwrap();
    e.remove().unwrap();
    assert!(e.is_intact().unwrap());
    assert_eq!(apply(e, &p), (true, true, p.entry_count(), 0));
}

/// The kernel form at `now` of block indicators (value, expiry).
fn block_until(values: &[(&str, Option<i64>)], now: i64) -> KernelPolicy {
    KernelPolicy::from_entries(
        ProtectionMode::Block,
        Coverage::All,
        values.iter().map(|(v, expires_at)| PolicyEntry {
            value: IndicatorValue::parse(v).unwrap(),
            action: Action::Block,
            expires_at: *expires_at,
        }),
        now,
        &always_allowed(&[]),
    )
}

/// The set of single IPv4 addresses to block.
pub const BLOCK_V4_ADDR: SetId = SetId {
    action: Action::Block,
    family: Family::V4,
    shard: None,
};

/// The set of IPv4 ranges to block that holds 198.51.100.0/24: the shard of 198.0.0.0/6.
pub const BLOCK_V4_NET: SetId = SetId {
    action: Action::Block,
    family: Family::V4,
    shard: Some(198 >> 2),
};

/// An element expires at its second in the kernel, with no apply: enforcement ends then even
/// while the agent is away. That is not tampering; a later apply neither deletes nor counts
/// it; renewing it adds it again; a new expiry replaces it.
pub fn elements_expire_at_their_second_by_themselves(e: &mut impl Enforcer) {
    let now = SystemClock.now_secs();
    let at = now + 2;
    let values = [
        ("192.0.2.1", Some(at)),
        ("198.51.100.0/24", Some(at)),
        ("192.0.2.9", None),
    ];
    let p = block_until(&values, now);
    assert_eq!(apply(e, &p), (true, true, p.entry_count(), 0));
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), Some(2));
    assert_eq!(e.held(BLOCK_V4_NET).unwrap(), Some(1));
    assert!(sets_intact(e));
    while SystemClock.now_ms() < at * 1000 + 100 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), Some(1), "expired by itself");
    assert_eq!(e.held(BLOCK_V4_NET).unwrap(), Some(0), "a range too");
    assert!(
        e.is_intact().unwrap() && sets_intact(e),
        "expiry is no tampering"
    );
    // The agent catches up: nothing left to delete.
    let later = block_until(&values, at);
    assert_eq!(apply(e, &later), (false, false, 0, 0));
    // Renewed: added again.
    let renewed = block_until(&[("192.0.2.1", Some(at + 600)), ("192.0.2.9", None)], at);
    assert_eq!(apply(e, &renewed), (false, false, 1, 0));
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), Some(2));
    // A new expiry replaces the element; dropping the expiry too.
    let moved = block_until(&[("192.0.2.1", Some(at + 900)), ("192.0.2.9", None)], at);
    assert_eq!(apply(e, &moved), (false, false, 1, 1));
    let lasting = block_until(&[("192.0.2.1", None), ("192.0.2.9", None)], at);
    assert_eq!(apply(e, &lasting), (false, false, 1, 1));
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), Some(2));
    assert!(sets_intact(e));
}

/// An element someone deleted from a set is not seen by the cheap check, is seen by the set
/// check until a rewrite restores it, and a delta is not fooled by it.
pub fn deleted_elements_are_seen_until_a_rewrite<E: Enforcer>(
    e: &mut E,
    delete_element: impl Fn(&mut E, SetId, &str),
) {
    let p = block(&["192.0.2.1", "192.0.2.9", "198.51.100.0/24"]);
    apply(e, &p);
    assert!(sets_intact(e));
    delete_element(e, BLOCK_V4_ADDR, "192.0.2.1");
    delete_element(e, BLOCK_V4_NET, "198.51.100.0/24");
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), Some(1));
    assert!(e.is_intact().unwrap(), "the rules are untouched");
    assert!(!sets_intact(e));
    assert!(!sets_intact(e), "until it is repaired");
    e.invalidate();
    assert_eq!(apply(e, &p), (true, true, p.entry_count(), 0));
    assert!(sets_intact(e));
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), Some(2));
    // Deleted again, then removed by a delta: the kernel refuses to delete what is not there,
    // so the enforcer rewrites everything rather than fail.
    delete_element(e, BLOCK_V4_ADDR, "192.0.2.1");
    let fewer = block(&["192.0.2.9", "198.51.100.0/24"]);
    let (full, _, _, _) = apply(e, &fewer);
    assert!(full, "a refused delta becomes a rewrite");
    assert!(sets_intact(e));
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), Some(1));
}

/// `held` names no set without a table.
pub fn nothing_is_held_without_a_table(e: &mut impl Enforcer) {
    assert_eq!(e.held(BLOCK_V4_ADDR).unwrap(), None);
    assert!(sets_intact(e), "nothing applied, nothing to check");
}

/// Runs every case on `e`, each from a removed table. `remove_table` removes the enforcer's
/// table behind its back, as someone else would.
pub fn run<E: Enforcer>(
    e: &mut E,
    remove_table: impl Fn(&mut E),
    delete_element: impl Fn(&mut E, SetId, &str),
) {
    /// Runs one case from a removed table, naming it first so that a failure says which.
    fn case<E: Enforcer>(e: &mut E, name: &str, check: impl FnOnce(&mut E)) {
        e.remove().unwrap();
        LAST.with(|last| *last.borrow_mut() = None);
        eprintln!("conformance: {name}");
        check(e);
    }
    case(e, "the_first_apply_writes_everything", |e| {
        the_first_apply_writes_everything(e)
    });
    case(e, "the_same_policy_again_changes_nothing", |e| {
        the_same_policy_again_changes_nothing(e)
    });
    case(e, "a_delta_changes_exactly_what_differs", |e| {
        a_delta_changes_exactly_what_differs(e)
    });
    case(e, "a_new_mode_rewrites_the_rules_only", |e| {
        a_new_mode_rewrites_the_rules_only(e)
    });
    case(
        e,
        "off_removes_everything_and_the_next_apply_is_full",
        |e| off_removes_everything_and_the_next_apply_is_full(e),
    );
    case(e, "invalidate_forces_a_full_rewrite", |e| {
        invalidate_forces_a_full_rewrite(e)
    });
    case(e, "remove_is_idempotent", |e| remove_is_idempotent(e));
    case(e, "tampering_is_seen_until_a_rewrite", |e| {
        tampering_is_seen_until_a_rewrite(e, remove_table)
    });
    case(e, "nothing_is_held_without_a_table", |e| {
        nothing_is_held_without_a_table(e)
    });
    case(e, "deleted_elements_are_seen_until_a_rewrite", |e| {
        deleted_elements_are_seen_until_a_rewrite(e, delete_element)
    });
    case(e, "elements_expire_at_their_second_by_themselves", |e| {
        elements_expire_at_their_second_by_themselves(e)
    });
    e.remove().unwrap();
}
