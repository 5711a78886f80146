//! MISP: a static feed directory (`feed.rs`: `manifest.json`, then `{uuid}.json` per event,
//! as MISP and PyMISP's `to_feed` write them) and a live instance's
//! `POST /attributes/restSearch` (`api.rs`). Both read attributes the same way
//! (`attributes.rs`).
//!
//! Both give `Content::Complete`: the feed's whole content, which the core applies as a delta
//! against what it held. An incremental scheme was weighed and left out: the API's
//! `timestamp` filter would miss attributes whose `to_ids` was cleared, whose event was
//! unpublished, that a warning list came to match, or that were hard-deleted, and a static
//! feed's manifest says which events changed but not which attributes an event that left
//! held. A static feed's `manifest.json` is fetched conditionally, so an unchanged feed costs
//! one request and gives `Content::NotModified`.

mod api;
mod attributes;
mod feed;

pub(crate) use api::pull as pull_api;
pub(crate) use feed::pull as pull_feed;
