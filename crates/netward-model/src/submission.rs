//! An indicator as a client submits it, in MDE's field names, and the rules that turn it into
//! an [`IndicatorDraft`] or a [`FieldError`] that names the field at fault.

use serde::{Deserialize, Deserializer, Serialize};

use crate::action::AlertRule;
use crate::timestamp::parse_rfc3339;
use crate::{Action, IndicatorDraft, IndicatorValue, Severity};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 500;
/// Longest free-text field (description, recommended actions), in characters.
pub const MAX_TEXT: usize = 10_000;
/// Longest short field (external id, application, category, MITRE list), in characters.
pub const MAX_SHORT: usize = 500;
/// Most device groups one indicator may name.
pub const MAX_GROUPS: usize = 100;

/// One indicator as submitted to `POST /api/indicators` or inside an import. Every field is
/// optional here so that a missing one is reported by name, not as a parse failure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndicatorSubmission {
    /// An IPv4 or IPv6 address, or a CIDR network. Required.
    pub indicator_value: Option<String>,
    /// `IpAddress` (a CIDR value is accepted as an extension). Optional; other MDE types are refused.
    pub indicator_type: Option<String>,
    /// `Allowed`, `Audit`, `Block` or `AlertAndBlock` (or `allow`, `audit`, `block`). Required.
    pub action: Option<String>,
    /// Alert title. Required.
    pub title: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// `Informational` (default), `Low`, `Medium` or `High`.
    pub severity: Option<String>,
    /// RFC 3339 time at which the indicator stops applying; must be in the future.
    pub expiration_time: Option<String>,
    /// Whether a hit raises an alert: `true`/`false` or MDE's `"True"`/`"False"`.
    #[serde(default, deserialize_with = "bool_or_string")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub generate_alert: Option<bool>,
    /// Device group names; empty or absent means every device.
    pub rbac_group_names: Option<Vec<String>>,
    /// Shown with alerts.
    pub recommended_actions: Option<String>,
    /// The caller's own correlation id.
    #[serde(alias = "externalID")]
    pub external_id: Option<String>,
    /// MDE's application field, stored as given.
    pub application: Option<String>,
    /// MDE's alert category, stored as given.
    pub category: Option<String>,
    /// MITRE technique ids, comma-separated, stored as given.
    pub mitre_techniques: Option<String>,
}

/// A submission error tied to one field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The wire name of the field at fault.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl FieldError {
    /// A new error on `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl IndicatorSubmission {
    /// Validates and normalises the submission as of `now` (Unix seconds).
    pub fn validate(&self, now: i64) -> Result<IndicatorDraft, FieldError> {
        if let Some(kind) = self.indicator_type.as_deref().map(str::trim) {
            check_type(kind)?;
        }
        let raw_value = required(&self.indicator_value, "indicatorValue")?;
        let value = IndicatorValue::parse(raw_value)
            .map_err(|e| FieldError::new("indicatorValue", e.to_string()))?;
        let (action, alert_rule) = Action::parse(required(&self.action, "action")?)
            .map_err(|e| FieldError::new("action", e.to_string()))?;
        let generate_alert = match (alert_rule, self.generate_alert) {
            (AlertRule::Required, Some(false)) => {
                return Err(FieldError::new(
                    "generateAlert",
                    "this action always raises an alert; generateAlert cannot be false",
                ));
            }
            (AlertRule::Required, _) => true,
            (_, Some(flag)) => flag,
            (AlertRule::DefaultOn, None) => true,
            (AlertRule::DefaultOff, None) => false,
        };
        let title = required(&self.title, "title")?.to_owned();
        check_len("title", &title, MAX_TITLE)?;
        let severity = match self.severity.as_deref().map(str::trim) {
            None | Some("") => Severity::default(),
            Some(s) => Severity::parse(s).ok_or_else(|| {
                FieldError::new(
                    "severity",
                    format!("`{s}` is not a severity; use Informational, Low, Medium or High"),
                )
            })?,
        };
        let expires_at = match self.expiration_time.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => {
                let at = parse_rfc3339(t).ok_or_else(|| {
                    FieldError::new(
                        "expirationTime",
                        format!("`{t}` is not an RFC 3339 time such as 2030-01-31T00:00:00Z"),
                    )
                })?;
                if at <= now {
                    return Err(FieldError::new(
                        "expirationTime",
                        format!("`{t}` is not in the future"),
                    ));
                }
                Some(at)
            }
        };
        Ok(IndicatorDraft {
            value,
            action,
            title,
            description: text(&self.description, "description", MAX_TEXT)?,
            severity,
            expires_at,
            generate_alert,
            recommended_actions: text(&self.recommended_actions, "recommendedActions", MAX_TEXT)?,
            groups: groups(self.rbac_group_names.as_deref().unwrap_or_default())?,
            external_id: text(&self.external_id, "externalId", MAX_SHORT)?,
            application: text(&self.application, "application", MAX_SHORT)?,
            category: text(&self.category, "category", MAX_SHORT)?,
            mitre_techniques: text(&self.mitre_techniques, "mitreTechniques", MAX_SHORT)?,
        })
    }
}

fn required<'a>(field: &'a Option<String>, name: &str) -> Result<&'a str, FieldError> {
    match field.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(FieldError::new(name, "is required")),
    }
}

