//! An indicator as the REST API shows it, field by field in the types of MDE's Indicator
//! resource (a typed client such as `mde-client` reads these into typed columns), plus
//! netward's extras (`expired`, `enforcement`); the list around it; and the body of
//! `POST /api/indicators/BatchDelete`.

use serde::{Deserialize, Serialize};

use crate::lenient::IdInput;
use crate::timestamp::format_rfc3339;
use crate::{Indicator, MdeAction, SourceType};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// An indicator, as MDE's API shows one, plus `expired` and `enforcement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IndicatorEntity {
    /// Server-assigned id (a numeric string, as in MDE).
    pub id: String,
    /// Canonical value.
    pub indicator_value: String,
    /// Always `IpAddress`.
    pub indicator_type: String,
    /// The action as it was submitted, in MDE's names: `Allowed`, `Audit`, `Alert`, `Block`
    /// or `AlertAndBlock`.
    pub action: MdeAction,
    /// Alert title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// Alert severity.
    pub severity: String,
    /// When it leaves the policy, RFC 3339.
    pub expiration_time: Option<String>,
    /// Whether hits raise alerts.
    pub generate_alert: bool,
    /// Shown with alerts.
    pub recommended_actions: String,
    /// Scope; empty means every device.
    pub rbac_group_names: Vec<String>,
    /// Scope by group id: the numbers the server gives its groups in creation order (the
    /// default group is 1), as MDE's typed clients read them.
    pub rbac_group_ids: Vec<i64>,
    /// The submitter's correlation id, spelled as MDE spells it.
    #[serde(rename = "externalID")]
    pub external_id: String,
    /// MDE's application field.
    pub application: String,
    /// MDE's alert category number, if one was given as a number.
    pub category: Option<i64>,
    /// netward's extra: the category as given when it is a name (MDE's CSV template takes
    /// names such as `CommandAndControl`, whose numbers MDE does not document); empty
    /// otherwise.
    pub category_name: String,
    /// MITRE technique ids.
    pub mitre_techniques: Vec<String>,
    /// MDE's custom notification URL, stored and shown back.
    pub educate_url: String,
    /// The token, user or feed that created it.
    pub source: String,
    /// `User` (a person at the console) or `AadApp` (an API token, a feed, netward itself).
    pub source_type: SourceType,
    /// The token, user or feed that created it, as MDE's `createdBySource`.
    pub created_by_source: String,
    /// Who created it.
    pub created_by: String,
    /// When, RFC 3339.
    pub creation_time_date_time_utc: String,
    /// Who last changed it.
    pub last_updated_by: String,
    /// When, RFC 3339.
    pub last_update_time: String,
    /// Whether its expiration time has passed.
    pub expired: bool,
    /// The import that last created or changed it, when one did (a netward extension: list
    /// an import's indicators with `GET /api/indicators?importId=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// On how many devices it is enforced (`GET /api/indicators/{id}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<crate::agent_wire::EnforcementSummary>,
}

impl IndicatorEntity {
    /// The wire form of `ind` as of `now`.
    pub fn new(ind: &Indicator, now: i64) -> Self {
        let d = &ind.draft;
        Self {
            id: ind.id.to_string(),
            indicator_value: d.value.to_string(),
            indicator_type: "IpAddress".into(),
            action: d.mde_action,
            title: d.title.clone(),
            description: d.description.clone(),
            severity: d.severity.as_str().into(),
            expiration_time: d.expires_at.map(format_rfc3339),
            generate_alert: d.generate_alert,
            recommended_actions: d.recommended_actions.clone(),
            rbac_group_names: d.groups.clone(),
            rbac_group_ids: ind.group_ids.clone(),
            external_id: d.external_id.clone(),
            application: d.application.clone(),
            category: category_number(&d.category),
            category_name: if category_number(&d.category).is_some() {
                String::new()
            } else {
                d.category.clone()
            },
            mitre_techniques: d.mitre_techniques.clone(),
            educate_url: d.educate_url.clone(),
            source: ind.created_by.name.clone(),
            source_type: ind.created_by.kind.source_type(),
            created_by_source: ind.created_by.name.clone(),
            created_by: ind.created_by.name.clone(),
            creation_time_date_time_utc: format_rfc3339(ind.created_at),
            last_updated_by: ind.updated_by.name.clone(),
            last_update_time: format_rfc3339(ind.updated_at),
            expired: !ind.is_active(now),
            import_id: ind.import_id.map(|i| i.to_string()),
            enforcement: None,
        }
    }
}

