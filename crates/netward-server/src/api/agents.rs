//! `/api/agent/*`: the agent channel. Enrollment takes an enrollment token in its body; every
//! other route takes the device credential as a bearer token.
//!
//! Push: `GET /api/agent/stream` is a server-sent-event stream that names the newest policy
//! version at once and again on every change, with a keep-alive comment every 5 seconds, so
//! both ends notice a dead connection within seconds. The agent then pulls
//! `GET /api/agent/policy?since=<its version>` and acknowledges with `POST /api/agent/ack`.
//! Nothing polls.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use futures_util::Stream;
use netward_model::agent_wire::{AckRequest, EnrollRequest, EnrollResponse, PolicyUpdate};
use netward_model::wire::ErrorBody;

use super::error::ApiError;
use super::extract::JsonBody;
use super::params::{Params, PolicyParams};
use crate::control::ControlPlane;
use crate::store::DeviceRecord;

/// How often the stream proves it is alive.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The authenticated device, put in the request's extensions by [`require_device`].
#[derive(Clone, Debug)]
pub struct DevicePrincipal(pub DeviceRecord);

/// Authenticates `Authorization: Bearer nwd_…`; 401 when unknown or revoked.
pub async fn require_device(
    State(cp): State<ControlPlane>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <device credential>"))?;
    let device = cp.authenticate_device(secret).await?;
    req.extensions_mut().insert(DevicePrincipal(device));
    Ok(next.run(req).await)
}

/// Enroll a device with an enrollment token; the answer holds its credential.
#[utoipa::path(post, path = "/api/agent/enroll", tag = "agent", request_body = EnrollRequest,
    security(()),
    responses((status = 200, body = EnrollResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn enroll(
    State(cp): State<ControlPlane>,
    JsonBody(body): JsonBody<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    Ok(Json(cp.enroll(body).await?))
}

/// The policy update from the agent's version (`since`) to the current one: a delta when the
/// server still has the history, a full snapshot otherwise or without `since`.
#[utoipa::path(get, path = "/api/agent/policy", tag = "agent",
    params(PolicyParams),
    responses((status = 200, body = PolicyUpdate), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn policy(
    State(cp): State<ControlPlane>,
    Extension(DevicePrincipal(device)): Extension<DevicePrincipal>,
    Params(params): Params<PolicyParams>,
) -> Result<Json<PolicyUpdate>, ApiError> {
    let since = params.since()?;
    Ok(Json(cp.policy_update(device.id, since).await?))
}

/// Report the version now enforced in the kernel.
#[utoipa::path(post, path = "/api/agent/ack", tag = "agent", request_body = AckRequest,
    responses((status = 204, description = "Recorded"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn ack(
    State(cp): State<ControlPlane>,
    Extension(DevicePrincipal(device)): Extension<DevicePrincipal>,
    JsonBody(body): JsonBody<AckRequest>,
) -> Result<StatusCode, ApiError> {
    cp.ack(device.id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deliver spooled events. Each is stored once per (device, `seq`), so a batch can be resent
/// safely; the answer names the highest `seq` stored.
#[utoipa::path(post, path = "/api/agent/events", tag = "agent", request_body = netward_model::detection::EventBatch,
    responses((status = 200, body = netward_model::detection::EventAck), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn events(
    State(cp): State<ControlPlane>,
    Extension(DevicePrincipal(device)): Extension<DevicePrincipal>,
    JsonBody(body): JsonBody<netward_model::detection::EventBatch>,
) -> Result<Json<netward_model::detection::EventAck>, ApiError> {
    Ok(Json(cp.ingest_events(device.id, body).await?))
}

/// Keeps a device marked online while its stream is open.
struct Presence {
    cp: ControlPlane,
    id: i64,
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.cp.set_connected(self.id, false);
        tracing::info!(device = self.id, "Agent stream closed.");
    }
}

/// Server-sent events: `policy` with the newest version, now and on every change.
#[utoipa::path(get, path = "/api/agent/stream", tag = "agent",
    responses((status = 200, description = "text/event-stream of `policy` events carrying the version"), (status = 401, body = ErrorBody)))]
pub async fn stream(
    State(cp): State<ControlPlane>,
    Extension(DevicePrincipal(device)): Extension<DevicePrincipal>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    cp.set_connected(device.id, true);
    tracing::info!(device = device.id, "Agent stream opened.");
    let presence = Presence {
        cp: cp.clone(),
        id: device.id,
    };
    let rx = cp.subscribe();
    let closing = cp.closing();
    // A replica that stops hearing the others (its database is gone) ends its streams, so
    // that agents move to a replica that still serves.
    let mut deaf = cp.hearing();
    deaf.borrow_and_update();
    let state = (rx, closing, deaf, presence, true);
    let events = futures_util::stream::unfold(
        state,
        |(mut rx, mut closing, mut deaf, presence, first)| async move {
            if !first {
                tokio::select! {
                    changed = rx.changed() => changed.ok()?,
                    _ = closing.wait_for(|c| *c) => return None,
                    () = stopped_hearing(&mut deaf) => {
                        tracing::info!(device = presence.id, "Ending an agent stream: this replica lost its database.");
                        return None;
                    }
                }
            }
            if *closing.borrow() {
                return None;
            }
            // A revocation bumps the version too: check the credential on every wake.
            if !presence
                .cp
                .device_is_live(presence.id)
                .await
                .unwrap_or(false)
            {
                return None;
            }
            let version = *rx.borrow_and_update();
            let event = Event::default()
                .event("policy")
                .id(version.to_string())
                .data(version.to_string());
            Some((Ok(event), (rx, closing, deaf, presence, false)))
        },
    );
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// Resolves when the replica goes from hearing the others to not hearing them.
async fn stopped_hearing(hearing: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if hearing.changed().await.is_err() {
            return std::future::pending().await;
        }
        if !*hearing.borrow_and_update() {
            return;
        }
    }
}
