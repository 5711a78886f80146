//! Threat-intel feeds as the REST API takes and shows them: the body of `POST /api/feeds` and
//! `PATCH /api/feeds/{name}`, a feed without its secrets, and the record of one refresh.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The body of `POST /api/feeds` (every field but `name`, `kind` and `url` optional) and of
/// `PATCH /api/feeds/{name}` (only the fields to change; `name`, if given, must be the feed's).
/// An empty string clears a secret (`password`, `apiKey`) or the CA certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedBody {
    /// Unique name: shown as the source of what the feed produces and in its alerts' titles.
    pub name: Option<String>,
    /// `plain`, `spamhaus-json`, `csv`, `taxii21`, `misp-feed` or `misp-api`.
    pub kind: Option<String>,
    /// `http://` or `https://` URL of the list, the TAXII server or the MISP instance.
    pub url: Option<String>,
    /// The TAXII collection id (`taxii21` only).
    pub collection: Option<String>,
    /// HTTP Basic user name.
    pub username: Option<String>,
    /// HTTP Basic password; stored, never shown again.
    pub password: Option<String>,
    /// An API key; stored, never shown again.
    pub api_key: Option<String>,
    /// The header that carries `apiKey` (default `Authorization`).
    pub api_key_header: Option<String>,
    /// PEM CA certificate(s) to trust instead of the system roots.
    pub ca_cert: Option<String>,
    /// `Block` (default), `Audit` or `Allowed`: what the feed's indicators do.
    pub action: Option<String>,
    /// Alert severity of the feed's indicators (default `Medium`).
    pub severity: Option<String>,
    /// Whether hits on the feed's indicators raise alerts (default true).
    pub generate_alert: Option<bool>,
    /// Device groups in scope; empty means every device.
    pub groups: Option<Vec<String>>,
    /// Minutes between refreshes; at least the kind's minimum (Spamhaus: 60).
    pub refresh_minutes: Option<u32>,
    /// `enforce` (default) or `audit-only`: everything the feed produces is audited, never
    /// blocked.
    pub mode: Option<String>,
    /// Days an indicator stays after it leaves the feed; absent or 0: it goes at the next
    /// refresh.
    pub remove_after_days: Option<u32>,
    /// The largest share (percent) of the feed one refresh may remove; more is refused and
    /// alerted on (default 50).
    pub max_shrink_percent: Option<u8>,
    /// Take ranges wider than the manual guard rail (/8, /32): Spamhaus DROPv6 lists /29s.
    pub allow_wide_ranges: Option<bool>,
    /// The most bytes one download may bring (default 64 MiB).
    pub max_bytes: Option<u64>,
    /// The most entries the feed may hold (default 1,000,000).
    pub max_entries: Option<u64>,
    /// `csv` only: the value column, by header name or 0-based index (default `dst_ip`).
    pub csv_column: Option<String>,
    /// `csv` only: lines starting with this are comments (default `#`).
    pub csv_comment_prefix: Option<String>,
    /// Items with a confidence at or above this block (default 60).
    pub confidence_block: Option<u8>,
    /// Items with a confidence at or above this, and below `confidenceBlock`, are audited;
    /// below it they are refused (default 30).
    pub confidence_audit: Option<u8>,
}

/// A feed, without its secrets: only whether each is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FeedEntity {
    /// Unique name.
    pub name: String,
    /// The kind.
    pub kind: String,
    /// The URL.
    pub url: String,
    /// The TAXII collection id.
    pub collection: Option<String>,
    /// HTTP Basic user name.
    pub username: Option<String>,
    /// Whether a password is stored.
    pub password_set: bool,
    /// Whether an API key is stored.
    pub api_key_set: bool,
    /// The header that carries the API key.
    pub api_key_header: Option<String>,
    /// Whether a CA certificate replaces the system roots.
    pub ca_cert_set: bool,
    /// `Block`, `Audit` or `Allowed`.
    pub action: String,
    /// Alert severity.
    pub severity: String,
    /// Whether hits raise alerts.
    pub generate_alert: bool,
    /// Device groups in scope; empty means every device.
    pub groups: Vec<String>,
    /// Minutes between refreshes.
    pub refresh_minutes: u32,
    /// `enforce` or `audit-only`.
    pub mode: String,
    /// Days an indicator stays after it leaves the feed; `null`: it goes at the next refresh.
    pub remove_after_days: Option<u32>,
    /// The largest share (percent) one refresh may remove.
    pub max_shrink_percent: u8,
    /// Whether ranges wider than the manual guard rail are taken.
    pub allow_wide_ranges: bool,
    /// The most bytes one download may bring.
    pub max_bytes: u64,
    /// The most entries the feed may hold.
    pub max_entries: u64,
    /// `csv`: the value column.
    pub csv_column: Option<String>,
    /// `csv`: the comment prefix.
    pub csv_comment_prefix: Option<String>,
    /// Confidence at or above which items block.
    pub confidence_block: u8,
    /// Confidence at or above which items are audited.
    pub confidence_audit: u8,
    /// Indicators the feed holds now.
    pub indicators: u64,
    /// When it was created, RFC 3339.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// The newest runs, newest first (one in a list, up to 20 for one feed).
    pub runs: Vec<FeedRunEntity>,
}

/// `{"value": [...]}` of feeds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeedList {
    /// The feeds, by name.
    pub value: Vec<FeedEntity>,
}

/// One refresh of a feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FeedRunEntity {
    /// `applied`, `unchanged`, `failed` or `refused` (the shrink guard or the size cap).
    pub status: String,
    /// Indicators created.
    pub added: u64,
    /// Indicators changed (a new action, expiry or comment at the source).
    pub updated: u64,
    /// Indicators removed (or given their removal date).
    pub removed: u64,
    /// Indicators already as the feed says.
    pub unchanged: u64,
    /// Entries refused.
    pub refused: u64,
    /// The first refusals, in the order met.
    pub refusals: Vec<FeedRefusalEntity>,
    /// Why a failed or refused run was, for a person.
    pub error: Option<String>,
    /// The HTTP status of the feed's answer, when there was one.
    pub http_status: Option<u16>,
    /// When the run started, RFC 3339.
    pub started_at: String,
    /// When it finished, RFC 3339.
    pub finished_at: String,
}

/// An entry of a feed that is not an indicator, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FeedRefusalEntity {
    /// Where: a line number, a STIX id, a MISP attribute uuid.
    pub at: String,
    /// The entry, shortened.
    pub entry: String,
    /// Why.
    pub reason: String,
}
