//! The query parameters of every route, each a typed struct that lists its parameters once:
//! serde reads them, utoipa documents them (`params(EventParams)`), and [`Params`] refuses any
//! other parameter, naming it.
//!
//! Values arrive as text and are read by the getters below, whose errors name the parameter
//! and say what it takes, e.g. `$top`: "`abc` is not a whole number from 0 to 10000".

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use netward_model::detection::{AlertStatus, Outcome};
use netward_model::timestamp::parse_rfc3339_ms;
use netward_model::{Action, Family, IndicatorValue};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

use super::error::ApiError;
use crate::store::{AlertQuery, AuditQuery, EventQuery, IndicatorQuery};

/// The largest page, as in MDE.
pub const MAX_TOP: usize = 10_000;

/// A route's query parameters, as the typed struct `T`.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T> FromRequestParts<S> for Params<T>
where
    T: IntoParams + for<'de> Deserialize<'de>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| ApiError::invalid("query", e.to_string()))?;
        let names: Vec<String> = T::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|p| p.name)
            .collect();
        if let Some((unknown, _)) = pairs.iter().find(|(k, _)| !names.contains(k)) {
            let takes = if names.is_empty() {
                "no parameters".to_owned()
            } else {
                names.join(", ")
            };
            return Err(ApiError::invalid(
                unknown,
                format!("unknown query parameter; this route takes {takes}"),
            ));
        }
        // What is left to fail here is a parameter given twice.
        serde_urlencoded::from_str(raw)
            .map(Self)
            .map_err(|e| ApiError::invalid("query", e.to_string()))
    }
}

/// A text parameter; empty counts as absent.
fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A boolean parameter (`true`/`false`), `false` when absent.
fn flag(name: &str, v: &Option<String>) -> Result<bool, ApiError> {
    netward_model::submission::parse_flag(v.as_deref().unwrap_or(""))
        .map(|f| f.unwrap_or(false))
        .map_err(|m| ApiError::invalid(name, m))
}

/// A count between 0 and `max`, `default` when absent.
fn count(name: &str, v: &Option<String>, default: usize, max: usize) -> Result<usize, ApiError> {
    match text(v) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                ApiError::invalid(name, format!("`{v}` is not a whole number from 0 to {max}"))
            }),
    }
}

/// An id.
fn id(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    text(v)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid(name, format!("`{v}` is not an id")))
        })
        .transpose()
}

/// An RFC 3339 time, as Unix milliseconds.
fn time(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    text(v)
        .map(|v| {
            parse_rfc3339_ms(&v)
                .ok_or_else(|| ApiError::invalid(name, format!("`{v}` is not an RFC 3339 time")))
        })
        .transpose()
}

/// An address or CIDR range, as the family and bounds events are filtered by.
fn range(name: &str, v: &Option<String>) -> Result<Option<(bool, u128, u128)>, ApiError> {
    text(v)
        .map(|v| {
            IndicatorValue::parse(&v)
                .map(|iv| {
                    let (lo, hi) = iv.bounds();
                    (iv.family() == Family::V6, lo, hi)
                })
                .map_err(|e| ApiError::invalid(name, e.to_string()))
        })
        .transpose()
}

/// A triage status, read case-insensitively.
fn status(v: &Option<String>) -> Result<Option<AlertStatus>, ApiError> {
    text(v)
        .map(|raw| {
            AlertStatus::parse(&raw).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!("`{raw}` is not a status; use one of new, inProgress, resolved"),
                )
            })
        })
        .transpose()
}

/// `POST /api/indicators`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmitParams {
    /// Accept a block the guard rails would refuse (`true`/`false`).
    force: Option<String>,
}

impl SubmitParams {
    /// Whether the guard rails are overridden.
    pub fn force(&self) -> Result<bool, ApiError> {
        flag("force", &self.force)
    }
}

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
    /// Also list expired indicators (`true`/`false`).
    #[serde(rename = "includeExpired")]
    include_expired: Option<String>,
    /// Page size, at most 10000 (default 10000).
    #[serde(rename = "$top")]
    top: Option<String>,
    /// Items to skip.
    #[serde(rename = "$skip")]
    skip: Option<String>,
}

