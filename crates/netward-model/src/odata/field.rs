//! The indicator fields a `$filter` or an `$orderby` can name, spelled as MDE's API spells
//! them, and what kind of value each one compares with.

use std::fmt;

/// A field of an indicator, as MDE's Indicators API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `id`: the server-assigned id.
    Id,
    /// `indicatorValue`: the address or network, compared in canonical form.
    IndicatorValue,
    /// `indicatorType`: always `IpAddress` here.
    IndicatorType,
    /// `action`, in MDE's names.
    Action,
    /// `title`.
    Title,
    /// `description`.
    Description,
    /// `severity`, ordered Informational < Low < Medium < High.
    Severity,
    /// `application`.
    Application,
    /// `externalId` (also spelled `externalID`).
    ExternalId,
    /// `generateAlert`.
    GenerateAlert,
    /// `expirationTime`; `null` when the indicator never expires.
    ExpirationTime,
    /// `creationTimeDateTimeUtc`.
    CreationTime,
    /// `lastUpdateTime`.
    LastUpdateTime,
    /// `createdBy`: the creator's name.
    CreatedBy,
    /// `createdByDisplayName`: the creator's name too (netward has no separate display name).
    CreatedByDisplayName,
    /// `source`: the creator's name, as the entity shows it.
    Source,
    /// `rbacGroupNames`: the device groups in scope.
    RbacGroupNames,
    /// `rbacGroupIds`: a group by the number netward shows for it (or by its name).
    RbacGroupIds,
}

/// What a field compares with, which decides the operators and literals it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text: every operator and the text functions, case-sensitive.
    Text,
    /// An address or network: `eq`, `ne` on the canonical value; text functions on its text.
    Address,
    /// MDE's action names: `eq`, `ne`, case-insensitive.
    Action,
    /// The indicator type: `eq`, `ne`, case-insensitive.
    IndicatorType,
    /// A severity name: every operator, by rank.
    Severity,
    /// `true` or `false`: `eq`, `ne`.
    Bool,
    /// An instant (every operator); a nullable one also compares with `null` (`eq`, `ne`).
    Time {
        /// Whether the field may be `null`.
        nullable: bool,
    },
    /// A whole number: every operator.
    Number,
    /// A list of group names: `eq` (the list names the group) and `ne` (it does not).
    Groups,
}

impl Field {
    /// Every field, in the order error messages list them.
    pub const ALL: [Self; 18] = [
        Self::Id,
        Self::IndicatorValue,
        Self::IndicatorType,
        Self::Action,
        Self::Title,
        Self::Description,
        Self::Severity,
        Self::Application,
        Self::ExternalId,
        Self::GenerateAlert,
        Self::ExpirationTime,
        Self::CreationTime,
        Self::LastUpdateTime,
        Self::CreatedBy,
        Self::CreatedByDisplayName,
        Self::Source,
        Self::RbacGroupNames,
        Self::RbacGroupIds,
    ];

    /// MDE's name of the field.
    pub fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::IndicatorValue => "indicatorValue",
            Self::IndicatorType => "indicatorType",
            Self::Action => "action",
            Self::Title => "title",
            Self::Description => "description",
            Self::Severity => "severity",
            Self::Application => "application",
            Self::ExternalId => "externalId",
            Self::GenerateAlert => "generateAlert",
            Self::ExpirationTime => "expirationTime",
            Self::CreationTime => "creationTimeDateTimeUtc",
            Self::LastUpdateTime => "lastUpdateTime",
            Self::CreatedBy => "createdBy",
            Self::CreatedByDisplayName => "createdByDisplayName",
            Self::Source => "source",
            Self::RbacGroupNames => "rbacGroupNames",
            Self::RbacGroupIds => "rbacGroupIds",
        }
    }

    /// Reads a field name, case-insensitively (clients write both `externalId` and
    /// `externalID`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// What the field compares with.
    pub fn kind(self) -> FieldKind {
        match self {
            Self::Id => FieldKind::Number,
            Self::IndicatorValue => FieldKind::Address,
            Self::IndicatorType => FieldKind::IndicatorType,
            Self::Action => FieldKind::Action,
            Self::Severity => FieldKind::Severity,
            Self::GenerateAlert => FieldKind::Bool,
            Self::ExpirationTime => FieldKind::Time { nullable: true },
            Self::CreationTime | Self::LastUpdateTime => FieldKind::Time { nullable: false },
            Self::RbacGroupNames | Self::RbacGroupIds => FieldKind::Groups,
            Self::Title
            | Self::Description
            | Self::Application
            | Self::ExternalId
            | Self::CreatedBy
            | Self::CreatedByDisplayName
            | Self::Source => FieldKind::Text,
        }
    }

    /// Every field name, comma-separated, for error messages.
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
