//! The connection loop: hold the push stream to the server, pull each policy version it names,
//! apply, persist and acknowledge it; on any failure reconnect with backoff while the kernel
//! keeps enforcing what it holds. With several servers (replicas), each failure moves to the
//! next one ([`Servers::fail_over`]); the version held goes with the agent, so the next server
//! is asked for a delta from it, not a snapshot.
//!
//! [`Servers::fail_over`]: super::servers::Servers::fail_over

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;

use super::AgentError;
use super::client::StreamEvent;
use super::config::{MAX_BACKOFF, STREAM_TIMEOUT};
use super::journal;
use super::servers::{jittered, next_backoff, random_fraction};
use super::shared::{Shared, with_engine};
use crate::clock::Clock;
use crate::enforcer::Enforcer;
use netward_model::text::printable;

/// Pulls the update from the held version, applies it, persists it and acknowledges it.
///
/// An update the agent cannot use ([`AgentError::Unusable`]: a field it cannot read, such as an
/// unknown mode or a value that is not an address, or an answer too large) is refused whole:
/// the kernel keeps what it holds, and the problem goes to the device record with an
/// acknowledgement of the version held. It is logged when it first appears, not on every retry
/// (`logged` holds the last one logged).
async fn sync<E: Enforcer + 'static, C: Clock + Clone>(
    shared: &Shared<E, C>,
    logged: &mut Option<String>,
) -> Result<(), AgentError> {
    let (since, held) = with_engine(&shared.engine, |e| (e.state.version, e.indicators())).await?;
    let update = match shared
        .client
        .policy(&shared.identity.secret, since, held)
        .await
    {
        Ok(update) => update,
        Err(AgentError::Unusable(detail)) => {
            if logged.as_deref() != Some(detail.as_str()) {
                tracing::error!(detail = %printable(&detail), held = ?since, "Refusing a policy update this agent cannot use; still enforcing the policy it holds.");
                *logged = Some(detail.clone());
            }
            let error = format!(
                "policy update refused, still enforcing version {}: {detail}",
                since.map_or("none".into(), |v| v.to_string())
            );
            with_engine(&shared.engine, move |e| e.update_error = Some(error)).await?;
            if let Err(e) = shared.ack().await {
                tracing::warn!(error = %e, "Cannot report the refused update to the server.");
            }
            return Err(AgentError::Unusable(detail));
        }
        Err(other) => return Err(other),
    };
    *logged = None;
    let dir = shared.dir.clone();
    let clock = shared.clock.clone();
    let report = with_engine(&shared.engine, move |e| {
        e.update_error = None;
        let line = journal::journal_line(&update);
        let report = e.update(update, clock.now_secs());
        let persisted = journal::save(&dir, e, line.as_deref());
        report.map_err(AgentError::from).and(persisted)
    })
    .await?;
    shared.ack().await?;
    report
}

/// The first wait before reconnecting. It grows to [`MAX_BACKOFF`] until the stream has
/// delivered something usable: a server that accepts the connection and then breaks the
/// stream at once (a message past the agent's limits, say), or a pull that keeps failing, is
/// retried at most every 10 s, not four times a second.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Connects, follows the push stream and reconnects, until the task is dropped. Returns only
/// when the engine itself fails.
pub(crate) async fn connection_loop<E: Enforcer + 'static, C: Clock + Clone>(
    shared: Shared<E, C>,
) -> Result<(), AgentError> {
    let mut backoff = FIRST_BACKOFF;
    let mut logged_refusal: Option<String> = None;
    loop {
        let mut error: Option<String>;
        shared.refresh_server_addresses().await;
        match shared.client.stream(&shared.identity.secret).await {
            Ok(stream) => {
                tracing::info!(server = %shared.client.servers().current(), "Connected to the server.");
                shared.connected.store(true, Ordering::SeqCst);
                // Whatever was not acknowledged before (the server was away) is now.
                if let Err(e) = shared.ack().await {
                    tracing::warn!(error = %e, "Cannot acknowledge on connect.");
                }
                let mut stream = Box::pin(stream);
                loop {
                    match tokio::time::timeout(STREAM_TIMEOUT, stream.next()).await {
                        Ok(Some(Ok(StreamEvent::Policy(version)))) => {
                            let held = with_engine(&shared.engine, |e| e.state.version).await?;
                            error = None;
                            let result = if held == Some(version) {
                                Ok(())
                            } else {
                                sync(&shared, &mut logged_refusal).await
                            };
                            match result {
                                Ok(()) => backoff = FIRST_BACKOFF,
                                // Asking again gets the same answer: wait for the server to
                                // name another version (or for a reconnect).
                                Err(e @ AgentError::Unusable(_)) => {
                                    backoff = FIRST_BACKOFF;
                                    error = Some(e.to_string());
                                }
                                Err(e) => {
                                    // Reconnect: the server names its version again at once,
                                    // so the pull is retried instead of waiting for the next
                                    // change.
                                    tracing::error!(error = %e, version, "Cannot apply the policy; reconnecting.");
                                    error = Some(e.to_string());
                                    break;
                                }
                            }
                            shared.status(error.clone()).await;
                        }
                        Ok(Some(Ok(StreamEvent::KeepAlive))) => backoff = FIRST_BACKOFF,
                        Ok(Some(Err(e))) => {
                            error = Some(e.to_string());
                            break;
                        }
                        Ok(None) => {
                            error = Some("the server closed the stream".into());
                            break;
                        }
                        Err(_) => {
                            error = Some("no keep-alive from the server for 15 s".into());
                            break;
                        }
                    }
                }
            }
            Err(AgentError::Refused(message)) => {
                tracing::error!(%message, "The server refuses this device.");
                error = Some(format!("refused: {message}"));
                backoff = MAX_BACKOFF;
            }
            Err(e) => error = Some(e.to_string()),
        }
        shared.connected.store(false, Ordering::SeqCst);
        shared.status(error.clone()).await;
        let wait = jittered(backoff, random_fraction());
        let reason = error.as_deref().unwrap_or("");
        match shared.client.servers().fail_over() {
            Some(switch) => tracing::warn!(
                from = %switch.from,
                to = %switch.to,
                %reason,
                retry_in_ms = wait.as_millis(),
                "Server away; switching to the next one, still enforcing the held policy."
            ),
            None => tracing::warn!(
                error = reason,
                retry_in_ms = wait.as_millis(),
                "Disconnected; still enforcing the held policy."
            ),
        }
        tokio::time::sleep(wait).await;
        backoff = next_backoff(backoff);
    }
}
