//! The conformance case for OData `$filter` and `$orderby` on the indicators list: every
//! field's meaning, evaluated by the store over all rows (not over a first page), and the
//! orderings.

use netward_model::odata::{parse_filter, parse_orderby};
use netward_model::{Actor, ActorKind, IndicatorSubmission};

use super::{Change, IndicatorQuery, Store, actor};

struct Row {
    value: &'static str,
    action: &'static str,
    alert: bool,
    title: &'static str,
    severity: &'static str,
    groups: &'static [&'static str],
    expires: Option<&'static str>,
    application: &'static str,
    by: &'static str,
    at: i64,
}

fn submit(store: &dyn Store, row: &Row) {
    let draft = IndicatorSubmission {
        indicator_value: Some(row.value.into()),
        action: Some(row.action.into()),
        generate_alert: Some(row.alert),
        title: Some(row.title.into()),
        severity: Some(row.severity.into()),
        rbac_group_names: Some(row.groups.iter().map(|g| g.to_string()).collect()),
        expiration_time: row.expires.map(str::to_owned),
        application: Some(row.application.into()),
        ..Default::default()
    }
    .validate(0)
    .unwrap();
    let who = Actor {
        name: row.by.into(),
        kind: ActorKind::ApiToken,
    };
    store
        .upsert_indicators(
            &[draft],
            &Change {
                actor: &who,
                at: row.at,
            },
        )
        .unwrap();
}

const fn row(value: &'static str, action: &'static str, alert: bool, title: &'static str) -> Row {
    Row {
        value,
        action,
        alert,
        title,
        severity: "Informational",
        groups: &[],
        expires: None,
        application: "",
        by: "tester",
        at: 1,
    }
}

