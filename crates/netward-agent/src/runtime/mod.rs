//! `netward agent`: enroll once, then hold a push connection to the server, pull each new
//! policy version, apply it to the kernel and acknowledge it. The kernel keeps enforcing when
//! the server, or the agent itself, is down; on restart the agent re-applies the policy it
//! persisted, rewriting the table's rules and sets atomically, so there is no gap.
//!
//! - [`engine`]: the state machine over the enforcer (merge, compile, apply, expiry, tamper).
//! - [`client`]: HTTP to the server; [`state`]: the state directory; [`facts`]: device facts.

pub mod client;
pub mod engine;
pub mod facts;
pub mod state;
pub mod tls;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use ipnet::IpNet;
use netward_model::timestamp::format_rfc3339;

use netward_model::detection::EventBatch;

use self::client::{AgentClient, StreamEvent};
use self::engine::{Engine, PolicyState, TickOutcome};
use self::state::{IDENTITY, Identity, POLICY, STATUS, Status};
use crate::enforcer::nft::NftEnforcer;
use crate::enforcer::{Enforcer, EnforcerError};
use crate::events::aggregate::Aggregator;
use crate::events::spool::Spool;
use crate::events::{self, IndexSlot, Sensor, SensorConfig};

/// How often expiry and the kernel table are checked.
pub const TICK: Duration = Duration::from_millis(500);
/// Silence on the push stream after which the connection is taken for dead (the server sends
/// a keep-alive every 5 s).
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest wait between reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why the agent stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The state directory is unusable.
    #[error("cannot use {path}")]
    State {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A state file does not parse.
    #[error("{path} is corrupt: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The server refused the device (unknown, revoked, or a bad enrollment token).
    #[error("the server refused this device: {0}")]
    Refused(String),
    /// An HTTP exchange failed.
    #[error("server exchange failed: {0}")]
    Http(String),
    /// The server refused what was sent (too large, or a value it names as wrong): sending it
    /// again as it is will not help.
    #[error("the server refused the request (HTTP {status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's reason.
        message: String,
    },
    /// The kernel could not be brought to the policy.
    #[error(transparent)]
    Enforcer(#[from] EnforcerError),
}

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Identity, policy and status live here (mode 0700).
    pub state_dir: PathBuf,
    /// An enrollment token (`nwe_…@URL`), needed on the first start only.
    pub enroll: Option<String>,
    /// Enforce in this network namespace instead of the agent's own (the lab and tests).
    pub netns: Option<PathBuf>,
    /// The nftables table the agent owns.
    pub table: String,
    /// The cgroup whose processes' connections are attributed (the cgroup2 root in
    /// production); `None` turns process attribution off.
    pub cgroup: Option<PathBuf>,
    /// Events the on-disk spool holds at most while the server is away.
    pub spool_capacity: u64,
}

/// How often hits are gathered into events and sent.
pub const EVENT_INTERVAL: Duration = Duration::from_secs(1);
/// Events per upload.
const EVENT_BATCH: usize = 500;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

type SharedEngine = Arc<Mutex<Engine<NftEnforcer>>>;

/// Runs `work` on the engine off the async runtime.
async fn with_engine<T: Send + 'static>(
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

fn open_enforcer(config: &AgentConfig) -> Result<NftEnforcer, EnforcerError> {
    match &config.netns {
        Some(path) => NftEnforcer::open_in(&config.table, path),
        None => NftEnforcer::open(&config.table),
    }
}

/// File in the state directory: the server's last resolved addresses, so that they stay
/// allowed when the agent restarts while DNS or the server is away.
const SERVER_ADDRESSES: &str = "server-addresses.json";

/// The host and port of a server URL (`https://host:port/…`, IPv6 in brackets).
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map_or(Some(default_port), |p| p.parse().ok())?;
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), default_port)),
    }
}

/// The DNS resolvers of this machine, which must stay reachable to find the server.
fn resolvers() -> Vec<IpNet> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(IpNet::from)
        .collect()
}

