//! The store conformance suite: every backend must pass these. Each test takes a fresh store.
//! The OData cases live in `tests/odata.rs` (every field, orderings) and
//! `tests/odata_model.rs` (random filters against a naive model).

mod odata;
mod odata_model;

use netward_model::{
    Action, Actor, ActorKind, Coverage, DeviceGroup, IndicatorSubmission, ProtectionMode, Role,
    TenantSettings,
};

use netward_model::detection::{Direction, Outcome, Reason};

use super::{
    AuditQuery, BatchDeletion, Change, GroupDeletion, IndicatorQuery, IndicatorStore, SqliteStore,
    Store, StoreError,
};

fn actor() -> Actor {
    Actor {
        name: "tester".into(),
        kind: ActorKind::ApiToken,
    }
}

fn draft(
    value: &str,
    action: &str,
    groups: &[&str],
    expires: Option<&str>,
) -> netward_model::IndicatorDraft {
    IndicatorSubmission {
        indicator_value: Some(value.into()),
        action: Some(action.into()),
        title: Some(format!("title {value}")),
        rbac_group_names: Some(groups.iter().map(|g| g.to_string()).collect()),
        expiration_time: expires.map(str::to_owned),
        ..Default::default()
    }
    .validate(0)
    .unwrap()
}

fn all(q: IndicatorQuery) -> IndicatorQuery {
    IndicatorQuery { top: 1000, ..q }
}

fn upsert_keeps_one_indicator_per_value(store: &dyn Store) {
    let a = actor();
    let first = store
        .upsert_indicators(
            &[draft("192.0.2.1", "Block", &[], None)],
            &Change { actor: &a, at: 10 },
        )
        .unwrap();
    let again = store
        .upsert_indicators(
            &[draft("192.0.2.1", "Audit", &[], None)],
            &Change { actor: &a, at: 20 },
        )
        .unwrap();
    assert_eq!(first, again);
    let ind = store.indicator(first[0]).unwrap().unwrap();
    assert_eq!(
        (ind.draft.action, ind.created_at, ind.updated_at),
        (Action::Audit, 10, 20)
    );
    assert_eq!(
        store
            .list_indicators(&all(IndicatorQuery::default()), 0)
            .unwrap()
            .len(),
        1
    );
}

fn a_batch_with_repeats_and_more_rows_than_a_statement_holds(store: &dyn Store) {
    let a = actor();
    let mut drafts: Vec<_> = (0..1203u32)
        .map(|i| draft(&format!("10.{}.{}.1", i / 256, i % 256), "Block", &[], None))
        .collect();
    drafts.push(draft("10.0.0.1", "Audit", &[], None));
    let ids = store
        .upsert_indicators(&drafts, &Change { actor: &a, at: 3 })
        .unwrap();
    assert_eq!(ids.len(), 1204);
    assert_eq!(ids[0], ids[1203], "the repeated value kept its id");
    let first = store.indicator(ids[0]).unwrap().unwrap();
    assert_eq!(first.draft.action, Action::Audit, "the later row wins");
    let log = store
        .audit_log(&AuditQuery {
            target: Some("10.0.0.1".into()),
            top: 10,
            skip: 0,
        })
        .unwrap();
    let verbs: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(verbs, ["indicator.update", "indicator.create"]);
    let every = IndicatorQuery {
        top: 5000,
        ..IndicatorQuery::default()
    };
    assert_eq!(store.list_indicators(&every, 0).unwrap().len(), 1203);
}

