//! Event delivery: every [`EVENT_INTERVAL`] the sensor's counts go into the [`Spool`], and
//! the spool goes to the server in batches of up to [`EVENT_BATCH`] events until it is empty.
//!
//! - A batch the server refuses for its content ([`SendError::Refused`]: too large, or a value
//!   it names as wrong) is sent again in halves, down to single events; a single event it
//!   refuses is given up and its hits counted as dropped, so one bad event can never stop the
//!   device's reporting.
//! - Any other failure keeps the events spooled and backs off, up to [`MAX_BACKOFF`].
//!
//! Where batches go is an [`EventSink`]: the server in production, a fake in tests.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netward_model::detection::{AgentEvent, EventAck, EventBatch};

use super::aggregate::Aggregator;
use super::spool::{Spool, SpoolError};

/// How often hits are gathered into events and sent.
pub const EVENT_INTERVAL: Duration = Duration::from_secs(1);
/// Events per upload.
pub const EVENT_BATCH: usize = 500;
/// The longest wait between attempts to reach a server that is away.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why events could not be moved into, read from or removed from the spool.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A thread panicked while holding the lock.
    #[error("the {0} is poisoned")]
    Poisoned(&'static str),
    /// The spool failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The blocking task that works on the spool failed.
    #[error("the spool task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Why a batch did not reach the server.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused the content: sending it again as it is will not help.
    #[error("the server refused the request (HTTP {status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's reason.
        message: String,
    },
    /// The server cannot take it now (away, overloaded, a proxy in the way): try later.
    #[error("{0}")]
    Unavailable(String),
}

/// Where batches of events go.
pub trait EventSink: Send + Sync {
    /// Sends one batch; the answer says up to which sequence number the events are stored.
    fn send(&self, batch: &EventBatch) -> impl Future<Output = Result<EventAck, SendError>> + Send;
}

/// The path from the sensor's counts to the server.
#[derive(Clone, Debug)]
pub struct Reporter {
    /// The sensor's counts since the last drain.
    pub aggregator: Arc<Mutex<Aggregator>>,
    /// Hits the kernel could not log, not yet spooled.
    pub lost: Arc<AtomicU64>,
    /// The durable spool.
    pub spool: Arc<Mutex<Spool>>,
}

impl Reporter {
    /// Moves the counted hits, and the count of hits the kernel could not log, into the
    /// spool, durably. Blocks.
    pub fn spool_pending(&self) -> Result<(), DeliveryError> {
        let events = self
            .aggregator
            .lock()
            .map_err(|_| DeliveryError::Poisoned("aggregator"))?
            .drain();
        let lost = self.lost.swap(0, Ordering::Relaxed);
        let mut spool = self.spool()?;
        if lost > 0
            && let Err(e) = spool.add_lost(lost)
        {
            // Kept for the next try; the events below are spooled all the same.
            self.lost.fetch_add(lost, Ordering::Relaxed);
            tracing::error!(error = %e, "Cannot record lost hits in the spool.");
        }
        if events.is_empty() {
            return Ok(());
        }
        let kept = spool.push(&events)?;
        if kept < events.len() {
            tracing::warn!(
                dropped = events.len() - kept,
                "The event spool is full; dropping events and counting their hits."
            );
        }
        Ok(())
    }

    fn spool(&self) -> Result<std::sync::MutexGuard<'_, Spool>, DeliveryError> {
        self.spool
            .lock()
            .map_err(|_| DeliveryError::Poisoned("event spool"))
    }

    /// The oldest `limit` spooled events, with the drop and loss counters. Blocks.
    fn next_batch(&self, limit: usize) -> Result<EventBatch, DeliveryError> {
        let mut spool = self.spool()?;
        Ok(EventBatch {
            events: spool.peek(limit)?,
            dropped: spool.dropped()?,
            lost: spool.lost()?,
        })
    }

    /// Gives up on one event the server refuses, counting its hits as dropped. Blocks.
    fn discard(&self, event: &AgentEvent) -> Result<(), DeliveryError> {
        Ok(self.spool()?.discard(event.seq, event.count)?)
    }

    /// Removes what the server stored. Blocks.
    fn acknowledge(&self, ack: EventAck) -> Result<(), DeliveryError> {
        Ok(self.spool()?.acknowledge(ack.acked_seq)?)
    }

    /// Runs `work` on the spool off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Reporter) -> Result<T, DeliveryError> + Send + 'static,
    ) -> Result<T, DeliveryError> {
        let r = self.clone();
        tokio::task::spawn_blocking(move || work(&r)).await?
    }
}

