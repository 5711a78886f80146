//! The sensor's reader on fakes: hit records in, counted events out, with the indicators, the
//! outcome and the process a user would expect to see. No root, no kernel.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netward_model::detection::{AgentEvent, MatchedIndicator, Outcome, ProcessInfo, Reason};
use netward_model::{Action, IndicatorValue, PolicyEntry};

use super::aggregate::Aggregator;
use super::attribution::Origin;
use super::fake::{FakeAttributor, FakeHitSource};
use super::nflog::Hit;
use super::source::Batch;
use super::{OwnTraffic, Reader, Sensor};
use crate::clock::FakeClock;
use crate::held::{HeldIndicators, SharedIndicators};
use crate::log_prefix::{Direction, Verdict};

const NOW_MS: i64 = 1_700_000_000_123;

fn entry(value: &str, action: Action, expires_at: Option<i64>) -> PolicyEntry {
    PolicyEntry {
        value: IndicatorValue::parse(value).unwrap(),
        action,
        expires_at,
    }
}

/// Indicators as the engine publishes them.
fn slot() -> SharedIndicators {
    let entries: HeldIndicators = [
        (1, entry("192.0.2.0/24", Action::Block, None)),
        (2, entry("192.0.2.7", Action::Block, None)),
        (3, entry("192.0.2.7", Action::Audit, None)),
        (4, entry("198.51.100.0/24", Action::Block, None)),
        // Expired a second before the hit: not behind it.
        (5, entry("192.0.2.0/25", Action::Block, Some(NOW_MS / 1000))),
    ]
    .into_iter()
    .collect();
    Arc::new(std::sync::RwLock::new(entries))
}

fn curl() -> Origin {
    Origin {
        at_ns: 1,
        tgid: 4242,
        tid: 4242,
        uid: 1000,
        ambiguous: false,
        comm: "curl".into(),
    }
}

fn attributor() -> FakeAttributor {
    let mut a = FakeAttributor::default();
    a.origins
        .insert((6, "192.0.2.7".parse().unwrap(), 443), curl());
    a.processes.insert(
        4242,
        ProcessInfo {
            pid: 4242,
            name: "curl".into(),
            exe: Some("/usr/bin/curl".into()),
            cmdline: Some("curl https://192.0.2.7".into()),
            uid: 1000,
            user: Some("alice".into()),
        },
    );
    a
}

fn hit(direction: Direction, outcome: Outcome, reason: Reason, uid: Option<u32>) -> Hit {
    Hit {
        verdict: Verdict {
            direction,
            set_action: Action::Block,
            outcome,
            reason,
        },
        protocol: 6,
        local: "10.0.0.1".parse().unwrap(),
        local_port: Some(40_000),
        remote: "192.0.2.7".parse().unwrap(),
        remote_port: Some(443),
        uid,
        echo_id: None,
    }
}

fn reader_with(
    attributor: Option<FakeAttributor>,
) -> (
    Reader<FakeAttributor, FakeClock>,
    Arc<Mutex<Aggregator>>,
    Arc<AtomicU64>,
) {
    let aggregator = Arc::new(Mutex::new(Aggregator::default()));
    let lost = Arc::new(AtomicU64::new(0));
    let reader = Reader {
        attributor,
        clock: {
            let clock = FakeClock::default();
            clock.set_ms(NOW_MS);
            clock
        },
        indicators: slot(),
        processes: Default::default(),
        aggregator: aggregator.clone(),
        lost: lost.clone(),
        own: OwnTraffic::default(),
    };
    (reader, aggregator, lost)
}

fn drain(aggregator: &Mutex<Aggregator>) -> Vec<AgentEvent> {
    aggregator.lock().unwrap().drain()
}

fn ids(event: &AgentEvent) -> Vec<i64> {
    event
        .indicators
        .iter()
        .map(|i: &MatchedIndicator| i.id)
        .collect()
}

