//! JSON read into an untyped value without losing a duplicated key. `serde_json::Value`
//! keeps the last of two equal keys in one object, so `{"action":"Allowed","action":"Block"}`
//! would silently read as `Block`; typed structs refuse it (serde's `duplicate field`), but
//! every path that goes through an untyped value (an import's items, the body that failed
//! the typed read and is read again to name its field) must refuse it too. [`StrictJson`]
//! reads the whole value and remembers where the first duplicate was, so that a caller can
//! refuse the body, or one item of it, naming the key.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value};

/// A key given twice in one JSON object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` is given twice; a key may appear only once in an object")]
pub struct DuplicateKey {
    /// Where, as `key`, `facts.hostname` or `Indicators[2].action` (`[""]` for an empty
    /// key).
    pub path: String,
}

/// A JSON value, and the first key that it gives twice in one object, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct StrictJson {
    value: Value,
    /// The path to the duplicate, innermost step first (it is built as the reading unwinds).
    duplicate: Option<Vec<Step>>,
}

/// One step of a path: an object's key or an array's index.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

impl StrictJson {
    /// Reads a whole JSON document (nothing may follow it).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The value, or the first key it gives twice.
    pub fn into_value(self) -> Result<Value, DuplicateKey> {
        match self.duplicate {
            None => Ok(self.value),
            Some(steps) => Err(DuplicateKey {
                path: render(&steps),
            }),
        }
    }

