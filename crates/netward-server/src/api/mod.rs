//! The REST API: routing, authentication, the OpenAPI document. Handlers translate HTTP into
//! one typed call on [`ControlPlane`] and back; they never touch the store.
//!
//! Each resource has the same file name here and in the core (`api/indicators.rs` ↔
//! `indicators.rs`).

pub mod agents;
pub mod audit_log;
pub mod auth;
pub mod detection;
pub mod enroll_tokens;
pub mod error;
pub mod extract;
pub mod feeds;
pub mod groups;
pub mod indicators;
pub mod machines;
pub mod metrics;
pub mod params;
pub mod settings;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;

use axum::Extension;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router, middleware};
use tower_http::normalize_path::NormalizePath;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::control::ControlPlane;
use error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "netward",
        description = "Block and detect connections to malicious IP addresses. The indicator routes follow Microsoft Defender for Endpoint's Indicators API."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API")))]
async fn openapi_json(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(doc.as_ref().clone())
}

/// The largest body a route that needs no credential takes (enrollment, the console's sign-in):
/// enough for a device's facts or a token, too little to make the server hold much for a
/// stranger. Larger bodies get 413.
pub const UNAUTHENTICATED_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP application: `/api/*` and `/metrics` behind bearer auth, `/healthz` and
/// `/readyz` open. Every path is
/// taken with or without a trailing slash (`GET /api/indicators/`, as `misp2defender` sends
/// it): the path is trimmed before routing, so routes and the OpenAPI document name each path
/// once.
pub fn router(cp: ControlPlane, max_body_bytes: usize, secure_cookies: bool) -> Router {
    // A layer added with `Router::layer` runs after routing; trimming has to happen before,
    // so the routed application sits behind a router that only trims and hands over.
    Router::new()
        .fallback_service(NormalizePath::trim_trailing_slash(routes(
            cp,
            max_body_bytes,
            secure_cookies,
        )))
        .layer(middleware::from_fn_with_state(
            Arc::new(throttle::AuthThrottle::default()),
            throttle::limit_failed_auth,
        ))
}

fn routes(cp: ControlPlane, max_body_bytes: usize, secure_cookies: bool) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(indicators::list, indicators::submit))
        .routes(routes!(indicators::show, indicators::delete))
        .routes(routes!(indicators::import))
        .routes(routes!(indicators::batch_delete))
        .routes(routes!(indicators::delete_by_filter))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::show, groups::update, groups::delete))
        .routes(routes!(groups::policy))
        .routes(routes!(settings::show, settings::update))
        .routes(routes!(feeds::list, feeds::create))
        .routes(routes!(feeds::show, feeds::update, feeds::delete))
        .routes(routes!(feeds::sync))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(audit_log::list))
        .routes(routes!(machines::list))
        .routes(routes!(machines::show, machines::update))
        .routes(routes!(machines::revoke))
        .routes(routes!(enroll_tokens::create, enroll_tokens::list))
        .routes(routes!(enroll_tokens::revoke))
        .routes(routes!(detection::list_events))
        .routes(routes!(detection::stream_events))
        .routes(routes!(detection::timeline))
        .routes(routes!(detection::contacts))
        .routes(routes!(detection::list_alerts))
        .routes(routes!(detection::stream_alerts))
        .routes(routes!(detection::show_alert, detection::update_alert))
        .routes(routes!(detection::comment_alert))
        .routes(routes!(detection::list_incidents))
        .routes(routes!(
            detection::show_incident,
            detection::update_incident
        ))
        .routes(routes!(openapi_json))
        .split_for_parts();
    let (device_api, device_doc) = OpenApiRouter::new()
        .routes(routes!(agents::policy))
        .routes(routes!(agents::ack))
        .routes(routes!(agents::stream))
        .routes(routes!(agents::events))
        .split_for_parts();
    let (enroll_api, enroll_doc) = OpenApiRouter::new()
        .routes(routes!(agents::enroll))
        .split_for_parts();
    // Anyone who can reach the port may call it: a body is small, whatever `--max-body-bytes`.
    let enroll_api = enroll_api.layer(DefaultBodyLimit::max(UNAUTHENTICATED_BODY_BYTES));
    let mut doc = doc;
    doc.merge(device_doc);
    doc.merge(enroll_doc);
    let device_api = device_api.route_layer(middleware::from_fn_with_state(
        cp.clone(),
        agents::require_device,
    ));
    let api = api
        .layer(Extension(Arc::new(doc)))
        .fallback(|| async { ApiError::not_found("no such API route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .route_layer(middleware::from_fn_with_state(
            cp.clone(),
            auth::require_token,
        ));
    let metrics_api = Router::new()
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(
            cp.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(metrics::readyz))
        .merge(metrics_api)
        .merge(enroll_api)
        .merge(device_api)
        .merge(api)
        .merge(crate::console::router(secure_cookies))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn_with_state(
            cp.clone(),
            metrics::count_requests,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(cp)
}