#[test]
fn an_outbound_block_names_its_indicators_outcome_and_process() {
    let (mut reader, aggregator, lost) = reader_with(Some(attributor()));
    let blocked = hit(
        Direction::Outbound,
        Outcome::Blocked,
        Reason::IndicatorBlock,
        Some(1000),
    );
    reader.handle(Batch {
        hits: vec![blocked.clone(), blocked],
        lost: 3,
    });
    let events = drain(&aggregator);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(
        ids(e),
        [2, 1],
        "the block indicators behind it, most specific first"
    );
    assert_eq!(e.indicators[0].value, "192.0.2.7");
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Blocked, Reason::IndicatorBlock)
    );
    assert_eq!(
        (e.direction, e.protocol.as_str()),
        (Direction::Outbound, "tcp")
    );
    assert_eq!(
        (e.remote_ip.as_str(), e.remote_port),
        ("192.0.2.7", Some(443))
    );
    assert_eq!(
        (e.count, e.first_seen_ms, e.last_seen_ms),
        (2, NOW_MS, NOW_MS)
    );
    let process = e.process.as_ref().unwrap();
    assert_eq!(
        (process.pid, process.name.as_str(), process.user.as_deref()),
        (4242, "curl", Some("alice"))
    );
    assert_eq!(process.exe.as_deref(), Some("/usr/bin/curl"));
    assert_eq!(
        lost.load(Ordering::Relaxed),
        3,
        "losses are counted exactly"
    );
}

#[test]
fn the_process_is_unknown_when_it_cannot_be_certain() {
    let (mut reader, aggregator, _) = reader_with(Some(attributor()));
    // Inbound traffic was not started here; another uid sent the packet.
    reader.handle(Batch {
        hits: vec![
            hit(
                Direction::Inbound,
                Outcome::Blocked,
                Reason::IndicatorBlock,
                None,
            ),
            hit(
                Direction::Outbound,
                Outcome::Blocked,
                Reason::IndicatorBlock,
                Some(0),
            ),
        ],
        lost: 0,
    });
    let events = drain(&aggregator);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.process.is_none()), "{events:?}");
    assert_eq!(events[0].direction, Direction::Inbound);
    // Two processes at once.
    let mut ambiguous = attributor();
    for origin in ambiguous.origins.values_mut() {
        origin.ambiguous = true;
    }
    let (mut reader, aggregator, _) = reader_with(Some(ambiguous));
    reader.handle(Batch {
        hits: vec![hit(
            Direction::Outbound,
            Outcome::Blocked,
            Reason::IndicatorBlock,
            Some(1000),
        )],
        lost: 0,
    });
    assert_eq!(drain(&aggregator)[0].process, None);
    // No attribution at all.
    let (mut reader, aggregator, _) = reader_with(None);
    reader.handle(Batch {
        hits: vec![hit(
            Direction::Outbound,
            Outcome::Blocked,
            Reason::IndicatorBlock,
            Some(1000),
        )],
        lost: 0,
    });
    assert_eq!(drain(&aggregator)[0].process, None);
}

#[test]
fn an_exited_process_keeps_what_the_kernel_said() {
    let mut a = attributor();
    a.processes.clear();
    let (mut reader, aggregator, _) = reader_with(Some(a));
    reader.handle(Batch {
        hits: vec![hit(
            Direction::Outbound,
            Outcome::Blocked,
            Reason::IndicatorBlock,
            Some(1000),
        )],
        lost: 0,
    });
    let process = drain(&aggregator)[0].process.clone().unwrap();
    assert_eq!(
        (process.pid, process.name.as_str(), process.uid),
        (4242, "curl", 1000)
    );
    assert_eq!((process.exe, process.user), (None, None));
}

#[test]
fn the_outcome_is_the_rules_not_the_policys() {
    // A block indicator under device audit mode: the rule let it through and said so.
    let (mut reader, aggregator, _) = reader_with(Some(attributor()));
    reader.handle(Batch {
        hits: vec![hit(
            Direction::Outbound,
            Outcome::Audited,
            Reason::DeviceAuditMode,
            Some(1000),
        )],
        lost: 0,
    });
    let e = &drain(&aggregator)[0];
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Audited, Reason::DeviceAuditMode)
    );
    assert_eq!(ids(e), [2, 1]);
}

