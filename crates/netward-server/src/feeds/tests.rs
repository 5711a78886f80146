//! The feed core's pure parts: a subscription from an API body, and the plan of a run.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use netward_model::wire::FeedBody;
use netward_model::{Action, GuardRails, Indicator, IndicatorValue};
use proptest::prelude::*;

use super::config::FeedConfig;
use super::delta::{FeedContent, plan};
use super::{Content, FeedItem};

const NOW: i64 = 1_000_000;

fn config(extra: FeedBody) -> FeedConfig {
    FeedConfig::create(FeedBody {
        name: Some("f".into()),
        kind: Some("plain".into()),
        url: Some("https://lists.example/x.netset".into()),
        ..extra
    })
    .unwrap()
}

fn item(v: &str) -> FeedItem {
    FeedItem::new(IndicatorValue::parse(v).unwrap())
}

fn rails() -> GuardRails {
    GuardRails::new(&["192.0.2.10".parse().unwrap()])
}

/// The feed's content after applying a plan to `before` (ids made up for creates).
fn stored(cfg: &FeedConfig, values: &[&str]) -> Vec<Indicator> {
    let p = plan(
        cfg,
        &rails(),
        FeedContent::default(),
        Content::Complete(values.iter().map(|v| item(v)).collect()),
        Vec::new(),
        NOW,
    );
    p.creates
        .into_iter()
        .enumerate()
        .map(|(i, d)| Indicator::system(i as i64 + 1, d))
        .collect()
}

fn previous(indicators: Vec<Indicator>) -> FeedContent {
    FeedContent {
        indicators,
        pending: Vec::new(),
    }
}

#[test]
fn a_body_becomes_a_subscription_with_safe_defaults_and_named_errors() {
    let c = config(FeedBody::default());
    assert_eq!(c.settings.max_shrink_percent, 50);
    assert_eq!(c.settings.refresh_minutes, 60);
    assert!(!c.settings.allow_wide_ranges);
    let err = FeedConfig::create(FeedBody {
        name: Some("s".into()),
        kind: Some("spamhaus-json".into()),
        url: Some("https://www.spamhaus.org/drop/drop_v4.json".into()),
        refresh_minutes: Some(10),
        ..FeedBody::default()
    })
    .unwrap_err();
    assert_eq!(err.field, "refreshMinutes");
    let err = FeedConfig::create(FeedBody {
        kind: Some("rss".into()),
        ..FeedBody::default()
    });
    assert_eq!(err.unwrap_err().field, "name");
    let patched = c.patched(FeedBody {
        name: Some("other".into()),
        ..FeedBody::default()
    });
    assert_eq!(patched.unwrap_err().field, "name");
}

#[test]
fn confidence_and_mode_pick_the_action() {
    let c = config(FeedBody::default());
    assert_eq!(c.action_for(None), Some(Action::Block));
    assert_eq!(c.action_for(Some(60)), Some(Action::Block));
    assert_eq!(c.action_for(Some(59)), Some(Action::Audit));
    assert_eq!(c.action_for(Some(30)), Some(Action::Audit));
    assert_eq!(c.action_for(Some(29)), None);
    let dry = config(FeedBody {
        mode: Some("audit-only".into()),
        ..FeedBody::default()
    });
    assert_eq!(dry.action_for(Some(90)), Some(Action::Audit));
}

#[test]
fn guard_rails_apply_to_every_item_and_wide_ranges_need_the_opt_in() {
    let c = config(FeedBody::default());
    let p = plan(
        &c,
        &rails(),
        FeedContent::default(),
        Content::Complete(vec![
            item("127.0.0.1"),
            item("fe80::1"),
            item("192.0.2.10"),
            item("2a06:e480::/29"),
            item("203.0.113.1"),
        ]),
        Vec::new(),
        NOW,
    );
    assert_eq!(p.creates.len(), 1);
    let reasons: Vec<&str> = p.refusals.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons[0].contains("loopback"), "{reasons:?}");
    assert!(reasons[1].contains("link-local"), "{reasons:?}");
    assert!(reasons[2].contains("server's own address"), "{reasons:?}");
    assert!(reasons[3].contains("allowWideRanges"), "{reasons:?}");
    let wide = config(FeedBody {
        allow_wide_ranges: Some(true),
        ..FeedBody::default()
    });
    let p = plan(
        &wide,
        &rails(),
        FeedContent::default(),
        Content::Complete(vec![item("2a06:e480::/29"), item("127.0.0.0/8")]),
        Vec::new(),
        NOW,
    );
    assert_eq!(
        p.creates.len(),
        1,
        "loopback stays refused: {:?}",
        p.refusals
    );
}

