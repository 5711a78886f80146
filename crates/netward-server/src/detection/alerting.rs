//! The alerting rules, as pure functions: which hits alert, how a batch's hits merge into the
//! alert of (device, indicator) and into the indicator's incident, and how severities and
//! statuses combine. Every store backend calls these and persists what they decide; none
//! decides on its own.
//!
//! The rules:
//! - a hit alerts when its indicator asks for alerts and its outcome is not `allowed`;
//! - one open alert per (device, indicator): new hits widen its time span, add to its count
//!   and join its outcomes; with no open alert, they raise a new one, status `new`;
//! - **a resolved alert stays resolved**: it is not open, so later hits raise a new alert;
//! - one open incident per indicator, across devices, whose severity is the highest it has
//!   seen (it never drops);
//! - setting an incident's status sets it on each of its alerts that differ;
//! - **an incident's status follows its alerts**: when an alert's status changes, the
//!   incident is resolved when all its alerts are resolved, in progress when any is in
//!   progress, and new otherwise.

use std::collections::BTreeSet;

use netward_model::Severity;
use netward_model::detection::{AlertStatus, Outcome};

/// Whether a hit with `outcome` on an indicator whose generate-alert flag is `generate_alert`
/// raises or feeds an alert. Allowed traffic is counted, never alerted.
pub fn alerts_on(generate_alert: bool, outcome: Outcome) -> bool {
    generate_alert && outcome != Outcome::Allowed
}

/// Whether an alert or incident with `status` still takes new hits.
pub fn is_open(status: AlertStatus) -> bool {
    status != AlertStatus::Resolved
}

/// The hits of one batch on one indicator, merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hits {
    /// First attempt (Unix ms).
    pub first_ms: i64,
    /// Last attempt (Unix ms).
    pub last_ms: i64,
    /// Attempts, exact.
    pub count: u64,
    /// Outcomes seen.
    pub outcomes: BTreeSet<Outcome>,
}

impl Hits {
    /// The hits of one event.
    pub fn new(first_ms: i64, last_ms: i64, count: u64, outcome: Outcome) -> Self {
        Self {
            first_ms,
            last_ms,
            count,
            outcomes: BTreeSet::from([outcome]),
        }
    }

    /// Adds `other` to these hits: the order of merging never matters.
    pub fn merge(&mut self, other: &Self) {
        self.first_ms = self.first_ms.min(other.first_ms);
        self.last_ms = self.last_ms.max(other.last_ms);
        self.count = self.count.saturating_add(other.count);
        self.outcomes.extend(other.outcomes.iter().copied());
    }
}

/// The open alert of a (device, indicator), as the rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenAlert {
    /// Id.
    pub id: i64,
    /// What it holds so far.
    pub hits: Hits,
}

/// What a batch's hits do to the alert of a (device, indicator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertChange {
    /// No alert was open: raise one, status `new`, holding these hits.
    Raise(Hits),
    /// The open alert `id` now holds these hits (the old ones merged with the new).
    Update {
        /// The alert.
        id: i64,
        /// Its hits after the merge.
        hits: Hits,
    },
}

/// Merges `hits` into the open alert, or raises one.
pub fn alert_change(open: Option<&OpenAlert>, hits: &Hits) -> AlertChange {
    match open {
        Some(open) => {
            let mut merged = open.hits.clone();
            merged.merge(hits);
            AlertChange::Update {
                id: open.id,
                hits: merged,
            }
        }
        None => AlertChange::Raise(hits.clone()),
    }
}

/// The open incident of an indicator, as the rules need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenIncident {
    /// Id.
    pub id: i64,
    /// Its severity so far.
    pub severity: Severity,
    /// First hit (Unix ms).
    pub first_ms: i64,
    /// Last hit (Unix ms).
    pub last_ms: i64,
}

/// What a batch's hits on an indicator do to its incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentChange {
    /// No incident was open: open one, status `new`.
    Open {
        /// The indicator's severity.
        severity: Severity,
        /// First hit (Unix ms).
        first_ms: i64,
        /// Last hit (Unix ms).
        last_ms: i64,
    },
    /// The open incident now reads so.
    Update(OpenIncident),
}

/// Merges hits of an indicator whose severity is now `severity` into its open incident, or
/// opens one. The severity only ever rises: an incident is as severe as the worst it held.
pub fn incident_change(
    open: Option<&OpenIncident>,
    severity: Severity,
    hits: &Hits,
) -> IncidentChange {
    match open {
        Some(open) => IncidentChange::Update(OpenIncident {
            id: open.id,
            severity: open.severity.max(severity),
            first_ms: open.first_ms.min(hits.first_ms),
            last_ms: open.last_ms.max(hits.last_ms),
        }),
        None => IncidentChange::Open {
            severity,
            first_ms: hits.first_ms,
            last_ms: hits.last_ms,
        },
    }
}

/// Which of an incident's alerts change when the incident is set to `status`: every one whose
/// status differs. Returns their ids.
pub fn cascade_status(status: AlertStatus, alerts: &[(i64, AlertStatus)]) -> Vec<i64> {
    alerts
        .iter()
        .filter(|(_, s)| *s != status)
        .map(|(id, _)| *id)
        .collect()
}

