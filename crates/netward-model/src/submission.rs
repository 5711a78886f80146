//! An indicator as a client submits it, in MDE's field names, and the rules that turn it into
//! an [`IndicatorDraft`] or a [`FieldError`] that names the field at fault.

use serde::{Deserialize, Deserializer, Serialize};

use crate::action::AlertRule;
use crate::lenient::{self, ReadOnly};
use crate::text;
use crate::timestamp::parse_rfc3339;
use crate::{IndicatorDraft, IndicatorValue, MdeAction, Severity};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 500;
/// Longest free-text field (description, recommended actions), in characters.
pub const MAX_TEXT: usize = 10_000;
/// Longest short field (external id, application, category, MITRE list), in characters.
pub const MAX_SHORT: usize = 500;
/// Most device groups one indicator may name.
pub const MAX_GROUPS: usize = 100;
/// Longest URL (`educateUrl`), in characters.
pub const MAX_URL: usize = 2048;

/// One indicator as submitted to `POST /api/indicators` or inside an import. Every field is
/// optional here so that a missing one is reported by name, not as a parse failure.
///
/// MDE's read-only entity fields (`lastUpdateTime`, `createdBy`, ...) are accepted and
/// ignored, as MDE ignores them, so that a client may send back what it read; any other field
/// is refused by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndicatorSubmission {
    /// The id of the indicator this updates, as MDE's clients send it on an update. netward
    /// keys indicators by value: when given, it must be the id of the indicator that has this
    /// value, if one exists. Ignored in imports.
    #[serde(
        default,
        deserialize_with = "lenient::id_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub id: Option<String>,
    /// An IPv4 or IPv6 address, or a CIDR network. Required.
    pub indicator_value: Option<String>,
    /// `IpAddress` (a CIDR value is accepted as an extension). Optional; other MDE types are refused.
    pub indicator_type: Option<String>,
    /// `Allowed`, `Audit`, `Alert`, `Block` or `AlertAndBlock` (or `allow`, `audit`, `block`).
    /// Required. MDE's name is shown back as it was sent.
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
    /// Device group names, as a list or one comma-separated string; empty or absent means
    /// every device.
    #[serde(default, deserialize_with = "lenient::list_or_csv")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub rbac_group_names: Option<Vec<String>>,
    /// MDE's group ids, as netward shows them (numbers) or as group names. Read-only: numbers
    /// sent with `rbacGroupNames` (a client sending back what it read) are ignored, numbers
    /// alone are refused, and names must be those of `rbacGroupNames`; never a silently
    /// widened scope.
    #[serde(
        default,
        deserialize_with = "lenient::ids_or_csv",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub rbac_group_ids: Option<Vec<String>>,
    /// Shown with alerts.
    pub recommended_actions: Option<String>,
    /// The caller's own correlation id (`externalId` or MDE's spelling `externalID`).
    #[serde(alias = "externalID")]
    pub external_id: Option<String>,
    /// MDE's application field, stored as given.
    pub application: Option<String>,
    /// MDE's alert category: a number (as the API shows it) or a name (as MDE's CSV template
    /// takes it, e.g. `CommandAndControl`). Stored as given.
    #[serde(default, deserialize_with = "lenient::text_or_number")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub category: Option<String>,
    /// MITRE technique ids, as a list or one comma-separated string. Stored as given.
    #[serde(default, deserialize_with = "lenient::list_or_csv")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub mitre_techniques: Option<Vec<String>>,
    /// MDE's custom notification URL. Stored and shown; nobody is shown it, as a refused
    /// connection has no page to show it on.
    pub educate_url: Option<String>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub last_update_time: Option<ReadOnly>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub last_updated_by: Option<ReadOnly>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub created_by: Option<ReadOnly>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub created_by_display_name: Option<ReadOnly>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub created_by_source: Option<ReadOnly>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub creation_time_date_time_utc: Option<ReadOnly>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub source: Option<ReadOnly>,
    /// Read-only; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub source_type: Option<ReadOnly>,
    /// netward's extra: the category as a name, which the entity shows beside `category: null`
    /// when the category is not a number; used when `category` is absent or null, so that an
    /// entity sent back keeps its category.
    #[serde(default, skip_serializing)]
    pub category_name: Option<String>,
    /// Read-only (netward's extra); accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub expired: Option<ReadOnly>,
    /// Read-only (netward's extra); accepted and ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>, read_only))]
    pub enforcement: Option<ReadOnly>,
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
        let mde_action = MdeAction::parse(required(&self.action, "action")?)
            .map_err(|e| FieldError::new("action", e.to_string()))?;
        let generate_alert = match (mde_action.alert_rule(), self.generate_alert) {
            // MDE's legacy `Alert` and `AlertAndBlock` mean "with an alert": the name decides,
            // and the entity shows `generateAlert: true` whatever the body said.
            (AlertRule::Required, _) => true,
            (_, Some(flag)) => flag,
            (AlertRule::DefaultOn, None) => true,
            (AlertRule::DefaultOff, None) => false,
        };
        let title = required(&self.title, "title")?.to_owned();
        text::line("title", &title, MAX_TITLE)?;
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
        let groups = groups(self.rbac_group_names.as_deref().unwrap_or_default())?;
        check_group_ids(self.rbac_group_ids.as_deref(), &groups)?;
        Ok(IndicatorDraft {
            value,
            action: mde_action.action(),
            mde_action,
            title,
            description: long_text(&self.description, "description")?,
            severity,
            expires_at,
            generate_alert,
            recommended_actions: long_text(&self.recommended_actions, "recommendedActions")?,
            groups,
            external_id: short_text(&self.external_id, "externalId", MAX_SHORT)?,
            application: short_text(&self.application, "application", MAX_SHORT)?,
            category: match &self.category {
                Some(c) if !c.trim().is_empty() => {
                    short_text(&self.category, "category", MAX_SHORT)?
                }
                _ => short_text(&self.category_name, "categoryName", MAX_SHORT)?,
            },
            mitre_techniques: techniques(self.mitre_techniques.as_deref().unwrap_or_default())?,
            educate_url: short_text(&self.educate_url, "educateUrl", MAX_URL)?,
        })
    }

    /// The id the client names (`id`), as a number; `None` when absent.
    pub fn claimed_id(&self) -> Result<Option<i64>, FieldError> {
        match self.id.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => raw
                .parse::<i64>()
                .map(Some)
                .map_err(|_| FieldError::new("id", format!("`{raw}` is not an indicator id"))),
        }
    }
}

