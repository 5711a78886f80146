//! The agent's state machine, over any [`Enforcer`]: merge policy updates into the held
//! indicators, bring the kernel's sets up to date around what each update touched, apply them,
//! notice expiry and tampering, and say what to acknowledge. No IO of its own beyond the
//! enforcer, so it is tested with the recording fake.
//!
//! The indicators are held once ([`HeldIndicators`], shared with the event sensor) and the
//! kernel's sets once ([`KernelPolicy`]); an update changes both in place, and the enforcer
//! writes only the elements that changed, so the cost of a delta follows its size, not the
//! policy's.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use ipnet::IpNet;
use netward_model::agent_wire::{Exemption, ExemptionReason, PolicyUpdate};
use netward_model::{Action, ProtectionMode};

pub use super::policy_state::{PolicyFile, PolicyHeader, PolicyState};
pub use ack::MAX_ERROR_CHARS;

mod ack;

use super::merge::{self, Merged, incremental_limit};
use super::upserts::Upserts;
use crate::enforcer::{ApplyReport, Enforcer, EnforcerError};
use crate::held::SharedIndicators;
use crate::kernel_policy::{KernelPolicy, SetChanges, always_allowed, exemption, exemptions};

/// What the engine did on a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TickOutcome {
    /// Nothing changed.
    Idle,
    /// An indicator expired and the kernel was updated.
    Expired,
    /// The kernel table was altered or removed by someone else, and was restored.
    TamperRepaired,
}

/// The agent's enforcement state over an enforcer `E`.
#[derive(Debug)]
pub struct Engine<E: Enforcer> {
    enforcer: E,
    /// The policy held, but for its indicators.
    pub state: PolicyHeader,
    /// The held indicators, parsed once when they arrive; shared with the event sensor.
    held: SharedIndicators,
    /// The kernel's sets as last computed, at `compiled_at`; `None` until the first apply,
    /// and after the exemptions changed, when they are computed from scratch.
    kernel: Option<KernelPolicy>,
    /// The second the sets were last computed at.
    compiled_at: i64,
    /// What is never blocked, and why (loopback, the server, the resolvers); reported in the
    /// acknowledgement.
    exemptions: Vec<Exemption>,
    always_allowed: Vec<IpNet>,
    next_expiry: Option<i64>,
    /// Set entries in the kernel after the last apply.
    pub entries: u64,
    /// Block indicators cut back because they cover loopback or the server.
    pub not_enforceable: Vec<i64>,
    /// The last enforcement error, cleared by a successful apply.
    pub last_error: Option<String>,
    /// Whether a tamper repair has not been acknowledged yet.
    pub tamper_pending: bool,
    /// What went wrong at start (a damaged state file set aside), for the device record: sent
    /// with the acknowledgements until the server has one of them.
    pub notices: Vec<String>,
    /// Why the last policy pull could not be used (an update the agent cannot read, or one too
    /// large), for the device record until a pull succeeds. The kernel keeps what it held.
    pub update_error: Option<String>,
    /// Unix second of the last successful apply.
    pub applied_at: Option<i64>,
    /// Unix second of the last failed apply, to space out retries.
    failed_at: Option<i64>,
    /// Unix second of the last count of the kernel's set elements.
    sets_checked_at: Option<i64>,
    /// Counts for the agent's metrics.
    pub counters: ApplyCounters,
}

/// What the engine counts for the agent's metrics endpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApplyCounters {
    /// Applies that succeeded.
    pub applied: u64,
    /// Applies that failed.
    pub failed: u64,
    /// Seconds the last apply took (compile and kernel transaction).
    pub last_apply_seconds: f64,
    /// Tables restored after someone altered them.
    pub tamper_repairs: u64,
    /// Entries of each kernel set after the last successful apply, by set name.
    pub set_sizes: BTreeMap<String, usize>,
}

/// Seconds between two counts of the kernel's set elements, for a policy of `entries`
/// elements: every [`SET_CHECK_SECS`], plus a second per 20,000 elements, since a count walks
/// every set (a million elements: about a minute between counts).
pub fn set_check_interval(entries: u64) -> i64 {
    SET_CHECK_SECS + i64::try_from(entries / 20_000).unwrap_or(i64::MAX / 2)
}

/// The shortest time between two counts of the kernel's set elements, in seconds.
pub const SET_CHECK_SECS: i64 = 5;

/// Seconds between retries of a failed apply.
pub const RETRY_SECS: i64 = 10;

