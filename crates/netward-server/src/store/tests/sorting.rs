//! The conformance cases of sorting in the store: each list's whitelisted columns order every
//! page, addresses as numbers (`100.64.0.2` before `100.64.0.10`), and the counts behind a
//! list's "1–100 of N".

use netward_model::detection::{AgentEvent, Direction, MatchedIndicator, Outcome, Reason};
use netward_model::{Actor, ActorKind, Severity};

use super::super::overview::AuditFilter;
use super::super::{AlertColumn, AlertQuery, AuditColumn, Change, IncidentColumn, Sort, Store};
use super::{actor, draft, enrolled};

/// One hit of the indicator `(id, value)` at `at_ms`, `count` attempts.
fn hit(seq: u64, at_ms: i64, count: u64, (id, value): (i64, &str)) -> AgentEvent {
    AgentEvent {
        seq,
        first_seen_ms: at_ms,
        last_seen_ms: at_ms,
        count,
        direction: Direction::Outbound,
        protocol: "tcp".into(),
        local_ip: "192.0.2.1".into(),
        local_port: None,
        remote_ip: value.into(),
        remote_port: Some(443),
        outcome: Outcome::Blocked,
        reason: Reason::IndicatorBlock,
        indicators: vec![MatchedIndicator {
            id,
            value: value.into(),
        }],
        process: None,
    }
}

pub(super) fn alerts_and_incidents_sort_and_page_in_the_store(store: &dyn Store) {
    fn by<C>(column: C, descending: bool) -> Option<Sort<C>> {
        Some(Sort { column, descending })
    }
    let a = actor();
    let c = Change { actor: &a, at: 1 };
    // Text order would put .10 before .2 and .9.
    let values = ["100.64.0.10", "100.64.0.2", "100.64.0.9"];
    let severities = [Severity::Medium, Severity::High, Severity::Low];
    let mut ids = Vec::new();
    for (v, s) in values.iter().zip(severities) {
        let mut d = draft(v, "Block", &[], None);
        d.generate_alert = true;
        d.severity = s;
        ids.push(store.upsert_indicators(&[d], &c).unwrap()[0]);
    }
    let device = enrolled(store, "sorted", &c);
    let events: Vec<AgentEvent> = (0..3)
        .map(|n| {
            hit(
                n as u64 + 1,
                1_000 * (n as i64 + 1),
                5 - n as u64,
                (ids[n], values[n]),
            )
        })
        .collect();
    store.ingest_events(device, &events, 0, 0, 0).unwrap();

    let alerts = |order: Option<Sort<AlertColumn>>, top, skip| -> Vec<String> {
        store
            .alerts(&AlertQuery {
                order,
                top,
                skip,
                ..AlertQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|a| a.indicator_value)
            .collect()
    };
    assert_eq!(
        alerts(None, 10, 0),
        ["100.64.0.9", "100.64.0.2", "100.64.0.10"],
        "newest activity first without an order"
    );
    assert_eq!(
        alerts(by(AlertColumn::Indicator, false), 10, 0),
        ["100.64.0.2", "100.64.0.9", "100.64.0.10"],
        "addresses in numeric order"
    );
    assert_eq!(
        alerts(by(AlertColumn::Indicator, true), 10, 0),
        ["100.64.0.10", "100.64.0.9", "100.64.0.2"]
    );
    assert_eq!(
        alerts(by(AlertColumn::Indicator, false), 2, 2),
        ["100.64.0.10"],
        "the order holds across pages"
    );
    assert_eq!(
        alerts(by(AlertColumn::Severity, true), 10, 0),
        ["100.64.0.2", "100.64.0.10", "100.64.0.9"],
        "severity by rank, not by name"
    );
    assert_eq!(
        alerts(by(AlertColumn::Hits, false), 10, 0),
        ["100.64.0.9", "100.64.0.2", "100.64.0.10"]
    );
    assert_eq!(store.count_alerts(&AlertQuery::default()).unwrap(), 3);
    assert_eq!(
        store
            .count_alerts(&AlertQuery {
                indicator: Some(ids[1]),
                ..AlertQuery::default()
            })
            .unwrap(),
        1
    );

    let incidents = |order: Option<Sort<IncidentColumn>>, top, skip| -> Vec<String> {
        store
            .incidents(None, None, order, top, skip)
            .unwrap()
            .into_iter()
            .map(|i| i.indicator_value)
            .collect()
    };
    assert_eq!(
        incidents(by(IncidentColumn::Indicator, false), 10, 0),
        ["100.64.0.2", "100.64.0.9", "100.64.0.10"]
    );
    assert_eq!(
        incidents(by(IncidentColumn::Hits, true), 1, 1),
        ["100.64.0.2"],
        "by a count, across pages"
    );
    assert_eq!(store.count_incidents(None).unwrap(), 3);
    assert_eq!(
        store
            .count_incidents(Some(netward_model::detection::AlertStatus::Resolved))
            .unwrap(),
        0
    );
}

pub(super) fn the_audit_log_sorts_by_a_column_in_the_store(store: &dyn Store) {
    let names = ["carol", "alice", "bob"];
    for (n, name) in names.iter().enumerate() {
        let who = Actor {
            name: (*name).into(),
            kind: ActorKind::User,
        };
        let value = format!("100.64.0.{}", n + 1);
        store
            .upsert_indicators(
                &[draft(&value, "Block", &[], None)],
                &Change {
                    actor: &who,
                    at: 10 + n as i64,
                },
            )
            .unwrap();
    }
    let sorted = |column, descending, skip| -> Vec<String> {
        store
            .audit_entries(&AuditFilter {
                action: Some("indicator.create".into()),
                order: Some(Sort { column, descending }),
                top: 2,
                skip,
                ..AuditFilter::default()
            })
            .unwrap()
            .0
            .into_iter()
            .map(|e| e.actor.name)
            .collect()
    };
    assert_eq!(sorted(AuditColumn::Actor, false, 0), ["alice", "bob"]);
    assert_eq!(sorted(AuditColumn::Actor, false, 2), ["carol"]);
    assert_eq!(sorted(AuditColumn::Actor, true, 0), ["carol", "bob"]);
    assert_eq!(sorted(AuditColumn::Time, false, 0), ["carol", "alice"]);
    assert_eq!(
        sorted(AuditColumn::Action, true, 0),
        ["bob", "alice"],
        "ties by id"
    );
}
