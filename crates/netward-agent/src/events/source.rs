//! [`HitSource`]: where the sensor reads hits from. In production that is the kernel's log
//! ([`super::nflog::NflogSocket`]); in tests a [`super::fake::FakeHitSource`] hands over
//! batches the test built.

use std::io;

use super::nflog::Hit;

/// What one read brought.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The hits, in order.
    pub hits: Vec<Hit>,
    /// Messages the kernel could not deliver (counted exactly, from sequence gaps).
    pub lost: u64,
}

/// A source of hit records and exact loss counts.
pub trait HitSource: Send + 'static {
    /// What arrived since the last read. Waits a short while (at most a fraction of a second)
    /// when nothing did, and then returns an empty batch, so the caller can stop.
    fn read(&mut self) -> io::Result<Batch>;
}

impl HitSource for super::nflog::NflogSocket {
    fn read(&mut self) -> io::Result<Batch> {
        super::nflog::NflogSocket::read(self)
    }
}
