use netward_model::IndicatorValue;
use netward_testkit::fuzz::{fuzz, mutate};
use proptest::prelude::*;

use super::{PatternError, addresses};

fn values(list: &[&str]) -> Vec<IndicatorValue> {
    list.iter()
        .map(|v| IndicatorValue::parse(v).expect("a test value"))
        .collect()
}

fn accepts(pattern: &str, expected: &[&str]) {
    assert_eq!(addresses(pattern), Ok(values(expected)), "{pattern}");
}

fn refuses(pattern: &str, reason: &str) {
    match addresses(pattern) {
        Ok(v) => panic!("{pattern} was accepted as {v:?}"),
        Err(e) => assert!(
            e.to_string().contains(reason),
            "{pattern}: `{e}` does not say `{reason}`"
        ),
    }
}

#[test]
fn address_terms_of_either_family_name_their_addresses() {
    accepts("[ipv4-addr:value = '203.0.113.7']", &["203.0.113.7"]);
    accepts("[ipv4-addr:value = '203.0.113.0/24']", &["203.0.113.0/24"]);
    accepts(
        "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
        &["198.51.100.0/24"],
    );
    accepts(
        "[ipv4-addr:value ISSUBSET '198.51.100.9']",
        &["198.51.100.9"],
    );
    accepts("[ipv6-addr:value = '2001:db8::1']", &["2001:db8::1"]);
    accepts("[ipv6-addr:value = '2001:DB8:0::/48']", &["2001:db8::/48"]);
    accepts(
        "[ipv6-addr:value ISSUBSET '2001:db8:abcd::/48']",
        &["2001:db8:abcd::/48"],
    );
    // Spacing is free, as in the grammar.
    accepts("[ipv4-addr:value='192.0.2.1']", &["192.0.2.1"]);
    accepts("  [ ipv4-addr:value\t=\n'192.0.2.1' ]  ", &["192.0.2.1"]);
}

#[test]
fn or_and_in_name_every_address_once() {
    accepts(
        "[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2']",
        &["192.0.2.1", "192.0.2.2"],
    );
    accepts(
        "[ipv4-addr:value = '192.0.2.1'] OR [ipv6-addr:value = '2001:db8::2']",
        &["192.0.2.1", "2001:db8::2"],
    );
    accepts(
        "[ipv4-addr:value IN ('192.0.2.1', '192.0.2.0/24', '192.0.2.1')]",
        &["192.0.2.1", "192.0.2.0/24"],
    );
    accepts(
        "([ipv4-addr:value = '192.0.2.1'] OR ([ipv4-addr:value = '192.0.2.3']))",
        &["192.0.2.1", "192.0.2.3"],
    );
    accepts(
        "[(ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.5')]",
        &["192.0.2.1", "192.0.2.5"],
    );
}

#[test]
fn network_traffic_references_name_the_peer_in_either_direction() {
    accepts(
        "[network-traffic:dst_ref.value = '198.51.100.34']",
        &["198.51.100.34"],
    );
    accepts(
        "[network-traffic:src_ref.value = '2001:db8::7']",
        &["2001:db8::7"],
    );
    accepts(
        "[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24']",
        &["203.0.113.0/24"],
    );
    // The STIX specification's own example form: the type term restates the family.
    accepts(
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
        &["203.0.113.33"],
    );
    accepts(
        "[network-traffic:src_ref.value = '2001:db8::9' AND network-traffic:src_ref.type = 'ipv6-addr']",
        &["2001:db8::9"],
    );
    refuses(
        "[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '203.0.113.33']",
        "not an IPv6 address",
    );
    refuses(
        "[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33']",
        "`network-traffic:src_ref.type` names no address",
    );
}

#[test]
fn terms_that_need_more_than_one_address_are_refused() {
    refuses(
        "[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']",
        "AND is not supported",
    );
    refuses(
        "[ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.0.2.2']",
        "AND is not supported",
    );
    refuses(
        "[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']",
        "FOLLOWEDBY is not supported",
    );
    // OR binds looser than AND: the AND still makes the whole refused.
    refuses(
        "[ipv4-addr:value = '192.0.2.9' OR ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']",
        "AND is not supported",
    );
}

