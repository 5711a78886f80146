//! Event delivery: every [`EVENT_INTERVAL`] the sensor's counts go into the [`Spool`], and
//! the spool goes to the server in batches of up to [`EVENT_BATCH`] events until it is empty.
//!
//! - A batch the server refuses for its content ([`SendError::Refused`]: too large, or a value
//!   it names as wrong) is sent again in halves, down to single events; a single event it
//!   refuses is given up and its hits counted as dropped, so one bad event can never stop the
//!   device's reporting.
//! - Any other failure keeps the events spooled and backs off, up to [`MAX_BACKOFF`].
//! - Events the spool cannot take (its disk is full) wait in memory ([`Unspooled`], at most
//!   [`MAX_UNSPOOLED`]; the hits of the rest are counted as dropped) and are spooled as soon
//!   as it has room; meanwhile every batch reports those counts, so no hit vanishes uncounted.
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

    /// Reports a problem of the reporting itself (a damaged spool set aside) on the device
    /// record. A sink that has no device record ignores it.
    fn report_problem(&self, problem: String) -> impl Future<Output = ()> + Send {
        let _ = problem;
        async {}
    }
}

/// Events the spool could not take (its disk full, say) and that wait in memory for the next
/// try, at most.
pub const MAX_UNSPOOLED: usize = 1_000;

/// What the spool could not take yet: the events kept in memory for the next try, and the hits
/// of events beyond [`MAX_UNSPOOLED`], counted as dropped until the spool can record them.
/// Batches report those hits as dropped meanwhile, so a full disk never hides them.
#[derive(Debug, Default)]
pub struct Unspooled {
    events: Vec<AgentEvent>,
    dropped: u64,
}

impl Unspooled {
    /// Hits waiting in memory (in events, and counted as dropped).
    pub fn hits(&self) -> u64 {
        self.events.iter().map(|e| e.count).sum::<u64>() + self.dropped
    }
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
    /// What the spool could not take yet. Locked after `spool`, never before.
    pub unspooled: Arc<Mutex<Unspooled>>,
}

impl Reporter {
    /// The reporter of a sensor's counts into `spool`.
    pub fn new(
        aggregator: Arc<Mutex<Aggregator>>,
        lost: Arc<AtomicU64>,
        spool: Arc<Mutex<Spool>>,
    ) -> Self {
        Self {
            aggregator,
            lost,
            spool,
            unspooled: Arc::default(),
        }
    }

    /// Moves the counted hits, and the count of hits the kernel could not log, into the
    /// spool, durably. Blocks.
    ///
    /// When the spool cannot take them (a full disk), nothing is forgotten: the events wait in
    /// memory for the next call (up to [`MAX_UNSPOOLED`]; the hits of the rest are counted as
    /// dropped), the loss count stays in memory, and batches report both meanwhile.
    pub fn spool_pending(&self) -> Result<(), DeliveryError> {
        let mut spool = self.spool()?;
        let mut held = self.unspooled()?;
        let fresh = self
            .aggregator
            .lock()
            .map_err(|_| DeliveryError::Poisoned("aggregator"))?
            .drain();
        let lost = self.lost.swap(0, Ordering::Relaxed);
        if lost > 0
            && let Err(e) = spool.add_lost(lost)
        {
            // Kept for the next try; the events below are spooled all the same.
            self.lost.fetch_add(lost, Ordering::Relaxed);
            tracing::debug!(error = %e, "Cannot record lost hits in the spool; kept in memory.");
        }
        if held.dropped > 0 && spool.add_dropped(held.dropped).is_ok() {
            held.dropped = 0;
        }
        let mut events = std::mem::take(&mut held.events);
        events.extend(fresh);
        if events.is_empty() {
            return Ok(());
        }
        match spool.push(&events) {
            Ok(kept) => {
                if kept < events.len() {
                    tracing::warn!(
                        dropped = events.len() - kept,
                        "The event spool is full; dropping events and counting their hits."
                    );
                }
                Ok(())
            }
            Err(error) => {
                let keep = events.len().min(MAX_UNSPOOLED);
                held.dropped += events[keep..].iter().map(|e| e.count).sum::<u64>();
                events.truncate(keep);
                held.events = events;
                Err(error.into())
            }
        }
    }

    /// The last [`Reporter::spool_pending`] before the agent exits: whatever the spool still
    /// cannot take is counted as dropped, in the spool if it can record that. Blocks.
    pub fn spool_at_exit(&self) -> Result<(), DeliveryError> {
        let result = self.spool_pending();
        let mut spool = self.spool()?;
        let mut held = self.unspooled()?;
        let hits = held.hits();
        if hits == 0 {
            return result;
        }
        match spool.add_dropped(hits) {
            Ok(()) => *held = Unspooled::default(),
            Err(error) => {
                tracing::error!(%error, hits, "Cannot spool or count hits before exiting; they are lost.")
            }
        }
        result
    }

