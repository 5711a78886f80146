//! The query parameters of `/api/indicators`. These routes read them with
//! [`LenientParams`](super::LenientParams): a parameter not listed here is ignored, as MDE does.

use netward_model::odata;
use netward_model::{Action, IndicatorValue};
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::error::ApiError;
use super::{MAX_TOP, count, flag, text};
use crate::store::IndicatorQuery;

/// `POST /api/indicators/BatchDelete` takes no parameters (others are ignored).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchDeleteParams {}

/// `POST /api/indicators/DeleteByFilter` (netward's own route, so strict) takes no
/// parameters: the filter is the body.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteByFilterParams {}

/// `GET /api/indicators`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndicatorParams {
    /// Exact value, in any textual form.
    value: Option<String>,
    /// Allowed, Audit or Block.
    action: Option<String>,
    /// Indicators whose scope names this group.
    group: Option<String>,
    /// Created by this token, user or feed.
    source: Option<String>,
    /// Indicators whose title contains this text (any case).
    title: Option<String>,
    /// Indicators inside this address or CIDR network (their whole range).
    within: Option<String>,
    /// Indicators whose range covers this address or CIDR network.
    containing: Option<String>,
    /// `true`: also answer how many indicators match in all, as `@odata.count`.
    #[serde(rename = "$count")]
    count: Option<String>,
    /// Indicators that this import created or changed last (its id, from the import's answer
    /// header `X-Netward-Import-Id` or its audit entry).
    #[serde(rename = "importId")]
    import_id: Option<String>,
    /// Also list expired indicators (`true`/`false`).
    #[serde(rename = "includeExpired")]
    include_expired: Option<String>,
    /// Page size, at most 10000 (default 10000).
    #[serde(rename = "$top")]
    top: Option<String>,
    /// Items to skip.
    #[serde(rename = "$skip")]
    skip: Option<String>,
    /// OData filter, e.g. `indicatorValue eq '203.0.113.7'` or
    /// `action eq 'AlertAndBlock' and creationTimeDateTimeUtc ge 2026-01-01T00:00:00Z`:
    /// `eq ne gt ge lt le and or not ( )`, `startswith`, `endswith`, `contains`, on MDE's fields.
    #[serde(rename = "$filter")]
    filter: Option<String>,
    /// OData ordering: comma-separated fields, each `asc` (default) or `desc`; by id when absent.
    #[serde(rename = "$orderby")]
    orderby: Option<String>,
}

/// A non-blank parameter, untrimmed, so that positions in its errors match what was sent.
fn expression(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.trim().is_empty())
}

/// An address or network parameter, canonicalised, or an error naming it.
fn network(name: &str, v: &Option<String>) -> Result<Option<IndicatorValue>, ApiError> {
    text(v)
        .map(|v| IndicatorValue::parse(&v).map_err(|e| ApiError::invalid(name, e.to_string())))
        .transpose()
}

impl IndicatorParams {
    /// Whether the total count is asked for (`$count=true`).
    pub fn with_count(&self) -> Result<bool, ApiError> {
        flag("$count", &self.count)
    }

