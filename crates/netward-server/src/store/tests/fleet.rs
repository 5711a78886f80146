//! The conformance cases of the fleet: groups and their numbers, settings, API tokens, enrollment tokens, devices and their acknowledgements.

use netward_model::{Coverage, DeviceGroup, ProtectionMode, Role, TenantSettings};

use super::super::{Change, EnrollRefusal, GroupDeletion, LastAdmin, Store, StoreError};
use super::{actor, draft};

pub(super) fn groups_settings_and_tokens(store: &dyn Store) {
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
            .revoke_token(t.id, LastAdmin::Keep, &Change { actor: &a, at: 9 })
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
    assert!(
        store
            .revoke_token(999, LastAdmin::Keep, &c)
            .unwrap()
            .is_none()
    );
    assert_eq!(store.tokens().unwrap().len(), 1);

    // The last live admin token stays unless the revocation says it may go.
    let first = store.create_token("root", Role::Admin, "h3", &c).unwrap();
    let second = store.create_token("ops", Role::Admin, "h4", &c).unwrap();
    assert!(
        store
            .revoke_token(first.id, LastAdmin::Keep, &c)
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store.revoke_token(second.id, LastAdmin::Keep, &c),
        Err(StoreError::LastAdmin(name)) if name == "ops"
    ));
    assert_eq!(
        store.token_by_hash("h4").unwrap().unwrap().revoked_at,
        None,
        "a refused revocation changes nothing"
    );
    assert!(
        store
            .revoke_token(second.id, LastAdmin::MayRevoke, &c)
            .unwrap()
            .is_some_and(|t| t.revoked_at.is_some())
    );
}

pub(super) fn enrollment_devices_and_acknowledgements(store: &dyn Store) {
    use super::super::AckRecord;
    use netward_model::agent_wire::DeviceFacts;
    let a = actor();
    let c = Change { actor: &a, at: 5 };
    let token = store
        .create_enroll_token("eh", "default", 99, 1, &c)
        .unwrap();
    assert_eq!(store.enroll_tokens().unwrap(), vec![token.clone()]);
    assert_eq!(
        (
            token.group.as_str(),
            token.expires_at,
            token.max_uses,
            token.uses
        ),
        ("default", 99, Some(1), 0)
    );

    let facts = DeviceFacts {
        hostname: "web-1".into(),
        addresses: vec!["192.0.2.10".into()],
        ..Default::default()
    };
    assert_eq!(
        store.enroll_device("other", &facts, "xh", &c).unwrap(),
        Err(EnrollRefusal::Unknown)
    );
    let d = store
        .enroll_device("eh", &facts, "dh", &c)
        .unwrap()
        .unwrap();
    // The token is used up: the second device is refused and nothing of it is stored.
    assert_eq!(
        store.enroll_device("eh", &facts, "dh2", &c).unwrap(),
        Err(EnrollRefusal::UsedUp { max_uses: 1 })
    );
    assert_eq!(store.enroll_tokens().unwrap()[0].uses, 1);
    let late = Change { actor: &a, at: 99 };
    let spare = store
        .create_enroll_token("eh2", "default", 99, 5, &c)
        .unwrap();
    assert_eq!(
        store.enroll_device("eh2", &facts, "dh3", &late).unwrap(),
        Err(EnrollRefusal::Expired)
    );
    let revoked = store.revoke_enroll_token(spare.id, &c).unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(5));
    assert_eq!(
        store.enroll_device("eh2", &facts, "dh3", &c).unwrap(),
        Err(EnrollRefusal::Revoked)
    );
    assert!(
        store
            .revoke_enroll_token(spare.id + 100, &c)
            .unwrap()
            .is_none()
    );
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
        exemptions: vec![netward_model::agent_wire::Exemption {
            range: "192.0.2.53".parse().unwrap(),
            reason: netward_model::agent_wire::ExemptionReason::DnsResolver,
        }],
    };
    store.record_ack(d.id, &ack, 20).unwrap();
    assert_eq!(
        store.device(d.id).unwrap().unwrap().exemptions,
        ack.exemptions,
        "exemptions are kept as reported"
    );
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

pub(super) fn group_numbers_are_given_once(store: &dyn Store) {
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
