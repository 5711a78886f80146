//! The conformance cases of bulk work on indicators: imports (one summary entry, the import's
//! id on each indicator, all or nothing), containment, title and count queries, and deletes by
//! filter (a dry run, then one change).

use netward_model::{Action, IndicatorDraft, IndicatorValue};

use super::super::{
    AuditQuery, Change, DeleteFilter, ImportSource, ImportSummary, IndicatorQuery, Store,
};
use super::{actor, all, draft};

/// Gives its drafts in chunks of `chunk`, and records the ids it is given (also used by the
/// backends' own tests).
pub(in crate::store) struct Chunks {
    drafts: Vec<IndicatorDraft>,
    chunk: usize,
    next: usize,
    /// The ids the store gave the drafts, in their order.
    pub(in crate::store) ids: Vec<i64>,
}

impl Chunks {
    pub(in crate::store) fn new(drafts: Vec<IndicatorDraft>, chunk: usize) -> Self {
        Self {
            drafts,
            chunk,
            next: 0,
            ids: Vec::new(),
        }
    }
}

impl ImportSource for Chunks {
    fn next_chunk(&mut self) -> Option<Vec<IndicatorDraft>> {
        let end = (self.next + self.chunk).min(self.drafts.len());
        let out = self.drafts.get(self.next..end)?.to_vec();
        self.next = end;
        (!out.is_empty()).then_some(out)
    }

    fn stored(&mut self, drafts: &[IndicatorDraft], ids: &[i64]) {
        assert_eq!(drafts.len(), ids.len());
        self.ids.extend_from_slice(ids);
    }

    fn summary(&self) -> ImportSummary {
        ImportSummary {
            format: "csv",
            items: self.drafts.len() as u64 + 1,
            failed: 1,
        }
    }
}

pub(super) fn an_import_is_one_entry_and_marks_its_indicators(store: &dyn Store) {
    let a = actor();
    let existing = store
        .upsert_indicators(
            &[draft("10.1.0.1", "Audit", &[], None)],
            &Change { actor: &a, at: 1 },
        )
        .unwrap()[0];
    let before = store.policy_version().unwrap();
    // More rows than a statement holds, in several chunks, one value repeated.
    let mut drafts: Vec<_> = (0..1300u32)
        .map(|i| {
            draft(
                &format!("10.1.{}.{}", i / 250, i % 250 + 1),
                "Block",
                &[],
                None,
            )
        })
        .collect();
    drafts.push(draft("10.1.0.2", "Allowed", &[], None));
    let mut source = Chunks::new(drafts, 600);
    let stored = store
        .import_indicators(&mut source, &Change { actor: &a, at: 5 })
        .unwrap();
    assert_eq!((stored.created, stored.updated), (1299, 1));
    assert_eq!(source.ids.len(), 1301);
    assert_eq!(source.ids[0], existing, "an existing value keeps its id");
    assert_eq!(
        source.ids[1], source.ids[1300],
        "a repeated value is one indicator"
    );
    let version = store.policy_version().unwrap();
    assert_eq!(version, before + 1, "one version for the import");
    assert_eq!(u64::try_from(stored.import_id).unwrap(), version);
    let log = store
        .audit_log(&AuditQuery {
            from: Some(5),
            top: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(log.len(), 1, "one audit entry");
    assert_eq!(
        (log[0].action.as_str(), log[0].target.clone()),
        ("indicator.import", format!("import {}", stored.import_id))
    );
    let detail: serde_json::Value = serde_json::from_str(&log[0].detail).unwrap();
    assert_eq!(
        (
            &detail["created"],
            &detail["updated"],
            &detail["items"],
            &detail["failed"],
            &detail["format"]
        ),
        (
            &serde_json::json!(1299),
            &serde_json::json!(1),
            &serde_json::json!(1302),
            &serde_json::json!(1),
            &serde_json::json!("csv")
        )
    );
    let second = store.indicator(source.ids[1]).unwrap().unwrap();
    assert_eq!(
        second.draft.action,
        Action::Allow,
        "the last row of a value wins"
    );
    assert_eq!(second.import_id, Some(stored.import_id));
    assert_eq!(
        store.indicator_version("10.1.0.2").unwrap(),
        Some(version),
        "an imported indicator's version is its import's"
    );
    let marked = store
        .count_indicators(
            &IndicatorQuery {
                import_id: Some(stored.import_id),
                ..IndicatorQuery::default()
            },
            0,
        )
        .unwrap();
    assert_eq!(marked, 1300);
    // A later single change keeps the import and gives the indicator a newer version.
    store
        .upsert_indicators(
            &[draft("10.1.0.2", "Block", &[], None)],
            &Change { actor: &a, at: 6 },
        )
        .unwrap();
    let after = store.policy_version().unwrap();
    assert_eq!(store.indicator_version("10.1.0.2").unwrap(), Some(after));
    let again = store.indicator(source.ids[1]).unwrap().unwrap();
    assert_eq!(again.import_id, Some(stored.import_id));
}

/// Gives a chunk, then fails (panics) when told it was stored: the store's transaction
/// unwinds with it, as it would on any failure between two chunks.
struct FailsAfterOneChunk {
    given: bool,
}

impl ImportSource for FailsAfterOneChunk {
    fn next_chunk(&mut self) -> Option<Vec<IndicatorDraft>> {
        if std::mem::replace(&mut self.given, true) {
            return None;
        }
        Some(
            (0..700u32)
                .map(|i| {
                    draft(
                        &format!("10.2.{}.{}", i / 250, i % 250 + 1),
                        "Block",
                        &[],
                        None,
                    )
                })
                .collect(),
        )
    }

    fn stored(&mut self, _drafts: &[IndicatorDraft], _ids: &[i64]) {
        panic!("the import fails after its first chunk");
    }

    fn summary(&self) -> ImportSummary {
        ImportSummary {
            format: "list",
            items: 700,
            failed: 0,
        }
    }
}

pub(super) fn an_import_that_fails_stores_nothing(store: &dyn Store) {
    let a = actor();
    let before = store.policy_version().unwrap();
    let mut source = FailsAfterOneChunk { given: false };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.import_indicators(&mut source, &Change { actor: &a, at: 1 })
    }));
    assert!(outcome.is_err(), "the import failed");
    assert_eq!(store.policy_version().unwrap(), before, "no summary entry");
    assert_eq!(
        store
            .count_indicators(&IndicatorQuery::default(), 0)
            .unwrap(),
        0,
        "the chunk stored before the failure was rolled back"
    );
}