    /// The store query these parameters ask for.
    pub fn query(&self) -> Result<IndicatorQuery, ApiError> {
        let value = text(&self.value)
            .map(|v| {
                IndicatorValue::parse(&v)
                    .map(|v| v.to_string())
                    .map_err(|e| ApiError::invalid("value", e.to_string()))
            })
            .transpose()?;
        let action = text(&self.action)
            .map(|a| {
                Action::parse(&a)
                    .map(|(a, _)| a)
                    .map_err(|e| ApiError::invalid("action", e.to_string()))
            })
            .transpose()?;
        Ok(IndicatorQuery {
            value,
            action,
            group: text(&self.group),
            source: text(&self.source),
            text: None,
            title: text(&self.title),
            within: network("within", &self.within)?,
            containing: network("containing", &self.containing)?,
            filter: expression(&self.filter)
                .map(odata::parse_filter)
                .transpose()
                .map_err(|e| ApiError::invalid("$filter", e.to_string()))?,
            order: expression(&self.orderby)
                .map(odata::parse_orderby)
                .transpose()
                .map_err(|e| ApiError::invalid("$orderby", e.to_string()))?
                .unwrap_or_default(),
            include_expired: flag("includeExpired", &self.include_expired)?,
            top: count("$top", &self.top, MAX_TOP, MAX_TOP)?,
            skip: count("$skip", &self.skip, 0, usize::MAX)?,
            import_id: text(&self.import_id)
                .map(|i| {
                    i.parse::<i64>().map_err(|_| {
                        ApiError::invalid("importId", format!("`{i}` is not an import id"))
                    })
                })
                .transpose()?,
        })
    }
}

/// `POST /api/indicators/import`: `force` for every format; the rest give a plain list's
/// lines what MDE's JSON and CSV carry per row.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Accept blocks the guard rails would refuse (`true`/`false`).
    force: Option<String>,
    /// Plain lists: the action (required).
    action: Option<String>,
    /// Plain lists: the title (required).
    title: Option<String>,
    /// Plain lists.
    description: Option<String>,
    /// Plain lists.
    severity: Option<String>,
    /// Plain lists.
    #[serde(rename = "expirationTime")]
    expiration_time: Option<String>,
    /// Plain lists (`true`/`false`).
    #[serde(rename = "generateAlert")]
    generate_alert: Option<String>,
    /// Plain lists: comma-separated groups.
    #[serde(rename = "rbacGroupNames")]
    rbac_group_names: Option<String>,
    /// Plain lists.
    #[serde(rename = "recommendedActions")]
    recommended_actions: Option<String>,
}

impl ImportParams {
    /// Whether the guard rails are overridden.
    pub fn force(&self) -> Result<bool, ApiError> {
        flag("force", &self.force)
    }

    /// The plain-list parameters, named as the query names them.
    fn list_fields(&self) -> [(&'static str, &Option<String>); 8] {
        [
            ("action", &self.action),
            ("title", &self.title),
            ("description", &self.description),
            ("severity", &self.severity),
            ("expirationTime", &self.expiration_time),
            ("generateAlert", &self.generate_alert),
            ("rbacGroupNames", &self.rbac_group_names),
            ("recommendedActions", &self.recommended_actions),
        ]
    }

    /// For JSON and CSV, whose rows carry their own fields: refuses the plain-list ones.
    pub fn for_rows(&self) -> Result<(), ApiError> {
        match self.list_fields().into_iter().find(|(_, v)| v.is_some()) {
            Some((name, _)) => Err(ApiError::invalid(
                name,
                "only a plain-list import (text/plain) takes this query parameter; JSON and CSV rows carry their own",
            )),
            None => Ok(()),
        }
    }

    /// For a plain list: what every line gets.
    pub fn list_defaults(&self) -> Result<netward_model::IndicatorSubmission, ApiError> {
        for (name, value) in [("action", &self.action), ("title", &self.title)] {
            if text(value).is_none() {
                return Err(ApiError::invalid(
                    name,
                    "a plain-list import needs this query parameter: it applies to every line",
                ));
            }
        }
        let generate_alert =
            netward_model::submission::parse_flag(self.generate_alert.as_deref().unwrap_or(""))
                .map_err(|m| ApiError::invalid("generateAlert", m))?;
        Ok(netward_model::IndicatorSubmission {
            action: text(&self.action),
            title: text(&self.title),
            description: text(&self.description),
            severity: text(&self.severity),
            expiration_time: text(&self.expiration_time),
            generate_alert,
            rbac_group_names: text(&self.rbac_group_names)
                .map(|g| netward_model::import::split_list(&g)),
            recommended_actions: text(&self.recommended_actions),
            ..Default::default()
        })
    }
}
