//! The query parameters of every route, each a typed struct that lists its parameters once:
//! serde reads them, utoipa documents them (`params(EventParams)`), and [`Params`] refuses any
//! other parameter, naming it. The MDE-shaped indicator routes use [`LenientParams`] instead,
//! which ignores (and logs once) a parameter it does not know, as MDE does.
//!
//! Values arrive as text and are read by the getters below, whose errors name the parameter
//! and say what it takes, e.g. `$top`: "`abc` is not a whole number from 0 to 10000".
//! Each resource's structs live in the file named after its `api/` sibling.

mod agents;
mod audit_log;
mod detection;
mod indicators;
mod lenient;

pub use agents::PolicyParams;
pub use audit_log::AuditParams;
pub use detection::{AlertParams, ContactParams, EventParams, EventStreamParams, IncidentParams};
pub use indicators::{BatchDeleteParams, DeleteByFilterParams, ImportParams, IndicatorParams};
pub use lenient::LenientParams;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use netward_model::detection::AlertStatus;
use netward_model::timestamp::parse_rfc3339_ms;
use netward_model::{Family, IndicatorValue};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

use super::error::ApiError;

/// `force` alone: `POST /api/indicators` (accept a block the guard rails would refuse) and
/// `DELETE /api/tokens/{id}` (revoke your own token or the last admin token).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForceParams {
    /// Override the refusal (`true`/`false`).
    force: Option<String>,
}

impl ForceParams {
    /// Whether the refusal is overridden.
    pub fn force(&self) -> Result<bool, ApiError> {
        flag("force", &self.force)
    }
}

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
        let (raw, pairs, names) = query_of::<T>(parts)?;
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

/// A request's raw query string, its (name, value) pairs, and the parameter names a route
/// takes.
type Query<'a> = (&'a str, Vec<(String, String)>, Vec<String>);

/// The [`Query`] of a request for `T`, whose names come from its `IntoParams`, so that they
/// are written once, on the struct.
fn query_of<T: IntoParams>(parts: &Parts) -> Result<Query<'_>, ApiError> {
    let raw = parts.uri.query().unwrap_or("");
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| ApiError::invalid("query", e.to_string()))?;
    let names = T::into_params(|| Some(ParameterIn::Query))
        .into_iter()
        .map(|p| p.name)
        .collect();
    Ok((raw, pairs, names))
}

/// A text parameter; empty counts as absent.
pub(super) fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A boolean parameter (`true`/`false`), `false` when absent.
pub(super) fn flag(name: &str, v: &Option<String>) -> Result<bool, ApiError> {
    netward_model::submission::parse_flag(v.as_deref().unwrap_or(""))
        .map(|f| f.unwrap_or(false))
        .map_err(|m| ApiError::invalid(name, m))
}

/// A count between 0 and `max`, `default` when absent.
pub(super) fn count(
    name: &str,
    v: &Option<String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
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
pub(super) fn id(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    text(v)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid(name, format!("`{v}` is not an id")))
        })
        .transpose()
}

/// An RFC 3339 time, as Unix milliseconds.
pub(super) fn time(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    text(v)
        .map(|v| {
            parse_rfc3339_ms(&v)
                .ok_or_else(|| ApiError::invalid(name, format!("`{v}` is not an RFC 3339 time")))
        })
        .transpose()
}

/// An address or CIDR range, as the family and bounds events are filtered by.
pub(super) fn range(
    name: &str,
    v: &Option<String>,
) -> Result<Option<(bool, u128, u128)>, ApiError> {
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
pub(super) fn status(v: &Option<String>) -> Result<Option<AlertStatus>, ApiError> {
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
