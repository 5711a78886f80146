//! The agent channel's JSON, both ways: the policy updates an agent reads, and the
//! enrollment, acknowledgement and event bodies the server reads. Valid messages round-trip;
//! valid messages with values swapped for odd ones, keys duplicated, or bytes cut are
//! refused or read, never a panic.

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netward_testkit::fuzz::fuzz;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{edits, mutate, odd_byte, odd_json, odd_text, swap_somewhere};
use crate::agent_wire::{
    AckRequest, AgentIndicator, DeviceFacts, EnrollRequest, Exemption, ExemptionReason,
    PolicyUpdate,
};
use crate::detection::{
    AgentEvent, Direction, EventBatch, MatchedIndicator, Outcome, ProcessInfo, Reason,
};
use crate::{Action, Coverage, IndicatorValue, ProtectionMode};

fn indicator_value() -> impl Strategy<Value = IndicatorValue> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, p)| (IpAddr::V4(Ipv4Addr::from(a)), p)),
        (any::<u128>(), 0u8..=128).prop_map(|(a, p)| (IpAddr::V6(Ipv6Addr::from(a)), p)),
    ]
    .prop_filter_map("a network", |(addr, p)| {
        let net = IpNet::new(addr, p).ok()?.trunc();
        IndicatorValue::parse(&net.to_string()).ok()
    })
}

fn facts() -> impl Strategy<Value = DeviceFacts> {
    (
        odd_text(),
        odd_text(),
        odd_text(),
        odd_text(),
        proptest::collection::vec(odd_text(), 0..3),
    )
        .prop_map(
            |(hostname, os, kernel, agent_version, addresses)| DeviceFacts {
                hostname,
                os,
                kernel,
                agent_version,
                addresses,
            },
        )
}

fn policy_update() -> impl Strategy<Value = PolicyUpdate> {
    let indicator = (
        any::<i64>(),
        indicator_value(),
        proptest::sample::select(vec![Action::Allow, Action::Audit, Action::Block]),
        proptest::option::of(any::<i64>()),
        odd_text(),
    )
        .prop_map(|(id, value, action, expires_at, title)| AgentIndicator {
            id,
            value,
            action,
            expires_at,
            title,
        });
    (
        (any::<u64>(), any::<bool>(), odd_text()),
        proptest::sample::select(vec![
            ProtectionMode::Off,
            ProtectionMode::Audit,
            ProtectionMode::Block,
        ]),
        proptest::sample::select(vec![Coverage::All, Coverage::Tcp]),
        proptest::collection::vec(indicator, 0..4),
        proptest::collection::vec(any::<i64>(), 0..4),
        any::<i64>(),
    )
        .prop_map(
            |((version, full, group), mode, coverage, upserts, removals, server_time)| {
                PolicyUpdate {
                    version,
                    full,
                    group,
                    mode,
                    coverage,
                    upserts,
                    removals,
                    server_time,
                }
            },
        )
}

fn ack_request() -> impl Strategy<Value = AckRequest> {
    (
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec(any::<i64>(), 0..4),
        proptest::option::of(odd_text()),
        any::<bool>(),
        facts(),
        proptest::collection::vec(
            (
                indicator_value(),
                proptest::sample::select(vec![
                    ExemptionReason::Loopback,
                    ExemptionReason::Server,
                    ExemptionReason::DnsResolver,
                ]),
            )
                .prop_map(|(range, reason)| Exemption { range, reason }),
            0..3,
        ),
    )
        .prop_map(
            |(version, entries, not_enforceable, error, tamper_repaired, facts, exemptions)| {
                AckRequest {
                    version,
                    entries,
                    not_enforceable,
                    error,
                    tamper_repaired,
                    facts,
                    exemptions,
                }
            },
        )
}

fn enroll_request() -> impl Strategy<Value = EnrollRequest> {
    (odd_text(), facts()).prop_map(|(token, facts)| EnrollRequest { token, facts })
}

