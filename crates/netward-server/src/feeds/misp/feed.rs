//! A static MISP feed: `GET {url}/manifest.json` (the feed's URL is the directory, or the
//! manifest itself) (conditionally, with the stored ETag and
//! Last-Modified), then `GET {url}/{uuid}.json` for every event it lists. An event the
//! manifest lists but the server does not give fails the whole pull: reading the feed
//! without it would remove its indicators.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde_json::Value;

use super::attributes::{Attribute, of_event, read};
use crate::feeds::intel::{Budget, PullState, authenticate, parse_json, read_body, send, shorten};
use crate::feeds::{Content, Pull, PullError, Refusal, Source, Validators};

pub(crate) async fn pull(
    client: &reqwest::Client,
    source: &Source,
    state: &PullState,
) -> Result<Pull, PullError> {
    // The directory, or its manifest's URL.
    let url = source.url.trim_end_matches('/');
    let base = url.strip_suffix("/manifest.json").unwrap_or(url);
    let mut budget = Budget::new(source.max_bytes);
    let manifest_url = format!("{base}/manifest.json");
    let mut request = client.get(&manifest_url).header(ACCEPT, "application/json");
    if let Some(etag) = &state.validators.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(date) = &state.validators.last_modified {
        request = request.header(IF_MODIFIED_SINCE, date);
    }
    let response = send(authenticate(request, source)?, &manifest_url).await?;
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(Pull {
            validators: state.validators.clone(),
            ..Pull::default()
        });
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
    };
    let body = read_body(response, &manifest_url, &mut budget).await?;
    // Event uuid → its entry; sorted, so that a pull reads events in a stable order.
    let manifest: BTreeMap<String, Value> = parse_json(&body, &manifest_url, "MISP feed manifest")?;

    let mut items = Vec::new();
    let mut refusals = Vec::new();
    for uuid in manifest.keys() {
        if !is_uuid(uuid) {
            refusals.push(Refusal {
                at: "manifest.json".to_owned(),
                entry: shorten(uuid),
                reason: "an event key that is not a uuid".to_owned(),
            });
            continue;
        }
        let url = format!("{base}/{uuid}.json");
        let request = client.get(&url).header(ACCEPT, "application/json");
        let response = send(authenticate(request, source)?, &url).await?;
        let body = read_body(response, &url, &mut budget).await?;
        let event: Value = parse_json(&body, &url, "MISP event")?;
        let (info, attributes) = of_event(&event);
        for attribute in attributes {
            match read(attribute, info) {
                Attribute::Item(item) => items.push(item),
                Attribute::Refused(refusal) => refusals.push(refusal),
                Attribute::Skipped => {}
            }
        }
    }
    Ok(Pull {
        content: Content::Complete(items),
        refusals,
        validators,
        cursor: None,
    })
}

/// Whether `key` can name an event file: hex digits and dashes only, so never a path.
fn is_uuid(key: &str) -> bool {
    key.len() == 36 && key.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}
