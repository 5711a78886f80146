//! The threat-intel kinds: TAXII 2.1 (STIX 2.1 indicators), static MISP feeds and the MISP
//! API. The feed core calls [`pull`] for every kind where [`FeedKind::is_intel`] holds.
//!
//! Besides the entry point, this file holds what the three kinds share: credentials on a
//! request (the feed core's `client.rs`), a status that is not a success turned into
//! [`PullError::Status`] (with `Retry-After`), bodies read against the pull's byte cap, and
//! texts cut to one short line.

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::{FeedKind, Pull, PullError, Source, Validators};

/// What the previous good pull left for this one to resume from.
#[derive(Debug, Clone, Default)]
pub struct PullState {
    pub validators: Validators,
    /// The cursor the previous pull returned ([`Pull::cursor`]).
    pub cursor: Option<String>,
}

/// Fetches a feed of an intel `kind` from `source` with `client` (built by the core with the
/// feed's CA certificate; credentials are in `source`).
pub async fn pull(
    kind: FeedKind,
    client: &reqwest::Client,
    source: &Source,
    state: &PullState,
) -> Result<Pull, PullError> {
    match kind {
        FeedKind::Taxii21 => super::taxii::pull(client, source, state).await,
        FeedKind::MispFeed => super::misp::pull_feed(client, source, state).await,
        FeedKind::MispApi => super::misp::pull_api(client, source, state).await,
        _ => Err(PullError::Format {
            url: source.url.clone(),
            reason: format!("feeds of kind {kind} are not read here"),
        }),
    }
}

/// What is left of a pull's byte cap ([`Source::max_bytes`]): every body read counts.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    left: u64,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Self {
        Self { limit, left: limit }
    }
}

pub(crate) use super::client::authenticate;
use super::client::{http_error, retry_after};

/// Sends `request`; the response when its status is a success or 304 Not Modified.
pub(crate) async fn send(request: RequestBuilder, url: &str) -> Result<Response, PullError> {
    let response = request.send().await.map_err(|e| http_error(url, &e))?;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        return Ok(response);
    }
    Err(PullError::Status {
        url: url.to_owned(),
        status: status.as_u16(),
        retry_after: retry_after(response.headers()),
    })
}

/// The whole body of `response`, counted against `budget` as it arrives: a body past the
/// cap is refused before more of it is read.
pub(crate) async fn read_body(
    mut response: Response,
    url: &str,
    budget: &mut Budget,
) -> Result<Vec<u8>, PullError> {
    let too_large = || PullError::TooLarge {
        url: url.to_owned(),
        limit: budget.limit,
    };
    if response.content_length().is_some_and(|n| n > budget.left) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| http_error(url, &e))? {
        let n = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        if n > budget.left {
            return Err(too_large());
        }
        budget.left -= n;
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `body` read as JSON of type `T`; what the document is (`what`) names it in the error.
pub(crate) fn parse_json<T: DeserializeOwned>(
    body: &[u8],
    url: &str,
    what: &str,
) -> Result<T, PullError> {
    serde_json::from_slice(body).map_err(|e| PullError::Format {
        url: url.to_owned(),
        reason: format!("not a {what}: {e}"),
    })
}

/// The most characters a comment or a quoted entry keeps.
pub(crate) const MAX_TEXT: usize = 200;

/// `text` cut to [`MAX_TEXT`] characters, with `…` where it was cut.
pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_TEXT - 1).collect();
    cut.push('…');
    cut
}

/// `text` on one line (runs of white space, line ends among them, become one space),
/// shortened.
pub(crate) fn one_line(text: &str) -> String {
    shorten(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
pub(crate) mod fuzz_input;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_to_one_short_line() {
        assert_eq!(one_line("  a\n\tb  c \r\n"), "a b c");
        let long = "é".repeat(MAX_TEXT + 5);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), MAX_TEXT);
        assert!(cut.ends_with("é…"));
        let exact = "é".repeat(MAX_TEXT);
        assert_eq!(shorten(&exact), exact);
    }
}
