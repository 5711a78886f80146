//! The conformance case of the overview's aggregations: each count equals what the event,
//! alert and indicator queries return for the same data.

use netward_model::detection::{
    AgentEvent, AlertStatus, Direction, MatchedIndicator, Outcome, Reason,
};
use netward_model::{Actor, ActorKind, Severity};

use super::super::overview::{HitBucket, HitLeader, SourceCount};
use super::super::{AlertQuery, Change, EventQuery, Store, TriageUpdate};
use super::{actor, draft, enrolled};

const HOUR: i64 = 3_600_000;

fn event(seq: u64, last_ms: i64, count: u64, outcome: Outcome, hit: &[(i64, &str)]) -> AgentEvent {
    AgentEvent {
        seq,
        first_seen_ms: last_ms - 10,
        last_seen_ms: last_ms,
        count,
        direction: Direction::Outbound,
        protocol: "tcp".into(),
        local_ip: "192.0.2.1".into(),
        local_port: None,
        remote_ip: hit.first().map_or("198.51.100.1", |h| h.1).into(),
        remote_port: Some(443),
        outcome,
        reason: Reason::IndicatorBlock,
        indicators: hit
            .iter()
            .map(|(id, value)| MatchedIndicator {
                id: *id,
                value: (*value).into(),
            })
            .collect(),
        process: None,
    }
}

/// Hits of the events `events()` returns for `q`, added up here.
fn hits_listed(store: &dyn Store, q: EventQuery) -> u64 {
    let q = EventQuery { top: 10_000, ..q };
    store
        .events(&q)
        .unwrap()
        .iter()
        .map(|e| e.event.count)
        .sum()
}

pub(super) fn overview_counts_agree_with_the_lists(store: &dyn Store) {
    let a = actor();
    let c = Change { actor: &a, at: 1 };
    let mut high = draft("203.0.113.5", "Block", &[], None);
    high.generate_alert = true;
    high.severity = Severity::High;
    let mut low = draft("203.0.113.6", "Audit", &[], None);
    low.generate_alert = true;
    low.severity = Severity::Low;
    let ids = store.upsert_indicators(&[high, low], &c).unwrap();
    let (h, l) = (ids[0], ids[1]);
    let feed = Actor {
        name: "level1".into(),
        kind: ActorKind::Feed,
    };
    let fc = Change {
        actor: &feed,
        at: 2,
    };
    store
        .upsert_indicators(
            &[
                draft("198.51.100.7", "Block", &[], None),
                draft("198.51.100.8", "Block", &[], None),
                draft("198.51.100.9", "Block", &[], None),
            ],
            &fc,
        )
        .unwrap();
    let (one, two) = (enrolled(store, "o1", &c), enrolled(store, "o2", &c));
    let from = 10 * HOUR;
    let hv = (h, "203.0.113.5");
    let lv = (l, "203.0.113.6");
    store
        .ingest_events(
            one,
            &[
                // Before the window: in no count.
                event(1, from - 1, 100, Outcome::Blocked, &[hv]),
                event(2, from, 2, Outcome::Blocked, &[hv]),
                event(3, from + HOUR - 1, 3, Outcome::Blocked, &[hv]),
                event(4, from + HOUR, 4, Outcome::Audited, &[lv]),
                // Matched both: counts for each indicator.
                event(5, from + 5 * HOUR, 5, Outcome::Blocked, &[hv, lv]),
            ],
            0,
            0,
            0,
        )
        .unwrap();
    store
        .ingest_events(
            two,
            &[
                event(1, from + HOUR + 1, 7, Outcome::Allowed, &[]),
                event(2, from + 2 * HOUR, 20, Outcome::Audited, &[lv]),
            ],
            0,
            0,
            0,
        )
        .unwrap();

    let buckets = store.hits_over_time(from, HOUR).unwrap();
    let b = |bucket, outcome, hits| HitBucket {
        bucket,
        outcome,
        hits,
    };
    assert_eq!(
        buckets,
        vec![
            b(0, Outcome::Blocked, 5),
            b(1, Outcome::Allowed, 7),
            b(1, Outcome::Audited, 4),
            b(2, Outcome::Audited, 20),
            b(5, Outcome::Blocked, 5),
        ]
    );
    for outcome in [Outcome::Blocked, Outcome::Audited, Outcome::Allowed] {
        let charted: u64 = buckets
            .iter()
            .filter(|b| b.outcome == outcome)
            .map(|b| b.hits)
            .sum();
        let listed = hits_listed(
            store,
            EventQuery {
                outcome: Some(outcome),
                from_ms: Some(from),
                ..EventQuery::default()
            },
        );
        assert_eq!(charted, listed, "{outcome:?}");
    }

    let top = store.top_indicators(from, 10).unwrap();
    let leader = |id, name: &str, title: &str, hits| HitLeader {
        id,
        name: name.into(),
        title: title.into(),
        hits,
    };
    assert_eq!(
        top,
        vec![
            leader(l, "203.0.113.6", "title 203.0.113.6", 29),
            leader(h, "203.0.113.5", "title 203.0.113.5", 10),
        ]
    );
    for t in &top {
        let q = EventQuery {
            indicator: Some(t.id),
            from_ms: Some(from),
            ..EventQuery::default()
        };
        assert_eq!(t.hits, hits_listed(store, q));
    }
    assert_eq!(store.top_indicators(from, 1).unwrap().len(), 1, "limited");
    let (lo, hi) = netward_model::IndicatorValue::parse("203.0.113.0/24")
        .unwrap()
        .bounds();
    let in_range = EventQuery {
        remote: Some((false, lo, hi)),
        to_ms: Some(from + 2 * HOUR),
        device: Some(one),
        ..EventQuery::default()
    };
    assert_eq!(store.count_events(&in_range).unwrap(), 4);
    assert_eq!(store.count_events(&EventQuery::default()).unwrap(), 7);
    let devices = store.top_devices(from, 10).unwrap();
    assert_eq!(
        devices,
        vec![leader(two, "", "", 27), leader(one, "", "", 14)],
        "devices enrolled without facts have an empty host name"
    );

    // Alerts: one per device and alerting indicator that was hit.
    let all = store.alerts_by_severity(None).unwrap();
    assert_eq!(all, vec![(Severity::High, 1), (Severity::Low, 2)]);
    let listed = store
        .alerts(&AlertQuery {
            top: 100,
            ..AlertQuery::default()
        })
        .unwrap();
    let first = listed.iter().find(|x| x.severity == Severity::Low).unwrap();
    store
        .triage_alert(
            first.id,
            &TriageUpdate {
                status: Some(AlertStatus::InProgress),
                ..TriageUpdate::default()
            },
            &c,
        )
        .unwrap();
    assert_eq!(
        store.alerts_by_severity(Some(AlertStatus::New)).unwrap(),
        vec![(Severity::High, 1), (Severity::Low, 1)]
    );
    assert_eq!(
        store
            .alerts_by_severity(Some(AlertStatus::Resolved))
            .unwrap(),
        vec![]
    );

    assert_eq!(
        store.indicators_by_source().unwrap(),
        vec![
            SourceCount {
                kind: ActorKind::Feed,
                feed: "level1".into(),
                indicators: 3
            },
            SourceCount {
                kind: ActorKind::ApiToken,
                feed: String::new(),
                indicators: 2
            },
        ]
    );
}