impl IndicatorParams {
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
            include_expired: flag("includeExpired", &self.include_expired)?,
            top: count("$top", &self.top, MAX_TOP, MAX_TOP)?,
            skip: count("$skip", &self.skip, 0, usize::MAX)?,
        })
    }
}

/// `GET /api/agent/policy`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyParams {
    /// The version the agent enforces.
    since: Option<String>,
}

impl PolicyParams {
    /// The agent's version, if it sent one.
    pub fn since(&self) -> Result<Option<u64>, ApiError> {
        text(&self.since)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError::invalid("since", format!("`{v}` is not a version")))
            })
            .transpose()
    }
}

/// `GET /api/audit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries on this indicator value, group, token name or `settings`.
    target: Option<String>,
    /// Page size, at most 10000 (default 100).
    #[serde(rename = "$top")]
    top: Option<String>,
    /// Entries to skip.
    #[serde(rename = "$skip")]
    skip: Option<String>,
}

impl AuditParams {
    /// The page of the audit log asked for.
    pub fn query(&self) -> Result<AuditQuery, ApiError> {
        Ok(AuditQuery {
            target: text(&self.target),
            top: count("$top", &self.top, 100, MAX_TOP)?,
            skip: count("$skip", &self.skip, 0, usize::MAX)?,
        })
    }
}

/// `GET /api/events` and `GET /api/machines/{id}/timeline`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// A remote address or CIDR range.
    #[serde(rename = "remoteIp")]
    remote_ip: Option<String>,
    /// Only this device.
    #[serde(rename = "deviceId")]
    device_id: Option<String>,
    /// Only events that matched this indicator.
    #[serde(rename = "indicatorId")]
    indicator_id: Option<String>,
    /// blocked, audited or allowed.
    outcome: Option<String>,
    /// MDE's name of the outcome, e.g. `ExploitGuardNetworkProtectionBlocked`.
    #[serde(rename = "actionType")]
    action_type: Option<String>,
    /// Only events whose last attempt is at or after this time (RFC 3339).
    from: Option<String>,
    /// Only events whose first attempt is before this time (RFC 3339).
    to: Option<String>,
    /// Page size, at most 10000 (default 100).
    #[serde(rename = "$top")]
    top: Option<String>,
    /// Events to skip.
    #[serde(rename = "$skip")]
    skip: Option<String>,
}

impl EventParams {
    /// The store query these parameters ask for.
    pub fn query(&self, default_top: usize) -> Result<EventQuery, ApiError> {
        let filters = EventFilters {
            remote_ip: &self.remote_ip,
            device_id: &self.device_id,
            indicator_id: &self.indicator_id,
            outcome: &self.outcome,
            action_type: &self.action_type,
        }
        .query()?;
        let from_ms = time("from", &self.from)?;
        let to_ms = time("to", &self.to)?;
        if let (Some(f), Some(t)) = (from_ms, to_ms)
            && f >= t
        {
            return Err(ApiError::invalid("to", "must be after `from`"));
        }
        Ok(EventQuery {
            from_ms,
            to_ms,
            top: count("$top", &self.top, default_top, MAX_TOP)?,
            skip: count("$skip", &self.skip, 0, usize::MAX)?,
            ..filters
        })
    }
}

/// `GET /api/events/stream`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventStreamParams {
    /// A remote address or CIDR range.
    #[serde(rename = "remoteIp")]
    remote_ip: Option<String>,
    /// Only this device.
    #[serde(rename = "deviceId")]
    device_id: Option<String>,
    /// Only events that matched this indicator.
    #[serde(rename = "indicatorId")]
    indicator_id: Option<String>,
    /// blocked, audited or allowed.
    outcome: Option<String>,
    /// MDE's name of the outcome.
    #[serde(rename = "actionType")]
    action_type: Option<String>,
    /// Resume after this event id (default: only new events).
    #[serde(rename = "afterId")]
    after_id: Option<String>,
}

impl EventStreamParams {
    /// The filter to follow with, and the event to start after.
    pub fn follow(&self) -> Result<(EventQuery, Option<i64>), ApiError> {
        let q = EventFilters {
            remote_ip: &self.remote_ip,
            device_id: &self.device_id,
            indicator_id: &self.indicator_id,
            outcome: &self.outcome,
            action_type: &self.action_type,
        }
        .query()?;
        Ok((q, id("afterId", &self.after_id)?))
    }
}

