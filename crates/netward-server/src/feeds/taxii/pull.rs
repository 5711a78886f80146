//! One pull of a TAXII 2.1 collection: find the collection, read its indicator pages, and
//! turn them into a [`Pull`]. The module doc of `taxii` tells what each step does and why.

use reqwest::Url;
use reqwest::header::ACCEPT;
use serde_json::Value;

use super::cursor::{Cursor, CursorBuilder, version};
use super::resources::{Collections, Envelope, Resource};
use crate::feeds::intel::{Budget, PullState, authenticate, parse_json, read_body, send};
use crate::feeds::stix::IndicatorReader;
use crate::feeds::{Content, Pull, PullError, Source};

/// The media type of TAXII 2.1 (without it the reference server answers 406).
const TAXII: &str = "application/taxii+json;version=2.1";

/// How many pages one pull reads at most: a bound on a server that never says it is done.
const MAX_PAGES: usize = 100_000;

/// The page size asked for; the server may give fewer. Always sent: medallion 3.0.0 fails
/// (500) on a `next` request without `limit`.
const PAGE_LIMIT: &str = "1000";

/// The header that dates the newest object of a page.
const DATE_ADDED_LAST: &str = "X-TAXII-Date-Added-Last";

pub(crate) async fn pull(
    client: &reqwest::Client,
    source: &Source,
    state: &PullState,
) -> Result<Pull, PullError> {
    let mut session = Session {
        client,
        source,
        budget: Budget::new(source.max_bytes),
    };
    let collection = session.locate().await?;
    let identity = format!("{} {}", source.url, collection);
    let resumed = Cursor::resume(state.cursor.as_deref(), &identity);
    let objects = format!("{collection}objects/");
    let seen = resumed.as_ref().map(Cursor::seen).unwrap_or_default();
    let mut cursor = CursorBuilder::new(&identity, resumed.as_ref());
    let mut reader = IndicatorReader::default();
    let mut added_after = resumed.as_ref().map(Cursor::added_after);
    let mut next: Option<String> = None;
    let mut any = false;
    for _ in 0..MAX_PAGES {
        let mut query = vec![("match[type]", "indicator"), ("limit", PAGE_LIMIT)];
        if let Some(after) = &added_after {
            query.push(("added_after", after));
        }
        if let Some(token) = &next {
            query.push(("next", token));
        }
        let (page, last): (Envelope, _) = session
            .get(
                session.client.get(&objects).query(&query),
                &objects,
                "TAXII envelope",
            )
            .await?;
        let versions: Vec<_> = page.objects.iter().filter_map(version).collect();
        for object in page.objects {
            if version(&object).is_some_and(|v| seen.contains(&v)) {
                continue;
            }
            any = true;
            reader.add(object);
        }
        cursor.page(last.as_deref(), versions);
        if !page.more {
            let batch = reader.finish();
            let content = match resumed {
                None => Content::Complete(batch.items),
                Some(_) if !any => Content::NotModified,
                Some(_) => Content::Changes {
                    upserts: batch.items,
                    removed: batch.removed,
                },
            };
            return Ok(Pull {
                content,
                refusals: batch.refusals,
                validators: Default::default(),
                cursor: cursor.finish(),
            });
        }
        match (page.next, last) {
            (Some(token), _) => next = Some(token),
            (None, Some(last)) if added_after.as_ref() != Some(&last) => {
                added_after = Some(last);
                next = None;
            }
            _ => {
                return Err(format_error(
                    &objects,
                    "the server says there is more but gives neither `next` nor a newer X-TAXII-Date-Added-Last",
                ));
            }
        }
    }
    Err(format_error(&objects, "more than 100000 pages"))
}

struct Session<'a> {
    client: &'a reqwest::Client,
    source: &'a Source,
    budget: Budget,
}

