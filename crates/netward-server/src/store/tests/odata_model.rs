//! The conformance case that checks a backend's `$filter` against a naive model: random
//! filters over varied indicators select, in the store, exactly the indicators that
//! [`holds`] (the documented meaning of every field, written plainly) selects.

use netward_model::odata::{CompareOp, Field, Filter, Literal, TextFunction};
use netward_model::{Action, Actor, ActorKind, Indicator, IndicatorSubmission, Severity};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};

use super::{Change, IndicatorQuery, Store};

const TITLES: [&str; 6] = ["alpha", "Alpha two", "beta", "it's", "z", "ünï"];
const GROUPS: [&[&str]; 4] = [&[], &["g1"], &["g1", "g2"], &["g2"]];
const NAMES: [&str; 3] = ["tester", "feed", "Feed"];
const ACTIONS: [&str; 5] = ["Allowed", "Audit", "Alert", "Block", "AlertAndBlock"];
const EXPIRIES: [Option<&str>; 3] = [
    None,
    Some("2100-01-01T00:00:00Z"),
    Some("2200-01-01T00:00:00Z"),
];

/// Sixteen indicators that differ in every field a filter can name.
fn seed(store: &dyn Store) {
    for i in 0..16usize {
        let value = if i % 4 == 3 {
            format!("2001:db8::{i:x}")
        } else {
            format!("192.0.2.{i}")
        };
        let action = ACTIONS[i % ACTIONS.len()];
        let draft = IndicatorSubmission {
            indicator_value: Some(value),
            action: Some(action.into()),
            // The alerting names require an alert; the others alternate.
            generate_alert: (!action.starts_with("Alert")).then_some(i % 2 == 0),
            title: Some(TITLES[i % TITLES.len()].into()),
            severity: Some(Severity::ALL[i % 4].as_str().into()),
            rbac_group_names: Some(GROUPS[i % 4].iter().map(|g| g.to_string()).collect()),
            expiration_time: EXPIRIES[i % 3].map(str::to_owned),
            application: Some(["", "OpenCTI"][i % 2].into()),
            ..Default::default()
        }
        .validate(0)
        .unwrap();
        let who = Actor {
            name: NAMES[i % 3].into(),
            kind: ActorKind::ApiToken,
        };
        let at = i64::try_from(i).unwrap() * 100;
        store
            .upsert_indicators(&[draft], &Change { actor: &who, at })
            .unwrap();
    }
}

fn ordered<T: Ord>(left: T, op: CompareOp, right: T) -> bool {
    match op {
        CompareOp::Eq => left == right,
        CompareOp::Ne => left != right,
        CompareOp::Gt => left > right,
        CompareOp::Ge => left >= right,
        CompareOp::Lt => left < right,
        CompareOp::Le => left <= right,
    }
}

fn text_of(ind: &Indicator, field: Field) -> String {
    let d = &ind.draft;
    match field {
        Field::IndicatorValue => d.value.to_string(),
        Field::Title => d.title.clone(),
        Field::Application => d.application.clone(),
        _ => ind.created_by.name.clone(),
    }
}

/// The documented meaning of `filter`, evaluated on one indicator.
fn holds(filter: &Filter, ind: &Indicator) -> bool {
    let d = &ind.draft;
    match filter {
        Filter::And(a, b) => holds(a, ind) && holds(b, ind),
        Filter::Or(a, b) => holds(a, ind) || holds(b, ind),
        Filter::Not(inner) => !holds(inner, ind),
        Filter::Text {
            function,
            field,
            text,
        } => {
            let have = text_of(ind, *field);
            match function {
                TextFunction::StartsWith => have.starts_with(text.as_str()),
                TextFunction::EndsWith => have.ends_with(text.as_str()),
                TextFunction::Contains => have.contains(text.as_str()),
            }
        }
        Filter::Compare { field, op, value } => {
            let equal = |yes: bool| if *op == CompareOp::Ne { !yes } else { yes };
            match (field, value) {
                (Field::Action, Literal::Action { action, alert }) => {
                    equal(d.mde_action.as_str() == Literal::action_name(*action, *alert))
                }
                (Field::IndicatorValue, Literal::Address(v)) => equal(d.value == *v),
                (Field::RbacGroupNames, Literal::Text(g)) => equal(d.groups.contains(g)),
                (Field::GenerateAlert, Literal::Bool(b)) => equal(d.generate_alert == *b),
                (Field::Severity, Literal::Severity(s)) => ordered(d.severity, *op, *s),
                (Field::ExpirationTime, Literal::Null) => equal(d.expires_at.is_none()),
                (Field::ExpirationTime, Literal::Time(t)) => match d.expires_at {
                    Some(e) => ordered(e, *op, *t),
                    None => *op == CompareOp::Ne,
                },
                (Field::CreationTime, Literal::Time(t)) => ordered(ind.created_at, *op, *t),
                (Field::Id, Literal::Number(n)) => ordered(ind.id, *op, *n),
                (field, Literal::Text(t)) => {
                    ordered(text_of(ind, *field).as_str(), *op, t.as_str())
                }
                other => panic!("no model for {other:?}"),
            }
        }
    }
}