#[test]
fn the_shrink_guard_refuses_a_run_that_removes_too_much() {
    let c = config(FeedBody::default());
    let before = stored(&c, &["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]);
    let half = plan(
        &c,
        &rails(),
        previous(before.clone()),
        Content::Complete(vec![item("192.0.2.1"), item("192.0.2.2")]),
        Vec::new(),
        NOW,
    );
    assert!(half.refused_run.is_none(), "50% is allowed");
    assert_eq!((half.deletes.len(), half.unchanged), (2, 2));
    let most = plan(
        &c,
        &rails(),
        previous(before),
        Content::Complete(vec![item("192.0.2.1")]),
        Vec::new(),
        NOW,
    );
    assert!(most.refused_run.unwrap().contains("3 of the feed's 4"));
}

#[test]
fn changes_replace_by_external_id_and_future_items_wait() {
    let c = config(FeedBody::default());
    let mut a = item("198.51.100.1");
    a.external_id = Some("indicator--a".into());
    let mut b = item("198.51.100.2");
    b.external_id = Some("indicator--b".into());
    let first = plan(
        &c,
        &rails(),
        FeedContent::default(),
        Content::Changes {
            upserts: vec![a, b],
            removed: vec![],
        },
        Vec::new(),
        NOW,
    );
    let before: Vec<Indicator> = first
        .creates
        .into_iter()
        .enumerate()
        .map(|(i, d)| Indicator::system(i as i64 + 1, d))
        .collect();
    // a moves to another address; b is revoked; c is valid only tomorrow.
    let mut a2 = item("198.51.100.9");
    a2.external_id = Some("indicator--a".into());
    a2.valid_until = Some(NOW + 50);
    let mut c_later = item("198.51.100.3");
    c_later.external_id = Some("indicator--c".into());
    c_later.valid_from = Some(NOW + 86_400);
    let p = plan(
        &c,
        &rails(),
        previous(before.clone()),
        Content::Changes {
            upserts: vec![a2, c_later],
            removed: vec!["indicator--b".into()],
        },
        Vec::new(),
        NOW,
    );
    let created: Vec<String> = p.creates.iter().map(|d| d.value.to_string()).collect();
    assert_eq!(created, ["198.51.100.9"]);
    assert_eq!(p.creates[0].expires_at, Some(NOW + 50));
    assert_eq!(p.creates[0].external_id, "indicator--a");
    assert_eq!(p.deletes.len(), 2);
    assert_eq!(p.pending.len(), 1);
    // A day later, a 304 still brings the held-back item in.
    let later = plan(
        &c,
        &rails(),
        FeedContent {
            indicators: Vec::new(),
            pending: p.pending,
        },
        Content::NotModified,
        Vec::new(),
        NOW + 86_400,
    );
    assert_eq!(later.creates.len(), 1);
    assert!(later.pending.is_empty());
}

#[test]
fn remove_after_days_keeps_a_leaving_indicator_until_then() {
    let c = config(FeedBody {
        remove_after_days: Some(2),
        max_shrink_percent: Some(100),
        ..FeedBody::default()
    });
    let before = stored(&c, &["192.0.2.1"]);
    let p = plan(
        &c,
        &rails(),
        previous(before.clone()),
        Content::Complete(vec![]),
        Vec::new(),
        NOW,
    );
    assert!(p.deletes.is_empty());
    assert_eq!(p.updates[0].1.expires_at, Some(NOW + 2 * 86_400));
    let mut lingering = before[0].clone();
    lingering.draft.expires_at = Some(NOW + 2 * 86_400);
    let again = plan(
        &c,
        &rails(),
        previous(vec![lingering.clone()]),
        Content::Complete(vec![]),
        Vec::new(),
        NOW + 60,
    );
    assert_eq!((again.updates.len(), again.unchanged), (0, 1));
    let gone = plan(
        &c,
        &rails(),
        previous(vec![lingering]),
        Content::Complete(vec![]),
        Vec::new(),
        NOW + 3 * 86_400,
    );
    assert_eq!(gone.deletes.len(), 1);
}

proptest! {
    /// Applying a complete pull to any previous content leaves exactly the pull's (valid)
    /// values, and counts every previous indicator once.
    #[test]
    fn a_complete_pull_leaves_exactly_its_values(
        before in proptest::collection::btree_set(0u8..40, 0..20),
        after in proptest::collection::btree_set(0u8..40, 0..20),
    ) {
        let c = config(FeedBody { max_shrink_percent: Some(100), ..FeedBody::default() });
        let v = |n: &u8| format!("198.51.100.{n}");
        let old_values: Vec<String> = before.iter().map(v).collect();
        let old = stored(&c, &old_values.iter().map(String::as_str).collect::<Vec<_>>());
        let p = plan(
            &c,
            &rails(),
            previous(old.clone()),
            Content::Complete(after.iter().map(|n| item(&v(n))).collect()),
            Vec::new(),
            NOW,
        );
        prop_assert!(p.refused_run.is_none());
        let deleted: std::collections::HashSet<i64> = p.deletes.iter().copied().collect();
        let mut result: std::collections::BTreeSet<String> = old
            .iter()
            .filter(|i| !deleted.contains(&i.id))
            .map(|i| i.draft.value.to_string())
            .collect();
        result.extend(p.creates.iter().map(|d| d.value.to_string()));
        let expected: std::collections::BTreeSet<String> = after.iter().map(v).collect();
        prop_assert_eq!(result, expected);
        prop_assert_eq!(p.unchanged + p.removed + p.updates.len() as u64, old.len() as u64);
    }
}
