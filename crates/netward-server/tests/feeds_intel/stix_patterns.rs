//! netward's STIX pattern parser against the OASIS reference validator (`stix2-patterns`,
//! the ANTLR grammar of the specification): whatever netward takes is valid STIX, and
//! whatever is valid STIX netward never calls malformed (it may still refuse it, saying why).

use netward_server::feeds::stix::{PatternError, addresses};

use crate::python::run_script;

/// Reads a JSON list of patterns from the file named by argv[1]; prints, for each, whether
/// the reference validator finds it valid STIX 2.1.
const VALIDATE: &str = r#"
import json, sys
from stix2patterns.validator import run_validator

def valid(pattern):
    try:
        return not run_validator(pattern, stix_version="2.1")
    except Exception:
        return False

patterns = json.load(open(sys.argv[1], encoding="utf-8"))
print(json.dumps([valid(p) for p in patterns]))
"#;

/// Patterns from real feeds and the specification, valid or not.
const KNOWN: &[&str] = &[
    "[ipv4-addr:value = '198.51.100.1']",
    "[ipv4-addr:value = '198.51.100.0/24']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "[ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
    "[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '203.0.113.33']",
    "[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2')]",
    "[ipv4-addr:value IN ()]",
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
    "[network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = 443]",
    "[network-traffic:src_port = 37020 AND network-traffic:protocols[*] = 'udp']",
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    "[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']",
    "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
    "[url:value = 'http://x4z9arb.cn/4712/']",
    "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
    "[x509-certificate:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] AND [x509-certificate:issuer = 'CN=WEBMAIL']",
    "([file:name = 'foo.dll'] AND [process:name = 'a.exe']) WITHIN 300 SECONDS",
    "[ipv4-addr:value = '198.51.100.1'] REPEATS 5 TIMES WITHIN 180 SECONDS",
    "[ipv4-addr:value = '198.51.100.1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
    "[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.2']",
    "[ipv4-addr:value NOT = '198.51.100.1']",
    "[ipv4-addr:value != '198.51.100.1']",
    "[ipv4-addr:value LIKE '198.51.100.%']",
    "[EXISTS windows-registry-key:values]",
    "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter']",
    "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
    "[file:created > t'2016-01-01T00:00:00Z']",
    "[file:size > 5000 AND file:size <= 10000.5]",
    "[ipv4-addr:value = '198.51.100.1'",
    "ipv4-addr:value = '198.51.100.1'",
    "[ipv4-addr:value = '198.51.100.1' or ipv4-addr:value = '198.51.100.2']",
    "[ipv4-addr:value = 198.51.100.1]",
    "[ipv4-addr:value IN '198.51.100.1']",
    "[]",
    "",
    "[ipv4-addr:value = '198.51.100.1'] WITHIN SECONDS",
    "[ipv4-addr:value = '198.51.100.1'] START '2016' STOP t'2016-07-01T00:00:00Z'",
    "[file:hashes.MD5 = h'ab12'] OR [artifact:payload_bin = b'AQID']",
];

/// Pieces that patterns are built from: object paths, literals, and the rest.
const PATHS: &str = "ipv4-addr:value ipv6-addr:value network-traffic:dst_ref.value \
    network-traffic:dst_ref.type network-traffic:dst_port domain-name:value \
    file:hashes.'SHA-256' x:a[*].b";
const LITERALS: &str = "'198.51.100.1' '10.0.0.0/8' '2001:db8::/32' 'ipv4-addr' 5 \
    t'2016-01-01T00:00:00Z' true";
const OTHERS: &str = "[ ] ( ) , = != > <= AND OR NOT IN LIKE MATCHES ISSUBSET ISSUPERSET \
    EXISTS FOLLOWEDBY WITHIN SECONDS REPEATS TIMES START STOP";

/// Comparisons netward takes.
const GOOD: &[&str] = &[
    "ipv4-addr:value = '198.51.100.1'",
    "ipv6-addr:value ISSUBSET '2001:db8::/32'",
    "network-traffic:dst_ref.value = '10.0.0.0/8'",
    "network-traffic:src_ref.value IN ('192.0.2.1', '2001:db8::1')",
];

/// Generated patterns: mostly well-formed observations joined by operators, some of them
/// with a piece inserted, dropped or swapped. A fixed seed, so that a failure repeats.
fn generated(count: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % n as u64).expect("small")
    };
    let pick = |next: &mut dyn FnMut(usize) -> usize, list: &[&'static str]| list[next(list.len())];
    let paths: Vec<&str> = PATHS.split_whitespace().collect();
    let literals: Vec<&str> = LITERALS.split_whitespace().collect();
    let pieces: Vec<&str> = [PATHS, LITERALS, OTHERS]
        .iter()
        .flat_map(|s| s.split_whitespace())
        .collect();
    (0..count)
        .map(|_| {
            let mut tokens: Vec<&str> = Vec::new();
            for o in 0..=next(3) {
                if o > 0 {
                    tokens.push(pick(&mut next, &["AND", "OR", "FOLLOWEDBY"]));
                }
                tokens.push("[");
                for c in 0..=next(3) {
                    if c > 0 {
                        tokens.push(pick(&mut next, &["AND", "OR"]));
                    }
                    if next(2) == 0 {
                        tokens.push(pick(&mut next, GOOD));
                        continue;
                    }
                    tokens.push(pick(&mut next, &paths));
                    match next(4) {
                        0 => tokens.extend(["IN", "(", "'198.51.100.1'", ",", "'10.0.0.0/8'", ")"]),
                        _ => {
                            tokens.push(pick(&mut next, &["=", "ISSUBSET", "!=", "LIKE", "NOT ="]));
                            tokens.push(pick(&mut next, &literals));
                        }
                    }
                }
                tokens.push("]");
                if next(6) == 0 {
                    tokens.extend(["WITHIN", "5", "SECONDS"]);
                }
            }
            match next(3) {
                0 => {
                    let at = next(tokens.len() + 1);
                    tokens.insert(at, pick(&mut next, &pieces));
                }
                1 => {
                    let at = next(tokens.len());
                    tokens.remove(at);
                }
                _ => {}
            }
            tokens.join(" ")
        })
        .collect()
}

#[test]
fn the_parser_agrees_with_the_reference_validator() {
    let mut patterns: Vec<String> = KNOWN.iter().map(|p| (*p).to_owned()).collect();
    patterns.extend(generated(2000));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("patterns.json");
    std::fs::write(&file, serde_json::to_string(&patterns).expect("JSON")).expect("write");
    let verdicts: Vec<bool> = serde_json::from_str(&run_script(
        VALIDATE,
        &[file.to_str().expect("a UTF-8 path")],
    ))
    .expect("the validator's verdicts");
    assert_eq!(verdicts.len(), patterns.len());
    let mut taken = 0;
    let mut disagreements = Vec::new();
    for (pattern, valid) in patterns.iter().zip(verdicts) {
        let ours = addresses(pattern);
        taken += usize::from(ours.is_ok());
        let agrees = match (&ours, valid) {
            (Ok(_), valid) => valid,
            (Err(PatternError::Malformed { .. }), valid) => !valid,
            (Err(_), _) => true,
        };
        if !agrees {
            disagreements.push(format!(
                "{pattern}  (valid STIX: {valid}; netward: {ours:?})"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // The generated patterns reach the accepting paths too.
    assert!(taken >= 30, "only {taken} patterns taken");
}