/// The status of an incident whose alerts have `alerts` statuses: resolved when all are
/// resolved, in progress when any is in progress, else new.
pub fn incident_status(alerts: &[AlertStatus]) -> AlertStatus {
    if !alerts.is_empty() && alerts.iter().all(|s| *s == AlertStatus::Resolved) {
        AlertStatus::Resolved
    } else if alerts.contains(&AlertStatus::InProgress) {
        AlertStatus::InProgress
    } else {
        AlertStatus::New
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Blocked),
            Just(Outcome::Audited),
            Just(Outcome::Allowed)
        ]
    }

    fn severity() -> impl Strategy<Value = Severity> {
        proptest::sample::select(Severity::ALL.to_vec())
    }

    fn hits() -> impl Strategy<Value = Hits> {
        (0i64..1_000_000, 0i64..10_000, 1u64..1_000, outcome())
            .prop_map(|(first, span, count, o)| Hits::new(first, first + span, count, o))
    }

    #[test]
    fn only_alerting_indicators_and_unallowed_traffic_alert() {
        assert!(alerts_on(true, Outcome::Blocked));
        assert!(alerts_on(true, Outcome::Audited));
        assert!(!alerts_on(true, Outcome::Allowed));
        assert!(!alerts_on(false, Outcome::Blocked));
    }

    #[test]
    fn a_resolved_alert_takes_no_more_hits() {
        assert!(is_open(AlertStatus::New));
        assert!(is_open(AlertStatus::InProgress));
        assert!(!is_open(AlertStatus::Resolved));
    }

    proptest! {
        /// Folding batches into an alert one by one gives what a naive model computes over
        /// every hit at once: span, exact count and the union of outcomes.
        #[test]
        fn an_alert_holds_every_hit_merged(batches in proptest::collection::vec(hits(), 1..20)) {
            let mut open: Option<OpenAlert> = None;
            for (n, h) in batches.iter().enumerate() {
                match alert_change(open.as_ref(), h) {
                    AlertChange::Raise(hits) => {
                        prop_assert!(open.is_none(), "raised while one was open");
                        open = Some(OpenAlert { id: n as i64, hits });
                    }
                    AlertChange::Update { id, hits } => {
                        let was = open.as_ref().map(|o| o.id);
                        prop_assert_eq!(Some(id), was);
                        open = Some(OpenAlert { id, hits });
                    }
                }
            }
            let got = open.map(|o| o.hits);
            let want = Hits {
                first_ms: batches.iter().map(|h| h.first_ms).min().unwrap_or_default(),
                last_ms: batches.iter().map(|h| h.last_ms).max().unwrap_or_default(),
                count: batches.iter().map(|h| h.count).sum(),
                outcomes: batches.iter().flat_map(|h| h.outcomes.iter().copied()).collect(),
            };
            prop_assert_eq!(got, Some(want));
        }

        /// The order in which hits merge never changes the result.
        #[test]
        fn merging_is_order_free(a in hits(), b in hits(), c in hits()) {
            let mut left = a.clone();
            left.merge(&b);
            left.merge(&c);
            let mut right = c.clone();
            right.merge(&a);
            right.merge(&b);
            prop_assert_eq!(left, right);
        }

        /// An incident's severity is the highest severity its indicator had while it was
        /// open, whatever order they came in; its span covers every hit.
        #[test]
        fn an_incident_escalates_and_never_drops(
            seen in proptest::collection::vec((severity(), hits()), 1..20)
        ) {
            let mut open: Option<OpenIncident> = None;
            for (s, h) in &seen {
                let before = open.map(|o| o.severity);
                open = Some(match incident_change(open.as_ref(), *s, h) {
                    IncidentChange::Open { severity, first_ms, last_ms } => {
                        prop_assert!(before.is_none());
                        OpenIncident { id: 1, severity, first_ms, last_ms }
                    }
                    IncidentChange::Update(i) => {
                        prop_assert!(before.is_some_and(|b| i.severity >= b));
                        i
                    }
                });
            }
            let max = seen.iter().map(|(s, _)| *s).max();
            prop_assert_eq!(open.map(|o| o.severity), max);
            let first = seen.iter().map(|(_, h)| h.first_ms).min();
            prop_assert_eq!(open.map(|o| o.first_ms), first);
        }

        /// An incident's status against a naive reading of the rule, and the bug of issue 15:
        /// one alert moved to in progress moves its incident too.
        #[test]
        fn an_incident_follows_its_alerts(
            statuses in proptest::collection::vec(proptest::sample::select(AlertStatus::ALL.to_vec()), 0..8),
        ) {
            let got = incident_status(&statuses);
            let all_resolved = !statuses.is_empty() && statuses.iter().all(|s| *s == AlertStatus::Resolved);
            let any_in_progress = statuses.contains(&AlertStatus::InProgress);
            prop_assert_eq!(got == AlertStatus::Resolved, all_resolved);
            prop_assert_eq!(got == AlertStatus::InProgress, any_in_progress);
            prop_assert_eq!(incident_status(&[AlertStatus::InProgress]), AlertStatus::InProgress);
        }

        /// Setting a status touches exactly the alerts that differ from it.
        #[test]
        fn cascading_touches_only_what_differs(
            statuses in proptest::collection::vec(proptest::sample::select(AlertStatus::ALL.to_vec()), 0..10),
            to in proptest::sample::select(AlertStatus::ALL.to_vec()),
        ) {
            let alerts: Vec<(i64, AlertStatus)> =
                statuses.iter().enumerate().map(|(i, s)| (i as i64, *s)).collect();
            let touched = cascade_status(to, &alerts);
            for (id, s) in &alerts {
                prop_assert_eq!(touched.contains(id), *s != to);
            }
        }
    }
}