impl<E: Enforcer> Engine<E> {
    /// An engine holding `policy` (as read from the state directory), enforcing through
    /// `enforcer`, never blocking `server_addresses`. Nothing is applied until
    /// [`Engine::enforce`] or [`Engine::update`].
    pub fn new(enforcer: E, policy: PolicyState, server_addresses: &[IpNet]) -> Self {
        let held = policy.indicators;
        Self {
            enforcer,
            state: policy.header,
            held: Arc::new(RwLock::new(held)),
            kernel: None,
            compiled_at: 0,
            exemptions: exemptions(
                &server_addresses
                    .iter()
                    .filter_map(|n| exemption(*n, ExemptionReason::Server))
                    .collect::<Vec<_>>(),
            ),
            always_allowed: always_allowed(server_addresses),
            next_expiry: None,
            entries: 0,
            not_enforceable: Vec::new(),
            last_error: None,
            tamper_pending: false,
            notices: Vec::new(),
            update_error: None,
            applied_at: None,
            failed_at: None,
            sets_checked_at: None,
            counters: ApplyCounters::default(),
        }
    }

    /// Replaces what is never blocked besides loopback (the server's addresses, the DNS
    /// resolvers); `true` if it changed (the caller then re-enforces).
    pub fn set_exemptions(&mut self, extra: &[Exemption]) -> bool {
        let next = exemptions(extra);
        if next == self.exemptions {
            return false;
        }
        self.always_allowed = next.iter().map(|e| e.range.network()).collect();
        self.exemptions = next;
        self.kernel = None;
        true
    }

    /// What is never blocked, with the reason.
    pub fn exemptions(&self) -> &[Exemption] {
        &self.exemptions
    }

    /// The held indicators, for the event sensor to name the indicators behind a hit.
    pub fn indicators(&self) -> SharedIndicators {
        self.held.clone()
    }

    /// How many indicators of `action` are held.
    pub fn count(&self, action: Action) -> usize {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .count(action)
    }

