//! The forms in which MDE's clients send a value where MDE itself is tolerant: a list as a JSON
//! array or as comma-separated text, a category as a number or as text, an id as a string or
//! a number, and read-only entity fields that a client echoes back.
//!
//! Each function here is a serde `deserialize_with` helper; a value in none of the accepted
//! forms is still an error, which serde reports on the field it belongs to.

use serde::{Deserialize, Deserializer};

use crate::strict_json::StrictJson;

/// A list given as a JSON array of strings or as one comma-separated string (MDE's reference
/// types `rbacGroupNames` as a string, its example sends an array). Empty items are dropped;
/// `null` is absent.
pub fn list_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "a list of strings, or one string of comma-separated items"
    )]
    enum List {
        Items(Vec<String>),
        Text(String),
    }
    Ok(match Option::<List>::deserialize(d)? {
        None => None,
        Some(List::Items(items)) => Some(items),
        Some(List::Text(text)) => Some(crate::import::split_list(&text)),
    })
}

/// `rbacGroupIds`: a list of numbers or strings (MDE shows numbers; clients echo them back), or
/// one string of comma-separated items; every item kept as text.
pub fn ids_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a number or a string")]
    enum Item {
        Number(i64),
        Text(String),
    }
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "a list of numbers or strings, or one string of comma-separated items"
    )]
    enum List {
        Items(Vec<Item>),
        Text(String),
    }
    Ok(match Option::<List>::deserialize(d)? {
        None => None,
        Some(List::Items(items)) => Some(
            items
                .into_iter()
                .map(|i| match i {
                    Item::Number(n) => n.to_string(),
                    Item::Text(t) => t,
                })
                .collect(),
        ),
        Some(List::Text(text)) => Some(crate::import::split_list(&text)),
    })
}

/// Text given as a JSON string or as a number (MDE shows `category` as a number, its CSV
/// template takes a name); `null` is absent.
pub fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a number or a string")]
    enum Text {
        Whole(i64),
        Text(String),
    }
    Ok(match Option::<Text>::deserialize(d)? {
        None => None,
        Some(Text::Whole(n)) => Some(n.to_string()),
        Some(Text::Text(t)) => Some(t),
    })
}

/// Parses numeric text; empty is absent.
pub fn parse_number(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("`{text}` is not a whole number"))
}

/// An id given as a string (MDE's form) or as a number; `null` is absent.
pub fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<IdInput>::deserialize(d)?.map(IdInput::into_text))
}

/// One id as clients send it: MDE documents strings, some scripts send numbers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged, expecting = "an id: a string such as \"17\", or a number")]
pub enum IdInput {
    /// `"17"`.
    Text(String),
    /// `17`.
    Number(i64),
}

impl IdInput {
    /// The id as text, trimmed.
    pub fn into_text(self) -> String {
        match self {
            Self::Text(t) => t.trim().to_owned(),
            Self::Number(n) => n.to_string(),
        }
    }
}

/// A read-only entity field in a request body (`lastUpdateTime`, `createdBy`, ...): whatever
/// its value, it is read and dropped, as MDE does; only a key given twice in it is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOnly;

impl<'de> Deserialize<'de> for ReadOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Dropped, but read strictly like the rest of the body: no key given twice.
        StrictJson::deserialize(d)?
            .into_value()
            .map(|_| Self)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "list_or_csv")]
        list: Option<Vec<String>>,
        #[serde(default, deserialize_with = "text_or_number")]
        number: Option<String>,
        #[serde(default, deserialize_with = "id_text")]
        id: Option<String>,
        #[serde(default)]
        ignored: Option<ReadOnly>,
    }

    fn probe(json: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn lists_come_as_arrays_or_comma_separated_text() {
        assert_eq!(
            probe(r#"{"list": ["a", "b"]}"#).unwrap().list,
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            probe(r#"{"list": "a, b,,"}"#).unwrap().list,
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(probe(r#"{"list": ""}"#).unwrap().list, Some(vec![]));
        assert_eq!(probe(r#"{"list": null}"#).unwrap().list, None);
        assert!(probe(r#"{"list": 5}"#).is_err());
    }

    #[test]
    fn text_comes_as_text_or_numbers() {
        assert_eq!(
            probe(r#"{"number": 7}"#).unwrap().number.as_deref(),
            Some("7")
        );
        assert_eq!(
            probe(r#"{"number": "Execution"}"#)
                .unwrap()
                .number
                .as_deref(),
            Some("Execution")
        );
        assert_eq!(probe(r#"{"number": null}"#).unwrap().number, None);
        assert!(probe(r#"{"number": [7]}"#).is_err());
        assert_eq!(parse_number(" 7 "), Ok(Some(7)));
        assert_eq!(parse_number(""), Ok(None));
        assert!(parse_number("x").is_err());
    }

    #[test]
    fn ids_come_as_strings_or_numbers_and_read_only_fields_take_anything() {
        assert_eq!(probe(r#"{"id": "12"}"#).unwrap().id.as_deref(), Some("12"));
        assert_eq!(probe(r#"{"id": 12}"#).unwrap().id.as_deref(), Some("12"));
        for v in [r#""x""#, "1", "[1, {}]", r#"{"a": [true]}"#] {
            let read = probe(&format!(r#"{{"ignored": {v}}}"#)).unwrap();
            assert_eq!(read.ignored, Some(ReadOnly), "{v}");
        }
        assert_eq!(probe(r#"{"ignored": null}"#).unwrap().ignored, None);
        // Dropped, but not a way around the duplicate-key rule (defect 9).
        let err = probe(r#"{"ignored": {"a": 1, "a": 2}}"#).unwrap_err();
        assert!(err.to_string().contains("`a` is given twice"), "{err}");
    }
}