#[test]
fn negations_and_other_operators_are_refused() {
    refuses("[ipv4-addr:value != '192.0.2.1']", "operator != is not");
    refuses(
        "[ipv4-addr:value NOT = '192.0.2.1']",
        "NOT is not supported",
    );
    refuses(
        "[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']",
        "NOT is not supported",
    );
    refuses("[ipv4-addr:value LIKE '192.0.2.%']", "operator LIKE");
    refuses("[ipv4-addr:value MATCHES '^192\\\\.0']", "operator MATCHES");
    refuses(
        "[ipv4-addr:value ISSUPERSET '192.0.2.1']",
        "operator ISSUPERSET",
    );
    refuses("[ipv4-addr:value > '192.0.2.1']", "operator >");
    refuses("[EXISTS ipv4-addr:value]", "EXISTS is not supported");
    refuses("[ipv4-addr:value IN ()]", "IN () names no address");
}

#[test]
fn port_terms_are_refused_rather_than_widened() {
    refuses("[network-traffic:dst_port = 443]", "is a port term");
    refuses(
        "[network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = 4444]",
        "`network-traffic:dst_port` is a port term",
    );
    refuses(
        "[network-traffic:src_port IN (22, 23)]",
        "network-traffic:src_port",
    );
}

#[test]
fn temporal_qualifiers_are_refused() {
    refuses(
        "[ipv4-addr:value = '192.0.2.1'] WITHIN 300 SECONDS",
        "qualifier WITHIN",
    );
    refuses(
        "[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES",
        "qualifier REPEATS",
    );
    refuses(
        "[ipv4-addr:value = '192.0.2.1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        "qualifier START/STOP",
    );
    refuses(
        "([ipv4-addr:value = '192.0.2.1'] OR [ipv4-addr:value = '192.0.2.2']) REPEATS 2 TIMES WITHIN 10 SECONDS",
        "qualifier REPEATS",
    );
}

#[test]
fn other_object_types_and_properties_are_refused() {
    refuses(
        "[domain-name:value = 'example.com']",
        "`domain-name:value` names no address",
    );
    refuses(
        "[url:value = 'http://192.0.2.1/']",
        "`url:value` names no address",
    );
    refuses(
        "[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
        "names no address",
    );
    refuses(
        "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
        "names no address",
    );
    refuses(
        "[ipv4-addr:resolves_to_refs[*].value = '00:00:5e:00:53:00']",
        "names no address",
    );
    refuses("[network-traffic:protocols[*] = 'tcp']", "names no address");
    refuses(
        "[ipv4-addr:value = '192.0.2.1'] OR [domain-name:value = 'example.com']",
        "`domain-name:value` names no address",
    );
}

#[test]
fn values_must_be_addresses_of_the_term_s_family_without_host_bits() {
    refuses(
        "[ipv4-addr:value = '192.0.2.1/24']",
        "host bits set: the network is `192.0.2.0/24`",
    );
    refuses("[ipv6-addr:value = '2001:db8::1/32']", "host bits set");
    refuses("[ipv4-addr:value = 'example.com']", "is not an IP address");
    refuses(
        "[ipv4-addr:value = '192.0.2.0/33']",
        "invalid prefix length",
    );
    refuses("[ipv4-addr:value = '2001:db8::1']", "not an IPv4 address");
    refuses("[ipv6-addr:value = '192.0.2.1']", "not an IPv6 address");
    refuses(
        "[ipv4-addr:value = 3221225985]",
        "`3221225985` is not a quoted address",
    );
    refuses(
        "[ipv4-addr:value = t'2016-06-01T00:00:00Z']",
        "is not a quoted address",
    );
    refuses(
        "[ipv4-addr:value IN ('192.0.2.1', 'nope')]",
        "`nope` is not an IP address",
    );
}

