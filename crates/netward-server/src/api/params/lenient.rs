//! [`LenientParams`]: the query parameters of the MDE-shaped indicator routes, where MDE ignores
//! a parameter it does not know (`mde-client` sends `pageSize`). Such a parameter is dropped
//! and logged once per name for the life of the process, not per request; every other route
//! keeps refusing unknown parameters through [`Params`](super::Params).
//!
//! An unknown OData system option (a name starting with `$`, such as `$expand`) is still
//! refused: it changes what the answer means, and ignoring it would be a silent mismatch.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::error::ApiError;

/// Distinct ignored names remembered for the log-once rule; past this, new names are still
/// ignored but no longer logged, so that a stream of made-up names cannot grow memory.
const REMEMBERED_NAMES: usize = 256;
/// Longest name written to the log.
const LOGGED_NAME_CHARS: usize = 64;

/// A route's query parameters, as the typed struct `T`; unknown parameters are ignored, and
/// their names kept (the second field) for a handler that must not ignore them after all.
#[derive(Debug)]
pub struct LenientParams<T>(pub T, pub Vec<String>);

impl<S: Send + Sync, T> FromRequestParts<S> for LenientParams<T>
where
    T: IntoParams + for<'de> Deserialize<'de>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (_, pairs, names) = super::query_of::<T>(parts)?;
        let (known, unknown): (Vec<_>, Vec<_>) =
            pairs.into_iter().partition(|(k, _)| names.contains(k));
        for (name, _) in &unknown {
            if name.starts_with('$') {
                return Err(ApiError::invalid(
                    name,
                    format!(
                        "this OData option is not supported here; this route takes {}",
                        names.join(", ")
                    ),
                ));
            }
            log_once(parts.uri.path(), name);
        }
        let kept = serde_urlencoded::to_string(&known)
            .map_err(|e| ApiError::invalid("query", e.to_string()))?;
        let ignored = unknown.into_iter().map(|(name, _)| name).collect();
        // What is left to fail here is a parameter given twice.
        serde_urlencoded::from_str(&kept)
            .map(|params| Self(params, ignored))
            .map_err(|e| ApiError::invalid("query", e.to_string()))
    }
}

/// Logs an ignored parameter the first time its name is seen.
fn log_once(path: &str, name: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Ok(mut seen) = SEEN.get_or_init(Mutex::default).lock() else {
        return;
    };
    if seen.len() >= REMEMBERED_NAMES || seen.contains(name) {
        return;
    }
    seen.insert(name.to_owned());
    let shown: String = name.chars().take(LOGGED_NAME_CHARS).collect();
    tracing::info!(
        parameter = %shown,
        path,
        "Ignored a query parameter the route does not take, as MDE does; logged once per name."
    );
}
