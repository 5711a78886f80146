//! Storm control: hits with the same indicators, process, endpoints, protocol, direction and
//! outcome within one interval become one event with an exact count. A process beaconing
//! 10,000 times a second to a blocked address yields one event per interval, not 10,000.

use std::collections::HashMap;
use std::net::IpAddr;

use netward_model::detection::{
    AgentEvent, Direction, MatchedIndicator, Outcome, ProcessInfo, Reason, protocol_name,
};

use super::nflog::Hit;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    direction: Direction,
    outcome: Outcome,
    reason: Reason,
    protocol: u8,
    local: IpAddr,
    remote: IpAddr,
    remote_port: Option<u16>,
    indicators: Vec<MatchedIndicator>,
    process: Option<ProcessInfo>,
}

#[derive(Clone, Debug)]
struct Tally {
    first_ms: i64,
    last_ms: i64,
    count: u64,
    /// The local port, while every hit used the same one.
    local_port: Option<u16>,
    ports_differ: bool,
    /// Order of first arrival, so that events leave in the order they began.
    order: u64,
}

/// Hits gathered since the last drain.
#[derive(Debug, Default)]
pub struct Aggregator {
    tallies: HashMap<Key, Tally>,
    next: u64,
    hits: u64,
}

impl Aggregator {
    /// Counts one hit seen at `at_ms` (Unix milliseconds).
    pub fn add(
        &mut self,
        hit: &Hit,
        indicators: Vec<MatchedIndicator>,
        process: Option<ProcessInfo>,
        at_ms: i64,
    ) {
        self.hits += 1;
        let key = Key {
            direction: hit.verdict.direction,
            outcome: hit.verdict.outcome,
            reason: hit.verdict.reason,
            protocol: hit.protocol,
            local: hit.local,
            remote: hit.remote,
            remote_port: hit.remote_port,
            indicators,
            process,
        };
        let next = &mut self.next;
        let tally = self.tallies.entry(key).or_insert_with(|| {
            *next += 1;
            Tally {
                first_ms: at_ms,
                last_ms: at_ms,
                count: 0,
                local_port: hit.local_port,
                ports_differ: false,
                order: *next,
            }
        });
        tally.count += 1;
        tally.first_ms = tally.first_ms.min(at_ms);
        tally.last_ms = tally.last_ms.max(at_ms);
        if tally.local_port != hit.local_port {
            tally.ports_differ = true;
        }
    }

    /// Hits counted since the last drain.
    pub fn pending_hits(&self) -> u64 {
        self.hits
    }

    /// The events gathered, in the order they began, without sequence numbers (the spool
    /// assigns them); empties the aggregator.
    pub fn drain(&mut self) -> Vec<AgentEvent> {
        self.hits = 0;
        let mut out: Vec<(u64, AgentEvent)> = self
            .tallies
            .drain()
            .map(|(k, t)| {
                (
                    t.order,
                    AgentEvent {
                        seq: 0,
                        first_seen_ms: t.first_ms,
                        last_seen_ms: t.last_ms,
                        count: t.count,
                        direction: k.direction,
                        protocol: protocol_name(k.protocol),
                        local_ip: k.local.to_string(),
                        local_port: if t.ports_differ { None } else { t.local_port },
                        remote_ip: k.remote.to_string(),
                        remote_port: k.remote_port,
                        outcome: k.outcome,
                        reason: k.reason,
                        indicators: k.indicators,
                        process: k.process,
                    },
                )
            })
            .collect();
        out.sort_by_key(|(order, _)| *order);
        out.into_iter().map(|(_, e)| e).collect()
    }
}

#[cfg(test)]
mod tests {
    use netward_model::Action;

    use super::*;
    use crate::log_prefix::Verdict;

    fn hit(remote: &str, local_port: u16, outcome: Outcome) -> Hit {
        Hit {
            verdict: Verdict {
                direction: Direction::Outbound,
                set_action: Action::Block,
                outcome,
                reason: Reason::IndicatorBlock,
            },
            protocol: 6,
            local: "10.0.0.1".parse().unwrap(),
            local_port: Some(local_port),
            remote: remote.parse().unwrap(),
            remote_port: Some(443),
            uid: Some(0),
            echo_id: None,
        }
    }

    #[test]
    fn a_storm_becomes_one_event_with_an_exact_count() {
        let mut a = Aggregator::default();
        let ind = vec![MatchedIndicator {
            id: 1,
            value: "198.51.100.7".into(),
        }];
        for i in 0..10_000u16 {
            a.add(
                &hit("198.51.100.7", 30_000 + i, Outcome::Blocked),
                ind.clone(),
                None,
                1_000 + i64::from(i),
            );
        }
        a.add(&hit("198.51.100.8", 1, Outcome::Blocked), vec![], None, 5);
        assert_eq!(a.pending_hits(), 10_001);
        let events = a.drain();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].count, 10_000);
        assert_eq!(
            (events[0].first_seen_ms, events[0].last_seen_ms),
            (1_000, 10_999)
        );
        assert_eq!(events[0].local_port, None, "the ports differed");
        assert_eq!(events[1].local_port, Some(1));
        assert_eq!(events[1].count, 1);
        assert!(a.drain().is_empty());
        assert_eq!(a.pending_hits(), 0);
    }

    #[test]
    fn outcomes_and_processes_are_never_merged() {
        let mut a = Aggregator::default();
        let p = ProcessInfo {
            pid: 7,
            name: "curl".into(),
            ..ProcessInfo::default()
        };
        a.add(&hit("192.0.2.1", 1, Outcome::Blocked), vec![], None, 0);
        a.add(&hit("192.0.2.1", 1, Outcome::Audited), vec![], None, 0);
        a.add(&hit("192.0.2.1", 1, Outcome::Blocked), vec![], Some(p), 0);
        assert_eq!(a.drain().len(), 3);
    }
}