fn list_filters_and_pages(store: &dyn Store) {
    let a = actor();
    let drafts = vec![
        draft("192.0.2.1", "Block", &["g1"], None),
        draft("192.0.2.2", "Allowed", &[], None),
        draft("2001:db8::/48", "Block", &["g1", "g2"], None),
        draft(
            "198.51.100.0/24",
            "Audit",
            &[],
            Some("1970-01-01T00:01:40Z"),
        ),
    ];
    let ids = store
        .upsert_indicators(&drafts, &Change { actor: &a, at: 1 })
        .unwrap();
    assert_eq!(ids.len(), 4);
    let values = |q: IndicatorQuery, now| -> Vec<String> {
        store
            .list_indicators(&all(q), now)
            .unwrap()
            .iter()
            .map(|i| i.draft.value.to_string())
            .collect()
    };
    assert_eq!(
        values(
            IndicatorQuery {
                action: Some(Action::Block),
                ..Default::default()
            },
            0
        ),
        ["192.0.2.1", "2001:db8::/48"]
    );
    assert_eq!(
        values(
            IndicatorQuery {
                group: Some("g2".into()),
                ..Default::default()
            },
            0
        ),
        ["2001:db8::/48"]
    );
    assert_eq!(
        values(
            IndicatorQuery {
                value: Some("192.0.2.2".into()),
                ..Default::default()
            },
            0
        ),
        ["192.0.2.2"]
    );
    assert_eq!(
        values(
            IndicatorQuery {
                source: Some("nobody".into()),
                ..Default::default()
            },
            0
        )
        .len(),
        0
    );
    assert_eq!(values(IndicatorQuery::default(), 99).len(), 4);
    assert_eq!(
        values(IndicatorQuery::default(), 100).len(),
        3,
        "expired at its second"
    );
    assert_eq!(
        values(
            IndicatorQuery {
                include_expired: true,
                ..Default::default()
            },
            100
        )
        .len(),
        4
    );
    assert_eq!(store.active_indicators(100).unwrap().len(), 3);
    let page = store
        .list_indicators(
            &IndicatorQuery {
                top: 2,
                skip: 1,
                ..Default::default()
            },
            0,
        )
        .unwrap();
    // Pages follow the id order (ids within one batch follow no promised order).
    let mut by_id = ids.clone();
    by_id.sort_unstable();
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), by_id[1..3]);
}

fn delete_removes_and_audits(store: &dyn Store) {
    let a = actor();
    let ids = store
        .upsert_indicators(
            &[draft("192.0.2.9", "Block", &[], None)],
            &Change { actor: &a, at: 5 },
        )
        .unwrap();
    assert!(
        store
            .delete_indicator(ids[0], &Change { actor: &a, at: 6 })
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .delete_indicator(ids[0], &Change { actor: &a, at: 7 })
            .unwrap()
            .is_none()
    );
    assert!(store.indicator(ids[0]).unwrap().is_none());
    let log = store
        .audit_log(&AuditQuery {
            target: Some("192.0.2.9".into()),
            top: 10,
            skip: 0,
        })
        .unwrap();
    let actions: Vec<_> = log
        .iter()
        .map(|e| (e.action.as_str(), e.at, e.actor.name.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("indicator.delete", 6, "tester"),
            ("indicator.create", 5, "tester")
        ]
    );
}

fn batch_delete_is_all_or_nothing_with_an_audit_row_each(store: &dyn Store) {
    let a = actor();
    // More ids than one statement holds.
    let drafts: Vec<_> = (0..1500u32)
        .map(|i| draft(&format!("10.9.{}.{}", i / 256, i % 256), "Block", &[], None))
        .collect();
    let ids = store
        .upsert_indicators(&drafts, &Change { actor: &a, at: 1 })
        .unwrap();
    let version = store.policy_version().unwrap();
    let mut asked = ids[..1200].to_vec();
    asked.extend([ids[0], 999_999, 999_998]);
    assert_eq!(
        store
            .delete_indicators(&asked, &Change { actor: &a, at: 2 })
            .unwrap(),
        BatchDeletion::Unknown(vec![999_998, 999_999])
    );
    assert_eq!(
        store.policy_version().unwrap(),
        version,
        "nothing was written"
    );
    assert!(
        store.indicator(ids[0]).unwrap().is_some(),
        "nothing was deleted"
    );
    let mut asked = ids[..1200].to_vec();
    asked.push(ids[3]);
    let BatchDeletion::Deleted(gone) = store
        .delete_indicators(&asked, &Change { actor: &a, at: 3 })
        .unwrap()
    else {
        panic!("every id exists");
    };
    let mut expected = ids[..1200].to_vec();
    expected.sort_unstable();
    assert!(gone.iter().map(|i| i.id).eq(expected), "each once, by id");
    let left = store
        .list_indicators(&all(IndicatorQuery::default()), 0)
        .unwrap();
    assert_eq!(left.len(), 300);
    let log = store
        .audit_log(&AuditQuery {
            target: Some("10.9.0.5".into()),
            top: 10,
            skip: 0,
        })
        .unwrap();
    let verbs: Vec<_> = log.iter().map(|e| (e.action.as_str(), e.at)).collect();
    assert_eq!(verbs, [("indicator.delete", 3), ("indicator.create", 1)]);
    let deletes = store
        .audit_log(&AuditQuery {
            target: None,
            top: 5000,
            skip: 0,
        })
        .unwrap()
        .iter()
        .filter(|e| e.action == "indicator.delete")
        .count();
    assert_eq!(deletes, 1200);
}

