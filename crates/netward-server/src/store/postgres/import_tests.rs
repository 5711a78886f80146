//! What only PostgreSQL does: a large import by `COPY`, searched by containment through the
//! bounds index, and an import that the database refuses midway, which leaves nothing behind.

use netward_model::{Actor, ActorKind, IndicatorDraft, IndicatorSubmission, IndicatorValue};

use super::super::indicator_query::{self, Args};
use super::super::{PgStore, pg};
use crate::store::tests::bulk::Chunks;
use crate::store::{AuditStore, Change, IndicatorQuery, IndicatorStore, StoreError};

fn draft(value: &str, title: &str) -> IndicatorDraft {
    IndicatorSubmission {
        indicator_value: Some(value.into()),
        action: Some("Block".into()),
        title: Some(title.into()),
        ..Default::default()
    }
    .validate(0)
    .unwrap()
}

fn actor() -> Actor {
    Actor {
        name: "importer".into(),
        kind: ActorKind::ApiToken,
    }
}

/// `10.x.y.z` for the `i`th of up to 2^24 addresses.
fn address(i: u32) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
}

#[test]
fn a_copy_import_of_100000_rows_is_found_by_containment_through_the_index() {
    let cluster = netward_testkit::postgres::PgCluster::start();
    let store = PgStore::open(&cluster.create_database("big_import")).unwrap();
    let a = actor();
    let existing = store
        .upsert_indicators(&[draft("10.0.1.1", "before")], &Change { actor: &a, at: 1 })
        .unwrap()[0];
    let mut drafts: Vec<IndicatorDraft> = (0..100_000u32)
        .map(|i| draft(&address(i), &format!("row {i}")))
        .collect();
    // A value given again in a later chunk: stored once, as its last draft.
    drafts.push(draft(&address(5), "again"));
    drafts.push(draft("10.200.0.0/16", "the network"));
    let mut source = Chunks::new(drafts.clone(), 7_000);
    let outcome = store
        .import_indicators(&mut source, &Change { actor: &a, at: 2 })
        .unwrap();
    assert_eq!((outcome.created, outcome.updated), (100_000, 1));
    assert_eq!(store.policy_version().unwrap(), outcome.import_id as u64);
    assert_eq!(source.ids.len(), drafts.len());
    assert_eq!(source.ids[257], existing, "an existing value keeps its id");
    assert_eq!(
        source.ids[5], source.ids[100_000],
        "a repeated value has one id"
    );
    for i in [0usize, 4_321, 99_999, 100_001] {
        let stored = store.indicator(source.ids[i]).unwrap().unwrap();
        assert_eq!(
            stored.draft.value, drafts[i].value,
            "ids come in input order"
        );
        assert_eq!(stored.import_id, Some(outcome.import_id));
    }
    let again = store.indicator(source.ids[5]).unwrap().unwrap();
    assert_eq!(again.draft.title, "again", "the last draft of a value wins");

    let within = IndicatorQuery {
        within: Some(IndicatorValue::parse("10.1.0.0/16").unwrap()),
        include_expired: true,
        ..IndicatorQuery::default()
    };
    // 10.1.0.0 to 10.1.134.159: the addresses numbered 65,536 to 99,999.
    assert_eq!(
        store.count_indicators(&within, 0).unwrap(),
        100_000 - 65_536
    );
    let containing = IndicatorQuery {
        containing: Some(IndicatorValue::parse("10.200.3.4").unwrap()),
        include_expired: true,
        top: 10,
        ..IndicatorQuery::default()
    };
    let found = store.list_indicators(&containing, 0).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].draft.title, "the network");

    // The hunt is an index range scan, not a scan of the table.
    let mut args = Args::default();
    let sql = indicator_query::count(&within, 0, &mut args);
    let mut conn = store.conn().unwrap();
    let plan: Vec<String> = conn
        .query(format!("EXPLAIN {sql}").as_str(), &args.refs())
        .map_err(pg("explain"))
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("indicators_range"), "{plan}");
}

#[test]
fn an_import_the_database_refuses_midway_stores_nothing_and_the_pool_recovers() {
    let cluster = netward_testkit::postgres::PgCluster::start();
    let store = PgStore::open(&cluster.create_database("refused_import")).unwrap();
    let a = actor();
    let before = store.policy_version().unwrap();
    let mut drafts: Vec<IndicatorDraft> =
        (0..3_000u32).map(|i| draft(&address(i), "fine")).collect();
    // PostgreSQL text holds no NUL character: the third chunk's COPY fails.
    drafts[2_500].title = "nul \0 inside".into();
    let mut source = Chunks::new(drafts, 1_000);
    let refused = store.import_indicators(&mut source, &Change { actor: &a, at: 1 });
    assert!(
        matches!(refused, Err(StoreError::Database { .. })),
        "{refused:?}"
    );
    assert_eq!(
        source.ids.len(),
        2_000,
        "two chunks were stored, then undone"
    );
    assert_eq!(store.policy_version().unwrap(), before, "no summary entry");
    let everything = IndicatorQuery {
        include_expired: true,
        ..IndicatorQuery::default()
    };
    assert_eq!(store.count_indicators(&everything, 0).unwrap(), 0);

    // The connections are sound afterwards: the same import, fixed, goes through.
    let mut fixed = Chunks::new(
        (0..3_000u32).map(|i| draft(&address(i), "fine")).collect(),
        1_000,
    );
    let outcome = store
        .import_indicators(&mut fixed, &Change { actor: &a, at: 2 })
        .unwrap();
    assert_eq!((outcome.created, outcome.updated), (3_000, 0));
    assert_eq!(store.count_indicators(&everything, 0).unwrap(), 3_000);
}
