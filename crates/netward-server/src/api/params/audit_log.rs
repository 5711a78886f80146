//! The query parameters of `/api/audit`.

use serde::Deserialize;
use utoipa::IntoParams;

use super::super::error::ApiError;
use super::{MAX_TOP, count, text, time};
use crate::store::AuditQuery;

/// `GET /api/audit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries on this indicator value, group, token name or `settings`.
    target: Option<String>,
    /// Only entries at or after this RFC 3339 time.
    from: Option<String>,
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
            from: time("from", &self.from)?.map(|ms| ms.div_euclid(1000)),
            top: count("$top", &self.top, 100, MAX_TOP)?,
            skip: count("$skip", &self.skip, 0, usize::MAX)?,
        })
    }
}
