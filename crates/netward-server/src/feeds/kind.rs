//! The kinds of feed netward reads, by the name the API and the CLI give them.

use std::fmt;
use std::str::FromStr;

/// What a feed's server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// One IP or CIDR per line, with `#` / `;` comments (FireHOL, Spamhaus DROP text).
    Plain,
    /// Spamhaus `drop_v4.json` / `drop_v6.json`: NDJSON with a metadata trailer.
    SpamhausJson,
    /// CSV with a value column (abuse.ch Feodo Tracker).
    Csv,
    /// STIX 2.1 indicators from a TAXII 2.1 collection.
    Taxii21,
    /// A static MISP feed: `manifest.json` and one JSON file per event.
    MispFeed,
    /// A MISP instance's `POST /attributes/restSearch`.
    MispApi,
}

impl FeedKind {
    pub const ALL: [FeedKind; 6] = [
        FeedKind::Plain,
        FeedKind::SpamhausJson,
        FeedKind::Csv,
        FeedKind::Taxii21,
        FeedKind::MispFeed,
        FeedKind::MispApi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Plain => "plain",
            FeedKind::SpamhausJson => "spamhaus-json",
            FeedKind::Csv => "csv",
            FeedKind::Taxii21 => "taxii21",
            FeedKind::MispFeed => "misp-feed",
            FeedKind::MispApi => "misp-api",
        }
    }

    /// Whether the formats in `intel.rs` (TAXII, STIX, MISP) read this kind.
    pub fn is_intel(self) -> bool {
        matches!(
            self,
            FeedKind::Taxii21 | FeedKind::MispFeed | FeedKind::MispApi
        )
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that is not one of [`FeedKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown feed kind `{0}`: expected one of plain, spamhaus-json, csv, taxii21, misp-feed, misp-api"
)]
pub struct UnknownFeedKind(pub String);

impl FromStr for FeedKind {
    type Err = UnknownFeedKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FeedKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownFeedKind(name.to_owned()))
    }
}
