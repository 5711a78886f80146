//! Keeping replicas in step (PostgreSQL): each replica follows the others' notices on a thread
//! of its own and shows them to its own clients (agents' policy streams, live event and alert
//! followers, the console), and background jobs run on whichever replica leads them.
//!
//! With SQLite there are no other replicas: the follower ends at once, ready, and this
//! replica leads every job.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::control::{ControlError, ControlPlane};
use crate::store::{AlertQuery, Job, Notice};

/// How long the follower waits for a notice before it looks at the server's state.
const TICK: Duration = Duration::from_millis(250);
/// The longest wait between two attempts to listen again.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

impl ControlPlane {
    /// Starts following the other replicas, on a thread of its own, until the server stops.
    pub fn follow_replicas(&self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let cp = self.clone();
        std::thread::Builder::new()
            .name("netward-replicas".into())
            .spawn(move || cp.follow_loop())
    }

    /// Whether this replica hears the others (always, with SQLite): `/readyz` needs it.
    pub fn hears_replicas(&self) -> bool {
        *self.listening.borrow()
    }

    fn follow_loop(&self) {
        let mut backoff = Duration::from_millis(250);
        let mut failing = false;
        loop {
            if *self.closing.borrow() {
                return;
            }
            match self.store.listen() {
                Ok(None) => {
                    self.listening.send_replace(true);
                    return;
                }
                Ok(Some(mut listener)) => {
                    // Notices sent while nobody listened are gone: read the state instead.
                    if let Err(error) = self.resync() {
                        tracing::warn!(%error, "Cannot re-read the state other replicas changed.");
                    }
                    if failing {
                        tracing::info!("Listening to the other replicas again.");
                    }
                    self.listening.send_replace(true);
                    backoff = Duration::from_millis(250);
                    loop {
                        if *self.closing.borrow() {
                            return;
                        }
                        self.flush_machines();
                        match listener.next(TICK) {
                            Ok(Some(notice)) => self.on_notice(notice),
                            Ok(None) => {}
                            Err(error) => {
                                tracing::warn!(%error, "Lost the connection that hears the other replicas; this replica is not ready until it is back.");
                                break;
                            }
                        }
                    }
                    self.listening.send_replace(false);
                    failing = true;
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "Cannot listen to the other replicas; retrying.");
                    }
                    failing = true;
                    self.listening.send_replace(false);
                }
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Re-reads what other replicas may have changed while this one did not listen.
    fn resync(&self) -> Result<(), ControlError> {
        let mut log = self.lock_log()?;
        self.catch_up(&mut log)?;
        drop(log);
        let newest = self.store.newest_event_id()?;
        self.note_event(newest);
        self.live_machines.send_modify(|n| *n += 1);
        Ok(())
    }

    fn on_notice(&self, notice: Notice) {
        let outcome = match notice {
            Notice::Policy(_) => self.lock_log().and_then(|mut log| self.catch_up(&mut log)),
            Notice::Events(id) => {
                self.note_event(id);
                Ok(())
            }
            Notice::Alerts(ids) => self.relay_alerts(&ids),
            Notice::Machines => {
                self.live_machines.send_modify(|n| *n += 1);
                Ok(())
            }
            Notice::Feeds => {
                self.feeds.wake();
                Ok(())
            }
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "Cannot follow a change made on another replica.");
        }
    }

    /// Moves the newest event id forward (never back: replicas' notices cross).
    pub(crate) fn note_event(&self, id: i64) {
        self.live_events.send_if_modified(|newest| {
            let newer = id > *newest;
            if newer {
                *newest = id;
            }
            newer
        });
    }

    /// Shows this replica's followers alerts another replica raised or changed. The export
    /// (NDJSON, syslog) stays with the replica that made the change, so it happens once.
    fn relay_alerts(&self, ids: &[i64]) -> Result<(), ControlError> {
        for &id in ids {
            let query = AlertQuery {
                id: Some(id),
                top: 1,
                ..AlertQuery::default()
            };
            for alert in self.store.alerts(&query)? {
                let _ = self
                    .live_alerts
                    .send(crate::detection::entities::alert_entity(alert, None));
            }
        }
        Ok(())
    }

    /// Tells other replicas; a failure is logged, never the caller's failure (the change
    /// itself is stored).
    pub(crate) fn announce(&self, notice: &Notice) {
        if let Err(error) = self.store.announce(notice) {
            tracing::warn!(%error, ?notice, "Cannot tell the other replicas of a change.");
        }
    }

    /// Marks a device change for the other replicas; sent at most once a tick, so a fleet
    /// acknowledging at once costs one notice, not one per device.
    pub(crate) fn machines_changed(&self) {
        self.live_machines.send_modify(|n| *n += 1);
        self.machines_dirty.store(true, Ordering::Relaxed);
    }

    fn flush_machines(&self) {
        if self.machines_dirty.swap(false, Ordering::Relaxed) {
            self.announce(&Notice::Machines);
        }
    }

    /// Whether this replica runs `job` now: it keeps a leadership it holds while its
    /// connection lives, and takes one nobody holds. Errors count as "not now".
    pub(crate) async fn leads(&self, job: Job) -> bool {
        let outcome = self
            .blocking(move |cp| {
                let mut held = cp
                    .leadership
                    .lock()
                    .map_err(|_| ControlError::Task("the leadership table is poisoned".into()))?;
                if let Some(lead) = held.get_mut(&job) {
                    if lead.still_held() {
                        return Ok(true);
                    }
                    held.remove(&job);
                    tracing::warn!(?job, "Lost the lead of a background job.");
                }
                match cp.store.try_lead(job)? {
                    Some(lead) => {
                        tracing::info!(?job, "This replica now runs a background job.");
                        held.insert(job, lead);
                        Ok(true)
                    }
                    None => Ok(false),
                }
            })
            .await;
        outcome.unwrap_or_else(|error| {
            tracing::warn!(%error, ?job, "Cannot tell whether this replica leads a job.");
            false
        })
    }
}
