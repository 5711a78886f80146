//! A feed's subscription as the core keeps it, and how an API body becomes one: every field
//! checked, with the field named when it is wrong.

use netward_model::wire::FeedBody;
use netward_model::{Action, FieldError, MdeAction, Severity};
use serde::{Deserialize, Serialize};

use super::FeedKind;

/// Default refresh interval, in minutes.
pub const DEFAULT_REFRESH_MINUTES: u32 = 60;
/// Default share of a feed one refresh may remove.
pub const DEFAULT_MAX_SHRINK_PERCENT: u8 = 50;
/// Default download cap: 64 MiB holds a million-line plain list three times over.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Default entry cap.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;
/// Default CSV value column (abuse.ch Feodo Tracker's).
pub const DEFAULT_CSV_COLUMN: &str = "dst_ip";
/// Longest feed name.
const MAX_NAME: usize = 64;
/// Longest CA certificate bundle, in bytes.
const MAX_CA_CERT: usize = 256 * 1024;

impl FeedKind {
    /// The shortest refresh interval this kind allows, in minutes: Spamhaus asks for at most
    /// one fetch an hour; FireHOL and abuse.ch regenerate their lists every few minutes, so 5
    /// is polite; a TAXII collection or a MISP instance is read incrementally, 5 as well.
    pub fn min_refresh_minutes(self) -> u32 {
        match self {
            FeedKind::SpamhausJson => 60,
            FeedKind::Plain
            | FeedKind::Csv
            | FeedKind::Taxii21
            | FeedKind::MispFeed
            | FeedKind::MispApi => 5,
        }
    }
}

/// What a feed does with what it produces: enforce it, or audit everything (a dry run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedMode {
    #[default]
    Enforce,
    AuditOnly,
}

impl FeedMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedMode::Enforce => "enforce",
            FeedMode::AuditOnly => "audit-only",
        }
    }

    fn parse(text: &str) -> Result<Self, FieldError> {
        match text {
            "enforce" => Ok(FeedMode::Enforce),
            "audit-only" => Ok(FeedMode::AuditOnly),
            other => Err(FieldError::new(
                "mode",
                format!("`{other}` is not a feed mode; use enforce or audit-only"),
            )),
        }
    }
}

/// A CSV feed's column mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CsvMapping {
    /// The value column: a header name, or a 0-based index.
    pub column: String,
    /// Lines starting with this are comments.
    pub comment_prefix: String,
}

/// Everything about a feed but where it is and the secrets: stored as one JSON document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedSettings {
    /// The action of what the feed produces (before `mode` and confidence).
    pub action: MdeAction,
    pub severity: Severity,
    pub generate_alert: bool,
    /// Device groups in scope; empty means every device.
    pub groups: Vec<String>,
    pub refresh_minutes: u32,
    pub mode: FeedMode,
    /// Days an indicator stays after it leaves the feed; `None`: it goes at once.
    pub remove_after_days: Option<u32>,
    pub max_shrink_percent: u8,
    pub allow_wide_ranges: bool,
    pub max_bytes: u64,
    pub max_entries: u64,
    pub csv: Option<CsvMapping>,
    /// Confidence at or above which an item takes the feed's action.
    pub confidence_block: u8,
    /// Confidence at or above which (and below `confidence_block`) an item is audited.
    pub confidence_audit: u8,
}

/// HTTP credentials: stored, sent to the feed's server, never shown again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedSecrets {
    pub username: Option<String>,
    pub password: Option<String>,
    pub api_key: Option<String>,
    pub api_key_header: Option<String>,
}

/// A feed's subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedConfig {
    pub name: String,
    pub kind: FeedKind,
    pub url: String,
    pub collection: Option<String>,
    pub secrets: FeedSecrets,
    pub ca_cert: Option<String>,
    pub settings: FeedSettings,
}