fn check_type(kind: &str) -> Result<(), FieldError> {
    const OTHER_MDE_TYPES: [&str; 6] = [
        "FileSha1",
        "FileSha256",
        "FileMd5",
        "CertificateThumbprint",
        "DomainName",
        "Url",
    ];
    if kind.eq_ignore_ascii_case("IpAddress") || kind.eq_ignore_ascii_case("IpRange") {
        Ok(())
    } else if OTHER_MDE_TYPES.iter().any(|t| t.eq_ignore_ascii_case(kind)) {
        Err(FieldError::new(
            "indicatorType",
            format!(
                "`{kind}` indicators are not supported: netward enforces IP addresses and ranges only"
            ),
        ))
    } else {
        Err(FieldError::new(
            "indicatorType",
            format!("`{kind}` is not an indicator type; use IpAddress"),
        ))
    }
}

fn check_len(name: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            name,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(())
}

fn text(field: &Option<String>, name: &str, max: usize) -> Result<String, FieldError> {
    let value = field
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    check_len(name, &value, max)?;
    Ok(value)
}

fn groups(names: &[String]) -> Result<Vec<String>, FieldError> {
    if names.len() > MAX_GROUPS {
        return Err(FieldError::new(
            "rbacGroupNames",
            format!("names more than {MAX_GROUPS} groups"),
        ));
    }
    let mut out = names
        .iter()
        .map(|n| crate::group::validate_group_name(n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| FieldError::new("rbacGroupNames", m))?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Accepts `true`, `false`, and the strings `"True"`, `"False"` (any case) and `""` (absent).
fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Option::<Flag>::deserialize(d)? {
        None => Ok(None),
        Some(Flag::Bool(b)) => Ok(Some(b)),
        Some(Flag::Text(s)) => parse_flag(&s).map_err(serde::de::Error::custom),
    }
}

/// Parses a CSV or query-string boolean: `true`/`false` in any case, empty for absent.
pub fn parse_flag(input: &str) -> Result<Option<bool>, String> {
    match input.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => Err(format!("`{other}` is not true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn sub(value: &str, action: &str) -> IndicatorSubmission {
        IndicatorSubmission {
            indicator_value: Some(value.into()),
            action: Some(action.into()),
            title: Some("t".into()),
            ..Default::default()
        }
    }

    #[test]
    fn audit_alerts_by_default_and_alert_and_block_always() {
        assert!(
            sub("192.0.2.1", "Audit")
                .validate(NOW)
                .unwrap()
                .generate_alert
        );
        let mut s = sub("192.0.2.1", "Audit");
        s.generate_alert = Some(false);
        assert!(!s.validate(NOW).unwrap().generate_alert);
        assert!(
            !sub("192.0.2.1", "Block")
                .validate(NOW)
                .unwrap()
                .generate_alert
        );
        let d = sub("192.0.2.1", "AlertAndBlock").validate(NOW).unwrap();
        assert_eq!((d.action, d.generate_alert), (Action::Block, true));
        let mut s = sub("192.0.2.1", "AlertAndBlock");
        s.generate_alert = Some(false);
        assert_eq!(s.validate(NOW).unwrap_err().field, "generateAlert");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(IndicatorSubmission, &str)> = vec![
            (IndicatorSubmission::default(), "indicatorValue"),
            (sub("10.1.2.3/24", "Block"), "indicatorValue"),
            (sub("192.0.2.1", ""), "action"),
            (sub("192.0.2.1", "Warn"), "action"),
            (
                IndicatorSubmission {
                    title: None,
                    ..sub("192.0.2.1", "Block")
                },
                "title",
            ),
            (
                IndicatorSubmission {
                    severity: Some("Critical".into()),
                    ..sub("192.0.2.1", "Block")
                },
                "severity",
            ),
            (
                IndicatorSubmission {
                    expiration_time: Some("2000-01-01T00:00:00Z".into()),
                    ..sub("192.0.2.1", "Block")
                },
                "expirationTime",
            ),
            (
                IndicatorSubmission {
                    indicator_type: Some("Url".into()),
                    ..sub("192.0.2.1", "Block")
                },
                "indicatorType",
            ),
            (
                IndicatorSubmission {
                    rbac_group_names: Some(vec!["bad/name".into()]),
                    ..sub("192.0.2.1", "Block")
                },
                "rbacGroupNames",
            ),
        ];
        for (s, field) in cases {
            assert_eq!(s.validate(NOW).unwrap_err().field, field, "{s:?}");
        }
    }

    #[test]
    fn mde_json_with_string_flag_parses() {
        let s: IndicatorSubmission = serde_json::from_str(
            r#"{"indicatorValue":"2001:0db8:0:0:0:0:0:1","indicatorType":"IpAddress","action":"AlertAndBlock",
                "title":"x","generateAlert":"True","rbacGroupNames":["b","a","b"],"externalID":"e1"}"#,
        )
        .unwrap();
        let d = s.validate(NOW).unwrap();
        assert_eq!(d.value.to_string(), "2001:db8::1");
        assert_eq!(d.groups, vec!["a", "b"]);
        assert_eq!(d.external_id, "e1");
    }
}
