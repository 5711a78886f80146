//! Fakes of the sensor's two OS boundaries, for tests above them: a [`FakeHitSource`] that
//! hands over batches a test sends, and a [`FakeAttributor`] that names processes from a
//! table.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use netward_model::detection::ProcessInfo;

use super::attribution::Origin;
use super::attributor::Attributor;
use super::source::{Batch, HitSource};

/// How long a read waits for a batch, like the NFLOG socket's receive timeout.
const READ_WAIT: Duration = Duration::from_millis(200);

/// Hands over the batches sent through its [`Sender`].
#[derive(Debug)]
pub struct FakeHitSource {
    batches: Receiver<Batch>,
}

impl FakeHitSource {
    /// A source, and the sender that feeds it.
    pub fn new() -> (Self, Sender<Batch>) {
        let (tx, rx) = channel();
        (Self { batches: rx }, tx)
    }
}

impl HitSource for FakeHitSource {
    fn read(&mut self) -> io::Result<Batch> {
        match self.batches.recv_timeout(READ_WAIT) {
            Ok(batch) => Ok(batch),
            Err(RecvTimeoutError::Timeout) => Ok(Batch::default()),
            Err(RecvTimeoutError::Disconnected) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the fake hit source's sender is gone",
            )),
        }
    }
}

/// Names the processes it was told about: origins by (protocol, remote, port), descriptions
/// by pid.
#[derive(Clone, Debug, Default)]
pub struct FakeAttributor {
    /// Who reached each endpoint.
    pub origins: HashMap<(u8, IpAddr, u16), Origin>,
    /// What `/proc` would say about each pid; a pid missing here is described from its origin
    /// alone, as when the process has exited.
    pub processes: HashMap<u32, ProcessInfo>,
}

impl Attributor for FakeAttributor {
    fn origin_of(
        &self,
        protocol: u8,
        remote: IpAddr,
        port: Option<u16>,
        packet_uid: Option<u32>,
    ) -> Option<Origin> {
        let origin = self.origins.get(&(protocol, remote, port?))?;
        if origin.ambiguous || packet_uid.is_some_and(|u| u != origin.uid) {
            return None;
        }
        Some(origin.clone())
    }

    fn describe(&self, origin: &Origin) -> ProcessInfo {
        self.processes
            .get(&origin.tgid)
            .cloned()
            .unwrap_or_else(|| ProcessInfo {
                pid: origin.tgid,
                name: origin.comm.clone(),
                exe: None,
                cmdline: None,
                uid: origin.uid,
                user: None,
            })
    }
}
