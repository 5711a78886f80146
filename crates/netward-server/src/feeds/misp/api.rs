//! A MISP instance's `POST {url}/attributes/restSearch`, page after page until a short one.
//! The search asks for what netward can enforce: the address types, `to_ids`, published
//! events, and values no warning list flags (`enforceWarninglist`), so that a MISP instance's
//! own list of well-known addresses keeps them out.

use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::{Value, json};

use super::attributes::{Attribute, TYPES, read};
use crate::feeds::intel::{Budget, PullState, authenticate, parse_json, read_body, send};
use crate::feeds::{Content, Pull, PullError, Source};

/// Attributes asked for per page.
pub(super) const PAGE: usize = 5_000;

/// How many pages one pull reads at most: a bound on a server that ignores `limit`.
const MAX_PAGES: u64 = 10_000;

/// `{"response": {"Attribute": [...]}}`; an empty answer may be `{"response": []}`.
#[derive(Debug, Deserialize)]
struct Answer {
    response: Value,
}

pub(crate) async fn pull(
    client: &reqwest::Client,
    source: &Source,
    _state: &PullState,
) -> Result<Pull, PullError> {
    let url = format!("{}/attributes/restSearch", source.url.trim_end_matches('/'));
    let mut budget = Budget::new(source.max_bytes);
    let mut items = Vec::new();
    let mut refusals = Vec::new();
    for page in 1..=MAX_PAGES {
        let query = json!({
            "returnFormat": "json",
            "type": TYPES,
            "to_ids": 1,
            "published": 1,
            "enforceWarninglist": 1,
            "page": page,
            "limit": PAGE,
        });
        let request = client
            .post(&url)
            .header(ACCEPT, "application/json")
            .json(&query);
        let response = send(authenticate(request, source)?, &url).await?;
        let body = read_body(response, &url, &mut budget).await?;
        let answer: Answer = parse_json(&body, &url, "MISP restSearch answer")?;
        let attributes = match answer.response.get("Attribute") {
            Some(Value::Array(list)) => list.as_slice(),
            None if answer.response.as_array().is_some_and(Vec::is_empty) => &[],
            _ => {
                return Err(PullError::Format {
                    url,
                    reason: "not a MISP restSearch answer: no `response.Attribute` list".into(),
                });
            }
        };
        for attribute in attributes {
            let info = attribute
                .get("Event")
                .and_then(|e| e.get("info"))
                .and_then(Value::as_str);
            match read(attribute, info) {
                Attribute::Item(item) => items.push(item),
                Attribute::Refused(refusal) => refusals.push(refusal),
                Attribute::Skipped => {}
            }
        }
        if attributes.len() < PAGE {
            return Ok(Pull {
                content: Content::Complete(items),
                refusals,
                validators: Default::default(),
                cursor: None,
            });
        }
    }
    Err(PullError::Format {
        url,
        reason: format!("more than {MAX_PAGES} pages of {PAGE} attributes"),
    })
}
