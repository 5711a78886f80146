//! [`Shared`]: what the runtime's tasks (connection, ticker, event delivery) hold in common —
//! the engine behind a mutex, the server client, the identity and the state directory — and
//! the few steps more than one of them takes: write the status, acknowledge, refresh the
//! never-blocked server addresses.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use netward_model::detection::{EventAck, EventBatch};

use super::client::AgentClient;
use super::engine::Engine;
use super::server_address::server_addresses;
use super::state::Identity;
use super::status::write_status;
use super::{AgentError, facts};
use crate::enforcer::nft::NftEnforcer;
use crate::events::delivery::{EventSink, SendError};

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The engine, shared between the runtime's tasks.
pub(crate) type SharedEngine = Arc<Mutex<Engine<NftEnforcer>>>;

/// Runs `work` on the engine off the async runtime.
pub(crate) async fn with_engine<T: Send + 'static>(
    engine: &SharedEngine,
    work: impl FnOnce(&mut Engine<NftEnforcer>) -> T + Send + 'static,
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
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) engine: SharedEngine,
    pub(crate) client: AgentClient,
    pub(crate) identity: Identity,
    pub(crate) dir: PathBuf,
    pub(crate) connected: Arc<AtomicBool>,
}

impl Shared {
    /// Writes the status file, off the async runtime.
    pub(crate) async fn status(&self, connection_error: Option<String>) {
        let (dir, identity) = (self.dir.clone(), self.identity.clone());
        let connected = self.connected.load(Ordering::SeqCst);
        let _ = with_engine(&self.engine, move |e| {
            write_status(
                &dir,
                &identity,
                e,
                connected,
                connection_error.as_deref(),
                now(),
            )
        })
        .await;
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

    /// Refreshes the never-blocked server addresses, re-enforcing if they changed.
    pub(crate) async fn refresh_server_addresses(&self) {
        let addrs = server_addresses(&self.identity.server, &self.dir).await;
        let result = with_engine(&self.engine, move |e| {
            if e.set_server_addresses(&addrs) && e.state.version.is_some() {
                e.enforce(now()).map(|_| ())
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

impl EventSink for Shared {
    async fn send(&self, batch: &EventBatch) -> Result<EventAck, SendError> {
        self.client
            .events(&self.identity.secret, batch)
            .await
            .map_err(|error| match error {
                AgentError::Rejected { status, message } => SendError::Refused { status, message },
                other => SendError::Unavailable(other.to_string()),
            })
    }
}
