//! What the feed core keeps in memory: one HTTP client per feed (rebuilt when its CA
//! certificate changes), one lock per feed so that two refreshes of a feed never overlap, and
//! the bell that wakes the refresh loop when feeds change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::client::{self, ClientError};
use super::config::FeedConfig;

/// The feed core's memory. Cheap to share.
#[derive(Debug, Default)]
pub struct FeedRuntime {
    clients: Mutex<HashMap<String, (Option<String>, reqwest::Client)>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    bell: Notify,
}

impl FeedRuntime {
    /// The client for `config`, built on first use or when its CA certificate changed.
    pub fn client(&self, config: &FeedConfig) -> Result<reqwest::Client, ClientError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((ca, client)) = clients.get(&config.name)
            && *ca == config.ca_cert
        {
            return Ok(client.clone());
        }
        let client = client::build(config.ca_cert.as_deref())?;
        clients.insert(
            config.name.clone(),
            (config.ca_cert.clone(), client.clone()),
        );
        Ok(client)
    }

    /// Drops a feed's client (changed or deleted).
    pub fn forget_client(&self, name: &str) {
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// The lock a refresh of `name` holds.
    pub fn lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Wakes the refresh loop (a feed was created or changed).
    pub fn wake(&self) {
        self.bell.notify_one();
    }

    /// Waits for [`Self::wake`].
    pub async fn woken(&self) {
        self.bell.notified().await;
    }
}
