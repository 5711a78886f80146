//! The conformance cases of detection: events stored once and purged, alerts and incidents as the rules decide.

use netward_model::detection::{Direction, Outcome, Reason};

use super::super::{Change, Store};
use super::{actor, draft, enrolled};

pub(super) fn events_are_stored_once_and_purged_with_their_links(store: &dyn Store) {
    use netward_model::detection::{AgentEvent, MatchedIndicator};
    let a = actor();
    let change = Change { actor: &a, at: 1 };
    let mut d = draft("192.0.2.9", "Block", &[], None);
    d.generate_alert = true;
    let id = store.upsert_indicators(&[d], &change).unwrap()[0];
    let device = enrolled(store, "h", &change);
    let ev = |seq: u64, at: i64| AgentEvent {
        seq,
        first_seen_ms: at,
        last_seen_ms: at,
        count: 2,
        direction: Direction::Outbound,
        protocol: "udp".into(),
        local_ip: "192.0.2.1".into(),
        local_port: Some(5000),
        remote_ip: "192.0.2.9".into(),
        remote_port: Some(53),
        outcome: Outcome::Blocked,
        reason: Reason::IndicatorBlock,
        indicators: vec![MatchedIndicator {
            id,
            value: "192.0.2.9".into(),
        }],
        process: None,
    };
    let first = store
        .ingest_events(device, &[ev(1, 1_000), ev(2, 90_000_000)], 0, 0, 0)
        .unwrap();
    assert_eq!(
        (first.stored.len(), first.raised.len(), first.acked_seq),
        (2, 1, 2)
    );
    let again = store
        .ingest_events(device, &[ev(2, 90_000_000)], 0, 0, 0)
        .unwrap();
    assert!(again.stored.is_empty() && again.raised.is_empty());
    assert_eq!(again.acked_seq, 2);
    // A sequence number repeated within one batch is stored once, too.
    let twice = store
        .ingest_events(device, &[ev(3, 90_000_000), ev(3, 90_000_000)], 0, 0, 0)
        .unwrap();
    assert_eq!((twice.stored.len(), twice.acked_seq), (1, 3));
    let q = super::super::EventQuery {
        top: 100,
        ..Default::default()
    };
    assert_eq!(store.events(&q).unwrap().len(), 3);
    let alert = store
        .alerts(&super::super::AlertQuery {
            top: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(alert.len(), 1);
    assert_eq!(alert[0].hit_count, 6, "counted once per stored event");
    // Retention removes the old event and its evidence link, and keeps the alert.
    assert_eq!(store.purge_events(50_000_000).unwrap(), 1);
    assert_eq!(store.events(&q).unwrap().len(), 2);
    assert_eq!(store.alert_evidence(alert[0].id, 10).unwrap().len(), 2);
    // A purged event resent late is stored again, as new data, and acknowledged: the agent
    // never loops on it. The acknowledgement never goes past what the batch held.
    let late = store
        .ingest_events(device, &[ev(1, 1_000)], 0, 0, 0)
        .unwrap();
    assert_eq!(late.acked_seq, 1);
}

pub(super) fn alerts_and_incidents_follow_the_rules(store: &dyn Store) {
    use netward_model::Severity;
    use netward_model::detection::{AgentEvent, AlertStatus, MatchedIndicator, ProcessInfo};
    let a = actor();
    let c = Change { actor: &a, at: 1 };
    let mut d = draft("203.0.113.5", "Block", &[], None);
    d.generate_alert = true;
    d.severity = Severity::Low;
    let ind = store.upsert_indicators(&[d.clone()], &c).unwrap()[0];
    let mut quiet = draft("203.0.113.6", "Allowed", &[], None);
    quiet.generate_alert = true;
    let allow = store.upsert_indicators(&[quiet], &c).unwrap()[0];
    let dev = |hash: &str| enrolled(store, hash, &c);
    let (one, two) = (dev("d1"), dev("d2"));
    let ev = |seq: u64, at: i64, outcome: Outcome, id: i64, ip: &str| AgentEvent {
        seq,
        first_seen_ms: at,
        last_seen_ms: at + 5,
        count: 3,
        direction: Direction::Outbound,
        protocol: "tcp".into(),
        local_ip: "192.0.2.1".into(),
        local_port: None,
        remote_ip: ip.into(),
        remote_port: Some(443),
        outcome,
        reason: Reason::IndicatorBlock,
        indicators: vec![MatchedIndicator {
            id,
            value: ip.into(),
        }],
        process: Some(ProcessInfo {
            pid: 42,
            name: "curl".into(),
            exe: Some("/usr/bin/curl".into()),
            ..Default::default()
        }),
    };
    let hit = |seq, at, outcome| ev(seq, at, outcome, ind, "203.0.113.5");

    // Two outcomes in one batch: one alert holding both, exact counts; allowed hits never alert.
    let first = store
        .ingest_events(
            one,
            &[
                hit(1, 1_000, Outcome::Blocked),
                hit(2, 2_000, Outcome::Audited),
                ev(3, 3_000, Outcome::Allowed, allow, "203.0.113.6"),
            ],
            0,
            0,
            0,
        )
        .unwrap();
    assert_eq!(first.raised.len(), 1);
    assert_eq!(
        first.alerts.len(),
        1,
        "the touched alerts come back as stored"
    );
    let alert = &first.alerts[0];
    assert_eq!(
        (
            alert.status,
            alert.severity,
            alert.hit_count,
            alert.outcomes.clone(),
            alert.first_ms,
            alert.last_ms
        ),
        (
            AlertStatus::New,
            Severity::Low,
            6,
            vec![Outcome::Audited, Outcome::Blocked],
            1_000,
            2_005
        )
    );
    assert_eq!(store.newest_event_id().unwrap(), first.stored[2].id);

    // An incident's status follows its alerts: its only alert in progress puts it in
    // progress (it stayed "new" before issue 15).
    let set_to = |status| crate::store::TriageUpdate {
        status: Some(status),
        ..Default::default()
    };
    let incident_status = || store.incidents(None, None, None, 10, 0).unwrap()[0].status;
    store
        .triage_alert(alert.id, &set_to(AlertStatus::InProgress), &c)
        .unwrap()
        .unwrap();
    assert_eq!(incident_status(), AlertStatus::InProgress);
    // A second device joins the incident with a new alert; one alert in progress keeps it so.
    store
        .ingest_events(two, &[hit(1, 9_500, Outcome::Blocked)], 0, 0, 0)
        .unwrap();
    assert_eq!(incident_status(), AlertStatus::InProgress);

    // Resolved stays resolved: later hits raise a new alert in the same open incident.
    let resolve = set_to(AlertStatus::Resolved);
    let resolved = store.triage_alert(alert.id, &resolve, &c).unwrap().unwrap();
    assert_eq!(
        (resolved.status, resolved.status_by.as_deref()),
        (AlertStatus::Resolved, Some("tester"))
    );
    assert_eq!(
        incident_status(),
        AlertStatus::New,
        "one resolved, one new: the incident is new"
    );
    assert!(store.triage_alert(9_999, &resolve, &c).unwrap().is_none());
    // The indicator turns High: the incident escalates.
    d.severity = Severity::High;
    store.upsert_indicators(&[d], &c).unwrap();
    let later = store
        .ingest_events(one, &[hit(4, 9_000, Outcome::Blocked)], 0, 0, 0)
        .unwrap();
    assert_eq!(later.raised.len(), 1);
    assert_ne!(later.raised[0], alert.id);
    let incidents = store.incidents(None, None, None, 10, 0).unwrap();
    assert_eq!(incidents.len(), 1, "one incident per indicator");
    let incident = &incidents[0];
    assert_eq!(
        (
            incident.severity,
            incident.alert_count,
            incident.device_count,
            incident.first_ms,
            incident.last_ms
        ),
        (Severity::High, 3, 2, 1_000, 9_505)
    );
    assert_eq!(
        store
            .incidents(None, Some(AlertStatus::Resolved), None, 10, 0)
            .unwrap()
            .len(),
        0
    );

    // An incident's status reaches each of its alerts.
    let set = store
        .set_incident_status(incident.id, AlertStatus::InProgress, &c)
        .unwrap()
        .unwrap();
    assert_eq!(set.status, AlertStatus::InProgress);
    let alerts = store
        .alerts(&super::super::AlertQuery {
            incident: Some(incident.id),
            top: 10,
            ..Default::default()
        })
        .unwrap();
    let statuses: Vec<AlertStatus> = alerts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![AlertStatus::InProgress; 3]);
    // Resolving every alert one by one resolves the incident with the last.
    for (n, a) in alerts.iter().enumerate() {
        assert_ne!(incident_status(), AlertStatus::Resolved, "after {n} of 3");
        store.triage_alert(a.id, &resolve, &c).unwrap().unwrap();
    }
    assert_eq!(incident_status(), AlertStatus::Resolved);
    assert!(
        store
            .set_incident_status(9_999, AlertStatus::Resolved, &c)
            .unwrap()
            .is_none()
    );

    // Hunting: who talked to the range, with which process.
    let v = netward_model::IndicatorValue::parse("203.0.113.0/24").unwrap();
    let (lo, hi) = v.bounds();
    let contacts = store
        .contacts(
            &super::super::EventQuery {
                remote: Some((false, lo, hi)),
                top: 10,
                ..Default::default()
            },
            None,
        )
        .unwrap();
    let mut seen: Vec<(i64, String, u64)> = contacts
        .iter()
        .map(|c| (c.device_id, c.process.clone(), c.count))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (one, "/usr/bin/curl".to_owned(), 12),
            (two, "/usr/bin/curl".to_owned(), 3)
        ]
    );
}
