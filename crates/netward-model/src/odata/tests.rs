//! The parser's unit tests (every operator, literal and refusal) and property tests: it never
//! panics, and printing a filter and parsing the text again gives the same filter.

use proptest::prelude::*;

use super::*;
use crate::{Action, IndicatorValue, Severity};

fn cmp(field: Field, op: CompareOp, value: Literal) -> Filter {
    Filter::Compare { field, op, value }
}

fn text(s: &str) -> Literal {
    Literal::Text(s.to_owned())
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn parse(input: &str) -> Filter {
    parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"))
}

fn refusal(input: &str) -> (ODataError, String) {
    let e = parse_filter(input).expect_err(input);
    let message = e.to_string();
    (e, message)
}

#[test]
fn every_operator_on_a_text_field() {
    for op in CompareOp::ALL {
        assert_eq!(
            parse(&format!("title {} 'x'", op.as_str())),
            cmp(Field::Title, op, text("x"))
        );
    }
    assert_eq!(
        parse("TITLE EQ 'x'"),
        cmp(Field::Title, CompareOp::Eq, text("x"))
    );
}

#[test]
fn the_queries_clients_send() {
    let v = |s: &str| Literal::Address(IndicatorValue::parse(s).unwrap());
    assert_eq!(
        parse("indicatorValue eq '203.0.113.7'"),
        cmp(Field::IndicatorValue, CompareOp::Eq, v("203.0.113.7"))
    );
    assert_eq!(
        parse("indicatorValue eq '2001:0db8::1'"),
        cmp(Field::IndicatorValue, CompareOp::Eq, v("2001:db8::1")),
        "the literal is canonical"
    );
    assert_eq!(
        parse("action eq 'AlertAndBlock'"),
        cmp(
            Field::Action,
            CompareOp::Eq,
            Literal::Action {
                action: Action::Block,
                alert: true
            }
        )
    );
    assert_eq!(
        parse("title eq 'x' and generateAlert eq true"),
        and(
            cmp(Field::Title, CompareOp::Eq, text("x")),
            cmp(Field::GenerateAlert, CompareOp::Eq, Literal::Bool(true))
        )
    );
    assert_eq!(
        parse("creationTimeDateTimeUtc ge 2026-01-01T00:00:00Z"),
        cmp(
            Field::CreationTime,
            CompareOp::Ge,
            Literal::Time(1_767_225_600)
        )
    );
    assert_eq!(
        parse("application eq 'OpenCTI'"),
        cmp(Field::Application, CompareOp::Eq, text("OpenCTI"))
    );
}

#[test]
fn literals_are_typed_for_their_field() {
    let time = Literal::Time(1_767_225_600);
    for written in [
        "2026-01-01T00:00:00Z",
        "'2026-01-01T00:00:00Z'",
        "datetime'2026-01-01T00:00:00Z'",
        "datetimeoffset'2026-01-01T01:00:00+01:00'",
    ] {
        assert_eq!(
            parse(&format!("lastUpdateTime lt {written}")),
            cmp(Field::LastUpdateTime, CompareOp::Lt, time.clone()),
            "{written}"
        );
    }
    assert_eq!(
        parse("expirationTime eq null"),
        cmp(Field::ExpirationTime, CompareOp::Eq, Literal::Null)
    );
    assert_eq!(
        parse("title eq 'it''s'"),
        cmp(Field::Title, CompareOp::Eq, text("it's"))
    );
    assert_eq!(
        parse("id ge 12"),
        cmp(Field::Id, CompareOp::Ge, Literal::Number(12))
    );
    assert_eq!(
        parse("id eq '12'"),
        cmp(Field::Id, CompareOp::Eq, Literal::Number(12)),
        "MDE's ids are strings on the wire"
    );
    assert_eq!(
        parse("severity gt 'low'"),
        cmp(
            Field::Severity,
            CompareOp::Gt,
            Literal::Severity(Severity::Low)
        )
    );
    assert_eq!(
        parse("action ne 'allowed'"),
        cmp(
            Field::Action,
            CompareOp::Ne,
            Literal::Action {
                action: Action::Allow,
                alert: false
            }
        )
    );
    assert_eq!(
        parse("externalID eq 'a'"),
        cmp(Field::ExternalId, CompareOp::Eq, text("a"))
    );
    assert_eq!(
        parse("rbacGroupNames eq 'servers'"),
        cmp(Field::RbacGroupNames, CompareOp::Eq, text("servers"))
    );
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_regroup() {
    let (a, b, c) = (
        cmp(Field::Title, CompareOp::Eq, text("a")),
        cmp(Field::Title, CompareOp::Eq, text("b")),
        cmp(Field::Title, CompareOp::Eq, text("c")),
    );
    assert_eq!(
        parse("title eq 'a' or title eq 'b' and title eq 'c'"),
        or(a.clone(), and(b.clone(), c.clone()))
    );
    assert_eq!(
        parse("(title eq 'a' or title eq 'b') and title eq 'c'"),
        and(or(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(
        parse("not (title eq 'a' or title eq 'b')"),
        Filter::Not(Box::new(or(a.clone(), b)))
    );
    assert_eq!(
        parse("not title eq 'a' and title eq 'c'"),
        and(Filter::Not(Box::new(a)), c)
    );
}

#[test]
fn text_functions_and_boolean_shorthands() {
    let starts = Filter::Text {
        function: TextFunction::StartsWith,
        field: Field::Title,
        text: "ab".into(),
    };
    assert_eq!(parse("startswith(title,'ab')"), starts);
    assert_eq!(parse("startswith( title , 'ab' ) eq true"), starts);
    assert_eq!(
        parse("startswith(title,'ab') eq false"),
        Filter::Not(Box::new(starts.clone()))
    );
    assert_eq!(
        parse("startswith(title,'ab') ne false"),
        starts,
        "ne false is eq true"
    );
    for (name, function) in [
        ("endswith", TextFunction::EndsWith),
        ("contains", TextFunction::Contains),
    ] {
        assert_eq!(
            parse(&format!("{name}(indicatorValue,'0.113.')")),
            Filter::Text {
                function,
                field: Field::IndicatorValue,
                text: "0.113.".into()
            }
        );
    }
    let alerting = cmp(Field::GenerateAlert, CompareOp::Eq, Literal::Bool(true));
    assert_eq!(parse("generateAlert"), alerting);
    assert_eq!(
        parse("not generateAlert and title eq 'x'"),
        and(
            Filter::Not(Box::new(alerting)),
            cmp(Field::Title, CompareOp::Eq, text("x"))
        )
    );
}

#[test]
fn refusals_name_the_part_and_its_position() {
    let cases: &[(&str, &str)] = &[
        (
            "title eq 'x' and foo eq 1",
            "`foo` at 18 is not a field you can filter on; use one of id, indicatorValue",
        ),
        ("lower(title) eq 'x'", "`lower` at 1 is not a function"),
        ("title like 'x'", "`like` at 7 is not an operator"),
        (
            "title eq 'x' garbage",
            "`garbage` at 14 is out of place: expected `and`, `or` or the end",
        ),
        ("title eq 'x')", "`)` at 13 is out of place"),
        (
            "(title eq 'x'",
            "the expression ends at 14, where `)`, `and` or `or` was expected",
        ),
        (
            "title eq",
            "the expression ends at 9, where a value was expected",
        ),
        ("title", "the expression ends at 6, where an operator"),
        (
            "title eq AlertAndBlock",
            "`AlertAndBlock` at 10 is not a value: quote text",
        ),
        (
            "title eq 5",
            "`5` at 10 is not quoted text, which `title` compares with",
        ),
        (
            "generateAlert eq 'yes'",
            "`'yes'` at 18 is not true or false, which `generateAlert`",
        ),
        (
            "creationTimeDateTimeUtc ge 'soon'",
            "`'soon'` at 28 is not a time such as",
        ),
        (
            "expirationTime lt null",
            "null compares only with eq and ne",
        ),
        (
            "indicatorValue eq '10.1.2.3/24'",
            "`'10.1.2.3/24'` at 19 cannot be compared with `indicatorValue`: `10.1.2.3/24` has host bits set",
        ),
        (
            "action eq 'Nuke'",
            "`'Nuke'` at 11 cannot be compared with `action`: `Nuke` is not an action",
        ),
        (
            "action gt 'Block'",
            "`gt` at 8 does not apply to `action`, which takes only eq and ne",
        ),
        ("severity eq 'Critical'", "not a severity"),
        (
            "startswith(generateAlert,'t')",
            "`generateAlert` at 12 is not text",
        ),
        (
            "startswith(title,5)",
            "`5` at 18 is out of place: expected quoted text",
        ),
        ("title eq \"x\"", "`\"` at 10 cannot appear here"),
        (
            "title eq 'x",
            "the text starting at 10 has no closing quote",
        ),
        ("   ", "the expression is empty"),
        ("and", "`and` at 1 is not a field"),
        ("id eq 1.5", "`1.5` at 7 is not a value"),
    ];
    for (input, fragment) in cases {
        let (_, message) = refusal(input);
        assert!(
            message.contains(fragment),
            "{input}: `{message}` lacks `{fragment}`"
        );
    }
}

#[test]
fn nesting_and_size_are_bounded() {
    let deep = format!("{}title eq 'x'{}", "(".repeat(40), ")".repeat(40));
    assert_eq!(
        refusal(&deep).0,
        ODataError::TooDeep {
            at: MAX_DEPTH + 1,
            max: MAX_DEPTH
        }
    );
    assert!(matches!(
        refusal(&"not ".repeat(40)).0,
        ODataError::TooDeep { .. }
    ));
    let ok = format!(
        "{}title eq 'x'{}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    parse(&ok);
    let many = vec!["id eq 1"; MAX_CONDITIONS + 1].join(" or ");
    assert!(matches!(
        refusal(&many).0,
        ODataError::TooManyConditions { .. }
    ));
}

#[test]
fn orderby_takes_fields_and_directions() {
    assert_eq!(
        parse_orderby("creationTimeDateTimeUtc desc, title,severity ASC").unwrap(),
        [
            OrderBy {
                field: Field::CreationTime,
                descending: true
            },
            OrderBy {
                field: Field::Title,
                descending: false
            },
            OrderBy {
                field: Field::Severity,
                descending: false
            },
        ]
    );
    for (input, fragment) in [
        ("colour", "`colour` at 1 is not a field"),
        (
            "title sideways",
            "`sideways` at 7 is out of place: expected `asc`, `desc`",
        ),
        ("rbacGroupNames", "`rbacGroupNames` at 1 is a list"),
        (
            "title,",
            "the expression ends at 7, where a field was expected",
        ),
        ("", "the expression is empty"),
    ] {
        let message = parse_orderby(input).expect_err(input).to_string();
        assert!(message.contains(fragment), "{input}: `{message}`");
    }
}

#[test]
fn printing_gives_canonical_odata() {
    for (input, printed) in [
        ("ACTION EQ 'alertandblock'", "action eq 'AlertAndBlock'"),
        (
            "indicatorValue eq '2001:0db8::1'",
            "indicatorValue eq '2001:db8::1'",
        ),
        (
            "title eq 'a' or (title eq 'b' or title eq 'c')",
            "title eq 'a' or (title eq 'b' or title eq 'c')",
        ),
        (
            "(title eq 'a' or title eq 'b') and not (id eq 1)",
            "(title eq 'a' or title eq 'b') and not id eq 1",
        ),
        ("generateAlert", "generateAlert eq true"),
        (
            "lastUpdateTime ge datetime'2026-01-01T00:00:00.5Z'",
            "lastUpdateTime ge 2026-01-01T00:00:00Z",
        ),
        (
            "contains(title,'it''s') eq false",
            "not contains(title,'it''s')",
        ),
    ] {
        assert_eq!(parse(input).to_string(), printed, "{input}");
    }
}

/// Type-correct leaves for every field kind.
fn leaf() -> impl Strategy<Value = Filter> {
    let op = proptest::sample::select(CompareOp::ALL.to_vec());
    let eq_ne = proptest::sample::select(vec![CompareOp::Eq, CompareOp::Ne]);
    let text_field = proptest::sample::select(vec![
        Field::Title,
        Field::Description,
        Field::Application,
        Field::ExternalId,
        Field::CreatedBy,
        Field::Source,
    ]);
    let time_field = proptest::sample::select(vec![
        Field::ExpirationTime,
        Field::CreationTime,
        Field::LastUpdateTime,
    ]);
    let function = proptest::sample::select(vec![
        TextFunction::StartsWith,
        TextFunction::EndsWith,
        TextFunction::Contains,
    ]);
    prop_oneof![
        (text_field.clone(), op.clone(), ".*").prop_map(|(f, op, s)| cmp(f, op, Literal::Text(s))),
        (op.clone(), any::<i64>()).prop_map(|(op, n)| cmp(Field::Id, op, Literal::Number(n))),
        (eq_ne.clone(), any::<bool>()).prop_map(|(op, b)| cmp(
            Field::GenerateAlert,
            op,
            Literal::Bool(b)
        )),
        (time_field, op.clone(), 0i64..4_000_000_000).prop_map(|(f, op, t)| cmp(
            f,
            op,
            Literal::Time(t)
        )),
        eq_ne
            .clone()
            .prop_map(|op| cmp(Field::ExpirationTime, op, Literal::Null)),
        (op, proptest::sample::select(Severity::ALL.to_vec())).prop_map(|(op, s)| cmp(
            Field::Severity,
            op,
            Literal::Severity(s)
        )),
        (eq_ne.clone(), any::<u32>()).prop_map(|(op, a)| cmp(
            Field::IndicatorValue,
            op,
            Literal::Address(
                IndicatorValue::parse(&std::net::Ipv4Addr::from(a).to_string()).unwrap()
            )
        )),
        (
            eq_ne,
            proptest::sample::select(vec![
                (Action::Allow, false),
                (Action::Audit, false),
                (Action::Audit, true),
                (Action::Block, false),
                (Action::Block, true),
            ])
        )
            .prop_map(|(op, (action, alert))| cmp(
                Field::Action,
                op,
                Literal::Action { action, alert }
            )),
        (function, text_field, ".*").prop_map(|(function, field, text)| Filter::Text {
            function,
            field,
            text
        }),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// Text made of the filter's own vocabulary, so that it often gets deep into the parser.
fn filterish() -> impl Strategy<Value = String> {
    let piece = proptest::sample::select(vec![
        "title",
        "eq",
        "ne",
        "gt",
        "and",
        "or",
        "not",
        "(",
        ")",
        ",",
        "'x'",
        "''",
        "'",
        "null",
        "true",
        "12",
        "2026-01-01T00:00:00Z",
        "datetime'",
        "startswith",
        "action",
        "'Block'",
        "expirationTime",
        "generateAlert",
        "indicatorValue",
        "'192.0.2.1'",
        "id",
        " ",
        "é",
    ]);
    proptest::collection::vec(piece, 0..30).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_filter(f in filter()) {
        let printed = f.to_string();
        prop_assert_eq!(parse_filter(&printed), Ok(f), "{}", printed);
    }

    #[test]
    fn the_parser_never_panics(input in ".*") {
        let _ = parse_filter(&input);
        let _ = parse_orderby(&input);
    }

    #[test]
    fn whatever_parses_prints_to_itself(input in filterish()) {
        if let Ok(f) = parse_filter(&input) {
            prop_assert_eq!(parse_filter(&f.to_string()), Ok(f));
        }
        let _ = parse_orderby(&input);
    }
}

/// `mde-client` lists with OData 4.01's `in`: the same as the `eq … or …` it stands for, each
/// value typed for its field.
#[test]
fn in_reads_as_a_chain_of_equalities() {
    let listed =
        parse_filter("indicatorType in ('IpAddress') and action in ('Block','AlertAndBlock')")
            .unwrap();
    let spelled = parse_filter(
        "indicatorType eq 'IpAddress' and (action eq 'Block' or action eq 'AlertAndBlock')",
    )
    .unwrap();
    assert_eq!(listed, spelled);
    // MDE's `Warn` is a value netward never stores: it matches nothing, it is no error.
    assert!(parse_filter("action in ('Block', 'Warn')").is_ok());
    let e = parse_filter("action in ('Block', 'Nuke')")
        .unwrap_err()
        .to_string();
    assert!(e.contains("Nuke"), "{e}");
    assert!(parse_filter("action in ('Block'").is_err());
    assert!(parse_filter("action in 'Block'").is_err());
}
