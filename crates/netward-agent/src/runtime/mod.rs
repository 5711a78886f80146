//! `netward agent`: enroll once, then hold a push connection to the server, pull each new
//! policy version, apply it to the kernel and acknowledge it. The kernel keeps enforcing when
//! the server, or the agent itself, is down; on restart the agent re-applies the policy it
//! persisted, rewriting the table's rules and sets atomically, so there is no gap.
//!
//! - [`boundary`]: what the runtime needs from the machine (enforcer, hit log, attribution,
//!   clock); [`run`] wires in the kernel's, [`run_on`] takes any, fakes included.
//! - [`engine`]: the state machine over the enforcer (merge, compile, apply, expiry, tamper).
//! - [`config`]: [`AgentConfig`], the loops' timings, and [`uninstall`].
//! - [`error`]: why the agent stops ([`AgentError`]).
//! - `enrollment`: the device's identity, enrolling on the first start.
//! - `connection`: the push stream, policy pulls and reconnection.
//! - [`servers`]: the replicas' URLs, the one in use, failing over between them, and the
//!   waits between attempts.
//! - `ticker`: expiry and tamper checks every [`TICK`], with or without the server.
//! - [`server_address`]: the servers' and the resolvers' addresses, which are never blocked.
//! - [`status`]: the status file `netward agent status` reads.
//! - [`metrics`]: the local Prometheus endpoint (`--metrics-listen`), read when scraped.
//! - [`notify`]: readiness and status for systemd (`Type=notify`), sent after each apply.
//! - `shared`: what those tasks share.
//! - `startup`: reading the state directory at start; a damaged file is set aside, never fatal.
//! - [`client`]: HTTP to the server; [`tls`]: its pinned TLS; [`state`]: the state directory;
//!   [`facts`]: device facts.
//!
//! Event delivery lives beside the spool, in [`crate::events::delivery`].

pub mod boundary;
pub mod client;
pub mod config;
mod connection;
pub mod engine;
mod enrollment;
pub mod error;
pub mod facts;
pub mod journal;
mod merge;
pub mod metrics;
pub mod notify;
pub mod policy_state;
pub mod server_address;
pub mod servers;
mod shared;
mod startup;
pub mod state;
pub mod status;
mod streamed;
mod ticker;
pub mod tls;
pub mod upserts;

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

pub use self::boundary::{Boundary, KernelBoundary};
pub use self::config::{
    AgentConfig, MAX_BACKOFF, STREAM_TIMEOUT, TICK, UninstallReport, uninstall,
};
pub use self::error::AgentError;
pub use self::status::read_status;
pub use crate::events::delivery::EVENT_INTERVAL;

use self::client::AgentClient;
use self::engine::Engine;
use self::server_address::ServerUrl;
use self::shared::{Shared, with_engine};
use crate::clock::Clock;
use crate::events::Sensor;
use crate::events::delivery::{Reporter, event_loop};

/// Enrolls if needed, then runs on the kernel until `shutdown` completes. Kernel rules stay in
/// place when it returns.
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(AgentError::Config(
            "netward agent needs root: it programs nftables and keeps its credential in a root-only directory".into(),
        ));
    }
    let boundary = KernelBoundary::new(&config);
    run_on(boundary, config, shutdown).await
}

/// Enrolls if needed, then runs on `boundary` until `shutdown` completes.
pub async fn run_on<B: Boundary>(
    mut boundary: B,
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    state::prepare(&config.state_dir)?;
    // Held until this function returns; the kernel drops it if the process dies.
    let _running = status::hold_running_lock(&config.state_dir)?;
    // Bound first: a wrong address stops the agent before it changes anything.
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(metrics::bind(addr).await?),
        None => None,
    };
    let identity = enrollment::identity(&config).await?;
    let client =
        AgentClient::with_servers(&identity.server_list(), identity.ca_fingerprint.as_deref())?;
    let clock = boundary.clock();
    let (policy, policy_notice) = startup::load_policy(&config.state_dir, clock.now_secs())?;
    let enforcer = boundary.enforcer()?;
    let exempt = server_address::server_addresses(client.servers().all(), &config.state_dir).await;
    let mut engine = Engine::new(enforcer, policy, &[]);
    engine.set_exemptions(&exempt);
    let (spool, spool_notice) =
        startup::open_spool(&config.state_dir, config.spool_capacity, clock.now_secs());
    engine
        .notices
        .extend(policy_notice.into_iter().chain(spool_notice));
    let sensor = match (spool.is_some(), boundary.hits()) {
        (false, _) => None,
        (true, Ok(hits)) => Some(Sensor::start(
            hits,
            boundary.attributor(),
            clock.clone(),
            engine.indicators(),
        )),
        (true, Err(error)) => {
            tracing::error!(%error, "Hits cannot be reported; enforcement goes on.");
            None
        }
    };
    let spool = spool.map(|s| Arc::new(Mutex::new(s)));
    let metric_sources = metrics::MetricSources {
        aggregator: sensor.as_ref().map(|s| s.aggregator.clone()),
        lost: sensor.as_ref().map(|s| s.lost.clone()),
        spool: spool.clone(),
    };
    let own_traffic = sensor
        .as_ref()
        .map(|s| s.own_traffic.clone())
        .unwrap_or_default();
    let ports = client
        .servers()
        .all()
        .iter()
        .map(|url| ServerUrl::parse(url).map(|u| u.port()))
        .collect::<Result<Vec<_>, _>>()?;
    own_traffic.set(&exempt, ports);
    let shared = Shared {
        engine: Arc::new(Mutex::new(engine)),
        clock,
        client,
        identity,
        dir: config.state_dir.clone(),
        connected: Arc::new(AtomicBool::new(false)),
        own_traffic,
        notifier: notify::ServiceNotifier::from_env(),
    };
    if with_engine(&shared.engine, |e| e.state.version.is_some()).await? {
        // Restart: re-apply what we held, atomically, before talking to anyone.
        let clock = shared.clock.clone();
        match with_engine(&shared.engine, move |e| e.enforce(clock.now_secs())).await? {
            Ok(report) => {
                tracing::info!(entries = report.added, "Re-applied the persisted policy.")
            }
            Err(error) => tracing::error!(%error, "Cannot re-apply the persisted policy."),
        }
    }
    shared.status(None).await;
    let metrics = metrics_listener
        .map(|listener| tokio::spawn(metrics::serve(listener, shared.clone(), metric_sources)));
    let notifier = shared.notifier.clone();
    let ticker = tokio::spawn(ticker::tick_loop(shared.clone()));
    let reporter = sensor
        .as_ref()
        .zip(spool)
        .map(|(s, spool)| Reporter::new(s.aggregator.clone(), s.lost.clone(), spool));
    let events = reporter
        .clone()
        .map(|r| tokio::spawn(event_loop(r, shared.clone())));
    let result = tokio::select! {
        () = shutdown => Ok(()),
        result = connection::connection_loop(shared) => result,
    };
    notifier.stopping();
    ticker.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    if let Some(events) = events {
        events.abort();
    }
    // What was counted but not yet spooled is kept for the next start.
    if let Some(r) = reporter {
        let _ = tokio::task::spawn_blocking(move || r.spool_at_exit()).await;
    }
    drop(sensor);
    result
}