/// The filters events share between listing and following.
struct EventFilters<'a> {
    remote_ip: &'a Option<String>,
    device_id: &'a Option<String>,
    indicator_id: &'a Option<String>,
    outcome: &'a Option<String>,
    action_type: &'a Option<String>,
}

impl EventFilters<'_> {
    fn query(&self) -> Result<EventQuery, ApiError> {
        let mut outcome = text(self.outcome)
            .map(|v| {
                Outcome::parse(&v.to_ascii_lowercase()).ok_or_else(|| {
                    ApiError::invalid(
                        "outcome",
                        format!("`{v}` is not blocked, audited or allowed"),
                    )
                })
            })
            .transpose()?;
        if let Some(t) = text(self.action_type) {
            let o = Outcome::from_action_type(&t).ok_or_else(|| {
                ApiError::invalid(
                    "actionType",
                    format!("`{t}` is not an action type netward records"),
                )
            })?;
            if outcome.is_some_and(|x| x != o) {
                return Err(ApiError::invalid("actionType", "contradicts `outcome`"));
            }
            outcome = Some(o);
        }
        Ok(EventQuery {
            device: id("deviceId", self.device_id)?,
            indicator: id("indicatorId", self.indicator_id)?,
            remote: range("remoteIp", self.remote_ip)?,
            outcome,
            ..EventQuery::default()
        })
    }
}

/// `GET /api/hunting/contacts`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactParams {
    /// The address or CIDR range hunted (required).
    #[serde(rename = "remoteIp")]
    remote_ip: Option<String>,
    /// From this time (RFC 3339).
    from: Option<String>,
    /// Until this time (RFC 3339).
    to: Option<String>,
    /// Rows, at most 10000 (default 1000).
    #[serde(rename = "$top")]
    top: Option<String>,
}

impl ContactParams {
    /// The hunt asked for.
    pub fn query(&self) -> Result<EventQuery, ApiError> {
        let remote = range("remoteIp", &self.remote_ip)?.ok_or_else(|| {
            ApiError::invalid("remoteIp", "name the address or range to hunt for")
        })?;
        let from_ms = time("from", &self.from)?;
        let to_ms = time("to", &self.to)?;
        if let (Some(f), Some(t)) = (from_ms, to_ms)
            && f >= t
        {
            return Err(ApiError::invalid("to", "must be after `from`"));
        }
        Ok(EventQuery {
            remote: Some(remote),
            from_ms,
            to_ms,
            top: count("$top", &self.top, 1000, MAX_TOP)?,
            ..EventQuery::default()
        })
    }
}

/// `GET /api/alerts`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// new, inProgress or resolved.
    status: Option<String>,
    /// Only this device.
    #[serde(rename = "deviceId")]
    device_id: Option<String>,
    /// Only this indicator.
    #[serde(rename = "indicatorId")]
    indicator_id: Option<String>,
    /// Page size, at most 10000 (default 100).
    #[serde(rename = "$top")]
    top: Option<String>,
    /// Alerts to skip.
    #[serde(rename = "$skip")]
    skip: Option<String>,
}

impl AlertParams {
    /// The store query these parameters ask for.
    pub fn query(&self) -> Result<AlertQuery, ApiError> {
        Ok(AlertQuery {
            id: None,
            status: status(&self.status)?,
            device: id("deviceId", &self.device_id)?,
            indicator: id("indicatorId", &self.indicator_id)?,
            incident: None,
            top: count("$top", &self.top, 100, MAX_TOP)?,
            skip: count("$skip", &self.skip, 0, usize::MAX)?,
        })
    }
}

/// `GET /api/incidents`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentParams {
    /// new, inProgress or resolved.
    status: Option<String>,
    /// Page size, at most 10000 (default 100).
    #[serde(rename = "$top")]
    top: Option<String>,
    /// Incidents to skip.
    #[serde(rename = "$skip")]
    skip: Option<String>,
}

impl IncidentParams {
    /// The status filter and the page: (status, top, skip).
    pub fn query(&self) -> Result<(Option<AlertStatus>, usize, usize), ApiError> {
        Ok((
            status(&self.status)?,
            count("$top", &self.top, 100, MAX_TOP)?,
            count("$skip", &self.skip, 0, usize::MAX)?,
        ))
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