    /// The held policy, in the form of `policy.json`, for `f` to write.
    pub fn with_policy_file<T>(&self, f: impl FnOnce(&PolicyFile<'_>) -> T) -> T {
        let held = self.held.read().unwrap_or_else(PoisonError::into_inner);
        f(&PolicyFile::new(&self.state, &held))
    }

    /// The enforcer, for inspection.
    pub fn enforcer(&self) -> &E {
        &self.enforcer
    }

    /// The kernel's sets as last computed.
    pub fn kernel_policy(&self) -> Option<&KernelPolicy> {
        self.kernel.as_ref()
    }

    /// Brings the kernel up to date with the held policy at `now`, recomputing the sets from
    /// scratch.
    pub fn enforce(&mut self, now: i64) -> Result<ApplyReport, EnforcerError> {
        self.kernel = None;
        self.enforce_touched(now, Merged::Replaced)
    }

    /// Brings the kernel up to date at `now`, where only the addresses in `touched` changed
    /// since the last compile (besides indicators that expired since, which it adds).
    fn enforce_touched(&mut self, now: i64, merged: Merged) -> Result<ApplyReport, EnforcerError> {
        let started = std::time::Instant::now();
        let result = self.compile_and_apply(now, merged);
        self.counters.last_apply_seconds = started.elapsed().as_secs_f64();
        result
    }

    fn compile_and_apply(
        &mut self,
        now: i64,
        merged: Merged,
    ) -> Result<ApplyReport, EnforcerError> {
        let held = self.held.read().unwrap_or_else(PoisonError::into_inner);
        let (mode, coverage) = (self.state.mode, self.state.coverage);
        let touched = match merged {
            Merged::Touched(t) if t.len() <= incremental_limit(held.len()) => Some(t),
            _ => None,
        };
        let same_off =
            |k: &KernelPolicy| (k.mode == ProtectionMode::Off) == (mode == ProtectionMode::Off);
        let changes = match (self.kernel.as_mut(), touched) {
            (Some(kernel), Some(mut touched)) if same_off(kernel) => {
                touched.extend(
                    held.expiring_between(self.compiled_at, now)
                        .map(|(_, e)| merge::touched(e)),
                );
                kernel.mode = mode;
                kernel.coverage = coverage;
                Some(kernel.recompute(&held, touched, now, &self.always_allowed))
            }
            _ => {
                // Whatever was computed goes first, so that two never exist at once but to
                // write only the difference to a policy the kernel holds.
                let held_before = self.kernel.take().filter(|p| p.mode != ProtectionMode::Off);
                let fresh = KernelPolicy::from_entries(
                    mode,
                    coverage,
                    held.iter().map(|(_, e)| *e),
                    now,
                    &self.always_allowed,
                );
                // From a policy already in the kernel, write only the difference.
                let changes = held_before.map(|p| SetChanges::between(&p, &fresh));
                self.kernel = Some(fresh);
                changes
            }
        };
        self.compiled_at = now;
        let next_expiry = held.next_expiry(now);
        let mut not_enforceable: Vec<i64> = self
            .always_allowed
            .iter()
            .flat_map(|net| {
                let (family, (first, last)) = crate::kernel_policy::bounds(net);
                held.overlapping(family, first, last)
            })
            .filter(|(_, e)| e.action == Action::Block && e.expires_at.is_none_or(|at| now < at))
            .map(|(id, _)| id)
            .collect();
        drop(held);
        not_enforceable.sort_unstable();
        not_enforceable.dedup();
        self.not_enforceable = not_enforceable;
        let Some(kernel) = self.kernel.as_ref() else {
            return Ok(ApplyReport::default());
        };
        match self.enforcer.apply(kernel, changes.as_ref()) {
            Ok(report) => {
                self.next_expiry = next_expiry;
                self.entries = kernel.entry_count() as u64;
                self.last_error = None;
                self.failed_at = None;
                self.applied_at = Some(now);
                self.counters.applied += 1;
                self.counters.set_sizes = kernel
                    .sets
                    .iter()
                    .map(|(id, contents)| (id.name(), contents.len()))
                    .collect();
                Ok(report)
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                self.failed_at = Some(now);
                self.counters.failed += 1;
                Err(e)
            }
        }
    }

    /// Merges `update` into the held indicators and enforces the result at `now`
    /// ([`merge`]: a snapshot that repeats the held policy writes nothing to the kernel).
    pub fn update(
        &mut self,
        update: PolicyUpdate<Upserts>,
        now: i64,
    ) -> Result<ApplyReport, EnforcerError> {
        let PolicyUpdate {
            version,
            full,
            group,
            mode,
            coverage,
            upserts,
            removals,
            ..
        } = update;
        let merged = if full {
            merge::merge_snapshot(&self.held, upserts)
        } else {
            merge::merge_delta(&self.held, &upserts.changed, &removals)
        };
        self.state = PolicyHeader {
            version: Some(version),
            group,
            mode,
            coverage,
        };
        self.enforce_touched(now, merged)
    }

    /// Re-applies when an indicator expired, and restores the kernel when it was altered.
    pub fn tick(&mut self, now: i64) -> Result<TickOutcome, EnforcerError> {
        if self.state.version.is_some() && self.failed_at.is_some_and(|at| now >= at + RETRY_SECS) {
            self.enforcer.invalidate();
            self.enforce(now)?;
        }
        if !self.enforcer.is_intact()? {
            tracing::warn!("The kernel table was altered or removed; restoring it.");
            self.enforcer.invalidate();
            self.enforce(now)?;
            self.tamper_pending = true;
            self.counters.tamper_repairs += 1;
            return Ok(TickOutcome::TamperRepaired);
        }
        // Set elements deleted behind our back are invisible to the cheap check above, and a
        // delta only sends its own changes: count the elements now and then, and rewrite
        // every set when a count is off.
        let check_due = self
            .sets_checked_at
            .is_none_or(|at| now >= at + set_check_interval(self.entries));
        if self.state.version.is_some() && check_due {
            self.sets_checked_at = Some(now);
            let intact = match &self.kernel {
                Some(kernel) => self.enforcer.sets_intact(kernel)?,
                None => true,
            };
            if !intact {
                tracing::warn!(
                    "Elements of the kernel's sets were deleted or added by someone else; rewriting them."
                );
                self.enforcer.invalidate();
                self.enforce(now)?;
                self.tamper_pending = true;
                self.counters.tamper_repairs += 1;
                return Ok(TickOutcome::TamperRepaired);
            }
        }
        if self.next_expiry.is_some_and(|at| now >= at) {
            self.enforce_touched(now, Merged::Touched(Vec::new()))?;
            return Ok(TickOutcome::Expired);
        }
        Ok(TickOutcome::Idle)
    }

    /// Removes everything the enforcer created.
    pub fn uninstall(&mut self) -> Result<(), EnforcerError> {
        self.enforcer.remove()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::SetId;
    use crate::enforcer::fake::RecordingEnforcer;
    use netward_model::Coverage;
    use netward_model::agent_wire::{DeviceFacts, PolicyIndicator};
    use netward_model::{Family, IndicatorValue};

    /// An indicator as the agent reads it (the journal's tests use it too).
    pub(crate) fn ind(
        id: i64,
        value: &str,
        action: &str,
        expires_at: Option<i64>,
    ) -> PolicyIndicator {
        PolicyIndicator {
            id,
            entry: netward_model::PolicyEntry {
                value: IndicatorValue::parse(value).unwrap(),
                action: Action::parse(action).unwrap().0,
                expires_at,
            },
        }
    }

    /// An update of group `default`, mode block, coverage all.
    pub(crate) fn update(
        version: u64,
        full: bool,
        upserts: Vec<PolicyIndicator>,
        removals: Vec<i64>,
    ) -> PolicyUpdate<Upserts> {
        PolicyUpdate {
            version,
            full,
            group: "default".into(),
            mode: ProtectionMode::Block,
            coverage: Coverage::All,
            upserts: upserts.into(),
            removals,
            server_time: 0,
        }
    }

    fn held_ids(e: &Engine<RecordingEnforcer>) -> Vec<i64> {
        let held = e.indicators();
        let held = held.read().unwrap();
        let mut ids: Vec<i64> = held.iter().map(|(id, _)| id).collect();
        ids.sort_unstable();
        ids
    }

    fn blocked(e: &Engine<RecordingEnforcer>) -> usize {
        let cur = e.enforcer().current.as_ref().unwrap();
        SetId::of_family(Family::V4)
            .filter(|id| id.action == Action::Block)
            .map(|id| cur.sets[&id].len())
            .sum()
    }

    #[test]
    fn snapshots_replace_and_deltas_change() {
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        e.update(
            update(
                5,
                true,
                vec![
                    ind(1, "192.0.2.1", "block", None),
                    ind(2, "192.0.2.9", "block", None),
                ],
                vec![],
            ),
            0,
        )
        .unwrap();
        assert_eq!(blocked(&e), 2);
        e.update(
            update(
                6,
                false,
                vec![ind(3, "198.51.100.0/24", "block", None)],
                vec![1],
            ),
            0,
        )
        .unwrap();
        assert_eq!(held_ids(&e), [2, 3]);
        e.update(
            update(7, true, vec![ind(4, "203.0.113.1", "block", None)], vec![]),
            0,
        )
        .unwrap();
        assert_eq!(held_ids(&e), [4]);
        let ack = e.ack(DeviceFacts::default()).unwrap();
        assert_eq!(
            (ack.version, ack.error, ack.tamper_repaired),
            (7, None, false)
        );
    }

    #[test]
    fn expiry_is_enforced_locally_at_the_second() {
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        e.update(
            update(
                1,
                true,
                vec![ind(1, "192.0.2.1", "block", Some(100))],
                vec![],
            ),
            50,
        )
        .unwrap();
        assert_eq!(blocked(&e), 1);
        assert_eq!(e.tick(99).unwrap(), TickOutcome::Idle);
        assert_eq!(e.tick(100).unwrap(), TickOutcome::Expired);
        assert_eq!(blocked(&e), 0);
        assert_eq!(e.tick(101).unwrap(), TickOutcome::Idle);
    }

    #[test]
    fn tampering_is_repaired_and_reported_once() {
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        e.update(
            update(1, true, vec![ind(1, "192.0.2.1", "block", None)], vec![]),
            0,
        )
        .unwrap();
        let writes = e.enforcer().applied.len();
        e.enforcer.tampered = true;
        assert_eq!(e.tick(1).unwrap(), TickOutcome::TamperRepaired);
        assert_eq!(e.enforcer().applied.len(), writes + 1);
        let ack = e.ack(DeviceFacts::default()).unwrap();
        assert!(ack.tamper_repaired);
        assert!(
            e.ack(DeviceFacts::default()).unwrap().tamper_repaired,
            "kept until delivered"
        );
        e.ack_delivered(&ack);
        assert!(!e.ack(DeviceFacts::default()).unwrap().tamper_repaired);
    }

    #[test]
    fn problems_reach_the_ack_notices_once_delivered_and_the_text_fits_the_server() {
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        e.notices.push("policy.json was damaged".into());
        assert_eq!(
            e.ack(DeviceFacts::default()),
            None,
            "nothing before a version"
        );
        e.update(update(1, true, vec![], vec![]), 0).unwrap();
        e.update_error = Some("policy update refused: `mode`".into());
        let ack = e.ack(DeviceFacts::default()).unwrap();
        assert_eq!(
            ack.error.as_deref(),
            Some("policy update refused: `mode`; policy.json was damaged")
        );
        e.ack_delivered(&ack);
        assert!(
            e.notices.is_empty(),
            "a notice is sent until the server has it"
        );
        let again = e.ack(DeviceFacts::default()).unwrap();
        assert_eq!(
            again.error.as_deref(),
            Some("policy update refused: `mode`")
        );
        e.update_error = None;
        assert_eq!(e.ack(DeviceFacts::default()).unwrap().error, None);

        e.update_error = Some("unknown variant `\u{1b}[31mblok\u{202e}`".into());
        assert_eq!(
            e.ack(DeviceFacts::default()).unwrap().error.as_deref(),
            Some("unknown variant `\\u{1b}[31mblok\\u{202e}`"),
            "what a hostile server sent is quoted, never passed on raw"
        );
        e.update_error = None;

        e.notices = vec!["é".repeat(3000)];
        let long = e.ack(DeviceFacts::default()).unwrap().error.unwrap();
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS);
        e.ack_delivered(&e.ack(DeviceFacts::default()).unwrap());
        assert_eq!(e.notices.len(), 1, "a notice cut short is sent again");
    }

    #[test]
    fn blocks_on_the_server_or_loopback_are_reported_not_enforceable() {
        let server: IpNet = "192.0.2.10/32".parse().unwrap();
        let mut e = Engine::new(
            RecordingEnforcer::default(),
            PolicyState::default(),
            &[server],
        );
        e.update(
            update(
                1,
                true,
                vec![
                    ind(1, "192.0.2.0/24", "block", None),
                    ind(2, "127.0.0.1", "block", None),
                    ind(3, "198.51.100.1", "block", None),
                ],
                vec![],
            ),
            0,
        )
        .unwrap();
        assert_eq!(e.not_enforceable, [1, 2]);
        let cur = e.enforcer().current.as_ref().unwrap();
        let srv = u128::from(u32::from(std::net::Ipv4Addr::new(192, 0, 2, 10)));
        for id in SetId::of_family(Family::V4).filter(|id| id.action == Action::Block) {
            assert!(!cur.sets[&id].iter().any(|(s, e)| (*s..=*e).contains(&srv)));
        }
    }

    #[test]
    fn set_elements_deleted_behind_our_back_are_restored_and_reported() {
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        e.update(
            update(
                1,
                true,
                vec![
                    ind(1, "192.0.2.1", "block", None),
                    ind(2, "192.0.2.9", "block", None),
                ],
                vec![],
            ),
            0,
        )
        .unwrap();
        assert_eq!(e.tick(0).unwrap(), TickOutcome::Idle, "counted: intact");
        let id = SetId::addresses(Action::Block, Family::V4);
        let one = u128::from(u32::from(std::net::Ipv4Addr::new(192, 0, 2, 1)));
        e.enforcer.delete_behind_back(id, (one, one));
        assert!(!e.enforcer().enforces(id, one));
        // A delta that does not name the element leaves it deleted.
        e.update(
            update(
                2,
                false,
                vec![ind(3, "198.51.100.1", "block", None)],
                vec![],
            ),
            1,
        )
        .unwrap();
        assert!(!e.enforcer().enforces(id, one));
        assert_eq!(
            e.tick(1).unwrap(),
            TickOutcome::Idle,
            "not yet counted again"
        );
        let due = set_check_interval(e.entries);
        assert_eq!(e.tick(due).unwrap(), TickOutcome::TamperRepaired);
        assert!(e.enforcer().enforces(id, one));
        assert!(e.ack(DeviceFacts::default()).unwrap().tamper_repaired);
        assert_eq!(e.tick(2 * due).unwrap(), TickOutcome::Idle);
    }

    #[test]
    fn a_dns_resolver_is_exempt_and_reported_with_its_reason() {
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        let resolver = exemption(
            "192.0.2.53/32".parse().unwrap(),
            ExemptionReason::DnsResolver,
        )
        .unwrap();
        assert!(e.set_exemptions(std::slice::from_ref(&resolver)));
        assert!(
            !e.set_exemptions(std::slice::from_ref(&resolver)),
            "unchanged"
        );
        e.update(
            update(1, true, vec![ind(1, "192.0.2.0/24", "block", None)], vec![]),
            0,
        )
        .unwrap();
        assert_eq!(e.not_enforceable, [1]);
        let ack = e.ack(DeviceFacts::default()).unwrap();
        let reasons: Vec<(String, &str)> = ack
            .exemptions
            .iter()
            .map(|x| (x.range.to_string(), x.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("127.0.0.0/8".to_owned(), "loopback"),
                ("192.0.2.53".to_owned(), "dns-resolver"),
                ("::1".to_owned(), "loopback"),
            ]
        );
    }
}
