//! Device groups and the tenant-wide switch: the settings that decide whether and how a
//! device enforces the indicators in scope for it.

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The name of the group that holds devices nobody put elsewhere. It cannot be deleted.
pub const DEFAULT_GROUP: &str = "default";

/// What a device does with its block indicators (MDE's EnableNetworkProtection 0/2/1).
///
/// On the wire it is `off`, `audit` or `block`, exactly: an agent that reads anything else
/// refuses the whole update and keeps enforcing what it had, rather than guessing `off`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ProtectionMode {
    /// No enforcement and no reporting.
    Off,
    /// Blocks become audits: traffic passes and is reported.
    Audit,
    /// Blocks are enforced.
    #[default]
    Block,
}

/// Which protocols a block applies to. On the wire: `all` or `tcp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Coverage {
    /// Every protocol is blocked.
    #[default]
    All,
    /// Only TCP is blocked, the rest audited: what MDE network protection does.
    Tcp,
}

/// A group of devices with its own enforcement settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceGroup {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Protection mode.
    pub mode: ProtectionMode,
    /// Protocol coverage.
    pub coverage: Coverage,
}

/// Settings that apply to the whole tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantSettings {
    /// MDE's "Custom network indicators" switch. Off means no indicator is enforced anywhere.
    pub custom_network_indicators: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            custom_network_indicators: true,
        }
    }
}

impl ProtectionMode {
    /// Parses `off`, `audit` or `block` (or MDE's 0, 2, 1).
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "off" | "0" => Some(Self::Off),
            "audit" | "2" => Some(Self::Audit),
            "block" | "1" => Some(Self::Block),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Audit => "audit",
            Self::Block => "block",
        }
    }
}

impl Coverage {
    /// Parses `all` or `tcp`.
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "all" => Some(Self::All),
            "tcp" => Some(Self::Tcp),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Tcp => "tcp",
        }
    }
}

impl fmt::Display for ProtectionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a group name: 1 to 128 characters of letters, digits, `-`, `_`, `.` and spaces.
pub fn validate_group_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("a group name cannot be empty".into());
    }
    if name.chars().count() > 128 {
        return Err("a group name has at most 128 characters".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')))
    {
        return Err(format!(
            "a group name may hold letters, digits, '-', '_', '.' and spaces, not {c:?}"
        ));
    }
    Ok(name.to_owned())
}
