//! The control plane's core: typed commands on indicators, groups, settings, tokens and the
//! audit log. HTTP handlers (`api/`) parse and check the caller's role, then call one method
//! here; the methods validate, apply the rules of the model crate and call the store.
//!
//! Store calls block, so every method runs them on tokio's blocking pool.

use std::sync::Arc;

use netward_model::{FieldError, GuardRails, GuardViolation};

use crate::clock::Clock;
use crate::store::{Store, StoreError};

/// The control plane. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) rails: Arc<GuardRails>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A field of the request is wrong.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// A block the guard rails refuse without `force`.
    #[error(transparent)]
    Guarded(#[from] GuardViolation),
    /// The thing addressed does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task panicked or was cancelled.
    #[error("an internal task failed: {0}")]
    Task(String),
}

impl ControlPlane {
    /// A control plane over `store`, refusing blocks on `rails` unless forced.
    pub fn new(store: Arc<dyn Store>, rails: GuardRails, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            rails: Arc::new(rails),
            clock,
        }
    }

    /// The current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Runs `work` with the store on the blocking pool.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, ControlError>
    where
        T: Send + 'static,
        F: FnOnce(&ControlPlane) -> Result<T, ControlError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || work(&this))
            .await
            .map_err(|e| ControlError::Task(e.to_string()))?
    }
}
