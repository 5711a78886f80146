//! The store conformance suite: every backend must pass these. Each test takes a fresh store.

use netward_model::{
    Action, Actor, ActorKind, Coverage, DeviceGroup, IndicatorSubmission, ProtectionMode, Role,
    TenantSettings,
};

use super::{AuditQuery, Change, GroupDeletion, IndicatorQuery, SqliteStore, Store, StoreError};

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
        direction: "outbound".into(),
        protocol: "udp".into(),
        local_ip: "192.0.2.1".into(),
        local_port: Some(5000),
        remote_ip: "192.0.2.9".into(),
        remote_port: Some(53),
        outcome: "blocked".into(),
        reason: "indicator_block".into(),
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

/// Runs the whole suite against stores made by `make`.
fn conformance(make: impl Fn() -> (Box<dyn Store>, tempfile::TempDir)) {
    for test in [
        upsert_keeps_one_indicator_per_value,
        a_batch_with_repeats_and_more_rows_than_a_statement_holds,
        list_filters_and_pages,
        delete_removes_and_audits,
        groups_settings_and_tokens,
        events_are_stored_once_and_purged_with_their_links,
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
