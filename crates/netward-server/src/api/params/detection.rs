//! The query parameters of events, hunting, alerts and incidents.

use netward_model::detection::{AlertStatus, Outcome};
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::error::ApiError;
use super::{MAX_TOP, count, id, range, status, text, time};
use crate::store::{AlertQuery, EventQuery};

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
            order: None,
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
