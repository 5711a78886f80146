//! The control plane's core: typed commands on indicators, groups, settings, tokens and the
//! audit log. HTTP handlers (`api/`) parse and check the caller's role, then call one method
//! here; the methods validate, apply the rules of the model crate and call the store.
//!
//! Store calls block, so every method runs them on tokio's blocking pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use netward_model::{FieldError, GuardRails, GuardViolation};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::policy_log::{History, LogEntry, PolicyLog};
use crate::store::{Store, StoreError};

/// The control plane. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) rails: Arc<GuardRails>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Recent policy changes, for deltas. Held across a change and its version read, so that
    /// versions and history stay in order.
    pub(crate) log: Arc<Mutex<PolicyLog>>,
    /// The newest policy version, watched by every agent stream.
    pub(crate) versions: Arc<watch::Sender<u64>>,
    /// Open agent streams per device id.
    pub(crate) presence: Arc<Mutex<HashMap<i64, usize>>>,
    /// Where enrollment tokens send agents: every replica's URL and the CA pin
    /// ([`netward_model::enroll_token::EnrollTarget`]).
    pub(crate) public_url: Arc<String>,
    /// Set when the server stops, so that long-lived agent streams end and shutdown completes.
    pub(crate) closing: Arc<watch::Sender<bool>>,
    /// The id of the newest stored event, watched by live followers.
    pub(crate) live_events: Arc<watch::Sender<i64>>,
    /// Alerts as they are raised or change.
    pub(crate) live_alerts:
        Arc<tokio::sync::broadcast::Sender<netward_model::detection::AlertEntity>>,
    /// SIEM outputs.
    pub(crate) exporter: Arc<crate::detection::Exporter>,
    /// Days events are kept.
    pub(crate) retention_days: u32,
    /// Bumped whenever a device's state changes (acknowledgement, connect, disconnect), for
    /// the console's live view.
    pub(crate) live_machines: Arc<watch::Sender<u64>>,
    /// What `/metrics` reports.
    pub(crate) metrics: Arc<crate::metrics::ServerMetrics>,
    /// Feeds' HTTP clients, refresh locks and the refresh loop's bell.
    pub(crate) feeds: Arc<crate::feeds::runtime::FeedRuntime>,
    /// Whether this replica hears the others (see `cluster.rs`).
    pub(crate) listening: Arc<watch::Sender<bool>>,
    /// A device changed since the other replicas were last told.
    pub(crate) machines_dirty: Arc<std::sync::atomic::AtomicBool>,
    /// The background jobs this replica leads.
    pub(crate) leadership:
        Arc<Mutex<HashMap<crate::store::Job, Box<dyn crate::store::Leadership>>>>,
    /// What every pull of one policy version shares (see `policy_update.rs`).
    pub(crate) policy_context: Arc<Mutex<Option<Arc<crate::policy_update::PolicyContext>>>>,
    /// The revoked devices as of one policy version, read once for every agent stream it
    /// wakes (a revocation moves the version).
    pub(crate) revoked: Arc<Mutex<crate::agents::RevokedAt>>,
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
    /// Some of the things a batch addresses do not exist, so none was changed; the message
    /// names them.
    #[error("{0}")]
    NothingDeleted(String),
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task panicked or was cancelled.
    #[error("an internal task failed: {0}")]
    Task(String),
    /// A device credential is unknown or revoked.
    #[error("{0}")]
    Unauthorized(String),
}

/// The policy history as the database holds it; on a database that has none yet (a new one,
/// or one from before the history was kept), one that starts at the current version.
fn load_history(store: &dyn Store) -> Result<PolicyLog, ControlError> {
    let _policy = store.lock_policy()?;
    let rows = store.policy_history(0)?;
    let Some(&(base, _)) = rows.first() else {
        let version = store.policy_version()?;
        store.begin_policy_change()?;
        store.end_policy_change(version, None, crate::policy_log::CAPACITY)?;
        return Ok(PolicyLog::new(version));
    };
    let mut log = PolicyLog::new(base);
    log.apply(rows);
    Ok(log)
}

impl ControlPlane {
    /// A control plane over `store`, refusing blocks on `rails` unless forced.
    pub fn new(
        store: Arc<dyn Store>,
        rails: GuardRails,
        clock: Arc<dyn Clock>,
        public_url: String,
    ) -> Result<Self, ControlError> {
        let log = load_history(store.as_ref())?;
        let version = log.current();
        let newest_event = store.newest_event_id()?;
        let started = clock.now();
        Ok(Self {
            store,
            rails: Arc::new(rails),
            clock,
            log: Arc::new(Mutex::new(log)),
            versions: Arc::new(watch::Sender::new(version)),
            presence: Arc::default(),
            public_url: Arc::new(public_url),
            closing: Arc::new(watch::Sender::new(false)),
            live_events: Arc::new(watch::Sender::new(newest_event)),
            live_alerts: Arc::new(tokio::sync::broadcast::Sender::new(1024)),
            exporter: Arc::default(),
            retention_days: crate::detection::DEFAULT_RETENTION_DAYS,
            live_machines: Arc::new(watch::Sender::new(0)),
            metrics: Arc::new(crate::metrics::ServerMetrics::new(false, version, started)),
            feeds: Arc::default(),
            listening: Arc::new(watch::Sender::new(false)),
            machines_dirty: Arc::default(),
            leadership: Arc::default(),
            policy_context: Arc::default(),
            revoked: Arc::default(),
        })
    }

