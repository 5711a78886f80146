//! A TAXII 2.1 client that reads the STIX 2.1 indicators of one collection.
//!
//! **Where the collection is.** The feed's URL may be any of three TAXII resources; the
//! client asks it and tells them apart by their fields:
//! - the discovery URL (`https://host/taxii2/`): its `default` API root is searched first,
//!   then every other one in `api_roots`, for the feed's `collection` id;
//! - an API root (`https://host/api1/`): its `collections/` are searched for the id;
//! - a collection (`https://host/api1/collections/{id}/`, or its `objects/` URL): read as it
//!   is; a `collection` id set beside it must be the same.
//!
//! A collection that does not exist or may not be read is an error that lists those that can.
//!
//! **Paging.** `GET {collection}/objects/?match[type]=indicator`, following `next` while
//! `more` holds; a server that says `more` without `next` is paged by `added_after` = the
//! page's `X-TAXII-Date-Added-Last`. An empty page may be `{}`. (`added_after` is exclusive:
//! a server that gives no `next` and dates more objects than a page at one instant cannot be
//! read past them; the TAXII servers we know give `next`.)
//!
//! **Cursor.** [`Pull::cursor`](crate::feeds::Pull::cursor) keeps the newest
//! `X-TAXII-Date-Added-Last` seen, with the URL and collection it belongs to. The first pull
//! (no cursor, or one for another URL or collection) reads the whole collection and gives
//! `Content::Complete`. Later pulls ask for `added_after` = the cursor minus a minute
//! (`cursor::OVERLAP_MS`), because `added_after` is exclusive, objects posted together share
//! one `date_added`, and a server may date an object committed while we read at the very
//! time we saw last. The cursor also remembers the `(id, modified)` read in that last
//! minute, and a resumed pull passes those over; after a bulk load of more than
//! `cursor::MAX_SEEN` objects in that minute it remembers none and resumes exactly at the
//! newest `date_added` instead, rather than read them all again at every refresh. Resumed pulls give `Content::Changes`: the
//! newest readable version of each indicator (its items replace every earlier item of that
//! STIX id), and the ids revoked, or refused in their newest version; or
//! `Content::NotModified` when nothing new came. An object
//! *deleted* from the collection (TAXII has no tombstones; STIX revokes instead) leaves only
//! when the cursor is dropped and the collection read whole again.
//!
//! **Requests.** `Accept: application/taxii+json;version=2.1`; HTTP Basic from the feed's
//! user name and password, or its API key in its header; every body counts against the
//! feed's byte cap for the whole pull; a refusal status comes back as `PullError::Status`
//! with its `Retry-After`.

mod cursor;
mod pull;
mod resources;

pub(crate) use pull::pull;

#[cfg(test)]
mod tests;