#[test]
fn the_sensor_thread_reads_a_fake_source_until_dropped() {
    let (source, feed) = FakeHitSource::new();
    let clock = FakeClock::default();
    clock.set_ms(NOW_MS);
    let sensor = Sensor::start(source, Some(attributor()), clock, slot());
    assert!(sensor.attribution);
    feed.send(Batch {
        hits: vec![hit(
            Direction::Outbound,
            Outcome::Blocked,
            Reason::IndicatorBlock,
            Some(1000),
        )],
        lost: 2,
    })
    .unwrap();
    // The thread counts the batch on its own time: wait for it, with a deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sensor.aggregator.lock().unwrap().pending_hits() == 0 {
        assert!(
            Instant::now() < deadline,
            "the sensor never counted the hit"
        );
        std::thread::yield_now();
    }
    let events = drain(&sensor.aggregator);
    assert_eq!(ids(&events[0]), [2, 1]);
    assert_eq!(sensor.lost.load(Ordering::Relaxed), 2);
    drop(sensor);
}

#[test]
fn the_agents_own_connections_to_its_servers_are_not_reported_but_counted() {
    let (mut reader, aggregator, _) = reader_with(None);
    let own = reader.own.clone();
    // Two replicas, at 8440 and 8441.
    own.set(
        &[netward_model::agent_wire::Exemption {
            range: "192.0.2.10".parse().unwrap(),
            reason: netward_model::agent_wire::ExemptionReason::Server,
        }],
        vec![8440, 8441],
    );
    let to = |remote: &str, port: u16, outcome: Outcome| Hit {
        remote: remote.parse().unwrap(),
        remote_port: Some(port),
        ..hit(Direction::Outbound, outcome, Reason::IndicatorAllow, None)
    };
    reader.handle(Batch {
        hits: vec![
            to("192.0.2.10", 8440, Outcome::Allowed),
            to("192.0.2.10", 8441, Outcome::Allowed),
            // The server's address on another port, and another address on the port, are
            // someone else's traffic.
            to("192.0.2.10", 22, Outcome::Allowed),
            to("192.0.2.11", 8440, Outcome::Allowed),
        ],
        lost: 0,
    });
    let events = drain(&aggregator);
    let remotes: Vec<_> = events
        .iter()
        .map(|e| (e.remote_ip.as_str(), e.remote_port))
        .collect();
    assert_eq!(
        remotes,
        [("192.0.2.10", Some(22)), ("192.0.2.11", Some(8440))]
    );
    assert_eq!(own.skipped(), 2);
}

#[test]
fn an_icmp_echo_is_attributed_by_its_identifier() {
    let mut a = attributor();
    a.origins
        .insert((1, "192.0.2.7".parse().unwrap(), 0x77), curl());
    let (mut reader, aggregator, _) = reader_with(Some(a));
    let ping = |echo_id| Hit {
        protocol: 1,
        local_port: None,
        remote_port: None,
        echo_id,
        ..hit(
            Direction::Outbound,
            Outcome::Blocked,
            Reason::IndicatorBlock,
            Some(1000),
        )
    };
    reader.handle(Batch {
        hits: vec![ping(Some(0x77))],
        lost: 0,
    });
    let events = drain(&aggregator);
    assert_eq!(events[0].process.as_ref().map(|p| p.pid), Some(4242));
    reader.handle(Batch {
        hits: vec![ping(Some(0x78))],
        lost: 0,
    });
    assert_eq!(drain(&aggregator)[0].process, None, "another identifier");
}

#[test]
fn a_hit_read_just_after_an_expiry_still_names_the_indicator_the_kernel_enforced() {
    let (mut reader, aggregator, _) = reader_with(None);
    let expiry_ms = (NOW_MS / 1000) * 1000;
    let blocked = || Batch {
        hits: vec![hit(
            Direction::Outbound,
            Outcome::Blocked,
            Reason::IndicatorBlock,
            None,
        )],
        lost: 0,
    };
    reader.clock.set_ms(expiry_ms + super::EXPIRY_GRACE_MS - 1);
    reader.handle(blocked());
    assert_eq!(ids(&drain(&aggregator)[0]), [2, 5, 1], "within the grace");
    reader.clock.set_ms(expiry_ms + super::EXPIRY_GRACE_MS);
    reader.handle(blocked());
    assert_eq!(ids(&drain(&aggregator)[0]), [2, 1], "past it");
}