#[test]
fn malformed_patterns_say_where() {
    for (pattern, at) in [
        ("", 0),
        ("ipv4-addr:value = '192.0.2.1'", 0),
        ("[ipv4-addr:value = '192.0.2.1'", 30),
        ("[ipv4-addr:value = '192.0.2.1]", 19),
        ("[ipv4-addr:value '192.0.2.1']", 17),
        ("[ipv4-addr:value = ]", 19),
        ("[ipv4-addr:value = '192.0.2.1'] OR", 34),
        (
            "[ipv4-addr:value = '192.0.2.1'] [ipv4-addr:value = '192.0.2.2']",
            32,
        ),
        (
            "[ipv4-addr:value = '192.0.2.1' or ipv4-addr:value = '192.0.2.2']",
            31,
        ),
        ("[ipv4-addr:value IN '192.0.2.1']", 20),
        ("[ipv4-addr:value IN ('192.0.2.1',)]", 33),
        ("[ipv4-addr:value = '192.0.2.1'] WITHIN SECONDS", 39),
        ("[ipv4-addr:value = '19\\2.0.2.1']", 22),
        ("[ipv4-addr: = '192.0.2.1']", 11),
        ("[ipv4-addr:value = '192.0.2.1'] § ", 32),
    ] {
        match addresses(pattern) {
            Err(PatternError::Malformed { at: found, .. }) => {
                assert_eq!(found, at, "{pattern}: {:?}", addresses(pattern));
            }
            other => panic!("{pattern}: {other:?}"),
        }
    }
}

#[test]
fn escapes_in_strings_are_read() {
    refuses("[domain-name:value = 'it\\'s']", "names no address");
    refuses(
        "[ipv4-addr:value = '192.0.2.1\\\\']",
        "is not an IP address",
    );
}

#[test]
fn nesting_is_bounded() {
    let deep = format!(
        "{}[ipv4-addr:value = '192.0.2.1']{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_eq!(addresses(&deep), Err(PatternError::TooDeep));
    let inner = format!(
        "[{}ipv4-addr:value = '192.0.2.1'{}]",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_eq!(addresses(&inner), Err(PatternError::TooDeep));
    let fine = format!(
        "{}[ipv4-addr:value = '192.0.2.1']{}",
        "(".repeat(20),
        ")".repeat(20)
    );
    accepts(&fine, &["192.0.2.1"]);
}

#[test]
fn long_chains_are_read_without_deep_recursion() {
    let terms: Vec<String> = (0..50_000u32)
        .map(|n| format!("[ipv4-addr:value = '{}']", std::net::Ipv4Addr::from(n)))
        .collect();
    let found = addresses(&terms.join(" OR ")).expect("a long OR");
    assert_eq!(found.len(), 50_000);
    let inside = format!("[{}]", terms.join(" OR ").replace("] OR [", " OR "))
        .replace("[[", "[")
        .replace("]]", "]");
    assert_eq!(addresses(&inside).map(|v| v.len()), Ok(50_000));
    refuses(&terms.join(" AND "), "AND is not supported");
}

/// Pieces of real patterns, to build inputs that reach deep into the parser.
fn piece() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "[",
        "]",
        "(",
        ")",
        ",",
        " ",
        "=",
        "!=",
        "<=",
        ">",
        "'",
        "\\",
        "t'",
        "b'",
        "h'",
        "ipv4-addr:value",
        "ipv6-addr:value",
        "network-traffic:dst_ref.value",
        "network-traffic:dst_ref.type",
        "network-traffic:dst_port",
        "x:a[*].b",
        "x:'q'",
        "'192.0.2.1'",
        "'10.0.0.0/8'",
        "'2001:db8::/32'",
        "'ipv4-addr'",
        "'1.2.3.4/3'",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "MATCHES",
        "ISSUBSET",
        "ISSUPERSET",
        "EXISTS",
        "FOLLOWEDBY",
        "WITHIN",
        "SECONDS",
        "REPEATS",
        "TIMES",
        "START",
        "STOP",
        "5",
        "-1.5",
        "true",
        "'2016-06-01T00:00:00Z'",
        "é",
        "\u{0}",
    ])
}

#[test]
fn fuzz_stix_pattern_never_panics() {
    let input = prop_oneof![
        any::<String>(),
        proptest::collection::vec(piece(), 0..40).prop_map(|p| p.concat()),
        (
            proptest::collection::vec(piece(), 0..40),
            proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
        )
            .prop_map(|(p, e)| String::from_utf8_lossy(&mutate(
                p.concat().into_bytes(),
                &e
            ))
            .into_owned()),
    ];
    fuzz("stix_pattern", 3000, input, |pattern| {
        if let Ok(found) = addresses(&pattern) {
            prop_assert!(!found.is_empty(), "{pattern} named nothing");
        }
        Ok(())
    });
}
