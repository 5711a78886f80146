//! Feeds: a subscription keeps its secrets, a run is one version marked on every indicator it
//! writes, a value another indicator holds is refused per value, and deleting the feed
//! deletes its indicators.

use netward_model::wire::FeedBody;
use netward_model::{Actor, ActorKind, IndicatorDraft, IndicatorValue};

use super::{actor, draft};
use crate::feeds::config::FeedConfig;
use crate::feeds::{FeedItem, Refusal};
use crate::store::feeds::{FeedChanges, FeedRun, FeedState, RunStatus};
use crate::store::{Change, Store};

fn feed_draft(value: &str) -> IndicatorDraft {
    let mut d = IndicatorDraft::bare(
        IndicatorValue::parse(value).unwrap(),
        netward_model::Action::Block,
        &format!("Feed f: {value}"),
        None,
    );
    d.external_id = format!("ext-{value}");
    d
}

fn run(added: u64) -> FeedRun {
    FeedRun {
        started_at: 5,
        finished_at: 6,
        http_status: Some(200),
        status: RunStatus::Applied,
        added,
        updated: 0,
        removed: 0,
        unchanged: 0,
        refused: 1,
        refusals: vec![Refusal {
            at: "line 1".into(),
            entry: "x".into(),
            reason: "not an address".into(),
        }],
        error: None,
    }
}

pub fn a_run_is_one_version_and_the_feed_owns_its_indicators(store: &dyn Store) {
    let admin = actor();
    let change = Change {
        actor: &admin,
        at: 1,
    };
    let config = FeedConfig::create(FeedBody {
        name: Some("f".into()),
        kind: Some("plain".into()),
        url: Some("https://example.org/list".into()),
        username: Some("u".into()),
        password: Some("secret".into()),
        ..FeedBody::default()
    })
    .unwrap();
    let feed = store.create_feed(&config, &change).unwrap().unwrap();
    assert!(
        store.create_feed(&config, &change).unwrap().is_none(),
        "names are unique"
    );
    assert_eq!(feed.config.secrets.password.as_deref(), Some("secret"));
    let audit = store
        .audit_log(&crate::store::AuditQuery {
            top: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(!audit[0].detail.contains("secret"), "{}", audit[0].detail);

    // A manual indicator holds one of the values the feed names.
    store
        .upsert_indicators(&[draft("192.0.2.2", "Allowed", &[], None)], &change)
        .unwrap();
    let creates = [feed_draft("192.0.2.1"), feed_draft("192.0.2.2")];
    let pending = [FeedItem {
        valid_from: Some(100),
        ..FeedItem::new(IndicatorValue::parse("192.0.2.3").unwrap())
    }];
    let state = FeedState {
        last_run_at: Some(5),
        ..FeedState::default()
    };
    let before = store.policy_version().unwrap();
    let applied = store
        .apply_feed_run(
            &feed,
            &FeedChanges {
                creates: &creates,
                updates: &[],
                deletes: &[],
                pending: &pending,
            },
            &state,
            &run(2),
            &change,
        )
        .unwrap();
    assert_eq!(store.policy_version().unwrap(), before + 1, "one version");
    assert_eq!(applied.created.len(), 2);
    assert_eq!(applied.created[1], 0);
    assert_eq!(applied.taken[0].0, "192.0.2.2");
    let recorded = &store.feed_runs(feed.id, 5).unwrap()[0];
    assert_eq!((recorded.added, recorded.refused), (1, 2));
    assert!(
        recorded.refusals[1].reason.contains("tester"),
        "{recorded:?}"
    );

    let feed = store.feed("f").unwrap().unwrap();
    assert_eq!(feed.indicators, 1);
    assert_eq!(feed.state.last_run_at, Some(5));
    let content = store.feed_content(&feed).unwrap();
    assert_eq!(content.indicators.len(), 1);
    let made = &content.indicators[0];
    assert_eq!(
        made.created_by,
        Actor {
            name: "f".into(),
            kind: ActorKind::Feed
        }
    );
    assert_eq!(made.draft.external_id, "ext-192.0.2.1");
    assert_eq!(made.import_id, Some(before as i64 + 1));
    assert_eq!(content.pending, pending);

    let gone = store.delete_feed("f", &change).unwrap().unwrap();
    assert_eq!(gone, vec![made.id]);
    assert!(store.indicator(made.id).unwrap().is_none());
    assert_eq!(
        store.active_indicators(0).unwrap().len(),
        1,
        "the manual one stays"
    );
    assert!(store.feed("f").unwrap().is_none());
}
