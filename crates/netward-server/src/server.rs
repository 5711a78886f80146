//! Starting and stopping the server: open the store, create the first admin token, bind, serve.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use netward_model::GuardRails;
use netward_model::enroll_token::EnrollTarget;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api;
use crate::clock::{Clock, SystemClock};
use crate::config::ServerConfig;
use crate::connections::{self, CappedListener};
use crate::control::{ControlError, ControlPlane};
use crate::store::{CaStore, PgStore, SqliteStore, Store, StoreError};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Tokens would cross the network in clear text.
    #[error(
        "refusing to serve plain HTTP on {0}: bearer tokens would cross the network in clear text; drop --plain-http or listen on a loopback address"
    )]
    PlainHttpOffLoopback(SocketAddr),
    /// Listening on every address, with no URL for agents.
    #[error("listening on {0} needs --advertise <URL>: the address agents should use")]
    NoAdvertise(SocketAddr),
    /// TLS could not be set up.
    #[error("cannot set up TLS")]
    Tls(#[from] crate::tls::TlsError),
    /// The store could not be opened.
    #[error("cannot open the store")]
    Store(#[from] StoreError),
    /// The control plane could not start (first admin token, policy version).
    #[error("cannot start the control plane")]
    Bootstrap(#[source] ControlError),
    /// The listen address is unusable.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A SIEM export could not be set up.
    #[error("cannot set up the event export")]
    Export(#[from] crate::detection::ExportError),
    /// Serving failed.
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The first admin token's secret, when this start created it.
    pub bootstrap_token: Option<String>,
    /// The URL clients use: `https://…`, or `http://…` with `--plain-http`.
    pub url: String,
    /// The CA certificate clients trust, and its SHA-256 (with TLS).
    pub ca: Option<(PathBuf, String)>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), std::io::Error>>,
}

impl RunningServer {
    /// Stops accepting, finishes in-flight requests and waits.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops by itself.
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.task.await {
            Ok(result) => result.map_err(ServerError::Serve),
            Err(e) => Err(ServerError::Serve(std::io::Error::other(e))),
        }
    }

    /// A sender that stops the server.
    pub fn shutdown_handle(&mut self) -> Option<oneshot::Sender<()>> {
        self.shutdown.take()
    }
}

/// The addresses of the URLs agents are told to use (`--advertise`): a block on them would cut
/// the fleet off from its servers as surely as one on the listen address. A name is resolved
/// once, at start; one that does not resolve is logged and guards nothing.
async fn advertised_addresses(advertise: &[String]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for url in advertise {
        let Some(host) = url
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|u| u.host().map(|h| h.trim_matches(['[', ']']).to_owned()))
        else {
            continue;
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            out.push(ip);
            continue;
        }
        match tokio::net::lookup_host((host.as_str(), 443)).await {
            Ok(found) => out.extend(found.map(|a| a.ip())),
            Err(error) => {
                tracing::warn!(%error, %host, "Cannot resolve the advertised name; its addresses are not guarded.");
            }
        }
    }
    out
}

/// The addresses a block must not cover: the listen address, or every local interface
/// address when listening on the unspecified address.
fn own_addresses(listen: IpAddr) -> Vec<IpAddr> {
    if !listen.is_unspecified() {
        return vec![listen];
    }
    match if_addrs::get_if_addrs() {
        Ok(ifaces) => ifaces.into_iter().map(|i| i.ip()).collect(),
        Err(error) => {
            tracing::warn!(%error, "Cannot list interface addresses; only loopback and link-local are guarded.");
            Vec::new()
        }
    }
}

/// The store, and with PostgreSQL the CA every replica shares.
type Opened = (Arc<dyn Store>, Option<Arc<dyn CaStore>>);

/// Opens the store: PostgreSQL at `config.database`, else SQLite in `config.data_dir`.
async fn open_store(config: &ServerConfig) -> Result<Opened, ServerError> {
    let database = config.database.clone();
    let dir = config.data_dir.clone();
    tokio::task::spawn_blocking(move || -> Result<Opened, StoreError> {
        Ok(match database {
            Some(url) => {
                let pg = Arc::new(PgStore::open(&url)?);
                (pg.clone(), Some(pg))
            }
            None => (Arc::new(SqliteStore::open(&dir)?), None),
        })
    })
    .await
    .map_err(|e| ServerError::Serve(std::io::Error::other(e)))?
    .map_err(ServerError::Store)
}