fn agent_event() -> impl Strategy<Value = AgentEvent> {
    let process = (
        any::<u32>(),
        odd_text(),
        proptest::option::of(odd_text()),
        proptest::option::of(odd_text()),
        any::<u32>(),
        proptest::option::of(odd_text()),
    )
        .prop_map(|(pid, name, exe, cmdline, uid, user)| ProcessInfo {
            pid,
            name,
            exe,
            cmdline,
            uid,
            user,
        });
    let indicator =
        (any::<i64>(), odd_text()).prop_map(|(id, value)| MatchedIndicator { id, value });
    (
        (any::<u64>(), any::<i64>(), any::<i64>(), any::<u64>()),
        proptest::sample::select(vec![Direction::Outbound, Direction::Inbound]),
        (odd_text(), odd_text(), odd_text()),
        (any::<Option<u16>>(), any::<Option<u16>>()),
        proptest::sample::select(vec![Outcome::Blocked, Outcome::Audited, Outcome::Allowed]),
        proptest::sample::select(Reason::ALL.to_vec()),
        proptest::collection::vec(indicator, 0..3),
        proptest::option::of(process),
    )
        .prop_map(
            |(
                (seq, first_seen_ms, last_seen_ms, count),
                direction,
                (protocol, local_ip, remote_ip),
                (local_port, remote_port),
                outcome,
                reason,
                indicators,
                process,
            )| AgentEvent {
                seq,
                first_seen_ms,
                last_seen_ms,
                count,
                direction,
                protocol,
                local_ip,
                local_port,
                remote_ip,
                remote_port,
                outcome,
                reason,
                indicators,
                process,
            },
        )
}

fn event_batch() -> impl Strategy<Value = EventBatch> {
    (
        proptest::collection::vec(agent_event(), 0..3),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(events, dropped, lost)| EventBatch {
            events,
            dropped,
            lost,
        })
}

fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// How a valid message is spoiled before it is read.
#[derive(Debug, Clone)]
struct Spoil {
    swaps: Vec<(usize, Value)>,
    duplicate: Option<usize>,
    edits: Vec<(usize, u8, u8)>,
}

fn spoil() -> impl Strategy<Value = Spoil> {
    (
        proptest::collection::vec((any::<usize>(), odd_json()), 0..3),
        proptest::option::of(any::<usize>()),
        prop_oneof![Just(Vec::new()), edits()],
    )
        .prop_map(|(swaps, duplicate, edits)| Spoil {
            swaps,
            duplicate,
            edits,
        })
}

/// Writes `message`, spoils it, reads it back: an untouched message reads back equal, a
/// duplicated key is refused by name, and whatever reads writes and reads back the same.
fn check<T>(message: T, spoil: Spoil) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let fail = |e: serde_json::Error| TestCaseError::fail(e.to_string());
    let mut value = serde_json::to_value(&message).map_err(fail)?;
    let untouched = spoil.swaps.is_empty() && spoil.duplicate.is_none() && spoil.edits.is_empty();
    for (at, with) in spoil.swaps {
        swap_somewhere(&mut value, at, with);
    }
    let mut text = value.to_string();
    if let (Some(pick), Value::Object(map)) = (spoil.duplicate, &value)
        && !map.is_empty()
    {
        // The same key again, with another value, at the end of the top-level object.
        let key = map
            .keys()
            .nth(pick % map.len())
            .cloned()
            .unwrap_or_default();
        text.pop();
        let sep = if map.is_empty() { "" } else { "," };
        text.push_str(&format!("{sep}{}:null}}", Value::String(key.clone())));
        let read = read::<T>(text.as_bytes());
        prop_assert!(read.is_err(), "a duplicated `{}` was read: {}", key, text);
        return Ok(());
    }
    let body = mutate(text.into_bytes(), &spoil.edits);
    match read::<T>(&body) {
        Ok(got) => {
            if untouched {
                prop_assert_eq!(&got, &message);
            }
            let again = serde_json::to_vec(&got).map_err(fail)?;
            prop_assert_eq!(read::<T>(&again).ok(), Some(got));
        }
        Err(e) => prop_assert!(!untouched, "a valid message was refused: {}", e),
    }
    Ok(())
}

#[test]
fn fuzz_wire_policy_update() {
    fuzz(
        "wire_policy_update",
        256,
        (policy_update(), spoil()),
        |(m, s)| check(m, s),
    );
}

#[test]
fn fuzz_wire_ack_request() {
    fuzz(
        "wire_ack_request",
        256,
        (ack_request(), spoil()),
        |(m, s)| check(m, s),
    );
}

#[test]
fn fuzz_wire_enroll_request() {
    fuzz(
        "wire_enroll_request",
        256,
        (enroll_request(), spoil()),
        |(m, s)| check(m, s),
    );
}

#[test]
fn fuzz_wire_event_batch() {
    fuzz(
        "wire_event_batch",
        256,
        (event_batch(), spoil()),
        |(m, s)| check(m, s),
    );
}

#[test]
fn fuzz_wire_arbitrary_bytes() {
    let body = prop_oneof![
        proptest::collection::vec(odd_byte(), 0..200),
        odd_json().prop_map(|v| v.to_string().into_bytes()),
    ];
    fuzz("wire_bytes", 500, body, |body| {
        let _ = read::<PolicyUpdate>(&body);
        let _ = read::<AckRequest>(&body);
        let _ = read::<EnrollRequest>(&body);
        let _ = read::<EventBatch>(&body);
        Ok(())
    });
}