pub(super) fn containment_title_and_counts_search_every_row(store: &dyn Store) {
    let a = actor();
    let mut drafts = vec![
        draft("203.0.113.0/24", "Block", &[], None),
        draft("203.0.113.7", "Block", &[], None),
        draft("203.0.112.0/23", "Audit", &[], None),
        draft("198.51.100.1", "Block", &[], None),
        draft("2001:db8::/32", "Block", &[], None),
        draft("2001:db8::5", "Block", &[], None),
    ];
    drafts[3].title = "Cobalt Strike beacon".into();
    // Many others, so that a page is not the whole list.
    drafts.extend((0..1500u32).map(|i| {
        draft(
            &format!("10.3.{}.{}", i / 250, i % 250 + 1),
            "Block",
            &[],
            None,
        )
    }));
    store
        .upsert_indicators(&drafts, &Change { actor: &a, at: 1 })
        .unwrap();
    let values = |q: IndicatorQuery| -> Vec<String> {
        let mut v: Vec<String> = store
            .list_indicators(&all(q), 0)
            .unwrap()
            .into_iter()
            .map(|i| i.draft.value.to_string())
            .collect();
        v.sort();
        v
    };
    let net = |s: &str| Some(IndicatorValue::parse(s).unwrap());
    assert_eq!(
        values(IndicatorQuery {
            within: net("203.0.113.0/24"),
            ..Default::default()
        }),
        ["203.0.113.0/24", "203.0.113.7"],
        "inside a network: itself and what it holds, not what holds it"
    );
    assert_eq!(
        values(IndicatorQuery {
            containing: net("203.0.113.7"),
            ..Default::default()
        }),
        ["203.0.112.0/23", "203.0.113.0/24", "203.0.113.7"],
        "covering an address"
    );
    assert_eq!(
        values(IndicatorQuery {
            containing: net("203.0.113.0/25"),
            ..Default::default()
        }),
        ["203.0.112.0/23", "203.0.113.0/24"],
        "covering a network"
    );
    assert_eq!(
        values(IndicatorQuery {
            within: net("2001:db8::/32"),
            ..Default::default()
        }),
        ["2001:db8::/32", "2001:db8::5"],
        "IPv6, never IPv4"
    );
    assert_eq!(
        values(IndicatorQuery {
            title: Some("strike".into()),
            ..Default::default()
        }),
        ["198.51.100.1"],
        "title, any case"
    );
    let page = IndicatorQuery {
        top: 10,
        skip: 5,
        ..Default::default()
    };
    assert_eq!(store.list_indicators(&page, 0).unwrap().len(), 10);
    assert_eq!(
        store.count_indicators(&page, 0).unwrap(),
        1506,
        "the count ignores the page"
    );
    assert_eq!(
        store
            .count_indicators(
                &IndicatorQuery {
                    action: Some(Action::Audit),
                    ..Default::default()
                },
                0
            )
            .unwrap(),
        1
    );
}

