//! The triage rules, as pure functions: what a `PATCH /api/alerts/{id}` changes, and whether
//! the determination it leaves fits the classification. The store saves what they decide.
//!
//! The rules:
//! - each field given is set; `null` clears the assignment, classification or determination;
//! - a determination must fit its classification (MDE's pairs, [`Determination::fits`]); one
//!   without a classification is refused;
//! - a new classification that the old determination does not fit, given without a new
//!   determination, clears the determination; clearing the classification clears it too;
//! - a patch that changes nothing is refused, so every accepted patch is audited.

use netward_model::FieldError;
use netward_model::detection::{AlertPatch, Classification, Determination};

use crate::store::{AlertTriage, TriageUpdate};

/// The longest assignee name kept, in characters.
const MAX_ASSIGNEE_CHARS: usize = 200;

/// What `patch` changes on an alert whose triage is `current`, or the field at fault.
pub fn triage_update(
    current: &AlertTriage,
    patch: &AlertPatch,
) -> Result<TriageUpdate, FieldError> {
    if patch.status.is_none()
        && patch.assigned_to.is_none()
        && patch.classification.is_none()
        && patch.determination.is_none()
    {
        return Err(FieldError::new(
            "body",
            "give at least one of status, assignedTo, classification, determination",
        ));
    }
    let assigned_to = match &patch.assigned_to {
        Some(Some(name)) => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > MAX_ASSIGNEE_CHARS {
                return Err(FieldError::new(
                    "assignedTo",
                    format!(
                        "give a name of 1 to {MAX_ASSIGNEE_CHARS} characters, or null to unassign"
                    ),
                ));
            }
            Some(Some(name.to_owned()))
        }
        other => other.clone(),
    };
    let verdict = if patch.classification.is_some() || patch.determination.is_some() {
        Some(verdict(current, patch.classification, patch.determination)?)
    } else {
        None
    };
    Ok(TriageUpdate {
        status: patch.status,
        assigned_to,
        verdict,
    })
}

fn verdict(
    current: &AlertTriage,
    classification: Option<Option<Classification>>,
    determination: Option<Option<Determination>>,
) -> Result<(Option<Classification>, Option<Determination>), FieldError> {
    let c = classification.unwrap_or(current.classification);
    let d = match determination {
        Some(d) => d,
        // Kept only while it still fits.
        None => current
            .determination
            .filter(|d| c.is_some_and(|c| d.fits(c))),
    };
    match (c, d) {
        (None, Some(d)) => Err(FieldError::new(
            "determination",
            format!("`{d}` needs a classification; set classification too"),
        )),
        (Some(c), Some(d)) if !d.fits(c) => Err(FieldError::new(
            "determination",
            format!(
                "`{d}` does not fit classification `{c}`; use one of {}",
                c.determinations()
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        _ => Ok((c, d)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use super::*;
    use netward_model::detection::AlertStatus;
    use proptest::prelude::*;

    fn classified(c: Classification, d: Determination) -> AlertTriage {
        AlertTriage {
            classification: Some(c),
            determination: Some(d),
            ..AlertTriage::default()
        }
    }

    #[test]
    fn an_empty_patch_and_a_blank_assignee_are_refused() {
        let none = AlertTriage::default();
        assert_eq!(
            triage_update(&none, &AlertPatch::default())
                .unwrap_err()
                .field,
            "body"
        );
        let blank = AlertPatch {
            assigned_to: Some(Some("  ".into())),
            ..AlertPatch::default()
        };
        assert_eq!(
            triage_update(&none, &blank).unwrap_err().field,
            "assignedTo"
        );
    }

    #[test]
    fn a_determination_must_fit_its_classification() {
        let none = AlertTriage::default();
        let lone = AlertPatch {
            determination: Some(Some(Determination::Malware)),
            ..AlertPatch::default()
        };
        assert_eq!(
            triage_update(&none, &lone).unwrap_err().field,
            "determination"
        );
        let tp = classified(Classification::TruePositive, Determination::Malware);
        let wrong = AlertPatch {
            determination: Some(Some(Determination::SecurityTesting)),
            ..AlertPatch::default()
        };
        let e = triage_update(&tp, &wrong).unwrap_err();
        assert!(
            e.message.contains("use one of MultiStagedAttack"),
            "{}",
            e.message
        );
    }

    #[test]
    fn reclassifying_drops_a_determination_that_no_longer_fits() {
        let tp = classified(Classification::TruePositive, Determination::Other);
        let to = |c| AlertPatch {
            classification: Some(Some(c)),
            status: Some(AlertStatus::Resolved),
            ..AlertPatch::default()
        };
        let kept = triage_update(&tp, &to(Classification::FalsePositive)).unwrap();
        assert_eq!(
            kept.verdict,
            Some((
                Some(Classification::FalsePositive),
                Some(Determination::Other)
            ))
        );
        let tp = classified(Classification::TruePositive, Determination::Malware);
        let dropped = triage_update(&tp, &to(Classification::FalsePositive)).unwrap();
        assert_eq!(
            dropped.verdict,
            Some((Some(Classification::FalsePositive), None))
        );
        assert_eq!(dropped.status, Some(AlertStatus::Resolved));
        let cleared = AlertPatch {
            classification: Some(None),
            ..AlertPatch::default()
        };
        assert_eq!(
            triage_update(&tp, &cleared).unwrap().verdict,
            Some((None, None))
        );
    }

    fn opt<T: Clone + std::fmt::Debug + 'static>(
        all: &'static [T],
    ) -> impl Strategy<Value = Option<Option<T>>> {
        prop_oneof![
            Just(None),
            Just(Some(None)),
            proptest::sample::select(all).prop_map(|v| Some(Some(v)))
        ]
    }

    proptest! {
        /// Whatever the patch and the state before, an accepted patch leaves a pair that fits.
        #[test]
        fn an_accepted_verdict_always_fits(
            c in opt(&Classification::ALL),
            d in opt(&Determination::ALL),
            before_c in proptest::option::of(proptest::sample::select(&Classification::ALL[..])),
            before_d in proptest::option::of(proptest::sample::select(&Determination::ALL[..])),
        ) {
            let current = AlertTriage {
                classification: before_c,
                determination: before_d.filter(|d| before_c.is_some_and(|c| d.fits(c))),
                ..AlertTriage::default()
            };
            let patch = AlertPatch { classification: c, determination: d, ..AlertPatch::default() };
            if let Ok(TriageUpdate { verdict: Some((c, d)), .. }) = triage_update(&current, &patch) {
                prop_assert!(d.is_none_or(|d| c.is_some_and(|c| d.fits(c))));
            }
        }
    }
}
