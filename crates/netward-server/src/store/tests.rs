//! The store conformance suite: every backend must pass these. Each test takes a fresh store.
//! The cases live in `tests/`, one file per resource (`indicators.rs`, `fleet.rs`, `audit.rs`,
//! `detection.rs`, `history.rs`, `sessions.rs`, `overview.rs`, `sorting.rs` (every list's
//! store-side order, paging and count); imports, search at scale and deletes by filter in `bulk.rs`), and the OData ones in `tests/odata.rs` (every field, orderings) and
//! `tests/odata_model.rs` (random filters against a naive model). This file holds the shared
//! helpers, the list of cases and the runs against each backend.

mod audit;
pub(super) mod bulk;
mod detection;
mod feeds;
mod fleet;
mod history;
mod indicators;
mod odata;
mod odata_model;
mod overview;
mod sessions;
mod sorting;

use netward_model::{Actor, ActorKind, IndicatorSubmission};

use super::{Change, IndicatorQuery, IndicatorStore, SqliteStore, Store};

fn actor() -> Actor {
    Actor {
        name: "tester".into(),
        kind: ActorKind::ApiToken,
    }
}

/// A device enrolled in the default group with a token of its own; its id.
fn enrolled(store: &dyn Store, device_hash: &str, change: &Change<'_>) -> i64 {
    let token_hash = format!("token-of-{device_hash}");
    store
        .create_enroll_token(&token_hash, "default", i64::MAX, 1, change)
        .unwrap();
    store
        .enroll_device(&token_hash, &Default::default(), device_hash, change)
        .unwrap()
        .unwrap()
        .id
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

/// Runs the whole suite against stores made by `make`.
fn conformance(make: impl Fn() -> (Box<dyn Store>, tempfile::TempDir)) {
    for test in [
        indicators::upsert_keeps_one_indicator_per_value,
        indicators::a_batch_with_repeats_and_more_rows_than_a_statement_holds,
        indicators::list_filters_and_pages,
        odata::odata_filters_and_orders_over_every_row,
        odata_model::odata_filters_agree_with_a_naive_model,
        indicators::delete_removes_and_audits,
        indicators::batch_delete_is_all_or_nothing_with_one_summary_entry,
        bulk::an_import_is_one_entry_and_marks_its_indicators,
        bulk::an_import_that_fails_stores_nothing,
        bulk::containment_title_and_counts_search_every_row,
        bulk::delete_by_filter_counts_then_deletes_in_one_change,
        indicators::mde_fields_are_kept_as_submitted,
        fleet::groups_settings_and_tokens,
        detection::events_are_stored_once_and_purged_with_their_links,
        indicators::search_finds_text_in_the_value_and_the_title,
        audit::versions_follow_the_audit_log,
        fleet::enrollment_devices_and_acknowledgements,
        detection::alerts_and_incidents_follow_the_rules,
        fleet::group_numbers_are_given_once,
        feeds::a_run_is_one_version_and_the_feed_owns_its_indicators,
        sessions::sessions_open_touch_and_close,
        sessions::opening_evicts_the_least_recently_used_and_the_idle,
        history::the_history_keeps_changes_marks_and_resets_in_order,
        history::a_change_that_never_ended_becomes_a_reset,
        overview::overview_counts_agree_with_the_lists,
        overview::audit_entries_filter_page_and_count,
        sorting::alerts_and_incidents_sort_and_page_in_the_store,
        sorting::the_audit_log_sorts_by_a_column_in_the_store,
        sorting::short_lists_sort_page_and_count_in_the_store,
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

#[test]
fn postgres_store_conforms() {
    let cluster = netward_testkit::postgres::PgCluster::start();
    let made = std::sync::atomic::AtomicUsize::new(0);
    conformance(|| {
        let n = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = cluster.create_database(&format!("conformance_{n}"));
        let dir = tempfile::tempdir().unwrap();
        (Box::new(crate::store::PgStore::open(&url).unwrap()), dir)
    });
}
