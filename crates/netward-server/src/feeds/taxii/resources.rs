//! The TAXII 2.1 resources the client reads (TAXII 2.1 §4–5), with only the fields it uses.
//! Servers add fields of their own, so unknown fields are allowed.

use serde::Deserialize;
use serde_json::Value;

/// `GET /taxii2/`.
#[derive(Debug, Deserialize)]
pub(super) struct Discovery {
    pub default: Option<String>,
    #[serde(default)]
    pub api_roots: Vec<String>,
}

/// `GET {api-root}/collections/`: the whole answer may be `{}`.
#[derive(Debug, Deserialize)]
pub(super) struct Collections {
    #[serde(default)]
    pub collections: Vec<Collection>,
}

/// One collection.
#[derive(Debug, Deserialize)]
pub(super) struct Collection {
    pub id: String,
    pub can_read: bool,
}

/// `GET {collection}/objects/`: the envelope, possibly `{}`.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    #[serde(default)]
    pub more: bool,
    pub next: Option<String>,
    #[serde(default)]
    pub objects: Vec<Value>,
}

/// What the feed's URL turned out to be.
#[derive(Debug)]
pub(super) enum Resource {
    Discovery(Discovery),
    /// An API root (it has `versions`).
    ApiRoot,
    /// A collection, with its id.
    Collection(Collection),
}

impl Resource {
    /// Tells the resources apart by the fields only each has.
    pub fn classify(document: Value) -> Option<Self> {
        if document.get("api_roots").is_some() || document.get("default").is_some() {
            return serde_json::from_value(document)
                .ok()
                .map(Resource::Discovery);
        }
        if document.get("can_read").is_some() {
            return serde_json::from_value(document)
                .ok()
                .map(Resource::Collection);
        }
        document
            .get("versions")
            .is_some()
            .then_some(Resource::ApiRoot)
    }
}