/// The addresses never to block: the server's (resolved now when its name allows), and the
/// resolvers. Falls back to the last addresses that resolved.
async fn server_addresses(url: &str, dir: &Path) -> Vec<IpNet> {
    let mut out = resolvers();
    let resolved: Vec<IpNet> = match host_port(url) {
        Some((host, port)) => match host.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![IpNet::from(ip)],
            Err(_) => match tokio::net::lookup_host((host.as_str(), port)).await {
                Ok(addrs) => addrs.map(|a| IpNet::from(a.ip())).collect(),
                Err(error) => {
                    tracing::warn!(%host, %error, "Cannot resolve the server; keeping its last known addresses allowed.");
                    Vec::new()
                }
            },
        },
        None => Vec::new(),
    };
    if resolved.is_empty() {
        out.extend(
            state::read::<Vec<IpNet>>(dir, SERVER_ADDRESSES)
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
    } else {
        if let Err(error) = state::write(dir, SERVER_ADDRESSES, &resolved) {
            tracing::warn!(%error, "Cannot save the server's addresses.");
        }
        out.extend(resolved);
    }
    out.sort();
    out.dedup();
    out
}

fn write_status(
    dir: &Path,
    identity: &Identity,
    engine: &Engine<NftEnforcer>,
    connected: bool,
    connection_error: Option<&str>,
) {
    let count = |a: &str| {
        engine
            .state
            .indicators
            .values()
            .filter(|i| i.action == a)
            .count()
    };
    let status = Status {
        server: identity.server.clone(),
        device_id: identity.device_id.clone(),
        connected,
        group: engine.state.group.clone(),
        mode: engine.state.mode.clone(),
        coverage: engine.state.coverage.clone(),
        version: engine.state.version,
        applied_at: engine.applied_at.map(format_rfc3339),
        allow: count("allow"),
        block: count("block"),
        audit: count("audit"),
        kernel_entries: engine.entries,
        not_enforceable: engine.not_enforceable.clone(),
        last_error: engine
            .last_error
            .clone()
            .or_else(|| connection_error.map(str::to_owned)),
        updated_at: format_rfc3339(now()),
    };
    if let Err(error) = state::write(dir, STATUS, &status) {
        tracing::warn!(%error, "Cannot write the status file.");
    }
}

/// What the runtime's tasks share.
#[derive(Clone)]
struct Shared {
    engine: SharedEngine,
    client: AgentClient,
    identity: Identity,
    dir: PathBuf,
    connected: Arc<std::sync::atomic::AtomicBool>,
}

impl Shared {
    /// Writes the status file, off the async runtime.
    async fn status(&self, connection_error: Option<String>) {
        let (dir, identity) = (self.dir.clone(), self.identity.clone());
        let connected = self.connected.load(std::sync::atomic::Ordering::SeqCst);
        let _ = with_engine(&self.engine, move |e| {
            write_status(&dir, &identity, e, connected, connection_error.as_deref())
        })
        .await;
    }

    /// Sends the acknowledgement of what the kernel holds; clears a pending tamper report only
    /// once the server has it.
    async fn ack(&self) -> Result<(), AgentError> {
        let Some(ack) = with_engine(&self.engine, |e| e.ack(facts::collect())).await? else {
            return Ok(());
        };
        self.client.ack(&self.identity.secret, &ack).await?;
        with_engine(&self.engine, move |e| e.ack_delivered(&ack)).await
    }

