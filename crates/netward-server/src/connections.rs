//! Accepting and serving HTTP connections, with the limits that keep a client who sends
//! nothing, or trickles, from holding the server:
//!
//! - at most [`ConnectionLimits::max_connections`] connections at once (TLS handshakes
//!   included). Beyond that the server stops accepting, and new connections wait in the
//!   kernel's backlog until one closes;
//! - a request's header must arrive within [`ConnectionLimits::header_read_timeout`], counted
//!   from the moment the server waits for it: a connection that sends nothing, trickles
//!   header lines, or idles between keep-alive requests is closed when it runs out;
//! - a connection's first bytes (the HTTP/2 preface, or the start of an HTTP/1.1 request)
//!   must arrive within the header timeout too: the server reads them to choose the protocol,
//!   before HTTP/1.1's own header timer starts;
//! - a request body must keep arriving: a body read that stalls for
//!   [`ConnectionLimits::body_read_timeout`] ends the request (the API's router applies it).
//!
//! Answers themselves have no deadline: the live streams last as long as their reader.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tower_http::add_extension::AddExtension;
use tower_http::timeout::RequestBodyTimeout;

/// How many connections the server holds, and how long it waits for a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once, TLS handshakes included.
    pub max_connections: usize,
    /// The time a client has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// The time a client has to send a request's header, from when the server waits for it.
    pub header_read_timeout: Duration,
    /// The longest pause while a request body arrives.
    pub body_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// A connection that holds one of the server's connection slots until it is dropped.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    _slot: OwnedSemaphorePermit,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// Writes pass straight through a wrapper to its `inner` stream.
macro_rules! write_through {
    ($wrapper:ident) => {
        impl<S: AsyncWrite + Unpin> AsyncWrite for $wrapper<S> {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_write(cx, buf)
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.inner).poll_shutdown(cx)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }
        }
    };
}

write_through!(Counted);

/// Bytes a connection must send before the header timeout: as long as HTTP/2's client
/// preface, which is what the server reads to tell the two protocols apart.
const PREFACE_BYTES: usize = 24;

/// A connection whose first [`PREFACE_BYTES`] must arrive before a deadline; a read after it
/// fails with `TimedOut`, which ends the connection.
struct PrefaceDeadline<S> {
    inner: S,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    awaited: usize,
}

impl<S> PrefaceDeadline<S> {
    fn new(inner: S, within: Duration) -> Self {
        Self {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(within))),
            awaited: PREFACE_BYTES,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PrefaceDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let got = buf.filled().len() - before;
        if got > 0 {
            self.awaited = self.awaited.saturating_sub(got);
            if self.awaited == 0 {
                self.deadline = None;
            }
        }
        polled
    }
}

write_through!(PrefaceDeadline);

/// A TCP listener that accepts only while a connection slot is free.
#[derive(Debug)]
pub struct CappedListener {
    tcp: TcpListener,
    slots: Arc<Semaphore>,
}

impl CappedListener {
    /// Accepts on `tcp`, at most `max` connections at once.
    pub fn new(tcp: TcpListener, max: usize) -> Self {
        Self {
            tcp,
            slots: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

impl Listener for CappedListener {
    type Io = Counted<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // The semaphore is never closed, so this only waits.
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                std::future::pending::<()>().await;
                continue;
            };
            match self.tcp.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        Counted {
                            inner: stream,
                            _slot: slot,
                        },
                        peer,
                    );
                }
                Err(error) => {
                    drop(slot);
                    accept_failed(error).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// An accept error: a connection that went away before it was accepted is nothing; anything
/// else (out of file descriptors) is logged and waited out.
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "Accepting a connection failed; waiting a second.");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves `app` on every connection `listener` accepts until `shutdown` resolves, then lets
/// the open connections finish their requests and returns when all are closed.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let (closing_tx, closing_rx) = watch::channel(false);
    // Every connection task holds a sender; `recv` answers `None` once all are gone.
    let (open_tx, mut open_rx) = mpsc::channel::<Infallible>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(RequestBodyTimeout::new(
            AddExtension::new(app.clone(), ConnectInfo(peer)),
            limits.body_read_timeout,
        ));
        let mut closing = closing_rx.clone();
        let open = open_tx.clone();
        tokio::spawn(async move {
            // HTTP/1.1 or HTTP/2, by the connection's preface (over TLS, ALPN offers both):
            // HTTP/2 carries every console tab's live stream on one connection.
            let mut http = auto::Builder::new(TokioExecutor::new());
            http.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            http.http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(limits.header_read_timeout));
            let io = PrefaceDeadline::new(io, limits.header_read_timeout);
            let conn = http.serve_connection(TokioIo::new(io), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => log_end(peer, result),
                _ = closing.changed() => {
                    conn.as_mut().graceful_shutdown();
                    log_end(peer, conn.await);
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}

fn log_end(peer: SocketAddr, result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "Connection ended with an error.");
    }
}