/// The audit page's filters against the whole log, filtered here.
pub(super) fn audit_entries_filter_page_and_count(store: &dyn Store) {
    use super::super::AuditQuery;
    use super::super::overview::AuditFilter;
    let tester = actor();
    let bob = Actor {
        name: "bob".into(),
        kind: ActorKind::User,
    };
    let mut ids = Vec::new();
    for (i, who) in [&tester, &bob, &tester, &bob, &bob].into_iter().enumerate() {
        let value = format!("192.0.2.{}", i + 1);
        let made = store
            .upsert_indicators(
                &[draft(&value, "Block", &[], None)],
                &Change {
                    actor: who,
                    at: 10 + i as i64,
                },
            )
            .unwrap();
        ids.extend(made);
    }
    let bob_change = Change {
        actor: &bob,
        at: 20,
    };
    store
        .delete_indicator(ids[4], &bob_change)
        .unwrap()
        .unwrap();
    let all = store
        .audit_log(&AuditQuery {
            top: 1000,
            ..AuditQuery::default()
        })
        .unwrap();
    let actions = store.audit_actions().unwrap();
    assert_eq!(
        actions.iter().map(|a| a.1).sum::<u64>(),
        all.len() as u64,
        "every entry has its action counted: {actions:?}"
    );
    assert!(actions.len() >= 2, "{actions:?}");
    let delete = all
        .iter()
        .find(|e| e.actor.name == "bob" && e.at == 20)
        .unwrap();
    for actor_name in [None, Some("bob"), Some("tester"), Some("nobody")] {
        for action in [None, Some(delete.action.as_str())] {
            let expected: Vec<i64> = all
                .iter()
                .filter(|e| actor_name.is_none_or(|n| e.actor.name == n))
                .filter(|e| action.is_none_or(|a| e.action == a))
                .map(|e| e.id)
                .collect();
            let filter = |skip| AuditFilter {
                actor: actor_name.map(str::to_owned),
                action: action.map(str::to_owned),
                order: None,
                top: 2,
                skip,
            };
            let (first, total) = store.audit_entries(&filter(0)).unwrap();
            let (second, again) = store.audit_entries(&filter(2)).unwrap();
            assert_eq!(
                (total, again),
                (expected.len() as u64, expected.len() as u64)
            );
            let paged: Vec<i64> = first.iter().chain(&second).map(|e| e.id).collect();
            let want: Vec<i64> = expected.iter().copied().take(4).collect();
            assert_eq!(
                paged, want,
                "{actor_name:?} {action:?}: newest first, in pages"
            );
        }
    }
    let (one, _) = store
        .audit_entries(&AuditFilter {
            actor: Some("bob".into()),
            action: Some(delete.action.clone()),
            order: None,
            top: 10,
            skip: 0,
        })
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], *delete, "the same record as the audit log's");
}
