//! The query parameters of the agent channel.

use serde::Deserialize;
use utoipa::IntoParams;

use super::super::error::ApiError;
use super::text;

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
