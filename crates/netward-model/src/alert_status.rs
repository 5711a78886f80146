//! The triage status of alerts and incidents: one type and one set of names for both.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The triage status of an alert or an incident: one type, one set of names, for both.
///
/// Read case-insensitively (MDE writes `InProgress`), written as `new`, `inProgress`,
/// `resolved`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum AlertStatus {
    /// Nobody has looked at it.
    New,
    /// Somebody is on it.
    InProgress,
    /// Closed. A resolved alert stays resolved: new hits raise a new alert.
    Resolved,
}

impl AlertStatus {
    /// Every status, in triage order.
    pub const ALL: [Self; 3] = [Self::New, Self::InProgress, Self::Resolved];

    /// The wire name (MDE's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::InProgress => "inProgress",
            Self::Resolved => "resolved",
        }
    }

    /// Parses a status name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

impl<'de> Deserialize<'de> for AlertStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a status; use one of new, inProgress, resolved"
            ))
        })
    }
}

impl std::fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