/// Opens the store in `config.data_dir`, creates the first admin token if there is none,
/// binds and starts serving in the background, on the system's clock.
pub async fn start(config: &ServerConfig) -> Result<RunningServer, ServerError> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`], reading the time from `clock`: tests pass a [`ManualClock`] to see expiry and
/// retention happen at the second, without waiting.
///
/// [`ManualClock`]: crate::clock::ManualClock
pub async fn start_with_clock(
    config: &ServerConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServerError> {
    if config.plain_http && !config.listen.ip().is_loopback() {
        return Err(ServerError::PlainHttpOffLoopback(config.listen));
    }
    if config.listen.ip().is_unspecified() && config.advertise.is_empty() {
        return Err(ServerError::NoAdvertise(config.listen));
    }
    let (store, shared_ca) = open_store(config).await?;
    let listener = bind(config.listen).map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let mut own = own_addresses(config.listen.ip());
    own.extend(advertised_addresses(&config.advertise).await);
    own.sort();
    own.dedup();
    let tls = if config.plain_http {
        None
    } else {
        let mut names: Vec<String> = own.iter().map(IpAddr::to_string).collect();
        names.extend([
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ]);
        names.extend(config.tls_names.iter().cloned());
        names.sort();
        names.dedup();
        let dir = config.data_dir.clone();
        Some(
            tokio::task::spawn_blocking(move || match shared_ca {
                Some(ca) => crate::tls::load_or_create_shared(ca.as_ref(), &dir, &names),
                None => crate::tls::load_or_create(&dir, &names),
            })
            .await
            .map_err(|e| ServerError::Serve(std::io::Error::other(e)))??,
        )
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let trimmed = |u: &String| u.trim_end_matches('/').to_owned();
    let url = config
        .advertise
        .first()
        .map_or_else(|| format!("{scheme}://{addr}"), trimmed);
    let servers = std::iter::once(url.clone())
        .chain(config.advertise.iter().skip(1).map(trimmed))
        .collect();
    // Every replica's URL, and the one CA they share, go into each enrollment token.
    let enroll_target = EnrollTarget {
        servers,
        ca_fingerprint: tls.as_ref().map(|t| t.ca_fingerprint.clone()),
    };
    // The store blocks (PostgreSQL's client runs a runtime of its own): off the async threads.
    let rails = GuardRails::new(&own);
    let target = enroll_target.to_string();
    let cp = tokio::task::spawn_blocking(move || ControlPlane::new(store, rails, clock, target))
        .await
        .map_err(|e| ServerError::Serve(std::io::Error::other(e)))?
        .map_err(ServerError::Bootstrap)?
        .with_detection(&config.detection)?
        .with_metrics(config.metrics);
    cp.follow_replicas().map_err(ServerError::Serve)?;
    tokio::spawn(cp.clone().retention_loop());
    tokio::spawn(cp.clone().feed_refresh_loop());
    let bootstrap_token = cp.bootstrap_admin().await.map_err(ServerError::Bootstrap)?;
    let app = api::router(cp.clone(), config.max_body_bytes, tls.is_some());
    let (tx, rx) = oneshot::channel::<()>();
    let ca = tls
        .as_ref()
        .map(|t| (t.ca_path.clone(), t.ca_fingerprint.clone()));
    let closing = cp.clone();
    let stop = async move {
        let _ = rx.await;
        closing.begin_shutdown();
    };
    let limits = config.connections;
    let listener = CappedListener::new(listener, limits.max_connections);
    let task = match tls {
        Some(t) => {
            let listener =
                crate::tls::TlsListener::new(listener, t.config, limits.handshake_timeout)
                    .map_err(|source| ServerError::Bind { addr, source })?;
            tokio::spawn(connections::serve(listener, app, limits, stop))
        }
        None => tokio::spawn(connections::serve(listener, app, limits, stop)),
    };
    match &config.database {
        Some(url) => {
            let database = crate::config_file::redact_password(url);
            tracing::info!(%addr, %database, "Server listening.");
        }
        None => tracing::info!(%addr, data_dir = %config.data_dir.display(), "Server listening."),
    }
    Ok(RunningServer {
        addr,
        bootstrap_token,
        url,
        ca,
        shutdown: Some(tx),
        task,
    })
}

/// Most connections waiting to be accepted. A fleet reconnects at once after a restart, and
/// Tokio's default of 1,024 drops the rest of a burst (they retry a second or more later); the
/// kernel caps this at `net.core.somaxconn` (4,096 by default).
const LISTEN_BACKLOG: u32 = 4_096;

/// Listens on `addr` with [`LISTEN_BACKLOG`].
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
