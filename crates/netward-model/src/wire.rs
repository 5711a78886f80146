//! The JSON the REST API speaks, shared by the server (which writes it) and the CLI (which reads
//! it). Names follow MDE's Indicators API where MDE has the concept; the rest is ours, in the
//! same camelCase. Request bodies refuse unknown fields, so a typo is an error, not a no-op.

use serde::{Deserialize, Serialize};

use crate::timestamp::format_rfc3339;
use crate::{CompiledPolicy, DeviceGroup, Family, TenantSettings};

pub use crate::feed_entity::{FeedBody, FeedEntity, FeedList, FeedRefusalEntity, FeedRunEntity};
pub use crate::indicator_entity::{
    BatchDeleteRequest, DeleteByFilterRequest, DeleteByFilterResult, IndicatorEntity, IndicatorList,
};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The JSON body of `POST /api/indicators/import`, as MDE takes it (without its 500-item cap;
/// `mde-client`'s lower-case `indicators` is read too).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportBatch {
    /// The items; each is validated on its own.
    #[serde(rename = "Indicators", alias = "indicators")]
    pub indicators: Vec<crate::IndicatorSubmission>,
}

/// The outcome of one imported item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    /// The indicator's id, when it was stored.
    pub id: Option<String>,
    /// The value as written in the item.
    pub indicator: String,
    /// Whether the item was refused.
    pub is_failed: bool,
    /// Why, when refused.
    pub failure_reason: Option<String>,
    /// The 1-based line of a CSV or list item (an extension of MDE's shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// `{"value": [...]}` of import results, one per item, in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportResultList {
    /// One result per item.
    pub value: Vec<ImportResult>,
}

/// Every error body: `{"error": {"code", "message", "target"}}`, as MDE's API answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// A stable code such as `InvalidInput`, `Unauthorized`, `Forbidden`, `NotFound`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// The field or parameter at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// A device group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupEntity {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Protection mode.
    pub mode: crate::ProtectionMode,
    /// Protocol coverage.
    pub coverage: crate::Coverage,
}

impl From<&DeviceGroup> for GroupEntity {
    fn from(g: &DeviceGroup) -> Self {
        Self {
            name: g.name.clone(),
            description: g.description.clone(),
            mode: g.mode,
            coverage: g.coverage,
        }
    }
}

/// `{"value": [...]}` of groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GroupList {
    /// The groups, by name.
    pub value: Vec<GroupEntity>,
}

/// The body of `POST /api/groups`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupCreate {
    /// Unique name. Required.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// `off`, `audit` or `block` (default).
    pub mode: Option<String>,
    /// `all` (default) or `tcp`.
    pub coverage: Option<String>,
}

/// The body of `PATCH /api/groups/{name}`: the fields to change.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupPatch {
    /// Free text.
    pub description: Option<String>,
    /// `off`, `audit` or `block`.
    pub mode: Option<String>,
    /// `all` or `tcp`.
    pub coverage: Option<String>,
}

/// Tenant-wide settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SettingsEntity {
    /// MDE's "Custom network indicators": off means nothing is enforced anywhere.
    pub custom_network_indicators: bool,
}

impl From<TenantSettings> for SettingsEntity {
    fn from(s: TenantSettings) -> Self {
        Self {
            custom_network_indicators: s.custom_network_indicators,
        }
    }
}

/// The body of `PATCH /api/settings`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    /// The emergency brake.
    pub custom_network_indicators: Option<bool>,
}

/// An API token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenEntity {
    /// Id.
    pub id: String,
    /// Unique name; shown as the source of what the token creates.
    pub name: String,
    /// `viewer`, `analyst` or `admin`.
    pub role: String,
    /// When, RFC 3339.
    pub created_at: String,
    /// Who made it.
    pub created_by: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// `{"value": [...]}` of tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TokenList {
    /// All tokens, revoked ones included.
    pub value: Vec<TokenEntity>,
}

/// The body of `POST /api/tokens`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenCreate {
    /// Unique name. Required.
    pub name: Option<String>,
    /// `viewer`, `analyst` or `admin`. Required.
    pub role: Option<String>,
}

/// A new token: the only time its secret is shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    /// The record.
    pub token: TokenEntity,
    /// The bearer secret. It is stored hashed and cannot be shown again.
    pub secret: String,
}

/// One audit-log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryEntity {
    /// Increasing id.
    pub id: String,
    /// When, RFC 3339.
    pub time: String,
    /// Who.
    pub actor: String,
    /// `User`, `ApiToken`, `Feed` or `System`.
    pub actor_type: String,
    /// What, e.g. `indicator.create`, `group.update`.
    pub action: String,
    /// On what, e.g. the indicator value or the group name.
    pub target: String,
    /// The change, as JSON text.
    pub detail: String,
}

/// `{"value": [...]}` of audit entries, newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditList {
    /// The page of entries.
    pub value: Vec<AuditEntryEntity>,
}

/// A group's effective policy, as a device of that group would enforce it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PolicyEntity {
    /// The group.
    pub group: String,
    /// The group's mode, `off` when the tenant switch is off.
    pub mode: crate::ProtectionMode,
    /// The group's coverage.
    pub coverage: crate::Coverage,
    /// Whether the tenant switch "custom network indicators" is on.
    pub custom_network_indicators: bool,
    /// Indicators in scope and unexpired.
    pub indicator_count: usize,
    /// When the policy next changes by itself (the earliest expiry), RFC 3339.
    pub next_change: Option<String>,
    /// Allowed networks, IPv4 then IPv6, each as the fewest CIDRs.
    pub allow: Vec<String>,
    /// Blocked networks, with allows removed.
    pub block: Vec<String>,
    /// Audited networks, with allows and blocks removed.
    pub audit: Vec<String>,
}

impl PolicyEntity {
    /// The wire form of a compiled policy for `group`.
    pub fn new(group: &DeviceGroup, settings: TenantSettings, policy: &CompiledPolicy) -> Self {
        let nets = |pick: fn(&crate::FamilySets) -> &crate::RangeSet| -> Vec<String> {
            pick(&policy.v4)
                .to_networks(Family::V4)
                .into_iter()
                .chain(pick(&policy.v6).to_networks(Family::V6))
                .map(|n| n.to_string())
                .collect()
        };
        let mode = if settings.custom_network_indicators {
            group.mode
        } else {
            crate::ProtectionMode::Off
        };
        Self {
            group: group.name.clone(),
            mode,
            coverage: group.coverage,
            custom_network_indicators: settings.custom_network_indicators,
            indicator_count: policy.indicator_count,
            next_change: policy.next_expiry.map(format_rfc3339),
            allow: nets(|s| &s.allow),
            block: nets(|s| &s.block),
            audit: nets(|s| &s.audit),
        }
    }
}