/// `rbacGroupIds` must name the same groups as `rbacGroupNames`: netward's group ids are
/// their names, and an ignored scope would silently apply an indicator to every device.
/// `rbacGroupIds` never sets the scope by itself, so that a value netward cannot check never
/// widens an indicator to every device. The numbers netward shows are read-only: sent back
/// with the groups named in `rbacGroupNames` (as clients echo an entity) they are ignored;
/// with no group named (absent, `[]` or `""`, which mean every device) they are refused.
/// Group names in it must name the same groups as `rbacGroupNames`.
fn check_group_ids(ids: Option<&[String]>, groups: &[String]) -> Result<(), FieldError> {
    let Some(ids) = ids else { return Ok(()) };
    let mut ids: Vec<&str> = ids
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let numeric = !ids.is_empty() && ids.iter().all(|i| i.parse::<i64>().is_ok());
    if ids.is_empty() || (numeric && !groups.is_empty()) {
        return Ok(());
    }
    if numeric {
        return Err(FieldError::new(
            "rbacGroupIds",
            "give the scope in rbacGroupNames: rbacGroupIds shows netward's group numbers and is read-only",
        ));
    }
    if ids.iter().copied().eq(groups.iter().map(String::as_str)) {
        Ok(())
    } else {
        Err(FieldError::new(
            "rbacGroupIds",
            "rbacGroupIds must name the same groups as rbacGroupNames, which sets the scope",
        ))
    }
}