    /// Sets the damaged spool aside and starts a new one in its place (what it held is lost;
    /// what waits in memory goes to the new one); returns the problem to report. `error` is
    /// what showed the damage. Blocks.
    fn replace_damaged_spool(&self, error: &str) -> Result<String, DeliveryError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let aside = self.spool()?.replace_damaged(now)?;
        tracing::error!(%error, set_aside = %aside.display(), "The event spool is damaged; set it aside and started a new one.");
        Ok(format!(
            "{} was damaged ({error}); set aside as {}; its unsent events are not reported",
            super::spool::FILE,
            aside.display()
        ))
    }

    /// After `error`: if it says the spool is damaged, replaces the spool and reports it to
    /// `sink`; `true` if it did.
    async fn recover(&self, error: &DeliveryError, sink: &impl EventSink) -> bool {
        if !matches!(error, DeliveryError::Spool(e) if e.is_damaged()) {
            return false;
        }
        let text = error.to_string();
        match self.blocking(move |r| r.replace_damaged_spool(&text)).await {
            Ok(problem) => {
                sink.report_problem(problem).await;
                true
            }
            Err(cause) => {
                tracing::error!(%error, %cause, "The event spool is damaged and cannot be replaced; hits wait in memory.");
                false
            }
        }
    }

    fn unspooled(&self) -> Result<std::sync::MutexGuard<'_, Unspooled>, DeliveryError> {
        self.unspooled
            .lock()
            .map_err(|_| DeliveryError::Poisoned("unspooled events"))
    }

    fn spool(&self) -> Result<std::sync::MutexGuard<'_, Spool>, DeliveryError> {
        self.spool
            .lock()
            .map_err(|_| DeliveryError::Poisoned("event spool"))
    }

    /// The oldest `limit` spooled events, with the drop and loss counters, those the spool
    /// could not record yet included. Blocks.
    pub fn next_batch(&self, limit: usize) -> Result<EventBatch, DeliveryError> {
        let mut spool = self.spool()?;
        let held = self.unspooled()?;
        Ok(EventBatch {
            events: spool.peek(limit)?,
            dropped: spool.dropped()? + held.dropped,
            lost: spool.lost()? + self.lost.load(Ordering::Relaxed),
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
    reported_dropped: u64,
    limit: usize,
}

impl Delivery {
    /// Delivery of what `reporter` spools.
    pub fn new(reporter: Reporter) -> Self {
        Self {
            reporter,
            backoff: Duration::ZERO,
            reported_lost: 0,
            reported_dropped: 0,
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
                    if !self.reporter.recover(&error, sink).await {
                        tracing::error!(%error, "Cannot read the event spool.");
                    }
                    return Round::Done;
                }
            };
            if batch.events.is_empty()
                && batch.lost == self.reported_lost
                && batch.dropped == self.reported_dropped
            {
                return Round::Done;
            }
            match sink.send(&batch).await {
                Ok(ack) => {
                    self.backoff = Duration::ZERO;
                    self.reported_lost = batch.lost;
                    self.reported_dropped = batch.dropped;
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

/// Spools what the sensor counted. A failure is logged once until it changes (`failing`
/// holds it), not every second of a full disk; a damaged spool is replaced, and what waits
/// in memory goes to the new one at the next round.
pub async fn spool_round(reporter: &Reporter, sink: &impl EventSink, failing: &mut Option<String>) {
    match reporter.blocking(Reporter::spool_pending).await {
        Ok(()) => {
            if failing.take().is_some() {
                tracing::info!("Events are spooled again.");
            }
        }
        Err(DeliveryError::Task(error)) => tracing::error!(%error, "Event task failed."),
        Err(error) => {
            if reporter.recover(&error, sink).await {
                return;
            }
            let text = error.to_string();
            if failing.as_ref() != Some(&text) {
                tracing::error!(%error, "Cannot spool events; keeping them in memory and counting what does not fit.");
                *failing = Some(text);
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
    let mut failing: Option<String> = None;
    loop {
        interval.tick().await;
        spool_round(&reporter, &sink, &mut failing).await;
        if tokio::time::Instant::now() < next_try {
            continue;
        }
        if let Round::BackOff(wait) = delivery.send_spooled(&sink).await {
            next_try = tokio::time::Instant::now() + wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use netward_model::detection::AgentEvent;

    use super::*;
    use crate::runtime::client::is_refusal_of_content;

    /// The server's answer to a batch: `None` stores it, `Some((status, target))` is an error
    /// body naming `target`, classified as the real client classifies it.
    type Answer = Box<dyn Fn(&EventBatch) -> Option<(u16, Option<String>)> + Send + Sync>;

    struct FakeServer {
        /// Problems reported for the device record.
        problems: Mutex<Vec<String>>,
        answer: Mutex<Answer>,
        /// The sequence numbers of every batch received.
        received: Mutex<Vec<Vec<u64>>>,
        /// The sequence numbers stored.
        stored: Mutex<Vec<u64>>,
    }

    impl FakeServer {
        fn new(answer: Answer) -> Self {
            Self {
                problems: Mutex::default(),
                answer: Mutex::new(answer),
                received: Mutex::default(),
                stored: Mutex::default(),
            }
        }

        fn answer(&self, answer: Answer) {
            *self.answer.lock().unwrap() = answer;
        }

        fn sizes(&self) -> Vec<usize> {
            self.received.lock().unwrap().iter().map(Vec::len).collect()
        }
    }

    impl EventSink for FakeServer {
        async fn send(&self, batch: &EventBatch) -> Result<EventAck, SendError> {
            let seqs: Vec<u64> = batch.events.iter().map(|e| e.seq).collect();
            self.received.lock().unwrap().push(seqs.clone());
            match (self.answer.lock().unwrap())(batch) {
                None => {
                    let acked_seq = seqs.last().copied().unwrap_or(0);
                    self.stored.lock().unwrap().extend(seqs);
                    Ok(EventAck { acked_seq })
                }
                Some((status, target)) if is_refusal_of_content(status, target.as_deref()) => {
                    Err(SendError::Refused {
                        status,
                        message: format!("refused {target:?}"),
                    })
                }
                Some((status, _)) => Err(SendError::Unavailable(format!("HTTP {status}"))),
            }
        }

        async fn report_problem(&self, problem: String) {
            self.problems.lock().unwrap().push(problem);
        }
    }

    fn event(remote: &str, count: u64) -> AgentEvent {
        AgentEvent {
            seq: 0,
            first_seen_ms: 1,
            last_seen_ms: 2,
            count,
            direction: netward_model::detection::Direction::Outbound,
            protocol: "tcp".into(),
            local_ip: "10.0.0.1".into(),
            local_port: None,
            remote_ip: remote.into(),
            remote_port: Some(443),
            outcome: netward_model::detection::Outcome::Blocked,
            reason: netward_model::detection::Reason::IndicatorBlock,
            indicators: Vec::new(),
            process: None,
        }
    }

    /// A reporter whose spool (in `dir`) holds `events`.
    fn spooled(dir: &tempfile::TempDir, events: &[AgentEvent]) -> Reporter {
        let mut spool = Spool::open(dir.path(), 1000).unwrap();
        assert_eq!(spool.push(events).unwrap(), events.len());
        Reporter::new(
            Arc::default(),
            Arc::new(AtomicU64::new(0)),
            Arc::new(Mutex::new(spool)),
        )
    }

    fn spool_len(r: &Reporter) -> u64 {
        r.spool.lock().unwrap().len().unwrap()
    }

    fn dropped(r: &Reporter) -> u64 {
        r.spool.lock().unwrap().dropped().unwrap()
    }

    #[tokio::test]
    async fn a_batch_refused_as_too_large_is_sent_in_halves_until_it_fits() {
        let dir = tempfile::tempdir().unwrap();
        let events: Vec<_> = (0..8).map(|i| event(&format!("192.0.2.{i}"), 1)).collect();
        let reporter = spooled(&dir, &events);
        let server = FakeServer::new(Box::new(|b| (b.events.len() > 2).then_some((413, None))));
        let mut delivery = Delivery::new(reporter.clone());
        assert_eq!(delivery.send_spooled(&server).await, Round::Done);
        assert_eq!(server.sizes()[..3], [8, 4, 2]);
        let stored = server.stored.lock().unwrap().clone();
        assert_eq!(stored.len(), 8, "every event once: {stored:?}");
        assert!(stored.is_sorted(), "in order: {stored:?}");
        assert_eq!((spool_len(&reporter), dropped(&reporter)), (0, 0));
    }

    #[tokio::test]
    async fn an_event_refused_by_name_is_dropped_and_counted_and_the_rest_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let events = [
            event("192.0.2.1", 1),
            event("192.0.2.2", 1),
            event("not-an-address", 7),
            event("192.0.2.4", 1),
        ];
        let reporter = spooled(&dir, &events);
        let server = FakeServer::new(Box::new(|b| {
            let bad = b
                .events
                .iter()
                .position(|e| e.remote_ip == "not-an-address")?;
            Some((400, Some(format!("events[{bad}].remoteIp"))))
        }));
        let mut delivery = Delivery::new(reporter.clone());
        assert_eq!(delivery.send_spooled(&server).await, Round::Done);
        assert_eq!(server.stored.lock().unwrap().len(), 3);
        assert_eq!(spool_len(&reporter), 0);
        assert_eq!(
            dropped(&reporter),
            7,
            "the refused event's hits are counted"
        );
    }

    #[tokio::test]
    async fn any_other_failure_keeps_the_events_spooled_and_backs_off() {
        let dir = tempfile::tempdir().unwrap();
        let events = [event("192.0.2.1", 1), event("192.0.2.2", 1)];
        let reporter = spooled(&dir, &events);
        // Away, a proxy, rate limiting, and a field this agent is too new for.
        let server = FakeServer::new(Box::new(|_| Some((503, None))));
        let mut delivery = Delivery::new(reporter.clone());
        let mut waits = Vec::new();
        for failure in [
            (503, None),
            (404, None),
            (429, None),
            (400, Some("events[0].newField".to_owned())),
            (502, None),
            (503, None),
        ] {
            let answer = failure.clone();
            server.answer(Box::new(move |_| Some(answer.clone())));
            match delivery.send_spooled(&server).await {
                Round::BackOff(wait) => waits.push(wait.as_secs()),
                Round::Done => panic!("{failure:?} was taken for a delivery"),
            }
        }
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(server.sizes(), [2; 6], "never split");
        assert_eq!((spool_len(&reporter), dropped(&reporter)), (2, 0));

        server.answer(Box::new(|_| None));
        assert_eq!(delivery.send_spooled(&server).await, Round::Done);
        assert_eq!(spool_len(&reporter), 0);
        server.answer(Box::new(|_| Some((503, None))));
        reporter.spool.lock().unwrap().push(&events).unwrap();
        assert_eq!(
            delivery.send_spooled(&server).await,
            Round::BackOff(EVENT_INTERVAL),
            "a success resets the backoff"
        );
    }

    #[tokio::test]
    async fn a_spool_damaged_while_the_agent_runs_is_set_aside_and_reporting_goes_on() {
        use crate::events::nflog::Hit;
        use crate::log_prefix::Verdict;
        let dir = tempfile::tempdir().unwrap();
        drop(Spool::open(dir.path(), 1000).unwrap());
        let reporter = spooled(&dir, &[]);
        let server = FakeServer::new(Box::new(|_| None));
        let hit = Hit {
            verdict: Verdict {
                direction: netward_model::detection::Direction::Outbound,
                set_action: netward_model::Action::Block,
                outcome: netward_model::detection::Outcome::Blocked,
                reason: netward_model::detection::Reason::IndicatorBlock,
            },
            protocol: 6,
            local: "10.0.0.1".parse().unwrap(),
            local_port: Some(40_000),
            remote: "192.0.2.7".parse().unwrap(),
            remote_port: Some(443),
            echo_id: None,
            uid: None,
        };
        let file = dir.path().join(super::super::spool::FILE);
        let len = std::fs::metadata(&file).unwrap().len();
        std::fs::write(&file, vec![0x42; usize::try_from(len).unwrap()]).unwrap();
        for _ in 0..3 {
            reporter
                .aggregator
                .lock()
                .unwrap()
                .add(&hit, Vec::new(), None, 1);
        }
        let mut failing = None;
        // The damage shows; the spool is replaced and the device record told.
        spool_round(&reporter, &server, &mut failing).await;
        let problems = server.problems.lock().unwrap().clone();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("events.db was damaged"),
            "{problems:?}"
        );
        let aside = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("events.db.damaged-")
            });
        assert!(aside, "set aside");
        // The hits counted meanwhile were kept, and reach the server through the new spool.
        spool_round(&reporter, &server, &mut failing).await;
        let mut delivery = Delivery::new(reporter.clone());
        assert_eq!(delivery.send_spooled(&server).await, Round::Done);
        assert_eq!(server.stored.lock().unwrap().len(), 1);
        assert_eq!(spool_len(&reporter), 0);
    }

    #[tokio::test]
    async fn lost_hits_reach_the_server_without_any_event() {
        let dir = tempfile::tempdir().unwrap();
        let reporter = spooled(&dir, &[]);
        reporter.lost.store(5, Ordering::Relaxed);
        reporter.spool_pending().unwrap();
        let server = FakeServer::new(Box::new(|b| (b.lost != 5).then_some((500, None))));
        let mut delivery = Delivery::new(reporter.clone());
        assert_eq!(delivery.send_spooled(&server).await, Round::Done);
        assert_eq!(server.sizes(), [0]);
        assert_eq!(
            delivery.send_spooled(&server).await,
            Round::Done,
            "sent once"
        );
        assert_eq!(server.sizes(), [0]);
    }
}
