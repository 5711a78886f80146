//! The strict JSON reader against serde_json's own: the same documents read, to the same
//! value when no key is given twice, and a duplicate it names is one.

use netward_testkit::fuzz::fuzz;
use proptest::prelude::*;
use serde_json::Value;

use super::{edits, mutate, odd_byte, odd_json};
use crate::strict_json::StrictJson;

/// Whether `path` (`a.b[2].c`, `[""]`) names a key of an object in `value`.
fn names_a_key(value: &Value, path: &str) -> bool {
    let mut at = value;
    let mut rest = path;
    let mut last_was_key = false;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        // A key (`Ok`) or an index (`Err`), and what follows it.
        let (step, tail): (Result<String, usize>, &str) = if rest.starts_with("[\"") {
            // A quoted key: a JSON string, then `]`.
            let text = &rest[1..];
            let mut strings = serde_json::Deserializer::from_str(text).into_iter::<String>();
            let Some(Ok(key)) = strings.next() else {
                return false;
            };
            match text[strings.byte_offset()..].strip_prefix(']') {
                Some(tail) => (Ok(key), tail),
                None => return false,
            }
        } else if let Some(after) = rest.strip_prefix('[') {
            match after.split_once(']') {
                Some((index, tail)) => match index.parse::<usize>() {
                    Ok(i) => (Err(i), tail),
                    Err(_) => return false,
                },
                None => return false,
            }
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            (Ok(rest[..end].to_owned()), &rest[end..])
        };
        last_was_key = step.is_ok();
        match (step, at) {
            (Ok(key), Value::Object(map)) if map.contains_key(&key) => at = &map[&key],
            (Err(i), Value::Array(items)) if i < items.len() => at = &items[i],
            _ => return false,
        }
        rest = tail;
    }
    last_was_key
}

/// JSON text with one object's key repeated, somewhere.
fn with_duplicate() -> impl Strategy<Value = Vec<u8>> {
    (odd_json(), any::<usize>(), odd_json()).prop_map(|(value, pick, again)| {
        let text = value.to_string();
        // After an object's first key-value pair, insert the same key again.
        let objects: Vec<usize> = text.match_indices("{\"").map(|(i, _)| i).collect();
        if objects.is_empty() {
            return text.into_bytes();
        }
        let start = objects[pick % objects.len()];
        let mut de = serde_json::Deserializer::from_str(&text[start + 1..]);
        let key: Result<String, _> = serde::Deserialize::deserialize(&mut de);
        match key {
            Ok(key) => {
                let key_json = Value::String(key).to_string();
                let insert = format!("{key_json}:{again},");
                let mut out = text.clone();
                out.insert_str(start + 1, &insert);
                out.into_bytes()
            }
            Err(_) => text.into_bytes(),
        }
    })
}

#[test]
fn fuzz_strict_json_agrees_with_serde_json() {
    let body = prop_oneof![
        proptest::collection::vec(odd_byte(), 0..120),
        odd_json().prop_map(|v| v.to_string().into_bytes()),
        with_duplicate(),
        (with_duplicate(), edits()).prop_map(|(b, e)| mutate(b, &e)),
    ];
    fuzz("strict_json", 1000, body, |body| {
        let loose = serde_json::from_slice::<Value>(&body);
        let strict = StrictJson::from_slice(&body);
        prop_assert_eq!(
            loose.is_ok(),
            strict.is_ok(),
            "{:?}",
            String::from_utf8_lossy(&body)
        );
        if let (Ok(loose), Ok(strict)) = (loose, strict) {
            let seen = strict.value().clone();
            match strict.into_value() {
                Ok(value) => prop_assert_eq!(value, loose),
                Err(d) => prop_assert!(names_a_key(&seen, &d.path), "{} in {}", d.path, seen),
            }
        }
        Ok(())
    });
}