pub(super) fn odata_filters_and_orders_over_every_row(store: &dyn Store) {
    let rows = [
        Row {
            severity: "High",
            groups: &["g1"],
            application: "OpenCTI",
            at: 100,
            ..row("192.0.2.1", "AlertAndBlock", true, "alpha")
        },
        Row {
            expires: Some("2100-01-01T00:00:00Z"),
            by: "feed",
            at: 200,
            ..row("192.0.2.2", "Allowed", false, "beta")
        },
        Row {
            severity: "Medium",
            groups: &["g1", "g2"],
            at: 300,
            ..row("2001:db8::1", "Alert", true, "it's gamma")
        },
        Row {
            severity: "Low",
            at: 400,
            ..row("198.51.100.0/24", "Block", false, "alpha two")
        },
    ];
    for name in ["g1", "g2"] {
        let group = netward_model::DeviceGroup {
            name: name.into(),
            description: String::new(),
            mode: netward_model::ProtectionMode::Block,
            coverage: netward_model::Coverage::All,
        };
        let a = actor();
        store
            .create_group(&group, &Change { actor: &a, at: 1 })
            .unwrap();
    }
    for r in &rows {
        submit(store, r);
    }
    // Thirty rows that match none of the filters below, then one more that some do: a filter
    // applied to a first page only would miss it.
    let a = actor();
    let fillers: Vec<_> = (0..30).map(|i| row_draft(&format!("10.0.0.{i}"))).collect();
    store
        .upsert_indicators(&fillers, &Change { actor: &a, at: 500 })
        .unwrap();
    submit(
        store,
        &Row {
            at: 600,
            ..row("203.0.113.7", "AlertAndBlock", true, "late")
        },
    );
    let total = 35;

    let list = |filter: &str, order: &str, top: usize| -> Vec<String> {
        let q = IndicatorQuery {
            filter: Some(parse_filter(filter).unwrap()),
            order: if order.is_empty() {
                Vec::new()
            } else {
                parse_orderby(order).unwrap()
            },
            top,
            ..Default::default()
        };
        store
            .list_indicators(&q, 0)
            .unwrap()
            .iter()
            .map(|i| i.draft.value.to_string())
            .collect()
    };
    let find = |filter: &str| list(filter, "", 1000);

    assert_eq!(
        find("action eq 'AlertAndBlock'"),
        ["192.0.2.1", "203.0.113.7"]
    );
    assert_eq!(
        find("action eq 'block'"),
        ["198.51.100.0/24"],
        "the name as submitted and shown: Block is not AlertAndBlock"
    );
    assert_eq!(find("action eq 'Alert'"), ["2001:db8::1"]);
    assert_eq!(
        find("action eq 'Audit'").len(),
        30,
        "the fillers, not the Alert"
    );
    assert_eq!(find("action ne 'AlertAndBlock'").len(), total - 2);
    assert_eq!(find("action eq 'Allowed'"), ["192.0.2.2"]);
    assert_eq!(find("indicatorValue eq '2001:0db8::1'"), ["2001:db8::1"]);
    assert_eq!(find("indicatorType eq 'ipaddress'").len(), total);
    assert_eq!(find("indicatorType ne 'IpAddress'").len(), 0);
    assert_eq!(find("rbacGroupNames eq 'g1'"), ["192.0.2.1", "2001:db8::1"]);
    assert_eq!(find("rbacGroupIds eq 'g2'"), ["2001:db8::1"]);
    let g2 = store
        .list_indicators(
            &IndicatorQuery {
                value: Some("2001:db8::1".into()),
                top: 1,
                ..Default::default()
            },
            0,
        )
        .unwrap()[0]
        .group_ids
        .clone();
    assert_eq!(g2.len(), 2, "both groups have a number: {g2:?}");
    assert_eq!(
        find(&format!("rbacGroupIds eq {}", g2[1])),
        ["2001:db8::1"],
        "a group by the number the entity shows"
    );
    assert_eq!(
        find(&format!("rbacGroupIds eq '{}'", g2[1])),
        ["2001:db8::1"],
        "quoted, as clients that echo ids as strings send it"
    );
    assert_eq!(find("rbacGroupNames ne 'g1'").len(), total - 2);
    assert_eq!(find("createdByDisplayName eq 'feed'"), ["192.0.2.2"]);
    assert_eq!(
        find("createdBy eq 'feed' or source eq 'nobody'"),
        ["192.0.2.2"]
    );
    assert_eq!(
        find(
            "creationTimeDateTimeUtc ge 1970-01-01T00:03:20Z \
             and creationTimeDateTimeUtc lt '1970-01-01T00:06:40Z'"
        ),
        ["192.0.2.2", "2001:db8::1"]
    );
    assert_eq!(
        find("lastUpdateTime gt 1970-01-01T00:09:00Z"),
        ["203.0.113.7"]
    );
    assert_eq!(find("expirationTime eq null").len(), total - 1);
    assert_eq!(find("expirationTime ne null"), ["192.0.2.2"]);
    assert_eq!(
        find("expirationTime gt 2099-01-01T00:00:00Z"),
        ["192.0.2.2"]
    );
    assert_eq!(
        find("not (expirationTime gt 2099-01-01T00:00:00Z)").len(),
        total - 1,
        "a never-expiring indicator is not `gt`, so `not` finds it"
    );
    assert_eq!(
        find("expirationTime ne 2100-01-01T00:00:00Z").len(),
        total - 1
    );
    assert_eq!(find("severity ge 'Medium'"), ["192.0.2.1", "2001:db8::1"]);
    assert_eq!(find("severity eq 'low'"), ["198.51.100.0/24"]);
    assert_eq!(
        find("generateAlert eq true and title eq 'alpha'"),
        ["192.0.2.1"]
    );
    assert_eq!(find("application eq 'OpenCTI'"), ["192.0.2.1"]);
    assert_eq!(
        find("startswith(title,'alpha')"),
        ["192.0.2.1", "198.51.100.0/24"]
    );
    assert_eq!(find("startswith(title,'Alpha')").len(), 0, "case-sensitive");
    assert_eq!(find("endswith(title,'two')"), ["198.51.100.0/24"]);
    assert_eq!(find("endswith(title,'')").len(), total);
    assert_eq!(find("contains(title,'''s')"), ["2001:db8::1"]);
    assert_eq!(find("contains(indicatorValue,':')"), ["2001:db8::1"]);
    assert_eq!(
        find("(title eq 'alpha' or title eq 'beta') and not generateAlert"),
        ["192.0.2.2"]
    );
    assert_eq!(
        find("title eq 'x'' OR 1=1 --'").len(),
        0,
        "values are bound"
    );
    assert_eq!(find("title eq 'late'"), ["203.0.113.7"]);
    assert_eq!(
        list("title eq 'late' or title eq 'alpha'", "", 1),
        ["192.0.2.1"]
    );
    let page = IndicatorQuery {
        filter: Some(parse_filter("action eq 'AlertAndBlock'").unwrap()),
        top: 1,
        skip: 1,
        ..Default::default()
    };
    let second: Vec<_> = store.list_indicators(&page, 0).unwrap();
    assert_eq!(second[0].draft.value.to_string(), "203.0.113.7");
    // The store's own filters and the OData filter hold together.
    let both = IndicatorQuery {
        action: Some(netward_model::Action::Block),
        filter: Some(parse_filter("generateAlert eq false").unwrap()),
        top: 10,
        ..Default::default()
    };
    assert_eq!(store.list_indicators(&both, 0).unwrap().len(), 1);

    let named = "title ne 'filler'";
    assert_eq!(
        list(named, "severity desc", 10),
        [
            "192.0.2.1",
            "2001:db8::1",
            "198.51.100.0/24",
            "192.0.2.2",
            "203.0.113.7"
        ]
    );
    assert_eq!(
        list(named, "indicatorValue", 10),
        [
            "192.0.2.1",
            "192.0.2.2",
            "198.51.100.0/24",
            "203.0.113.7",
            "2001:db8::1"
        ],
        "addresses sort as numbers, IPv4 first"
    );
    assert_eq!(
        list(named, "creationTimeDateTimeUtc desc", 10),
        [
            "203.0.113.7",
            "198.51.100.0/24",
            "2001:db8::1",
            "192.0.2.2",
            "192.0.2.1"
        ]
    );
    assert_eq!(list(named, "title desc", 2), ["203.0.113.7", "2001:db8::1"]);
    assert_eq!(
        list(named, "generateAlert desc, createdBy", 10),
        [
            "192.0.2.1",
            "2001:db8::1",
            "203.0.113.7",
            "192.0.2.2",
            "198.51.100.0/24"
        ]
    );
}

fn row_draft(value: &str) -> netward_model::IndicatorDraft {
    IndicatorSubmission {
        indicator_value: Some(value.into()),
        action: Some("Audit".into()),
        generate_alert: Some(false),
        title: Some("filler".into()),
        ..Default::default()
    }
    .validate(0)
    .unwrap()
}
