//! The agent's state machine, over any [`Enforcer`]: merge policy updates, compile the
//! indicators at the current second, apply them to the kernel, notice expiry and tampering,
//! and say what to acknowledge. No IO of its own beyond the enforcer, so it is tested with the
//! recording fake.

use std::collections::BTreeMap;

use ipnet::IpNet;
use netward_model::agent_wire::{
    AckRequest, AgentIndicator, DeviceFacts, Exemption, ExemptionReason, PolicyUpdate,
};
use netward_model::text::printable;
use netward_model::{Action, Coverage, PolicyEntry, ProtectionMode};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::enforcer::{ApplyReport, Enforcer, EnforcerError};
use crate::events::IndexSlot;
use crate::kernel_policy::{KernelPolicy, always_allowed, exemption, exemptions};

/// The policy the agent holds, as persisted in its state directory.
///
/// Every field is typed: an update the agent cannot read is refused whole by the client (and
/// the agent goes on enforcing what it holds), so nothing here is ever a guessed default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyState {
    /// The version the indicators come from; `None` before the first update.
    pub version: Option<u64>,
    /// The device's group.
    pub group: String,
    /// The device's protection mode.
    pub mode: ProtectionMode,
    /// Which protocols a block applies to.
    pub coverage: Coverage,
    /// The indicators in scope, by id.
    pub indicators: BTreeMap<i64, AgentIndicator>,
}

impl Default for PolicyState {
    /// Before the first update: nothing held, nothing enforced.
    fn default() -> Self {
        Self {
            version: None,
            group: String::new(),
            mode: ProtectionMode::Off,
            coverage: Coverage::All,
            indicators: BTreeMap::new(),
        }
    }
}

impl PolicyState {
    /// Applies an update: a snapshot replaces everything, a delta changes what it names.
    pub fn merge(&mut self, update: PolicyUpdate) {
        if update.full {
            self.indicators.clear();
        }
        for id in &update.removals {
            self.indicators.remove(id);
        }
        for ind in update.upserts {
            self.indicators.insert(ind.id, ind);
        }
        self.version = Some(update.version);
        self.group = update.group;
        self.mode = update.mode;
        self.coverage = update.coverage;
    }
}

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
    /// The policy held.
    pub state: PolicyState,
    /// The held indicators, parsed once when they arrive rather than on every compile. Shared
    /// with the event sensor through `index_slot`.
    parsed: Arc<BTreeMap<i64, PolicyEntry>>,
    /// Where the indicators are published for the event sensor after each apply.
    index_slot: Option<IndexSlot>,
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
}

/// The longest error text an acknowledgement carries (the server takes 2,000).
pub const MAX_ERROR_CHARS: usize = 1_900;

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

fn to_entry(a: &AgentIndicator) -> PolicyEntry {
    PolicyEntry {
        value: a.value,
        action: a.action,
        expires_at: a.expires_at,
    }
}

impl<E: Enforcer> Engine<E> {
    /// An engine that never blocks loopback or `server_addresses`.
    pub fn new(enforcer: E, state: PolicyState, server_addresses: &[IpNet]) -> Self {
        let parsed = Arc::new(
            state
                .indicators
                .values()
                .map(|a| (a.id, to_entry(a)))
                .collect(),
        );
        Self {
            enforcer,
            state,
            parsed,
            index_slot: None,
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
        true
    }

    /// What is never blocked, and why.
    pub fn exemptions(&self) -> &[Exemption] {
        &self.exemptions
    }

    /// Publishes the held indicators to `slot` after every apply, for the event sensor.
    pub fn publish_to(&mut self, slot: IndexSlot) {
        if let Ok(mut s) = slot.lock() {
            *s = Some(self.parsed.clone());
        }
        self.index_slot = Some(slot);
    }

    /// The enforcer, for tests.
    pub fn enforcer(&self) -> &E {
        &self.enforcer
    }

    /// Compiles the held policy at `now` and applies it.
    pub fn enforce(&mut self, now: i64) -> Result<ApplyReport, EnforcerError> {
        // Each element carries its expiry: the kernel drops it at that second by itself, so
        // enforcement and the sensor's index (which names an indicator until the same second)
        // agree, even while the agent is down. The expiry tick below only brings this
        // bookkeeping (entries, what is not enforceable) up to date.
        let kernel = KernelPolicy::from_entries(
            self.state.mode,
            self.state.coverage,
            self.parsed.values().copied(),
            now,
            &self.always_allowed,
        );
        let next_expiry = self
            .parsed
            .values()
            .filter_map(|e| e.expires_at)
            .filter(|&at| now < at)
            .min();
        self.not_enforceable = self
            .parsed
            .iter()
            .filter(|(_, e)| e.action == Action::Block && e.expires_at.is_none_or(|at| now < at))
            .filter(|(_, e)| self.always_allowed.iter().any(|n| e.value.overlaps(n)))
            .map(|(id, _)| *id)
            .collect();
        match self.enforcer.apply(&kernel) {
            Ok(report) => {
                self.next_expiry = next_expiry;
                self.entries = kernel.entry_count() as u64;
                self.last_error = None;
                self.failed_at = None;
                self.applied_at = Some(now);
                if let Some(slot) = &self.index_slot
                    && let Ok(mut s) = slot.lock()
                {
                    *s = Some(self.parsed.clone());
                }
                Ok(report)
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                self.failed_at = Some(now);
                Err(e)
            }
        }
    }

    /// Merges an update and applies it.
    pub fn update(&mut self, update: PolicyUpdate, now: i64) -> Result<ApplyReport, EnforcerError> {
        // Withdraw the published copy first, so that changing the indicators below does not
        // copy them all (unless the sensor is indexing them at this very moment).
        if let Some(slot) = &self.index_slot
            && let Ok(mut s) = slot.lock()
        {
            s.take();
        }
        let parsed = Arc::make_mut(&mut self.parsed);
        if update.full {
            parsed.clear();
        }
        for id in &update.removals {
            parsed.remove(id);
        }
        for a in &update.upserts {
            parsed.insert(a.id, to_entry(a));
        }
        self.state.merge(update);
        self.enforce(now)
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
            if !self.enforcer.sets_intact()? {
                tracing::warn!(
                    "Elements of the kernel's sets were deleted or added by someone else; rewriting them."
                );
                self.enforcer.invalidate();
                self.enforce(now)?;
                self.tamper_pending = true;
                return Ok(TickOutcome::TamperRepaired);
            }
        }
        if self.next_expiry.is_some_and(|at| now >= at) {
            self.enforce(now)?;
            return Ok(TickOutcome::Expired);
        }
        Ok(TickOutcome::Idle)
    }