    /// Refreshes the never-blocked server addresses, re-enforcing if they changed.
    async fn refresh_server_addresses(&self) {
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

/// Enrolls if needed, then runs until `shutdown` completes. Kernel rules stay in place when it
/// returns.
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(AgentError::Config(
            "netward agent needs root: it programs nftables and keeps its credential in a root-only directory".into(),
        ));
    }
    state::prepare(&config.state_dir)?;
    let identity = match state::read::<Identity>(&config.state_dir, IDENTITY)? {
        Some(id) => {
            if config.enroll.is_some() {
                tracing::info!(device = %id.device_id, "Already enrolled; the enrollment token is not used.");
            }
            id
        }
        None => {
            let token = config.enroll.clone().ok_or_else(|| {
                AgentError::Config("this device is not enrolled: pass --enroll <token>".into())
            })?;
            let (server, pin) = client::parse_enroll_token(&token)?;
            let client = AgentClient::new(&server, pin.as_deref())?;
            let enrolled = client.enroll(&token, facts::collect()).await?;
            let id = Identity {
                server,
                ca_fingerprint: pin,
                device_id: enrolled.device_id,
                secret: enrolled.secret,
            };
            state::write(&config.state_dir, IDENTITY, &id)?;
            tracing::info!(device = %id.device_id, group = %enrolled.group, "Enrolled.");
            id
        }
    };
    let client = AgentClient::new(&identity.server, identity.ca_fingerprint.as_deref())?;
    let policy = state::read::<PolicyState>(&config.state_dir, POLICY)?.unwrap_or_default();
    let enforcer = open_enforcer(&config)?;
    let server = server_addresses(&identity.server, &config.state_dir).await;
    let mut engine = Engine::new(enforcer, policy, &server);
    let slot = IndexSlot::default();
    engine.publish_to(slot.clone());
    let engine: SharedEngine = Arc::new(Mutex::new(engine));
    let spool =
        Spool::open(&config.state_dir, config.spool_capacity).map_err(|e| AgentError::State {
            path: config.state_dir.join(events::spool::FILE),
            source: std::io::Error::other(e.to_string()),
        })?;
    let spool = Arc::new(Mutex::new(spool));
    let sensor = match Sensor::start(
        &SensorConfig {
            netns: config.netns.clone(),
            cgroup: config.cgroup.clone(),
        },
        slot,
    ) {
        Ok(sensor) => Some(sensor),
        Err(error) => {
            tracing::error!(%error, "Hits cannot be reported; enforcement goes on.");
            None
        }
    };
    let shared = Shared {
        engine,
        client,
        identity,
        dir: config.state_dir.clone(),
        connected: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    if with_engine(&shared.engine, |e| e.state.version.is_some()).await? {
        // Restart: re-apply what we held, atomically, before talking to anyone.
        match with_engine(&shared.engine, |e| e.enforce(now())).await? {
            Ok(report) => {
                tracing::info!(entries = report.added, "Re-applied the persisted policy.")
            }
            Err(error) => tracing::error!(%error, "Cannot re-apply the persisted policy."),
        }
    }
    shared.status(None).await;
    let ticker = tokio::spawn(tick_loop(shared.clone()));
    let reporter = sensor.as_ref().map(|s| Reporter {
        aggregator: s.aggregator.clone(),
        lost: s.lost.clone(),
        spool: spool.clone(),
    });
    let events = reporter
        .clone()
        .map(|r| tokio::spawn(event_loop(shared.clone(), r)));
    let result = tokio::select! {
        () = shutdown => Ok(()),
        result = connection_loop(shared) => result,
    };
    ticker.abort();
    if let Some(events) = events {
        events.abort();
    }
    // What was counted but not yet spooled is kept for the next start.
    if let Some(r) = reporter {
        let _ = tokio::task::spawn_blocking(move || r.spool_pending()).await;
    }
    drop(sensor);
    result
}

/// The path from the sensor's counts to the server.
#[derive(Clone)]
struct Reporter {
    aggregator: Arc<Mutex<Aggregator>>,
    lost: Arc<std::sync::atomic::AtomicU64>,
    spool: Arc<Mutex<Spool>>,
}

impl Reporter {
    /// Moves the counted hits, and the count of hits the kernel could not log, into the
    /// spool, durably. Blocks.
    fn spool_pending(&self) -> Result<(), String> {
        let events = match self.aggregator.lock() {
            Ok(mut a) => a.drain(),
            Err(_) => return Err("the aggregator is poisoned".into()),
        };
        let lost = self.lost.swap(0, std::sync::atomic::Ordering::Relaxed);
        let mut spool = self.spool.lock().map_err(|_| "the spool is poisoned")?;
        if lost > 0
            && let Err(e) = spool.add_lost(lost)
        {
            // Kept for the next try; the events below are spooled all the same.
            self.lost
                .fetch_add(lost, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(error = %e, "Cannot record lost hits in the spool.");
        }
        if events.is_empty() {
            return Ok(());
        }
        let kept = spool.push(&events).map_err(|e| e.to_string())?;
        if kept < events.len() {
            tracing::warn!(
                dropped = events.len() - kept,
                "The event spool is full; dropping events and counting their hits."
            );
        }
        Ok(())
    }

    /// The oldest `limit` spooled events, with the drop and loss counters. Blocks.
    fn next_batch(&self, limit: usize) -> Result<EventBatch, String> {
        let mut spool = self.spool.lock().map_err(|_| "the spool is poisoned")?;
        Ok(EventBatch {
            events: spool.peek(limit).map_err(|e| e.to_string())?,
            dropped: spool.dropped().map_err(|e| e.to_string())?,
            lost: spool.lost().map_err(|e| e.to_string())?,
        })
    }

    /// Gives up on one event the server refuses, counting its hits as dropped. Blocks.
    fn discard(&self, event: &netward_model::detection::AgentEvent) -> Result<(), String> {
        let mut spool = self.spool.lock().map_err(|_| "the spool is poisoned")?;
        spool
            .discard(event.seq, event.count)
            .map_err(|e| e.to_string())
    }
}

/// Every [`EVENT_INTERVAL`]: spool what the sensor counted, then send the spool to the server
/// until it is empty or the server is away (then retry, backing off to [`MAX_BACKOFF`]).
///
/// A batch the server refuses as such (a 4xx: too large, or invalid) is sent again in halves
/// down to single events, and a single event it refuses is given up and counted as dropped,
/// so that one bad event can never stop the device's reporting.
async fn event_loop(shared: Shared, reporter: Reporter) {
    let mut interval = tokio::time::interval(EVENT_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = Duration::ZERO;
    let mut next_try = tokio::time::Instant::now();
    let mut reported_lost = 0;
    let mut limit = EVENT_BATCH;
    loop {
        interval.tick().await;
        let r = reporter.clone();
        match tokio::task::spawn_blocking(move || r.spool_pending()).await {
            Ok(Err(error)) => tracing::error!(%error, "Cannot spool events."),
            Err(error) => tracing::error!(%error, "Event task failed."),
            Ok(Ok(())) => {}
        }
        if tokio::time::Instant::now() < next_try {
            continue;
        }
        loop {
            let r = reporter.clone();
            let batch = match tokio::task::spawn_blocking(move || r.next_batch(limit)).await {
                Ok(Ok(batch)) => batch,
                Ok(Err(error)) => {
                    tracing::error!(%error, "Cannot read the event spool.");
                    break;
                }
                Err(_) => break,
            };
            if batch.events.is_empty() && batch.lost == reported_lost {
                break;
            }
            let lost = batch.lost;
            match shared.client.events(&shared.identity.secret, &batch).await {
                Ok(ack) => {
                    backoff = Duration::ZERO;
                    reported_lost = lost;
                    let r = reporter.clone();
                    let acked = tokio::task::spawn_blocking(move || {
                        r.spool
                            .lock()
                            .map_err(|_| "the spool is poisoned".to_owned())
                            .and_then(|mut s| {
                                s.acknowledge(ack.acked_seq).map_err(|e| e.to_string())
                            })
                    })
                    .await;
                    if !matches!(acked, Ok(Ok(()))) {
                        tracing::error!("Cannot remove delivered events from the spool.");
                        break;
                    }
                    let full = batch.events.len() >= limit;
                    limit = EVENT_BATCH;
                    if !full {
                        break;
                    }
                }
                Err(AgentError::Rejected { status, message }) if batch.events.len() > 1 => {
                    tracing::warn!(status, %message, events = batch.events.len(), "The server refused a batch of events; sending it in halves.");
                    limit = (batch.events.len() / 2).max(1);
                }
                Err(AgentError::Rejected { status, message }) => {
                    let Some(event) = batch.events.into_iter().next() else {
                        break;
                    };
                    tracing::error!(status, %message, seq = event.seq, "The server refuses an event; dropping it and counting its hits.");
                    let r = reporter.clone();
                    if !matches!(
                        tokio::task::spawn_blocking(move || r.discard(&event)).await,
                        Ok(Ok(()))
                    ) {
                        tracing::error!("Cannot drop the refused event from the spool.");
                        break;
                    }
                    limit = EVENT_BATCH;
                }
                Err(error) => {
                    backoff = (backoff * 2).clamp(EVENT_INTERVAL, MAX_BACKOFF);
                    next_try = tokio::time::Instant::now() + backoff;
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis(), "Cannot send events; they stay spooled.");
                    break;
                }
            }
        }
    }
}

async fn tick_loop(shared: Shared) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Log a persistent failure once, not every tick.
    let mut last_failure: Option<String> = None;
    loop {
        interval.tick().await;
        let outcome = with_engine(&shared.engine, |e| e.tick(now())).await;
        if let Ok(Err(error)) = &outcome {
            let text = error.to_string();
            if last_failure.as_ref() == Some(&text) {
                continue;
            }
            last_failure = Some(text);
        } else {
            last_failure = None;
        }
        match outcome {
            Ok(Ok(TickOutcome::Idle)) => continue,
            Ok(Ok(outcome)) => {
                tracing::info!(?outcome, "Kernel updated without the server.");
                shared.status(None).await;
                if let Err(error) = shared.ack().await {
                    tracing::warn!(%error, "Cannot report to the server; the kernel is up to date.");
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "Cannot check or update the kernel; retrying.");
                shared.status(None).await;
            }
            Err(error) => tracing::error!(%error, "Engine task failed."),
        }
    }
}

/// Pulls the update from the held version, applies it, persists it and acknowledges it.
async fn sync(shared: &Shared) -> Result<(), AgentError> {
    let since = with_engine(&shared.engine, |e| e.state.version).await?;
    let update = shared.client.policy(&shared.identity.secret, since).await?;
    let dir = shared.dir.clone();
    let report = with_engine(&shared.engine, move |e| {
        let report = e.update(update, now());
        let persisted = state::write(&dir, POLICY, &e.state);
        report.map_err(AgentError::from).and(persisted)
    })
    .await?;
    shared.ack().await?;
    report
}

async fn connection_loop(shared: Shared) -> Result<(), AgentError> {
    use std::sync::atomic::Ordering;
    let mut backoff = Duration::from_millis(250);
    loop {
        let mut error: Option<String>;
        shared.refresh_server_addresses().await;
        match shared.client.stream(&shared.identity.secret).await {
            Ok(stream) => {
                tracing::info!(server = %shared.identity.server, "Connected to the server.");
                shared.connected.store(true, Ordering::SeqCst);
                backoff = Duration::from_millis(250);
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
                            if held != Some(version)
                                && let Err(e) = sync(&shared).await
                            {
                                // Reconnect: the server names its version again at once, so
                                // the pull is retried instead of waiting for the next change.
                                tracing::error!(error = %e, version, "Cannot apply the policy; reconnecting.");
                                error = Some(e.to_string());
                                break;
                            }
                            shared.status(error.clone()).await;
                        }
                        Ok(Some(Ok(StreamEvent::KeepAlive))) => {}
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
        tracing::warn!(
            error = error.as_deref().unwrap_or(""),
            retry_in_ms = backoff.as_millis(),
            "Disconnected; still enforcing the held policy."
        );
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The status the running agent last wrote, without any server.
pub fn read_status(dir: &Path) -> Result<Option<Status>, AgentError> {
    state::read(dir, STATUS)
}

/// Removes the agent's table and its state directory.
pub fn uninstall(config: &AgentConfig) -> Result<(), AgentError> {
    open_enforcer(config)?.remove()?;
    match std::fs::remove_dir_all(&config.state_dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AgentError::State {
            path: config.state_dir.clone(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn server_urls_yield_host_and_port() {
        assert_eq!(
            host_port("https://netward.example:8440/x"),
            Some(("netward.example".into(), 8440))
        );
        assert_eq!(
            host_port("https://[2001:db8::1]:8443"),
            Some(("2001:db8::1".into(), 8443))
        );
        assert_eq!(
            host_port("https://[2001:db8::1]"),
            Some(("2001:db8::1".into(), 443))
        );
        assert_eq!(
            host_port("http://127.0.0.1"),
            Some(("127.0.0.1".into(), 80))
        );
        assert_eq!(host_port("no-scheme"), None);
    }
}
