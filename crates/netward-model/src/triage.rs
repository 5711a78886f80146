//! Alert triage as Microsoft Defender for Endpoint names it: who an alert is assigned to, its
//! classification, its determination (which must fit the classification), and comments.

use serde::{Deserialize, Deserializer, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::alert_status::AlertStatus;

/// What an analyst concluded an alert was (MDE's `classification`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Classification {
    /// A real threat.
    TruePositive,
    /// Real, but expected or harmless.
    InformationalExpectedActivity,
    /// Not a threat: the alert was wrong.
    FalsePositive,
}

impl Classification {
    /// Every classification.
    pub const ALL: [Self; 3] = [
        Self::TruePositive,
        Self::InformationalExpectedActivity,
        Self::FalsePositive,
    ];

    /// The wire name (MDE's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TruePositive => "TruePositive",
            Self::InformationalExpectedActivity => "InformationalExpectedActivity",
            Self::FalsePositive => "FalsePositive",
        }
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::TruePositive => "True positive",
            Self::InformationalExpectedActivity => "Informational, expected activity",
            Self::FalsePositive => "False positive",
        }
    }

    /// Parses a wire name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// The determinations that fit this classification, in MDE's order.
    pub fn determinations(self) -> &'static [Determination] {
        use Determination::*;
        match self {
            Self::TruePositive => &[
                MultiStagedAttack,
                MaliciousUserActivity,
                CompromisedAccount,
                Malware,
                Phishing,
                UnwantedSoftware,
                Other,
            ],
            Self::InformationalExpectedActivity => &[
                SecurityTesting,
                LineOfBusinessApplication,
                ConfirmedActivity,
                Other,
            ],
            Self::FalsePositive => &[Clean, NotMalicious, NoEnoughDataToValidate, Other],
        }
    }
}

/// Why an alert got its classification (MDE's `determination`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Determination {
    /// True positive: an attack in several stages.
    MultiStagedAttack,
    /// True positive: a user acting maliciously.
    MaliciousUserActivity,
    /// True positive: an account in an attacker's hands.
    CompromisedAccount,
    /// True positive: malware.
    Malware,
    /// True positive: phishing.
    Phishing,
    /// True positive: unwanted software.
    UnwantedSoftware,
    /// Expected: security testing.
    SecurityTesting,
    /// Expected: a line-of-business application.
    LineOfBusinessApplication,
    /// Expected: activity confirmed with its owner.
    ConfirmedActivity,
    /// False positive: clean.
    Clean,
    /// False positive: not malicious.
    NotMalicious,
    /// False positive: not enough data to validate.
    NoEnoughDataToValidate,
    /// Any classification: something else.
    Other,
}

impl Determination {
    /// Every determination.
    pub const ALL: [Self; 13] = [
        Self::MultiStagedAttack,
        Self::MaliciousUserActivity,
        Self::CompromisedAccount,
        Self::Malware,
        Self::Phishing,
        Self::UnwantedSoftware,
        Self::SecurityTesting,
        Self::LineOfBusinessApplication,
        Self::ConfirmedActivity,
        Self::Clean,
        Self::NotMalicious,
        Self::NoEnoughDataToValidate,
        Self::Other,
    ];

    /// The wire name (MDE's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MultiStagedAttack => "MultiStagedAttack",
            Self::MaliciousUserActivity => "MaliciousUserActivity",
            Self::CompromisedAccount => "CompromisedAccount",
            Self::Malware => "Malware",
            Self::Phishing => "Phishing",
            Self::UnwantedSoftware => "UnwantedSoftware",
            Self::SecurityTesting => "SecurityTesting",
            Self::LineOfBusinessApplication => "LineOfBusinessApplication",
            Self::ConfirmedActivity => "ConfirmedActivity",
            Self::Clean => "Clean",
            Self::NotMalicious => "NotMalicious",
            Self::NoEnoughDataToValidate => "NoEnoughDataToValidate",
            Self::Other => "Other",
        }
    }

    /// Parses a wire name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether this determination may go with `classification`.
    pub fn fits(self, classification: Classification) -> bool {
        classification.determinations().contains(&self)
    }
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
    all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", ")
}

/// Reading (case-insensitively, an unknown name listing the choices) and writing MDE's names.
macro_rules! mde_names {
    ($type:ty, $what:literal) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{s}` is not a {}; use one of {}",
                        $what,
                        names(&Self::ALL, Self::as_str)
                    ))
                })
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mde_names!(Classification, "classification");
mde_names!(Determination, "determination");

/// A comment on an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AlertComment {
    /// The text.
    pub comment: String,
    /// Who wrote it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_time: String,
}

/// A present-or-null field: absent leaves the value alone, `null` clears it.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The body of `PATCH /api/alerts/{id}`: each field given is set, `null` clears
/// `assignedTo`, `classification` and `determination`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertPatch {
    /// The new status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    /// Who the alert is assigned to (a user or token name).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub assigned_to: Option<Option<String>>,
    /// The classification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Classification>))]
    pub classification: Option<Option<Classification>>,
    /// The determination; it must fit the classification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Determination>))]
    pub determination: Option<Option<Determination>>,
}

/// The body of `POST /api/alerts/{id}/comments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentBody {
    /// The text (1 to 4000 characters).
    pub comment: String,
}

/// The longest comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 4000;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use super::*;

    #[test]
    fn every_determination_fits_some_classification_and_other_fits_all() {
        for d in Determination::ALL {
            assert!(Classification::ALL.iter().any(|c| d.fits(*c)), "{d}");
        }
        assert!(
            Classification::ALL
                .iter()
                .all(|c| Determination::Other.fits(*c))
        );
        assert!(!Determination::Malware.fits(Classification::FalsePositive));
        assert!(Determination::SecurityTesting.fits(Classification::InformationalExpectedActivity));
    }

    #[test]
    fn names_read_case_insensitively_and_unknown_ones_name_the_choices() {
        assert_eq!(
            Classification::parse("truepositive"),
            Some(Classification::TruePositive)
        );
        let e = serde_json::from_str::<Classification>("\"Bad\"").unwrap_err();
        assert!(e.to_string().contains("use one of TruePositive"), "{e}");
        let p: AlertPatch = serde_json::from_str(r#"{"classification": null}"#).unwrap();
        assert_eq!(p.classification, Some(None));
        let p: AlertPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(p.classification, None);
    }
}