fn mde_fields_are_kept_as_submitted(store: &dyn Store) {
    let a = actor();
    let submitted = IndicatorSubmission {
        indicator_value: Some("192.0.2.77".into()),
        action: Some("AlertAndBlock".into()),
        title: Some("t".into()),
        educate_url: Some("https://help.example/blocked".into()),
        category: Some("6".into()),
        mitre_techniques: Some(vec!["T1071".into(), "T1571".into()]),
        application: Some("OpenCTI".into()),
        ..Default::default()
    }
    .validate(0)
    .unwrap();
    let ids = store
        .upsert_indicators(
            std::slice::from_ref(&submitted),
            &Change { actor: &a, at: 1 },
        )
        .unwrap();
    let stored = store.indicator(ids[0]).unwrap().unwrap();
    assert_eq!(stored.draft, submitted);
    assert_eq!(
        stored.draft.mde_action,
        netward_model::MdeAction::AlertAndBlock
    );
    assert_eq!(stored.draft.action, Action::Block);
    let audit_filtered = store
        .list_indicators(
            &all(IndicatorQuery {
                action: Some(Action::Block),
                ..Default::default()
            }),
            0,
        )
        .unwrap();
    assert_eq!(audit_filtered.len(), 1, "filters see the enforced action");
}

fn groups_settings_and_tokens(store: &dyn Store) {
    let a = actor();
    let c = Change { actor: &a, at: 1 };
    assert_eq!(
        store
            .groups()
            .unwrap()
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["default"]
    );
    let mut g = DeviceGroup {
        name: "servers".into(),
        description: String::new(),
        mode: ProtectionMode::Audit,
        coverage: Coverage::Tcp,
    };
    store.create_group(&g, &c).unwrap();
    assert!(matches!(
        store.create_group(&g, &c),
        Err(StoreError::AlreadyExists(_))
    ));
    g.mode = ProtectionMode::Off;
    assert!(store.update_group(&g, &c).unwrap());
    assert_eq!(store.group("servers").unwrap(), Some(g.clone()));
    store
        .upsert_indicators(&[draft("192.0.2.1", "Block", &["servers"], None)], &c)
        .unwrap();
    assert_eq!(
        store.delete_group("servers", &c).unwrap(),
        GroupDeletion::InUse {
            indicators: 1,
            devices: 0
        }
    );
    assert_eq!(
        store.delete_group("nope", &c).unwrap(),
        GroupDeletion::NotFound
    );

    assert_eq!(store.settings().unwrap(), TenantSettings::default());
    store
        .update_settings(
            &TenantSettings {
                custom_network_indicators: false,
            },
            &c,
        )
        .unwrap();
    assert!(!store.settings().unwrap().custom_network_indicators);

    let t = store.create_token("ci", Role::Viewer, "h1", &c).unwrap();
    assert!(matches!(
        store.create_token("ci", Role::Admin, "h2", &c),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.token_by_hash("h1").unwrap().map(|t| t.role),
        Some(Role::Viewer)
    );
    assert_eq!(
        store
            .revoke_token(t.id, &Change { actor: &a, at: 9 })
            .unwrap()
            .and_then(|t| t.revoked_at),
        Some(9)
    );
    assert_eq!(
        store
            .token_by_hash("h1")
            .unwrap()
            .and_then(|t| t.revoked_at),
        Some(9)
    );
    assert!(store.revoke_token(999, &c).unwrap().is_none());
    assert_eq!(store.tokens().unwrap().len(), 1);
}

fn events_are_stored_once_and_purged_with_their_links(store: &dyn Store) {
    use netward_model::detection::{AgentEvent, MatchedIndicator};
    let a = actor();
    let change = Change { actor: &a, at: 1 };
    let mut d = draft("192.0.2.9", "Block", &[], None);
    d.generate_alert = true;
    let id = store.upsert_indicators(&[d], &change).unwrap()[0];
    let device = store
        .create_device(&Default::default(), "default", "h", &change)
        .unwrap()
        .id;
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
    let q = super::EventQuery {
        top: 100,
        ..Default::default()
    };
    assert_eq!(store.events(&q).unwrap().len(), 3);
    let alert = store
        .alerts(&super::AlertQuery {
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

fn search_finds_text_in_the_value_and_the_title(store: &dyn Store) {
    let a = actor();
    let c = Change { actor: &a, at: 1 };
    let mut named = draft("198.51.100.7", "Block", &[], None);
    named.title = "Cobalt STRIKE beacon".into();
    store
        .upsert_indicators(&[named, draft("192.0.2.1", "Block", &[], None)], &c)
        .unwrap();
    let find = |text: &str| -> Vec<String> {
        store
            .list_indicators(
                &all(IndicatorQuery {
                    text: Some(text.into()),
                    ..Default::default()
                }),
                0,
            )
            .unwrap()
            .into_iter()
            .map(|i| i.draft.value.to_string())
            .collect()
    };
    assert_eq!(find("strike"), ["198.51.100.7"], "title, any case");
    assert_eq!(find("100.7"), ["198.51.100.7"], "part of the value");
    assert_eq!(find("192.0.2"), ["192.0.2.1"]);
    assert!(find("nothing like it").is_empty());
    assert_eq!(find("%").len(), 0, "no LIKE wildcards");
}

fn versions_follow_the_audit_log(store: &dyn Store) {
    let a = actor();
    let before = store.policy_version().unwrap();
    store
        .upsert_indicators(
            &[draft("192.0.2.1", "Block", &[], None)],
            &Change { actor: &a, at: 1 },
        )
        .unwrap();
    let after_first = store.policy_version().unwrap();
    assert!(after_first > before);
    assert_eq!(
        store.indicator_version("192.0.2.1").unwrap(),
        Some(after_first)
    );
    store
        .upsert_indicators(
            &[draft("192.0.2.2", "Block", &[], None)],
            &Change { actor: &a, at: 2 },
        )
        .unwrap();
    let after_second = store.policy_version().unwrap();
    assert!(after_second > after_first);
    assert_eq!(
        store.indicator_version("192.0.2.1").unwrap(),
        Some(after_first),
        "another indicator's change is not this one's"
    );
    assert_eq!(store.indicator_version("192.0.2.99").unwrap(), None);
    let log = store
        .audit_log(&AuditQuery {
            target: Some("192.0.2.2".into()),
            top: 10,
            skip: 0,
        })
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].id, log[0].action.as_str(), log[0].at),
        (i64::try_from(after_second).unwrap(), "indicator.create", 2)
    );
}

fn enrollment_devices_and_acknowledgements(store: &dyn Store) {
    use super::AckRecord;
    use netward_model::agent_wire::DeviceFacts;
    let a = actor();
    let c = Change { actor: &a, at: 5 };
    let token = store.create_enroll_token("eh", "default", 99, &c).unwrap();
    assert_eq!(store.enroll_token("eh").unwrap(), Some(token.clone()));
    assert_eq!((token.group.as_str(), token.expires_at), ("default", 99));
    assert_eq!(store.enroll_token("other").unwrap(), None);

    let facts = DeviceFacts {
        hostname: "web-1".into(),
        addresses: vec!["192.0.2.10".into()],
        ..Default::default()
    };
    let d = store.create_device(&facts, "default", "dh", &c).unwrap();
    assert_eq!(store.device_by_hash("dh").unwrap(), Some(d.clone()));
    assert_eq!(store.device(d.id).unwrap(), Some(d.clone()));
    assert_eq!(store.device(d.id + 100).unwrap(), None);
    assert_eq!(store.devices().unwrap(), vec![d.clone()]);
    assert_eq!((d.facts.hostname.as_str(), d.first_seen), ("web-1", 5));

    let ack = AckRecord {
        version: 7,
        entries: 12,
        not_enforceable: vec![3],
        error: None,
        tamper_repaired: true,
        facts: DeviceFacts {
            hostname: "web-1b".into(),
            ..facts.clone()
        },
    };
    store.record_ack(d.id, &ack, 20).unwrap();
    let acked = store.device(d.id).unwrap().unwrap();
    assert_eq!(
        (
            acked.applied_version,
            acked.applied_at,
            acked.entries,
            acked.not_enforceable.clone(),
            acked.last_tamper,
            acked.last_seen,
            acked.facts.hostname.as_str()
        ),
        (Some(7), Some(20), 12, vec![3], Some(20), 20, "web-1b")
    );
    // An older version arriving late never moves the device back.
    store
        .record_ack(
            d.id,
            &AckRecord {
                version: 6,
                ..ack.clone()
            },
            30,
        )
        .unwrap();
    assert_eq!(
        store.device(d.id).unwrap().unwrap().applied_version,
        Some(7)
    );

    store
        .create_group(
            &DeviceGroup {
                name: "servers".into(),
                description: String::new(),
                mode: ProtectionMode::Block,
                coverage: Coverage::All,
            },
            &c,
        )
        .unwrap();
    assert!(store.move_device(d.id, "servers", &c).unwrap());
    assert!(!store.move_device(d.id + 100, "servers", &c).unwrap());
    assert_eq!(store.device(d.id).unwrap().unwrap().group, "servers");
    assert_eq!(
        store.delete_group("servers", &c).unwrap(),
        GroupDeletion::InUse {
            indicators: 0,
            devices: 1
        }
    );

    let revoked = store
        .revoke_device(d.id, &Change { actor: &a, at: 40 })
        .unwrap();
    assert_eq!(revoked.and_then(|d| d.revoked_at), Some(40));
    assert_eq!(
        store
            .device_by_hash("dh")
            .unwrap()
            .and_then(|d| d.revoked_at),
        Some(40),
        "a revoked device is still found, so its agent can be told"
    );
    assert!(store.revoke_device(d.id + 100, &c).unwrap().is_none());
}

fn alerts_and_incidents_follow_the_rules(store: &dyn Store) {
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
    let dev = |hash: &str| {
        store
            .create_device(&Default::default(), "default", hash, &c)
            .unwrap()
            .id
    };
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

    // Resolved stays resolved: later hits raise a new alert in the same open incident.
    let resolved = store
        .set_alert_status(alert.id, AlertStatus::Resolved, &c)
        .unwrap()
        .unwrap();
    assert_eq!(
        (resolved.status, resolved.status_by.as_deref()),
        (AlertStatus::Resolved, Some("tester"))
    );
    assert!(
        store
            .set_alert_status(9_999, AlertStatus::Resolved, &c)
            .unwrap()
            .is_none()
    );
    // The indicator turns High: the incident escalates, and a second device joins it.
    d.severity = Severity::High;
    store.upsert_indicators(&[d], &c).unwrap();
    let later = store
        .ingest_events(one, &[hit(4, 9_000, Outcome::Blocked)], 0, 0, 0)
        .unwrap();
    assert_eq!(later.raised.len(), 1);
    assert_ne!(later.raised[0], alert.id);
    store
        .ingest_events(two, &[hit(1, 9_500, Outcome::Blocked)], 0, 0, 0)
        .unwrap();
    let incidents = store.incidents(None, None, 10, 0).unwrap();
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
            .incidents(None, Some(AlertStatus::Resolved), 10, 0)
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
    let statuses: Vec<AlertStatus> = store
        .alerts(&super::AlertQuery {
            incident: Some(incident.id),
            top: 10,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|a| a.status)
        .collect();
    assert_eq!(statuses, vec![AlertStatus::InProgress; 3]);
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
        .contacts(&super::EventQuery {
            remote: Some((false, lo, hi)),
            top: 10,
            ..Default::default()
        })
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

fn group_numbers_are_given_once(store: &dyn Store) {
    let a = actor();
    let c = Change { actor: &a, at: 1 };
    let group = |name: &str| DeviceGroup {
        name: name.into(),
        description: String::new(),
        mode: ProtectionMode::Block,
        coverage: Coverage::All,
    };
    store.create_group(&group("x"), &c).unwrap();
    store.create_group(&group("y"), &c).unwrap();
    assert_eq!(store.delete_group("y", &c).unwrap(), GroupDeletion::Deleted);
    store.create_group(&group("z"), &c).unwrap();
    let id = store
        .upsert_indicators(&[draft("192.0.2.1", "Block", &["z", "x"], None)], &c)
        .unwrap()[0];
    assert_eq!(
        store.indicator(id).unwrap().unwrap().group_ids,
        vec![2, 4],
        "the default group is 1, x 2, the deleted y's 3 is never given again, z 4"
    );
}

/// Runs the whole suite against stores made by `make`.
fn conformance(make: impl Fn() -> (Box<dyn Store>, tempfile::TempDir)) {
    for test in [
        upsert_keeps_one_indicator_per_value,
        a_batch_with_repeats_and_more_rows_than_a_statement_holds,
        list_filters_and_pages,
        odata::odata_filters_and_orders_over_every_row,
        odata_model::odata_filters_agree_with_a_naive_model,
        delete_removes_and_audits,
        batch_delete_is_all_or_nothing_with_an_audit_row_each,
        mde_fields_are_kept_as_submitted,
        groups_settings_and_tokens,
        events_are_stored_once_and_purged_with_their_links,
        search_finds_text_in_the_value_and_the_title,
        versions_follow_the_audit_log,
        enrollment_devices_and_acknowledgements,
        alerts_and_incidents_follow_the_rules,
        group_numbers_are_given_once,
    ] {
        let (store, _dir) = make();
        test(store.as_ref());
    }
}

#[test]
fn sqlite_store_conforms() {
    conformance(|| {
        let dir = tempfile::tempdir().unwrap();
        (Box::new(SqliteStore::open(dir.path()).unwrap()), dir)
    });
}

#[test]
fn sqlite_store_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .upsert_indicators(
                &[draft("192.0.2.1", "Block", &[], None)],
                &Change { actor: &a, at: 1 },
            )
            .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.active_indicators(0).unwrap().len(), 1);
}
