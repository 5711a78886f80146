//! The conformance cases of sorting in the store: each list's whitelisted columns order every
//! page, addresses as numbers (`100.64.0.2` before `100.64.0.10`), and the counts behind a
//! list's "1–100 of N".

use netward_model::detection::{AgentEvent, Direction, MatchedIndicator, Outcome, Reason};
use netward_model::{Actor, ActorKind, Severity};

use super::super::overview::AuditFilter;
use super::super::{
    AlertColumn, AlertQuery, AuditColumn, Change, ContactColumn, EventQuery, IncidentColumn, Sort,
    Store,
};
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
    let other = enrolled(store, "other", &c);
    store
        .ingest_events(other, &[hit(1, 500, 1, (ids[0], values[0]))], 0, 0, 0)
        .unwrap();

    // Hunting: device and process pairs, sorted and paged in the store, and counted.
    let (lo, hi) = netward_model::IndicatorValue::parse("100.64.0.0/24")
        .unwrap()
        .bounds();
    let hunt = EventQuery {
        remote: Some((false, lo, hi)),
        top: 1,
        ..EventQuery::default()
    };
    let devices = |order, skip| -> Vec<i64> {
        store
            .contacts(
                &EventQuery {
                    skip,
                    ..hunt.clone()
                },
                order,
            )
            .unwrap()
            .into_iter()
            .map(|c| c.device_id)
            .collect()
    };
    assert_eq!(
        devices(None, 0),
        [other],
        "first contact first without an order"
    );
    assert_eq!(devices(by(ContactColumn::Hits, true), 0), [device]);
    assert_eq!(devices(by(ContactColumn::Hits, true), 1), [other]);
    assert_eq!(store.count_contacts(&hunt).unwrap(), 2);
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

pub(super) fn short_lists_sort_page_and_count_in_the_store(store: &dyn Store) {
    use netward_model::Role;
    use netward_model::wire::FeedBody;

    use super::super::{EnrollTokenColumn, FeedColumn, ListPage, TokenColumn};
    use crate::feeds::config::FeedConfig;
    fn page<C>(column: C, descending: bool, top: usize, skip: usize) -> ListPage<C> {
        ListPage {
            order: Some(Sort { column, descending }),
            top,
            skip,
        }
    }
    let a = actor();
    for (n, (name, role)) in [
        ("carol", Role::Viewer),
        ("alice", Role::Admin),
        ("bob", Role::Analyst),
    ]
    .into_iter()
    .enumerate()
    {
        let c = Change {
            actor: &a,
            at: 10 - n as i64,
        };
        store
            .create_token(name, role, &format!("hash-{name}"), &c)
            .unwrap();
    }
    let names = |p: ListPage<TokenColumn>| -> (Vec<String>, u64) {
        let (list, total) = store.tokens_page(&p).unwrap();
        (list.into_iter().map(|t| t.name).collect(), total)
    };
    assert_eq!(
        names(page(TokenColumn::Name, false, 2, 0)),
        (vec!["alice".into(), "bob".into()], 3)
    );
    assert_eq!(
        names(page(TokenColumn::Name, false, 2, 2)),
        (vec!["carol".into()], 3)
    );
    assert_eq!(names(page(TokenColumn::Created, false, 1, 0)).0, ["bob"]);
    assert_eq!(
        names(ListPage {
            order: None,
            top: 10,
            skip: 0
        })
        .0,
        ["carol", "alice", "bob"],
        "oldest first without an order"
    );

    let c = Change { actor: &a, at: 1 };
    for (hash, group, expires) in [
        ("e1", "default", 300),
        ("e2", "default", 100),
        ("e3", "default", 200),
    ] {
        store
            .create_enroll_token(hash, group, expires, 1, &c)
            .unwrap();
    }
    let expiries = |p: ListPage<EnrollTokenColumn>| -> (Vec<i64>, u64) {
        let (list, total) = store.enroll_tokens_page(&p).unwrap();
        (list.into_iter().map(|t| t.expires_at).collect(), total)
    };
    assert_eq!(
        expiries(page(EnrollTokenColumn::Expires, true, 2, 0)),
        (vec![300, 200], 3)
    );
    assert_eq!(
        expiries(ListPage {
            order: None,
            top: 10,
            skip: 0
        })
        .0,
        [200, 100, 300],
        "newest first without an order"
    );

    for (name, kind) in [
        ("zeta", "plain"),
        ("alpha", "misp-feed"),
        ("mid", "spamhaus-json"),
    ] {
        let config = FeedConfig::create(FeedBody {
            name: Some(name.into()),
            kind: Some(kind.into()),
            url: Some(format!("https://example.org/{name}")),
            ..FeedBody::default()
        })
        .unwrap();
        store.create_feed(&config, &c).unwrap().unwrap();
    }
    let feeds = |p: ListPage<FeedColumn>| -> (Vec<String>, u64) {
        let (list, total) = store.feeds_page(&p).unwrap();
        (list.into_iter().map(|f| f.config.name).collect(), total)
    };
    assert_eq!(
        feeds(ListPage {
            order: None,
            top: 2,
            skip: 0
        }),
        (vec!["alpha".into(), "mid".into()], 3)
    );
    assert_eq!(feeds(page(FeedColumn::Kind, true, 1, 1)).0, ["zeta"]);
}
