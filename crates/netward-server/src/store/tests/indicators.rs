//! The conformance cases of indicators: upserts, listing and search, deletion one by one and in batches, the MDE fields.

use netward_model::{Action, IndicatorSubmission};

use super::super::{AuditQuery, BatchDeletion, Change, IndicatorQuery, Store};
use super::{actor, all, draft};

pub(super) fn upsert_keeps_one_indicator_per_value(store: &dyn Store) {
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

pub(super) fn a_batch_with_repeats_and_more_rows_than_a_statement_holds(store: &dyn Store) {
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
            from: None,
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

pub(super) fn list_filters_and_pages(store: &dyn Store) {
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

pub(super) fn delete_removes_and_audits(store: &dyn Store) {
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
            from: None,
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

pub(super) fn batch_delete_is_all_or_nothing_with_one_summary_entry(store: &dyn Store) {
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
    // One summary entry for the whole batch, one policy version.
    assert_eq!(
        store.policy_version().unwrap(),
        version + 1,
        "one version for the batch"
    );
    let log = store
        .audit_log(&AuditQuery {
            target: None,
            from: Some(3),
            top: 5000,
            skip: 0,
        })
        .unwrap();
    assert_eq!(log.len(), 1, "one audit entry for the batch");
    assert_eq!(
        (log[0].action.as_str(), log[0].target.as_str()),
        ("indicator.batch-delete", "indicators")
    );
    let detail: serde_json::Value = serde_json::from_str(&log[0].detail).unwrap();
    assert_eq!(detail["deleted"], 1200);
    assert_eq!(detail["values"].as_array().map(Vec::len), Some(1000));
    assert_eq!(detail["valuesNotListed"], 200);
    assert_eq!(detail["values"][0], "10.9.0.0", "values in id order");
}

pub(super) fn mde_fields_are_kept_as_submitted(store: &dyn Store) {
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

pub(super) fn search_finds_text_in_the_value_and_the_title(store: &dyn Store) {
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
