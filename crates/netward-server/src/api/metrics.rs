//! `/metrics` (Prometheus text, when `--metrics` is on, to any API token), `/readyz` (the store
//! answers) and the middleware that counts requests by route template. The counting and the
//! exposition live in `crate::metrics`.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::control::ControlPlane;

/// The content type of the Prometheus text format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus metrics; 404 unless the server runs with `--metrics`.
pub async fn metrics(State(cp): State<ControlPlane>) -> Result<Response, ApiError> {
    match cp.metrics_text().await? {
        Some(text) => Ok(([(header::CONTENT_TYPE, EXPOSITION)], text).into_response()),
        None => Err(ApiError::not_found(
            "metrics are off: start the server with --metrics",
        )),
    }
}

/// 200 when the store answers a trivial query and, on PostgreSQL, this replica hears the
/// others; else 503, saying which.
pub async fn readyz(State(cp): State<ControlPlane>) -> Response {
    match cp.ready().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "Not ready.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {error}"),
            )
                .into_response()
        }
    }
}

/// Counts each answered request under its route template (never the raw path, whose ids
/// would make a series per indicator), or `unmatched`.
pub async fn count_requests(State(cp): State<ControlPlane>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    cp.count_request(&route, &method, response.status().as_u16());
    response
}
