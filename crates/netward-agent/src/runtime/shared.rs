//! [`Shared`]: what the runtime's tasks (connection, ticker, event delivery) hold in common —
//! the engine behind a mutex, the server client, the identity and the state directory — and
//! the few steps more than one of them takes: write the status, acknowledge, refresh the
//! never-blocked server addresses.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use netward_model::detection::{EventAck, EventBatch};

use super::client::AgentClient;
use super::engine::Engine;
use super::notify::ServiceNotifier;
use super::server_address::server_addresses;
use super::state::Identity;
use super::status::write_status;
use super::{AgentError, facts};
use crate::clock::Clock;
use crate::enforcer::Enforcer;
use crate::events::OwnTraffic;
use crate::events::delivery::{EventSink, SendError};

/// The engine, shared between the runtime's tasks.
pub(crate) type SharedEngine<E> = Arc<Mutex<Engine<E>>>;

/// Runs `work` on the engine off the async runtime.
pub(crate) async fn with_engine<E: Enforcer + 'static, T: Send + 'static>(
    engine: &SharedEngine<E>,
    work: impl FnOnce(&mut Engine<E>) -> T + Send + 'static,
) -> Result<T, AgentError> {
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = engine
            .lock()
            .map_err(|_| AgentError::Config("the engine is poisoned".into()))?;
        Ok(work(&mut guard))
    })
    .await
    .map_err(|e| AgentError::Config(format!("engine task failed: {e}")))?
}

/// What the runtime's tasks share.
pub(crate) struct Shared<E: Enforcer, C> {
    pub(crate) engine: SharedEngine<E>,
    pub(crate) clock: C,
    pub(crate) client: AgentClient,
    pub(crate) identity: Identity,
    pub(crate) dir: PathBuf,
    pub(crate) connected: Arc<AtomicBool>,
    /// The server's endpoints, whose hits the sensor does not report.
    pub(crate) own_traffic: OwnTraffic,
    /// Readiness and status for systemd (`Type=notify`).
    pub(crate) notifier: ServiceNotifier,
}

// Not derived: a derive would ask `E: Clone`, and only the handle to the engine is cloned.
impl<E: Enforcer, C: Clone> Clone for Shared<E, C> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            clock: self.clock.clone(),
            client: self.client.clone(),
            identity: self.identity.clone(),
            dir: self.dir.clone(),
            connected: self.connected.clone(),
            own_traffic: self.own_traffic.clone(),
            notifier: self.notifier.clone(),
        }
    }
}

impl<E: Enforcer + 'static, C: Clock + Clone> Shared<E, C> {
    /// Writes the status file, off the async runtime, and tells systemd what is enforced: the
    /// first time a policy is in the kernel, that the agent is ready.
    pub(crate) async fn status(&self, connection_error: Option<String>) {
        let (dir, identity) = (self.dir.clone(), self.identity.clone());
        let servers = self.client.servers().clone();
        let connected = self.connected.load(Ordering::SeqCst);
        let clock = self.clock.clone();
        let enforced = with_engine(&self.engine, move |e| {
            write_status(
                &dir,
                &identity,
                &servers,
                e,
                connected,
                connection_error.as_deref(),
                clock.now_secs(),
            );
            e.applied_at.and(e.state.version).map(|v| (v, e.entries))
        })
        .await;
        let server = if connected {
            "connected"
        } else {
            "server away"
        };
        match enforced {
            Ok(Some((version, entries))) => self.notifier.enforcing(&format!(
                "enforcing policy v{version} ({entries} kernel entries), {server}"
            )),
            _ => self
                .notifier
                .status(&format!("no policy in the kernel yet, {server}")),
        }
    }

    /// Sends the acknowledgement of what the kernel holds; clears a pending tamper report only
    /// once the server has it.
    pub(crate) async fn ack(&self) -> Result<(), AgentError> {
        let Some(ack) = with_engine(&self.engine, |e| e.ack(facts::collect())).await? else {
            return Ok(());
        };
        self.client.ack(&self.identity.secret, &ack).await?;
        with_engine(&self.engine, move |e| e.ack_delivered(&ack)).await
    }

    /// Refreshes the never-blocked servers' addresses, re-enforcing if they changed.
    pub(crate) async fn refresh_server_addresses(&self) {
        let addrs = server_addresses(self.client.servers().all(), &self.dir).await;
        self.own_traffic.set_addresses(&addrs);
        let clock = self.clock.clone();
        let result = with_engine(&self.engine, move |e| {
            if e.set_exemptions(&addrs) && e.state.version.is_some() {
                e.enforce(clock.now_secs()).map(|_| ())
            } else {
                Ok(())
            }
        })
        .await;
        if let Ok(Err(error)) = result {
            tracing::error!(%error, "Cannot re-apply the policy with the server's new addresses.");
        }
    }
}

impl<E: Enforcer + 'static, C: Clock + Clone> EventSink for Shared<E, C> {
    async fn send(&self, batch: &EventBatch) -> Result<EventAck, SendError> {
        self.client
            .events(&self.identity.secret, batch)
            .await
            .map_err(|error| match error {
                AgentError::Rejected { status, message } => SendError::Refused { status, message },
                other => SendError::Unavailable(other.to_string()),
            })
    }

    async fn report_problem(&self, problem: String) {
        if with_engine(&self.engine, move |e| e.notices.push(problem))
            .await
            .is_err()
        {
            return;
        }
        if let Err(error) = self.ack().await {
            tracing::warn!(%error, "Cannot report a problem to the server now; it goes with the next acknowledgement.");
        }
    }
}
