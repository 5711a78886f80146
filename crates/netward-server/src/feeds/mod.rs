//! Threat-intel feeds (issue 12): named subscriptions whose content becomes indicators.
//!
//! This file holds the seam between the two halves of the work:
//! - the *formats* (`taxii`, `stix`, `misp`, and the plain list formats) turn what a feed's
//!   server sends into [`Pull`]s: items to hold, and a refusal with a reason for each entry
//!   that cannot be one;
//! - the *feed core* (the store, the refresh loop, the API, the CLI and the console) keeps the
//!   subscriptions, fetches, and applies a pull as one delta in one policy version, behind the
//!   guard rails and the shrink guard.
//!
//! A format never applies guard rails or decides an action: it reports what the feed says.
//!
//! The core, one file per role: `config.rs` (a subscription and how an API body becomes one),
//! `client.rs` (the HTTP client and the conditional GET), `formats/` (plain, spamhaus-json,
//! csv), `delta.rs` (the pure plan of a run: guard rails, actions, the shrink guard),
//! `sync.rs` (one refresh, applied in one policy version), `refresh.rs` (the loop that runs
//! them on time), `subscriptions.rs` (create, list, change, delete), `runtime.rs` (clients and
//! locks in memory), `alert.rs` (the alert a refused run raises).

mod alert;
pub mod client;
pub mod config;
pub mod delta;
pub mod formats;
pub mod intel;
mod kind;
mod misp;
pub mod refresh;
pub mod runtime;
pub mod stix;
pub mod subscriptions;
pub mod sync;
mod taxii;
#[cfg(test)]
mod tests;

pub use kind::{FeedKind, UnknownFeedKind};

use netward_model::IndicatorValue;

/// What one refresh brought back from a feed's server.
#[derive(Debug, Default)]
pub struct Pull {
    pub content: Content,
    /// Entries the format could not turn into items, in the order met.
    pub refusals: Vec<Refusal>,
    /// The validators to send on the next conditional request.
    pub validators: Validators,
    /// Where an incremental feed (TAXII 2.1) resumes next time, opaque to the core.
    pub cursor: Option<String>,
}

/// The content of a pull.
#[derive(Debug, Default)]
pub enum Content {
    /// The server said nothing changed (HTTP 304, or an unchanged manifest).
    #[default]
    NotModified,
    /// The feed's whole current content: whatever it held before and is not here has left.
    Complete(Vec<FeedItem>),
    /// Changes since the cursor, for feeds read incrementally: items to add or replace (keyed
    /// by `external_id`) and the external ids that left (revoked or deleted at the source).
    Changes {
        upserts: Vec<FeedItem>,
        removed: Vec<String>,
    },
}

/// One address or network that a feed names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub value: IndicatorValue,
    /// The id the feed gives it (the STIX id, the MISP attribute uuid), if any. Several items
    /// may share one (a STIX pattern naming several addresses).
    pub external_id: Option<String>,
    /// A comment or description from the feed, shortened by the format to one line.
    pub comment: Option<String>,
    /// Not in force before this time (unix seconds): STIX `valid_from` in the future.
    pub valid_from: Option<i64>,
    /// Expires at this time (unix seconds): STIX `valid_until`.
    pub valid_until: Option<i64>,
    /// STIX `confidence` (0–100), mapped to an action by the feed's thresholds.
    pub confidence: Option<u8>,
}

impl FeedItem {
    pub fn new(value: IndicatorValue) -> Self {
        Self {
            value,
            external_id: None,
            comment: None,
            valid_from: None,
            valid_until: None,
            confidence: None,
        }
    }
}

/// An entry of the feed that is not an item, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Where it was: a line number, a STIX id, a MISP attribute uuid.
    pub at: String,
    /// The entry itself, shortened to at most 200 characters.
    pub entry: String,
    pub reason: String,
}

/// HTTP validators from the last good response, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// How a feed's server is reached and who we are to it.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub url: String,
    /// The TAXII collection id.
    pub collection: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub api_key: Option<String>,
    /// The header that carries `api_key`: `Authorization` for MISP.
    pub api_key_header: Option<String>,
    /// The most bytes one response (or one pull, for paged kinds) may bring.
    pub max_bytes: u64,
}

/// Why a pull failed as a whole. The feed keeps its last good content.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{url}: the server answered {status}")]
    Status {
        url: String,
        status: u16,
        retry_after: Option<u64>,
    },
    #[error("{url}: more than {limit} bytes; the feed's size cap refuses it")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: {reason}")]
    Format { url: String, reason: String },
}