    /// The acknowledgement of what the kernel now holds, with every problem to show on the
    /// device record (enforcement, an unusable update, start-up notices) in its `error`. A
    /// pending tamper report and the notices stay pending until [`Engine::ack_delivered`] says
    /// the server has them. Nothing before the first update: the server keeps the record of
    /// the version it last heard of.
    pub fn ack(&self, facts: DeviceFacts) -> Option<AckRequest> {
        let version = self.state.version?;
        Some(AckRequest {
            version,
            entries: self.entries,
            not_enforceable: self.not_enforceable.clone(),
            error: self.problems(),
            tamper_repaired: self.tamper_pending,
            facts,
            exemptions: self.exemptions.clone(),
        })
    }

    /// Every problem to report (enforcement, an unusable update, start-up notices), in one text
    /// of at most [`MAX_ERROR_CHARS`] characters.
    pub fn problems(&self) -> Option<String> {
        let all: Vec<&str> = self
            .last_error
            .iter()
            .chain(&self.update_error)
            .chain(&self.notices)
            .map(String::as_str)
            .collect();
        if all.is_empty() {
            return None;
        }
        // An error can quote what a hostile server sent; the server refuses, and terminals
        // would render, control characters.
        let joined = printable(&all.join("; ")).into_owned();
        if joined.chars().count() <= MAX_ERROR_CHARS {
            return Some(joined);
        }
        let mut cut: String = joined.chars().take(MAX_ERROR_CHARS - 1).collect();
        cut.push('…');
        Some(cut)
    }

    /// Records that the server accepted `ack`.
    pub fn ack_delivered(&mut self, ack: &AckRequest) {
        if ack.tamper_repaired {
            self.tamper_pending = false;
        }
        // A notice cut from the text (many problems at once) stays for the next one.
        if let Some(sent) = &ack.error {
            self.notices.retain(|n| !sent.contains(n.as_str()));
        }
    }

    /// Removes everything the enforcer created.
    pub fn uninstall(&mut self) -> Result<(), EnforcerError> {
        self.enforcer.remove()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SetId;
    use crate::enforcer::fake::RecordingEnforcer;
    use netward_model::{Family, IndicatorValue};

    fn ind(id: i64, value: &str, action: &str, expires_at: Option<i64>) -> AgentIndicator {
        AgentIndicator {
            id,
            value: IndicatorValue::parse(value).unwrap(),
            action: Action::parse(action).unwrap().0,
            expires_at,
            title: "t".into(),
        }
    }

    fn update(
        version: u64,
        full: bool,
        upserts: Vec<AgentIndicator>,
        removals: Vec<i64>,
    ) -> PolicyUpdate {
        PolicyUpdate {
            version,
            full,
            group: "default".into(),
            mode: ProtectionMode::Block,
            coverage: Coverage::All,
            upserts,
            removals,
            server_time: 0,
        }
    }

    fn blocked(e: &Engine<RecordingEnforcer>) -> usize {
        let cur = e.enforcer().current.as_ref().unwrap();
        [false, true]
            .iter()
            .map(|r| {
                cur.sets[&SetId {
                    action: Action::Block,
                    family: Family::V4,
                    ranges: *r,
                }]
                    .len()
            })
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
        assert_eq!(
            e.state.indicators.keys().copied().collect::<Vec<_>>(),
            [2, 3]
        );
        e.update(
            update(7, true, vec![ind(4, "203.0.113.1", "block", None)], vec![]),
            0,
        )
        .unwrap();
        assert_eq!(e.state.indicators.keys().copied().collect::<Vec<_>>(), [4]);
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
        for r in [false, true] {
            let set = &cur.sets[&SetId {
                action: Action::Block,
                family: Family::V4,
                ranges: r,
            }];
            assert!(!set.iter().any(|(s, e)| (*s..=*e).contains(&srv)));
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
        let id = SetId {
            action: Action::Block,
            family: Family::V4,
            ranges: false,
        };
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