pub(super) fn delete_by_filter_counts_then_deletes_in_one_change(store: &dyn Store) {
    let a = actor();
    let feed = netward_model::Actor {
        name: "feed".into(),
        kind: netward_model::ActorKind::ApiToken,
    };
    let fed: Vec<_> = (0..1500u32)
        .map(|i| {
            draft(
                &format!("10.4.{}.{}", i / 250, i % 250 + 1),
                "Block",
                &[],
                None,
            )
        })
        .collect();
    store
        .upsert_indicators(
            &fed,
            &Change {
                actor: &feed,
                at: 1,
            },
        )
        .unwrap();
    store
        .upsert_indicators(
            &[
                draft("192.0.2.1", "Block", &["default"], None),
                draft("192.0.2.2", "Audit", &[], None),
            ],
            &Change { actor: &a, at: 1 },
        )
        .unwrap();
    let before = store.policy_version().unwrap();
    let by_source = DeleteFilter {
        source: Some("feed".into()),
        ..DeleteFilter::default()
    };
    let counted = store
        .delete_matching(&by_source, true, &Change { actor: &a, at: 2 })
        .unwrap();
    assert_eq!((counted.matched, counted.deleted.len()), (1500, 0));
    assert_eq!(
        store.policy_version().unwrap(),
        before,
        "a dry run writes nothing"
    );
    let done = store
        .delete_matching(&by_source, false, &Change { actor: &a, at: 3 })
        .unwrap();
    assert_eq!((done.matched, done.deleted.len()), (1500, 1500));
    assert_eq!(store.policy_version().unwrap(), before + 1, "one version");
    let log = store
        .audit_log(&AuditQuery {
            from: Some(3),
            top: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "indicator.bulk-delete");
    let detail: serde_json::Value = serde_json::from_str(&log[0].detail).unwrap();
    assert_eq!(detail["asked"]["source"], "feed");
    assert_eq!(detail["deleted"], 1500);
    // By values (one unknown, one repeated), with another filter that must hold too.
    let by_values = DeleteFilter {
        values: Some(vec![
            "192.0.2.1".into(),
            "192.0.2.2".into(),
            "192.0.2.2".into(),
            "192.0.2.9".into(),
        ]),
        action: Some(Action::Block),
        ..DeleteFilter::default()
    };
    let done = store
        .delete_matching(&by_values, false, &Change { actor: &a, at: 4 })
        .unwrap();
    assert_eq!(done.matched, 1, "192.0.2.2 audits, so it stays");
    let left: Vec<String> = store
        .list_indicators(&all(IndicatorQuery::default()), 0)
        .unwrap()
        .into_iter()
        .map(|i| i.draft.value.to_string())
        .collect();
    assert_eq!(left, ["192.0.2.2"]);
    // Nothing matched: no entry, no version.
    let version = store.policy_version().unwrap();
    let none = store
        .delete_matching(
            &DeleteFilter {
                group: Some("servers".into()),
                ..DeleteFilter::default()
            },
            false,
            &Change { actor: &a, at: 5 },
        )
        .unwrap();
    assert_eq!(none.matched, 0);
    assert_eq!(store.policy_version().unwrap(), version);
}