    /// Serves `/metrics` when `enabled` (counting goes on either way).
    pub fn with_metrics(mut self, enabled: bool) -> Self {
        let version = *self.versions.borrow();
        self.metrics = Arc::new(crate::metrics::ServerMetrics::new(
            enabled,
            version,
            self.now(),
        ));
        self
    }

    /// Sets up detection: retention and SIEM exports.
    pub fn with_detection(
        mut self,
        config: &crate::detection::DetectionConfig,
    ) -> Result<Self, crate::detection::ExportError> {
        self.exporter = Arc::new(crate::detection::Exporter::open(config)?);
        self.retention_days = config.retention_days;
        Ok(self)
    }

    /// Runs a store change that alters what devices enforce, then records its entries under
    /// the new policy version and wakes every agent stream. Call from a blocking task.
    ///
    /// An error from `work` means the change may have committed without its history, so agents
    /// get snapshots from then on; a refusal decided before anything is written should come
    /// back inside `T` with no entries instead.
    pub(crate) fn policy_change<T>(
        &self,
        work: impl FnOnce() -> Result<(T, Vec<LogEntry>), ControlError>,
    ) -> Result<T, ControlError> {
        self.policy_change_with(|| work().map(|(out, entries)| (out, History::Entries(entries))))
    }

    /// [`Self::policy_change`] for a change that may be too large to keep in the history (an
    /// import of a million rows): with [`History::TooLarge`] the new version is announced and
    /// every agent behind it gets a snapshot.
    pub(crate) fn policy_change_with<T>(
        &self,
        work: impl FnOnce() -> Result<(T, History), ControlError>,
    ) -> Result<T, ControlError> {
        // The in-process lock first, then the one across replicas: a thread waiting for
        // another replica's change holds up only this replica's requests.
        let mut log = self.lock_log()?;
        let _policy = self.store.lock_policy()?;
        // Other replicas' changes first, so this one is recorded after them.
        self.catch_up(&mut log)?;
        self.store.begin_policy_change()?;
        let outcome = work().and_then(|(out, entries)| {
            let version = self.store.policy_version()?;
            Ok((out, entries, version))
        });
        match outcome {
            Ok((out, history, version)) => {
                let entries = match &history {
                    History::Entries(entries) => Some(entries.as_slice()),
                    History::TooLarge => None,
                };
                self.store
                    .end_policy_change(version, entries, crate::policy_log::CAPACITY)?;
                // A request refused before it wrote anything changes no version: no agent
                // needs waking.
                let changed = match history {
                    History::Entries(entries) if entries.is_empty() && version == log.current() => {
                        false
                    }
                    History::Entries(entries) => {
                        log.record(version, entries);
                        true
                    }
                    History::TooLarge => {
                        log.reset(Some(version));
                        true
                    }
                };
                if changed {
                    // Announce under the lock, so that versions go out in order.
                    self.versions.send_replace(version);
                    self.metrics.published(version, self.now());
                }
                Ok(out)
            }
            Err(e) => {
                // The change may have committed without its history: send snapshots from now
                // on, rather than a delta that silently skips it. When the database cannot
                // take the reset either, the change's begin mark stays, and whoever takes the
                // policy lock next records the reset.
                let version = self.store.policy_version().ok();
                if let Some(v) = version
                    && let Err(error) =
                        self.store
                            .end_policy_change(v, None, crate::policy_log::CAPACITY)
                {
                    tracing::warn!(%error, "Cannot record the reset of the policy history.");
                }
                log.reset(version);
                if let Some(v) = version {
                    self.versions.send_replace(v);
                    self.metrics.published(v, self.now());
                }
                Err(e)
            }
        }
    }

    /// The in-process policy history.
    pub(crate) fn lock_log(&self) -> Result<std::sync::MutexGuard<'_, PolicyLog>, ControlError> {
        self.log
            .lock()
            .map_err(|_| ControlError::Task("the policy log is poisoned".into()))
    }

    /// Reads the changes other replicas recorded since `log`'s version into it; announces a
    /// newer version to this replica's agents.
    pub(crate) fn catch_up(&self, log: &mut PolicyLog) -> Result<(), ControlError> {
        let before = log.current();
        log.apply(self.store.policy_history(before)?);
        if log.current() > before {
            self.versions.send_replace(log.current());
            self.metrics.published(log.current(), self.now());
        }
        Ok(())
    }

    /// Ends every agent stream; called when the server stops.
    pub fn begin_shutdown(&self) {
        self.closing.send_replace(true);
    }

    /// A receiver that turns true when the server stops.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// The URL clients reach this server at (scheme and authority): the first of the URLs
    /// enrollment tokens carry, without the CA pin they add.
    pub fn base_url(&self) -> &str {
        self.public_url
            .split(['#', ','])
            .next()
            .unwrap_or_default()
            .trim_end_matches('/')
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
        let queued = std::time::Instant::now();
        tokio::task::spawn_blocking(move || {
            let out = work(&this);
            this.metrics.store_call(queued.elapsed());
            out
        })
        .await
        .map_err(|e| ControlError::Task(e.to_string()))?
    }
}