/// A category given as a number, within MDE's int32.
fn category_number(category: &str) -> Option<i64> {
    crate::lenient::parse_number(category)
        .ok()
        .flatten()
        .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
}

/// `{"@odata.context": ..., "value": [...]}` of indicators, as MDE lists them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IndicatorList {
    /// `https://<server>/api/$metadata#Indicators`, as MDE names its collection. netward
    /// serves no `$metadata` document: the field is there for clients that expect it.
    #[serde(rename = "@odata.context", default)]
    pub odata_context: String,
    /// How many indicators the query matches in all, whatever the page (with `$count=true`).
    #[serde(
        rename = "@odata.count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_count: Option<u64>,
    /// The page of indicators.
    pub value: Vec<IndicatorEntity>,
}

impl IndicatorList {
    /// A page of indicators served from `base_url` (scheme and authority, no trailing slash).
    pub fn new(base_url: &str, value: Vec<IndicatorEntity>) -> Self {
        Self {
            odata_context: format!("{base_url}/api/$metadata#Indicators"),
            odata_count: None,
            value,
        }
    }
}

/// The body of `POST /api/indicators/BatchDelete`: `{"IndicatorIds": ["1", "2"]}`, ids as
/// strings (MDE's form) or numbers.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchDeleteRequest {
    /// The ids to delete. Required, not empty.
    #[serde(rename = "IndicatorIds", alias = "indicatorIds")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub indicator_ids: Option<Vec<IdInput>>,
}

/// The body of `POST /api/indicators/DeleteByFilter` (a netward extension): the indicators
/// that match every filter given are deleted in one change, or with `dryRun` only counted.
/// At least one filter is required.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteByFilterRequest {
    /// Created by this token, user or feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Scoped to this device group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// With this action (`Allowed`, `Audit`, `Block`, or MDE's other names of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// With exactly this title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// With one of these values (addresses or networks, in any textual form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// Count only; delete nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What `POST /api/indicators/DeleteByFilter` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeleteByFilterResult {
    /// Indicators that match the filter (expired ones included).
    pub matched: u64,
    /// Indicators deleted: `matched`, or 0 for a dry run.
    pub deleted: u64,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, ActorKind, IndicatorSubmission};

    #[test]
    fn the_entity_has_mde_types() {
        let draft = IndicatorSubmission {
            indicator_value: Some("192.0.2.1".into()),
            action: Some("AlertAndBlock".into()),
            title: Some("t".into()),
            rbac_group_names: Some(vec!["servers".into()]),
            ..Default::default()
        }
        .validate(0)
        .unwrap();
        let token = Actor {
            name: "feed".into(),
            kind: ActorKind::ApiToken,
        };
        let ind = Indicator {
            id: 7,
            draft,
            created_by: token.clone(),
            created_at: 0,
            updated_by: token,
            updated_at: 0,
            group_ids: vec![2],
            import_id: None,
        };
        let json = serde_json::to_value(IndicatorEntity::new(&ind, 0)).unwrap();
        assert_eq!(json["id"], "7");
        assert_eq!(json["action"], "AlertAndBlock");
        assert_eq!(json["category"], serde_json::Value::Null);
        assert_eq!(json["categoryName"], "");
        assert_eq!(json["mitreTechniques"], serde_json::json!([]));
        assert_eq!(json["rbacGroupIds"], serde_json::json!([2]));
        assert_eq!(json["sourceType"], "AadApp");
        assert_eq!(json["createdBySource"], "feed");
        assert_eq!(json["externalID"], "");
        assert_eq!(json["educateUrl"], "");
        let list = serde_json::to_value(IndicatorList::new("https://h:1", vec![])).unwrap();
        assert_eq!(
            list["@odata.context"],
            "https://h:1/api/$metadata#Indicators"
        );
    }

    #[test]
    fn batch_delete_takes_string_and_number_ids() {
        let body: BatchDeleteRequest =
            serde_json::from_str(r#"{"IndicatorIds": ["1", 2]}"#).unwrap();
        let ids: Vec<String> = body
            .indicator_ids
            .unwrap()
            .into_iter()
            .map(IdInput::into_text)
            .collect();
        assert_eq!(ids, ["1", "2"]);
        assert!(serde_json::from_str::<BatchDeleteRequest>(r#"{"ids": ["1"]}"#).is_err());
    }
}