impl Session<'_> {
    /// A TAXII resource, and the `X-TAXII-Date-Added-Last` it came with.
    async fn get<T: serde::de::DeserializeOwned>(
        &mut self,
        request: reqwest::RequestBuilder,
        url: &str,
        what: &str,
    ) -> Result<(T, Option<String>), PullError> {
        let request = authenticate(request.header(ACCEPT, TAXII), self.source)?;
        let response = send(request, url).await?;
        let last = response
            .headers()
            .get(DATE_ADDED_LAST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_body(response, url, &mut self.budget).await?;
        Ok((parse_json(&body, url, what)?, last))
    }

    /// The URL of the collection to read, ending in `/`.
    async fn locate(&mut self) -> Result<String, PullError> {
        let mut url = with_slash(&self.source.url);
        // The collection's objects URL names the collection too.
        if url.ends_with("/objects/") {
            url.truncate(url.len() - "objects/".len());
        }
        let wanted = self.source.collection.as_deref();
        let (document, _): (Value, _) = self
            .get(self.client.get(&url), &url, "TAXII resource")
            .await?;
        match Resource::classify(document) {
            Some(Resource::Collection(c)) => match wanted {
                Some(id) if id != c.id => Err(format_error(
                    &url,
                    &format!("this is collection {}, but the feed names {id}", c.id),
                )),
                _ if !c.can_read => Err(format_error(&url, "the collection may not be read")),
                _ => Ok(url),
            },
            Some(Resource::ApiRoot) => self
                .in_api_root(&url, wanted)
                .await?
                .ok_or_else(|| format_error(&url, "the collection is not in this API root")),
            Some(Resource::Discovery(discovery)) => {
                let mut roots: Vec<String> = discovery.default.into_iter().collect();
                roots.extend(discovery.api_roots);
                let mut seen = Vec::new();
                for root in roots {
                    let root = with_slash(&join(&url, &root)?);
                    if seen.contains(&root) {
                        continue;
                    }
                    if let Some(found) = self.in_api_root(&root, wanted).await? {
                        return Ok(found);
                    }
                    seen.push(root);
                }
                Err(format_error(
                    &url,
                    "no API root of this server holds the collection",
                ))
            }
            None => Err(format_error(
                &url,
                "not a TAXII 2.1 discovery, API root or collection resource",
            )),
        }
    }

    /// The URL of the collection `wanted` in the API root at `root`, if it is there; an error
    /// when it is there but may not be read, or when no collection is named.
    async fn in_api_root(
        &mut self,
        root: &str,
        wanted: Option<&str>,
    ) -> Result<Option<String>, PullError> {
        let url = format!("{root}collections/");
        let (list, _): (Collections, _) = self
            .get(self.client.get(&url), &url, "TAXII collection list")
            .await?;
        let readable: Vec<&str> = list
            .collections
            .iter()
            .filter(|c| c.can_read)
            .map(|c| c.id.as_str())
            .collect();
        let Some(wanted) = wanted else {
            return Err(format_error(
                &url,
                &format!(
                    "the feed names no collection; readable ones here: {}",
                    readable.join(", ")
                ),
            ));
        };
        match list.collections.iter().find(|c| c.id == wanted) {
            Some(c) if c.can_read => Ok(Some(format!("{url}{}/", c.id))),
            Some(_) => Err(format_error(
                &url,
                &format!(
                    "collection {wanted} may not be read; readable ones: {}",
                    readable.join(", ")
                ),
            )),
            None => Ok(None),
        }
    }
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}

/// `reference` (an absolute URL or a path) read against `base`.
fn join(base: &str, reference: &str) -> Result<String, PullError> {
    Url::parse(base)
        .and_then(|b| b.join(reference))
        .map(String::from)
        .map_err(|e| format_error(base, &format!("API root `{reference}`: {e}")))
}

fn format_error(url: &str, reason: &str) -> PullError {
    PullError::Format {
        url: url.to_owned(),
        reason: reason.to_owned(),
    }
}