impl FeedConfig {
    /// A new feed from `POST /api/feeds`.
    pub fn create(body: FeedBody) -> Result<Self, FieldError> {
        let name = feed_name(body.name.as_deref().unwrap_or_default())?;
        let kind: FeedKind = body
            .kind
            .as_deref()
            .ok_or_else(|| FieldError::new("kind", kind_list("kind is required")))?
            .parse()
            .map_err(|e: super::UnknownFeedKind| FieldError::new("kind", e.to_string()))?;
        let settings = FeedSettings {
            action: MdeAction::Block,
            severity: Severity::Medium,
            generate_alert: true,
            groups: Vec::new(),
            refresh_minutes: DEFAULT_REFRESH_MINUTES.max(kind.min_refresh_minutes()),
            mode: FeedMode::Enforce,
            remove_after_days: None,
            max_shrink_percent: DEFAULT_MAX_SHRINK_PERCENT,
            allow_wide_ranges: false,
            max_bytes: DEFAULT_MAX_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
            csv: None,
            confidence_block: 60,
            confidence_audit: 30,
        };
        let url = body.url.clone().unwrap_or_default();
        let mut config = Self {
            name,
            kind,
            url,
            collection: None,
            secrets: FeedSecrets::default(),
            ca_cert: None,
            settings,
        };
        config.apply(FeedBody {
            name: None,
            kind: None,
            ..body
        })?;
        Ok(config)
    }

    /// This feed changed by `PATCH /api/feeds/{name}`.
    pub fn patched(&self, body: FeedBody) -> Result<Self, FieldError> {
        if let Some(name) = &body.name
            && *name != self.name
        {
            return Err(FieldError::new(
                "name",
                "a feed cannot be renamed: create a new one and delete this one",
            ));
        }
        let mut config = self.clone();
        config.apply(body)?;
        Ok(config)
    }

    /// Sets every field `body` gives, then checks the whole.
    fn apply(&mut self, body: FeedBody) -> Result<(), FieldError> {
        let optional = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(kind) = body.kind {
            self.kind = kind
                .parse()
                .map_err(|e: super::UnknownFeedKind| FieldError::new("kind", e.to_string()))?;
        }
        if let Some(url) = body.url {
            self.url = url.trim().to_owned();
        }
        if let Some(c) = body.collection {
            self.collection = optional(Some(c));
        }
        if let Some(u) = body.username {
            self.secrets.username = optional(Some(u));
        }
        if let Some(p) = body.password {
            self.secrets.password = Some(p).filter(|p| !p.is_empty());
        }
        if let Some(k) = body.api_key {
            self.secrets.api_key = Some(k).filter(|k| !k.is_empty());
        }
        if let Some(h) = body.api_key_header {
            self.secrets.api_key_header = optional(Some(h));
        }
        if let Some(pem) = body.ca_cert {
            self.ca_cert = Some(pem).filter(|p| !p.trim().is_empty());
        }
        let s = &mut self.settings;
        if let Some(action) = body.action {
            s.action =
                MdeAction::parse(&action).map_err(|e| FieldError::new("action", e.to_string()))?;
        }
        if let Some(severity) = body.severity {
            s.severity = Severity::parse(&severity).ok_or_else(|| {
                FieldError::new(
                    "severity",
                    format!(
                        "`{severity}` is not a severity; use Informational, Low, Medium or High"
                    ),
                )
            })?;
        }
        set(&mut s.generate_alert, body.generate_alert);
        if let Some(mut groups) = body.groups {
            groups.sort();
            groups.dedup();
            s.groups = groups;
        }
        set(&mut s.refresh_minutes, body.refresh_minutes);
        if let Some(mode) = body.mode {
            s.mode = FeedMode::parse(&mode)?;
        }
        if let Some(days) = body.remove_after_days {
            s.remove_after_days = Some(days).filter(|d| *d > 0);
        }
        set(&mut s.max_shrink_percent, body.max_shrink_percent);
        set(&mut s.allow_wide_ranges, body.allow_wide_ranges);
        set(&mut s.max_bytes, body.max_bytes);
        set(&mut s.max_entries, body.max_entries);
        set(&mut s.confidence_block, body.confidence_block);
        set(&mut s.confidence_audit, body.confidence_audit);
        if self.kind == FeedKind::Csv {
            let mapping = s.csv.get_or_insert_with(|| CsvMapping {
                column: DEFAULT_CSV_COLUMN.to_owned(),
                comment_prefix: "#".to_owned(),
            });
            if let Some(column) = optional(body.csv_column) {
                mapping.column = column;
            }
            if let Some(prefix) = body.csv_comment_prefix {
                mapping.comment_prefix = prefix;
            }
        } else if body.csv_column.is_some() || body.csv_comment_prefix.is_some() {
            return Err(FieldError::new(
                "csvColumn",
                "a column mapping is for feeds of kind csv only",
            ));
        } else {
            s.csv = None;
        }
        self.check()
    }