fn leaf() -> impl Strategy<Value = Filter> {
    let op = select(CompareOp::ALL.to_vec());
    let eq_ne = select(vec![CompareOp::Eq, CompareOp::Ne]);
    let cmp = |field: Field, op: CompareOp, value: Literal| Filter::Compare { field, op, value };
    let texts = select(vec![
        "alpha", "Alpha", "", "it's", "ü", "z", "feed", "OpenCTI",
    ]);
    prop_oneof![
        (
            select(vec![Field::Title, Field::Application, Field::CreatedBy]),
            op.clone(),
            texts.clone()
        )
            .prop_map(move |(f, op, t)| cmp(f, op, Literal::Text(t.into()))),
        (
            select(vec![
                TextFunction::StartsWith,
                TextFunction::EndsWith,
                TextFunction::Contains
            ]),
            select(vec![Field::Title, Field::IndicatorValue, Field::Source]),
            select(vec!["al", "a", "", "::", "192.0.2.1", "ï", "'"])
        )
            .prop_map(|(function, field, t)| Filter::Text {
                function,
                field,
                text: t.into()
            }),
        (eq_ne.clone(), select(ACTIONS.to_vec())).prop_map(move |(op, a)| {
            let (action, rule) = Action::parse(a).unwrap();
            cmp(
                Field::Action,
                op,
                Literal::Action {
                    action,
                    alert: rule == netward_model::AlertRule::Required,
                },
            )
        }),
        (eq_ne.clone(), 0u8..20).prop_map(move |(op, i)| cmp(
            Field::IndicatorValue,
            op,
            Literal::Address(
                netward_model::IndicatorValue::parse(&format!("192.0.2.{i}")).unwrap()
            )
        )),
        (eq_ne.clone(), select(vec!["g1", "g2", "g3"])).prop_map(move |(op, g)| cmp(
            Field::RbacGroupNames,
            op,
            Literal::Text(g.into())
        )),
        (eq_ne.clone(), any::<bool>()).prop_map(move |(op, b)| cmp(
            Field::GenerateAlert,
            op,
            Literal::Bool(b)
        )),
        (op.clone(), select(Severity::ALL.to_vec())).prop_map(move |(op, s)| cmp(
            Field::Severity,
            op,
            Literal::Severity(s)
        )),
        eq_ne.prop_map(move |op| cmp(Field::ExpirationTime, op, Literal::Null)),
        (
            op.clone(),
            select(vec![4_102_444_800i64, 5_000_000_000, 7_258_118_400])
        )
            .prop_map(move |(op, t)| cmp(Field::ExpirationTime, op, Literal::Time(t))),
        (op.clone(), 0i64..1600).prop_map(move |(op, t)| cmp(
            Field::CreationTime,
            op,
            Literal::Time(t)
        )),
        (op, 0i64..20).prop_map(move |(op, n)| cmp(Field::Id, op, Literal::Number(n))),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

pub(super) fn odata_filters_agree_with_a_naive_model(store: &dyn Store) {
    seed(store);
    let everything = IndicatorQuery {
        top: 1000,
        ..Default::default()
    };
    let all = store.list_indicators(&everything, 0).unwrap();
    assert_eq!(all.len(), 16);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    runner
        .run(&filter(), |f| {
            let query = IndicatorQuery {
                filter: Some(f.clone()),
                ..everything.clone()
            };
            let got: Vec<i64> = store
                .list_indicators(&query, 0)
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect();
            let want: Vec<i64> = all.iter().filter(|i| holds(&f, i)).map(|i| i.id).collect();
            prop_assert_eq!(got, want, "{}", f);
            Ok(())
        })
        .unwrap();
}