    /// The value as read, with the first of each duplicated key's values; for showing what
    /// a refused item held, never for acting on it.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl<'de> Deserialize<'de> for StrictJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

/// `a.b[2].c` from the steps, innermost first. A key that would make the path ambiguous
/// (empty, or holding `.`, `[`, `]` or `"`) is written as a quoted index: `a[""]`, `["x.y"]`.
fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for (i, step) in steps.iter().rev().enumerate() {
        match step {
            Step::Key(key) if key.is_empty() || key.contains(['.', '[', ']', '"']) => {
                out.push('[');
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(']');
            }
            Step::Key(key) => {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictJson;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<StrictJson, E> {
        Ok(plain(Value::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<StrictJson, E> {
        Ok(plain(Value::Number(n.into())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<StrictJson, E> {
        Ok(plain(Value::Number(n.into())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<StrictJson, E> {
        // JSON has no NaN or infinity, so this is always a number.
        Ok(plain(
            Number::from_f64(n).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, s: &str) -> Result<StrictJson, E> {
        Ok(plain(Value::String(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<StrictJson, E> {
        Ok(plain(Value::String(s)))
    }

    fn visit_unit<E>(self) -> Result<StrictJson, E> {
        Ok(plain(Value::Null))
    }

    fn visit_none<E>(self) -> Result<StrictJson, E> {
        Ok(plain(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StrictJson, D::Error> {
        StrictJson::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictJson, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        let mut duplicate = None;
        while let Some(item) = seq.next_element::<StrictJson>()? {
            if duplicate.is_none()
                && let Some(mut steps) = item.duplicate
            {
                steps.push(Step::Index(items.len()));
                duplicate = Some(steps);
            }
            items.push(item.value);
        }
        Ok(StrictJson {
            value: Value::Array(items),
            duplicate,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictJson, A::Error> {
        let mut out = Map::new();
        let mut duplicate = None;
        while let Some(key) = map.next_key::<String>()? {
            let item: StrictJson = map.next_value()?;
            if duplicate.is_none() {
                if out.contains_key(&key) {
                    duplicate = Some(vec![Step::Key(key.clone())]);
                } else if let Some(mut steps) = item.duplicate {
                    steps.push(Step::Key(key.clone()));
                    duplicate = Some(steps);
                }
            }
            out.entry(key).or_insert(item.value);
        }
        Ok(StrictJson {
            value: Value::Object(out),
            duplicate,
        })
    }
}

fn plain(value: Value) -> StrictJson {
    StrictJson {
        value,
        duplicate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Value, DuplicateKey> {
        StrictJson::from_slice(text.as_bytes())
            .unwrap()
            .into_value()
    }

    #[test]
    fn a_duplicated_key_is_named_where_it_is() {
        let dup = |text: &str| read(text).unwrap_err().path;
        assert_eq!(dup(r#"{"action":"Allowed","action":"Block"}"#), "action");
        assert_eq!(dup(r#"{"facts":{"os":"a","os":"b"}}"#), "facts.os");
        assert_eq!(
            dup(r#"{"Indicators":[{},{"title":"a","title":"a"}]}"#),
            "Indicators[1].title"
        );
        assert_eq!(dup(r#"[[1],[{"a":1,"a":1}]]"#), "[1][0].a");
        // Found by fuzz_strict_json_agrees_with_serde_json: an empty key was lost from the
        // path, then named a path that read another way.
        assert_eq!(dup(r#"[{"":1,"":1}]"#), r#"[0][""]"#);
        assert_eq!(dup(r#"{"":[{"":1,"":1}]}"#), r#"[""][0][""]"#);
        assert_eq!(dup(r#"{"a.b":{"c":1,"c":1}}"#), r#"["a.b"].c"#);
        // The first one found is named.
        assert_eq!(dup(r#"{"a":{"b":1,"b":2},"a":3}"#), "a.b");
        assert!(
            read(r#"{"action":"Allowed","action":"Block"}"#)
                .unwrap_err()
                .to_string()
                .contains("`action` is given twice")
        );
    }

    #[test]
    fn values_without_duplicates_read_as_serde_json_reads_them() {
        for text in [
            r#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":18446744073709551615,"d":-9223372036854775808}"#,
            "[]",
            "\"\\u00e9\"",
            "1e300",
            r#"{"a":1,"A":2}"#,
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(read(text), Ok(want), "{text}");
        }
        assert!(StrictJson::from_slice(b"{\"a\":1} x").is_err());
        assert!(StrictJson::from_slice(b"{\"a\":").is_err());
    }

    /// The typed reads already refuse a field given twice (serde's derive), with its alias
    /// too; the untyped paths are the ones this module is for.
    #[test]
    fn every_typed_request_body_refuses_a_field_given_twice() {
        use crate::IndicatorSubmission;
        use crate::agent_wire::{AckRequest, EnrollRequest, EnrollTokenCreate, MachinePatch};
        use crate::detection::{EventBatch, StatusPatch};
        use crate::wire::{
            BatchDeleteRequest, GroupCreate, GroupPatch, SettingsPatch, TokenCreate,
        };
        fn refused<T: serde::de::DeserializeOwned>(body: &str) -> bool {
            serde_json::from_str::<T>(body)
                .is_err_and(|e| e.to_string().starts_with("duplicate field"))
        }
        assert!(refused::<IndicatorSubmission>(
            r#"{"action":"Allowed","action":"Block"}"#
        ));
        assert!(refused::<IndicatorSubmission>(
            r#"{"externalId":"a","externalID":"b"}"#
        ));
        assert!(refused::<AckRequest>(r#"{"version":1,"version":2}"#));
        assert!(refused::<AckRequest>(r#"{"facts":{"os":"a","os":"b"}}"#));
        assert!(refused::<EnrollRequest>(r#"{"token":"a","token":"b"}"#));
        assert!(refused::<EventBatch>(r#"{"lost":1,"lost":2}"#));
        assert!(refused::<EventBatch>(
            r#"{"events":[{"seq":1,"seq":2}],"dropped":0,"lost":0}"#
        ));
        assert!(refused::<StatusPatch>(
            r#"{"status":"New","status":"Resolved"}"#
        ));
        assert!(refused::<BatchDeleteRequest>(
            r#"{"IndicatorIds":[1],"indicatorIds":[2]}"#
        ));
        assert!(refused::<GroupCreate>(r#"{"name":"a","name":"b"}"#));
        assert!(refused::<GroupPatch>(r#"{"mode":"off","mode":"block"}"#));
        assert!(refused::<SettingsPatch>(
            r#"{"customNetworkIndicators":true,"customNetworkIndicators":false}"#
        ));
        assert!(refused::<TokenCreate>(
            r#"{"role":"reader","role":"admin"}"#
        ));
        assert!(refused::<EnrollTokenCreate>(r#"{"group":"a","group":"b"}"#));
        assert!(refused::<MachinePatch>(r#"{"group":"a","group":"b"}"#));
    }

    #[test]
    fn nesting_is_bounded_by_serde_json() {
        let deep = "[".repeat(100_000);
        assert!(StrictJson::from_slice(deep.as_bytes()).is_err());
    }
}
