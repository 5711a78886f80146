//! What is PostgreSQL's own in detection: daily partitions made by two replicas at once,
//! retention dropping whole days, and a large batch through `COPY`, re-sent.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use std::sync::{Arc, Barrier};

use netward_model::detection::{AgentEvent, Direction, Outcome, Reason};
use netward_model::{Actor, ActorKind};
use netward_testkit::postgres::PgCluster;

use super::partitions::{self, DAY_MS};
use crate::store::{Change, DetectionStore, EnrollmentStore, EventQuery, PgStore};

/// A store on a fresh database of `cluster`, with one enrolled device; the device's id.
fn store_with_device(cluster: &PgCluster, name: &str) -> (PgStore, i64) {
    let store = PgStore::open(&cluster.create_database(name)).unwrap();
    let actor = Actor {
        name: "tester".into(),
        kind: ActorKind::ApiToken,
    };
    let change = Change {
        actor: &actor,
        at: 1,
    };
    store
        .create_enroll_token("t", "default", i64::MAX, 0, &change)
        .unwrap();
    let device = store
        .enroll_device("t", &Default::default(), "d", &change)
        .unwrap()
        .unwrap()
        .id;
    (store, device)
}

fn event(seq: u64, at: i64) -> AgentEvent {
    AgentEvent {
        seq,
        first_seen_ms: at,
        last_seen_ms: at,
        count: 1,
        direction: Direction::Outbound,
        protocol: "tcp".into(),
        local_ip: "192.0.2.1".into(),
        local_port: Some(40_000),
        remote_ip: format!("198.51.100.{}", seq % 250),
        remote_port: Some(443),
        outcome: Outcome::Blocked,
        reason: Reason::IndicatorBlock,
        indicators: Vec::new(),
        process: None,
    }
}

/// The days that have a partition of their own.
fn partition_days(store: &PgStore) -> Vec<i64> {
    let mut conn = store.conn().unwrap();
    let mut days: Vec<i64> = conn
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'events'::regclass AND c.relname <> 'events_default'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0)["events_d".len()..].parse().unwrap())
        .collect();
    days.sort_unstable();
    days
}

fn all_events(store: &PgStore) -> Vec<crate::store::StoredEvent> {
    store
        .events(&EventQuery {
            top: 100_000,
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn two_connections_create_the_same_days_once() {
    let cluster = PgCluster::start();
    let (store, _) = store_with_device(&cluster, "partitions_race");
    let store = Arc::new(store);
    let today = 20_000 * DAY_MS;
    let barrier = Arc::new(Barrier::new(2));
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut conn = store.conn().unwrap();
                barrier.wait();
                let days = [today - DAY_MS, today, today + 1];
                partitions::ensure(&mut conn, days.into_iter(), today)
            })
        })
        .collect();
    for racer in racers {
        racer.join().unwrap().unwrap();
    }
    assert_eq!(partition_days(&store), vec![19_999, 20_000]);
}

#[test]
fn retention_drops_whole_days_and_deletes_only_in_the_cutoff_day() {
    let cluster = PgCluster::start();
    let (store, device) = store_with_device(&cluster, "partitions_purge");
    let day = 20_000;
    let batch: Vec<AgentEvent> = (0..30)
        .map(|n| event(n + 1, (day + (n as i64 % 3)) * DAY_MS + 1_000 * n as i64))
        .collect();
    let at = (day + 2) * DAY_MS;
    assert_eq!(
        store
            .ingest_events(device, &batch, 0, 0, at)
            .unwrap()
            .stored
            .len(),
        30
    );
    assert_eq!(partition_days(&store), vec![day, day + 1, day + 2]);
    // The cutoff falls inside day + 1: day goes whole, day + 1 keeps its later rows.
    let cutoff = (day + 1) * DAY_MS + 15_000;
    let older = batch.iter().filter(|e| e.last_seen_ms < cutoff).count();
    assert_eq!(store.purge_events(cutoff).unwrap(), older as u64);
    assert_eq!(partition_days(&store), vec![day + 1, day + 2]);
    let left = all_events(&store);
    assert_eq!(left.len(), 30 - older);
    assert!(left.iter().all(|e| e.event.last_seen_ms >= cutoff));
    // A purged event re-sent is new data again; one kept is still stored once.
    let again = store
        .ingest_events(device, &[batch[0].clone(), batch[29].clone()], 0, 0, at)
        .unwrap();
    assert_eq!(again.stored.len(), 1);
    assert_eq!(again.stored[0].event.seq, 1);
}

#[test]
fn a_day_beyond_the_clock_waits_in_the_default_partition_then_moves() {
    let cluster = PgCluster::start();
    let (store, device) = store_with_device(&cluster, "partitions_default");
    let now = 20_000 * DAY_MS;
    let far = now + 10 * DAY_MS;
    store
        .ingest_events(device, &[event(1, far)], 0, 0, now)
        .unwrap();
    assert_eq!(partition_days(&store), Vec::<i64>::new());
    let mut conn = store.conn().unwrap();
    let in_default: i64 = conn
        .query_one("SELECT count(*) FROM events_default", &[])
        .unwrap()
        .get(0);
    assert_eq!(in_default, 1);
    // Ten days later its day is near the clock: the partition is made and the row moves in.
    store
        .ingest_events(device, &[event(2, far + 5)], 0, 0, far)
        .unwrap();
    assert_eq!(partition_days(&store), vec![20_010]);
    let (in_default, in_day): (i64, i64) = conn
        .query_one(
            "SELECT (SELECT count(*) FROM events_default), (SELECT count(*) FROM events_d20010)",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((in_default, in_day), (0, 2));
}

#[test]
fn ten_thousand_events_are_copied_in_once_and_re_sent_for_nothing() {
    let cluster = PgCluster::start();
    let (store, device) = store_with_device(&cluster, "copy_ingest");
    let start = 20_000 * DAY_MS;
    let batch: Vec<AgentEvent> = (1..=10_000)
        .map(|n| event(n, start + n as i64 * 10_000))
        .collect();
    let first = store
        .ingest_events(device, &batch, 0, 0, start + DAY_MS)
        .unwrap();
    assert_eq!((first.stored.len(), first.acked_seq), (10_000, 10_000));
    // Numbered in the batch's order.
    assert!(first.stored.windows(2).all(|w| w[0].id < w[1].id));
    let again = store
        .ingest_events(device, &batch, 0, 0, start + DAY_MS)
        .unwrap();
    assert_eq!((again.stored.len(), again.acked_seq), (0, 10_000));
    let stored = all_events(&store);
    assert_eq!(stored.len(), 10_000);
    let newest = stored.iter().max_by_key(|e| e.event.seq).unwrap();
    assert_eq!(newest.event, batch[9_999]);
    assert_eq!(partition_days(&store), vec![20_000, 20_001]);
}