/// What one round of sending ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Everything spooled reached the server (or the spool cannot be read now).
    Done,
    /// The server is away: try again after this long.
    BackOff(Duration),
}

/// The sending side of delivery: the batch size, the backoff and the loss count the server has.
#[derive(Debug)]
pub struct Delivery {
    reporter: Reporter,
    backoff: Duration,
    reported_lost: u64,
    limit: usize,
}

impl Delivery {
    /// Delivery of what `reporter` spools.
    pub fn new(reporter: Reporter) -> Self {
        Self {
            reporter,
            backoff: Duration::ZERO,
            reported_lost: 0,
            limit: EVENT_BATCH,
        }
    }

    /// Sends the spool to `sink` until it is empty or the server is away.
    pub async fn send_spooled(&mut self, sink: &impl EventSink) -> Round {
        loop {
            let limit = self.limit;
            let batch = match self.reporter.blocking(move |r| r.next_batch(limit)).await {
                Ok(batch) => batch,
                Err(DeliveryError::Task(_)) => return Round::Done,
                Err(error) => {
                    tracing::error!(%error, "Cannot read the event spool.");
                    return Round::Done;
                }
            };
            if batch.events.is_empty() && batch.lost == self.reported_lost {
                return Round::Done;
            }
            match sink.send(&batch).await {
                Ok(ack) => {
                    self.backoff = Duration::ZERO;
                    self.reported_lost = batch.lost;
                    if let Err(error) = self.reporter.blocking(move |r| r.acknowledge(ack)).await {
                        tracing::error!(%error, "Cannot remove delivered events from the spool.");
                        return Round::Done;
                    }
                    let full = batch.events.len() >= self.limit;
                    self.limit = EVENT_BATCH;
                    if !full {
                        return Round::Done;
                    }
                }
                Err(SendError::Refused { status, message }) if batch.events.len() > 1 => {
                    tracing::warn!(status, %message, events = batch.events.len(), "The server refused a batch of events; sending it in halves.");
                    self.limit = (batch.events.len() / 2).max(1);
                }
                Err(SendError::Refused { status, message }) => {
                    let Some(event) = batch.events.into_iter().next() else {
                        return Round::Done;
                    };
                    tracing::error!(status, %message, seq = event.seq, "The server refuses an event; dropping it and counting its hits.");
                    if let Err(error) = self.reporter.blocking(move |r| r.discard(&event)).await {
                        tracing::error!(%error, "Cannot drop the refused event from the spool.");
                        return Round::Done;
                    }
                    self.limit = EVENT_BATCH;
                }
                Err(error @ SendError::Unavailable(_)) => {
                    self.backoff = (self.backoff * 2).clamp(EVENT_INTERVAL, MAX_BACKOFF);
                    tracing::warn!(%error, retry_in_ms = self.backoff.as_millis(), "Cannot send events; they stay spooled.");
                    return Round::BackOff(self.backoff);
                }
            }
        }
    }
}

/// Every [`EVENT_INTERVAL`]: spool what the sensor counted, then send the spool to `sink`
/// until it is empty or the server is away (then retry, backing off to [`MAX_BACKOFF`]).
/// Runs until the task is aborted.
pub async fn event_loop(reporter: Reporter, sink: impl EventSink) {
    let mut interval = tokio::time::interval(EVENT_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_try = tokio::time::Instant::now();
    let mut delivery = Delivery::new(reporter.clone());
    loop {
        interval.tick().await;
        if let Err(error) = reporter.blocking(Reporter::spool_pending).await {
            match error {
                DeliveryError::Task(error) => tracing::error!(%error, "Event task failed."),
                error => tracing::error!(%error, "Cannot spool events."),
            }
        }
        if tokio::time::Instant::now() < next_try {
            continue;
        }
        if let Round::BackOff(wait) = delivery.send_spooled(&sink).await {
            next_try = tokio::time::Instant::now() + wait;
        }
    }
}
