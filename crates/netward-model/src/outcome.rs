//! What the kernel did with a hit, and why: the outcome, the reason and the direction every
//! event carries. The outcome and reason are written into each rule's log prefix when the
//! ruleset is built, so they are what the matching rule did, never inferred afterwards.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// What happened to the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did not leave (or enter): the application saw a failure at once.
    Blocked,
    /// It went through and was recorded.
    Audited,
    /// It went through because an allow indicator covers it.
    Allowed,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::Audited => "audited",
            Self::Allowed => "allowed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "blocked" => Some(Self::Blocked),
            "audited" => Some(Self::Audited),
            "allowed" => Some(Self::Allowed),
            _ => None,
        }
    }

    /// MDE's `ActionType` for this outcome (DeviceEvents' network-protection names, so that
    /// hunting queries carry over).
    pub fn action_type(self) -> &'static str {
        match self {
            Self::Blocked => "ExploitGuardNetworkProtectionBlocked",
            Self::Audited => "ExploitGuardNetworkProtectionAudited",
            Self::Allowed => "NetworkIndicatorAllowed",
        }
    }

    /// The outcome of an `ActionType`.
    pub fn from_action_type(s: &str) -> Option<Self> {
        [Self::Blocked, Self::Audited, Self::Allowed]
            .into_iter()
            .find(|o| o.action_type().eq_ignore_ascii_case(s))
    }
}

/// Why a hit had its outcome (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A block indicator, enforced.
    IndicatorBlock,
    /// An audit indicator.
    IndicatorAudit,
    /// A block indicator on a device in audit mode.
    DeviceAuditMode,
    /// A block indicator, coverage `tcp`, traffic that is not TCP.
    ProtocolNotCovered,
    /// An allow indicator.
    IndicatorAllow,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Self; 5] = [
        Self::IndicatorBlock,
        Self::IndicatorAudit,
        Self::DeviceAuditMode,
        Self::ProtocolNotCovered,
        Self::IndicatorAllow,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IndicatorBlock => "indicator_block",
            Self::IndicatorAudit => "indicator_audit",
            Self::DeviceAuditMode => "device_audit_mode",
            Self::ProtocolNotCovered => "protocol_not_covered",
            Self::IndicatorAllow => "indicator_allow",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Which way the traffic went, seen from the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The device opened it.
    Outbound,
    /// The other end opened it.
    Inbound,
}

impl Direction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbound => "outbound",
            Self::Inbound => "inbound",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "outbound" => Some(Self::Outbound),
            "inbound" => Some(Self::Inbound),
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
