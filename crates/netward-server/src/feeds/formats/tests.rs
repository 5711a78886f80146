#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use proptest::prelude::*;

use super::*;

fn values(items: &[FeedItem]) -> Vec<String> {
    items.iter().map(|i| i.value.to_string()).collect()
}

fn csv_mapping(column: &str) -> CsvMapping {
    CsvMapping {
        column: column.into(),
        comment_prefix: "#".into(),
    }
}

#[test]
fn plain_reads_firehol_headers_and_trailing_comments() {
    let body = b"#\n# firehol_level1\n# Maintainer: FireHOL\n#\n0.0.0.0/8\n1.10.16.0/20\n\
        203.0.113.7 # a trailing comment\n198.51.100.0/24;SBL1\n\r\n  \n2001:db8::/32\n";
    let (items, refusals) = parse(FeedKind::Plain, body, None).unwrap();
    assert_eq!(
        values(&items),
        [
            "0.0.0.0/8",
            "1.10.16.0/20",
            "203.0.113.7",
            "198.51.100.0/24",
            "2001:db8::/32"
        ]
    );
    assert_eq!(items[2].comment.as_deref(), Some("a trailing comment"));
    assert_eq!(items[3].comment.as_deref(), Some("SBL1"));
    assert!(refusals.is_empty(), "{refusals:?}");
}

#[test]
fn plain_reads_spamhaus_drop_text() {
    let body = b"; Spamhaus DROP List 2024/01/01\n; Last-Modified: Mon\n1.10.16.0/20 ; SBL256894\n\
        1.19.0.0/16 ; SBL434604\n";
    let (items, refusals) = parse(FeedKind::Plain, body, None).unwrap();
    assert_eq!(values(&items), ["1.10.16.0/20", "1.19.0.0/16"]);
    assert_eq!(items[0].comment.as_deref(), Some("SBL256894"));
    assert!(refusals.is_empty());
}

#[test]
fn plain_refuses_bad_lines_with_a_reason_and_keeps_the_rest() {
    let body = b"10.0.0.1/24\nnot-an-ip\n192.0.2.1 192.0.2.2\n192.0.2.3\n";
    let (items, refusals) = parse(FeedKind::Plain, body, None).unwrap();
    assert_eq!(values(&items), ["192.0.2.3"]);
    let why: Vec<(&str, &str)> = refusals
        .iter()
        .map(|r| (r.at.as_str(), r.entry.as_str()))
        .collect();
    assert_eq!(
        why,
        [
            ("line 1", "10.0.0.1/24"),
            ("line 2", "not-an-ip"),
            ("line 3", "192.0.2.1 192.0.2.2")
        ]
    );
    assert!(
        refusals[0].reason.contains("host bits"),
        "{}",
        refusals[0].reason
    );
    assert!(refusals[2].reason.contains("one IP or CIDR per line"));
}

#[test]
fn spamhaus_json_reads_ndjson_and_needs_its_trailer() {
    let body = br#"{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}
{"cidr":"2a06:e480::/29","sblid":"SBL301771","rir":"ripencc"}
{"cidr":"10.0.0.1/8","sblid":"SBL1","rir":"x"}
not json
{"type":"metadata","timestamp":1700000000,"size":3,"records":3,"copyright":"(c) Spamhaus"}
"#;
    let (items, refusals) = parse(FeedKind::SpamhausJson, body, None).unwrap();
    assert_eq!(values(&items), ["1.10.16.0/20", "2a06:e480::/29"]);
    assert_eq!(items[0].external_id.as_deref(), Some("SBL256894"));
    assert_eq!(items[0].comment.as_deref(), Some("SBL256894 (apnic)"));
    assert_eq!(refusals.len(), 2);
    assert_eq!(refusals[0].at, "line 3");
    assert!(refusals[1].reason.starts_with("not a JSON object"));

    let truncated = br#"{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}
{"cidr":"1.19.0.0/16","sb"#;
    let err = parse(FeedKind::SpamhausJson, truncated, None).unwrap_err();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn csv_reads_feodo_trackers_commented_header() {
    let body = b"################################################################\n\
# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n\
################################################################\n\
#\n\
# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
\"2021-01-17 07:44:46\",\"51.75.71.205\",\"443\",\"online\",\"2021-01-19\",\"Dridex\"\n\
\"2021-01-17 07:44:46\",\"not-an-ip\",\"443\",\"online\",\"2021-01-19\",\"Dridex\"\n\
\"2021-02-01 10:00:00\",\"203.0.113.9\",\"8080\",\"offline\",\"2021-02-02\",\"Emotet\"\n\
# Number of entries: 3\n";
    let (items, refusals) = parse(FeedKind::Csv, body, Some(&csv_mapping("dst_ip"))).unwrap();
    assert_eq!(values(&items), ["51.75.71.205", "203.0.113.9"]);
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].at, "line 7");
}

#[test]
fn csv_takes_a_plain_header_or_an_index() {
    let body = b"ip,score\n192.0.2.1,9\n192.0.2.2,3\n";
    let (items, _) = parse(FeedKind::Csv, body, Some(&csv_mapping("ip"))).unwrap();
    assert_eq!(values(&items), ["192.0.2.1", "192.0.2.2"]);
    let body = b"192.0.2.1,9\n192.0.2.2,3\n";
    let (items, refusals) = parse(FeedKind::Csv, body, Some(&csv_mapping("0"))).unwrap();
    assert_eq!(values(&items), ["192.0.2.1", "192.0.2.2"]);
    assert!(refusals.is_empty());
    let err = parse(FeedKind::Csv, b"a,b\n1,2\n", Some(&csv_mapping("ip"))).unwrap_err();
    assert!(err.contains("no column `ip`"), "{err}");
}

proptest! {
    #[test]
    fn list_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse(FeedKind::Plain, &body, None);
        let _ = parse(FeedKind::SpamhausJson, &body, None);
        let _ = parse(FeedKind::Csv, &body, Some(&csv_mapping("dst_ip")));
        let _ = parse(FeedKind::Csv, &body, Some(&csv_mapping("2")));
    }

    #[test]
    fn list_parsers_never_panic_on_text_lines(
        lines in proptest::collection::vec("[0-9a-f:./#; ,\"{}a-z]{0,40}", 0..50)
    ) {
        let body = lines.join("\n");
        let _ = parse(FeedKind::Plain, body.as_bytes(), None);
        let _ = parse(FeedKind::SpamhausJson, body.as_bytes(), None);
        let _ = parse(FeedKind::Csv, body.as_bytes(), Some(&csv_mapping("dst_ip")));
    }
}