    /// The rules that hold across fields.
    fn check(&self) -> Result<(), FieldError> {
        let url = self.url.as_str();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || reqwest::Url::parse(url).is_err()
        {
            return Err(FieldError::new(
                "url",
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        let s = &self.settings;
        let min = self.kind.min_refresh_minutes();
        if s.refresh_minutes < min {
            return Err(FieldError::new(
                "refreshMinutes",
                format!(
                    "{} minutes is below the minimum for feeds of kind {}: {min} minutes",
                    s.refresh_minutes, self.kind
                ),
            ));
        }
        if s.max_shrink_percent > 100 {
            return Err(FieldError::new(
                "maxShrinkPercent",
                "a share is at most 100 (percent)",
            ));
        }
        if s.confidence_block > 100 || s.confidence_audit > s.confidence_block {
            return Err(FieldError::new(
                "confidenceAudit",
                "confidences are 0 to 100, and confidenceAudit is at most confidenceBlock",
            ));
        }
        if s.max_bytes == 0 || s.max_entries == 0 {
            return Err(FieldError::new(
                "maxBytes",
                "the size caps (maxBytes, maxEntries) must be above 0",
            ));
        }
        if self.kind == FeedKind::Taxii21 && self.collection.is_none() {
            return Err(FieldError::new(
                "collection",
                "a taxii21 feed names its collection id",
            ));
        }
        if self.secrets.password.is_some() && self.secrets.username.is_none() {
            return Err(FieldError::new(
                "username",
                "a password is sent with a username (HTTP Basic)",
            ));
        }
        if let Some(pem) = &self.ca_cert {
            if pem.len() > MAX_CA_CERT {
                return Err(FieldError::new("caCert", "the CA certificate is too long"));
            }
            super::client::parse_ca(pem).map_err(|e| FieldError::new("caCert", e.to_string()))?;
        }
        Ok(())
    }

    /// The action an item takes, from the feed's action, the item's confidence and the mode.
    /// `None`: the confidence is below the feed's audit threshold.
    pub fn action_for(&self, confidence: Option<u8>) -> Option<Action> {
        let s = &self.settings;
        let configured = s.action.action();
        let by_confidence = match confidence {
            Some(c) if configured == Action::Block && c < s.confidence_audit => return None,
            Some(c) if configured == Action::Block && c < s.confidence_block => Action::Audit,
            _ => configured,
        };
        Some(match s.mode {
            FeedMode::Enforce => by_confidence,
            FeedMode::AuditOnly => Action::Audit,
        })
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

fn kind_list(what: &str) -> String {
    let kinds: Vec<&str> = FeedKind::ALL.iter().map(|k| k.as_str()).collect();
    format!("{what}: one of {}", kinds.join(", "))
}

/// A feed name: letters, digits, `-`, `_` and `.`, up to 64 characters.
fn feed_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(FieldError::new(
            "name",
            format!(
                "`{name}` is not a feed name: 1 to {MAX_NAME} letters, digits, `-`, `_` or `.`"
            ),
        ))
    }
}
