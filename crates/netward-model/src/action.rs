//! What a device does with traffic that matches an indicator, and how MDE's action names map
//! onto it.

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The action of an indicator. On one address, allow beats block, and block beats audit.
///
/// Between netward's own parts it travels as `allow`, `audit` or `block`; the MDE-shaped API
/// takes and shows MDE's names through [`Action::parse`] and [`Action::mde_name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Traffic passes, and no other indicator may block or audit it.
    Allow,
    /// Traffic passes and every hit is reported.
    Audit,
    /// Traffic is stopped and every hit is reported.
    Block,
}

/// How an input action name constrains the generate-alert flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertRule {
    /// The flag is whatever the submission says, `false` if it says nothing.
    DefaultOff,
    /// The flag is whatever the submission says, `true` if it says nothing (MDE's `Audit`).
    DefaultOn,
    /// The name implies an alert (`AlertAndBlock`, the legacy `Alert`): `false` is a contradiction.
    Required,
}

/// An action name that netward does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// MDE's `Warn` asks a user in a browser; nobody can be asked at the kernel.
    #[error(
        "`Warn` is not supported: it shows a bypassable prompt in a browser, and a connection blocked in the kernel has nobody to prompt; use Audit or Block"
    )]
    Warn,
    /// MDE's `BlockAndRemediate` is for files.
    #[error(
        "`BlockAndRemediate` is not supported for IP indicators (MDE refuses it for network indicators too: there is nothing to remediate); use Block"
    )]
    BlockAndRemediate,
    /// Anything else.
    #[error("`{0}` is not an action; use Allowed, Audit, Alert, Block or AlertAndBlock")]
    Unknown(String),
}

impl Action {
    /// Parses our names (`allow`, `audit`, `block`) and MDE's (`Allowed`, `Audit`, `Block`,
    /// `AlertAndBlock`, the legacy `Alert`), case-insensitively.
    pub fn parse(input: &str) -> Result<(Self, AlertRule), ActionError> {
        MdeAction::parse(input).map(|name| (name.action(), name.alert_rule()))
    }

    /// The name MDE's API uses for this action.
    pub fn mde_name(self) -> &'static str {
        match self {
            Self::Allow => "Allowed",
            Self::Audit => "Audit",
            Self::Block => "Block",
        }
    }

    /// Our lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Audit => "audit",
            Self::Block => "block",
        }
    }
}

/// An action as a client named it, in MDE's names: what the API stores and shows back, so that
/// a script that sent `AlertAndBlock` reads `AlertAndBlock`. What devices enforce is its
/// [`Action`]; the legacy `Alert` and `AlertAndBlock` also imply an alert on every hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum MdeAction {
    /// Traffic passes.
    Allowed,
    /// Traffic passes; hits are reported (an alert by default).
    Audit,
    /// MDE's legacy name for audit with an alert on every hit.
    Alert,
    /// Traffic is stopped.
    Block,
    /// MDE's legacy name for block with an alert on every hit.
    AlertAndBlock,
}

impl MdeAction {
    /// Every name, in the order the console offers them.
    pub const ALL: [Self; 5] = [
        Self::Block,
        Self::AlertAndBlock,
        Self::Audit,
        Self::Alert,
        Self::Allowed,
    ];

    /// Parses MDE's names and ours (`allow`, `audit`, `block`), case-insensitively.
    pub fn parse(input: &str) -> Result<Self, ActionError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "allow" | "allowed" => Ok(Self::Allowed),
            "audit" => Ok(Self::Audit),
            "alert" => Ok(Self::Alert),
            "block" => Ok(Self::Block),
            "alertandblock" => Ok(Self::AlertAndBlock),
            "warn" => Err(ActionError::Warn),
            "blockandremediate" => Err(ActionError::BlockAndRemediate),
            _ => Err(ActionError::Unknown(input.trim().to_owned())),
        }
    }

    /// What devices do.
    pub fn action(self) -> Action {
        match self {
            Self::Allowed => Action::Allow,
            Self::Audit | Self::Alert => Action::Audit,
            Self::Block | Self::AlertAndBlock => Action::Block,
        }
    }

    /// How the name constrains the generate-alert flag.
    pub fn alert_rule(self) -> AlertRule {
        match self {
            Self::Allowed | Self::Block => AlertRule::DefaultOff,
            Self::Audit => AlertRule::DefaultOn,
            Self::Alert | Self::AlertAndBlock => AlertRule::Required,
        }
    }

    /// MDE's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "Allowed",
            Self::Audit => "Audit",
            Self::Alert => "Alert",
            Self::Block => "Block",
            Self::AlertAndBlock => "AlertAndBlock",
        }
    }
}

impl From<Action> for MdeAction {
    /// The plain MDE name of an enforced action.
    fn from(action: Action) -> Self {
        match action {
            Action::Allow => Self::Allowed,
            Action::Audit => Self::Audit,
            Action::Block => Self::Block,
        }
    }
}

impl fmt::Display for MdeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mde_names_map_as_documented() {
        assert_eq!(
            Action::parse("Allowed"),
            Ok((Action::Allow, AlertRule::DefaultOff))
        );
        assert_eq!(
            Action::parse("Audit"),
            Ok((Action::Audit, AlertRule::DefaultOn))
        );
        assert_eq!(
            Action::parse("Block"),
            Ok((Action::Block, AlertRule::DefaultOff))
        );
        assert_eq!(
            Action::parse("AlertAndBlock"),
            Ok((Action::Block, AlertRule::Required))
        );
        assert_eq!(
            Action::parse("block"),
            Ok((Action::Block, AlertRule::DefaultOff))
        );
    }

    #[test]
    fn unsupported_names_say_why() {
        assert_eq!(Action::parse("Warn"), Err(ActionError::Warn));
        assert!(ActionError::Warn.to_string().contains("prompt"));
        assert_eq!(
            Action::parse("BlockAndRemediate"),
            Err(ActionError::BlockAndRemediate)
        );
        assert!(matches!(Action::parse("nuke"), Err(ActionError::Unknown(n)) if n == "nuke"));
    }

    #[test]
    fn every_mde_name_reads_back_as_itself() {
        for name in MdeAction::ALL {
            assert_eq!(MdeAction::parse(name.as_str()), Ok(name));
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{}\"", name.as_str()));
        }
        assert_eq!(MdeAction::parse("block"), Ok(MdeAction::Block));
        assert_eq!(MdeAction::parse("allow"), Ok(MdeAction::Allowed));
        assert_eq!(MdeAction::Alert.action(), Action::Audit);
        assert_eq!(MdeAction::AlertAndBlock.action(), Action::Block);
    }
}
