//! [`ServiceNotifier`]: tells systemd (a `Type=notify` unit) that the agent is ready, and what
//! it enforces, with the `sd_notify` datagram protocol: one `KEY=value` per line sent to the
//! unix socket named by `$NOTIFY_SOCKET`. Hand-written, as the protocol is one `sendto`.
//!
//! The agent is ready once a policy is in the kernel: the first one pulled from the server, or
//! the held one re-applied at start while the server is away. Until then `systemctl start`
//! waits, so a unit ordered after the agent never runs unprotected.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable systemd sets for a `Type=notify` service.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends readiness and status to the service manager; does nothing when not run by one.
#[derive(Clone, Debug, Default)]
pub struct ServiceNotifier {
    /// `None` outside systemd (no `$NOTIFY_SOCKET`, or one that cannot be used).
    socket: Option<Arc<(UnixDatagram, SocketAddr)>>,
    ready: Arc<AtomicBool>,
}

impl ServiceNotifier {
    /// The notifier of `$NOTIFY_SOCKET`; a silent one when the variable is unset.
    pub fn from_env() -> Self {
        match std::env::var_os(NOTIFY_SOCKET) {
            Some(path) => Self::to_socket(&path.to_string_lossy()),
            None => Self::default(),
        }
    }

    /// The notifier of the socket `path`: a file path, or an abstract name written `@name`.
    pub fn to_socket(path: &str) -> Self {
        let address = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(path),
        };
        let socket = address.and_then(|address| Ok((UnixDatagram::unbound()?, address)));
        match socket {
            Ok(socket) => Self {
                socket: Some(Arc::new(socket)),
                ready: Arc::default(),
            },
            Err(error) => {
                tracing::warn!(socket = %path, %error, "Cannot use the service manager's notification socket; readiness is not reported.");
                Self::default()
            }
        }
    }

    /// Reports what the agent enforces; the first call also reports it ready.
    pub fn enforcing(&self, status: &str) {
        let first = !self.ready.swap(true, Ordering::SeqCst);
        let status = status.replace('\n', " ");
        let message = if first {
            format!("READY=1\nSTATUS={status}\n")
        } else {
            format!("STATUS={status}\n")
        };
        self.send(&message);
    }

    /// Reports a status line without claiming readiness.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}\n", status.replace('\n', " ")));
    }

    /// Tells the service manager the agent is stopping.
    pub fn stopping(&self) {
        self.send("STOPPING=1\n");
    }

    /// Whether `READY=1` was sent.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn send(&self, message: &str) {
        let Some(socket) = &self.socket else {
            return;
        };
        let (datagram, address) = socket.as_ref();
        if let Err(error) = datagram.send_to_addr(message.as_bytes(), address) {
            tracing::warn!(%error, "Cannot notify the service manager.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_is_sent_once_then_only_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let manager = UnixDatagram::bind(&path).unwrap();
        let notifier = ServiceNotifier::to_socket(path.to_str().unwrap());
        notifier.status("starting");
        notifier.enforcing("enforcing policy v3");
        notifier.enforcing("enforcing policy v4");
        let mut buf = [0u8; 256];
        let mut next = || {
            let n = manager.recv(&mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        };
        assert_eq!(next(), "STATUS=starting\n");
        assert_eq!(next(), "READY=1\nSTATUS=enforcing policy v3\n");
        assert_eq!(next(), "STATUS=enforcing policy v4\n");
        assert!(notifier.is_ready());
    }

    #[test]
    fn an_abstract_socket_is_reached() {
        let name = format!("netward-notify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let manager = UnixDatagram::bind_addr(&address).unwrap();
        ServiceNotifier::to_socket(&format!("@{name}")).enforcing("v1");
        let mut buf = [0u8; 64];
        let n = manager.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=v1\n");
    }

    #[test]
    fn without_a_manager_nothing_is_sent() {
        let notifier = ServiceNotifier::default();
        notifier.enforcing("v1");
        assert!(notifier.is_ready());
    }
}
