//! `GET /console/live`: a server-sent-event stream for signed-in users. `machines` carries
//! every device's live fields whenever an agent acknowledges, connects or disconnects, or the
//! policy changes; `alert` each alert as it is raised or changes; `events` the newest event's
//! id when events were stored (a burst coalesced); `resync` asks the page to reload after
//! missed alerts. `console.js` applies them with `textContent` only.

use std::convert::Infallible;
use std::time::Duration;

use crate::detection::follow::AlertFeed;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use futures_util::Stream;
use netward_model::agent_wire::MachineEntity;
use serde::Serialize;

use super::error::PageError;
use super::machines::{applied_text, online_text, sync_text};
use super::user::User;
use crate::control::ControlPlane;
use crate::sessions::SessionUse;

/// How often a quiet stream re-checks its session, so that a sign-out or a revocation ends
/// it too.
const RECHECK: Duration = Duration::from_secs(15);
/// How long to gather a burst of acknowledgements into one `machines` update.
const COALESCE: Duration = Duration::from_millis(50);

/// A device's live fields, as `console.js` applies them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LiveMachine {
    id: String,
    online: String,
    sync: String,
    in_sync: bool,
    applied: String,
}

impl LiveMachine {
    fn of(m: &MachineEntity, now: i64) -> Self {
        LiveMachine {
            id: m.id.clone(),
            online: online_text(m, now),
            sync: sync_text(m),
            in_sync: m.in_sync,
            applied: applied_text(m),
        }
    }
}

/// `machines` (all devices' live fields) whenever one changes, and `alert` for each alert
/// raised or changed; for signed-in users only.
pub(super) async fn stream(
    State(cp): State<ControlPlane>,
    u: User,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let machines = cp.live_machines.subscribe();
    let versions = cp.versions.subscribe();
    let stored = cp.live_events.subscribe();
    // The session is checked below, for every message.
    let alerts = cp.follow_alerts(None);
    let closing = cp.closing();
    let session = u.session;
    let state = (
        cp,
        session,
        (machines, versions, stored),
        alerts,
        closing,
        true,
    );
    let events = futures_util::stream::unfold(
        state,
        |(
            cp,
            session,
            (mut machines, mut versions, mut stored),
            mut alerts,
            mut closing,
            first,
        )| async move {
            let mut stored_changed = false;
            let event = if first {
                None
            } else {
                tokio::select! {
                    // Now and then even when nothing happens, so that a sign-out or a
                    // revocation ends a quiet stream too.
                    () = tokio::time::sleep(RECHECK) => {
                        Some(Event::default().comment("still signed in"))
                    }
                    r = machines.changed() => { r.ok()?; None }
                    r = versions.changed() => { r.ok()?; None }
                    r = stored.changed() => { r.ok()?; stored_changed = true; None }
                    a = alerts.next() => match a? {
                        AlertFeed::Alert(alert) => Some(Event::default().event("alert").json_data(&alert).unwrap_or_default()),
                        AlertFeed::Missed(_) => Some(Event::default().event("resync").data("")),
                    },
                    _ = closing.wait_for(|c| *c) => return None,
                }
            };
            let event = if stored_changed {
                // Coalesce a burst of ingests into one message.
                tokio::time::sleep(COALESCE).await;
                let newest = *stored.borrow_and_update();
                Some(Event::default().event("events").data(newest.to_string()))
            } else {
                event
            };
            // The session must still be signed in, and its token unrevoked, for every message:
            // a revocation or a sign-out ends the stream.
            cp.session_user(session.clone(), SessionUse::Watch)
                .await
                .ok()??;
            let event = match event {
                Some(e) => e,
                None => {
                    // Coalesce a burst of acknowledgements into one update.
                    tokio::time::sleep(COALESCE).await;
                    machines.borrow_and_update();
                    versions.borrow_and_update();
                    let list = cp.machines().await.ok()?;
                    let live: Vec<LiveMachine> =
                        list.iter().map(|m| LiveMachine::of(m, cp.now())).collect();
                    Event::default()
                        .event("machines")
                        .json_data(&live)
                        .unwrap_or_default()
                }
            };
            Some((
                Ok(event),
                (
                    cp,
                    session,
                    (machines, versions, stored),
                    alerts,
                    closing,
                    false,
                ),
            ))
        },
    );
    Ok(Sse::new(events))
}