/// MITRE technique ids, trimmed, in order; stored comma-separated, so an id holds no comma.
fn techniques(items: &[String]) -> Result<Vec<String>, FieldError> {
    let out: Vec<String> = items
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = out.iter().find(|t| t.contains(',')) {
        return Err(FieldError::new(
            "mitreTechniques",
            format!("`{bad}` is not one technique id: give a list, or one comma-separated string"),
        ));
    }
    text::line("mitreTechniques", &out.join(","), MAX_SHORT)?;
    Ok(out)
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

/// A one-line field: trimmed, at most `max` characters, no control character.
fn short_text(field: &Option<String>, name: &str, max: usize) -> Result<String, FieldError> {
    let value = field
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    text::line(name, &value, max)?;
    Ok(value)
}

/// A free-text field: trimmed, at most [`MAX_TEXT`] characters; newlines and tabs are kept,
/// other control characters refused.
fn long_text(field: &Option<String>, name: &str) -> Result<String, FieldError> {
    let value = field
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    text::multiline(name, &value, MAX_TEXT)?;
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
    use crate::Action;

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
        assert_eq!(d.mde_action, MdeAction::AlertAndBlock);
        // The legacy names mean "with an alert", whatever generateAlert says (issue 16, item 6).
        for (name, action) in [("AlertAndBlock", Action::Block), ("Alert", Action::Audit)] {
            let mut s = sub("192.0.2.1", name);
            s.generate_alert = Some(false);
            let d = s.validate(NOW).unwrap();
            assert_eq!(
                (d.action, d.mde_action.as_str(), d.generate_alert),
                (action, name, true)
            );
        }
        assert_eq!(
            sub("192.0.2.1", "block").validate(NOW).unwrap().mde_action,
            MdeAction::Block
        );
    }

    #[test]
    fn what_opencti_sends_on_an_update_is_accepted() {
        let s: IndicatorSubmission = serde_json::from_str(
            r#"{"indicatorType":"IpAddress","indicatorValue":"203.0.113.5",
                "application":"OpenCTI Microsoft Defender Intel","action":"Alert","title":"203.0.113.5",
                "description":"d","externalId":"ipv4-addr--1","lastUpdateTime":"2026-01-02T03:04:05.123Z",
                "expirationTime":"2099-01-01T00:00:00.123456+00:00","severity":"High",
                "generateAlert":true,"id":"17"}"#,
        )
        .unwrap();
        assert_eq!(s.claimed_id(), Ok(Some(17)));
        let d = s.validate(NOW).unwrap();
        assert_eq!(d.mde_action, MdeAction::Alert);
        assert_eq!(d.application, "OpenCTI Microsoft Defender Intel");
    }

    /// The entity shows a named category as `category: null` and `categoryName`; sent back,
    /// it keeps its category.
    #[test]
    fn a_named_category_survives_an_entity_sent_back() {
        let s: IndicatorSubmission = serde_json::from_str(
            r#"{"indicatorValue":"192.0.2.1","action":"Block","title":"t",
                "category":null,"categoryName":"CommandAndControl"}"#,
        )
        .unwrap();
        assert_eq!(s.validate(NOW).unwrap().category, "CommandAndControl");
        let s: IndicatorSubmission = serde_json::from_str(
            r#"{"indicatorValue":"192.0.2.1","action":"Block","title":"t",
                "category":7,"categoryName":"CommandAndControl"}"#,
        )
        .unwrap();
        assert_eq!(
            s.validate(NOW).unwrap().category,
            "7",
            "a given category wins"
        );
    }

    #[test]
    fn read_only_entity_fields_are_ignored_and_unknown_ones_refused() {
        let s: IndicatorSubmission = serde_json::from_str(
            r#"{"indicatorValue":"192.0.2.1","action":"Block","title":"t","id":5,
                "lastUpdateTime":"x","lastUpdatedBy":"a","createdBy":"b","createdByDisplayName":"c",
                "createdBySource":"d","creationTimeDateTimeUtc":"e","source":"f","sourceType":"AadApp",
                "rbacGroupIds":[],"expired":false,"enforcement":{"inScope":1},"categoryName":"",
                "educateUrl":"https://help.example/blocked","category":"3",
                "mitreTechniques":"T1059, T1071.001"}"#,
        )
        .unwrap();
        assert_eq!(s.claimed_id(), Ok(Some(5)));
        let d = s.validate(NOW).unwrap();
        assert_eq!(d.educate_url, "https://help.example/blocked");
        assert_eq!(d.category, "3");
        assert_eq!(d.mitre_techniques, ["T1059", "T1071.001"]);
        let unknown = serde_json::from_str::<IndicatorSubmission>(
            r#"{"indicatorValue":"192.0.2.1","colour":"red"}"#,
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("unknown field `colour`"));
    }

    #[test]
    fn lists_and_numbers_take_mde_forms() {
        let s: IndicatorSubmission = serde_json::from_str(
            r#"{"indicatorValue":"192.0.2.1","action":"Block","title":"t",
                "rbacGroupNames":"b, a","category":4,"mitreTechniques":["T1059"]}"#,
        )
        .unwrap();
        let d = s.validate(NOW).unwrap();
        assert_eq!(d.groups, ["a", "b"]);
        assert_eq!(
            (d.category.as_str(), d.mitre_techniques),
            ("4", vec!["T1059".into()])
        );
        for bad in [
            r#"{"category":[1]}"#,
            r#"{"rbacGroupNames":5}"#,
            r#"{"mitreTechniques":{}}"#,
        ] {
            assert!(
                serde_json::from_str::<IndicatorSubmission>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn group_ids_must_name_the_same_groups() {
        let mut s = sub("192.0.2.1", "Block");
        s.rbac_group_names = Some(vec!["b".into(), "a".into()]);
        s.rbac_group_ids = Some(vec!["a".into(), "b".into()]);
        assert!(s.validate(NOW).is_ok());
        s.rbac_group_ids = Some(vec!["c".into()]);
        assert_eq!(s.validate(NOW).unwrap_err().field, "rbacGroupIds");
        // The numbers netward shows, echoed back with the names: the names decide.
        s.rbac_group_ids = Some(vec!["12".into()]);
        assert!(s.validate(NOW).is_ok());
        // Alone, or beside an empty scope (every device), they would stand for a scope
        // netward does not apply: refused, never widened.
        s.rbac_group_names = None;
        assert_eq!(s.validate(NOW).unwrap_err().field, "rbacGroupIds");
        s.rbac_group_names = Some(vec![]);
        assert_eq!(s.validate(NOW).unwrap_err().field, "rbacGroupIds");
        s.rbac_group_names = Some(vec!["b".into(), "a".into()]);
        s.rbac_group_ids = Some(vec![]);
        assert!(s.validate(NOW).is_ok());
        s.id = Some("abc".into());
        assert_eq!(s.claimed_id().unwrap_err().field, "id");
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
            (
                IndicatorSubmission {
                    category: Some("x".repeat(501)),
                    ..sub("192.0.2.1", "Block")
                },
                "category",
            ),
            (
                IndicatorSubmission {
                    mitre_techniques: Some(vec!["T1,T2".into()]),
                    ..sub("192.0.2.1", "Block")
                },
                "mitreTechniques",
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
