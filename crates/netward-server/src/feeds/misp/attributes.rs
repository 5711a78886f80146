//! MISP attributes → feed items. The types read are those that name an IP address:
//! `ip-dst` and `ip-src` (an address or a CIDR network), `ip-dst|port` and `ip-src|port`,
//! and `domain|ip` (the IP part of each). Only attributes flagged `to_ids` (meant for
//! detection) are taken; other types, attributes not for detection and deleted ones are
//! passed over without a word, as an event holds many. The attribute `uuid` is the external
//! id; its `comment`, else its event's `info`, is the comment.

use netward_model::IndicatorValue;
use serde_json::Value;

use crate::feeds::intel::{one_line, shorten};
use crate::feeds::{FeedItem, Refusal};

/// The attribute types that name addresses, as `restSearch` takes them.
pub(super) const TYPES: [&str; 5] = [
    "ip-dst",
    "ip-src",
    "ip-dst|port",
    "ip-src|port",
    "domain|ip",
];

/// What one attribute comes to.
#[derive(Debug, PartialEq)]
pub(super) enum Attribute {
    Item(FeedItem),
    /// Not an address for detection, or deleted.
    Skipped,
    Refused(Refusal),
}

/// Reads one attribute; `event_info` is the `info` of the event that holds it.
pub(super) fn read(attribute: &Value, event_info: Option<&str>) -> Attribute {
    let text = |name: &str| attribute.get(name).and_then(Value::as_str);
    let Some(kind) = text("type").filter(|t| TYPES.contains(t)) else {
        return Attribute::Skipped;
    };
    if !flag(attribute.get("to_ids")) || flag(attribute.get("deleted")) {
        return Attribute::Skipped;
    }
    let uuid = text("uuid");
    let at = uuid.unwrap_or("(no uuid)");
    let refuse = |entry: &str, reason: String| {
        Attribute::Refused(Refusal {
            at: at.to_owned(),
            entry: shorten(entry),
            reason,
        })
    };
    let Some(value) = text("value") else {
        return refuse(
            &attribute.to_string(),
            format!("the {kind} attribute has no value"),
        );
    };
    let address = match kind {
        "ip-dst" | "ip-src" => Some(value),
        "domain|ip" => value.split_once('|').map(|(_, ip)| ip),
        _ => value.rsplit_once('|').map(|(ip, _)| ip),
    };
    let Some(address) = address else {
        return refuse(value, format!("a {kind} value has two parts joined by `|`"));
    };
    let parsed = match IndicatorValue::parse(address) {
        Ok(v) => v,
        Err(e) => return refuse(value, e.to_string()),
    };
    if uuid.is_none() {
        return refuse(value, "the attribute has no uuid".to_owned());
    }
    let comment = text("comment")
        .filter(|c| !c.trim().is_empty())
        .or(event_info)
        .map(one_line)
        .filter(|c| !c.is_empty());
    Attribute::Item(FeedItem {
        external_id: uuid.map(str::to_owned),
        comment,
        ..FeedItem::new(parsed)
    })
}

/// A MISP boolean: `true`, `1` or `"1"` (MISP writes all three).
fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The attributes of a MISP event, its objects' among them, each with the event's `info`:
/// `{"Event": {"info", "Attribute": [...], "Object": [{"Attribute": [...]}]}}` or the
/// bare event.
pub(super) fn of_event(document: &Value) -> (Option<&str>, Vec<&Value>) {
    let event = document.get("Event").unwrap_or(document);
    let info = event.get("info").and_then(Value::as_str);
    fn list(holder: &Value) -> Vec<&Value> {
        holder
            .get("Attribute")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }
    let mut attributes = list(event);
    if let Some(objects) = event.get("Object").and_then(Value::as_array) {
        for object in objects {
            if !flag(object.get("deleted")) {
                attributes.extend(list(object));
            }
        }
    }
    (info, attributes)
}

#[cfg(test)]
mod tests;
